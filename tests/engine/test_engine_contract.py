"""Contract over the registries: every model x every method runs and records what is promised.

Each case runs 3 trials (or the whole 2-point grid) with 3-fold CV on iris or a 120-row
regression set, in a narrowed space so that the whole matrix stays fast.
"""

from __future__ import annotations

import math

import optuna
import pytest
from conftest import (
    FOLDS,
    assert_complete_metrics,
    assert_pruned_metrics,
    main_task,
    make_config,
    narrow_space,
)
from optuna.trial import TrialState

from tuning.core.config import RunConfig
from tuning.core.errors import ConfigError
from tuning.evaluation.objective import round_chunk
from tuning.methods import REGISTRY as METHODS
from tuning.models import REGISTRY as MODELS
from tuning.runs.runner import create_run, execute
from tuning.store.runs import load_study

# Options that make each method exercise its own logic within 3 trials.
OPTIONS = {
    "tpe": {"n_startup_trials": 2},
    "nsga2": {"population_size": 2},
    "nsga3": {"population_size": 2},
    "median": {"n_startup_trials": 1, "n_warmup_steps": 0},
    "pbt": {"population_size": 2, "interval": 2},
}

# Grid cases switch one more parameter off so that the 2-point grid stays at a handful of trials
# (the conditional expansion is still exercised by svm's kernel/gamma/degree).
GRID_OFF = {
    "random_forest": "max_features",
    "extra_trees": "max_features",
    "gradient_boosting": "learning_rate",
    "hist_gradient_boosting": "learning_rate",
    "svm": "C",
    "knn": "p",
    "mlp": "learning_rate",
    "lightgbm": "learning_rate",
    "xgboost": "learning_rate",
    "catboost": "learning_rate",
}

# Models that handle both tasks run these methods on the regression set (r2), the rest on iris.
REGRESSION_METHODS = ("random", "cmaes", "hyperband")


def _task(model: str, method: str) -> str:
    tasks = MODELS[model].tasks
    return "regression" if "regression" in tasks and method in REGRESSION_METHODS else tasks[0]


CASES = [
    pytest.param(model, method, _task(model, method), id=f"{model}-{method}-{_task(model, method)}")
    for model in MODELS
    for method in METHODS
    if not METHODS[method].chooses_method  # it runs one of the others (tests/engine/test_recommend.py)
]


def _run(storage, config: RunConfig) -> optuna.Study:
    name = create_run(config, storage)
    status = execute(name, storage)
    study = load_study(name, storage)
    assert status == "finished", study.user_attrs.get("message")
    return study


def _space(model: str, method: str, task: str):
    space = narrow_space(model, task)
    if METHODS[method].enumerates_grid and model in GRID_OFF:
        space = space.replace_param(GRID_OFF[model], enabled=False)
    return space


def _check_run(study: optuna.Study, config: RunConfig) -> None:
    attrs = study.user_attrs
    model = MODELS[config.model]
    task = attrs["task"]
    space = _space(config.model, config.method, task)

    # The study records its configuration, status and the held-out test score.
    saved = attrs["config"]
    again = RunConfig.from_dict(saved)
    assert again.to_dict() == saved
    assert again.model == config.model and again.method == config.method
    assert again.space == space
    assert attrs["status"] == "finished"
    assert isinstance(attrs["test"]["score"], float) and math.isfinite(attrs["test"]["score"])
    assert attrs["test"]["n_train"] + attrs["test"]["n_test"] > 0

    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    assert TrialState.FAIL not in states, [t.user_attrs.get("metrics") for t in trials]
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    if METHODS[config.method].enumerates_grid:
        assert attrs["grid_size"] == space.grid_size(config.grid_points) == len(trials)
        searched = set(space.distributions())
        expected = sorted(
            repr(sorted((k, v) for k, v in g.items() if k in searched))
            for g in space.grid(config.grid_points)
        )
        assert sorted(repr(sorted(t.params.items())) for t in trials) == expected
    else:
        assert len(trials) == config.n_trials
    assert any(s == TrialState.COMPLETE for s in states)

    budget = attrs["budget"]
    for t in trials:
        full = space.complete(t.params)
        assert set(t.params) <= set(space.distributions())
        for name, value in t.params.items():
            p = space[name]
            if p.kind == "categorical":
                assert value in p.choices
            else:
                assert p.low <= value <= p.high, (name, value)
        steps = sorted(t.intermediate_values)
        if budget["kind"] == "epochs":
            assert steps == list(range(1, len(steps) + 1))
            assert steps[-1] <= full["epochs"]
        elif budget["kind"] == "rounds":
            total = int(full[model.budget_param])
            chunk = round_chunk(budget["max_step"])
            assert steps == [*range(chunk, total, chunk), total][: len(steps)]
        if t.state == TrialState.COMPLETE:
            m = assert_complete_metrics(t, FOLDS, budget["kind"])
            if budget["kind"] == "folds":
                assert steps == list(range(1, FOLDS + 1))
            elif budget["kind"] == "rounds":
                assert steps[-1] == int(full[model.budget_param])
            else:
                assert 1 <= m["best_epoch"] <= steps[-1]
                assert t.value == pytest.approx(t.intermediate_values[m["best_epoch"]])
        else:
            m = assert_pruned_metrics(t)
            if budget["kind"] == "folds":
                assert len(m["fold_scores"]) == m["pruned_step"] < FOLDS


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("model", "method", "task"), CASES)
def test_every_model_with_every_method(storage, model, method, task):
    config = make_config(
        model,
        method,
        task=task,
        space=_space(model, method, task),
        method_options=OPTIONS.get(method, {}),
        # The library defaults lie far outside these narrowed spaces (CatBoost's 1,000 rounds):
        # scoring them beside every case would double the matrix. Every method runs with its
        # baseline in tests/engine/test_baseline.py, every model's defaults are checked below.
        defaults_baseline=False,
    )
    if METHODS[method].runs_itself:
        _check_population(storage, config)
        return
    study = _run(storage, config)
    assert study.user_attrs["task"] == task
    assert study.user_attrs["scoring"] == ("accuracy" if task == "classification" else "r2")
    _check_run(study, config)


def _check_population(storage, config: RunConfig) -> None:
    """A population method runs models that train in epochs, and refuses the others clearly."""
    model = MODELS[config.model]
    if model.budget != "epochs":
        with pytest.raises(ConfigError, match="needs a model that trains in epochs"):
            create_run(config, storage)
        return
    study = _run(storage, config)
    attrs = study.user_attrs
    epochs = int(_space(config.model, config.method, attrs["task"])["epochs"].high)
    segments = 2 * math.ceil(epochs / 2)
    assert attrs["config"]["n_trials"] == segments  # the trial budget is the segments
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == segments and all(t.state == TrialState.COMPLETE for t in trials)
    for t in trials:
        info, m = t.user_attrs["pbt"], t.user_attrs["metrics"]
        steps = sorted(t.intermediate_values)
        assert steps == list(range(info["start_epoch"] + 1, info["start_epoch"] + len(steps) + 1))
        assert t.value == pytest.approx(t.intermediate_values[steps[-1]])
        assert m["cv_mean"] == pytest.approx(t.value) and m["step"] == steps[-1]
    assert math.isfinite(attrs["test"]["score"]) and attrs["test"]["source"] == "population"


def test_the_matrix_covers_both_tasks_for_every_model_that_has_them():
    for model, spec in MODELS.items():
        assert {_task(model, m) for m in METHODS} == set(spec.tasks), model


def test_every_model_has_a_valid_default_space_and_budget():
    for name, spec in MODELS.items():
        for task in spec.tasks:
            space = spec.default_space(task)
            assert space.names, name
            if spec.budget != "folds":
                assert spec.budget_param in space, name
        assert main_task(name) in spec.tasks


# Whether each model's library defaults lie in its default space (then they are a run's first
# trial) and, if not, which parameters are outside (then they are scored beside the trials).
DEFAULTS_OUTSIDE = {
    ("random_forest", "classification"): {"max_depth"},  # None: no limit, against 5 to 30
    ("random_forest", "regression"): {"max_depth", "max_features"},  # 1.0: all features
    ("gradient_boosting", "classification"): set(),
    ("hist_gradient_boosting", "classification"): {"l2_regularization"},  # 0, a log range
    ("svm", "classification"): {"gamma"},  # "scale", a rule rather than a number
    ("logistic_regression", "classification"): set(),
    ("ridge", "regression"): set(),
    ("knn", "classification"): set(),
    ("lightgbm", "classification"): {"reg_alpha", "reg_lambda"},  # 0, a log range
    ("xgboost", "classification"): {"reg_alpha"},  # 0, a log range
    # CatBoost: 1,000 rounds against 50 to 500; its learning rate and row fraction are chosen
    # from the data when it fits (None).
    ("catboost", "classification"): {"n_estimators", "learning_rate", "subsample"},
    ("mlp", "classification"): set(),
}
DEFAULTS_OUTSIDE[("extra_trees", "classification")] = DEFAULTS_OUTSIDE[
    ("random_forest", "classification")
]
DEFAULTS_OUTSIDE[("extra_trees", "regression")] = DEFAULTS_OUTSIDE[("random_forest", "regression")]


def _library_estimator(spec, task: str):
    """The library's own estimator, as its class makes it with no argument (the reference)."""
    built = spec.build({}, task, 0, 1)
    if spec.name == "mlp":
        return type(built)(task=task)
    return type(built)()


@pytest.mark.parametrize("model", list(MODELS))
def test_every_model_states_its_library_defaults(model):
    """Each model gives the library's default of every parameter of its default space, read
    from the library: scikit-learn's, LightGBM's and the MLP's own as their estimator classes
    hold them, XGBoost's and CatBoost's (None until they fit) as their fitted models state them."""
    spec = MODELS[model]
    for task in spec.tasks:
        defaults = spec.library_defaults(task)
        space = spec.default_space(task)
        for p in space.params:
            assert p.name in defaults, (model, task, p.name)
            value = defaults[p.name]
            assert value is None or isinstance(value, str | bool | int | float), (p.name, value)
        if model not in ("xgboost", "catboost"):
            own = _library_estimator(spec, task).get_params()
            library_names = [n for n in space.names if n in own]
            assert library_names, model
            assert {n: defaults[n] for n in library_names} == {n: own[n] for n in library_names}
        outside = {p.name for p in space.params if p.enabled and not p.contains(defaults[p.name])}
        expected = DEFAULTS_OUTSIDE.get(
            (model, task), DEFAULTS_OUTSIDE.get((model, main_task(model)))
        )
        assert outside == expected, (model, task, outside)


def test_the_boosting_libraries_defaults_are_theirs():
    xgb, cat = (
        MODELS["xgboost"].library_defaults("classification"),
        MODELS["catboost"].library_defaults("regression"),
    )
    # XGBoost's documented defaults: eta 0.3, depth 6, 100 rounds, lambda 1, alpha 0.
    assert (xgb["learning_rate"], xgb["max_depth"], xgb["n_estimators"]) == (0.3, 6, 100)
    assert (xgb["reg_lambda"], xgb["reg_alpha"], xgb["subsample"]) == (1, 0, 1)
    # CatBoost's: depth 6, 1,000 iterations, l2_leaf_reg 3; the learning rate from the data.
    assert (cat["depth"], cat["n_estimators"], cat["l2_leaf_reg"]) == (6, 1000, 3)
    assert cat["learning_rate"] is None and cat["subsample"] is None
    # The studio's own settings: early stopping off, trees on the CPU.
    assert (xgb["early_stopping_rounds"], xgb["device"]) == (0, "cpu")


def test_catboost_does_choose_its_row_fraction_from_the_data():
    """Why CatBoost's `subsample` has no stated default (boosting.CATBOOST_FROM_DATA)."""
    import catboost
    import numpy as np

    rng = np.random.default_rng(0)
    seen = set()
    for n in (50, 200):
        X = rng.normal(size=(n, 3))
        model = catboost.CatBoostRegressor(iterations=1, verbose=0, allow_writing_files=False,
                                           bootstrap_type="Bernoulli", thread_count=1)  # fmt: skip
        seen.add(model.fit(X, X[:, 0]).get_all_params()["subsample"])
    assert len(seen) == 2


def test_minimized_error_scoring_is_reported_in_natural_sign(storage):
    config = make_config(
        "ridge", "random", scoring="neg_root_mean_squared_error", method_options={}
    )
    study = _run(storage, config)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        assert t.value > 0  # RMSE, not its negation
        assert all(s > 0 for s in t.user_attrs["metrics"]["fold_scores"])
    assert study.user_attrs["test"]["score"] > 0
