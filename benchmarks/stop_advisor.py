"""Would the stop advisor have stopped full runs early, and what would that have cost?

Runs the studio's own runs to the end (several cheap models, small datasets and methods,
--trials each), then asks the stop advisor (tuning.analysis.advisor) where it would have
stopped each of them: the share of the run's trials it would have saved, and whether the best
CV score at that trial lost more than one CV standard deviation (the final best's spread across
folds) against the final best. Targets (issue 25): saves >= 40 % of trials on the median run,
with a loss beyond one CV std in <= 1 run in 10.

    nice -n 10 python benchmarks/stop_advisor.py [--runs 24] [--trials 100] [--keep FILE.log]

--keep stores the runs in a journal file and reuses those already there (tune the rule on the
same runs without running them again).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import optuna  # noqa: E402

from tuning.analysis.advisor import advise, rule_of  # noqa: E402
from tuning.analysis.rundata import load_run  # noqa: E402
from tuning.core.config import DatasetRef, RunConfig  # noqa: E402
from tuning.execution.advisor import Tracker  # noqa: E402
from tuning.models import get_model  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.store.storage import open_storage  # noqa: E402
from tuning.store.trials import ATTR, TrialMetrics  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)

# (model, dataset): cheap fits on small data; the forest's trees are capped at 10-40.
PROBLEMS = [
    ("knn", "breast_cancer"), ("logistic_regression", "breast_cancer"), ("knn", "wine"),
    ("random_forest", "wine"), ("svm", "breast_cancer"), ("logistic_regression", "wine"),
    ("knn", "diabetes"), ("ridge", "diabetes"),
]  # fmt: skip
METHODS = ["tpe", "random", "median"]  # a Bayesian, a random, a multi-fidelity (pruned) search


def configs(n_runs: int, trials: int, seed0: int) -> list[RunConfig]:
    out = []
    combos = itertools.cycle(itertools.product(PROBLEMS, METHODS))
    for i, ((model, data), method) in enumerate(itertools.islice(combos, n_runs)):
        space = None
        if model == "random_forest":
            space = (
                get_model(model)
                .space("classification")
                .replace_param("n_estimators", low=10, high=40)
            )
        out.append(RunConfig(
            dataset=DatasetRef(data), model=model, method=method, space=space, n_trials=trials,
            cv_folds=5, seed=seed0 + i, n_jobs=1, name=f"adv-{i:02d}-{model}-{data}-{method}",
        ))  # fmt: skip
    return out


def run_all(cfgs: list[RunConfig], storage) -> tuple[int, float]:
    """Run the runs --keep does not hold yet; returns how many and the seconds they took."""
    names = {s.study_name for s in storage.get_all_studies()}
    t0, made = time.perf_counter(), 0
    for cfg in cfgs:
        if cfg.name in names:
            continue
        create_run(cfg, storage)
        execute(cfg.name, storage, refit=False)
        made += 1
        print(f"  ran {cfg.name}", flush=True)
    return made, time.perf_counter() - t0


def _tracker(run, consecutive: int) -> Tracker:
    return Tracker(rule_of(run)[0], run.maximize, consecutive)


def variant(cfgs: list[RunConfig], storage, consecutive: int) -> None:
    """The same runs judged with another number of flat checks in a row."""
    saved, beyond = [], 0
    for cfg in cfgs:
        run = load_run(optuna.load_study(study_name=cfg.name, storage=storage))
        a = advise(run, _tracker(run, consecutive), until_stop=True)
        saved.append(a.saved or 0.0)
        beyond += bool(a.lost_beyond_std)
    print(f"with {consecutive} flat check(s) in a row instead: {np.median(saved):.0%} of trials "
          f"saved on the median run, {beyond} of {len(cfgs)} lost more than one CV std")  # fmt: skip


def refresh_cost(n: int) -> None:
    """What the advisor adds to a Live monitor refresh on an n-trial run besides new points'
    GP fits: its pass over the trials (no new point computed)."""
    rng = np.random.default_rng(0)
    study = optuna.create_study(direction="maximize")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1),
            "y": optuna.distributions.FloatDistribution(0, 1)}  # fmt: skip
    for v in 0.9 + rng.normal(0, 0.01, n):
        folds = TrialMetrics.scored(list(v + rng.normal(0, 0.02, 5))).to_attr()
        study.add_trial(optuna.trial.create_trial(
            params={"x": rng.uniform(), "y": rng.uniform()}, distributions=dist,
            value=float(v), user_attrs={ATTR: folds},
        ))  # fmt: skip
    run = load_run(study)
    tracker = Tracker(advise(run, budget_s=0.0).rule, True)
    advise(run, tracker, budget_s=0.0)  # warm: the frame's derived tables
    t0 = time.perf_counter()
    advise(run, tracker, budget_s=0.0)
    cached = time.perf_counter() - t0
    print(f"Live refresh at {n:,} trials: {1000 * cached:.0f} ms besides new points' fits (at "
          "most one past the refresh's 0.3 s budget)")  # fmt: skip


def fit_cost(n: int) -> None:
    """The seconds of one checkpoint's GP fit at n complete trials (top trials capped)."""
    from tuning.execution.advisor import regret_bound

    rng = np.random.default_rng(0)
    study = optuna.create_study(direction="maximize")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1),
            "y": optuna.distributions.FloatDistribution(0, 1)}  # fmt: skip
    for v in 0.9 + rng.normal(0, 0.01, n):
        study.add_trial(optuna.trial.create_trial(
            params={"x": rng.uniform(), "y": rng.uniform()}, distributions=dist, value=float(v),
        ))  # fmt: skip
    trials = study.get_trials(deepcopy=False)
    regret_bound(trials[:20], True)  # the first call imports torch: not counted
    t0 = time.perf_counter()
    regret_bound(trials, True)
    print(
        f"one check's GP fit at {n:,} complete trials: {1000 * (time.perf_counter() - t0):.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=24)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", help="journal file to store the runs in and reuse")
    ap.add_argument("--consecutive", type=int, nargs="+", default=[2, 1, 3],
                    help="flat checks in a row before a stop: the first is the table's, the "
                    "others get a summary line each")  # fmt: skip
    args = ap.parse_args()
    path = args.keep or str(Path(tempfile.mkdtemp()) / "advisor.log")
    storage = open_storage(path)
    cfgs = configs(args.runs, args.trials, args.seed)
    made, run_s = run_all(cfgs, storage)
    rows, fit_s, n_points = [], 0.0, 0
    print(f"{'run':48} {'rule':12} {'stop':>5} {'used':>9} {'saved':>6} {'loss':>8} "
          f"{'cv std':>7} {'>std':>4}")  # fmt: skip
    for cfg in cfgs:
        run = load_run(optuna.load_study(study_name=cfg.name, storage=storage))
        t0 = time.perf_counter()
        a = advise(run, _tracker(run, args.consecutive[0]), until_stop=True)
        fit_s += time.perf_counter() - t0
        n_points += len(a.points)
        saved = a.saved or 0.0
        beyond = bool(a.lost_beyond_std)
        rows.append((saved, beyond))
        stop = a.stop.trial if a.stop else "-"
        used = f"{a.used}/{a.total}" if a.used else f"-/{a.total}"
        loss = f"{a.loss:.4f}" if a.loss is not None else "-"
        std = f"{a.final_std:.4f}" if a.final_std is not None else "-"
        print(f"{cfg.name:48} {a.rule.value:12} {stop!s:>5} {used:>9} {saved:6.0%} {loss:>8} "
              f"{std:>7} {'yes' if beyond else 'no':>4}")  # fmt: skip
    saved = np.array([r[0] for r in rows])
    beyond = sum(r[1] for r in rows)
    print(f"\n{len(rows)} runs of {args.trials} trials, 5-fold CV ({made} run now, in "
          f"{run_s:.0f} s; the others reused from --keep)")  # fmt: skip
    print(f"trials saved on the median run: {np.median(saved):.0%} "
          f"(quartiles {np.percentile(saved, 25):.0%} to {np.percentile(saved, 75):.0%}; "
          f"target >= 40 %)")  # fmt: skip
    print(f"runs where stopping lost more than one CV std of the final best: {beyond} of "
          f"{len(rows)} (target <= 1 in 10)")  # fmt: skip
    print(f"runs the advisor never stopped: {int((saved == 0).sum())} of {len(rows)}")
    print(f"advisor time: {fit_s:.1f} s for {n_points} checkpoints "
          f"({1000 * fit_s / max(1, n_points):.0f} ms each, mostly the GP fit)")  # fmt: skip
    for k in args.consecutive[1:]:
        variant(cfgs, storage, k)
    for n in (100, 1000, 10_000):
        fit_cost(n)
    refresh_cost(10_000)


if __name__ == "__main__":
    main()
