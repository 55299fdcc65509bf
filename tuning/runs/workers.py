"""Local worker processes: N `python -m tuning worker` processes sharing one run's storage.

Processes, not threads: model fitting holds the GIL for much of its work in Python-level
loops (and PyTorch/NumPy threads oversubscribe), so threads barely scale; see
benchmarks/workers.py. Each worker gets an equal share of the cores for its BLAS, OpenMP and
torch threads, so N workers never run more threads than the machine has cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from optuna.trial import TrialState

from tuning.core.enums import RunStatus
from tuning.execution.loop import run_progress
from tuning.methods import get_method
from tuning.store.run import StoredRun
from tuning.store.runs import counted
from tuning.store.storage import ENV_STORAGE, data_dir

# Set by WorkerPool for its workers: the pid of the process that started them.
PARENT_ENV = "TUNING_STUDIO_WORKER_PARENT"

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TUNING_STUDIO_TORCH_THREADS",
)


def threads_per_worker(n_workers: int, cores: int | None = None) -> int:
    return max(1, (cores or os.cpu_count() or 1) // max(1, n_workers))


def worker_env(threads: int, url: str) -> dict[str, str]:
    """The storage URL travels in the environment, not the command line: a PostgreSQL
    password in argv would show in any local user's `ps`."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env[ENV_STORAGE] = url
    env[PARENT_ENV] = str(os.getpid())
    return env


def follow_parent() -> None:
    """In a worker that a WorkerPool started: end when that process dies, SIGKILL included, as
    a run on its threads would. Its trial in progress is then marked failed by the heartbeat
    check and Resume continues the run (issue 9). Without this, a killed app would leave its
    runs working on, outside any app's cap and queue. Linux only (the kernel's parent-death
    signal, sent when the thread that started the worker ends: WorkerPool's users wait on
    their workers in that thread); elsewhere a no-op. Workers started by hand are untouched."""
    parent = os.environ.pop(PARENT_ENV, None)
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # it died before the signal was armed
        os._exit(1)


def worker_command(
    name: str, threads: int, trials: int | None = None, keep_stop: bool = False,
    index: int | None = None, progress: int | None = None,
) -> list[str]:  # fmt: skip
    """Run with worker_env, which names the storage. `index` (0 to n-1) and `progress` (the
    run's trials when the pool started) seed the worker's sampler (loop.sampler_seed)."""
    cmd = [sys.executable, "-m", "tuning", "worker", "--run", name,
           "--n-jobs", str(threads), "--quiet"]  # fmt: skip
    if index is not None:
        cmd += ["--index", str(index)] + (["--progress", str(progress)] if progress is not None else [])
    return cmd + (["--trials", str(trials)] if trials else []) + (["--keep-stop"] * keep_stop)


def worker_shares(run: StoredRun, n_workers: int) -> list[int | None]:
    """The trials each of a pool's workers runs: with several workers and a number of trials
    left, an equal share each (the first ones one more), so that which worker proposes which
    configurations never depends on their speed, and a seed means the same race (issue 24).
    A worker whose share is 0 is not started. None: no cap (a grid's queued lattice, a time
    budget, one worker, or nothing left: the workers end at once)."""
    config = run.config()
    if n_workers < 2 or config.n_trials is None or get_method(config.method).enumerates_grid:
        return [None] * n_workers
    trials = run.study.get_trials(deepcopy=False)
    left = config.n_trials - counted(trials)
    if left <= 0:
        return [None] * n_workers
    shares = [left // n_workers + (i < left % n_workers) for i in range(n_workers)]
    # Only the first worker takes queued trials (execution/claims.py): its share holds them all.
    queued = min(left, sum(1 for t in trials if t.state == TrialState.WAITING))
    if shares[0] < queued:
        rest, others = left - queued, n_workers - 1
        shares = [queued] + [rest // others + (i < rest % others) for i in range(others)]
    return shares


class WorkerPool:
    """N local worker processes on one run; the same interface as runner.RunHandle."""

    def __init__(self, name: str, url: str, n_workers: int, nice: int = 0) -> None:
        self.name, self.url, self.n, self.nice = name, url, n_workers, nice
        self.procs: list[subprocess.Popen] = []
        self.started = threading.Event()
        self.stop_event = threading.Event()  # set once a stop was asked for (as RunHandle)
        self.status: RunStatus | None = None
        self.error: str | None = None

    def start(self) -> WorkerPool:
        from tuning.execution.priority import lower_priority

        # The pool is the (re)start: it drops an old stop request, and its workers keep any
        # made from now on, so a Stop clicked while they load (seconds) is not lost.
        run = StoredRun.open(self.name, self.url)
        run.clear_stop_request()
        if self.stop_event.is_set():
            run.request_stop()
        threads = threads_per_worker(self.n)
        logs = data_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parents[2]
        # Counted here, once, for all of them: what each worker happens to see when it starts
        # depends on how fast the others were.
        progress, shares = run_progress(run.study), worker_shares(run, self.n)
        for i, share in enumerate(shares):
            if share == 0:
                continue
            log = open(logs / f"{self.name}.worker{i}.log", "ab")  # noqa: SIM115 - owned by the child
            self.procs.append(
                subprocess.Popen(
                    worker_command(self.name, threads, share, True, index=i, progress=progress),
                    cwd=root,
                    env=worker_env(threads, self.url),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own scheduling group (lower_priority)
                )  # fmt: skip
            )
            log.close()
            lower_priority(self.nice, self.procs[-1].pid)  # before it starts any thread
        self.started.set()
        return self

    @property
    def alive(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        self.stop_event.set()
        StoredRun.open(self.name, self.url).request_stop()

    def join(self, timeout: float | None = None) -> RunStatus | None:
        """Wait for the workers (started first: a RunManager starts the pool on a thread)."""
        deadline = None if timeout is None else time.time() + timeout
        if not self.started.wait(timeout):
            return None
        for p in self.procs:
            left = None if deadline is None else max(0.0, deadline - time.time())
            try:
                p.wait(left)
            except subprocess.TimeoutExpired:
                return None
        codes = [p.returncode for p in self.procs]
        self.status = StoredRun.open(self.name, self.url).status()
        if any(c not in (0, 1) for c in codes):
            self.error = f"worker exit codes {codes}; see {data_dir() / 'logs'}"
        return self.status

    @property
    def thread(self):  # RunManager joins handles through .thread
        return _Joiner(self)


class _Joiner:
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    def join(self, timeout: float | None = None) -> None:
        self.pool.join(timeout)

    def is_alive(self) -> bool:
        return self.pool.alive
