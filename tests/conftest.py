"""Shared helpers for the engine tests: tiny datasets, narrowed spaces, a fresh storage per test."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from optuna.storages import JournalStorage
from optuna.trial import TrialState

from tuning.core.config import DatasetRef, RunConfig
from tuning.core.space import SearchSpace
from tuning.models import REGISTRY as MODELS
from tuning.models.custom import ENV_ALLOW
from tuning.store.storage import open_storage

IRIS = DatasetRef("iris")
SMALL_REGRESSION = DatasetRef("regression", params={"n_samples": 120, "n_features": 5})
FOLDS = 3

# Narrowed copies of each default space, so that a trial costs milliseconds and a 2-point grid
# has at most a few dozen configurations. Values: changes passed to SearchSpace.replace_param.
NARROW: dict[str, dict[str, dict]] = {
    "random_forest": {
        "n_estimators": {"low": 5, "high": 10},
        "max_depth": {"low": 2, "high": 4},
        "min_samples_split": {"enabled": False},
        "min_samples_leaf": {"enabled": False},
    },
    "gradient_boosting": {
        "n_estimators": {"low": 5, "high": 20},
        "max_depth": {"low": 2, "high": 3},
        "subsample": {"enabled": False},
        "min_samples_leaf": {"enabled": False},
    },
    "hist_gradient_boosting": {
        "max_iter": {"low": 5, "high": 20},
        "max_leaf_nodes": {"low": 4, "high": 8},
        "min_samples_leaf": {"enabled": False, "default": 5},
        "l2_regularization": {"enabled": False},
    },
    "svm": {
        "C": {"low": 1e-2, "high": 1e2},
        "gamma": {"condition": ("kernel", ("rbf", "poly"))},
        "kernel": {"choices": ("rbf", "linear", "poly")},
        "degree": {"low": 2, "high": 3},
    },
    "logistic_regression": {"C": {"low": 1e-3, "high": 1e2}},
    "ridge": {},
    "knn": {"n_neighbors": {"low": 1, "high": 15}},
    "mlp": {
        "learning_rate": {"low": 1e-3, "high": 1e-1},
        "batch_size": {"enabled": False, "default": 32},
        "n_layers": {"enabled": False, "default": 1},
        "width": {"low": 8, "high": 16},
        "dropout": {"enabled": False, "default": 0.0},
        "weight_decay": {"enabled": False},
        "epochs": {"low": 2, "high": 4},
    },
}
NARROW["extra_trees"] = NARROW["random_forest"]
# LightGBM, XGBoost, CatBoost: few small trees, the regularization fixed.
_BOOSTING_FIXED = {"enabled": False}
NARROW["lightgbm"] = {
    "n_estimators": {"low": 5, "high": 20},
    "num_leaves": {"low": 4, "high": 8},
    "min_child_samples": {"enabled": False, "default": 5},
    **{n: _BOOSTING_FIXED for n in ("subsample", "colsample_bytree", "reg_alpha", "reg_lambda")},
}
NARROW["xgboost"] = {
    "n_estimators": {"low": 5, "high": 20},
    "max_depth": {"low": 2, "high": 3},
    **{n: _BOOSTING_FIXED for n in ("min_child_weight", "subsample", "colsample_bytree",
                                    "reg_alpha", "reg_lambda")},
}  # fmt: skip
NARROW["catboost"] = {
    "n_estimators": {"low": 5, "high": 20},
    "depth": {"low": 2, "high": 3},
    **{n: _BOOSTING_FIXED for n in ("l2_leaf_reg", "subsample", "rsm", "random_strength")},
}


def narrow_space(model: str, task: str) -> SearchSpace:
    space = MODELS[model].default_space(task)
    for name, changes in NARROW[model].items():
        space = space.replace_param(name, **changes)
    return space


def main_task(model: str) -> str:
    return MODELS[model].tasks[0]


def dataset_for(task: str) -> DatasetRef:
    return IRIS if task == "classification" else SMALL_REGRESSION


def make_config(model: str, method: str = "random", task: str | None = None, **kw) -> RunConfig:
    task = task or main_task(model)
    defaults = dict(
        dataset=dataset_for(task),
        model=model,
        method=method,
        space=narrow_space(model, task),
        n_trials=3,
        cv_folds=FOLDS,
        grid_points=2,
        n_jobs=1,
    )
    defaults.update(kw)
    return RunConfig(**defaults)


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.journal"


@pytest.fixture
def storage(journal_path: Path) -> JournalStorage:
    """A fresh journal file per test (open_storage caches one object per URL and process)."""
    return open_storage(f"journal:///{journal_path}")


def finished(trials, *states: TrialState):
    return [t for t in trials if t.state in states]


def assert_complete_metrics(trial, folds: int = FOLDS, budget: str = "folds") -> dict:
    """What every COMPLETE trial promises in user_attrs["metrics"]."""
    m = trial.user_attrs["metrics"]
    assert m["cv_mean"] == pytest.approx(trial.value, rel=1e-9, abs=1e-12)
    assert len(m["fold_scores"]) == folds
    assert all(math.isfinite(s) for s in m["fold_scores"])
    assert m["cv_mean"] == pytest.approx(float(np.mean(m["fold_scores"])))
    assert m["cv_std"] == pytest.approx(float(np.std(m["fold_scores"])))
    assert isinstance(m["train_score"], float) and math.isfinite(m["train_score"])
    assert m["fit_seconds"] >= 0 and m["score_seconds"] >= 0
    assert m["fit_seconds"] + m["score_seconds"] > 0
    assert "fail_reason" not in m and "pruned_step" not in m
    # The costs a multi-objective run can trade against the score are measured on every trial.
    assert m["predict_ms"] > 0 and m["model_bytes"] > 0
    assert trial.intermediate_values, "a trial reports at least one step"
    if budget == "folds":
        assert sorted(trial.intermediate_values) == list(range(1, folds + 1))
    return m


def assert_pruned_metrics(trial) -> dict:
    m = trial.user_attrs["metrics"]
    assert m["pruned_step"] == max(trial.intermediate_values)
    assert "fail_reason" not in m
    return m


PYTHON = sys.executable


@pytest.fixture(autouse=True)
def no_estimator_allowed(monkeypatch):
    """Each test starts with no own-estimator module allowed (as a process nobody configured),
    and what a test allows (the command line's --estimator does) ends with it."""
    monkeypatch.delenv(ENV_ALLOW, raising=False)

