"""Model registry: name -> how to build the estimator, its default space, what it uses as budget.

Adding a model is one `ModelSpec` in `REGISTRY`. Every estimator is wrapped in a scikit-learn
Pipeline whose preprocessing (imputation, scaling, one-hot encoding) is fit inside each CV fold.

Budgets (what multi-fidelity methods spend and prune on):
- "folds":  every model: a trial reports its running CV mean after each fold;
- "epochs": the MLP: folds train in lockstep, one epoch at a time;
- "rounds": boosting: trees are added in chunks, folds in lockstep (sklearn's warm start, or
  for LightGBM, XGBoost and CatBoost the library's own continuation: models/boosting.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tuning.core.config import CUSTOM_MODEL, OWN_ESTIMATOR_LABEL
from tuning.core.enums import BudgetKind, Task
from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace, cat_param, float_param, int_param
from tuning.models import boosting

CLASSIFICATION, REGRESSION = Task.CLASSIFICATION, Task.REGRESSION
BOTH = tuple(Task)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str
    description: str  # one line
    tasks: tuple[Task, ...]
    build: Callable[
        [dict[str, Any], str, int, int], Any
    ]  # (params, task, seed, n_jobs) -> estimator
    space: Callable[[str], SearchSpace]  # task -> default search space
    budget: BudgetKind = BudgetKind.FOLDS  # what multi-fidelity methods spend
    budget_param: str | None = None  # the parameter that sets the budget ("epochs", "n_estimators")
    scale: bool = True  # standardize numeric features (distance- and gradient-based models)
    options: tuple[tuple[str, Any], ...] = ()  # fixed settings that are not searched
    # How categorical columns reach the model: "onehot" (imputed, one-hot encoded), or natively:
    # "category" (pandas category dtype) or "text" (strings, named in `cat_features_param`).
    categorical: str = "onehot"
    cat_features_param: str | None = None
    # (estimator, X, y, more_rounds) -> the estimator with those rounds added; None: warm_start.
    grow: Callable[[Any, Any, Any, int], Any] | None = None
    patience_param: str | None = None  # "rounds" budget: the parameter that sets early stopping
    # (column names) -> None, or raises ConfigError: data the model refuses, found at creation.
    check_columns: Callable[[list[str]], None] | None = None
    # False: `build` returns the whole estimator (a user's own pipeline), used as it is.
    preprocess: bool = True
    # task -> the library's default of each parameter, where the estimator's get_params does not
    # tell them (XGBoost and CatBoost leave theirs unset); None: read them from get_params.
    defaults: Callable[[str], dict[str, Any]] | None = None

    def supports(self, task: str) -> bool:
        return task in self.tasks

    def default_space(self, task: str) -> SearchSpace:
        return self.space(task).validate()

    def library_defaults(self, task: str) -> dict[str, Any]:
        """What the library gives each of the model's parameters when it is not set, for `task`
        (scikit-learn's, LightGBM's, XGBoost's, CatBoost's, the MLP's own): read from the
        library, by `defaults` or else from the parameters (get_params) of the estimator that
        `build` makes with nothing searched. So a user's own estimator's defaults are the values
        it was given. None stands for a value the library chooses from the data when it fits
        (CatBoost's learning rate); numbers are plain Python numbers."""
        if self.defaults is not None:
            found = self.defaults(task)
        else:
            found = self.build({}, Task(task).value, 0, 1).get_params(deep=True)
        return {str(k): _plain(v) for k, v in found.items()}

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", BudgetKind(self.budget))
        object.__setattr__(self, "tasks", tuple(Task(t) for t in self.tasks))

    @property
    def budgets(self) -> tuple[BudgetKind, ...]:
        if self.budget == BudgetKind.FOLDS:
            return (BudgetKind.FOLDS,)
        return (BudgetKind.FOLDS, self.budget)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (JSON and the space compare those)."""
    return value.item() if isinstance(value, np.generic) else value


def preprocessor(scale: bool) -> ColumnTransformer:
    """Impute and (optionally) scale numeric columns; impute and one-hot encode the others."""
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


def categorical_columns(X: Any) -> list[str]:
    """The columns the pipelines treat as categorical (the same selector as the preprocessing);
    none for arrays, which have no column types."""
    if not hasattr(X, "columns"):
        return []
    return list(make_column_selector(dtype_exclude=np.number)(X))


def build_pipeline(
    spec: ModelSpec,
    params: dict[str, Any],
    task: str,
    seed: int = 0,
    n_jobs: int = 1,
    categorical: Sequence[str] = (),
) -> Pipeline:
    """The model in a pipeline whose preprocessing is fit with it. `categorical`: the training
    data's categorical columns (`categorical_columns(X)`), for models that take them by name."""
    if not spec.supports(task):
        raise ConfigError(
            f"Model '{spec.name}' does not support {task}: choose one of "
            f"{', '.join(m.name for m in REGISTRY.values() if m.supports(task))}."
        )
    task = Task(task).value  # the estimator keeps a plain string (saved models load without it)
    model = spec.build(dict(params), task, seed, n_jobs)
    if not spec.preprocess:
        return model
    if spec.cat_features_param and categorical:
        model.set_params(**{spec.cat_features_param: list(categorical)})
    prep = (
        preprocessor(spec.scale)
        if spec.categorical == "onehot"
        else boosting.native_preprocessor(spec.categorical)
    )
    return Pipeline([("prep", prep), ("model", model)])


# -- builders ------------------------------------------------------------------------------
def _forest(cls_name: str) -> Callable:
    def build(params, task, seed, n_jobs):
        from sklearn import ensemble

        cls = getattr(
            ensemble, cls_name + ("Classifier" if task == CLASSIFICATION else "Regressor")
        )
        return cls(random_state=seed, n_jobs=n_jobs, **params)

    return build


def _forest_space(task: str) -> SearchSpace:
    return SearchSpace(
        (
            int_param("n_estimators", 50, 300, help="Number of trees."),
            int_param("max_depth", 5, 30, help="Deepest a tree may grow."),
            int_param("min_samples_split", 2, 20, help="Fewest rows needed to split a node."),
            int_param("min_samples_leaf", 1, 10, help="Fewest rows in a leaf."),
            cat_param(
                "max_features",
                ["sqrt", "log2"],
                help="Features considered at each split: √n or log2(n) of them.",
            ),
        )
    )


def _gradient_boosting(params, task, seed, n_jobs):
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    cls = GradientBoostingClassifier if task == CLASSIFICATION else GradientBoostingRegressor
    return cls(random_state=seed, **params)


def _gradient_boosting_space(task: str) -> SearchSpace:
    return SearchSpace(
        (
            float_param("learning_rate", 0.01, 0.3, log=True, help="Shrinkage of each tree."),
            int_param("n_estimators", 50, 400, help="Boosting rounds (trees)."),
            int_param("max_depth", 2, 8, help="Depth of each tree."),
            float_param("subsample", 0.5, 1.0, help="Fraction of rows per tree."),
            int_param("min_samples_leaf", 1, 30, log=True, help="Fewest rows in a leaf."),
        )
    )


def _hist_gradient_boosting(params, task, seed, n_jobs):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = (
        HistGradientBoostingClassifier if task == CLASSIFICATION else HistGradientBoostingRegressor
    )
    # Early stopping off: the tuner owns the budget, and results stay reproducible.
    return cls(random_state=seed, early_stopping=False, **params)


def _hist_gradient_boosting_space(task: str) -> SearchSpace:
    return SearchSpace(
        (
            float_param("learning_rate", 0.01, 0.3, log=True, help="Shrinkage of each tree."),
            int_param("max_iter", 50, 400, help="Boosting rounds (trees)."),
            int_param("max_leaf_nodes", 8, 128, log=True, help="Leaves per tree."),
            int_param("min_samples_leaf", 5, 100, log=True, help="Fewest rows in a leaf."),
            float_param("l2_regularization", 1e-6, 10.0, log=True, help="L2 penalty on leaves."),
        )
    )


def _svm(params, task, seed, n_jobs):
    from sklearn.svm import SVC, SVR

    if task == CLASSIFICATION:
        # probability=True makes predict_proba available for log loss (a Platt-scaled fit).
        return SVC(random_state=seed, probability=True, cache_size=500, **params)
    return SVR(cache_size=500, **params)


def _svm_space(task: str) -> SearchSpace:
    kernels = ("rbf", "poly", "sigmoid")
    params = [
        float_param("C", 1e-3, 1e3, log=True, help="Inverse regularization strength."),
        cat_param("kernel", ["rbf", "linear", "poly", "sigmoid"], help="Shape of the boundary."),
        float_param(
            "gamma", 1e-4, 10.0, log=True, condition=("kernel", kernels), help="Kernel width."
        ),
        int_param("degree", 2, 4, condition=("kernel", ("poly",)), help="Polynomial degree."),
    ]
    if task == REGRESSION:
        params.insert(1, float_param("epsilon", 1e-3, 1.0, log=True, help="Tube width."))
    return SearchSpace(tuple(params))


def _logistic(params, task, seed, n_jobs):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(random_state=seed, max_iter=2000, **params)


def _logistic_space(task: str) -> SearchSpace:
    return SearchSpace(
        (
            float_param("C", 1e-4, 1e3, log=True, help="Inverse regularization strength."),
            cat_param("class_weight", [None, "balanced"], help="Reweight rare classes."),
        )
    )


def _ridge(params, task, seed, n_jobs):
    from sklearn.linear_model import Ridge

    return Ridge(random_state=seed, **params)


def _ridge_space(task: str) -> SearchSpace:
    return SearchSpace(
        (
            float_param("alpha", 1e-4, 1e3, log=True, help="Regularization strength."),
            cat_param("fit_intercept", [True, False], help="Fit a bias term."),
        )
    )


def _knn(params, task, seed, n_jobs):
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if task == CLASSIFICATION else KNeighborsRegressor
    return cls(n_jobs=n_jobs, **params)


def _knn_space(task: str) -> SearchSpace:
    return SearchSpace(
        (
            int_param("n_neighbors", 1, 50, log=True, help="Neighbours that vote."),
            cat_param("weights", ["uniform", "distance"], help="Closer neighbours count more?"),
            cat_param("p", [1, 2], help="1 = Manhattan distance, 2 = Euclidean."),
        )
    )


MLP_PATIENCE = 10  # epochs without improvement of the CV score before a trial stops early


def _mlp(params, task, seed, n_jobs):
    from tuning.models.mlp import MLPEstimator  # torch is imported only when a net is trained

    return MLPEstimator(task=task, random_state=seed, **params)


def _mlp_space(task: str) -> SearchSpace:
    return SearchSpace(
        (
            float_param("learning_rate", 1e-4, 1e-1, log=True, help="Adam step size."),
            cat_param("batch_size", [32, 64, 128, 256], help="Rows per gradient step."),
            int_param("n_layers", 1, 4, help="Hidden layers."),
            int_param("width", 16, 512, log=True, help="Units per hidden layer."),
            float_param("dropout", 0.0, 0.5, help="Fraction of units dropped in training."),
            float_param("weight_decay", 1e-6, 1e-2, log=True, help="L2 penalty (AdamW)."),
            int_param(
                "epochs", 5, 60, help="Most passes over the data (early stopping may end sooner)."
            ),
        )
    )


def _library(lib: str) -> Callable:
    def build(params, task, seed, n_jobs):
        return boosting.build(lib, params, task, seed, n_jobs)

    return build


def _boosting(lib: str, label: str, description: str, space: Callable) -> ModelSpec:
    return ModelSpec(
        lib, label, description, BOTH, _library(lib), space, budget=BudgetKind.ROUNDS,
        budget_param=boosting.ROUNDS, scale=False, categorical=boosting.FORMS[lib],
        cat_features_param="cat_features" if lib == "catboost" else None, grow=boosting.grow,
        patience_param=boosting.EARLY_STOPPING,
        check_columns=boosting.names_check(label) if lib in boosting.NAME_RULES else None,
        defaults=boosting.defaults_reader(lib),
    )  # fmt: skip


REGISTRY: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec("random_forest", "Random forest", "Bagged decision trees, split on random feature subsets.", BOTH, _forest("RandomForest"), _forest_space, scale=False),
        ModelSpec("extra_trees", "Extra trees", "Like a random forest, with random split thresholds: faster, more variance reduction.", BOTH, _forest("ExtraTrees"), _forest_space, scale=False),
        ModelSpec("gradient_boosting", "Gradient boosting", "Trees added one by one, each fitting the previous ones' errors.", BOTH, _gradient_boosting, _gradient_boosting_space, budget=BudgetKind.ROUNDS, budget_param="n_estimators", scale=False),
        ModelSpec("hist_gradient_boosting", "Histogram gradient boosting", "Fast gradient boosting on binned features (LightGBM-style).", BOTH, _hist_gradient_boosting, _hist_gradient_boosting_space, budget=BudgetKind.ROUNDS, budget_param="max_iter", scale=False),
        ModelSpec("svm", "Support vector machine", "Maximum-margin model with a kernel (SVC / SVR).", BOTH, _svm, _svm_space),
        ModelSpec("logistic_regression", "Logistic regression", "Regularized linear classifier.", (CLASSIFICATION,), _logistic, _logistic_space),
        ModelSpec("ridge", "Ridge regression", "L2-regularized linear regression.", (REGRESSION,), _ridge, _ridge_space),
        ModelSpec("knn", "k-nearest neighbours", "Predicts from the k closest training rows.", BOTH, _knn, _knn_space),
        _boosting("lightgbm", "LightGBM", "Leaf-wise gradient boosting on histograms; native categorical splits.", boosting.lightgbm_space),
        _boosting("xgboost", "XGBoost", "Depth-wise regularized gradient boosting (hist); native categorical splits.", boosting.xgboost_space),
        _boosting("catboost", "CatBoost", "Symmetric-tree gradient boosting; ordered target statistics for categoricals.", boosting.catboost_space),
        ModelSpec("mlp", "Neural network (PyTorch MLP)", "Multilayer perceptron trained with AdamW; early stopping; CUDA when available.", BOTH, _mlp, _mlp_space, budget=BudgetKind.EPOCHS, budget_param="epochs", options=(("patience", MLP_PATIENCE),)),
    )
}  # fmt: skip


def model_label(name: str) -> str:
    """A model's name as the app says it ("Random forest"); a run of one's own estimator says
    so; an unknown name as it is (a run saved by another version)."""
    spec = REGISTRY.get(name)
    if spec is None and name == CUSTOM_MODEL:
        return OWN_ESTIMATOR_LABEL
    return spec.label if spec else name


def get_model(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"Unknown model '{name}'. Choose one of: {', '.join(REGISTRY)}."
        ) from None


def list_models(task: str | None = None) -> list[ModelSpec]:
    return [m for m in REGISTRY.values() if task is None or m.supports(task)]
