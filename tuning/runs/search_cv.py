"""TuningSearchCV: a scikit-learn search object whose search is a studio run.

`fit(X, y)` records a run in a storage (the app's default one unless `storage=`), so the
dashboard shows it live, and searches it with the studio's own engine: a method from the
registry proposes, the optimize loop claims trials and honours Stop, and each trial is the
engine's cross-validated Evaluation on the folds of `cv`. The estimator object is handed to the
evaluation directly (this process only: the run is marked not importable, so no worker can join).
Afterwards the object has GridSearchCV's attributes (cv_results_, best_params_, best_score_,
best_estimator_, ...), with scores in scikit-learn's sign (errors negated).
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import datetime
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, indexable

from tuning.core.budget import Budget
from tuning.core.config import CUSTOM_MODEL, DatasetRef, RunConfig
from tuning.core.enums import BudgetKind
from tuning.core.errors import ConfigError
from tuning.core.hyperopt_space import from_hyperopt, is_hyperopt
from tuning.core.scoring import ScorerScoring, Scoring
from tuning.core.space import SearchSpace
from tuning.data import datasets
from tuning.evaluation.objective import Evaluation, StopRequested
from tuning.execution.prepared import Prepared
from tuning.execution.session import RunSession
from tuning.methods import get_method
from tuning.methods.recommend import choose
from tuning.models.custom import check_space, describe, estimator_task, own_model
from tuning.runs.prepare import POPULATION_OWN
from tuning.runs.runner import record_run
from tuning.store.records import TestResult
from tuning.store.run import StoredRun
from tuning.store.runs import as_storage, sanitize_name
from tuning.store.trials import TrialMetrics

# As the Learn page: no line per trial (a failed trial's error is kept in its record, and the
# search raises it when no trial completes).
optuna.logging.set_verbosity(optuna.logging.ERROR)

MEMORY = "memory"  # storage="memory": a fresh in-memory storage per fit (the app cannot see it)
_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _delegates(attr: str):
    """Available when the fitted best estimator (or, before fit, the estimator) has `attr`."""

    def check(self) -> bool:
        est = getattr(self, "best_estimator_", self.estimator)
        getattr(est, attr)  # raises AttributeError, which available_if turns into "no method"
        return True

    return check


def _fold_arrays(trials: list, k: int, sign: float) -> tuple[np.ndarray, ...]:
    """Per trial and fold: the test and train scores (greater is better, as scikit-learn
    reports them; NaN where a trial did not complete) and the seconds to fit and to score."""
    test, train, fit_t, score_t = (np.full((len(trials), k), np.nan) for _ in range(4))
    for i, t in enumerate(trials):
        m = TrialMetrics.of(t)
        if t.state == TrialState.COMPLETE:
            test[i, : len(m.fold_scores)] = sign * np.asarray(m.fold_scores, dtype=float)
            if m.train_fold_scores:
                train[i, : len(m.train_fold_scores)] = sign * np.asarray(
                    m.train_fold_scores, dtype=float
                )
        for arr, vals in ((fit_t, m.fold_fit_seconds), (score_t, m.fold_score_seconds)):
            if vals:
                arr[i, : len(vals)] = vals[:k]
    return test, train, fit_t, score_t


def _n_rows(X: Any) -> int:
    shape = getattr(X, "shape", None)  # sparse matrices have no len()
    return int(shape[0]) if shape is not None and len(shape) else len(X)


class TuningSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Search `search_space` of `estimator` with a studio method, as a studio run.

    Parameters
    ----------
    estimator : a scikit-learn estimator or pipeline.
    search_space : dict of parameter name -> Optuna distribution (FloatDistribution,
        IntDistribution, CategoricalDistribution) or list of values; or a SearchSpace; or
        a Hyperopt space (a dict of hp.uniform, hp.loguniform, hp.quniform, hp.randint,
        hp.choice, nested choices included; see tuning.core.hyperopt_space).
    method : a method of the registry (`python -m tuning methods`), default "recommended"
        (picked from the space and n_trials; the run records which and why); "grid" tries
        every configuration, in GridSearchCV's order.
    method_options : the method's options (e.g. {"n_startup_trials": 10}).
    n_trials, timeout : budget: trials and/or seconds (a grid's budget is the grid).
    cv, scoring : as in GridSearchCV (None: 5 folds, stratified for classifiers; the
        estimator's `score`). Scoring is one scorer name or callable.
    n_jobs : CV folds fitted at once (joblib, as GridSearchCV); None or 1: one by one. With a
        multi-fidelity method (which stops trials between folds) folds run one by one.
    refit : refit the best configuration on all of X, y (best_estimator_, predict, ...).
    storage : None (the app's default storage: the dashboard shows the run live), an Optuna
        storage URL or object, or "memory" (not kept).
    run_name : the run's name in the storage (made unique); None: one is made up.
    random_state : seeds the method's sampler.
    grid_points : grid method: values per continuous parameter.
    return_train_score : also score each fold's training part (split<k>_train_score, ...).
    defaults_baseline : score the estimator's own parameters (the values it was given, which
        are the searched parameters' "defaults") first, as the baseline the gain of tuning is
        measured against: the first trial where they lie in the space (a row of cv_results_,
        one of the n_trials), else scored beside the trials on the same folds (kept with the
        run: the dashboard shows the gain). False: no baseline.
    warm_start : names of earlier runs in `storage` (of the same estimator class, on any data)
        whose best configurations are tried first, right after the baseline, each marked
        "warm start"; a source that is gone or does not fit is skipped (warm_start_note_ says
        what was kept, clipped, dropped or refused).
    """

    def __init__(
        self,
        estimator: Any,
        search_space: Any,
        *,
        method: str = "recommended",
        method_options: dict | None = None,
        n_trials: int | None = 10,
        timeout: float | None = None,
        cv: Any = None,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: bool = True,
        storage: Any = None,
        run_name: str | None = None,
        random_state: int = 0,
        grid_points: int = 5,
        return_train_score: bool = False,
        defaults_baseline: bool = True,
        warm_start: Any = (),
    ) -> None:
        self.estimator = estimator
        self.search_space = search_space
        self.method = method
        self.method_options = method_options
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.storage = storage
        self.run_name = run_name
        self.random_state = random_state
        self.grid_points = grid_points
        self.return_train_score = return_train_score
        self.defaults_baseline = defaults_baseline
        self.warm_start = warm_start

    # -- scikit-learn glue ---------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
        tags.target_tags.multi_output = sub.target_tags.multi_output
        tags.input_tags.pairwise = sub.input_tags.pairwise
        tags.input_tags.sparse = sub.input_tags.sparse
        tags.array_api_support = sub.array_api_support
        return tags

    # -- the search ----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, groups: Any = None) -> TuningSearchCV:
        """Run the search as a studio run, then (refit=True) fit the best configuration on all
        of X, y. Raises ValueError when no trial completed, with the last trial's error."""
        estimator = self.estimator
        X, y, groups = indexable(X, y, groups)
        space = self._space()
        check_space(estimator, space)
        method, options, chosen = self._method(space)
        task = estimator_task(estimator)
        cv = check_cv(self.cv, y, classifier=is_classifier(estimator))
        folds = list(cv.split(X, y, groups))
        self.n_splits_ = len(folds)
        scoring = self._scoring(estimator, task)
        self.scorer_ = scoring
        prep = self._prepared(X, y, estimator, space, method, options, task, scoring, folds)
        prep.recommendation = chosen
        storage = (
            optuna.storages.InMemoryStorage()
            if self.storage == MEMORY
            else as_storage(self.storage)
        )
        name = record_run(prep, storage, self._name(estimator), rename=True)
        run = StoredRun.open(name, storage)
        study = run.study
        self.warm_start_note_ = (run.record().warm_start or {}).get("note", "")
        multi_fidelity = method.multi_fidelity
        objective = Evaluation(
            model=prep.model, space=space, task=task, X=X, y=y, folds=folds, scoring=scoring,
            budget=prep.budget, seed=self.random_state, n_jobs=-1,
            train_score=self.return_train_score, stop=None,
            fold_jobs=1 if multi_fidelity or self.n_jobs is None else self.n_jobs,
            measure=False, report_steps=multi_fidelity,
        )  # fmt: skip
        stop = threading.Event()
        objective.stop = stop
        errors: list[BaseException] = []

        def evaluate(trial: optuna.Trial) -> Any:
            try:
                return objective(trial)
            except (optuna.TrialPruned, StopRequested):
                raise
            except Exception as exc:  # kept to raise as itself if no trial completes
                errors[:] = [exc]
                raise

        method.run(RunSession(run, prep, stop, objective=evaluate, refit=False))
        self.run_name_, self.study_ = name, study
        if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) and errors:
            errors[0].add_note(
                f"No trial of the search (run '{name}') completed; this is the last trial's error."
            )
            raise errors[0]
        self._results(run, space, scoring)
        if self.refit:
            self._refit(run, X, y)
        return self

    def _space(self) -> SearchSpace:
        """The search space as the studio's (a Hyperopt space is converted)."""
        if is_hyperopt(self.search_space):
            return from_hyperopt(self.search_space)
        return SearchSpace.from_distributions(self.search_space)

    def _method(self, space: SearchSpace) -> tuple[Any, dict, dict | None]:
        """The method, its options, and (for "recommended") what it picked and why."""
        method = get_method(self.method)
        if method.runs_itself:
            raise ConfigError(POPULATION_OWN)
        if not method.chooses_method:
            return method, method.validate_options(dict(self.method_options or {})), None
        if self.method_options:
            raise ConfigError(
                f"{method.label} takes no method_options: it picks the method itself. To set "
                "options, choose that method instead."
            )
        chosen = choose(space, self.n_trials, 1, BudgetKind.FOLDS, 1)
        return get_method(chosen.method), dict(chosen.options), chosen.to_attr()

    def _scoring(self, estimator: Any, task: str) -> Scoring:
        if isinstance(self.scoring, str):
            return Scoring.validated(self.scoring, task)
        if self.scoring is None or callable(self.scoring):
            scorer = check_scoring(estimator, scoring=self.scoring)
            label = "score" if self.scoring is None else getattr(self.scoring, "__name__", "scorer")
            return ScorerScoring(label, scorer=scorer)
        raise ConfigError(
            "TuningSearchCV takes one scoring: a scorer name (e.g. 'accuracy') or a callable "
            "scorer(estimator, X, y); a list or dict of several metrics is not supported."
        )

    def _prepared(self, X, y, estimator, space, method, options, task, scoring, folds):
        ref = describe(estimator)
        shape = getattr(X, "shape", None)
        data = {"n_samples": _n_rows(X), "n_features": None}
        if shape is not None and len(shape) > 1:
            data["n_features"] = int(shape[1])
        config = RunConfig(
            dataset=DatasetRef("python", params=data), model=CUSTOM_MODEL, method=method.name,
            space=space, method_options=options,
            n_trials=None if method.enumerates_grid else self.n_trials,
            timeout_s=self.timeout, cv_folds=len(folds), scoring=scoring.name,
            seed=int(self.random_state), grid_points=self.grid_points, n_jobs=-1,
            train_score=self.return_train_score, estimator=ref,
            defaults_baseline=bool(self.defaults_baseline),
            warm_start=_names(self.warm_start),
        )  # fmt: skip
        if config.n_trials is None and config.timeout_s is None and method.needs_budget:
            raise ConfigError("Give a budget: n_trials, timeout (seconds) or both.")
        if config.n_trials is not None and config.n_trials < 1:
            raise ConfigError(f"n_trials must be at least 1, got {config.n_trials}.")
        model = own_model(estimator, ref)
        config = method.validate_run(config, space, model)
        ds = datasets.Dataset(
            name="python", task=task, X=X, y=y,
            description="the data given to TuningSearchCV.fit",
        )  # fmt: skip
        split = datasets.Split(X_train=X, X_test=None, y_train=y, y_test=None)
        budget = Budget(BudgetKind.FOLDS, 1, len(folds))
        return Prepared(config, ds, split, model, scoring, budget)

    def _name(self, estimator: Any) -> str:
        if self.run_name:
            return sanitize_name(str(self.run_name))
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return sanitize_name(f"{type(estimator).__name__}-{self.method}-python-{stamp}")

    def _results(self, run: StoredRun, space: SearchSpace, scoring: Scoring) -> None:
        """cv_results_ as GridSearchCV builds it, one row per finished trial in trial order;
        a pruned or failed trial's scores are NaN (a partial score is not a score)."""
        study = run.study
        trials = [t for t in study.get_trials(deepcopy=False) if t.state in _STATES]
        if not any(t.state == TrialState.COMPLETE for t in trials):
            last = next((TrialMetrics.of(t).fail_reason for t in reversed(trials)), None)
            message = run.record().message or ""
            raise ValueError(
                f"No trial of the search completed ({len(trials)} finished). "
                f"The last error: {last or message or 'none recorded'}."
            )
        k = self.n_splits_
        test, train, fit_t, score_t = _fold_arrays(trials, k, -1.0 if scoring.negated else 1.0)
        params = [space.complete(t.params) for t in trials]
        results: dict[str, Any] = {}
        results["mean_fit_time"] = np.nanmean(fit_t, axis=1)
        results["std_fit_time"] = np.nanstd(fit_t, axis=1)
        results["mean_score_time"] = np.nanmean(score_t, axis=1)
        results["std_score_time"] = np.nanstd(score_t, axis=1)
        for name in space.names:
            column = np.ma.MaskedArray(np.empty(len(trials), dtype=object), mask=True)
            for i, p in enumerate(params):
                if name in p:
                    column[i] = p[name]
            results[f"param_{name}"] = column
        results["params"] = params
        for s in range(k):
            results[f"split{s}_test_score"] = test[:, s]
        results["mean_test_score"] = test.mean(axis=1)
        results["std_test_score"] = test.std(axis=1)
        means = results["mean_test_score"]
        # As scikit-learn ranks: ties share the lowest rank, NaN ranks last.
        filled = np.where(np.isnan(means), -np.inf, means)
        results["rank_test_score"] = rankdata(-filled, method="min").astype(np.int32)
        if self.return_train_score:
            for s in range(k):
                results[f"split{s}_train_score"] = train[:, s]
            results["mean_train_score"] = train.mean(axis=1)
            results["std_train_score"] = train.std(axis=1)
        results["trial_number"] = np.array([t.number for t in trials])
        self.cv_results_ = results
        self.best_index_ = int(results["rank_test_score"].argmin())
        self.best_score_ = float(means[self.best_index_])
        self.best_params_ = params[self.best_index_]
        self.best_trial_ = trials[self.best_index_]

    def _refit(self, run: StoredRun, X: Any, y: Any) -> None:
        est = clone(self.estimator).set_params(**self.best_params_)
        t0 = time.perf_counter()
        est.fit(X, y) if y is not None else est.fit(X)
        self.refit_time_ = time.perf_counter() - t0
        self.best_estimator_ = est
        # No held-out test part: the search saw all of X; the record says so (n_test 0).
        run.save_test(
            TestResult(
                trial=self.best_trial_.number, params=self.best_params_,
                refit_seconds=round(self.refit_time_, 3), n_train=_n_rows(X), n_test=0,
            )
        )  # fmt: skip

    def __getstate__(self) -> dict:
        # The study holds its storage (locks, files): reopen it from run_name_ and the storage.
        state = dict(self.__dict__)
        state.pop("study_", None)
        return state

    # -- delegated, as GridSearchCV delegates to best_estimator_ -------------------------------
    def _fitted(self) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_

    @available_if(_delegates("predict"))
    def predict(self, X):
        return self._fitted().predict(X)

    @available_if(_delegates("predict_proba"))
    def predict_proba(self, X):
        return self._fitted().predict_proba(X)

    @available_if(_delegates("predict_log_proba"))
    def predict_log_proba(self, X):
        return self._fitted().predict_log_proba(X)

    @available_if(_delegates("decision_function"))
    def decision_function(self, X):
        return self._fitted().decision_function(X)

    @available_if(_delegates("score_samples"))
    def score_samples(self, X):
        return self._fitted().score_samples(X)

    @available_if(_delegates("transform"))
    def transform(self, X):
        return self._fitted().transform(X)

    @available_if(_delegates("inverse_transform"))
    def inverse_transform(self, X):
        return self._fitted().inverse_transform(X)

    def score(self, X, y=None) -> float:
        """The search's scorer on X, y, in scikit-learn's sign (as best_score_)."""
        value = self.scorer_(self._fitted(), X, y)
        return -value if self.scorer_.negated else value

    @property
    def classes_(self):
        return self._fitted().classes_

    @property
    def n_features_in_(self):
        try:
            return self._fitted().n_features_in_
        except Exception as exc:
            raise AttributeError(str(exc)) from exc

    @property
    def feature_names_in_(self):
        return self._fitted().feature_names_in_


__all__ = ["TuningSearchCV", "MEMORY"]


def _names(warm_start: Any) -> tuple[str, ...]:
    """warm_start as run names: one name or a list of them (None, False or (): a cold start;
    scikit-learn's own checks set warm_start=False on any estimator that has the parameter)."""
    if warm_start is None or warm_start is False:
        return ()
    names = (warm_start,) if isinstance(warm_start, str) else warm_start
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError("warm_start takes the names of earlier runs, e.g. ['iris-run'].")
    return tuple(names)
