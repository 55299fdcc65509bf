"""Issue 28: the Hyperopt adapter's overhead per trial against Hyperopt's own `fmin`.

The same cheap objective (a quadratic in 3 floats, one whole number and one choice), the same
space (the studio's, converted once to Hyperopt's) and the same seed, N trials:
- fmin: `hyperopt.fmin(algo=..., rstate=np.random.default_rng(seed))` with its Trials;
- adapter: an in-memory Optuna study whose sampler is tuning.methods.hyperopt.HyperoptSampler
  (the study's finished trials told to Hyperopt, its point asked for), the objective reading
  its parameters through the studio's SearchSpace.suggest.
Both propose the same points (tests/engine/test_hyperopt.py checks it), so the time differs
only by the machinery. R repeats with the two side by side (order alternating); per trial =
wall time / N; medians reported. Target: adapter / fmin <= 1.10.

    python benchmarks/hyperopt_overhead.py [--trials 200] [--repeats 5] [--algos tpe rand]
                                           [--out benchmarks/results/hyperopt_overhead.txt]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import optuna  # noqa: E402
from hyperopt import Trials, anneal, fmin, rand, tpe  # noqa: E402

from tuning.core.hyperopt_space import to_hyperopt  # noqa: E402
from tuning.core.space import SearchSpace, cat_param, float_param, int_param  # noqa: E402
from tuning.methods.hyperopt import HyperoptSampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)
logging.getLogger("hyperopt").setLevel(logging.WARNING)

SPACE = SearchSpace((
    float_param("x", -5.0, 5.0), float_param("y", -5.0, 5.0), float_param("lr", 1e-4, 1.0, log=True),
    int_param("n", 1, 50), cat_param("k", ["a", "b", "c"]),
)).validate()  # fmt: skip
SUGGEST = {"tpe": tpe.suggest, "anneal": anneal.suggest, "rand": rand.suggest}


def quadratic(p: dict) -> float:
    return (p["x"] - 1) ** 2 + (p["y"] + 2) ** 2 + np.log10(p["lr"]) ** 2 + (p["n"] - 7) ** 2 / 100 + (p["k"] != "b")


def run_fmin(algo: str, n: int, seed: int) -> float:
    t0 = time.perf_counter()
    fmin(quadratic, to_hyperopt(SPACE), algo=SUGGEST[algo], max_evals=n, trials=Trials(),
         rstate=np.random.default_rng(seed), show_progressbar=False)  # fmt: skip
    return (time.perf_counter() - t0) / n


def run_adapter(algo: str, n: int, seed: int) -> float:
    t0 = time.perf_counter()
    study = optuna.create_study(sampler=HyperoptSampler(algo, SPACE, seed=seed))
    study.optimize(lambda t: quadratic(SPACE.suggest(t)), n_trials=n)
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--algos", nargs="+", default=["tpe", "rand"], choices=list(SUGGEST))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    lines = [
        f"hyperopt_overhead: {args.trials} trials, {args.repeats} repeats side by side (order "
        f"alternating), medians; {platform.python_version()}, {os.cpu_count()} CPUs",
        f"{'algorithm':<10} {'fmin ms/trial':>14} {'adapter ms/trial':>17} {'adapter/fmin':>13}  per repeat",
    ]
    for algo in args.algos:
        plain, ours = [], []
        for r in range(args.repeats):
            pair = [("fmin", run_fmin), ("adapter", run_adapter)]
            for which, fn in pair if r % 2 == 0 else pair[::-1]:
                (plain if which == "fmin" else ours).append(fn(algo, args.trials, r))
        ratios = [o / p for o, p in zip(ours, plain, strict=True)]
        lines.append(
            f"{algo:<10} {statistics.median(plain) * 1e3:>14.2f} {statistics.median(ours) * 1e3:>17.2f} "
            f"{statistics.median(ours) / statistics.median(plain):>13.2f}  "
            + " ".join(f"{x:.2f}" for x in ratios)
        )
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
