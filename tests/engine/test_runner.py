"""Runner behaviour a user relies on: pruning, reproducibility, failures, stop/resume, storage."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import threading
import time
from pathlib import Path

import optuna
import pytest
from conftest import (
    PYTHON,
    SMALL_REGRESSION,
    assert_complete_metrics,
    assert_pruned_metrics,
    make_config,
)
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sklearn.linear_model import Ridge

import tuning.evaluation.objective as objective_mod
import tuning.models as models_mod
from tuning.core.config import DatasetRef, RunConfig
from tuning.core.enums import STOPPED_BY_USER
from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace, cat_param, float_param, int_param
from tuning.evaluation.objective import round_chunk
from tuning.models import REGISTRY as MODELS
from tuning.runs.runner import create_run, execute, start_run
from tuning.store.runs import counted, load_study
from tuning.store.storage import ENV_DATA_DIR, ENV_STORAGE, JOURNAL_NAME, open_storage


def _run(storage, config: RunConfig, **kw) -> tuple[str, str, optuna.Study]:
    name = create_run(config, storage)
    status = execute(name, storage, **kw)
    return name, status, load_study(name, storage)


def _states(study) -> list[TrialState]:
    return [t.state for t in study.get_trials(deepcopy=False)]


# --------------------------------------------------------------------------- multi-fidelity

WIDE_LOGISTIC = MODELS["logistic_regression"].default_space("classification")  # C 1e-4..1e3


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("median", {"sampler": "random", "n_startup_trials": 2, "n_warmup_steps": 0}),
        ("successive_halving", {"sampler": "random"}),
        ("hyperband", {"sampler": "random"}),
    ],
)
def test_multi_fidelity_methods_really_prune_folds(storage, method, options):
    config = make_config(
        "logistic_regression",
        method,
        space=WIDE_LOGISTIC,
        n_trials=12,
        cv_folds=5,
        method_options=options,
    )
    _, status, study = _run(storage, config)
    assert status == "finished"
    assert study.user_attrs["budget"] == {"kind": "folds", "min_step": 1, "max_step": 5}
    trials = study.get_trials(deepcopy=False)
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert pruned, "some trials must be stopped early"
    assert complete, "some trials must run to the end"
    for t in pruned:
        m = assert_pruned_metrics(t)
        assert max(t.intermediate_values) < 5  # stopped before the last fold
        assert len(m["fold_scores"]) == m["pruned_step"]  # only the folds it ran
    for t in complete:
        assert_complete_metrics(t, folds=5)
    assert counted(trials) == 12  # pruned trials count towards the budget


@pytest.mark.timeout(120)
def test_epochs_budget_reports_every_epoch_and_prunes(storage):
    config = make_config(
        "mlp",
        "median",
        n_trials=5,
        method_options={"sampler": "random", "n_startup_trials": 2, "n_warmup_steps": 0},
    )
    _, status, study = _run(storage, config)
    assert status == "finished"
    budget = study.user_attrs["budget"]
    assert budget["kind"] == "epochs" and budget["max_step"] == 4
    trials = study.get_trials(deepcopy=False)
    assert any(t.state == TrialState.PRUNED for t in trials)
    for t in trials:
        steps = sorted(t.intermediate_values)
        assert steps == list(range(1, len(steps) + 1))  # one report per epoch
        if t.state == TrialState.COMPLETE:
            m = assert_complete_metrics(t, budget="epochs")
            assert steps[-1] == t.params["epochs"]  # ran every epoch it was given
            assert t.value == pytest.approx(t.intermediate_values[m["best_epoch"]])
        else:
            assert steps[-1] < t.params["epochs"]
            assert assert_pruned_metrics(t)["pruned_step"] == steps[-1]
    test = study.user_attrs["test"]
    best = study.best_trial
    assert test["params"]["epochs"] == best.user_attrs["metrics"]["best_epoch"]  # refit at best


@pytest.mark.timeout(120)
def test_rounds_budget_reports_at_chunk_steps_and_prunes(storage):
    config = make_config(
        "gradient_boosting",
        "successive_halving",
        n_trials=8,
        method_options={"sampler": "random"},
    )
    _, status, study = _run(storage, config)
    assert status == "finished"
    budget = study.user_attrs["budget"]
    chunk = round_chunk(20)
    assert budget == {"kind": "rounds", "min_step": chunk, "max_step": 20}
    trials = study.get_trials(deepcopy=False)
    assert any(t.state == TrialState.PRUNED for t in trials)
    for t in trials:
        total = t.params["n_estimators"]
        steps = sorted(t.intermediate_values)
        assert steps == [*range(chunk, total, chunk), total][: len(steps)]
        if t.state == TrialState.COMPLETE:
            assert steps[-1] == total
            assert_complete_metrics(t, budget="rounds")
        else:
            assert steps[-1] < total


@pytest.mark.timeout(60)
def test_fidelity_folds_overrides_the_model_budget(storage):
    config = make_config("gradient_boosting", "hyperband", n_trials=3, fidelity="folds")
    _, status, study = _run(storage, config)
    assert status == "finished"
    assert study.user_attrs["budget"] == {"kind": "folds", "min_step": 1, "max_step": 3}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        assert sorted(t.intermediate_values) == [1, 2, 3]


# --------------------------------------------------------------------------- reproducibility

TOY_SPACE = SearchSpace(
    (
        float_param("x", 1e-3, 1e3, log=True),
        float_param("y", -1.0, 1.0),
        int_param("n", 1, 20),
        cat_param("c", ["a", "b", "c"]),
    )
)


def _toy_objective(trial: optuna.Trial) -> float:
    """Deterministic in the parameters; reports 3 steps so pruners act on it."""
    p = TOY_SPACE.suggest(trial)
    base = -((math.log10(p["x"]) - 1) ** 2) - p["y"] ** 2 + p["n"] / 20 + (p["c"] == "b")
    for step in (1, 2, 3):
        trial.report(base - (3 - step) * 0.1, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return base


def _sequence(storage, method: str, seed: int, n: int, options: dict) -> list:
    config = make_config("ridge", method, n_trials=n, seed=seed, method_options=options)
    name = create_run(config, storage)
    execute(name, storage, objective=_toy_objective, refit=False)
    return [
        (t.state.name, sorted(t.params.items()), t.value, sorted(t.intermediate_values.items()))
        for t in load_study(name, storage).get_trials(deepcopy=False)
    ]


REPRO = [
    ("random", 8, {}),
    ("tpe", 8, {"n_startup_trials": 3}),
    ("sobol", 8, {}),
    ("cmaes", 8, {}),
    ("nsga2", 8, {"population_size": 3}),
    ("gp", 12, {}),  # 10 random start-up trials, then the Gaussian process proposes
    ("hyperband", 12, {}),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("method", "n", "options"), REPRO, ids=[r[0] for r in REPRO])
def test_same_seed_gives_the_same_trials_and_another_seed_differs(storage, method, n, options):
    first = _sequence(storage, method, 0, n, options)
    again = _sequence(storage, method, 0, n, options)
    other = _sequence(storage, method, 1, n, options)
    assert len(first) == n
    assert first == again
    assert [p for _, p, _, _ in first] != [p for _, p, _, _ in other]


@pytest.mark.timeout(60)
def test_real_cross_validation_is_reproducible(storage):
    config = make_config("logistic_regression", "tpe", n_trials=4, method_options={})

    def seq():
        _, _, study = _run(storage, config)
        return [
            (t.params, t.value, t.user_attrs["metrics"]["fold_scores"]) for t in study.trials
        ], (study.user_attrs["test"]["score"])

    assert seq() == seq()


# --------------------------------------------------------------------------- failures


def _patch_build(monkeypatch, model: str, build) -> None:
    spec = MODELS[model]
    monkeypatch.setitem(models_mod.REGISTRY, model, dataclasses.replace(spec, build=build))


RIDGE_SPACE = SearchSpace((float_param("alpha", 1e-2, 1e2, log=True),))


@pytest.mark.timeout(60)
def test_a_failing_trial_is_recorded_and_the_run_goes_on(storage, monkeypatch):
    def build(params, task, seed, n_jobs):
        if params["alpha"] > 1.0:
            raise ValueError(f"alpha {params['alpha']:.3g} is too big for this model")
        return Ridge(**params)

    _patch_build(monkeypatch, "ridge", build)
    config = make_config("ridge", "random", space=RIDGE_SPACE, n_trials=8)
    _, status, study = _run(storage, config)
    assert status == "finished"
    trials = study.get_trials(deepcopy=False)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert failed and complete and len(trials) == 8
    for t in failed:
        assert t.params["alpha"] > 1.0
        reason = t.user_attrs["metrics"]["fail_reason"]
        assert reason.startswith("ValueError: alpha") and "too big" in reason
    for t in complete:
        assert t.params["alpha"] <= 1.0
        assert_complete_metrics(t)
    assert study.user_attrs["test"]["params"]["alpha"] <= 1.0


@pytest.mark.timeout(60)
def test_a_real_model_error_is_recorded_with_its_message(storage):
    # kNN with more neighbours than a fold has rows: scikit-learn raises, the run goes on.
    tiny = DatasetRef("regression", params={"n_samples": 30, "n_features": 3})
    space = SearchSpace((int_param("n_neighbors", 1, 24),))  # a fold trains on 16 rows
    config = make_config("knn", "random", dataset=tiny, space=space, n_trials=8, task="regression")
    _, status, study = _run(storage, config)
    assert status == "finished"
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    assert failed
    assert all("n_neighbors" in t.user_attrs["metrics"]["fail_reason"] for t in failed)
    assert all(t.params["n_neighbors"] > 16 for t in failed)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert complete and all(t.params["n_neighbors"] <= 16 for t in complete)


@pytest.mark.timeout(60)
def test_consecutive_failures_stop_the_run_with_a_clear_message(storage, monkeypatch):
    def build(params, task, seed, n_jobs):
        raise RuntimeError("the model cannot be built")

    _patch_build(monkeypatch, "ridge", build)
    config = make_config("ridge", "random", n_trials=20, max_consecutive_failures=3)
    _, status, study = _run(storage, config)
    assert status == "failed"
    assert study.user_attrs["status"] == "failed"
    message = study.user_attrs["message"]
    assert "3 trials failed in a row" in message
    assert "RuntimeError: the model cannot be built" in message
    assert _states(study) == [TrialState.FAIL] * 3  # stopped there, not after 20
    assert "test" not in study.user_attrs  # nothing to refit


@pytest.mark.timeout(60)
def test_a_run_whose_every_trial_failed_is_failed_not_finished(storage, monkeypatch):
    def build(params, task, seed, n_jobs):
        raise RuntimeError("broken")

    _patch_build(monkeypatch, "ridge", build)
    config = make_config("ridge", "random", n_trials=2, max_consecutive_failures=10)
    _, status, study = _run(storage, config)
    assert status == "failed"
    assert "No trial completed" in study.user_attrs["message"]
    assert "RuntimeError: broken" in study.user_attrs["message"]


@pytest.mark.timeout(60)
def test_nan_scores_are_recorded_as_failed(storage, monkeypatch):
    real = objective_mod.Scoring.__call__

    def scorer(self, estimator, X, y):
        if estimator[-1].alpha > 1.0:
            return float("nan")
        return real(self, estimator, X, y)

    monkeypatch.setattr(objective_mod.Scoring, "__call__", scorer)
    config = make_config("ridge", "random", space=RIDGE_SPACE, n_trials=8)
    _, status, study = _run(storage, config)
    assert status == "finished"
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    assert failed
    for t in failed:
        m = t.user_attrs["metrics"]
        assert "nan" in m["fail_reason"].lower()
        assert m["cv_mean"] is None  # no NaN written to the storage
        assert t.value is None
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert complete and all(math.isfinite(t.value) for t in complete)
    assert math.isfinite(study.best_value)


@pytest.mark.timeout(60)
def test_a_custom_objective_returning_nan_counts_as_a_failure_in_a_row(storage):
    config = make_config("ridge", "random", n_trials=10, max_consecutive_failures=3)
    name = create_run(config, storage)
    status = execute(name, storage, objective=lambda trial: float("nan"), refit=False)
    study = load_study(name, storage)
    assert status == "failed"
    assert _states(study) == [TrialState.FAIL] * 3
    assert "the objective returned nan" in study.user_attrs["message"]


@pytest.mark.timeout(60)
def test_a_failure_streak_is_reset_by_a_success(storage):
    calls = iter(range(100))

    def objective(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0.0, 1.0)
        if next(calls) % 3 != 2:  # fail, fail, succeed, ...
            raise RuntimeError("flaky")
        return 1.0

    config = make_config("ridge", "random", n_trials=9, max_consecutive_failures=3)
    name = create_run(config, storage)
    assert execute(name, storage, objective=objective, refit=False) == "finished"
    states = _states(load_study(name, storage))
    assert states == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE] * 3


def test_invalid_configurations_are_refused_before_a_run_is_created(storage):
    bad = [
        (make_config("ridge", n_trials=0), "at least 1"),
        (make_config("ridge", cv_folds=1), "CV folds"),
        (make_config("ridge", test_size=0.9), "test fraction"),
        (make_config("ridge", n_jobs=0), "n_jobs"),
        (make_config("ridge", scoring="accuracy"), "does not fit a regression task"),
        (make_config("ridge", method="tpe", method_options={"colour": 1}), "no option"),
        (make_config("ridge", method="hyperband", method_options={"sampler": "x"}), "one of"),
        (make_config("ridge", method="nsga2", method_options={"population_size": 1}), "least 2"),
        (make_config("ridge", task="classification", space=None), "does not handle"),
        (make_config("logistic_regression", space=RIDGE_SPACE), "no parameter(s) alpha"),
        (make_config("ridge", method="nope"), "Unknown method"),
        (dataclasses.replace(make_config("ridge"), model="nope"), "Unknown model"),
    ]
    for config, needle in bad:
        with pytest.raises(
            ConfigError, match=".*" + needle.replace("(", r"\(").replace(")", r"\)")
        ):
            create_run(config, storage)
    assert storage.get_all_studies() == []


# --------------------------------------------------------------------------- stop and resume


class _Gate:
    """Makes each fold's fit slow; once armed, holds the next first-fold fit of a trial until
    released, so a test can press Stop at a known point inside a trial."""

    def __init__(self, folds: int, delay: float) -> None:
        self.folds, self.delay, self.fits, self.armed = folds, delay, 0, False
        self.reached, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()

    def arm(self) -> None:
        with self.lock:
            self.armed = True

    def fit(self) -> None:
        with self.lock:
            self.fits += 1
            hold = self.armed and (self.fits - 1) % self.folds == 0  # every trial runs all folds
            self.armed = self.armed and not hold
        if hold:
            self.reached.set()
            self.release.wait(30)
        time.sleep(self.delay)


def _slow_ridge(gate: _Gate):
    class SlowRidge(Ridge):
        def fit(self, X, y, sample_weight=None):
            gate.fit()
            return super().fit(X, y, sample_weight)

    def build(params, task, seed, n_jobs):
        return SlowRidge(**params)

    return build


def _read_in_subprocess(path, name: str) -> dict:
    code = (
        "import json, optuna\n"
        "from optuna.storages import JournalStorage\n"
        "from optuna.storages.journal import JournalFileBackend\n"
        f"s = optuna.load_study(study_name={name!r}, "
        f"storage=JournalStorage(JournalFileBackend({str(path)!r})))\n"
        "print(json.dumps({'status': s.user_attrs['status'], 'n': len(s.trials)}))\n"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(120)
def test_stop_within_a_fold_then_resume_finishes_the_exact_budget(
    storage, journal_path, monkeypatch
):
    n_trials, folds = 8, 3
    gate = _Gate(folds, delay=0.3)
    _patch_build(monkeypatch, "ridge", _slow_ridge(gate))
    config = make_config("ridge", "random", space=RIDGE_SPACE, n_trials=n_trials)

    t0 = time.perf_counter()
    handle = start_run(config, storage)
    assert time.perf_counter() - t0 < 1.0  # returns at once: the run is on its own thread
    assert handle.alive
    name = handle.name

    deadline = time.time() + 60
    while counted(load_study(name, storage).get_trials(deepcopy=False)) < 2:
        assert time.time() < deadline and handle.alive, "two trials never finished"
        time.sleep(0.05)
    # Another process sees the run as running while this one works.
    seen = _read_in_subprocess(journal_path, name)
    assert seen["status"] == "running"
    assert handle.alive

    gate.arm()  # hold the first fold of the next trial, and press Stop while it fits
    assert gate.reached.wait(30), "no further trial started"
    t_stop = time.perf_counter()
    handle.stop()
    gate.release.set()
    assert handle.join(timeout=30) == "stopped"
    waited = time.perf_counter() - t_stop
    # The in-flight fold (0.3 s) ends, the refit (one more fit) runs, and nothing else: the
    # remaining trials alone would take 5 x 0.9 s. (step == 1 below pins "within a fold".)
    assert waited < 3.0

    study = load_study(name, storage)
    assert study.user_attrs["status"] == "stopped"
    assert "resume" in study.user_attrs["message"].lower()
    trials = study.get_trials(deepcopy=False)
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert len(stopped) == 1
    m = stopped[0].user_attrs["metrics"]
    assert m["fail_reason"] == STOPPED_BY_USER
    assert m["step"] == 1 and len(m["fold_scores"]) == 1  # the fold in flight, no more
    assert counted(trials) == len(trials) - 1  # the stopped trial does not use budget
    assert counted(trials) < n_trials
    assert _read_in_subprocess(journal_path, name)["status"] == "stopped"
    first_params = {t.params["alpha"] for t in trials}

    gate.delay = 0.0
    assert execute(name, storage) == "finished"
    study = load_study(name, storage)
    trials = study.get_trials(deepcopy=False)
    assert counted(trials) == n_trials  # exactly the budget, the stopped trial not counted
    assert len(trials) == n_trials + 1
    resumed = trials[len(first_params) :]
    assert all(t.state == TrialState.COMPLETE for t in resumed)
    assert not first_params & {t.params["alpha"] for t in resumed}  # no replay of the first draws
    assert study.user_attrs["status"] == "finished"
    assert isinstance(study.user_attrs["test"]["score"], float)
    assert _read_in_subprocess(journal_path, name) == {"status": "finished", "n": n_trials + 1}


@pytest.mark.timeout(120)
def test_a_stopped_grid_trial_is_run_again_on_resume(storage, monkeypatch):
    folds = 3
    gate = _Gate(folds, delay=0.0)
    gate.arm()  # hold the first grid point's first fold
    _patch_build(monkeypatch, "ridge", _slow_ridge(gate))
    # No baseline: the gate is to hold the first grid trial, not the defaults scored beside
    # the grid (a Stop then leaves them for the resume: tests/engine/test_baseline.py).
    config = make_config(
        "ridge", "grid", space=RIDGE_SPACE, grid_points=4, n_trials=None, defaults_baseline=False
    )
    handle = start_run(config, storage)
    assert gate.reached.wait(30)
    handle.stop()
    gate.release.set()
    assert handle.join(timeout=30) == "stopped"
    study = load_study(handle.name, storage)
    assert [t.state for t in study.get_trials(deepcopy=False)][0] == TrialState.FAIL
    assert execute(handle.name, storage) == "finished"
    study = load_study(handle.name, storage)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert sorted(t.params["alpha"] for t in complete) == RIDGE_SPACE["alpha"].grid_values(4)
    assert not study.get_trials(deepcopy=False, states=(TrialState.WAITING,))


@pytest.mark.timeout(60)
def test_resuming_a_finished_run_does_nothing(storage):
    name, status, study = _run(storage, make_config("ridge", n_trials=2))
    assert status == "finished"
    assert execute(name, storage) == "finished"
    assert len(load_study(name, storage).trials) == 2


# --------------------------------------------------------------------------- storage


@pytest.mark.timeout(60)
def test_a_run_opens_as_an_ordinary_optuna_study(storage, journal_path):
    name, _, study = _run(storage, make_config("ridge", n_trials=3))
    plain = optuna.load_study(
        study_name=name, storage=JournalStorage(JournalFileBackend(str(journal_path)))
    )
    assert len(plain.trials) == 3
    assert plain.best_value == study.best_value
    assert plain.best_params == study.best_params
    assert plain.user_attrs["status"] == "finished"
    assert RunConfig.from_dict(plain.user_attrs["config"]).model == "ridge"
    assert all("metrics" in t.user_attrs for t in plain.trials)
    df = plain.trials_dataframe()
    assert len(df) == 3 and "params_alpha" in df.columns


@pytest.mark.timeout(60)
def test_default_storage_is_created_on_first_use_under_the_data_folder(tmp_path, monkeypatch):
    data = tmp_path / "nested" / "data"
    monkeypatch.setenv(ENV_DATA_DIR, str(data))
    monkeypatch.delenv(ENV_STORAGE, raising=False)
    assert not data.exists()
    name = create_run(make_config("ridge", n_trials=2))  # no storage given: the default
    journal = data / JOURNAL_NAME
    assert journal.is_file()
    assert execute(name) == "finished"
    plain = optuna.load_study(
        study_name=name, storage=JournalStorage(JournalFileBackend(str(journal)))
    )
    assert len(plain.trials) == 2


def test_storage_objects_are_shared_per_url(journal_path):
    url = f"journal:///{journal_path}"
    assert open_storage(url) is open_storage(url)


def test_run_names_are_unique_and_named_runs_are_not_overwritten(storage):
    config = make_config("ridge", n_trials=1)
    a, b = create_run(config, storage), create_run(config, storage)
    assert a != b
    named = dataclasses.replace(config, name="my run/1")
    assert create_run(named, storage) == "my-run-1"
    with pytest.raises(ConfigError, match="already exists"):
        create_run(named, storage)
    with pytest.raises(ConfigError, match="No run named 'nope'"):
        load_study("nope", storage)


def test_config_round_trips_through_json():
    config = make_config("svm", "hyperband", method_options={"reduction_factor": 2}, seed=7)
    assert RunConfig.from_json(config.to_json()) == config
    assert RunConfig.from_dict(json.loads(config.to_json())).space == config.space
    with pytest.raises(ConfigError, match="Unknown run setting"):
        RunConfig.from_dict({**config.to_dict(), "colour": "red"})
    assert SMALL_REGRESSION.to_dict()["params"] == {"n_samples": 120, "n_features": 5}


# --------------------------------------------------------------------------- priority


def _priority() -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_apps_runs_work_at_a_lower_priority_than_its_pages(storage, tmp_path):
    """Runs launched in the app yield the cores to page renders: their threads (and the
    threads those start) and their worker processes are niced; the caller's thread is not."""
    import os

    from tuning.execution.priority import APP_RUN_NICE
    from tuning.runs.runner import RunHandle, RunManager

    before = _priority()
    seen: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        inner: list[int] = []
        t = threading.Thread(target=lambda: inner.append(_priority()))
        t.start()
        t.join()
        seen.extend([_priority(), *inner])
        return trial.suggest_float("x", 0, 1)

    name = create_run(make_config("knn", n_trials=2), storage)
    handle = RunHandle(name, storage, nice=5, objective=objective, refit=False).start()
    assert handle.join(60) == "finished"
    assert seen and set(seen) == {min(before + 5, 19)}
    assert _priority() == before

    assert APP_RUN_NICE > 0
    manager = RunManager(f"journal:///{tmp_path / 'runs.journal'}")
    name = manager.submit(make_config("knn", n_trials=2, workers=2))
    pool = manager.handles[name]
    assert pool.started.wait(30)
    try:
        assert {os.getpriority(os.PRIO_PROCESS, p.pid) for p in pool.procs} == {
            min(before + APP_RUN_NICE, 19)
        }
        # each in its own session, whose scheduling group is niced too (Linux autogroup)
        for p in pool.procs:
            assert os.getsid(p.pid) == p.pid
            group = Path(f"/proc/{p.pid}/autogroup")
            if group.exists():
                assert group.read_text().split()[-1] == str(APP_RUN_NICE)
    finally:
        pool.join(120)
