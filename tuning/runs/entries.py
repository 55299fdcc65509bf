"""An experiment's entries: the rows a race compares. Most are a registry method ("tpe"); a
warm-started copy of one is its own entry ("tpe+warm"), raced beside the cold one on the same
seeds. Everything that reads an entry as a method (the registry, labels, run names) goes
through these helpers, so no caller splits the key itself.
"""

from __future__ import annotations

from tuning.methods import REGISTRY, method_label

WARM = "+warm"  # an entry's suffix for the warm-started copy of its method
WARM_WORDS = "warm start"


def warm_entry(method: str) -> str:
    """The entry of `method`'s warm-started copy."""
    return f"{method}{WARM}"


def is_warm(entry: str) -> bool:
    return entry.endswith(WARM)


def entry_method(entry: str) -> str:
    """The registry method an entry runs ("tpe+warm" -> "tpe")."""
    return entry[: -len(WARM)] if is_warm(entry) else entry


def cold_twin(entry: str) -> str:
    """The cold entry a warm one is raced against (an entry that is not warm is its own)."""
    return entry_method(entry)


def entry_label(entry: str) -> str:
    """An entry as people read it: "Bayesian (TPE)", "Bayesian (TPE) with warm start" (no
    comma: the label sits in lists of methods)."""
    label = method_label(entry_method(entry))
    return f"{label} with {WARM_WORDS}" if is_warm(entry) else label


def entry_slug(entry: str) -> str:
    """The entry as a member run's name writes it ("tpe-warm"): run names keep to a safe
    alphabet."""
    return f"{entry_method(entry)}-warm" if is_warm(entry) else entry


def can_warm_start(method: str) -> bool:
    """Whether a method can race a warm-started copy: a sampler that learns from queued trials
    (not a grid, which tries its own list, nor a method that trains its own population or only
    names another)."""
    spec = REGISTRY.get(method)
    return spec is not None and not (spec.enumerates_grid or spec.runs_itself or spec.chooses_method)


def default_warm(methods: list[str] | tuple[str, ...]) -> list[str]:
    """The methods given a warm copy unless told otherwise: the first model-based one chosen
    (a model learns from the warm trials; random search would only try them), else the first
    that can start from earlier runs at all."""
    able = [m for m in methods if can_warm_start(m)]
    bayesian = [m for m in able if REGISTRY[m].family == "bayesian"]
    return (bayesian or able)[:1]
