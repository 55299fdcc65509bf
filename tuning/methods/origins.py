"""Where a sampler's trial came from and why a pruner stopped it, decided when it happens.

One small rule per sampler family says, at the start of a trial (its parameters are drawn when
Optuna asks for it, before the objective runs), what drove the draw: TPE's random start-up or its
model (with the constant liar where other trials were running), the Gaussian process, a CMA-ES
or genetic generation, random or quasi-random draws. A method whose sampler is none of these
gives its own rule (`SamplerMethod.origin_rule`); any other sampler is "proposed by" its
method's name. One rule per pruner family says, when it stops a trial, where and against what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
from optuna.pruners import (
    BasePruner,
    HyperbandPruner,
    MedianPruner,
    PercentilePruner,
    SuccessiveHalvingPruner,
)
from optuna.samplers import (
    BaseSampler,
    CmaEsSampler,
    GPSampler,
    NSGAIIISampler,
    NSGAIISampler,
    QMCSampler,
    RandomSampler,
    TPESampler,
)
from optuna.trial import FrozenTrial, TrialState

from tuning.core.budget import Budget
from tuning.core.enums import BudgetKind
from tuning.store import compat
from tuning.store.origin import (
    BY_HAND,
    MODEL,
    PROPOSED,
    QUASI_RANDOM,
    RANDOM,
    START_UP,
    Origin,
    Pruning,
)


@dataclass(frozen=True)
class Seen:
    """What the study held when the trial was asked for (read once per trial)."""

    finished: int  # complete or pruned: what TPE counts
    complete: int  # what the Gaussian process and CMA-ES count
    running: int  # other trials still running


def seen_by(study: optuna.Study, trial: optuna.Trial) -> Seen:
    """Counted over the trials as the sampler read them for this trial (no storage read)."""
    finished = complete = running = 0
    for t in compat.sampler_view(study):
        if t.state == TrialState.COMPLETE:
            complete += 1
        elif t.state == TrialState.RUNNING and t.number != trial.number:
            running += 1
        elif t.state != TrialState.PRUNED:
            continue
        finished += t.state != TrialState.RUNNING
    return Seen(finished, complete, running)


# (study, trial, sampler, what it had seen) -> the trial's origin; `seen()` counts the trials
# only for the rules that need them (a random draw does not: its bookkeeping stays cheap).
OriginRule = Callable[[optuna.Study, optuna.Trial, BaseSampler, Callable[[], Seen]], Origin]


def _start_up_or(by: str, count: int, n: int | None) -> Origin | None:
    if n is not None and count < n:
        return Origin(START_UP, by=by, k=count + 1, n=n, finished=count)
    return None


def tpe_origin(study, trial, sampler, seen: Callable[[], Seen]) -> Origin:
    seen = seen()
    found = _start_up_or("TPE", seen.finished, compat.startup_trials(sampler))
    if found:
        return found
    liar = seen.running if compat.constant_liar(sampler) and seen.running else None
    return Origin(MODEL, by="TPE", finished=seen.finished, running=liar)


def gp_origin(study, trial, sampler, seen: Callable[[], Seen]) -> Origin:
    seen = seen()
    found = _start_up_or("the Gaussian process", seen.complete, compat.startup_trials(sampler))
    # Decided once the trial's joint parameters are drawn (`decide`): the sampler holds the fit
    # it drew them with.
    return found or Origin(MODEL, by="the Gaussian process", finished=seen.complete,
                           kernel=compat.gp_kernel_cache(sampler))  # fmt: skip


def cmaes_origin(study, trial, sampler, seen: Callable[[], Seen]) -> Origin:
    seen = seen()
    found = _start_up_or("CMA-ES", seen.complete, compat.startup_trials(sampler))
    if found:
        return found
    generation = compat.generation_attr(compat.live_frozen(trial))
    if generation is None:  # CMA-ES drew nothing itself
        return Origin(RANDOM, note="CMA-ES cannot model this search space (it models two or "
                      "more numeric parameters together), so it drew at random")  # fmt: skip
    return Origin(MODEL, by="CMA-ES", generation=generation[1], finished=seen.complete)


def genetic_origin(study, trial, sampler, seen: Callable[[], Seen]) -> Origin:
    seen = seen()
    found = compat.generation_attr(compat.live_frozen(trial))
    if found is None:
        return Origin(PROPOSED, by=type(sampler).__name__)
    who, generation = found
    if generation == 0:
        return Origin(START_UP, by=who, generation=0, finished=seen.complete)
    return Origin(
        MODEL, by=who, generation=generation, finished=seen.complete,
        note=f"a child of generation {generation - 1}'s best (crossover and mutation)",
    )  # fmt: skip


def random_origin(study, trial, sampler, seen: Callable[[], Seen]) -> Origin:
    return Origin(RANDOM)


def qmc_origin(study, trial, sampler, seen: Callable[[], Seen]) -> Origin:
    if seen().finished == 0:  # the sequence learns the space from the first finished trial
        return Origin(RANDOM, note="the first trial, before the sequence knows the space")
    return Origin(QUASI_RANDOM, by=f"a {compat.qmc_kind(sampler)} sequence")


# The rule of each sampler family, most specific first (a subclass keeps its parent's rule).
RULES: tuple[tuple[type, OriginRule], ...] = (
    (TPESampler, tpe_origin), (GPSampler, gp_origin), (CmaEsSampler, cmaes_origin),
    (NSGAIISampler, genetic_origin), (NSGAIIISampler, genetic_origin),
    (QMCSampler, qmc_origin), (RandomSampler, random_origin),
)  # fmt: skip


def rule_for(sampler: BaseSampler) -> OriginRule | None:
    return next((rule for cls, rule in RULES if isinstance(sampler, cls)), None)


def decide(
    study: optuna.Study, trial: optuna.Trial, rule: OriginRule | None, label: str
) -> Origin:
    """A trial's origin at its start: queued ones as they were queued (with fixed parameters
    but no origin: by hand), else the method's own rule, else its sampler family's, else
    "proposed by" the method. A rule that fails says so rather than failing the trial."""
    if compat.live_fixed_params(trial):
        return Origin.queued(BY_HAND)
    sampler = study.sampler
    rule = rule or rule_for(sampler)
    if rule is None:
        return Origin(PROPOSED, by=label)
    try:
        # Optuna draws a trial's joint (relative) parameters at its first suggestion: draw them
        # now, so that what the sampler records of its draw (a generation) can be read.
        trial.relative_params  # noqa: B018 - the property draws them
        return rule(study, trial, sampler, lambda: seen_by(study, trial))
    except Exception as exc:  # noqa: BLE001 - the trial runs on; its origin says what failed
        return Origin(PROPOSED, by=label, note=f"its reasoning could not be read ({exc})")


# -- pruning -------------------------------------------------------------------------------------
UNITS = {BudgetKind.FOLDS: "fold", BudgetKind.EPOCHS: "epoch", BudgetKind.ROUNDS: "boosting round"}


def why_pruned(study: optuna.Study, trial: optuna.Trial, budget: Budget) -> Pruning:
    """Why the study's pruner stopped `trial` at its last step: its rung and the trials it was
    ranked against (successive halving, Hyperband), or the median it fell below; read from the
    pruner's own records, right after it decided."""
    pruner = study.pruner
    frozen = compat.live_frozen(trial)
    step = frozen.last_step or 0
    base = Pruning(by=_pruner_words(pruner), step=step, of=budget.max_step,
                   unit=UNITS.get(budget.kind, "step"))  # fmt: skip
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    if isinstance(pruner, HyperbandPruner):
        bracket = compat.bracket_id(pruner, study, frozen)
        same = [t for t in study.get_trials(deepcopy=False)
                if compat.bracket_id(pruner, study, t) == bracket]  # fmt: skip
        sub = compat.pruner_of_bracket(pruner, bracket)
        return _halving(base, frozen, same, sub, maximize, bracket=bracket + 1)
    if isinstance(pruner, SuccessiveHalvingPruner):
        return _halving(base, frozen, study.get_trials(deepcopy=False), pruner, maximize)
    if isinstance(pruner, PercentilePruner):
        return _median(base, frozen, study, step, maximize)
    return base


def _halving(base: Pruning, frozen: FrozenTrial, trials: list[FrozenTrial], pruner: BasePruner,
             maximize: bool, bracket: int | None = None) -> Pruning:  # fmt: skip
    """Successive halving ranks a trial's score at its rung among every score ranked there so
    far, and keeps the best 1/η (the first `len // η`, at least one)."""
    rung = compat.completed_rungs(frozen) - 1
    if rung < 0:
        return base
    factor, _ = compat.halving_settings(pruner)
    values = sorted(compat.rung_values(trials, rung), reverse=maximize)
    own = compat.rung_values([frozen], rung)
    cutoff = values[max(0, len(values) // factor - 1)] if values else None
    return Pruning(
        by=base.by, step=base.step, of=base.of, unit=base.unit, rung=rung + 1, bracket=bracket,
        value=own[0] if own else None, against=cutoff, among=len(values),
        rule=f"its score was not in the top 1/{factor}",
    )  # fmt: skip


def _median(base: Pruning, frozen: FrozenTrial, study: optuna.Study, step: int,
            maximize: bool) -> Pruning:  # fmt: skip
    """The median pruner compares the trial's best score so far with the median (a percentile)
    of the complete trials' scores at the same step."""
    values = [t.intermediate_values[step]
              for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
              if step in t.intermediate_values]  # fmt: skip
    own = [v for s, v in frozen.intermediate_values.items() if s <= step]
    if not values or not own:
        return base
    pct = compat.percentile_of(study.pruner)
    cut = float(np.nanpercentile(values, 100 - pct if maximize else pct))
    best = max(own) if maximize else min(own)
    rule = "its best score so far was " + (
        ("below the median" if maximize else "above the median") if pct == 50
        else f"outside the best {100 - pct:g} %"
    )  # fmt: skip
    return Pruning(by=base.by, step=step, of=base.of, unit=base.unit, value=float(best),
                   against=cut, among=len(values), rule=rule)  # fmt: skip


def _pruner_words(pruner: BasePruner) -> str:
    if isinstance(pruner, HyperbandPruner):
        return "Hyperband"
    if isinstance(pruner, SuccessiveHalvingPruner):
        return "successive halving"
    if isinstance(pruner, MedianPruner):
        return "median stopping"
    if isinstance(pruner, PercentilePruner):
        return "percentile stopping"
    return type(pruner).__name__
