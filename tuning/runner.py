"""Run lifecycle: a run is an Optuna study whose configuration is saved on it as JSON.

create_run() writes the study and its configuration; execute() rebuilds everything from the
storage alone and optimizes (so the app, the command line and remote workers all run the same
way); RunHandle runs execute() on a background thread with a stop event; RunManager caps how
many run at once and queues the rest. Status lives on the study, so other processes can read it.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from tuning import datasets
from tuning.errors import ConfigError, UserError
from tuning.methods import Budget, MethodSpec, get_method
from tuning.models import ModelSpec, build_pipeline, get_model
from tuning.objective import Evaluation, Scoring, budget_for, make_folds
from tuning.space import SearchSpace
from tuning.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted")
STOPPED_BY_USER = "stopped by user"
HEARTBEAT_S = 10.0
STALE_S = 60.0  # a "running" run whose heartbeat is older than this was killed: interrupted


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
        raise ConfigError(f"The test fraction must be between 0.05 and 0.5, got {config.test_size}.")
    if config.max_consecutive_failures < 1:
        raise ConfigError("The consecutive-failure limit must be at least 1.")
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
    study = optuna.create_study(study_name=name, storage=storage, direction=prep.direction)
    cfg = replace(prep.config, name=name)
    study.set_user_attr("config", cfg.to_dict())
    study.set_user_attr("created_at", _now())
    study.set_user_attr("status", "queued")
    study.set_user_attr("task", prep.dataset.task)
    study.set_user_attr("scoring", prep.scoring.name)
    study.set_user_attr("budget", asdict(prep.budget))
    if prep.method.enumerates_grid:
        grid = prep.space.grid(cfg.grid_points)
        study.set_user_attr("grid_size", len(grid))
        searched = set(prep.space.distributions())
        for params in grid:  # WAITING trials live in storage: workers and resumes pop them
            study.enqueue_trial({k: v for k, v in params.items() if k in searched})
    return name


def load_config(name: str, storage: BaseStorage | str | None = None) -> RunConfig:
    study = load_study(name, storage)
    return RunConfig.from_dict(study.user_attrs["config"])


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
    """Trials that used budget: finished ones, except those cut short by a Stop."""
    return sum(
        1
        for t in trials
        if t.state.is_finished()
        and (t.user_attrs.get("metrics") or {}).get("fail_reason") != STOPPED_BY_USER
    )


class _Heartbeat:
    """Writes a timestamp on the study every few seconds, so readers can tell a killed run."""

    def __init__(self, study: optuna.Study) -> None:
        self.study, self.done = study, threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def _beat(self) -> None:
        while True:
            # A storage hiccup must not kill the run; the next beat retries.
            with contextlib.suppress(Exception):
                self.study.set_user_attr("heartbeat", time.time())
            if self.done.wait(HEARTBEAT_S):
                return

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()


def execute(
    name: str,
    storage: BaseStorage | str | None = None,
    stop: threading.Event | None = None,
    callbacks: Iterable[Callable[[optuna.Study, FrozenTrial], None]] = (),
    objective: Callable[[optuna.Trial], float] | None = None,
    refit: bool = True,
) -> str:
    """Run (or resume) `name` until its budget is spent or `stop` is set; returns the status.

    Everything is rebuilt from the storage, so this is also what a worker process runs.
    `objective` replaces the cross-validated evaluation (benchmarks use a trivial one).
    """
    storage = _storage(storage)
    stop = stop or threading.Event()
    study = load_study(name, storage)
    config = RunConfig.from_dict(study.user_attrs["config"])
    try:
        prep = prepare(config)
    except UserError as exc:
        _set_status(study, "failed", str(exc))
        raise
    trials = study.get_trials(deepcopy=False)
    done = counted(trials)
    waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    if prep.method.enumerates_grid:
        remaining = waiting
    else:
        remaining = None if config.n_trials is None else max(0, config.n_trials - done)
    elapsed_before = float(study.user_attrs.get("elapsed_s", 0.0))
    timeout = None if config.timeout_s is None else max(0.0, config.timeout_s - elapsed_before)
    if remaining == 0 or timeout == 0:
        _set_status(study, "finished", "The budget is spent.")
        return "finished"

    # A resumed run reseeds by its progress, so it does not replay the first run's draws.
    study.sampler = prep.method.sampler(config.seed + len(trials) - waiting, config.method_options)
    study.pruner = prep.method.pruner(prep.budget, config.method_options)
    if objective is None:
        objective = Evaluation(
            model=prep.model, space=prep.space, task=prep.dataset.task,
            X=prep.split.X_train, y=prep.split.y_train,
            folds=make_folds(prep.split.y_train, prep.dataset.task, config.cv_folds, config.seed),
            scoring=prep.scoring, budget=prep.budget, seed=config.seed, n_jobs=config.n_jobs,
            train_score=config.train_score, stop=stop,
        )  # fmt: skip

    failures = {"row": 0, "message": None}

    def guard(study: optuna.Study, trial: FrozenTrial) -> None:
        if stop.is_set():
            study.stop()
            return
        reason = (trial.user_attrs.get("metrics") or {}).get("fail_reason")
        if trial.state == TrialState.FAIL and reason != STOPPED_BY_USER:
            failures["row"] += 1
            if failures["row"] >= config.max_consecutive_failures:
                failures["message"] = (
                    f"{failures['row']} trials failed in a row; the last said: {reason}. "
                    "Check the data and the search space (e.g. narrow extreme ranges)."
                )
                study.stop()
        else:
            failures["row"] = 0
        shares_budget = config.n_trials is not None and not prep.method.enumerates_grid
        if shares_budget and counted(study.get_trials(deepcopy=False)) >= config.n_trials:
            study.stop()  # other workers share the budget

    _set_status(study, "running")
    if "started_at" not in study.user_attrs:
        study.set_user_attr("started_at", _now())
    t0 = time.time()
    status, message = "finished", "The budget is spent."
    try:
        with _Heartbeat(study):
            study.optimize(
                objective,
                n_trials=remaining,
                timeout=timeout,
                callbacks=[guard, *callbacks],
                catch=(Exception,),
                gc_after_trial=False,
            )
    except Exception as exc:  # the storage or sampler failed: the run cannot go on
        status, message = "failed", f"The run stopped on an error: {type(exc).__name__}: {exc}"
    finally:
        study.set_user_attr("elapsed_s", elapsed_before + time.time() - t0)
    if status != "failed":
        if failures["message"]:
            status, message = "failed", failures["message"]
        elif stop.is_set():
            status, message = "stopped", "Stopped by the user; resume to continue."
    if refit:
        try:
            refit_best(study, prep)
        except Exception as exc:  # a failed refit must not lose the finished search
            study.set_user_attr("test", {"error": f"{type(exc).__name__}: {exc}"})
    _set_status(study, status, message)
    return status


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
    pipe = build_pipeline(prep.model, params, prep.dataset.task, prep.config.seed, prep.config.n_jobs)
    t0 = time.perf_counter()
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
class RunHandle:
    """One run on one daemon thread. The thread only writes to the storage and to this object."""

    def __init__(self, name: str, storage: BaseStorage, **kwargs: Any) -> None:
        self.name, self.storage = name, storage
        self.stop_event = threading.Event()
        self.status: str | None = None
        self.error: str | None = None
        self.started = threading.Event()
        self._kwargs = kwargs
        self.thread = threading.Thread(target=self._target, name=f"run-{name}", daemon=True)

    def _target(self) -> None:
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


def start_run(config: RunConfig, storage: BaseStorage | str | None = None, **kwargs: Any) -> RunHandle:
    """Create the run and start it on a background thread; returns at once."""
    storage = _storage(storage)
    name = create_run(config, storage)
    return RunHandle(name, storage, **kwargs).start()


class RunManager:
    """Process-wide registry: at most `max_running` runs at once, the rest wait in a queue.

    Submitting or resuming a run that is already running or queued returns the existing entry,
    so reruns and double clicks never start a second thread for one run.
    """

    def __init__(self, storage: BaseStorage | str | None = None, max_running: int = 2) -> None:
        self.storage = _storage(storage)
        self.max_running = max_running
        self.lock = threading.Lock()
        self.handles: dict[str, RunHandle] = {}
        self.queue: deque[str] = deque()
        self._stopped_queued: set[str] = set()

    def submit(self, config: RunConfig) -> str:
        name = create_run(config, self.storage)
        self.resume(name)
        return name

    def resume(self, name: str) -> str:
        with self.lock:
            h = self.handles.get(name)
            if (h is not None and h.alive) or name in self.queue:
                return name
            self.queue.append(name)
            self._stopped_queued.discard(name)
        self._pump()
        return name

    def _pump(self) -> None:
        with self.lock:
            while self.queue and self.running_count() < self.max_running:
                name = self.queue.popleft()
                h = RunHandle(name, self.storage)
                self.handles[name] = h
                # The thread re-pumps when it ends, so queued runs start without a page visit.
                threading.Thread(target=self._run_then_pump, args=(h,), daemon=True).start()

    def _run_then_pump(self, h: RunHandle) -> None:
        h.start()
        h.thread.join()
        self._pump()

    def running_count(self) -> int:
        return sum(1 for h in self.handles.values() if h.alive or not h.started.is_set())

    def queued(self) -> list[str]:
        with self.lock:
            return list(self.queue)

    def is_active(self, name: str) -> bool:
        h = self.handles.get(name)
        return (h is not None and (h.alive or not h.started.is_set())) or name in self.queue

    def stop(self, name: str) -> None:
        with self.lock:
            if name in self.queue:
                self.queue.remove(name)
                self._stopped_queued.add(name)
                study = load_study(name, self.storage)
                _set_status(study, "stopped", "Removed from the queue before it started.")
                return
        h = self.handles.get(name)
        if h is not None:
            h.stop()

    def stop_all(self) -> None:
        with self.lock:
            self.queue.clear()
        for h in self.handles.values():
            h.stop()
