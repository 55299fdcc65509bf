"""TuningSearchCV (grid method) against GridSearchCV on the same grid, folds and n_jobs.

Each repeat runs both searches side by side (alternating which goes first), on an SVM grid
whose trials cost about 0.1-0.5 s, so the studio's per-trial overhead (its run in a journal
storage, trial records, heartbeat) shows. Prints the median wall and CPU times, their ratio
(target: TuningSearchCV / GridSearchCV <= 1.10) and whether best_params_ agree.

    python benchmarks/search_cv.py [--repeats 5] [--n-jobs 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optuna.distributions import CategoricalDistribution  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from tuning import TuningSearchCV  # noqa: E402

GRID = {"svc__C": [0.1, 1.0, 10.0, 100.0], "svc__gamma": [0.003, 0.03, 0.3]}


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-jobs", type=int, default=1)
    args = ap.parse_args()
    X, y = make_classification(1500, 20, n_informative=8, random_state=0)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    pipe = make_pipeline(StandardScaler(), SVC())
    space = {k: CategoricalDistribution(v) for k, v in GRID.items()}
    folder = tempfile.mkdtemp()
    storage = f"journal:///{folder}/bench.journal"
    n_jobs = None if args.n_jobs == 1 else args.n_jobs

    def ours():
        return TuningSearchCV(
            pipe, space, method="grid", cv=cv, n_jobs=n_jobs, storage=storage, run_name="bench"
        ).fit(X, y)

    def theirs():
        return GridSearchCV(pipe, GRID, cv=cv, n_jobs=n_jobs).fit(X, y)

    ours()  # warm-up: imports, the storage file
    rows = {"TuningSearchCV": [], "GridSearchCV": []}
    same = True
    for r in range(args.repeats):
        order = [("TuningSearchCV", ours), ("GridSearchCV", theirs)]
        results = {}
        for name, fn in order if r % 2 == 0 else order[::-1]:
            results[name], wall, cpu = timed(fn)
            rows[name].append((wall, cpu))
        same &= results["TuningSearchCV"].best_params_ == results["GridSearchCV"].best_params_
    n = len(GRID["svc__C"]) * len(GRID["svc__gamma"])
    wall = {k: statistics.median(w for w, _ in v) for k, v in rows.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in rows.items()}
    per_trial = wall["GridSearchCV"] / n
    print(f"grid: {n} configurations x 5 folds, SVC on 1,500 x 20; n_jobs={args.n_jobs}; "
          f"{args.repeats} repeats side by side, medians; storage: journal file")  # fmt: skip
    print(f"a trial (5 folds) costs about {per_trial:.2f} s with GridSearchCV")
    for k in rows:
        print(f"{k:15s} wall {wall[k]:6.2f} s   cpu {cpu[k]:6.2f} s   "
              f"(walls: {', '.join(f'{w:.2f}' for w, _ in rows[k])})")  # fmt: skip
    print(f"wall ratio TuningSearchCV / GridSearchCV: {wall['TuningSearchCV'] / wall['GridSearchCV']:.3f}"
          f" (target <= 1.10); cpu ratio {cpu['TuningSearchCV'] / cpu['GridSearchCV']:.3f}")  # fmt: skip
    print(f"identical best_params_ in every repeat: {same} ({results['GridSearchCV'].best_params_})")


if __name__ == "__main__":
    main()
