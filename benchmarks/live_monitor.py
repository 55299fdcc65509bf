"""Live monitor refresh cost at 10,000 trials, and the app's cold start.

    .venv/bin/python benchmarks/live_monitor.py [--trials 10000] [--no-cold-start]

1. Builds a run with N trials in a temporary journal storage: a real run (tuning.runs.runner.
   create_run, so it has a config), whose trials are written with study.add_trials: realistic
   params (random forest space), per-trial metrics like the engine's, per-fold intermediate
   values, a mix of complete / pruned / failed states, start and end times one second apart.
2. Times what the Live monitor's fragment does on each refresh: LiveRun.snapshot() (incremental
   TrialFeed read + RunData + derived data + importance from the run's one cache when due: the
   same PED-ANOVA with bootstrap resamples as the Analysis page), every figure
   (tuning.plots.live.live_figures), the two tables, and the JSON that Streamlit sends for each figure (fig.to_json(), which is
   what st.plotly_chart serializes). 10 new trials are added before each of 10 refreshes;
   the median is reported. Target: <= 200 ms and <= 2 MB per refresh.
3. Cold start: `streamlit run app.py` in a subprocess -> /_stcore/health ok -> Chromium
   (Playwright) sees the first page rendered (stApp script state notRunning, no skeletons).

Output is printed and saved to benchmarks/results/live_monitor.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "live_monitor.txt"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def make_trials(start: int, n: int, dists: dict, t0: dt.datetime, rng: random.Random) -> list:
    """n FrozenTrials like the engine writes (numbers are assigned by the storage)."""
    import optuna
    from optuna.trial import TrialState

    out = []
    for i in range(start, start + n):
        params = {
            "n_estimators": rng.randint(50, 300),
            "max_depth": rng.randint(5, 30),
            "min_samples_split": rng.randint(2, 20),
            "min_samples_leaf": rng.randint(1, 10),
            "max_features": rng.choice(["sqrt", "log2"]),
        }
        quality = 0.80 + 0.08 * (1 - params["min_samples_leaf"] / 10) + 0.02 * rng.random()
        folds = [quality + rng.gauss(0, 0.01) for _ in range(5)]
        r = rng.random()
        state = (
            TrialState.PRUNED if r < 0.2 else TrialState.FAIL if r < 0.23 else TrialState.COMPLETE
        )
        k = 5 if state == TrialState.COMPLETE else rng.randint(1, 4)
        if state == TrialState.FAIL:
            k = 0
        mean = sum(folds[:k]) / k if k else None
        metrics = {
            "cv_mean": mean,
            "cv_std": 0.01 if k > 1 else None,
            "fold_scores": folds[:k],
            "train_score": 0.99 if k else None,
            "fit_seconds": round(rng.uniform(2, 12), 4),
            "score_seconds": round(rng.uniform(0.05, 0.3), 4),
            "step": k,
            "worker": "bench:1",
            # where it came from, as the engine records it (ten start-up trials, then TPE)
            "proposed": {"kind": "start-up", "by": "TPE", "k": i + 1, "n": 10, "finished": i}
            if i < 10 else {"kind": "model-guided", "by": "TPE", "finished": i},
        }  # fmt: skip
        if state == TrialState.PRUNED:
            metrics["pruned_step"] = k
        if state == TrialState.FAIL:
            metrics["fail_reason"] = "ValueError: the model diverged (synthetic failure)"
        start_t = t0 + dt.timedelta(seconds=i)
        out.append(
            optuna.trial.FrozenTrial(
                number=0, trial_id=0, state=state,
                value=mean if state == TrialState.COMPLETE else None,
                datetime_start=start_t, datetime_complete=start_t + dt.timedelta(seconds=0.9),
                params=params, distributions=dists, user_attrs={"metrics": metrics},
                system_attrs={},
                intermediate_values={s + 1: sum(folds[: s + 1]) / (s + 1) for s in range(k)},
            )
        )  # fmt: skip
    return out


def refresh(live_run) -> tuple[float, int, dict]:
    """One Live monitor refresh: what the fragment computes and sends. Returns (s, bytes, info):
    info has the time of each part, the bytes of each figure and the snapshot."""
    from tuning.plots import live as charts
    from ui import origin_view, tables

    t0 = time.perf_counter()
    snap = live_run.snapshot()
    t1 = time.perf_counter()
    figs = charts.live_figures(snap, live_run.hover_cache)
    t2 = time.perf_counter()
    tables.top_table(snap.df, snap.scoring)
    tables.failure_table(snap.df)
    origin_view.count_line(snap.df)  # where the trials came from, and their list
    origin_view.origin_table(snap.df)
    t3 = time.perf_counter()
    sizes = {k: len(f.to_json()) for k, f in figs.items()}
    t4 = time.perf_counter()
    parts = {"snapshot": t1 - t0, "figures": t2 - t1, "tables": t3 - t2, "json": t4 - t3}
    return t4 - t0, sum(sizes.values()), {"parts": parts, "sizes": sizes, "snap": snap}


def bench_refresh(n_trials: int, lines: list[str]) -> None:
    import optuna

    from tuning.analysis import LiveRun
    from tuning.analysis import param_importance as importance_mod
    from tuning.core.config import DatasetRef, RunConfig
    from tuning.models import get_model
    from tuning.runs.runner import create_run
    from tuning.store.runs import load_study
    from tuning.store.storage import open_storage

    data = tempfile.mkdtemp(prefix="ts-bench-")
    storage = open_storage(f"journal:///{data}/runs.journal")
    name = create_run(
        RunConfig(DatasetRef("seed-classification"), "random_forest", "tpe",
                  n_trials=n_trials + 1000, cv_folds=5, name="bench-10k"),
        storage,
    )  # fmt: skip
    study = load_study(name, storage)
    now = time.time()
    study.set_user_attr("status", "running")
    study.set_user_attr("started_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    study.set_user_attr("heartbeat", now)
    dists = get_model("random_forest").default_space("classification").distributions()
    rng = random.Random(0)
    t0 = dt.datetime.now() - dt.timedelta(seconds=n_trials + 100)
    t = time.perf_counter()
    for chunk in range(0, n_trials, 1000):
        study.add_trials(make_trials(chunk, min(1000, n_trials - chunk), dists, t0, rng))
    build_s = time.perf_counter() - t
    lines.append(
        f"Run with {n_trials:,} trials built in {build_s:.1f} s (journal storage, add_trials)"
    )

    live_run = LiveRun(storage, name)
    cold_s, cold_bytes, cold = refresh(live_run)
    imp = cold["snap"].importance
    lines.append(
        f"First refresh (cold TrialFeed: converts all {n_trials:,} trials; importance computed): "
        f"{cold_s * 1000:.0f} ms, {cold_bytes / 1e6:.2f} MB"
    )
    if imp is not None:
        lines.append(
            f"  parameter importance ({imp.label}, {imp.n_boot} bootstrap resamples) at "
            f"{imp.n_complete:,} complete trials: {imp.seconds * 1000:.0f} ms"
        )

    times, sizes, parts = [], [], []
    done = n_trials
    for _ in range(10):
        study.set_user_attr("heartbeat", time.time())
        study.add_trials(make_trials(done, 10, dists, t0, rng))
        done += 10
        s, b, info = refresh(live_run)
        times.append(s)
        sizes.append(b)
        parts.append(info)
    med = statistics.median(times)
    lines.append(
        f"Live refresh after 10 new trials (median of 10): {med * 1000:.0f} ms server time, "
        f"{statistics.median(sizes) / 1e6:.2f} MB of figures  "
        f"[target <= 200 ms, <= 2 MB: {'met' if med <= 0.2 and max(sizes) <= 2e6 else 'NOT met'}]"
    )
    lines.append(
        f"  range: {min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms, {min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB"
    )
    for key in ("snapshot", "figures", "tables", "json"):
        lines.append(
            f"  {key:9s} {statistics.median(p['parts'][key] for p in parts) * 1000:6.1f} ms"
        )
    last = parts[-1]["sizes"]
    lines.append(
        "  bytes per figure: " + ", ".join(f"{k} {v / 1000:.0f} kB" for k, v in last.items())
    )
    recomputed = len({id(p["snap"].importance) for p in parts} - {id(imp)})
    lines.append(
        "  importance is recomputed when the count of complete trials changed and, while the run "
        f"works, at most every {importance_mod.REFRESH_S['ped_anova']:.0f} s unless that count "
        f"grew by {importance_mod.GROWTH:.0%}: at 10 new trials per refresh it was recomputed "
        f"{recomputed} times in these 10 refreshes"
    )

    # The same refresh without the incremental feed, for scale: study.trials deep-copies all.
    t = time.perf_counter()
    _ = optuna.load_study(study_name=name, storage=storage).trials
    lines.append(
        f"For scale: study.trials (deep copy of all trials) takes {(time.perf_counter() - t) * 1000:.0f} ms"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_cold_start(lines: list[str]) -> None:
    if not Path(CHROMIUM).exists():
        lines.append(f"Cold start: skipped ({CHROMIUM} is missing)")
        return
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    env = {**os.environ, "TUNING_STUDIO_DATA": tempfile.mkdtemp(prefix="ts-cold-")}
    env.pop("TUNING_STUDIO_STORAGE", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.05)
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("the server did not become healthy in 60 s")
        health = time.perf_counter() - t0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            t1 = time.perf_counter()
            page.goto(url)
            app = page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")
            page.get_by_role("heading", name="Start a demo").wait_for(timeout=60000)
            app.wait_for(state="attached", timeout=60000)
            expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
            first_page = time.perf_counter() - t1
            browser.close()
        lines.append(
            f"Cold start: server healthy {health:.1f} s after launch; Home rendered "
            f"{first_page:.1f} s after the browser opened it ({health + first_page:.1f} s in all)"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--no-cold-start", action="store_true")
    args = ap.parse_args()
    lines = [
        f"# Live monitor benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()})"
    ]
    bench_refresh(args.trials, lines)
    if not args.no_cold_start:
        bench_cold_start(lines)
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
