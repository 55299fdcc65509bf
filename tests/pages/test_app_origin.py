"""Where the trials came from, on Live monitor and Analysis (issue 26): the count line, the
filter by origin, the origin column of the top trials and the trials chart's hovers."""

from __future__ import annotations

import pytest
from app_support import (
    LIVE,
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    ok,
    texts,
)

from ui import origin_view, state

pytestmark = pytest.mark.usefixtures("fresh_data")


def _table(at, heading_column: str):
    return next(d.value for d in at.dataframe if heading_column in d.value.columns)


def test_live_monitor_counts_origins_and_filters_the_trials_by_origin():
    # TPE with 3 start-up trials over 6: the library defaults, 2 random draws, 3 from the model.
    finished_run(n_trials=6, method="tpe", method_options={"n_startup_trials": 3})
    at = ok(app(LIVE))
    assert "Trials so far: 3 model-guided, 2 start-up, 1 library defaults." in texts(at.caption)
    listed = _table(at, "where it came from")
    assert list(listed["trial"]) == [5, 4, 3, 2, 1, 0]  # the newest first
    assert listed["where it came from"].iloc[-1] == "Queued: the library defaults."
    top = _table(at, "± std (folds)")
    # In the table, in short (its sentence is in the list above and in the chart's hovers).
    assert set(top["origin"]) == {"library defaults", "start-up", "model-guided"}

    pick = at.multiselect(key="live_origin_filter")
    assert sorted(pick.options) == ["library defaults", "model-guided", "start-up"]
    pick.set_value(["start-up"]).run()
    listed = _table(ok(at), "where it came from")
    assert list(listed["trial"]) == [2, 1]
    assert listed["where it came from"].str.startswith("Start-up trial").all()

    by_trial = charts(at)["Score of every trial"]
    hovers = [h for t in by_trial["data"] for h in (t.get("text") or [])]
    assert any("Queued: the library defaults." in h for h in hovers)
    assert any("Proposed by TPE, from the 5 trials finished by then." in h for h in hovers)


def test_analysis_lists_where_the_trials_came_from():
    finished_run(n_trials=4, method="grid", grid_points=2)
    at = ok(app(state.PAGE_ANALYSIS))
    line = next(c for c in texts(at.caption) if c.startswith("Trials so far:"))
    n = len(_table(at, "where it came from"))
    assert line == f"Trials so far: {n} grid points." and n > 1
    assert at.multiselect(key="analysis_origin_filter").options == ["grid point"]


def test_the_list_keeps_the_newest_trials_when_there_are_many():
    import pandas as pd

    df = pd.DataFrame({
        "number": range(600), "state": ["complete"] * 600, "value": [0.5] * 600,
        "origin_kind": ["random"] * 600, "origin_text": ["Drawn at random."] * 600,
    })  # fmt: skip
    table = origin_view.origin_table(df)
    assert len(table) == origin_view.MAX_ROWS and table["trial"].iloc[0] == 599
    assert origin_view.count_line(df) == "600 random"
