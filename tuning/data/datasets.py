"""Datasets: built-in, synthetic and uploaded (CSV); validation; holdout split.

A dataset is named by a :class:`DatasetRef` (saved in a run's JSON config) and loaded into a
:class:`Dataset` (features ``X``, target ``y``, task, warnings). Built-in and synthetic sets live
in :data:`REGISTRY`, one :class:`DatasetSpec` entry each. CSV files are read as data only (pandas,
never eval or pickle) and checked; every problem raises :class:`~tuning.core.errors.DataError` with a
message that says what is wrong and what to do.

Encoding and imputation of features happen later, inside the model pipeline (fit within each CV
fold), so missing values stay in ``X`` here.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
import warnings as _warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from tuning.core.config import DatasetRef
from tuning.core.enums import TASKS
from tuning.core.errors import ConfigError, DataError


MIN_ROWS = 10  # fewer rows than this cannot be tuned and tested meaningfully
MAX_CELLS = 20_000_000  # cap on rows x features for generated data (160 MB of float64)
MANY_ROWS = 100_000  # above this, warn that trials may be slow
MANY_CATEGORIES = 100  # a categorical column with more distinct values gets a warning
IMBALANCE_RATIO = 0.2  # smallest / largest class below this gets a warning


# --------------------------------------------------------------------------------------------
# References and loaded datasets
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Dataset:
    """A loaded dataset: features, target and what was noticed about them."""

    name: str
    task: str
    X: pd.DataFrame
    y: pd.Series
    description: str
    warnings: list[str] = field(default_factory=list)
    categorical_columns: list[str] = field(default_factory=list)
    id_columns: list[str] = field(default_factory=list)
    classes: list | None = None  # sorted class labels for classification

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.X.shape[0]), int(self.X.shape[1]))

    @property
    def target(self) -> str:
        return str(self.y.name)


# --------------------------------------------------------------------------------------------
# Registry of built-in and synthetic datasets
# --------------------------------------------------------------------------------------------


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
    DatasetSpec("iris", "classification", "Iris flowers: 3 species from 4 petal and sepal measurements", _sklearn_loader("load_iris"), {}, "150 × 4"),
    DatasetSpec("wine", "classification", "Wines: 3 cultivars from 13 chemical measurements", _sklearn_loader("load_wine"), {}, "178 × 13"),
    DatasetSpec("breast_cancer", "classification", "Breast tumours: malignant (0) or benign (1) from 30 cell-nucleus features", _sklearn_loader("load_breast_cancer"), {}, "569 × 30"),
    DatasetSpec("digits", "classification", "Handwritten digits 0-9 as 8×8 images (64 pixel intensities)", _sklearn_loader("load_digits"), {}, "1797 × 64"),
    DatasetSpec("diabetes", "regression", "Diabetes progression after one year from 10 baseline measurements", _sklearn_loader("load_diabetes"), {}, "442 × 10"),
    DatasetSpec("seed-classification", "classification", "Synthetic 2-class problem, 50 features (30 informative, 10 redundant): the classic benchmark of this field", _seed_classification, {"n_samples": 2000, "seed": 42}, "2000 × 50", {"n_samples": _N_SAMPLES, "seed": _SEED}),
    DatasetSpec("regression", "regression", "Synthetic linear regression with Gaussian noise; size and noise adjustable", _regression, {"n_samples": 1000, "n_features": 20, "noise": 10.0, "seed": 0}, "1000 × 20", {"n_samples": _N_SAMPLES, "n_features": ParamLimit(int, 1, 1000, "number of features"), "noise": ParamLimit(float, 0.0, 10_000.0, "standard deviation of the noise"), "seed": _SEED}),
    DatasetSpec("moons", "classification", "Two interleaving half-moons in 2-D: a small non-linear problem; size and noise adjustable", _moons, {"n_samples": 1000, "noise": 0.25, "seed": 0}, "1000 × 2", {"n_samples": _N_SAMPLES, "noise": ParamLimit(float, 0.0, 10.0, "standard deviation of the noise"), "seed": _SEED}),
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
    return _finish(ref.label(), spec.task, X, y, description, [], [])


# --------------------------------------------------------------------------------------------
# CSV files
# --------------------------------------------------------------------------------------------

_SEPARATORS = (",", ";", "\t", "|")


def _read_bytes(source: Any) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if hasattr(source, "getvalue"):  # e.g. Streamlit's UploadedFile, io.BytesIO
        data = source.getvalue()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if hasattr(source, "read"):
        data = source.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise DataError(
                f"There is no file at '{path}': check the path or upload the file again."
            )
        if not path.is_file():
            raise DataError(f"'{path}' is a folder, not a file: choose a CSV file.")
        try:
            return path.read_bytes()
        except OSError as e:
            raise DataError(
                f"Could not read '{path}' ({e.strerror or e}): check that the file is readable."
            ) from e
    raise DataError(
        f"Cannot read a CSV file from a {type(source).__name__}: give a file path or the "
        "file's contents (bytes)."
    )


def _decode(data: bytes) -> str:
    if not data or data.isspace():
        raise DataError("The file is empty: choose a CSV file with a header row and rows of data.")
    head = data[:8192]
    text: str | None = None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (Excel "Unicode text")
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    if text is None:
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise DataError(
                "The file looks like an Excel workbook (or another Office or zip file), not a "
                "CSV file: open it in your spreadsheet program and save it as CSV."
            )
        if b"\x00" in head:
            raise DataError(
                "The file contains binary data, so it is not a CSV text file: export your "
                "data as CSV (comma-, semicolon- or tab-separated text) and use that file."
            )
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("latin-1")
    text = text.lstrip("\ufeff")
    sample = text[:8192]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if controls > max(8, len(sample) // 100):  # text files have next to none
        raise DataError(
            "The file contains binary data (control characters), so it is not a CSV text "
            "file: export your data as CSV (comma-, semicolon- or tab-separated text)."
        )
    start = text.lstrip()[:1]
    if not start:
        raise DataError("The file is empty: choose a CSV file with a header row and rows of data.")
    if start in "{[<":
        kind = "JSON" if start in "{[" else "HTML or XML"
        raise DataError(
            f"The file looks like {kind}, not CSV: export the data as a CSV file (column names "
            "in the first row, one row of values per line) and use that file."
        )
    return text


def _sample_lines(text: str, limit: int = 200) -> list[str]:
    sample = text[:131_072]
    lines = sample.splitlines()
    if len(text) > len(sample) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    return [line for line in lines if line.strip()][:limit]


def _sniff_separator(text: str) -> str:
    """The separator that splits the first lines into the most, most consistent fields."""
    lines = _sample_lines(text)
    best, best_key = ",", None
    for sep in _SEPARATORS:
        try:
            rows = [row for row in csv.reader(lines, delimiter=sep) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        n = len(rows[0])
        consistency = sum(len(row) == n for row in rows) / len(rows)
        key = (consistency, n)
        if best_key is None or key > best_key:
            best, best_key = sep, key
    return best


def _header(text: str, sep: str) -> list[str]:
    lines = _sample_lines(text)
    try:
        first = next(csv.reader(lines, delimiter=sep), [])
    except csv.Error as e:
        raise DataError(
            f"Could not read the first row of the file ({e}): check that it is a CSV file "
            "with column names in the first row."
        ) from e
    return [name.strip() for name in first]


def _check_header(names: list[str]) -> None:
    if not any(names):
        raise DataError(
            "The first row of the file is empty: put the column names in the first row."
        )
    counts: dict[str, int] = {}
    for name in names:
        if name:
            counts[name] = counts.get(name, 0) + 1
    duplicates = [name for name, count in counts.items() if count > 1]
    if duplicates:
        raise DataError(
            f"The file has duplicate column names: {_quoted(duplicates)}. Give every column "
            "a different name and load the file again."
        )
    if len(names) > 1 and all(_is_number(name) for name in names):
        raise DataError(
            f"The first row holds numbers ({', '.join(names[:4])}, ...) where column names "
            "are expected: add a header row with a name for each column."
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse(text: str, sep: str) -> pd.DataFrame:
    _check_header(_header(text, sep))
    try:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                skipinitialspace=True,
                index_col=False,
                low_memory=False,
            )
    except pd.errors.EmptyDataError as e:
        raise DataError(
            "The file is empty: choose a CSV file with a header row and rows of data."
        ) from e
    except pd.errors.ParserError as e:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if match:
            expected, line, saw = match.groups()
            detail = f"line {line} has {saw} values but the first row has {expected} columns"
        elif "EOF inside string" in str(e):
            detail = 'a quoted value is never closed (a " without its closing ")'
        else:
            detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(
            f"Could not parse the file as CSV: {detail}. Check that every row has the same "
            "number of separators, and that text containing the separator is in quotes."
        ) from e
    except (ValueError, TypeError, OverflowError, csv.Error, UnicodeError) as e:
        raise DataError(
            f"Could not read the file as CSV ({e}): check that it is comma-, semicolon- or "
            "tab-separated text with column names in the first row."
        ) from e
    for warning in caught:
        if "Length of header" in str(warning.message):
            raise DataError(
                "The rows of data have more values than the first row has column names: give "
                "every column a name in the first row, or remove the extra values."
            )
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(
            f"The file has column names ({_quoted(list(df.columns), 6)}) but no rows of data: "
            "add the data under the header row."
        )
    if sep != ",":
        df = _decimal_commas(df)
    return df


def _decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns like "1,5" (decimal comma, common with ';' files) into numbers."""
    for column in df.columns:
        s = df[column]
        if not _is_text(s):
            continue
        present = s.dropna().astype(str)
        if present.empty or not present.str.contains(",", regex=False).any():
            continue
        numbers = pd.to_numeric(present.str.replace(",", ".", regex=False), errors="coerce")
        if numbers.notna().all():
            df[column] = numbers.reindex(s.index)
    return df


def load_text(source: Any) -> tuple[str, str]:
    text = _decode(_read_bytes(source))
    return text, _sniff_separator(text)


def csv_columns(source: str | Path | bytes) -> list[str]:
    """The column names of a CSV file (for pickers); DataError when it cannot be read."""
    text, sep = load_text(source)
    names = _header(text, sep)
    _check_header(names)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, nrows=0, index_col=False)
    except (ValueError, pd.errors.ParserError, csv.Error) as e:
        raise DataError(
            f"Could not read the column names of the file ({e}): check that it is a CSV file "
            "with column names in the first row."
        ) from e
    return [str(c).strip() for c in df.columns]


def read_csv(
    source: str | Path | bytes,
    target: str,
    task: str | None = None,
    name: str = "csv",
) -> Dataset:
    """Read a CSV file (path, or bytes of an upload) as a dataset with ``target`` as y."""
    text, sep = load_text(source)
    df = _parse(text, sep)
    return dataset_from_frame(df, target, task=task, name=name)


# --------------------------------------------------------------------------------------------
# Checks and cleaning of a table
# --------------------------------------------------------------------------------------------


def infer_task(y: pd.Series) -> str:
    """ "classification" for text, bool or few integer values; otherwise "regression"."""
    y = pd.Series(y).dropna()
    if y.empty:
        raise DataError("The target has no values: choose a target column with values.")
    if ptypes.is_bool_dtype(y.dtype) or isinstance(y.dtype, pd.CategoricalDtype):
        return "classification"
    if not ptypes.is_numeric_dtype(y.dtype):
        if ptypes.is_object_dtype(y.dtype):
            numbers = pd.to_numeric(y, errors="coerce")
            if numbers.notna().all():
                return infer_task(numbers)
        return "classification"
    values = y.to_numpy(dtype=float)
    n_unique = int(y.nunique())
    if n_unique <= 2:
        return "classification"
    if not np.isfinite(values).all():
        return "regression"
    integer_valued = bool(np.all(values == np.round(values)))
    # a few integer values, each seen on average at least 5 times: class labels
    if integer_valued and n_unique <= 20 and n_unique * 5 <= len(values):
        return "classification"
    return "regression"


def dataset_from_frame(
    df: pd.DataFrame, target: str, task: str | None = None, name: str = "data"
) -> Dataset:
    """Check and clean a table whose ``target`` column is to be predicted."""
    if task is not None and task not in TASKS:
        raise DataError(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}.")
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    # Counts and per-column checks below work on whole frames: column by column, a file with
    # 3,000 columns took a minute to load (quadratic count, one Series per column).
    duplicates = sorted(c for c, n in Counter(df.columns).items() if n > 1)
    if duplicates:
        raise DataError(
            f"The data has duplicate column names: {_quoted(duplicates)}. Give every column a "
            "different name."
        )
    target = str(target).strip() if target is not None else ""
    if not target:
        raise DataError(
            "No target column was chosen: choose the column the model should predict, one "
            f"of {_quoted(list(df.columns), 20)}."
        )
    if target not in df.columns:
        raise DataError(_no_column_message(target, list(df.columns)))
    if df.shape[1] < 2:
        raise DataError(
            f"The data has only one column ('{target}'), the target; it needs at least one "
            "feature column besides it. If the file has several columns, check that they are "
            "separated by commas, semicolons or tabs."
        )

    notes: list[str] = []
    missing = df[target].isna()
    if missing.all():
        raise DataError(
            f"The target column '{target}' has no values: choose another target column."
        )
    if missing.any():
        k = int(missing.sum())
        notes.append(
            f"{k} of {len(df)} rows have no value in the target column '{target}'; "
            f"{'it was' if k == 1 else 'they were'} dropped."
        )
        df = df.loc[~missing]
    df = df.reset_index(drop=True)
    if len(df) < MIN_ROWS:
        raise DataError(
            f"Only {len(df)} rows have a value in the target column '{target}'; at least "
            f"{MIN_ROWS} are needed to tune and test a model: add more rows."
        )
    y, task_used = _prepare_target(df[target], target, task)
    X, id_columns = _prepare_features(df.drop(columns=[target]), notes)
    n_categorical = len(_categorical_columns(X))
    description = (
        f"{name}: {len(X):,} rows, {X.shape[1]} feature columns ({n_categorical} categorical); "
        f"target '{target}' ({task_used}{', inferred' if task is None else ''})"
    )
    return _finish(name, task_used, X, y, description, notes, id_columns)


def _no_column_message(target: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(target, columns, n=1, cutoff=0.6)
    by_case = [c for c in columns if c.lower() == target.lower()]
    hint = by_case or close
    text = f"There is no column '{target}' in the data."
    if hint:
        text += f" Did you mean '{hint[0]}'?"
    return text + f" Choose the target from the columns: {_quoted(columns, 20)}."


def _prepare_target(y: pd.Series, target: str, task: str | None) -> tuple[pd.Series, str]:
    task = task or infer_task(y)
    if task == "regression":
        if ptypes.is_bool_dtype(y.dtype):
            y = y.astype(float)
        elif not ptypes.is_numeric_dtype(y.dtype):
            numbers = pd.to_numeric(y, errors="coerce")
            text = y[numbers.isna()]
            if len(text):
                raise DataError(
                    f"The target column '{target}' holds text (for example "
                    f"{_quoted(_examples(text), 3)}), so it cannot be used for regression, which "
                    "predicts numbers: choose classification, or another target column."
                )
            y = numbers
        y = y.astype(float)
        infinite = ~np.isfinite(y.to_numpy())
        if infinite.any():
            raise DataError(
                f"The target column '{target}' has infinite values in "
                f"{_rows(int(infinite.sum()))}: remove or correct those rows."
            )
        if y.nunique() < 2:
            raise DataError(
                f"The target column '{target}' has the same value ({y.iloc[0]:g}) in every "
                "row, so there is nothing to predict: choose another target column."
            )
        return y, task

    # classification
    if (
        ptypes.is_float_dtype(y.dtype)
        and np.isfinite(y.to_numpy()).all()
        and (y == np.round(y)).all()
    ):
        y = y.astype("int64")  # 0.0 / 1.0 labels become 0 / 1
    counts = y.value_counts()
    if len(counts) < 2:
        raise DataError(
            f"The target column '{target}' has only one class ({_quoted([counts.index[0]])}); "
            "classification needs at least two: choose another target column, or add rows "
            "of other classes."
        )
    if len(counts) == len(y):
        if ptypes.is_numeric_dtype(y.dtype) and not ptypes.is_bool_dtype(y.dtype):
            raise DataError(
                f"Every row has a different value in the target column '{target}', so it has "
                "no classes to learn. It looks like a quantity: choose the regression task, "
                "or another target column."
            )
        raise DataError(
            f"Every row has a different value in the target column '{target}' (like an ID "
            "or free text), so it has no classes to learn: choose another target column."
        )
    return y, task


_ID_NAME = re.compile(
    r"^(id|ids|index|idx|row|rowid|row[ _]id|row[ _]?num(ber)?|unnamed: ?0|.*[_ .\-]id)$",
    re.IGNORECASE,
)
_CAMEL_ID = re.compile(r"[a-z](Id|ID)$")


def _id_like(name: str, s: pd.Series) -> bool:
    if s.isna().any() or not s.is_unique:
        return False
    if _ID_NAME.match(name) or _CAMEL_ID.search(name):
        return True
    if ptypes.is_integer_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype):
        return bool((np.diff(s.to_numpy()) == 1).all())  # a row counter: k, k+1, k+2, ...
    return _is_text(s) and len(s) >= 20  # a different text in every row


def _prepare_features(X: pd.DataFrame, notes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    empty = list(X.columns[X.isna().all().to_numpy()])
    if empty:
        notes.append(f"{_subject(empty, 'is', 'are')} empty; {_it_they(empty)} dropped.")
        X = X.drop(columns=empty)

    unique, gaps = X.nunique(dropna=False), X.isna().any()
    id_columns = [  # only a column with a different value in every row can be an ID
        c for c in X.columns if unique[c] == len(X) and not gaps[c] and _id_like(c, X[c])
    ]
    if id_columns and len(id_columns) == X.shape[1]:
        only = (
            "it is the only feature, so it is"
            if len(id_columns) == 1
            else "they are the only features, so they are"
        )
        notes.append(
            f"{_subject(id_columns, 'looks', 'look')} like a row ID, but {only} kept. "
            "If it really is an ID, add columns that can predict the target."
        )
        id_columns = []
    for c in id_columns:
        notes.append(f"Column '{c}' looks like a row ID; it will be dropped.")
    X = X.drop(columns=id_columns)

    constant = [c for c in X.columns if unique[c] <= 1]
    if constant:
        notes.append(
            f"{_subject(constant, 'has', 'have')} the same value in every row, so "
            f"{'it cannot' if len(constant) == 1 else 'they cannot'} help a model; "
            f"{_it_they(constant)} dropped."
        )
        X = X.drop(columns=constant)

    if X.shape[1] == 0:
        dropped = empty + id_columns + constant
        raise DataError(
            f"No feature columns are left besides the target: {_quoted(dropped, 10)} "
            f"{'is' if len(dropped) == 1 else 'are'} empty, ID-like or constant. The data needs "
            "at least one column that varies between rows and can help predict the target."
        )

    numeric = [
        c for c, d in zip(X.columns, X.dtypes, strict=True)
        if ptypes.is_numeric_dtype(d) and not ptypes.is_bool_dtype(d)
    ]  # fmt: skip
    # Tree models compute in float32: a value beyond its range (about 3.4e38) becomes inf there
    # and fails every trial, so such values are treated like inf, as missing.
    limit = float(np.finfo(np.float32).max)
    values = np.abs(X[numeric].to_numpy(dtype=float, na_value=np.nan))
    with np.errstate(invalid="ignore"):
        bad_any = (values > limit).any(axis=0)
    for c in [c for c, bad in zip(numeric, bad_any, strict=True) if bad]:
        s = X[c]
        v = s.to_numpy(dtype=float, na_value=np.nan)
        infinite, huge = np.isinf(v), np.abs(v) > limit
        X[c] = s.mask(huge)
        if infinite.any():
            notes.append(
                f"Column '{c}' has infinite values in {_rows(int(infinite.sum()))}; they "
                "are treated as missing values."
            )
        if (huge & ~infinite).any():
            notes.append(
                f"Column '{c}' has values too large for the models (beyond ±3.4e38) in "
                f"{_rows(int((huge & ~infinite).sum()))}; they are treated as missing values."
            )

    share = X.isna().mean()
    share = share[share > 0].sort_values(ascending=False)
    if len(share):
        parts = ", ".join(f"'{c}' {_percent(v)}" for c, v in share.head(5).items())
        more = f" and {len(share) - 5} more" if len(share) > 5 else ""
        notes.append(
            f"{len(share)} feature column{'s have' if len(share) > 1 else ' has'} missing "
            f"values ({parts}{more}); they will be imputed (filled in) inside the model "
            "pipeline."
        )

    for c in _categorical_columns(X):
        s = X[c].dropna()
        if _is_text(X[c]) and len(s):
            numeric = pd.to_numeric(s, errors="coerce")
            if 0.8 <= numeric.notna().mean() < 1:
                text = _examples(s[numeric.isna()])
                notes.append(
                    f"Column '{c}' is mostly numbers but also has text such as "
                    f"{_quoted(text, 3)}; it is treated as a categorical column. If that text "
                    "means 'missing', leave those cells empty instead."
                )
        n_values = int(s.nunique())
        if n_values > MANY_CATEGORIES:
            notes.append(
                f"Categorical column '{c}' has {n_values:,} different values; encoding it "
                "creates many columns and can slow tuning. Consider dropping or grouping it."
            )
    return X, id_columns


def _finish(
    name: str,
    task: str,
    X: pd.DataFrame,
    y: pd.Series,
    description: str,
    notes: list[str],
    id_columns: list[str],
) -> Dataset:
    classes = None
    if task == "classification":
        counts = y.value_counts()
        classes = _sorted_labels(counts.index.tolist())
        smallest, largest = counts.idxmin(), counts.idxmax()
        if counts.min() / counts.max() < IMBALANCE_RATIO:
            notes.append(
                f"The classes are imbalanced: '{smallest}' has {int(counts.min()):,} rows, "
                f"'{largest}' has {int(counts.max()):,}. Accuracy can look good while the small "
                "class is ignored; consider balanced accuracy or F1 as the score."
            )
    if len(X) > MANY_ROWS:
        notes.append(
            f"The dataset has {len(X):,} rows, so each trial may take a while; a sample of "
            "the rows is quicker for exploring."
        )
    return Dataset(
        name=name,
        task=task,
        X=X,
        y=y,
        description=description,
        warnings=notes,
        categorical_columns=_categorical_columns(X),
        id_columns=list(id_columns),
        classes=classes,
    )


# --------------------------------------------------------------------------------------------
# Holdout split and cross-validation checks
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Split:
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


def split(ds: Dataset, test_size: float = 0.2, seed: int = 0) -> Split:
    """Hold out a test part (stratified for classification, reproducible by ``seed``)."""
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, int | float)
        or not 0 < test_size < 0.9
    ):
        raise ConfigError(
            f"The test size must be a fraction between 0 and 0.9 (for example 0.2), "
            f"got {test_size!r}."
        )
    n = len(ds.y)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_train < 2 or n_test < 1:
        raise DataError(
            f"The data has {n} rows, too few to hold out a test part of {test_size:g}: "
            "add data or change the test size."
        )
    stratify = None
    if ds.task == "classification":
        counts = ds.y.value_counts()
        single = counts[counts < 2]
        if len(single):
            others = f" (and {len(single) - 1} other classes)" if len(single) > 1 else ""
            raise DataError(
                f"Class '{single.index[0]}'{others} has only 1 row, so it cannot be in both "
                "the training and the test part: add rows of this class or remove it."
            )
        k = len(counts)
        if n_test < k:
            raise DataError(
                f"The test part would have {n_test} rows, fewer than the {k} classes, so it "
                f"cannot contain every class: raise the test size to at least "
                f"{math.ceil(100 * k / n) / 100:.2f} or add data."
            )
        if n_train < k:
            raise DataError(
                f"The training part would have {n_train} rows, fewer than the {k} classes: "
                "lower the test size or add data."
            )
        stratify = ds.y
    from sklearn.model_selection import train_test_split

    try:
        X_train, X_test, y_train, y_test = train_test_split(
            ds.X, ds.y, test_size=test_size, random_state=seed, shuffle=True, stratify=stratify
        )
    except ValueError as e:
        raise DataError(
            f"Could not split the data into training and test parts ({e}): change the test "
            "size or add data."
        ) from e
    return Split(X_train=X_train, X_test=X_test, y_train=y_train, y_test=y_test)


def check_cv(y_train: pd.Series, task: str, folds: int) -> None:
    """Raise DataError when ``y_train`` is too small for ``folds``-fold cross-validation."""
    if task not in TASKS:
        raise ConfigError(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}.")
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ConfigError(
            f"Cross-validation needs a whole number of folds, at least 2; got {folds!r}."
        )
    folds = int(folds)
    n = len(y_train)
    if task == "classification":
        counts = pd.Series(y_train).value_counts()
        if len(counts) < 2:
            only = f" ('{counts.index[0]}')" if len(counts) else ""
            raise DataError(
                f"The training part has only one class{only}; classification needs at least "
                "two: add data of other classes."
            )
        label, m = counts.idxmin(), int(counts.min())
        if m < 2:
            raise DataError(
                f"Class '{label}' has only 1 row in the training part, too few for "
                "cross-validation (each class needs at least 2): add rows of this class or "
                "remove it."
            )
        if m < folds:
            raise DataError(
                f"Class '{label}' has only {m} rows in the training part, fewer than the "
                f"{folds} CV folds: choose at most {m} folds or add data."
            )
    elif n < 2 * folds:
        most = n // 2
        if most < 2:
            raise DataError(
                f"The training part has only {n} rows, too few for cross-validation: add data."
            )
        raise DataError(
            f"The training part has only {n} rows, too few for {folds} CV folds (each fold "
            f"needs at least 2 rows): choose at most {most} folds or add data."
        )


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _is_text(s: pd.Series) -> bool:
    return ptypes.is_object_dtype(s.dtype) or isinstance(s.dtype, pd.StringDtype)


def _categorical_columns(X: pd.DataFrame) -> list[str]:
    return [
        c
        for c, dtype in zip(X.columns, X.dtypes, strict=True)
        if ptypes.is_bool_dtype(dtype)
        or ptypes.is_object_dtype(dtype)
        or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype)
    ]


def _sorted_labels(labels: list) -> list:
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def _examples(s: pd.Series, k: int = 3) -> list:
    return pd.Series(s).drop_duplicates().head(k).tolist()


def _quoted(items: list, limit: int = 10) -> str:
    shown = ", ".join(f"'{item}'" for item in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


def _subject(columns: list[str], singular: str, plural: str) -> str:
    """Column 'a' + singular verb, or Columns 'a', 'b' + plural verb."""
    if len(columns) == 1:
        return f"Column '{columns[0]}' {singular}"
    return f"Columns {_quoted(columns, 5)} {plural}"


def _it_they(columns: list[str]) -> str:
    return "it will be" if len(columns) == 1 else "they will be"


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _percent(share: float) -> str:
    return f"{100 * share:.1f}%" if share < 0.995 else "100%"
