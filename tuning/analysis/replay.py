"""Why this trial? A sampler's reasoning rebuilt on a real run (issue 26).

For a trial a sampler's model proposed, `replay` rebuilds what the sampler knew when the trial
began (the trials finished by then, the run's own sampler settings) as a `Model`: a function
that scores any points of the space the way the sampler scored its candidates (its acquisition)
and the layers a page draws (TPE's good and bad densities and their ratio; the GP's mean,
uncertainty and acquisition; CMA-ES's search distribution). The replay ranks the trial's actual
point among random points of the searched space: a faithful replay ranks it near the top
(benchmarks/replay_faithfulness.py measures how often it lands in the top 10 %). `picture`
evaluates the model over one or two parameters, the others held at the trial's values.

Trials still running when the trial began are left out: with the constant liar (TPE) or its
batch expected improvement (the GP) the sampler counted them, so on a run with several workers
the replay is an approximation, and says so. The GP's kernel fit starts from its previous fit
and can settle on another optimum from elsewhere: the studio records the fitted kernel with each
GP trial (its origin), and the replay rebuilds that very GP.
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
from optuna.samplers import (
    CmaEsSampler,
    GPSampler,
    NSGAIIISampler,
    NSGAIISampler,
    TPESampler,
)
from optuna.trial import FrozenTrial, TrialState

from tuning.store import compat
from tuning.store.origin import MODEL, PROPOSED, QUEUED, UNKNOWN
from tuning.store.trials import trial_origin

RANDOM_POINTS = 1000  # points of the space the trial's point is ranked among
TOP = 0.9  # a faithful replay ranks a model's choice above this share of the random points
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
    # what the sampler maximized over candidates; None for a genetic algorithm, which breeds
    # its points from parents instead (see `inherited`)
    acquisition: Callable[[Points], np.ndarray] | None
    layers: Callable[[Points], list[Layer]]  # what a page draws (z flat; picture reshapes)
    marks: dict[str, list[int]] = field(default_factory=dict)  # trial groups: "good": [3, 7]
    note: str = ""  # the model's own words ("generation 3 of 6 trials; sigma 0.21")
    facts: dict[str, float] = field(default_factory=dict)  # numbers its sentence needs
    # outlines over two drawn parameters (the others held at the trial's values), for CMA-ES
    # its distribution's 1 and 2 standard deviations: label -> (xs, ys) in user units
    ellipses: Callable[[list[str]], dict[str, tuple]] | None = None
    # a genetic algorithm's child: parameter -> the parents that carry its value ([]: mutated)
    inherited: dict[str, list[int]] = field(default_factory=dict)


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
    median: float = math.nan  # the acquisition's median over the random points

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
        if self.model.acquisition is None:
            return self._bred_words()
        words = {"TPE": self._tpe_words, "GP": self._gp_words, "CMA-ES": self._cmaes_words}
        lead = words.get(self.model.by, self._generic_words)()
        share = ("all" if self.rank >= 1.0 else "more than 99% of the" if self.rank > 0.99
                 else f"{self.rank:.0%} of the")  # "100%" would read as all of them
        text = f"{lead} {share} {RANDOM_POINTS:,} random points of the space"
        if self.nearest is not None:
            text += f"; it lies nearest trial {self.nearest}"
            if self.nearest == self.best:
                text += ", the best so far"
        if self.model.running:
            text += (f"; {self.model.running} trials were running then and are left out, so "
                     "this is an approximation")  # fmt: skip
        return text + "." + (f" {self.why_not_top}" if self.rank < TOP else "")

    @property
    def why_not_top(self) -> str:
        """Why a model's choice ranks below the top tenth of the random points, in plain words:
        each sampler searches its acquisition its own way, not over the whole space."""
        why = {
            "TPE": "TPE does not search the whole space for the highest ratio: it draws "
                   f"{self.model.facts.get('candidates', 24):.0f} candidates from the good "
                   "trials' density and keeps the best of those, so random points it never drew "
                   "can score higher.",
            "GP": "The Gaussian process's expected improvement is maximized by a local search "
                  "from the best trials and a few random starts, which can stop on a lower peak.",
            "CMA-ES": "CMA-ES draws its points at random from its search distribution, it does "
                      "not pick the densest: one point in twenty lies beyond two standard "
                      "deviations.",
        }.get(self.model.by, "")  # fmt: skip
        if self.model.running:
            why += (" The trials then running, which the sampler counted as it proposed this "
                    "one, are left out here.")  # fmt: skip
        return why.strip()

    def _tpe_words(self) -> str:
        ratio = math.exp(min(self.score, 700.0))
        return (f"TPE, from {self.known} finished trials ({len(self.good)} good, {len(self.bad)} "
                f"bad): this point is {times(ratio)} likelier under the good trials than the bad, "
                "above")  # fmt: skip

    def _gp_words(self) -> str:
        ratio = math.exp(min(self.score - self.median, 700.0))
        return (f"Gaussian process (GP), from {_trials(self.known)}: expected improvement "
                f"here is {times(ratio)} its median over the space, above")  # fmt: skip

    def _cmaes_words(self) -> str:
        f = self.model.facts
        gap = math.sqrt(max(0.0, 2.0 * (f["peak"] - self.score)))
        return (f"CMA-ES generation {f['generation']:.0f} (sigma {f['sigma']:.2g}), from "
                f"{_trials(self.known)}: this point lies {gap:.2g} standard deviations "
                "from the mean of its search distribution, its density above")  # fmt: skip

    def _bred_words(self) -> str:
        """A genetic algorithm's child, in words: whose values it carries, which it mutated."""
        f, got = self.model.facts, self.model.inherited
        kept = [f"{k} from trial {ts[0]}" if len(ts) == 1 else
                f"{k} from trials {', '.join(map(str, ts[:3]))}{' and others' if len(ts) > 3 else ''}"
                for k, ts in got.items() if ts]  # fmt: skip
        fresh = [k for k, ts in got.items() if not ts]
        text = (f"{self.model.by} generation {f['generation']:.0f}: a child of the "
                f"{f['parents']:.0f} parents kept from generation {f['generation'] - 1:.0f}")
        if kept:
            text += f"; it carries {'; '.join(kept)} (crossover)"
        if fresh:
            text += f"; {', '.join(fresh)} drawn afresh (mutation)"
        return text + "."

    def _generic_words(self) -> str:
        note = f" ({self.model.note})" if self.model.note else ""
        return f"{self.model.by}, from {self.known} finished trials{note}: its acquisition here, above"


def times(ratio: float) -> str:
    """A ratio in words a student reads at once: '3.1 times', '44,200 times'."""
    if ratio < 10:
        return f"{ratio:.1f} times"
    if ratio < 1e6:
        return f"{float(f'{ratio:.3g}'):,.0f} times"
    return "over a million times"


def _trials(n: int) -> str:
    return f"{n} finished trial{'' if n == 1 else 's'}"


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
                "reads TPE, the Gaussian process, CMA-ES and the genetic algorithms.")  # fmt: skip
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
    point = {k: np.asarray([d.to_internal_repr(target.params[k])]) for k, d in space.items()}
    if model.acquisition is None:  # bred, not chosen: nothing to rank it by
        return Replay(trial=number, model=model, space=space, point=point, score=math.nan,
                      rank=math.nan, best=best_known(study, model.known),
                      nearest=nearest(space, point, model.known))  # fmt: skip
    rng = np.random.default_rng(seed)
    points = {k: random_internal(d, n, rng) for k, d in space.items()}
    scores = model.acquisition(points)
    own = float(model.acquisition(point)[0])
    return Replay(trial=number, model=model, space=space, point=point, score=own,
                  rank=float(np.mean(scores < own)), best=best_known(study, model.known),
                  nearest=nearest(space, point, model.known),
                  median=float(np.median(scores)))  # fmt: skip


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
                                       "bad": [t.number for t in above]},
                 facts={"candidates": compat.tpe_candidates(sampler)})  # fmt: skip


# -- Gaussian process ------------------------------------------------------------------------
# GPSampler starts each kernel fit from its previous one, and the fit's likelihood has several
# optima: a fit from scratch can land on another one and disagree with what the sampler saw.
# The studio records on each GP trial the kernel of the fit the sampler proposed it with, and the
# replay rebuilds that GP without fitting. Otherwise (a study made elsewhere, or GP_PATH set) it
# retraces the sampler's fits, memoized (stepping through a run's trials refits only the new
# step): the last GP_PATH_MAX (GP_PATH None) or GP_PATH of them, starting afresh that many fits
# back: the shorter, the faster, but it may settle on another optimum than the sampler did
# (benchmarks/replay_faithfulness.py measures it), and the note says so.
_GP_FITS: dict[tuple, list[float]] = {}
_GP_FITS_MAX = 5000
GP_PATH: int | None = None
GP_PATH_MAX = 5  # fits retraced at most by default: each costs up to a second on long runs


def clear_gp_fits() -> None:
    """Forget the memoized kernel fits (they are kept across replays of a run's trials)."""
    _GP_FITS.clear()


def gp_model(study, target, sampler, known, running, space) -> Model | str:
    """GPSampler's Gaussian process fitted by Optuna's own code (tuning.store.compat
    .gp_acquisition) on the completed trials, over the parameters all of them searched, and
    the log expected improvement it maximized."""
    if len(study.directions) != 1:
        return ("The studio replays the Gaussian process on one objective only; with several it "
                "maximizes expected hypervolume improvement, which is not redrawn.")  # fmt: skip
    complete = [t for t in known if t.state == TrialState.COMPLETE]
    wait = max(2, compat.startup_trials(sampler) or 0)
    if len(complete) < wait:
        return (f"Only {len(complete)} trials had completed before trial {target.number}: the "
                f"Gaussian process waits for {wait}, so it drew this one at random.")  # fmt: skip
    if any(t.constraints for t in complete):
        return ("This run has constraints: the Gaussian process then weighs each point by its "
                "chance of meeting them, which the replay does not rebuild.")  # fmt: skip
    modelled = gp_space(complete)
    if not modelled or not set(modelled) <= set(space):
        missing = ", ".join(sorted(set(modelled) - set(space)))
        return (f"Trial {target.number} lacks {missing}, which the Gaussian process modelled: "
                "its model cannot be rebuilt for this trial." if missing else
                f"No parameter of trial {target.number} was searched by every earlier trial: "
                "the Gaussian process drew them at random.")  # fmt: skip
    # The studio records the fit the sampler proposed the trial with: rebuilt as it was, exactly
    # and at once. For studies made elsewhere, the sampler's path of fits is retraced.
    end, cut = trial_origin(target).kernel if GP_PATH is None else None, 0
    if end and len(end) == len(modelled) + 2:
        fitted = compat.gp_fitted(study.direction, modelled, complete, end)
    else:
        start, first, cut = gp_path(study, sampler, target, wait)
        fitted = compat.gp_fit(sampler, study.direction, modelled, complete, start)
        # the next trial's path goes on from this fit
        _GP_FITS[gp_fit_key(study, first, target, complete)] = compat.gp_kernel_params(fitted)
    fit = compat.gp_acquisition(study.direction, modelled, complete, fitted)
    part = lambda points: {k: points[k] for k in modelled}  # noqa: E731

    def layers(points: Points) -> list[Layer]:
        p = part(points)
        return [Layer("mean: the GP's guess", fit.mean(p), "mean"),
                Layer("std: its doubt", fit.std(p), "std"),
                Layer("log expected improvement: high = next", fit.log_ei(p), "acquisition")]  # fmt: skip

    return Model(by="GP", known=complete, running=running,
                 acquisition=lambda points: fit.log_ei(part(points)), layers=layers,
                 marks={"finished": [t.number for t in complete]},
                 note=gp_note(space, modelled, running, cut))  # fmt: skip


def gp_space(complete: list[FrozenTrial]) -> dict[str, BaseDistribution]:
    """The sampler's search space: the parameters every completed trial searched alike, sorted
    by name (Optuna's intersection search space), single values left out."""
    first = complete[0].distributions
    return {k: d for k, d in sorted(first.items())
            if not d.single() and all(t.distributions.get(k) == d for t in complete)}  # fmt: skip


def gp_path(study, sampler, target: FrozenTrial, wait: int) -> tuple[list | None, int, int]:
    """The kernel fit the sampler started `target`'s fit from (its parameters; None for none),
    refitted along the earlier trials it sampled for (started before, with enough completed
    trials; a trial queued with all its values draws nothing), each fit from the one before as
    the sampler's cache does; the trial the path began at (the memo's key holds it); and how
    many earlier fits were left out (the path cut short)."""
    trials = study.get_trials(deepcopy=False)
    finished = sorted((t for t in trials if t.state == TrialState.COMPLETE and t.datetime_complete),
                      key=lambda t: t.datetime_complete)  # fmt: skip
    steps, i = [], 0
    for t in sorted((t for t in trials if t.datetime_start and target.datetime_start
                     and t.datetime_start < target.datetime_start),
                    key=lambda t: (t.datetime_start, t.number)):  # fmt: skip
        while i < len(finished) and finished[i].datetime_complete <= t.datetime_start:
            i += 1
        if i >= wait and trial_origin(t).kind != QUEUED:
            steps.append((t, sorted(finished[:i], key=lambda u: u.number)))
    path = steps[max(0, len(steps) - (GP_PATH_MAX if GP_PATH is None else GP_PATH)):]
    first = path[0][0].number if path else target.number
    start = None
    for t, done in path:
        key = gp_fit_key(study, first, t, done)
        if key not in _GP_FITS:
            if len(_GP_FITS) >= _GP_FITS_MAX:
                _GP_FITS.clear()
            fitted = compat.gp_fit(sampler, study.direction, gp_space(done), done, start)
            _GP_FITS[key] = compat.gp_kernel_params(fitted)
        start = _GP_FITS[key]
    return start, first, len(steps) - len(path)


def gp_fit_key(study, first: int, t: FrozenTrial, done: list[FrozenTrial]) -> tuple:
    # A fit depends on every fit before it on the path, so the key holds where the path began.
    return (study.study_name, first, t.number, tuple((u.number, u.value) for u in done))


def gp_note(space: dict, modelled: dict, running: int, cut: int = 0) -> str:
    notes = []
    if cut:
        back = GP_PATH_MAX if GP_PATH is None else GP_PATH
        how = "fitted afresh" if back == 0 else f"refitted from {back} fits back"
        notes.append(f"no fit was recorded with this run: the kernel was {how}, not along all "
                     f"the sampler's {back + cut} fits, so the model is close, not exact")  # fmt: skip
    if set(space) - set(modelled):
        notes.append(f"{', '.join(sorted(set(space) - set(modelled)))} drawn at random")
    if running:
        notes.append(f"Optuna's batch expected improvement also counted the {running} running "
                     "trials, left out here, and each worker kept its own kernel fits")  # fmt: skip
    return "; ".join(notes)


# -- CMA-ES ----------------------------------------------------------------------------------
def cmaes_model(study, target, sampler, known, running, space) -> Model | str:
    """The normal distribution CMA-ES drew the trial from: the optimizer of the trial's
    generation as Optuna stored it (tuning.store.compat.cmaes_state), its log density."""
    generation = compat.cmaes_generation(sampler, target)
    if generation is None:
        return (f"Trial {target.number} has no CMA-ES generation: CMA-ES did not draw it (it "
                "draws at random before its first finished trial, and where it cannot model the "
                "space: fewer than two numeric parameters).")  # fmt: skip
    complete = [t for t in known if t.state == TrialState.COMPLETE]
    # CMA-ES models the numeric parameters every completed trial searched alike; it samples
    # categorical ones at random.
    # (the sampler's intersection of the completed trials' spaces, which may hold a parameter
    # this trial did not use: drawn, then left unused under another choice of a categorical).
    modelled = {k: d for k, d in sorted(complete[0].distributions.items() if complete else ())
                if not isinstance(d, CategoricalDistribution) and not d.single()
                and all(t.distributions.get(k) == d for t in complete)}  # fmt: skip
    unused = [k for k in modelled if k not in space]
    if unused:
        return (f"CMA-ES drew trial {target.number} over {' and '.join(modelled)}, but the trial "
                f"did not use {', '.join(unused)} (it applies only under another choice), so "
                "its point cannot be placed in the search distribution.")  # fmt: skip
    opt = (compat.cmaes_state(sampler, modelled, target, complete + [target],
                              study.directions[0])[1] if modelled else None)  # fmt: skip
    if opt is None or opt.dim != len(modelled) or opt.generation != generation:
        return (f"The state CMA-ES sampled trial {target.number} from (generation {generation}) "
                "is not stored with the trials finished before it.")  # fmt: skip
    sigma, c = compat.cmaes_sigma_cov(opt)
    mean, cov = np.asarray(opt.mean, float), sigma**2 * np.asarray(c, float)
    chol = np.linalg.cholesky(cov)
    log_norm = -0.5 * len(mean) * math.log(2 * math.pi) - float(np.log(np.diag(chol)).sum())
    unit = compat.cmaes_unit(sampler, modelled)

    def acquisition(points: Points) -> np.ndarray:
        z = np.linalg.solve(chol, (unit({k: points[k] for k in modelled}) - mean).T)
        return log_norm - 0.5 * (z**2).sum(axis=0)

    def layers(points: Points) -> list[Layer]:
        return [Layer("search distribution (density)", np.exp(acquisition(points) - log_norm),
                      "density")]  # fmt: skip

    held = unit({k: np.asarray([target.params[k]], float) for k in modelled})[0]
    outline = cmaes_outlines(list(modelled), mean, cov, held,
                             compat.cmaes_from_unit(sampler, modelled))  # fmt: skip
    members = [t.number for t in complete if compat.cmaes_generation(sampler, t) == generation]
    others = set(space) - set(modelled)
    note = f"generation {generation}, sigma {sigma:.2g}" + (
        f"; {', '.join(sorted(others))} drawn at random" if others else "")  # fmt: skip
    # Its distribution does not depend on trials still running: the replay is exact with them.
    return Model(by="CMA-ES", known=complete, running=0, acquisition=acquisition,
                 layers=layers, note=note, ellipses=outline,
                 marks={f"generation {generation}": members,
                        "earlier": [t.number for t in complete if t.number not in members]},
                 facts={"generation": float(generation), "sigma": sigma, "peak": log_norm})  # fmt: skip


def cmaes_outlines(names: list[str], mean: np.ndarray, cov: np.ndarray, held: np.ndarray,
                   from_unit: Callable) -> Callable[[list[str]], dict[str, tuple]]:  # fmt: skip
    """The distribution's 1- and 2-standard-deviation ellipses over two of its parameters,
    the others held at the trial's values (the normal's slice there, as the density layer
    draws it), in the parameters' own units; {} where a drawn parameter is not modelled."""

    def outlines(params: list[str]) -> dict[str, tuple]:
        if len(params) != 2 or not set(params) <= set(names):
            return {}
        a = [names.index(p) for p in params]
        b = [i for i in range(len(names)) if i not in a]
        m, s = mean[a], cov[np.ix_(a, a)]
        if b:  # the slice: condition on the held parameters
            gain = cov[np.ix_(a, b)] @ np.linalg.inv(cov[np.ix_(b, b)])
            m = m + gain @ (held[b] - mean[b])
            s = s - gain @ cov[np.ix_(b, a)]
        vals, vecs = np.linalg.eigh(s)
        angle = np.linspace(0, 2 * np.pi, 61)
        circle = np.stack([np.cos(angle), np.sin(angle)])
        out = {}
        for k, label in ((1, "1 standard deviation"), (2, "2 standard deviations")):
            pts = np.clip(m[:, None] + vecs @ (k * np.sqrt(np.maximum(vals, 0))[:, None] * circle),
                          0.0, 1.0)  # fmt: skip
            out[label] = (from_unit(params[0], pts[0]), from_unit(params[1], pts[1]))
        return out

    return outlines


def ga_model(study, target, sampler, known, running, space) -> Model | str:
    """A genetic algorithm's child (NSGA-II, NSGA-III): the parents its generation was bred
    from, as the sampler cached them, and which of them carry each of its values. Optuna's
    crossovers give each parameter a parent's value (uniform crossover, NSGA-II's default) or
    a blend of two; a value no parent carries was drawn afresh or blended."""
    generation = compat.nsga_generation(sampler, target)
    if not generation:
        return (f"Trial {target.number} is in the genetic algorithm's first generation: drawn at "
                "random, before there were parents to breed from.")  # fmt: skip
    parents = compat.ga_parents(sampler, study, generation)
    if not parents:
        return (f"The parents of generation {generation} (trial {target.number}'s) are not "
                "stored with this run, so its breeding cannot be replayed.")  # fmt: skip
    inherited = {k: [p.number for p in parents if k in p.params
                     and d.to_internal_repr(p.params[k]) == d.to_internal_repr(target.params[k])]
                 for k, d in space.items()}  # fmt: skip
    ids = {p.number for p in parents}
    mates = [t.number for t in known if compat.nsga_generation(sampler, t) == generation]
    shown = known + [p for p in parents if p.number not in {t.number for t in known}]
    return Model(by=GA_NAMES.get(type(sampler), "Genetic algorithm"), known=shown,
                 running=running, acquisition=None, layers=lambda points: [],
                 marks={"parents": sorted(ids), f"generation {generation}": mates},
                 facts={"generation": float(generation), "parents": float(len(parents))},
                 inherited=inherited)  # fmt: skip


GA_NAMES = {NSGAIISampler: "NSGA-II", NSGAIIISampler: "NSGA-III"}
ENGINES: list[tuple[type, Engine]] = [
    (TPESampler, tpe_model), (GPSampler, gp_model), (CmaEsSampler, cmaes_model),
    (NSGAIISampler, ga_model), (NSGAIIISampler, ga_model)]


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
    return np.unique(on_steps(d, np.geomspace(low, high, n) if d.log else np.linspace(low, high, n)))


def random_internal(d: BaseDistribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points drawn uniformly from a distribution (log-uniformly where it is log-scaled), in
    Optuna's internal representation (a categorical's index)."""
    if isinstance(d, CategoricalDistribution):
        return rng.integers(len(d.choices), size=n).astype(float)
    if not isinstance(d, FloatDistribution | IntDistribution):
        raise TypeError(f"cannot draw from {type(d).__name__}")
    low, high = float(d.low), float(d.high)
    return on_steps(d, np.exp(rng.uniform(math.log(low), math.log(high), n)) if d.log
                    else rng.uniform(low, high, n))  # fmt: skip


def on_steps(d: FloatDistribution | IntDistribution, x: np.ndarray) -> np.ndarray:
    """Values of a numeric distribution moved to its steps (whole numbers for an integer one
    without a step) and kept within its bounds."""
    low, high = float(d.low), float(d.high)
    step = getattr(d, "step", None) or (1 if isinstance(d, IntDistribution) else None)
    if step:
        x = low + np.round((x - low) / step) * step
    return np.clip(x, low, high)
