"""Every page at 900 and 1600 px (issue 24, item 8): nothing wider than the window, no metric
cut to "0.…", no button label cut or set a letter a line, no word of a label broken across lines,
no chart title running past its chart, no exception. One server and one browser for all pages; a small finished run is
made first (the command line, seconds), so that Live monitor, Analysis and Report show one.
Each page is opened at 1600 px, checked, then narrowed to 900 px and checked again (Streamlit
lays columns out in the browser, so a resize is what a narrower window shows). Screenshots go
to the test's tmp dir (pytest --basetemp to keep them somewhere)."""

from __future__ import annotations

import re

import pytest
from browser_support import (
    ARGS,
    CHROMIUM,
    FIRST_LOOK_HEAD,
    free_port,
    idle,
    layout_problems,
    needs_chromium,
    open_page,
    screenshot_at,
    seed_finished_run,
    seed_stopped_run,
    start_server,
)

pytestmark = needs_chromium
WIDTHS = (1600, 900)
PAGES = [
    pytest.param("", id="home"),
    pytest.param("new_run", id="new_run"),
    pytest.param("live_monitor", id="live_monitor"),
    pytest.param("live_monitor?run=halted", id="live_monitor_resume"),  # Resume beside the badge
    pytest.param("live_monitor?run=tradeoff", id="live_monitor_tradeoff"),  # front, hypervolume
    pytest.param("analysis", id="analysis"),
    pytest.param("report", id="report"),
    pytest.param("compare", id="compare"),
    pytest.param("compare?experiment=recorded-classic-race", id="compare_recorded_race"),
    pytest.param("learn", id="learn"),
]


LONG_NAME = "knn-random-iris-on-the-presenters-laptop-20261207-011334"  # as long as a demo's
DEFAULT_RUN = "seeded"  # seed_finished_run's name: the newest run, the pages' default


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from playwright import sync_api

    data = tmp_path_factory.mktemp("widths")
    seed_finished_run(data, LONG_NAME, 3)  # before the others: not the pages' default
    seed_stopped_run(data)  # first: the finished run stays the pages' default
    seed_finished_run(data, "tradeoff", 12, ("accuracy", "fit_seconds"))  # reference point fixed
    seed_finished_run(data)
    port = free_port()
    log = data / "server.log"
    proc = start_server(data, port, log_path=log)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            yield browser, f"http://127.0.0.1:{port}", sync_api.expect
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert "Traceback" not in log.read_text()


@pytest.mark.timeout(300)
def test_live_monitor_first_look_draws_the_score_charts_then_the_rest(app):
    """A fresh browser's first look at Live monitor comes in two script runs (the tiles and
    first score chart, then the rest once the browser has drawn it: issue 24 item 16); it
    must always end with the whole page."""
    browser, url, expect = app
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.add_init_script(WATCH_FIRST_LOOK)
    try:
        page.goto(f"{url}/live_monitor", timeout=120_000)
        expect(page.get_by_text("Top trials").first).to_be_visible(timeout=120_000)
        for title in ("Score of every trial", "Score over time", "Learning curves"):
            expect(page.get_by_text(title).first).to_be_visible()
        expect(page.get_by_text(FIRST_LOOK_HEAD)).to_have_count(0)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        # The run's name stood in the picker's place, no selectbox came with the first chart,
        # and the picker took the stand-in's place and size, on the same run.
        look = page.evaluate("() => window.__look")
        assert look["chart"] == {"selectboxes": 0}, look
        assert look["standIn"]["text"] == ["Run", DEFAULT_RUN], look
        picker = page.get_by_test_id("stSelectbox").filter(has_text="Run").first
        expect(picker.locator("input")).to_have_value(DEFAULT_RUN)
        box = picker.bounding_box()
        assert [round(box["y"]), round(box["height"])] == look["standIn"]["box"], (box, look)
        assert page.locator(".st-key-run-stand-in").count() == 0
        # The picker works: another run is shown, and the link names it.
        picker.locator("input").click()
        picker.locator("input").fill(LONG_NAME)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(f"run={LONG_NAME}"), timeout=60_000)
        idle(page, expect)
        expect(picker.locator("input")).to_have_value(LONG_NAME)
        expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        page.close()


# Watches a first look frame by frame until the first chart is drawn: the stand-in's lines and
# box then, and how many selectboxes the main area held.
WATCH_FIRST_LOOK = """window.__look = {};
const watch = () => {
  const look = window.__look, s = document.querySelector('.st-key-run-stand-in');
  const drawn = [...document.querySelectorAll('.js-plotly-plot')]
    .some((el) => el.data && el.data.length && el._fullLayout);
  if (s) {
    const r = s.getBoundingClientRect();
    look.standIn = {text: s.innerText.split('\\n').filter((line) => line),
                    box: [Math.round(r.top), Math.round(r.height)]};
  }
  if (drawn) look.chart = {selectboxes:
    document.querySelectorAll("[data-testid='stMain'] [data-testid='stSelectbox']").length};
  else requestAnimationFrame(watch);
};
requestAnimationFrame(watch);"""


TABLE_SCROLL = """() => { const s = document.querySelector("[data-testid='stDataFrame'] .dvn-scroller");
  return s ? [s.scrollWidth, s.clientWidth] : null; }"""


@pytest.mark.timeout(300)
def test_homes_runs_table_fits_a_1600_px_window(app):
    """At 1600 px the table's last columns (the score, when each run started) sat past its
    right edge, its gain cut mid-number; a long run name now gives way, keeping both ends."""
    browser, url, expect = app
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        open_page(page, url, expect, timeout_ms=120_000)
        expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(500)
        scroll_width, client_width = page.evaluate(TABLE_SCROLL)
        assert scroll_width <= client_width, (scroll_width, client_width)
    finally:
        page.close()


PLOT_BOXES = """() => [...document.querySelectorAll("[data-testid='stMain'] .js-plotly-plot")]
  .slice(0, 2).map((el) => { const r = el.getBoundingClientRect();
                             return [Math.round(r.left), Math.round(r.top), Math.round(r.width)]; })"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("path", "second"),
    [("live_monitor", "Score over time"),
     ("compare?experiment=recorded-classic-race", "Best score by time")],
)  # fmt: skip
def test_chart_pairs_sit_side_by_side_when_wide_and_one_above_the_other_when_narrow(
    app, path, second
):
    """At 900 px two charts side by side were 220 px each (Live monitor's legend over its
    subtitle, Compare's best-so-far curves squeezed to a few ticks)."""
    browser, url, expect = app
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        open_page(page, f"{url}/{path}", expect, timeout_ms=120_000)
        expect(page.get_by_text(second).first).to_be_visible(timeout=60_000)
        (l1, t1, w1), (l2, t2, w2) = page.evaluate(PLOT_BOXES)
        assert t1 == t2 and l2 > l1 + w1 - 1 and min(w1, w2) >= 440  # side by side
        page.set_viewport_size({"width": 900, "height": 1000})
        page.wait_for_timeout(1500)
        (l1, t1, w1), (l2, t2, w2) = page.evaluate(PLOT_BOXES)
        assert l1 == l2 and t2 > t1 + 200 and min(w1, w2) >= 400  # one above the other
    finally:
        page.close()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", PAGES)
def test_page_fits_900_and_1600_px(app, path, tmp_path):
    browser, url, expect = app
    page = browser.new_page(viewport={"width": WIDTHS[0], "height": 1000})
    try:
        # Learn's first visit runs its searches: the longest first render of the app.
        open_page(page, f"{url}/{path}", expect, timeout_ms=180_000)
        found = {}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(800)  # the resize's relayout (Plotly redraws on its own timer)
            idle(page, expect)
            if problems := layout_problems(page):
                found[width] = problems
            shot = (path or "home").replace("?", "-").replace("=", "-")
            screenshot_at(page, tmp_path / f"{shot}-{width}.png", width)
        assert not found, found
    finally:
        page.close()
