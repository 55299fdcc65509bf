"""Helpers for tests (and benchmarks) that drive a real `streamlit run app.py` with Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("TUNING_STUDIO_REQUIRE_BROWSER"),
    reason=f"{CHROMIUM} is missing (apt-get install chromium)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    data: Path, port: int, log_path: Path | None = None, **env_extra: str
) -> subprocess.Popen:
    """`streamlit run app.py` on `port` with its data under `data`; returns once healthy.
    Its output goes to `log_path` (default: a new server-TIME.log in `data`)."""
    env = {**os.environ, "TUNING_STUDIO_DATA": str(data), **env_extra}
    env.pop("TUNING_STUDIO_STORAGE", None)
    log_path = log_path or data / f"server-{time.time():.0f}.log"
    log = open(log_path, "w")  # noqa: SIM115 (the child owns it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    end = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                if r.read() == b"ok":
                    return proc
        except OSError:
            if proc.poll() is not None or time.time() > end:
                tail = log_path.read_text()[-3000:]
                raise RuntimeError(f"the server did not start:\n{tail}") from None
            time.sleep(0.2)


def idle(page, expect, timeout_ms: int = 60_000) -> None:
    page.wait_for_timeout(300)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout_ms
    )
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout_ms)


def open_page(page, url: str, expect, timeout_ms: int = 60_000) -> None:
    # the same patience for the first load as for the rest (Playwright's default is 30 s):
    # the load test gives a page 120 s while runs keep both cores busy
    page.goto(url, timeout=timeout_ms)
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(
        state="attached", timeout=60_000
    )
    idle(page, expect, timeout_ms)


def full_page_screenshot(page, path) -> None:
    """Grow the viewport to the page's height first: Streamlit scrolls inside stMain, so a
    plain full_page shot stops at the window."""
    height = page.evaluate(
        "() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight"
    )
    page.set_viewport_size({"width": 1400, "height": max(1000, int(height) + 40)})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(path), full_page=True)


def set_number(page, expect, name: str, value: int) -> None:
    """Type `value` into the number input labelled `name` and wait for the rerun."""
    box = page.get_by_role("spinbutton", name=name, exact=True)
    box.fill(str(value))
    box.press("Enter")
    idle(page, expect)


def cv_folds_to_3(page, expect):
    """Two steps down from New run's default of 5 folds; returns the slider."""
    folds = page.get_by_test_id("stSlider").filter(has_text="CV folds").get_by_role("slider")
    folds.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    idle(page, expect)
    return folds


def wait(pred, timeout: float, what: str):
    end = time.time() + timeout
    while time.time() < end:
        with contextlib.suppress(Exception):
            value = pred()
            if value:
                return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
