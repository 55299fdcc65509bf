"""The cross-validated objective: scorers, budgets, folds, and what one trial records."""

from __future__ import annotations

import threading

import numpy as np
import optuna
import pytest
from conftest import FOLDS, IRIS, assert_complete_metrics, narrow_space
from optuna.pruners import BasePruner
from optuna.trial import TrialState
from threadpoolctl import threadpool_info

from tuning.core.budget import Budget
from tuning.core.errors import ConfigError
from tuning.core.scoring import Scoring
from tuning.data.datasets import load_dataset
from tuning.evaluation.objective import (
    Evaluation,
    budget_for,
    make_folds,
    round_chunk,
    thread_limit,
)
from tuning.models import REGISTRY as MODELS

# --------------------------------------------------------------------------- scoring


def test_error_scorers_are_minimized_in_their_natural_sign():
    s = Scoring("neg_root_mean_squared_error")
    assert s.negated and s.label == "RMSE"
    assert s.direction == "minimize" and s.arrow == "lower is better"
    assert s.better(1.0, 2.0) and not s.better(2.0, 1.0) and s.better(5.0, None)
    a = Scoring("accuracy")
    assert not a.negated and a.direction == "maximize" and a.better(0.9, 0.8)


def test_scorer_values_match_scikit_learn():
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import root_mean_squared_error

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = X @ [1.0, -2.0] + rng.normal(size=50)
    model = LinearRegression().fit(X, y)
    rmse = Scoring("neg_root_mean_squared_error")(model, X, y)
    assert rmse == pytest.approx(root_mean_squared_error(y, model.predict(X)))
    assert rmse > 0


@pytest.mark.parametrize(
    ("name", "task", "classes", "needle"),
    [
        ("bogus", "classification", 2, "Unknown scoring 'bogus'"),
        ("r2", "classification", 2, "does not fit a classification task"),
        ("accuracy", "regression", None, "does not fit a regression task"),
        ("neg_log_loss", "regression", None, "does not fit a regression task"),
        ("roc_auc", "classification", 3, "use roc_auc_ovr or roc_auc_macro"),
        ("f1", "classification", 3, "use f1_macro"),
    ],
)
def test_scoring_that_does_not_fit_is_refused(name, task, classes, needle):
    with pytest.raises(ConfigError, match=needle):
        Scoring.validated(name, task, classes)


def test_every_offered_scorer_is_accepted_for_its_task():
    for task in ("classification", "regression"):
        assert Scoring.validated(Scoring.default(task), task).name == Scoring.default(task)
        for name in Scoring.choices(task):
            assert Scoring.validated(name, task, 2).name == name


# --------------------------------------------------------------------------- budgets and folds


def test_budgets_follow_the_model_unless_folds_are_asked_for():
    gb, mlp, knn = MODELS["gradient_boosting"], MODELS["mlp"], MODELS["knn"]
    gb_space = gb.default_space("classification")  # n_estimators up to 400
    assert budget_for(gb, gb_space, 5) == Budget("rounds", round_chunk(400), 400)
    assert round_chunk(400) == 40 and round_chunk(20) == 5
    assert budget_for(gb, gb_space, 5, "folds") == Budget("folds", 1, 5)
    mlp_space = mlp.default_space("classification")  # epochs up to 60
    assert budget_for(mlp, mlp_space, 3) == Budget("epochs", 3, 60)
    assert budget_for(knn, knn.default_space("classification"), 4) == Budget("folds", 1, 4)
    # A switched-off budget parameter caps the budget at its fixed value.
    off = gb_space.replace_param("n_estimators", enabled=False, default=120)
    assert budget_for(gb, off, 5) == Budget("rounds", round_chunk(120), 120)


def test_folds_are_stratified_for_classification_and_seeded():
    ds = load_dataset(IRIS)
    folds = make_folds(ds.y, "classification", 3, seed=0)
    assert len(folds) == 3
    seen = np.concatenate([va for _, va in folds])
    assert sorted(seen) == list(range(len(ds.y)))  # every row validated exactly once
    for tr, va in folds:
        assert not set(tr) & set(va)
        counts = ds.y.iloc[va].value_counts()  # 50 per class: 16 or 17 of each in every fold
        assert len(counts) == 3 and counts.max() - counts.min() <= 1
    again = make_folds(ds.y, "classification", 3, seed=0)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again, strict=True))
    other = make_folds(ds.y, "classification", 3, seed=1)
    assert any((a[1] != b[1]).any() for a, b in zip(folds, other, strict=True))


# --------------------------------------------------------------------------- one trial


def _evaluation(model: str = "knn", **kw) -> Evaluation:
    ds = load_dataset(IRIS)
    spec = MODELS[model]
    space = kw.pop("space", None) or narrow_space(model, "classification")
    return Evaluation(
        model=spec,
        space=space,
        task="classification",
        X=ds.X,
        y=ds.y,
        folds=make_folds(ds.y, "classification", FOLDS, 0),
        scoring=Scoring("accuracy"),
        budget=kw.pop("budget", None) or budget_for(spec, space, FOLDS),
        seed=0,
        n_jobs=1,
        **kw,
    )


class _PruneAt(BasePruner):
    """Prunes whenever the trial's last reported step is in `steps`."""

    def __init__(self, steps: set[int]) -> None:
        self.steps = steps

    def prune(self, study, trial) -> bool:
        return trial.last_step in self.steps


def test_a_trial_records_its_metrics_in_one_attribute():
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(_evaluation(), n_trials=2)
    for t in study.trials:
        assert t.state == TrialState.COMPLETE
        m = assert_complete_metrics(t)
        assert m["step"] == FOLDS
        assert m["worker"]
        assert 0.0 <= t.value <= 1.0 and 0.0 <= m["train_score"] <= 1.0


def test_train_score_can_be_switched_off():
    study = optuna.create_study(direction="maximize")
    study.optimize(_evaluation(train_score=False), n_trials=1)
    assert study.trials[0].user_attrs["metrics"]["train_score"] is None


def test_a_pruned_trial_records_the_step_it_stopped_at():
    study = optuna.create_study(direction="maximize", pruner=_PruneAt({2}))
    study.optimize(_evaluation(), n_trials=1)
    t = study.trials[0]
    assert t.state == TrialState.PRUNED
    m = t.user_attrs["metrics"]
    assert m["pruned_step"] == 2 == len(m["fold_scores"])
    assert sorted(t.intermediate_values) == [1, 2]


@pytest.mark.parametrize(
    ("model", "last"),
    [("knn", FOLDS), ("gradient_boosting", None), ("mlp", None)],
)
def test_a_trial_that_spent_its_whole_budget_is_not_pruned(model, last):
    """A pruner asked at the last step would throw a finished score away (e.g. successive
    halving with a rung at fold 3 of 3): the trial is recorded complete instead."""
    ev = _evaluation(model)
    space = ev.space
    param = MODELS[model].budget_param
    if param:  # fix the budget so the last step is known: 10 rounds, or 2 epochs
        fixed = 10 if model == "gradient_boosting" else 2
        space = space.replace_param(param, enabled=False, default=fixed)
        ev = _evaluation(model, space=space)
        last = fixed
    study = optuna.create_study(direction="maximize", pruner=_PruneAt({last}))
    study.optimize(ev, n_trials=1)
    t = study.trials[0]
    assert t.state == TrialState.COMPLETE
    assert max(t.intermediate_values) == last


def test_a_stop_request_fails_the_trial_as_stopped_by_user():
    stop = threading.Event()
    stop.set()
    study = optuna.create_study(direction="maximize")
    study.optimize(_evaluation(stop=stop), n_trials=1, catch=(Exception,))
    t = study.trials[0]
    assert t.state == TrialState.FAIL
    assert t.user_attrs["metrics"]["fail_reason"] == "stopped by user"
    assert t.user_attrs["metrics"]["step"] == 0  # stopped before the first fold


def test_a_model_error_is_recorded_with_its_type_and_message():
    ev = _evaluation(
        "knn",
        # More neighbours than training rows: scikit-learn refuses. Fixed weights and metric
        # and a seeded sampler keep the trial deterministic.
        space=narrow_space("knn", "classification")
        .replace_param("n_neighbors", low=500, high=600)
        .replace_param("weights", enabled=False, default="uniform")
        .replace_param("p", enabled=False, default=2),
    )
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(ev, n_trials=1, catch=(Exception,))
    t = study.trials[0]
    assert t.state == TrialState.FAIL
    assert t.user_attrs["metrics"]["fail_reason"].startswith("ValueError: ")
    assert "n_neighbors" in t.user_attrs["metrics"]["fail_reason"]


# --------------------------------------------------------------------------- threads


def _openmp_and_blas_threads() -> set[int]:
    return {
        lib["num_threads"] for lib in threadpool_info() if lib["user_api"] in ("openmp", "blas")
    }


def test_n_jobs_caps_openmp_and_blas_threads_during_a_fit():
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    with thread_limit(1):
        assert _openmp_and_blas_threads() == {1}
    with thread_limit(-1):
        assert _openmp_and_blas_threads() == _openmp_and_blas_threads()  # untouched


def test_boosting_checkpoints_preprocess_once_and_score_as_whole_pipeline_fits():
    """Rounds are added by warm start on features preprocessed once per fold; every checkpoint
    must score as a warm-started pipeline refitted whole (preprocessing included) would."""
    from sklearn.metrics import accuracy_score

    from tuning.models import build_pipeline

    space = narrow_space("gradient_boosting", "classification").replace_param(
        "n_estimators", enabled=False, default=20
    )
    ev = _evaluation("gradient_boosting", space=space)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(ev, n_trials=1)
    t = study.trials[0]
    assert sorted(t.intermediate_values) == [5, 10, 15, 20]
    per_step: dict[int, list[float]] = {}
    for tr, va in ev.folds:
        params = ev.space.complete(t.params)  # with the switched-off ones (subsample 0.75)
        pipe = build_pipeline(ev.model, params, "classification", 0, 1)
        pipe[-1].set_params(warm_start=True)
        for rounds in (5, 10, 15, 20):
            pipe[-1].set_params(n_estimators=rounds)
            pipe.fit(ev.X.iloc[tr], ev.y.iloc[tr])
            score = accuracy_score(ev.y.iloc[va], pipe.predict(ev.X.iloc[va]))
            per_step.setdefault(rounds, []).append(score)
    for rounds, scores in per_step.items():
        assert t.intermediate_values[rounds] == pytest.approx(float(np.mean(scores)))
    assert t.user_attrs["metrics"]["fold_scores"] == pytest.approx(per_step[20])
