"""Issue: grid search cost and time-to-target on the classic comparison.

Random forest on the 2000x50 synthetic benchmark, 5-fold CV, the 81-configuration grid
(n_estimators {50,100,200} x max_depth {5,10,15} x min_samples_split {2,5,10} x
min_samples_leaf {1,2,4}). Per seed, side by side in one process:
  1. (with --studio-grid) the studio's grid search (a run with 2 worker processes, as New run
     starts it),
  2. scikit-learn's GridSearchCV on the same grid, split and folds (n_jobs=2: both cores),
  3. the level: GridSearchCV's best configuration scored again on the same folds with forest
     seeds 0-4 (tuning/execution/level.py, as Compare does it); its mean is the target, since
     GridSearchCV's own best is the largest of 81 noisy scores (grid_best_luck.py),
  4. the studio's recommended method (--method), on 2 worker processes as well, until a trial
     first reaches the level, or --cap times (2)'s time is up (then: not reached).
The two grids go first in turn (by seed). Both contenders compute train scores (the studio
records them; GridSearchCV with return_train_score=True), so they do the same work. The level's
rescoring is not counted in anyone's time: it is how the finish line is drawn. Prints the ratio
per seed and how many seeds reached the level within 0.25 of GridSearchCV's time.

    python benchmarks/compare_grid.py [--seeds 0 1 2 3 4] [--cap 1.0] [--trials 30]
        [--method recommended] [--studio-grid]
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
from tuning.execution.level import LEVEL_SEEDS, rescore  # noqa: E402
from tuning.models import build_pipeline, get_model  # noqa: E402
from tuning.runs.experiments import classic_space  # noqa: E402
from tuning.runs.prepare import prepare  # noqa: E402
from tuning.runs.runner import create_run  # noqa: E402
from tuning.runs.workers import WorkerPool  # noqa: E402
from tuning.store.records import RunRecord  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402
from tuning.store.storage import open_storage, url_of  # noqa: E402

GRID = {
    "model__n_estimators": [50, 100, 200],
    "model__max_depth": [5, 10, 15],
    "model__min_samples_split": [2, 5, 10],
    "model__min_samples_leaf": [1, 2, 4],
}


def classic(method: str, seed: int, **kw) -> RunConfig:
    return RunConfig(
        dataset=DatasetRef("seed-classification"), model="random_forest", method=method,
        space=classic_space(), cv_folds=5, scoring="accuracy", seed=seed, n_jobs=1, **kw,
    )  # fmt: skip


def studio_grid(store, seed: int) -> tuple[float, float]:
    """The grid as New run starts it with 2 workers: two `tuning worker` processes, one thread
    each, that pop the queued configurations; the last one refits the best (as GridSearchCV)."""
    name = create_run(classic("grid", seed, workers=2), store)
    t0 = time.perf_counter()
    pool = WorkerPool(name, url_of(store), 2).start()
    pool.join()
    seconds = time.perf_counter() - t0
    study = load_study(name, store)
    assert len(study.get_trials(deepcopy=False)) >= 81, pool.error
    return seconds, study.best_value


def sklearn_grid(seed: int) -> tuple[float, float, dict]:
    ds = load_dataset(DatasetRef("seed-classification"))
    sp = split(ds, 0.2, seed)
    pipe = build_pipeline(get_model("random_forest"), {"max_features": "sqrt"}, ds.task, seed, 1)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    search = GridSearchCV(pipe, GRID, cv=cv, scoring="accuracy", n_jobs=2, return_train_score=True)
    t0 = time.perf_counter()
    search.fit(sp.X_train, sp.y_train)
    best = {k.removeprefix("model__"): v for k, v in search.best_params_.items()}
    return time.perf_counter() - t0, float(search.best_score_), best


def level(seed: int, params: dict) -> tuple[float, float, list[float]]:
    """GridSearchCV's best configuration scored again on the run's split and folds with forest
    seeds 0-4 (the studio's own rescoring, as an experiment's grid member does): mean, std,
    scores. Forests on 2 threads: this draws the finish line, it is not raced."""
    scores = rescore(prepare(classic("grid", seed)), params, LEVEL_SEEDS, n_jobs=2)
    return statistics.mean(scores), statistics.stdev(scores), scores


def studio_to_target(
    store, seed: int, target: float, cap_s: float, method: str, trials: int, workers: int = 2
) -> tuple[float | None, int | None, int, float, str]:
    """`method` as New run starts it with 2 workers (two `tuning worker` processes, one thread
    each, as the grid), until a trial first reaches `target`, its `trials` are spent or `cap_s`
    seconds pass. Returns (seconds to the first trial that reached it, how many trials had
    finished by then, trials finished in all, best score, the method that ran); None when not
    reached in time. Read from the storage (trial end times), as any process would see the run."""
    name = create_run(classic(method, seed, n_trials=trials, workers=workers), store)
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
    ran = (RunRecord.from_study(load_study(name, store)).recommendation or {}).get("method", method)
    hit = next((t for t in done if t.value >= target - 1e-12), None)
    best = max((t.value for t in done), default=float("nan"))
    if hit is None or (hit.datetime_complete - start).total_seconds() > cap_s:
        return None, None, len(done), best, ran
    n_by_then = sum(t.datetime_complete <= hit.datetime_complete for t in done)
    return (hit.datetime_complete - start).total_seconds(), n_by_then, len(done), best, ran


def one_seed(store, seed: int, args: argparse.Namespace) -> dict:
    # Alternate who goes first, so a drift in the machine's load favours neither.
    g_s = g_best = None
    if args.studio_grid and not seed % 2:
        g_s, g_best = studio_grid(store, seed)
    k_s, k_best, k_params = sklearn_grid(seed)
    if args.studio_grid and seed % 2:
        g_s, g_best = studio_grid(store, seed)
    lv, lv_std, scores = level(seed, k_params)
    print(f"seed {seed}: GridSearchCV {k_s:.1f} s, best {k_best:.4f}; its best configuration "
          f"with forest seeds 0-4: {lv:.4f} ± {lv_std:.4f} ("
          + ", ".join(f"{x:.4f}" for x in scores) + ")", flush=True)  # fmt: skip
    tt_s, tt_n, tt_all, tt_best, ran = studio_to_target(
        store, seed, lv, args.cap * k_s, args.method, args.trials
    )
    reached = (
        f"reached {lv:.4f} after {tt_s:.1f} s, {tt_n} trials = {tt_s / k_s:.2f}"
        if tt_s is not None
        else f"had NOT reached {lv:.4f} within {args.cap * k_s:.0f} s or its {args.trials} "
        f"trials ({tt_all} trials, best {tt_best:.4f})"
    )
    studio = f"studio grid {g_s:.1f} s (best {g_best:.4f}) | " if g_s is not None else ""
    print(f"seed {seed}: {studio}GridSearchCV {k_s:.1f} s | {args.method} ({ran}) on 2 workers "
          f"{reached}", flush=True)  # fmt: skip
    return {"seed": seed, "grid_s": g_s, "k_s": k_s, "tt_s": tt_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--method", default="recommended", help="the studio method raced")
    ap.add_argument("--trials", type=int, default=30, help="its budget (the classic race's)")
    ap.add_argument(
        "--cap",
        type=float,
        default=1.0,
        help="stop it at this share of GridSearchCV's time (1: grid's own time)",
    )
    ap.add_argument("--studio-grid", action="store_true", help="also time the studio's grid")
    ap.add_argument("--grid-only", action="store_true", help="time only the studio's grid")
    args = ap.parse_args()
    store = open_storage(f"journal:///{tempfile.mkdtemp()}/bench.journal")
    if args.grid_only:
        for seed in args.seeds:
            g_s, g_best = studio_grid(store, seed)
            print(f"seed {seed}: studio grid {g_s:.1f} s (best {g_best:.4f})", flush=True)
        return
    rows = [one_seed(store, seed, args) for seed in args.seeds]
    med = statistics.median
    # A seed that never reached the level counts as slower than any that did.
    ratios = [r["tt_s"] / r["k_s"] if r["tt_s"] is not None else math.inf for r in rows]
    within = sum(x <= 0.25 for x in ratios)
    print()
    print("Contenders: GridSearchCV = n_jobs=2 (both cores, processes), forests n_jobs=1;")
    print(f"            {args.method} = 2 worker processes, one thread each, {args.trials} trials, "
          f"stopped at {args.cap:g} x GridSearchCV's time.")  # fmt: skip
    print("Level: GridSearchCV's best configuration, mean CV accuracy over forest seeds 0-4.")
    if args.studio_grid:
        g = med(r["grid_s"] for r in rows)
        print(f"median studio grid seconds:          {g:.1f}")
        print(f"ratio studio / GridSearchCV:         {g / med(r['k_s'] for r in rows):.3f}   "
              "(target <= 1.10)")  # fmt: skip
    print(f"median GridSearchCV seconds:         {med(r['k_s'] for r in rows):.1f}")
    print("time-to-level / GridSearchCV time per seed: "
          + ", ".join("not reached" if math.isinf(x) else f"{x:.2f}" for x in ratios))  # fmt: skip
    print(f"within 0.25 of GridSearchCV's time on {within} of {len(rows)} seeds "
          f"(target: at least 4 of seeds 0-4); median {med(ratios):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
