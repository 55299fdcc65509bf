"""Live monitor: progress, charts, tables, Stop / Resume, the queue, runs started elsewhere."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from app_support import (
    LIVE,
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    manager,
    metrics,
    ok,
    run_workers,
    status_of,
    storage,
    texts,
    tiles,
    tiny_config,
    wait_for,
    wait_until_idle,
)

from tuning.analysis import Importance
from tuning.plots import live as chart_mod
from tuning.plots.colors import STATE_COLORS
from tuning.runs.runner import RunHandle, create_run
from tuning.store.runs import counted, delete_run, load_study
from ui import monitor, state

pytestmark = pytest.mark.usefixtures("fresh_data")


def _values(v) -> list:
    """Plotly 6+ sends numeric arrays as typed arrays ({dtype, bdata})."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v)


def test_no_runs_yet():
    at = ok(app(LIVE))
    assert any("No runs yet" in i for i in texts(at.info))


def test_finished_run_shows_progress_charts_and_tables():
    name = finished_run(n_trials=6)
    at = ok(app(LIVE))
    assert at.selectbox(key=state.LIVE_PICK).value == name
    m = metrics(at)
    assert m["Trials done"] == "6"
    assert any("6 of 6 trials" in p.proto.text for p in at.get("progress"))
    assert len(tiles(at)) == 3 and "…" not in m.values()  # the placeholder is gone
    assert not [c for c in charts(at) if not charts(at)[c]["data"]]  # so are its empty charts
    best = float(m["Best accuracy"])
    assert 0.5 < best <= 1.0 and m["Best trial"].startswith("#")
    assert any(c.startswith("Elapsed ") and "left" not in c for c in texts(at.caption))

    figs = charts(at)
    assert {"Score of every trial", "Score over time", "Learning curves", "Trial states",
            "Which settings matter"} <= set(figs)  # fmt: skip
    by_trial = figs["Score of every trial"]
    assert by_trial["layout"]["xaxis"]["title"]["text"] == "trial number"
    assert by_trial["layout"]["yaxis"]["title"]["text"] == "accuracy (higher is better)"
    complete = next(t for t in by_trial["data"] if t["name"].startswith("complete"))
    assert (
        complete["marker"]["color"] == STATE_COLORS["complete"] and complete["type"] == "scatter"
    )
    assert len(_values(complete["x"])) == 6
    # No WebGL on this page: each WebGL chart costs ~0.4 s to set up in a browser without a GPU.
    assert not [t for f in figs.values() for t in f["data"] if t["type"].endswith("gl")]
    best_line = next(t for t in by_trial["data"] if t["name"] == "best so far")
    assert max(_values(best_line["y"])) == pytest.approx(best, abs=1e-4)
    assert figs["Score over time"]["layout"]["xaxis"]["title"]["text"] == "elapsed time (s)"
    curves = figs["Learning curves"]
    assert curves["layout"]["xaxis"]["title"]["text"] == "CV folds completed"
    assert sum(1 for t in curves["data"] if t["name"].startswith("#")) == 6  # one per trial
    importance = figs["Which settings matter"]["data"][0]
    assert set(importance["y"]) <= {"n_neighbors", "weights", "p"}

    top = next(d.value for d in at.dataframe if "accuracy" in d.value.columns)  # the top trials
    assert top["accuracy"].iloc[0] == pytest.approx(best, abs=1e-4) and len(top) == 6
    assert {"n_neighbors", "weights", "p"} <= set(top.columns)
    held = next(s for s in texts(at.success) if "Held-out test score" in s)
    assert "(95 %: " in held and "(30 rows)" in held  # the split's binomial uncertainty


def test_figures_are_valid_plotly():
    """The live path skips plotly's validation for speed; check every figure here with it on."""
    name = finished_run(n_trials=6)
    from ui import registry

    snap = registry.live_run(name).snapshot()
    for fig in chart_mod.live_figures(snap).values():
        go.Figure(fig.to_dict())  # raises on an invalid property


def test_stop_takes_effect_and_resume_continues_in_one_thread():
    name = manager().submit(tiny_config(n_trials=100_000, method="random"))
    wait_for(lambda: status_of(name) == "running", what="the run to start")
    at = ok(app(LIVE))
    at.button(key="stop_run").click().run()
    ok(at)
    wait_until_idle(30)
    at.run()
    assert status_of(name) == "stopped"
    assert any("Stopped by the user" in i for i in texts(ok(at).info))
    # A trial cut short by the Stop (if the Stop came mid-trial) is listed with its reason.
    cut = [t for t in load_study(name, storage()).get_trials(deepcopy=False)
           if (t.user_attrs.get("metrics") or {}).get("fail_reason") == "stopped by user"]  # fmt: skip
    assert len(cut) <= 1
    if cut:
        reasons = next(d.value for d in at.dataframe if "reason" in d.value.columns)
        assert "stopped by user" in reasons["reason"].tolist()

    at.button(key="resume_run").click().run()
    ok(at)
    wait_for(lambda: status_of(name) == "running", what="the resumed run")
    for _ in range(3):  # reruns (polling, reloads) never start a second worker
        at.run()
        assert len(run_workers(name)) == 1
    assert manager().is_active(name)
    at.button(key="stop_run").click().run()
    wait_until_idle(30)
    assert status_of(name) == "stopped"


def test_runs_beyond_the_cap_wait_in_a_visible_queue(monkeypatch):
    monkeypatch.setenv("TUNING_STUDIO_MAX_RUNNING", "1")
    first = manager().submit(tiny_config(n_trials=100_000))
    second = manager().submit(tiny_config(n_trials=3, seed=1))
    assert manager().queued() == [second]
    at = app()
    at.session_state[state.SELECTED_RUN] = second
    at.switch_page(LIVE).run()
    ok(at)
    queue = " ".join(texts(at.warning))
    assert "Queue" in queue and "at most 1 runs work at once" in queue and "this run" in queue
    assert any(f"1. {second} (queued)" in t for t in texts(at.sidebar.text))
    # stopping the running one lets the queued one start and finish
    manager().stop(first)
    wait_until_idle(60)
    assert status_of(first) == "stopped" and status_of(second) == "finished"
    at.run()
    assert not any("Queue" in w for w in texts(ok(at).warning))


def test_removing_a_queued_run_from_the_queue(monkeypatch):
    monkeypatch.setenv("TUNING_STUDIO_MAX_RUNNING", "1")
    first = manager().submit(tiny_config(n_trials=100_000))
    second = manager().submit(tiny_config(n_trials=3, seed=2))
    at = app()
    at.session_state[state.SELECTED_RUN] = second
    at.switch_page(LIVE).run()
    at.button(key="stop_run").click().run()
    ok(at)
    assert manager().queued() == [] and status_of(second) == "stopped"
    manager().stop(first)
    wait_until_idle()


def test_a_run_started_elsewhere_is_watched_through_the_storage():
    """A run this process's RunManager does not hold (the command line, another server)."""
    name = create_run(tiny_config(n_trials=100_000), storage())
    outside = RunHandle(name, storage()).start()  # not through the app's RunManager
    try:
        wait_for(lambda: status_of(name) == "running", what="the outside run to start")
        at = ok(app(LIVE))
        assert at.selectbox(key=state.LIVE_PICK).value == name
        assert any("works in another process" in i for i in texts(at.info))
        assert not manager().is_active(name)
        wait_for(lambda: finished_trials(name) >= 3, what="a few finished trials")
        at.run()
        done = int(metrics(ok(at))["Trials done"].replace(",", ""))
        assert done >= 3
        # Stop reaches the other process through the storage (a stop request on the run)
        ok(at.button(key="stop_run").click().run())
        assert outside.join(30) == "stopped"
        assert status_of(name) == "stopped"
    finally:
        outside.stop()
        outside.join(30)
    at.run()
    assert status_of(name) == "stopped"
    assert metrics(ok(at))["Trials done"] == f"{finished_trials(name):,}"


def finished_trials(name: str) -> int:
    return counted(load_study(name, storage()).get_trials(deepcopy=False))


def test_switching_runs_with_the_picker():
    a, b = finished_run(n_trials=3), finished_run(n_trials=4)
    at = ok(app(LIVE))
    assert at.selectbox(key=state.LIVE_PICK).value == b  # newest first
    at.selectbox(key=state.LIVE_PICK).set_value(a).run()
    assert metrics(ok(at))["Trials done"] == "3"
    assert at.session_state[state.SELECTED_RUN] == a


def test_a_run_deleted_elsewhere_disappears_without_an_error():
    keep, doomed = finished_run(n_trials=3), finished_run(n_trials=3)
    at = app()
    at.session_state[state.SELECTED_RUN] = doomed
    at.switch_page(LIVE).run()
    assert ok(at).selectbox(key=state.LIVE_PICK).value == doomed
    delete_run(doomed, storage())  # e.g. `python -m tuning delete` or another browser tab
    at.run()
    assert ok(at).selectbox(key=state.LIVE_PICK).value == keep
    assert at.selectbox(key=state.LIVE_PICK).options == [keep]


def test_a_stopped_or_pruned_trials_running_mean_is_not_drawn_as_a_score():
    """A trial cut short after 2 folds with a running mean above the real best: not a dot on
    either score chart, not the best, not in the top table; its learning curve stays."""
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.storages import InMemoryStorage
    from optuna.trial import TrialState, create_trial

    from tuning.analysis import LiveRun
    from tuning.core.scoring import Scoring
    from ui import tables

    storage = InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="cut-short", direction="maximize")
    study.set_user_attr("scoring", "accuracy")
    d = {"x": FloatDistribution(0, 1)}

    def add(state, folds, **extra):
        m = {"cv_mean": float(np.mean(folds)), "cv_std": 0.0, "fold_scores": folds,
             "step": len(folds), **extra}  # fmt: skip
        study.add_trial(create_trial(
            state=state, value=m["cv_mean"] if state == TrialState.COMPLETE else None,
            params={"x": 0.5}, distributions=d, user_attrs={"metrics": m},
            intermediate_values={i + 1: f for i, f in enumerate(folds)},
        ))  # fmt: skip

    for v in (0.6, 0.8, 0.7):
        add(TrialState.COMPLETE, [v, v, v])
    add(TrialState.PRUNED, [0.97, 0.97], pruned_step=2)
    add(TrialState.FAIL, [0.99, 0.99], fail_reason="stopped by user")

    snap = LiveRun(storage, "cut-short").snapshot()
    assert snap.best["number"] == 1 and snap.best["value"] == pytest.approx(0.8)
    figs = chart_mod.live_figures(snap)
    for key in ("by_trial", "by_time"):
        fig = figs[key]
        names = [t.name for t in fig.data]
        assert not [n for n in names if n.startswith(("pruned", "stopped"))], names
        ys = [float(y) for t in fig.data for y in t.y]
        assert max(ys) == pytest.approx(0.8), key
        assert "2 pruned, stopped or failed not drawn" in fig.layout.title.subtitle.text
    curves = {c.number for c in snap.curves}
    assert {3, 4} <= curves  # the cut-short trials keep their learning curves
    top = tables.top_table(snap.df, Scoring("accuracy"))
    assert top["accuracy"].max() == pytest.approx(0.8) and set(top["trial"]) == {0, 1, 2}


def _importance(shares: dict[str, float], n_complete: int, method: str) -> Importance:
    table = pd.DataFrame({"param": list(shares), "importance": list(shares.values())})
    table = table.assign(low=table["importance"], high=table["importance"], above_next=np.nan)
    return Importance(table, method, n_complete, 0, 0.0, "", n_complete)


def test_the_importance_chart_says_when_evaluators_disagree():
    fig = chart_mod.importance_bars(_importance({"kernel": 0.7, "C": 0.3}, 30, "mdi"),
                                    "PED-ANOVA ranks C above kernel")  # fmt: skip
    sub = fig.layout.title.subtitle.text
    assert "mean decrease impurity importance<br>over 30" in sub
    assert "PED-ANOVA ranks C above kernel (see Analysis)" in sub.replace("<br>", " ")
    # wrapped: half of a 900 px window cut the longer disagreements at the chart's edge
    long = chart_mod.importance_bars(_importance({"alpha": 0.7, "fit_intercept": 0.3}, 30, "mdi"),
                                     "PED-ANOVA ranks fit_intercept above alpha")  # fmt: skip
    assert max(len(line) for line in long.layout.title.subtitle.text.split("<br>")) <= 34
    one = chart_mod.importance_bars(_importance({"a": 1.0}, 5, "ped_anova"))
    assert "⚠" not in one.layout.title.subtitle.text


def test_placeholder_shows_the_pages_layout_before_the_first_snapshot():
    from streamlit.testing.v1 import AppTest

    def page():
        from ui import monitor

        monitor.skeleton()

    at = AppTest.from_function(page).run()
    assert not at.exception
    assert [label for label, _ in tiles(at)] == list(monitor.METRIC_LABELS)
    assert {value for _, value in tiles(at)} == {"…"}
    figs = charts(at)
    assert set(figs) == {"Score of every trial", "Score over time"}
    assert all(f["layout"]["annotations"][0]["text"] == "Loading trials…" for f in figs.values())


def _stand_in(at) -> list[str]:
    """The lines of the run picker's stand-in as shown, if the page drew one."""
    from ui import widgets

    def walk(nodes):
        for node in nodes:
            if getattr(node, "key", None) == widgets.STAND_IN:
                return texts(c for c in node.children.values() if c.type == "markdown")
            found = walk(getattr(node, "children", {}).values())
            if found:
                return found
        return []

    return walk(list(at.main))


def test_a_browsers_first_look_names_the_run_and_draws_its_picker_once_a_chart_is_drawn(
    monkeypatch,
):
    """Issue 24 item 16: on a browser's first look the selectbox's code held the first chart
    back, so the run's name stands in the picker's place and the page's next run (which the
    browser asks for once it has drawn the chart, ui/painted.py) brings the picker and the
    rest of the page. AppTest has no browser: a User-Agent is set to play one."""
    from streamlit.runtime.context import ContextProxy

    name = finished_run(n_trials=6)
    monkeypatch.setattr(ContextProxy, "headers", property(lambda self: {"User-Agent": "Chromium"}))
    at = ok(app(LIVE))
    assert _stand_in(at) == ["Run", name]
    assert state.LIVE_PICK not in [s.key for s in at.selectbox]
    assert "Score of every trial" in charts(at)  # the first chart comes with the stand-in
    assert "Learning curves" not in charts(at)  # the rest waits for the browser's signal
    at = ok(at.run())  # the signal's rerun
    assert _stand_in(at) == []
    assert at.selectbox(key=state.LIVE_PICK).value == name
    assert {"Score of every trial", "Learning curves"} <= set(charts(at))
    at = ok(at.run())  # once per session: later looks draw the picker at once
    assert at.selectbox(key=state.LIVE_PICK).value == name and _stand_in(at) == []
