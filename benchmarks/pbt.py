"""Issue 6: population-based training against random search and Hyperband, same total epochs.

Digits (1,797 rows, 10 classes), the PyTorch MLP, one search space for all three methods:
learning rate, batch size, layers, width, dropout, weight decay, and epochs up to EPOCHS.

Budget, counted in network epochs (tuning.runs.experiments.epochs_trained), the same for every method:
  - PBT: POPULATION members x EPOCHS epochs, each member one network scored on the holdout split
    (the first of 3 CV folds);
  - random search and Hyperband (TPE inside): 3-fold CV, each trial trains 3 networks for its
    epochs (fewer when pruned or early-stopped); the run is stopped by a callback as soon as the
    epochs it trained reach PBT's budget (it may overshoot by the last trial).
Per method and seed: the best validation score (PBT: holdout fold; others: 3-fold CV mean), the
held-out test score (others: best configuration refit on all training rows; PBT: the best
member's own network), epochs trained, trials and wall seconds. Medians over the seeds.

    python benchmarks/pbt.py [--seeds 0 1 2] [--out benchmarks/results/pbt.txt]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402
from optuna.storages import InMemoryStorage  # noqa: E402

from tuning.core.config import (  # noqa: E402
    DatasetRef,  # noqa: E402
    RunConfig,
)
from tuning.models import get_model  # noqa: E402
from tuning.runs.experiments import epochs_trained  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402
from tuning.store.trials import TrialMetrics  # noqa: E402

EPOCHS = 30
POPULATION = 8
INTERVAL = 3
FOLDS = 3
BUDGET = POPULATION * EPOCHS  # network epochs per method and seed


def space():
    return (
        get_model("mlp").default_space("classification")
        .replace_param("n_layers", low=1, high=2)
        .replace_param("width", low=16, high=128)
        .replace_param("epochs", low=3, high=EPOCHS)
    )  # fmt: skip


def spent(study: optuna.Study) -> int:
    folds = int(study.user_attrs["config"]["cv_folds"])
    return sum(
        epochs_trained(TrialMetrics.of(t), folds)
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished()
    )


def run(method: str, seed: int) -> dict:
    store = InMemoryStorage()
    options = {"population_size": POPULATION, "interval": INTERVAL} if method == "pbt" else {}
    cfg = RunConfig(
        dataset=DatasetRef("digits"), model="mlp", method=method, space=space(),
        method_options=options, n_trials=10_000, cv_folds=FOLDS, seed=seed, n_jobs=1,
    )  # fmt: skip
    name = create_run(cfg, store)

    def budget(study: optuna.Study, trial) -> None:
        if spent(study) >= BUDGET:
            study.stop()

    t0 = time.perf_counter()
    status = execute(name, store, callbacks=[budget] if method != "pbt" else ())
    wall = time.perf_counter() - t0
    study = load_study(name, store)
    done = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    return {
        "method": method, "seed": seed, "status": status, "best": study.best_value,
        "test": study.user_attrs["test"]["score"], "epochs": spent(study), "trials": len(done),
        "seconds": wall,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "pbt.txt"))
    args = ap.parse_args()
    lines = [
        f"# benchmarks/pbt.py — digits, MLP, budget {BUDGET} network epochs per method and seed "
        f"(PBT: {POPULATION} members x {EPOCHS} epochs, interval {INTERVAL}; others: "
        f"{FOLDS}-fold CV, stopped at the budget); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"{'method':<10} {'seed':>4} {'best val':>9} {'test':>7} {'epochs':>7} {'trials':>6} {'seconds':>8}",
    ]
    print("\n".join(lines), flush=True)
    rows = []
    for seed in args.seeds:
        for method in ("random", "hyperband", "pbt"):
            r = run(method, seed)
            rows.append(r)
            line = (f"{method:<10} {seed:>4} {r['best']:>9.4f} {r['test']:>7.4f} {r['epochs']:>7} "
                    f"{r['trials']:>6} {r['seconds']:>8.1f}")  # fmt: skip
            lines.append(line)
            print(line, flush=True)
    lines.append("")
    lines.append(f"median over seeds {args.seeds}:")
    for method in ("random", "hyperband", "pbt"):
        rs = [r for r in rows if r["method"] == method]
        med = {
            k: statistics.median(r[k] for r in rs) for k in ("best", "test", "epochs", "seconds")
        }
        line = (f"{method:<10} best val {med['best']:.4f}  test {med['test']:.4f}  "
                f"epochs {med['epochs']:.0f}  seconds {med['seconds']:.1f}")  # fmt: skip
        lines.append(line)
        print(line, flush=True)
    lines.append(
        "# best val: PBT scores members on one holdout split (the first CV fold), the others on "
        "the 3-fold CV mean; test: PBT's best member's own network (trained on that fold's "
        "training part), the others' best configuration refit on all training rows."
    )
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
