"""The engine's closed sets of words. StrEnums, so they compare equal to (and are stored as)
the plain strings that runs made before these existed hold in their study attributes."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # "running" with a heartbeat too old: its process was killed

    @property
    def ended(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED)

    @classmethod
    def parse(cls, value: str | None) -> RunStatus:
        """A stored status; anything unknown (a study from another tool) reads as queued."""
        try:
            return cls(value or cls.QUEUED)
        except ValueError:
            return cls.QUEUED


class Task(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class BudgetKind(StrEnum):
    """What a multi-fidelity method spends, one report per step."""

    FOLDS = "folds"
    EPOCHS = "epochs"
    ROUNDS = "rounds"


TASKS = tuple(t.value for t in Task)
STATUSES = tuple(s.value for s in RunStatus)
# A trial cut short by Stop records this reason; it used no budget and is never a score.
STOPPED_BY_USER = "stopped by user"
