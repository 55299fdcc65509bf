"""Multi-objective runs made by hand with plain Optuna, for the analysis and page tests.

`tradeoff_study` fakes a finished random-forest run on accuracy and fit time whose answer is
known: n_estimators raises both the score and the fit time, max_depth raises only the score,
min_samples_leaf does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import optuna
from optuna.distributions import IntDistribution
from optuna.trial import FrozenTrial, TrialState

from tuning.core.config import DatasetRef, RunConfig
from tuning.core.space import SearchSpace, int_param

SPACE = SearchSpace((
    int_param("n_estimators", 10, 500),
    int_param("max_depth", 2, 30),
    int_param("min_samples_leaf", 1, 10),
)).validate()  # fmt: skip
DISTS = {
    "n_estimators": IntDistribution(10, 500),
    "max_depth": IntDistribution(2, 30),
    "min_samples_leaf": IntDistribution(1, 10),
}
T0 = datetime(2026, 1, 1, 12, 0, 0)


def tradeoff_config(method: str = "tpe", n_trials: int = 40, **kw) -> RunConfig:
    return RunConfig(
        dataset=DatasetRef("seed-classification"), model="random_forest", method=method,
        space=SPACE, n_trials=n_trials, cv_folds=3, scoring="accuracy",
        objectives=("fit_seconds",), **kw,
    )  # fmt: skip


def known_point(n_estimators: int, max_depth: int, rng: np.random.Generator) -> tuple[float, float]:
    """(accuracy, fit seconds): n_estimators buys accuracy with time, max_depth is free."""
    u_n = (n_estimators - 10) / 490
    u_d = (max_depth - 2) / 28
    acc = 0.70 + 0.10 * u_n + 0.12 * u_d + rng.normal(0, 0.003)
    fit = 0.2 + 3.0 * u_n + abs(rng.normal(0, 0.02))
    return float(acc), float(fit)


def tradeoff_study(
    storage, name: str = "tradeoff", n: int = 40, seed: int = 0, method: str = "tpe",
    pruned: int = 0, experiment: dict | None = None, config: RunConfig | None = None,
) -> optuna.Study:  # fmt: skip
    """A finished two-objective run (accuracy up, fit seconds down) with `n` complete trials,
    one second apart, and `pruned` pruned ones at the end whose partial numbers look best."""
    rng = np.random.default_rng(seed)
    study = optuna.create_study(
        storage=storage, study_name=name, directions=["maximize", "minimize"]
    )
    cfg = config or tradeoff_config(method, n + pruned, seed=seed)
    study.set_user_attr("config", cfg.to_dict())
    study.set_user_attr("scoring", "accuracy")
    study.set_user_attr("task", "classification")
    study.set_user_attr("status", "finished")
    if experiment is not None:
        study.set_user_attr("experiment", experiment)
    for i in range(n + pruned):
        params = {
            "n_estimators": int(rng.integers(10, 501)),
            "max_depth": int(rng.integers(2, 31)),
            "min_samples_leaf": int(rng.integers(1, 11)),
        }
        acc, fit = known_point(params["n_estimators"], params["max_depth"], rng)
        done = i < n
        if not done:  # a pruned trial's running mean and time, better than any: never a score
            acc, fit = 0.99, 0.01
        metrics = {
            "cv_mean": acc, "cv_std": 0.01, "fold_scores": [acc] * 3, "fit_seconds": fit,
            "score_seconds": 0.01, "step": 3 if done else 1, "predict_ms": 1.0 + fit,
            "model_bytes": 1000 * params["n_estimators"],
        }  # fmt: skip
        if not done:
            metrics["pruned_step"] = 1
        study.add_trial(
            FrozenTrial(
                number=i,
                trial_id=i,
                state=TrialState.COMPLETE if done else TrialState.PRUNED,
                value=None,
                values=[acc, fit] if done else None,
                datetime_start=T0 + timedelta(seconds=i),
                datetime_complete=T0 + timedelta(seconds=i + 1),
                params=params,
                distributions=DISTS,
                user_attrs={"metrics": metrics},
                system_attrs={},
                intermediate_values={1: acc},
            )  # fmt: skip
        )
    return study


def tradeoff_experiment(
    storage, name: str = "mo-race", methods: tuple[str, ...] = ("random", "tpe"),
    seeds: tuple[int, ...] = (0, 1), n: int = 20,
) -> str:  # fmt: skip
    """A finished multi-objective experiment: one faked member run per method and seed (as
    create_experiment tags them); member (method i, seed s) draws its trials from seed 10 i + s."""
    from tuning.runs.experiments import ExperimentConfig
    from tuning.store.run import EXPERIMENT

    exp = ExperimentConfig(base=tradeoff_config("tpe", n), methods=methods, seeds=seeds, name=name)
    order = 0
    for seed in seeds:
        for i, method in enumerate(methods):
            tag = {"name": name, "method": method, "seed": seed, "order": order,
                   "config": exp.to_dict()}  # fmt: skip
            tradeoff_study(
                storage, f"{name}--{method}--seed{seed}", n=n, seed=10 * i + seed, method=method,
                experiment=tag, config=exp.member(method, seed),
            )  # fmt: skip
            order += 1
    assert EXPERIMENT == "experiment"
    return name


def points_study(
    storage, name: str, points: list[tuple[float, float] | None], experiment: dict | None = None,
    config: RunConfig | None = None,
) -> optuna.Study:  # fmt: skip
    """A finished accuracy-against-fit-time run whose trials are the given (accuracy, seconds)
    points, one second apart; None is a pruned trial (its running mean looks best)."""
    study = optuna.create_study(
        storage=storage, study_name=name, directions=["maximize", "minimize"]
    )
    study.set_user_attr("config", (config or tradeoff_config("tpe", len(points))).to_dict())
    study.set_user_attr("scoring", "accuracy")
    study.set_user_attr("status", "finished")
    if experiment is not None:
        study.set_user_attr("experiment", experiment)
    for i, p in enumerate(points):
        acc, fit = p if p is not None else (0.99, 0.01)
        metrics = {"cv_mean": acc, "cv_std": 0.0, "fold_scores": [acc] * 3, "fit_seconds": fit,
                   "score_seconds": 0.0, "step": 3 if p else 1}  # fmt: skip
        if p is None:
            metrics["pruned_step"] = 1
        study.add_trial(
            FrozenTrial(
                number=i,
                trial_id=i,
                state=TrialState.COMPLETE if p else TrialState.PRUNED,
                value=None,
                values=list(p) if p else None,
                datetime_start=T0 + timedelta(seconds=i),
                datetime_complete=T0 + timedelta(seconds=i + 1),
                params={"n_estimators": 10 + i, "max_depth": 2, "min_samples_leaf": 1},
                distributions=DISTS,
                user_attrs={"metrics": metrics},
                system_attrs={},
                intermediate_values={1: acc},
            )  # fmt: skip
        )
    return study


def points_experiment(storage, members: dict[str, list], name: str = "mo-points") -> str:
    """A one-seed experiment whose member for each method has the given points."""
    from tuning.runs.experiments import ExperimentConfig

    methods = tuple(members)
    exp = ExperimentConfig(base=tradeoff_config("tpe", 3), methods=methods, seeds=(0,), name=name)
    for order, (method, points) in enumerate(members.items()):
        tag = {"name": name, "method": method, "seed": 0, "order": order, "config": exp.to_dict()}
        points_study(storage, f"{name}--{method}--seed0", points, tag, exp.member(method, 0))
    return name
