"""Issue 26: is the TPE replay faithful? For every model-guided trial of real TPE runs, the
replayed acquisition (log l(x) - log g(x), tuning/analysis/replay.py) ranks the trial's actual
point among 1,000 random points of the space; target: in the top 10 % for >= 90 % of them.

Runs of the studio's engine (one worker, its TPE settings: 5 start-up trials, multivariate, the
constant liar), models x datasets below, N trials each. Also times one replay on a run of 500
trials (a quick objective of two parameters through the engine; target <= 1 s).

    python benchmarks/replay_faithfulness.py [--trials 30] [--models knn,svm,random_forest]
                                             [--datasets iris,breast_cancer] [--timing-trials 500]
                                             [--out PATH]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402

from tuning.analysis.replay import tpe_replay  # noqa: E402
from tuning.core.config import DatasetRef, RunConfig  # noqa: E402
from tuning.methods import get_method  # noqa: E402
from tuning.models import REGISTRY as MODELS  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402
from tuning.store.storage import open_storage  # noqa: E402
from tuning.store.trials import TrialMetrics  # noqa: E402

TOP = 0.90  # the actual point must score above this share of random points
TARGET = 0.90  # ... in at least this share of model-guided trials


def one(model: str, dataset: str, trials: int, folder: Path) -> tuple[list[float], list[float]]:
    """(rank of each model-guided trial, seconds per replay) on one fresh TPE run."""
    store = open_storage(f"journal:///{folder / f'{model}-{dataset}.journal'}")
    task = "classification"
    config = RunConfig(dataset=DatasetRef(dataset), model=model, method="tpe",
                       space=MODELS[model].default_space(task), n_trials=trials, cv_folds=3,
                       n_jobs=1, seed=0)  # fmt: skip
    name = create_run(config, store)
    assert execute(name, store, refit=False) == "finished"
    study = load_study(name, store)
    spec = get_method("tpe")
    sampler = spec.sampler(0, config.method_options)
    ranks, seconds = [], []
    for t in study.get_trials(deepcopy=False):
        t0 = time.perf_counter()
        r = tpe_replay(study, t.number, sampler)
        if isinstance(r, str):
            continue
        seconds.append(time.perf_counter() - t0)
        ranks.append(r.rank)
    return ranks, seconds


def quick(trial: optuna.Trial) -> float:
    """Two parameters and a record (the trial's origin is written with it), in a millisecond."""
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_float("y", 1e-3, 1e3, log=True)
    value = -((x - 1.0) ** 2) - (math.log10(y) - 1.0) ** 2
    TrialMetrics.scored([value]).save(trial)
    return value


def timing(n: int, folder: Path) -> tuple[float, int]:
    """(seconds to replay the last trial of an n-trial TPE run, trials it knew)."""
    store = open_storage(f"journal:///{folder / 'timing.journal'}")
    config = RunConfig(dataset=DatasetRef("regression", params={"n_samples": 120, "n_features": 5}),
                       model="ridge", method="tpe", n_trials=n, seed=0, n_jobs=1)  # fmt: skip
    name = create_run(config, store)
    assert execute(name, store, objective=quick, refit=False) == "finished"
    study = load_study(name, store)
    sampler = get_method("tpe").sampler(0, config.method_options)
    t0 = time.perf_counter()
    r = tpe_replay(study, n - 1, sampler)
    seconds = time.perf_counter() - t0
    assert not isinstance(r, str), r
    return seconds, r.known


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--models", default="knn,svm,random_forest")
    ap.add_argument("--datasets", default="iris,breast_cancer")
    ap.add_argument("--timing-trials", type=int, default=500)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/replay_faithfulness.txt"))
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = [f"# TPE replay faithfulness ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, "
           f"{os.cpu_count()} CPUs): {args.trials} trials per run, 1,000 random points per replay",
           f"# a hit: the trial's actual point scores above {TOP:.0%} of the random points"]  # fmt: skip
    hits = total = 0
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            for dataset in args.datasets.split(","):
                ranks, seconds = one(model, dataset, args.trials, Path(tmp))
                h = sum(r >= TOP for r in ranks)
                hits, total, times = hits + h, total + len(ranks), times + seconds
                low = min(ranks, default=float("nan"))
                line = (f"{model:<14} {dataset:<14} {h:>3} of {len(ranks):>3} model-guided trials "
                        f"in the top 10 % ({h / max(1, len(ranks)):.0%}); lowest rank {low:.2f}")  # fmt: skip
                out.append(line)
                print(line, flush=True)
        if args.timing_trials:
            seconds, known = timing(args.timing_trials, Path(tmp))
            out.append(f"Replay of trial {args.timing_trials - 1} of a {args.timing_trials}-trial "
                       f"TPE run ({known} trials known): {seconds * 1e3:.0f} ms; target <= 1 s: "
                       f"{'met' if seconds <= 1 else 'NOT MET'}")  # fmt: skip
    share = hits / max(1, total)
    out.append(f"All: {hits} of {total} ({share:.0%}); target >= {TARGET:.0%}: "
               f"{'met' if share >= TARGET else 'NOT MET'}")  # fmt: skip
    if times:
        out.append(f"One replay: median {statistics.median(times) * 1e3:.0f} ms, "
                   f"max {max(times) * 1e3:.0f} ms (runs of {args.trials} trials)")  # fmt: skip
    print("\n".join(out[-3:]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
