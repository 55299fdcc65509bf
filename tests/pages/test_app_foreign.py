"""Any Optuna study on the pages (issue 16): studies written by plain Optuna code on Home, Live
monitor, Analysis and Report, read-only, what needs a configuration refused with why; several
storages and the sidebar's switch; links (?run=, &storage=); notes, shown as text."""

from __future__ import annotations

import foreign_support as fs
import pytest
from app_support import (
    APP,
    HOME,
    LIVE,
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    home_runs,
    metrics,
    ok,
    storage,
    texts,
)
from streamlit.testing.v1 import AppTest

from tuning.store.notes import notes_of
from tuning.store.runs import load_study
from tuning.store.storage import open_storage
from ui import state

pytestmark = pytest.mark.usefixtures("fresh_data")
ANALYSIS, REPORT = state.PAGE_ANALYSIS, state.PAGE_REPORT
READ_ONLY = "this study was made outside Tuning Studio, so it has none"


def page_with(run: str, page: str) -> AppTest:
    at = app()
    at.query_params["run"] = run
    return ok(at.switch_page(page).run())


def everything(at: AppTest) -> list[str]:
    return texts([*at.info, *at.caption, *at.markdown, *at.warning, *at.error])


def test_home_lists_studies_other_tools_made_beside_runs():
    name = finished_run(3)
    fs.single(storage())
    at = ok(app())
    rows = home_runs(at, name, "plain-single")
    assert set(rows.index) == {name, "plain-single"}
    assert rows.loc["plain-single", "dataset"].startswith("— (made outside")  # shortened to fit
    assert rows.loc["plain-single", "trials done"] == str(fs.N_TRIALS)
    assert rows.loc["plain-single", "score"] == "value ↓"
    at.selectbox(key=state.HOME_PICK).set_value("plain-single").run()
    delete = at.button(key="delete_run")
    assert delete.disabled and "optuna.delete_study" in delete.help


def test_live_monitor_shows_a_foreign_study_read_only():
    fs.single(storage())
    at = page_with("plain-single", LIVE)
    assert at.selectbox(key=state.LIVE_PICK).value == "plain-single"
    keys = {b.key for b in at.button}
    assert "stop_run" not in keys and "resume_run" not in keys
    shown = everything(at)
    assert any("Stop, Resume, refit" in t and READ_ONLY in t for t in shown)
    m = metrics(at)
    best = load_study("plain-single", storage()).best_value
    assert m["Best value"] == f"{best:.4f}" and m["Trials done"] == str(fs.N_TRIALS)
    figs = charts(at)
    assert any("Score of every trial" in t for t in figs)
    assert any("intermediate values its objective reported" in t for t in shown)
    assert any(e.label == "What is known of this study" for e in at.expander)
    assert any("takes no notes" in t for t in shown)  # read-only: no note editor
    assert not [a for a in at.text_area if a.key.startswith("run_note")]


def test_a_foreign_multi_objective_study_shows_its_front_but_offers_no_choice():
    fs.multi(storage())
    at = page_with("plain-multi", LIVE)
    shown = everything(at)
    assert any(t.startswith("Objectives: loss (lower is better) · gain (higher is better)")
               for t in shown)  # fmt: skip
    assert any("Choosing a trade-off (a refit and a test) needs" in t for t in shown)
    assert not [b for b in at.button if b.label == "Choose the cheapest"]
    assert "Front members" in metrics(at)


def test_analysis_and_report_of_a_foreign_study():
    fs.single(storage())
    at = page_with("plain-single", ANALYSIS)
    shown = everything(at)
    assert any(t.startswith("Refine needs the run's configuration") for t in shown)
    assert any("Comparing train, CV and held-out test scores needs" in t for t in shown)
    assert any("no per-fold scores" in t for t in shown)
    assert not [b for b in at.button if "Refine" in b.label or "Test the top" in b.label]

    at = page_with("plain-single", REPORT)
    prepare = at.button(key="rp_prepare_model")
    assert prepare.disabled and "Refitting the best model needs" in prepare.help
    shown = everything(at)
    assert any(t.startswith("The reproduce script needs") for t in shown)
    assert any(t.startswith("A held-out test score needs") for t in shown)
    assert metrics(at)["Complete trials"] == f"{fs.N_TRIALS - 2} of {fs.N_TRIALS}"
    assert "Made by" in next(m for m in texts(at.markdown) if "Tuning report" in m)


# -- several storages and links -----------------------------------------------------------------
@pytest.fixture
def two_storages(tmp_path, monkeypatch):
    urls = [f"journal:///{tmp_path}/a/runs.journal", f"journal:///{tmp_path}/b/runs.journal"]
    monkeypatch.setenv("TUNING_STUDIO_STORAGES", ";".join(urls))
    fs.single(open_storage(urls[0]), name="in-a")
    fs.multi(open_storage(urls[1]), name="in-b")
    return urls


def test_the_sidebar_switches_between_the_named_storages(two_storages):
    at = ok(app())
    pick = at.sidebar.selectbox(key=state.STORAGE_PICK)
    assert pick.options == [
        f"journal file {two_storages[0][len('journal:///'):]}",
        f"journal file {two_storages[1][len('journal:///'):]}",
    ]  # fmt: skip
    runs = next(d.value for d in at.dataframe if "run" in d.value.columns)
    assert list(runs["run"]) == ["in-a"]
    pick.set_value(1).run()
    ok(at)
    runs = next(d.value for d in at.dataframe if "run" in d.value.columns)
    assert list(runs["run"]) == ["in-b"] and at.query_params["storage"] == "1"
    at.switch_page(LIVE).run()
    assert ok(at).selectbox(key=state.LIVE_PICK).value == "in-b"
    assert at.query_params["run"] == "in-b" and at.query_params["storage"] == "1"


def test_a_link_opens_its_run_on_its_storage_and_follows_the_picker(two_storages):
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update({"run": "in-b", "storage": "1"})
    at.run()
    at.switch_page(LIVE).run()
    ok(at)
    assert at.selectbox(key=state.LIVE_PICK).value == "in-b"
    assert metrics(at)["Front members"]
    link = next(c.value for c in at.code)
    assert link.endswith("/live_monitor?run=in-b&storage=1")
    # a storage or run that the app was not started with is refused, not opened
    bad = AppTest.from_file(APP, default_timeout=30)
    bad.query_params.update({"storage": "sqlite:////etc/passwd", "run": "nope"})
    bad.run()
    bad.switch_page(LIVE).run()
    shown = texts(ok(bad).warning)
    assert any("which this app was not started with" in t for t in shown)
    assert any("The link names run nope" in t for t in shown)
    assert bad.selectbox(key=state.LIVE_PICK).value == "in-a"  # storage 0's study


def test_the_url_follows_the_run_picker():
    first = finished_run(2)
    second = finished_run(2)
    at = app()
    at.query_params["run"] = first
    at.switch_page(LIVE).run()
    assert ok(at).selectbox(key=state.LIVE_PICK).value == first
    at.selectbox(key=state.LIVE_PICK).set_value(second).run()
    assert ok(at).query_params["run"] == second
    at.switch_page(ANALYSIS).run()
    assert ok(at).selectbox(key=state.LIVE_PICK).value == second


# -- notes ----------------------------------------------------------------------------------------
def test_notes_are_saved_on_the_run_and_shown_as_text():
    name = finished_run(3)
    at = page_with(name, LIVE)
    note = "**Try** a wider k <script>alert('x')</script>"
    at.text_area(key=f"run_note_live:{name}").input(note)
    next(b for b in at.button if b.label == "Save note").click().run()
    ok(at)
    sid = storage().get_study_id_from_name(name)
    assert notes_of(storage().get_study_user_attrs(sid))[0] == note
    drawn = [m for m in at.markdown if m.value == note]
    assert drawn and not any(m.proto.allow_html for m in drawn)  # the tag shows as text
    at.selectbox(key=f"trial_pick_live:{name}").set_value(1).run()
    at.text_area(key=f"trial_note_live:{name}:1").input("odd one <b>out</b>")
    next(b for b in ok(at).button if b.label == "Save trial note").click().run()
    assert notes_of(storage().get_study_user_attrs(sid))[1] == {1: "odd one <b>out</b>"}
    at.switch_page(ANALYSIS).run()
    assert any(m.value == note and not m.proto.allow_html for m in ok(at).markdown)
    at.switch_page(HOME).run()
    ok(at)


def test_an_experiment_link_opens_it_on_compare_and_follows_the_picker():
    from tuning.core.config import DatasetRef, RunConfig
    from tuning.runs import experiments as ex

    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=2, cv_folds=3, n_jobs=1)
    names = [ex.create_experiment(ex.ExperimentConfig(base=base, methods=("random",), name=n),
                                  storage()) for n in ("race-a", "race-b")]  # fmt: skip
    at = app()
    at.query_params["experiment"] = names[0]
    at.switch_page(state.PAGE_COMPARE).run()
    assert ok(at).selectbox(key="compare_select").value == names[0]
    assert next(c.value for c in at.code).endswith(f"/compare?experiment={names[0]}")
    at.selectbox(key="compare_select").set_value(names[1]).run()
    assert ok(at).query_params["experiment"] == names[1]


def test_a_foreign_study_in_progress_is_followed_as_running():
    fs.single(storage(), n=3)
    study = load_study("plain-single", storage())
    trial = study.ask()  # another process is running this trial now
    trial.suggest_float("x", -5.0, 5.0)
    at = page_with("plain-single", LIVE)
    assert any("running" in m for m in texts(at.markdown) if "badge" in m)
    assert any("Another process is optimizing this study" in t for t in everything(at))
    assert "stop_run" not in {b.key for b in at.button}
