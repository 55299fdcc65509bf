"""One trial's metrics record: what a trial keeps besides Optuna's params and value.

Written once per trial as `user_attrs["metrics"]` (one storage write), by one writer
(`TrialMetrics.save`), and read back by one reader (`TrialMetrics.of`). Non-finite floats are
stored as None, so every storage (JSON journal, SQL) round-trips the record.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from tuning.core.enums import STOPPED_BY_USER
from tuning.store import compat
from tuning.store.origin import (
    BY_HAND,
    LIBRARY_DEFAULTS,
    MODEL,
    PENDING,
    POPULATION,
    QUEUED,
    UNKNOWN,
    WARM_START,
    Origin,
    Pruning,
    in_words,
    stopped_at,
)

ATTR = "metrics"  # the trial user attribute that holds the record
PROPOSED = "proposed"  # where the trial came from, as an Origin (tuning.store.origin): its own
# attribute on a queued trial, a key of the record on a proposed one
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # this process, as records name it
_identity = threading.local()


def worker_name() -> str:
    """Who runs trials on this thread, as records and heartbeats name it: this process, or the
    cluster worker set by `as_worker` (a Dask worker may run several runs' tasks at once)."""
    return getattr(_identity, "name", None) or WORKER


@contextmanager
def as_worker(name: str) -> Iterator[None]:
    """Name the trials this thread runs, and its heartbeat, `name` (a Dask worker's address)."""
    before = getattr(_identity, "name", None)
    _identity.name = name
    try:
        yield
    finally:
        _identity.name = before


@dataclass
class TrialMetrics:
    cv_mean: float | None = None  # mean over the folds scored so far (all of them if complete)
    cv_std: float | None = None  # spread over those folds
    fold_scores: list[float] = field(default_factory=list)
    train_score: float | None = None
    fit_seconds: float = 0.0
    score_seconds: float = 0.0
    step: int = 0  # folds, epochs or rounds done
    worker: str | None = None  # host:pid of the process that ran it
    pruned_step: int | None = None  # set when a pruner stopped it
    fail_reason: str | None = None  # why it failed, or STOPPED_BY_USER
    retried: bool = False  # its worker died and its parameters were queued again
    best_epoch: int | None = None  # networks: the epoch early stopping kept
    stopped_early_at: int | None = None
    segment_epochs: int | None = None  # population-based training: epochs in this segment
    validation: str | None = None  # "holdout" (one split) where not cross-validated
    # Costs a multi-objective run can trade against the score (tuning/core/objectives.py).
    predict_ms: float | None = None  # median over folds of predict time per 1,000 rows
    model_bytes: int | None = None  # serialized size of the last fold's fitted pipeline
    n_params: int | None = None  # networks: trainable parameters
    # Per fold, where the budget is folds: seconds to fit and to score the validation part.
    fold_fit_seconds: list[float] | None = None
    fold_score_seconds: list[float] | None = None
    train_fold_scores: list[float] | None = None  # per fold (folds budget, train scores on)
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know

    @property
    def stopped(self) -> bool:
        """Cut short by a Stop: used no budget, and its running mean is not a score."""
        return self.fail_reason == STOPPED_BY_USER

    @property
    def partial(self) -> bool:
        """Scored on part of its budget (pruned, stopped or failed midway): never a score."""
        return self.pruned_step is not None or self.fail_reason is not None

    @classmethod
    def scored(
        cls,
        folds: Iterable[float],
        train: Iterable[float] = (),
        fit_seconds: float = 0.0,
        score_seconds: float = 0.0,
        **kw: Any,
    ) -> TrialMetrics:
        """The record of a trial scored on `folds` so far (one holdout score is one fold):
        their mean and spread, the mean train score, the seconds, this process as its worker;
        `kw` sets the other fields (step, pruned_step, fail_reason, best_epoch, ...)."""
        folds = [float(f) for f in folds]
        train = [float(x) for x in train]
        kw.setdefault("worker", worker_name())
        return cls(
            cv_mean=float(np.mean(folds)) if folds else None,
            cv_std=float(np.std(folds)) if len(folds) > 1 else (0.0 if folds else None),
            fold_scores=folds,
            train_score=float(np.mean(train)) if train else None,
            fit_seconds=round(fit_seconds, 4),
            score_seconds=round(score_seconds, 4),
            **kw,
        )

    def to_attr(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        d = {k: v for k, v in d.items() if v is not None or k in _ALWAYS}
        if not d.get("retried"):
            d.pop("retried", None)
        d.update(extra)
        return {k: _finite(v) for k, v in d.items()}

    def save(self, trial: Any) -> None:
        """Write the record on a live optuna.Trial (one storage write), with where the trial
        came from where that was decided when it began (`hold_origin`): no write of its own."""
        attrs = self.to_attr()
        held = held_origin(trial)
        if held is not None:
            attrs[PROPOSED] = held.to_attr()
        trial.set_user_attr(ATTR, attrs)

    def save_to(self, storage: Any, trial_id: int) -> None:
        """Write the record on a trial through its storage (another worker's trial, which no
        live optuna.Trial of this process holds)."""
        storage.set_trial_user_attr(trial_id, ATTR, self.to_attr())

    @classmethod
    def from_attr(cls, d: dict[str, Any] | None) -> TrialMetrics:
        d = dict(d or {})
        known = _FIELDS
        kw = {k: d.pop(k) for k in list(d) if k in known}
        if kw.get("fold_scores") is None:
            kw["fold_scores"] = []
        for k in ("fit_seconds", "score_seconds"):
            if kw.get(k) is None:
                kw[k] = 0.0
        kw["step"] = int(kw.get("step") or 0)
        kw["retried"] = bool(kw.get("retried"))
        return cls(**kw, extra=d)

    @classmethod
    def of(cls, trial: FrozenTrial) -> TrialMetrics:
        """The trial's record; an empty one (all defaults) where it has none yet."""
        return cls.from_attr(trial.user_attrs.get(ATTR))

    @staticmethod
    def recorded(trial: FrozenTrial) -> bool:
        """Whether the trial has a record: a running trial (or one whose worker died before it
        wrote one) has none, and its seconds and step are unknown rather than 0."""
        return bool(trial.user_attrs.get(ATTR))


# Written even when None, as records have always been (readers look for the key).
_ALWAYS = {"cv_mean", "cv_std", "train_score", "worker"}
_FIELDS = frozenset(f.name for f in fields(TrialMetrics)) - {"extra"}


def used_budget(trial: FrozenTrial) -> bool:
    """Whether a finished trial used budget: not cut short by a Stop, and not queued again
    after its worker died. Read without building the record: the budget count runs on every
    trial claim of every worker."""
    m = trial.user_attrs.get(ATTR) or {}
    return m.get("fail_reason") != STOPPED_BY_USER and not m.get("retried")


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def fail_reason(trial: FrozenTrial) -> str | None:
    return TrialMetrics.of(trial).fail_reason


# -- the other attributes a trial keeps -------------------------------------------------------
PBT = "pbt"  # population-based training: the segment's member, generation, parent, exploit
RETRY = "retry"  # how many times the trial's parameters were queued again after a dead worker
RETRY_OF = "retry_of"  # the trial it retries
ORIGIN = "origin"  # who queued the trial ("library defaults"); no key: its sampler proposed it
PRUNING = "pruning"  # why a pruner stopped it, as a Pruning


def origin_attrs(origin: str | Origin) -> dict[str, Any]:
    """The attributes a trial queued with a known origin is created with (enqueue_trial): who
    queued it ("library defaults", under its own key, as runs have always kept it) and the
    structured Origin. A plain string is "queued by" that string."""
    if isinstance(origin, str):
        origin = Origin.queued(origin)
    attrs: dict[str, Any] = {PROPOSED: origin.to_attr()}
    if origin.kind == QUEUED and origin.by:
        attrs[ORIGIN] = origin.by
    return attrs


def origin_of(trial: Any) -> str | None:
    """Who queued a trial, as recorded when it was queued ("library defaults"); None for a
    trial its sampler proposed. Takes a FrozenTrial, a live optuna.Trial (Optuna 5 answers from
    the trial it read when it began: no storage read) or a DetachedTrial."""
    return trial.user_attrs.get(ORIGIN)


# Live trial -> where it came from, decided when it began and written with its record (one
# storage write per trial, not two: the engine's bookkeeping per trial stays within its target).
_held: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hold_origin(trial: Any, origin: Origin) -> None:
    """Keep where a live optuna.Trial came from until its record is written (TrialMetrics.save)."""
    _held[trial] = origin


def held_origin(trial: Any) -> Origin | None:
    try:
        return _held.get(trial)
    except TypeError:  # a trial-like object that cannot be weakly referenced holds none
        return None


def release_origin(trial: Any) -> None:
    _held.pop(trial, None)


def recorded_origin(trial: Any) -> Origin | None:
    """Where a trial came from as recorded: queued with it, or written with its record."""
    attrs = trial.user_attrs
    found = Origin.from_attr(attrs.get(PROPOSED))
    if found is None and isinstance(attrs.get(ATTR), dict):
        found = Origin.from_attr(attrs[ATTR].get(PROPOSED))
    return found


def record_pruning(trial: Any, pruning: Pruning) -> None:
    """Write why a pruner stopped a live optuna.Trial (one storage write, pruned trials only)."""
    trial.set_user_attr(PRUNING, pruning.to_attr())


def trial_origin(trial: FrozenTrial) -> Origin:
    """Where a stored trial came from: its recorded Origin, else what its attributes show (a
    study made outside Tuning Studio, or a run made before origins were kept): who queued it,
    its population lineage, a genetic or CMA-ES generation, or "not known"."""
    found = recorded_origin(trial)
    if found is not None:
        return found
    pop = population_info(trial)
    if pop:
        return population_origin(pop)
    if compat.fixed_params(trial) is not None:
        by = trial.user_attrs.get(ORIGIN)
        return Origin.queued(by if by in (LIBRARY_DEFAULTS, WARM_START) else BY_HAND)
    generation = compat.generation_attr(trial)
    if generation is not None:
        return Origin(MODEL, by=generation[0], generation=generation[1])
    return Origin(PENDING if trial.state == TrialState.RUNNING else UNKNOWN)


def trial_pruning(trial: FrozenTrial) -> Pruning | None:
    """Why a pruner stopped the trial: its record, else its last step; None if not pruned."""
    if trial.state != TrialState.PRUNED:
        return None
    found = Pruning.from_attr(trial.user_attrs.get(PRUNING))
    if found is not None:
        return found
    step = TrialMetrics.of(trial).pruned_step
    if step is None and trial.intermediate_values:
        step = max(trial.intermediate_values)
    return None if step is None else stopped_at(step)


def origin_sentence(trial: FrozenTrial) -> str:
    """The trial's origin and, where a pruner judged it, its fate, in one sentence."""
    return origin_words(trial)[1]


def origin_words(trial: FrozenTrial) -> tuple[str, str]:
    """(short kind, full sentence) of where the trial came from: "start-up", "Start-up trial
    3 of 5: drawn at random before TPE has enough finished trials to model."."""
    origin = trial_origin(trial)
    promoted = compat.completed_rungs(trial) if trial.state == TrialState.COMPLETE else 0
    return origin.label, in_words(origin, trial_pruning(trial), promoted)


def population_origin(info: dict[str, Any]) -> Origin:
    """A population segment's origin, from the lineage population-based training tags."""
    return Origin(
        POPULATION, member=info.get("member"), generation=info.get("generation"),
        parent=info.get("parent"), copied=info.get("exploit") or None,
        changes=info.get("explore") or None,
    )  # fmt: skip


def is_defaults(trial: Any) -> bool:
    """Whether the trial holds the model's library defaults (the run's baseline)."""
    return origin_of(trial) == LIBRARY_DEFAULTS


def defaults_trial(trials: Iterable[FrozenTrial]) -> FrozenTrial | None:
    """The trial that holds a run's library defaults: the first one that completed, else the
    last one queued (running, waiting, or failed with its reason); None where none was queued.
    The baseline is queued first, so this usually stops at trial 0."""
    found = None
    for t in trials:
        if is_defaults(t):
            if t.state == TrialState.COMPLETE:
                return t
            found = t
    return found


class DetachedTrial:
    """A trial outside the study: its parameters are fixed (a value outside the searched
    space too, such as max_depth=None), and what the objective records on it stays here. The
    run's objective scores the library defaults through it, on the trials' folds, where they
    cannot be a trial (tuning/execution/baseline.py). It is never pruned."""

    number = None

    def __init__(self, params: dict[str, Any], origin: str = LIBRARY_DEFAULTS) -> None:
        self.params = dict(params)
        self._attrs: dict[str, Any] = origin_attrs(origin)

    def _fixed(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name not in self.params:
            raise ValueError(
                f"the objective asks for '{name}', which the fixed parameters do not give"
            )
        return self.params[name]

    suggest_int = suggest_float = suggest_categorical = _fixed

    def report(self, value: float, step: int) -> None:
        """Nothing to prune against outside the study."""

    def should_prune(self) -> bool:
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        self._attrs[key] = value

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._attrs)

    def metrics(self) -> TrialMetrics:
        """What the objective recorded (an empty record where it recorded nothing)."""
        return TrialMetrics.from_attr(self._attrs.get(ATTR))


def tag_population(trial: Any, info: dict[str, Any]) -> None:
    """Record on a live optuna.Trial which population member's segment it is."""
    trial.set_user_attr(PBT, info)


def population_info(trial: FrozenTrial) -> dict[str, Any] | None:
    """A population segment's lineage (member, generation, parent, ...), or None."""
    return trial.user_attrs.get(PBT)


def retries_of(trial: FrozenTrial) -> int:
    return int(trial.user_attrs.get(RETRY, 0))


def retry_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """The attributes of a trial queued again in place of `trial` (its worker died): it keeps
    the origin of the one it retries, saying so."""
    origin = replace(_ended_origin(trial), retry_of=trial.number)
    return {RETRY: retries_of(trial) + 1, RETRY_OF: trial.number, **_kept(trial, origin)}


def requeue_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """The attributes of a trial queued again after a Stop cut it short: its origin."""
    return _kept(trial, _ended_origin(trial))


def _ended_origin(trial: FrozenTrial) -> Origin:
    """The origin of a trial that will not finish: one still read as running had its origin
    in its unwritten record, so it is not known (whether its state was already set or not)."""
    origin = trial_origin(trial)
    return Origin(UNKNOWN) if origin.kind == PENDING else origin


def _kept(trial: FrozenTrial, origin: Origin) -> dict[str, Any]:
    attrs: dict[str, Any] = {PROPOSED: origin.to_attr()}
    if (by := origin_of(trial)) is not None:
        attrs[ORIGIN] = by
    return attrs


def trial_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """All of a trial's attributes, as stored (for exports that list them whole)."""
    return dict(trial.user_attrs)
