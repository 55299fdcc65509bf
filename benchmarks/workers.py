"""Issue: trials per second with 1 against 2 local worker processes (target >= 1.8x), and with
2 threads in one process, to show why the studio scales out with processes.

The objective is CPU-bound, about 0.5 s a trial: a 40-tree random forest (one thread per fit)
on the 2000x50 synthetic benchmark, 2-fold CV. Each contender works on a fresh run of the same
configuration in its own journal file. Contenders alternate, repeated --repeats times; medians.

    python benchmarks/workers.py [--trials 24] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuning.core.config import (  # noqa: E402
    DatasetRef,  # noqa: E402
    RunConfig,
)
from tuning.models import get_model  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.runs.workers import WorkerPool  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402
from tuning.store.storage import open_storage  # noqa: E402


def config(n_trials: int) -> RunConfig:
    space = get_model("random_forest").default_space("classification")
    space = space.replace_param("n_estimators", low=40, high=40).replace_param(
        "max_depth", low=12, high=12
    )
    return RunConfig(dataset=DatasetRef("seed-classification"), model="random_forest",
                     method="random", space=space, n_trials=n_trials, cv_folds=2, n_jobs=1,
                     train_score=False)  # fmt: skip


def fresh(n_trials: int) -> tuple[str, str]:
    url = f"journal:///{tempfile.mkdtemp()}/bench.journal"
    return url, create_run(config(n_trials), open_storage(url))


def processes(n_workers: int, n_trials: int) -> float:
    url, name = fresh(n_trials)
    pool = WorkerPool(name, url, n_workers).start()
    pool.join()
    return _rate(url, name)


def threads(n_threads: int, n_trials: int) -> float:
    url, name = fresh(n_trials)
    store = open_storage(url)
    ts = [
        threading.Thread(target=execute, args=(name, store), kwargs={"refit": False})
        for _ in range(n_threads)
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return _rate(url, name)


def _rate(url: str, name: str) -> float:
    """Completed trials per second, from the first trial's start to the last one's end."""
    trials = [
        t for t in load_study(name, url).get_trials(deepcopy=False) if t.state.name == "COMPLETE"
    ]
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    return len(trials) / (end - start).total_seconds()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    one, two, thr = [], [], []
    for r in range(args.repeats):
        one.append(processes(1, args.trials))
        two.append(processes(2, args.trials))
        thr.append(threads(2, args.trials))
        print(
            f"repeat {r}: 1 process {one[-1]:.2f}/s | 2 processes {two[-1]:.2f}/s | "
            f"2 threads {thr[-1]:.2f}/s",
            flush=True,
        )
    m1, m2, mt = (statistics.median(x) for x in (one, two, thr))
    print(f"\nseconds per trial with 1 worker: {1 / m1:.2f}")
    print(f"median trials/s: 1 process {m1:.2f}, 2 processes {m2:.2f}, 2 threads {mt:.2f}")
    print(f"speed-up 2 processes / 1: {m2 / m1:.2f}x   (target >= 1.8x)")
    print(f"speed-up 2 threads / 1:   {mt / m1:.2f}x")


if __name__ == "__main__":
    main()
