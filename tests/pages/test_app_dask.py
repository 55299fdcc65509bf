"""New run, Compare and the sidebar with a Dask cluster named by whoever started the app."""

from __future__ import annotations

import pytest
from app_support import (
    LIVE,
    NEW_RUN,
    app,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    ok,
    runs,
    texts,
    wait_until_idle,
)
from test_app_new_run import _fill_knn_form

from tuning.runs import cluster
from tuning.store.run import StoredRun
from tuning.store.runs import load_study
from ui import state

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.usefixtures("fresh_data"), pytest.mark.timeout(180)]
UNREACHABLE = "tcp://127.0.0.1:9"
COMPARE = "app_pages/compare.py"


def test_without_a_cluster_there_is_no_choice_and_no_sidebar_line(monkeypatch):
    monkeypatch.delenv(cluster.ENV_DASK, raising=False)
    at = ok(app(NEW_RUN))
    assert not [r for r in at.radio if r.key == "where"]
    assert "Dask cluster" not in texts(at.sidebar.caption)


def test_an_unreachable_scheduler_is_a_clear_message_at_launch(monkeypatch):
    monkeypatch.setenv(cluster.ENV_DASK, UNREACHABLE)
    monkeypatch.setattr(cluster.connect, "__defaults__", (1.0,))
    at = ok(app(NEW_RUN))
    assert "Dask cluster" in texts(at.sidebar.caption)
    assert UNREACHABLE in texts(at.sidebar.text)
    where = at.radio(key="where")
    assert where.value == "local" and where.options == [
        "this machine", f"Dask cluster at {UNREACHABLE}",
    ]  # fmt: skip
    at = _fill_knn_form(at)
    at.radio(key="where").set_value("dask").run()
    assert at.number_input(key="workers").label == "Dask workers"
    at.button(key="launch").click().run()
    errors = texts(ok(at).error)
    assert any(f"Cannot reach the Dask scheduler at {UNREACHABLE}" in e for e in errors)
    assert runs() == []  # nothing created
    at = ok(at.switch_page(COMPARE).run())
    assert at.radio(key="cmp_where").options[1] == f"Dask cluster at {UNREACHABLE}"


def test_a_run_launched_on_the_cluster_runs_there(monkeypatch):
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as lc:
        monkeypatch.setenv(cluster.ENV_DASK, lc.scheduler_address)
        at = _fill_knn_form(app(NEW_RUN))
        at.radio(key="where").set_value("dask").run()
        at.number_input(key="workers").set_value(2).run()
        at.button(key="launch").click().run()
        ok(at)
        name = at.session_state[state.SELECTED_RUN]
        assert StoredRun.open(name).config().cluster == "dask"
        wait_until_idle(timeout=120)
        trials = load_study(name).get_trials(deepcopy=False)
        assert len(trials) == 4 and all(t.state.name == "COMPLETE" for t in trials)
        workers = {t.user_attrs["metrics"]["worker"] for t in trials}
        assert workers <= set(lc.scheduler_info["workers"])
        at = ok(at.switch_page(LIVE).run())
        if len(workers) > 1:
            assert any("Trials per Dask worker" in c for c in texts(at.caption))
        cluster.disconnect()
