"""The holdout split (a test part never seen during tuning) and cross-validation checks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tuning.core.enums import TASKS
from tuning.core.errors import ConfigError, DataError
from tuning.data.frame import Dataset
from tuning.data.messages import quoted, row_count


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
            f"The data has {row_count(n)}, too few to hold out a test part of {test_size:g}: "
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
                f"The test part would have {row_count(n_test)}, fewer than the {k} classes, so it "
                f"cannot contain every class: raise the test size to at least "
                f"{math.ceil(100 * k / n) / 100:.2f} or add data."
            )
        if n_train < k:
            raise DataError(
                f"The training part would have {row_count(n_train)}, fewer than the {k} classes: "
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


def check_trainable(ds: Dataset, test_size: float, folds: int, seed: int = 0) -> None:
    """Raise DataError when these settings would make every trial fail: the holdout split and
    the cross-validation checks of a run, done as soon as the data and settings are chosen."""
    part = split(ds, test_size, seed)
    check_cv(part.y_train, ds.task, folds, part.X_train)


def check_cv(
    y_train: pd.Series, task: str, folds: int, X_train: pd.DataFrame | None = None
) -> None:
    """Raise DataError when ``y_train`` is too small for ``folds``-fold cross-validation, or
    (given ``X_train``) when a fold could be left with no feature values to train on."""
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
                f"The training part has only {row_count(n)}, too few for cross-validation: add data."
            )
        raise DataError(
            f"The training part has only {row_count(n)}, too few for {folds} CV folds (each fold "
            f"needs at least 2 rows): choose at most {most} folds or add data."
        )
    if X_train is not None:
        _check_feature_values(X_train, folds)


def _check_feature_values(X_train: pd.DataFrame, folds: int) -> None:
    # The pipeline's imputer drops a column that is empty in a fold's training rows; when every
    # column is, the model gets no features and the trial fails. That cannot happen while more
    # rows have some feature value than the largest validation fold holds.
    n = len(X_train)
    filled = int(X_train.notna().any(axis=1).sum())
    if filled > math.ceil(n / folds):
        return
    columns = quoted(list(X_train.columns), 3)
    raise DataError(
        f"{'None' if filled == 0 else f'Only {filled:,}'} of the {row_count(n)} in the training "
        f"part {'have' if filled > 1 else 'has'} a value in any feature column ({columns}), so a "
        f"CV fold can be left with no feature values at all and its trials would fail: fill "
        "in the missing values, or add feature columns that have values."
    )
