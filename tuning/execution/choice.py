"""The trade-off a multi-objective run refits: which complete trial, by which rule, and why.

A multi-objective run has no single best trial, only a front of trade-offs, so one is chosen:
by the rule "the cheapest configuration within X % of the best score", or by hand. The choice
is kept with the run (`StoredRun.save_choice`) as {"trial", "rule", "reason"} (plus the rule's
`within_pct` and `cost`, so that a resumed run applies the same rule to its new trials).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from tuning.core.errors import ConfigError
from tuning.core.objectives import COSTS, Objective, parse_cost
from tuning.core.pareto import front_mask
from tuning.store.trials import TrialMetrics

DEFAULT_WITHIN_PCT = 1.0  # a finished multi-objective run chooses within 1 % of the best score
HAND_PICKED = "picked by hand"


@dataclass(frozen=True)
class Choice:
    trial: int
    rule: str
    reason: str
    within_pct: float | None = None  # the rule's numbers; None when picked by hand
    cost: str | None = None

    def to_attr(self) -> dict[str, Any]:
        d: dict[str, Any] = {"trial": self.trial, "rule": self.rule, "reason": self.reason}
        if self.within_pct is not None:
            d.update(within_pct=self.within_pct, cost=self.cost)
        return d


def scored_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Complete trials with a finite score: the only ones a trade-off can be (a pruned, failed
    or stopped trial's partial numbers never are)."""
    return [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.values and math.isfinite(t.values[0])
    ]  # fmt: skip


def cost_value(trial: FrozenTrial, cost: Objective) -> float | None:
    """The trial's measured cost, from its record (every trial of every run measures them)."""
    v = getattr(TrialMetrics.of(trial), cost.column, None)
    return None if v is None or not math.isfinite(float(v)) else float(v)


def cheapest_within(
    trials: list[FrozenTrial], score: Objective, within_pct: float, cost: Objective
) -> tuple[FrozenTrial, FrozenTrial, int] | None:
    """The trial with the lowest `cost` among those whose score is within `within_pct` % of the
    best (relative to |best|); ties go to the better score. Returns (chosen, best, how many were
    within the margin), or None without a scored trial that measured the cost.
    (The same rule as tuning.analysis.pareto.tradeoff, on trials rather than a frame.)"""
    costed = [(t, c) for t in trials if (c := cost_value(t, cost)) is not None]
    if not costed:
        return None
    sign = 1.0 if score.direction == "maximize" else -1.0
    best = max((t for t, _ in costed), key=lambda t: sign * t.values[0])
    margin = abs(best.values[0]) * within_pct / 100.0
    near = [(t, c) for t, c in costed if sign * (best.values[0] - t.values[0]) <= margin]
    cheap = 1.0 if cost.direction == "minimize" else -1.0
    chosen = min(near, key=lambda tc: (cheap * tc[1], -sign * tc[0].values[0], tc[0].number))[0]
    return chosen, best, len(near)


def rule_choice(
    study: optuna.Study, objectives: list[Objective], within_pct: float, cost: str
) -> Choice | None:
    """Choose by "cheapest in `cost` within `within_pct` % of the best CV score"."""
    if not within_pct >= 0:
        raise ConfigError(f"The margin must be a percentage of 0 or more, got {within_pct}.")
    costs = {o.name: o for o in objectives[1:]}
    c = costs.get(cost) or (parse_cost(cost) if cost in COSTS else None)
    if c is None:
        raise ConfigError(f"Unknown cost '{cost}': choose one of {', '.join(COSTS)}.")
    score = objectives[0]
    found = cheapest_within(scored_trials(study), score, within_pct, c)
    if found is None:
        return None
    chosen, best, n = found
    unit = f" {c.unit}" if c.unit else ""
    rule = f"cheapest in {c.label.lower()} within {within_pct:g} % of the best {score.label}"
    reason = (
        f"Trial {chosen.number} scores {score.label} {chosen.values[0]:.4f}, within "
        f"{within_pct:g} % of the best ({best.values[0]:.4f}, trial {best.number}); its "
        f"{c.label.lower()} of {cost_value(chosen, c):.4g}{unit} is the lowest of the {n} "
        f"trial{'s' if n != 1 else ''} within that margin."
    )
    return Choice(chosen.number, rule, reason, within_pct=float(within_pct), cost=c.name)


def trial_choice(study: optuna.Study, objectives: list[Objective], number: int) -> Choice:
    """Choose a given complete trial (a click on a front member, `choose --trial N`)."""
    trial = next((t for t in scored_trials(study) if t.number == number), None)
    if trial is None:
        raise ConfigError(
            f"Trial {number} is not a complete trial of this run: choose a complete one."
        )
    parts = [f"{objectives[0].label} {trial.values[0]:.4f}"]
    for o in objectives[1:]:
        v = cost_value(trial, o)
        if v is not None:
            parts.append(f"{o.label.lower()} {v:.4g}{' ' + o.unit if o.unit else ''}")
    reason = f"Trial {number} was picked by hand: {', '.join(parts)}."
    return Choice(number, HAND_PICKED, reason)


def default_choice(
    study: optuna.Study, objectives: list[Objective], old: dict[str, Any]
) -> Choice | None:
    """What a multi-objective run refits when it finishes: a trial picked by hand stays; a
    rule already chosen (`old`, the stored choice) is applied again (a resumed run has new
    trials); otherwise the cheapest in the first cost within 1 % of the best score."""
    if old.get("rule") == HAND_PICKED and isinstance(old.get("trial"), int):
        try:
            return trial_choice(study, objectives, old["trial"])
        except ConfigError:
            pass  # no longer a complete trial: choose by the rule
    pct = old.get("within_pct", DEFAULT_WITHIN_PCT)
    cost = old.get("cost") or objectives[1].name
    return rule_choice(study, objectives, float(pct), cost)


def front_numbers(study: optuna.Study) -> list[int]:
    """Numbers of the complete trials whose values no other complete trial dominates (at least
    as good on every objective, better on one); ties are all kept."""
    trials = [t for t in scored_trials(study) if all(math.isfinite(v) for v in t.values)]
    if not trials:
        return []
    directions = ["maximize" if d.name == "MAXIMIZE" else "minimize" for d in study.directions]
    keep = front_mask(np.array([t.values for t in trials]), directions)
    return [t.number for t, k in zip(trials, keep, strict=True) if k]
