"""LightGBM, XGBoost and CatBoost: pruning by boosting round on the CV mean, native categorical
columns from a CSV, early stopping, the device option, and the exported model and script.

Tiny data and few rounds: each run is a few trials of at most 20 rounds on 3 folds."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import narrow_space
from optuna.trial import TrialState

from tuning import analysis as an
from tuning.core.config import DatasetRef, RunConfig
from tuning.core.errors import ConfigError
from tuning.core.scoring import Scoring
from tuning.data import datasets
from tuning.evaluation.objective import Evaluation, budget_for, make_folds, round_chunk
from tuning.models import REGISTRY, build_pipeline, categorical_columns, get_model
from tuning.report import export
from tuning.runs.prepare import prepare
from tuning.runs.runner import create_run, execute
from tuning.store.runs import load_study

LIBRARIES = ("lightgbm", "xgboost", "catboost")


@pytest.fixture(scope="module")
def colour_csv(tmp_path_factory) -> Path:
    """A CSV whose target depends mostly on a text column (with missing cells) and a bool."""
    rng = np.random.default_rng(0)
    n = 240
    colour = rng.choice(["red", "green", "blue", "amber"], size=n).astype(object)
    colour[rng.random(n) < 0.05] = None
    flag = rng.random(n) < 0.5
    x = rng.normal(size=n)
    hot = np.isin(colour, ["red", "amber"])
    df = pd.DataFrame({"colour": colour, "flag": flag, "x": x,
                       "label": np.where(hot ^ (x > 1.5), "yes", "no")})  # fmt: skip
    path = tmp_path_factory.mktemp("csv") / "colours.csv"
    df.to_csv(path, index=False)
    return path


def _space(lib: str, task: str = "classification", **changes):
    space = narrow_space(lib, task)
    for name, change in changes.items():
        space = space.replace_param(name, **change)
    return space


def _evaluation(lib: str, ref: DatasetRef, space, **kw) -> Evaluation:
    ds = datasets.load_dataset(ref)
    spec = get_model(lib)
    return Evaluation(
        model=spec, space=space, task=ds.task, X=ds.X, y=ds.y,
        folds=make_folds(ds.y, ds.task, 3, 0), scoring=Scoring.validated("accuracy", ds.task),
        budget=budget_for(spec, space, 3), seed=0, n_jobs=1, **kw,
    )  # fmt: skip


def test_the_three_libraries_are_registry_models_with_rounds_as_their_budget():
    for lib in LIBRARIES:
        spec = REGISTRY[lib]
        assert set(spec.tasks) == {"classification", "regression"}
        assert spec.budget == "rounds" and spec.budget_param == "n_estimators"
        space = spec.default_space("classification")
        assert space["learning_rate"].log and space["learning_rate"].enabled
        assert space["n_estimators"].enabled and space["subsample"].enabled
        # a GPU is asked for, never searched; early stopping is off unless switched on
        assert not space["device"].enabled and space["device"].fixed_value() == "cpu"
        assert space["early_stopping_rounds"].fixed_value() == 0


@pytest.mark.parametrize("lib", LIBRARIES)
def test_pruning_stops_training_at_the_first_chunk_of_rounds(lib):
    """A pruned trial trains only the rounds it reported (counted in the library's own
    continuation), on every fold; it is judged on the CV mean at that round."""
    space = _space(lib, n_estimators={"low": 20, "high": 20})
    ev = _evaluation(lib, DatasetRef("iris"), space)
    trained: list[int] = []
    grow = ev.model.grow

    def counting(est, X, y, more):
        trained.append(more)
        return grow(est, X, y, more)

    ev = replace(ev, model=replace(ev.model, grow=counting))
    chunk = round_chunk(20)
    # Accuracy never exceeds 2, so the threshold pruner stops the trial at its first report.
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=2.0))  # fmt: skip
    study.optimize(ev, n_trials=1)
    pruned = study.trials[0]
    assert pruned.state == TrialState.PRUNED
    assert sorted(pruned.intermediate_values) == [chunk]
    assert trained == [chunk] * 3  # one chunk per fold, nothing more
    m = pruned.user_attrs["metrics"]
    assert m["pruned_step"] == chunk and len(m["fold_scores"]) == 3
    assert pruned.intermediate_values[chunk] == pytest.approx(np.mean(m["fold_scores"]))

    trained.clear()
    study = optuna.create_study(direction="maximize")
    study.optimize(ev, n_trials=1)
    done = study.trials[0]
    assert done.state == TrialState.COMPLETE
    assert sorted(done.intermediate_values) == list(range(chunk, 21, chunk))
    assert sum(trained) == 3 * 20  # each fold grew to all its rounds, chunk by chunk


def test_median_stopping_prunes_boosting_trials_by_round(storage):
    config = RunConfig(dataset=DatasetRef("iris"), model="lightgbm", method="median",
                       space=_space("lightgbm", n_estimators={"low": 20, "high": 20}),
                       method_options={"n_startup_trials": 1, "n_warmup_steps": 0},
                       n_trials=8, cv_folds=3, n_jobs=1, seed=1)  # fmt: skip
    name = create_run(config, storage)
    assert execute(name, storage) == "finished"
    trials = load_study(name, storage).get_trials(deepcopy=False)
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert pruned and complete
    assert all(max(t.intermediate_values) < 20 for t in pruned)  # fewer rounds
    assert all(max(t.intermediate_values) == 20 for t in complete)


@pytest.mark.parametrize("lib", LIBRARIES)
def test_categorical_csv_columns_reach_native_handling(lib, colour_csv):
    ds = datasets.load_dataset(DatasetRef("csv", path=str(colour_csv), target="label"))
    categorical = categorical_columns(ds.X)
    assert categorical == ["colour", "flag"]
    params = get_model(lib).default_space(ds.task).complete({})
    params.update(n_estimators=30, learning_rate=0.3)
    pipe = build_pipeline(get_model(lib), params, ds.task, 0, 1, categorical)
    pipe.fit(ds.X, ds.y)
    model = pipe[-1]
    if lib == "lightgbm":
        assert len(model.booster_.pandas_categorical) == 2  # its own category mapping
    elif lib == "xgboost":
        assert model.estimator_.get_booster().feature_types[1:] == ["c", "c"]
    else:
        assert sorted(model.get_cat_feature_indices()) == [1, 2]
    # Unseen and missing categories are predicted, not refused.
    new = pd.DataFrame({"colour": ["violet", None], "flag": [True, False], "x": [0.0, 0.0]})
    assert len(pipe.predict(new)) == 2
    assert (pipe.predict(ds.X) == ds.y).mean() > 0.9  # the colour carries the signal


def test_early_stopping_keeps_the_best_round():
    space = _space("lightgbm", n_estimators={"low": 60, "high": 60},
                   learning_rate={"enabled": False, "default": 0.3},
                   early_stopping_rounds={"default": 6})  # fmt: skip
    ev = _evaluation("lightgbm", DatasetRef("iris"), space)
    study = optuna.create_study(direction="maximize")
    study.optimize(ev, n_trials=1)
    t = study.trials[0]
    m = t.user_attrs["metrics"]
    assert t.state == TrialState.COMPLETE
    assert m["stopped_early_at"] < 60  # iris is learnt in a few rounds: the CV score stalls
    assert max(t.intermediate_values) == m["stopped_early_at"]
    assert t.value == pytest.approx(t.intermediate_values[m["best_epoch"]])


def test_a_gpu_that_is_not_there_is_refused_before_the_run(storage):
    import xgboost

    if xgboost.build_info().get("USE_CUDA"):
        pytest.skip("this xgboost has CUDA")
    space = _space("xgboost").replace_param("device", default="gpu")
    config = RunConfig(dataset=DatasetRef("iris"), model="xgboost", space=space, n_trials=1,
                       cv_folds=3)  # fmt: skip
    with pytest.raises(ConfigError, match="xgboost-cpu.*set device to cpu"):
        create_run(config, storage)


@pytest.mark.parametrize("lib", LIBRARIES)
def test_export_and_reproduce_script_rebuild_the_model(lib, colour_csv, storage, tmp_path):
    import skops.io as sio

    config = RunConfig(dataset=DatasetRef("csv", path=str(colour_csv), target="label"),
                       model=lib, method="random", space=_space(lib), n_trials=2, cv_folds=3,
                       n_jobs=1)  # fmt: skip
    name = create_run(config, storage)
    assert execute(name, storage) == "finished"
    study = load_study(name, storage)
    run = an.load_run(study)

    model = export.best_model(study, run)
    assert model.filename.endswith(".skops")
    untrusted = sio.get_untrusted_types(data=model.data)
    # Our own types in the file: the category encoder (LightGBM, XGBoost) and XGBoost's label
    # encoding; the reproduce script below carries their source and needs no Tuning Studio.
    ours = sorted(t.rsplit(".", 1)[1] for t in untrusted if t.startswith("tuning"))
    assert ours == {"lightgbm": ["Categories"], "catboost": [],
                    "xgboost": ["Categories", "LabelEncodedClassifier"]}[lib]  # fmt: skip
    pipe = sio.loads(model.data, trusted=untrusted)
    prep = prepare(run.config)
    assert prep.scoring(pipe, prep.split.X_test, prep.split.y_test) == pytest.approx(
        run.test["score"], abs=1e-12
    )

    source = export.reproduce_script(run)
    assert not re.search(r"^\s*(import tuning|from tuning)", source, re.M)
    path = tmp_path / "reproduce.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=240, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    score = float(re.search(r"^test \S+ = (\S+)$", done.stdout, re.M).group(1))
    assert score == pytest.approx(run.test["score"], abs=1e-9)


@pytest.mark.parametrize("lib", ["lightgbm", "xgboost", "catboost"])
def test_column_names_a_library_refuses_are_refused_before_the_run(lib, storage, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"dose[mg]": rng.normal(size=60), "age": rng.normal(size=60)})
    frame["label"] = np.where(frame["dose[mg]"] > 0, "yes", "no")
    path = tmp_path / "doses.csv"
    frame.to_csv(path, index=False)
    config = RunConfig(dataset=DatasetRef("csv", path=str(path), target="label"), model=lib,
                       n_trials=1, cv_folds=3)  # fmt: skip
    if lib == "catboost":  # takes any name
        create_run(config, storage)
        return
    with pytest.raises(ConfigError, match=r"rename 'dose\[mg\]'"):
        create_run(config, storage)
    assert storage.get_all_studies() == []  # nothing half-made
