"""What a run is made of: a reference to its data and its whole configuration, saved as JSON.

A RunConfig travels from the pages and the command line to the engine, and is saved on the
run's study (user_attrs["config"]) so that any process can rebuild the run from the storage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tuning.core.enums import TASKS
from tuning.core.errors import ConfigError, DataError
from tuning.core.space import SearchSpace

CUSTOM_MODEL = "custom"  # the model name of a run whose estimator is its own (EstimatorRef)
OWN_ESTIMATOR_LABEL = "Your own estimator"


@dataclass(frozen=True)
class DatasetRef:
    """What a run saves about its data: enough to load it again in any process."""

    name: str  # registry name, or "csv"
    params: dict = field(default_factory=dict)  # synthetic-set parameters
    path: str | None = None  # CSV path when name == "csv"
    target: str | None = None  # CSV target column
    task: str | None = None  # override of the inferred task for CSV

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DataError(
                "A dataset reference needs a name: one of the built-in datasets "
                "(`python -m tuning datasets` lists them) or 'csv' for a file."
            )
        params = {} if self.params is None else self.params
        if not isinstance(params, Mapping):
            raise DataError(
                f"Dataset parameters must be a mapping of names to values, got {params!r}."
            )
        object.__setattr__(self, "params", {str(k): v for k, v in params.items()})
        if self.path is not None:
            object.__setattr__(self, "path", str(self.path))
        if self.task is not None and self.task not in TASKS:
            raise DataError(f"Unknown task {self.task!r}: choose one of {', '.join(TASKS)}.")

    def __hash__(self) -> int:  # params is a dict, so hash the JSON form
        return hash(json.dumps(self.to_dict(), sort_keys=True, default=str))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "params": dict(self.params),
            "path": self.path,
            "target": self.target,
            "task": self.task,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> DatasetRef:
        if isinstance(d, DatasetRef):
            return d
        if not isinstance(d, Mapping):
            raise DataError(f"A dataset reference must be a mapping, got {type(d).__name__}.")
        allowed = {"name", "params", "path", "target", "task"}
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise DataError(
                f"Unknown key(s) in the dataset reference: {', '.join(map(str, unknown))}. "
                f"Allowed keys: {', '.join(sorted(allowed))}."
            )
        if "name" not in d:
            raise DataError("The dataset reference has no 'name': add the dataset's name.")
        return cls(
            name=d["name"],
            params=d.get("params") or {},
            path=d.get("path"),
            target=d.get("target"),
            task=d.get("task"),
        )

    def label(self) -> str:
        """A short human label: "iris", "moons(n_samples=500, noise=0.3)", "my.csv → price"."""
        if self.name == "csv":
            file = Path(self.path).name if self.path else "csv"
            text = f"{file} → {self.target}" if self.target else file
            return f"{text} ({self.task})" if self.task else text
        if self.params:
            inner = ", ".join(f"{k}={v}" for k, v in self.params.items())
            return f"{self.name}({inner})"
        return self.name


@dataclass(frozen=True)
class EstimatorRef:
    """A run's own scikit-learn estimator, as its saved configuration describes it.

    `path` ("package.module:factory") is set when whoever started the process named an
    importable factory (the command line's --estimator): any worker re-imports it. A Python
    object handed to TuningSearchCV has no path: it is described by its class and parameters
    only, and no other process can rebuild it (`importable` is False).
    """

    cls: str  # "sklearn.linear_model._logistic.LogisticRegression"
    params: str = ""  # repr of get_params(deep=False), for people to read
    path: str | None = None

    def __post_init__(self) -> None:
        if self.path is not None and not _IMPORT_PATH.fullmatch(str(self.path)):
            raise ConfigError(
                f"'{self.path}' is not an import path: write package.module:factory, e.g. "
                "mypkg.models:make_pipeline."
            )

    @property
    def importable(self) -> bool:
        return self.path is not None

    def label(self) -> str:
        return self.path or self.cls.rsplit(".", 1)[-1]

    def to_dict(self) -> dict:
        return {"cls": self.cls, "params": self.params, "path": self.path}

    @classmethod
    def from_dict(cls, d: Mapping) -> EstimatorRef:
        if isinstance(d, EstimatorRef):
            return d
        if not isinstance(d, Mapping) or "cls" not in d:
            raise ConfigError("A saved estimator needs its class ('cls').")
        return cls(cls=str(d["cls"]), params=str(d.get("params") or ""), path=d.get("path"))


# package.module:attribute, each part a Python identifier (nothing else is ever imported).
_IMPORT_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to rebuild a run's objective. Saved on the study as JSON."""

    dataset: DatasetRef
    model: str
    method: str = "tpe"
    space: SearchSpace | None = None  # None: the model's default space
    method_options: dict[str, Any] = field(default_factory=dict)
    n_trials: int | None = 50
    timeout_s: float | None = None
    cv_folds: int = 5
    scoring: str | None = None  # None: accuracy (classification) or r2 (regression)
    seed: int = 0
    test_size: float = 0.2
    grid_points: int = 5
    max_consecutive_failures: int = 10
    n_jobs: int = -1  # threads per model fit (forests, kNN); -1 = all cores
    train_score: bool = True
    fidelity: str = "auto"  # what multi-fidelity methods spend: "auto" (the model's) or "folds"
    retries: int = 0  # times a trial whose worker died is run again
    trial_timeout_s: float | None = None  # a trial still working past this is failed
    workers: int = 1  # local worker processes (1: a thread in the launching process)
    # Where the workers run: "local" (this machine's processes) or "dask" (tasks on the Dask
    # cluster whose scheduler the launching process was started with; never stored here).
    cluster: str = "local"
    name: str | None = None
    # Cost objectives traded against the score ("fit_seconds", "cv_std:minimize", ...; see
    # core/objectives.py); () is a single-objective run, as every run before them was.
    objectives: tuple[str, ...] = ()
    # A run's own estimator (model == CUSTOM_MODEL): from Python or an import path.
    estimator: EstimatorRef | None = None
    # Score the model's library defaults first, as the baseline the gain of tuning is measured
    # against (tuning/execution/baseline.py). A configuration saved before this setting existed
    # reads as False: such a run has no baseline, and none is made up for it.
    defaults_baseline: bool = True
    # End the run by itself when the stop advisor finds that further trials are unlikely to
    # gain more than the CV noise (tuning/execution/advisor.py); a normal, finished end. A
    # configuration saved before this setting existed reads as False (runs to its budget).
    stop_when_flat: bool = False
    # Earlier runs (names in the same storage) whose best configurations are queued first at
    # creation (tuning/runs/warmstart.py); () is a cold start, as every run before it was.
    warm_start: tuple[str, ...] = ()
    # With a warm start: whether the space was narrowed to where the sources' good trials lay
    # (the narrowed ranges are `space`; `full_space` keeps the ranges to restore).
    warm_narrow: bool = False
    full_space: SearchSpace | None = None

    @property
    def multi_objective(self) -> bool:
        return bool(self.objectives)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dataset"] = self.dataset.to_dict()
        d["space"] = self.space.to_dict() if self.space else None
        d["objectives"] = list(self.objectives)  # as JSON keeps it, so a saved config compares
        d["estimator"] = self.estimator.to_dict() if self.estimator else None
        d["warm_start"] = list(self.warm_start)
        d["full_space"] = self.full_space.to_dict() if self.full_space else None
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"Unknown run setting(s): {', '.join(sorted(unknown))}.")
        d["dataset"] = DatasetRef.from_dict(d["dataset"])
        d["space"] = SearchSpace.from_dict(d["space"]) if d.get("space") else None
        d["objectives"] = tuple(d.get("objectives") or ())
        d["estimator"] = EstimatorRef.from_dict(d["estimator"]) if d.get("estimator") else None
        d["defaults_baseline"] = bool(d.get("defaults_baseline", False))  # saved before: none
        d["warm_start"] = tuple(str(n) for n in d.get("warm_start") or ())
        d["full_space"] = SearchSpace.from_dict(d["full_space"]) if d.get("full_space") else None
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls.from_dict(json.loads(text))
