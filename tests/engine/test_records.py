"""The typed records: one trial-metrics record (one writer, one reader) and one run record parsed
from the study's attributes, in the storage format runs have always had."""

from __future__ import annotations

import math
import time

import optuna
import pytest
from conftest import FOLDS, make_config
from optuna.trial import TrialState

from tuning.core.budget import Budget
from tuning.core.config import RunConfig
from tuning.core.enums import STOPPED_BY_USER, BudgetKind, RunStatus, Task
from tuning.execution.lifecycle import recover_stale_trials
from tuning.store import records
from tuning.store.records import RunRecord
from tuning.store.results import list_runs, run_summary
from tuning.store.run import StoredRun
from tuning.store.runs import STALE_S, load_study
from tuning.store.trials import ATTR, TrialMetrics

# -- TrialMetrics --------------------------------------------------------------------------------


def test_trial_metrics_round_trip_through_a_storage(storage):
    study = optuna.create_study(storage=storage, direction="maximize")
    trial = study.ask()
    record = TrialMetrics.scored(
        [0.8, 0.9], [1.0], fit_seconds=0.123456, score_seconds=0.01, step=2, best_epoch=2
    )
    record.save(trial)
    study.tell(trial, 0.85)
    back = TrialMetrics.of(load_study(study.study_name, storage).trials[0])
    assert back == record
    assert back.cv_mean == pytest.approx(0.85) and back.cv_std == pytest.approx(0.05)
    assert back.fit_seconds == 0.1235  # rounded once, by the record
    assert back.worker and not back.partial and not back.stopped


def test_non_finite_numbers_are_stored_as_none():
    attr = TrialMetrics(cv_mean=math.nan, cv_std=math.inf, train_score=-math.inf).to_attr()
    assert attr["cv_mean"] is None and attr["cv_std"] is None and attr["train_score"] is None
    assert TrialMetrics.scored([math.nan]).to_attr()["cv_mean"] is None


def test_keys_this_version_does_not_know_are_kept():
    stored = {"cv_mean": 0.5, "fold_scores": [0.5], "step": 1, "worker": "h:1", "future": [1, 2]}
    m = TrialMetrics.from_attr(stored)
    assert m.extra == {"future": [1, 2]}
    assert m.to_attr()["future"] == [1, 2]
    assert TrialMetrics.from_attr(m.to_attr()) == m


def test_a_missing_record_reads_as_an_empty_one():
    m = TrialMetrics.from_attr(None)
    assert m == TrialMetrics() and m.fold_scores == [] and m.step == 0
    assert not m.partial and not m.retried


def test_stopped_and_partial():
    assert TrialMetrics(fail_reason=STOPPED_BY_USER).stopped
    assert TrialMetrics(fail_reason="ValueError: no").partial
    assert TrialMetrics(pruned_step=2).partial and not TrialMetrics(pruned_step=2).stopped


def _keys(trial) -> set[str]:
    stored = trial.user_attrs[ATTR]
    assert TrialMetrics.from_attr(stored).to_attr() == stored  # written by TrialMetrics
    assert not TrialMetrics.from_attr(stored).extra  # no key outside the record
    return set(stored)


def test_objective_and_population_write_the_same_record_shape():
    from tuning.evaluation.objective import Evaluation, make_folds
    from tuning.methods.pbt import Population
    from tuning.runs.prepare import prepare

    prep = prepare(make_config("mlp", "random", n_trials=1))
    study = optuna.create_study(direction=prep.direction)
    split = prep.split
    study.optimize(
        Evaluation(
            model=prep.model, space=prep.space, task=prep.dataset.task, X=split.X_train,
            y=split.y_train, folds=make_folds(split.y_train, prep.dataset.task, FOLDS, 0),
            scoring=prep.scoring, budget=prep.budget, seed=0, n_jobs=1,
        ),
        n_trials=1,
    )  # fmt: skip
    by_fold = study.trials[0]
    assert by_fold.state == TrialState.COMPLETE

    options = {"population_size": 2, "interval": 2}
    pop_prep = prepare(make_config("mlp", "pbt", method_options=options))
    pop = Population(optuna.create_study(direction=pop_prep.direction), pop_prep)
    pop.start()
    member = pop.members[0]
    pop.train_segment(member, 2)
    pop.close(member)
    segment = pop.study.trials[0]
    assert segment.state == TrialState.COMPLETE

    objective, population = _keys(by_fold), _keys(segment)
    core = {"cv_mean", "cv_std", "fold_scores", "train_score", "fit_seconds", "score_seconds",
            "step", "worker", "best_epoch"}  # fmt: skip
    assert core <= objective and core <= population
    assert objective - {"stopped_early_at"} <= population  # early stopping: the objective's own
    assert population - objective == {"segment_epochs", "validation"}  # a population's own
    assert TrialMetrics.of(segment).validation == "holdout"


def test_a_recovered_trial_keeps_its_record_and_says_why(storage):
    study = optuna.create_study(storage=storage)
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    TrialMetrics.scored([0.5], step=1, worker="gone:1").save(trial)
    later = time.time() + STALE_S + 60
    assert recover_stale_trials(StoredRun(study), retries=1, now=later) == [trial.number]
    t = load_study(study.study_name, storage).trials[0]
    m = TrialMetrics.of(t)
    assert t.state == TrialState.FAIL
    assert m.fold_scores == [0.5] and m.worker == "gone:1" and m.step == 1
    assert "worker stopped responding" in m.fail_reason and m.retried


# -- RunRecord -----------------------------------------------------------------------------------


def test_the_record_of_a_created_run(storage):
    from tuning.runs.runner import create_run, execute

    name = create_run(make_config("knn", "random", n_trials=2), storage)
    rec = RunRecord.from_study(load_study(name, storage))
    assert rec.status is RunStatus.QUEUED and rec.status == "queued"
    assert rec.task is Task.CLASSIFICATION
    assert rec.budget == Budget(BudgetKind.FOLDS, 1, FOLDS)
    assert isinstance(rec.config, RunConfig) and rec.config.name == name
    assert rec.config.model == "knn" and rec.config_error is None
    assert rec.is_studio_run and rec.n_trials == 2 and rec.scoring == "accuracy"
    assert rec.direction == "maximize" and rec.created_at and rec.test is None
    # Stored as the plain strings, whatever storage keeps them.
    attrs = load_study(name, storage).user_attrs
    assert type(attrs["status"]) is str and type(attrs["task"]) is str

    assert execute(name, storage) == RunStatus.FINISHED
    rec = RunRecord.from_study(load_study(name, storage))
    assert rec.status is RunStatus.FINISHED and rec.ended_at and rec.elapsed_s > 0
    assert isinstance(rec.test, records.TestResult) and rec.test.n_test > 0
    summary = run_summary(storage, name)
    assert summary.record == rec
    assert summary.status == "finished" and summary.dataset == "Iris"  # its label, not the key
    assert summary.test["score"] == rec.test.score and summary.n_trials == 2
    assert [s.name for s in list_runs(storage)] == [name]


def test_the_record_of_attributes_in_the_old_plain_string_format():
    cfg = make_config("mlp", "random").to_dict()
    attrs = {
        "status": "running", "heartbeat": 1000.0, "task": "regression", "scoring": "r2",
        "budget": {"kind": "epochs", "min_step": 1, "max_step": 4}, "config": cfg,
        "created_at": "2025-01-01T00:00:00+00:00", "grid_size": None,
        "test": {"score": 0.5, "trial": 3, "params": {"width": 8}, "from_a_later_version": 1},
    }  # fmt: skip
    rec = RunRecord.from_attrs("old", attrs, "maximize", now=1000.0 + STALE_S / 2)
    assert rec.status is RunStatus.RUNNING
    assert rec.task is Task.REGRESSION and rec.scoring == "r2"
    assert rec.budget.kind is BudgetKind.EPOCHS and rec.budget.max_step == 4
    assert rec.test == records.TestResult(score=0.5, trial=3, params={"width": 8})
    assert rec.config.model == "mlp" and rec.n_trials == cfg["n_trials"]
    # A running run whose heartbeat went stale was killed.
    stale = RunRecord.from_attrs("old", attrs, "maximize", now=1000.0 + STALE_S + 1)
    assert stale.status is RunStatus.INTERRUPTED
    # Words this version does not know read as nothing rather than failing.
    odd = RunRecord.from_attrs(
        "odd", {"status": "paused", "task": "ranking", "budget": {"kind": "x"}}, "minimize"
    )
    assert odd.status is RunStatus.QUEUED and odd.task is None and odd.budget is None


def test_the_record_of_a_study_without_a_config(storage):
    study = optuna.create_study(storage=storage, study_name="foreign", direction="minimize")
    rec = RunRecord.from_study(study)
    assert rec.config is None and rec.config_dict == {} and rec.config_error is None
    assert not rec.is_studio_run and rec.status is RunStatus.QUEUED  # no trials yet
    assert rec.foreign is not None and rec.foreign.directions == ("minimize",)
    assert rec.direction == "minimize" and rec.dataset_label == "?" and rec.n_trials is None
    (listed,) = list_runs(storage)  # another tool's study: listed, known as foreign
    assert listed.name == "foreign" and listed.record.read_only

    study.set_user_attr("config", {"dataset": {"name": "iris"}, "not_a_setting": 1})
    broken = RunRecord.from_study(study)
    assert broken.config is None and "not_a_setting" in broken.config_error


def test_set_status_takes_a_run_status_and_stores_its_string():
    study = optuna.create_study()
    StoredRun(study).set_status(RunStatus.STOPPED, "because")
    assert study.user_attrs["status"] == "stopped" and type(study.user_attrs["status"]) is str
    assert study.user_attrs["message"] == "because" and study.user_attrs["ended_at"]
    StoredRun(study).set_status(RunStatus.RUNNING)
    assert RunRecord.from_study(study).status is RunStatus.RUNNING
