"""Home page: the runs in the storage, open and delete with confirmation, demo presets."""

from __future__ import annotations

import pytest
from app_support import (
    HOME,
    LIVE,
    app,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    ok,
    run_workers,
    runs,
    texts,
    tiny_config,
    wait_until_idle,
)

from tuning.runs.prepare import prepare
from ui import presets, state

pytestmark = pytest.mark.usefixtures("fresh_data")


def test_empty_storage_shows_presets_and_no_runs(tmp_path):
    at = ok(app())
    assert at.title[0].value == "Tuning Studio"
    starts = [b for b in at.button if b.key and b.key.startswith("preset_")]
    assert len(starts) == len(presets.PRESETS) >= 4
    assert any("No runs yet" in i for i in texts(at.info))
    assert [h.value for h in at.subheader] == ["Start a demo", "Runs", "Experiments"]
    # the sidebar says which storage is in use and that nothing runs
    sidebar = " ".join(texts(at.sidebar.text) + texts(at.sidebar.caption)).replace("\u200b", "")
    assert "runs.journal" in texts(at.sidebar.text) and "0 running" in sidebar
    assert f"journal file in {tmp_path}" in sidebar  # the folder in a caption that wraps at "/"
    assert any(str(tmp_path / "runs.journal") in t.proto.help for t in at.sidebar.text)


def test_lists_every_run_with_its_numbers():
    name = finished_run(n_trials=5)
    at = ok(app())
    # a returning user's runs come first, the demos under them (a first visit: demos first)
    assert [h.value for h in at.subheader] == ["Runs", "Experiments", "Start a demo"]
    table = at.dataframe[0].value
    row = table[table["run"] == name].iloc[0]
    assert row["status"] == "finished"
    assert row["dataset"] == "Iris"
    assert row["model"] == "k-nearest neighbours"
    assert row["method"] == "Random search"
    assert row["trials done"] == "5 / 5"
    assert 0.5 < float(row["best score"]) <= 1.0 and len(row["best score"]) == 6  # 0.xxxx
    assert row["score"] == "accuracy ↑"
    assert row["started"] and row["started"] != "–"


def test_a_run_without_scores_shows_a_blank_best_score_and_names_are_not_cut():
    import json

    from tuning.runs.runner import create_run

    done = finished_run(n_trials=3)
    waiting = create_run(tiny_config(n_trials=3, name="a-run-that-has-not-started-yet-on-iris"))
    at = ok(app())
    table = at.dataframe[0].value.set_index("run")
    assert table.loc[waiting, "best score"] == "" and table.loc[done, "best score"] != ""
    # the run column is as wide as its longest name (within a limit), not a fixed cut-off
    config = json.loads(at.dataframe[0].proto.columns)["run"]
    assert config["width"] >= 6.5 * max(len(done), len(waiting))


def test_open_selects_the_run_for_the_live_monitor():
    name = finished_run(n_trials=3)
    at = ok(app())
    at.selectbox(key=state.HOME_PICK).set_value(name)
    at.button(key="open_run").click().run()
    ok(at)
    assert at.session_state[state.SELECTED_RUN] == name


def test_delete_asks_for_confirmation():
    keep, doomed = finished_run(n_trials=3), finished_run(n_trials=3)
    at = ok(app())
    at.selectbox(key=state.HOME_PICK).set_value(doomed)
    at.button(key="delete_run").click().run()
    assert any("cannot be undone" in w for w in texts(ok(at).warning))
    at.button(key="cancel_delete").click().run()
    assert {r.name for r in runs()} == {keep, doomed}
    assert not any("cannot be undone" in w for w in texts(ok(at).warning))

    at.selectbox(key=state.HOME_PICK).set_value(doomed)
    at.button(key="delete_run").click().run()
    at.button(key="confirm_delete").click().run()
    ok(at)
    assert {r.name for r in runs()} == {keep}
    assert any("Deleted run" in s for s in texts(at.success))
    assert doomed not in at.dataframe[0].value["run"].tolist()


def test_a_running_run_cannot_be_deleted():
    from app_support import manager

    name = manager().submit(tiny_config(n_trials=400))
    at = ok(app())
    at.selectbox(key=state.HOME_PICK).set_value(name)
    at.button(key="delete_run").click().run()
    at.button(key="confirm_delete").click().run()
    assert any("stop it before deleting" in e for e in texts(ok(at).error))
    assert name in {r.name for r in runs()}


@pytest.mark.parametrize("preset", presets.PRESETS, ids=lambda p: p.key)
def test_presets_are_valid_runs(preset):
    config = preset.make()
    prep = prepare(config)  # validates dataset, model, space, method, scoring
    if preset.key == "lr_sweep":
        space = prep.space
        assert [p.name for p in space.params if p.enabled] == ["learning_rate"]
        assert space["learning_rate"].choices == presets.LEARNING_RATES
        assert [g["learning_rate"] for g in space.grid(prep.config.grid_points)] == list(
            presets.LEARNING_RATES
        )
    if preset.key == "forest_tpe":
        assert prep.dataset.shape == (2000, 50)
    if preset.key == "tradeoff":
        assert (config.model, config.dataset.name) == ("random_forest", "seed-classification")
        assert config.objectives[:1] == ("fit_seconds",) and config.scoring in (None, "accuracy")


def test_preset_start_launches_once_and_opens_the_monitor(monkeypatch):
    tiny = presets.Preset("tiny", "Tiny", "A tiny run.", lambda: tiny_config(n_trials=3))
    monkeypatch.setattr(presets, "PRESETS", (tiny,))
    at = ok(app())
    at.button(key="preset_tiny").click().run()
    ok(at)
    name = at.session_state[state.SELECTED_RUN]
    assert name and len(runs()) == 1
    # A double click: the same preset again at once starts nothing new.
    at.switch_page(HOME).run()
    at.button(key="preset_tiny").click().run()
    assert at.session_state[state.SELECTED_RUN] == name
    assert len(runs()) == 1
    assert len(run_workers(name)) <= 1
    wait_until_idle()
    assert at.session_state[state.SELECTED_RUN] == name
    at.switch_page(LIVE).run()
    assert ok(at).title[0].value == "Live monitor"


def test_an_experiments_members_are_one_row_and_runs_with_results_come_first():
    """A Compare experiment's never-started members fill no rows: one row for the experiment
    with its members' statuses; the user's own run with results is on top."""
    from app_support import storage

    from tuning.core.config import DatasetRef, RunConfig
    from tuning.runs.front import experiments as ex

    done = finished_run(n_trials=3)
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=30, cv_folds=3, n_jobs=1)
    exp = ex.create_experiment(
        ex.ExperimentConfig(base=base, methods=("random", "tpe"), seeds=(0, 1)), storage()
    )
    members = [m["run"] for m in ex.get_experiment(exp, storage()).runs]
    at = ok(app())
    table = at.dataframe[0].value
    assert table["run"].iloc[0] == done  # results first, though the members are newer
    assert not set(members) & set(table["run"])
    row = table[table["run"].str.startswith(exp)].iloc[0]
    assert row["run"] == f"{exp} (experiment, 4 runs)"
    assert row["trials done"] == "0 / 120" and row["best score"] == ""
    assert row["method"] == "2 methods"
    assert row["status"] in ("4 queued", "4 not started"), row["status"]


def test_the_experiment_opened_from_home_stays_chosen_across_pages():
    """Compare reopens on the experiment chosen before, after a visit to other pages (whose
    switch drops the URL's ?experiment=), and writes it back into the URL."""
    from app_support import storage

    from tuning.core.config import DatasetRef, RunConfig
    from tuning.runs.front import experiments as ex

    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=2, cv_folds=3, n_jobs=1)
    older = ex.create_experiment(
        ex.ExperimentConfig(base=base, methods=("random",), name="older"), storage()
    )
    ex.create_experiment(ex.ExperimentConfig(base=base, methods=("tpe",), name="newer"), storage())
    at = ok(app())
    at.selectbox(key="home_exp_pick").set_value(older)
    ok(at.button(key="open_experiment").click().run())
    assert at.selectbox(key="compare_select").value == older
    for page in (state.PAGE_LIVE, state.PAGE_HOME, "app_pages/compare.py"):
        at.switch_page(page)
        at.query_params.clear()  # the browser drops them on a page switch
        ok(at.run())
    assert at.selectbox(key="compare_select").value == older
    assert at.query_params.get("experiment") in (older, [older])
