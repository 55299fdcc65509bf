"""Multi-objective analysis on runs whose answer is known: which parameters trade the score for
the cost, importance per objective, trade-off advice, and the hypervolume race of Compare."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from mo_support import points_experiment, tradeoff_config, tradeoff_experiment, tradeoff_study
from optuna.storages import InMemoryStorage

from tuning.analysis import load_run, pareto, race, recommend
from tuning.analysis import statistics as st
from tuning.analysis.param_importance import ImportanceCache, importance
from tuning.core.errors import ConfigError
from tuning.runs import experiments as ex

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def run():
    """n_estimators raises accuracy and fit time, max_depth only accuracy, min_samples_leaf
    nothing; two pruned trials whose partial numbers beat everything."""
    return load_run(tradeoff_study(InMemoryStorage(), n=40, pruned=2))


def test_the_parameter_that_buys_score_with_time_is_named(run):
    trades = st.tradeoffs(run)
    by_param = {t.param: t for t in trades}
    assert by_param["n_estimators"].kind == "trade" and by_param["n_estimators"].higher
    assert by_param["n_estimators"].sentence.startswith(
        "n_estimators buys CV accuracy with fit time per trial: higher values give a better score"
    )
    assert by_param["max_depth"].kind == "score_only"  # free accuracy: no cost in time
    assert "min_samples_leaf" not in by_param  # moves neither
    assert trades[0].param == "n_estimators"  # the trade comes first

    effects = st.tradeoff_effects(run).set_index(["param", "objective"])
    assert effects.loc[("n_estimators", "fit_seconds"), "rho"] > 0.95
    assert effects.loc[("n_estimators", "fit_seconds"), "gain"] < 0  # more time is worse
    assert effects.loc[("max_depth", "accuracy"), "gain"] > 0.5
    assert (effects["n"] == 40).all()  # the pruned trials are not counted


def test_importance_is_judged_on_each_objective(run):
    score, cost = run.record.objectives
    on_cost = importance(run, objective=cost)
    assert on_cost.table["param"].iloc[0] == "n_estimators"
    assert on_cost.share("n_estimators") > 0.9
    on_score = importance(run, objective=score)
    assert on_score.table["param"].iloc[-1] == "min_samples_leaf"
    assert on_score.n_trials == 40
    # a multi-objective run's default is its score, and the cache keeps each objective apart
    assert importance(run).table.equals(on_score.table)
    cache = ImportanceCache()
    assert cache.get(run, objective=cost).table.equals(on_cost.table)
    assert cache.get(run).table.equals(on_score.table)


def test_recommendations_speak_about_the_trade_off(run):
    recs = recommend(run)
    trade = [r for r in recs if r.kind == "tradeoff"]
    assert any(r.param == "n_estimators" and "buys CV accuracy" in r.message for r in trade)
    pick = next(r for r in trade if "trial" in r.evidence)
    objectives = run.record.objectives
    assert pick.evidence["trial"] == pareto.tradeoff(run.frame, objectives, 1.0, "fit_seconds")
    frame = run.frame.set_index("number")
    best = int(run.best["number"])
    chosen = frame.loc[pick.evidence["trial"]]
    assert chosen["fit_seconds"] < frame.loc[best, "fit_seconds"]
    assert chosen["value"] >= 0.99 * frame.loc[best, "value"]
    assert f"trial {best}" in pick.message
    # a parameter that moves the cost is not fixed or narrowed on the score alone
    assert not [r for r in recs if r.kind in ("fix", "narrow") and r.param == "n_estimators"]


def test_single_objective_runs_get_no_trade_off_advice():
    storage = InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="one", direction="maximize")
    study.set_user_attr("scoring", "accuracy")
    rng = np.random.default_rng(0)
    for _ in range(12):
        x = float(rng.uniform())
        study.add_trial(optuna.trial.create_trial(
            value=x, params={"x": x}, distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
            user_attrs={"metrics": {"cv_mean": x, "fit_seconds": x}},
        ))  # fmt: skip
    run = load_run(study)
    assert st.tradeoffs(run) == []
    assert not [r for r in recommend(run) if r.kind == "tradeoff"]


def test_hypervolume_race_uses_one_reference_point_for_all_members():
    storage = InMemoryStorage()
    # (accuracy, fit seconds): A's front is two points, B's one point that beats both areas;
    # A's third trial is pruned and must not count
    name = points_experiment(
        storage, {"random": [(0.8, 1.0), (0.9, 2.0), None], "tpe": [(0.85, 1.0)]}
    )
    info = ex.get_experiment(name, storage)
    traj, ref = race.hypervolume_trajectories(info, storage)
    # worst accuracy 0.8 and time 2.0, pushed a tenth of their ranges (0.1, 1.0) further
    assert ref == pytest.approx([0.79, 2.1])
    a = traj[traj["method"] == "random"]
    assert a["hypervolume"].tolist() == pytest.approx([0.011, 0.021, 0.021])
    assert a["front_size"].tolist() == [1, 2, 2] and a["trials"].tolist() == [1, 2, 3]
    table = race.hypervolume_table(info, traj).set_index("method")
    assert table.loc["tpe", "hypervolume"] == pytest.approx(0.066)
    assert table.loc["random", "hypervolume"] == pytest.approx(0.021)
    assert table.loc["random", "front_size"] == 2 and table.loc["random", "pruned"] == 1
    # the same reference whoever asks: a member's own would be another
    assert race.shared_reference(info, storage) == pytest.approx(ref)


def test_hypervolume_bands_over_seeds():
    storage = InMemoryStorage()
    info = ex.get_experiment(tradeoff_experiment(storage, seeds=(0, 1, 2), n=15), storage)
    traj, _ = race.hypervolume_trajectories(info, storage)
    band = ex.band(traj, "trials", y="hypervolume")
    last = band.groupby("method").tail(1).set_index("method")
    for method in ("random", "tpe"):
        finals = traj[traj["method"] == method].groupby("seed")["hypervolume"].last()
        assert last.loc[method, "median"] == pytest.approx(finals.median())
        assert last.loc[method, "low"] == pytest.approx(finals.min())
        assert last.loc[method, "high"] == pytest.approx(finals.max())
        assert last.loc[method, "seeds"] == 3
    # a front only grows: its hypervolume never falls
    for _, g in traj.groupby("run"):
        assert (np.diff(g["hypervolume"].to_numpy()) >= -1e-12).all()
    # the single-objective view of the same members still reads their score (objective 0)
    best = ex.trajectories(info, storage).groupby("run")["best_so_far"].last()
    assert ((best > 0.7) & (best < 0.95)).all()
    time_band = ex.band(traj, "elapsed_s", y="hypervolume")
    assert not time_band.empty and time_band["median"].max() <= last["high"].max() + 1e-12


def test_a_multi_objective_comparison_takes_only_methods_that_search_several_objectives():
    able = ex.multi_objective_methods()
    assert {"random", "tpe", "nsga2"} <= set(able)
    assert not {"hyperband", "successive_halving", "median", "pbt", "cmaes"} & set(able)
    exp = ex.ExperimentConfig(base=tradeoff_config(), methods=("tpe", "hyperband"))
    with pytest.raises(ConfigError, match="Hyperband cannot search several objectives"):
        exp.validate()
    ex.ExperimentConfig(base=tradeoff_config(), methods=("tpe", "random")).validate()
    # single-objective experiments keep every method
    from dataclasses import replace

    ex.ExperimentConfig(base=replace(tradeoff_config(), objectives=()),
                        methods=("tpe", "hyperband")).validate()  # fmt: skip
