"""LightGBM, XGBoost and CatBoost: builders, default spaces, native categoricals, round chunks.

Each library is used through its own scikit-learn estimator, so that the pipelines, scorers,
CV and skops export treat them like every other model. Three things differ from sklearn's
boosting and live here:

- categorical columns reach the library in the form it handles natively (`native_preprocessor`):
  pandas' category dtype for LightGBM (categorical_feature="auto") and XGBoost
  (enable_categorical), text columns named in `cat_features` for CatBoost;
- `grow` adds rounds to a fitted booster with the library's own continuation (LightGBM
  `init_model`, XGBoost `xgb_model`, CatBoost `init_model`): the CV objective trains the folds in
  lockstep, chunk by chunk, and reports the CV mean after each chunk. Optuna-integration's
  pruning callbacks (LightGBMPruningCallback, ...) import under optuna 5.0 but report one
  booster's own metric each round, which is one fold's score: pruning here is on the CV mean;
- `device`: "gpu" asks for the library's GPU build and fails early, with what to install, when
  there is none; the default "cpu" runs everywhere.

The libraries are imported only when a model is built.
"""

from __future__ import annotations

import functools
import importlib
import json
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder

from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace, cat_param, float_param, int_param

CLASSIFICATION = "classification"
ROUNDS = "n_estimators"  # the budget parameter; CatBoost takes it as an alias of iterations
DEVICE = "device"
EARLY_STOPPING = "early_stopping_rounds"
MISSING = "(missing)"  # CatBoost's category for a missing value
# How each library takes categorical columns: "category" (pandas category dtype) or "text".
FORMS = {"lightgbm": "category", "xgboost": "category", "catboost": "text"}
# Characters each library refuses in a column name (found by fitting; CatBoost takes any).
NAME_RULES = {"lightgbm": '[]{}",:', "xgboost": "[]<"}
_LABELS = {"LightGBM": "lightgbm", "XGBoost": "xgboost"}


def names_check(label: str):
    """A check that refuses, before any trial, column names the library would refuse in every
    one (LightGBM: JSON characters; XGBoost: [, ] and <), saying which columns to rename."""
    bad_chars = NAME_RULES[_LABELS[label]]

    def check(columns: list[str]) -> None:
        bad = [str(c) for c in columns if any(ch in str(c) for ch in bad_chars)]
        if bad:
            shown = ", ".join(repr(c) for c in bad[:5]) + (" …" if len(bad) > 5 else "")
            raise ConfigError(
                f"{label} refuses column names with any of {' '.join(bad_chars)}: rename "
                f"{shown} in the file, or choose another model (CatBoost takes them)."
            )

    return check


_INSTALL = {"lightgbm": "lightgbm", "xgboost": "xgboost-cpu", "catboost": "catboost"}


class Categories(TransformerMixin, BaseEstimator):
    """Columns as pandas categories whose categories are those seen in fit (as text): an unseen
    or missing value becomes missing. Hand-written: scikit-learn's encoders output numbers, and
    a category dtype taken from each batch can be empty or differ between fit and predict
    (XGBoost refuses unseen categories and empty ones)."""

    def fit(self, X, y=None):
        X = pd.DataFrame(X).astype("str")  # pandas 3: missing stays NaN
        self.categories_ = {c: sorted(X[c].dropna().unique()) for c in X.columns}
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = pd.DataFrame(X).astype("str")
        return pd.DataFrame(
            {c: pd.Categorical(X[c], categories=cats) for c, cats in self.categories_.items()},
            index=X.index,
        )

    def get_feature_names_out(self, input_features=None):
        return np.asarray(list(self.categories_), dtype=object)


def native_preprocessor(form: str) -> ColumnTransformer:
    """Numeric columns as they are (the libraries split on missing values themselves); the
    others as categories (LightGBM, XGBoost) or as text with missing values named (CatBoost,
    which takes unseen categories itself)."""
    if form == "category":
        cat: Any = Categories()
    else:
        cat = FunctionTransformer(operator.methodcaller("fillna", MISSING),
                                  feature_names_out="one-to-one")  # fmt: skip
        cat = make_pipeline(FunctionTransformer(operator.methodcaller("astype", "str"),
                                                feature_names_out="one-to-one"), cat)  # fmt: skip
    return ColumnTransformer(
        [
            ("num", "passthrough", make_column_selector(dtype_include=np.number)),
            ("cat", cat, make_column_selector(dtype_exclude=np.number)),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


class LabelEncodedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fit on the labels 0..k-1 that predicts the original labels. XGBoost's
    classifier refuses any other labels ('yes'/'no'); scikit-learn has no wrapper for this."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(X, self.encoder_.transform(y))
        return self

    def predict(self, X):
        return self.classes_[np.asarray(self.estimator_.predict(X), dtype=int)]

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


def library(name: str):
    """The library's module, or a ConfigError saying what to install."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ConfigError(
            f"The {name} model needs the {name} package: pip install {_INSTALL[name]} "
            "(see requirements.txt for the tested version)."
        ) from None


def _gpu_missing(lib: str) -> str | None:
    """Why the library cannot train on a GPU here, or None when it can."""
    if lib == "xgboost":
        if not library("xgboost").build_info().get("USE_CUDA"):
            return "this xgboost is the CPU build (xgboost-cpu): pip install xgboost for CUDA"
    elif lib == "catboost":
        from catboost.utils import get_gpu_device_count

        if get_gpu_device_count() < 1:
            return "catboost finds no CUDA GPU"
    return None


def _check_device(lib: str, device: str) -> None:
    if device not in ("cpu", "gpu"):
        raise ConfigError(f"{lib} device must be 'cpu' or 'gpu', not {device!r}.")
    if device == "gpu":
        why = _gpu_missing(lib)
        if why:
            raise ConfigError(f"{lib} was asked to train on a GPU, but {why}; set device to cpu.")


def build(lib: str, params: dict[str, Any], task: str, seed: int, n_jobs: int):
    """The library's scikit-learn estimator for `params` (the space's values)."""
    params = dict(params)
    device = str(params.pop(DEVICE, "cpu"))
    params.pop(EARLY_STOPPING, None)  # the CV objective stops on the CV mean (objective.py)
    _check_device(lib, device)
    classify = task == CLASSIFICATION
    if lib == "lightgbm":
        lgb = library("lightgbm")
        cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
        # subsample_freq=1: LightGBM ignores subsample (bagging) unless it is set.
        # min_data_per_group follows the leaf minimum: at its default of 100 rows per category,
        # a CSV of a few hundred rows got no categorical split at all.
        params.setdefault("min_data_per_group", int(params.get("min_child_samples", 20)))
        return cls(random_state=seed, n_jobs=n_jobs, subsample_freq=1, verbose=-1,
                   device_type=device, **params)  # fmt: skip
    if lib == "xgboost":
        xgb = library("xgboost")
        cls = xgb.XGBClassifier if classify else xgb.XGBRegressor
        est = cls(random_state=seed, n_jobs=n_jobs, tree_method="hist", enable_categorical=True,
                  device="cuda" if device == "gpu" else "cpu", **params)  # fmt: skip
        return LabelEncodedClassifier(est) if classify else est
    cb = library("catboost")
    cls = cb.CatBoostClassifier if classify else cb.CatBoostRegressor
    # Bernoulli bootstrap: the one that takes `subsample` as a row fraction on CPU and GPU.
    return cls(random_seed=seed, thread_count=n_jobs, verbose=0, allow_writing_files=False,
               bootstrap_type="Bernoulli", task_type="GPU" if device == "gpu" else "CPU",
               **params)  # fmt: skip


# -- the libraries' defaults ---------------------------------------------------------------------
# CatBoost picks these from the data when it fits (its learning rate from the number of rows and
# iterations; its row fraction is 1 below 100 rows, else 0.66): they have no default to state.
CATBOOST_FROM_DATA = ("learning_rate", "subsample")
# The studio's own settings on these models, which no library has: early stopping off, the CPU.
OWN_DEFAULTS = {EARLY_STOPPING: 0, DEVICE: "cpu"}


def defaults_reader(lib: str) -> Callable[[str], dict[str, Any]]:
    """`ModelSpec.defaults` for a boosting library: task -> its defaults (`library_defaults`)."""

    def read(task: str) -> dict[str, Any]:
        return dict(library_defaults(lib, task == CLASSIFICATION))

    return read


@functools.cache
def library_defaults(lib: str, classify: bool) -> tuple[tuple[str, Any], ...]:
    """What the library trains with when a parameter is not given, asked of the library itself
    (once per process). LightGBM's estimators hold their defaults; XGBoost's and CatBoost's hold
    None until they fit, so a one-round XGBoost booster and a default CatBoost model are fit on
    eight rows and their configurations read (milliseconds). Values that CatBoost chooses from
    the data are None."""
    if lib == "lightgbm":
        lgb = library("lightgbm")
        found = dict((lgb.LGBMClassifier if classify else lgb.LGBMRegressor)().get_params())
    elif lib == "xgboost":
        found = _xgboost_defaults()
    else:
        found = _catboost_defaults(classify)
    return tuple({**found, **OWN_DEFAULTS}.items())


def _tiny() -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(16.0).reshape(8, 2)
    return X, np.array([0.0, 1.0] * 4)


def _xgboost_defaults() -> dict[str, Any]:
    xgb = library("xgboost")
    model = xgb.XGBRegressor(n_estimators=1, n_jobs=1).fit(*_tiny())
    config = json.loads(model.get_booster().save_config())
    found: dict[str, Any] = {}
    for key, text in config["learner"]["gradient_booster"]["tree_train_param"].items():
        try:
            number = float(text)
        except ValueError:
            continue
        # XGBoost keeps floats in single precision: 0.300000012 is its 0.3.
        found[key] = int(number) if number.is_integer() else float(f"{number:.7g}")
    found[ROUNDS] = xgb.XGBRegressor().get_num_boosting_rounds()
    return found


def _catboost_defaults(classify: bool) -> dict[str, Any]:
    cb = library("catboost")
    X, y = _tiny()
    cls = cb.CatBoostClassifier if classify else cb.CatBoostRegressor
    # As `build` makes it: Bernoulli rows, quiet, no files.
    model = cls(random_seed=0, thread_count=1, verbose=0, allow_writing_files=False,
                bootstrap_type="Bernoulli").fit(X, y.astype(int) if classify else y)  # fmt: skip
    found = {k: v for k, v in model.get_all_params().items() if isinstance(v, int | float | str)}
    found[ROUNDS] = found.pop("iterations")
    found.update({k: None for k in CATBOOST_FROM_DATA})
    return found


def grow(est, X, y, more: int):
    """`est` with `more` rounds trained on top of its booster (from scratch the first time),
    through the library's own continuation; the returned estimator holds all the rounds."""
    if isinstance(est, LabelEncodedClassifier):
        if not hasattr(est, "encoder_"):
            est.encoder_ = LabelEncoder().fit(y)
            est.classes_ = est.encoder_.classes_
            est.estimator_ = clone(est.estimator)
        est.estimator_ = grow(est.estimator_, X, est.encoder_.transform(y), more)
        return est
    module = type(est).__module__.split(".")[0]
    if not is_fitted(est):
        return est.set_params(**{ROUNDS: more}).fit(X, y)
    total = rounds_of(est) + more
    if module == "catboost":  # a fitted CatBoost model refuses set_params: continue in a copy
        return type(est)(**{**est.get_params(), ROUNDS: more}).fit(X, y, init_model=est)
    est.set_params(**{ROUNDS: more})
    if module == "lightgbm":
        est.fit(X, y, init_model=est.booster_)
    else:
        est.fit(X, y, xgb_model=est.get_booster())
    return est.set_params(**{ROUNDS: total})


def is_fitted(est) -> bool:
    try:
        rounds_of(est)
    except Exception:
        return False
    return True


def rounds_of(est) -> int:
    """Boosting rounds the fitted estimator holds."""
    module = type(est).__module__.split(".")[0]
    if module == "lightgbm":
        return int(est.booster_.current_iteration())
    if module == "xgboost":
        return int(est.get_booster().num_boosted_rounds())
    if not est.is_fitted():
        raise ValueError("not fitted")
    return int(est.tree_count_)


# -- default spaces (each library's own tuning guidance) ------------------------------------------
_LR = float_param("learning_rate", 0.01, 0.3, log=True, help="Shrinkage of each tree.")
_ROUNDS = int_param(ROUNDS, 50, 500, help="Boosting rounds (trees): the multi-fidelity budget.")
_ROWS = float_param("subsample", 0.5, 1.0, help="Fraction of rows each tree sees.")
_ES = int_param(
    EARLY_STOPPING, 0, 200, enabled=False, default=0,
    help="0: off. Else stop once the CV score on the folds' validation parts has not improved "
    "for this many rounds (checked after each chunk of rounds); the best round is kept.",
)  # fmt: skip


def _device(help_gpu: str) -> Any:
    return cat_param(DEVICE, ["cpu", "gpu"], enabled=False, default="cpu",
                     help=f"Where trees are trained; gpu: {help_gpu}. Fix it, do not search it.")


def lightgbm_space(task: str) -> SearchSpace:
    return SearchSpace((
        _LR, _ROUNDS,
        int_param("num_leaves", 8, 256, log=True, help="Leaves per tree (LightGBM grows leaf-wise)."),
        int_param("min_child_samples", 5, 100, log=True, help="Fewest rows in a leaf."),
        _ROWS,
        float_param("colsample_bytree", 0.5, 1.0, help="Fraction of columns each tree sees."),
        float_param("reg_alpha", 1e-8, 10.0, log=True, help="L1 penalty on leaf weights."),
        float_param("reg_lambda", 1e-8, 10.0, log=True, help="L2 penalty on leaf weights."),
        _ES, _device("OpenCL build of LightGBM and an OpenCL driver"),
    ))  # fmt: skip


def xgboost_space(task: str) -> SearchSpace:
    return SearchSpace((
        _LR, _ROUNDS,
        int_param("max_depth", 2, 10, help="Depth of each tree."),
        float_param("min_child_weight", 0.5, 20.0, log=True, help="Least hessian sum in a leaf."),
        _ROWS,
        float_param("colsample_bytree", 0.5, 1.0, help="Fraction of columns each tree sees."),
        float_param("reg_alpha", 1e-8, 10.0, log=True, help="L1 penalty on leaf weights."),
        float_param("reg_lambda", 1e-8, 10.0, log=True, help="L2 penalty on leaf weights."),
        _ES, _device("the xgboost package (not xgboost-cpu) and a CUDA GPU"),
    ))  # fmt: skip


def catboost_space(task: str) -> SearchSpace:
    # No L1 and no minimum leaf size: CatBoost's default symmetric trees have neither.
    return SearchSpace((
        _LR, _ROUNDS,
        int_param("depth", 3, 10, help="Depth of each (symmetric) tree."),
        float_param("l2_leaf_reg", 0.1, 30.0, log=True, help="L2 penalty on leaf values."),
        _ROWS,
        float_param("rsm", 0.5, 1.0, help="Fraction of columns tried at each split."),
        float_param("random_strength", 1e-3, 10.0, log=True, help="Noise added to split scores."),
        _ES, _device("a CUDA GPU (rsm is CPU-only: switch it off)"),
    ))  # fmt: skip
