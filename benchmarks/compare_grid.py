"""Issue: grid search cost and time-to-target on the classic comparison.

Random forest on the 2000x50 synthetic benchmark, 5-fold CV, the 81-configuration grid
(n_estimators {50,100,200} x max_depth {5,10,15} x min_samples_split {2,5,10} x
min_samples_leaf {1,2,4}). Per seed, side by side in one process:
  1. the studio's grid search (a run with 2 worker processes, as New run starts it),
  2. scikit-learn's GridSearchCV on the same grid, split and folds (n_jobs=2: both cores),
  3. the studio's recommended default method (TPE) until it first reaches (2)'s best score.
The two grids go first in turn (by seed). Both contenders compute train scores (the studio records them; GridSearchCV with
return_train_score=True), so they do the same work. Prints medians over the seeds.

    python benchmarks/compare_grid.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from tuning.datasets import DatasetRef, load_dataset, split  # noqa: E402
from tuning.experiments import classic_space  # noqa: E402
from tuning.methods import RECOMMENDED  # noqa: E402
from tuning.models import build_pipeline, get_model  # noqa: E402
from tuning.runner import RunConfig, create_run, execute, load_study  # noqa: E402
from tuning.storage import open_storage, url_of  # noqa: E402
from tuning.workers import WorkerPool  # noqa: E402

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
    store, seed: int, target: float, max_trials: int = 200
) -> tuple[float | None, int | None]:
    cfg = RunConfig(
        dataset=DatasetRef("seed-classification"),
        model="random_forest",
        method=RECOMMENDED,
        space=classic_space(),
        n_trials=max_trials,
        cv_folds=5,
        scoring="accuracy",
        seed=seed,
        n_jobs=-1,
    )
    name = create_run(cfg, store)
    hit: dict = {}

    def until_target(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.value is not None and trial.value >= target - 1e-12 and not hit:
            hit["at"], hit["n"] = time.perf_counter(), trial.number + 1
            study.stop()

    t0 = time.perf_counter()
    execute(name, store, callbacks=[until_target], refit=False)
    if not hit:
        return None, None
    return hit["at"] - t0, hit["n"]


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
        tt_s, tt_n = studio_to_target(store, seed, k_best)
        rows.append((seed, g_s, g_best, k_s, k_best, tt_s, tt_n))
        print(
            f"seed {seed}: studio grid {g_s:.1f} s (best {g_best:.4f}) | GridSearchCV {k_s:.1f} s "
            f"(best {k_best:.4f}) | {RECOMMENDED} reached {k_best:.4f} after "
            + (f"{tt_s:.1f} s, {tt_n} trials" if tt_s is not None else "never (200 trials)"),
            flush=True,
        )
    if args.grid_only:
        return
    med = statistics.median
    g, k = med(r[1] for r in rows), med(r[3] for r in rows)
    reached = [r[5] / r[3] for r in rows if r[5] is not None]
    print()
    print(
        "Contenders: studio grid = 81 trials on 2 worker processes, one thread each (both cores);"
    )
    print("            GridSearchCV = n_jobs=2 (both cores, processes), forests n_jobs=1.")
    print(f"median studio grid seconds:          {g:.1f}")
    print(f"median GridSearchCV seconds:         {k:.1f}")
    print(f"ratio studio / GridSearchCV:         {g / k:.3f}   (target <= 1.10)")
    if reached:
        print(
            f"median {RECOMMENDED} time-to-grid-best / GridSearchCV time: {med(reached):.3f}   (target <= 0.25; "
            f"reached in {len(reached)}/{len(rows)} seeds)"
        )
    print(
        f"median {RECOMMENDED} trials to grid best: "
        + str(med([r[6] for r in rows if r[6] is not None]) if reached else "-")
    )


if __name__ == "__main__":
    main()
