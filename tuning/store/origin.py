"""Where a trial came from, and why it stopped early: typed records and their plain words.

`Origin` is decided when the trial is proposed (tuning/methods/origins.py, one rule per sampler
family) or when it is queued (the enqueue sites pass theirs), and `Pruning` when a pruner stops
it. Both are stored on the trial by tuning/store/trials.py; here they are plain data and words,
so that pages, the report, the CSV and the command line all say the same sentence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

# Kinds of origin (stored as these strings).
START_UP = "start-up"  # drawn at random before the model has enough finished trials
MODEL = "model-guided"  # proposed by a model of the finished trials (TPE, GP, CMA-ES, NSGA)
GRID = "grid point"
QUEUED = "queued"  # enqueued with fixed parameters (library defaults, Refine, warm start, you)
RANDOM = "random"
QUASI_RANDOM = "quasi-random"
POPULATION = "population"  # a segment of population-based training
PROPOSED = "proposed"  # by a sampler whose reasoning the studio does not know
UNKNOWN = "unknown"  # not recorded (a study made outside Tuning Studio, an older run)
PENDING = "running"  # proposed, running: its origin is written with its record

LIBRARY_DEFAULTS = "library defaults"  # who queued the baseline trial
WARM_START = "warm start"  # who queued an earlier run's best configuration at creation
BY_HAND = "by hand"  # queued with fixed parameters by code the studio does not know


@dataclass(frozen=True)
class Origin:
    """Where one trial came from. `kind` is one of the kinds above; the other fields say what
    is known for it (None: not known or not relevant)."""

    kind: str
    by: str | None = None  # the model or sampler in plain words ("TPE"), or who queued it
    k: int | None = None  # start-up trial k, grid point k
    n: int | None = None  # ... of n
    finished: int | None = None  # finished trials the sampler knew when it proposed it
    running: int | None = None  # other trials running then, counted as bad (constant liar)
    generation: int | None = None  # CMA-ES, NSGA-II/III, population-based training
    member: int | None = None  # population-based training: the member this segment trains
    parent: int | None = None  # ... the trial its segment continues
    copied: dict[str, Any] | None = None  # ... exploit: {from_member, from_trial, at_epoch}
    changes: dict[str, list] | None = None  # ... explore: name -> [old, new, how]
    retry_of: int | None = None  # run again in place of this trial (its worker died)
    note: str | None = None  # a method's own words, said after the rest
    # The Gaussian process: the kernel parameters of the fit it proposed this trial with, so
    # that a replay rebuilds that very model (its fit depends on every fit before it).
    kernel: list[float] | None = None

    def to_attr(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_attr(cls, d: dict[str, Any] | None) -> Origin | None:
        if not isinstance(d, dict) or "kind" not in d:
            return None
        return cls(**{k: v for k, v in d.items() if k in _ORIGIN_FIELDS})

    @classmethod
    def queued(cls, by: str, **kw: Any) -> Origin:
        return cls(QUEUED, by=by, **kw)

    @property
    def label(self) -> str:
        """A short name for counts and filters: "model-guided", "start-up", "library
        defaults", "queued by Refine", "population: exploit"."""
        if self.kind == QUEUED:
            return self.by if self.by in (LIBRARY_DEFAULTS, WARM_START) else f"queued {_by(self.by)}"
        if self.kind == POPULATION:
            if self.copied:
                return "copied and perturbed"
            return RANDOM if self.parent is None else "continued"
        if self.kind == PROPOSED:
            return f"proposed by {self.by}" if self.by else PROPOSED
        if self.kind == UNKNOWN:
            return "origin unknown"
        return self.kind

    @property
    def sentence(self) -> str:
        """One plain sentence on where the trial came from."""
        text = _SENTENCES.get(self.kind, _proposed)(self)
        if self.retry_of is not None:
            text += f"; run again in place of trial {self.retry_of}, whose worker stopped"
        if self.note:
            text += f"; {self.note}"
        return text


@dataclass(frozen=True)
class Pruning:
    """Why a pruner stopped a trial: where (step of steps, rung) and against what."""

    by: str  # the pruner in plain words ("median stopping")
    step: int
    of: int | None = None  # the full budget's last step
    unit: str = "step"  # "fold", "epoch", "boosting round"
    rung: int | None = None  # successive halving and Hyperband: the rung (1 = the first)
    bracket: int | None = None  # Hyperband: the bracket (1 = the most aggressive)
    value: float | None = None  # the trial's score the pruner compared
    against: float | None = None  # ... with this: the median, or the rung's cut-off
    among: int | None = None  # ... over this many trials
    rule: str | None = None  # the comparison in words ("below the median", "not in the top 1/3")

    def to_attr(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_attr(cls, d: dict[str, Any] | None) -> Pruning | None:
        if not isinstance(d, dict) or "by" not in d or "step" not in d:
            return None
        return cls(**{k: v for k, v in d.items() if k in _PRUNING_FIELDS})

    @property
    def sentence(self) -> str:
        where = f"{self.unit} {self.step}" + (f" of {self.of}" if self.of else "")
        if self.rung is not None:
            where = f"rung {self.rung} ({where})"
            if self.bracket is not None:
                where += f" of bracket {self.bracket}"
        text = f"stopped at {where} by {self.by}"
        if self.rule:
            text += f": {self.rule}"
            if self.among:
                text += f" of the {self.among} trials at that {_point(self)}"
            if self.value is not None and self.against is not None:
                text += f" ({_num(self.value)} against {_num(self.against)})"
        return text


def count_line(labels: Iterable[str | None]) -> str:
    """"31 model-guided, 5 start-up, 1 library defaults": how many trials came from where,
    the most common first ("" for none)."""
    counts = Counter(label for label in labels if label)
    return ", ".join(
        f"{n} {_PLURALS.get(label, label) if n > 1 else label}"
        for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


_PLURALS = {GRID: "grid points", "origin unknown": "of unknown origin"}


def stopped_at(step: int) -> Pruning:
    """What is known of a pruned trial without a record of its pruner: its last step."""
    return Pruning(by="its pruner", step=step)


def in_words(origin: Origin, pruning: Pruning | None = None, promoted: int = 0) -> str:
    """The trial's full sentence: its origin, then how a pruner treated it."""
    text = origin.sentence
    if pruning is not None:
        text += f"; {pruning.sentence}"
    elif promoted:
        text += f"; promoted through {promoted} rung{'s' if promoted > 1 else ''}"
    return text[0].upper() + text[1:] + "."


# -- the sentences, one per kind -----------------------------------------------------------------
def _start_up(o: Origin) -> str:
    model = o.by or "the model"
    if o.generation == 0:  # a genetic algorithm's first population
        return f"generation 0 of {model}: the first population, drawn at random"
    k = f" {o.k} of {o.n}" if o.k is not None and o.n is not None else ""
    had = ""
    if o.finished is not None and o.n is not None:
        had = f" (it had {o.finished} of the {o.n} it needs)"
    return (
        f"start-up trial{k}: drawn at random before {model} has enough finished trials to "
        f"model{had}"
    )


def _model(o: Origin) -> str:
    text = f"proposed by {o.by or 'the model'}"
    if o.generation is not None:
        text += f", generation {o.generation}"
    if o.finished is not None:
        text += f", from the {o.finished} trial{'s' if o.finished != 1 else ''} finished by then"
    if o.running:
        were = "trial was" if o.running == 1 else "trials were"
        text += (
            f"; {o.running} other {were} running, and it counted them as bad results "
            "(the constant liar) so as not to propose the same point"
        )
    return text


def _grid(o: Origin) -> str:
    return f"grid point {o.k} of {o.n}" if o.k is not None and o.n else "a grid point"


def _queued(o: Origin) -> str:
    if o.by == LIBRARY_DEFAULTS:
        return "queued: the library defaults"
    if o.by == WARM_START:
        return "queued: one of the best configurations of an earlier run (warm start)"
    return f"queued {_by(o.by)}"


def _random(o: Origin) -> str:
    return "drawn at random" + (f" by {o.by}" if o.by else "")


def _quasi(o: Origin) -> str:
    return f"the next point of {o.by or 'a quasi-random sequence'}, which covers the space evenly"


def _population(o: Origin) -> str:
    who = f"member {o.member}" if o.member is not None else "a member"
    gen = f", generation {o.generation}" if o.generation is not None else ""
    if o.copied:
        c = o.copied
        text = (
            f"{who}{gen} copied member {c.get('from_member')} (trial {c.get('from_trial')}, "
            f"at epoch {c.get('at_epoch')})"
        )
        moves = [_move(name, change) for name, change in (o.changes or {}).items()]
        moves = [m for m in moves if m]
        return text + (", then " + ", ".join(moves) if moves else "")
    if o.parent is not None:
        return f"{who}{gen} trains on from trial {o.parent} with the same hyperparameters"
    return f"{who}'s first segment: hyperparameters drawn at random"


def _proposed(o: Origin) -> str:
    return f"proposed by {o.by or 'its sampler'}"


def _unknown(o: Origin) -> str:
    return "the sampler that proposed it is not known" + (f" ({o.note})" if o.note else "")


_SENTENCES = {
    START_UP: _start_up, MODEL: _model, GRID: _grid, QUEUED: _queued, RANDOM: _random,
    QUASI_RANDOM: _quasi, POPULATION: _population, PROPOSED: _proposed,
    UNKNOWN: _unknown,
    PENDING: lambda o: "running: where it came from is written with its result",
}  # fmt: skip


def _move(name: str, change: list) -> str:
    """"learning_rate x0.8 (0.01 to 0.008)", "dropout resampled (0.1 to 0.3)"."""
    if not isinstance(change, list | tuple) or len(change) < 2:
        return ""
    old, new = change[0], change[1]
    how = change[2] if len(change) > 2 else None
    if how is None:
        return f"{name} {_num(old)} to {_num(new)}"
    return f"{name} {how} ({_num(old)} to {_num(new)})"


def _by(who: str | None) -> str:
    if who in (None, BY_HAND):
        return "by hand"
    return f"by {who}"


def _point(p: Pruning) -> str:
    return "rung" if p.rung is not None else p.unit


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


_ORIGIN_FIELDS = frozenset(f.name for f in fields(Origin))
_PRUNING_FIELDS = frozenset(f.name for f in fields(Pruning))
