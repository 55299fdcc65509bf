"""Live monitor's first chart in a fresh browser, side by side with a bare Streamlit page
with one Plotly chart (benchmarks/bare_chart_app.py) and, when installed, optuna-dashboard.

    python benchmarks/first_chart.py [--repeats 5] [--sizes 200 10000]

Target (issue 24, item 16): the Live monitor's first chart within 1.2x of the bare page's, at
200 and 10,000 trials. optuna-dashboard is measured only where it is installed (never in
requirements.txt): /work/.venv-bench/bin/python benchmarks/first_chart.py.

1. Builds one finished run per size (a real run from tuning.runs.runner.create_run, trials
   written with study.add_trials as in benchmarks/live_monitor.py) in its own temporary journal
   storage.
2. Per size, starts the app (`streamlit run app.py`, TUNING_STUDIO_DATA pointing there), the
   bare page (`streamlit run benchmarks/bare_chart_app.py`) and optuna-dashboard on the same
   journal file, each on a free port.
3. Opens each page in a fresh headless Chromium (a new browser process per measurement),
   rotating which server goes first, and reads, in the page's own clock (performance.now(),
   0 = navigation start):
   - first chart: the first `.js-plotly-plot` whose traces are drawn (data and a full layout);
     optuna-dashboard: the first plotly chart with data, or a recharts svg;
   - complete: the app: the script is done, no skeletons are left and every chart on the page
     is drawn; the bare page: its chart is drawn; optuna-dashboard: every plotly chart on the
     study page has data.
4. Prints the medians, the spread (min-max) and the ratio to the bare page (of the medians, and
   the median of each repeat's own ratio: the two were measured one after the other) and
   writes benchmarks/results/first_chart.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results" / "first_chart.txt"
TIMEOUT_MS = 300_000  # generous: optuna-dashboard takes minutes on large studies on a small machine

from live_monitor import CHROMIUM, CHROMIUM_ARGS, _free_port, make_trials  # noqa: E402

# A chart is drawn when plotly has data and a full layout on it (newPlot has run).
APP_FIRST = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot'))
    if (el.data && el.data.length && el._fullLayout) return performance.now();
  return false;
}"""
APP_DONE = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector("[data-testid='stSkeleton']")) return false;
  const charts = [...document.querySelectorAll("[data-testid='stPlotlyChart']")];
  if (charts.length < 4) return false;
  for (const c of charts) {
    const el = c.querySelector('.js-plotly-plot');
    if (!el || !el._fullLayout) return false;
  }
  return performance.now();
}"""
DASH_FIRST = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot'))
    if (el.data && el.data.length && el._fullLayout) return performance.now();
  if (document.querySelector('.recharts-surface')) return performance.now();
  return false;
}"""
DASH_DONE = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  if (plots.length < 2) return false;
  for (const el of plots)
    if (!(el.data && el.data.length && el._fullLayout)) return false;
  return performance.now();
}"""


def build_run(n_trials: int) -> tuple[str, str]:
    """A finished run with n_trials trials in a fresh folder: (folder, run name)."""
    from tuning.core.config import DatasetRef, RunConfig
    from tuning.models import get_model
    from tuning.runs.runner import create_run
    from tuning.store.run import StoredRun
    from tuning.store.runs import load_study
    from tuning.store.storage import JOURNAL_NAME, open_storage

    data = tempfile.mkdtemp(prefix=f"ts-first-{n_trials}-")
    storage = open_storage(f"journal:///{data}/{JOURNAL_NAME}")
    cfg = RunConfig(DatasetRef("seed-classification"), "random_forest", "tpe",
                    n_trials=n_trials, cv_folds=5, name=f"bench-{n_trials}")  # fmt: skip
    name = create_run(cfg, storage)
    study = load_study(name, storage)
    dists = get_model("random_forest").default_space("classification").distributions()
    rng = random.Random(0)
    t0 = dt.datetime.now() - dt.timedelta(seconds=n_trials + 100)
    study.set_user_attr("started_at", t0.astimezone(dt.UTC).isoformat(timespec="seconds"))
    for chunk in range(0, n_trials, 1000):
        study.add_trials(make_trials(chunk, min(1000, n_trials - chunk), dists, t0, rng))
    StoredRun(study).set_status("finished")
    return data, name


def _wait_http(url: str, what: str, limit_s: float = 90) -> None:
    t0 = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.perf_counter() - t0 > limit_s:
            raise RuntimeError(f"{what} did not answer in {limit_s:.0f} s")
        time.sleep(0.1)


DASHBOARD = Path(sys.executable).parent / "optuna-dashboard"


def _streamlit(script: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def start_servers(data: str) -> tuple[list[subprocess.Popen], dict[str, str]]:
    """The app, the bare page and (when installed) optuna-dashboard on one storage:
    (processes, {who: URL})."""
    env = {**os.environ, "TUNING_STUDIO_DATA": data}
    env.pop("TUNING_STUDIO_STORAGE", None)
    ports = {who: _free_port() for who in ("app", "bare", "dash")}
    procs = [_streamlit("app.py", ports["app"], env),
             _streamlit("benchmarks/bare_chart_app.py", ports["bare"], env)]  # fmt: skip
    base = {who: f"http://127.0.0.1:{port}" for who, port in ports.items()}
    urls = {"app": f"{base['app']}/live_monitor", "bare": base["bare"]}
    if DASHBOARD.exists():
        procs.append(subprocess.Popen(
            [str(DASHBOARD), str(Path(data) / "runs.journal"), "--port", str(ports["dash"]),
             "--host", "127.0.0.1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        urls["dash"] = f"{base['dash']}/dashboard/studies/0"
    _wait_http(f"{base['app']}/_stcore/health", "the app")
    _wait_http(f"{base['bare']}/_stcore/health", "the bare page")
    if "dash" in urls:
        _wait_http(f"{base['dash']}/api/studies", "optuna-dashboard")
    return procs, urls


def measure(pw, url: str, first_js: str, done_js: str) -> tuple[float, float]:
    """(first chart, complete) in seconds since navigation start, in a fresh browser; a wait
    past TIMEOUT_MS counts as infinite (the medians then say so)."""
    from playwright.sync_api import TimeoutError as WaitTimeout

    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    first = done = math.inf
    try:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(url, wait_until="commit")
        first = page.wait_for_function(first_js, timeout=TIMEOUT_MS, polling="raf").json_value()
        first /= 1000
        done = page.wait_for_function(done_js, timeout=TIMEOUT_MS, polling="raf").json_value()
        done /= 1000
    except WaitTimeout:
        pass
    finally:
        browser.close()
    return first, done


def _stats(xs: list[float]) -> str:
    return f"median {statistics.median(xs):5.2f} s (range {min(xs):.2f}-{max(xs):.2f})"


BARE_DONE = APP_FIRST  # one chart: drawn is complete
WAITS = {"app": (APP_FIRST, APP_DONE), "bare": (APP_FIRST, BARE_DONE),
         "dash": (DASH_FIRST, DASH_DONE)}  # fmt: skip
NAMES = {"app": "Live monitor", "bare": "bare page", "dash": "optuna-dashboard"}


def measure_size(pw, n: int, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """(first chart, complete) per repeat for each server, on one finished run of n trials."""
    data, _ = build_run(n)
    procs, urls = start_servers(data)
    res: dict[str, list[tuple[float, float]]] = {who: [] for who in urls}
    try:
        for who, url in urls.items():  # a warm-up each: a server's first request loads its code
            measure(pw, url, *WAITS[who])
        for i in range(repeats):
            order = list(urls)[i % len(urls) :] + list(urls)[: i % len(urls)]
            for who in order:
                res[who].append(measure(pw, urls[who], *WAITS[who]))
                print(n, who, *(f"{v:.2f}" for v in res[who][-1]), flush=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
    return res


def report(n: int, res: dict[str, list[tuple[float, float]]]) -> list[str]:
    first = {who: [f for f, _ in r] for who, r in res.items()}
    lines = [f"{n:,} trials, finished run:"]
    for who, r in res.items():
        lines.append(f"  {NAMES[who]:<17} first chart {_stats(first[who])}; "
                     f"complete {_stats([d for _, d in r])}")  # fmt: skip
    ratio = statistics.median(first["app"]) / statistics.median(first["bare"])
    paired = statistics.median(a / b for a, b in zip(first["app"], first["bare"], strict=True))
    lines.append(
        f"  first chart, Live monitor / bare page: {ratio:.2f}x (medians), {paired:.2f}x (median "
        f"of the paired repeats); within 1.2x: {'yes' if ratio <= 1.2 else 'NO'}"
    )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 10_000])
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on a kill too
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    lines = [
        f"# First chart on Live monitor vs a bare Streamlit page with one Plotly chart "
        f"({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} CPUs "
        f"shared, Python {platform.python_version()})",
        f"# fresh headless Chromium per measurement, 1920x1080, {args.repeats} repeats, "
        "rotating order; seconds from navigation start"
        + ("" if DASHBOARD.exists() else "; optuna-dashboard not installed here"),
    ]
    old = RESULTS.read_text() if RESULTS.exists() else ""
    with sync_playwright() as pw:
        for n in args.sizes:
            lines += report(n, measure_size(pw, n, args.repeats))
            _write(lines, old)  # after each size: a long run keeps what it measured


def _write(lines: list[str], old: str) -> None:
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + ("\n" + old if old else ""))  # newest first, the history kept


if __name__ == "__main__":
    main()
