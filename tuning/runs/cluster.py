"""A run's workers as tasks on a Dask cluster (`dask scheduler` + `dask worker`s).

The scheduler is named only by whoever starts the process (TUNING_STUDIO_DASK, `--dask`): a
Dask client unpickles what its scheduler sends, so an address typed into a browser would let
anyone run code in the studio. Each task does what `python -m tuning worker --run NAME` does:
rebuild the objective from the run's saved configuration (an uploaded CSV travels inside the
run) and run the loop; the loop claims the budget exactly across every worker
(execution/claims.py), so a task that Dask runs again after its worker died only takes what is
left. The trials reach the storage directly when the cluster can reach it (a database server),
else through the scheduler with Optuna's DaskStorage, into the studio's own storage, which the
scheduler then opens (so start the scheduler where that file is: on the studio's machine).

A database URL with a password never travels in a task: a task's arguments show on the
scheduler's dashboard and in its logs (as would a Dask Variable or Queue, which the scheduler
holds). The task names the database without its credentials (WorkerStorage), and each worker
opens the URL in its own environment, TUNING_STUDIO_STORAGE, set by whoever starts it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from optuna.storages import BaseStorage
from optuna.trial import TrialState

from tuning.core.enums import RunStatus
from tuning.core.errors import ConfigError
from tuning.execution.lifecycle import recover_stale_trials
from tuning.execution.loop import run_progress
from tuning.store.run import StoredRun
from tuning.store.runs import BEATING_S, HEARTBEAT_S, STALE_S
from tuning.store.storage import ENV_STORAGE, describe
from tuning.store.trials import as_worker

ENV_DASK = "TUNING_STUDIO_DASK"
CONNECT_TIMEOUT_S = float(os.environ.get("TUNING_STUDIO_DASK_TIMEOUT_S") or 5.0)
# URL schemes of storages on a server that a cluster's workers open themselves; a journal or
# SQLite file is on this machine only, so its trials go through the scheduler.
SERVER_SCHEMES = ("postgresql", "mysql")
ROUNDS = 3  # times a task works again after finding a dead worker's trials

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_storages: dict[tuple[str, str], Any] = {}  # (client, storage URL) -> its DaskStorage


class ClusterError(ConfigError):
    """The Dask cluster cannot be used: unreachable, no workers, or not named."""


def dask_address(argv: list[str] | None = None) -> str | None:
    """The scheduler the process was started with: `--dask ADDRESS` in `argv` (the app's
    `streamlit run app.py -- --dask ADDRESS`), else $TUNING_STUDIO_DASK; None: no cluster."""
    args = list(argv or [])
    for i, arg in enumerate(args):
        if arg == "--dask" and i + 1 < len(args):
            return args[i + 1].strip() or None
        if arg.startswith("--dask="):
            return arg.split("=", 1)[1].strip() or None
    return (os.environ.get(ENV_DASK) or "").strip() or None


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """One Dask client per scheduler address and process; a clear message within `timeout`
    seconds when the scheduler cannot be reached or has no workers."""
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
    from distributed import Client

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"Cannot reach the Dask scheduler at {address} (waited {timeout:g} s): "
            f"{str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}. Start it "
            f"with `dask scheduler` and its workers with `dask worker {address}`, check "
            f"{ENV_DASK} / --dask, or run on this machine. Nothing was started."
        ) from None
    with _lock:
        _clients[address] = client
    return client


def disconnect() -> None:
    """Close this process's Dask clients (a test's cluster is about to go away)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
        _storages.clear()
    for client in clients:
        with contextlib.suppress(Exception):
            client.close()


def check_workers(client, address: str) -> int:
    """The number of the cluster's workers; ClusterError when it has none."""
    n = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    if not n:
        raise ClusterError(
            f"The Dask scheduler at {address} has no workers: start some with "
            f"`dask worker {address} --nthreads 1`, or run on this machine."
        )
    return n


def has_password(url: str) -> bool:
    """Whether a storage URL carries a password (user:password@host, or ?password=...)."""
    parts = urlsplit(url)
    try:
        password = parts.password
    except ValueError:  # a malformed port: look no further than the text
        password = None
    return bool(password) or "password=" in parts.query.lower()


def without_credentials(url: str) -> str:
    """The URL with neither its user and password nor its query (which may hold them)."""
    return describe(url).split("?", 1)[0]


@dataclass(frozen=True)
class WorkerStorage:
    """What a task carries for a database whose URL has a password: the database named
    without credentials. The worker opens the URL in its own environment (ENV_STORAGE), which
    must name the same database."""

    where: str

    def open(self) -> BaseStorage:
        from tuning.store.storage import open_storage

        url = os.environ.get(ENV_STORAGE) or ""
        if not url or without_credentials(url) != self.where:
            named = f"; its {ENV_STORAGE} names {without_credentials(url)}" if url else ""
            raise ClusterError(
                f"This Dask worker cannot open the run's storage {self.where}{named}. Its URL "
                "holds a password, which is never sent in a task (the scheduler shows tasks): "
                f"start the cluster's workers with {ENV_STORAGE} set to that URL, e.g. "
                f"`{ENV_STORAGE}=postgresql://USER:PASSWORD@HOST/DB dask worker ADDRESS`."
            )
        return open_storage(url)


def cluster_storage(client, storage: BaseStorage, url: str | None):
    """What the tasks open: a database server's URL (each worker connects to it; a URL with a
    password as a WorkerStorage, opened from the workers' own environment), or a DaskStorage on
    the scheduler wrapping this storage (a journal or SQLite file here)."""
    if url is None:  # the scheduler would get a copy: the trials would never come back
        raise ClusterError(
            "A run in an in-memory storage cannot work on a Dask cluster: open the storage "
            "from a URL (journal:///path/runs.journal, postgresql://...)."
        )
    if url.split(":", 1)[0].split("+", 1)[0] in SERVER_SCHEMES:
        return WorkerStorage(without_credentials(url)) if has_password(url) else url
    from optuna_integration import DaskStorage

    # Per client: a new client (the scheduler was restarted) registers the storage again.
    key = (str(id(client)), url)
    with _lock:
        if key not in _storages:
            # The scheduler unpickles the storage object and opens the same file (it must see
            # it) and imports tuning (compat's journal backend): start it beside the studio.
            _storages[key] = DaskStorage(storage, name=f"tuning-{uuid.uuid4().hex}", client=client)
        return _storages[key]


def threads_by_host(client) -> dict[str, int]:
    """Dask worker threads per host: a task's model fits share its host's cores with them."""
    hosts: dict[str, int] = {}
    for info in client.scheduler_info(n_workers=-1)["workers"].values():
        hosts[info["host"]] = hosts.get(info["host"], 0) + int(info.get("nthreads") or 1)
    return hosts


def open_for_task(target: Any) -> BaseStorage:
    if isinstance(target, WorkerStorage):
        return target.open()
    if isinstance(target, str):
        from tuning.store.storage import open_storage

        return open_storage(target)
    return target


def orphans_settled(run: StoredRun, retries: int, patience: float | None = None) -> bool:
    """Wait until no trial is RUNNING but those of workers that beat (a dead worker's trial is
    failed, and with retries queued again, once its heartbeat is STALE_S old); True when any
    was recovered. Bounded: about STALE_S plus a few heartbeats."""
    deadline = time.time() + (patience or STALE_S + 4 * HEARTBEAT_S)
    recovered, alive_since = False, None
    while time.time() < deadline:
        running = run.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return recovered
        if recover_stale_trials(run, retries):
            recovered = True
            continue
        fresh = {n for w in run.live_workers(window=BEATING_S).values() for n in w["trials"]}
        if all(t.number in fresh for t in running):
            # Their workers beat: they finish their own trials. (One that died just now still
            # looks fresh for BEATING_S, so it has to look alive for longer than that.)
            alive_since = alive_since or time.time()
            if time.time() - alive_since > BEATING_S + HEARTBEAT_S:
                return recovered
        else:
            alive_since = None
        time.sleep(HEARTBEAT_S)
    return recovered


def work(
    execute: Callable[..., RunStatus], name: str, target: Any, threads: dict[str, int],
    retries: int, index: int = 0, progress: int | None = None,
) -> dict[str, str]:  # fmt: skip
    """The task on a Dask worker: join the run as `worker` does, named by the worker's address.
    `index` (0 to n-1) and `progress` (the run's trials when the pool started) seed its
    sampler, so a seed means the same first configurations on every cluster.

    Idempotent with respect to the budget: the loop claims trials against the run's budget in
    the storage, so this task run twice (Dask runs it again when its worker died) only works on
    what is left. When it ends it waits for trials that a dead worker left RUNNING, fails them
    (queued again with retries) and works again, so none is left behind and the budget is spent.
    """
    from distributed import get_worker
    from distributed.comm import get_address_host

    worker = get_worker()
    label = worker.address  # two tasks on one worker's threads need two names
    if worker.state.nthreads > 1:
        label += f"#{uuid.uuid4().hex[:4]}"
    storage = open_for_task(target)
    sharing = threads.get(get_address_host(worker.address)) or worker.state.nthreads
    n_jobs = max(1, (os.cpu_count() or 1) // max(1, sharing))
    with as_worker(label):
        status = RunStatus.FINISHED
        for round_ in range(ROUNDS):
            # A later round counts the trials it sees: the first round's seed would replay.
            seen = progress if round_ == 0 else None
            status = RunStatus(execute(name, storage, n_jobs=n_jobs, clear_stop=False,
                                       worker_index=index, progress=seen))  # fmt: skip
            if status != RunStatus.FINISHED:
                break
            run = StoredRun.open(name, storage)
            if not orphans_settled(run, retries):
                break
    return {"status": status.value, "worker": label}


class ClusterPool:
    """N tasks of one run on a Dask cluster; the same interface as workers.WorkerPool.

    `execute` is runner.execute, passed in (this module sits below the runner). Submitting
    checks that the scheduler answers within a few seconds and has workers."""

    def __init__(
        self, name: str, storage: BaseStorage, url: str | None, n_workers: int, address: str,
        execute: Callable[..., RunStatus], retries: int = 0,
    ) -> None:  # fmt: skip
        self.name, self.storage, self.url, self.n = name, storage, url, n_workers
        self.address, self.execute, self.retries = address, execute, retries
        self.futures: list[Any] = []
        self.started = threading.Event()
        self.stop_event = threading.Event()
        self.status: RunStatus | None = None
        self.error: str | None = None
        self.results: list[dict] = []
        self._done = threading.Event()

    def start(self) -> ClusterPool:
        try:
            client = connect(self.address)
            check_workers(client, self.address)
            target = cluster_storage(client, self.storage, self.url)
            # The pool is the (re)start, as WorkerPool: an old stop request goes, a new one stays.
            run = StoredRun.open(self.name, self.storage)
            run.clear_stop_request()
            if self.stop_event.is_set():
                run.request_stop()
            threads, progress = threads_by_host(client), run_progress(run.study)
            tag = uuid.uuid4().hex[:8]
            self.futures = [
                client.submit(
                    work, self.execute, self.name, target, threads, self.retries, i, progress,
                    key=f"tuning-{self.name}-{tag}-{i}", pure=False,
                )  # fmt: skip
                for i in range(self.n)
            ]
        except Exception as exc:
            self._fail(exc)
            self.started.set()
            self._done.set()
            return self
        self.started.set()
        threading.Thread(target=self._wait, name=f"dask-{self.name}", daemon=True).start()
        return self

    def _wait(self) -> None:
        try:
            errors = []
            for f in self.futures:
                try:
                    self.results.append(f.result())
                except Exception as exc:  # the task failed, or Dask gave up on it (KilledWorker)
                    errors.append(exc)
            # Released: Dask recomputes a held result whose worker leaves the cluster later.
            for f in self.futures:
                f.release()
            run = StoredRun.open(self.name, self.storage)
            self.status = run.status()
            if errors:
                self.error = "; ".join(f"{type(e).__name__}: {e}"[:300] for e in errors)
                # Only the first task takes queued trials (the library defaults, a grid): when
                # it failed, a run that its other tasks ended as finished still has them to run.
                queued = run.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
                if not self.status.ended or queued:
                    message = (
                        f"The Dask tasks ended with an error ({self.error}); the finished "
                        "trials are kept: resume to continue."
                    )
                    run.set_status(RunStatus.FAILED, message)
                    self.status = RunStatus.FAILED
        except Exception as exc:  # the scheduler went away: the trials already stored stay
            self._fail(exc)
        finally:
            self._done.set()

    def _fail(self, exc: Exception) -> None:
        self.status, self.error = RunStatus.FAILED, str(exc)
        with contextlib.suppress(Exception):
            run = StoredRun.open(self.name, self.storage)
            if not run.status().ended:
                run.set_status(
                    RunStatus.FAILED,
                    f"The Dask cluster at {describe(self.address)} failed the run: {exc}. "
                    "The finished trials are kept: resume to continue.",
                )  # fmt: skip

    @property
    def alive(self) -> bool:
        """Until its tasks have ended (also while it starts: the manager starts it on a thread)."""
        return not self._done.is_set()

    def stop(self) -> None:
        """Every task stops within a fold or epoch: their heartbeats read the stop request."""
        self.stop_event.set()
        StoredRun.open(self.name, self.storage).request_stop()

    def join(self, timeout: float | None = None) -> RunStatus | None:
        self._done.wait(timeout)
        return self.status if self._done.is_set() else None

    @property
    def thread(self):  # RunManager joins handles through .thread
        return self

    def is_alive(self) -> bool:
        return self.alive
