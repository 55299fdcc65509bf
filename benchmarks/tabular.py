"""A tabular benchmark of the studio's own models: every configuration of a fine grid over a
model's default search space, scored once by 3-fold CV (seed 0) and cached, so that a race of
many samplers and seeds replays in seconds: only the samplers' choices count.

    nice -n 10 python benchmarks/tabular.py --precompute      # fill the cache (minutes)
    python benchmarks/tabular.py                              # race: recommended vs random, TPE
    python benchmarks/tabular.py --seeds 3 --budgets 25 --tasks knn-iris

A sampler proposes a point of the continuous space; the lookup objective snaps each numeric
parameter to the nearest value of its grid (on the log scale where the parameter is log-scaled:
on a product grid that is the nearest grid point) and returns the cached score. The cache is
one compressed CSV per task under benchmarks/tabular_cache/ (the parameters as JSON values,
an empty cell where a conditional parameter is inactive, the CV mean and each fold's score).
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tuning.core.space import SearchSpace  # noqa: E402
from tuning.methods import REGISTRY  # noqa: E402
from tuning.methods.recommend import recommend  # noqa: E402

CACHE = ROOT / "benchmarks" / "tabular_cache"
FOLDS, CV_SEED = 3, 0


@dataclass(frozen=True)
class TabTask:
    model: str
    dataset: str
    scoring: str
    points: dict[str, int] = field(default_factory=dict)  # grid values per numeric parameter
    settings: dict = field(default_factory=dict)  # estimator settings that only save time
    # Parameters held at one value, out of the searched space (an all-numeric variant of a
    # model's space: the SVM with the RBF kernel alone searches C and gamma)
    fixed: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        held = "".join(f"-{v}" for v in self.fixed.values())
        return f"{self.model}{held}-{self.dataset}".replace("_", "")


# SVC's predictions do not depend on probability=True (its Platt scaling only serves
# predict_proba), so the accuracy tasks fit without it: five times faster. max_iter bounds the
# few poly/sigmoid fits that would otherwise run for minutes; they score as fitted.
_SVC = {"probability": False, "max_iter": 100_000}
TASKS = (
    TabTask("knn", "iris", "neg_log_loss"),
    TabTask("knn", "breast_cancer", "neg_log_loss"),
    TabTask("knn", "digits", "accuracy"),
    TabTask("knn", "moons", "accuracy"),
    TabTask("knn", "diabetes", "r2"),
    TabTask("logistic_regression", "wine", "neg_log_loss", {"C": 100}),
    TabTask("logistic_regression", "breast_cancer", "neg_log_loss", {"C": 100}),
    TabTask("ridge", "diabetes", "r2", {"alpha": 200}),
    TabTask("ridge", "regression", "r2", {"alpha": 200}),
    TabTask("svm", "breast_cancer", "accuracy", {"C": 10, "gamma": 10, "degree": 3}, _SVC),
    TabTask("svm", "wine", "accuracy", {"C": 10, "gamma": 10, "degree": 3}, _SVC),
    TabTask("svm", "moons", "accuracy", {"C": 10, "gamma": 10, "degree": 3}, _SVC),
    TabTask("random_forest", "wine", "neg_log_loss",
            {"n_estimators": 2, "max_depth": 3, "min_samples_split": 3, "min_samples_leaf": 4}),
    # All-numeric spaces (where the Gaussian process is said to shine): a fine 40 x 40 grid
    TabTask("svm", "breast_cancer", "accuracy", {"C": 40, "gamma": 40}, _SVC, {"kernel": "rbf"}),
    TabTask("svm", "moons", "accuracy", {"C": 40, "gamma": 40}, _SVC, {"kernel": "rbf"}),
    TabTask("svm", "wine", "accuracy", {"C": 40, "gamma": 40}, _SVC, {"kernel": "rbf"}),
)  # fmt: skip
BY_NAME = {t.name: t for t in TASKS}


def task_space(task: TabTask) -> SearchSpace:
    from tuning.data.registry import get_spec
    from tuning.models import get_model

    space = get_model(task.model).default_space(get_spec(task.dataset).task)
    params = []
    for p in space.params:
        if p.name in task.fixed:
            continue
        if p.condition and p.condition[0] in task.fixed:  # decided by the held value
            if task.fixed[p.condition[0]] not in p.condition[1]:
                continue
            p = replace(p, condition=None)
        params.append(p)
    return SearchSpace(tuple(params)).validate()


def grid_space(task: TabTask) -> SearchSpace:
    """The default space with each parameter's grid values made explicit."""
    space = task_space(task)
    params = [
        replace(p, grid=tuple(p.grid_values(task.points.get(p.name, 1000)))) for p in space.params
    ]
    return SearchSpace(tuple(params)).validate()


def _cell(value) -> str:
    return json.dumps(value)


# -- precompute -------------------------------------------------------------------------------
def cache_path(task: TabTask, split: int = 0) -> Path:
    return CACHE / (f"{task.name}.csv.gz" if split == 0 else f"{task.name}.split{split}.csv.gz")


def precompute(task: TabTask, split: int = 0) -> Path:
    """Score every grid configuration by 3-fold CV. `split` 0 is the table the samplers see;
    split 1 rescores each configuration on other folds (and another model seed), so that the
    configuration a method ends with can be judged on scores it never saw."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

    from tuning.core.config import DatasetRef
    from tuning.data.registry import load_dataset
    from tuning.models import build_pipeline, get_model

    ds = load_dataset(DatasetRef(task.dataset))
    space = grid_space(task)
    grid = space.grid(1)
    classify = ds.task == "classification"
    cv = (StratifiedKFold if classify else KFold)(
        FOLDS, shuffle=True, random_state=CV_SEED + split
    )
    rows, start, cpu = [], time.perf_counter(), time.process_time()
    for params in grid:
        pipe = build_pipeline(get_model(task.model), {**params, **task.fixed}, ds.task,
                              seed=split, n_jobs=1)  # fmt: skip
        pipe.set_params(**{f"model__{k}": v for k, v in task.settings.items()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = cross_validate(pipe, ds.X, ds.y, cv=cv, scoring=task.scoring)["test_score"]
        row = {p.name: (_cell(params[p.name]) if p.name in params else "") for p in space.params}
        row.update(score=float(np.mean(scores)), **{f"fold{i}": s for i, s in enumerate(scores)})
        rows.append(row)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = cache_path(task, split)
    pd.DataFrame(rows).to_csv(path, index=False, float_format="%.6g")
    print(f"{task.name} (split {split}): {len(grid)} configurations in "
          f"{time.perf_counter() - start:.0f} s "
          f"({time.process_time() - cpu:.0f} s of CPU)", flush=True)  # fmt: skip
    return path


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# -- the lookup objective ---------------------------------------------------------------------
class Table:
    """One task's cached scores, and the objective that replays a sampler over them."""

    def __init__(self, task: TabTask, frame: pd.DataFrame | None = None) -> None:
        self.task = task
        self.space = grid_space(task)
        self.scores = self._scores(_read(cache_path(task)) if frame is None else frame)
        self.best = max(self.scores.values())
        # The same configurations scored on other folds (--split 1), where precomputed: the
        # configuration a method ends with is judged there too, free of the luck of the folds
        # it was chosen on (the largest of many noisy CV means is biased upwards).
        other = cache_path(task, 1)
        self.rescored = self._scores(_read(other)) if other.exists() else {}

    def _scores(self, frame: pd.DataFrame) -> dict[tuple[str, ...], float]:
        names = self.space.names
        return {tuple(row[n] for n in names): float(row["score"]) for _, row in frame.iterrows()}

    def snap(self, params: dict) -> tuple[str, ...]:
        """The key of the grid point nearest to `params` (a configuration of the space)."""
        key = []
        for p in self.space.params:
            if p.name not in params:
                key.append("")
                continue
            value = params[p.name]
            if p.kind != "categorical":
                grid = np.asarray(p.grid, dtype=float)
                where = np.log(grid) if p.log else grid
                target = math.log(value) if p.log else float(value)
                value = p.grid[int(np.argmin(np.abs(where - target)))]
            key.append(_cell(value))
        return tuple(key)

    def objective(self, trial: optuna.Trial) -> float:
        return self.scores[self.snap(task_space(self.task).suggest(trial))]

    def replay(self, sampler: optuna.samplers.BaseSampler, n_trials: int) -> np.ndarray:
        """After each trial of one sampler's run over the table: row 0 the best score so far,
        row 1 that best configuration's score on the other folds (NaN without them)."""
        space = task_space(self.task)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        values, keys = [], []
        for _ in range(n_trials):
            trial = study.ask()
            key = self.snap(space.suggest(trial))
            study.tell(trial, self.scores[key])
            values.append(self.scores[key])
            keys.append(key)
        best = np.maximum.accumulate(values)
        # The incumbent is the first trial to reach the best, as Optuna's best_trial is
        first = [values.index(b) for b in best]
        rescored = [self.rescored.get(keys[i], np.nan) for i in first]
        return np.array([best, rescored])


def load_tables(names: list[str] | None = None) -> list[Table]:
    return [Table(BY_NAME[n]) for n in (names or BY_NAME) if cache_path(BY_NAME[n]).exists()]


# -- the race ---------------------------------------------------------------------------------
def method_for(name: str, table: Table, n_trials: int) -> tuple[str, dict]:
    """(registry method, options) that `name` stands for: "recommended" is resolved for the
    task's space and budget; "tpe:n_startup_trials=10" sets options."""
    if name == "recommended":
        method, options, _ = recommend(table.space, n_trials)
        return method, options
    method, _, raw = name.partition(":")
    options = {k: int(v) for k, v in (kv.split("=") for kv in raw.split(",") if kv)}
    return method, options


_RUNS: dict[tuple, np.ndarray] = {}
RUNS_FILE: Path | None = None  # --keep: sampler runs kept across invocations (pickle)


def _load_runs(paths: list[Path]) -> None:
    """Runs kept by earlier calls (several files: races run side by side); new ones go to the
    first file."""
    global RUNS_FILE
    RUNS_FILE = paths[0]
    for path in paths:
        if path.exists():
            _RUNS.update(pickle.loads(path.read_bytes()))


def _save_runs() -> None:
    if RUNS_FILE is not None:
        RUNS_FILE.write_bytes(pickle.dumps(_RUNS))


def trajectory(table: Table, method: str, options: dict, n_trials: int, seed: int) -> np.ndarray:
    """Table.replay's two rows. A sampler's proposals do not depend on the budget, so one run
    at the largest budget serves every smaller one (its first n trials)."""
    key = (table.task.name, method, tuple(sorted(options.items())), seed, "incumbent")
    have = _RUNS.get(key)
    if have is None or have.shape[1] < n_trials or (table.rescored and np.isnan(have[1]).any()):
        have = _RUNS[key] = table.replay(REGISTRY[method].sampler(seed, options), n_trials)
    return have[:, :n_trials]


def race(table: Table, name: str, n_trials: int, seeds: int, most: int | None = None,
         row: int = 0) -> np.ndarray:  # fmt: skip
    """Final best score of `name` with `n_trials`, one per seed (runs of `most` trials kept);
    `row` 1: the final best configuration's score on the other folds."""
    method, options = method_for(name, table, n_trials)
    return np.array([
        trajectory(table, method, options, max(n_trials, most or 0), s)[row, n_trials - 1]
        for s in range(seeds)
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precompute", action="store_true", help="score the grids (minutes)")
    ap.add_argument("--split", type=int, default=0,
                    help="with --precompute: 1 rescores the grids on other folds")  # fmt: skip
    ap.add_argument("--tasks", nargs="*", help=f"of: {', '.join(BY_NAME)}")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", type=int, nargs="*", default=[25, 50])
    ap.add_argument(
        "--keep", type=Path, nargs="*", help="files that keep sampler runs between calls"
    )
    ap.add_argument("--methods", nargs="*", default=["recommended", "tpe", "gp"],
                    help="compared with random search at 4x the budget")  # fmt: skip
    args = ap.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    import torch  # the Gaussian process's: one thread, or a busy machine makes it 10x slower

    torch.set_num_threads(1)
    if args.precompute:
        for name in args.tasks or BY_NAME:
            precompute(BY_NAME[name], args.split)
        return
    if args.keep:
        _load_runs(args.keep)
    report(load_tables(args.tasks), args.budgets, args.methods, args.seeds)


READINGS = (
    "score = best 3-fold CV mean found (the cached value the sampler saw)",
    "score = the found best configuration rescored on other folds (3-fold CV, split seed 1, "
    "model seed 1), which no sampler saw",
)


def report(tables: list[Table], budgets: list[int], methods: list[str], seeds: int) -> None:
    rows = [0, 1] if all(t.rescored for t in tables) else [0]
    for row in rows:
        print(f"Tabular benchmark: {len(tables)} tasks, {seeds} seeds; {READINGS[row]}; median "
              "over seeds, spread = interquartile range.")  # fmt: skip
        for budget in budgets:
            _budget_table(tables, budget, max(budgets), methods, seeds, row)
        print()


def _budget_table(tables, budget: int, most: int, methods: list[str], seeds: int, row: int):
    start = time.perf_counter()
    wins = {m: [0, 0] for m in methods}  # [not worse, strictly better] than random at 4B
    behind_tpe = []  # tasks where recommended trails TPE by more than TPE's seed spread
    print(f"\nB = {budget}: each method with B trials against random search with {4 * budget}")
    print(f"{'task':<32}{'size':>6}{'best':>9}{'random 4B':>17}" + "".join(
        f"{m:>24}" for m in methods))  # fmt: skip
    for t in tables:
        rand = race(t, "random", 4 * budget, seeds, 4 * most, row)
        cells = [_fmt(rand)]
        if "recommended" in methods and "tpe" in methods:
            rec, tpe = (race(t, "recommended", budget, seeds, most, row),
                        race(t, "tpe", budget, seeds, most, row))  # fmt: skip
            if np.median(rec) < np.median(tpe) - np.std(tpe):
                behind_tpe.append(t.task.name)
        for m in methods:
            got = race(t, m, budget, seeds, most, row)
            med, rmed = np.median(got), np.median(rand)
            wins[m][0] += med >= rmed
            wins[m][1] += med > rmed
            mark = ">" if med > rmed else "=" if med == rmed else "<"
            label = method_for(m, t, budget)[0] if m == "recommended" else ""
            cells.append(f"{mark} {_fmt(got)} {label}")
        _save_runs()
        best = max((t.rescored if row else t.scores).values())
        print(f"{t.task.name:<32}{len(t.scores):>6}{best:>9.4f}" + "".join(
            f"{c:>24}" if i else f"{c:>17}" for i, c in enumerate(cells)))  # fmt: skip
    for m in methods:
        print(f"  {m}: not worse than random at 4B on {wins[m][0]} of {len(tables)}, "
              f"strictly better on {wins[m][1]}")  # fmt: skip
    if "recommended" in methods and "tpe" in methods:
        print(f"  recommended behind TPE (same B) by more than TPE's seed spread (std over "
              f"seeds): {', '.join(behind_tpe) or 'on no task'}")  # fmt: skip
    print(f"  ({time.perf_counter() - start:.0f} s)")


def _fmt(values: np.ndarray) -> str:
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return f"{med:.4f} ±{(q3 - q1) / 2:.4f}"


if __name__ == "__main__":
    main()
