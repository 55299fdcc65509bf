"""A run's configuration with everything resolved: data, split, model, scorer and budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuning.core.budget import Budget
from tuning.core.config import RunConfig
from tuning.core.objectives import Objective, run_objectives
from tuning.core.scoring import Scoring
from tuning.core.space import SearchSpace
from tuning.data import datasets
from tuning.evaluation.objective import Evaluation, make_folds
from tuning.models import ModelSpec


@dataclass
class Prepared:
    """A validated configuration with everything resolved: data, split, model, scorer, budget."""

    config: RunConfig
    dataset: datasets.Dataset
    split: datasets.Split
    model: ModelSpec
    scoring: Scoring
    budget: Budget
    # What "Recommended" chose for the run ({"method", "options", "reason"}), to be recorded
    # with it; None: the method was chosen by hand.
    recommendation: dict | None = None

    @property
    def space(self) -> SearchSpace:
        return self.config.space

    @property
    def direction(self) -> str:
        return self.scoring.direction

    @property
    def objectives(self) -> list[Objective]:
        """The study's objectives in order: the CV score, then the run's costs."""
        return run_objectives(self.config, self.scoring.name)

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    def evaluation(self, seed: int | None = None, n_jobs: int | None = None,
                   **options: Any) -> Evaluation:  # fmt: skip
        """The run's k-fold cross-validated evaluation: its own split, folds, scorer and budget.
        `seed`: the model's (the run's where None); `options`: Evaluation's other settings."""
        config = self.config
        return Evaluation(
            model=self.model, space=self.space, task=self.dataset.task,
            X=self.split.X_train, y=self.split.y_train,
            folds=make_folds(self.split.y_train, self.dataset.task, config.cv_folds, config.seed),
            scoring=self.scoring, budget=self.budget,
            seed=config.seed if seed is None else seed,
            n_jobs=config.n_jobs if n_jobs is None else n_jobs, **options,
        )  # fmt: skip
