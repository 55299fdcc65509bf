"""Faults (issue 9): trials that raise, diverge, run out of memory or run past their time limit,
and storages that cannot be reached, written or grown. Real processes and real resource limits
where the fault is a process's (RLIMIT_AS, RLIMIT_FSIZE, an unprivileged user)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import optuna
import pytest
from conftest import make_config
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sklearn.linear_model import Ridge

import tuning.evaluation.objective as objective_mod
import tuning.models as models_mod
from tuning.cli import main as cli
from tuning.core.config import RunConfig
from tuning.core.errors import ConfigError, StorageError
from tuning.core.space import SearchSpace, float_param
from tuning.models import REGISTRY as MODELS
from tuning.runs.runner import create_run, execute
from tuning.store.runs import load_study
from tuning.store.storage import open_storage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = sys.executable
RIDGE_SPACE = SearchSpace((float_param("alpha", 1e-2, 1e2, log=True),))


def _patch_build(monkeypatch, model: str, build) -> None:
    spec = MODELS[model]
    monkeypatch.setitem(models_mod.REGISTRY, model, dataclasses.replace(spec, build=build))


def _run(storage, config: RunConfig) -> tuple[str, optuna.Study]:
    name = create_run(config, storage)
    status = execute(name, storage, refit=False)
    return status, load_study(name, storage)


def _reasons(study) -> list[str]:
    return [
        t.user_attrs["metrics"]["fail_reason"]
        for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    ]


# -- trials that fail --------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_an_infinite_score_fails_the_trial_and_the_run_goes_on(storage, monkeypatch):
    real = objective_mod.Scoring.__call__

    def scorer(self, estimator, X, y):
        return float("inf") if estimator[-1].alpha > 1.0 else real(self, estimator, X, y)

    monkeypatch.setattr(objective_mod.Scoring, "__call__", scorer)
    status, study = _run(storage, make_config("ridge", space=RIDGE_SPACE, n_trials=8))
    assert status == "finished"
    reasons = _reasons(study)
    assert reasons and all("inf" in r and "diverged" in r for r in reasons)
    assert study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


@pytest.mark.timeout(60)
def test_a_memory_error_fails_the_trial_with_its_reason(storage, monkeypatch):
    def build(params, task, seed, n_jobs):
        if params["alpha"] > 1.0:
            raise MemoryError("Unable to allocate 40.0 GiB for an array")
        return Ridge(**params)

    _patch_build(monkeypatch, "ridge", build)
    status, study = _run(storage, make_config("ridge", space=RIDGE_SPACE, n_trials=8))
    assert status == "finished"
    reasons = _reasons(study)
    assert reasons and all(r.startswith("MemoryError: Unable to allocate") for r in reasons)
    assert len(study.get_trials(deepcopy=False)) == 8  # the run went on


@pytest.mark.timeout(120)
def test_a_real_out_of_memory_trial_under_rlimit_as(tmp_path):
    """A worker process capped at 1 GB more address space: trials that allocate 4 GB fail with
    a real MemoryError, the others complete, and the process itself survives to finish."""
    url = f"journal:///{tmp_path}/runs.journal"
    script = textwrap.dedent(f"""
        import dataclasses, resource
        import numpy as np
        from sklearn.linear_model import Ridge
        import tuning.models as models
        from tuning.runs.runner import create_run, execute
        from conftest import make_config
        from tuning.core.space import SearchSpace, float_param

        class Greedy(Ridge):  # a model whose fit needs 4 GB when alpha > 1
            def fit(self, X, y):
                if self.alpha > 1.0:
                    np.ones(4 * 1024**3 // 8)
                return super().fit(X, y)

        spec = models.REGISTRY["ridge"]
        models.REGISTRY["ridge"] = dataclasses.replace(spec, build=lambda p, *a: Greedy(**p))
        space = SearchSpace((float_param("alpha", 1e-2, 1e2, log=True),))
        name = create_run(make_config("ridge", space=space, n_trials=8), {url!r})
        status = open("/proc/self/status").read().split("VmSize:")[1].split()[0]
        vm = int(status) * 1024  # already mapped: imports reserve much address space
        resource.setrlimit(resource.RLIMIT_AS, (vm + 1024**3, resource.RLIM_INFINITY))
        print(execute(name, {url!r}, refit=False))
        print(name)
    """)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT}/tests"}
    out = subprocess.run(
        [PY, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=100
    )
    assert out.returncode == 0, out.stderr[-2000:]
    status, name = out.stdout.split()[-2:]
    study = load_study(name, open_storage(url))
    assert status == "finished", study.user_attrs.get("message")
    reasons = _reasons(study)
    assert reasons and all(r.startswith("MemoryError") for r in reasons), reasons
    assert study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


@pytest.mark.timeout(60)
def test_a_trial_past_its_time_limit_fails_saying_so_and_the_run_goes_on(storage, monkeypatch):
    real = objective_mod.Evaluation._by_fold

    def slow_fits(self, trial, params, rec):
        if params["alpha"] > 1.0:  # these trials take about 0.3 s a fold: 3 folds > 0.5 s
            real_fit = self.model.build

            def build(p, task, seed, n_jobs):
                import time

                time.sleep(0.3)
                return real_fit(p, task, seed, n_jobs)

            self = dataclasses.replace(self, model=dataclasses.replace(self.model, build=build))
        return real(self, trial, params, rec)

    monkeypatch.setattr(objective_mod.Evaluation, "_by_fold", slow_fits)
    config = make_config("ridge", space=RIDGE_SPACE, n_trials=8, trial_timeout_s=0.5)
    status, study = _run(storage, config)
    assert status == "finished"
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 8
    failed = [t for t in trials if t.state == TrialState.FAIL]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert failed and complete
    for t in failed:
        assert t.params["alpha"] > 1.0
        reason = t.user_attrs["metrics"]["fail_reason"]
        assert reason.startswith("TrialTimeLimit: the trial ran past its time limit of 0.5 s")
        assert t.user_attrs["metrics"]["step"] < 3  # stopped between folds, not at the end
    assert all(t.params["alpha"] <= 1.0 for t in complete)


@pytest.mark.timeout(60)
def test_trials_all_past_the_limit_stop_the_run_after_the_failure_limit(storage):
    config = make_config("ridge", n_trials=20, trial_timeout_s=1e-6, max_consecutive_failures=4)
    status, study = _run(storage, config)
    assert status == "failed"
    assert len(study.get_trials(deepcopy=False)) == 4
    message = study.user_attrs["message"]
    assert "4 trials failed in a row" in message and "time limit of 1e-06 s" in message


def test_a_time_limit_that_is_not_positive_is_refused():
    with pytest.raises(ConfigError, match="per-trial time limit must be positive"):
        create_run(make_config("ridge", trial_timeout_s=0.0), open_storage("journal:///dev/null"))


def test_the_time_limit_and_failure_limit_are_command_line_flags(capsys, tmp_path):
    url = f"journal:///{tmp_path}/cli.journal"
    code = cli(["run", "--dataset", "iris", "--model", "knn", "--trials", "3", "--folds", "3",
                "--trial-timeout", "0.000001", "--max-failures", "2", "--quiet",
                "--storage", url])  # fmt: skip
    assert code != 0
    study = open_storage(url).get_all_studies()[0]
    assert study.user_attrs["config"]["trial_timeout_s"] == 1e-6
    assert "2 trials failed in a row" in study.user_attrs["message"]
    with pytest.raises(SystemExit) as bad:
        cli(["run", "--dataset", "iris", "--model", "knn", "--trial-timeout", "0"])
    assert bad.value.code == 2
    assert "--trial-timeout: must be greater than 0" in capsys.readouterr().err


# -- storages that fail ------------------------------------------------------------------------
def test_an_unreachable_postgresql_server_gives_a_clear_message_without_the_password(capsys):
    url = "postgresql+psycopg://tuner:s3cret@127.0.0.1:1/runs"
    with pytest.raises(StorageError) as err:
        open_storage(url)
    message = str(err.value)
    assert "Cannot open storage postgresql+psycopg://127.0.0.1:1/runs" in message
    assert "s3cret" not in message and "server is running" in message
    code = cli(["list", "--storage", url])
    assert code == 2
    stderr = capsys.readouterr().err
    assert "Cannot open storage" in stderr and "s3cret" not in stderr
    assert "Traceback" not in stderr


def _as_nobody(script: str, tmp_path) -> subprocess.CompletedProcess:
    """Run `script` as an unprivileged user when we are root (root writes to read-only folders)."""
    code = textwrap.dedent("""
        import os, sys
        import tuning.cli, tuning.runs.runner, tuning.store.storage, tuning.data.datasets  # before dropping rights
        if os.geteuid() == 0:
            os.setgid(65534); os.setuid(65534)
    """) + textwrap.dedent(script)
    env = {**os.environ, "PYTHONPATH": ROOT, "TUNING_STUDIO_DATA": str(tmp_path / "ro")}
    env.pop("TUNING_STUDIO_STORAGE", None)
    return subprocess.run(
        [PY, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def open_dir():
    """A folder every user can enter (pytest's tmp_path is private to root)."""
    path = tempfile.mkdtemp(prefix="tuning-ro-", dir="/tmp")
    os.chmod(path, 0o755)
    yield Path(path)
    os.chmod(path, 0o755)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(120)
def test_a_read_only_storage_folder_gives_a_clear_message(open_dir):
    (open_dir / "ro").mkdir()
    os.chmod(open_dir / "ro", 0o555)
    out = _as_nobody(
        """
        rc = tuning.cli.main(["run", "--dataset", "iris", "--model", "knn", "--trials", "2",
                              "--quiet"])
        print("rc", rc)
        """,
        open_dir,
    )
    assert "rc 2" in out.stdout, out.stderr[-2000:]
    assert "runs.journal cannot be written: Permission denied" in out.stderr
    assert "Make the folder writable" in out.stderr and "Traceback" not in out.stderr
    assert not (open_dir / "ro" / "runs.journal").exists()


@pytest.mark.timeout(120)
def test_a_full_storage_leaves_no_half_written_run_and_stays_usable(tmp_path):
    """RLIMIT_FSIZE makes the journal 'full' part-way through creating a grid run (hundreds of
    queued trials): the run is refused with a clear message and rolled back, and the storage
    still works for the next run once there is room."""
    journal = tmp_path / "runs.journal"
    store = open_storage(f"journal:///{journal}")
    first = create_run(make_config("knn", n_trials=2), store)
    script = f"""
        import resource, sys
        from tuning.store.storage import open_storage
        from tuning.core.config import RunConfig
        from tuning.runs.runner import create_run
        from tuning.core.config import DatasetRef
        from tuning.core.errors import UserError
        store = open_storage("journal:///{journal}")
        size = {journal.stat().st_size}
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 6000, resource.RLIM_INFINITY))
        try:
            create_run(RunConfig(DatasetRef("iris"), "knn", "grid", n_trials=None, cv_folds=3,
                                 grid_points=8, name="big-grid"), store)
        except UserError as exc:
            print("REFUSED", exc)
    """
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run([PY, "-c", textwrap.dedent(script)], env=env, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert "REFUSED Could not write to the storage" in out.stdout, out.stderr[-2000:]
    assert "File too large" in out.stdout and "Nothing was half-written" in out.stdout
    fresh = JournalStorage(JournalFileBackend(str(journal)))  # a new reader of the file
    studies = {s.study_name: s for s in fresh.get_all_studies()}
    assert "big-grid" not in studies or "config" not in studies["big-grid"].user_attrs
    assert "config" in studies[first].user_attrs
    for line in journal.read_text().splitlines():
        json.loads(line)  # no partial line left behind
    second = create_run(make_config("knn", n_trials=2, name="after-the-fault"), store)
    assert execute(second, store, refit=False) == "finished"


def test_a_half_written_study_is_not_listed_as_a_run(storage):
    optuna.create_study(study_name="half", storage=storage).set_user_attr("status", "queued")
    from tuning.store.results import list_runs

    assert [r.name for r in list_runs(storage)] == []
    name = create_run(make_config("knn", n_trials=1), storage)
    assert [r.name for r in list_runs(storage)] == [name]


@pytest.mark.timeout(120)
def test_launches_in_the_same_second_get_distinct_runs(storage):
    """Sessions launching the same configuration at once: each gets its own run, none fails on
    a name another took a moment earlier (names carry the time to the second)."""
    import threading

    config = make_config("knn", n_trials=1)
    names, errors = [], []
    barrier = threading.Barrier(6)

    def launch():
        barrier.wait()
        try:
            names.append(create_run(config, storage))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=launch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(names)) == 6
    assert all("config" in s.user_attrs for s in storage.get_all_studies())


# -- a killed worker process, in real time ------------------------------------------------------
@pytest.mark.timeout(300)
def test_sigkill_a_worker_then_a_new_worker_resumes_the_run(tmp_path, monkeypatch):
    """`python -m tuning worker` killed with SIGKILL mid-trial: once its heartbeat is stale the run
    reads as interrupted, its trial is failed, and a new worker process finishes the budget with
    every completed trial kept. (tests/engine/test_workers.py does the same with a simulated clock.)"""
    import signal
    import time

    from test_workers import slow, spawn_worker, wait_for

    import tuning.store.runs as store_runs

    stale = 3.0
    monkeypatch.setattr(store_runs, "STALE_S", stale)  # this process reads the run with that window
    url = f"journal:///{tmp_path}/runs.journal"
    store = open_storage(url)
    name = create_run(slow(n_trials=3), store)
    env = {"TUNING_STUDIO_STALE_S": str(stale)}
    proc = spawn_worker(name, url, env)
    study = load_study(name, store)

    def mid_run():
        trials = study.get_trials(deepcopy=False)
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING]
        return done and running and (done, running)

    done, running = wait_for(mid_run, 240)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert store_runs.run_status(study.user_attrs) == "running"  # too soon to tell
    time.sleep(stale + 1)
    assert store_runs.run_status(study.user_attrs) == "interrupted"

    again = spawn_worker(name, url, env)  # a resume is one more worker on the run
    out, _ = again.communicate(timeout=240)
    assert again.returncode == 0, out
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials].count(TrialState.FAIL) == 1
    victim = trials[running[0].number]
    assert victim.state == TrialState.FAIL
    assert "worker stopped responding" in victim.user_attrs["metrics"]["fail_reason"]
    for t in done:
        assert trials[t.number].state == TrialState.COMPLETE and trials[t.number].value == t.value
    assert len(trials) == 3 and study.user_attrs["status"] == "finished"


def test_a_study_without_a_configuration_is_refused_not_crashed_on(storage, capsys, tmp_path):
    url = f"journal:///{tmp_path}/other.journal"
    optuna.create_study(study_name="half", storage=open_storage(url))
    assert cli(["worker", "--run", "half", "--storage", url, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "'half' is not a Tuning Studio run: it has no saved configuration" in err
    assert cli(["delete", "half", "--yes", "--storage", url]) == 0  # and it can be removed
