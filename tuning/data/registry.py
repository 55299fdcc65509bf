"""The registry of built-in and synthetic datasets, their parameters, and `load_dataset`.

One :class:`DatasetSpec` entry per dataset in :data:`REGISTRY`; a new dataset is one more entry.
:func:`load_dataset` loads what a :class:`~tuning.core.config.DatasetRef` names: a registry
dataset, or a CSV file (name ``"csv"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tuning.core.config import DatasetRef
from tuning.core.errors import DataError
from tuning.data.csvfile import read_csv
from tuning.data.frame import Dataset, make_dataset

MAX_CELLS = 20_000_000  # cap on rows x features for generated data (160 MB of float64)


@dataclass(frozen=True)
class ParamLimit:
    """Allowed values of one synthetic-dataset parameter (inclusive bounds)."""

    kind: type  # int or float
    low: float
    high: float
    help: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    task: str
    description: str  # one line
    loader: Callable[[dict], tuple[pd.DataFrame, pd.Series]]
    defaults: dict = field(default_factory=dict)  # default params (synthetic sets)
    shape_hint: str = ""  # e.g. "150 × 4"
    limits: dict[str, ParamLimit] = field(default_factory=dict)  # one per key of defaults
    title: str = ""  # what people read ("Breast cancer"); `name` is the key code and CLI use

    @property
    def label(self) -> str:
        return self.title or self.name

    @property
    def synthetic(self) -> bool:
        return bool(self.defaults)


def _sklearn_loader(function: str) -> Callable[[dict], tuple[pd.DataFrame, pd.Series]]:
    def load(params: dict) -> tuple[pd.DataFrame, pd.Series]:
        from sklearn import datasets as skd

        X, y = getattr(skd, function)(return_X_y=True, as_frame=True)
        return X, y.rename("target")

    load.__name__ = f"load_{function}"
    return load


def _frame(X: np.ndarray, y: np.ndarray) -> tuple[pd.DataFrame, pd.Series]:
    columns = [f"x{i}" for i in range(X.shape[1])]
    return pd.DataFrame(X, columns=columns), pd.Series(y, name="target")


def _seed_classification(p: dict) -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=p["n_samples"],
        n_features=50,
        n_informative=30,
        n_redundant=10,
        random_state=p["seed"],
    )
    return _frame(X, y)


def _regression(p: dict) -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import make_regression

    X, y = make_regression(
        n_samples=p["n_samples"],
        n_features=p["n_features"],
        noise=p["noise"],
        random_state=p["seed"],
    )
    return _frame(X, y)


def _moons(p: dict) -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=p["n_samples"], noise=p["noise"], random_state=p["seed"])
    return _frame(X, y)


_N_SAMPLES = ParamLimit(int, 20, 200_000, "number of rows")
_SEED = ParamLimit(int, 0, 2**32 - 1, "random seed")

_SPECS = (
    DatasetSpec("iris", "classification", "Iris flowers: 3 species from 4 petal and sepal measurements", _sklearn_loader("load_iris"), {}, "150 × 4", title="Iris"),
    DatasetSpec("wine", "classification", "Wines: 3 cultivars from 13 chemical measurements", _sklearn_loader("load_wine"), {}, "178 × 13", title="Wine"),
    DatasetSpec("breast_cancer", "classification", "Breast tumours: malignant (0) or benign (1) from 30 cell-nucleus features", _sklearn_loader("load_breast_cancer"), {}, "569 × 30", title="Breast cancer"),
    DatasetSpec("digits", "classification", "Handwritten digits 0-9 as 8×8 images (64 pixel intensities)", _sklearn_loader("load_digits"), {}, "1797 × 64", title="Digits"),
    DatasetSpec("diabetes", "regression", "Diabetes progression after one year from 10 baseline measurements", _sklearn_loader("load_diabetes"), {}, "442 × 10", title="Diabetes"),
    DatasetSpec("seed-classification", "classification", "Synthetic 2-class problem, 50 features (30 informative, 10 redundant): the classic benchmark of this field", _seed_classification, {"n_samples": 2000, "seed": 42}, "2000 × 50", {"n_samples": _N_SAMPLES, "seed": _SEED}, title="Benchmark classification (synthetic)"),
    DatasetSpec("regression", "regression", "Synthetic linear regression with Gaussian noise; size and noise adjustable", _regression, {"n_samples": 1000, "n_features": 20, "noise": 10.0, "seed": 0}, "1000 × 20", {"n_samples": _N_SAMPLES, "n_features": ParamLimit(int, 1, 1000, "number of features"), "noise": ParamLimit(float, 0.0, 10_000.0, "standard deviation of the noise"), "seed": _SEED}, title="Linear regression (synthetic)"),
    DatasetSpec("moons", "classification", "Two interleaving half-moons in 2-D: a small non-linear problem; size and noise adjustable", _moons, {"n_samples": 1000, "noise": 0.25, "seed": 0}, "1000 × 2", {"n_samples": _N_SAMPLES, "noise": ParamLimit(float, 0.0, 10.0, "standard deviation of the noise"), "seed": _SEED}, title="Moons (synthetic)"),
)  # fmt: skip

REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}


def list_datasets() -> list[DatasetSpec]:
    return list(REGISTRY.values())


def get_spec(name: str) -> DatasetSpec:
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise DataError(
            f"Unknown dataset {name!r}. Choose one of: {', '.join(REGISTRY)}, "
            "or 'csv' for a file of your own."
        ) from None


def validate_params(name: str, params: Mapping | None) -> dict:
    """Check a registry dataset's parameters; return them merged over the defaults."""
    spec = get_spec(name)
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise DataError(f"Parameters of dataset '{name}' must be a mapping, got {params!r}.")
    unknown = sorted(str(k) for k in params if k not in spec.defaults)
    if unknown:
        if not spec.defaults:
            raise DataError(
                f"Dataset '{name}' takes no parameters, but got: {', '.join(unknown)}. Remove them."
            )
        raise DataError(
            f"Unknown parameter(s) for dataset '{name}': {', '.join(unknown)}. "
            f"Valid parameters: {', '.join(spec.defaults)}."
        )
    out = dict(spec.defaults)
    for key, value in params.items():
        out[key] = _check_param(name, key, value, spec.limits[key])
    n_features = out.get("n_features")
    if "n_samples" in out and isinstance(n_features, int):
        cells = out["n_samples"] * n_features
        if cells > MAX_CELLS:
            raise DataError(
                f"Dataset '{name}' would be too large: n_samples × n_features = {cells:,} values, "
                f"more than {MAX_CELLS:,}. Lower n_samples or n_features."
            )
    return out


def _check_param(dataset: str, key: str, value: Any, limit: ParamLimit) -> int | float:
    where = f"Parameter '{key}' of dataset '{dataset}'"
    bounds = f"between {limit.low:g} and {limit.high:g}"
    is_number = isinstance(value, int | float | np.integer | np.floating)
    if isinstance(value, bool | np.bool_) or not is_number:
        kind = "a whole number" if limit.kind is int else "a number"
        raise DataError(f"{where} must be {kind} {bounds}, got {value!r}.")
    if not math.isfinite(float(value)):
        raise DataError(f"{where} must be a finite number {bounds}, got {value!r}.")
    if limit.kind is int:
        if float(value) != int(value):
            raise DataError(f"{where} must be a whole number {bounds}, got {value!r}.")
        value = int(value)
    else:
        value = float(value)
    if not limit.low <= value <= limit.high:
        raise DataError(f"{where} must be {bounds}, got {value!r}.")
    return value


def load_dataset(ref: DatasetRef | Mapping) -> Dataset:
    """Load a registry dataset or a CSV file named by ``ref``; raises DataError."""
    if not isinstance(ref, DatasetRef):
        ref = DatasetRef.from_dict(ref)
    if ref.name == "csv":
        if not ref.path:
            raise DataError("A CSV dataset needs a file: upload or choose a CSV file.")
        if not ref.target:
            raise DataError("Choose the target column, the one the model should predict.")
        if ref.params:
            raise DataError(
                f"A CSV dataset takes no parameters, but got: {', '.join(ref.params)}. Remove them."
            )
        return read_csv(ref.path, ref.target, task=ref.task, name=ref.label())
    spec = get_spec(ref.name)
    if ref.path is not None or ref.target is not None:
        raise DataError(
            f"Dataset '{spec.name}' is built in: a file path or target column only applies "
            "to CSV datasets (name 'csv'). Remove them."
        )
    if ref.task is not None and ref.task != spec.task:
        others = [s.name for s in REGISTRY.values() if s.task == ref.task]
        raise DataError(
            f"Dataset '{spec.name}' is a {spec.task} dataset and cannot be used for "
            f"{ref.task}. Choose a {ref.task} dataset ({', '.join(others)}) or a CSV file."
        )
    params = validate_params(spec.name, ref.params)
    try:
        X, y = spec.loader(params)
    except (ValueError, TypeError, MemoryError) as e:
        raise DataError(
            f"Could not create dataset '{spec.name}' with parameters {params} ({e}). "
            "Change the parameters."
        ) from e
    X = X.copy()
    X.columns = [str(c) for c in X.columns]
    description = spec.description
    if spec.synthetic:
        description += " (" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"
    return make_dataset(ref.label(), spec.task, X, y, description, [], [])
