"""The interface every search method implements: describe itself, validate a run, run it.

A method is a strategy object: the engine prepares the run (data, model, scorer, budget) in a
session and hands it over with `run(session)`; the session owns the life cycle and the
refit-and-test rule, so a method only searches. Sampler methods (grid, random, TPE, ...) share
one strategy, in `samplers.py`, that drives Optuna's optimize loop; population-based training
(`pbt.py`) trains its population itself. What a method can do is an attribute (`runs_itself`,
`multi_objective`, `needs_budget`, ...), never a kind to compare. Adding a method is one entry
in the registry (`tuning.methods`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus
from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace
from tuning.execution.session import RunSession
from tuning.models import ModelSpec
from tuning.store.run import StoredRun


@dataclass(frozen=True)
class MethodSpec:
    """What every method has: names and texts for learners, options, validation and `run`."""

    name: str
    label: str
    family: str
    summary: str  # one line
    explanation: str  # a paragraph for learners
    defaults: dict[str, Any] = field(default_factory=dict)
    option_help: dict[str, str] = field(default_factory=dict)
    # Whether its sampler can search several objectives at once (a run with cost objectives).
    multi_objective: bool = False

    # It trains its own population instead of asking an Optuna sampler for trials: it cannot
    # tune another estimator, run on Learn's landscapes, or be asked for trials one by one.
    runs_itself: ClassVar[bool] = False
    enumerates_grid: ClassVar[bool] = False  # its trials are a grid queued at creation
    needs_budget: ClassVar[bool] = True  # False: the method knows its trials (a grid)
    # Its workers train side by side as threads of one process (they share in-memory models).
    one_process: ClassVar[bool] = False
    # It searches nothing itself: it names another method when the run is created (Recommended).
    chooses_method: ClassVar[bool] = False
    # Why its runs score no library defaults as their baseline (tuning/execution/baseline.py),
    # as the run's record says; None: they do (as a first trial, or beside a grid).
    why_no_baseline: ClassVar[str | None] = None
    # Why it follows one score, where that is its own (check_multi_objective says it).
    why_one_objective: ClassVar[str | None] = None

    @property
    def multi_fidelity(self) -> bool:
        return False

    def check_options(self, options: dict) -> None:
        """Checks for options the generic rules cannot express (fractions, lists)."""

    def validate_options(self, options: dict) -> dict:
        self._refuse_hyperopt_inside(options)
        unknown = set(options) - set(self.defaults)
        if unknown:
            known = ", ".join(self.defaults) or "none"
            raise ConfigError(
                f"Method '{self.name}' has no option(s) {', '.join(sorted(unknown))}; "
                f"its options are: {known}."
            )
        options = dict(options)
        for key, value in options.items():
            rule = OPTION_RULES.get(key)
            if isinstance(rule, int) and isinstance(value, float) and value.is_integer():
                value = options[key] = int(value)  # 3.0 from a number widget or JSON
            if isinstance(rule, tuple) and value not in rule:
                raise ConfigError(
                    f"Method '{self.name}': option {key} must be one of "
                    f"{', '.join(map(str, rule))}, got {value!r}."
                )
            if isinstance(rule, int) and (
                not isinstance(value, int) or isinstance(value, bool) or value < rule
            ):
                raise ConfigError(
                    f"Method '{self.name}': option {key} must be a whole number of at least "
                    f"{rule}, got {value!r}."
                )
        merged = {**self.defaults, **options}
        self.check_options(merged)
        return merged

    def _refuse_hyperopt_inside(self, options: dict) -> None:
        """A Hyperopt method asked to propose the trials of a method that stops them early or
        trains its own population: refused with what to choose instead."""
        if str(options.get("sampler", "")) not in HYPEROPT_METHODS:
            return
        if "sampler" in self.defaults:
            raise ConfigError(
                f"{self.label} stops trials early with an Optuna pruner, and Hyperopt's "
                "algorithms cannot learn from a trial stopped early: use sampler 'tpe' "
                "(Bayesian (TPE)) or 'random' here, or run Hyperopt TPE as its own method "
                "without early stopping."
            )
        if self.runs_itself:
            raise ConfigError(
                f"{self.label} trains and perturbs its own population; Hyperopt cannot propose "
                "its members: run Hyperopt TPE as its own method instead."
            )

    def validate_run(self, config: RunConfig, space: SearchSpace, model: ModelSpec) -> RunConfig:
        """Checks that need the run's space and model; returns the config as the run keeps it."""
        return config

    def setup(self, run: StoredRun, space: SearchSpace, config: RunConfig) -> None:
        """Called once when the run is created, before any worker starts."""

    def run(self, session: RunSession) -> RunStatus:
        """Search (one worker's part of the run) inside `session` until it ends; returns the
        status."""
        raise NotImplementedError


HYPEROPT_METHODS = ("hyperopt_tpe", "hyperopt_anneal", "hyperopt_random")

# What each option accepts: a tuple of choices, or the least whole number. Checked when a run is
# created, so a bad value is refused up front instead of failing every trial (or the run thread).
OPTION_RULES: dict[str, tuple | int] = {
    "sampler": ("tpe", "random"),
    "reduction_factor": 2,
    "population_size": 2,
    "n_startup_trials": 0,
    "constant_liar": (True, False),
    "n_warmup_steps": 0,
    "interval": 1,
}
