"""Studies written by plain Optuna code, as another tool would leave them (no Tuning Studio
attributes): single- and multi-objective, with pruned and failed trials."""

from __future__ import annotations

import warnings

import optuna
from optuna.samplers import RandomSampler
from optuna.storages import BaseStorage

optuna.logging.set_verbosity(optuna.logging.ERROR)

N_TRIALS = 12
FAILED, PRUNED = 3, 5  # the trial numbers that fail and are pruned


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    n = trial.suggest_int("n", 1, 16, log=True)
    trial.set_user_attr("origin", "plain optuna")
    if trial.number == FAILED:
        raise ValueError("boom")
    for step in range(3):
        trial.report(x * x + n + step, step)
        if trial.number == PRUNED and step == 1:
            raise optuna.TrialPruned()
    return x * x + (kind == "b") + n  # minimized: best near x=0, kind=a, n=1


def single(storage: BaseStorage | str, name: str = "plain-single", n: int = N_TRIALS) -> str:
    study = optuna.create_study(
        study_name=name, storage=storage, direction="minimize", sampler=RandomSampler(seed=0)
    )
    study.optimize(_objective, n_trials=n, catch=(ValueError,))
    return name


def multi(storage: BaseStorage | str, name: str = "plain-multi", n: int = N_TRIALS) -> str:
    """Two objectives named with set_metric_names: a loss to minimize, a gain to maximize."""
    study = optuna.create_study(
        study_name=name, storage=storage, directions=["minimize", "maximize"],
        sampler=RandomSampler(seed=1),
    )  # fmt: skip
    with warnings.catch_warnings():  # set_metric_names is marked experimental
        warnings.simplefilter("ignore")
        study.set_metric_names(["loss", "gain"])

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x, y = trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 0.0, 1.0)
        if trial.number == FAILED:
            raise ValueError("boom")
        return (x - 0.3) ** 2 + y, y - x * x

    study.optimize(objective, n_trials=n, catch=(ValueError,))
    return name
