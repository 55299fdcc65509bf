"""Live monitor: the stop advisor's sentence and chart, and the reason a run it ended records."""

from __future__ import annotations

import pytest
from app_support import (
    LIVE,
    NEW_RUN,
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    ok,
    runs,
    storage,
    texts,
    wait_until_idle,
)

from tuning.core.config import DatasetRef, RunConfig
from tuning.plots.advisor import TITLE
from tuning.runs import experiments as ex
from tuning.store.run import StoredRun
from ui import state

pytestmark = pytest.mark.usefixtures("fresh_data")
COMPARE = "app_pages/compare.py"


def test_short_run_says_how_many_more_trials_the_advisor_needs():
    finished_run(n_trials=6)
    at = ok(app(LIVE))
    said = " ".join(texts(at.info))
    assert "needs 20 complete trials" in said and "14 more" in said
    assert TITLE not in charts(at)  # no empty chart on a finished run


def test_run_stopped_when_flat_shows_its_reason_sentence_and_chart():
    # kNN on iris scores within its CV noise from the start: the advisor ends it early.
    finished_run(n_trials=60, method="tpe", stop_when_flat=True)
    at = ok(app(LIVE))
    reason = [s for s in texts(at.success) if s.startswith("Stopped by the stop advisor")]
    assert reason and "CV noise" in reason[0]
    said = " ".join(texts(at.success)).lower()
    # by the bound, or by its plateau test (the best stood still)
    assert ("further trials are unlikely to gain more than the cv noise" in said
            or "rose by less than the cv noise" in said)  # fmt: skip
    assert "trials were enough" in said
    fig = charts(at)[TITLE]
    names = [t["name"] for t in fig["data"]]
    assert names == ["bound on what further trials can gain",
                     "gain of the best over the last trials", "CV noise of the best"]  # fmt: skip
    assert fig["layout"]["xaxis"]["title"]["text"] == "trial"


def test_compare_shows_where_each_method_would_have_stopped():
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=30, cv_folds=3, n_jobs=1)
    name = ex.create_experiment(
        ex.ExperimentConfig(base=base, methods=("random", "tpe"), target=0.9), storage()
    )
    ex.run_experiment(name, storage())
    at = ok(app(COMPARE))
    for _ in range(10):  # each look fits the advisor's model for a few seconds at most
        if not any("still to judge" in c for c in texts(at.caption)):
            break
        at = ok(at.run())
    table = next(d.value for d in at.dataframe if "Stop at trial (median)" in d.value)
    assert list(table["Method"]) == ["Random search", "Bayesian (TPE)"]
    assert set(table["Runs it would stop"]) <= {"0 of 1", "1 of 1"}
    assert any("Trials saved" in c for c in texts(at.caption))


def test_new_run_can_stop_when_flat_and_grid_search_is_not_offered_it():
    at = app(NEW_RUN)
    at.selectbox(key="model_classification").set_value("knn").run()
    at.selectbox(key="method").set_value("random").run()
    at.number_input(key="n_trials").set_value(4).run()
    at.slider(key="cv_folds").set_value(3).run()
    box = at.checkbox(key="stop_when_flat")
    assert box.value is False and "CV noise" in box.help
    box.check().run()
    at.button(key="launch").click().run()
    ok(at)
    name = at.session_state[state.SELECTED_RUN]
    wait_until_idle()
    assert [r.name for r in runs()] == [name]
    assert StoredRun.open(name).config().stop_when_flat is True
    at = ok(app(NEW_RUN))
    at.selectbox(key="method").set_value("grid").run()
    assert not [c for c in at.checkbox if c.key == "stop_when_flat"]
