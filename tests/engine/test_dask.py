"""Runs on a Dask cluster: a local one of two separate worker processes, started by the fixture.

The trials flow through the scheduler into the test's journal file (Optuna's DaskStorage), as
they do for a cluster that cannot reach a database. The heartbeat window is shortened for the
cluster's workers (TUNING_STUDIO_STALE_S, read when they start) so a killed worker's trial is
recovered in seconds.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import make_config
from optuna.trial import TrialState

from tuning.core.config import DatasetRef
from tuning.runs import cluster
from tuning.runs.runner import RunManager, create_run
from tuning.store.runs import counted, load_study
from tuning.store.storage import open_storage

distributed = pytest.importorskip("distributed")

STALE_S = 3.0
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    saved = {k: os.environ.get(k) for k in ("TUNING_STUDIO_STALE_S", "TUNING_STUDIO_DATA")}
    os.environ["TUNING_STUDIO_STALE_S"] = str(STALE_S)  # the workers read it when they start
    os.environ["TUNING_STUDIO_DATA"] = str(tmp_path_factory.mktemp("workers-data"))
    try:
        with distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
            worker_class=distributed.Nanny,
        ) as lc:  # fmt: skip
            yield lc
            cluster.disconnect()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def manager(storage, dask_cluster):
    m = RunManager(storage, nice=0, dask=dask_cluster.scheduler_address)
    yield m
    m.stop_all()


def forests(n_trials: int, **kw):
    """Trials of about half a second: forests of 150 trees on iris."""
    from tuning.models import get_model

    space = get_model("random_forest").default_space("classification")
    space = space.replace_param("n_estimators", low=150, high=150)
    return make_config("random_forest", space=space, n_trials=n_trials, workers=2,
                       cluster="dask", **kw)  # fmt: skip


def wait_for(pred, timeout: float = 90.0):
    end = time.time() + timeout
    while time.time() < end:
        if value := pred():
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def workers_of(study) -> set[str]:
    return {t.user_attrs["metrics"]["worker"] for t in study.get_trials(deepcopy=False)
            if t.state == TrialState.COMPLETE}  # fmt: skip


def test_a_run_on_the_cluster_spends_its_exact_budget_on_both_workers(
    storage, manager, dask_cluster
):
    name = manager.submit(make_config("knn", n_trials=9, workers=2, cluster="dask"))
    handle = manager.handles[name]
    assert handle.join(120) == "finished", handle.error
    study = load_study(name, storage)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 9 and all(t.state == TrialState.COMPLETE for t in trials)
    # Each trial names the cluster worker that ran it: the two Dask workers' addresses.
    assert workers_of(study) == set(dask_cluster.scheduler_info["workers"])
    assert study.user_attrs["status"] == "finished" and study.user_attrs["test"]["score"] > 0


def test_an_uploaded_csv_reaches_the_workers_through_the_run(storage, manager, tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    path = tmp_path / "flowers.csv"
    frame.to_csv(path, index=False)
    config = make_config("knn", n_trials=4, workers=2, cluster="dask",
                         dataset=DatasetRef("csv", path=str(path), target="target"))  # fmt: skip
    name = create_run(config, storage)
    path.unlink()  # the workers can only rebuild it from the copy inside the run
    manager.resume(name)
    handle = manager.handles[name]
    assert handle.join(120) == "finished", handle.error
    trials = load_study(name, storage).get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4


def test_stop_stops_every_cluster_worker_within_a_trial(storage, manager):
    name = manager.submit(forests(200))
    study = load_study(name, storage)
    wait_for(lambda: study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    t0 = time.time()
    manager.stop(name)
    handle = manager.handles[name]
    assert handle.join(60) == "stopped", handle.error
    assert time.time() - t0 < 30  # within a fold: trials take about half a second here
    trials = study.get_trials(deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert counted(trials) < 200 and study.user_attrs["status"] == "stopped"
    assert all(r["status"] == "stopped" for r in handle.results) and len(handle.results) == 2


def test_a_killed_cluster_worker_leaves_no_trial_running_and_the_budget_is_exact(
    storage, manager, dask_cluster
):
    name = manager.submit(forests(12, retries=1))
    study = load_study(name, storage)

    def busy_worker():
        """A worker with a trial in progress, after at least one trial completed."""
        trials = study.get_trials(deepcopy=False)
        running = {t.number for t in trials if t.state == TrialState.RUNNING}
        if not any(t.state == TrialState.COMPLETE for t in trials):
            return None
        for key, beat in study.user_attrs.items():
            if key.startswith("worker:") and not beat["done"] and running & set(beat["trials"]):
                return key[len("worker:") :]
        return None

    address = wait_for(busy_worker)
    nanny = next(n for n in dask_cluster.workers.values() if n.worker_address == address)
    os.kill(nanny.process.pid, signal.SIGKILL)  # the worker process, mid-trial

    handle = manager.handles[name]
    assert handle.join(150) == "finished", handle.error
    trials = study.get_trials(deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert counted(trials) == 12  # the budget, exactly: the killed trial's retry counts instead
    killed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(killed) == 1
    assert "worker stopped responding" in killed[0].user_attrs["metrics"]["fail_reason"]
    retried = [t for t in trials if t.user_attrs.get("retry_of") == killed[0].number]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE
    assert retried[0].params == killed[0].params
    assert study.user_attrs["status"] == "finished" and "score" in study.user_attrs["test"]


def test_an_unreachable_scheduler_is_a_clear_message_and_creates_no_run(storage, monkeypatch):
    monkeypatch.setattr(cluster.connect, "__defaults__", (1.0,))
    manager = RunManager(storage, nice=0, dask="tcp://127.0.0.1:9")
    t0 = time.time()
    with pytest.raises(
        cluster.ClusterError, match="Cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    ):
        manager.submit(make_config("knn", n_trials=2, cluster="dask"))
    assert time.time() - t0 < 15
    assert storage.get_all_studies() == []  # nothing half-made


def test_a_cluster_run_without_a_named_cluster_says_how_to_name_one(storage):
    with pytest.raises(cluster.ClusterError, match="--dask ADDRESS"):
        RunManager(storage, nice=0).submit(make_config("knn", n_trials=2, cluster="dask"))
    assert storage.get_all_studies() == []


def test_the_address_comes_from_the_command_line_or_the_environment(monkeypatch):
    monkeypatch.setenv(cluster.ENV_DASK, "tcp://env:8786")
    assert cluster.dask_address(["app.py", "--dask", "tcp://cli:8786"]) == "tcp://cli:8786"
    assert cluster.dask_address(["app.py", "--dask=tcp://eq:8786"]) == "tcp://eq:8786"
    assert cluster.dask_address([]) == "tcp://env:8786"
    monkeypatch.delenv(cluster.ENV_DASK)
    assert cluster.dask_address(["app.py"]) is None


def test_a_database_server_is_opened_by_the_workers_a_file_goes_through_the_scheduler(
    storage, journal_path, dask_cluster
):
    client = cluster.connect(dask_cluster.scheduler_address)
    url = "postgresql+psycopg://tuner@db/tuning"  # no password (.pgpass, trust): as it is
    assert cluster.cluster_storage(client, storage, url) == url
    secret = cluster.cluster_storage(client, storage, "postgresql+psycopg://tuner:secret@db/tuning")
    assert secret == cluster.WorkerStorage("postgresql+psycopg://db/tuning")
    query = cluster.cluster_storage(client, storage, "postgresql://db/tuning?password=secret")
    assert "secret" not in repr(query)
    through = cluster.cluster_storage(client, storage, f"journal:///{journal_path}")
    assert type(through).__name__ == "DaskStorage"
    assert open_storage(f"journal:///{journal_path}") is storage


SECRET_URL = "postgresql+psycopg://tuner:s3cr3t-pw@db.invalid:5432/tuning"


def test_a_storage_password_never_reaches_the_cluster_in_a_task(
    storage, dask_cluster, monkeypatch
):
    """Issue 24 item 18: a task's arguments show on the scheduler (dashboard, logs). A run on
    a database whose URL has a password sends its tasks the database without credentials; the
    workers open the URL from their own environment, and say so when it is not set there."""
    import cloudpickle

    from tuning.runs.runner import execute

    client = cluster.connect(dask_cluster.scheduler_address)
    sent = []
    submit = client.submit

    def recording(fn, *args, **kwargs):
        sent.append((args, kwargs))
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(client, "submit", recording)
    name = create_run(make_config("knn", n_trials=4, workers=2), storage)
    # The run lives in this test's journal; the URL the tasks would get is a database's.
    pool = cluster.ClusterPool(name, storage, SECRET_URL, 2, dask_cluster.scheduler_address,
                               execute).start()  # fmt: skip
    assert pool.join(120) == "failed"  # these workers have no TUNING_STUDIO_STORAGE
    assert len(sent) == 2
    for args, kwargs in sent:
        assert b"s3cr3t-pw" not in cloudpickle.dumps((args, kwargs))  # what the scheduler gets
        assert "tuner" not in repr(args)
    assert "TUNING_STUDIO_STORAGE" in pool.error and "s3cr3t-pw" not in pool.error
    assert "postgresql+psycopg://db.invalid:5432/tuning" in pool.error
    assert "s3cr3t-pw" not in str(load_study(name, storage).user_attrs)


def test_a_worker_opens_the_database_from_its_own_environment(journal_path, monkeypatch):
    url = f"journal:///{journal_path}"
    target = cluster.WorkerStorage(url)
    monkeypatch.setenv("TUNING_STUDIO_STORAGE", url)
    assert cluster.open_for_task(target) is open_storage(url)
    monkeypatch.setenv("TUNING_STUDIO_STORAGE", SECRET_URL)  # another database
    with pytest.raises(cluster.ClusterError, match="names postgresql\\+psycopg://db.invalid") as e:
        cluster.open_for_task(target)
    assert "s3cr3t-pw" not in str(e.value)
    monkeypatch.delenv("TUNING_STUDIO_STORAGE")
    with pytest.raises(cluster.ClusterError, match="start the cluster's workers with"):
        cluster.open_for_task(target)


def test_the_command_line_runs_on_the_cluster_one_task_per_worker(
    journal_path, dask_cluster, capsys
):
    from tuning import cli

    url = f"journal:///{journal_path}"
    argv = ["run", "--dataset", "iris", "--model", "knn", "--trials", "5", "--folds", "3",
            "--dask", dask_cluster.scheduler_address, "--storage", url, "--quiet"]  # fmt: skip
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert f"2 task(s) on the Dask cluster at {dask_cluster.scheduler_address}" in err
    (study,) = open_storage(url).get_all_studies()
    run = load_study(study.study_name, url)
    assert run.user_attrs["config"]["cluster"] == "dask"
    assert len(run.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) == 5


def test_the_command_line_says_when_the_scheduler_does_not_answer(
    journal_path, capsys, monkeypatch
):
    from tuning import cli

    monkeypatch.setattr(cluster.connect, "__defaults__", (1.0,))
    url = f"journal:///{journal_path}"
    argv = ["run", "--dataset", "iris", "--model", "knn", "--trials", "2",
            "--dask", "tcp://127.0.0.1:9", "--storage", url, "--quiet"]  # fmt: skip
    assert cli.main(argv) == 2
    assert "error: Cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert open_storage(url).get_all_studies() == []


PG_URL = os.environ.get("TUNING_STUDIO_TEST_PG")


@pytest.mark.skipif(
    not PG_URL and not os.environ.get("TUNING_STUDIO_REQUIRE_PG"),
    reason='no PostgreSQL server: run `eval "$(bash .ci/postgres.sh start)"` first',
)
def test_on_postgresql_the_cluster_workers_write_to_the_database_themselves(dask_cluster):
    import uuid

    assert PG_URL, "TUNING_STUDIO_TEST_PG must point at a PostgreSQL server in CI"
    store = open_storage(PG_URL)
    manager = RunManager(store, nice=0, dask=dask_cluster.scheduler_address)
    config = make_config("knn", n_trials=8, workers=2, cluster="dask",
                         name=f"dask-pg-{uuid.uuid4().hex[:8]}")  # fmt: skip
    name = manager.submit(config)
    handle = manager.handles[name]
    assert handle.join(120) == "finished", handle.error
    study = load_study(name, store)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 8 and all(t.state == TrialState.COMPLETE for t in trials)
    assert workers_of(study) == set(dask_cluster.scheduler_info["workers"])


@pytest.mark.skipif(
    not PG_URL and not os.environ.get("TUNING_STUDIO_REQUIRE_PG"),
    reason='no PostgreSQL server: run `eval "$(bash .ci/postgres.sh start)"` first',
)
def test_on_postgresql_with_a_password_the_workers_read_the_url_from_their_environment(
    monkeypatch,
):
    """The test server trusts any password: the URL carries one all the same, and the run
    finishes while no submitted task holds it (issue 24 item 18)."""
    import uuid

    import cloudpickle

    assert PG_URL, "TUNING_STUDIO_TEST_PG must point at a PostgreSQL server in CI"
    url = PG_URL.replace("postgresql://postgres@", "postgresql://postgres:pg-s3cr3t@")
    assert cluster.has_password(url)
    store = open_storage(url)
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
        worker_class=distributed.Nanny, env={"TUNING_STUDIO_STORAGE": url},
    ) as lc:  # fmt: skip
        try:
            client = cluster.connect(lc.scheduler_address)
            sent, submit = [], client.submit
            monkeypatch.setattr(
                client, "submit", lambda fn, *a, **k: sent.append((a, k)) or submit(fn, *a, **k)
            )
            manager = RunManager(store, nice=0, dask=lc.scheduler_address)
            name = manager.submit(make_config("knn", n_trials=6, workers=2, cluster="dask",
                                              name=f"dask-pw-{uuid.uuid4().hex[:8]}"))  # fmt: skip
            handle = manager.handles[name]
            assert handle.join(120) == "finished", handle.error
        finally:
            cluster.disconnect()
    assert len(sent) == 2 and all(b"pg-s3cr3t" not in cloudpickle.dumps(t) for t in sent)
    study = load_study(name, store)
    assert len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) == 6


def test_the_command_line_resumes_a_run_on_the_cluster(storage, journal_path, dask_cluster):
    from tuning import cli

    name = create_run(make_config("knn", n_trials=4, workers=2), storage)
    url = f"journal:///{journal_path}"
    argv = ["resume", name, "--dask", dask_cluster.scheduler_address, "--storage", url, "--quiet"]
    assert cli.main(argv) == 0
    study = load_study(name, storage)
    assert len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) == 4
    assert workers_of(study) <= set(dask_cluster.scheduler_info["workers"])


def test_a_pool_whose_first_task_failed_is_not_finished_while_its_queued_trials_wait(
    storage, journal_path, monkeypatch
):
    """Only a pool's first task takes queued trials (the library defaults): when it fails as
    it starts, the others spend the rest of the budget and end the run, and the defaults wait.
    The run must then read failed, resume to continue, and a resume scores the defaults."""
    from concurrent.futures import Future

    from tuning.core.errors import DataError
    from tuning.runs.runner import execute
    from tuning.store.run import StoredRun

    name = create_run(make_config("knn", n_trials=4), storage)

    class Client:  # runs the tasks here, one after the other: the first one fails to start
        def submit(self, fn, *args, key, pure):
            future = Future()
            if args[-2] == 0:  # the task's index in the pool
                future.set_exception(DataError("The file is empty"))
            else:
                future.set_result(fn(*args))
            future.release = lambda: None
            return future

    monkeypatch.setattr(cluster, "connect", lambda address: Client())
    monkeypatch.setattr(cluster, "check_workers", lambda client, address: 1)
    monkeypatch.setattr(cluster, "cluster_storage", lambda client, store, url: store)
    monkeypatch.setattr(cluster, "threads_by_host", lambda client: {})
    monkeypatch.setattr("distributed.get_worker", lambda: _Worker())

    pool = cluster.ClusterPool(name, storage, f"journal:///{journal_path}", 2, "tcp://here:1",
                               execute)  # fmt: skip
    assert pool.start().join(60) == "failed"
    assert "DataError: The file is empty" in pool.error
    run = StoredRun.open(name, storage)
    assert "resume to continue" in run.attrs["message"]
    waiting = load_study(name, storage).get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert len(waiting) == 1  # the library defaults, never scored

    assert execute(name, storage) == "finished"
    trials = load_study(name, storage).get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4


class _Worker:
    address = "tcp://here:2"

    class state:
        nthreads = 1
