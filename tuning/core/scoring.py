"""Scoring: a scikit-learn scorer name, validated against the task, reported in its natural sign."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.metrics import get_scorer, get_scorer_names

from tuning.core.enums import Task
from tuning.core.errors import ConfigError

# Scorers whose name says they measure a regression error; the rest are for classification.
_REGRESSION_MARKERS = ("error", "r2", "explained_variance", "deviance", "d2_")
CLASSIFICATION_SCORERS = (
    "accuracy", "balanced_accuracy", "f1", "f1_macro", "f1_weighted", "precision_macro",
    "recall_macro", "roc_auc", "roc_auc_ovr", "neg_log_loss",
)  # fmt: skip
# Scorer identifiers as people name the metrics (others: underscores read as spaces).
LABELS = {
    "f1": "F1", "f1_macro": "F1 (macro)", "f1_weighted": "F1 (weighted)",
    "precision_macro": "precision (macro)", "recall_macro": "recall (macro)", "roc_auc": "ROC AUC",
    "roc_auc_ovr": "ROC AUC (one-vs-rest)", "r2": "R²", "root_mean_squared_error": "RMSE",
    "mean_absolute_error": "MAE", "mean_squared_error": "MSE",
}  # fmt: skip
REGRESSION_SCORERS = (
    "r2", "neg_root_mean_squared_error", "neg_mean_absolute_error", "neg_mean_squared_error",
    "neg_median_absolute_error",
)  # fmt: skip


@dataclass(frozen=True)
class Scoring:
    """A scikit-learn scorer name, reported in its natural sign.

    sklearn negates errors so that greater is always better ("neg_root_mean_squared_error"); we
    flip them back and minimize, so a user reads "RMSE 12.3, lower is better".
    """

    name: str

    @property
    def negated(self) -> bool:
        return self.name.startswith("neg_")

    @property
    def label(self) -> str:
        """The metric as people name it ("RMSE", "log loss"), not the scorer's identifier."""
        base = self.name[4:] if self.negated else self.name
        return LABELS.get(base, base.replace("_", " "))

    @property
    def direction(self) -> str:
        return "minimize" if self.negated else "maximize"

    @property
    def arrow(self) -> str:
        return "lower is better" if self.negated else "higher is better"

    def better(self, a: float, b: float | None) -> bool:
        if b is None:
            return True
        return a < b if self.negated else a > b

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        value = float(get_scorer(self.name)(estimator, X, y))
        return -value if self.negated else value

    @staticmethod
    def default(task: str) -> str:
        return "accuracy" if task == Task.CLASSIFICATION else "r2"

    @staticmethod
    def choices(task: str) -> tuple[str, ...]:
        return CLASSIFICATION_SCORERS if task == Task.CLASSIFICATION else REGRESSION_SCORERS

    @classmethod
    def validated(cls, name: str, task: str, n_classes: int | None = None) -> Scoring:
        if name not in get_scorer_names():
            raise ConfigError(
                f"Unknown scoring '{name}'. Use a scikit-learn scorer name, e.g. "
                f"{', '.join(cls.choices(task))}."
            )
        is_regression = any(m in name for m in _REGRESSION_MARKERS)
        if is_regression != (task != Task.CLASSIFICATION):
            raise ConfigError(
                f"Scoring '{name}' does not fit a {task} task: use one of "
                f"{', '.join(cls.choices(task))}."
            )
        if name in ("roc_auc", "f1", "precision", "recall") and (n_classes or 2) > 2:
            raise ConfigError(
                f"'{name}' needs two classes and this dataset has {n_classes}: "
                f"use {name}_ovr or {name}_macro instead."
                if name == "roc_auc"
                else f"'{name}' needs two classes and this dataset has {n_classes}: use {name}_macro."
            )
        return cls(name)


@dataclass(frozen=True)
class ScorerScoring(Scoring):
    """A scorer given as a callable `scorer(estimator, X, y)` (or the estimator's own `score`
    method), greater is better, as scikit-learn's searches take it. `name` labels it."""

    scorer: Callable[[Any, Any, Any], float] | None = field(default=None, compare=False)

    @property
    def negated(self) -> bool:
        return False

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        return float(self.scorer(estimator, X, y))


@dataclass(frozen=True)
class StudyValue:
    """Objective 0 of a study another tool made, read as `Scoring` is read by the views (name,
    label, direction, arrow): its value as the study's objective returned it, not a scorer."""

    name: str
    direction: str  # "minimize" | "maximize"
    negated = False

    @property
    def label(self) -> str:
        return self.name

    @property
    def arrow(self) -> str:
        return "lower is better" if self.direction == "minimize" else "higher is better"

    def better(self, a: float, b: float | None) -> bool:
        if b is None:
            return True
        return a < b if self.direction == "minimize" else a > b
