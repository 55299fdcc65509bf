"""CSV files: reading, decoding, separator sniffing, header checks and parsing.

Files are read as data only (pandas, never eval or pickle). Every problem raises
:class:`~tuning.core.errors.DataError` with a message that says what is wrong and what to do.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings as _warnings
from pathlib import Path
from typing import Any

import pandas as pd

from tuning.core.errors import DataError
from tuning.data.frame import Dataset, dataset_from_frame, is_text
from tuning.data.messages import quoted

_SEPARATORS = (",", ";", "\t", "|")


def _read_bytes(source: Any) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if hasattr(source, "getvalue"):  # e.g. Streamlit's UploadedFile, io.BytesIO
        data = source.getvalue()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if hasattr(source, "read"):
        data = source.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise DataError(
                f"There is no file at '{path}': check the path or upload the file again."
            )
        if not path.is_file():
            raise DataError(f"'{path}' is a folder, not a file: choose a CSV file.")
        try:
            return path.read_bytes()
        except OSError as e:
            raise DataError(
                f"Could not read '{path}' ({e.strerror or e}): check that the file is readable."
            ) from e
    raise DataError(
        f"Cannot read a CSV file from a {type(source).__name__}: give a file path or the "
        "file's contents (bytes)."
    )


_NOT_TEXT = (
    "The file is not a text CSV: it contains binary data{what}. Export your data as CSV "
    "(comma-, semicolon- or tab-separated text) and use that file."
)
# Signatures of binary formats people pick by mistake (Office and zip files are told apart)
_MAGIC = {
    b"%PDF": " (it is a PDF document)",
    b"\x1f\x8b": " (it is gzip-compressed)",
    b"\x89PNG": " (it is a PNG image)",
    b"\xff\xd8\xff": " (it is a JPEG image)",
    b"GIF8": " (it is a GIF image)",
    b"BZh": " (it is bzip2-compressed)",
    b"7z\xbc\xaf": " (it is a 7-Zip archive)",
    b"\x7fELF": " (it is a program)",
    b"SQLite format 3": " (it is an SQLite database)",
    b"PAR1": " (it is a Parquet file)",
}


def _decode(data: bytes) -> str:
    if not data or data.isspace():
        raise DataError("The file is empty: choose a CSV file with a header row and rows of data.")
    head = data[:8192]
    text: str | None = None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (Excel "Unicode text")
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    if text is None:
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise DataError(
                "The file looks like an Excel workbook (or another Office or zip file), not a "
                "CSV file: open it in your spreadsheet program and save it as CSV."
            )
        for magic, what in _MAGIC.items():
            if head.startswith(magic):
                raise DataError(_NOT_TEXT.format(what=what))
        if b"\x00" in head:
            raise DataError(_NOT_TEXT.format(what=""))
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # A legacy-encoded text (Windows-1252, Latin-1) is mostly ASCII with a few accented
            # letters; bytes that are mostly above 127 and not UTF-8 are binary.
            if sum(b > 127 for b in head) > len(head) * 0.3:
                raise DataError(_NOT_TEXT.format(what="")) from None
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    text = text.lstrip("\ufeff")
    sample = text[:8192]
    # text files have next to no control characters (C0, or C1 from a Latin-1 decode)
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n")
    if controls > max(8, len(sample) // 100):
        raise DataError(_NOT_TEXT.format(what=" (control characters)"))
    start = text.lstrip()[:1]
    if not start:
        raise DataError("The file is empty: choose a CSV file with a header row and rows of data.")
    if start in "{[<":
        kind = "JSON" if start in "{[" else "HTML or XML"
        raise DataError(
            f"The file looks like {kind}, not CSV: export the data as a CSV file (column names "
            "in the first row, one row of values per line) and use that file."
        )
    return text


def _sample_lines(text: str, limit: int = 200) -> list[str]:
    sample = text[:131_072]
    lines = sample.splitlines()
    if len(text) > len(sample) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    return [line for line in lines if line.strip()][:limit]


def _sniff_separator(text: str) -> str:
    """The separator that splits the first lines into the most, most consistent fields."""
    lines = _sample_lines(text)
    best, best_key = ",", None
    for sep in _SEPARATORS:
        try:
            rows = [row for row in csv.reader(lines, delimiter=sep) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        n = len(rows[0])
        consistency = sum(len(row) == n for row in rows) / len(rows)
        key = (consistency, n)
        if best_key is None or key > best_key:
            best, best_key = sep, key
    return best


def _rows(text: str, sep: str, limit: int = 50) -> list[list[str]]:
    """The first rows of the file, split by ``sep``, fields stripped (the header first)."""
    lines = _sample_lines(text, limit)
    try:
        return [[field.strip() for field in row] for row in csv.reader(lines, delimiter=sep)]
    except csv.Error as e:
        raise DataError(
            f"Could not read the first row of the file ({e}): check that it is a CSV file "
            "with column names in the first row."
        ) from e


def _check_header(rows: list[list[str]]) -> None:
    names = rows[0] if rows else []
    if not any(names):
        raise DataError(
            "The first row of the file is empty: put the column names in the first row."
        )
    if _looks_like_data(names, rows[1:]):
        raise DataError(
            f"The first row looks like data ({quoted(names, 4)}), not column names: add a "
            "header row with a name for each column."
        )
    counts: dict[str, int] = {}
    for name in names:
        if name:
            counts[name] = counts.get(name, 0) + 1
    duplicates = [name for name, count in counts.items() if count > 1]
    if duplicates:
        raise DataError(
            f"The file has duplicate column names: {quoted(duplicates)}. Give every column "
            "a different name and load the file again."
        )


def _looks_like_data(names: list[str], below: list[list[str]]) -> bool:
    """Whether a first row is a row of values: all numbers, or mostly numbers with its text
    values found again under them (like "5.1,3.5,setosa" above more "setosa" rows)."""
    filled = [name for name in names if name]
    numbers = sum(_is_number(name) for name in filled)
    if numbers == len(filled):
        return True
    if numbers * 2 < len(filled) or not below:
        return False
    for i, name in enumerate(names):
        if name and not _is_number(name):
            column = {row[i] for row in below if i < len(row)}
            if name not in column:
                return False
    return True


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse(text: str, sep: str) -> pd.DataFrame:
    _check_header(_rows(text, sep))
    try:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                skipinitialspace=True,
                index_col=False,
                low_memory=False,
            )
    except pd.errors.EmptyDataError as e:
        raise DataError(
            "The file is empty: choose a CSV file with a header row and rows of data."
        ) from e
    except pd.errors.ParserError as e:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if match:
            expected, line, saw = match.groups()
            detail = f"line {line} has {saw} values but the first row has {expected} columns"
        elif "EOF inside string" in str(e):
            detail = 'a quoted value is never closed (a " without its closing ")'
        else:
            detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(
            f"Could not parse the file as CSV: {detail}. Check that every row has the same "
            "number of separators, and that text containing the separator is in quotes."
        ) from e
    except (ValueError, TypeError, OverflowError, csv.Error, UnicodeError) as e:
        raise DataError(
            f"Could not read the file as CSV ({e}): check that it is comma-, semicolon- or "
            "tab-separated text with column names in the first row."
        ) from e
    for warning in caught:
        if "Length of header" in str(warning.message):
            raise DataError(
                "The rows of data have more values than the first row has column names: give "
                "every column a name in the first row, or remove the extra values."
            )
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(
            f"The file has column names ({quoted(list(df.columns), 6)}) but no rows of data: "
            "add the data under the header row."
        )
    if sep != ",":
        df = _decimal_commas(df)
    return df


def _decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns like "1,5" (decimal comma, common with ';' files) into numbers."""
    for column in df.columns:
        s = df[column]
        if not is_text(s):
            continue
        present = s.dropna().astype(str)
        if present.empty or not present.str.contains(",", regex=False).any():
            continue
        numbers = pd.to_numeric(present.str.replace(",", ".", regex=False), errors="coerce")
        if numbers.notna().all():
            df[column] = numbers.reindex(s.index)
    return df


def load_text(source: Any) -> tuple[str, str]:
    text = _decode(_read_bytes(source))
    return text, _sniff_separator(text)


def csv_columns(source: str | Path | bytes) -> list[str]:
    """The column names of a CSV file (for pickers); DataError when it cannot be read."""
    text, sep = load_text(source)
    _check_header(_rows(text, sep))
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, nrows=0, index_col=False)
    except (ValueError, pd.errors.ParserError, csv.Error) as e:
        raise DataError(
            f"Could not read the column names of the file ({e}): check that it is a CSV file "
            "with column names in the first row."
        ) from e
    return [str(c).strip() for c in df.columns]


def read_csv(
    source: str | Path | bytes,
    target: str,
    task: str | None = None,
    name: str = "csv",
) -> Dataset:
    """Read a CSV file (path, or bytes of an upload) as a dataset with ``target`` as y."""
    text, sep = load_text(source)
    df = _parse(text, sep)
    return dataset_from_frame(df, target, task=task, name=name)
