"""Search-method registry: name -> one strategy object (what to try next, and how to run it).

The engine owns the loop; a method only decides. Adding a method is one entry below, and the
contract tests (tests/engine/test_engine_contract.py) pick it up.
"""

from __future__ import annotations

import warnings

import optuna

from tuning.core.errors import ConfigError
from tuning.methods.base import MethodSpec
from tuning.methods.hyperopt import HyperoptMethod, hyperopt_sampler
from tuning.methods.pbt import MUTABLE as PBT_MUTABLE
from tuning.methods.pbt import PopulationMethod
from tuning.methods.recommend import RecommendedMethod
from tuning.methods.samplers import (
    GridMethod,
    SamplerMethod,
    halving,
    hyperband,
    inner_sampler,
    median,
    tpe,
)

# TPE's `group` option is marked experimental; it is what handles conditional parameters.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

_FIDELITY_HELP = {
    "sampler": "How new configurations are proposed: 'tpe' or 'random'.",
    "reduction_factor": "Keep the best 1/η of trials at each rung.",
}

REGISTRY: dict[str, MethodSpec] = {
    m.name: m
    for m in (
        RecommendedMethod(
            "recommended", "Recommended", "chooser",
            "Picks the method that fits the space, the budget and the objectives, and says why.",
            "Recommended is not a search of its own: when the run is created it looks at the "
            "search space (how many parameters, whether some only apply to some choices), the "
            "budget (trials or a time limit), the objectives and the workers, and picks one "
            "of the methods below: Hyperband for a model trained in epochs or rounds under a "
            "time limit, the genetic algorithm for several objectives, and otherwise TPE after 5 "
            "random start-up trials. The rule was tuned on a "
            "benchmark of the studio's own models and datasets: there the Gaussian process did "
            "no better than TPE, even on small all-numeric spaces. The run records the method "
            "it picked and the reason.",
            multi_objective=True,
        ),
        GridMethod(
            "grid", "Grid search", "exhaustive",
            "Tries every combination of a fixed lattice of values, then stops.",
            "Grid search lays a lattice over the space: every categorical choice and a few evenly "
            "spaced values of each numeric parameter (log-spaced where the parameter spans orders "
            "of magnitude), and evaluates every combination. It is simple, reproducible and easy "
            "to parallelise, but its cost multiplies with each parameter added, and it spends most "
            "of its trials on parameters that barely matter while testing few distinct values of "
            "the ones that do.",
            make_sampler=lambda seed, o: optuna.samplers.RandomSampler(seed=seed),
            multi_objective=True,
        ),
        SamplerMethod(
            "random", "Random search", "random",
            "Samples every parameter independently at random within its range.",
            "Random search draws each trial independently from the search space. It ignores past "
            "results, yet it often beats grid search on the same budget: when only a few "
            "parameters matter, every random trial tests a new value of each of them, whereas a "
            "grid repeats the same few values. It is the baseline every smarter method must beat.",
            make_sampler=lambda seed, o: optuna.samplers.RandomSampler(seed=seed),
            multi_objective=True,
        ),
        SamplerMethod(
            "sobol", "Quasi-random (Sobol)", "random",
            "Low-discrepancy sequence that covers the space more evenly than random draws.",
            "Quasi-random search replaces random draws with a Sobol sequence, whose points fill "
            "the space evenly: no clumps, no large gaps. Like random search it ignores past "
            "results, but with few trials its coverage is better, which makes it a good first "
            "phase or a baseline.",
            make_sampler=lambda seed, o: optuna.samplers.QMCSampler(
                qmc_type="sobol", scramble=True, seed=seed, warn_independent_sampling=False
            ),
            multi_objective=True,
        ),
        SamplerMethod(
            "tpe", "Bayesian (TPE)", "bayesian",
            "Tree-structured Parzen estimator: models where good and bad trials lie, samples where good ones are.",
            "TPE splits past trials into a good group (the best quarter or so) and the rest, fits "
            "a density to each, and proposes points that are likely under the good density and "
            "unlikely under the bad one. After a few random start-up trials it concentrates on "
            "promising regions while still exploring. It is cheap per trial, handles categorical "
            "and conditional parameters, and is Optuna's default.",
            # 5 random start-up trials rather than Optuna's 10: on the classic forest race the
            # model-guided trials are what reach grid search's best (benchmarks/compare_grid.py,
            # benchmarks/tpe_to_target.py); the constant liar keeps parallel workers apart.
            make_sampler=tpe, defaults={"n_startup_trials": 5, "constant_liar": True},
            option_help={
                "n_startup_trials": "Random trials before the model takes over.",
                "constant_liar": "Workers treat each other's running trials as bad, so that "
                "they explore different points.",
            },
            multi_objective=True,  # with several objectives TPE ranks trials by Pareto front
        ),
        SamplerMethod(
            "gp", "Bayesian (Gaussian process)", "bayesian",
            "Fits a Gaussian process to the scores and samples where expected improvement is highest.",
            "The Gaussian-process method fits a smooth surrogate of the score over the space, with "
            "a mean (its best guess) and an uncertainty (how unsure it is). An acquisition "
            "function trades the two off and picks the point with the best expected improvement. "
            "It is very sample-efficient on a few continuous parameters, but its cost per trial "
            "grows quickly with the number of trials (seconds per trial after several hundred).",
            make_sampler=lambda seed, o: optuna.samplers.GPSampler(seed=seed),
            multi_objective=True,  # Optuna 5's GPSampler handles several objectives
        ),
        SamplerMethod(
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
        SamplerMethod(
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
            multi_objective=True,
        ),
        SamplerMethod(
            "nsga3", "Genetic algorithm (NSGA-III)", "evolutionary",
            "A genetic algorithm that spreads its population along reference directions.",
            "NSGA-III evolves a population like NSGA-II (selection, crossover, mutation), but "
            "when it must choose among equally good configurations it keeps those closest to a "
            "set of evenly spread reference directions, rather than the least crowded ones. "
            "With three or more objectives this keeps the whole front covered, where NSGA-II's "
            "crowding tends to bunch up; with one objective it is a plain genetic algorithm.",
            make_sampler=lambda seed, o: optuna.samplers.NSGAIIISampler(
                seed=seed, population_size=o["population_size"]
            ),
            defaults={"population_size": 10},
            option_help={"population_size": "Configurations per generation."},
            multi_objective=True,
        ),
        HyperoptMethod(
            "hyperopt_tpe", "Hyperopt TPE", "bayesian",
            "The original TPE, from the Hyperopt library: good and bad densities per parameter.",
            "Hyperopt's TPE is the original implementation of the tree-structured Parzen "
            "estimator (Bergstra et al., 2011), the algorithm Optuna's Bayesian (TPE) "
            "re-implements: it splits past trials into a good group and the rest, and proposes "
            "the candidate most likely under the good density relative to the bad one. Its "
            "defaults differ: 20 random start-up trials (Optuna 10, the studio's Bayesian (TPE) "
            "5); a smaller good group, the best ceil(0.25 x the square root of the trials) "
            "(4 of 200), where Optuna takes the best tenth up to 25; the same 24 candidates per "
            "trial and prior weight 1. Above all it models each parameter on its own "
            "(univariate), following nested choices, where the studio's Optuna TPE models them "
            "jointly (multivariate) and so catches parameters that work together.",
            make_sampler=hyperopt_sampler("tpe"), algo="tpe",
            defaults={"n_startup_trials": 20},
            option_help={"n_startup_trials": "Random trials before the model takes over "
                         "(Hyperopt's n_startup_jobs)."},
        ),
        HyperoptMethod(
            "hyperopt_anneal", "Hyperopt annealing", "local search",
            "Samples near one of the best trials so far, in a neighbourhood that shrinks.",
            "Hyperopt's adaptive annealing picks one of the best trials so far (usually the "
            "best, sometimes a runner-up) and draws each parameter near its value there, in a "
            "neighbourhood that narrows as trials accumulate: wide jumps first, fine tuning "
            "later. It has no random start-up phase and no model, so it is as cheap as random "
            "search per trial. Optuna has no annealing sampler; the nearest is CMA-ES, which "
            "also moves a search distribution towards good points but shapes it over all "
            "parameters jointly, where annealing treats each parameter on its own.",
            make_sampler=hyperopt_sampler("anneal"), algo="anneal",
        ),
        HyperoptMethod(
            "hyperopt_random", "Hyperopt random search", "random",
            "Hyperopt's random search: every parameter drawn independently within its range.",
            "Hyperopt's random search draws every trial independently from the space, as "
            "Random search (Optuna's) does: both ignore past results and are the baseline to "
            "beat. They differ only in their random streams and in whole numbers, which "
            "Hyperopt draws as a rounded uniform (so the two end values come up half as often). "
            "Racing the two shows how far apart two equally good random searches land.",
            make_sampler=hyperopt_sampler("rand"), algo="rand",
        ),
        SamplerMethod(
            "hyperband", "Hyperband", "multi-fidelity",
            "Starts many trials cheaply and keeps training only the promising ones, over several brackets.",
            "Hyperband spends a small budget (one CV fold, a few epochs or boosting rounds) on many "
            "configurations, keeps the best third and gives them more budget, and repeats until "
            "the survivors get the full budget: that is successive halving. Because stopping "
            "early can wrongly kill slow starters, Hyperband runs several brackets that differ in "
            "how aggressively they stop. New configurations come from TPE by default.",
            make_sampler=inner_sampler, make_pruner=hyperband,
            defaults={"sampler": "tpe", "reduction_factor": 3}, option_help=_FIDELITY_HELP,
        ),
        SamplerMethod(
            "successive_halving", "Successive halving", "multi-fidelity",
            "Gives every trial a small budget and promotes only the best fraction to larger ones.",
            "Successive halving evaluates configurations at a small budget, promotes the top "
            "1/η to η times the budget, and repeats until the full budget. Most compute goes to "
            "the configurations that looked best early. It is one bracket of Hyperband: the most "
            "aggressive one.",
            make_sampler=inner_sampler, make_pruner=halving,
            defaults={"sampler": "tpe", "reduction_factor": 3}, option_help=_FIDELITY_HELP,
        ),
        SamplerMethod(
            "median", "Median stopping", "multi-fidelity",
            "Stops a trial whose intermediate score is worse than the median of earlier trials at the same step.",
            "Median stopping lets every trial start, but after each fold, epoch or round compares "
            "its score so far with the median of what earlier trials had at the same step. A "
            "trial below the median is stopped. It is a gentle, robust rule that saves compute "
            "without needing a schedule. New configurations come from TPE.",
            make_sampler=inner_sampler, make_pruner=median,
            defaults={"sampler": "tpe", "n_startup_trials": 5, "n_warmup_steps": 1},
            option_help={
                "sampler": _FIDELITY_HELP["sampler"],
                "n_startup_trials": "Trials that always run to the end first.",
                "n_warmup_steps": "Steps a trial runs before it can be stopped.",
            },
        ),
        PopulationMethod(
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

RECOMMENDED = "recommended"


def method_label(name: str) -> str:
    """A method's name as the app says it ("Bayesian (TPE)"), or the name as it is."""
    spec = REGISTRY.get(name)
    return spec.label if spec else name


def get_method(name: str) -> MethodSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"Unknown method '{name}'. Choose one of: {', '.join(REGISTRY)}."
        ) from None


def list_methods() -> list[MethodSpec]:
    return list(REGISTRY.values())


def multi_objective_methods() -> list[str]:
    """The methods that can search a run with cost objectives."""
    return [m.name for m in REGISTRY.values() if m.multi_objective]


def check_multi_objective(method: MethodSpec) -> None:
    """Refuse a method that cannot search several objectives, saying why and what can."""
    if method.multi_objective:
        return
    if method.multi_fidelity:
        why = (
            f"{method.label} stops trials early with an Optuna pruner, and Optuna's pruners do "
            "not apply to multi-objective runs: a trial cannot be stopped early on several "
            "objectives at once."
        )
    elif method.why_one_objective:
        why = method.why_one_objective
    elif method.runs_itself:
        why = (
            f"{method.label} ranks its members on one score to decide which copy which, so it "
            "cannot trade the score against a cost."
        )
    else:
        why = f"{method.label} follows one score and cannot search several objectives."
    raise ConfigError(
        f"{why} For a run with cost objectives choose one of: "
        f"{', '.join(multi_objective_methods())}; or remove the cost objectives."
    )
