"""Live monitor's first chart in a fresh browser, side by side with optuna-dashboard.

    /work/.venv-bench/bin/python benchmarks/first_chart.py [--repeats 5] [--sizes 200 10000]

optuna-dashboard is installed only in the benchmark's environment (never in requirements.txt).

1. Builds one finished run per size (a real run from tuning.runs.runner.create_run, trials
   written with study.add_trials as in benchmarks/live_monitor.py) in its own temporary journal
   storage.
2. Per size, starts the app (`streamlit run app.py`, TUNING_STUDIO_DATA pointing there) and
   optuna-dashboard on the same journal file, each on a free port.
3. Opens each page in a fresh headless Chromium (a new browser process per measurement),
   alternating which server goes first, and reads, in the page's own clock (performance.now(),
   0 = navigation start):
   - first chart: the app: the first `.js-plotly-plot` whose traces are drawn (data and a
     full layout); optuna-dashboard: the first plotly chart with data, or a recharts svg;
   - complete: the app: the script is done, no skeletons are left and every chart on the page
     is drawn; optuna-dashboard: every plotly chart on the study page has data.
4. Prints the medians and the spread (min-max) and writes benchmarks/results/first_chart.txt.
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


def start_servers(data: str) -> tuple[list[subprocess.Popen], str, str]:
    """The app and optuna-dashboard on one storage: (processes, app URL, dashboard URL)."""
    journal = str(Path(data) / "runs.journal")
    env = {**os.environ, "TUNING_STUDIO_DATA": data}
    env.pop("TUNING_STUDIO_STORAGE", None)
    app_port, dash_port = _free_port(), _free_port()
    bindir = Path(sys.executable).parent
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(app_port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    dash = subprocess.Popen(
        [str(bindir / "optuna-dashboard"), journal, "--port", str(dash_port), "--host",
         "127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    app_url, dash_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{dash_port}"
    _wait_http(f"{app_url}/_stcore/health", "the app")
    _wait_http(f"{dash_url}/api/studies", "optuna-dashboard")
    return [app, dash], f"{app_url}/live_monitor", f"{dash_url}/dashboard/studies/0"


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
        f"# First chart on Live monitor vs optuna-dashboard ({time.strftime('%Y-%m-%d %H:%M')}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs shared, Python {platform.python_version()})",
        f"# fresh headless Chromium per measurement, 1920x1080, {args.repeats} repeats, "
        "alternating order; seconds from navigation start",
    ]
    with sync_playwright() as pw:
        for n in args.sizes:
            data, _ = build_run(n)
            procs, app_url, dash_url = start_servers(data)
            try:
                # One warm-up each, not counted: the servers' first request loads their code.
                measure(pw, app_url, APP_FIRST, APP_DONE)
                measure(pw, dash_url, DASH_FIRST, DASH_DONE)
                res: dict[str, list[tuple[float, float]]] = {"app": [], "dash": []}
                for i in range(args.repeats):
                    order = ["app", "dash"] if i % 2 == 0 else ["dash", "app"]
                    for who in order:
                        if who == "app":
                            res["app"].append(measure(pw, app_url, APP_FIRST, APP_DONE))
                        else:
                            res["dash"].append(measure(pw, dash_url, DASH_FIRST, DASH_DONE))
                        print(n, who, *(f"{v:.2f}" for v in res[who][-1]), flush=True)
            finally:
                for p in procs:
                    p.terminate()
                    p.wait(timeout=10)
            app_first = [f for f, _ in res["app"]]
            dash_first = [f for f, _ in res["dash"]]
            lines += [
                f"{n:,} trials, finished run:",
                f"  Live monitor      first chart {_stats(app_first)}; "
                f"complete {_stats([d for _, d in res['app']])}",
                f"  optuna-dashboard  first chart {_stats(dash_first)}; "
                f"complete {_stats([d for _, d in res['dash']])}",
                f"  first chart no later than optuna-dashboard's (medians): "
                f"{'yes' if statistics.median(app_first) <= statistics.median(dash_first) else 'NO'}",
            ]
            _write(lines)  # after each size: a long run keeps what it measured


def _write(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
