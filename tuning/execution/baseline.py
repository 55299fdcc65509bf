"""The model's library defaults as a run's baseline: what every single-objective run scores
first, so that the gain of tuning can be stated against "the model we would have trained
anyway" (tuning.analysis.baseline), with its paired uncertainty over the same folds.

When a run is created (`plan`, called by tuning.runs.runner.record_run):

- the defaults of the searched parameters are read from the library (`ModelSpec.
  library_defaults`: scikit-learn's, LightGBM's, XGBoost's, CatBoost's, the MLP's own; a user's
  own estimator's are the values it was given); the run's fixed parameters stay as in every
  trial;
- where every searched default lies in its range (a categorical among its choices), a
  single-objective run searched by a sampler queues them as its first trial, marked with the
  origin "library defaults": the sampler learns from them, and that trial is one of the run's n
  trials (the trial budget counts trials; "the baseline costs one trial");
- where they do not fit (a forest's max_depth=None against 5 to 30), and for a grid (the grid
  is the search) or a multi-objective run (its trials are points of a front), they are scored
  beside the trials: once, by the first worker that starts (`score_beside`), on the same folds,
  by the run's own objective. That costs one evaluation and no trial of the budget (the time
  limit and the run's working time include it). A failure is recorded and the run goes on;
- population-based training, a run with the setting switched off, and a model whose defaults
  cannot be read get no baseline, and the stored record says why.

At the run's end the defaults are refit on the training rows and scored once on the test part
beside the best configuration (RunSession.test_defaults, called by RunSession.end).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tuning.core.space import Param, SearchSpace
from tuning.evaluation.objective import StopRequested
from tuning.execution.prepared import Prepared
from tuning.store.records import Baseline
from tuning.store.run import StoredRun
from tuning.store.trials import LIBRARY_DEFAULTS, DetachedTrial

SWITCHED_OFF = (
    "The library defaults were not scored: the run was created with the baseline switched off "
    "(--no-defaults-baseline)."
)
RUNS_ITSELF = (
    "{label} trains its own population and has no trials a baseline could join: the defaults "
    "are not scored."
)
GRID = (
    "Grid search tries its lattice and nothing else: the defaults are scored beside the grid, "
    "on the same folds."
)
MULTI_OBJECTIVE = (
    "A multi-objective run's trials are points of its trade-off front: the defaults are scored "
    "beside them, on the same folds."
)
OUTSIDE = (
    "The defaults lie outside the searched space ({where}): a sampler cannot propose them, so "
    "they are scored beside the trials, on the same folds."
)


def searched_defaults(
    space: SearchSpace, defaults: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The searched parameters at the library's defaults, in the space's order and only where
    active (a conditional parameter under its parent's default); the run's switched-off
    parameters keep their fixed values and are not listed. Returns (params, outside: parameter
    -> why its default is not a value the search can propose, unknown: searched parameters the
    library gives no default for)."""
    params: dict[str, Any] = {}
    outside: dict[str, str] = {}
    unknown: list[str] = []
    context: dict[str, Any] = {}  # every active value so far, fixed ones too (for conditions)
    for p in space.params:
        if not p.is_active(context):
            continue
        if not p.enabled:
            context[p.name] = p.fixed_value()
            continue
        if p.name not in defaults or not _plain(defaults[p.name]):
            unknown.append(p.name)
            continue
        value = _as_kind(p, defaults[p.name])
        params[p.name] = context[p.name] = value
        if not p.contains(value):
            outside[p.name] = _why_outside(p, value)
    return params, outside, unknown


def plan(prep: Prepared, method: Any) -> Baseline:
    """Where the run scores its library defaults, decided once when it is created. `method` is
    the run's MethodSpec: what it can do (`runs_itself`, `enumerates_grid`, `why_no_baseline`)."""
    config = prep.config
    if not config.defaults_baseline:
        return Baseline(Baseline.NONE, reason=SWITCHED_OFF)
    why_not = getattr(method, "why_no_baseline", None)
    if why_not or method.runs_itself:
        return Baseline(Baseline.NONE, reason=why_not or RUNS_ITSELF.format(label=method.label))
    try:
        defaults = prep.model.library_defaults(prep.dataset.task)
    except Exception as exc:  # noqa: BLE001 - the run goes on without a baseline, saying why
        return Baseline(
            Baseline.NONE,
            reason=f"The defaults of {prep.model.label} could not be read: "
            f"{type(exc).__name__}: {exc}",
        )
    params, outside, unknown = searched_defaults(prep.space, defaults)
    if unknown:
        return Baseline(
            Baseline.NONE,
            reason=f"{prep.model.label} states no plain default for {', '.join(unknown)}: "
            "the defaults are not scored.",
        )
    beside = None
    if method.enumerates_grid:
        beside = GRID
    elif config.multi_objective:
        beside = MULTI_OBJECTIVE
    elif outside:
        beside = OUTSIDE.format(where="; ".join(outside.values()))
    if beside is None:
        return Baseline(Baseline.TRIAL, params, in_space=True)
    return Baseline(Baseline.PENDING, params, not outside, outside, beside)


def score_beside(run: StoredRun, objective: Callable[[Any], Any]) -> float:
    """Score the library defaults beside the trials where the run's baseline waits for it: once
    per run (the first worker to claim it), on the trials' folds, through the run's own
    `objective` (RunSession.evaluation). A failure is recorded as the baseline's error and the
    run goes on; a Stop leaves it waiting, for the resume. Returns the seconds it took (0 where
    there was nothing to do)."""
    waiting = run.baseline  # one read of the run's attributes: the common case ends here
    if waiting is None or not waiting.waiting:
        return 0.0
    baseline = run.claim_baseline()
    if baseline is None:
        return 0.0
    t0 = time.perf_counter()
    trial = DetachedTrial(baseline.params, LIBRARY_DEFAULTS)
    try:
        objective(trial)
    except StopRequested:
        run.save_baseline(replace(baseline, status=Baseline.PENDING, worker=None))
        return time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001 - recorded; the search goes on without it
        reason = trial.metrics().fail_reason or f"{type(exc).__name__}: {exc}"[:500]
        run.save_baseline(replace(baseline, status=Baseline.FAILED, error=reason, worker=None))
        return time.perf_counter() - t0
    metrics = trial.metrics()
    run.save_baseline(
        replace(baseline, status=Baseline.SCORED, metrics=metrics.to_attr(), worker=None)
    )
    return time.perf_counter() - t0


# -- helpers -------------------------------------------------------------------------------------
def _plain(value: Any) -> bool:
    """Whether a default can be kept with the run (JSON: a number, text, a bool or None)."""
    if value is None or isinstance(value, str | bool | int | float):
        try:
            json.dumps(value, allow_nan=False)
        except ValueError:
            return False
        return True
    return False


def _as_kind(p: Param, value: Any) -> Any:
    """A numeric default in its parameter's kind (XGBoost states 1 for a fraction of 1.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if p.kind == "float":
        return float(value)
    if p.kind == "int" and float(value).is_integer():
        return int(value)
    return value


def _why_outside(p: Param, value: Any) -> str:
    """e.g. "max_depth = None is outside [5, 30]" (None: no limit, or chosen from the data)."""
    if p.kind == "categorical":
        return f"{p.name} = {value!r} is not among {p.describe()}"
    return f"{p.name} = {value!r} is outside {p.describe()}"
