"""The stored run: the one code that reads and writes the attributes of a Tuning Studio study.

A run is an Optuna study whose configuration and life cycle live in the study's user
attributes. `StoredRun` is their one owner: every write is a typed method, every key a named
constant below (as Optuna's samplers name theirs), so a new capability adds a method here
instead of a fifth `set_user_attr` elsewhere. The trial-side companion is `tuning.store.trials`.
The keys are the ones runs have always had: runs stored by earlier versions read the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, replace
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from tuning.core.budget import Budget
from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus, Task
from tuning.core.errors import ConfigError
from tuning.store import blob, compat, notes
from tuning.store.origin import GRID, Origin
from tuning.store.records import Baseline, GridLevel, RunRecord, TestResult
from tuning.store.runs import (
    BEATING_S,
    STALE_S,
    as_storage,
    now_iso,
    run_status,
    worker_key,
)
from tuning.store.storage import claim_lock
from tuning.store.trials import (
    LIBRARY_DEFAULTS,
    WARM_START,
    origin_attrs,
    requeue_attrs,
    worker_name,
)

# The study's user attributes (the storage format).
CONFIG = "config"
CREATED_AT = "created_at"
STARTED_AT = "started_at"
ENDED_AT = "ended_at"
STATUS = "status"
MESSAGE = "message"
TASK = "task"
SCORING = "scoring"
BUDGET = "budget"
ELAPSED_S = "elapsed_s"
HEARTBEAT = "heartbeat"
STOP_REQUESTED = "stop_requested"
FLAT_STOP = "flat_stop"  # why the stop advisor ended the run (its stop request's reason)
TEST = "test"
TEST_TOP = "test_top"
BASELINE = "baseline"  # the library defaults as the run's baseline (records.Baseline)
TEST_DEFAULTS = "test_defaults"  # the defaults refit and scored once on the test part
CHOICE = "choice"
RECOMMENDATION = "recommendation"  # what "Recommended" chose: method, options, reason
GRID_SIZE = "grid_size"
REQUEUED = "requeued"
WARM_START_ATTR = "warm_start"  # where a warm start's queued trials came from
EXPERIMENT = "experiment"
GRID_LEVEL = "grid_level"  # an experiment grid member's best, rescored with other model seeds
WORKER_PREFIX = "worker:"


class StoredRun:
    """One run's study, read and written through typed methods.

    Reads go to the storage each time (another process may have written since); a caller that
    needs several values of one moment reads `attrs` once.
    """

    def __init__(self, study: optuna.Study) -> None:
        self.study = study

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, name: str, storage: BaseStorage | str | None = None) -> StoredRun:
        storage = as_storage(storage)
        try:
            return cls(optuna.load_study(study_name=name, storage=storage))
        except KeyError:
            names = [s.study_name for s in storage.get_all_studies()]
            hint = f" Runs: {', '.join(names[-5:])}." if names else " There are no runs yet."
            raise ConfigError(f"No run named '{name}'.{hint}") from None

    @property
    def name(self) -> str:
        return self.study.study_name

    @property
    def storage(self) -> BaseStorage:
        return compat.storage_of(self.study)

    @property
    def attrs(self) -> dict[str, Any]:
        """The study's attributes as stored now (a fresh read)."""
        return self.study.user_attrs

    def record(self, now: float | None = None) -> RunRecord:
        return RunRecord.from_study(self.study, now)

    # -- creation -----------------------------------------------------------------------------
    def init(self, task: Task | str, scoring: str, budget: Budget) -> None:
        """The first attributes of a new run (queued); its configuration is saved last."""
        self.study.set_user_attr(CREATED_AT, now_iso())
        self.set_status(RunStatus.QUEUED)
        self.study.set_user_attr(TASK, Task(task).value)
        self.study.set_user_attr(SCORING, scoring)
        self.study.set_user_attr(BUDGET, asdict(budget))

    def save_config(self, config: RunConfig) -> None:
        """Save the run's configuration. Written last at creation: a study without it is not
        a run (pages and the command line skip it)."""
        self.study.set_user_attr(CONFIG, config.to_dict())

    def update_config(self, **changes: Any) -> RunConfig:
        """Change fields of the saved configuration (e.g. `cluster="dask"` to continue a run
        on a cluster); returns the configuration as saved."""
        config = replace(self.config(), **changes)
        self.save_config(config)
        return config

    # -- the configuration --------------------------------------------------------------------
    @property
    def config_dict(self) -> dict[str, Any]:
        """The saved configuration as stored ({} when none): for listings that must not parse it."""
        return self.attrs.get(CONFIG) or {}

    def config(self) -> RunConfig:
        """The run's configuration; a study without one is not a (complete) Tuning Studio run."""
        saved = self.attrs.get(CONFIG)
        if saved is None:
            raise ConfigError(
                f"'{self.name}' is not a Tuning Studio run: it has no saved configuration "
                "(another tool made it, or its creation was cut short). Delete it or pick a "
                "run from `python -m tuning list`."
            )
        return RunConfig.from_dict(saved)

    # -- status and life cycle ----------------------------------------------------------------
    def status(self, now: float | None = None) -> RunStatus:
        """As readers should see it: "running" with a stale heartbeat is interrupted."""
        return run_status(self.attrs, now)

    def set_status(self, status: RunStatus, message: str | None = None) -> None:
        """Write the run's status (stored as its plain string), its message, and when it ended."""
        status = RunStatus(status)
        self.study.set_user_attr(STATUS, status.value)
        if message is not None:
            self.study.set_user_attr(MESSAGE, message)
        if status.ended:
            self.study.set_user_attr(ENDED_AT, now_iso())

    def mark_started(self) -> None:
        """The run is running; the first start is kept as when it started."""
        self.set_status(RunStatus.RUNNING)
        if STARTED_AT not in self.attrs:
            self.study.set_user_attr(STARTED_AT, now_iso())

    @property
    def elapsed_s(self) -> float:
        return float(self.attrs.get(ELAPSED_S, 0.0))

    def save_elapsed(self, seconds: float) -> None:
        """The run's working time; concurrent workers each save theirs and the longest counts."""
        self.study.set_user_attr(ELAPSED_S, max(self.elapsed_s, float(seconds)))

    def set_elapsed(self, seconds: float) -> None:
        """The run's working time, as measured by a method that runs the whole run itself."""
        self.study.set_user_attr(ELAPSED_S, float(seconds))

    # -- workers and stop requests -------------------------------------------------------------
    def beat(self, entry: dict[str, Any], worker: str | None = None) -> None:
        """One worker's heartbeat: its entry (time, running trials, done) and the run's beat."""
        self.study.set_user_attr(worker_key(worker), entry)
        self.study.set_user_attr(HEARTBEAT, entry["ts"])

    def live_workers(self, now: float | None = None, window: float | None = None) -> dict:
        """Workers whose heartbeat is fresh and who have not signed off (see `live_workers`)."""
        return live_workers(self.attrs, now, window)

    def others_working(self) -> bool:
        """Whether another worker still beats: then the last one to finish ends the run."""
        return bool(self.live_workers(window=BEATING_S))

    @property
    def stop_requested(self) -> bool:
        return bool(self.attrs.get(STOP_REQUESTED))

    def request_stop(self) -> None:
        """Ask every worker of the run, in any process, to stop within a fold or epoch."""
        self.study.set_user_attr(STOP_REQUESTED, True)

    def clear_stop_request(self) -> None:
        """Drop the stop request an earlier Stop (or the stop advisor) left, unless workers
        that got it are still finishing: (re)starting a run is a resume."""
        attrs = self.attrs
        if (attrs.get(STOP_REQUESTED) or attrs.get(FLAT_STOP)) and not self.others_working():
            self.study.set_user_attr(STOP_REQUESTED, False)
            self.study.set_user_attr(FLAT_STOP, None)

    @property
    def flat_stop(self) -> str | None:
        """Why the stop advisor ended the run (None: it did not)."""
        return self.attrs.get(FLAT_STOP) or None

    def stop_flat(self, reason: str) -> None:
        """The stop advisor ends the run: its reason is kept (the run's end reads it, as a
        normal finish) and every worker is asked to stop, as a Stop does."""
        self.study.set_user_attr(FLAT_STOP, reason)
        self.request_stop()

    # -- results -------------------------------------------------------------------------------
    @property
    def test(self) -> TestResult | None:
        return TestResult.from_attr(self.attrs.get(TEST))

    @property
    def has_test(self) -> bool:
        return TEST in self.attrs

    def save_test(self, result: TestResult) -> None:
        self.study.set_user_attr(TEST, result.to_attr())

    def save_test_error(self, exc: BaseException) -> None:
        """The refit failed: the search is kept, the test says why it is missing."""
        self.save_test(TestResult(error=f"{type(exc).__name__}: {exc}"))

    @property
    def test_top(self) -> dict[str, Any]:
        return dict(self.attrs.get(TEST_TOP) or {})

    def save_test_top(self, scores: dict[int, float | None]) -> None:
        """Test scores of top trials (analysis of the top configurations), kept with the run."""
        saved = self.test_top
        saved.update({str(k): v for k, v in scores.items()})
        self.study.set_user_attr(TEST_TOP, saved)

    @property
    def choice(self) -> dict[str, Any]:
        """A multi-objective run's chosen trade-off as stored ({} when none)."""
        return dict(self.attrs.get(CHOICE) or {})

    def save_choice(self, choice: dict[str, Any]) -> None:
        self.study.set_user_attr(CHOICE, choice)

    @property
    def recommendation(self) -> dict[str, Any] | None:
        """What "Recommended" chose for the run ({"method", "options", "reason"}); None: the
        run's method was chosen by hand."""
        return self.attrs.get(RECOMMENDATION)

    def save_recommendation(self, chosen: dict[str, Any]) -> None:
        self.study.set_user_attr(RECOMMENDATION, dict(chosen))

    # -- the library defaults as the baseline ---------------------------------------------------
    @property
    def baseline(self) -> Baseline | None:
        """The run's baseline as stored; None: a run made before baselines were kept."""
        return Baseline.from_attr(self.attrs.get(BASELINE))

    def save_baseline(self, baseline: Baseline) -> None:
        self.study.set_user_attr(BASELINE, baseline.to_attr())

    def enqueue_baseline(self, baseline: Baseline) -> None:
        """Queue the library defaults as the run's next trial (the first, at creation), marked
        with their origin, so the sampler learns from them; and keep the baseline's record."""
        self.study.enqueue_trial(dict(baseline.params), user_attrs=origin_attrs(LIBRARY_DEFAULTS))
        self.save_baseline(baseline)

    def enqueue_warm_start(
        self, configs: Iterable[dict[str, Any]], sources: Iterable[dict[str, Any]], note: str = ""
    ) -> None:
        """Queue earlier runs' best configurations (after the baseline), each marked "warm
        start", and keep where they came from (run, dataset, similarity) and what was kept,
        clipped or dropped (`note`), for the monitor's account (RunRecord.warm_start)."""
        for params in configs:
            self.study.enqueue_trial(dict(params), user_attrs=origin_attrs(WARM_START))
        self.study.set_user_attr(WARM_START_ATTR, {"sources": list(sources), "note": note})

    def claim_baseline(self) -> Baseline | None:
        """Claim the scoring of a baseline that waits to be scored beside the trials: the
        baseline (now SCORING, by this worker) when this worker is to score it, else None (none
        waits, or a live worker scores it already). Under the run's claim lock, so that workers
        starting together score it once; one whose scorer died is claimed again."""
        with claim_lock(self.storage, f"{self.name}:baseline"):
            baseline = self.baseline
            if baseline is None or not baseline.waiting:
                return None
            if baseline.status == Baseline.SCORING and baseline.worker in self.live_workers():
                return None
            claimed = replace(baseline, status=Baseline.SCORING, worker=worker_name())
            self.save_baseline(claimed)
            return claimed

    @property
    def defaults_test(self) -> TestResult | None:
        return TestResult.from_attr(self.attrs.get(TEST_DEFAULTS))

    @property
    def has_defaults_test(self) -> bool:
        return TEST_DEFAULTS in self.attrs

    def save_defaults_test(self, result: TestResult) -> None:
        """The library defaults refit on the training rows and scored once on the test part."""
        self.study.set_user_attr(TEST_DEFAULTS, result.to_attr())

    def save_defaults_test_error(self, exc: BaseException) -> None:
        self.save_defaults_test(TestResult(error=f"{type(exc).__name__}: {exc}"))

    # -- grids ---------------------------------------------------------------------------------
    @property
    def grid_size(self) -> int | None:
        return self.attrs.get(GRID_SIZE)

    def enqueue_grid(self, grid: list[dict[str, Any]], searched: Iterable[str]) -> None:
        """Queue every configuration of a grid as a waiting trial, and keep the grid's size."""
        self.study.set_user_attr(GRID_SIZE, len(grid))
        searched = set(searched)
        for k, params in enumerate(grid, 1):
            self.study.enqueue_trial(
                {name: v for name, v in params.items() if name in searched},
                user_attrs=origin_attrs(Origin(GRID, k=k, n=len(grid))),
            )

    def requeue(self, trials: Iterable[FrozenTrial]) -> None:
        """Queue again trials cut short by a Stop (each once), so a grid stays complete and a
        baseline trial is run; each keeps its origin."""
        done = set(self.attrs.get(REQUEUED, []))
        todo = [t for t in trials if t.number not in done]
        for t in todo:
            self.study.enqueue_trial(dict(t.params), user_attrs=requeue_attrs(t) or None)
        if todo:
            self.study.set_user_attr(REQUEUED, sorted(done | {t.number for t in todo}))

    def requeued(self) -> set[int]:
        return set(self.attrs.get(REQUEUED, []))

    # -- experiments ---------------------------------------------------------------------------
    @property
    def experiment(self) -> dict[str, Any] | None:
        return self.attrs.get(EXPERIMENT)

    def tag_experiment(self, tag: dict[str, Any]) -> None:
        """Mark the run as a member of an experiment (its name, method, seed, order, config)."""
        self.study.set_user_attr(EXPERIMENT, tag)

    @property
    def grid_level(self) -> GridLevel | None:
        return GridLevel.from_attr(self.attrs.get(GRID_LEVEL))

    def save_grid_level(self, level: GridLevel) -> None:
        """Keep the grid member's de-noised level (records.GridLevel) with the run."""
        self.study.set_user_attr(GRID_LEVEL, level.to_attr())

    # -- notes ---------------------------------------------------------------------------------
    def set_note(self, note: str) -> None:
        """Save (or, with blank text, clear) the run's note (checked by tuning.store.notes)."""
        notes.set_run_note(self.storage, compat.study_id(self.study), note)

    def set_trial_note(self, number: int, note: str) -> None:
        """Save (or, with blank text, clear) the note of trial `number`."""
        notes.set_trial_note(self.storage, compat.study_id(self.study), number, note)

    # -- an uploaded CSV kept inside the run ---------------------------------------------------
    def store_dataset(self, path: str) -> None:
        """Keep an uploaded CSV inside the run's storage, so a worker on another machine can
        rebuild the run from the storage alone."""
        for key, value in blob.dataset_attrs(path).items():
            self.study.set_user_attr(key, value)

    def fetch_dataset(self, config: RunConfig) -> RunConfig:
        """Point the config at a local copy of the run's CSV, fetched from the storage if needed."""
        return blob.fetch_dataset_from(self.attrs, config)


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
        k[len(WORKER_PREFIX) :]: v
        for k, v in attrs.items()
        if k.startswith(WORKER_PREFIX) and not v.get("done") and now - v.get("ts", 0) <= window
    }
