"""What a warm start bought, measured against a cold run of the same search (issue 27)."""

from __future__ import annotations

from dataclasses import replace

import optuna
import pandas as pd
import pytest

from tuning.analysis import warm
from tuning.core.config import DatasetRef, RunConfig
from tuning.runs.runner import create_run, execute
from tuning.store.records import RunRecord
from tuning.store.runs import load_study


def trials(values: list[float], std: float = 0.01) -> pd.DataFrame:
    return pd.DataFrame({"number": range(len(values)), "state": "complete", "value": values,
                         "cv_std": std})  # fmt: skip


COLD = trials([0.80, 0.85, 0.90, 0.88, 0.91])  # final best 0.91, first reached at trial 5


def test_warm_passing_the_cold_runs_final_best_says_at_which_trial():
    seen = warm.compare_cold(trials([0.80, 0.86, 0.915, 0.90]), COLD, "maximize", "cold-1")
    assert seen.passed_at == 3 and seen.state == "passed"
    assert seen.cold_final == pytest.approx(0.91) and seen.cold_first == 5
    assert "this run reached the cold run's final best, 0.9100 ± 0.0100, after 3 trials; the cold run " \
        "first reached it after 5 of its 5 trials, 2 trials later, on this one pair of runs." in seen.sentence
    slower = warm.compare_cold(trials([0.80, 0.80, 0.80, 0.80, 0.85, 0.86, 0.92]), COLD,
                               "maximize", "cold-1")  # fmt: skip
    assert slower.passed_at == 7 and slower.sentence.endswith(
        "after 7 trials; the cold run first reached it after 5 of its 5 trials: this run took 2 trials more, "
        "on this one pair of runs.")
    # best so far at each trial count, side by side, with the spread of the trial holding it
    row = seen.curve.set_index("trials").loc[3]
    assert (row["warm"], row["cold"], row["warm_std"]) == pytest.approx((0.915, 0.90, 0.01))


def test_a_warm_start_behind_beyond_the_fold_spread_is_shown_as_hurting():
    seen = warm.compare_cold(trials([0.70, 0.72, 0.71, 0.73]), COLD, "maximize", "cold-1")
    assert seen.passed_at is None and seen.state == "hurting"
    assert seen.sentence.startswith("Warm start hurting.")
    assert "after 4 trials this run's best is 0.7300 ± 0.0100 against the cold run's 0.9000" in (
        seen.sentence
    )


def test_within_the_fold_spread_no_gain_is_claimed():
    # at 3 trials: 0.905 against 0.90, each ± 0.01: inside the noise, whichever is higher
    seen = warm.compare_cold(trials([0.80, 0.86, 0.905]), COLD, "maximize", "cold-1")
    assert seen.state == "level" and "level within the spread over their folds" in seen.sentence
    assert "no gain shown" in seen.sentence and "ahead" not in seen.sentence
    tight = warm.compare_cold(trials([0.80, 0.86, 0.905], std=0.001), trials(
        [0.80, 0.85, 0.90, 0.88, 0.91], std=0.001), "maximize", "cold-1")  # fmt: skip
    assert tight.state == "ahead"


def test_an_error_to_minimize_passes_downwards():
    cold = trials([5.0, 4.0, 3.0])
    seen = warm.compare_cold(trials([3.5, 2.9]), cold, "minimize", "cold-1")
    assert seen.passed_at == 2 and seen.cold_final == 3.0
    hurt = warm.compare_cold(trials([6.0, 5.5, 5.2]), cold, "minimize", "cold-1")
    assert hurt.state == "hurting"


def knn(**kw) -> RunConfig:
    base = dict(dataset=DatasetRef("iris"), model="knn", method="random", n_trials=3, cv_folds=2,
                n_jobs=1)  # fmt: skip
    return RunConfig(**{**base, **kw})


def test_the_cold_reference_is_a_finished_run_of_the_same_search_without_a_warm_start():
    store = optuna.storages.InMemoryStorage()
    execute(create_run(knn(name="cold"), store), store)
    execute(create_run(replace(knn(name="other-method"), method="tpe"), store), store)
    execute(create_run(knn(name="other-folds", cv_folds=3), store), store)
    warm_run = create_run(knn(name="warm", warm_start=("cold",)), store)
    record = RunRecord.from_study(load_study(warm_run, store))
    assert warm.cold_runs(record, store) == ["cold"]  # not itself, nor another method or folds
    lone = optuna.storages.InMemoryStorage()
    execute(create_run(knn(name="src", cv_folds=3), lone), lone)
    only_warm = create_run(knn(name="warm", warm_start=("src",)), lone)
    assert warm.cold_runs(RunRecord.from_study(load_study(only_warm, lone)), lone) == []
    assert "No cold run of the same model, method, dataset" in warm.NO_COLD
