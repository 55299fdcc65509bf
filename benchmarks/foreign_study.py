"""Live monitor on a 10,000-trial study made by plain Optuna code (no Tuning Studio attributes).

    .venv/bin/python benchmarks/foreign_study.py [--trials 10000]

1. Writes a study with plain Optuna (optuna.create_study on a journal file, then
   study.add_trials of optuna.trial.create_trial, which is what optimize stores, without
   running 10,000 objective calls): four parameters, intermediate values, a mix of complete,
   pruned and failed trials, a user attribute, start and end times one second apart.
2. First render: the Live monitor page script run once by Streamlit's AppTest on a fresh
   process-wide reader (server-side time of the whole page: listing the storage's studies,
   reading every trial, importance, figures, tables).
3. Refresh: what the Live monitor's fragment does per refresh, measured as
   benchmarks/live_monitor.py does (its `refresh`: snapshot, figures, tables, figure JSON),
   after 10 new trials per refresh, 10 refreshes, median.

Output is printed and saved to benchmarks/results/foreign_study.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
RESULTS = ROOT / "benchmarks" / "results" / "foreign_study.txt"
NAME = "plain-optuna-10k"


def plain_trials(start: int, n: int, t0: dt.datetime, rng: random.Random) -> list:
    """Trials as plain Optuna code leaves them (optuna.trial.create_trial)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from optuna.trial import TrialState, create_trial

    dists = {
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
        "layers": IntDistribution(1, 6),
        "dropout": FloatDistribution(0.0, 0.5),
        "optimizer": CategoricalDistribution(["adam", "sgd", "rmsprop"]),
    }
    out = []
    for i in range(start, start + n):
        p = {
            "lr": 10 ** rng.uniform(-4, -1), "layers": rng.randint(1, 6),
            "dropout": rng.uniform(0, 0.5), "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
        }  # fmt: skip
        loss = 0.2 + abs(p["lr"] - 0.01) * 5 + 0.02 * p["layers"] + 0.05 * rng.random()
        r = rng.random()
        state = TrialState.PRUNED if r < 0.2 else TrialState.FAIL if r < 0.23 else TrialState.COMPLETE
        steps = 10 if state == TrialState.COMPLETE else rng.randint(1, 9)
        if state == TrialState.FAIL:
            steps = 0
        start_t = t0 + dt.timedelta(seconds=i)
        out.append(
            create_trial(
                state=state, value=loss if state == TrialState.COMPLETE else None,
                params=p, distributions=dists, user_attrs={"host": "laptop"},
                intermediate_values={s: loss + 0.5 / (s + 1) for s in range(steps)},
            )
        )  # fmt: skip
        out[-1].datetime_start = start_t
        out[-1].datetime_complete = start_t + dt.timedelta(seconds=0.9)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    args = ap.parse_args()
    n = args.trials

    data = tempfile.mkdtemp(prefix="ts-foreign-")
    os.environ["TUNING_STUDIO_DATA"] = data
    os.environ.pop("TUNING_STUDIO_STORAGE", None)
    os.environ.pop("TUNING_STUDIO_STORAGES", None)
    import optuna
    from live_monitor import refresh
    from streamlit.testing.v1 import AppTest

    from tuning.analysis import LiveRun
    from tuning.store.storage import default_url, open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lines = [
        f"# Foreign study benchmark ({time.strftime('%Y-%m-%d %H:%M')}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, Optuna {optuna.__version__})"
    ]
    storage = open_storage(default_url())  # the app's default: a journal file
    study = optuna.create_study(study_name=NAME, storage=storage, direction="minimize")
    rng = random.Random(0)
    t0 = dt.datetime.now() - dt.timedelta(seconds=n + 100)
    t = time.perf_counter()
    for chunk in range(0, n, 1000):
        study.add_trials(plain_trials(chunk, min(1000, n - chunk), t0, rng))
    lines.append(
        f"Study with {n:,} trials written by plain Optuna in {time.perf_counter() - t:.1f} s "
        "(journal file, add_trials of create_trial)"
    )

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["run"] = NAME
    at.run()  # Home: imports and the app's shared objects, not counted below
    t = time.perf_counter()
    at.switch_page("app_pages/live_monitor.py").run()
    first = time.perf_counter() - t
    problems = [e.value for e in at.exception]
    picked = at.selectbox(key="live_run_pick").value
    lines.append(
        f"First Live monitor render (AppTest, whole page script, server side; cold reader: "
        f"all {n:,} trials read and converted, importance computed): {first * 1000:.0f} ms"
        + (f"  [EXCEPTION: {problems}]" if problems else "")
        + ("" if picked == NAME else f"  [showed {picked}, not {NAME}]")
    )

    live_run = LiveRun(storage, NAME)  # a fresh reader: the refreshes below are its own
    cold_s, cold_bytes, _ = refresh(live_run)
    lines.append(
        f"First refresh of a fresh reader (as benchmarks/live_monitor.py): {cold_s * 1000:.0f} ms, "
        f"{cold_bytes / 1e6:.2f} MB of figures"
    )
    times, sizes, parts = [], [], []
    done, pending = n, None
    for _ in range(10):
        # Another process keeps optimizing: the trial it was running ends, 9 more finish, and
        # the next one is in progress (so the study reads as running, as the page polls it).
        if pending is not None:
            study.tell(pending, 0.3)
        now0 = dt.datetime.now() - dt.timedelta(seconds=done + 1)
        study.add_trials(plain_trials(done, 9, now0, rng))
        pending = study.ask()
        pending.suggest_float("lr", 1e-4, 1e-1, log=True)
        done += 10
        s, b, info = refresh(live_run)
        times.append(s)
        sizes.append(b)
        parts.append(info)
    med = statistics.median(times)
    status = parts[-1]["snap"].status
    lines.append(
        f"Live refresh after 10 new trials, one in progress (median of 10): {med * 1000:.0f} ms server time, "
        f"{statistics.median(sizes) / 1e6:.2f} MB of figures (status read from the trials: "
        f"{status})  [target <= 200 ms, <= 2 MB: "
        f"{'met' if med <= 0.2 and max(sizes) <= 2e6 else 'NOT met'}]"
    )
    lines.append(
        f"  range: {min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms; "
        + ", ".join(
            f"{k} {statistics.median(p['parts'][k] for p in parts) * 1000:.1f} ms"
            for k in ("snapshot", "figures", "tables", "json")
        )
    )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
