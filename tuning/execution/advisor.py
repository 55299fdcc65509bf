"""The stop advisor's rule on a run's complete trials: is it worth going on?

At checkpoints along the run (every few complete trials), it compares what further trials can
still gain with the run's own CV noise:

- the regret rule (Makarova et al., "Automatic termination for hyperparameter optimization",
  AutoML 2022): a Gaussian process fitted on the top trials bounds how far the best found so
  far can be from the best of the whole space (`optuna.terminator.RegretBoundEvaluator`);
- the plateau test: what the best score gained over the last `window(n)` complete trials. It is
  the whole rule where the bound does not apply (categorical-only spaces, runs whose trials are
  pruned, population-based training, multi-objective runs, studies without fold scores), and
  the regret rule's second test: the bound's confidence factor grows with the trial count
  (Optuna's `_get_beta`), so on a long plateau of noisy scores the bound can stay just above
  the noise for good while the best stands still (Optuna pairs it with a stagnation test too:
  `BestValueStagnationEvaluator`).

The noise is the CV error of the best trial so far, sqrt((1/k + 1/(k-1)) var(fold scores)) over
its k folds: the corrected estimate of Makarova et al. that Optuna's
`CrossValidationErrorEvaluator` computes (it reads the scores from system attributes, which
Optuna 5 no longer has, so it is computed here from our trials' fold scores).

The rule says "stop" at the first checkpoint where the gain (the bound, or the plateau's gain)
has been under the noise at CONSECUTIVE checkpoints in a row, after at least MIN_TRIALS
complete trials. A `Tracker` keeps the points it computed, so that a page or a worker computes
each checkpoint once.

This is the one module that touches `optuna.terminator` (deprecated since Optuna 4.9, removal
planned for 6.0): replacing it costs this file.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from optuna.exceptions import ExperimentalWarning
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from tuning.store.trials import TrialMetrics

MIN_TRIALS = 20  # complete trials before the advisor judges (the GP needs that many to fit)
CONSECUTIVE = 2  # checkpoints in a row with the gain under the noise before it says stop
GP_TOP = 150  # at most this many top trials are fed to the GP: its fit grows as n^3
PLATEAU_SHARE = 0.5  # the plateau rule looks back over this share of the trials so far...
PLATEAU_MIN = 20  # ...and at least this many


class Rule(StrEnum):
    REGRET = "regret bound or plateau"  # the bound, and the plateau test beside it
    PLATEAU = "plateau"


@dataclass(frozen=True)
class Point:
    """The advisor at one checkpoint: after `n` complete trials (the n-th is trial `trial`),
    the best score among them (as the scores go), what further trials can still gain (`gain`,
    score units; the regret bound, or for the plateau rule what the last window gained), what
    the best gained over the last `window(n)` complete trials (`recent`: the plateau test,
    None before a whole window) and the CV noise of the best (None where the best has no fold
    scores)."""

    n: int
    trial: int
    best: float
    gain: float | None
    noise: float | None
    recent: float | None = None

    def _under(self, x: float | None) -> bool:
        if x is None or not math.isfinite(x):
            return False
        return x <= 0 if self.noise is None else x < self.noise

    @property
    def flat(self) -> bool:
        """The gain, or the best's recent gain, is under the noise (without fold scores: no
        gain at all)."""
        return self._under(self.gain) or self._under(self.recent)

    @property
    def by_plateau(self) -> bool:
        """Flat by the plateau test alone (the bound, where there is one, is not under the
        noise)."""
        return self._under(self.recent) and not self._under(self.gain)


def cv_error(folds: Sequence[float]) -> float | None:
    """The CV error of a mean over k fold scores (None under 2 folds or non-finite scores)."""
    x = np.asarray([f for f in folds if f is not None], dtype=float)
    k = len(x)
    if k < 2 or not np.isfinite(x).all():
        return None
    return float(math.sqrt((1 / k + 1 / (k - 1)) * np.var(x)))


def checkpoints(n_complete: int, start: int = MIN_TRIALS) -> list[int]:
    """The complete-trial counts at which the advisor looks: every 5 up to 200, every 10 up to
    1,000, then every 50; the same for every reader, so a page and a worker agree."""
    marks, n = [], start
    while n <= n_complete:
        marks.append(n)
        n += 5 if n < 200 else 10 if n < 1000 else 50
    return marks


def window(n: int) -> int:
    """How many of the last complete trials the plateau rule looks back over, at n."""
    return max(PLATEAU_MIN, math.ceil(PLATEAU_SHARE * n))


def pick_rule(
    *, categorical_only: bool, pruned: bool, population: bool, multi_objective: bool,
    has_folds: bool,
) -> tuple[Rule, str | None]:  # fmt: skip
    """The rule for a run, and why the regret bound is not used (None where it is)."""
    why = (
        "the run has several objectives: there is no single score for the bound to model"
        if multi_objective
        else "population-based training changes its models' settings while they train"
        if population
        else "its trials are stopped early (multi-fidelity): the bound sees only the few that "
        "completed"
        if pruned
        else "every searched parameter is a choice among values, where the bound is loose"
        if categorical_only
        else "its trials keep no fold scores, so the CV noise is unknown"
        if not has_folds
        else None
    )
    return (Rule.PLATEAU, why) if why else (Rule.REGRET, None)


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def _quiet_gp():
    """Silence the GP module's "kernel fit failed, default parameters used" warning while the
    bound is computed: it falls back by itself, and the warning would interleave with a run's
    progress on the console at every check."""
    log = logging.getLogger("optuna._gp.gp")
    quiet = _Quiet()
    log.addFilter(quiet)
    try:
        yield
    finally:
        log.removeFilter(quiet)


def regret_bound(trials: Sequence[FrozenTrial], maximize: bool, seed: int = 0) -> float | None:
    """The bound on what further trials can still gain over the best of `trials` (complete,
    single-objective), or None where it cannot be computed (no common parameter, a GP that
    does not fit)."""
    # The terminator is deprecated since Optuna 4.9 and its evaluator is experimental: the
    # warnings say so on every call, which would flood a worker's console and the pages.
    with warnings.catch_warnings(), _quiet_gp():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from optuna.terminator import RegretBoundEvaluator

        ratio = min(0.5, GP_TOP / max(1, len(trials)))
        evaluator = RegretBoundEvaluator(top_trials_ratio=ratio, min_n_trials=MIN_TRIALS, seed=seed)
        direction = StudyDirection.MAXIMIZE if maximize else StudyDirection.MINIMIZE
        try:
            bound = float(evaluator.evaluate(list(trials), direction))
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            return None
    return bound if math.isfinite(bound) else None


def stop_index(points: Sequence[Point], consecutive: int = CONSECUTIVE) -> int | None:
    """The index of the first point where the last `consecutive` points were all flat."""
    run = 0
    for i, p in enumerate(points):
        run = run + 1 if p.flat else 0
        if run >= consecutive:
            return i
    return None


class Tracker:
    """A run's advisor points, each computed once: pass the complete trials (in trial order)
    to `update` as the run grows; a point whose n-th trial changed is computed again.
    Thread-safe (a page's sessions share one per run)."""

    def __init__(self, rule: Rule, maximize: bool, consecutive: int = CONSECUTIVE) -> None:
        self.rule, self.maximize = rule, maximize
        self.consecutive = consecutive  # flat checks in a row before it stops (benchmarks vary it)
        self.points: dict[int, Point] = {}
        self.lock = threading.Lock()
        self.seconds = 0.0  # spent computing points (the GP fits), for who wants to know

    def update(
        self, trials: Sequence[FrozenTrial], budget_s: float | None = None,
        until_stop: bool = False,
    ) -> list[Point]:  # fmt: skip
        """The points at the checkpoints of `trials` (complete, in trial order), in order.
        `budget_s`: computing stops after that many seconds, past the first new point (the
        rest comes on the next call), so that a page refresh stays short. `until_stop`: no point after the first stop is
        computed (who asks only where the advisor would stop)."""
        with self.lock:
            t0 = time.perf_counter()
            sign = 1.0 if self.maximize else -1.0
            goodness = np.maximum.accumulate(sign * np.array([t.values[0] for t in trials]))
            points: list[Point] = []
            new = 0
            for n in checkpoints(len(trials)):
                known = self.points.get(n)
                if known is None or known.trial != trials[n - 1].number:
                    if budget_s is not None and self._spent(budget_s, new, t0):
                        break
                    known = self.points[n] = self._point(trials, goodness, n)
                    new += 1
                points.append(known)
                if until_stop and stop_index(points, self.consecutive) is not None:
                    break
            self.seconds += time.perf_counter() - t0
            return points

    @staticmethod
    def _spent(budget_s: float, new: int, t0: float) -> bool:
        """Out of time: a positive budget computes at least one new point, so that a page
        that looks often always moves on; 0 computes none."""
        return budget_s <= 0 or (new > 0 and time.perf_counter() - t0 > budget_s)

    def _point(self, trials: Sequence[FrozenTrial], goodness: np.ndarray, n: int) -> Point:
        sign = 1.0 if self.maximize else -1.0
        best_at = int(np.argmax(sign * np.array([t.values[0] for t in trials[:n]])))
        noise = cv_error(TrialMetrics.of(trials[best_at]).fold_scores)
        back = n - window(n)
        recent = float(goodness[n - 1] - goodness[back - 1]) if back >= 1 else None
        gain = regret_bound(trials[:n], self.maximize) if self.rule == Rule.REGRET else recent
        return Point(n, trials[n - 1].number, float(sign * goodness[n - 1]), gain, noise, recent)


class FlatWatch:
    """The engine's side of `stop_when_flat`: after each trial, whether the advisor says stop.

    Cheap between checkpoints (a count of the complete trials, no copy); at a checkpoint it
    computes the new point (one GP fit for the regret rule). The rule is picked at the first
    checkpoint, from the search space, the pruner and the fold scores of the best trial."""

    def __init__(self, *, maximize: bool, categorical_only: bool, pruned: bool) -> None:
        self.maximize, self.categorical_only, self.pruned = maximize, categorical_only, pruned
        self.tracker: Tracker | None = None
        self.seen = 0  # complete trials at the last look

    def check(self, complete: Sequence[FrozenTrial]) -> Point | None:
        """The point at which the advisor stops, given the run's complete trials; None: go on."""
        n = len(complete)
        marks = checkpoints(n)
        if not marks or (self.seen and checkpoints(self.seen)[-1:] == marks[-1:]):
            self.seen = n
            return None
        self.seen = n
        trials = sorted(complete, key=lambda t: t.number)
        if self.tracker is None:
            sign = 1.0 if self.maximize else -1.0
            best = max(trials, key=lambda t: sign * t.values[0])
            rule, _ = pick_rule(
                categorical_only=self.categorical_only, pruned=self.pruned, population=False,
                multi_objective=False,
                has_folds=cv_error(TrialMetrics.of(best).fold_scores) is not None,
            )  # fmt: skip
            self.tracker = Tracker(rule, self.maximize)
        points = self.tracker.update(trials, until_stop=True)
        at = stop_index(points, self.tracker.consecutive)
        return points[at] if at is not None else None


ADVISOR_ENDED = "Stopped by the stop advisor"  # how the message of a run it ended begins


def flat_reason(point: Point) -> str:
    """The run's end, as its status message says it."""
    noise = f"the CV noise (±{point.noise:.2g})" if point.noise else "zero (no new best)"
    if point.by_plateau:
        return (
            f"{ADVISOR_ENDED} at trial {point.trial}: the best score rose by less than {noise} "
            f"over the last {window(point.n)} complete trials."
        )
    return (
        f"{ADVISOR_ENDED} at trial {point.trial}: further trials were unlikely "
        f"to gain more than {noise}."
    )
