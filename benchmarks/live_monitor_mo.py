"""Live monitor refresh cost of a 10,000-trial two-objective run (accuracy against fit time).

    nice -n 19 .venv/bin/python benchmarks/live_monitor_mo.py [--trials 10000] [--refreshes 20]

1. Builds a two-objective run (directions maximize accuracy, minimize fit seconds) with N
   trials in a temporary journal storage, written with study.add_trials like the engine's:
   random forest parameters, per-trial metrics with every cost, per-fold intermediate values,
   a mix of complete / pruned / failed states. More trees and deeper trees buy accuracy with
   time, so the front is a real trade-off curve (a few dozen members).
2. Times what the Live monitor's fragment does at each refresh (LiveRun.snapshot: the feed, the
   run data, the incremental Pareto front and hypervolume history; every figure, tuning.plots.live.
   live_figures; the tables, the front's included; the figures' JSON, what st.plotly_chart
   sends). A trickle of 5 new trials comes before each refresh; the median is reported.
   Target: <= 200 ms and <= 2 MB per refresh.
3. The same refreshes with the front recomputed from scratch at each one (a new FrontTracker:
   front_mask over all complete trials and the hypervolume history from the first trial),
   to show what the incremental front saves; and front_mask / Optuna's study.best_trials over
   all trials alone, for scale.
4. The single-objective refresh of benchmarks/live_monitor.py on the same machine, right after,
   so that the two-objective figures can be read against it under the same load.

Output is printed and saved to benchmarks/results/live_monitor_mo.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results" / "live_monitor_mo.txt"
NEW_PER_REFRESH = 5


def make_trials(start: int, n: int, dists: dict, t0: dt.datetime, rng: random.Random) -> list:
    """n two-objective FrozenTrials like the engine writes (numbers: assigned by the storage)."""
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
        size = params["n_estimators"] / 300 * params["max_depth"] / 30
        quality = 0.80 + 0.1 * size**0.3 - 0.01 * params["min_samples_leaf"] / 10
        quality += 0.01 * rng.random()
        fit = 0.3 + 8 * size * (1.3 if params["max_features"] == "sqrt" else 1.0)
        fit *= rng.uniform(0.9, 1.1)
        folds = [quality + rng.gauss(0, 0.01) for _ in range(5)]
        r = rng.random()
        state = (
            TrialState.PRUNED if r < 0.2 else TrialState.FAIL if r < 0.23 else TrialState.COMPLETE
        )
        k = 5 if state == TrialState.COMPLETE else 0 if state == TrialState.FAIL else 2
        mean = sum(folds[:k]) / k if k else None
        metrics = {
            "cv_mean": mean, "cv_std": 0.01 if k > 1 else None, "fold_scores": folds[:k],
            "train_score": 0.99 if k else None, "fit_seconds": round(fit, 4),
            "score_seconds": round(rng.uniform(0.05, 0.3), 4), "step": k, "worker": "bench:1",
            "predict_ms": round(rng.uniform(0.1, 2.0), 4),
            "model_bytes": int(20_000 * params["n_estimators"] * size), "n_params": None,
        }  # fmt: skip
        if state == TrialState.PRUNED:
            metrics["pruned_step"] = k
        if state == TrialState.FAIL:
            metrics["fail_reason"] = "ValueError: the model diverged (synthetic failure)"
        start_t = t0 + dt.timedelta(seconds=i)
        out.append(
            optuna.trial.FrozenTrial(
                number=0, trial_id=0, state=state, value=None,
                values=[mean, metrics["fit_seconds"]] if state == TrialState.COMPLETE else None,
                datetime_start=start_t, datetime_complete=start_t + dt.timedelta(seconds=0.9),
                params=params, distributions=dists, user_attrs={"metrics": metrics},
                system_attrs={},
                intermediate_values={s + 1: sum(folds[: s + 1]) / (s + 1) for s in range(k)},
            )
        )  # fmt: skip
    return out


def refresh(live_run, scratch: bool = False) -> tuple[float, int, dict]:
    """One Live monitor refresh: what the fragment computes and sends. scratch: the front is
    recomputed from all trials (a new tracker) instead of updated with the new ones."""
    from tuning.plots import live as charts
    from tuning.plots import pareto as pareto_plots
    from ui import tables

    if scratch:
        live_run.fronts = None
    t0 = time.perf_counter()
    snap = live_run.snapshot()
    t1 = time.perf_counter()
    figs = charts.live_figures(snap, live_run.hover_cache)
    t2 = time.perf_counter()
    tables.top_table(snap.df, snap.scoring)
    tables.failure_table(snap.df)
    f = snap.front
    pareto_plots.front_table(f.points, f.objectives, f.numbers, snap.df)
    t3 = time.perf_counter()
    sizes = {k: len(fig.to_json()) for k, fig in figs.items()}
    t4 = time.perf_counter()
    parts = {"snapshot": t1 - t0, "figures": t2 - t1, "tables": t3 - t2, "json": t4 - t3}
    # what the front adds (measured again, outside the refresh): the tracker's update, its
    # figures and its table
    t5 = time.perf_counter()
    live_run.front(snap.run)
    t6 = time.perf_counter()
    charts.front_figures(f, snap.df)
    t7 = time.perf_counter()
    pareto_plots.front_table(f.points, f.objectives, f.numbers, snap.df)
    t8 = time.perf_counter()
    parts.update({"front update": t6 - t5, "front figures": t7 - t6, "front table": t8 - t7})
    return t4 - t0, sum(sizes.values()), {"parts": parts, "sizes": sizes, "snap": snap}


def series(study, live_run, dists, t0, rng, done, n, scratch, lines, label):
    times, sizes, parts = [], [], []
    recomputed = live_run.fronts.recomputed if live_run.fronts else 0
    for _ in range(n):
        study.set_user_attr("heartbeat", time.time())
        study.add_trials(make_trials(done, NEW_PER_REFRESH, dists, t0, rng))
        done += NEW_PER_REFRESH
        s, b, info = refresh(live_run, scratch)
        times.append(s)
        sizes.append(b)
        parts.append(info)
    med = statistics.median(times)
    ok = med <= 0.2 and max(sizes) <= 2e6
    lines.append(
        f"{label} (median of {n} refreshes, {NEW_PER_REFRESH} new trials before each): "
        f"{med * 1000:.0f} ms server time, {statistics.median(sizes) / 1e6:.2f} MB of figures  "
        f"[target <= 200 ms, <= 2 MB: {'met' if ok else 'NOT met'}]"
    )
    lines.append(
        f"  range: {min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms, "
        f"{min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB"
    )
    for key in ("snapshot", "figures", "tables", "json"):
        lines.append(
            f"  {key:9s} {statistics.median(p['parts'][key] for p in parts) * 1000:6.1f} ms"
        )
    if not scratch:
        lines.append(
            "  of which the front's own work: "
            + ", ".join(
                f"{key} {statistics.median(p['parts'][key] for p in parts) * 1000:.1f} ms"
                for key in ("front update", "front figures", "front table")
            )
            + " (the update with no new trials: the tracker's cost at every refresh)"
        )
        last = parts[-1]["sizes"]
        lines.append(
            "  bytes per figure: " + ", ".join(f"{k} {v / 1000:.0f} kB" for k, v in last.items())
        )
        front = parts[-1]["snap"].front
        lines.append(
            f"  front: {len(front)} members of {len(front.points):,} complete trials; the front "
            f"figure draws every member and a sample of the dominated trials (every k-th trial "
            f"number and the newest, said in its subtitle); the hypervolume history was "
            f"recomputed from the first trial {live_run.fronts.recomputed - recomputed} times "
            f"in these {n} refreshes (when the reference point moved), extended otherwise"
        )
    return done, med


def bench(n_trials: int, n_refresh: int, lines: list[str]) -> None:
    import numpy as np
    import optuna

    from tuning.analysis import LiveRun, pareto
    from tuning.core.config import DatasetRef, RunConfig
    from tuning.models import get_model
    from tuning.store.storage import open_storage

    data = tempfile.mkdtemp(prefix="ts-bench-mo-")
    storage = open_storage(f"journal:///{data}/runs.journal")
    name = "bench-10k-mo"
    study = optuna.create_study(
        storage=storage, study_name=name, directions=["maximize", "minimize"]
    )
    cfg = RunConfig(DatasetRef("seed-classification"), "random_forest", "tpe",
                    n_trials=n_trials + 1000, cv_folds=5, name=name,
                    objectives=("fit_seconds",))  # fmt: skip
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    for k, v in {"config": cfg.to_dict(), "scoring": "accuracy", "task": "classification",
                 "status": "running", "created_at": now, "started_at": now,
                 "heartbeat": time.time()}.items():  # fmt: skip
        study.set_user_attr(k, v)
    dists = get_model("random_forest").default_space("classification").distributions()
    rng = random.Random(0)
    t0 = dt.datetime.now() - dt.timedelta(seconds=n_trials + 100)
    t = time.perf_counter()
    for chunk in range(0, n_trials, 1000):
        study.add_trials(make_trials(chunk, min(1000, n_trials - chunk), dists, t0, rng))
    lines.append(
        f"Two-objective run (accuracy up, fit seconds down) with {n_trials:,} trials built in "
        f"{time.perf_counter() - t:.1f} s (journal storage, add_trials)"
    )
    live_run = LiveRun(storage, name)
    cold_s, cold_b, _ = refresh(live_run)
    lines.append(
        f"First refresh (cold: converts all {n_trials:,} trials, builds the front and the "
        f"hypervolume history): {cold_s * 1000:.0f} ms, {cold_b / 1e6:.2f} MB"
    )
    done, inc = series(study, live_run, dists, t0, rng, n_trials, n_refresh, False, lines,
                       "Live refresh, incremental front")  # fmt: skip
    done, scr = series(study, live_run, dists, t0, rng, done, max(5, n_refresh // 2), True,
                       lines, "Live refresh, front recomputed from scratch")  # fmt: skip
    lines.append(f"  the incremental front makes a refresh {scr / inc:.1f}x faster")

    snap = live_run.snapshot()
    f = snap.front
    values = f.points[[o.name for o in f.objectives]].to_numpy(dtype=float)
    dirs = [o.direction for o in f.objectives]
    t = time.perf_counter()
    mask = pareto.front_mask(values, dirs)
    mask_s = time.perf_counter() - t
    t = time.perf_counter()
    pareto.hypervolume_history(snap.run.frame, f.objectives, f.reference)
    hist_s = time.perf_counter() - t
    assert np.array_equal(np.sort(f.points["number"].to_numpy()[mask]), f.numbers)
    t = time.perf_counter()
    best = optuna.load_study(study_name=name, storage=storage).best_trials
    optuna_s = time.perf_counter() - t
    lines.append(
        f"For scale, over {len(values):,} complete trials: front_mask {mask_s * 1000:.0f} ms, "
        f"the hypervolume history from the first trial {hist_s * 1000:.0f} ms, Optuna's "
        f"study.best_trials {optuna_s * 1000:.0f} ms ({len(best)} trials: the same front as "
        f"the incremental one: {sorted(t.number for t in best) == f.numbers.tolist()})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--refreshes", type=int, default=20)
    ap.add_argument("--no-single", action="store_true", help="skip the single-objective run")
    args = ap.parse_args()
    lines = [
        f"# Live monitor benchmark, two-objective run ({time.strftime('%Y-%m-%d %H:%M')}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()})"
    ]
    bench(args.trials, args.refreshes, lines)
    if not args.no_single:
        # The single-objective refresh on the same machine under the same load, for scale.
        import live_monitor

        lines.append("Same machine, same load: the single-objective benchmark (live_monitor.py)")
        single: list[str] = []
        live_monitor.bench_refresh(args.trials, single)
        lines.extend("  " + line for line in single if not line.startswith("For scale"))
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
