"""Multi-objective runs (issue 15): the CV score traded against costs, the front, the chosen
trade-off that is refit, tested and exported, and the refusals.

Real runs on iris with 3 folds and a handful of trials; the rules (front, cheapest within X %)
are also checked on hand-made trials whose answer is known."""

from __future__ import annotations

import re
import subprocess
import sys

import optuna
import pytest
from conftest import FOLDS, make_config
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from tuning import cli
from tuning.core.config import RunConfig
from tuning.core.errors import ConfigError
from tuning.core.objectives import run_objectives
from tuning.execution import choice as choosing
from tuning.methods import REGISTRY as METHODS
from tuning.methods import multi_objective_methods
from tuning.runs.experiments import tradeoff_demo_config
from tuning.runs.prepare import prepare
from tuning.runs.runner import choose, create_run, execute
from tuning.store.results import TrialFeed, run_summary
from tuning.store.runs import load_study

COST_FIELDS = ("fit_seconds", "predict_ms", "model_bytes")


def _run(storage, config: RunConfig) -> optuna.Study:
    name = create_run(config, storage)
    study = load_study(name, storage)
    assert execute(name, storage) == "finished", study.user_attrs.get("message")
    return load_study(name, storage)


def _by_hand(study: optuna.Study, within_pct: float, cost: str) -> int:
    """The rule, written out: the lowest cost among complete trials within the margin."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = max(t.values[0] for t in done)
    near = [t for t in done if t.values[0] >= best - abs(best) * within_pct / 100]
    cheapest = min(t.user_attrs["metrics"][cost] for t in near)
    tied = [t for t in near if t.user_attrs["metrics"][cost] == cheapest]
    return max(tied, key=lambda t: t.values[0]).number


# -- a real two-objective run, end to end --------------------------------------------------------
@pytest.fixture
def tradeoff_run(storage) -> optuna.Study:
    config = make_config("random_forest", method="tpe", n_trials=6, objectives=("fit_seconds",),
                         method_options={"n_startup_trials": 2})  # fmt: skip
    return _run(storage, config)


def test_a_two_objective_run_records_score_then_cost_and_refits_its_choice(storage, tradeoff_run):
    study = tradeoff_run
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert len(done) == 6
    for t in done:
        m = t.user_attrs["metrics"]
        # values = [CV score, fit seconds], the same numbers as the trial's own record
        assert t.values == [pytest.approx(m["cv_mean"]), pytest.approx(m["fit_seconds"])]
        assert len(m["fold_scores"]) == FOLDS
        assert all(m[c] > 0 for c in COST_FIELDS)

    # The finished run chose the cheapest trial within 1 % of the best score, and refit it.
    chosen = study.user_attrs["choice"]
    assert chosen["trial"] == _by_hand(study, 1.0, "fit_seconds")
    assert chosen["rule"] == "cheapest in fit time per trial within 1 % of the best CV accuracy"
    assert f"Trial {chosen['trial']} scores CV accuracy" in chosen["reason"]
    test = study.user_attrs["test"]
    assert test["trial"] == chosen["trial"]
    config = RunConfig.from_dict(study.user_attrs["config"])
    assert test["params"] == config.space.complete(study.trials[chosen["trial"]].params)
    assert 0 <= test["score"] <= 1
    assert chosen["trial"] in choosing.front_numbers(study)

    # The readers that assumed one value per trial read objective 0 as the score.
    frame = TrialFeed(study).refresh()
    assert list(frame["value"]) == [pytest.approx(t.values[0]) for t in done]
    assert frame["predict_ms"].gt(0).all() and frame["model_bytes"].gt(0).all()
    summary = run_summary(storage, study.study_name)
    assert summary.best_value == max(t.values[0] for t in done)
    assert [o.column for o in run_objectives(config)] == ["value", "fit_seconds"]


def test_choose_by_trial_or_by_margin_refits_that_trial(storage, tradeoff_run):
    name = tradeoff_run.study_name
    done = tradeoff_run.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    pick = done[2].number
    assert choose(name, storage, trial=pick) == pick
    study = load_study(name, storage)
    assert study.user_attrs["choice"]["rule"] == "picked by hand"
    assert study.user_attrs["test"]["trial"] == pick

    # 100 % of the best accepts every trial: the cheapest in model size wins.
    n = choose(name, storage, within_pct=100.0, cost="model_bytes")
    assert n == _by_hand(study, 100.0, "model_bytes")
    study = load_study(name, storage)
    assert study.user_attrs["choice"]["cost"] == "model_bytes"
    assert study.user_attrs["test"]["trial"] == n

    with pytest.raises(ConfigError, match="not both"):
        choose(name, storage, trial=1, within_pct=1.0)
    with pytest.raises(ConfigError, match="not a complete trial"):
        choose(name, storage, trial=99)


def test_the_reproduce_script_rebuilds_the_chosen_trade_off(tradeoff_run, tmp_path):
    from tuning.analysis import load_run
    from tuning.report import export

    run = load_run(tradeoff_run)
    source = export.reproduce_script(run)
    assert "chosen trade-off" in source
    path = tmp_path / "reproduce.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=240, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    score = float(re.search(r"^test \S+ = (\S+)$", done.stdout, re.M).group(1))
    assert score == pytest.approx(tradeoff_run.user_attrs["test"]["score"])


@pytest.mark.parametrize("method", ["nsga2", "nsga3", "random"])
def test_multi_objective_methods_search_two_objectives(storage, method):
    options = {"population_size": 2} if method.startswith("nsga") else {}
    study = _run(storage, make_config("logistic_regression", method=method, n_trials=4,
                                      objectives=("model_bytes",), method_options=options))  # fmt: skip
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert len(done) == 4 and all(len(t.values) == 2 for t in done)
    assert study.user_attrs["test"]["trial"] == study.user_attrs["choice"]["trial"]


def test_an_mlp_run_can_trade_its_parameter_count(storage):
    study = _run(storage, make_config("mlp", n_trials=2, objectives=("n_params",)))
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        width = t.params["width"]  # one hidden layer: 4 inputs -> width -> 3 classes
        assert (
            t.values[1] == t.user_attrs["metrics"]["n_params"] == 4 * width + width + width * 3 + 3
        )


# -- single-objective runs are unchanged --------------------------------------------------------
def test_an_old_single_objective_config_loads_and_runs_as_before(storage):
    old = make_config("knn", n_trials=3).to_dict()
    del old["objectives"]  # saved before objectives existed
    config = RunConfig.from_dict(old)
    assert config.objectives == () and not config.multi_objective
    study = _run(storage, config)
    assert len(study.directions) == 1
    assert "choice" not in study.user_attrs
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        assert isinstance(t.value, float)
        assert sorted(t.intermediate_values) == list(range(1, FOLDS + 1))  # pruners still see folds
        assert all(t.user_attrs["metrics"][c] > 0 for c in COST_FIELDS)  # costs measured anyway
    assert study.user_attrs["test"]["trial"] == study.best_trial.number


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["hyperband", "successive_halving", "median"])
def test_multi_fidelity_methods_are_refused_with_the_reason(method):
    with pytest.raises(ConfigError) as err:
        prepare(make_config("random_forest", method=method, objectives=("fit_seconds",)))
    text = str(err.value)
    assert "pruners do not apply to multi-objective runs" in text
    assert "nsga2" in text and "tpe" in text and method not in text.split("choose one of:")[1]


@pytest.mark.parametrize(("model", "method"), [("mlp", "pbt"), ("random_forest", "cmaes")])
def test_single_objective_methods_are_refused_naming_the_ones_that_can(model, method):
    with pytest.raises(ConfigError, match="choose one of: .*nsga2, nsga3"):
        prepare(make_config(model, method=method, objectives=("fit_seconds",)))


def test_bad_objectives_are_refused():
    with pytest.raises(ConfigError, match="applies only to mlp, not to random_forest"):
        prepare(make_config("random_forest", objectives=("n_params",)))
    with pytest.raises(ConfigError, match="Unknown objective 'latency'.*fit_seconds, predict_ms"):
        prepare(make_config("random_forest", objectives=("latency",)))
    with pytest.raises(ConfigError, match="listed twice"):
        prepare(make_config("random_forest", objectives=("cv_std", "cv_std:minimize")))


def test_the_registry_says_which_methods_search_several_objectives():
    assert multi_objective_methods() == [
        "recommended", "grid", "random", "sobol", "tpe", "gp", "nsga2", "nsga3",
    ]  # fmt: skip
    assert METHODS["nsga3"].defaults == {"population_size": 10}
    assert not any(METHODS[m].multi_objective for m in ("hyperband", "pbt", "cmaes"))


# -- the rules on hand-made trials -------------------------------------------------------------
def _study(points: list[tuple[float, float]]) -> optuna.Study:
    """Complete trials with (accuracy, fit_seconds) as values and as records."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    for score, seconds in points:
        study.add_trial(create_trial(
            values=[score, seconds], params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
            user_attrs={"metrics": {"cv_mean": score, "fit_seconds": seconds}},
        ))  # fmt: skip
    return study


def test_the_front_keeps_exactly_the_non_dominated_trials():
    # 0 and 3 are tied (both kept); 1 is beaten by 2 on both; 4 is beaten by 0 on time.
    study = _study([(0.90, 1.0), (0.80, 3.0), (0.85, 0.5), (0.90, 1.0), (0.90, 2.0), (0.95, 4.0)])
    assert choosing.front_numbers(study) == [0, 2, 3, 5]


def test_cheapest_within_a_margin_of_the_best_score():
    study = _study([(0.95, 4.0), (0.945, 2.0), (0.946, 2.0), (0.90, 0.1)])
    objectives = run_objectives(make_config("random_forest", objectives=("fit_seconds",)),
                                "accuracy")  # fmt: skip
    # within 1 % of 0.95 (>= 0.9405): 1 and 2 cost the same; 2 scores better
    c = choosing.rule_choice(study, objectives, 1.0, "fit_seconds")
    assert c.trial == 2 and "lowest of the 3 trials" in c.reason
    assert choosing.rule_choice(study, objectives, 0.0, "fit_seconds").trial == 0
    assert choosing.rule_choice(study, objectives, 10.0, "fit_seconds").trial == 3


# -- command line --------------------------------------------------------------------------------
def test_cli_objectives_choose_and_show(journal_path, capsys):
    url = f"journal:///{journal_path}"
    code = cli.main([
        "run", "--dataset", "iris", "--model", "logistic_regression", "--method", "tpe",
        "--trials", "4", "--folds", "3", "--n-jobs", "1", "--name", "mo", "--quiet",
        "--objective", "accuracy", "--objective", "fit_seconds", "--storage", url,
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Objectives: CV accuracy (maximize), Fit time per trial (s) (minimize)" in out
    assert re.search(r"Front:\s+\d+ trials? that no other", out)
    assert re.search(r"Chosen:\s+trial \d+, cheapest in fit time per trial within 1 %", out)

    assert cli.main(["choose", "mo", "--trial", "1", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "Chosen:     trial 1, picked by hand" in out
    assert re.search(r"Test:\s+accuracy = \d\.\d{4}", out)

    assert cli.main(["show", "mo", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "Chosen hyperparameters:" in out and "Chosen:     trial 1" in out


@pytest.mark.parametrize(
    ("objective", "message"),
    [("latency", "Unknown objective 'latency'"), ("fit_seconds:lower", "must be 'minimize'")],
)
def test_cli_refuses_a_bad_objective_at_once(journal_path, capsys, objective, message):
    code = cli.main([
        "run", "--dataset", "iris", "--model", "knn", "--objective", objective,
        "--storage", f"journal:///{journal_path}",
    ])  # fmt: skip
    assert code == 2 and message in capsys.readouterr().err


def test_the_home_demo_is_a_valid_two_objective_forest_run():
    config = tradeoff_demo_config()
    prep = prepare(config)
    assert (
        prep.config.model == "random_forest" and prep.config.dataset.name == "seed-classification"
    )
    assert prep.directions == ["maximize", "minimize"]
    assert [o.name for o in prep.objectives] == ["accuracy", "fit_seconds"]
    assert prep.config.method == "tpe" and prep.config.n_trials == 40


def test_a_resumed_run_reapplies_its_rule_and_keeps_a_hand_picked_trade_off(storage):
    name = create_run(make_config("knn", n_trials=6, objectives=("predict_ms",)), storage)
    assert execute(name, storage, max_trials=2) == "stopped"  # this worker's share, budget left
    choose(name, storage, within_pct=5.0)
    assert execute(name, storage, max_trials=2) == "stopped"
    study = load_study(name, storage)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 4
    assert study.user_attrs["choice"]["within_pct"] == 5.0  # the same rule, on all 4 trials
    assert study.user_attrs["choice"]["trial"] == _by_hand(study, 5.0, "predict_ms")

    choose(name, storage, trial=1)
    assert execute(name, storage) == "finished"
    study = load_study(name, storage)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 6
    assert study.user_attrs["choice"]["trial"] == study.user_attrs["test"]["trial"] == 1
