"""Real-browser test: the app under `streamlit run`, driven by Chromium through Playwright.

Opens New run straight from its URL (as a bookmark after a server start would), launches a
small run (iris, k-nearest neighbours, random search, 6 trials, 3 folds), and watches the Live
monitor update itself (run_every fragment) until the run finishes. A screenshot is saved to
screenshots/ (gitignored). Skipped only when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import contextlib
import re
import time

import pytest
from browser_support import (
    ARGS,
    CHROMIUM,
    ROOT,
    cv_folds_to_3,
    free_port,
    full_page_screenshot,
    needs_chromium,
    open_page,
    set_number,
    start_server,
)
from browser_support import idle as _idle

SHOTS = ROOT / "screenshots"

# CI sets TUNING_STUDIO_REQUIRE_BROWSER=1: there a missing browser fails instead of skipping.
pytestmark = needs_chromium


@pytest.fixture
def server(tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    proc = start_server(tmp_path, port, log_path=log)
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _pick(page, expect, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
    box.locator("input").click()
    box.locator("input").fill(option)
    page.keyboard.press("Enter")
    _idle(page, expect)


def _metric(page, label: str) -> str:
    """The number under `label` in a widgets.tile."""
    box = page.locator("[class*='st-key-tile-']").filter(has_text=label).first
    return box.get_by_test_id("stMarkdownContainer").last.inner_text().strip()


def test_launch_a_run_and_watch_it_live(server):
    from playwright import sync_api

    expect = sync_api.expect
    url, log = server
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_page(page, f"{url}/new_run", expect)
        expect(page.get_by_role("heading", name="New run")).to_be_visible()
        expect(page.get_by_role("link", name="Live monitor")).to_be_visible()  # app.py's navigation

        _pick(page, expect, "Model", "k-nearest neighbours")
        _pick(page, expect, "Search method", "Random search")
        set_number(page, expect, "Trials", 6)
        folds = cv_folds_to_3(page, expect)
        expect(folds).to_have_attribute("aria-valuetext", "3")

        page.get_by_role("button", name="Launch run").click()
        page.wait_for_url(re.compile(r".*/live_monitor(\?.*)?$"), timeout=30_000)
        expect(page.get_by_role("heading", name="Live monitor")).to_be_visible(timeout=30_000)

        # The page updates itself: no reload, no click. Record what "Trials done" shows.
        seen = []
        end = time.time() + 90
        while time.time() < end:
            with contextlib.suppress(Exception):  # the fragment is being redrawn
                seen.append(_metric(page, "Trials done"))
            if seen and seen[-1] == "6" and page.get_by_text("Held-out test score").count():
                break
            page.wait_for_timeout(250)
        assert seen and seen[-1] == "6", seen[-10:]
        done_counts = [int(s) for s in seen if s.isdigit()]
        assert done_counts == sorted(done_counts)  # it only moves forward
        # The first render comes right after the launch, before the run can finish: the
        # numbers seen later arrived by the fragment's own polling.
        assert len(set(done_counts)) >= 2, seen
        best = _metric(page, "Best accuracy")
        assert re.fullmatch(r"0\.\d{4}|1\.0000", best), best
        expect(
            page.get_by_test_id("stBadge").or_(page.get_by_text("finished")).first
        ).to_be_visible()
        for title in ("Score of every trial", "Score over time", "Learning curves"):
            expect(page.get_by_text(title).first).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)

        _idle(page, expect)
        full_page_screenshot(page, SHOTS / "browser_live_monitor.png")
        browser.close()
    assert "Traceback" not in log.read_text()


def test_a_pbt_run_launched_in_the_browser_shows_its_population_live(server):
    """MLP + population-based training on iris: the Live monitor follows it and draws the
    population, the lineage and the schedule."""
    from playwright import sync_api

    expect = sync_api.expect
    url, log = server
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_page(page, f"{url}/new_run", expect)
        _pick(page, expect, "Model", "Neural network (PyTorch MLP)")
        _pick(page, expect, "Search method", "Population-based training")
        set_number(page, expect, "Population size", 3)
        set_number(page, expect, "Perturbation interval (epochs)", 20)
        expect(page.get_by_text("= 180 epochs in all, recorded as 9 segments")).to_be_visible()
        page.get_by_role("button", name="Launch run").click()
        page.wait_for_url(re.compile(r".*/live_monitor(\?.*)?$"), timeout=30_000)
        seen = []
        end = time.time() + 180
        while time.time() < end:
            with contextlib.suppress(Exception):
                seen.append(_metric(page, "Trials done"))
            if seen and seen[-1] == "9" and page.get_by_text("Held-out test score").count():
                break
            page.wait_for_timeout(250)
        assert seen and seen[-1] == "9", seen[-10:]
        _idle(page, expect)
        for title in ("Population: validation score per epoch", "Lineage of the best member",
                      "Hyperparameter schedule of the best member"):  # fmt: skip
            expect(page.get_by_text(title).first).to_be_visible()
        expect(page.get_by_text("the best member's own network").first).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        full_page_screenshot(page, SHOTS / "browser_pbt_live_monitor.png")
        browser.close()
    assert "Traceback" not in log.read_text()


def test_learn_page_plays_steps_and_reveals_a_guess(server):
    """The Learn page from its URL: the animated chart renders in Chromium, Step ▶ moves the
    explained trial, and a guess is revealed with its distance."""
    from playwright import sync_api

    expect = sync_api.expect
    url, log = server
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = time.time()
        # The first visit runs four searches and imports Optuna, SciPy and Plotly: on a busy
        # 2-core machine that took over a minute, so this one wait is longer.
        open_page(page, f"{url}/learn", expect, timeout_ms=180_000)
        expect(page.get_by_role("heading", name="Learn", exact=True)).to_be_visible()
        charts = page.get_by_test_id("stPlotlyChart")
        expect(charts.first.locator(".main-svg").first).to_be_attached(timeout=60_000)
        rendered = time.time() - start
        # One trial control (Streamlit's), no Plotly slider or Play of the figure's own.
        expect(page.get_by_role("button", name="▶ Play")).to_be_visible()
        expect(page.locator(".updatemenu-button")).to_have_count(0)
        expect(charts).to_have_count(4)  # landscapes, one method's internals, guess, regret

        slider = page.get_by_test_id("stSlider").filter(has_text="Trial").get_by_role("slider")
        before = int(slider.get_attribute("aria-valuetext"))
        expect(page.get_by_text(f"Trial {before}: where each method has sampled")).to_be_visible()
        page.get_by_role("button", name="Step ▶").click()
        _idle(page, expect)
        assert int(slider.get_attribute("aria-valuetext")) == before + 1
        expect(page.get_by_text(f"Trial {before + 1}: where each method has sampled")).to_be_visible()
        expect(page.get_by_text(f"Trial {before + 1}: where it samples next")).to_be_visible()

        page.get_by_test_id("stRadio").get_by_text("Bayesian (TPE)").click()
        _idle(page, expect)
        expect(page.get_by_text("TPE's good and bad densities").first).to_be_visible()

        page.get_by_role("button", name="Reveal", exact=True).click()
        _idle(page, expect)
        expect(page.get_by_text("of the landscape's diagonal from your guess")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)

        full_page_screenshot(page, SHOTS / "browser_learn.png")
        browser.close()
    print(f"Learn page: first render in the browser {rendered:.1f} s")
    assert "Traceback" not in log.read_text()
