"""Starting runs: create a run, execute it (or join it as one more worker), run it in the
background, and the one scheduler (RunManager) that caps how many work at once.

create_run() writes the study and its configuration; execute() rebuilds everything from the
storage alone and hands the run to its method's strategy (so the app, the command line and
remote workers all run the same way). Status lives on the study, so other processes can read it.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus
from tuning.core.errors import ConfigError, UserError
from tuning.execution import baseline
from tuning.execution import choice as choosing
from tuning.execution.lifecycle import recover_stale_trials
from tuning.execution.prepared import Prepared
from tuning.execution.priority import APP_RUN_NICE, lower_priority
from tuning.execution.session import RunSession, refit_and_test
from tuning.methods import get_method
from tuning.runs import warmstart
from tuning.runs.prepare import prepare, rebuild_problem
from tuning.store.records import RunRecord
from tuning.store.run import StoredRun
from tuning.store.runs import as_storage, delete_run, sanitize_name, unique_name
from tuning.store.storage import url_of, write_error


def create_run(config: RunConfig, storage: BaseStorage | str | None = None) -> str:
    """Validate, create the study, save the configuration; returns the run's name."""
    prep = prepare(config)
    return record_run(prep, as_storage(storage), config.name)


def _new_study(
    prep: Prepared, storage: BaseStorage, requested: str | None, rename: bool
) -> tuple[optuna.Study, str]:
    """The run's empty study under its name (see record_run)."""
    config = prep.config
    cfg_multi = config.multi_objective
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = requested or f"{config.model}-{config.method}-{config.dataset.label()}-{stamp}"
    name = sanitize_name(base)
    free = requested is None or rename
    if free:
        name = unique_name(storage, name)
    elif name in {s.study_name for s in storage.get_all_studies()}:
        raise ConfigError(f"A run named '{name}' already exists: choose another name.")
    for attempt in range(20):
        try:
            # A multi-objective study has one direction per objective (score, then costs); a
            # single-objective one is created exactly as before.
            directions = (
                {"directions": prep.directions} if cfg_multi else {"direction": prep.direction}
            )
            study = optuna.create_study(study_name=name, storage=storage, **directions)
            break
        except optuna.exceptions.DuplicatedStudyError:
            # Another session or process took the name since we looked (two launches in the
            # same second): a generated name moves on to the next free one.
            if not free or attempt == 19:
                raise ConfigError(
                    f"A run named '{name}' already exists: choose another name."
                ) from None
            name = unique_name(storage, sanitize_name(base))
        except OSError as exc:
            raise write_error(exc, url_of(storage)) from None
    return study, name


def record_run(
    prep: Prepared, storage: BaseStorage, requested: str | None = None, rename: bool = False
) -> str:
    """Create the study of a prepared run and save its configuration; returns its name.
    `requested`: the name asked for (None: one made from the model, method and data), which
    must be free unless `rename` (then `-2`, `-3`, ... is added as needed)."""
    # Read the warm start's sources before the study exists (a source never breaks creation).
    warm = warmstart.plan(prep, storage) if prep.config.warm_start else None
    if warm is not None:
        prep = warmstart.apply_narrowing(prep, warm)
    study, name = _new_study(prep, storage, requested, rename)
    cfg = replace(prep.config, name=name)
    run = StoredRun(study)
    try:
        # The configuration is written last: a study without it is not a run (pages and the
        # command line skip it), so a write that fails half-way leaves no half-written run.
        run.init(prep.dataset.task, prep.scoring.name, prep.budget)
        if cfg.dataset.name == "csv" and cfg.dataset.path:
            run.store_dataset(cfg.dataset.path)
        method = get_method(cfg.method)
        method.setup(run, prep.space, cfg)
        # The library defaults: the first trial where they fit the space, else scored beside
        # the trials by the first worker, or why not (tuning/execution/baseline.py).
        defaults = baseline.plan(prep, method)
        if defaults.is_trial:
            run.enqueue_baseline(defaults)
        else:
            run.save_baseline(defaults)
        if prep.recommendation is not None:
            run.save_recommendation(prep.recommendation)
        if warm is not None:  # right after the defaults: the earlier runs' best come next
            run.enqueue_warm_start(warm.configs, warm.sources, warm.note)
        run.save_config(cfg)
    except Exception as exc:
        with contextlib.suppress(Exception):  # best effort: on a full disk this may fail too
            optuna.delete_study(study_name=name, storage=storage)
        if isinstance(exc, OSError):
            raise write_error(exc, url_of(storage)) from None
        raise
    return name


def execute(
    name: str,
    storage: BaseStorage | str | None = None,
    stop: threading.Event | None = None,
    callbacks: Iterable[Callable[[optuna.Study, FrozenTrial], None]] = (),
    objective: Callable[[optuna.Trial], float] | None = None,
    refit: bool = True,
    max_trials: int | None = None,
    n_jobs: int | None = None,
    clear_stop: bool = True,
    worker_index: int | None = 0,
    progress: int | None = None,
) -> RunStatus:
    """Run (or resume, or join as one more worker) `name` until its budget is spent or `stop`
    is set; returns the status. Everything is rebuilt from the storage, so this is also what
    a worker process runs. `objective` replaces the cross-validated evaluation (benchmarks use
    a trivial one); `max_trials` caps this worker's share; `n_jobs` overrides threads per fit.
    `worker_index` (0 to n-1; None: joined by hand) and `progress` (the run's trials when its
    workers were started; None: as this worker sees them) seed its sampler (loop.sampler_seed).
    `clear_stop`: starting is a resume, which drops the stop request an earlier Stop left;
    a pool's workers keep it instead (the pool cleared it, so a request now is a new Stop).
    """
    run = StoredRun.open(name, storage)
    problem = rebuild_problem(run.config())
    if problem:  # the run is read-only here: its status stays as its own process left it
        raise ConfigError(problem)
    try:
        session = open_session(
            run, stop, callbacks=callbacks, objective=objective, refit=refit,
            max_trials=max_trials, n_jobs=n_jobs, worker_index=worker_index, progress=progress,
        )  # fmt: skip
    except UserError as exc:
        run.set_status(RunStatus.FAILED, str(exc))
        raise
    recover_stale_trials(run, session.config.retries)
    if clear_stop:
        run.clear_stop_request()
    if run.stop_requested:
        session.stop.set()  # asked to stop before this worker began
    return get_method(session.config.method).run(session)


def open_session(run: StoredRun, stop: threading.Event | None = None, **options: Any) -> RunSession:
    """The run's session: its configuration read from the storage, its uploaded CSV fetched
    where this machine lacks it, and everything prepared once (data, split, model, scorer).
    `options` are RunSession's (callbacks, objective, refit, max_trials, n_jobs,
    worker_index, progress)."""
    prep = prepare(run.fetch_dataset(run.config()))
    return RunSession(run, prep, stop or threading.Event(), **options)


def choose(
    name: str,
    storage: BaseStorage | str | None = None,
    trial: int | None = None,
    within_pct: float | None = None,
    cost: str | None = None,
) -> int:
    """Choose the trade-off a run refits: trial number `trial`, or the cheapest in `cost`
    (default: the run's first cost objective) within `within_pct` % of the best CV score.
    Keeps it with the run, refits and tests it (the run's test then describes it) and returns
    its number."""
    if (trial is None) == (within_pct is None):
        raise ConfigError("Choose a trade-off by a trial number or by a margin, not both.")
    run = StoredRun.open(name, storage)
    study = run.study
    prep = open_session(run).prep
    objectives = prep.objectives
    if trial is not None:
        choice = choosing.trial_choice(study, objectives, int(trial))
    else:
        if cost is None:
            if len(objectives) < 2:
                raise ConfigError(
                    "This run has no cost objective: name the cost to be cheapest in "
                    "(e.g. fit_seconds)."
                )
            cost = objectives[1].name
        choice = choosing.rule_choice(study, objectives, float(within_pct), cost)
        if choice is None:
            raise ConfigError("The run has no complete trial yet: there is nothing to choose.")
    run.save_choice(choice.to_attr())
    run.save_test(refit_and_test(prep, study.get_trials(deepcopy=False)[choice.trial]))
    return choice.trial


class RunHandle:
    """One run on one daemon thread. The thread only writes to the storage and to this object.
    `nice` lowers the thread's priority (the app's runs, so that pages stay responsive).

    Waits go through Events, not Thread.join: on Python 3.11 a join interrupted by Ctrl-C
    leaves the thread looking finished while it still works (the command line's `watch`)."""

    def __init__(self, name: str, storage: BaseStorage, nice: int = 0, **kwargs: Any) -> None:
        self.name, self.storage, self.nice = name, storage, nice
        self.stop_event = threading.Event()
        self.status: RunStatus | None = None
        self.error: str | None = None
        self.started = threading.Event()
        self.done = threading.Event()  # set when the run's work on this thread has ended
        self._kwargs = kwargs
        self.thread = threading.Thread(target=self._target, name=f"run-{name}", daemon=True)

    def _target(self) -> None:
        try:
            lower_priority(self.nice)
            self.started.set()
            self.status = execute(self.name, self.storage, stop=self.stop_event, **self._kwargs)
        except Exception as exc:
            self.status, self.error = RunStatus.FAILED, str(exc)
        finally:
            self.started.set()
            self.done.set()

    def start(self) -> RunHandle:
        self.thread.start()
        return self

    @property
    def alive(self) -> bool:
        """Started and not ended."""
        return self.thread.ident is not None and not self.done.is_set()

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> RunStatus | None:
        if self.thread.ident is None:
            raise RuntimeError(f"Run '{self.name}' was not started: start() it first.")
        self.done.wait(timeout)
        return self.status


def start_run(
    config: RunConfig, storage: BaseStorage | str | None = None, **kwargs: Any
) -> RunHandle:
    """Create the run and start it on a background thread; returns at once."""
    storage = as_storage(storage)
    name = create_run(config, storage)
    return RunHandle(name, storage, **kwargs).start()


class RunManager:
    """Process-wide registry: at most `max_running` runs at once, the rest wait in a queue.

    Submitting or resuming a run that is already running or queued returns the existing entry,
    so reruns and double clicks never start a second worker for one run. The app's runs
    (the defaults) each work as their own niced worker process(es) when the storage has a URL
    (`executor` decides), so the server's pages stay responsive; with in-memory storage, as a
    niced thread. The command line (`run`, `resume`, experiments) passes `nice=0,
    isolate=False`: a run then works on a thread here unless it asks for several workers.
    """

    def __init__(
        self,
        storage: BaseStorage | str | None = None,
        max_running: int = 2,
        nice: int = APP_RUN_NICE,
        isolate: bool = True,
        dask: str | None = None,
    ) -> None:
        self.storage = as_storage(storage)
        self.dask = dask  # the Dask scheduler's address, for runs that work on the cluster
        self.url = storage if isinstance(storage, str) else url_of(self.storage)
        self.max_running = max_running
        self.nice, self.isolate = nice, isolate
        self.lock = threading.Lock()
        self.handles: dict[str, Any] = {}  # name -> what works on it (see `executor`)
        self.queue: deque[str] = deque()
        self.lanes: dict[str, str] = {}  # name -> lane: runs of one lane work one at a time

    def submit(self, config: RunConfig) -> str:
        if config.cluster == "dask":
            self.check_cluster()  # before the run exists: an unreachable cluster leaves nothing
        name = create_run(config, self.storage)
        self.resume(name)
        return name

    def check_cluster(self) -> int:
        """The number of workers of this manager's Dask cluster; ClusterError (a clear message,
        within seconds) when none was named, the scheduler does not answer or has no workers."""
        from tuning.runs import cluster

        if not self.dask:
            raise cluster.ClusterError(
                "This run works on a Dask cluster, but none was named: start the app with "
                f"`streamlit run app.py -- --dask ADDRESS` (or set {cluster.ENV_DASK}), or the "
                "command with --dask ADDRESS; or run it on this machine."
            )
        return cluster.check_workers(cluster.connect(self.dask), self.dask)

    def resume(self, name: str, lane: str | None = None) -> str:
        """Queue `name`; it starts as soon as fewer than `max_running` runs work. Runs queued
        with the same `lane` (an experiment run one after another) work one at a time, in the
        order queued; a run waiting for its lane lets the runs queued after it pass."""
        with self.lock:
            if self._active(name):
                return name
        if StoredRun.open(name, self.storage).config().cluster == "dask":
            self.check_cluster()
        with self.lock:
            if self._active(name):
                return name
            self.queue.append(name)
            if lane is None:
                self.lanes.pop(name, None)
            else:
                self.lanes[name] = lane
        self._pump()
        return name

    def _next(self) -> str | None:
        """The first queued run whose lane has no run working (called with the lock held)."""
        busy = {self.lanes.get(n) for n, h in self.handles.items() if self._working(h)}
        for name in self.queue:
            lane = self.lanes.get(name)
            if lane is None or lane not in busy:
                return name
        return None

    def executor(self, name: str, config: RunConfig) -> Any:
        """What works on the run: the one place that decides how many workers and of which
        kind, for the app and the command line alike (returned unstarted; the same interface:
        start, alive, started, stop, join, status, error).

        - `config.cluster == "dask"`: a ClusterPool of `config.workers` tasks on this manager's
          Dask cluster (one task for a method that trains on threads of one process);
        - a storage without a URL (in memory): a RunHandle, a thread of this process, since no
          other process can open it;
        - a method that trains on threads of one process (population-based training): one
          worker process with `isolate`, else a thread;
        - otherwise `config.workers` worker processes (a WorkerPool) when there are several or
          with `isolate`, else a thread. `isolate` (the app's runs) puts even one worker in its
          own process: run threads in the server's process hold Python's lock against the pages
          (benchmarks/load.py: Home took 21 s with 4 runs as threads, 3.5 s with 4 niced worker
          processes, 2.7 s idle).
        """
        one_process = get_method(config.method).one_process
        if config.cluster == "dask":
            from tuning.runs.cluster import ClusterPool

            n = 1 if one_process else config.workers
            return ClusterPool(
                name, self.storage, self.url, n, str(self.dask), execute, retries=config.retries
            )
        if self.url is None:  # no other process can open it
            n = 0
        elif one_process:
            n = 1 if self.isolate else 0
        else:
            n = config.workers if config.workers > 1 or self.isolate else 0
        if n:
            from tuning.runs.workers import WorkerPool

            return WorkerPool(name, self.url, n, nice=self.nice)
        return RunHandle(name, self.storage, nice=self.nice)

    def _pump(self) -> None:
        with self.lock:
            while self.running_count() < self.max_running and (name := self._next()):
                self.queue.remove(name)
                h = self.executor(name, StoredRun.open(name, self.storage).config())
                self.handles[name] = h
                # The watcher re-pumps when the run ends, so queued runs start without a page visit.
                threading.Thread(target=self._run_then_pump, args=(h,), daemon=True).start()

    def _run_then_pump(self, h: Any) -> None:
        try:
            h.start()
            h.join()
        except Exception as exc:  # it could not start (the storage went away): say why
            h.status, h.error = RunStatus.FAILED, str(exc)
            h.started.set()  # it holds no place any more, and whoever waits for it goes on
        finally:
            self._pump()

    @staticmethod
    def _working(h: Any) -> bool:
        """A started run that has not ended, or one about to start (its watcher thread is
        starting it): either way it holds one of the manager's places."""
        return h.alive or not h.started.is_set()

    def running_count(self) -> int:
        return sum(1 for h in self.handles.values() if self._working(h))

    def queued(self) -> list[str]:
        with self.lock:
            return list(self.queue)

    def _active(self, name: str) -> bool:
        h = self.handles.get(name)
        return (h is not None and self._working(h)) or name in self.queue

    def is_active(self, name: str) -> bool:
        return self._active(name)

    def stop(self, name: str) -> None:
        """Stop a run: dequeue it, stop its thread or workers here, and ask any other process
        working on it (command line, remote workers) to stop too."""
        with self.lock:
            if name in self.queue:
                self.queue.remove(name)
                StoredRun.open(name, self.storage).set_status(
                    RunStatus.STOPPED,
                    "Removed from the queue before it started.",
                )
                return
        h = self.handles.get(name)
        if h is not None:
            h.stop()
        StoredRun.open(name, self.storage).request_stop()

    def stop_all(self) -> None:
        with self.lock:
            self.queue.clear()
        for h in self.handles.values():
            h.stop()

    # -- what the pages and the command line ask of the runs it holds ---------------------------
    def active_names(self) -> list[str]:
        """Runs this process works on (its worker processes or thread) or is about to start."""
        return [n for n, h in list(self.handles.items()) if self._working(h)]

    def stop_requested(self, name: str) -> bool:
        """Whether a Stop was asked for this run's live workers here (by any session)."""
        h = self.handles.get(name)
        return h is not None and h.alive and h.stop_event.is_set()

    def error(self, name: str) -> str | None:
        """Why this process's workers of the run failed (could not start, a worker crashed)."""
        h = self.handles.get(name)
        return None if h is None else h.error

    def settle(self, record: RunRecord) -> list[int]:
        """Mark failed the unfinished trials of a run whose process died (app or worker
        killed), so that readers see them as they are rather than as forever running; Resume
        would do it too. Only for an interrupted run that this process does not work on."""
        if record.status != RunStatus.INTERRUPTED or self.is_active(record.name):
            return []
        retries = record.config.retries if record.config is not None else 0
        return recover_stale_trials(StoredRun.open(record.name, self.storage), retries)

    def delete(self, name: str) -> None:
        """Delete a run that works nowhere; ConfigError when it works here or elsewhere."""
        if self.is_active(name):
            raise ConfigError(f"Run '{name}' is running or queued: stop it before deleting it.")
        if StoredRun.open(name, self.storage).status() == RunStatus.RUNNING:
            raise ConfigError(
                f"Run '{name}' is running in another process (command line or another server): "
                "stop it there before deleting it."
            )
        delete_run(name, self.storage)
