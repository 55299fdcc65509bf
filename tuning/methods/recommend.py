"""The "Recommended" method: which search method fits a run's space, budget and objectives.

`recommend` is a rule, tuned on the studio's own tabular benchmark (benchmarks/tabular.py:
the default spaces of its models on its datasets, every grid configuration scored once and
cached, many seeds raced in seconds; figures in benchmarks/results/tabular_recommended.txt).
The "recommended" registry entry resolves to the method it names when a run is created; the
run keeps the concrete method, and the choice with its reason is recorded beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuning.core.enums import BudgetKind
from tuning.core.space import SearchSpace
from tuning.methods.base import MethodSpec

NAME = "recommended"
START_UP = 5  # TPE's random start-up trials
@dataclass(frozen=True)
class Recommendation:
    """A concrete method, its options, and one sentence for people on why it fits."""

    method: str
    options: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_attr(self) -> dict[str, Any]:
        return {"method": self.method, "options": dict(self.options), "reason": self.reason}


def recommend(
    space: SearchSpace,
    n_trials: int | None,
    n_objectives: int = 1,
    budget: BudgetKind | str = BudgetKind.FOLDS,
    workers: int = 1,
) -> tuple[str, dict[str, Any], str]:
    """(method, options, reason) for a run of `space` with `n_trials` trials (None: a time
    limit only), `n_objectives` objectives, the model's budget kind, and `workers` in parallel."""
    r = choose(space, n_trials, n_objectives, BudgetKind(budget), workers)
    return r.method, r.options, r.reason


def choose(
    space: SearchSpace, n_trials: int | None, n_objectives: int, budget: BudgetKind, workers: int
) -> Recommendation:
    searched = [p for p in space.params if p.enabled]
    if n_objectives > 1:
        return Recommendation(
            "nsga2", {"population_size": 10},
            "Several objectives: the genetic algorithm (NSGA-II) evolves a whole front of "
            "trade-offs at once.",
        )  # fmt: skip
    if n_trials is None and budget != BudgetKind.FOLDS:
        return Recommendation(
            "hyperband", {"sampler": "tpe", "reduction_factor": 3},
            f"A time limit and a model trained in {budget.value}: Hyperband stops unpromising "
            "trials early, so more configurations fit in the time, proposed by TPE.",
        )  # fmt: skip
    return Recommendation("tpe", _tpe_options(n_trials), _tpe_reason(searched, n_trials, workers))


def _tpe_options(n_trials: int | None) -> dict[str, Any]:
    # 5 random start-up trials whatever the budget: on the tabular benchmark a longer random
    # start did no better (benchmarks/results/tabular_recommended.txt).
    return {"n_startup_trials": START_UP, "constant_liar": True}


def _tpe_reason(searched: list, n_trials: int | None, workers: int) -> str:
    conditional = [p.name for p in searched if p.condition]
    categorical = [p.name for p in searched if p.kind == "categorical"]
    start = _tpe_options(n_trials)["n_startup_trials"]
    then = f"Bayesian (TPE) after {start} random start-up trials"
    if conditional:
        why = f"some parameters only apply to some choices ({', '.join(conditional)})"
        return (
            f"Because {why}, {then}: it models conditional spaces, the Gaussian process does not."
        )
    if categorical:
        why = f"choices among categories ({', '.join(categorical)})"
        return (
            f"With {why}, {then}: on a benchmark of the studio's own models it matched or beat "
            "the Gaussian process on such spaces."
        )
    if workers > 1:
        return (
            f"{workers} workers in parallel: {then}, which keeps them apart (each counts the "
            "others' running trials as bad)."
        )
    # No Gaussian process for small all-numeric spaces: on the tabular benchmark's all-numeric
    # tasks it did no better than TPE, at a higher cost per trial.
    many = "a time limit" if n_trials is None else f"{n_trials} trials"
    return (
        f"With {many} on an all-numeric space, {then}: on a benchmark of the studio's own models "
        "the Gaussian process did no better there, and TPE stays fast per trial."
    )


@dataclass(frozen=True)
class RecommendedMethod(MethodSpec):
    """Not a search of its own: the engine resolves it to `recommend`'s choice when the run is
    created (tuning/runs/prepare.py), so a run never runs as "recommended"."""

    chooses_method = True
    needs_budget = False  # the method it resolves to asks for its budget
