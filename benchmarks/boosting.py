"""LightGBM, XGBoost and CatBoost against scikit-learn's histogram gradient boosting.

Same budget and method (TPE, N_TRIALS trials, 3-fold CV, one thread), on seed-classification
and digits, median over 3 seeds: best CV score (with its fold spread) and wall time. Then
Hyperband by rounds against no pruning for LightGBM: rounds trained in all, and rounds trained
until the unpruned run's best score was first reached. Prints its figures; results in
benchmarks/results/boosting.txt.  Run: python benchmarks/boosting.py
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.simplefilter("ignore")

import optuna  # noqa: E402

from tuning.core.config import DatasetRef, RunConfig  # noqa: E402
from tuning.models import REGISTRY  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
N_TRIALS, SEEDS, FOLDS, MAX_ROUNDS = 20, (0, 1, 2), 3, 200
DATASETS = {"seed-classification": DatasetRef("seed-classification"), "digits": DatasetRef("digits")}
MODELS = ("hist_gradient_boosting", "lightgbm", "xgboost", "catboost")


def _space(model: str):
    spec = REGISTRY[model]
    return spec.default_space("classification").replace_param(spec.budget_param, low=20, high=MAX_ROUNDS)


def _run(model, ref, method, seed):
    storage = optuna.storages.InMemoryStorage()
    cfg = RunConfig(dataset=ref, model=model, method=method, space=_space(model), n_trials=N_TRIALS,
                    cv_folds=FOLDS, seed=seed, n_jobs=1)
    t0 = time.perf_counter()
    name = create_run(cfg, storage)
    execute(name, storage)
    return load_study(name, storage), time.perf_counter() - t0


def main() -> None:
    import argparse

    global N_TRIALS, SEEDS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=N_TRIALS)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = ap.parse_args()
    N_TRIALS, SEEDS = args.trials, tuple(args.seeds)
    unpruned = {}  # seed -> LightGBM's TPE study on seed-classification, reused below
    lines = [f"TPE, {N_TRIALS} trials, {FOLDS}-fold CV, 1 thread, rounds 20-{MAX_ROUNDS}, "
             f"median over seeds {SEEDS}"]
    for dname, ref in DATASETS.items():
        for model in MODELS:
            best, spread, wall = [], [], []
            for seed in SEEDS:
                study, seconds = _run(model, ref, "tpe", seed)
                if model == "lightgbm" and dname == "seed-classification":
                    unpruned[seed] = study
                b = study.best_trial
                best.append(b.value)
                spread.append(b.user_attrs["metrics"]["cv_std"])
                wall.append(seconds)
            line = (f"{dname:20s} {model:24s} best CV accuracy {statistics.median(best):.4f} "
                    f"(seeds {min(best):.4f}-{max(best):.4f}; fold std "
                    f"{statistics.median(spread):.4f})  wall {statistics.median(wall):6.1f} s "
                    f"({min(wall):.1f}-{max(wall):.1f})")
            print(line, flush=True)
            lines.append(line)
    ref = DATASETS["seed-classification"]
    for method in ("tpe", "hyperband"):
        total, reach = [], []
        for seed in SEEDS:
            study = unpruned[seed] if method == "tpe" else _run("lightgbm", ref, method, seed)[0]
            target = unpruned[seed].best_value
            spent, hit = 0, None
            for t in sorted(study.trials, key=lambda t: t.number):
                spent += max(t.intermediate_values or {0: 0}) * FOLDS
                if hit is None and t.value is not None and t.state.name == "COMPLETE" and t.value >= target:
                    hit = spent
            total.append(spent)
            reach.append(hit)
        reached = [r for r in reach if r is not None]
        line = (f"lightgbm {method:10s} rounds trained (all folds) {statistics.median(total):8.0f}; "
                f"to reach TPE-unpruned best: {statistics.median(reached) if reached else 'not reached'}"
                f" ({len(reached)}/{len(SEEDS)} seeds)")
        print(line, flush=True)
        lines.append(line)
    out = Path(__file__).parent / "results" / "boosting.txt"
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
