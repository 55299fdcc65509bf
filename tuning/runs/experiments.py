"""Experiments: several methods (optionally over several seeds) raced on one dataset, model,
search space, CV, scoring and budget. Each member is an ordinary run; the experiment is the
label they share (`StoredRun.tag_experiment`), so experiments need no storage of their own and
every member opens in Live monitor, Analysis and optuna.load_study like any run. Members are
also scheduled like any run: start_experiment queues them on a RunManager (the app's own, so
its cap on runs at once holds for them and its queue shows them). A method may also race a
warm-started copy of itself on the same seeds (`warm_methods`, from the runs `warm_start`
names): its own entry and member runs (tuning/runs/entries.py), measured against its cold twin
by tuning.analysis.warm.experiment_warm.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from tuning.core.config import RunConfig
from tuning.core.enums import BudgetKind, RunStatus
from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace, cat_param, int_param
from tuning.execution.level import save_level
from tuning.methods import get_method, multi_objective_methods
from tuning.runs.entries import (
    can_warm_start,
    default_warm,
    entry_label,
    entry_method,
    entry_slug,
    is_warm,
    warm_entry,
)
from tuning.runs.runner import RunManager, create_run, open_session
from tuning.store.records import GridLevel, RunRecord
from tuning.store.results import score_of
from tuning.store.run import StoredRun
from tuning.store.runs import as_storage as _storage
from tuning.store.runs import load_study, sanitize_name
from tuning.store.trials import TrialMetrics


@dataclass(frozen=True)
class ExperimentConfig:
    base: RunConfig  # dataset, model, space, CV, scoring and budget shared by every member
    methods: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    parallel: bool = False  # members side by side (True) or one after another
    target: float | None = None  # time-to-target; None: the best score grid search found
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # method -> RunConfig fields
    name: str | None = None
    # Warm-started copies raced beside their cold method on the same seeds: the earlier runs
    # they start from, and which methods get one (entries "<method>+warm", see entries.py).
    warm_start: tuple[str, ...] = ()
    warm_methods: tuple[str, ...] = ()

    @property
    def entries(self) -> tuple[str, ...]:
        """The rows the race compares, in order: each method, its warm copy right after it."""
        out: list[str] = []
        for m in self.methods:
            out += [m, warm_entry(m)] if m in self.warm_methods else [m]
        return tuple(out)

    def validate(self) -> ExperimentConfig:
        if not self.methods:
            raise ConfigError("Choose at least one search method to compare.")
        if len(set(self.methods)) != len(self.methods):
            raise ConfigError("A method is listed twice: list each method once.")
        for m in self.methods:
            get_method(m)
        if not self.seeds:
            raise ConfigError("Give at least one seed.")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("A seed is listed twice: list each seed once.")
        if self.base.multi_objective:
            able = multi_objective_methods()
            unable = [m for m in self.methods if m not in able]
            if unable:
                raise ConfigError(
                    f"{', '.join(get_method(m).label for m in unable)} cannot search several "
                    f"objectives. For a comparison on score and cost choose among: "
                    f"{', '.join(get_method(m).label for m in able)}."
                )
        bad = set(self.overrides) - set(self.methods)
        if bad:
            raise ConfigError(f"Settings given for methods not in the experiment: {sorted(bad)}.")
        self._validate_warm()
        return self

    def _validate_warm(self) -> None:
        """Warm copies need sources and methods that are raced and can start from them."""
        if not self.warm_start and not self.warm_methods:
            return
        if not self.warm_start:
            raise ConfigError("Warm-started copies need earlier runs to start from: pick at "
                              "least one, or race no warm copy.")  # fmt: skip
        if not self.warm_methods:
            hint = "".join(f" (for example {m})" for m in default_warm(self.methods))
            raise ConfigError("Say which methods also race a warm-started copy: choose at "
                              f"least one of the experiment's methods{hint}.")  # fmt: skip
        if len(set(self.warm_methods)) != len(self.warm_methods):
            raise ConfigError("A method is listed twice for a warm copy: list each once.")
        outside = [m for m in self.warm_methods if m not in self.methods]
        if outside:
            raise ConfigError(
                f"A warm copy is asked of {', '.join(outside)}, which the experiment does not "
                f"race: choose among its methods ({', '.join(self.methods)})."
            )
        if self.base.multi_objective:
            raise ConfigError("Warm-started copies race on the CV score only: remove the cost "
                              "objectives or the warm copies.")  # fmt: skip
        unable = [entry_label(m) for m in self.warm_methods if not can_warm_start(m)]
        if unable:
            raise ConfigError(
                f"{', '.join(unable)} cannot start from earlier runs (a grid tries its own list; "
                "population-based training trains its own population): give the warm copy to a "
                "sampler such as Bayesian (TPE) or random search."
            )

    def member(self, entry: str, seed: int) -> RunConfig:
        """The run of one entry on one seed: a warm entry runs its method from `warm_start`."""
        method = entry_method(entry)
        extra = dict(self.overrides.get(method, {}))
        if "space" in extra and isinstance(extra["space"], dict):
            extra["space"] = SearchSpace.from_dict(extra["space"])
        unknown = set(extra) - set(RunConfig.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"Unknown setting(s) for {method}: {', '.join(sorted(unknown))}.")
        if is_warm(entry):
            extra["warm_start"] = tuple(self.warm_start)
        return replace(self.base, method=method, seed=seed, name=None, **extra)

    def to_dict(self) -> dict:
        overrides = {
            m: {k: (v.to_dict() if isinstance(v, SearchSpace) else v) for k, v in o.items()}
            for m, o in self.overrides.items()
        }
        return {
            "base": self.base.to_dict(), "methods": list(self.methods), "seeds": list(self.seeds),
            "parallel": self.parallel, "target": self.target, "overrides": overrides,
            "name": self.name, "warm_start": list(self.warm_start),
            "warm_methods": list(self.warm_methods),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> ExperimentConfig:
        return cls(
            base=RunConfig.from_dict(d["base"]), methods=tuple(d["methods"]),
            seeds=tuple(d["seeds"]), parallel=bool(d.get("parallel")), target=d.get("target"),
            overrides=dict(d.get("overrides") or {}), name=d.get("name"),
            warm_start=tuple(d.get("warm_start") or ()),  # none in experiments made before
            warm_methods=tuple(d.get("warm_methods") or ()),
        )  # fmt: skip


def create_experiment(exp: ExperimentConfig, storage: BaseStorage | str | None = None) -> str:
    """Create every member run (validated first, so nothing is half-created); returns the name."""
    storage = _storage(storage)
    exp.validate()
    members = [(m, s, exp.member(m, s)) for s in exp.seeds for m in exp.entries]
    from tuning.runs.prepare import prepare

    first_warm = (warm_entry(exp.warm_methods[0]), exp.seeds[0]) if exp.warm_methods else None
    for entry, seed, cfg in members:
        prep = prepare(cfg)  # raises a UserError naming what to change, before anything is written
        if (entry, seed) == first_warm:
            _check_sources(prep, storage)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = sanitize_name(exp.name or f"compare-{exp.base.model}-{exp.base.dataset.label()}-{stamp}")
    if name in {e.name for e in list_experiments(storage)}:
        raise ConfigError(f"An experiment named '{name}' already exists: choose another name.")
    exp = replace(exp, name=name)
    for i, (method, seed, cfg) in enumerate(members):
        run = create_run(replace(cfg, name=member_name(name, method, seed)), storage)
        StoredRun.open(run, storage).tag_experiment(
            {"name": name, "method": method, "seed": seed, "order": i, "config": exp.to_dict()},
        )
    return name


@dataclass
class ExperimentInfo:
    name: str
    config: ExperimentConfig
    # {"run", "method", "seed", "order", "status", "level" (a grid member's GridLevel or None)}
    runs: list[dict[str, Any]]
    created_at: str | None

    @property
    def status(self) -> str:
        states = {r["status"] for r in self.runs}
        for s in ("running", "queued", "interrupted", "failed", "stopped"):
            if s in states:
                return s
        return "finished"

    @property
    def complete(self) -> bool:
        """Whether every member (every method on every seed) has finished."""
        return all(r["status"] == "finished" for r in self.runs)

    def missing(self) -> dict[str, list[int]]:
        """Method -> the seeds whose run has not finished, in the experiment's order."""
        out: dict[str, list[int]] = {}
        for r in self.runs:
            if r["status"] != "finished":
                out.setdefault(r["method"], []).append(r["seed"])
        return out


def list_experiments(storage: BaseStorage | str | None = None) -> list[ExperimentInfo]:
    storage = _storage(storage)
    groups: dict[str, ExperimentInfo] = {}
    for s in storage.get_all_studies():
        rec = RunRecord.of_listing(s)
        tag = rec.experiment
        if not tag:
            continue
        info = groups.get(tag["name"])
        if info is None:
            cfg = ExperimentConfig.from_dict(tag["config"])
            info = groups[tag["name"]] = ExperimentInfo(tag["name"], cfg, [], rec.created_at)
        info.runs.append(
            {"run": s.study_name, "method": tag["method"], "seed": tag["seed"],
             "order": tag["order"], "status": rec.status, "level": rec.grid_level}
        )  # fmt: skip
    for info in groups.values():
        info.runs.sort(key=lambda r: r["order"])
    return sorted(groups.values(), key=lambda e: e.created_at or "", reverse=True)


def _check_sources(prep, storage: BaseStorage) -> None:
    """A warm copy that no named source can seed would race as a second cold run: refused,
    with what was wrong with each source. `prep`: a warm copy's prepared run."""
    from tuning.runs import warmstart

    found = warmstart.plan(prep, storage)
    if not found.configs:
        raise ConfigError(
            f"No earlier run named can seed the warm copies: {found.note} Choose runs of the "
            "same model and task (New run's \"Start from earlier runs\" ranks them)."
        )


def member_name(experiment: str, entry: str, seed: int) -> str:
    """The run name of an experiment's member (`experiment_of` reads it back); a warm copy's
    says so ("...--tpe-warm--seed0")."""
    return f"{experiment}--{entry_slug(entry)}--seed{seed}"


def experiment_of(run: str) -> str | None:
    """The experiment a run's name says it belongs to (as `member_name` built it), or None."""
    head, sep, tail = run.rpartition("--seed")
    if not sep or not tail.isdigit() or "--" not in head:
        return None
    return head.rpartition("--")[0] or None


def get_experiment(name: str, storage: BaseStorage | str | None = None) -> ExperimentInfo:
    for e in list_experiments(storage):
        if e.name == name:
            return e
    raise ConfigError(f"No experiment named '{name}'.")


def start_experiment(name: str, manager: RunManager) -> list[str]:
    """Queue every unfinished member on `manager`, in the experiment's order, like any run: the
    manager's cap holds for them and its queue lists them. The members of an experiment run one
    after another share a lane, so they work one at a time. A member already running or queued
    there keeps its place (a second Start starts nothing). Returns the members queued."""
    info = get_experiment(name, manager.storage)
    lane = None if info.config.parallel else f"experiment:{name}"
    todo = [r["run"] for r in info.runs if r["status"] != "finished"]
    for run in todo:
        manager.resume(run, lane=lane)
    return todo


def active_members(info: ExperimentInfo, manager: RunManager) -> list[str]:
    """The members `manager` is running or has queued."""
    return [r["run"] for r in info.runs if manager.is_active(r["run"])]


def stop_experiment(info: ExperimentInfo, manager: RunManager) -> None:
    """Stop the members `manager` holds: queued ones are dequeued first, so that none starts as
    another ends; working ones stop within a fold or epoch (resume by starting it again)."""
    queued = set(manager.queued())
    for run in sorted(active_members(info, manager), key=lambda r: r not in queued):
        manager.stop(run)


def run_experiment(
    name: str,
    storage: BaseStorage | str | None = None,
    stop: threading.Event | None = None,
    dask: str | None = None,
) -> dict[str, str]:
    """Run every unfinished member to its end (blocking) on a RunManager of its own: all at once
    when the experiment runs side by side, else one after another. A member works on a thread
    here unless it asks for several workers (then as that many processes, as New run does).
    `stop` stops the members working and dequeues the rest; `dask`: the scheduler of members
    that work on a Dask cluster. Returns run -> final status."""
    storage = _storage(storage)
    stop = stop or threading.Event()
    info = get_experiment(name, storage)
    n = sum(r["status"] != "finished" for r in info.runs)
    manager = RunManager(storage, max_running=max(1, n) if info.config.parallel else 1,
                         nice=0, isolate=False, dask=dask)  # fmt: skip
    todo = start_experiment(name, manager)
    while active_members(info, manager):
        if stop.wait(0.2):
            stop_experiment(info, manager)
            break
    statuses = {}
    for run in todo:
        h = manager.handles.get(run)
        if h is not None:
            h.join()
        statuses[run] = "stopped" if h is None else (h.status or "failed")  # None: dequeued
    return statuses


# -- analysis ------------------------------------------------------------------------------------
def trajectories(info: ExperimentInfo, storage: BaseStorage | str | None = None) -> pd.DataFrame:
    """One row per finished trial: method, seed, trial count, elapsed seconds, best so far."""
    storage = _storage(storage)
    frames = []
    for r in info.runs:
        study = load_study(r["run"], storage)
        trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        trials = [t for t in trials if t.datetime_start and t.datetime_complete]
        if not trials:
            continue
        trials.sort(key=lambda t: t.datetime_complete)
        t0 = min(t.datetime_start for t in trials)
        rec = RunRecord.from_study(study)
        folds = int(rec.config_dict.get("cv_folds") or 1)
        by_epoch = rec.budget is not None and rec.budget.kind == BudgetKind.EPOCHS
        rows = []
        for i, t in enumerate(trials, 1):
            m = TrialMetrics.of(t)
            v = score_of(t) if t.state == TrialState.COMPLETE else None
            ok = v is not None and np.isfinite(v)
            rows.append({
                "method": r["method"], "seed": r["seed"], "run": r["run"], "trials": i,
                "number": t.number, "elapsed_s": (t.datetime_complete - t0).total_seconds(),
                "value": v if ok else np.nan, "state": t.state.name.lower(),
                "fit_seconds": m.fit_seconds + m.score_seconds,
                "epochs": epochs_trained(m, folds) if by_epoch else np.nan,
                "validation": m.validation or "cv",
            })  # fmt: skip
        df = pd.DataFrame(rows)
        df["epochs_so_far"] = df["epochs"].cumsum()
        minimize = study.directions[0].name == "MINIMIZE"  # the score's, on any run
        df["best_so_far"] = df["value"].cummin() if minimize else df["value"].cummax()
        df["direction"] = "minimize" if minimize else "maximize"
        # Finished or failed: its best can no longer change (a stopped one may resume).
        df["ended"] = str(r.get("status")) in (RunStatus.FINISHED, RunStatus.FAILED)
        frames.append(df)
    if not frames:
        return pd.DataFrame(
            columns=["method", "seed", "run", "trials", "number", "elapsed_s", "value", "state",
                     "fit_seconds", "epochs", "validation", "epochs_so_far", "best_so_far",
                     "direction", "ended"]
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def progress(info: ExperimentInfo, storage: BaseStorage | str | None = None) -> tuple[int, int]:
    """Trials finished and trials in the budget, over all members (a grid's size for grid
    search; a finished member counts as its whole budget). A member whose budget is a time
    limit only counts as one trial, done when it has finished."""
    storage = _storage(storage)
    done = total = 0
    for r in info.runs:
        study = load_study(r["run"], storage)
        budget = RunRecord.from_study(study).n_trials
        if r["status"] == "finished":
            n = budget or 1
            done, total = done + n, total + n
            continue
        finished = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))
        done += min(finished, budget) if budget else 0
        total += budget or 1
    return done, total


def shared_starts(
    info: ExperimentInfo, storage: BaseStorage | str | None = None, at_least: int = 2
) -> list[dict[str, Any]]:
    """Members of one seed that began by trying the same configurations: methods that start
    with random draws (random search, TPE's and Hyperband's start-up trials) draw the same
    points from the same seed, so their curves coincide until they part. One entry per seed
    and group: {"seed", "methods" (in the experiment's order), "trials" (how many first trials
    they share, as sets, so that workers finishing in another order do not hide it)}."""
    storage = _storage(storage)
    out = []
    for seed in info.config.seeds:
        firsts = {}
        for r in info.runs:
            if r["seed"] != seed:
                continue
            trials = sorted(
                (t for t in load_study(r["run"], storage).get_trials(deepcopy=False)
                 if t.state != TrialState.WAITING and t.params),
                key=lambda t: t.number,
            )  # fmt: skip
            firsts[r["method"]] = [tuple(sorted(t.params.items())) for t in trials]
        groups: list[dict[str, Any]] = []
        for method, params in firsts.items():
            for g in groups:
                n = _common_start(firsts[g["methods"][0]], params)
                if n >= at_least:
                    g["methods"].append(method)
                    g["trials"] = min(g["trials"], n)
                    break
            else:
                groups.append({"seed": seed, "methods": [method], "trials": len(params)})
        out += [g for g in groups if len(g["methods"]) > 1]
    return out


def _common_start(a: list, b: list) -> int:
    """The largest k such that the first k of a and of b are the same configurations."""
    pending: Counter = Counter()  # configurations seen in one list's start but not the other's
    k = 0
    for n, (x, y) in enumerate(zip(a, b, strict=False), 1):
        for key, d in ((x, 1), (y, -1)):
            pending[key] += d
            if not pending[key]:
                del pending[key]
        if not pending:
            k = n
    return k


def epochs_trained(metrics: TrialMetrics, folds: int) -> int:
    """Network epochs a trial trained, the common currency of methods on a model that trains
    in epochs: a CV trial trains one network per fold for `step` epochs; a population segment
    trains one network for its own epochs (it is scored on one holdout split)."""
    if metrics.segment_epochs is not None:
        return int(metrics.segment_epochs)
    return metrics.step * folds


def targets(
    traj: pd.DataFrame, info: ExperimentInfo, value: float | None = None,
    levels: dict[int, GridLevel] | None = None,
) -> dict[int, float]:  # fmt: skip
    """Target score per seed: a given value, else grid search's level with that seed (same
    folds and split), so each method races grid search on equal terms. The level is grid's best
    configuration rescored with several model seeds (`levels`, by default the experiment's own:
    `grid_levels`), where it was; else grid's own best score, luck included."""
    value = info.config.target if value is None else value
    if value is not None:
        return {int(s): float(value) for s in info.config.seeds}
    levels = grid_levels(info) if levels is None else levels
    out = own_bests(traj)
    for seed in out:
        level = levels.get(seed)
        if level is not None and level.usable:
            out[seed] = float(level.mean)
    return out


FOREST_MODELS = ("random_forest", "extra_trees")
LUCK = (
    "Grid search's own best is the largest of its many CV scores, so it carries that one "
    "configuration's luck with these folds and this model seed: a method that stops within the "
    "error bars of it has not found a worse model."
)


def own_bests(traj: pd.DataFrame) -> dict[int, float]:
    """Seed -> the best CV score grid search itself found (luck included)."""
    grid = traj[(traj["method"] == "grid")].dropna(subset=["best_so_far"])
    return {int(seed): float(g["best_so_far"].iloc[-1]) for seed, g in grid.groupby("seed")}


def level_words(info: ExperimentInfo, traj: pd.DataFrame, target: dict[int, float]) -> str:
    """Where each seed's target came from, in plain words: grid's best configuration rescored
    with several model seeds (its mean ± spread beside grid's own best), grid's own best for a
    model without a seed, or (saying why) grid's own best where no level was kept."""
    if info.config.target is not None:
        return "target: your score: " + ", ".join(f"seed {s}: {v:.4f}" for s, v in target.items())
    levels, own = grid_levels(info), own_bests(traj)
    kinds = "forest" if info.config.base.model in FOREST_MODELS else "model"
    minimize = bool((traj["direction"] == "minimize").any()) if "direction" in traj else False
    scored, fixed, fallback, working = [], [], [], []
    grid_status = {int(r["seed"]): r["status"] for r in info.runs if r["method"] == "grid"}
    for seed, value in target.items():
        lv = levels.get(seed)
        if lv is not None and lv.status == GridLevel.SCORED and lv.mean is not None:
            spread = f" ± {lv.std:.4f}" if lv.std is not None else ""
            mine = own.get(seed, lv.own if lv.own is not None else value)
            lucky = mine < value if minimize else mine > value
            scored.append((len(lv.scores), f"seed {seed}: {value:.4f}{spread} (grid's own best "
                           f"CV was {mine:.4f}{', partly luck' if lucky else ''})"))  # fmt: skip
        elif lv is not None and lv.status == GridLevel.DETERMINISTIC:
            fixed.append(f"seed {seed}: {value:.4f}")
        elif lv is None and grid_status.get(seed) != "finished":
            working.append(f"seed {seed}: {value:.4f}")
        else:
            why = (f"rescoring it failed: {lv.error}" if lv is not None
                   else "no rescored level was kept with this experiment")  # fmt: skip
            fallback.append(f"seed {seed}: {value:.4f} ({why})")
    clauses = []
    if scored:
        n = max(k for k, _ in scored)
        clauses.append(f"grid's best configuration, rescored with {n} {kinds} seeds on the same "
                       "folds (mean ± std): " + "; ".join(p for _, p in scored))  # fmt: skip
    if fixed:
        clauses.append("grid's best score, not rescored because the model has no random seed "
                       "(scored again, it would score the same): " + ", ".join(fixed))  # fmt: skip
    if working:
        rescore = (f"rescored with several {kinds} seeds" if kinds == "forest"
                   else "rescored with several model seeds where the model takes one")  # fmt: skip
        clauses.append(
            "grid's best so far, while grid search still works (when it finishes, its best "
            f"configuration is {rescore}, and that mean becomes the level): "
            + ", ".join(working)
        )  # fmt: skip
    if fallback:
        clauses.append("grid's own best score: " + "; ".join(fallback))
    text = ". ".join(c if i == 0 else c[0].upper() + c[1:] for i, c in enumerate(clauses))
    return "target: " + text + "." + (f" {LUCK}" if fallback or working else "")


def grid_levels(info: ExperimentInfo) -> dict[int, GridLevel]:
    """Seed -> the grid member's level (records.GridLevel), for the grid members that have one."""
    return {
        int(r["seed"]): r["level"]
        for r in info.runs
        if r["method"] == "grid" and r.get("level") is not None
    }


def add_levels(
    name: str, storage: BaseStorage | str | None = None, force: bool = False
) -> dict[int, GridLevel]:
    """Score and keep the level of each finished grid member of experiment `name` that has none
    (every one with `force`): for experiments recorded before levels were kept, without running
    the race again. Returns seed -> level, for the members scored now."""
    storage = _storage(storage)
    info = get_experiment(name, storage)
    done = {}
    for r in info.runs:
        if r["method"] != "grid" or r["status"] != "finished":
            continue
        if r.get("level") is not None and not force:
            continue
        run = StoredRun.open(r["run"], storage)
        level = save_level(run, open_session(run).prep, force=True)
        if level is not None:
            done[int(r["seed"])] = level
    return done


def _reached(df: pd.DataFrame, target: float) -> pd.DataFrame:
    minimize = (df["direction"] == "minimize").iloc[0]
    hit = df["best_so_far"] <= target + 1e-12 if minimize else df["best_so_far"] >= target - 1e-12
    return df[hit]


def summary_table(
    info: ExperimentInfo, traj: pd.DataFrame, storage: BaseStorage | str | None = None,
    target: dict[int, float] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """One row per entry (a method, or a method's warm copy): best validation score (mean over
    seeds) with its spread, how it was validated, its gap to the best method with that gap's
    uncertainty, test score with its interval, trial states (totals over the method's runs), how
    many of its seeds finished, times, and seconds / trials until the target was first reached
    (median and range over the seeds that reached it).

    The spread is the standard deviation over seeds, or with one seed over the best trial's CV
    folds (`spread`: "seeds" or "folds"). `validation` is "cv" or "holdout" (population-based
    training scores one split): the gap is measured to the best cross-validated method, and a
    holdout score has no gap, since it is not the same kind of number. The test interval
    (`test_low`, `test_high`) is a 95 % Wilson interval on the held-out rows for accuracy
    (`test_interval` "wilson"), else the range over seeds ("seeds"), else none."""
    from tuning.store.results import run_summary

    storage = _storage(storage)
    rows = []
    for method in info.config.entries:
        runs = [r for r in info.runs if r["method"] == method]
        sums = [run_summary(storage, r["run"]) for r in runs]
        best = [s.best_value for s in sums if s.best_value is not None]
        t = traj[traj["method"] == method]
        holdout = "validation" in t and (t["validation"] == "holdout").any()
        spread, spread_of = _spread(best, sums, holdout)
        wall, fit, epochs = _per_seed(t)
        rows.append({
            "method": method,
            "validation": "holdout" if holdout else "cv",
            "best_cv": float(np.mean(best)) if best else np.nan,
            "best_cv_std": spread,
            "spread": spread_of,
            "fold_std": _fold_std(sums, holdout),
            **_test_scores(sums),
            **{k: sum(s.counts.get(k, 0) for s in sums) for k in ("complete", "pruned", "failed")},
            "fit_seconds": float(fit.median()) if len(fit) else np.nan,
            "wall_seconds": float(wall.median()) if len(wall) else np.nan,
            "epochs": float(epochs.median()) if epochs.notna().any() else np.nan,
            **_to_target(t, target, len(runs)),
            "seeds": len(runs),
            "seeds_finished": sum(r["status"] == "finished" for r in runs),
            "seeds_timed": len(wall),  # seeds with a finished trial, that the times are over
        })  # fmt: skip
    table = pd.DataFrame(rows)
    return _gaps(table, minimize=bool((traj["direction"] == "minimize").any()))


WILSON_SCORINGS = ("accuracy",)  # a share of held-out rows predicted right: a binomial count


def wilson_interval(score: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `score` observed on `n` rows."""
    from scipy.stats import binomtest

    k = int(round(score * n))
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def test_interval(scoring: str, score: float | None, n: int | None) -> tuple[float, float] | None:
    """The 95 % Wilson interval of a held-out `score` on `n` rows where it is an accuracy (a
    share of the rows: a binomial count); None for other scores, which have no such closed
    form, and without a score or a row count."""
    if score is None or not n or scoring not in WILSON_SCORINGS or not np.isfinite(score):
        return None
    return wilson_interval(float(score), int(n))


def _test_scores(sums: list) -> dict[str, Any]:
    """A method's test score (mean over seeds) and its interval: Wilson on the held-out rows
    for accuracy, else the range over seeds (with several), else none."""
    tested = [s for s in sums if s.test.get("score") is not None]
    scores = [float(s.test["score"]) for s in tested]
    out = {"test": float(np.mean(scores)) if scores else np.nan, "test_low": np.nan,
           "test_high": np.nan, "test_interval": None, "n_test": np.nan}  # fmt: skip
    n_test = next((int(s.test["n_test"]) for s in tested if s.test.get("n_test")), None)
    if scores and (ends := test_interval(tested[0].scoring, out["test"], n_test)):
        low, high = ends
        out.update(test_low=low, test_high=high, test_interval="wilson", n_test=n_test)
    elif len(scores) > 1:
        out.update(test_low=min(scores), test_high=max(scores), test_interval="seeds")
    return out


def _spread(best: list[float], sums: list, holdout: bool) -> tuple[float, str | None]:
    """The spread of a method's best score: over seeds, or with one seed over the best trial's
    CV folds; none for one holdout score."""
    if len(best) > 1:
        return float(np.std(best, ddof=1)), "seeds"
    if best and not holdout and sums[0].best_std is not None:
        return float(sums[0].best_std), "folds"
    return np.nan, None


def _fold_std(sums: list, holdout: bool) -> float:
    """The median over seeds of the spread over the best trial's CV folds (NaN: unknown)."""
    stds = [s.best_std for s in sums if s.best_std is not None]
    return float(np.median(stds)) if stds and not holdout else np.nan


def _to_target(t: pd.DataFrame, target: dict[int, float] | None, n_seeds: int) -> dict:
    """Over the seeds that reached their target: the median, lowest and highest seconds and
    trials it took; how many seeds reached it (`reached_n`) and the share as text ("2/3",
    "-" without a target)."""
    to_s, to_n = [], []
    for seed, g in t.groupby("seed") if target else ():
        if seed not in target:
            continue
        hit = _reached(g, target[seed])
        if not hit.empty:
            to_s.append(float(hit["elapsed_s"].iloc[0]))
            to_n.append(int(hit["trials"].iloc[0]))
    out: dict[str, Any] = {"reached_n": len(to_s),
                           "reached": f"{len(to_s)}/{n_seeds}" if target else "-"}  # fmt: skip
    for key, vals in (("seconds_to_target", to_s), ("trials_to_target", to_n)):
        out[key] = float(np.median(vals)) if vals else np.nan
        out[f"{key}_low"] = float(min(vals)) if vals else np.nan
        out[f"{key}_high"] = float(max(vals)) if vals else np.nan
    return out


def _per_seed(t: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per seed: the wall-clock seconds, the seconds of fitting and scoring, the epochs."""
    if t.empty:
        return (pd.Series(dtype=float),) * 3
    by = t.groupby("seed")
    return by["elapsed_s"].max(), by["fit_seconds"].sum(), by["epochs"].sum(min_count=1)


def _gaps(table: pd.DataFrame, minimize: bool) -> pd.DataFrame:
    """Each cross-validated method's difference to the best one (`gap`, signed as the score:
    negative = worse when higher is better), its uncertainty (`gap_std`: the two methods'
    noises combined, each the larger of its spread over seeds and over its best trials' folds:
    seeds that agree still carry the folds' noise) and whether the gap lies within it
    (`within_noise`)."""
    table = table.assign(gap=np.nan, gap_std=np.nan, within_noise=pd.NA)
    cv = table[(table["validation"] == "cv") & table["best_cv"].notna()] if len(table) else table
    if cv.empty:
        return table
    top = cv.loc[cv["best_cv"].idxmin() if minimize else cv["best_cv"].idxmax()]
    folds = cv["fold_std"] if "fold_std" in cv else pd.Series(np.nan, index=cv.index)
    noise = np.fmax(cv["best_cv_std"].astype(float), folds.astype(float))
    for i, r in cv.iterrows():
        spreads = np.array([noise[i]] if i == top.name else [noise[i], noise[top.name]])
        std = float(np.sqrt(np.sum(spreads**2)))  # NaN when a spread is unknown
        table.loc[i, ["gap", "gap_std"]] = [r.best_cv - top.best_cv, std]
        table.loc[i, "within_noise"] = bool(np.isfinite(std) and abs(r.best_cv - top.best_cv) <= std)
    return table


def verdict(info: ExperimentInfo, table: pd.DataFrame) -> str:
    """One sentence on who won. An incomplete race names no winner: it says how many runs
    finished and which members are missing. A complete one names the best cross-validated
    method and whether the others' gaps lie within the noise (±1 std)."""
    missing = info.missing()
    if missing:
        done = sum(r["status"] == "finished" for r in info.runs)
        parts = [
            f"{entry_label(m)} (seed{'s' if len(s) > 1 else ''} {joined(s)})"
            for m, s in missing.items()
        ]
        return (
            f"The race is incomplete: {done} of {len(info.runs)} runs finished; missing "
            f"{joined(parts)}. No method is named best until every method has finished "
            "every seed."
        )
    cv = table[table["gap"].notna()] if len(table) else table
    if cv.empty:
        return "No method has a cross-validated score yet."
    top = cv.loc[cv["gap"].abs().idxmin()]
    others = cv[cv["method"] != top.method]
    label = entry_label(top.method)
    if others.empty:
        return f"{label} scored {top.best_cv:.4f}; it is the only method with a CV score."
    if others["within_noise"].astype(bool).all():
        return (
            f"Every difference is within the noise (±1 std): no method is clearly better here; "
            f"{label} scored highest ({top.best_cv:.4f}) by less than that."
        )
    behind = [entry_label(m) for m in others.loc[~others["within_noise"].astype(bool), "method"]]
    return (
        f"{label} found the best CV score ({top.best_cv:.4f}); {joined(behind)} "
        f"{'is' if len(behind) == 1 else 'are'} behind it by more than the noise (±1 std)."
    )


def joined(items: list) -> str:
    """"A", "A and B", "A, B and C"."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def band(
    traj: pd.DataFrame, x: str = "trials", points: int = 200, y: str = "best_so_far"
) -> pd.DataFrame:
    """Best-so-far (or another running column `y`, such as the hypervolume) per method on a
    common x axis: median, min and max over seeds (step curves)."""
    out = []
    for method, t in traj.groupby("method", sort=False):
        t = t.dropna(subset=[y])
        if t.empty:
            continue
        grid = np.unique(np.linspace(t[x].min(), t[x].max(), points))
        if x == "trials":
            grid = np.unique(np.round(grid)).astype(int)
        curves = []
        for _, g in t.groupby("seed"):
            g = g.sort_values(x)
            idx = np.searchsorted(g[x].to_numpy(), grid, side="right") - 1
            vals = np.where(idx >= 0, g[y].to_numpy()[np.clip(idx, 0, None)], np.nan)
            # Past a seed's last trial: a run that ended keeps its final best (else the median
            # over the other seeds would dip where it ends); one still working is unknown there.
            ended = bool(g["ended"].iloc[-1]) if "ended" in g else False
            vals = np.where((grid <= g[x].max()) | ended, vals, np.nan)
            curves.append(vals)
        arr = np.vstack(curves)
        with np.errstate(all="ignore"):
            out.append(pd.DataFrame({
                "method": method, x: grid, "median": np.nanmedian(arr, axis=0),
                "low": np.nanmin(arr, axis=0), "high": np.nanmax(arr, axis=0),
                "seeds": np.sum(~np.isnan(arr), axis=0),
            }))  # fmt: skip
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def export_csv(info: ExperimentInfo, storage: BaseStorage | str | None = None) -> str:
    """All trials of all members, one CSV (method, seed, run, trial, state, value, params...)."""
    from tuning.store.results import TrialFeed

    storage = _storage(storage)
    frames = []
    for r in info.runs:
        df = TrialFeed(load_study(r["run"], storage)).refresh().copy()
        df.insert(0, "seed", r["seed"])
        df.insert(0, "method", r["method"])
        df.insert(0, "experiment", info.name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True).to_csv(index=False) if frames else ""


# -- presets -------------------------------------------------------------------------------------
CLASSIC_TRIALS = 30  # per sampler method; grid search runs its 81 configurations
def classic_space() -> SearchSpace:
    """The field's classic random-forest comparison: every method searches the grid's own box
    (each parameter from its lowest to its highest grid value; max_features at the grid's
    sqrt), so that the race compares how methods search one region, not which region they
    were given. The grid tries its 81 points of it."""
    return SearchSpace((
        int_param("n_estimators", 50, 200, grid=(50, 100, 200)),
        int_param("max_depth", 5, 15, grid=(5, 10, 15)),
        int_param("min_samples_split", 2, 10, grid=(2, 5, 10)),
        int_param("min_samples_leaf", 1, 4, grid=(1, 2, 4)),
        cat_param("max_features", ["sqrt", "log2"], enabled=False, default="sqrt"),
    )).validate()  # fmt: skip


def classic_preset(
    seeds: tuple[int, ...] = (0, 1, 2), parallel: bool = False, workers: int = 1
) -> ExperimentConfig:
    """The field's classic race. Several seeds by default, because one seed cannot tell a
    method from its luck; 30 trials, so that TPE works well past its random start-up trials
    (with fewer, random search, TPE and Hyperband try the same first draws and tie).
    `workers` > 1 runs each member in that many processes (one thread each): the studio's
    fastest way to use several cores for forests, as GridSearchCV's n_jobs does."""
    from tuning.core.config import DatasetRef

    base = RunConfig(
        dataset=DatasetRef("seed-classification"), model="random_forest", method="grid",
        space=classic_space(), n_trials=CLASSIC_TRIALS, cv_folds=5, scoring="accuracy",
        workers=workers,
    )  # fmt: skip
    return ExperimentConfig(
        base=base, methods=("grid", "random", "tpe", "hyperband"), seeds=seeds,
        parallel=parallel, overrides={"hyperband": {"fidelity": "folds"}},
    )  # fmt: skip


ENGINES_TRIALS = 40  # twice Hyperopt TPE's 20 random start-up trials: half of it model-guided
ENGINES_DIFFERENCE = (
    "Both are TPE, on the same budget, seeds and folds; they differ in their defaults. Optuna's, "
    "as the studio sets it, starts after 5 random trials and models all parameters together "
    "(C with gamma, the kernel with both); Hyperopt's, the original, starts after 20 and models "
    "each parameter on its own, with a smaller good group. The two random searches are the "
    "control: the gap between them is what luck alone does."
)


def engines_preset(
    seeds: tuple[int, ...] = (0, 1, 2), parallel: bool = False, workers: int = 1
) -> ExperimentConfig:
    """Optuna's TPE against Hyperopt's TPE, with both random searches as the control, on the
    SVM of breast cancer (C and gamma on log scales, gamma and degree only for the kernels that
    use them: Hyperopt's nested choices). Cheap: an SVM fits in milliseconds here."""
    from tuning.core.config import DatasetRef

    base = RunConfig(
        dataset=DatasetRef("breast_cancer"), model="svm", method="tpe",
        n_trials=ENGINES_TRIALS, cv_folds=5, scoring="accuracy", workers=workers,
    )  # fmt: skip
    return ExperimentConfig(
        base=base, methods=("tpe", "hyperopt_tpe", "random", "hyperopt_random"), seeds=seeds,
        parallel=parallel,
    )  # fmt: skip


PRESETS = {"classic": classic_preset, "engines": engines_preset}


def race_note(exp: ExperimentConfig) -> str | None:
    """What differs between the raced methods, where a plain sentence is known: Optuna's TPE
    raced against Hyperopt's."""
    if {"tpe", "hyperopt_tpe"} <= set(exp.methods):
        return ENGINES_DIFFERENCE
    return None

# The recorded classic race (scripts/record_classic_race.py): a journal of real runs kept in
# the package, with its metadata (date, machine, cores, seeds, wall time) beside it.
RECORDED_DIR = Path(__file__).resolve().parents[1] / "data" / "recorded"
RECORDED_JOURNAL = "classic_race.journal"
RECORDED_META = "classic_race.json"


@dataclass(frozen=True)
class RecordedRace:
    """The recorded classic race, opened read-only: its storage (a private copy of the packaged
    journal, so nothing can write the packaged file), the experiment and its metadata."""

    storage: BaseStorage
    info: ExperimentInfo
    meta: dict[str, Any]

    @property
    def label(self) -> str:
        m = self.meta
        seeds = len(m.get("seeds", []))
        return (
            f"Recorded on {m.get('recorded_on', '?')} on {m.get('machine', 'an unknown machine')}"
            f" ({m.get('cores', '?')} cores), {seeds} seed{'s' if seeds != 1 else ''}, "
            f"{m.get('trials_per_method', '?')} trials per method (grid search: its "
            f"{m.get('grid_configurations', '?')} configurations), "
            f"{m.get('workers_per_method', '?')} worker processes per method; it took "
            f"{m.get('wall_seconds', 0) / 60:.0f} minutes"
            + (f" on {m['note']}." if m.get("note") else ".")
        )


def open_recorded(folder: Path = RECORDED_DIR) -> RecordedRace | None:
    """The recorded classic race, or None when the package holds none. Its journal is copied
    to a temporary file and opened from there: a resume or a note could only ever write that
    copy, never the packaged recording."""
    from tuning.store.storage import open_storage

    journal, meta_file = folder / RECORDED_JOURNAL, folder / RECORDED_META
    if not (journal.is_file() and meta_file.is_file()):
        return None
    meta = json.loads(meta_file.read_text())
    copy = Path(tempfile.mkdtemp(prefix="recorded-race-")) / RECORDED_JOURNAL
    shutil.copyfile(journal, copy)
    store = open_storage(f"journal:///{copy}")
    return RecordedRace(store, get_experiment(meta["experiment"], store), meta)


def tradeoff_demo_config() -> RunConfig:
    """The Home demo of a multi-objective run: a random forest on the seed benchmark, accuracy
    against fit time. Forests buy accuracy with trees and trees cost time; from 10 trees up the
    front spans small quick forests to large slow ones. 40 TPE trials on 3 folds: about two
    minutes on 2 cores (3.4 min with the default 50-300 trees on a loaded machine)."""
    from tuning.core.config import DatasetRef
    from tuning.models import get_model

    space = get_model("random_forest").default_space("classification")
    return RunConfig(
        dataset=DatasetRef("seed-classification"), model="random_forest", method="tpe",
        space=space.replace_param("n_estimators", low=10, high=200), n_trials=40, cv_folds=3,
        scoring="accuracy", objectives=("fit_seconds",), n_jobs=1,
    )  # fmt: skip
