"""TuningSearchCV: a scikit-learn search object whose search is a studio run, and the command
line's --estimator (an importable factory that workers re-import)."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from sklearn.datasets import load_iris, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from tuning import TuningSearchCV
from tuning.cli import main
from tuning.core.config import CUSTOM_MODEL, DatasetRef, RunConfig
from tuning.core.errors import ConfigError, UserError
from tuning.core.space import SearchSpace, cat_param
from tuning.models.custom import ENV_ALLOW, allow, describe
from tuning.runs.prepare import rebuild_problem
from tuning.runs.runner import create_run, execute
from tuning.store.records import RunRecord
from tuning.store.runs import load_study
from tuning.store.storage import open_storage

# warm_start does not change a single fit: every pair of configurations ties, the best too.
GRID = {"C": [0.01, 0.1, 1.0, 10.0], "warm_start": [False, True]}


# scikit-learn's own checks, on a classifier and a regressor search (GaussianNB and Ridge
# because their fits take milliseconds: the checks fit a few hundred times). None is skipped.
@parametrize_with_checks(
    [
        TuningSearchCV(
            GaussianNB(), {"var_smoothing": FloatDistribution(1e-10, 1e-6, log=True)},
            n_trials=2, cv=2, storage="memory",
        ),
        TuningSearchCV(
            Ridge(), {"alpha": FloatDistribution(1e-2, 1e2, log=True)}, n_trials=2, cv=2,
            storage="memory",
        ),
    ]
)  # fmt: skip
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y  # scaled: logistic regression converges fast


def grid_pair(X, y, **kw):
    space = {k: CategoricalDistribution(v) for k, v in GRID.items()}
    ours = TuningSearchCV(
        LogisticRegression(max_iter=500), space, method="grid", storage="memory", **kw
    ).fit(X, y)
    theirs = GridSearchCV(LogisticRegression(max_iter=500), GRID, **kw).fit(X, y)
    return ours, theirs


@pytest.fixture(scope="module")
def stratified_pair(iris):
    return grid_pair(*iris, cv=5)


@pytest.mark.parametrize(
    "kw",
    [
        None,
        {"cv": KFold(4, shuffle=True, random_state=1), "scoring": "neg_log_loss"},
        {"cv": 3, "n_jobs": 2, "scoring": "balanced_accuracy"},
    ],
    ids=["stratified-accuracy", "kfold-log-loss", "two-jobs"],
)
def test_grid_gives_gridsearchcv_results(iris, stratified_pair, kw):
    ours, theirs = stratified_pair if kw is None else grid_pair(*iris, **kw)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_index_ == theirs.best_index_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, abs=1e-12)
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    for key in ("mean_test_score", "std_test_score", "split0_test_score"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], atol=1e-12)
    np.testing.assert_array_equal(
        ours.cv_results_["rank_test_score"], theirs.cv_results_["rank_test_score"]
    )
    assert set(theirs.cv_results_) <= set(ours.cv_results_)
    assert ours.score(*iris) == pytest.approx(theirs.score(*iris))
    np.testing.assert_array_equal(ours.predict(iris[0]), theirs.predict(iris[0]))


def test_ties_go_to_the_first_in_grid_order(stratified_pair):
    ours, theirs = stratified_pair
    ranks = theirs.cv_results_["rank_test_score"]
    assert (ranks == 1).sum() > 1  # the grid has a tie at the top, so the rule is tested
    assert ours.best_index_ == int(np.flatnonzero(ranks == 1)[0])


def test_fit_records_a_studio_run(iris, tmp_path):
    url = f"journal:///{tmp_path / 'runs.journal'}"
    search = TuningSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)),
        {"logisticregression__C": FloatDistribution(1e-2, 1e2, log=True),
         "logisticregression__fit_intercept": [True, False]},
        method="random", n_trials=4, cv=3, storage=url, run_name="mine", return_train_score=True,
    ).fit(*iris)  # fmt: skip
    assert search.run_name_ == "mine"
    record = RunRecord.from_study(load_study("mine", open_storage(url)))
    assert record.status == "finished"
    cfg = record.config
    assert cfg.model == CUSTOM_MODEL and cfg.method == "random" and cfg.cv_folds == 3
    assert cfg.estimator.cls.endswith("Pipeline") and not cfg.estimator.importable
    assert "logisticregression" in cfg.estimator.params
    assert record.test.trial == search.best_trial_.number and record.test.n_test == 0
    assert len(search.cv_results_["params"]) == 4
    assert np.all(search.cv_results_["mean_train_score"] >= 0.5)
    assert np.all(search.cv_results_["mean_fit_time"] > 0)
    # Trials hold the engine's records, so the dashboard reads them like any run's.
    trial = search.study_.trials[search.best_index_]
    assert trial.user_attrs["metrics"]["cv_mean"] == pytest.approx(search.best_score_)
    # A second fit with the same name is a new run, not an error.
    again = TuningSearchCV(
        LogisticRegression(max_iter=300), {"C": [0.1, 1.0]}, method="grid", cv=3,
        storage=url, run_name="mine",
    ).fit(*iris)  # fmt: skip
    assert again.run_name_ == "mine-2"
    # Nothing else can rebuild an object handed in from Python: the run is read-only.
    problem = rebuild_problem(cfg)
    assert "Python object" in problem and "cannot be resumed" in problem
    with pytest.raises(ConfigError, match="Python object"):
        execute("mine", open_storage(url))
    assert RunRecord.from_study(load_study("mine", open_storage(url))).status == "finished"
    # Pickled without its study (which holds the storage), it still predicts.
    copy = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(copy.predict(iris[0][:5]), search.predict(iris[0][:5]))


def test_every_sampler_family_and_a_searchspace(iris):
    X, y = iris
    for method in ("tpe", "sobol", "successive_halving"):
        s = TuningSearchCV(
            LogisticRegression(max_iter=300), {"C": FloatDistribution(1e-2, 1e2, log=True)},
            method=method, n_trials=3, cv=3, storage="memory",
        ).fit(X, y)  # fmt: skip
        assert 1e-2 <= s.best_params_["C"] <= 1e2 and 0.5 < s.best_score_ <= 1
    space = SearchSpace((cat_param("alpha", [0.1, 10.0]),))
    Xr, yr = make_regression(60, 4, noise=1.0, random_state=0)
    r = TuningSearchCV(Ridge(), space, method="grid", cv=3, storage="memory").fit(Xr, yr)
    assert r.best_params_ == {"alpha": 0.1} and r.best_estimator_.alpha == 0.1


def test_bad_input_says_what_to_change(iris):
    X, y = iris
    with pytest.raises(ConfigError, match="no parameter.*gamma.*its parameters are"):
        TuningSearchCV(LogisticRegression(), {"gamma": [1, 2]}, storage="memory").fit(X, y)
    with pytest.raises(ConfigError, match="cannot tune another estimator"):
        TuningSearchCV(LogisticRegression(), {"C": [1.0]}, method="pbt", storage="memory").fit(X, y)
    with pytest.raises(ConfigError, match="several metrics is not supported"):
        TuningSearchCV(
            LogisticRegression(), {"C": [1.0]}, scoring=["accuracy"], storage="memory"
        ).fit(X, y)
    with pytest.raises(UserError, match="not an Optuna distribution"):
        TuningSearchCV(LogisticRegression(), {"C": 1.0}, storage="memory").fit(X, y)
    with pytest.raises(ConfigError, match="Unknown method"):
        TuningSearchCV(LogisticRegression(), {"C": [1.0]}, method="nope", storage="memory").fit(X, y)
    # Every trial failing raises the estimator's own error, as a plain fit would.
    with pytest.raises(ValueError, match="max_iter"):
        TuningSearchCV(
            LogisticRegression(), {"max_iter": IntDistribution(-5, -1)}, n_trials=2,
            storage="memory",
        ).fit(X, y)  # fmt: skip


# -- the command line's --estimator ------------------------------------------------------------
FACTORY = "estimators_for_tests:make_pipeline"


def write_space(tmp_path):
    path = tmp_path / "space.json"
    space = SearchSpace.from_distributions(
        {"clf__C": FloatDistribution(1e-2, 1e2, log=True), "clf__fit_intercept": [True, False]}
    )
    path.write_text(json.dumps(space.to_dict()))
    return path


def test_cli_run_with_an_importable_estimator(tmp_path, capsys):
    url = f"journal:///{tmp_path / 'runs.journal'}"
    rc = main([
        "run", "--dataset", "iris", "--estimator", FACTORY, "--space", str(write_space(tmp_path)),
        "--method", "random", "--trials", "3", "--folds", "3", "--storage", url, "--quiet",
        "--name", "own",
    ])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    record = RunRecord.from_study(load_study("own", open_storage(url)))
    assert record.status == "finished"
    assert record.config.estimator.path == FACTORY and record.config.model == CUSTOM_MODEL
    assert record.test.score is not None and record.test.score > 0.5  # a held-out test score
    assert rebuild_problem(record.config) is None


def factory_run(name: str, n_trials: int) -> RunConfig:
    """A random search of FACTORY's C on iris, as the command line's --estimator saves it."""
    from estimators_for_tests import make_pipeline as factory

    return RunConfig(
        dataset=DatasetRef("iris"), model=CUSTOM_MODEL, method="random", n_trials=n_trials,
        cv_folds=3,
        space=SearchSpace.from_distributions({"clf__C": FloatDistribution(1e-2, 1e2, log=True)}),
        estimator=describe(factory(), path=FACTORY), name=name,
    )  # fmt: skip


def test_worker_reimports_the_estimator(tmp_path):
    url = f"journal:///{tmp_path / 'runs.journal'}"
    allow(FACTORY)  # as whoever starts the process says: `--allow-estimator estimators_for_tests`
    create_run(factory_run("joined", 3), open_storage(url))
    assert main(["worker", "--run", "joined", "--storage", url, "--quiet"]) == 0
    study = load_study("joined", open_storage(url))
    assert len([t for t in study.trials if t.state.is_finished()]) == 3
    assert RunRecord.from_study(study).status == "finished"


def test_cli_estimator_errors(tmp_path, capsys):
    url = f"journal:///{tmp_path / 'runs.journal'}"
    space = str(write_space(tmp_path))
    base = ["run", "--dataset", "iris", "--storage", url, "--quiet", "--trials", "2"]
    assert main([*base, "--estimator", FACTORY]) == 2
    assert "--estimator needs --space" in capsys.readouterr().err
    assert main([*base, "--estimator", "no_such_pkg.models:make", "--space", space]) == 2
    assert "Cannot import 'no_such_pkg.models'" in capsys.readouterr().err
    assert main([*base, "--estimator", "estimators_for_tests:broken", "--space", space]) == 2
    assert "could not build its pipeline" in capsys.readouterr().err
    assert main([*base, "--estimator", "os.system('x')", "--space", space]) == 2
    assert "is not an import path" in capsys.readouterr().err
    assert main([*base, "--dataset", "regression", "--estimator", FACTORY, "--space", space]) == 2
    assert "builds a classifier, but the dataset is a regression task" in capsys.readouterr().err
    # A run whose factory this process cannot import is read-only, with the reason.
    cfg = RunConfig(
        dataset=DatasetRef("iris"), model=CUSTOM_MODEL,
        estimator=describe(LogisticRegression(), path="gone_pkg.models:make"),
    )  # fmt: skip
    assert "was not allowed to import" in rebuild_problem(cfg)  # not allowed: not even looked up
    assert "TUNING_STUDIO_ESTIMATORS=gone_pkg.models" in rebuild_problem(cfg)
    allow("gone_pkg.models:make")
    assert "Cannot import 'gone_pkg.models'" in rebuild_problem(cfg)
    assert "read-only" in rebuild_problem(cfg)


def test_an_estimator_path_from_the_storage_is_imported_only_where_allowed(tmp_path, capsys):
    """Whoever can write to a shared storage must not choose what other processes import: a
    run saved with an import path is read-only in a process that did not allow its module."""
    url = f"journal:///{tmp_path / 'runs.journal'}"
    allow(FACTORY)  # the process that creates it names it
    create_run(factory_run("planted", 2), open_storage(url))
    os.environ.pop(ENV_ALLOW)  # another process: nothing allowed
    record = RunRecord.from_study(load_study("planted", open_storage(url)))
    assert not record.rebuildable and "was not allowed to import" in record.why_not("Resume")
    assert main(["worker", "--run", "planted", "--storage", url, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "'estimators_for_tests'" in err and "was not allowed to import" in err
    # Nothing ran, nothing imported: only the library defaults wait in the queue (trial 0).
    trials = load_study("planted", open_storage(url)).trials
    assert [t.state.name for t in trials] == ["WAITING"]
    assert main(["--allow-estimator", "estimators_for_tests", "worker", "--run", "planted",
                 "--storage", url, "--quiet"]) == 0  # fmt: skip
