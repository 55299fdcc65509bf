"""Writes the bad-CSV corpus (issue 9): odd files people upload, one per way of being odd.

The small files are committed beside this script; `python tests/data/bad_csv/make_corpus.py`
rewrites them. The wide file (thousands of columns, about 0.5 MB) is only written by `wide()`,
which the tests call into a temporary folder, so the repository stays small. Every file has its
target in a column named "target" (where it has one), so tests can treat them alike.
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rows(n: int, seed: int = 0) -> list[tuple[float, float, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.uniform(0, 10), rng.uniform(-5, 5)
        out.append((round(a, 3), round(b, 3), "yes" if a + b > 5 else "no"))
        _ = i
    return out


def good_text(n: int = 60, sep: str = ",", decimal: str = ".") -> str:
    lines = [sep.join(["a", "b", "target"])]
    for a, b, t in _rows(n):
        lines.append(sep.join([str(a).replace(".", decimal), str(b).replace(".", decimal), t]))
    return "\n".join(lines) + "\n"


def files() -> dict[str, bytes]:
    rows = _rows(60)
    f: dict[str, bytes] = {}
    f["empty.csv"] = b""
    f["header_only.csv"] = b"a,b,target\n"
    f["single_class.csv"] = ("a,b,target\n" + "".join(f"{a},{b},yes\n" for a, b, _ in rows)).encode()
    noise = random.Random(1)
    f["binary_garbage.csv"] = bytes(noise.randrange(256) for _ in range(4096))
    latin = "température,ville,target\n" + "".join(
        f"{a},{['Orléans', 'Besançon', 'Nîmes'][i % 3]},{t}\n" for i, (a, _, t) in enumerate(rows)
    )
    f["latin1.csv"] = latin.encode("latin-1")
    f["utf8_bom.csv"] = b"\xef\xbb\xbf" + good_text().encode("utf-8")
    f["semicolon.csv"] = good_text(sep=";", decimal=",").encode()
    f["duplicate_columns.csv"] = ("a,a,target\n" + "".join(f"{a},{b},{t}\n" for a, b, t in rows)).encode()
    f["html_columns.csv"] = (
        '"<script>alert(1)</script>","<img src=x onerror=alert(2)>",target\n'
        + "".join(f"{a},{b},{t}\n" for a, b, t in rows)
    ).encode()
    f["inf_and_huge.csv"] = (
        "a,b,target\n"
        + "".join(
            f"{'inf' if i % 7 == 0 else a},{1e308 if i % 5 == 0 else b},{t}\n"
            for i, (a, b, t) in enumerate(rows)
        )
    ).encode()
    f["mixed_types.csv"] = (
        "a,b,target\n"
        + "".join(
            f"{a},{'n/a' if i % 4 == 0 else ('high' if i % 9 == 0 else b)},{t}\n"
            for i, (a, b, t) in enumerate(rows)
        )
    ).encode()
    ragged = ["a,b,target"] + [f"{a},{b},{t}" for a, b, t in rows]
    ragged[17] += ",extra,cells"
    ragged[30] = ragged[30].rsplit(",", 1)[0]
    f["ragged_rows.csv"] = ("\n".join(ragged) + "\n").encode()
    f["free_text_target.csv"] = (
        "a,b,target\n"
        + "".join(f"{a},{b},customer {i} said the delivery was late\n" for i, (a, b, _) in enumerate(rows))
    ).encode()
    # issue 14: binary without NUL bytes, a file with no header, and files that load but
    # would make every trial fail with the default settings (5 folds, 20% test)
    high = random.Random(3)
    f["binary_high_bytes.csv"] = bytes(high.randrange(128, 256) for _ in range(2048))
    f["headerless_numbers.csv"] = "".join(
        f"{int(a) % 2},{int(b) % 2},{1 if t == 'yes' else 0}\n" for a, b, t in rows
    ).encode()
    f["headerless_with_labels.csv"] = "".join(f"{a},{b},{t}\n" for a, b, t in rows).encode()
    f["one_row_class.csv"] = (
        "a,b,target\n" + "".join(f"{a},{b},{t}\n" for a, b, t in rows[:-1]) + "1.5,2.5,maybe\n"
    ).encode()
    f["feature_empty_after_id.csv"] = (
        "id,a,target\n"
        + "".join(f"{i},{a if i == 3 else ''},{t}\n" for i, (a, _, t) in enumerate(rows))
    ).encode()
    # issue 24: columns that copy another column, or the target (target leakage)
    ids = list(range(1000, 1060))
    random.Random(4).shuffle(ids)
    f["id_and_its_copy.csv"] = (
        "customer_id,a,customer_ref,b,target\n"
        + "".join(f"{i},{a},{i},{b},{t}\n" for i, (a, b, t) in zip(ids, rows, strict=True))
    ).encode()
    f["identical_features.csv"] = (
        "a,b,a_again,target\n" + "".join(f"{a},{b},{a},{t}\n" for a, b, t in rows)
    ).encode()
    f["target_copy_labels.csv"] = (
        "a,outcome_code,b,target\n"
        + "".join(f"{a},{1 if t == 'yes' else 0},{b},{t}\n" for a, b, t in rows)
    ).encode()
    noise = random.Random(5)
    prices = [round(3 * a - 2 * b + noise.gauss(0, 1), 2) for a, b, _ in rows]
    f["target_copy_regression.csv"] = (
        "a,b,price_cents,target\n"
        + "".join(f"{a},{b},{round(p * 100)},{p}\n" for (a, b, _), p in zip(rows, prices, strict=True))
    ).encode()
    return f


def wide(folder: Path, columns: int = 3000, rows: int = 80) -> Path:
    """A file with thousands of numeric columns (a careful tool loads it)."""
    rng = random.Random(2)
    lines = [",".join([f"x{j}" for j in range(columns)] + ["target"])]
    for _ in range(rows):
        values = [rng.randint(0, 9) for _ in range(columns)]
        lines.append(",".join(map(str, values)) + ("," + ("yes" if values[0] > 4 else "no")))
    path = folder / "thousands_of_columns.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    for name, data in files().items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(files())} files to {HERE}")
