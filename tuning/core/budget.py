"""The fidelity budget of a run: the steps at which a trial reports its score."""

from __future__ import annotations

from dataclasses import dataclass

from tuning.core.enums import BudgetKind


@dataclass(frozen=True)
class Budget:
    """The steps at which a trial reports: folds 1..k, epochs 1..E or boosting rounds."""

    kind: BudgetKind  # "folds" | "epochs" | "rounds"
    min_step: int
    max_step: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", BudgetKind(self.kind))
