"""Run a search method on a landscape, and recover what drove each of its choices.

A method runs as a real Optuna study (in memory) with the registry's sampler, pruner and seed,
so what the Learn page shows is what the method does in a tuning run. The per-method internals
(TPE's densities, CMA-ES's search distribution, Hyperband's brackets, the genetic algorithm's
generations) are read back from the same sampler objects and the trials they stored; only the
Gaussian process is refitted here (see `gp_surrogate`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from tuning.core.budget import Budget
from tuning.core.errors import ConfigError
from tuning.core.space import float_param, int_param
from tuning.learn.landscapes import FIDELITY_STEPS, Landscape, get_landscape
from tuning.methods import get_method, list_methods
from tuning.methods.base import MethodSpec
from tuning.store import compat

optuna.logging.set_verbosity(optuna.logging.ERROR)  # as the runner: no line per trial

MAX_METHODS = 4
MIN_TRIALS, MAX_TRIALS = 4, 100
BUDGET = Budget("epochs", 1, FIDELITY_STEPS)  # what multi-fidelity methods spend on a landscape
# Every registered sampler method runs on a landscape; population-based ones train models.
LEARN_METHODS = tuple(
    m.name for m in list_methods() if not (m.runs_itself or m.chooses_method)
)

GLOSSARY = {
    "Trial": "One evaluation of one configuration (one point on the landscape): the method "
    "proposes hyperparameters, the objective scores them.",
    "Fold": "In cross-validation the training data is cut into k folds; each fold is held out "
    "once while the model trains on the rest. The CV score is the mean over the folds.",
    "Budget": "What a trial may spend: folds, epochs or boosting rounds. Here a landscape has a "
    f"budget of {FIDELITY_STEPS} steps; its score approaches the true value as steps are spent.",
    "Pruning": "Stopping a trial early because its score so far looks worse than others at the "
    "same budget. It saves compute, at the risk of stopping a slow starter.",
    "Exploit / explore": "Exploiting samples near the best points found so far; exploring samples "
    "where little is known. Every method balances the two, and the balance is what differs.",
    "Importance": "How much of the score's variation a hyperparameter explains. On a landscape "
    "with a long valley along one axis, the other axis is the important one.",
    "Regret": "How far the best score found so far is from the best possible score. Zero means "
    "the optimum was found; a method is better when its regret falls faster.",
}

# Subplot titles: short enough that four side by side stay apart in a narrow window (the full
# label is in each subplot's hover and in the page's text).
SHORT_LABELS = {
    "grid": "Grid", "random": "Random", "sobol": "Sobol", "tpe": "TPE", "gp": "GP",
    "cmaes": "CMA-ES", "nsga2": "NSGA-II", "nsga3": "NSGA-III", "hyperband": "Hyperband",
    "successive_halving": "Succ. halving", "median": "Median stop",
}  # fmt: skip


def short_label(method: str) -> str:
    return SHORT_LABELS.get(method, get_method(method).label)


# What to look for in each method's view (the method's own explanation comes from the registry).
VIEW_NOTES = {
    "grid": "The grey crosses are the lattice, fixed before the first trial: the next point is "
    "simply the next crossing, whatever the scores so far. With a budget of n trials each axis "
    "gets only about √n distinct values.",
    "random": "Each point is drawn uniformly (log-uniformly on a log axis), independently of "
    "every earlier point and score: nothing on the landscape pulls it anywhere. Runs of the "
    "same seed draw the same points.",
    "sobol": "Each point comes from a scrambled Sobol sequence: like random search it ignores "
    "the scores, but each new point lands in a part of the square that is still empty.",
    "tpe": "After its random start-up trials TPE splits the trials seen into the best few "
    "(green, density l) and the rest (red, density g), draws candidates from l and keeps the one "
    "where l/g is highest: likely good, unlikely bad.",
    "gp": "After its start-up trials the Gaussian process models the score everywhere: a mean "
    "(its guess) and a standard deviation (its doubt, small near trials). Expected improvement "
    "is high where the mean is good or the doubt is large; the next trial goes near its peak. "
    "(Refitted here with scikit-learn to draw it: close to, not exactly, Optuna's own model.)",
    "cmaes": "CMA-ES samples each generation from a normal distribution: the ellipses hold the "
    "middle of it (1σ and 2σ). After each generation the mean moves towards the best points and "
    "the ellipse stretches along directions that paid off and shrinks as it closes in.",
    "nsga2": "The genetic algorithm starts with a random population; each later generation's "
    "children are crossovers and mutations of good parents from earlier ones. Colours are "
    "generations: watch them gather in good regions.",
    "nsga3": "NSGA-III evolves its population like NSGA-II; it differs only in how it breaks ties "
    "among equally good points (by reference directions), which shows with several objectives, "
    "not on one score: expect the same gathering of generations in good regions.",
    "hyperopt_tpe": "Hyperopt's TPE draws its first 20 points at random; then, like TPE, it "
    "splits the trials into the best few and the rest and keeps the candidate most likely under "
    "the best, but for each axis on its own: x and y are chosen separately, so a good diagonal "
    "valley is harder for it to follow than for Optuna's TPE, which models them together.",
    "hyperopt_anneal": "Annealing picks one of the best points so far and draws the next one "
    "near it, in a neighbourhood that narrows as trials accumulate: early points jump across "
    "the square, later ones cluster around the best.",
    "hyperopt_random": "As random search: each point is drawn independently of every score; only "
    "the random stream differs from Optuna's (the first point, before any has finished, comes "
    "from Optuna's random sampler, as the landscape's axes are not known yet).",
    "hyperband": "Every trial learns step by step (right). At the rungs (dashed lines) a "
    "trial is compared with others that reached the same budget in its bracket; those "
    "outside the top third are stopped (×). Brackets differ in how early stopping starts.",
    "successive_halving": "Every trial learns step by step (right). At each rung (dashed) "
    "only the top third of the trials that reached it may go on; the others are stopped (×). "
    "Most of the budget goes to the few that looked best early.",
    "median": "Every trial learns step by step (right). After its warm-up a trial whose "
    "score is worse than the median of earlier trials at the same step is stopped (×).",
}


@dataclass
class MethodRun:
    """One method's whole search on one landscape: its Optuna trials, in order."""

    landscape: str
    method: str
    seed: int
    n_trials: int
    direction: str
    trials: list[FrozenTrial]
    lattice: list[tuple[float, float]] = field(default_factory=list)  # grid search only
    brackets: list[int | None] = field(default_factory=list)  # Hyperband's bracket per trial

    @property
    def spec(self) -> MethodSpec:
        return get_method(self.method)

    @property
    def land(self) -> Landscape:
        return get_landscape(self.landscape)

    def xy(self, upto: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        land, ts = self.land, self.trials[:upto]
        return (np.array([t.params[land.x.name] for t in ts], float),
                np.array([t.params[land.y.name] for t in ts], float))  # fmt: skip

    def values(self) -> list[float | None]:
        """Final score per trial; None for a trial stopped early (its final score is unknown)."""
        return [t.value if t.state == TrialState.COMPLETE else None for t in self.trials]

    def best_so_far(self) -> list[float | None]:
        out, best = [], None
        pick = max if self.direction == "maximize" else min
        for v in self.values():
            if v is not None:
                best = v if best is None else pick(best, v)
            out.append(best)
        return out

    def steps(self) -> list[int]:
        """Budget steps each trial used (the full budget for single-fidelity methods)."""
        if not self.spec.multi_fidelity:
            return [FIDELITY_STEPS] * len(self.trials)
        return [max(t.intermediate_values, default=0) for t in self.trials]

    def budget_spent(self) -> list[int]:
        """Budget steps spent by the end of each trial (trials run one after another)."""
        return [int(v) for v in np.cumsum(self.steps())]

    def best_within(self, budget: int) -> float | None:
        """The best score of the trials that finished within `budget` steps (None: none did)."""
        best = None
        for spent, b in zip(self.budget_spent(), self.best_so_far(), strict=True):
            if spent > budget:
                break
            best = b
        return best


def same_budget(runs: list[MethodRun]) -> int:
    """The smallest total budget any of the methods spent: the budget they are compared at."""
    return min(sum(r.steps()) for r in runs)


def _suggest(trial: optuna.Trial, axis) -> float:
    if axis.integer:
        return trial.suggest_int(axis.name, int(axis.low), int(axis.high), log=axis.log)
    return trial.suggest_float(axis.name, axis.low, axis.high, log=axis.log)


def _lattice(land: Landscape, n_trials: int) -> list[tuple[float, float]]:
    """The grid method's lattice: k x k with k*k <= n_trials, values from the same code the
    runner's grid search uses (log-spaced where the axis is log)."""
    k = max(2, math.isqrt(n_trials))

    def values(a):
        make = int_param if a.integer else float_param
        return make(a.name, a.low, a.high, log=a.log).grid_values(k)

    return [(x, y) for y in values(land.y) for x in values(land.x)]


def check_request(landscape: str, methods: list[str], n_trials: int) -> None:
    get_landscape(landscape)
    if not methods:
        raise ConfigError("Pick at least one method to watch.")
    if len(methods) > MAX_METHODS:
        raise ConfigError(f"Pick at most {MAX_METHODS} methods: side by side, more get too small.")
    for m in methods:
        if m not in LEARN_METHODS:
            raise ConfigError(
                f"'{m}' cannot run on a landscape; choose from {', '.join(LEARN_METHODS)}."
            )
    if not MIN_TRIALS <= n_trials <= MAX_TRIALS:
        raise ConfigError(f"Trials must be between {MIN_TRIALS} and {MAX_TRIALS}, got {n_trials}.")


def run_method(landscape: str, method: str, n_trials: int, seed: int = 0) -> MethodRun:
    """Search `landscape` with `method` for `n_trials` trials (grid: the largest k x k lattice
    that fits) in an in-memory Optuna study seeded with `seed`."""
    check_request(landscape, [method], n_trials)
    land, spec = get_landscape(landscape), get_method(method)
    study = optuna.create_study(
        direction=land.direction, sampler=spec.sampler(seed), pruner=spec.pruner(BUDGET)
    )
    lattice = []
    if spec.enumerates_grid:
        lattice = _lattice(land, n_trials)
        for x, y in lattice:
            study.enqueue_trial({land.x.name: x, land.y.name: y})
        n_trials = len(lattice)

    def objective(trial: optuna.Trial) -> float:
        x, y = _suggest(trial, land.x), _suggest(trial, land.y)
        if not spec.multi_fidelity:
            return land.value(x, y)
        for step in range(1, FIDELITY_STEPS + 1):
            trial.report(land.value_at_step(x, y, step), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return land.value(x, y)  # the true score, which the last step reached

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # samplers' experimental / independent-sampling notes
        study.optimize(objective, n_trials=n_trials)
    trials = study.get_trials(deepcopy=False)
    brackets: list[int | None] = []
    if isinstance(study.pruner, optuna.pruners.HyperbandPruner):
        # Hyperband assigns each trial to a bracket by its number; Optuna keeps that private,
        # and the bracket is what the rungs view colours by.
        brackets = [compat.bracket_id(study.pruner, study, t) for t in trials]
    return MethodRun(
        landscape, method, seed, len(trials), land.direction, trials, lattice, brackets
    )


# -- what drove each choice ----------------------------------------------------------------
def _finished_before(run: MethodRun, t: int) -> list[FrozenTrial]:
    return [tr for tr in run.trials[:t] if tr.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def _space(run: MethodRun) -> dict:
    land = run.land
    return {land.x.name: land.x.distribution(), land.y.name: land.y.distribution()}


def tpe_densities(run: MethodRun, t: int, n: int = 40) -> dict[str, Any] | None:
    """TPE's good density l(x) and bad density g(x) when it chose trial `t` (0-based), on an
    n x n grid; None while TPE was still in its random start-up phase.

    Optuna has no public way to read its densities, so this calls the sampler's own (private)
    split and Parzen-estimator code on the trials it had seen: the very model that proposed
    trial t, not a re-implementation.
    """
    sampler = run.spec.sampler(run.seed)
    if not isinstance(sampler, optuna.samplers.TPESampler):
        return None
    seen = _finished_before(run, t)
    if len(seen) < compat.tpe_startup_trials(sampler):
        return None
    land, space = run.land, _space(run)
    study = optuna.create_study(direction=run.direction)  # only its direction is read
    below, above, l_est, g_est = compat.tpe_densities(sampler, study, space, seen)
    xs, ys = land.x.points(n), land.y.points(n)
    gx, gy = np.meshgrid(xs, ys)
    grid = {land.x.name: gx.ravel(), land.y.name: gy.ravel()}
    log_l = l_est.log_pdf(grid).reshape(n, n)
    log_g = g_est.log_pdf(grid).reshape(n, n)
    return {"xs": xs, "ys": ys, "log_l": log_l, "log_g": log_g,
            "good": [tr.number for tr in below], "bad": [tr.number for tr in above]}  # fmt: skip


def gp_surrogate(run: MethodRun, t: int, n: int = 40) -> dict[str, Any] | None:
    """A Gaussian process's mean, uncertainty and expected improvement from trials before `t`.

    Optuna's GPSampler keeps its fitted model inside the sampling call (torch, private), so it
    cannot be read back. This refits the same kind of model, a Matern-5/2 GP on the unit square
    (log axes log-scaled, scores standardized), with scikit-learn, and computes expected
    improvement from it: an illustration of what drives the choice, not Optuna's exact numbers.
    """
    from scipy.stats import norm
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    seen = [tr for tr in run.trials[:t] if tr.state == TrialState.COMPLETE]
    if len(seen) < 2:
        return None
    land = run.land
    X = np.column_stack([land.x.to_unit([tr.params[land.x.name] for tr in seen]),
                         land.y.to_unit([tr.params[land.y.name] for tr in seen])])  # fmt: skip
    sign = 1.0 if run.direction == "maximize" else -1.0  # the GP maximizes sign * score
    y = sign * np.array([tr.value for tr in seen], float)
    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(0.2, (1e-2, 10.0), nu=2.5) + WhiteKernel(
        1e-4, (1e-8, 1e-1)
    )
    gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes on tiny samples
        gp.fit(X, y)
    us = np.linspace(0, 1, n)
    gu, gv = np.meshgrid(us, us)
    mean, std = gp.predict(np.column_stack([gu.ravel(), gv.ravel()]), return_std=True)
    best = y.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (mean - best) / std
        ei = np.where(std > 0, (mean - best) * norm.cdf(z) + std * norm.pdf(z), 0.0)
    k = int(np.argmax(ei))
    return {"xs": land.x.from_unit(us), "ys": land.y.from_unit(us),
            "mean": (sign * mean).reshape(n, n), "std": std.reshape(n, n),
            "ei": ei.reshape(n, n),
            "ei_best": (float(land.x.from_unit(us[k % n])), float(land.y.from_unit(us[k // n])))}  # fmt: skip


def cmaes_distribution(run: MethodRun, t: int) -> dict[str, Any] | None:
    """CMA-ES's search distribution when it chose trial `t`: mean, and the 1- and 2-sigma
    ellipses as point lists in landscape coordinates; None if trial t was a random start.

    The `cmaes` optimizer Optuna used is stored (pickled by Optuna itself, in memory) on the
    trial where a generation was told; the sampler's own restore returns it. The sampler works
    on the unit square (log axes log-scaled), so the ellipse is drawn there and mapped back.
    """
    sampler = run.spec.sampler(run.seed)
    trial = run.trials[t]
    upto = [tr for tr in run.trials[: t + 1] if tr.state == TrialState.COMPLETE or tr.number == t]
    direction = optuna.study.StudyDirection[run.direction.upper()]
    generation, opt = compat.cmaes_state(sampler, _space(run), trial, upto, direction)
    if generation is None:
        return None
    sigma, c = compat.cmaes_sigma_cov(opt)
    mean, cov = np.asarray(opt.mean, float), (sigma**2) * np.asarray(c, float)
    vals, vecs = np.linalg.eigh(cov)
    angle = np.linspace(0, 2 * np.pi, 61)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    land, names = run.land, list(_space(run))

    def to_xy(points: np.ndarray) -> tuple[list[float], list[float]]:
        # Map from the unit square back to the axes (log where log); integers not rounded.
        axes = [land.x, land.y]
        pts = np.clip(points, 0.0, 1.0)
        order = [names.index(land.x.name), names.index(land.y.name)]
        return ([float(v) for v in axes[0].from_unit(pts[order[0]])],
                [float(v) for v in axes[1].from_unit(pts[order[1]])])  # fmt: skip

    ellipses = {}
    for k in (1, 2):
        pts = mean[:, None] + vecs @ (k * np.sqrt(np.maximum(vals, 0))[:, None] * circle)
        ellipses[k] = to_xy(pts)
    mx, my = to_xy(mean[:, None])
    members = [tr.number for tr in run.trials
               if compat.cmaes_generation(sampler, tr) == generation]  # fmt: skip
    return {"generation": int(generation), "mean": (mx[0], my[0]), "sigma": sigma,
            "ellipses": ellipses, "members": members}  # fmt: skip


def generations(run: MethodRun) -> list[int | None]:
    """The genetic algorithm's generation of each trial, as NSGA-II recorded it."""
    sampler = run.spec.sampler(run.seed)
    if not isinstance(sampler, optuna.samplers.NSGAIISampler):
        return [None] * len(run.trials)
    return [compat.nsga_generation(sampler, tr) for tr in run.trials]


def rungs(run: MethodRun) -> list[int]:
    """Budget levels at which a multi-fidelity method compares trials (1, 3, 9, 27 for η=3)."""
    spec = run.spec
    if spec.name in ("hyperband", "successive_halving"):
        eta = spec.defaults["reduction_factor"]
        out, r = [], BUDGET.min_step
        while r <= BUDGET.max_step:
            out.append(r)
            r *= eta
        return out
    return []


def distance(land: Landscape, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two points as a fraction of the landscape's diagonal, measured the way
    the methods see the space (log axes log-scaled): 0 = same point, 1 = opposite corners."""
    du = float(land.x.to_unit(a[0]) - land.x.to_unit(b[0]))
    dv = float(land.y.to_unit(a[1]) - land.y.to_unit(b[1]))
    return math.hypot(du, dv) / math.sqrt(2)
