"""The library defaults as every run's baseline (issue 25): where they are scored, what they
cost, and what happens when they cannot be (tuning/execution/baseline.py). The gain of tuning
over them is tested in test_gain.py.

Known answers: the defaults' fold scores are those of the same model cross-validated by hand
on the same folds; grid, multi-objective and population runs, failing defaults, a Stop, old
runs, the command line and TuningSearchCV each do what tuning/execution/baseline.py says.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from pathlib import Path

import pytest
from conftest import IRIS, make_config
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from tuning import TuningSearchCV
from tuning.cli import main
from tuning.core.config import RunConfig
from tuning.core.enums import STOPPED_BY_USER
from tuning.evaluation.objective import StopRequested, make_folds
from tuning.execution.baseline import GRID, MULTI_OBJECTIVE, SWITCHED_OFF, plan
from tuning.methods import REGISTRY as METHODS
from tuning.methods import get_method
from tuning.models import build_pipeline, categorical_columns
from tuning.runs.prepare import prepare
from tuning.runs.runner import create_run, execute
from tuning.store.records import Baseline, RunRecord
from tuning.store.results import TrialFeed
from tuning.store.run import StoredRun
from tuning.store.runs import counted, load_study
from tuning.store.storage import open_storage
from tuning.store.trials import (
    LIBRARY_DEFAULTS,
    DetachedTrial,
    TrialMetrics,
    as_worker,
    is_defaults,
    origin_of,
    retry_attrs,
)

OLD = Path(__file__).resolve().parents[1] / "data" / "old_runs" / "runs.journal"
KNN_DEFAULTS = {"n_neighbors": 5, "weights": "uniform", "p": 2}


def _run(storage, config: RunConfig, **kw):
    name = create_run(config, storage)
    status = execute(name, storage, **kw)
    return name, load_study(name, storage), status


def _by_hand(config: RunConfig, params: dict) -> list[float]:
    """The model cross-validated by hand on the run's folds (no Evaluation, no trial)."""
    prep = prepare(config)
    X, y, task = prep.split.X_train, prep.split.y_train, prep.dataset.task
    scores = []
    for tr, va in make_folds(y, task, config.cv_folds, config.seed):
        pipe = build_pipeline(prep.model, prep.space.complete(params), task, config.seed,
                              config.n_jobs, categorical_columns(X))  # fmt: skip
        pipe.fit(X.iloc[tr], y.iloc[tr])
        scores.append(prep.scoring(pipe, X.iloc[va], y.iloc[va]))
    return scores


# -- where the defaults are scored -------------------------------------------------------------
def test_defaults_in_the_space_are_the_first_trial_and_one_of_the_n(storage):
    config = make_config("knn", "tpe", n_trials=4, method_options={"n_startup_trials": 2})
    name, study, status = _run(storage, config)
    assert status == "finished"
    trials = study.get_trials(deepcopy=False)
    # The budget counts trials: the defaults are one of the 4 (the sampler proposed 3).
    assert len(trials) == counted(trials) == 4
    assert [origin_of(t) for t in trials] == [LIBRARY_DEFAULTS, None, None, None]
    assert trials[0].params == KNN_DEFAULTS and trials[0].state == TrialState.COMPLETE
    assert TrialMetrics.of(trials[0]).fold_scores == pytest.approx(_by_hand(config, KNN_DEFAULTS))
    record = RunRecord.from_study(study)
    assert record.baseline.status == Baseline.TRIAL and record.baseline.in_space
    assert record.baseline.params == KNN_DEFAULTS
    # Refit on the same training rows as the best, scored once on the same test rows.
    d, best = record.defaults_test, record.test
    assert d.source == LIBRARY_DEFAULTS and d.trial == 0 and math.isfinite(d.score)
    assert (d.n_train, d.n_test) == (best.n_train, best.n_test)
    frame = TrialFeed(study).refresh()  # every table of trials can mark it
    assert list(frame["origin"] == LIBRARY_DEFAULTS) == [True, False, False, False]


@pytest.mark.filterwarnings("ignore::FutureWarning")  # SVC(probability=True), fit by hand
def test_defaults_outside_the_space_are_scored_beside_the_trials_on_the_same_folds(storage):
    config = make_config("svm", "random", n_trials=2)  # gamma="scale" is no number of its range
    name, study, status = _run(storage, config)
    assert status == "finished"
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == counted(trials) == 2  # not a trial, not one of the budget
    assert not any(is_defaults(t) for t in trials)
    b = RunRecord.from_study(study).baseline
    assert b.status == Baseline.SCORED and b.in_space is False
    assert b.params == {"C": 1.0, "kernel": "rbf", "gamma": "scale"}  # degree: not under rbf
    assert set(b.outside) == {"gamma"} and "outside the searched space" in b.beside
    assert b.scores.fold_scores == pytest.approx(_by_hand(config, b.params))
    assert b.outside["gamma"].startswith("gamma = 'scale' is outside [0.0001, 10.0] log")
    test = RunRecord.from_study(study).defaults_test
    assert test.trial is None and test.params["gamma"] == "scale" and math.isfinite(test.score)


def test_a_grid_run_scores_the_defaults_beside_its_grid(storage):
    config = make_config("knn", "grid", grid_points=2)
    name, study, _ = _run(storage, config)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == study.user_attrs["grid_size"] and not any(map(is_defaults, trials))
    b = RunRecord.from_study(study).baseline
    assert (b.status, b.in_space, b.beside) == (Baseline.SCORED, True, GRID)
    assert b.scores.fold_scores == pytest.approx(_by_hand(config, KNN_DEFAULTS))


def test_a_multi_objective_run_scores_the_defaults_beside_its_front(storage):
    config = make_config("knn", "random", n_trials=3, objectives=("fit_seconds",))
    name, study, _ = _run(storage, config)
    assert not any(map(is_defaults, study.get_trials(deepcopy=False)))
    record = RunRecord.from_study(study)
    assert (record.baseline.status, record.baseline.beside) == (Baseline.SCORED, MULTI_OBJECTIVE)
    assert record.defaults_test is not None and math.isfinite(record.defaults_test.score)
    assert len(record.baseline.scores.fold_scores) == 3


def test_population_based_training_says_why_it_has_no_baseline(storage):
    options = {"population_size": 2, "interval": 2}
    name = create_run(make_config("mlp", "pbt", method_options=options), storage)
    study = load_study(name, storage)
    b = RunRecord.from_study(study).baseline
    assert b.status == Baseline.NONE and "holdout split" in b.reason
    assert not study.get_trials(deepcopy=False)  # nothing queued


def test_the_plan_for_every_method(storage):
    """The same knn run under every method: a first trial for the samplers, beside the grid,
    none for the population method (which refuses knn; its reason is the method's)."""
    for name, method in METHODS.items():
        prep = prepare(make_config("knn", "grid" if method.runs_itself else name))
        b = plan(prep, method)
        if method.runs_itself:
            assert b.status == Baseline.NONE and b.reason == method.why_no_baseline
        elif method.enumerates_grid:
            assert b.status == Baseline.PENDING and b.beside == GRID
        else:
            assert (b.status, b.params) == (Baseline.TRIAL, KNN_DEFAULTS), name
    off = plan(prepare(make_config("knn", defaults_baseline=False)), get_method("tpe"))
    assert (off.status, off.reason) == (Baseline.NONE, SWITCHED_OFF)


@pytest.mark.parametrize("method", [m for m, s in METHODS.items() if not s.runs_itself])
def test_every_sampler_method_runs_with_its_baseline(storage, method):
    options = {"tpe": {"n_startup_trials": 1}, "nsga2": {"population_size": 2},
               "nsga3": {"population_size": 2}}.get(method, {})  # fmt: skip
    name, study, status = _run(storage, make_config("knn", method, method_options=options))
    assert status == "finished"
    trials = study.get_trials(deepcopy=False)
    if METHODS[method].enumerates_grid:
        assert not any(map(is_defaults, trials))
        assert RunRecord.from_study(study).baseline.status == Baseline.SCORED
    else:
        assert len(trials) == 3 and is_defaults(trials[0])
        assert trials[0].state == TrialState.COMPLETE  # never pruned


def test_the_defaults_trial_is_never_pruned(storage, monkeypatch):
    import optuna

    monkeypatch.setattr(optuna.pruners.MedianPruner, "prune", lambda self, study, trial: True)
    name, study, _ = _run(storage, make_config("knn", "median", n_trials=3))
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED]


# -- failures, stops, workers ------------------------------------------------------------------
X_IRIS, Y_IRIS = load_iris(return_X_y=True)


def test_failing_defaults_beside_the_trials_are_recorded_and_the_run_goes_on():
    # 200 neighbours: more than the 100 training rows of a fold; the space stops at 30.
    search = TuningSearchCV(
        KNeighborsClassifier(n_neighbors=200), {"n_neighbors": IntDistribution(1, 30)},
        method="random", n_trials=3, cv=3, storage="memory",
    ).fit(X_IRIS, Y_IRIS)  # fmt: skip
    assert len(search.cv_results_["params"]) == 3 and math.isfinite(search.best_score_)
    b = RunRecord.from_study(search.study_).baseline
    assert b.status == Baseline.FAILED and "n_neighbors" in b.error and "n_samples" in b.error


def test_failing_defaults_as_a_trial_are_recorded_and_the_run_goes_on():
    search = TuningSearchCV(
        KNeighborsClassifier(n_neighbors=200), {"n_neighbors": IntDistribution(1, 300, log=True)},
        method="random", n_trials=6, cv=3, storage="memory",
    ).fit(X_IRIS, Y_IRIS)  # fmt: skip
    trials = search.study_.get_trials(deepcopy=False)
    assert is_defaults(trials[0]) and trials[0].state == TrialState.FAIL
    assert any(t.state == TrialState.COMPLETE for t in trials[1:])
    assert TrialMetrics.of(trials[0]).fail_reason.startswith("ValueError: Expected n_neighbors")


def test_a_defaults_trial_stopped_midway_runs_again_on_resume(storage):
    config = make_config("knn", "random", n_trials=3)
    name = create_run(config, storage)
    stop = threading.Event()

    def stop_the_defaults(trial):
        value = float(trial.suggest_int("n_neighbors", 1, 15))
        if is_defaults(trial) and not stop.is_set():  # Stop pressed while the defaults work
            stop.set()
            TrialMetrics(fail_reason=STOPPED_BY_USER).save(trial)
            raise StopRequested()
        TrialMetrics.scored([value, value + 1, value - 1]).save(trial)
        return value

    assert execute(name, storage, stop, objective=stop_the_defaults, refit=False) == "stopped"
    assert execute(name, storage, objective=stop_the_defaults, refit=False) == "finished"
    trials = load_study(name, storage).get_trials(deepcopy=False)
    assert counted(trials) == 3  # the budget, the stopped trial not counted
    defaults = [t for t in trials if is_defaults(t)]
    assert [t.state for t in defaults] == [TrialState.FAIL, TrialState.COMPLETE]
    assert defaults[1].params["n_neighbors"] == 5


def test_a_stop_while_the_defaults_are_scored_beside_leaves_them_for_the_resume(storage):
    name = create_run(make_config("svm", "random", n_trials=2), storage)
    stop = threading.Event()

    def objective(trial):
        c = trial.suggest_float("C", 1e-2, 1e2, log=True)
        if isinstance(trial, DetachedTrial) and not stop.is_set():  # Stop while they work
            stop.set()
            raise StopRequested()
        TrialMetrics.scored([c, c, c]).save(trial)
        return c

    assert execute(name, storage, stop, objective=objective, refit=False) == "stopped"
    run = StoredRun.open(name, storage)
    assert run.baseline.status == Baseline.PENDING and not run.study.get_trials(deepcopy=False)
    assert execute(name, storage, objective=objective, refit=False) == "finished"
    b = StoredRun.open(name, storage).baseline
    assert b.status == Baseline.SCORED and b.scores.fold_scores == [1.0, 1.0, 1.0]
    assert len(run.study.get_trials(deepcopy=False)) == 2


def test_workers_that_start_together_score_the_defaults_once(storage):
    name = create_run(make_config("svm", "random"), storage)
    run = StoredRun.open(name, storage)
    assert run.baseline.status == Baseline.PENDING
    run.beat({"ts": time.time(), "trials": [], "done": False}, "w1")
    with as_worker("w1"):
        assert run.claim_baseline().worker == "w1"
    with as_worker("w2"):
        assert run.claim_baseline() is None  # w1 is scoring it, and beats
    run.beat({"ts": time.time() - 3600, "trials": [], "done": False}, "w1")  # w1 died
    with as_worker("w2"):
        assert run.claim_baseline().worker == "w2"


def test_a_retried_trial_keeps_its_origin(storage):
    name = create_run(make_config("knn", "random"), storage)
    waiting = load_study(name, storage).get_trials(deepcopy=False)[0]
    assert retry_attrs(waiting)["origin"] == LIBRARY_DEFAULTS


# -- runs made before, the command line, TuningSearchCV ---------------------------------------
def test_an_old_run_has_no_baseline_and_none_is_made_up(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNING_STUDIO_DATA", str(tmp_path))
    shutil.copy(OLD, tmp_path / "runs.journal")
    store = open_storage(f"journal:///{tmp_path}/runs.journal")
    assert RunRecord.from_study(load_study("old-stopped", store)).config.defaults_baseline is False
    assert execute("old-stopped", store) == "finished"  # resumed: still no baseline
    study = load_study("old-stopped", store)
    assert not any(map(is_defaults, study.get_trials(deepcopy=False)))
    record = RunRecord.from_study(study)
    assert record.baseline is None and record.defaults_test is None


def test_the_command_line_switch(tmp_path):
    url = f"journal:///{tmp_path / 'runs.journal'}"
    common = ["run", "--dataset", "iris", "--model", "knn", "--trials", "3", "--folds", "3",
              "--quiet", "--storage", url]  # fmt: skip
    assert main([*common, "--name", "off", "--no-defaults-baseline"]) == 0
    assert main([*common, "--name", "on"]) == 0
    store = open_storage(url)
    off = RunRecord.from_study(load_study("off", store))
    assert off.config.defaults_baseline is False and off.baseline.reason == SWITCHED_OFF
    assert not any(map(is_defaults, load_study("off", store).get_trials(deepcopy=False)))
    assert RunRecord.from_study(load_study("on", store)).baseline.status == Baseline.TRIAL


def test_tuning_search_cv_scores_the_estimators_own_parameters_first():
    space = {"C": FloatDistribution(1e-2, 1e2, log=True)}
    search = TuningSearchCV(LogisticRegression(C=1.0, max_iter=500), space, n_trials=3, cv=3,
                            storage="memory").fit(X_IRIS, Y_IRIS)  # fmt: skip
    assert search.get_params()["defaults_baseline"] is True
    assert search.cv_results_["params"][0] == {"C": 1.0} and len(search.cv_results_["params"]) == 3
    assert RunRecord.from_study(search.study_).baseline.status == Baseline.TRIAL

    off = TuningSearchCV(LogisticRegression(max_iter=500), space, n_trials=2, cv=3,
                         storage="memory", defaults_baseline=False).fit(X_IRIS, Y_IRIS)  # fmt: skip
    assert not any(map(is_defaults, off.study_.get_trials(deepcopy=False)))
    assert RunRecord.from_study(off.study_).baseline.status == Baseline.NONE

    grid = TuningSearchCV(LogisticRegression(C=1.0, max_iter=500), {"C": [0.1, 10.0]},
                          method="grid", cv=3, storage="memory").fit(X_IRIS, Y_IRIS)  # fmt: skip
    b = RunRecord.from_study(grid.study_).baseline
    assert b.status == Baseline.SCORED and len(b.scores.fold_scores) == 3
    assert len(grid.cv_results_["params"]) == 2  # the grid, and nothing else


def test_an_old_configuration_reads_as_without_baseline():
    saved = make_config("knn").to_dict()
    assert saved["defaults_baseline"] is True
    saved.pop("defaults_baseline")
    assert RunConfig.from_dict(saved).defaults_baseline is False
    assert RunConfig(dataset=IRIS, model="knn").defaults_baseline is True
