"""A table as a dataset: target and task, feature checks and cleaning, the Dataset record.

:func:`dataset_from_frame` checks a table whose target column is to be predicted: it infers the
task when none is given, prepares the target, drops the feature columns that copy the target
(target leakage), empty, ID-like and constant ones, and copies of another column, and notes what
a person should know (what was dropped and why, missing values, imbalance, size) in
``Dataset.warnings``.
Encoding and imputation of features happen later, inside the model pipeline (fit within each CV
fold), so missing values stay in ``X`` here.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from tuning.core.enums import TASKS
from tuning.core.errors import DataError
from tuning.data.messages import count, examples, it_they, percent, quoted, row_count, subject

MIN_ROWS = 10  # fewer rows than this cannot be tuned and tested meaningfully
MANY_ROWS = 100_000  # above this, warn that trials may be slow
MANY_CATEGORIES = 100  # a categorical column with more distinct values gets a warning
IMBALANCE_RATIO = 0.2  # smallest / largest class below this gets a warning
MANY_NOTES = 5  # copies of a column noted one by one; more are summed up
HEAD_ROWS = 1_000  # the first rows, a cheap first test of a whole column
LINEAR = 1e-12  # 1 - |r| below this: the target rescaled (rounding gives ~1e-15)


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
    target = _check_columns(df, target)

    notes: list[str] = []
    missing = df[target].isna()
    if missing.all():
        raise DataError(
            f"The target column '{target}' has no values: choose another target column."
        )
    if missing.any():
        k = int(missing.sum())
        notes.append(
            f"{k:,} of {row_count(len(df))} {'has' if k == 1 else 'have'} no value in the "
            f"target column '{target}'; {'it was' if k == 1 else 'they were'} dropped."
        )
        df = df.loc[~missing]
    df = df.reset_index(drop=True)
    if len(df) < MIN_ROWS:
        raise DataError(
            f"Only {row_count(len(df))} {'has' if len(df) == 1 else 'have'} a value in the "
            f"target column '{target}'; at least "
            f"{MIN_ROWS} are needed to tune and test a model: add more rows."
        )
    y, task_used = _prepare_target(df[target], target, task)
    features, copies = _drop_target_copies(df.drop(columns=[target]), y, task_used, notes)
    X, id_columns = _prepare_features(features, notes, copies)
    n_categorical = len(_categorical_columns(X))
    description = (
        f"{name}: {row_count(len(X))}, {count(X.shape[1], 'feature column')} "
        f"({n_categorical} categorical); "
        f"target '{target}' ({task_used}{', inferred' if task is None else ''})"
    )
    return make_dataset(name, task_used, X, y, description, notes, id_columns)


def _check_columns(df: pd.DataFrame, target: str | None) -> str:
    """The target's name, stripped, once the columns allow a target and a feature."""
    # This count, and the feature checks of _prepare_features, work on whole frames: column by
    # column, a file with 3,000 columns took a minute to load (quadratic count, one Series per
    # column).
    duplicates = sorted(c for c, n in Counter(df.columns).items() if n > 1)
    if duplicates:
        raise DataError(
            f"The data has duplicate column names: {quoted(duplicates)}. Give every column a "
            "different name."
        )
    target = str(target).strip() if target is not None else ""
    if not target:
        raise DataError(
            "No target column was chosen: choose the column the model should predict, one "
            f"of {quoted(list(df.columns), 20)}."
        )
    if target not in df.columns:
        raise DataError(_no_column_message(target, list(df.columns)))
    if df.shape[1] < 2:
        raise DataError(
            f"The data has only one column ('{target}'), the target; it needs at least one "
            "feature column besides it. If the file has several columns, check that they are "
            "separated by commas, semicolons or tabs."
        )
    return target


def _no_column_message(target: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(target, columns, n=1, cutoff=0.6)
    by_case = [c for c in columns if c.lower() == target.lower()]
    hint = by_case or close
    text = f"There is no column '{target}' in the data."
    if hint:
        text += f" Did you mean '{hint[0]}'?"
    return text + f" Choose the target from the columns: {quoted(columns, 20)}."


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
                    f"{quoted(examples(text), 3)}), so it cannot be used for regression, which "
                    "predicts numbers: choose classification, or another target column."
                )
            y = numbers
        y = y.astype(float)
        infinite = ~np.isfinite(y.to_numpy())
        if infinite.any():
            raise DataError(
                f"The target column '{target}' has infinite values in "
                f"{row_count(int(infinite.sum()))}: remove or correct those rows."
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
            f"The target column '{target}' has only one class ({quoted([counts.index[0]])}); "
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
    return is_text(s) and len(s) >= 20  # a different text in every row


def _drop_target_copies(
    X: pd.DataFrame, y: pd.Series, task: str, notes: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Drops the feature columns that are the target under another name (target leakage: a
    model would learn to read the answer from them, and be useless where it is not known)."""
    copies = _relabelled_target(X, y) if task == "classification" else _rescaled_target(X, y)
    for c, how in list(copies.items())[:MANY_NOTES]:
        notes.append(
            f"Column '{c}' {how.format(target=y.name)}: it gives the answer away (target "
            "leakage), so it will be dropped. A column like this is usually recorded with or "
            "after the outcome; remove it from the file."
        )
    more = list(copies)[MANY_NOTES:]
    if more:
        notes.append(
            f"{count(len(more), 'more column')} ({quoted(more, 5)}) "
            f"{'is a copy' if len(more) == 1 else 'are copies'} of the target '{y.name}' too "
            f"(target leakage); {it_they(more)} dropped."
        )
    return X.drop(columns=list(copies)), list(copies)


def _relabelled_target(X: pd.DataFrame, y: pd.Series) -> dict[str, str]:
    """The columns whose values stand one for one for the classes, in every row: how each
    copies the target.

    Numbered in order of first appearance (factorized), such a column gets exactly the target's
    numbers, and its first rows those of the target's first rows: a cheap first test, made for
    all numeric columns at once."""
    codes = pd.factorize(y)[0]
    numeric = _numeric_columns(X)
    head = _numbers(X.iloc[:HEAD_ROWS][numeric])
    first = np.unique(codes[: len(head)], return_index=True)[1]  # each class's first row
    labels = head[first]  # numbers standing one for one for the classes...
    one_for_one = (np.diff(np.sort(labels, axis=0), axis=0) != 0).all(axis=0)
    follows = (head == labels[codes[: len(head)]]).all(axis=0)  # ...in every first row
    ruled_out = {c for c, fits in zip(numeric, one_for_one & follows, strict=True) if not fits}
    found = {}
    for c in [c for c in X.columns if c not in ruled_out]:
        if not np.array_equal(pd.factorize(X[c].iloc[:HEAD_ROWS])[0], codes[:HEAD_ROWS]):
            continue
        if np.array_equal(pd.factorize(X[c])[0], codes):
            same = X[c].astype(object).tolist() == y.astype(object).tolist()
            found[c] = (
                "holds the same values as the target '{target}' in every row"
                if same
                else "is the target '{target}' under other labels (each of its values stands "
                "for one class, in every row)"
            )
    return found


def _rescaled_target(X: pd.DataFrame, y: pd.Series) -> dict[str, str]:
    """The numeric columns equal to the target, or perfectly correlated with it (|r| = 1: the
    target rescaled, as in other units), in every row; the first rows are a cheap first test,
    made for all columns at once."""
    t = y.to_numpy(dtype=float)
    numeric = _numeric_columns(X)
    head = _numbers(X.iloc[:HEAD_ROWS][numeric])
    r_head = _correlation(head, t[: len(head)])  # nan (not ruled out) where a value is missing
    found = {}
    for c, r in zip(numeric, r_head, strict=True):
        if 1 - abs(r) > LINEAR:
            continue
        values = _numbers(X[c])
        r = _correlation(values, t)
        if np.array_equal(values, t):
            found[c] = "holds the same values as the target '{target}' in every row"
        elif 1 - abs(r) <= LINEAR:
            found[c] = (
                "is the target '{target}' rescaled (a perfect linear relation, correlation "
                f"{r:+.0f}, in every row)"
            )
    return found


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Pearson's r of ``b`` with ``a``, or with each column of ``a``; nan where a value is
    missing or either is constant."""
    a, b = a - a.mean(axis=0), b - b.mean()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        r = (b @ a) / np.sqrt((a * a).sum(axis=0) * (b @ b))
    return float(r) if np.ndim(r) == 0 else r


def _prepare_features(
    X: pd.DataFrame, notes: list[str], copies: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """The feature columns a model can use, and the ID columns dropped; notes what was dropped
    or changed and why. Raises DataError when no column is left (``copies``: the columns
    dropped before as copies of the target, for that message)."""
    X, empty = _drop_empty(X, notes)
    unique, missing = X.nunique(dropna=False), X.isna().sum()
    groups = _identical_groups(X, unique, missing)
    X, id_columns = _drop_id_columns(X, unique, missing, groups, notes)
    X, constant = _drop_constant(X, unique, notes)
    X = _drop_duplicates(X, groups, notes)
    if X.shape[1] == 0:
        dropped = empty + id_columns + constant
        why = []
        if dropped:
            why.append(
                f"{quoted(dropped, 10)} {'is' if len(dropped) == 1 else 'are'} empty, ID-like "
                "or constant"
            )
        if copies:
            why.append(
                f"{quoted(copies, 10)} {'is a copy' if len(copies) == 1 else 'are copies'} of "
                "the target"
            )
        raise DataError(
            f"No feature columns are left besides the target: {'; '.join(why)}. The data needs "
            "at least one column that varies between rows and can help predict the target."
        )
    X = _mask_out_of_range(X, notes)
    _note_missing(X, notes)
    _note_categories(X, notes)
    return X, id_columns


def _drop_empty(X: pd.DataFrame, notes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    empty = list(X.columns[X.isna().all().to_numpy()])
    if empty:
        notes.append(f"{subject(empty, 'is', 'are')} empty; {it_they(empty)} dropped.")
    return X.drop(columns=empty), empty


def _identical_groups(X: pd.DataFrame, unique: pd.Series, missing: pd.Series) -> list[list[str]]:
    """Groups of columns that hold the same values in every row (missing in the same rows), each
    in column order; constant columns are left out (they are dropped as constant).

    Cheap tests first: only columns with as many distinct values and missing values as another,
    and then the same first rows, are hashed whole; the hash proposes, the values decide."""
    pairs = zip(unique.to_numpy(), missing.to_numpy(), strict=True)
    counts = dict(zip(X.columns, pairs, strict=True))
    buckets = _alike([c for c, (n, _) in counts.items() if n > 1], counts.__getitem__)
    values: dict[str, np.ndarray] = {}
    for rows in (slice(HEAD_ROWS), slice(None)):  # the first rows, then all
        values = _comparable(X.iloc[rows], [c for columns in buckets for c in columns])
        buckets = [
            alike
            for columns in buckets
            for alike in _alike(columns, lambda c, values=values: _digest(values[c]))
        ]
    groups = []
    for columns in buckets:
        while len(columns) > 1:
            first = columns[0]
            same = [c for c in columns[1:] if _same_values(X, values, first, c)]
            if same:
                groups.append([first, *same])
            columns = [c for c in columns[1:] if c not in same]
    position = {c: i for i, c in enumerate(X.columns)}
    return sorted(groups, key=lambda group: position[group[0]])


def _alike(columns: list[str], key: Callable[[str], Hashable]) -> list[list[str]]:
    """The groups of two or more ``columns`` with the same ``key``."""
    groups: dict[Hashable, list[str]] = defaultdict(list)
    for c in columns:
        groups[key(c)].append(c)
    return [group for group in groups.values() if len(group) > 1]


def _comparable(X: pd.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
    """Each column's values as an array to hash: numbers as float64 (3 and 3.0 alike, one NaN),
    other values by their hashes."""
    wanted = set(columns)
    numeric = [c for c in _numeric_columns(X) if c in wanted]
    out = dict(zip(numeric, _numbers(X[numeric]).T.copy(), strict=True))  # a row per column
    for c in columns:
        if c not in out:
            out[c] = pd.util.hash_pandas_object(X[c], index=False).to_numpy()
    return out


def _digest(values: np.ndarray) -> tuple[str, bytes]:
    return values.dtype.kind, hashlib.blake2b(values.tobytes(), digest_size=16).digest()


def _same_values(X: pd.DataFrame, values: dict[str, np.ndarray], a: str, b: str) -> bool:
    if values[a].dtype.kind == "f":
        return bool(np.array_equal(values[a], values[b], equal_nan=True))
    u, v = X[a].to_numpy(dtype=object), X[b].to_numpy(dtype=object)
    gaps = pd.isna(u)
    return bool((gaps == pd.isna(v)).all() and (u[~gaps] == v[~gaps]).all())


def _drop_id_columns(
    X: pd.DataFrame,
    unique: pd.Series,
    missing: pd.Series,
    groups: list[list[str]],
    notes: list[str],
) -> tuple[pd.DataFrame, list[str]]:
    """Drops the columns that look like a row ID, each with every column identical to it (a
    copy of an ID is an ID too); keeps them, with a note, when they are the only features."""
    group_of = {c: group for group in groups for c in group}
    ids: dict[str, list[str]] = {}  # ID column -> the columns identical to it
    for c in X.columns:  # only a column with a different value in every row can be an ID
        if unique[c] == len(X) and not missing[c] and _id_like(c, X[c]):
            group = group_of.get(c, [c])
            if not any(member in ids for member in group):
                ids[c] = [member for member in group if member != c]
    dropped = set(ids).union(*ids.values())
    id_columns = [c for c in X.columns if c in dropped]
    if id_columns and len(id_columns) == X.shape[1]:
        kept = [group_of.get(c, [c])[0] for c in ids]  # their copies go as duplicates
        only = (
            "it is the only feature, so it is"
            if len(kept) == 1
            else "they are the only features, so they are"
        )
        notes.append(
            f"{subject(kept, 'looks', 'look')} like a row ID, but {only} kept. "
            "If it really is an ID, add columns that can predict the target."
        )
        return X, []
    for c, twins in ids.items():
        if twins:
            notes.append(
                f"Column '{c}' looks like a row ID, and "
                f"{'column' if len(twins) == 1 else 'columns'} {quoted(twins, 5)} "
                f"{'is' if len(twins) == 1 else 'are'} identical to it (the same value in "
                "every row); "
                f"{'both' if len(twins) == 1 else f'all {len(twins) + 1}'} will be dropped."
            )
        else:
            notes.append(f"Column '{c}' looks like a row ID; it will be dropped.")
    return X.drop(columns=id_columns), id_columns


def _drop_constant(
    X: pd.DataFrame, unique: pd.Series, notes: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    constant = [c for c in X.columns if unique[c] <= 1]
    if constant:
        notes.append(
            f"{subject(constant, 'has', 'have')} the same value in every row, so "
            f"{'it cannot' if len(constant) == 1 else 'they cannot'} help a model; "
            f"{it_they(constant)} dropped."
        )
    return X.drop(columns=constant), constant


def _drop_duplicates(X: pd.DataFrame, groups: list[list[str]], notes: list[str]) -> pd.DataFrame:
    """Keeps the first of each group of identical columns: a copy adds nothing a model can use,
    and would count twice in feature importances."""
    groups = [group for group in groups if group[0] in X.columns]  # not IDs
    for first, *copies in groups[:MANY_NOTES]:
        notes.append(
            f"{subject(copies, 'is', 'are')} identical to column '{first}' (the same value in "
            f"every row), so {'it adds' if len(copies) == 1 else 'they add'} nothing; "
            f"{it_they(copies)} dropped and '{first}' kept."
        )
    more = [c for _, *copies in groups[MANY_NOTES:] for c in copies]
    if more:
        notes.append(
            f"{count(len(more), 'more column')} ({quoted(more, 5)}) "
            f"{'is a copy' if len(more) == 1 else 'are copies'} of other columns; "
            f"{it_they(more)} dropped."
        )
    return X.drop(columns=[c for _, *copies in groups for c in copies])


def _mask_out_of_range(X: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Infinite values, and values beyond float32's range, become missing values.

    Tree models compute in float32: a value beyond its range (about 3.4e38) becomes inf there
    and fails every trial, so such values are treated like inf, as missing."""
    numeric = _numeric_columns(X)
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
                f"Column '{c}' has infinite values in {row_count(int(infinite.sum()))}; they "
                "are treated as missing values."
            )
        if (huge & ~infinite).any():
            notes.append(
                f"Column '{c}' has values too large for the models (beyond ±3.4e38) in "
                f"{row_count(int((huge & ~infinite).sum()))}; they are treated as missing values."
            )
    return X


def _note_missing(X: pd.DataFrame, notes: list[str]) -> None:
    share = X.isna().mean()
    share = share[share > 0].sort_values(ascending=False)
    if len(share):
        parts = ", ".join(f"'{c}' {percent(v)}" for c, v in share.head(5).items())
        more = f" and {len(share) - 5} more" if len(share) > 5 else ""
        notes.append(
            f"{len(share)} feature column{'s have' if len(share) > 1 else ' has'} missing "
            f"values ({parts}{more}); they will be imputed (filled in) inside the model "
            "pipeline."
        )


def _note_categories(X: pd.DataFrame, notes: list[str]) -> None:
    """Notes categorical columns that are mostly numbers, or have very many values."""
    for c in _categorical_columns(X):
        s = X[c].dropna()
        if is_text(X[c]) and len(s):
            numeric = pd.to_numeric(s, errors="coerce")
            if 0.8 <= numeric.notna().mean() < 1:
                text = examples(s[numeric.isna()])
                notes.append(
                    f"Column '{c}' is mostly numbers but also has text such as "
                    f"{quoted(text, 3)}; it is treated as a categorical column. If that text "
                    "means 'missing', leave those cells empty instead."
                )
        n_values = int(s.nunique())
        if n_values > MANY_CATEGORIES:
            notes.append(
                f"Categorical column '{c}' has {n_values:,} different values; encoding it "
                "creates many columns and can slow tuning. Consider dropping or grouping it."
            )


def make_dataset(
    name: str,
    task: str,
    X: pd.DataFrame,
    y: pd.Series,
    description: str,
    notes: list[str],
    id_columns: list[str],
) -> Dataset:
    """The Dataset of checked ``X`` and ``y``; adds to ``notes`` what the user should know
    about class balance and size."""
    classes = None
    if task == "classification":
        counts = y.value_counts()
        classes = _sorted_labels(counts.index.tolist())
        smallest, largest = counts.idxmin(), counts.idxmax()
        if counts.min() / counts.max() < IMBALANCE_RATIO:
            notes.append(
                f"The classes are imbalanced: '{smallest}' has {row_count(int(counts.min()))}, "
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


# -- column kinds ----------------------------------------------------------------------------
def is_text(s: pd.Series) -> bool:
    return ptypes.is_object_dtype(s.dtype) or isinstance(s.dtype, pd.StringDtype)


def _numeric_columns(X: pd.DataFrame) -> list[str]:
    return [
        c for c, d in zip(X.columns, X.dtypes, strict=True)
        if ptypes.is_numeric_dtype(d) and not ptypes.is_bool_dtype(d)
    ]  # fmt: skip


def _numbers(X: pd.DataFrame | pd.Series) -> np.ndarray:
    """Numeric columns as float64, missing values as one NaN, -0.0 as 0.0 (so 3, 3.0 alike)."""
    values = X.to_numpy(dtype=float, na_value=np.nan) + 0.0
    values[np.isnan(values)] = np.nan
    return values


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
