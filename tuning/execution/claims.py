"""The trial budget, claimed exactly across every worker of a run.

The budget counts trials (`tuning.store.runs.counted`). The library defaults queued as a run's
first trial (tuning/execution/baseline.py) are a trial like any other (listed, learned from by
the sampler, shown in the run's progress), so they are one of its n trials: a 50-trial run
makes the defaults and 49 proposals ("the baseline costs one trial"). Defaults scored beside
the trials are no trial, and take none of the n; their time counts against a time limit.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from tuning.store import compat
from tuning.store.runs import counted
from tuning.store.storage import claim_lock


class BudgetSpent(Exception):
    """Raised when a worker asks for a trial after the run's trial budget is fully claimed."""


def claim_trials(
    study: optuna.Study, n_trials: int | None, grid: bool, take_queued: bool = True
) -> None:
    """Make trial creation respect the run's budget exactly, across every worker.

    Optuna's optimize() creates a trial whenever no WAITING one is queued, so two workers that
    both see budget left would overshoot it. We wrap the queue pop that ask() calls: under a
    lock shared by all workers (storage.claim_lock), pop a queued trial or create one only while
    the budget allows, else raise BudgetSpent, which ends optimize().

    `take_queued` False: this worker leaves queued trials to the pool's first worker and counts
    them as spoken for, so that which worker runs the library defaults (and so how many draws
    each worker's sampler makes) never depends on which one asked first: a seed is one race.
    """
    storage = compat.storage_of(study)
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
            tail = unfinished(storage.get_all_trials(compat.study_id(study), deepcopy=False))
            for t in tail:  # Optuna 5.0's _pop_waiting_trial_id, on the list already read
                if t.state != TrialState.WAITING or not take_queued:
                    continue
                try:
                    if storage.set_trial_state_values(compat.trial_id(t), state=TrialState.RUNNING):
                        return compat.trial_id(t)
                except optuna.exceptions.UpdateFinishedTrialError:
                    continue
            if grid:
                raise BudgetSpent()
            if n_trials is not None:
                busy = (TrialState.RUNNING,) if take_queued else (TrialState.RUNNING, TrialState.WAITING)
                running = sum(t.state in busy for t in tail)
                if prefix["counted"] + counted(tail) + running >= n_trials:
                    raise BudgetSpent()
            return storage.create_new_trial(compat.study_id(study))

    compat.set_trial_claimer(study, claim)
