"""A worker's life inside a run: its heartbeat, stop requests from other processes, and the
recovery of trials whose worker died."""

from __future__ import annotations

import contextlib
import threading
import time

import optuna
from optuna.trial import TrialState

from tuning.store import compat
from tuning.store.run import StoredRun
from tuning.store.runs import HEARTBEAT_S, STALE_S, STOP_POLL_S
from tuning.store.trials import TrialMetrics, retries_of, retry_attrs, worker_name


class Heartbeat:
    """Background thread of one worker: beats (so readers can tell a killed run), lists the
    trials it is running (so others can fail the trials of a dead worker), and turns a stop
    requested from another process (the dashboard, `python -m tuning stop`) into `stop`."""

    def __init__(self, run: StoredRun, stop: threading.Event) -> None:
        self.run, self.stop, self.done = run, stop, threading.Event()
        self.running: set[int] = set()
        self.worker = worker_name()  # named on the worker's thread: the beating thread has none
        self.thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def beat(self, done: bool = False) -> None:
        entry = {
            "ts": time.time(), "trials": sorted(self.running), "done": done,
            "started": self.started,
        }  # fmt: skip
        self.run.beat(entry, self.worker)

    def _beat(self) -> None:
        last = 0.0
        while not self.done.is_set():
            # A storage hiccup must not kill the run; the next beat retries.
            with contextlib.suppress(Exception):
                if time.time() - last >= HEARTBEAT_S:
                    self.beat()
                    last = time.time()
                if self.run.stop_requested:
                    self.stop.set()
            self.done.wait(STOP_POLL_S)

    def __enter__(self) -> Heartbeat:
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


def recover_stale_trials(run: StoredRun, retries: int = 0, now: float | None = None) -> list[int]:
    """Mark as failed the RUNNING trials that no live worker claims (their worker was killed).

    Journal storages have no heartbeat of their own (RDB storages do, via Optuna), so each
    worker lists its running trials in its heartbeat; a trial older than STALE_S that no fresh
    heartbeat lists belongs to a dead worker. With `retries`, its parameters are queued again.
    """
    now = now or time.time()
    study = run.study
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return []
    claimed = {n for w in run.live_workers(now).values() for n in w.get("trials", [])}
    failed = []
    storage = compat.storage_of(study)
    for t in running:
        started = t.datetime_start.timestamp() if t.datetime_start else now
        if t.number in claimed or now - started <= STALE_S:
            continue
        reason = "its worker stopped responding (killed or crashed) before the trial finished"
        retry = retries_of(t) < retries and bool(t.params)
        try:
            metrics = TrialMetrics.of(t)  # what it recorded, if anything: kept
            metrics.fail_reason, metrics.retried = reason, retry
            metrics.save_to(storage, compat.trial_id(t))
            if not storage.set_trial_state_values(compat.trial_id(t), state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # it finished after all
        failed.append(t.number)
        if retry:
            study.enqueue_trial(dict(t.params), user_attrs=retry_attrs(t))
    return failed
