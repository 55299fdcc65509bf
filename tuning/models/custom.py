"""A run's own scikit-learn estimator: imported from a path, described, and made a ModelSpec.

Whoever starts a process names the code it imports (Python, the command line's --estimator, an
environment variable); the path is saved with the run so that workers re-import it. A path read
back from a storage is imported only when its module is allowed in this process (ENV_ALLOW, set
by whoever started it, or `allow` from the command line that named it): whoever can write to a
shared storage must not choose what other people's processes import. An object handed in from
Python is described by its class and parameters only: no other process can rebuild it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

from sklearn.base import BaseEstimator, clone, is_classifier

from tuning.core.config import CUSTOM_MODEL, EstimatorRef
from tuning.core.enums import Task
from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace
from tuning.models import ModelSpec

# Modules (and their submodules) whose estimators this process may import, comma-separated.
ENV_ALLOW = "TUNING_STUDIO_ESTIMATORS"


def allowed_modules() -> list[str]:
    return [m.strip() for m in os.environ.get(ENV_ALLOW, "").split(",") if m.strip()]


def is_allowed(module: str) -> bool:
    """Whether whoever started this process allows importing `module` for an estimator."""
    return any(module == m or module.startswith(m + ".") for m in allowed_modules())


def allow(path: str) -> None:
    """Allow a module ("package.module", or the module of "package.module:factory") in this
    process and the worker processes it starts: for the one who names it (the command line's
    --estimator or --allow-estimator, Python)."""
    module = path.partition(":")[0]
    EstimatorRef(cls="", path=f"{module}:x")  # checks the form: nothing else is ever allowed
    if not is_allowed(module):
        os.environ[ENV_ALLOW] = ",".join([*allowed_modules(), module])


def not_allowed(module: str, path: str) -> str:
    return (
        f"This run's estimator comes from '{module}' ({path}), which this process was not "
        f"allowed to import: a path saved in a storage is imported only where whoever started "
        f"the process allows it, so that writing to a shared storage cannot choose the code "
        f"others run. Start the app or command with {ENV_ALLOW}={module} (or the command "
        f"line's --allow-estimator {module}) to allow it. Until then the run is read-only "
        "here: its trials can be read."
    )


def import_estimator(path: str) -> Any:
    """The estimator that `path` ("package.module:factory") names: the factory called with no
    arguments, or an estimator object at that path (cloned). Raises ConfigError saying why,
    also when this process does not allow the module (ENV_ALLOW)."""
    EstimatorRef(cls="", path=path)  # checks the form
    module_name, _, attr = path.partition(":")
    if not is_allowed(module_name):
        raise ConfigError(not_allowed(module_name, path))
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"Cannot import '{module_name}' for the estimator {path}: {exc}. Install the "
            "package (or add its folder to PYTHONPATH) where this process runs."
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"'{module_name}' has no '{attr}': check the estimator path {path}.")
        obj = getattr(obj, part)
    if isinstance(obj, BaseEstimator):
        return clone(obj)
    if not callable(obj):
        raise ConfigError(f"{path} is neither an estimator nor a function that returns one.")
    try:
        est = obj()
    except Exception as exc:  # the user's factory: say which one failed and how
        raise ConfigError(f"{path}() failed: {type(exc).__name__}: {exc}") from None
    if not (hasattr(est, "fit") and hasattr(est, "get_params") and hasattr(est, "set_params")):
        raise ConfigError(
            f"{path}() returned {type(est).__name__}, not a scikit-learn estimator (it needs "
            "fit, get_params and set_params)."
        )
    return est


NOT_IMPORTABLE = (
    "This run's estimator ({cls}) was handed to TuningSearchCV as a Python object, and its data "
    "lived in that Python process: its trials can be read here, but it cannot be resumed, "
    "refined or refit. Run it again from Python, or give the command line an importable "
    "factory (--estimator package.module:factory)."
)


def missing_estimator(ref: EstimatorRef | None) -> str | None:
    """Why this process cannot rebuild this run's estimator from its saved configuration, or
    None: a Python object handed to TuningSearchCV, an import path whose module this process
    does not allow (ENV_ALLOW) or cannot find. Cheap, and runs no user code: it looks the module up without importing it (a
    listing of runs must not execute their factories)."""
    if ref is None:
        return None
    if not ref.importable:
        return NOT_IMPORTABLE.format(cls=ref.cls)
    module = str(ref.path).partition(":")[0]
    if not is_allowed(module):
        return not_allowed(module, str(ref.path))
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return None
    return (
        f"Cannot import '{module}' for the estimator {ref.path} in this process: install the "
        "package (or add its folder to PYTHONPATH) where the app runs. Until then the run is "
        "read-only here: its trials can be read."
    )


def describe(estimator: Any, path: str | None = None) -> EstimatorRef:
    """What a run saves about its estimator: its class path, its parameters as text, and the
    import path that rebuilds it (None: an object from Python, which only its process has)."""
    cls = type(estimator)
    try:
        params = repr(estimator.get_params(deep=False))
    except Exception:  # an odd estimator's get_params: the class still identifies it
        params = ""
    return EstimatorRef(cls=f"{cls.__module__}.{cls.__qualname__}", params=params[:2000], path=path)


def estimator_task(estimator: Any) -> Task:
    return Task.CLASSIFICATION if is_classifier(estimator) else Task.REGRESSION


def own_model(estimator: Any, ref: EstimatorRef) -> ModelSpec:
    """A ModelSpec whose builds are clones of `estimator` with a trial's parameters set; no
    preprocessing is added (the estimator is the user's whole pipeline)."""

    def build(params: dict[str, Any], task: str, seed: int, n_jobs: int) -> Any:
        return clone(estimator).set_params(**params)

    def space(task: str) -> SearchSpace:
        raise ConfigError("Your own estimator has no default search space: give one.")

    return ModelSpec(
        CUSTOM_MODEL, ref.label(), f"Your own estimator: {ref.cls}", tuple(Task), build, space,
        preprocess=False,
    )  # fmt: skip


def check_space(estimator: Any, space: SearchSpace) -> None:
    """Every searched name must be a parameter of the estimator (nested ones as step__name)."""
    known = set(estimator.get_params(deep=True))
    unknown = [n for n in space.names if n not in known]
    if unknown:
        shown = ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12 else "")
        raise ConfigError(
            f"{type(estimator).__name__} has no parameter(s) {', '.join(unknown)}: its "
            f"parameters are {shown}."
        )
