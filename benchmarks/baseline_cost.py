"""Issue 25: the library-defaults baseline costs one trial. Runs with and without it, over
seeds, reach the same final best within noise.

Each (model, dataset) pair is tuned by the studio's engine (create_run + execute, the real
cross-validated objective, Bayesian TPE) for N trials per seed, once with the baseline (the
defaults queued as trial 0 where they fit the space, else scored beside the trials) and once
without it, on the same seed (same split, folds and sampler seed). Per pair: the final best
CV score with and without (median and range over the seeds), the paired difference per seed
(with - without) against the CV noise (the median fold standard deviation of the bests), and
the verdict: "same within noise" when the median paired difference is within that noise.

    python benchmarks/baseline_cost.py [--seeds 0 1 2 3 4] [--trials 30] [--pairs knn/wine ...]
        [--out benchmarks/results/baseline_cost.txt]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402
from optuna.storages import InMemoryStorage  # noqa: E402

from tuning import analysis as an  # noqa: E402
from tuning.core.config import DatasetRef, RunConfig  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
PAIRS = ("knn/wine", "logistic_regression/breast_cancer", "ridge/diabetes", "svm/breast_cancer")


def one_run(model: str, dataset: str, seed: int, trials: int, baseline: bool) -> dict:
    storage = InMemoryStorage()
    config = RunConfig(dataset=DatasetRef(dataset), model=model, method="tpe", n_trials=trials,
                       cv_folds=5, n_jobs=1, seed=seed, defaults_baseline=baseline)  # fmt: skip
    name = create_run(config, storage)
    t0 = time.perf_counter()
    status = execute(name, storage, refit=False)
    seconds = time.perf_counter() - t0
    run = an.load_run(load_study(name, storage))
    best = run.best
    gain = an.gain_over_defaults(run) if baseline else None
    return {
        "status": str(status), "best": float(best["value"]), "std": float(best["cv_std"]),
        "sign": run.sign, "seconds": seconds, "trials": run.n_complete,
        "defaults_trial": None if gain is None else gain.defaults_trial,
        "defaults_best": bool(gain is not None and gain.defaults_are_best),
    }


def pair_lines(pair: str, seeds: list[int], trials: int) -> list[str]:
    model, dataset = pair.split("/")
    rows = []
    for seed in seeds:
        rows.append((one_run(model, dataset, seed, trials, True),
                     one_run(model, dataset, seed, trials, False)))  # fmt: skip
    with_ = [a["best"] for a, _ in rows]
    without = [b["best"] for _, b in rows]
    sign = rows[0][0]["sign"]
    diffs = [sign * (a - b) for a, b in zip(with_, without, strict=True)]  # > 0: with is better
    noise = statistics.median(r["std"] for pair_ in rows for r in pair_)
    med = statistics.median(diffs)
    same = abs(med) <= noise
    where = rows[0][0]["defaults_trial"]
    kind = "trial 0" if where == 0 else "scored beside the trials (no trial spent)"
    lines = [
        f"{pair}: TPE, {trials} trials, 5-fold CV, seeds {' '.join(map(str, seeds))}; "
        f"defaults: {kind}",
        f"  final best with baseline    median {statistics.median(with_):.4f}  "
        f"range {min(with_):.4f} - {max(with_):.4f}",
        f"  final best without baseline median {statistics.median(without):.4f}  "
        f"range {min(without):.4f} - {max(without):.4f}",
        f"  paired difference (with - without, + = better with): median {med:+.4f}  "
        f"range {min(diffs):+.4f} - {max(diffs):+.4f}; per seed "
        + " ".join(f"{d:+.4f}" for d in diffs),
        f"  CV noise (median fold std of the bests) {noise:.4f}; defaults were the best "
        f"configuration in {sum(a['defaults_best'] for a, _ in rows)} of {len(rows)} seeds",
        f"  seconds per run: with {statistics.median(a['seconds'] for a, _ in rows):.1f}, "
        f"without {statistics.median(b['seconds'] for _, b in rows):.1f} (median)",
        f"  verdict: {'same final best within noise' if same else 'DIFFERENT beyond noise'}",
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--pairs", nargs="+", default=list(PAIRS))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# benchmarks/baseline_cost.py {stamp}, {platform.node()}, python "
           f"{platform.python_version()}, optuna {optuna.__version__}"]  # fmt: skip
    for pair in args.pairs:
        lines = pair_lines(pair, args.seeds, args.trials)
        print("\n".join(lines), flush=True)
        out += lines
    verdicts = [line for line in out if "verdict" in line]
    same = sum("same" in v for v in verdicts)
    summary = (f"overall: {same} of {len(verdicts)} pairs reach the same final best within "
               f"noise with and without the baseline ({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    print(summary)
    out.append(summary)
    if args.out:
        args.out.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
