"""Run lifecycle: a run is an Optuna study whose configuration is saved on it as JSON.

create_run() writes the study and its configuration; execute() rebuilds everything from the
storage alone and optimizes (so the app, the command line and remote workers all run the same
way); RunHandle runs execute() on a background thread with a stop event; RunManager caps how
many run at once and queues the rest. Status lives on the study, so other processes can read it.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import math
import os
import re
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from tuning import datasets
from tuning.errors import ConfigError, UserError
from tuning.methods import Budget, MethodSpec, get_method
from tuning.models import ModelSpec, build_pipeline, get_model
from tuning.objective import (
    WORKER,
    Evaluation,
    Scoring,
    StopRequested,
    budget_for,
    make_folds,
    thread_limit,
)
from tuning.space import SearchSpace
from tuning.storage import claim_lock, data_dir, open_storage, url_of, write_error

# Failed trials are recorded with their reason; Optuna would also log each with a traceback.
optuna.logging.set_verbosity(optuna.logging.ERROR)

STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted")
STOPPED_BY_USER = "stopped by user"
# A "running" run, or a worker, whose heartbeat is older than STALE_S was killed.
STALE_S = float(os.environ.get("TUNING_STUDIO_STALE_S") or 60.0)
HEARTBEAT_S = min(10.0, STALE_S / 4)
STOP_POLL_S = min(1.0, HEARTBEAT_S)  # how often a worker looks for a stop from another process
BEATING_S = 2.5 * HEARTBEAT_S  # a worker silent for longer has stopped beating


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to rebuild a run's objective. Saved on the study as JSON."""

    dataset: datasets.DatasetRef
    model: str
    method: str = "tpe"
    space: SearchSpace | None = None  # None: the model's default space
    method_options: dict[str, Any] = field(default_factory=dict)
    n_trials: int | None = 50
    timeout_s: float | None = None
    cv_folds: int = 5
    scoring: str | None = None  # None: accuracy (classification) or r2 (regression)
    seed: int = 0
    test_size: float = 0.2
    grid_points: int = 5
    max_consecutive_failures: int = 10
    n_jobs: int = -1  # threads per model fit (forests, kNN); -1 = all cores
    train_score: bool = True
    fidelity: str = "auto"  # what multi-fidelity methods spend: "auto" (the model's) or "folds"
    retries: int = 0  # times a trial whose worker died is run again
    trial_timeout_s: float | None = None  # a trial still working past this is failed
    workers: int = 1  # local worker processes (1: a thread in the launching process)
    name: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dataset"] = self.dataset.to_dict()
        d["space"] = self.space.to_dict() if self.space else None
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"Unknown run setting(s): {', '.join(sorted(unknown))}.")
        d["dataset"] = datasets.DatasetRef.from_dict(d["dataset"])
        d["space"] = SearchSpace.from_dict(d["space"]) if d.get("space") else None
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls.from_dict(json.loads(text))


@dataclass
class Prepared:
    """A validated configuration with everything resolved: data, split, model, method, scorer."""

    config: RunConfig
    dataset: datasets.Dataset
    split: datasets.Split
    model: ModelSpec
    method: MethodSpec
    scoring: Scoring
    budget: Budget

    @property
    def space(self) -> SearchSpace:
        return self.config.space

    @property
    def direction(self) -> str:
        return self.scoring.direction


def prepare(config: RunConfig) -> Prepared:
    """Validate a configuration against its data; raises UserError with what to change."""
    model = get_model(config.model)
    method = get_method(config.method)
    options = method.validate_options(dict(config.method_options))
    if config.n_trials is None and config.timeout_s is None and not method.enumerates_grid:
        raise ConfigError("Give a budget: a number of trials, a time limit in minutes, or both.")
    if config.n_trials is not None and config.n_trials < 1:
        raise ConfigError(f"The number of trials must be at least 1, got {config.n_trials}.")
    if config.timeout_s is not None and config.timeout_s <= 0:
        raise ConfigError(f"The time limit must be positive, got {config.timeout_s} s.")
    if not 2 <= config.cv_folds <= 20:
        raise ConfigError(f"CV folds must be between 2 and 20, got {config.cv_folds}.")
    if not 0.05 <= config.test_size <= 0.5:
        raise ConfigError(
            f"The test fraction must be between 0.05 and 0.5, got {config.test_size}."
        )
    if config.trial_timeout_s is not None and not config.trial_timeout_s > 0:
        raise ConfigError(
            f"The per-trial time limit must be positive, got {config.trial_timeout_s} s."
        )
    if config.max_consecutive_failures < 1:
        raise ConfigError("The consecutive-failure limit must be at least 1.")
    if not 1 <= config.workers <= 64:
        raise ConfigError(f"Workers must be between 1 and 64, got {config.workers}.")
    if config.retries < 0:
        raise ConfigError(f"Retries cannot be negative, got {config.retries}.")
    if config.n_jobs == 0:
        raise ConfigError("n_jobs must be -1 (all cores) or 1 or more threads, not 0.")
    if config.fidelity not in ("auto", "folds"):
        raise ConfigError(f"fidelity must be 'auto' or 'folds', not '{config.fidelity}'.")
    ds = datasets.load_dataset(config.dataset)
    if not model.supports(ds.task):
        raise ConfigError(
            f"{model.label} does not handle {ds.task}; for this dataset choose one of: "
            f"{', '.join(m for m, s in _models().items() if s.supports(ds.task))}."
        )
    space = (config.space or model.default_space(ds.task)).validate()
    unknown = set(space.names) - set(model.default_space(ds.task).names)
    if unknown:
        raise ConfigError(
            f"{model.label} has no parameter(s) {', '.join(sorted(unknown))}: remove them."
        )
    scoring = Scoring.validated(
        config.scoring or Scoring.default(ds.task), ds.task, len(ds.classes or []) or None
    )
    split = datasets.split(ds, config.test_size, config.seed)
    datasets.check_cv(split.y_train, ds.task, config.cv_folds)
    if method.enumerates_grid:
        size = space.grid_size(config.grid_points)
        if size > 100_000:
            raise ConfigError(
                f"The grid has {size:,} configurations: lower grid points per parameter, "
                "narrow or switch off parameters, or use random search."
            )
    if method.kind == "population":
        from tuning.pbt import check_run

        # A population run's trials are its segments: members x intervals, fixed in advance.
        config = replace(config, n_trials=check_run(space, model, options))
    config = replace(
        config, space=space, scoring=scoring.name, method_options=options, name=config.name
    )
    budget = budget_for(model, space, config.cv_folds, config.fidelity)
    return Prepared(config, ds, split, model, method, scoring, budget)


def _models() -> dict[str, ModelSpec]:
    from tuning.models import REGISTRY

    return REGISTRY


# -- names and status ----------------------------------------------------------------------------
_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_name(name: str) -> str:
    """Run names are shown everywhere and used in file names: keep them to a safe alphabet."""
    clean = _NAME_OK.sub("-", name).strip("-.")[:100]
    if not clean:
        raise ConfigError("A run name needs at least one letter or digit.")
    return clean


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def unique_name(storage: BaseStorage, base: str) -> str:
    existing = {s.study_name for s in storage.get_all_studies()}
    name, i = base, 2
    while name in existing:
        name, i = f"{base}-{i}", i + 1
    return name


def create_run(config: RunConfig, storage: BaseStorage | str | None = None) -> str:
    """Validate, create the study, save the configuration; returns the run's name."""
    storage = _storage(storage)
    prep = prepare(config)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = config.name or f"{config.model}-{config.method}-{config.dataset.label()}-{stamp}"
    name = sanitize_name(base)
    if config.name is None:
        name = unique_name(storage, name)
    elif name in {s.study_name for s in storage.get_all_studies()}:
        raise ConfigError(f"A run named '{name}' already exists: choose another name.")
    for attempt in range(20):
        try:
            study = optuna.create_study(study_name=name, storage=storage, direction=prep.direction)
            break
        except optuna.exceptions.DuplicatedStudyError:
            # Another session or process took the name since we looked (two launches in the
            # same second): a generated name moves on to the next free one.
            if config.name is not None or attempt == 19:
                raise ConfigError(
                    f"A run named '{name}' already exists: choose another name."
                ) from None
            name = unique_name(storage, sanitize_name(base))
        except OSError as exc:
            raise write_error(exc, url_of(storage)) from None
    cfg = replace(prep.config, name=name)
    try:
        # The configuration is written last: a study without it is not a run (pages and the
        # command line skip it), so a write that fails half-way leaves no half-written run.
        study.set_user_attr("created_at", _now())
        study.set_user_attr("status", "queued")
        study.set_user_attr("task", prep.dataset.task)
        study.set_user_attr("scoring", prep.scoring.name)
        study.set_user_attr("budget", asdict(prep.budget))
        if cfg.dataset.name == "csv" and cfg.dataset.path:
            store_dataset(study, cfg.dataset.path)
        if prep.method.enumerates_grid:
            grid = prep.space.grid(cfg.grid_points)
            study.set_user_attr("grid_size", len(grid))
            searched = set(prep.space.distributions())
            for params in grid:  # WAITING trials live in storage: workers and resumes pop them
                study.enqueue_trial({k: v for k, v in params.items() if k in searched})
        study.set_user_attr("config", cfg.to_dict())
    except Exception as exc:
        with contextlib.suppress(Exception):  # best effort: on a full disk this may fail too
            optuna.delete_study(study_name=name, storage=storage)
        if isinstance(exc, OSError):
            raise write_error(exc, url_of(storage)) from None
        raise
    return name


BLOB_CHUNK = 512 * 1024  # characters of base64 per study attribute


def store_dataset(study: optuna.Study, path: str) -> None:
    """Keep an uploaded CSV inside the run's storage (gzip + base64, in chunks), so a worker on
    another machine can rebuild the run from the storage alone; any Optuna storage holds it."""
    raw = Path(path).read_bytes()
    text = base64.b64encode(gzip.compress(raw)).decode("ascii")
    chunks = [text[i : i + BLOB_CHUNK] for i in range(0, len(text), BLOB_CHUNK)] or [""]
    for i, chunk in enumerate(chunks):
        study.set_user_attr(f"dataset_chunk_{i}", chunk)
    study.set_user_attr(
        "dataset_file",
        {"sha256": hashlib.sha256(raw).hexdigest(), "chunks": len(chunks), "name": Path(path).name},
    )


def fetch_dataset(study: optuna.Study, config: RunConfig) -> RunConfig:
    """Point the config at a local copy of the run's CSV, fetched from the storage if needed."""
    meta = study.user_attrs.get("dataset_file")
    if config.dataset.name != "csv" or not meta:
        return config
    path = Path(config.dataset.path or "")
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]:
        return config
    attrs = study.user_attrs
    text = "".join(attrs[f"dataset_chunk_{i}"] for i in range(meta["chunks"]))
    raw = gzip.decompress(base64.b64decode(text))
    local = data_dir() / "uploads" / f"{meta['sha256']}.csv"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(raw)
    return replace(config, dataset=replace(config.dataset, path=str(local)))


def load_config(name: str, storage: BaseStorage | str | None = None) -> RunConfig:
    return config_of(load_study(name, storage))


def config_of(study: optuna.Study) -> RunConfig:
    """The run's configuration; a study without one is not a (complete) Tuning Studio run."""
    saved = study.user_attrs.get("config")
    if saved is None:
        raise ConfigError(
            f"'{study.study_name}' is not a Tuning Studio run: it has no saved configuration "
            "(another tool made it, or its creation was cut short). Delete it or pick a run "
            "from `python -m tuning list`."
        )
    return RunConfig.from_dict(saved)


def load_study(name: str, storage: BaseStorage | str | None = None) -> optuna.Study:
    storage = _storage(storage)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in storage.get_all_studies()]
        hint = f" Runs: {', '.join(names[-5:])}." if names else " There are no runs yet."
        raise ConfigError(f"No run named '{name}'.{hint}") from None


def run_status(attrs: dict[str, Any], now: float | None = None) -> str:
    status = attrs.get("status", "queued")
    if status == "running":
        beat = attrs.get("heartbeat")
        if beat is not None and (now or time.time()) - beat > STALE_S:
            return "interrupted"
    return status


def _set_status(study: optuna.Study, status: str, message: str | None = None) -> None:
    study.set_user_attr("status", status)
    if message is not None:
        study.set_user_attr("message", message)
    if status in ("finished", "stopped", "failed"):
        study.set_user_attr("ended_at", _now())


def delete_run(name: str, storage: BaseStorage | str | None = None) -> None:
    storage = _storage(storage)
    load_study(name, storage)  # clear error if missing
    optuna.delete_study(study_name=name, storage=storage)


def _storage(storage: BaseStorage | str | None) -> BaseStorage:
    return storage if isinstance(storage, BaseStorage) else open_storage(storage)


# -- executing -----------------------------------------------------------------------------------
def counted(trials: Iterable[FrozenTrial]) -> int:
    """Trials that used budget: finished ones, except those cut short by a Stop and those
    whose worker died and that were queued again (their retry counts instead)."""
    n = 0
    for t in trials:
        if t.state.is_finished():
            m = t.user_attrs.get("metrics") or {}
            n += m.get("fail_reason") != STOPPED_BY_USER and not m.get("retried")
    return n


class BudgetSpent(Exception):
    """Raised when a worker asks for a trial after the run's trial budget is fully claimed."""


def worker_key(worker: str = WORKER) -> str:
    return f"worker:{worker}"


def live_workers(
    attrs: dict[str, Any], now: float | None = None, window: float | None = None
) -> dict[str, dict]:
    """Workers whose heartbeat is fresh and who have not signed off.

    The default window (STALE_S) is the patient one, for failing another worker's trials; who
    sets a run's final status asks with BEATING_S, so a worker killed half a minute ago does not
    keep the run "running" until its heartbeat is a minute old.
    """
    now = now or time.time()
    window = STALE_S if window is None else window
    return {
        k[len("worker:") :]: v
        for k, v in attrs.items()
        if k.startswith("worker:") and not v.get("done") and now - v.get("ts", 0) <= window
    }


class _Heartbeat:
    """Background thread of one worker: beats (so readers can tell a killed run), lists the
    trials it is running (so others can fail the trials of a dead worker), and turns a stop
    requested from another process (the dashboard, `python -m tuning stop`) into `stop`."""

    def __init__(self, study: optuna.Study, stop: threading.Event) -> None:
        self.study, self.stop, self.done = study, stop, threading.Event()
        self.running: set[int] = set()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def beat(self, done: bool = False) -> None:
        now = time.time()
        entry = {"ts": now, "trials": sorted(self.running), "done": done, "started": self.started}
        self.study.set_user_attr(worker_key(), entry)
        self.study.set_user_attr("heartbeat", now)

    def _beat(self) -> None:
        last = 0.0
        while not self.done.is_set():
            # A storage hiccup must not kill the run; the next beat retries.
            with contextlib.suppress(Exception):
                if time.time() - last >= HEARTBEAT_S:
                    self.beat()
                    last = time.time()
                if self.study.user_attrs.get("stop_requested"):
                    self.stop.set()
            self.done.wait(STOP_POLL_S)

    def __enter__(self) -> _Heartbeat:
        self.started = time.time()
        self.beat()
        try:
            self.thread.start()
        except BaseException:  # no thread (out of memory): sign off, or the run looks alive
            with contextlib.suppress(Exception):
                self.beat(done=True)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(5)
        with contextlib.suppress(Exception):
            self.beat(done=True)


def request_stop(name: str, storage: BaseStorage | str | None = None) -> None:
    """Ask every worker of a run, in any process, to stop within a fold or epoch."""
    load_study(name, storage).set_user_attr("stop_requested", True)


def clear_stop_request(study: optuna.Study) -> None:
    """Drop the stop request an earlier Stop left, unless workers that got it are still
    finishing: (re)starting a run is a resume."""
    if study.user_attrs.get("stop_requested") and not live_workers(
        study.user_attrs, window=BEATING_S
    ):
        study.set_user_attr("stop_requested", False)


def recover_stale_trials(
    study: optuna.Study, retries: int = 0, now: float | None = None
) -> list[int]:
    """Mark as failed the RUNNING trials that no live worker claims (their worker was killed).

    Journal storages have no heartbeat of their own (RDB storages do, via Optuna), so each
    worker lists its running trials in its heartbeat; a trial older than STALE_S that no fresh
    heartbeat lists belongs to a dead worker. With `retries`, its parameters are queued again.
    """
    now = now or time.time()
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return []
    attrs = study.user_attrs
    claimed = {n for w in live_workers(attrs, now).values() for n in w.get("trials", [])}
    failed = []
    for t in running:
        started = t.datetime_start.timestamp() if t.datetime_start else now
        if t.number in claimed or now - started <= STALE_S:
            continue
        reason = "its worker stopped responding (killed or crashed) before the trial finished"
        tries = int(t.user_attrs.get("retry", 0))
        retry = tries < retries and bool(t.params)
        try:
            metrics = {
                **(t.user_attrs.get("metrics") or {}),
                "fail_reason": reason,
                "retried": retry,
            }
            study._storage.set_trial_user_attr(t._trial_id, "metrics", metrics)
            if not study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # it finished after all
        failed.append(t.number)
        if retry:
            study.enqueue_trial(
                dict(t.params), user_attrs={"retry": tries + 1, "retry_of": t.number}
            )
    return failed


def _claim_trials(study: optuna.Study, n_trials: int | None, grid: bool) -> None:
    """Make trial creation respect the run's budget exactly, across every worker.

    Optuna's optimize() creates a trial whenever no WAITING one is queued, so two workers that
    both see budget left would overshoot it. We wrap the queue pop that ask() calls: under a
    lock shared by all workers (storage.claim_lock), pop a queued trial or create one only while
    the budget allows, else raise BudgetSpent, which ends optimize().
    """
    storage = study._storage
    # Finished trials never change, so the finished prefix is counted once; re-counting every
    # trial on every claim made the bookkeeping grow with the run (0.9 ms a trial at 500).
    prefix = {"n": 0, "counted": 0}

    def unfinished(trials: list[FrozenTrial]) -> list[FrozenTrial]:
        i = prefix["n"]
        while i < len(trials) and trials[i].state.is_finished():
            i += 1
        prefix["counted"] += counted(trials[prefix["n"] : i])
        prefix["n"] = i
        return trials[i:]

    def claim() -> int:
        with claim_lock(storage, study.study_name):
            # One read serves both the queue pop and the budget count (it was two reads).
            tail = unfinished(storage.get_all_trials(study._study_id, deepcopy=False))
            for t in tail:  # Optuna 5.0's _pop_waiting_trial_id, on the list already read
                if t.state != TrialState.WAITING:
                    continue
                try:
                    if storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                        return t._trial_id
                except optuna.exceptions.UpdateFinishedTrialError:
                    continue
            if grid:
                raise BudgetSpent()
            if n_trials is not None:
                running = sum(t.state == TrialState.RUNNING for t in tail)
                if prefix["counted"] + counted(tail) + running >= n_trials:
                    raise BudgetSpent()
            return storage.create_new_trial(study._study_id)

    study._pop_waiting_trial_id = claim


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
) -> str:
    """Run (or resume, or join as one more worker) `name` until its budget is spent or `stop`
    is set; returns the status. Everything is rebuilt from the storage, so this is also what
    a worker process runs. `objective` replaces the cross-validated evaluation (benchmarks use
    a trivial one); `max_trials` caps this worker's share; `n_jobs` overrides threads per fit.
    `clear_stop`: starting is a resume, which drops the stop request an earlier Stop left;
    a pool's workers keep it instead (the pool cleared it, so a request now is a new Stop).
    """
    storage = _storage(storage)
    stop = stop or threading.Event()
    study = load_study(name, storage)
    config = config_of(study)
    try:
        config = fetch_dataset(study, config)
        prep = prepare(config)
    except UserError as exc:
        _set_status(study, "failed", str(exc))
        raise
    recover_stale_trials(study, config.retries)
    if clear_stop:
        clear_stop_request(study)
    if study.user_attrs.get("stop_requested"):
        stop.set()  # asked to stop before this worker began
    if prep.method.kind == "population":  # the method drives training and records itself
        return prep.method.run(study, prep, stop)
    grid = prep.method.enumerates_grid
    trials = study.get_trials(deepcopy=False)
    waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    if grid:
        _requeue_stopped_grid_trials(study, trials)
        trials = study.get_trials(deepcopy=False)
        waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    left = (
        waiting
        if grid
        else (None if config.n_trials is None else config.n_trials - counted(trials))
    )
    elapsed_before = float(study.user_attrs.get("elapsed_s", 0.0))
    timeout = None if config.timeout_s is None else max(0.0, config.timeout_s - elapsed_before)
    if left == 0 or timeout == 0:
        if live_workers(study.user_attrs, window=BEATING_S):
            return "finished"  # the last of the other workers sets the status
        last = None if _has_complete(study) else _last_failure(study)
        if last:
            _set_status(study, "failed", f"No trial completed; the last one failed with: {last}")
            return "failed"
        _set_status(study, "finished", "The budget is spent.")
        return "finished"

    # Each worker and each resume seeds by the run's progress and its own identity, so none
    # replays another's draws; a fresh run with one worker is reproducible from `seed`.
    offset = len(trials) - waiting
    study.sampler = prep.method.sampler(config.seed + offset, config.method_options)
    study.pruner = prep.method.pruner(prep.budget, config.method_options)
    _claim_trials(study, config.n_trials, grid)
    heart = _Heartbeat(study, stop)
    if objective is None:
        objective = Evaluation(
            model=prep.model, space=prep.space, task=prep.dataset.task,
            X=prep.split.X_train, y=prep.split.y_train,
            folds=make_folds(prep.split.y_train, prep.dataset.task, config.cv_folds, config.seed),
            scoring=prep.scoring, budget=prep.budget, seed=config.seed,
            n_jobs=config.n_jobs if n_jobs is None else n_jobs,
            train_score=config.train_score, stop=stop, trial_timeout_s=config.trial_timeout_s,
        )  # fmt: skip
    inner = objective

    failures = {"row": 0, "message": None, "checked": time.time()}

    def guard(reason: str | None) -> None:
        """After each trial: honour Stop, count failures in a row, look for dead workers.

        Called from the objective wrapper rather than as an Optuna callback, because Optuna
        re-reads and deep-copies the trial for every callback (a third of the runner's own
        cost per trial).
        """
        if stop.is_set():
            study.stop()
            return
        if reason is not None and reason != STOPPED_BY_USER:
            failures["row"] += 1
            if failures["row"] >= config.max_consecutive_failures:
                failures["message"] = (
                    f"{failures['row']} trials failed in a row; the last said: {reason}. "
                    "Check the data and the search space (e.g. narrow extreme ranges)."
                )
                study.stop()
        else:
            failures["row"] = 0
        if time.time() - failures["checked"] > STALE_S:  # other workers may have died
            failures["checked"] = time.time()
            with contextlib.suppress(Exception):  # a storage hiccup must not fail this trial
                recover_stale_trials(study, config.retries)

    def tracked(trial: optuna.Trial) -> float:
        heart.running.add(trial.number)  # in memory only: the next heartbeat publishes it
        reason = None  # why the trial failed, as the objective records it; None: it did not
        try:
            value = inner(trial)
            try:
                nan = math.isnan(float(value))
            except (TypeError, ValueError):
                nan = True
            if nan:
                reason = f"the objective returned {value!r}"  # Optuna fails the trial too
            return value
        except optuna.TrialPruned:
            raise
        except StopRequested:
            reason = STOPPED_BY_USER
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            guard(reason)  # while the trial is still listed as ours: stale-trial recovery skips it
            heart.running.discard(trial.number)

    if stop.is_set() and not live_workers(study.user_attrs, window=BEATING_S):
        _set_status(study, "stopped", "Stopped by the user before it started; resume to continue.")
        return "stopped"
    _set_status(study, "running")
    if "started_at" not in study.user_attrs:
        study.set_user_attr("started_at", _now())
    t0 = time.time()
    status, message = "finished", "The budget is spent."
    try:
        with heart:
            study.optimize(
                tracked,
                n_trials=max_trials,
                timeout=timeout,
                callbacks=list(callbacks) or None,
                catch=(Exception,),
                gc_after_trial=False,
            )
    except BudgetSpent:
        pass
    except Exception as exc:  # the storage or sampler failed: the run cannot go on
        status, message = "failed", f"The run stopped on an error: {type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):  # concurrent workers: the longest session counts
            elapsed = max(
                float(study.user_attrs.get("elapsed_s", 0.0)), elapsed_before + time.time() - t0
            )
            study.set_user_attr("elapsed_s", elapsed)
    if status != "failed":
        if failures["message"]:
            status, message = "failed", failures["message"]
        elif stop.is_set():
            status, message = "stopped", "Stopped by the user; resume to continue."
        elif not _has_complete(study) and (last := _last_failure(study)):
            status, message = "failed", f"No trial completed; the last one failed with: {last}"
        elif max_trials is not None and not _budget_spent(study, config, grid):
            status, message = (
                "stopped",
                f"This worker ran its {max_trials} trials; the run has budget left.",
            )
    if grid and stop.is_set():
        _requeue_stopped_grid_trials(study, study.get_trials(deepcopy=False))
    if live_workers(study.user_attrs, window=BEATING_S):
        return status  # other workers go on; the last one to finish refits and sets the status
    if refit:
        try:
            refit_best(study, prep)
        except Exception as exc:  # a failed refit must not lose the finished search
            study.set_user_attr("test", {"error": f"{type(exc).__name__}: {exc}"})
    _set_status(study, status, message)
    return status


def _budget_spent(study: optuna.Study, config: RunConfig, grid: bool) -> bool:
    trials = study.get_trials(deepcopy=False)
    if grid:
        return not any(t.state == TrialState.WAITING for t in trials)
    return config.n_trials is not None and counted(trials) >= config.n_trials


def _requeue_stopped_grid_trials(study: optuna.Study, trials: list[FrozenTrial]) -> None:
    """A grid trial cut short by Stop goes back in the queue, so the grid stays complete."""
    done = set(study.user_attrs.get("requeued", []))
    todo = [
        t for t in trials
        if t.state == TrialState.FAIL and t.number not in done
        and (t.user_attrs.get("metrics") or {}).get("fail_reason") == STOPPED_BY_USER
    ]  # fmt: skip
    for t in todo:
        study.enqueue_trial(dict(t.params))
    if todo:
        study.set_user_attr("requeued", sorted(done | {t.number for t in todo}))


def _last_failure(study: optuna.Study) -> str | None:
    for t in reversed(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))):
        reason = (t.user_attrs.get("metrics") or {}).get("fail_reason")
        if reason != STOPPED_BY_USER:
            # No recorded reason: Optuna's RDB heartbeat failed it because its worker died.
            return reason or "no reason recorded (its worker probably died)"
    return None


def _has_complete(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def best_params(study: optuna.Study, space: SearchSpace) -> tuple[FrozenTrial, dict[str, Any]]:
    best = study.best_trial
    params = space.complete(best.params)
    return best, params


def refit_best(study: optuna.Study, prep: Prepared) -> dict[str, Any] | None:
    """Refit the best configuration on all training data and score it once on the test part."""
    if not _has_complete(study):
        return None
    best, params = best_params(study, prep.space)
    metrics = best.user_attrs.get("metrics") or {}
    if prep.model.budget == "epochs" and metrics.get("best_epoch"):
        params[prep.model.budget_param] = int(metrics["best_epoch"])
    pipe = build_pipeline(
        prep.model, params, prep.dataset.task, prep.config.seed, prep.config.n_jobs
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings(), thread_limit(prep.config.n_jobs):
        warnings.simplefilter("ignore")  # as in the trials: no deprecation chatter on the console
        pipe.fit(prep.split.X_train, prep.split.y_train)
        seconds = time.perf_counter() - t0
        score = prep.scoring(pipe, prep.split.X_test, prep.split.y_test)
    test = {
        "score": float(score) if np.isfinite(score) else None,
        "trial": best.number,
        "params": params,
        "refit_seconds": round(seconds, 3),
        "n_train": len(prep.split.y_train),
        "n_test": len(prep.split.y_test),
    }
    study.set_user_attr("test", test)
    return test


# -- background runs -----------------------------------------------------------------------------
# How much lower than the pages the app's runs are scheduled (nice steps). On 2 cores, four
# CPU-bound runs at equal priority made a page take 10x longer to render; a niced run only
# yields the cores while a page is working, so it costs the run next to nothing otherwise.
APP_RUN_NICE = int(os.environ.get("TUNING_STUDIO_RUN_NICE", "10"))


def lower_priority(nice: int, pid: int | None = None) -> None:
    """Raise the nice value of the calling thread (Linux schedules threads one by one, and the
    threads it starts inherit it) or of process `pid` by `nice` steps. Best effort.

    Linux (autogroup) first shares the CPU between sessions, and a nice value counts only
    against processes of the same session. So for a process that leads its own session (the
    app's worker processes) the session's nice is set too: the runs then yield to the server
    and to everything else on the machine, not only to the server's threads."""
    if nice <= 0:
        return
    who = threading.get_native_id() if pid is None else pid
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or the process is gone
        os.setpriority(os.PRIO_PROCESS, who, os.getpriority(os.PRIO_PROCESS, who) + nice)
        if pid is not None and os.getsid(pid) == pid:
            Path(f"/proc/{pid}/autogroup").write_text(str(min(nice, 19)))


def worker_processes(config: dict[str, Any], url: str | None, isolate: bool = False) -> int:
    """How many local worker processes a run (its stored config) works as; 0 means a thread of
    this process. Several workers are processes whenever they can reopen the storage by URL.
    `isolate` (the app's runs) puts even one worker in its own process: run threads in the
    server's process hold Python's lock against the pages (benchmarks/load.py: Home took 21 s
    with 4 runs as threads, 3.5 s with 4 niced worker processes, 2.7 s idle). Population
    methods train their members on threads of one process."""
    if url is None:  # in-memory storage: no other process can open it
        return 0
    if get_method(config["method"]).kind == "population":
        return 1 if isolate else 0
    n = int(config.get("workers", 1))
    return n if n > 1 or isolate else 0


class RunHandle:
    """One run on one daemon thread. The thread only writes to the storage and to this object.
    `nice` lowers the thread's priority (the app's runs, so that pages stay responsive)."""

    def __init__(self, name: str, storage: BaseStorage, nice: int = 0, **kwargs: Any) -> None:
        self.name, self.storage, self.nice = name, storage, nice
        self.stop_event = threading.Event()
        self.status: str | None = None
        self.error: str | None = None
        self.started = threading.Event()
        self._kwargs = kwargs
        self.thread = threading.Thread(target=self._target, name=f"run-{name}", daemon=True)

    def _target(self) -> None:
        lower_priority(self.nice)
        self.started.set()
        try:
            self.status = execute(self.name, self.storage, stop=self.stop_event, **self._kwargs)
        except Exception as exc:
            self.status, self.error = "failed", str(exc)

    def start(self) -> RunHandle:
        self.thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> str | None:
        self.thread.join(timeout)
        return self.status


def start_run(
    config: RunConfig, storage: BaseStorage | str | None = None, **kwargs: Any
) -> RunHandle:
    """Create the run and start it on a background thread; returns at once."""
    storage = _storage(storage)
    name = create_run(config, storage)
    return RunHandle(name, storage, **kwargs).start()


class RunManager:
    """Process-wide registry: at most `max_running` runs at once, the rest wait in a queue.

    Submitting or resuming a run that is already running or queued returns the existing entry,
    so reruns and double clicks never start a second worker for one run. Each run works as
    its own niced worker process(es) when the storage has a URL (see worker_processes), so
    the server's pages stay responsive; with in-memory storage, as a niced thread.
    """

    def __init__(self, storage: BaseStorage | str | None = None, max_running: int = 2) -> None:
        self.storage = _storage(storage)
        self.url = storage if isinstance(storage, str) else url_of(self.storage)
        self.max_running = max_running
        self.lock = threading.Lock()
        self.handles: dict[str, Any] = {}  # name -> RunHandle | WorkerPool
        self.queue: deque[str] = deque()

    def submit(self, config: RunConfig) -> str:
        name = create_run(config, self.storage)
        self.resume(name)
        return name

    def resume(self, name: str) -> str:
        with self.lock:
            if self._active(name):
                return name
            self.queue.append(name)
        self._pump()
        return name

    def _pump(self) -> None:
        with self.lock:
            while self.queue and self.running_count() < self.max_running:
                name = self.queue.popleft()
                config = load_study(name, self.storage).user_attrs["config"]
                n = worker_processes(config, self.url, isolate=True)
                if n:
                    from tuning.workers import WorkerPool

                    h: Any = WorkerPool(name, self.url, n, nice=APP_RUN_NICE)
                else:
                    h = RunHandle(name, self.storage, nice=APP_RUN_NICE)
                self.handles[name] = h
                # The watcher re-pumps when the run ends, so queued runs start without a page visit.
                threading.Thread(target=self._run_then_pump, args=(h,), daemon=True).start()

    def _run_then_pump(self, h: Any) -> None:
        try:
            h.start()
            h.join()
        finally:
            self._pump()

    def running_count(self) -> int:
        return sum(1 for h in self.handles.values() if h.alive or not h.started.is_set())

    def queued(self) -> list[str]:
        with self.lock:
            return list(self.queue)

    def _active(self, name: str) -> bool:
        h = self.handles.get(name)
        return (h is not None and (h.alive or not h.started.is_set())) or name in self.queue

    def is_active(self, name: str) -> bool:
        return self._active(name)

    def stop(self, name: str) -> None:
        """Stop a run: dequeue it, stop its thread or workers here, and ask any other process
        working on it (command line, remote workers) to stop too."""
        with self.lock:
            if name in self.queue:
                self.queue.remove(name)
                _set_status(
                    load_study(name, self.storage),
                    "stopped",
                    "Removed from the queue before it started.",
                )
                return
        h = self.handles.get(name)
        if h is not None:
            h.stop()
        request_stop(name, self.storage)

    def stop_all(self) -> None:
        with self.lock:
            self.queue.clear()
        for h in self.handles.values():
            h.stop()
