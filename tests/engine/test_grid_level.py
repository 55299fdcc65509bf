"""Time-to-target's level, de-noised: grid's best configuration scored again with 5 model seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score

from tuning.core.config import DatasetRef, RunConfig
from tuning.core.space import SearchSpace, int_param
from tuning.data.datasets import load_dataset, split
from tuning.execution import level as level_mod
from tuning.models import build_pipeline, get_model
from tuning.runs import experiments as ex
from tuning.store.storage import open_storage

FOREST_SPACE = SearchSpace((
    int_param("n_estimators", 3, 6, grid=(3, 6)),
    int_param("max_depth", 1, 3, grid=(1, 3)),
)).validate()  # fmt: skip


def forest_race(store, **kw) -> str:
    """A tiny forest race on iris: grid search's 4 configurations against 3 random trials."""
    base = RunConfig(dataset=DatasetRef("iris"), model="random_forest", space=FOREST_SPACE,
                     n_trials=3, cv_folds=2)  # fmt: skip
    name = ex.create_experiment(
        ex.ExperimentConfig(base=base, methods=("grid", "random"), seeds=(1,), **kw), store
    )
    ex.run_experiment(name, store)
    return name


@pytest.fixture(scope="module")
def forest(tmp_path_factory):
    store = open_storage(f"journal:///{tmp_path_factory.mktemp('lvl')}/runs.journal")
    return store, ex.get_experiment(forest_race(store), store)


def by_hand(params: dict, seed: int = 1) -> list[float]:
    """Grid's best configuration on the run's own split and folds, forest seeds 0-4, straight
    through scikit-learn: what the stated level must equal."""
    ds = load_dataset(DatasetRef("iris"))
    sp = split(ds, 0.2, seed)
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    spec = get_model("random_forest")
    full = FOREST_SPACE.complete(params)
    return [
        float(np.mean(cross_val_score(build_pipeline(spec, full, ds.task, k, 1), sp.X_train,
                                      sp.y_train, cv=folds, scoring="accuracy")))
        for k in range(5)
    ]  # fmt: skip


def test_the_level_is_grids_best_configuration_over_five_forest_seeds(forest):
    store, info = forest
    traj = ex.trajectories(info, store)
    lv = ex.grid_levels(info)[1]
    assert lv.status == "scored" and lv.model_seeds == [0, 1, 2, 3, 4]
    grid_best = traj[traj["method"] == "grid"]["best_so_far"].iloc[-1]
    assert lv.own == pytest.approx(grid_best)
    expected = by_hand(lv.params)
    assert lv.scores == pytest.approx(expected)
    assert lv.mean == pytest.approx(np.mean(expected))
    assert lv.std == pytest.approx(np.std(expected, ddof=1))
    # the race runs to it, and Compare says so with its spread and grid's own best beside it
    target = ex.targets(traj, info)
    assert target == {1: pytest.approx(np.mean(expected))}
    words = ex.level_words(info, traj, target)
    assert "grid's best configuration, rescored with 5 forest seeds" in words
    assert f"seed 1: {np.mean(expected):.4f} ± {np.std(expected, ddof=1):.4f}" in words
    assert f"grid's own best CV was {grid_best:.4f}" in words
    table = ex.summary_table(info, traj, store, target).set_index("method")
    reached = traj[(traj["method"] == "random") & (traj["best_so_far"] >= target[1] - 1e-12)]
    assert table.loc["random", "reached_n"] == (1 if len(reached) else 0)


def test_without_a_kept_level_the_target_is_grids_own_best_and_says_so(forest):
    store, info = forest
    traj = ex.trajectories(info, store)
    older = ex.ExperimentInfo(info.name, info.config,
                              [{**r, "level": None} for r in info.runs], info.created_at)  # fmt: skip
    target = ex.targets(traj, older)
    assert target == {1: pytest.approx(ex.grid_levels(info)[1].own)}
    words = ex.level_words(older, traj, target)
    assert "grid's own best score: seed 1" in words and "no rescored level was kept" in words
    assert "luck" in words


def test_while_grid_still_works_the_target_is_its_best_so_far_and_says_what_comes(forest):
    """A live race: grid's level is scored when grid finishes; until then the words say so,
    not that no level was kept."""
    store, info = forest
    traj = ex.trajectories(info, store)
    live = ex.ExperimentInfo(info.name, info.config, [
        {**r, "level": None, "status": "running" if r["method"] == "grid" else r["status"]}
        for r in info.runs], info.created_at)  # fmt: skip
    words = ex.level_words(live, traj, ex.targets(traj, live))
    assert "grid's best so far, while grid search still works (when it finishes, its best " \
           "configuration is rescored with several forest seeds" in words  # fmt: skip
    assert "no rescored level" not in words and "luck" in words


def test_a_model_without_a_seed_races_to_grids_own_best(tmp_path):
    store = open_storage(f"journal:///{tmp_path}/runs.journal")
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=2, cv_folds=2, grid_points=2)
    name = ex.create_experiment(ex.ExperimentConfig(base=base, methods=("grid",)), store)
    ex.run_experiment(name, store)
    info = ex.get_experiment(name, store)
    traj = ex.trajectories(info, store)
    lv = ex.grid_levels(info)[0]
    assert lv.status == "deterministic" and lv.scores == []
    assert ex.targets(traj, info) == {0: pytest.approx(traj["best_so_far"].max())}
    assert "not rescored because the model has no random seed" in ex.level_words(
        info, traj, ex.targets(traj, info)
    )


def test_an_older_recording_gets_its_level_from_the_script(tmp_path, monkeypatch):
    """A race recorded before levels were kept: --add-level scores it in place, once."""
    import importlib.util

    journal = tmp_path / "race.journal"
    store = open_storage(f"journal:///{journal}")
    monkeypatch.setattr(level_mod, "wanted", lambda run, prep: False)  # as an older version
    name = forest_race(store, name="old-race")
    assert ex.grid_levels(ex.get_experiment(name, store)) == {}
    monkeypatch.undo()
    spec = importlib.util.spec_from_file_location(
        "record_classic_race", ex.RECORDED_DIR.parents[2] / "scripts" / "record_classic_race.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--add-level", str(journal)]) == 0
    lv = ex.grid_levels(ex.get_experiment(name, open_storage(f"journal:///{journal}")))[1]
    assert lv.status == "scored" and lv.mean == pytest.approx(np.mean(by_hand(lv.params)))
    assert script.add_level(journal) == {name: {}}  # kept: not scored twice
