"""What a run optimizes: its CV score, and for multi-objective runs the costs traded against it.

Every trial of every run measures all the costs (they are cheap to measure and make any run
comparable on them); a multi-objective run also hands them to its sampler as objectives.
`RunConfig.objectives` names the costs of a multi-objective run ("fit_seconds", or with a
direction, "fit_seconds:minimize"); objective 0 is always the cross-validated score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuning.core.errors import ConfigError
from tuning.core.scoring import Scoring

DIRECTIONS = ("minimize", "maximize")


@dataclass(frozen=True)
class Objective:
    name: str
    label: str
    unit: str
    direction: str  # "minimize" | "maximize"
    column: str  # the TrialFeed column that holds its value
    only_for: tuple[str, ...] = ()  # models it applies to; () = every model
    counts: bool = False  # a whole count (bytes, parameters): shown as 80,150, not 8.015e+04

    def applies_to(self, model: str) -> bool:
        return not self.only_for or model in self.only_for

    @property
    def title(self) -> str:
        """Axis and column title: the label with its unit."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def with_direction(self, direction: str) -> Objective:
        return Objective(
            self.name, self.label, self.unit, direction, self.column, self.only_for, self.counts
        )


COSTS: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective("fit_seconds", "Fit time per trial", "s", "minimize", "fit_seconds"),
        Objective(
            "predict_ms", "Prediction latency", "ms per 1,000 rows", "minimize", "predict_ms"
        ),
        Objective("model_bytes", "Model size", "bytes", "minimize", "model_bytes", counts=True),
        Objective("cv_std", "CV spread (stability)", "", "minimize", "cv_std"),
        Objective(
            "n_params", "Parameter count", "", "minimize", "n_params", ("mlp",), counts=True
        ),
    )
}


def parse_cost(spec: str) -> Objective:
    """`"fit_seconds"` or `"fit_seconds:maximize"` -> the cost objective, with its direction."""
    if not isinstance(spec, str):
        raise ConfigError(f"An objective is a name such as 'fit_seconds', got {spec!r}.")
    name, _, direction = spec.strip().partition(":")
    if name not in COSTS:
        raise ConfigError(
            f"Unknown objective '{name}'. Besides the CV score, a run can also optimize: "
            f"{', '.join(COSTS)} (optionally with ':minimize' or ':maximize')."
        )
    cost = COSTS[name]
    if not direction:
        return cost
    if direction not in DIRECTIONS:
        raise ConfigError(
            f"Objective '{spec}': the direction after ':' must be 'minimize' or 'maximize'."
        )
    return cost.with_direction(direction)


def validate_costs(specs: tuple[str, ...] | list[str], model: str | None = None) -> tuple[str, ...]:
    """The cost objectives as a run keeps them; refuses unknown names, repeats and costs that do
    not apply to the model."""
    seen: set[str] = set()
    for spec in specs:
        cost = parse_cost(spec)
        if cost.name in seen:
            raise ConfigError(f"Objective '{cost.name}' is listed twice: keep one.")
        seen.add(cost.name)
        if model is not None and not cost.applies_to(model):
            raise ConfigError(
                f"Objective '{cost.name}' ({cost.label.lower()}) applies only to "
                f"{', '.join(cost.only_for)}, not to {model}: choose another cost."
            )
    return tuple(s.strip() for s in specs)


def score_objective(scoring: str) -> Objective:
    """Objective 0: the cross-validated score, in its natural sign and direction."""
    s = Scoring(scoring)
    return Objective(s.name, f"CV {s.label}", "", s.direction, "value")


def run_objectives(config: Any, scoring: str | None = None) -> list[Objective]:
    """The objectives of a run, in the order of its study's directions: the CV score, then the
    configuration's costs. `scoring` overrides the config's (a saved run's is always set)."""
    name = scoring or config.scoring or "accuracy"
    return [score_objective(name), *(parse_cost(s) for s in config.objectives)]


def value_column(index: int) -> str:
    """The TrialFeed column of a study's value `index` (0: "value"; others: "values_1", ...)."""
    return "value" if index == 0 else f"values_{index}"


def value_objective(index: int, n: int, direction: str, metric_name: str | None = None) -> Objective:
    """Value `index` of the trials of a study another tool made: named by its metric name
    (study.set_metric_names) where set, else as Optuna's trials_dataframe names it."""
    label = metric_name or ("value" if n == 1 else f"values_{index}")
    return Objective(f"values_{index}", label, "", direction, value_column(index))
