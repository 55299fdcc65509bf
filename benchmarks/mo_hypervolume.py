"""Issue 15: hypervolume reached by multi-objective methods on the Home trade-off demo.

The demo task (`tuning.runs.experiments.tradeoff_demo_config`: random forest on the seed
benchmark, CV accuracy against fit seconds) with a budget of 60 trials, per method and seed,
each a real studio run (create_run + execute, no refit). All runs' complete trials together
give ONE reference point (`tuning.analysis.pareto.reference_point`: each objective's worst value
pushed a tenth of its range further), and each run's hypervolume is measured against it.
Prints the median and range over the seeds per method and writes
benchmarks/results/mo_hypervolume.txt.

Fit seconds are wall time, so a loaded machine shifts every method's costs alike; the methods
run interleaved (seed by seed) so that a drift in load favours none.

    python benchmarks/mo_hypervolume.py [--trials 60] [--seeds 0 1 2] [--methods tpe nsga2 random]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import optuna  # noqa: E402

from tuning.analysis import pareto  # noqa: E402
from tuning.core.objectives import run_objectives  # noqa: E402
from tuning.runs.experiments import tradeoff_demo_config  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.store.results import TrialFeed  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402
from tuning.store.storage import open_storage  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "mo_hypervolume.txt"
optuna.logging.set_verbosity(optuna.logging.WARNING)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", default=["tpe", "nsga2", "random"])
    args = ap.parse_args()
    store = open_storage(f"journal:///{tempfile.mkdtemp()}/mo.journal")
    base = tradeoff_demo_config()
    objectives = run_objectives(base, base.scoring or "accuracy")
    directions = [o.direction for o in objectives]
    frames, seconds = {}, {}
    for seed in args.seeds:
        for method in args.methods:
            cfg = dataclasses.replace(
                base, method=method, seed=seed, n_trials=args.trials,
                name=f"mo-{method}-{seed}", method_options={},
            )  # fmt: skip
            t0 = time.perf_counter()
            name = create_run(cfg, store)
            status = execute(name, store, refit=False)
            seconds[method, seed] = time.perf_counter() - t0
            frames[method, seed] = TrialFeed(load_study(name, store)).refresh()
            print(f"{method} seed {seed}: {status}, {seconds[method, seed]:.0f} s", flush=True)
    points = {k: pareto.objective_points(f, objectives) for k, f in frames.items()}
    names = [o.name for o in objectives]
    every = np.vstack([p[names].to_numpy(dtype=float) for p in points.values()])
    ref = pareto.reference_point(every, directions)
    lines = [
        f"# Hypervolume on the trade-off demo ({time.strftime('%Y-%m-%d %H:%M')}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs shared, Python {platform.python_version()})",
        f"# {base.model} on {base.dataset.label()}, objectives: "
        + ", ".join(f"{o.title} ({o.direction})" for o in objectives)
        + f"; {args.trials} trials per run, seeds {args.seeds}, {base.cv_folds}-fold CV",
        "# one reference point over all runs' complete trials: "
        + ", ".join(f"{n} {v:.4g}" for n, v in zip(names, ref, strict=True)),
    ]
    for method in args.methods:
        hv, size = [], []
        for seed in args.seeds:
            p = points[method, seed][names].to_numpy(dtype=float)
            hv.append(pareto.hypervolume(p, directions, ref))
            size.append(int(pareto.front_mask(p, directions).sum()))
        lines.append(
            f"{method:8s} hypervolume median {statistics.median(hv):.4f} "
            f"(range {min(hv):.4f}-{max(hv):.4f}; per seed "
            + ", ".join(f"{h:.4f}" for h in hv)
            + f"); front size median {statistics.median(size)}; run time median "
            f"{statistics.median(seconds[method, s] for s in args.seeds):.0f} s"
        )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
