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
    row = table[table["run"].str.endswith(name[-15:])].iloc[0]  # its time stamp
    assert row["status"] == "finished"
    assert row["dataset"] == "Iris"
    assert row["model"] == "k-nearest neighbours"
    assert row["method"] == "Random search"
    assert row["trials done"] == "5 / 5"
    assert 0.5 < float(row["best score"]) <= 1.0 and len(row["best score"]) == 6  # 0.xxxx
    assert row["score"] == "accuracy ↑"
    assert row["started"] and row["started"] != "–"


def test_a_warm_started_run_is_told_apart_from_its_cold_twin():
    cold = finished_run(n_trials=4, name="cold-knn")
    warm = finished_run(n_trials=4, name="warm-knn", warm_start=(cold,))
    unseeded = finished_run(n_trials=4, name="asked-warm", warm_start=("deleted-run",))
    table = ok(app()).dataframe[0].value
    method = dict(zip(table["run"], table["method"], strict=True))
    assert method[warm] == "Random search, warm start"
    assert method[cold] == "Random search"
    assert method[unseeded] == "Random search"  # its only source was gone: it searched cold


def test_a_run_without_scores_shows_a_blank_best_score_and_names_keep_both_ends():
    from tuning.runs.runner import create_run

    done = finished_run(n_trials=3)
    waiting = create_run(tiny_config(n_trials=3, name="a-run-that-has-not-started-yet-on-iris"))
    at = ok(app())
    table = at.dataframe[0].value
    shown = {real: next(n for n in table["run"] if n[:4] == real[:4]) for real in (done, waiting)}
    by_run = table.set_index("run")
    assert by_run.loc[shown[waiting], "best score"] == ""
    assert by_run.loc[shown[done], "best score"] != ""
    # where a name is shortened to fit the window, its start and its end stay, so runs made on
    # one dataset (which differ at the end) do not all read as the same cut-off prefix
    for real, cell in shown.items():
        assert cell == real or (cell.endswith(real[-10:]) and "…" in cell), (real, cell)



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
    # the Run picker opens on it too, not on a newer member with nothing to show
    assert at.selectbox(key=state.HOME_PICK).value == done
    assert not set(members) & set(table["run"])
    row = table[table["run"].str.contains(" (experiment", regex=False)].iloc[0]
    # the experiment's name (both ends, where it is shortened) and what the row stands for
    assert row["run"].startswith(exp[:6]) and exp[-5:] in row["run"]
    assert row["run"].endswith(("(experiment, 4 runs)", "(experiment)"))
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


def test_long_names_give_way_so_the_table_fits_a_1600_px_window():
    """A demo's run on "Benchmark classification (synthetic)" made the table wider than the
    window at 1600 px: the gain, the score and when it started sat past its right edge."""
    import json

    from tuning.runs.runner import create_run
    from ui.home import COLUMNS, SIZES, TABLE_PX, YIELDING

    long = "random_forest-tpe-seed-classification-on-a-long-day-20261207-011334"
    create_run(tiny_config(n_trials=3, name=long))
    short = create_run(tiny_config(n_trials=3, name="svm-wine"))
    at = ok(app())
    columns = json.loads(at.dataframe[0].proto.columns)
    shown = [c for c in COLUMNS if c != "score"]  # every run's score is accuracy: in a header
    assert columns["best score"]["label"] == "best accuracy ↑"
    assert sum(columns[c]["width"] for c in shown) <= TABLE_PX
    table = at.dataframe[0].value
    numbers = [c for c in shown if c not in YIELDING]  # the scores, the gain, the dates
    assert not any("…" in str(v) for c in numbers for v in table[c])
    assert all(columns[c]["width"] >= SIZES[c][0] for c in shown)
    shown = list(table["run"])
    cut = next(n for n in shown if n != short)
    # both ends of the long name stay (names made on one dataset differ at the end) ...
    assert cut.startswith("random") and cut.endswith("20261207-011334") and "…" in cut
    assert short in shown
    # ... and the Run picker under the table names it whole
    assert long in at.selectbox(key=state.HOME_PICK).options
