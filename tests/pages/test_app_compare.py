"""Compare page: define an experiment, run it in the background, read the race."""

from __future__ import annotations

import json

import pytest
from app_support import (  # noqa: F401
    app,
    charts,
    fresh_data,
    manager,
    ok,
    storage,
    texts,
    wait_until_idle,
)

from tuning.core.config import DatasetRef, RunConfig
from tuning.runs import experiments as ex
from tuning.store.runs import load_study

pytestmark = pytest.mark.usefixtures("fresh_data")
COMPARE = "app_pages/compare.py"


@pytest.fixture
def widget_warnings(monkeypatch):
    """Streamlit's warning about a widget given both a default and a session-state value. It
    is logged only under a real server runtime and once per process: both are lifted here."""
    import logging
    from types import SimpleNamespace

    from streamlit.elements.lib import policies

    monkeypatch.setattr(policies, "runtime", SimpleNamespace(exists=lambda: True))
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    seen: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Catch(level=logging.WARNING)
    policies._LOGGER.addHandler(handler)
    yield seen
    policies._LOGGER.removeHandler(handler)


def test_new_experiment_form_starts_a_race_and_shows_the_table(widget_warnings):
    at = ok(app(COMPARE))
    assert at.title[0].value == "Compare methods"
    picker = at.selectbox(key="compare_select")
    # Issue 14: an emoji option label showed as an empty box without an emoji font; the
    # icon is Streamlit's own (Material) and sits in the field.
    assert picker.value == "New experiment" and picker.proto.icon == ":material/add:"
    at.selectbox(key="cmp_dataset").set_value("iris").run()
    at.selectbox(key="cmp_model").set_value("knn").run()
    at.multiselect(key="cmp_methods").set_value(["grid", "random", "tpe"]).run()
    at.number_input(key="cmp_trials").set_value(4)
    at.number_input(key="cmp_folds").set_value(3)
    at.number_input(key="cmp_points").set_value(2)
    at.number_input(key="cmp_seeds").set_value(2)
    at.number_input(key="cmp_workers").set_value(1)  # one process: seeds as in a fresh run
    ok(at.button(key="cmp_go").click().run())
    wait_until_idle(300)
    at = ok(at.run())
    exps = ex.list_experiments(storage())
    assert len(exps) == 1 and exps[0].status == "finished"
    assert len(exps[0].runs) == 6  # 3 methods x 2 seeds
    assert at.selectbox(key="compare_select").value == exps[0].name
    progress = str(at.get("progress")[0].proto)
    assert "6 of 6 runs finished" in progress
    # progress counts trials (a grid's size, the others' budgets), not only finished runs
    trials = sum(len(load_study(r["run"], storage()).get_trials()) for r in exps[0].runs)
    assert f"{trials} of {trials} trials" in progress
    assert widget_warnings == []  # the picker switched to the new experiment without a warning
    # random search and TPE drew the same first trials from each seed: the page says so
    shared = [i.value for i in at.info if "shared their first" in i.value]
    assert len(shared) == 1 and shared[0].startswith("Random search and Bayesian")
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Grid search", "Random search", "Bayesian (TPE)"]
    assert all("±" in v for v in table["best 3-fold CV (mean ± std over seeds)"])
    assert "validated on" not in table  # every method is a CV mean: the header says so
    assert "best" in list(table["vs the best"])
    assert list(table["seeds"]) == ["2 of 2 seeds finished"] * 3
    # trial counts are totals over the seeds' runs: grid's configurations on each of 2 seeds
    grid = sum(len(load_study(r["run"], storage()).get_trials()) for r in exps[0].runs
               if r["method"] == "grid")  # fmt: skip
    assert table.loc[0, "trials complete / pruned / failed"] == f"{grid} / 0 / 0" == "16 / 0 / 0"
    assert "test (95 % Wilson)" in table.columns
    assert any("95 % Wilson interval" in c and "held-out rows" in c for c in texts(at.caption))
    buys = at.dataframe[1].value  # what each method buys, in a narrow table of its own
    assert buys.loc[0, "reached in"] == "2 of 2 seeds"  # grid reaches its own best
    assert list(buys.columns) == ["method", "trials to target", "seconds to target", "reached in"]
    verdict = [i.value for i in at.info if "(±1 std)" in i.value.replace("\\", "")]
    assert len(verdict) == 1
    figs = charts(at)
    titles = {
        json.loads(json.dumps(f)).get("layout", {}).get("title", {}).get("text")
        for f in figs.values()
    }
    assert {"Best score by trial", "Best score by time", "Best CV score vs the top one",
            "Time per method"} <= titles  # fmt: skip
    target = next(c for c in texts(at.caption) if "first reached" in c)
    # the race runs to grid's best; k-nearest neighbours has no random seed, so rescoring it
    # with other seeds would repeat it: the page says so
    assert "grid's best score, not rescored because the model has no random seed" in target


def test_bad_experiment_is_refused_with_a_message():
    at = ok(app(COMPARE))
    at.multiselect(key="cmp_methods").set_value([]).run()
    ok(at.button(key="cmp_go").click().run())
    assert any("at least one method" in e for e in texts(at.error))
    assert ex.list_experiments(storage()) == []


def test_stored_experiment_reopens_with_its_results():
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=3, cv_folds=3, n_jobs=1)
    name = ex.create_experiment(
        ex.ExperimentConfig(base=base, methods=("random", "tpe"), target=0.9), storage()
    )
    ex.run_experiment(name, storage())
    at = ok(app(COMPARE))
    assert at.selectbox(key="compare_select").value == name
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Random search", "Bayesian (TPE)"]
    target = next(c for c in texts(at.caption) if "first reached" in c)
    assert "target: your score: seed 0: 0.9000" in target and "luck" not in target
    assert any(b.label.startswith("Download all trials") for b in at.get("download_button"))


def test_experiments_are_listed_on_home_and_open_in_compare():
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=2, cv_folds=3, n_jobs=1)
    name = ex.create_experiment(ex.ExperimentConfig(base=base, methods=("random",)), storage())
    ex.run_experiment(name, storage())
    at = ok(app())
    table = next(d.value for d in at.dataframe if "experiment" in d.value.columns)
    assert list(table["experiment"]) == [name] and table.loc[0, "status"] == "finished"
    ok(at.button(key="open_experiment").click().run())
    assert at.title[0].value == "Compare methods"
    assert at.selectbox(key="compare_select").value == name


def test_members_wait_in_the_apps_queue_and_stop_with_the_experiment(monkeypatch):
    """An experiment's members are runs of the app's RunManager: the cap holds for them, the
    sidebar lists the ones waiting, and Stop stops the working one and dequeues the rest."""
    monkeypatch.setenv("TUNING_STUDIO_MAX_RUNNING", "1")
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=100_000, cv_folds=3,
                     n_jobs=1)  # fmt: skip
    name = ex.create_experiment(
        ex.ExperimentConfig(base=base, methods=("random", "tpe"), parallel=True), storage()
    )
    first, second = (r["run"] for r in ex.get_experiment(name, storage()).runs)
    from ui import compare

    at = ok(app())
    compare.start(name)
    assert manager().queued() == [second] and manager().is_active(first)
    at.run()
    assert any(f"1. {second} (queued)" in t for t in texts(at.sidebar.text))
    assert any("1 running (at most 1 at once), 1 queued" in c for c in texts(at.sidebar.caption))
    table = next(d.value for d in at.dataframe if "experiment" in d.value.columns)
    assert table.loc[0, "status"] == "running"
    at.switch_page(COMPARE).run()
    members = next(d.value for d in ok(at).dataframe if "status" in d.value.columns)
    assert list(members["status"]) == ["running", "queued"]
    ok(at.button(key=f"cmp_stop_{name}").click().run())
    assert manager().queued() == []
    wait_until_idle(120)
    assert [r["status"] for r in ex.get_experiment(name, storage()).runs] == ["stopped"] * 2
    assert list(manager().handles) == [first]  # the queued member never started
    ok(at.run())
    assert any(b.label == "Resume" for b in at.button)


def test_the_sidebar_refreshes_itself_while_runs_work(monkeypatch):
    """Issue 14: the sidebar said "0 running" during a race: a page that follows a run reruns
    only its fragment, so the sidebar must refresh itself while this app works on runs."""
    import streamlit as st

    from ui import layout

    asked = []  # the sidebar panel's run_every, each time it is drawn
    real = st.fragment

    def fragment(func=None, **kwargs):
        def wrap(f):
            if f.__qualname__.startswith("runs_here."):
                asked.append(kwargs.get("run_every"))
            return real(f, **kwargs)

        return wrap if func is None else wrap(func)

    monkeypatch.setattr(layout.st, "fragment", fragment)
    at = ok(app())
    assert asked[-1] is None  # nothing works: no polling
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=100_000, cv_folds=3,
                     n_jobs=1)  # fmt: skip
    name = ex.create_experiment(ex.ExperimentConfig(base=base, methods=("random",)), storage())
    from ui import compare

    compare.start(name)
    ok(at.run())
    assert asked[-1] == 2.0
    assert any("1 running" in c for c in texts(at.sidebar.caption))


def test_the_recorded_classic_race_opens_at_once_read_only():
    """Issue 24: the classic race takes about 18 minutes live. The recorded one opens at once
    beside "Run it live", labelled with its date, machine and seeds, with its table, and
    offers nothing that could resume or write it."""
    meta = json.loads((ex.RECORDED_DIR / ex.RECORDED_META).read_text())
    at = ok(app(COMPARE))
    assert at.button(key="classic_go").label == "Run it live"
    ok(at.button(key="classic_recorded").click().run())
    from ui import compare

    assert at.selectbox(key="compare_select").value == compare.RECORDED
    label = next(i.value for i in at.info if i.value.startswith("Recorded on"))
    label = label.replace("\\", "")  # Markdown escapes
    assert meta["recorded_on"] in label and f"{len(meta['seeds'])} seeds" in label
    assert "Read-only" in label
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Grid search", "Random search", "Bayesian (TPE)", "Hyperband"]
    n = len(meta["seeds"])
    assert list(table["seeds"]) == [f"{n} of {n} seeds finished"] * 4
    assert not any(b.label in ("Stop", "Resume") for b in at.button)
    assert ex.list_experiments(storage()) == []  # nothing was created in the app's storage


def test_the_sidebar_groups_an_experiments_queued_members():
    from ui.layout import queued_lines

    queued = [ex.member_name("race", m, s) for s in (0, 1) for m in ("grid", "tpe")]
    assert queued_lines([*queued[1:], "solo"]) == ["race: 3 runs queued", "solo (queued)"]
    assert queued_lines(queued[:1]) == ["race--grid--seed0 (queued)"]


def test_generated_sentences_on_known_cases():
    import pandas as pd

    from ui import compare

    info = ex.ExperimentInfo("x", ex.classic_preset(seeds=(0,)), [
        {"run": "a", "method": "grid", "seed": 0, "order": 0, "status": "finished"},
        {"run": "b", "method": "tpe", "seed": 0, "order": 1, "status": "running"},
    ], None)  # fmt: skip
    assert compare.progress_text(info, 90, 111) == (
        "1 of 2 runs finished · 90 of 111 trials so far · running"
    )
    assert compare.spread_cell(12.0, 8.0, 20.0, "{:.0f}") == "12 (8 – 20)"
    assert compare.spread_cell(12.0, 12.0, 12.0, "{:.0f}") == "12"
    assert compare.spread_cell(float("nan"), float("nan"), float("nan"), "{:.0f}") == "n/a"
    close = pd.DataFrame({"method": ["grid", "tpe"], "validation": ["cv"] * 2,
                          "best_cv": [0.90, 0.899], "best_cv_std": [0.004, 0.003],
                          "spread": ["folds"] * 2})  # fmt: skip
    close = ex._gaps(close, minimize=False)
    assert compare.buys_caveat(close, 1) == (
        "Every difference in best CV score is within the noise, so a method that reaches the "
        "target sooner buys time here, not a better model. From one seed, trials and seconds "
        "to the target are one draw of luck; more seeds give their range."
    )
    far = ex._gaps(close.assign(best_cv=[0.95, 0.85]), minimize=False)
    assert compare.buys_caveat(far, 3) == ""


def test_the_engines_preset_says_what_differs_between_the_two_tpes():
    at = ok(app(COMPARE))
    assert any(s.value == "Optuna TPE against Hyperopt TPE" for s in at.subheader)
    form = next(m.value for m in at.markdown if "Hyperopt TPE" in m.value).replace("\\", "")
    assert f"{ex.ENGINES_TRIALS} trials per method and seed" in form
    assert "starts after 5 random trials" in form and "starts after 20" in form
    assert at.button(key="engines_go").label == "Run it"
    assert at.number_input(key="engines_seeds").value == 3
