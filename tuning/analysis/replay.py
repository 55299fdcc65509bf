"""Why this trial? A sampler's reasoning rebuilt on a real run (issue 26).

For a trial a sampler's model proposed, `replay` rebuilds what the sampler knew when the trial
began (the trials finished by then, the run's own sampler settings) as a `Model`: a function
that scores any points of the space the way the sampler scored its candidates (its acquisition)
and the layers a page draws (TPE's good and bad densities and their ratio; the GP's mean,
uncertainty and acquisition; CMA-ES's search distribution). The replay ranks the trial's actual
point among random points of the searched space: a faithful replay ranks it near the top
(benchmarks/replay_faithfulness.py measures how often it lands in the top 10 %). `picture`
evaluates the model over one or two parameters, the others held at the trial's values.

Trials still running when the trial began are left out: with the constant liar the sampler
counted them, so on a run with several workers the replay is an approximation, and says so.
Where the state cannot be rebuilt (not a model-guided trial, a start-up or queued one, a
parameter the trial lacks, a sampler the studio cannot read) the answer is one sentence saying why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import TPESampler
from optuna.trial import FrozenTrial, TrialState

from tuning.store import compat
from tuning.store.origin import MODEL, PROPOSED, UNKNOWN
from tuning.store.trials import trial_origin

RANDOM_POINTS = 1000  # points of the space the trial's point is ranked among
GRID_POINTS = 50  # per drawn parameter

Points = dict[str, np.ndarray]  # parameter -> values in Optuna's internal representation


@dataclass(frozen=True)
class Layer:
    """One panel of a replay's picture: a quantity over the drawn parameters."""

    title: str  # "good trials' density l(x)"
    z: np.ndarray  # on the grid: (n,) for one parameter, (n_y, n_x) for two
    kind: str  # "good", "bad", "ratio", "mean", "std", "acquisition", "density"


@dataclass(frozen=True)
class Model:
    """What a sampler knew when it proposed a trial, able to score any points of the space."""

    by: str  # "TPE", "GP", "CMA-ES"
    known: list[FrozenTrial]  # the trials it had seen
    running: int  # trials running then, left out
    acquisition: Callable[[Points], np.ndarray]  # what the sampler maximized over candidates
    layers: Callable[[Points], list[Layer]]  # what a page draws (z flat; picture reshapes)
    marks: dict[str, list[int]] = field(default_factory=dict)  # trial groups: "good": [3, 7]
    note: str = ""  # the model's own words ("generation 3 of 6 trials; sigma 0.21")


@dataclass(frozen=True)
class Replay:
    """A sampler's reasoning for one trial."""

    trial: int
    model: Model
    space: dict[str, BaseDistribution]  # the searched parameters of the trial
    point: Points  # the trial's own values (internal representation), one each
    score: float  # the acquisition at the trial's point
    rank: float  # share of the random points scored below it (1.0: above them all)
    best: int | None  # the best trial known then
    nearest: int | None  # the known trial closest to this point (unit-scaled distance)

    @property
    def known(self) -> int:
        return len(self.model.known)

    @property
    def running(self) -> int:
        return self.model.running

    @property
    def good(self) -> list[int]:
        return self.model.marks.get("good", [])

    @property
    def bad(self) -> list[int]:
        return self.model.marks.get("bad", [])

    @property
    def sentence(self) -> str:
        lead = {"TPE": self._tpe_words}.get(self.model.by, self._generic_words)()
        text = f"{lead}, above {self.rank:.0%} of {RANDOM_POINTS:,} random points of the space"
        if self.nearest is not None:
            text += f"; it lies nearest trial {self.nearest}"
            if self.nearest == self.best:
                text += ", the best so far"
        if self.model.running:
            text += (f"; {self.model.running} trials were running then and are left out, so "
                     "this is an approximation")  # fmt: skip
        return text + "."

    def _tpe_words(self) -> str:
        ratio = math.exp(min(self.score, 700.0))
        return (f"TPE, from {self.known} finished trials ({len(self.good)} good, {len(self.bad)} "
                f"bad): this point is {ratio:.3g}x likelier under the good trials than the bad")  # fmt: skip

    def _generic_words(self) -> str:
        note = f" ({self.model.note})" if self.model.note else ""
        return f"{self.model.by}, from {self.known} finished trials{note}: its acquisition here"


@dataclass(frozen=True)
class Picture:
    """A replay drawn over one or two parameters, the others held at the trial's values."""

    params: list[str]
    grids: list[np.ndarray]  # values of each drawn parameter (user values; categorical choices)
    log: list[bool]
    layers: list[Layer]
    coords: dict[int, tuple]  # known trial -> its values of the drawn parameters
    actual: tuple  # the replayed trial's values of the drawn parameters
    marks: dict[str, list[int]]


# A replay engine: (study, target trial, its sampler, trials known, trials running, searched
# space) -> the model, or a sentence saying why it cannot be rebuilt.
Engine = Callable[..., "Model | str"]


def known_before(trials: list[FrozenTrial], target: FrozenTrial) -> tuple[list, int]:
    """(trials finished when `target` began, trials running then): what its sampler knew."""
    start = target.datetime_start
    done, running = [], 0
    for t in trials:
        if t.number == target.number or t.datetime_start is None or start is None:
            continue
        ended = t.datetime_complete
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and ended and ended <= start:
            done.append(t)
        elif t.datetime_start <= start and (ended is None or ended > start):
            running += 1
    return done, running


def replay(study: optuna.Study, number: int, sampler: optuna.samplers.BaseSampler,
           n: int = RANDOM_POINTS, seed: int = 0, trust_origin: bool = True) -> Replay | str:  # fmt: skip
    """The reasoning of `sampler` (the run's sampler, its settings) for trial `number` of
    `study`; a sentence saying why where it cannot be rebuilt. `trust_origin=False`: a trial
    whose origin was not recorded (a study made outside Tuning Studio, replayed as a chosen
    sampler) is taken as the model's; a queued or start-up one still is not."""
    trials = study.get_trials(deepcopy=False)
    target = next((t for t in trials if t.number == number), None)
    if target is None:
        return f"There is no trial {number} in this run."
    engine = next((e for kind, e in ENGINES if isinstance(sampler, kind)), None)
    if engine is None:
        return (f"The studio cannot rebuild the reasoning of {type(sampler).__name__}: replay "
                "reads TPE, the Gaussian process and CMA-ES.")  # fmt: skip
    origin = trial_origin(target)
    if origin.kind != MODEL and (trust_origin or origin.kind not in (UNKNOWN, PROPOSED)):
        return f"Trial {number} was not proposed by a model ({origin.sentence})."
    space = {k: d for k, d in target.distributions.items() if not d.single()}
    if not space:
        return f"Trial {number} has no searched parameter to replay."
    known, running = known_before(trials, target)
    model = engine(study, target, sampler, known, running, space)
    if isinstance(model, str):
        return model
    rng = np.random.default_rng(seed)
    points = {k: random_internal(d, n, rng) for k, d in space.items()}
    point = {k: np.asarray([d.to_internal_repr(target.params[k])]) for k, d in space.items()}
    scores = model.acquisition(points)
    own = float(model.acquisition(point)[0])
    return Replay(trial=number, model=model, space=space, point=point, score=own,
                  rank=float(np.mean(scores < own)), best=best_known(study, model.known),
                  nearest=nearest(space, point, model.known))  # fmt: skip


def picture(r: Replay, params: list[str], n: int = GRID_POINTS) -> Picture | str:
    """The replay's layers over one or two of the trial's parameters, the others held at the
    trial's values; a sentence where a parameter cannot be drawn."""
    missing = [p for p in params if p not in r.space]
    if missing or not 1 <= len(params) <= 2:
        return (f"Trial {r.trial} did not search {', '.join(missing)}: pick one or two of "
                f"{', '.join(r.space)}." if missing else "Pick one or two parameters.")  # fmt: skip
    axes = [grid_internal(r.space[p], n) for p in params]
    mesh = np.meshgrid(*axes) if len(axes) == 2 else axes
    size = mesh[0].size
    points = {k: np.repeat(v, size) for k, v in r.point.items()}
    for p, m in zip(params, mesh, strict=True):
        points[p] = m.ravel()
    shape = mesh[0].shape
    layers = [Layer(lay.title, np.asarray(lay.z).reshape(shape), lay.kind)
              for lay in r.model.layers(points)]  # fmt: skip
    dists = [r.space[p] for p in params]
    coords = {t.number: tuple(t.params.get(p) for p in params) for t in r.model.known
              if all(p in t.params for p in params)}  # fmt: skip
    return Picture(params=list(params),
                   grids=[np.asarray([d.to_external_repr(v) for v in a], dtype=object)
                          if isinstance(d, CategoricalDistribution) else a
                          for d, a in zip(dists, axes, strict=True)],
                   log=[bool(getattr(d, "log", False)) for d in dists], layers=layers,
                   coords=coords,
                   actual=tuple(d.to_external_repr(float(r.point[p][0]))
                                for d, p in zip(dists, params, strict=True)),
                   marks=r.model.marks)  # fmt: skip


def best_known(study: optuna.Study, known: list[FrozenTrial]) -> int | None:
    done = [t for t in known if t.state == TrialState.COMPLETE and t.values]
    if not done or len(study.directions) != 1:
        return None
    pick = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
    return pick(done, key=lambda t: t.values[0]).number


def nearest(space: dict, point: Points, known: list[FrozenTrial]) -> int | None:
    """The known trial nearest the point, each parameter scaled to [0, 1] (log where log;
    a categorical counts 1 where it differs)."""
    best, gap = None, math.inf
    for t in known:
        if not all(k in t.params for k in space):
            continue
        d = sum(unit_gap(dist, float(point[k][0]), dist.to_internal_repr(t.params[k])) ** 2
                for k, dist in space.items())  # fmt: skip
        if d < gap:
            best, gap = t.number, d
    return best


def unit_gap(d: BaseDistribution, a: float, b: float) -> float:
    if isinstance(d, CategoricalDistribution):
        return float(a != b)
    low, high = float(d.low), float(d.high)
    if getattr(d, "log", False):
        a, b, low, high = (math.log(v) for v in (a, b, low, high))
    return abs(a - b) / (high - low) if high > low else 0.0


# -- TPE -------------------------------------------------------------------------------------
def tpe_model(study, target, sampler, known, running, space) -> Model | str:
    """TPE's good and bad Parzen densities, built by the sampler's own (private) code
    (tuning.store.compat.tpe_densities) for each group of parameters it models apart."""
    if len(known) < max(2, compat.tpe_startup_trials(sampler) or 0):
        return (f"Only {len(known)} trials had finished before trial {target.number}: too few "
                "to rebuild TPE's model.")  # fmt: skip
    # TPE models each group of parameters that always appear together on its own (conditional
    # parameters, such as an SVM's gamma under one kernel) and maximizes each group's ratio.
    parts, below, above = [], [], []
    for group in groups(known + [target]):
        sub = {k: space[k] for k in sorted(group) if k in space}
        if sub:
            below, above, l_est, g_est = compat.tpe_densities(sampler, study, sub, known)
            parts.append((list(sub), l_est, g_est))

    def logs(points: Points) -> tuple[np.ndarray, np.ndarray]:
        size = len(next(iter(points.values())))
        log_l, log_g = np.zeros(size), np.zeros(size)
        for keys, l_est, g_est in parts:
            log_l += l_est.log_pdf({k: points[k] for k in keys})
            log_g += g_est.log_pdf({k: points[k] for k in keys})
        return log_l, log_g

    def acquisition(points: Points) -> np.ndarray:
        log_l, log_g = logs(points)
        return log_l - log_g

    def layers(points: Points) -> list[Layer]:
        log_l, log_g = logs(points)
        return [Layer("good trials' density l(x)", np.exp(log_l - log_l.max()), "good"),
                Layer("other trials' density g(x)", np.exp(log_g - log_g.max()), "bad"),
                Layer("log l(x)/g(x): high = next", log_l - log_g, "ratio")]  # fmt: skip

    return Model(by="TPE", known=known, running=running, acquisition=acquisition,
                 layers=layers, marks={"good": [t.number for t in below],
                                       "bad": [t.number for t in above]})  # fmt: skip


ENGINES: list[tuple[type, Engine]] = [(TPESampler, tpe_model)]


def tpe_replay(study: optuna.Study, number: int, sampler: TPESampler,
               n: int = RANDOM_POINTS, seed: int = 0) -> Replay | str:  # fmt: skip
    """TPE's reasoning for trial `number`: `replay`, saying so where another model proposed it."""
    trials = study.get_trials(deepcopy=False)
    target = next((t for t in trials if t.number == number), None)
    if target is not None:
        origin = trial_origin(target)
        if origin.kind != MODEL or origin.by != "TPE":
            return f"Trial {number} was not proposed by TPE's model ({origin.sentence})."
    return replay(study, number, sampler, n, seed)


def groups(trials: list[FrozenTrial]) -> list[set[str]]:
    """The finest groups of parameters such that each trial's parameters are a union of
    groups: what TPE's grouped search space (group=True) models separately."""
    found: list[set[str]] = []
    for t in trials:
        keys = set(t.distributions)
        split: list[set[str]] = []
        for g in found:
            split += [part for part in (g & keys, g - keys) if part]
        rest = keys.difference(*found) if found else keys
        found = split + ([rest] if rest else [])
    return found


def grid_internal(d: BaseDistribution, n: int) -> np.ndarray:
    """Evenly spaced values of a distribution (log-spaced where log; every choice of a
    categorical; whole steps of an integer or stepped one), in internal representation."""
    if isinstance(d, CategoricalDistribution):
        return np.arange(len(d.choices), dtype=float)
    low, high = float(d.low), float(d.high)
    x = np.geomspace(low, high, n) if d.log else np.linspace(low, high, n)
    step = getattr(d, "step", None) or (1 if isinstance(d, IntDistribution) else None)
    if step:
        x = np.unique(low + np.round((x - low) / step) * step)
    return np.clip(x, low, high)


def random_internal(d: BaseDistribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points drawn uniformly from a distribution (log-uniformly where it is log-scaled), in
    Optuna's internal representation (a categorical's index)."""
    if isinstance(d, CategoricalDistribution):
        return rng.integers(len(d.choices), size=n).astype(float)
    if not isinstance(d, FloatDistribution | IntDistribution):
        raise TypeError(f"cannot draw from {type(d).__name__}")
    low, high = float(d.low), float(d.high)
    x = np.exp(rng.uniform(math.log(low), math.log(high), n)) if d.log else rng.uniform(low, high, n)
    step = getattr(d, "step", None)
    if isinstance(d, IntDistribution):
        step = step or 1
    if step:
        x = low + np.round((x - low) / step) * step
    return np.clip(x, low, high)
