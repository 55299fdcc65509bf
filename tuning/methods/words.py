"""A method and its options in plain words, for pages and reports: never the keys they are
stored under ("tpe", "n_startup_trials=5, constant_liar=True")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuning.methods import method_label

__all__ = ["method_in_words", "option_label", "option_in_words"]


def _pct(v: Any) -> str:
    return f"{float(v):.0%}"


def _onoff(v: Any) -> str:
    return "on" if v else "off"


# option -> (label of its input, how its value reads in a sentence)
_WORDS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "n_startup_trials": ("Random start-up trials", lambda v: f"{v} random start-up trials"),
    "constant_liar": ("Constant liar", lambda v: f"constant liar {_onoff(v)}"),
    "population_size": ("Population size", lambda v: f"population of {v}"),
    "sampler": ("Proposes trials by", lambda v: f"trials proposed by {method_label(v)}"),
    "reduction_factor": ("Reduction factor (η)", lambda v: f"keeps the best 1/{v} at each rung"),
    "n_warmup_steps": ("Warm-up steps", lambda v: f"{v} step{'' if v == 1 else 's'} before a trial can be stopped"),
    "interval": ("Perturbation interval (epochs)", lambda v: f"exploit and explore every {v} epochs"),
    "quantile": ("Quantile", lambda v: f"the bottom {_pct(v)} copy the top {_pct(v)}"),
    "factors": ("Perturbation factors",
                lambda v: "perturbation by × " + " or × ".join(f"{f:g}" for f in v)),
    "resample_probability": ("Resample probability", lambda v: f"resampled with chance {_pct(v)}"),
    "mutable": ("Hyperparameters that may change", lambda v: "may change " + ", ".join(map(str, v))),
}  # fmt: skip
# Where one option name means something else for one method.
_BY_METHOD: dict[tuple[str, str], tuple[str, Callable[[Any], str]]] = {
    ("median", "n_startup_trials"): (
        "Trials run to the end first",
        lambda v: f"{v} trials run to the end first",
    ),
}


def _words(method: str, key: str) -> tuple[str, Callable[[Any], str]]:
    found = _BY_METHOD.get((method, key)) or _WORDS.get(key)
    if found is not None:
        return found
    plain = key.replace("_", " ")
    return plain.capitalize(), lambda v: f"{plain} {v}"


def option_label(method: str, key: str) -> str:
    """The label of an option's input ("Random start-up trials" for n_startup_trials)."""
    return _words(method, key)[0]


def option_in_words(method: str, key: str, value: Any) -> str:
    """An option's value in a phrase ("5 random start-up trials", "constant liar on")."""
    return _words(method, key)[1](value)


def method_in_words(method: str, options: dict[str, Any] | None = None) -> str:
    """The method and its options in a phrase: "Bayesian (TPE), 5 random start-up trials,
    constant liar on"."""
    parts = [method_label(method)]
    parts += [option_in_words(method, k, v) for k, v in (options or {}).items()]
    return ", ".join(parts)
