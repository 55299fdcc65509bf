"""Validating a run's configuration against its data, model and method."""

from __future__ import annotations

from dataclasses import replace

from tuning.core.config import RunConfig
from tuning.core.enums import BudgetKind, Task
from tuning.core.errors import ConfigError, UserError
from tuning.core.objectives import validate_costs
from tuning.core.scoring import Scoring
from tuning.core.space import SearchSpace
from tuning.data import datasets
from tuning.evaluation.objective import budget_for
from tuning.execution.prepared import Prepared
from tuning.methods import check_multi_objective, get_method
from tuning.methods.recommend import choose
from tuning.models import REGISTRY as MODELS
from tuning.models import ModelSpec, get_model
from tuning.models.custom import (
    check_space,
    estimator_task,
    import_estimator,
    missing_estimator,
    own_model,
)


def rebuild_problem(config: RunConfig) -> str | None:
    """Why this process cannot rebuild the run's estimator, as a sentence for people; None
    when it can (every registry model, and an own estimator whose import path imports here).
    A run with a problem is read-only: its trials can be read and shown (Live monitor, Analysis,
    Report), but it cannot be resumed, refined, joined or refit."""
    ref = config.estimator
    if ref is None:
        return None
    missing = missing_estimator(ref)  # not importable, not allowed here, or not found
    if missing:
        return missing
    try:
        import_estimator(ref.path)
    except UserError as exc:
        return f"{exc} Until then the run is read-only here: its trials can be read."
    return None


CLUSTERS = ("local", "dask")  # this machine's worker processes, or a Dask cluster's workers


def prepare(config: RunConfig) -> Prepared:
    """Validate a configuration against its data; raises UserError with what to change. The
    checks go from the run down: its settings and method, its model and space, its data.
    A method that chooses another (Recommended) is resolved here: the prepared run has the
    concrete method, and `recommendation` says which and why."""
    method = get_method(config.method)
    if method.chooses_method:
        return _recommended(config, method)
    return _prepare(config, method)


def _recommended(config: RunConfig, method) -> Prepared:
    if config.method_options:
        raise ConfigError(
            f"{method.label} takes no options ({', '.join(config.method_options)}): it picks "
            "the method itself. To set options, choose that method instead."
        )
    _check_settings(config, method)
    model, space, _ = _model_and_space(config)
    ds = datasets.load_dataset(config.dataset)
    if config.estimator is None:
        space = _registry_space(config, model, ds.task)
    fidelity = BudgetKind.FOLDS if config.fidelity == BudgetKind.FOLDS else model.budget
    chosen = choose(space, config.n_trials, 1 + len(config.objectives), fidelity, config.workers)
    concrete = replace(config, method=chosen.method, method_options=chosen.options)
    prep = _prepare(concrete, get_method(chosen.method), ds)
    prep.recommendation = chosen.to_attr()
    return prep


def _prepare(config: RunConfig, method, ds=None) -> Prepared:
    _check_settings(config, method)
    _check_stop_when_flat(config, method)
    _check_warm_start(config, method)
    if method.runs_itself and config.estimator is not None:
        raise ConfigError(POPULATION_OWN)
    options = method.validate_options(dict(config.method_options))
    if config.objectives:
        config = replace(config, objectives=validate_costs(config.objectives, config.model))
        check_multi_objective(method)
    model, space, task = _model_and_space(config)
    ds = datasets.load_dataset(config.dataset) if ds is None else ds
    if config.estimator is None:
        space = _registry_space(config, model, ds.task)
    elif task != ds.task:
        kind = "classifier" if task == Task.CLASSIFICATION else "regressor"
        raise ConfigError(
            f"{config.estimator.path} builds a {kind}, but the dataset is a {ds.task} task: "
            f"choose a {task} dataset or another estimator."
        )
    if model.check_columns is not None:
        model.check_columns(list(ds.X.columns))
    return _resolve(config, method, options, model, ds, space)


def _model_and_space(config: RunConfig) -> tuple[ModelSpec, SearchSpace, str | None]:
    """The run's model and its validated space: a registry model (its default space unless one
    is given), or one's own estimator imported from its saved path (then a space is needed and
    the estimator's task is known before the data: returned, else None)."""
    if config.estimator is not None:
        problem = rebuild_problem(config)
        if problem:
            raise ConfigError(problem)
        estimator = import_estimator(config.estimator.path)
        if config.space is None:
            raise ConfigError(
                "Your own estimator has no default search space: give one (--space FILE.json)."
            )
        space = config.space.validate()
        check_space(estimator, space)
        return own_model(estimator, config.estimator), space, estimator_task(estimator)
    return get_model(config.model), config.space, None


def _registry_space(config: RunConfig, model: ModelSpec, task: str) -> SearchSpace:
    """A registry model's validated space for the data's task (its default unless one is
    given), naming only its parameters; a fixed setting that cannot work here (a GPU that is
    not there) is refused now rather than in every trial."""
    if not model.supports(task):
        raise ConfigError(
            f"{model.label} does not handle {task}; for this dataset choose one of: "
            f"{', '.join(m for m, s in MODELS.items() if s.supports(task))}."
        )
    space = (config.space or model.default_space(task)).validate()
    unknown = set(space.names) - set(model.default_space(task).names)
    if unknown:
        raise ConfigError(
            f"{model.label} has no parameter(s) {', '.join(sorted(unknown))}: remove them."
        )
    try:
        model.build(space.complete({}), task, config.seed, 1)
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001 - other build errors may depend on the parameters: the
        pass  # trials record them (and the failure limit stops a run that fails throughout)
    return space


POPULATION_OWN = (
    "Population-based training trains the studio's own network epoch by epoch; it cannot "
    "tune another estimator: choose a sampler method (e.g. tpe, random, grid)."
)


def _check_settings(config: RunConfig, method) -> None:
    if config.n_trials is None and config.timeout_s is None and method.needs_budget:
        raise ConfigError("Give a budget: a number of trials, a time limit in minutes, or both.")
    if config.n_trials is not None and config.n_trials < 1:
        raise ConfigError(f"The number of trials must be at least 1, got {config.n_trials}.")
    if config.timeout_s is not None and config.timeout_s <= 0:
        raise ConfigError(f"The time limit must be positive, got {config.timeout_s} s.")
    if not 2 <= config.cv_folds <= 20:
        raise ConfigError(f"CV folds must be between 2 and 20, got {config.cv_folds}.")
    if not 0.05 <= config.test_size <= 0.5:
        raise ConfigError(
            f"The test fraction must be between 0.05 and 0.5, got {config.test_size}."
        )
    if config.trial_timeout_s is not None and not config.trial_timeout_s > 0:
        raise ConfigError(
            f"The per-trial time limit must be positive, got {config.trial_timeout_s} s."
        )
    if config.max_consecutive_failures < 1:
        raise ConfigError("The consecutive-failure limit must be at least 1.")
    if not 1 <= config.workers <= 64:
        raise ConfigError(f"Workers must be between 1 and 64, got {config.workers}.")
    if config.cluster not in CLUSTERS:
        raise ConfigError(
            f"Where a run works must be one of {', '.join(CLUSTERS)}, not '{config.cluster}'."
        )
    if config.retries < 0:
        raise ConfigError(f"Retries cannot be negative, got {config.retries}.")
    if config.n_jobs == 0:
        raise ConfigError("n_jobs must be -1 (all cores) or 1 or more threads, not 0.")
    if config.fidelity not in ("auto", BudgetKind.FOLDS):
        raise ConfigError(f"fidelity must be 'auto' or 'folds', not '{config.fidelity}'.")


def _check_stop_when_flat(config: RunConfig, method) -> None:
    """Stopping when flat needs one score to watch and a search that may end anywhere."""
    if not config.stop_when_flat:
        return
    why = (
        "a grid search tries every combination it queued: stopping it early leaves the grid "
        "incomplete" if method.enumerates_grid
        else "population-based training trains its population for the whole budget"
        if method.runs_itself
        else "a multi-objective run has no single best score to watch"
        if config.objectives
        else None
    )  # fmt: skip
    if why:
        raise ConfigError(
            f"Stop when flat does not apply here: {why}. Turn it off, or choose another method."
        )


def _check_warm_start(config: RunConfig, method) -> None:
    """A warm start queues configurations for a sampler to learn from: not for a grid (which
    tries its own list) or population-based training (which trains its own population)."""
    if config.warm_narrow and not config.warm_start:
        raise ConfigError("Narrowing the ranges needs earlier runs to start from: name them.")
    if config.warm_start and (method.enumerates_grid or method.runs_itself):
        raise ConfigError(
            f"{method.label} does not start from earlier runs: choose a sampler method such as "
            "Bayesian (TPE) or random search, or start without them."
        )


def _resolve(config: RunConfig, method, options, model, ds, space) -> Prepared:
    scoring = Scoring.validated(
        config.scoring or Scoring.default(ds.task), ds.task, len(ds.classes or []) or None
    )
    split = datasets.split(ds, config.test_size, config.seed)
    datasets.check_cv(split.y_train, ds.task, config.cv_folds, split.X_train)
    config = method.validate_run(replace(config, method_options=options), space, model)
    config = replace(
        config, space=space, scoring=scoring.name, method_options=options, name=config.name
    )
    budget = budget_for(model, space, config.cv_folds, config.fidelity)
    return Prepared(config, ds, split, model, scoring, budget)
