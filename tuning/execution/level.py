"""The level an experiment races to, de-noised.

Time-to-target races every method to grid search's best CV score. That best is the largest of
many CV scores, each measured with one model seed (the run's): part of its lead is that draw's
luck, which no other method can be expected to draw again. So once an experiment's grid member
has finished, its best configuration is scored again on the run's own folds with several model
seeds (the model's random_state 0-4) and the mean over those seeds is kept as the level
(records.GridLevel). A model without a random seed would score the same again: its level is
grid's own best, and the record says so.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial

from tuning.core.enums import Task
from tuning.evaluation.objective import StopRequested
from tuning.execution.prepared import Prepared
from tuning.store.records import GridLevel
from tuning.store.run import StoredRun
from tuning.store.trials import DetachedTrial

LEVEL_SEEDS = (0, 1, 2, 3, 4)  # the model seeds the grid's best is scored again with
RESCORED = "level rescoring"  # the origin the rescoring's detached trials carry


def takes_seed(prep: Prepared, params: dict[str, Any]) -> bool:
    """Whether the model's estimator depends on the seed it is built with: two seeds that give
    the same parameters (k-nearest neighbours, ridge) would give the same score."""
    build = prep.model.build
    task = Task(prep.dataset.task).value
    try:
        a = build(dict(params), task, 0, 1).get_params(deep=True)
        b = build(dict(params), task, 1, 1).get_params(deep=True)
    except Exception:  # noqa: BLE001 - an estimator that cannot say: rescore it to find out
        return True
    return any(repr(a[k]) != repr(b.get(k)) for k in a)


def rescore(
    prep: Prepared, params: dict[str, Any], seeds: tuple[int, ...] = LEVEL_SEEDS,
    n_jobs: int | None = None, stop: threading.Event | None = None,
) -> list[float]:  # fmt: skip
    """The CV score of `params` (searched parameters, as a trial holds them) with each model
    seed in `seeds`, on the run's own folds and split: only the model's seed changes."""
    out = []
    for seed in seeds:
        evaluate = prep.evaluation(seed=int(seed), n_jobs=n_jobs, train_score=False,
                                   measure=False, report_steps=False, stop=stop)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(float(evaluate(DetachedTrial(params, RESCORED))))
    return out


def grid_level(
    prep: Prepared, best: FrozenTrial, seeds: tuple[int, ...] = LEVEL_SEEDS,
    n_jobs: int | None = None, stop: threading.Event | None = None,
) -> GridLevel:  # fmt: skip
    """Grid's best trial `best` scored again with `seeds`: the level (mean) and its spread
    (standard deviation over the seeds); for a model without a seed, grid's own best."""
    own = float(best.value)
    common = {"trial": best.number, "params": dict(best.params), "own": own,
              "folds": prep.config.cv_folds}  # fmt: skip
    if not takes_seed(prep, prep.space.complete(best.params)):
        return GridLevel(GridLevel.DETERMINISTIC, mean=own, **common)
    try:
        scores = rescore(prep, dict(best.params), seeds, n_jobs, stop)
    except StopRequested:
        raise  # stopped, not failed: no level is kept, and add_levels can score it later
    except Exception as exc:  # noqa: BLE001 - kept as the level's error; readers fall back
        return GridLevel(GridLevel.FAILED, error=f"{type(exc).__name__}: {exc}"[:500], **common)
    return GridLevel(
        GridLevel.SCORED, model_seeds=[int(s) for s in seeds], scores=scores,
        mean=float(np.mean(scores)), std=float(np.std(scores, ddof=1)) if len(scores) > 1 else None,
        **common,
    )  # fmt: skip


def wanted(run: StoredRun, prep: Prepared) -> bool:
    """Whether a finished run is an experiment's single-objective grid member without a level
    yet: only races run to grid's best."""
    return (
        prep.config.method == "grid"
        and len(prep.objectives) == 1
        and run.experiment is not None
        and run.grid_level is None
    )


def save_level(
    run: StoredRun, prep: Prepared, force: bool = False, stop: threading.Event | None = None
) -> GridLevel | None:
    """Score and keep the run's level where it is `wanted` (or `force`d on any grid run);
    returns it, or None where the run has none to give (not a grid, no complete trial) or a
    Stop cut the scoring short."""
    single_grid = prep.config.method == "grid" and len(prep.objectives) == 1
    if not (force and single_grid) and not wanted(run, prep):
        return None
    try:
        best = run.study.best_trial
    except ValueError:  # no complete trial: there is no best to rescore
        return None
    try:
        level = grid_level(prep, best, stop=stop)
    except StopRequested:
        return None
    run.save_grid_level(level)
    return level
