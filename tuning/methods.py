"""Search-method registry: name -> Optuna sampler (what to try next) + pruner (when to stop a trial).

The engine owns the loop; a method only decides. Adding a method is one `MethodSpec` entry.
`kind="sampler"` methods are an Optuna sampler and pruner; `kind="population"` is reserved for
methods that drive training themselves (population-based training), which supply `run` instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import optuna
from optuna.pruners import (
    BasePruner,
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    SuccessiveHalvingPruner,
)
from optuna.samplers import BaseSampler

from tuning.errors import ConfigError

# TPE's `group` option is marked experimental; it is what handles conditional parameters.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


@dataclass(frozen=True)
class Budget:
    """The steps at which a trial reports: folds 1..k, epochs 1..E or boosting rounds."""

    kind: str  # "folds" | "epochs" | "rounds"
    min_step: int
    max_step: int


@dataclass(frozen=True)
class MethodSpec:
    name: str
    label: str
    family: str
    summary: str  # one line
    explanation: str  # a paragraph for learners
    make_sampler: Callable[[int, dict], BaseSampler] | None = None  # (seed, options)
    make_pruner: Callable[[Budget, dict], BasePruner] | None = None
    kind: str = "sampler"
    enumerates_grid: bool = False  # grid: the runner enqueues every configuration, then stops
    defaults: dict[str, Any] = field(default_factory=dict)
    option_help: dict[str, str] = field(default_factory=dict)
    # kind="population": runs the whole search itself, run(study, prepared, stop) -> status.
    run: Callable[..., str] | None = None
    # Checks for options the generic rules below cannot express (fractions, lists).
    check_options: Callable[[dict], None] | None = None

    @property
    def multi_fidelity(self) -> bool:
        return self.make_pruner is not None

    def sampler(self, seed: int, options: dict | None = None) -> BaseSampler:
        return self.make_sampler(seed, {**self.defaults, **(options or {})})

    def pruner(self, budget: Budget, options: dict | None = None) -> BasePruner:
        if self.make_pruner is None:
            return NopPruner()
        return self.make_pruner(budget, {**self.defaults, **(options or {})})

    def validate_options(self, options: dict) -> dict:
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
        if self.check_options is not None:
            self.check_options(merged)
        return merged


# What each option accepts: a tuple of choices, or the least whole number. Checked when a run is
# created, so a bad value is refused up front instead of failing every trial (or the run thread).
OPTION_RULES: dict[str, tuple | int] = {
    "sampler": ("tpe", "random"),
    "reduction_factor": 2,
    "population_size": 2,
    "n_startup_trials": 0,
    "n_warmup_steps": 0,
    "interval": 1,
}


def _tpe(seed: int, o: dict) -> BaseSampler:
    # group=True lets multivariate TPE model conditional parameters (e.g. SVM gamma) jointly.
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=o.get("n_startup_trials", 10), multivariate=True, group=True
    )


def _inner_sampler(seed: int, o: dict) -> BaseSampler:
    if o.get("sampler", "tpe") == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return _tpe(seed, o)


class _Hyperband(HyperbandPruner):
    """Hyperband whose brackets depend on the trial number only.

    Optuna hashes the study name with the trial number to pick a trial's bracket, so two runs
    with the same seed (but, necessarily, different names) pruned, and with TPE sampled,
    differently. Keyed on a constant, the same seed gives the same run.
    """

    def _get_bracket_id(self, study, trial) -> int:
        return super()._get_bracket_id(SimpleNamespace(study_name="hyperband"), trial)


def _hyperband(b: Budget, o: dict) -> BasePruner:
    return _Hyperband(
        min_resource=b.min_step, max_resource=b.max_step, reduction_factor=o["reduction_factor"]
    )


def _halving(b: Budget, o: dict) -> BasePruner:
    return SuccessiveHalvingPruner(
        min_resource=b.min_step, reduction_factor=o["reduction_factor"], min_early_stopping_rate=0
    )


def _median(b: Budget, o: dict) -> BasePruner:
    return MedianPruner(n_startup_trials=o["n_startup_trials"], n_warmup_steps=o["n_warmup_steps"])


def _run_pbt(*args: Any, **kwargs: Any) -> str:
    from tuning.pbt import run_population  # the engine imports the runner, which imports us

    return run_population(*args, **kwargs)


def _check_pbt(options: dict) -> None:
    from tuning.pbt import check_options

    check_options(options)


PBT_MUTABLE = ("learning_rate", "dropout", "weight_decay", "batch_size")

_FIDELITY_HELP = {
    "sampler": "How new configurations are proposed: 'tpe' or 'random'.",
    "reduction_factor": "Keep the best 1/η of trials at each rung.",
}

REGISTRY: dict[str, MethodSpec] = {
    m.name: m
    for m in (
        MethodSpec(
            "grid", "Grid search", "exhaustive",
            "Tries every combination of a fixed lattice of values, then stops.",
            "Grid search lays a lattice over the space: every categorical choice and a few evenly "
            "spaced values of each numeric parameter (log-spaced where the parameter spans orders "
            "of magnitude), and evaluates every combination. It is simple, reproducible and easy "
            "to parallelise, but its cost multiplies with each parameter added, and it spends most "
            "of its trials on parameters that barely matter while testing few distinct values of "
            "the ones that do.",
            make_sampler=lambda seed, o: optuna.samplers.RandomSampler(seed=seed),
            enumerates_grid=True,
        ),
        MethodSpec(
            "random", "Random search", "random",
            "Samples every parameter independently at random within its range.",
            "Random search draws each trial independently from the search space. It ignores past "
            "results, yet it often beats grid search on the same budget: when only a few "
            "parameters matter, every random trial tests a new value of each of them, whereas a "
            "grid repeats the same few values. It is the baseline every smarter method must beat.",
            make_sampler=lambda seed, o: optuna.samplers.RandomSampler(seed=seed),
        ),
        MethodSpec(
            "sobol", "Quasi-random (Sobol)", "random",
            "Low-discrepancy sequence that covers the space more evenly than random draws.",
            "Quasi-random search replaces random draws with a Sobol sequence, whose points fill "
            "the space evenly: no clumps, no large gaps. Like random search it ignores past "
            "results, but with few trials its coverage is better, which makes it a good first "
            "phase or a baseline.",
            make_sampler=lambda seed, o: optuna.samplers.QMCSampler(
                qmc_type="sobol", scramble=True, seed=seed, warn_independent_sampling=False
            ),
        ),
        MethodSpec(
            "tpe", "Bayesian (TPE)", "bayesian",
            "Tree-structured Parzen estimator: models where good and bad trials lie, samples where good ones are.",
            "TPE splits past trials into a good group (the best quarter or so) and the rest, fits "
            "a density to each, and proposes points that are likely under the good density and "
            "unlikely under the bad one. After a few random start-up trials it concentrates on "
            "promising regions while still exploring. It is cheap per trial, handles categorical "
            "and conditional parameters, and is Optuna's default.",
            make_sampler=_tpe, defaults={"n_startup_trials": 10},
            option_help={"n_startup_trials": "Random trials before the model takes over."},
        ),
        MethodSpec(
            "gp", "Bayesian (Gaussian process)", "bayesian",
            "Fits a Gaussian process to the scores and samples where expected improvement is highest.",
            "The Gaussian-process method fits a smooth surrogate of the score over the space, with "
            "a mean (its best guess) and an uncertainty (how unsure it is). An acquisition "
            "function trades the two off and picks the point with the best expected improvement. "
            "It is very sample-efficient on a few continuous parameters, but its cost per trial "
            "grows quickly with the number of trials (seconds per trial after several hundred).",
            make_sampler=lambda seed, o: optuna.samplers.GPSampler(seed=seed),
        ),
        MethodSpec(
            "cmaes", "CMA-ES (evolution strategy)", "evolutionary",
            "Evolves a multivariate normal search distribution towards better regions.",
            "CMA-ES samples a generation of points from a multivariate normal distribution, then "
            "moves the mean towards the best of them and reshapes the covariance along the "
            "directions that paid off. Picture an ellipse that slides, stretches and shrinks over "
            "the landscape. It shines on continuous, correlated parameters; categorical ones are "
            "sampled at random alongside.",
            make_sampler=lambda seed, o: optuna.samplers.CmaEsSampler(
                seed=seed, warn_independent_sampling=False
            ),
        ),
        MethodSpec(
            "nsga2", "Genetic algorithm (NSGA-II)", "evolutionary",
            "A population evolves by selection, crossover and mutation.",
            "The genetic algorithm keeps a population of configurations. Each generation it "
            "selects good parents, recombines their parameters (crossover) and randomly changes "
            "some (mutation) to produce children. Over generations the population drifts to good "
            "regions. NSGA-II is built for several objectives at once; with one it is a plain "
            "elitist genetic algorithm.",
            make_sampler=lambda seed, o: optuna.samplers.NSGAIISampler(
                seed=seed, population_size=o["population_size"]
            ),
            defaults={"population_size": 10},
            option_help={"population_size": "Configurations per generation."},
        ),
        MethodSpec(
            "hyperband", "Hyperband", "multi-fidelity",
            "Starts many trials cheaply and keeps training only the promising ones, over several brackets.",
            "Hyperband spends a small budget (one CV fold, a few epochs or boosting rounds) on many "
            "configurations, keeps the best third and gives them more budget, and repeats until "
            "the survivors get the full budget: that is successive halving. Because stopping "
            "early can wrongly kill slow starters, Hyperband runs several brackets that differ in "
            "how aggressively they stop. New configurations come from TPE by default.",
            make_sampler=_inner_sampler, make_pruner=_hyperband,
            defaults={"sampler": "tpe", "reduction_factor": 3}, option_help=_FIDELITY_HELP,
        ),
        MethodSpec(
            "successive_halving", "Successive halving", "multi-fidelity",
            "Gives every trial a small budget and promotes only the best fraction to larger ones.",
            "Successive halving evaluates configurations at a small budget, promotes the top "
            "1/η to η times the budget, and repeats until the full budget. Most compute goes to "
            "the configurations that looked best early. It is one bracket of Hyperband: the most "
            "aggressive one.",
            make_sampler=_inner_sampler, make_pruner=_halving,
            defaults={"sampler": "tpe", "reduction_factor": 3}, option_help=_FIDELITY_HELP,
        ),
        MethodSpec(
            "median", "Median stopping", "multi-fidelity",
            "Stops a trial whose intermediate score is worse than the median of earlier trials at the same step.",
            "Median stopping lets every trial start, but after each fold, epoch or round compares "
            "its score so far with the median of what earlier trials had at the same step. A "
            "trial below the median is stopped. It is a gentle, robust rule that saves compute "
            "without needing a schedule. New configurations come from TPE.",
            make_sampler=_inner_sampler, make_pruner=_median,
            defaults={"sampler": "tpe", "n_startup_trials": 5, "n_warmup_steps": 1},
            option_help={
                "sampler": _FIDELITY_HELP["sampler"],
                "n_startup_trials": "Trials that always run to the end first.",
                "n_warmup_steps": "Steps a trial runs before it can be stopped.",
            },
        ),
        MethodSpec(
            "pbt", "Population-based training", "population",
            "A population of networks trains together; the worst copy the best and perturb their hyperparameters.",
            "Population-based training (PBT) trains a population of neural networks side by side. "
            "Every few epochs it ranks them: each member in the bottom quarter copies the weights "
            "and hyperparameters of a random member of the top quarter (exploit), then nudges "
            "those hyperparameters, multiplying by 0.8 or 1.2 or drawing a fresh value now and "
            "then (explore). Training is never restarted, so hyperparameters become schedules "
            "(say, a learning rate that drops halfway), and the lineage records who copied whom. "
            "To keep the cost down, each member is scored on one holdout split (the first CV "
            "fold) rather than the full cross-validation. The budget is population size x the "
            "top of the epochs range. The test score is that of the best member's own network.",
            kind="population", run=_run_pbt, check_options=_check_pbt,
            defaults={
                "population_size": 8, "interval": 4, "quantile": 0.25, "factors": [0.8, 1.2],
                "resample_probability": 0.25, "mutable": list(PBT_MUTABLE),
            },
            option_help={
                "population_size": "Networks trained side by side.",
                "interval": "Epochs between exploit/explore steps.",
                "quantile": "Share of the population that copies (bottom) and is copied (top).",
                "factors": "Explore multiplies a hyperparameter by one of these.",
                "resample_probability": "Chance that explore draws a fresh value instead.",
                "mutable": "Hyperparameters that explore may change.",
            },
        ),
    )
}  # fmt: skip

RECOMMENDED = "tpe"


def get_method(name: str) -> MethodSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"Unknown method '{name}'. Choose one of: {', '.join(REGISTRY)}."
        ) from None


def list_methods() -> list[MethodSpec]:
    return list(REGISTRY.values())
