"""Issue: grid search cost and time-to-target on the classic comparison.

Random forest on the 2000x50 synthetic benchmark, 5-fold CV, the 81-configuration grid
(n_estimators {50,100,200} x max_depth {5,10,15} x min_samples_split {2,5,10} x
min_samples_leaf {1,2,4}). Per seed, side by side in one process:
  1. the studio's grid search (a run with 2 worker processes, as New run starts it),
  2. scikit-learn's GridSearchCV on the same grid, split and folds (n_jobs=2: both cores),
  3. the studio's recommended default method (TPE), on 2 worker processes as well, until it
     first reaches (2)'s best score, or (2)'s time is up (then grid search was faster).
The two grids go first in turn (by seed). Both contenders compute train scores (the studio records them; GridSearchCV with
return_train_score=True), so they do the same work. Prints medians over the seeds.

    python benchmarks/compare_grid.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from tuning.core.config import DatasetRef, RunConfig  # noqa: E402
from tuning.data.datasets import load_dataset, split  # noqa: E402
from tuning.models import build_pipeline, get_model  # noqa: E402
from tuning.runs.experiments import classic_space  # noqa: E402
from tuning.runs.runner import create_run  # noqa: E402
from tuning.runs.workers import WorkerPool  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402
from tuning.store.storage import open_storage, url_of  # noqa: E402

RACED = "tpe"  # Bayesian (TPE), as the classic race runs it
GRID = {
    "model__n_estimators": [50, 100, 200],
    "model__max_depth": [5, 10, 15],
    "model__min_samples_split": [2, 5, 10],
    "model__min_samples_leaf": [1, 2, 4],
}


def studio_grid(store, seed: int) -> tuple[float, float]:
    """The grid as New run starts it with 2 workers: two `tuning worker` processes, one thread
    each, that pop the queued configurations; the last one refits the best (as GridSearchCV)."""
    cfg = RunConfig(
        dataset=DatasetRef("seed-classification"),
        model="random_forest",
        method="grid",
        space=classic_space(),
        cv_folds=5,
        scoring="accuracy",
        seed=seed,
        n_jobs=1,
        workers=2,
    )
    name = create_run(cfg, store)
    t0 = time.perf_counter()
    pool = WorkerPool(name, url_of(store), 2).start()
    pool.join()
    seconds = time.perf_counter() - t0
    study = load_study(name, store)
    assert len(study.get_trials(deepcopy=False)) == 81, pool.error
    return seconds, study.best_value


def sklearn_grid(seed: int) -> tuple[float, float]:
    ds = load_dataset(DatasetRef("seed-classification"))
    sp = split(ds, 0.2, seed)
    pipe = build_pipeline(get_model("random_forest"), {"max_features": "sqrt"}, ds.task, seed, 1)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    search = GridSearchCV(pipe, GRID, cv=cv, scoring="accuracy", n_jobs=2, return_train_score=True)
    t0 = time.perf_counter()
    search.fit(sp.X_train, sp.y_train)
    return time.perf_counter() - t0, float(search.best_score_)


def studio_to_target(
    store, seed: int, target: float, cap_s: float, workers: int = 2
) -> tuple[float | None, int | None, int, float]:
    """The recommended method as New run starts it with 2 workers (two `tuning worker`
    processes, one thread each, as the grid), until a trial first reaches `target` or `cap_s`
    seconds pass. Returns (seconds to the first trial that reached it, how many trials had
    finished by then, trials finished in all, best score); None when not reached in time.
    Read from the storage (trial end times), as any process would see the run."""
    cfg = RunConfig(
        dataset=DatasetRef("seed-classification"),
        model="random_forest",
        method=RACED,
        space=classic_space(),
        n_trials=1000,
        cv_folds=5,
        scoring="accuracy",
        seed=seed,
        n_jobs=1,
        workers=workers,
    )
    name = create_run(cfg, store)
    start = datetime.now()  # Optuna stamps trials with naive local time
    t0 = time.perf_counter()
    pool = WorkerPool(name, url_of(store), workers).start()

    def finished() -> list[optuna.trial.FrozenTrial]:
        trials = load_study(name, store).get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return sorted(trials, key=lambda t: t.datetime_complete)

    hit = None
    while hit is None and time.perf_counter() - t0 < cap_s and pool.join(timeout=1.0) is None:
        hit = next((t for t in finished() if t.value >= target - 1e-12), None)
    pool.stop()
    pool.join()
    done = finished()
    hit = next((t for t in done if t.value >= target - 1e-12), None)
    best = max((t.value for t in done), default=float("nan"))
    if hit is None or (hit.datetime_complete - start).total_seconds() > cap_s:
        return None, None, len(done), best
    n_by_then = sum(t.datetime_complete <= hit.datetime_complete for t in done)
    return (hit.datetime_complete - start).total_seconds(), n_by_then, len(done), best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--grid-only", action="store_true", help="time only the studio's grid")
    args = ap.parse_args()
    store = open_storage(f"journal:///{tempfile.mkdtemp()}/bench.journal")
    rows = []
    for seed in args.seeds:
        if args.grid_only:
            g_s, g_best = studio_grid(store, seed)
            print(f"seed {seed}: studio grid {g_s:.1f} s (best {g_best:.4f})", flush=True)
            continue
        # Alternate who goes first, so a drift in the machine's load favours neither.
        if seed % 2:
            k_s, k_best = sklearn_grid(seed)
            g_s, g_best = studio_grid(store, seed)
        else:
            g_s, g_best = studio_grid(store, seed)
            k_s, k_best = sklearn_grid(seed)
        print(f"seed {seed}: grids done: studio {g_s:.1f} s, GridSearchCV {k_s:.1f} s", flush=True)
        # The race ends at GridSearchCV's time: past it, grid search would have been faster.
        tt_s, tt_n, tt_all, tt_best = studio_to_target(store, seed, k_best, cap_s=k_s)
        rows.append((seed, g_s, g_best, k_s, k_best, tt_s, tt_n))
        reached = (
            f"reached {k_best:.4f} after {tt_s:.1f} s, {tt_n} trials = {tt_s / k_s:.2f}"
            if tt_s is not None
            else f"had NOT reached {k_best:.4f} within {k_s:.0f} s ({tt_all} trials, best "
            f"{tt_best:.4f})"
        )
        print(
            f"seed {seed}: studio grid {g_s:.1f} s (best {g_best:.4f}) | GridSearchCV {k_s:.1f} s "
            f"(best {k_best:.4f}) | {RACED} on 2 workers {reached}",
            flush=True,
        )
    if args.grid_only:
        return
    med = statistics.median
    g, k = med(r[1] for r in rows), med(r[3] for r in rows)
    # A seed that never reached the target counts as slower than any that did.
    to_target = [r[5] / r[3] if r[5] is not None else math.inf for r in rows]
    print()
    print(
        "Contenders: studio grid = 81 trials on 2 worker processes, one thread each (both cores);"
    )
    print("            GridSearchCV = n_jobs=2 (both cores, processes), forests n_jobs=1;")
    print(
        f"            {RACED} = 2 worker processes, one thread each, stopped at GridSearchCV's time."
    )
    print(f"median studio grid seconds:          {g:.1f}")
    print(f"median GridSearchCV seconds:         {k:.1f}")
    print(f"ratio studio / GridSearchCV:         {g / k:.3f}   (target <= 1.10)")
    print(
        f"median {RACED} time-to-grid-best / GridSearchCV time: {med(to_target):.3f}   "
        f"(target <= 0.25; reached in {sum(r[5] is not None for r in rows)}/{len(rows)} seeds)"
    )


if __name__ == "__main__":
    main()
