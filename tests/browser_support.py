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


def data_env(data: Path) -> dict[str, str]:
    """This process's environment, with `data` as the app's data folder and no other storage."""
    env = {**os.environ, "TUNING_STUDIO_DATA": str(data)}
    env.pop("TUNING_STUDIO_STORAGE", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    data: Path, port: int, log_path: Path | None = None, **env_extra: str
) -> subprocess.Popen:
    """`streamlit run app.py` on `port` with its data under `data`; returns once healthy.
    Its output goes to `log_path` (default: a new server-TIME.log in `data`)."""
    env = {**data_env(data), **env_extra}
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


FIRST_LOOK_HEAD = "Loading learning curves, importance and the top trials…"
IDLE_JS = """(head) => {
  const app = document.querySelector("[data-testid='stApp']");
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector("[data-testid='stSkeleton']")
    && !document.querySelector('.st-key-run-stand-in')
    && !document.body.innerText.includes(head);
}"""


def idle(page, expect, timeout_ms: int = 60_000) -> None:
    page.wait_for_timeout(300)
    # The script done, no skeleton left, and not between the two script runs of Live
    # monitor's first look (ui/monitor.py; its run picker's stand-in, ui/widgets.py), all at once.
    page.wait_for_function(IDLE_JS, arg=FIRST_LOOK_HEAD, timeout=timeout_ms, polling=100)


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


def screenshot_at(page, path, width: int) -> None:
    """A screenshot of the whole page at `width` (the viewport grown to the main block's height,
    then put back), for a person to look at."""
    height = page.evaluate(
        "() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight"
    )
    page.set_viewport_size({"width": width, "height": min(12_000, max(1000, int(height) + 40))})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})


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


def seed_finished_run(
    data: Path, name: str = "seeded", trials: int = 6, objectives: tuple[str, ...] = ()
) -> None:
    """A small finished run (iris, k-nearest neighbours, random search, 3 folds) in `data`'s
    journal, made by the command line before a server starts: seconds, and every page has a
    real run to show (scores, learning curves, a held-out test score). `objectives` (two or
    more): a multi-objective run of them instead."""
    env = data_env(data)
    chosen = [arg for o in objectives for arg in ("--objective", o)]
    subprocess.run(
        [sys.executable, "-m", "tuning", "run", "--dataset", "iris", "--model", "knn",
         "--method", "random", "--trials", str(trials), "--folds", "3", "--name", name,
         "--storage", f"journal:///{data}/runs.journal", "--quiet", *chosen],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=180,
    )  # fmt: skip


def seed_stopped_run(data: Path, name: str = "halted") -> None:
    """A run stopped by Ctrl-C after its first complete trial (iris, k-NN, random search):
    Live monitor then offers Resume beside its status."""
    import signal

    from tuning.store.storage import open_storage

    env = data_env(data)
    url = f"journal:///{data}/runs.journal"
    with open(data / f"{name}.err", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tuning", "run", "--dataset", "iris", "--model", "knn",
             "--method", "random", "--trials", "100000", "--folds", "3", "--n-jobs", "1",
             "--name", name, "--storage", url, "--quiet"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None and time.time() < deadline, "no trial completed"
            with contextlib.suppress(Exception):  # the journal is not written yet
                store = open_storage(url)
                sid = store.get_study_id_from_name(name)
                if any(t.state.name == "COMPLETE" for t in store.get_all_trials(sid)):
                    break
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(120) == 0, (data / f"{name}.err").read_text()[-2000:]
    finally:
        proc.kill()


# What a layout check reads in the page: the width the document and the main block need
# beyond what they have, every metric value whose text is wider than its tile (an ellipsis),
# every button whose label is cut or broken over several lines, and exception boxes.
LAYOUT_JS = r"""() => {
  const over = (el) => el ? Math.max(0, el.scrollWidth - el.clientWidth) : 0;
  const main = document.querySelector("[data-testid='stMain']");
  // A metric's value is cut with an ellipsis by CSS (text-overflow), which scrollWidth does not
  // show in Chromium: the text's own width, in the tile's font, against the tile's width.
  const ctx = document.createElement('canvas').getContext('2d');
  const cut = [];
  for (const v of document.querySelectorAll("[data-testid='stMetricValue']")) {
    const text = v.innerText.trim();
    ctx.font = getComputedStyle(v).font;
    if (ctx.measureText(text).width > v.clientWidth + 1 || v.scrollWidth > v.clientWidth + 1)
      cut.push(text);
  }
  // a metric's label cut with an ellipsis ("Paralle…" for "Parallel workers"): its markdown
  // box is the element that clips, and there scrollWidth does show the overflow
  for (const l of document.querySelectorAll(
      "[data-testid='stMetricLabel'] [data-testid='stMarkdownContainer']"))
    if (l.scrollWidth > l.clientWidth + 1) cut.push(l.innerText.trim());
  // a word of a label broken across lines ("Downloa / d"): its text's boxes on two lines
  const brokenWord = (el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (const m of n.data.matchAll(/\S+/g)) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        if (new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size > 1) return true;
      }
    }
    return false;
  };
  // a widgets.tile's label or number wider than its tile: Markdown breaks it ("0.98 / 58")
  for (const t of document.querySelectorAll("[class*='st-key-tile-'] [data-testid='stMarkdownContainer']"))
    if (brokenWord(t) || t.scrollWidth > t.clientWidth + 1) cut.push(t.innerText.trim());
  // a button whose label is cut ("O…"), set a letter a line ("S / t / a / r / t": more than
  // two lines; a long label may wrap once in a narrow column) or has a word broken
  const buttons = [];
  for (const b of document.querySelectorAll("[data-testid='stMain'] button[data-testid^='stBaseButton'],"
                                            + " [data-testid='stMain'] [data-testid='stPopoverButton']")) {
    const label = b.innerText.trim();
    const box = b.querySelector("[data-testid='stMarkdownContainer']") || b;
    if (label && (box.scrollWidth > box.clientWidth + 1 || b.getBoundingClientRect().height > 96
                  || brokenWord(box)))
      buttons.push(label.replace(/\s+/g, ''));
  }
  // a widget's label with a word broken across lines ("Trial / s" beside three other inputs)
  const labels = [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stWidgetLabel']")]
    .filter(brokenWord).map((l) => l.innerText.trim());
  // a chart's title or subtitle line that runs past its chart (Plotly does not wrap titles:
  // the hypervolume chart's reference-point line was cut "..., fi")
  const titles = [];
  for (const plot of document.querySelectorAll("[data-testid='stMain'] .js-plotly-plot")) {
    const box = plot.getBoundingClientRect();
    for (const t of plot.querySelectorAll('.gtitle')) {
      const r = t.getBoundingClientRect();
      if (r.width && (r.right > box.right + 1 || r.left < box.left - 1))
        titles.push(t.textContent.slice(0, 80));
    }
  }
  return {document: over(document.documentElement), main: over(main), cut_metrics: cut,
          broken_buttons: buttons, broken_labels: labels, cut_titles: titles,
          exceptions: document.querySelectorAll("[data-testid='stException']").length};
}"""


def layout_problems(page) -> dict:
    """What does not fit at the page's current width: {} when everything does."""
    found = page.evaluate(LAYOUT_JS)
    return {k: v for k, v in found.items() if v}
