"""Page response time with 4 runs working vs none, on a real `streamlit run app.py`.

    .venv/bin/python benchmarks/load.py [--repeats 5] [--runs 4]

1. Starts the app on a fresh data folder (cap raised to --runs) and makes one small finished run,
   so the Live monitor has something to show.
2. Idle: for Home and Live monitor, a new Chromium session opens the page and waits until it is
   rendered (stApp script state notRunning, no skeletons); --repeats times each. The server's
   /_stcore/health round trip is timed too (20 requests).
3. Active: four browser sessions launch random-forest runs on New run (200 trials of 5 folds:
   they work throughout) and the same timings are taken while all four work as the app's
   worker processes (niced, as the app starts them): first while the four sessions watch
   their runs on Live monitor (refreshing every 1.5 s), then after they closed their tabs.
   The watching sessions live in a second Chromium at nice 10: they stand for the other
   people's browsers, which in use run on their own machines, not on the server's cores;
   their requests to the server count in full.
4. The same with four runs started by `python -m tuning run` instead (own processes, normal
   priority), nobody watching: a reference for runs the app does not start.
5. Stops the runs and the server. Prints the table and saves it to benchmarks/results/load.txt,
   with the machine's load average (the machine may be shared: compare idle with active, taken
   minutes apart, rather than with other machines).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser_support import ARGS, CHROMIUM, free_port, idle, open_page, start_server  # noqa: E402

from tuning.core.config import (  # noqa: E402
    DatasetRef,  # noqa: E402
    RunConfig,
)
from tuning.execution.priority import APP_RUN_NICE  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.store import compat  # noqa: E402
from tuning.store.run import StoredRun  # noqa: E402
from tuning.store.storage import JOURNAL_NAME, open_storage  # noqa: E402

PAGES = {"Home": "/", "Live monitor": "/live_monitor"}
RESULTS = ROOT / "benchmarks" / "results" / "load.txt"


def health_ms(url: str, n: int = 20) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as r:
            r.read()
        out.append((time.perf_counter() - t0) * 1000)
    return out


CAP_S = 120.0  # a page not rendered by then is recorded as CAP_S (and counted as "> cap")


def page_seconds(browser, url: str, path: str, expect) -> float:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    t0 = time.perf_counter()
    page.goto(url + path)
    app = "[data-testid='stApp']"
    try:
        page.locator(f"{app}[data-test-connection-state='CONNECTED']").wait_for(
            state="attached", timeout=CAP_S * 1000
        )
        page.wait_for_timeout(300)
        page.locator(f"{app}[data-test-script-state='notRunning']").wait_for(
            state="attached", timeout=CAP_S * 1000
        )
        left = max(1.0, CAP_S - (time.perf_counter() - t0))
        expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=left * 1000)
        seconds = time.perf_counter() - t0
    except AssertionError:
        seconds = CAP_S
    except Exception as exc:  # playwright's TimeoutError
        if "Timeout" not in type(exc).__name__:
            raise
        seconds = CAP_S
    if page.get_by_test_id("stException").count():
        raise RuntimeError(f"{path} shows an exception")
    page.context.close()
    return min(seconds, CAP_S)


def measure(browser, url: str, expect, repeats: int) -> dict[str, list[float]]:
    out = {name: [page_seconds(browser, url, path, expect) for _ in range(repeats)]
           for name, path in PAGES.items()}  # fmt: skip
    out["health (ms)"] = health_ms(url)
    return out


def niced_chromium(folder: Path) -> str:
    """A Chromium at nice 10, its session's too (Playwright starts the browser in a session of
    its own, and Linux shares the CPU between sessions first; see runner.lower_priority)."""
    wrapper = folder / "chromium-nice"
    wrapper.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        "if os.getsid(0) == os.getpid():\n"
        "    open('/proc/self/autogroup', 'w').write('10')\n"
        f"os.nice(10)\nos.execv({CHROMIUM!r}, [{CHROMIUM!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(0o755)
    return str(wrapper)


def launch(browser, url: str, expect, seed: int):
    page = browser.new_context().new_page()
    open_page(page, f"{url}/new_run", expect)
    for label, value in (("Trials", "200"), ("Seed", str(seed))):
        box = page.get_by_role("spinbutton", name=label, exact=True)
        box.fill(value)
        box.press("Enter")
        idle(page, expect)
    page.get_by_role("button", name="Launch run").click()
    page.wait_for_url("**/live_monitor", timeout=60_000)
    return page


def summary(values: list[float], unit: str = "s") -> str:
    capped = sum(v >= CAP_S for v in values) if unit == "s" else 0
    text = f"median {statistics.median(values):6.1f}  max {max(values):6.1f}"
    return text + (f"  ({capped} of {len(values)} > {CAP_S:g} s)" if capped else "")


def cli_runs(url_store: str, n: int) -> list[subprocess.Popen]:
    """n runs each in its own `python -m tuning run` process (not in the app's process)."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tuning",
                "run",
                "--dataset",
                "iris",
                "--model",
                "random_forest",
                "--trials",
                "200",
                "--seed",
                str(100 + i),
                "--quiet",
                "--storage",
                url_store,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for i in range(n)
    ]


def wait_running(store, n: int, timeout: float = 180) -> None:
    end = time.time() + timeout
    while time.time() < end:
        running = [s for s in store.get_all_studies() if s.user_attrs.get("status") == "running"]
        if len(running) >= n:
            return
        time.sleep(0.5)
    raise RuntimeError(f"only {len(running)} of {n} runs started")


def stop_running(store) -> dict[str, int]:
    done = {}
    for s in store.get_all_studies():
        if s.user_attrs.get("status") == "running":
            done[s.study_name] = len(store.get_all_trials(compat.study_id(s), deepcopy=False))
            StoredRun.open(s.study_name, store).request_stop()
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--runs", type=int, default=4)
    args = ap.parse_args()
    from playwright import sync_api

    expect = sync_api.expect
    data = Path(tempfile.mkdtemp(prefix="tuning-load-"))
    url_store = f"journal:///{data / JOURNAL_NAME}"
    store = open_storage(url_store)
    small = RunConfig(DatasetRef("iris"), "knn", "random", n_trials=5, cv_folds=3, n_jobs=1)
    execute(create_run(small, store), store)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(data, port, TUNING_STUDIO_MAX_RUNNING=str(args.runs))
    load_before = os.getloadavg()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page_seconds(browser, url, "/", expect)  # warm-up: first imports of the pages
            page_seconds(browser, url, "/live_monitor", expect)
            idle_t = measure(browser, url, expect, args.repeats)
            others = p.chromium.launch(
                executable_path=niced_chromium(data), headless=True, args=ARGS
            )
            watchers = [launch(others, url, expect, seed) for seed in range(args.runs)]
            wait_running(store, args.runs)
            load_active = os.getloadavg()
            watched_t = measure(browser, url, expect, args.repeats)
            for w in watchers:
                w.context.close()
            others.close()
            active_t = measure(browser, url, expect, args.repeats)
            in_app = stop_running(store)
            end = time.time() + 120  # the app's runs stop within a fold
            while time.time() < end and any(
                s.user_attrs.get("status") == "running" for s in store.get_all_studies()
            ):
                time.sleep(0.5)
            procs = cli_runs(url_store, args.runs)
            try:
                wait_running(store, args.runs)
                load_procs = os.getloadavg()
                procs_t = measure(browser, url, expect, args.repeats)
            finally:
                stop_running(store)
                for pr in procs:
                    try:
                        pr.wait(60)
                    except subprocess.TimeoutExpired:
                        pr.terminate()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)

    lines = [
        "Page response time: a new browser session opens the page until it is fully rendered",
        f"(seconds; /_stcore/health in ms). {args.repeats} loads per page and state.",
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}",
        "Load average (1 min) at start / with the app's runs / with command-line runs: "
        f"{load_before[0]:.1f} / {load_active[0]:.1f} / {load_procs[0]:.1f} (the machine is shared)",
        "",
        f"{'':14}{'idle (no run working)':38}"
        f"{f'{args.runs} app runs, {args.runs} sessions watching':38}"
        f"{f'{args.runs} app runs, tabs closed':38}{args.runs} command-line runs",
    ]
    for key in idle_t:
        unit = "ms" if "ms" in key else "s"
        lines.append(
            f"{key:14}{summary(idle_t[key], unit):38}{summary(watched_t[key], unit):38}"
            f"{summary(active_t[key], unit):38}{summary(procs_t[key], unit)}"
        )
    lines += [
        "",
        "Runs: random forest (50-300 trees, n_jobs=-1) on iris, 5-fold CV, 200-trial budgets, "
        "launched from New run in browser sessions (each a worker process of the app, nice "
        f"{APP_RUN_NICE}) or with `python -m tuning run` (own processes, nice 0). The watching "
        "sessions ran in a second Chromium at nice 10 (in use, they are other machines).",
        f"Trials done by the app's runs while measured: {sorted(in_app.values())}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
