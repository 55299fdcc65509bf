"""Demo presets on Home: meaningful runs that start in one click."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from tuning.core.config import DatasetRef, RunConfig
from tuning.core.enums import Task
from tuning.core.space import SearchSpace, cat_param
from tuning.models import get_model
from tuning.runs.front import experiments

LEARNING_RATES = (1e-4, 1e-3, 1e-2, 1e-1)


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    blurb: str  # what it shows, in a sentence or two (static text: safe as Markdown)
    make: Callable[[], RunConfig]


def learning_rate_sweep_space() -> SearchSpace:
    """The MLP's default space with learning_rate as the only searched parameter, taking four
    values a decade apart; every other parameter switched off (fixed at its default value)."""
    base = get_model("mlp").default_space(Task.CLASSIFICATION)
    params = []
    for p in base.params:
        if p.name == "learning_rate":
            params.append(cat_param("learning_rate", LEARNING_RATES, help=p.help))
        else:
            params.append(replace(p, enabled=False))
    return SearchSpace(tuple(params)).validate()


PRESETS: tuple[Preset, ...] = (
    Preset(
        "forest_tpe",
        "Random forest · Bayesian (TPE)",
        "A random forest on the synthetic 2000 × 50 benchmark (seed-classification), tuned by "
        "TPE for 40 trials: watch the best score climb as TPE learns where good trees grow.",
        lambda: RunConfig(
            DatasetRef("seed-classification"), "random_forest", "tpe", n_trials=40, cv_folds=5
        ),
    ),
    Preset(
        "svm_cancer",
        "SVM on breast cancer",
        "A support vector machine on the breast-cancer data: C and gamma span orders of "
        "magnitude (log scale), and the kernel decides which parameters apply. 40 TPE trials.",
        lambda: RunConfig(DatasetRef("breast_cancer"), "svm", "tpe", n_trials=40, cv_folds=5),
    ),
    Preset(
        "svm_hyperopt",
        "SVM · Hyperopt TPE",
        "The same SVM on breast cancer tuned by Hyperopt's original TPE: 20 random trials "
        "first, then each parameter modelled on its own, the kernel's parameters as nested "
        "choices. 40 trials; race it against Optuna's TPE on Compare.",
        lambda: RunConfig(
            DatasetRef("breast_cancer"), "svm", "hyperopt_tpe", n_trials=40, cv_folds=5
        ),
    ),
    Preset(
        "mlp_hyperband",
        "Neural network · Hyperband",
        "A PyTorch multilayer perceptron on handwritten digits. Hyperband trains many networks "
        "for a few epochs and keeps training only the promising ones: see pruned curves stop.",
        lambda: RunConfig(DatasetRef("digits"), "mlp", "hyperband", n_trials=30, cv_folds=3),
    ),
    Preset(
        "lr_sweep",
        "Learning-rate sweep",
        "The same network at learning rates 0.0001, 0.001, 0.01 and 0.1, everything else "
        "fixed, with early stopping: one learning curve per rate shows too slow, just right "
        "and unstable.",
        lambda: RunConfig(
            DatasetRef("digits"),
            "mlp",
            "grid",
            space=learning_rate_sweep_space(),
            n_trials=None,
            cv_folds=3,
        ),  # fmt: skip
    ),
)


# Multi-objective: the engine's demo configuration (random forest on the seed benchmark, CV
# accuracy against fit time, TPE).
TRADEOFF = Preset(
    "tradeoff",
    "Trade-off: accuracy against fit time",
    "A random forest on the synthetic 2000 × 50 benchmark tuned on two objectives at once: CV "
    "accuracy up, fit time down. Watch the Pareto front of the best trade-offs grow: more "
    "trees buy accuracy with time.",
    lambda: experiments.tradeoff_demo_config(),
)
PRESETS = (*PRESETS, TRADEOFF)


def get_preset(key: str) -> Preset:
    return next(p for p in PRESETS if p.key == key)
