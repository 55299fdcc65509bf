"""Scale-out: worker processes on the embedded storage and on a real PostgreSQL server.

The kill tests use real processes and real signals. PostgreSQL tests need a server URL in
$TUNING_STUDIO_TEST_PG (`.ci/postgres.sh start` prints one); CI sets TUNING_STUDIO_REQUIRE_PG=1
so they fail instead of skipping there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tuning.core.config import DatasetRef, RunConfig
from tuning.execution.lifecycle import recover_stale_trials
from tuning.runs.runner import create_run, execute
from tuning.runs.workers import WorkerPool, threads_per_worker, worker_command, worker_env
from tuning.store.results import TrialFeed
from tuning.store.run import StoredRun
from tuning.store.runs import load_study, run_status
from tuning.store.storage import open_storage

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TUNING_STUDIO_TEST_PG")


def small(n_trials: int = 10, **kw) -> RunConfig:
    return RunConfig(
        dataset=DatasetRef("iris"), model="knn", method="random", n_trials=n_trials, cv_folds=3,
        n_jobs=1, **kw,
    )  # fmt: skip


def slow(n_trials: int = 20, **kw) -> RunConfig:
    """Trials of a few seconds: forests of 300 trees on the 2000x50 benchmark."""
    from tuning.models import get_model

    space = get_model("random_forest").default_space("classification")
    space = space.replace_param("n_estimators", low=300, high=300)
    return RunConfig(
        dataset=DatasetRef("seed-classification"), model="random_forest", method="random",
        space=space, n_trials=n_trials, cv_folds=5, n_jobs=1, **kw,
    )  # fmt: skip


def wait_for(pred, timeout: float = 60.0, every: float = 0.2):
    end = time.time() + timeout
    while time.time() < end:
        value = pred()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not reached in time")


def spawn_worker(name: str, url: str, env_extra: dict | None = None, trials: int | None = None):
    env = {**worker_env(1, url), **(env_extra or {})}
    return subprocess.Popen(
        worker_command(name, 1, trials), cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_threads_are_shared_out_so_workers_do_not_oversubscribe():
    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(3, cores=16) == 5
    assert threads_per_worker(8, cores=2) == 1
    env = worker_env(3, "postgresql://tuner:secret@db/tuning")
    assert "secret" not in " ".join(worker_command("run", 3))  # no password in `ps`
    assert env["TUNING_STUDIO_STORAGE"] == "postgresql://tuner:secret@db/tuning"
    assert env["OMP_NUM_THREADS"] == env["TUNING_STUDIO_TORCH_THREADS"] == "3"


@pytest.mark.timeout(240)
def test_two_local_workers_finish_the_budget_exactly(tmp_path):
    url = f"journal:///{tmp_path}/runs.journal"
    store = open_storage(url)
    name = create_run(small(n_trials=12, workers=2), store)
    pool = WorkerPool(name, url, 2).start()
    assert pool.join(200) == "finished", [p.stdout for p in pool.procs]
    trials = load_study(name, store).get_trials(deepcopy=False)
    assert sorted(t.number for t in trials) == list(range(12))  # none lost, none extra
    assert all(t.state == TrialState.COMPLETE for t in trials)
    workers = Counter(t.user_attrs["metrics"]["worker"] for t in trials)
    assert len(workers) == 2, workers  # both processes did work
    attrs = load_study(name, store).user_attrs
    assert attrs["test"]["score"] > 0.8  # the last worker refit the best configuration


def test_a_workers_seed_is_its_index_in_the_run_and_one_joined_by_hand_its_identity():
    # Issue 24 item 3: workers seeded by their identity (host, pid, thread) made "seed 0" a
    # different race in every experiment. Now the seed is the run's seed, moved by the run's
    # progress when its workers started and by each worker's index: the same every time.
    from tuning.execution.loop import sampler_seed
    from tuning.store.trials import as_worker

    two = small(workers=2)
    seeds = [sampler_seed(two, 0, i) for i in range(4)]
    assert len(set(seeds)) == 4  # workers that start together never replay each other's draws
    for name in ("host:1", "host:2"):  # nor does the process or thread that runs them matter
        with as_worker(name):
            assert [sampler_seed(two, 0, i) for i in range(4)] == seeds
    assert sampler_seed(two, 5, 1) == sampler_seed(two, 0, 1) + 5  # moved on by the progress
    assert sampler_seed(replace(two, seed=1), 0, 1) != seeds[1]
    # A worker joined by hand has no index: its identity keeps it apart from the others.
    by_hand = []
    for name in ("host:1", "host:2"):
        with as_worker(name):
            by_hand.append(sampler_seed(two, 0, None))
    assert by_hand[0] != by_hand[1] and not set(by_hand) & set(seeds)
    # A run with one worker stays reproducible from its seed, moved on only by its progress.
    one = small(workers=1)
    assert sampler_seed(one, 0) == one.seed and sampler_seed(one, 3) == one.seed + 3


def test_a_pool_gives_its_workers_an_index_the_progress_and_an_equal_share(tmp_path):
    from tuning.runs.workers import worker_shares

    store = open_storage(f"journal:///{tmp_path}/runs.journal")
    name = create_run(small(n_trials=11, workers=3), store)
    run = StoredRun.open(name, store)
    assert worker_shares(run, 3) == [4, 4, 3]  # which worker proposes what: never its speed
    assert worker_shares(run, 1) == [None]
    # Only the first worker takes queued trials, so its share holds them all (here the library
    # defaults and four more queued by hand), and the others split what is left.
    for _ in range(4):
        run.study.enqueue_trial({"n_neighbors": 3}, skip_if_exists=False)
    assert worker_shares(run, 3) == [5, 3, 3]
    cmd = worker_command(name, 1, 4, True, index=2, progress=0)
    assert cmd[cmd.index("--index") + 1] == "2" and cmd[cmd.index("--progress") + 1] == "0"
    assert "--index" not in worker_command(name, 1)  # joined by hand


def test_only_the_first_worker_takes_the_queued_defaults_and_the_others_count_them(tmp_path):
    """Which worker runs the queued library defaults must not depend on which one asked first,
    else each worker's sampler makes a different number of draws and a seed is not one race."""
    from tuning.execution.claims import BudgetSpent, claim_trials

    store = open_storage(f"journal:///{tmp_path}/runs.journal")
    name = create_run(small(n_trials=3, workers=2), store)
    other = load_study(name, store)
    claim_trials(other, 3, grid=False, take_queued=False)
    asked = [other.ask(), other.ask()]  # the second worker: two new trials, the defaults left
    assert [t.number for t in asked] == [1, 2]
    with pytest.raises(BudgetSpent):  # 3 = the two it made + the queued defaults
        other.ask()
    first = load_study(name, store)
    claim_trials(first, 3, grid=False)
    assert first.ask().number == 0  # the defaults, queued when the run was made


def _race(tmp_path, tag: str) -> Counter:
    """A fresh run of random search, seed 0, two worker processes through the RunManager
    (their logs in the test's folder)."""
    from tuning.runs.runner import RunManager

    url = f"journal:///{tmp_path}/{tag}.journal"
    manager = RunManager(url, nice=0, isolate=False)
    name = manager.submit(small(n_trials=6, workers=2, seed=0))
    handle = manager.handles[name]
    assert handle.join(200) == "finished", handle.error
    trials = load_study(name, open_storage(url)).get_trials(deepcopy=False)
    assert len(trials) == 6 and len({t.user_attrs["metrics"]["worker"] for t in trials}) == 2
    return Counter(tuple(sorted(t.params.items())) for t in trials)


@pytest.mark.timeout(300)
def test_a_seed_means_the_same_race(tmp_path, monkeypatch):
    """Two fresh runs with the same seed and the same number of workers propose the same
    configurations, however the two processes happen to be scheduled (issue 24 item 3)."""
    monkeypatch.setenv("TUNING_STUDIO_DATA", str(tmp_path))
    first = _race(tmp_path, "a")
    assert first == _race(tmp_path, "b")
    assert len(first) > 1  # and the two workers did not replay each other's draws


@pytest.mark.timeout(240)
def test_killed_worker_leaves_its_trial_failed_and_the_run_resumes(tmp_path):
    url = f"journal:///{tmp_path}/runs.journal"
    store = open_storage(url)
    config = slow(n_trials=4, retries=1)
    name = create_run(config, store)
    proc = spawn_worker(name, url)
    study = load_study(name, store)
    # Killed once its parameters are all drawn: one killed between two of them (a loaded
    # machine) is retried with the drawn ones and the rest drawn again.
    n_params = len(config.space.params)
    running = wait_for(lambda: [t for t in study.get_trials(deepcopy=False, states=(
        TrialState.RUNNING,)) if len(t.params) == n_params], 120)  # fmt: skip
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    victim = running[0]
    assert study.get_trials(deepcopy=False)[victim.number].state == TrialState.RUNNING
    later = time.time() + 600  # as seen once the worker's heartbeat has gone stale
    assert run_status(study.user_attrs, now=later) == "interrupted"
    assert recover_stale_trials(StoredRun(study), retries=1, now=later) == [victim.number]
    dead = study.get_trials(deepcopy=False)[victim.number]
    assert dead.state == TrialState.FAIL
    assert "worker stopped responding" in dead.user_attrs["metrics"]["fail_reason"]
    retry = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.WAITING]
    # It says whom it replaces; the dead trial's origin went with its unwritten record.
    assert len(retry) == 1 and retry[0].user_attrs == {
        "retry": 1, "retry_of": victim.number,
        "proposed": {"kind": "unknown", "retry_of": victim.number},
    }  # fmt: skip
    # resume: the retry runs with the dead trial's parameters, and the budget is honoured
    assert execute(name, store, refit=False) == "finished"
    trials = study.get_trials(deepcopy=False)
    again = trials[retry[0].number]
    assert again.state == TrialState.COMPLETE and again.params == dead.params
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert len(trials) == 5  # 4 budgeted trials, one of which died and was retried


@pytest.mark.timeout(240)
def test_workers_end_with_the_process_that_started_them(tmp_path):
    """The app's runs are worker processes: a SIGKILL of the app must end them too, leaving the
    run interrupted for Resume, as when its runs were threads (tests/browser/test_kill.py)."""
    import sys

    url = f"journal:///{tmp_path}/runs.journal"
    store = open_storage(url)
    name = create_run(slow(n_trials=50, workers=2), store)
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from tuning.runs.workers import WorkerPool\n"
         "pool = WorkerPool(sys.argv[1], sys.argv[2], 2).start()\n"
         "print(*[p.pid for p in pool.procs], flush=True)\n"
         "time.sleep(600)\n", name, url],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    pids = [int(p) for p in parent.stdout.readline().split()]
    study = load_study(name, store)
    wait_for(lambda: study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)), 120)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)  # the pool's children are reaped by init once orphaned
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"

    wait_for(lambda: all(gone(p) for p in pids), 20)
    study = load_study(name, store)
    assert run_status(study.user_attrs, now=time.time() + 600) == "interrupted"
    assert study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))  # for the stale check


@pytest.mark.timeout(240)
def test_a_stop_while_the_workers_load_is_not_lost(tmp_path):
    """Workers take seconds to start; a Stop clicked meanwhile must still stop them, while a
    pool started on a run stopped earlier resumes it."""
    url = f"journal:///{tmp_path}/runs.journal"
    store = open_storage(url)
    name = create_run(slow(n_trials=50, workers=2), store)
    pool = WorkerPool(name, url, 2).start()
    pool.stop()  # before either worker has beaten
    assert pool.join(120) == "stopped"
    study = load_study(name, store)
    assert len(study.get_trials(deepcopy=False)) <= 2  # at most the trial each had begun
    resumed = WorkerPool(name, url, 1).start()  # the old request does not stop a resume
    wait_for(lambda: load_study(name, store).get_trials(states=(TrialState.COMPLETE,)), 120)
    resumed.stop()
    assert resumed.join(120) == "stopped"


@pytest.mark.timeout(240)
def test_stop_from_another_process_stops_every_worker(tmp_path):
    url = f"journal:///{tmp_path}/runs.journal"
    store = open_storage(url)
    name = create_run(slow(n_trials=50, workers=2), store)
    pool = WorkerPool(name, url, 2).start()
    study = load_study(name, store)
    wait_for(lambda: len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))) == 2, 120)
    t0 = time.time()
    StoredRun.open(name, url).request_stop()
    assert pool.join(60) == "stopped"
    assert time.time() - t0 < 30  # within a fold, not after whole trials
    trials = study.get_trials(deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    stopped = [
        t
        for t in trials
        if (t.user_attrs.get("metrics") or {}).get("fail_reason") == "stopped by user"
    ]
    assert stopped
    assert len(trials) < 50


@pytest.mark.timeout(240)
def test_uploaded_csv_travels_inside_the_storage(tmp_path):
    csv = tmp_path / "upload.csv"
    from sklearn.datasets import load_iris

    df = load_iris(as_frame=True).frame
    df.to_csv(csv, index=False)
    url = f"journal:///{tmp_path}/runs.journal"
    store = open_storage(url)
    cfg = RunConfig(
        dataset=DatasetRef("csv", path=str(csv), target="target"), model="knn",
        method="random", n_trials=3, cv_folds=3, n_jobs=1,
    )  # fmt: skip
    name = create_run(cfg, store)
    csv.unlink()  # the worker's machine does not have the file
    elsewhere = tmp_path / "remote-data"
    proc = spawn_worker(name, url, {"TUNING_STUDIO_DATA": str(elsewhere)})
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    assert len(list((elsewhere / "uploads").glob("*.csv"))) == 1
    study = load_study(name, store)
    assert sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)) == 3


def test_workers_fetching_one_upload_at_once_all_read_it_whole(tmp_path, monkeypatch):
    """The workers of a run on one machine fetch the same copy of its CSV together; one of a
    Dask pool once read the copy while another was writing it, found it empty and failed."""
    from concurrent.futures import ThreadPoolExecutor

    from tuning.store import blob

    rows = "\n".join(f"{i},{i % 7},{i % 3}" for i in range(200_000))
    csv = tmp_path / "big.csv"
    csv.write_text("a,b,target\n" + rows + "\n")
    whole = csv.read_bytes()
    attrs = blob.dataset_attrs(str(csv))
    csv.unlink()
    monkeypatch.setenv("TUNING_STUDIO_DATA", str(tmp_path / "worker-machine"))
    cfg = RunConfig(dataset=DatasetRef("csv", path=str(csv), target="target"), model="knn")

    def fetch_and_read(_):
        return Path(blob.fetch_dataset_from(attrs, cfg).dataset.path).read_bytes() == whole

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(fetch_and_read, range(64)))
    assert [p.name for p in (tmp_path / "worker-machine" / "uploads").iterdir()] == [
        f"{attrs[blob.DATASET_FILE]['sha256']}.csv"  # no partial file left beside it
    ]


# -- PostgreSQL ----------------------------------------------------------------------------------
needs_pg = pytest.mark.skipif(
    not PG_URL and not os.environ.get("TUNING_STUDIO_REQUIRE_PG"),
    reason='no PostgreSQL server: run `eval "$(bash .ci/postgres.sh start)"` first',
)


@needs_pg
@pytest.mark.timeout(300)
def test_two_workers_and_a_reader_on_postgresql():
    assert PG_URL, "TUNING_STUDIO_TEST_PG must point at a PostgreSQL server in CI"
    store = open_storage(PG_URL)
    name = create_run(small(n_trials=10, name=f"pg-{uuid.uuid4().hex[:8]}"), store)
    procs = [spawn_worker(name, PG_URL) for _ in range(2)]
    # the dashboard's reader follows the run while the workers write
    feed = TrialFeed(optuna.load_study(study_name=name, storage=store))
    seen = []
    while any(p.poll() is None for p in procs):
        seen.append(len(feed.refresh()))
        time.sleep(0.5)
    for p in procs:
        out, _ = p.communicate()
        assert p.returncode == 0, out
    df = feed.refresh()
    assert len(df) == 10 and sorted(df["number"]) == list(range(10))
    assert set(df["state"]) == {"complete"}
    assert df["worker"].nunique() == 2
    assert seen == sorted(seen)  # the reader only ever saw the run grow
    study = load_study(name, store)
    assert study.user_attrs["status"] == "finished" and study.user_attrs["test"]["score"] > 0.8
    # an ordinary Optuna study for any other tool
    assert len(optuna.load_study(study_name=name, storage=PG_URL).trials) == 10


@needs_pg
@pytest.mark.timeout(300)
def test_killed_worker_on_postgresql_is_failed_by_the_next_worker():
    assert PG_URL
    store = open_storage(PG_URL)
    name = create_run(slow(n_trials=1, name=f"pgkill-{uuid.uuid4().hex[:8]}"), store)
    proc = spawn_worker(name, PG_URL)
    study = load_study(name, store)
    # killed once a fold is reported: by then Optuna's heartbeat thread has recorded the trial
    # (a trial killed before its first heartbeat is not stale to Optuna; the studio's own
    # recovery fails it after STALE_S instead)
    running = wait_for(
        lambda: [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.intermediate_values
        ],
        120,
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    victim = running[0].number
    # Optuna's RDB heartbeat (interval 10 s, grace 30 s) fails it in the next worker's optimize()
    time.sleep(45)  # past the 30 s grace after the last heartbeat, with margin for a loaded machine
    # the dead trial was the whole budget, so the run ends failed, saying why
    assert execute(name, store, refit=False) == "failed"
    assert "No trial completed" in load_study(name, store).user_attrs["message"]
    trials = study.get_trials(deepcopy=False)
    assert trials[victim].state == TrialState.FAIL
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert len(trials) == 1  # the dead trial used the budget (no retries were asked for)
