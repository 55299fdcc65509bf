"""Report page: summary, the downloads (HTML, Markdown, CSV, script, best model), preview."""

from __future__ import annotations

import html
import re

import pytest
from app_support import (
    app,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    metrics,
    ok,
    texts,
)
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from ui import report_view as view
from ui import state

pytestmark = pytest.mark.usefixtures("fresh_data")


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[str, bytes]]:
    """What every st.download_button offers, by media file id: (file name, bytes).
    AppTest keeps no media files after a run, so record them as they are added."""
    saved: dict[str, tuple[str, bytes]] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        saved[file_id] = (filename, path_or_data)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return saved


def offered(button, downloads) -> tuple[str, bytes]:
    """(file name, bytes) behind a download button (its URL ends in the media file id)."""
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    return downloads[file_id]


def test_report_summary_and_downloads(downloads):
    name = finished_run(n_trials=5)
    at = ok(app(state.PAGE_REPORT))
    assert at.selectbox(key=state.LIVE_PICK).value == name
    m = metrics(at)
    assert m["Best trial"].startswith("#") and m["Complete trials"] == "5 of 5"
    assert 0.5 < float(m["Best CV accuracy"]) <= 1.0
    assert 0.5 < float(m["Test accuracy"]) <= 1.0
    # The test accuracy carries its uncertainty: a 95 % Wilson interval on iris's 30 held-out rows.
    test = next(x for x in at.metric if x.label == "Test accuracy")
    low, high = map(float, re.match(r"95 %: ([\d.]+)–([\d.]+) \(30 rows\)", test.delta).groups())
    assert low < float(m["Test accuracy"]) <= high
    params = next(d.value for d in at.dataframe if "parameter" in d.value.columns)
    assert {"n_neighbors", "weights", "p"} <= set(params["parameter"])

    files = {
        view.DL_HTML: f"{name}-report.html",
        view.DL_MD: f"{name}-report.md",
        view.DL_CSV: f"{name}-trials.csv",
        view.DL_SCRIPT: f"{name}-reproduce.py",
    }
    got = {}
    for key, filename in files.items():
        button = at.download_button(key=key)
        assert not button.disabled
        got[key] = offered(button, downloads)
        assert got[key][0] == filename and got[key][1]
    page = got[view.DL_HTML][1]
    assert b"https://" not in page and b"http://" not in page
    assert f"<title>Tuning report: {html.escape(name)}</title>".encode() in page
    csv = got[view.DL_CSV][1].decode()
    assert csv.splitlines()[0].startswith("number") and len(csv.splitlines()) == 6
    script = got[view.DL_SCRIPT][1].decode()
    compile(script, "reproduce.py", "exec")
    assert script.strip() in [c.value.strip() for c in at.code]
    assert any("Tuning report" in t for t in texts(at.markdown))  # the preview
    assert "## Recommendations" in got[view.DL_MD][1].decode()

    # The best model is refit only on request.
    assert not any(b.key == view.DL_MODEL for b in at.download_button)
    at.button(key=view.PREPARE_MODEL).click().run()
    filename, data = offered(ok(at).download_button(key=view.DL_MODEL), downloads)
    assert filename == f"{name}-best.skops" and len(data) > 100
    at.run()  # kept: no second refit, no button
    assert ok(at).download_button(key=view.DL_MODEL)
    assert not any(b.key == view.PREPARE_MODEL for b in at.button)


def test_the_chosen_run_follows_the_user_across_pages_and_into_the_url():
    """A run chosen on Live monitor stays chosen on Report, Analysis and back on Live monitor
    (st.navigation drops the query params and cleans up widget keys between pages: the choice
    lives in a plain key and every page writes it back into the URL)."""
    a = finished_run(n_trials=3, name="run-a")
    b = finished_run(n_trials=3, name="run-b")  # newer: the default
    at = ok(app(state.PAGE_LIVE))
    assert at.selectbox(key=state.LIVE_PICK).value == b
    at.selectbox(key=state.LIVE_PICK).set_value(a).run()
    assert ok(at).query_params.get("run") in (a, [a])  # the URL names it
    for page in (state.PAGE_REPORT, state.PAGE_ANALYSIS, state.PAGE_LIVE, state.PAGE_HOME,
                 state.PAGE_REPORT):  # fmt: skip
        at.switch_page(page)
        at.query_params.clear()  # the browser drops them on a page switch
        ok(at.run())
        if page == state.PAGE_HOME:  # Home's open / delete picker starts on it too
            assert at.selectbox(key=state.HOME_PICK).value == a
            continue
        assert at.selectbox(key=state.LIVE_PICK).value == a, page
        assert at.session_state[state.SELECTED_RUN] == a, page
        assert at.query_params.get("run") in (a, [a]), page


def test_the_default_run_is_the_newest_with_complete_trials():
    """A never-started member of an experiment is newer, but has nothing to show: the pages
    open on the newest run that has complete trials."""
    from app_support import storage, tiny_config

    from tuning.runs.runner import create_run

    done = finished_run(n_trials=3, name="has-results")
    create_run(tiny_config(3, name="never-started"), storage())
    for page in (state.PAGE_REPORT, state.PAGE_ANALYSIS, state.PAGE_LIVE):
        at = ok(app(page))
        assert at.selectbox(key=state.LIVE_PICK).value == done, page
        assert at.selectbox(key=state.LIVE_PICK).options[0] == "never-started"  # still listed
