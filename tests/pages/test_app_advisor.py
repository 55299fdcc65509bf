"""Live monitor: the stop advisor's sentence and chart, and the reason a run it ended records."""

from __future__ import annotations

import pytest
from app_support import (
    LIVE,
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    ok,
    storage,
    texts,
)

from tuning.core.config import DatasetRef, RunConfig
from tuning.plots.advisor import TITLE
from tuning.runs import experiments as ex

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
    said = " ".join(texts(at.success))
    assert "further trials are unlikely to gain more than the cv noise" in said.lower()
    assert "trials were enough" in said
    fig = charts(at)[TITLE]
    names = [t["name"] for t in fig["data"]]
    assert "CV noise of the best" in names and len(names) == 2
    assert fig["layout"]["xaxis"]["title"]["text"] == "trial"


def test_compare_shows_where_each_method_would_have_stopped():
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=30, cv_folds=3, n_jobs=1)
    name = ex.create_experiment(
        ex.ExperimentConfig(base=base, methods=("random", "tpe"), target=0.9), storage()
    )
    ex.run_experiment(name, storage())
    at = ok(app(COMPARE))
    table = next(d.value for d in at.dataframe if "Stop at trial (median)" in d.value)
    assert list(table["Method"]) == ["Random search", "Bayesian (TPE)"]
    assert set(table["Runs it would stop"]) <= {"0 of 1", "1 of 1"}
    assert any("Trials saved" in c for c in texts(at.caption))
