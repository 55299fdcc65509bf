"""Hyperopt beside Optuna: its algorithms propose the trials of ordinary studio runs (the same
points as its own `fmin`), its spaces convert to the studio's and back, and the combinations
it cannot serve are refused when the run is created."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import replace

import numpy as np
import optuna
import pytest
from conftest import make_config
from hyperopt import Trials, anneal, fmin, hp, rand, tpe
from hyperopt.pyll import scope
from optuna.trial import TrialState
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier

from tuning import TuningSearchCV
from tuning.cli import main
from tuning.core.errors import ConfigError, SpaceError
from tuning.core.hyperopt_space import (
    describe_space,
    from_description,
    from_hyperopt,
    hyperopt_code,
    to_hyperopt,
    value_from_hyperopt,
)
from tuning.core.space import SearchSpace, cat_param, float_param, int_param
from tuning.methods import get_method
from tuning.methods.hyperopt import HyperoptSampler
from tuning.models import REGISTRY as MODELS
from tuning.runs.runner import create_run, execute
from tuning.store.records import RunRecord
from tuning.store.runs import load_study

optuna.logging.set_verbosity(optuna.logging.ERROR)
logging.getLogger("hyperopt").setLevel(logging.WARNING)

SVM = MODELS["svm"].default_space("classification")  # gamma only for some kernels, degree for poly
MIXED = SearchSpace((
    float_param("x", -5.0, 5.0), float_param("lr", 1e-4, 1.0, log=True),
    float_param("frac", 0.1, 0.9, step=0.1), int_param("n", 1, 20),
    int_param("width", 8, 256, log=True), int_param("even", 2, 20, step=2),
    cat_param("k", ["a", "b", "c"]),
)).validate()  # fmt: skip


def _flat(d: dict, out: dict | None = None) -> dict:
    """What an fmin objective gets, flattened as the studio flattens nested choices."""
    out = {} if out is None else out
    for k, v in d.items():
        _flat(v, out) if isinstance(v, dict) else out.__setitem__(k, v)
    return out


def _loss(p: dict) -> float:
    """A cheap objective with a known best: x=1, lr=0.01, n=7, kernel/k 'rbf'/'b', gamma=0.1."""
    loss = (p.get("x", 1.0) - 1) ** 2 + abs(np.log10(p.get("lr", 0.01)) + 2) + abs(p.get("n", 7) - 7) / 5
    loss += 0.0 if p.get("k", "b") == "b" and p.get("kernel", "rbf") == "rbf" else 1.0
    if "C" in p:
        loss += abs(np.log10(p["C"]) - 1) + abs(np.log10(p.get("gamma", 1e-4)) + 1)
    return float(loss)


# --------------------------------------------------------------------------- the adapter vs fmin
@pytest.mark.parametrize(
    ("algo", "suggest"),
    [("tpe", functools.partial(tpe.suggest, n_startup_jobs=5)), ("anneal", anneal.suggest),
     ("rand", rand.suggest)],
)  # fmt: skip
@pytest.mark.parametrize("space", [MIXED, SVM], ids=["mixed", "svm-nested"])
def test_the_adapter_proposes_fmins_points_on_the_same_seed(algo, suggest, space):
    n = 25  # 20 of them from TPE's model, after its 5 random start-up points
    trials = Trials()
    fmin(
        lambda d: _loss(_flat(d)), to_hyperopt(space), algo=suggest, max_evals=n, trials=trials,
        rstate=np.random.default_rng(7), show_progressbar=False,
    )  # fmt: skip
    sampler = HyperoptSampler(algo, space, seed=7, options={"n_startup_trials": 5})
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: _loss(space.suggest(t)), n_trials=n)
    theirs = [
        {k: value_from_hyperopt(space[k], v[0]) for k, v in t["misc"]["vals"].items() if v}
        for t in trials.trials
    ]
    ours = [t.params for t in study.get_trials(deepcopy=False)]
    assert ours == theirs
    assert [t.value for t in study.get_trials(deepcopy=False)] == trials.losses()
    assert len({json.dumps(p, sort_keys=True) for p in ours}) > n // 2  # it did search


def test_a_maximized_study_is_told_to_hyperopt_as_a_loss_to_minimize():
    space = SearchSpace((float_param("x", -5.0, 5.0),)).validate()
    trials = Trials()
    fmin(lambda d: (d["x"] - 1) ** 2, to_hyperopt(space), algo=functools.partial(
        tpe.suggest, n_startup_jobs=3), max_evals=12, trials=trials,
         rstate=np.random.default_rng(1), show_progressbar=False)  # fmt: skip
    study = optuna.create_study(
        direction="maximize",
        sampler=HyperoptSampler("tpe", space, seed=1, options={"n_startup_trials": 3}),
    )
    study.optimize(lambda t: -((t.suggest_float("x", -5.0, 5.0) - 1) ** 2), n_trials=12)
    assert [t.params["x"] for t in study.trials] == [t["misc"]["vals"]["x"][0] for t in trials.trials]


# --------------------------------------------------------------------------- spaces both ways
def _plain(space: SearchSpace) -> dict:
    return {p.name: replace(p, help="") for p in space.params}


@pytest.mark.parametrize("space", [SVM, MIXED, MODELS["knn"].default_space("classification")],
                         ids=["svm", "mixed", "knn"])  # fmt: skip
def test_exported_hyperopt_code_builds_the_same_space(space):
    code = hyperopt_code(space)
    assert "hp.choice('kernel'" in code or "kernel" not in space
    namespace: dict = {}
    exec(compile(code, "<exported space>", "exec"), namespace)  # the downloaded file, run
    assert _plain(from_hyperopt(namespace["space"])) == _plain(space)
    assert _plain(from_description(json.loads(json.dumps(describe_space(space))))) == _plain(space)


def test_a_nested_hyperopt_space_becomes_conditional_parameters():
    gamma = hp.loguniform("svm_gamma", np.log(1e-3), np.log(10.0))
    space = from_hyperopt({
        "lr": hp.loguniform("learning rate", np.log(1e-4), np.log(1e-1)),
        "seed": hp.randint("seed", 5),
        "model": hp.choice("model", [
            {"kernel": "linear"},
            {"kernel": "rbf", "gamma": gamma},
            {"kernel": "poly", "gamma": gamma,
             "degree": scope.int(hp.quniform("degree", 2, 5, 1)),
             "coef": hp.choice("coef", [{"coef_kind": "zero"},
                                        {"coef_kind": "free", "coef0": hp.uniform("c0", 0, 1)}])},
        ]),
    })  # fmt: skip
    # Hyperopt keeps a dict's keys sorted; each parameter still comes after its parent
    assert space.names[:3] == ["lr", "seed", "kernel"]
    assert sorted(space.names[3:]) == ["coef0", "coef_kind", "degree", "gamma"]
    assert space["lr"] == float_param("lr", 1e-4, 0.1, log=True)
    assert space["seed"] == int_param("seed", 0, 4)
    assert space["kernel"].choices == ("linear", "rbf", "poly")
    assert space["gamma"].condition == ("kernel", ("rbf", "poly"))  # one node, two options
    assert space["degree"] == int_param("degree", 2, 5, condition=("kernel", ("poly",)))
    assert space["coef_kind"].condition == ("kernel", ("poly",))
    assert space["coef0"].condition == ("coef_kind", ("free",))
    assert space.complete({"kernel": "linear", "lr": 0.01, "seed": 1}) == {
        "lr": 0.01, "seed": 1, "kernel": "linear"}  # fmt: skip


@pytest.mark.parametrize(
    ("space", "needle"),
    [
        ({"x": hp.normal("x", 0, 1)}, "hp.normal, which has no bounds"),
        ({"x": hp.pchoice("x", [(0.3, "a"), (0.7, "b")])}, "hp.pchoice"),
        ({"x": hp.uniform("x", 0, 1) * 2}, "Parameter 'x'"),
        ({"x": hp.qloguniform("x", 0, 3, 0.5)}, "hp.qloguniform with q=0.5"),
        ({"m": hp.choice("m", [{"a": hp.uniform("a", 0, 1)}, {"b": hp.uniform("b", 0, 1)}])},
         "no key has a different constant value in each option"),
        ({"m": hp.choice("m", [{"k": "p", "C": hp.uniform("C1", 0, 1)},
                               {"k": "q", "C": hp.uniform("C2", 0, 5)}])},
         "two different parameters 'C'"),
        ({"m": hp.choice("m", ["a", {"k": "b"}])}, "mixes plain values and dicts"),
        ({"h": hp.choice("h", [(50,), (100,)])}, "is not a number, string, bool, None or dict"),
    ],
)  # fmt: skip
def test_a_construct_the_studio_cannot_hold_is_refused_by_name(space, needle):
    with pytest.raises(SpaceError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        from_hyperopt(space)


def test_a_space_file_may_only_call_hyperopts_space_functions():
    with pytest.raises(SpaceError, match="not one of the Hyperopt calls"):
        from_description({"x": {"hp.__import__": ["os"]}})


# --------------------------------------------------------------------------- studio runs
@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["hyperopt_tpe", "hyperopt_anneal", "hyperopt_random"])
def test_each_hyperopt_method_runs_stops_and_resumes_as_a_studio_run(method, storage):
    options = {"n_startup_trials": 2} if method == "hyperopt_tpe" else {}
    config = make_config("knn", method, n_trials=5, cv_folds=2, method_options=options)
    name = create_run(config, storage)
    assert execute(name, storage, max_trials=2) == "stopped"
    assert execute(name, storage) == "finished"  # the resume reads the first two as history
    trials = load_study(name, storage).get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5
    assert all(config.space[k].contains(v) for t in trials for k, v in t.params.items())
    record = RunRecord.from_study(load_study(name, storage))
    assert record.config.method == method and record.status == "finished"


def test_hyperopt_methods_are_refused_where_they_cannot_work(storage):
    with pytest.raises(ConfigError, match="minimize one loss.*Bayesian \\(TPE\\) is the nearest.*choose one of"):
        create_run(make_config("knn", "hyperopt_tpe", objectives=("fit_seconds",)), storage)
    with pytest.raises(ConfigError, match="stops trials early with an Optuna pruner.*'tpe'"):
        get_method("hyperband").validate_options({"sampler": "hyperopt_tpe"})
    with pytest.raises(ConfigError, match="trains and perturbs its own population"):
        get_method("pbt").validate_options({"sampler": "hyperopt_anneal"})


def test_the_command_line_runs_hyperopt_tpe_on_a_hyperopt_space_file(tmp_path, capsys):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"hyperopt": {
        "n_neighbors": {"scope.int": [{"hp.quniform": ["k", 1, 15, 1]}]},
        "weights": {"hp.choice": ["weights", ["uniform", "distance"]]},
    }}))  # fmt: skip
    url = f"journal:///{tmp_path / 'cli.journal'}"
    code = main(["run", "--dataset", "iris", "--model", "knn", "--method", "hyperopt_tpe",
                 "--trials", "3", "--folds", "2", "--space", str(path), "--name", "cli-hyp",
                 "--storage", url, "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    record = RunRecord.from_study(load_study("cli-hyp", url))
    assert record.config.method == "hyperopt_tpe"
    assert record.config.space["n_neighbors"] == int_param("n_neighbors", 1, 15)


def test_tuning_search_cv_takes_a_hyperopt_space():
    X, y = load_iris(return_X_y=True)
    search = TuningSearchCV(
        KNeighborsClassifier(),
        {"n_neighbors": scope.int(hp.quniform("k", 1, 15, 1)),
         "weights": hp.choice("weights", ["uniform", "distance"])},
        method="hyperopt_tpe", n_trials=4, cv=2, storage="memory", random_state=0,
    )  # fmt: skip
    search.fit(X, y)
    assert set(search.best_params_) == {"n_neighbors", "weights"}
    assert 1 <= search.best_params_["n_neighbors"] <= 15
    assert len(search.cv_results_["params"]) == 4


def test_the_engines_preset_races_the_two_tpes_and_two_random_searches_on_equal_terms():
    from tuning.runs import experiments as ex
    from tuning.runs.prepare import prepare

    exp = ex.engines_preset(seeds=(0, 1))
    assert exp.methods == ("tpe", "hyperopt_tpe", "random", "hyperopt_random")
    members = [exp.member(m, s) for s in exp.seeds for m in exp.methods]
    shared = {(c.dataset, c.model, c.n_trials, c.cv_folds, c.scoring) for c in members}
    assert len(shared) == 1  # the same budget, data, folds and scoring for every member
    assert {(c.method, c.seed) for c in members} == {(m, s) for m in exp.methods for s in (0, 1)}
    for method in exp.methods:
        prepare(exp.member(method, 0))  # each member would be created as it is
    note = ex.race_note(exp)
    assert "after 5 random trials" in note and "after 20" in note and "control" in note
    assert ex.race_note(ex.classic_preset()) is None


def test_space_hyperopt_prints_a_file_that_run_reads_back_as_the_models_space(tmp_path, capsys):
    from tuning.cli.options import read_space

    assert main(["space", "svm", "--hyperopt"]) == 0
    path = tmp_path / "svm.json"
    path.write_text(capsys.readouterr().out)
    assert "hp.choice" in path.read_text()
    assert _plain(read_space(path)) == _plain(SVM)
    path.write_text(json.dumps({"hyperopt": {"x": {"hp.normal": ["x", 0, 1]}}}))
    with pytest.raises(SpaceError, match="hp.normal is not one of the Hyperopt calls"):
        read_space(path)


@pytest.mark.timeout(240)
def test_two_worker_processes_share_one_hyperopt_run(tmp_path):
    """Each worker rebuilds Hyperopt's history from the storage, so both learn from all trials."""
    from collections import Counter

    from tuning.runs.workers import WorkerPool
    from tuning.store.storage import open_storage

    url = f"journal:///{tmp_path}/runs.journal"
    store = open_storage(url)
    config = make_config("knn", "hyperopt_tpe", n_trials=8, cv_folds=2, workers=2,
                         method_options={"n_startup_trials": 3})  # fmt: skip
    name = create_run(config, store)
    pool = WorkerPool(name, url, 2).start()
    assert pool.join(200) == "finished", [p.stdout for p in pool.procs]
    trials = load_study(name, store).get_trials(deepcopy=False)
    assert sorted(t.number for t in trials) == list(range(8))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len(Counter(t.user_attrs["metrics"]["worker"] for t in trials)) == 2


def test_a_hyperopt_run_on_a_nested_space_reports_like_any_run(storage):
    """SVM: Hyperopt's nested choice decides which of gamma and degree a trial has."""
    from tuning.report import html as report

    config = make_config("svm", "hyperopt_anneal", n_trials=6, cv_folds=2)
    name = create_run(config, storage)
    assert execute(name, storage) == "finished"
    study = load_study(name, storage)
    for t in study.get_trials(deepcopy=False):
        kernel = t.params["kernel"]
        assert ("gamma" in t.params) == (kernel in config.space["gamma"].condition[1])
        assert ("degree" in t.params) == (kernel == "poly")
    page = report.report_html(report.build_report(study))
    assert "Hyperopt annealing" in page
