"""A worker's life inside a run: its heartbeat, stop requests from other processes, and the
recovery of trials whose worker died."""

from __future__ import annotations

import contextlib
import threading
import time

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from tuning.evaluation.metrics import TrialMetrics
from tuning.store import compat
from tuning.store.runs import (
    BEATING_S,
    HEARTBEAT_S,
    STALE_S,
    STOP_POLL_S,
    live_workers,
    load_study,
    worker_key,
)


class Heartbeat:
    """Background thread of one worker: beats (so readers can tell a killed run), lists the
    trials it is running (so others can fail the trials of a dead worker), and turns a stop
    requested from another process (the dashboard, `python -m tuning stop`) into `stop`."""

    def __init__(self, study: optuna.Study, stop: threading.Event) -> None:
        self.study, self.stop, self.done = study, stop, threading.Event()
        self.running: set[int] = set()
        self.key = worker_key()  # named on the worker's thread: the beating thread has no name
        self.thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def beat(self, done: bool = False) -> None:
        now = time.time()
        entry = {"ts": now, "trials": sorted(self.running), "done": done, "started": self.started}
        self.study.set_user_attr(self.key, entry)
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
            metrics = TrialMetrics.of(t)  # what it recorded, if anything: kept
            metrics.fail_reason, metrics.retried = reason, retry
            metrics.save_to(compat.storage_of(study), compat.trial_id(t))
            if not compat.storage_of(study).set_trial_state_values(
                compat.trial_id(t), state=TrialState.FAIL
            ):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # it finished after all
        failed.append(t.number)
        if retry:
            study.enqueue_trial(
                dict(t.params), user_attrs={"retry": tries + 1, "retry_of": t.number}
            )
    return failed
