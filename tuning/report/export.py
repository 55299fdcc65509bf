"""Downloads of a run: all trials as CSV, the refit best model, and a script that rebuilds it.

- trials_csv(run)          every trial as CSV text (cells that a spreadsheet would run as a
                           formula are quoted with a leading apostrophe)
- best_model(study)        the best configuration refit on all training data: a scikit-learn
                           pipeline saved with skops (no pickle), or for the PyTorch MLP a zip of
                           its torch state dict + configuration and the fitted preprocessing (skops)
- reproduce_script(run)    a short Python script that uses only pandas, scikit-learn (and PyTorch
                           for the MLP), reloads the data the same way, reproduces the train/test
                           split, fits the best configuration and prints its test score
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import math
import textwrap
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from tuning.analysis import RunData, load_run
from tuning.core.enums import BudgetKind, Task
from tuning.core.errors import ConfigError
from tuning.data import datasets
from tuning.execution.session import refit, trial_params
from tuning.methods import REGISTRY as METHODS
from tuning.models import build_pipeline, categorical_columns, get_model
from tuning.models.boosting import MISSING, Categories, LabelEncodedClassifier, native_preprocessor
from tuning.runs.runner import open_session
from tuning.store.run import StoredRun
from tuning.store.trials import TrialMetrics

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- trials CSV -----------------------------------------------------------------------------------
def trials_frame(run: RunData) -> pd.DataFrame:
    """All trials, one row each, with per-fold scores and the run's score name."""
    df = run.frame.copy()
    folds = {t.number: TrialMetrics.of(t).fold_scores for t in run.trials}
    df["fold_scores"] = [json.dumps(folds.get(n)) if folds.get(n) else None for n in df["number"]]
    # `origin`: where each trial came from, in full ("Start-up trial 3 of 5: ..."); its short
    # kind beside it, for a spreadsheet's filter. Who queued it is part of the sentence.
    if "origin_text" in df.columns:
        df["origin"] = df.pop("origin_text")
    df.insert(3, "scoring", run.scoring)
    return df


def trials_csv(run: RunData) -> str:
    """Every trial as CSV text. Text cells starting with = + - @ get a leading apostrophe so
    that a spreadsheet shows them instead of running them as formulas."""
    df = trials_frame(run)
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col].dtype):
            df[col] = df[col].map(_defuse)
    return df.to_csv(index=False)


def _defuse(v: Any) -> Any:
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


# -- the refit best model -------------------------------------------------------------------------
@dataclass
class ModelFile:
    """A download: bytes, a file name, a MIME type and how to load it."""

    data: bytes
    filename: str
    mime: str
    description: str
    test_score: float | None = None


def _multi_objective(run: RunData) -> bool:
    return bool(run.config is not None and run.config.multi_objective)


def best_params(run: RunData) -> dict[str, Any]:
    """The complete configuration of the refit best model (as the run stored it after refit);
    for a multi-objective run, that of its chosen trade-off."""
    test = run.test
    if test.get("params"):
        return dict(test["params"])
    choice = run.record.choice or {}
    if _multi_objective(run) and isinstance(choice.get("trial"), int):
        number = choice["trial"]
    else:
        best = run.best
        number = None if best is None else int(best["number"])
    if number is not None and run.record.foreign is not None:
        return dict(run.trial(number).params)  # all a study another tool made knows
    if number is None or run.config is None or run.space is None:
        raise ConfigError("The run has no complete trial yet: there is no best model.")
    return trial_params(run.space, get_model(run.config.model), run.trial(number))


def best_model(study: optuna.Study, run: RunData | None = None) -> ModelFile:
    """Refit the best configuration on all training data (the same fit the run scored on the
    test part) and serialize it. Costs one model fit."""
    run = run or load_run(study)
    if run.config is None:
        raise ConfigError("This run has no saved configuration: it cannot be refit.")
    params = best_params(run)
    prep = open_session(StoredRun(study)).prep
    done = refit(prep, params)
    pipe, score = done.pipeline, done.score
    stem = f"{run.name}-best"
    if prep.model.budget == BudgetKind.EPOCHS:  # the PyTorch MLP: state dict + preprocessing
        return _mlp_file(pipe, params, run, stem, score)
    import skops.io as sio

    data = sio.dumps(pipe)
    return ModelFile(
        data,
        f"{stem}.skops",
        "application/octet-stream",
        "A fitted scikit-learn Pipeline (preprocessing + model) saved with skops. Load it with "
        "skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path)) after checking "
        "the listed types, then call .predict(X) on a DataFrame with the training columns.",
        score,
    )


def _mlp_file(pipe, params: dict, run: RunData, stem: str, score: float) -> ModelFile:
    import skops.io as sio
    import torch

    net = pipe[-1]
    buf = io.BytesIO()
    torch.save({"state": net.state(), "params": params, "task": net.task}, buf)
    readme = textwrap.dedent(
        f"""\
        Best model of run {run.name}: a PyTorch multilayer perceptron.

        model.pt            torch.save of {{"state": MLPEstimator.state(), "params", "task"}}:
                            state["state_dict"] is the network's state dict, state["config"] its
                            hyperparameters, state["classes"] the class labels (classification),
                            state["target"] the target's mean/std (regression).
        preprocessing.skops the fitted preprocessing (imputation, scaling, one-hot encoding),
                            a scikit-learn Pipeline saved with skops.

        Loading:
            import skops.io as sio, torch
            prep = sio.load("preprocessing.skops",
                            trusted=sio.get_untrusted_types(file="preprocessing.skops"))
            saved = torch.load("model.pt", weights_only=True)
        The network is Linear(width) + ReLU + Dropout, n_layers times, then Linear(outputs);
        rebuild it from saved["state"]["config"] and load saved["state"]["state_dict"]
        (or, with Tuning Studio installed: MLPEstimator.from_state(saved["state"])).
        Test score when saved: {score!r}
        """
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.pt", buf.getvalue())
        z.writestr("preprocessing.skops", sio.dumps(pipe[:-1]))
        z.writestr("README.txt", readme)
    return ModelFile(
        out.getvalue(),
        f"{stem}-mlp.zip",
        "application/zip",
        "A zip with the network's torch state dict and configuration (model.pt) and the fitted "
        "preprocessing saved with skops (preprocessing.skops); README.txt says how to load them.",
        score,
    )


# -- the reproduce script -------------------------------------------------------------------------
_SKLEARN_LOADERS = {
    "iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
    "digits": "load_digits", "diabetes": "load_diabetes",
}  # fmt: skip

_PREPROCESSING = '''
def preprocessing(scale):
    """Impute (and scale) numeric columns; impute and one-hot encode the others."""
    numeric = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=50),
    )
    return ColumnTransformer(
        [
            ("num", make_pipeline(*numeric), make_column_selector(dtype_include=np.number)),
            ("cat", categorical, make_column_selector(dtype_exclude=np.number)),
        ],
        verbose_feature_names_out=False,
    )
'''

_CSV_LOADER = '''
def decode(data):
    """Text of the file, trying the encodings spreadsheets write."""
    if data[:2] in (b"\\xff\\xfe", b"\\xfe\\xff"):
        try:
            return data.decode("utf-16").lstrip("\\ufeff")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding).lstrip("\\ufeff")
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1").lstrip("\\ufeff")


def load_data():
    with open(CSV_PATH, "rb") as f:
        text = decode(f.read())
    df = pd.read_csv(io.StringIO(text), sep=SEPARATOR, skipinitialspace=True, index_col=False,
                     low_memory=False)
    df.columns = [str(c).strip() for c in df.columns]
    if SEPARATOR != ",":  # "1,5" with a decimal comma -> 1.5
        for c in df.columns:
            s = df[c]
            if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
                present = s.dropna().astype(str)
                if len(present) and present.str.contains(",", regex=False).any():
                    numbers = pd.to_numeric(present.str.replace(",", ".", regex=False), errors="coerce")
                    if numbers.notna().all():
                        df[c] = numbers.reindex(s.index)
    df = df[df[TARGET].notna()].reset_index(drop=True)  # rows without a target are dropped
    y = df[TARGET]
    if TASK == "regression":
        y = pd.to_numeric(y.astype(float) if y.dtype == bool else y, errors="coerce").astype(float)
    elif pd.api.types.is_float_dtype(y.dtype) and np.isfinite(y).all() and (y == np.round(y)).all():
        y = y.astype("int64")  # 0.0 / 1.0 labels become 0 / 1
    X = df[FEATURES].copy()  # ID-like, empty and constant columns were dropped by the run
    for c in X.columns:  # infinite values count as missing
        s = X[c]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            inf = np.isinf(s.to_numpy(dtype=float, na_value=np.nan))
            if inf.any():
                X[c] = s.mask(inf)
    return X, y
'''

_MLP = '''
torch.set_num_threads(1)


class TorchMLP(BaseEstimator):
    """The run's network: n_layers x (Linear(width) + ReLU + Dropout), then Linear(outputs),
    trained with AdamW on shuffled minibatches for a fixed number of epochs."""

    def __init__(self, task, learning_rate, batch_size, n_layers, width, dropout, weight_decay,
                 epochs, seed):
        self.task, self.learning_rate, self.batch_size = task, learning_rate, batch_size
        self.n_layers, self.width, self.dropout = n_layers, width, dropout
        self.weight_decay, self.epochs, self.seed = weight_decay, epochs, seed

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier" if self.task == "classification" else "regressor"
        if self.task == "classification":
            tags.classifier_tags = ClassifierTags()
        else:
            tags.regressor_tags = RegressorTags()
        return tags

    def fit(self, X, y):
        X = torch.as_tensor(np.asarray(X, dtype=np.float32))
        y = np.asarray(y)
        n = X.shape[0]
        if self.task == "classification":
            self.classes_ = np.unique(y)
            target = torch.as_tensor(np.searchsorted(self.classes_, y), dtype=torch.long)
            n_out, loss_fn = len(self.classes_), torch.nn.CrossEntropyLoss()
        else:
            y2 = y.astype(np.float64).reshape(n, -1)
            self.mean_, std = y2.mean(axis=0), y2.std(axis=0)
            self.std_ = np.where(std > 0, std, 1.0)
            target = torch.as_tensor((y2 - self.mean_) / self.std_, dtype=torch.float32)
            n_out, loss_fn = y2.shape[1], torch.nn.MSELoss()
        torch.manual_seed(self.seed)  # weights; dropout masks continue from this generator
        layers, n_in = [], X.shape[1]
        for _ in range(self.n_layers):
            layers += [torch.nn.Linear(n_in, self.width), torch.nn.ReLU(),
                       torch.nn.Dropout(self.dropout)]
            n_in = self.width
        layers.append(torch.nn.Linear(n_in, n_out))
        self.net_ = torch.nn.Sequential(*layers)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.learning_rate,
                                weight_decay=self.weight_decay)
        order = torch.Generator().manual_seed(self.seed)  # minibatch order
        batch = min(self.batch_size, n)
        for _ in range(self.epochs):
            perm = torch.randperm(n, generator=order)
            self.net_.train()
            for start in range(0, n, batch):
                idx = perm[start:start + batch]
                opt.zero_grad(set_to_none=True)
                loss_fn(self.net_(X[idx]), target[idx]).backward()
                opt.step()
        return self

    def _forward(self, X):
        self.net_.eval()
        with torch.inference_mode():
            return self.net_(torch.as_tensor(np.asarray(X, dtype=np.float32))).double().numpy()

    def predict_proba(self, X):
        z = self._forward(X)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, X):
        out = self._forward(X)
        if self.task == "classification":
            return self.classes_[np.argmax(out, axis=1)]
        pred = out * self.std_ + self.mean_
        return pred.ravel() if pred.shape[1] == 1 else pred
'''


def _native_preprocessing() -> str:
    """The boosting models' preprocessing, as source the script runs without Tuning Studio."""
    return "\n\n" + inspect.getsource(Categories) + "\n\n" + inspect.getsource(
        native_preprocessor
    ).replace("MISSING", repr(MISSING)).replace("cat: Any = ", "cat = ")


def reproduce_script(run: RunData) -> str:
    """Python source that rebuilds the run's best model with plain scikit-learn (and PyTorch
    for the MLP) and prints its test score; it does not import Tuning Studio."""
    cfg = run.config
    if cfg is None:
        raise ConfigError("This run has no saved configuration: it cannot be reproduced.")
    cfg = run.record.fetch_dataset(cfg)  # an uploaded CSV whose file is gone: the run's copy
    spec = get_model(cfg.model)
    # The plain string (a Task's repr is no Python the script could run).
    task = Task(run.record.task or datasets.load_dataset(cfg.dataset).task).value
    params = best_params(run)
    data_imports, data_code = _data_code(cfg.dataset, task)
    model = _model_code(spec, params, task, cfg)
    native = spec.categorical != "onehot"  # LightGBM, XGBoost, CatBoost
    lines = [
        _script_header(run, cfg, spec, task, model.library),
        "",
        "import io  # noqa: F401",
        *(["import operator"] if native else []),
        "import warnings",
        "",
        *_third_party_imports(native, data_imports + model.imports),
        "",
        'warnings.filterwarnings("ignore")  # convergence and deprecation chatter',
        "",
        f"SEED = {cfg.seed!r}",
        f"TEST_SIZE = {cfg.test_size!r}",
        f"SCORING = {cfg.scoring!r}",
        f"REPORTED_TEST_SCORE = {run.test.get('score')!r}  # what the run stored after its refit",
        f"BEST_PARAMS = {_literal(params)}",
        data_code.rstrip("\n"),
        "",
        (_native_preprocessing() if native else _PREPROCESSING).rstrip("\n"),
        "",
        *([model.extra.strip("\n"), "", ""] if model.extra else [""]),
        *_fit_and_score(spec, task, cfg, model.expr, run.label),
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class _ModelCode:
    """How the script builds the model: its imports, constructor, extra source, library."""

    imports: list[str]
    expr: str
    extra: str  # source of a class the script defines (the MLP, XGBoost's label encoder)
    library: str  # the boosting library's package ("" for the others)


def _model_code(spec: Any, params: dict[str, Any], task: str, cfg: Any) -> _ModelCode:
    if spec.budget == BudgetKind.EPOCHS:  # the PyTorch MLP: its own class in the script
        p = dict(params)
        expr = (
            f"TorchMLP(task={task!r}, learning_rate={p['learning_rate']!r}, "
            f"batch_size={int(p['batch_size'])!r}, n_layers={int(p['n_layers'])!r}, "
            f"width={int(p['width'])!r}, dropout={float(p['dropout'])!r}, "
            f"weight_decay={p['weight_decay']!r}, epochs={int(p['epochs'])!r}, seed={cfg.seed!r})"
        )
        imports = [
            "import torch",
            "from sklearn.base import BaseEstimator",
            "from sklearn.utils import ClassifierTags, RegressorTags",
        ]
        return _ModelCode(imports, expr, _MLP, "")
    native = spec.categorical != "onehot"
    categorical = categorical_columns(datasets.load_dataset(cfg.dataset).X) if native else []
    est = build_pipeline(spec, dict(params), task, cfg.seed, cfg.n_jobs, categorical)[-1]
    library = type(est).__module__.split(".")[0] if native else ""
    if isinstance(est, LabelEncodedClassifier):  # XGBoost: labels 0..k-1 only
        imp, inner = _constructor(est.estimator, params)
        imports = [
            imp,
            "from sklearn.base import BaseEstimator, ClassifierMixin, clone",
            "from sklearn.preprocessing import LabelEncoder",
        ]
        return _ModelCode(
            imports, f"LabelEncodedClassifier({inner})",
            inspect.getsource(LabelEncodedClassifier), library,
        )  # fmt: skip
    imp, expr = _constructor(est, params)
    return _ModelCode([imp], expr, "", library)


def _script_header(run: RunData, cfg: Any, spec: Any, task: str, library: str) -> str:
    """The script's docstring: what it rebuilds, from which run, and what it needs."""
    split = "stratified by class" if task == Task.CLASSIFICATION else "shuffled"
    needs = (
        "pandas, scikit-learn and PyTorch" if spec.budget == BudgetKind.EPOCHS
        else f"pandas, scikit-learn and {library}" if library
        else "pandas and scikit-learn"
    )  # fmt: skip
    # A multi-objective run exports the trade-off it chose, not the best score.
    which = "chosen trade-off" if _multi_objective(run) else "best model"
    chosen = "the chosen trade-off's" if _multi_objective(run) else "the best"
    method = METHODS[cfg.method].label if cfg.method in METHODS else cfg.method
    return "\n".join(
        [
            f'"""Rebuild the {which} of the Tuning Studio run {_doc(run.name)}; print its test score.',
            "",
            f"Dataset: {_doc(datasets.dataset_label(cfg.dataset))} ({task}); model: {_doc(spec.label)}; "
            f"search: {_doc(method)}.",
            f"The same holdout split as the run (test_size={cfg.test_size}, seed {cfg.seed}, {split}),",
            f"the same preprocessing and {chosen} hyperparameters; fit on the training part,",
            "scored once on the test part.",
            f"Needs only {needs}. Run: python {_doc(script_filename(run))}",
            '"""',
        ]
    )


def _third_party_imports(native: bool, more: list[str]) -> list[str]:
    """The script's third-party imports, sorted: plain imports first, then from-imports."""
    return sorted(
        {
            "import numpy as np",
            "import pandas as pd  # noqa: F401",
            "from sklearn.compose import ColumnTransformer, make_column_selector",
            "from sklearn.metrics import get_scorer",
            "from sklearn.model_selection import train_test_split",
            "from sklearn.pipeline import Pipeline, make_pipeline",
            (
                "from sklearn.preprocessing import FunctionTransformer" if native
                else "from sklearn.preprocessing import OneHotEncoder, StandardScaler"
            ),
            *(["from sklearn.impute import SimpleImputer"] if not native else [
                "from sklearn.base import BaseEstimator, TransformerMixin",
            ]),
            *more,
        },
        key=lambda line: (line.startswith("from"), line.split()[1]),
    )


def _fit_and_score(spec: Any, task: str, cfg: Any, model_expr: str, label: str) -> list[str]:
    """The script's last lines: the run's split, the pipeline, one fit and one test score."""
    stratify = "y" if task == Task.CLASSIFICATION else "None"
    sign = "-" if cfg.scoring and cfg.scoring.startswith("neg_") else ""
    native = spec.categorical != "onehot"
    return [
        "X, y = load_data()",
        "X_train, X_test, y_train, y_test = train_test_split(",
        f"    X, y, test_size=TEST_SIZE, random_state=SEED, shuffle=True, stratify={stratify}",
        ")",
        f"model = {model_expr}",
        (
            f'pipe = Pipeline([("prep", native_preprocessor({spec.categorical!r})), '
            '("model", model)])' if native
            else f'pipe = Pipeline([("prep", preprocessing({spec.scale!r})), ("model", model)])'
        ),
        "pipe.fit(X_train, y_train)",
        f"score = {sign}get_scorer(SCORING)(pipe, X_test, y_test)",
        f'print(f"test {label} = {{score!r}}")',
        'print(f"reported by the run = {REPORTED_TEST_SCORE!r}")',
        "",
    ]


def script_filename(run: RunData) -> str:
    return f"{run.name}-reproduce.py"


def _data_code(ref: datasets.DatasetRef, task: str) -> tuple[list[str], str]:
    if ref.name == "csv":
        text, sep = datasets.load_text(ref.path)
        ds = datasets.load_dataset(ref)
        code = (
            f"\nCSV_PATH = {ref.path!r}\nTARGET = {ref.target!r}\nTASK = {task!r}\n"
            f"SEPARATOR = {sep!r}\nFEATURES = {[str(c) for c in ds.X.columns]!r}\n" + _CSV_LOADER
        )
        return [], code
    params = datasets.validate_params(ref.name, ref.params)
    if ref.name in _SKLEARN_LOADERS:
        fn = _SKLEARN_LOADERS[ref.name]
        body = (
            f"    X, y = {fn}(return_X_y=True, as_frame=True)\n"
            "    X.columns = [str(c) for c in X.columns]\n"
            '    return X, y.rename("target")\n'
        )
        return [f"from sklearn.datasets import {fn}"], f"\n\ndef load_data():\n{body}"
    calls = {
        "seed-classification": (
            "make_classification",
            f"n_samples={params.get('n_samples')!r}, n_features=50, n_informative=30, "
            f"n_redundant=10, random_state={params.get('seed')!r}",
        ),
        "regression": (
            "make_regression",
            f"n_samples={params.get('n_samples')!r}, n_features={params.get('n_features')!r}, "
            f"noise={params.get('noise')!r}, random_state={params.get('seed')!r}",
        ),
        "moons": (
            "make_moons",
            f"n_samples={params.get('n_samples')!r}, noise={params.get('noise')!r}, "
            f"random_state={params.get('seed')!r}",
        ),
    }
    if ref.name not in calls:
        raise ConfigError(f"No reproduce recipe for dataset '{ref.name}' yet.")
    fn, args = calls[ref.name]
    body = (
        f"    X, y = {fn}({args})\n"
        '    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])\n'
        '    return X, pd.Series(y, name="target")\n'
    )
    return [f"from sklearn.datasets import {fn}"], f"\n\ndef load_data():\n{body}"


def _constructor(est: Any, best: dict[str, Any]) -> tuple[str, str]:
    """'from sklearn.svm import SVC', 'SVC(**BEST_PARAMS, cache_size=500, ...)': the tuned
    parameters, then the model's fixed settings that differ from the class defaults."""
    cls = type(est)
    module = _public_module(cls)
    defaults = {
        k: p.default
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    given = est.get_params(deep=False)
    spread = all(k in given and _same(v, given[k]) for k, v in best.items())
    args = ["**BEST_PARAMS"] if spread else []
    for k, v in given.items():
        if (spread and k in best) or (k in defaults and _same(defaults[k], v)):
            continue
        if k not in defaults and v is None:  # a **kwargs setting left to the library (XGBoost)
            continue
        args.append(f"{k}={_literal(v)}")
    return f"from {module} import {cls.__name__}", f"{cls.__name__}({', '.join(args)})"


def _public_module(cls: type) -> str:
    parts = cls.__module__.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name.split(".")[-1].startswith("_"):
            break
        try:
            if getattr(importlib.import_module(name), cls.__name__, None) is cls:
                return name
        except ImportError:
            break
    return cls.__module__


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _literal(v: Any) -> str:
    """Python source for a plain value (numbers, strings, None, bools, lists, dicts)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        inner = ", ".join(_literal(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    if isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"
    if v is None or isinstance(v, bool | int | float | str):
        return repr(v)
    raise ConfigError(f"Cannot write {type(v).__name__} value {v!r} into the reproduce script.")


def _doc(text: str) -> str:
    """A value safe inside the script's docstring."""
    return repr(str(text))[1:-1].replace('"""', "'''")


__all__ = [
    "ModelFile", "best_model", "best_params", "reproduce_script", "script_filename",
    "trials_csv", "trials_frame",
]  # fmt: skip
