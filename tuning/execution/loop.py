"""The search of a sampler-driven run: Optuna's study.optimize inside the run's session, with
the engine's bookkeeping around each trial (exact budget, stop, failures in a row, dead workers).

`optimize` reads as the decisions it makes, one function each: what budget is left, whether
there is anything to do, how this worker seeds its sampler, what each trial's end means, and
how the search ended.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna
from optuna.pruners import BasePruner, NopPruner
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from tuning.core.config import RunConfig
from tuning.core.enums import STOPPED_BY_USER, RunStatus
from tuning.evaluation.objective import StopRequested
from tuning.execution.advisor import FlatWatch, flat_reason
from tuning.execution.claims import BudgetSpent, claim_trials
from tuning.execution.lifecycle import recover_stale_trials
from tuning.execution.session import Outcome, RunSession, has_complete
from tuning.store.origin import Origin, Pruning
from tuning.store.runs import STALE_S, counted
from tuning.store.trials import (
    TrialMetrics,
    defaults_trial,
    hold_origin,
    record_pruning,
    recorded_origin,
    release_origin,
    worker_name,
)

SPENT = "The budget is spent."


@dataclass(frozen=True)
class Remaining:
    """What is left of a run for this worker: trials (None: no limit) and seconds."""

    trials: int | None
    timeout: float | None

    @property
    def spent(self) -> bool:
        return self.trials == 0 or self.timeout == 0


def optimize(
    session: RunSession,
    make_sampler: Callable[[int], BaseSampler],
    make_pruner: Callable[[], BasePruner],
    grid: bool = False,
    notes: TrialNotes | None = None,
) -> RunStatus:
    """Work on a sampler-driven run until its budget is spent or the session's stop is set;
    returns the status. `make_sampler(seed)` and `make_pruner()` come from the run's method;
    `grid`: the trials are the configurations queued when the run was created; `notes`: how
    the method says where each trial came from and why one was pruned."""
    study, stop = session.study, session.stop
    if grid:
        requeue_stopped_grid_trials(session)
    trials = study.get_trials(deepcopy=False)
    waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    left = budget_left(session, trials, waiting, grid)
    if left.spent:
        return end_spent(session)
    if stop.is_set() and not session.run.others_working():
        session.run.set_status(
            RunStatus.STOPPED, "Stopped by the user before it started; resume to continue."
        )
        return RunStatus.STOPPED
    if not grid:
        requeue_stopped_defaults(session, trials)  # after the budget check: one of its trials
    progress = len(trials) - waiting if session.progress is None else session.progress
    study.sampler = make_sampler(sampler_seed(session.config, progress, session.worker_index))
    study.pruner = make_pruner()
    first = session.worker_index in (None, 0)  # the pool's first worker, or a lone one
    claim_trials(study, session.config.n_trials, grid, take_queued=grid or first)
    guard = TrialGuard(session, flat=flat_watch(session), notes=notes)
    outcome = Outcome(RunStatus.FINISHED, SPENT)
    with session.working() as heart:
        # The library defaults, where they are not a trial, are scored beside the trials by
        # the first worker (tuning/execution/baseline.py); their time comes off the time limit.
        seconds = session.score_baseline()
        timeout = None if left.timeout is None else max(0.0, left.timeout - seconds)
        try:
            if not stop.is_set():  # a Stop while the defaults were scored: no trial starts
                study.optimize(
                    guard.wrap(session.evaluation(), heart.running),
                    n_trials=session.max_trials, timeout=timeout,
                    callbacks=list(session.callbacks) or None, catch=(Exception,),
                    gc_after_trial=False,
                )  # fmt: skip
        except BudgetSpent:
            pass
        except Exception as exc:  # the storage or sampler failed: the run cannot go on
            outcome = Outcome(
                RunStatus.FAILED, f"The run stopped on an error: {type(exc).__name__}: {exc}"
            )
    outcome = how_it_ended(session, outcome, guard, grid)
    if grid and stop.is_set():
        requeue_stopped_grid_trials(session)
    return session.end(outcome)


def budget_left(
    session: RunSession, trials: list[FrozenTrial], waiting: int, grid: bool
) -> Remaining:
    """Trials and seconds left: a grid's queued configurations, or the configured number of
    trials less those that used budget; the time limit less the run's working time so far."""
    config = session.config
    if grid:
        n = waiting
    else:
        n = None if config.n_trials is None else config.n_trials - counted(trials)
    timeout = None
    if config.timeout_s is not None:
        timeout = max(0.0, config.timeout_s - session.run.elapsed_s)
    return Remaining(n, timeout)


def end_spent(session: RunSession) -> RunStatus:
    """Nothing is left to do. The last worker ends the run; one that finds the run's refit
    undone (the worker that spent the budget last died, or saw one that had just died still
    beating, before it refit) refits and tests it here."""
    if session.run.others_working():
        return RunStatus.FINISHED
    last = None if has_complete(session.study) else last_failure(session.study)
    if last:
        message = f"No trial completed; the last one failed with: {last}"
        session.run.set_status(RunStatus.FAILED, message)
        return RunStatus.FAILED
    if session.refit and not session.run.has_test:
        session.save_test(session.refit_best)
    if session.refit and not session.run.has_defaults_test:
        session.save_defaults_test()
    session.run.set_status(RunStatus.FINISHED, SPENT)
    return RunStatus.FINISHED


def flat_watch(session: RunSession) -> FlatWatch | None:
    """The stop advisor's watch where the run stops when flat (after the sampler and pruner
    are set: a pruned search is judged by the plateau rule)."""
    if not session.config.stop_when_flat or session.config.multi_objective:
        return None
    params = [p for p in session.prep.space.params if p.enabled]
    return FlatWatch(
        maximize=session.study.direction == optuna.study.StudyDirection.MAXIMIZE,
        categorical_only=bool(params) and all(p.kind == "categorical" for p in params),
        pruned=not isinstance(session.study.pruner, NopPruner),
    )


@dataclass(frozen=True)
class TrialNotes:
    """What a method says of its trials, recorded on each: `origin(study, trial)` at its start
    (tuning.store.origin.Origin), `pruned(study, trial)` when a pruner stopped it (Pruning)."""

    origin: Callable[[optuna.Study, optuna.Trial], Origin]
    pruned: Callable[[optuna.Study, optuna.Trial], Pruning] | None = None

    def started(self, study: optuna.Study, trial: optuna.Trial) -> None:
        """Decide where the trial came from, unless it was queued with its origin; it is
        written with the trial's record (no storage write of its own)."""
        if recorded_origin(trial) is None:
            hold_origin(trial, self.origin(study, trial))

    def stopped(self, study: optuna.Study, trial: optuna.Trial) -> None:
        if self.pruned is not None:
            with contextlib.suppress(Exception):  # a note must never turn a prune into a failure
                record_pruning(trial, self.pruned(study, trial))


@dataclass
class TrialGuard:
    """After each trial: honour Stop, count failures in a row, look for dead workers, and
    where the run stops when flat, ask the stop advisor.

    Called from the objective's wrapper rather than as an Optuna callback, because Optuna
    re-reads and deep-copies the trial for every callback (a third of the runner's own cost
    per trial).
    """

    session: RunSession
    notes: TrialNotes | None = None
    in_a_row: int = 0
    message: str | None = None  # set when too many failed in a row: the run fails with it
    checked: float = field(default_factory=time.time)
    flat: FlatWatch | None = None

    def wrap(self, objective: Callable, running: set[int]) -> Callable[[optuna.Trial], float]:
        """The objective as Optuna calls it: the trial is listed as running (the heartbeat
        publishes it) while it works, and its end is guarded while it is still listed."""

        def tracked(trial: optuna.Trial) -> float:
            running.add(trial.number)
            reason = None  # why the trial failed, as the objective records it
            try:
                if self.notes is not None:
                    self.notes.started(self.session.study, trial)
                value = objective(trial)
                reason = nan_reason(value)  # Optuna fails the trial too
                return value
            except optuna.TrialPruned:
                if self.notes is not None:
                    self.notes.stopped(self.session.study, trial)
                raise
            except StopRequested:
                reason = STOPPED_BY_USER
                raise
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"[:500]
                raise
            finally:
                release_origin(trial)
                self.after(reason)  # still listed as ours: stale-trial recovery skips it
                running.discard(trial.number)

        return tracked

    def after(self, reason: str | None) -> None:
        session, study = self.session, self.session.study
        if session.stop.is_set():
            study.stop()
            return
        if reason is not None and reason != STOPPED_BY_USER:
            self.in_a_row += 1
            if self.in_a_row >= session.config.max_consecutive_failures:
                self.message = (
                    f"{self.in_a_row} trials failed in a row; the last said: {reason}. "
                    "Check the data and the search space (e.g. narrow extreme ranges)."
                )
                study.stop()
        else:
            self.in_a_row = 0
            if self.flat is not None and reason is None:
                self.ask_advisor()
        if time.time() - self.checked > STALE_S:  # other workers may have died
            self.checked = time.time()
            with contextlib.suppress(Exception):  # a storage hiccup must not fail this trial
                recover_stale_trials(session.run, session.config.retries)

    def ask_advisor(self) -> None:
        """Stop every worker when the stop advisor finds the run flat. The trial that just
        returned is not complete in the storage yet: it counts at the next look."""
        study = self.session.study
        # The advice is an extra: a storage hiccup or a GP that fails must not fail the trial.
        with contextlib.suppress(Exception):
            point = self.flat.check(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
            if point is not None:
                self.session.run.stop_flat(flat_reason(point))
                study.stop()


def nan_reason(value: object) -> str | None:
    """Why a returned value is not a score (one value, or a multi-objective run's tuple)."""
    try:
        values = value if isinstance(value, (tuple, list)) else (value,)
        nan = any(math.isnan(float(v)) for v in values)
    except (TypeError, ValueError):
        nan = True
    return f"the objective returned {value!r}" if nan else None


def how_it_ended(session: RunSession, outcome: Outcome, guard: TrialGuard, grid: bool) -> Outcome:
    """The run's status after this worker's search: failed, stopped, or finished."""
    if outcome.status == RunStatus.FAILED:
        return outcome
    if guard.message:
        return Outcome(RunStatus.FAILED, guard.message)
    # The stop advisor ended the run (this worker's or another's): a normal end, tested as one.
    if session.config.stop_when_flat and (reason := session.run.flat_stop):
        return Outcome(RunStatus.FINISHED, reason)
    if session.stop.is_set():
        return Outcome(RunStatus.STOPPED, "Stopped by the user; resume to continue.")
    if not has_complete(session.study) and (last := last_failure(session.study)):
        return Outcome(RunStatus.FAILED, f"No trial completed; the last one failed with: {last}")
    if session.max_trials is not None and not _budget_spent(session, grid):
        return Outcome(
            RunStatus.STOPPED,
            f"This worker ran its {session.max_trials} trials; the run has budget left.",
        )
    return outcome


def _budget_spent(session: RunSession, grid: bool) -> bool:
    trials = session.study.get_trials(deepcopy=False)
    if grid:
        return not any(t.state == TrialState.WAITING for t in trials)
    n = session.config.n_trials
    return n is not None and counted(trials) >= n


def requeue_stopped_grid_trials(session: RunSession) -> None:
    """A grid trial cut short by Stop goes back in the queue, so the grid stays complete."""
    trials = session.study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    session.run.requeue(t for t in trials if TrialMetrics.of(t).stopped)


def requeue_stopped_defaults(session: RunSession, trials: list[FrozenTrial]) -> None:
    """The library defaults' trial cut short by a Stop goes back in the queue (once, keeping
    its origin), so that a resumed run with budget left still scores its baseline."""
    trial = defaults_trial(trials)
    if trial is not None and trial.state == TrialState.FAIL and TrialMetrics.of(trial).stopped:
        session.run.requeue([trial])


def last_failure(study: optuna.Study) -> str | None:
    for t in reversed(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))):
        reason = TrialMetrics.of(t).fail_reason
        if reason != STOPPED_BY_USER:
            # No recorded reason: Optuna's RDB heartbeat failed it because its worker died.
            return reason or "no reason recorded (its worker probably died)"
    return None


def sampler_seed(config: RunConfig, progress: int, index: int | None = 0) -> int:
    """A worker's sampler seed: the run's seed moved on by the run's progress (the trials made
    when its workers were started, `run_progress`) and by the worker's index among them (0 to
    n-1, given by whoever started them), so that a fresh run with the same seed and the same
    number of workers proposes the same configurations every time, and workers that start
    together never replay each other's draws. A worker joined by hand (`index` None) has no
    place among them: its identity (host, process, thread) moves its seed instead."""
    if index is None:
        offset = zlib.crc32(f"{worker_name()}:{threading.get_ident()}".encode())
    else:
        offset = index * 1_000_003  # a prime far beyond any run's trials: no worker's overlap
    return (config.seed + progress + offset) % 2**32


def run_progress(study: optuna.Study) -> int:
    """The run's progress as `sampler_seed` counts it: its trials, less those still queued."""
    trials = study.get_trials(deepcopy=False)
    return sum(1 for t in trials if t.state != TrialState.WAITING)
