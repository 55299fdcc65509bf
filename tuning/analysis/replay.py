"""Why this trial? TPE's reasoning rebuilt on a real run (issue 26, its replay part, begun).

For a trial TPE proposed, `tpe_replay` rebuilds what the sampler knew when the trial began:
the trials finished by then, split into good and bad as TPE splits them, and the good and bad
Parzen densities built by the sampler's own (private) code, with the run's own sampler settings
(tuning.store.compat.tpe_densities, the code Learn draws from). TPE proposes the candidate with
the highest log l(x) - log g(x); the replay scores the trial's actual point that way and ranks it
among random points of the searched space. A faithful replay ranks the actual point near the
top; benchmarks/replay_faithfulness.py measures how often it lands in the top 10 %.

Trials that were still running when the trial began are left out: with the constant liar TPE
counted them as bad, so on a run with several workers the replay is an approximation, and says
so. Where the state cannot be rebuilt (not a TPE trial, a start-up trial, a queued one, a
parameter the trial lacks) the answer is one sentence saying why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
from tuning.store.origin import MODEL
from tuning.store.trials import trial_origin

RANDOM_POINTS = 1000  # points of the space the trial's point is ranked among


@dataclass(frozen=True)
class TpeReplay:
    """TPE's reasoning for one trial, rebuilt from the trials it knew."""

    trial: int
    known: int  # trials finished before it began
    good: list[int]  # the trials TPE counted as good (its "below" group)
    bad: list[int]
    score: float  # log l(x) - log g(x) at the trial's point
    rank: float  # share of the random points scored below it (1.0: above them all)
    running: int  # trials running when it began, left out (TPE's constant liar saw them)

    @property
    def sentence(self) -> str:
        ratio = math.exp(min(self.score, 700.0))
        text = (
            f"TPE, from {self.known} finished trials ({len(self.good)} good, {len(self.bad)} "
            f"bad): this point is {ratio:.3g}x likelier under the good trials than the bad, "
            f"above {self.rank:.0%} of {RANDOM_POINTS:,} random points of the space"
        )
        if self.running:
            text += (f"; {self.running} trials were running then and are left out, so this is "
                     "an approximation")  # fmt: skip
        return text + "."


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


def tpe_replay(
    study: optuna.Study, number: int, sampler: TPESampler, n: int = RANDOM_POINTS, seed: int = 0
) -> TpeReplay | str:
    """TPE's reasoning for trial `number` of `study`, with the run's `sampler` (its settings:
    start-up trials, gamma); a sentence saying why where it cannot be rebuilt."""
    trials = study.get_trials(deepcopy=False)
    target = next((t for t in trials if t.number == number), None)
    if target is None:
        return f"There is no trial {number} in this run."
    origin = trial_origin(target)
    if origin.kind != MODEL or origin.by != "TPE":
        return f"Trial {number} was not proposed by TPE's model ({origin.sentence})."
    space = {k: d for k, d in target.distributions.items() if not d.single()}
    if not space:
        return f"Trial {number} has no searched parameter to replay."
    known, running = known_before(trials, target)
    if len(known) < max(2, compat.tpe_startup_trials(sampler) or 0):
        return (f"Only {len(known)} trials had finished before trial {number}: too few to "
                "rebuild TPE's model.")  # fmt: skip
    rng = np.random.default_rng(seed)
    points = {k: random_internal(d, n, rng) for k, d in space.items()}
    mine = {k: np.asarray([d.to_internal_repr(target.params[k])]) for k, d in space.items()}
    scores, own = np.zeros(n), 0.0
    below: list = []
    above: list = []
    # TPE models each group of parameters that always appear together on its own (conditional
    # parameters, such as an SVM's gamma under one kernel) and maximizes each group's ratio.
    for group in groups(known + [target]):
        sub = {k: space[k] for k in sorted(group) if k in space}
        if not sub:
            continue
        below, above, l_est, g_est = compat.tpe_densities(sampler, study, sub, known)
        scores += l_est.log_pdf({k: points[k] for k in sub}) - g_est.log_pdf(
            {k: points[k] for k in sub})  # fmt: skip
        own += float((l_est.log_pdf({k: mine[k] for k in sub})
                      - g_est.log_pdf({k: mine[k] for k in sub}))[0])  # fmt: skip
    return TpeReplay(
        trial=number, known=len(known), good=[t.number for t in below],
        bad=[t.number for t in above], score=own, rank=float(np.mean(scores < own)),
        running=running,
    )  # fmt: skip


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
