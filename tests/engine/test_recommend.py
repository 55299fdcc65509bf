"""Recommended: the rule's picks on known spaces, a run that records its pick and reason, and
the tabular benchmark the rule was tuned on (its lookup objective and a tiny race)."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from conftest import IRIS

from tuning.cli import main as cli
from tuning.core.config import RunConfig
from tuning.core.errors import ConfigError
from tuning.methods.recommend import recommend
from tuning.models import get_model
from tuning.runs.runner import create_run, execute
from tuning.store.run import StoredRun
from tuning.store.storage import url_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import tabular  # noqa: E402

KNN = get_model("knn").default_space("classification")  # an int and two categoricals
SVM = get_model("svm").default_space("classification")  # gamma and degree are conditional
# k alone: the categorical choices switched off (fixed at their defaults)
NUMERIC = KNN.replace_param("weights", enabled=False).replace_param("p", enabled=False)


def test_an_all_numeric_space_gets_tpe_as_the_benchmark_found_and_says_so():
    method, options, reason = recommend(NUMERIC, 30)
    assert method == "tpe" and options["n_startup_trials"] == 5
    assert "30 trials on an all-numeric space" in reason and "Gaussian process did no better" in reason


def test_categorical_parameters_get_tpe_with_5_start_up_trials_whatever_the_budget():
    method, options, reason = recommend(KNN, 30)
    assert method == "tpe" and "weights, p" in reason
    # 5 whatever the budget: a fifth of it did no better on the tabular benchmark
    assert options["n_startup_trials"] == 5 and "5 random start-up trials" in reason
    assert recommend(KNN, 10)[1]["n_startup_trials"] == 5
    assert recommend(KNN, 400)[1]["n_startup_trials"] == 5


def test_conditional_parameters_get_tpe_and_the_reason_names_them():
    method, options, reason = recommend(SVM, 30)
    assert method == "tpe" and "gamma" in reason and "degree" in reason


def test_many_trials_a_time_limit_or_parallel_workers_get_tpe_on_a_numeric_space():
    assert recommend(NUMERIC, 1000)[0] == "tpe"
    assert recommend(NUMERIC, None)[0] == "tpe"
    method, _, reason = recommend(NUMERIC, 30, workers=4)
    assert method == "tpe" and "4 workers" in reason


def test_several_objectives_get_the_genetic_algorithm():
    assert recommend(KNN, 30, n_objectives=2)[0] == "nsga2"
    assert recommend(SVM, None, n_objectives=3)[0] == "nsga2"


def test_a_model_trained_in_rounds_under_a_time_limit_gets_hyperband():
    boosting = get_model("hist_gradient_boosting")
    space = boosting.default_space("classification")
    method, options, reason = recommend(space, None, budget=boosting.budget)
    assert method == "hyperband" and options["sampler"] == "tpe" and "rounds" in reason
    assert recommend(space, None, budget="folds")[0] == "tpe"  # folds only: no early stop


def test_a_recommended_run_records_the_method_it_ran_and_why(storage, capsys):
    config = RunConfig(dataset=IRIS, model="knn", method="recommended", n_trials=3, cv_folds=2)
    name = create_run(config, storage)
    run = StoredRun.open(name, storage)
    assert run.config().method == "tpe"  # the run keeps the concrete method and its options
    assert run.config().method_options["n_startup_trials"] == 5
    chosen = run.record().recommendation
    assert chosen["method"] == "tpe" and "Bayesian (TPE)" in chosen["reason"]
    assert execute(name, storage) == "finished"
    trials = run.study.get_trials(deepcopy=False)
    assert len(trials) == 3 and all(t.state.name == "COMPLETE" for t in trials)
    assert cli(["show", name, "--storage", url_of(storage)]) == 0
    shown = capsys.readouterr().out
    assert "method: tpe" in shown
    from tuning.report import html as report  # the report says why, beside the method

    md = report.report_markdown(report.build_report(run.study, figures=False))
    assert f"Picked by Recommended: {chosen['reason']}" in md
    from ui.runs import describe  # Live monitor's caption names the pick

    caption = re.sub(r"\\(.)", r"\1", describe(run.record()))  # as read (Markdown unescaped)
    assert "Bayesian (TPE) (picked by Recommended)" in caption
    assert f"picked by Recommended: {chosen['reason']}" in shown


def test_recommended_takes_no_options():
    config = RunConfig(
        dataset=IRIS, model="knn", method="recommended", n_trials=3, method_options={"x": 1}
    )
    with pytest.raises(ConfigError, match="takes no options"):
        create_run(config, optuna.storages.InMemoryStorage())


# -- the tabular benchmark ----------------------------------------------------------------------
def test_the_cache_holds_the_cv_score_of_each_configuration():
    """A cached score is what 3-fold CV (seed 0) gives that configuration now."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from tuning.data.registry import load_dataset
    from tuning.models import build_pipeline

    table = tabular.Table(tabular.BY_NAME["knn-iris"])
    assert len(table.scores) == 50 * 2 * 2  # every n_neighbors from 1 to 50, both choices
    ds = load_dataset(IRIS)
    params = {"n_neighbors": 7, "weights": "distance", "p": 1}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    pipe = build_pipeline(get_model("knn"), params, "classification")
    score = cross_val_score(pipe, ds.X, ds.y, cv=cv, scoring="neg_log_loss").mean()
    assert table.scores[table.snap(params)] == pytest.approx(score, abs=1e-5)


def test_a_run_is_also_judged_by_its_best_configurations_score_on_other_folds():
    """The second reading: the configuration a sampler ends with (Optuna's best trial), scored
    by 3-fold CV on another split (seed 1), which the sampler never saw."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from tuning.data.registry import load_dataset
    from tuning.models import build_pipeline

    table = tabular.Table(tabular.BY_NAME["knn-iris"])
    assert table.rescored.keys() == table.scores.keys()
    params = {"n_neighbors": 7, "weights": "distance", "p": 1}
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    pipe = build_pipeline(get_model("knn"), params, "classification", seed=1)
    score = cross_val_score(pipe, load_dataset(IRIS).X, load_dataset(IRIS).y, cv=cv,
                            scoring="neg_log_loss").mean()  # fmt: skip
    assert table.rescored[table.snap(params)] == pytest.approx(score, abs=1e-5)
    assert table.rescored[table.snap(params)] != table.scores[table.snap(params)]

    seen, rescored = table.replay(optuna.samplers.RandomSampler(seed=3), 30)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(table.objective, n_trials=30)
    assert seen[-1] == study.best_value
    assert rescored[-1] == table.rescored[table.snap(study.best_trial.params)]
    # after each trial: the best so far's configuration, not the trial's own
    best_at_9 = max(study.trials[:10], key=lambda t: t.value)
    assert rescored[9] == table.rescored[table.snap(best_at_9.params)]


def test_the_lookup_snaps_to_the_nearest_grid_point_on_the_log_scale():
    table = tabular.Table(tabular.BY_NAME["ridge-diabetes"])
    grid = table.space["alpha"].grid
    a, b = grid[10], grid[11]
    above_geometric_mean = math.sqrt(a * b) * 1.0002  # nearer b in log, nearer a in plain terms
    assert above_geometric_mean < (a + b) / 2
    key = table.snap({"alpha": above_geometric_mean, "fit_intercept": True})
    assert key == (tabular._cell(b), "true")
    assert table.snap({"alpha": grid[0] / 2, "fit_intercept": False}) == (
        tabular._cell(grid[0]), "false")  # fmt: skip


def test_a_tiny_race_replays_samplers_over_one_cached_task():
    table = tabular.Table(tabular.BY_NAME["knn-iris"])
    tpe = tabular.race(table, "tpe", 10, seeds=2)
    rec = tabular.race(table, "recommended", 10, seeds=2)
    low = min(table.scores.values())
    assert tpe.shape == rec.shape == (2,)
    assert np.all((tpe <= table.best) & (tpe >= low)) and np.all(rec <= table.best)
    # every configuration tried once: an exhaustive replay finds the table's best
    grid = table.space.grid(1)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.GridSampler(
        {p.name: list(p.grid) for p in table.space.params}, seed=0))  # fmt: skip
    study.optimize(table.objective, n_trials=len(grid))
    assert study.best_value == table.best


def test_tuning_search_cv_defaults_to_recommended_and_keeps_its_pick():
    from optuna.distributions import FloatDistribution
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from tuning.runs.search_cv import TuningSearchCV

    X, y = load_iris(return_X_y=True)
    search = TuningSearchCV(
        LogisticRegression(max_iter=500), {"C": FloatDistribution(1e-2, 1e2, log=True)},
        n_trials=3, cv=2, defaults_baseline=False,
    ).fit(X, y)  # fmt: skip
    run = StoredRun(search.study_)
    assert run.config().method == "tpe" and run.recommendation["method"] == "tpe"
    assert len(search.study_.trials) == 3 and search.best_score_ > 0.8


def test_a_recommended_run_with_a_cost_objective_runs_the_genetic_algorithm(storage):
    config = RunConfig(
        dataset=IRIS, model="knn", method="recommended", n_trials=4, cv_folds=2,
        objectives=("fit_seconds",),
    )  # fmt: skip
    run = StoredRun.open(create_run(config, storage), storage)
    assert run.config().method == "nsga2" and "Several objectives" in run.recommendation["reason"]
