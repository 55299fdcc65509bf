"""Studies Tuning Studio did not create: what can be known of them, and what cannot.

Every study in a storage is listed. One made by plain Optuna code (`optuna.create_study` +
`optimize`, or another tool) has no saved RunConfig, so its record is a `ForeignStudy`: the
study's directions and metric names (`study.set_metric_names`); the trials give the rest
(parameters and their distributions, values, intermediate values, states, user attributes,
durations). What needs the configuration (the data, the model, the CV folds, the held-out test
set) is not known, so refit, test scores, the reproduce script, Refine, Resume and Stop are
refused with `needs_config`'s sentence. Such studies are only read: nothing in Tuning Studio
writes to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from tuning.core.enums import STATUSES, RunStatus
from tuning.core.objectives import Objective, value_objective
from tuning.store.runs import STALE_S

# Written by create_run before the configuration: a study with these but no "config" is a run
# being created, or one whose creation was cut short, not a study another tool made.
CREATION_ATTRS = ("created_at", "budget", "scoring", "task")

# What a study made outside Tuning Studio does not say (shown beside what it does say).
UNKNOWN = (
    "the data it was tuned on", "the model and how it is built", "the search method",
    "how a trial is scored (no CV folds, no spread over folds)", "a held-out test set",
    "the trial budget",
)  # fmt: skip


def is_half_written(attrs: dict[str, Any]) -> bool:
    """A Tuning Studio run without its configuration: being created, or cut short."""
    if "config" in attrs:
        return False
    return any(k in attrs for k in CREATION_ATTRS) or attrs.get("status") in STATUSES


def is_foreign(attrs: dict[str, Any]) -> bool:
    """A study another tool made (no saved configuration, and not a run being created)."""
    return "config" not in attrs and not is_half_written(attrs)


def listed(attrs: dict[str, Any]) -> bool:
    """Whether listings show the study: every study but a half-written run."""
    return not is_half_written(attrs)


def needs_config(what: str, plural: bool = False) -> str:
    """Why `what` (e.g. "Refit") is not offered for a study another tool made."""
    return (
        f"{what} {'need' if plural else 'needs'} the run's configuration (its data, model and CV), and this study was "
        "made outside Tuning Studio, so it has none: it is shown read-only, from what its "
        "trials hold."
    )


@dataclass(frozen=True)
class ForeignStudy:
    """What is known of a study another tool made; `UNKNOWN` lists what is not."""

    directions: tuple[str, ...]  # "minimize" | "maximize", one per objective
    metric_names: tuple[str, ...] | None = None  # set with study.set_metric_names, if at all

    @property
    def objectives(self) -> list[Objective]:
        """One per value of the study's trials, named by its metric names where set."""
        names = self.metric_names or (None,) * len(self.directions)
        n = len(self.directions)
        return [value_objective(i, n, d, m) for i, (d, m) in enumerate(zip(self.directions, names, strict=True))]  # fmt: skip

    @property
    def unknown(self) -> tuple[str, ...]:
        return UNKNOWN


def foreign_status(trials: Sequence[FrozenTrial], now: datetime | None = None) -> RunStatus:
    """A status for a study with no status of its own, from its trials (Optuna keeps no
    heartbeat on a journal storage): running while it has an unfinished trial and anything
    started or ended within STALE_S; interrupted when its unfinished trials saw nothing for
    that long; queued with only waiting trials (or none); finished otherwise."""
    unfinished = [t for t in trials if not t.state.is_finished()]
    if all(t.state == TrialState.WAITING for t in trials):  # none yet, or only enqueued ones
        return RunStatus.QUEUED
    if not unfinished:
        return RunStatus.FINISHED
    now = now or datetime.now()
    stamps = [t.datetime_start for t in unfinished if t.datetime_start]
    stamps += [t.datetime_complete for t in trials[-50:] if t.datetime_complete]
    latest = max(stamps, default=None)
    if latest is not None and (now - latest).total_seconds() <= STALE_S:
        return RunStatus.RUNNING
    if all(t.state == TrialState.WAITING for t in unfinished):
        return RunStatus.FINISHED  # waiting trials nobody runs: nothing is in progress
    return RunStatus.INTERRUPTED
