"""Multi-objective experiments raced by hypervolume: how much of the score-against-cost plane
each member's Pareto front covers, after each trial and over time, every member measured
against ONE reference point (over all members' complete trials), so that their hypervolumes
compare. The single-objective race (best score so far) stays in tuning.runs.experiments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from optuna.storages import BaseStorage

from tuning.analysis import pareto
from tuning.core.objectives import Objective, run_objectives
from tuning.runs.experiments import ExperimentInfo
from tuning.store.runs import as_storage, load_study


def experiment_objectives(info: ExperimentInfo) -> list[Objective]:
    """The objectives every member optimizes (objective 0: the CV score)."""
    return run_objectives(info.config.base)


def _member_frames(info: ExperimentInfo, storage: BaseStorage) -> list[tuple[dict, pd.DataFrame]]:
    from tuning.store.results import TrialFeed

    out = []
    for r in info.runs:
        df = TrialFeed(load_study(r["run"], storage)).refresh()
        df = df[df["start"].notna() & df["complete"].notna()]
        df = df[df["state"].isin(["complete", "pruned", "failed", "stopped"])]
        out.append((r, df.sort_values("complete", kind="stable").reset_index(drop=True)))
    return out


def shared_reference(info: ExperimentInfo, storage: BaseStorage | str | None = None) -> np.ndarray:
    """ONE reference point for every member (pareto.reference_point over all the members'
    complete trials): hypervolumes measured against different points cannot be compared."""
    storage = as_storage(storage)
    objectives = experiment_objectives(info)
    pts = [pareto.objective_points(df, objectives) for _, df in _member_frames(info, storage)]
    pts = [p for p in pts if len(p)]
    names = [o.name for o in objectives]
    values = np.vstack([p[names].to_numpy(dtype=float) for p in pts]) if pts else np.zeros((0, 0))
    return pareto.reference_point(values, [o.direction for o in objectives])


HV_COLUMNS = ["method", "seed", "run", "trials", "number", "elapsed_s", "state", "hypervolume",
              "front_size", "fit_seconds"]  # fmt: skip


def hypervolume_trajectories(
    info: ExperimentInfo, storage: BaseStorage | str | None = None,
    reference: np.ndarray | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
    """The multi-objective race: one row per finished trial of each member, in the order they
    finished (as `trajectories`), with the hypervolume of that member's front so far and the
    front's size, all against one reference point (`shared_reference` unless given). Before a
    member's first complete trial its hypervolume is NaN. Returns (table, reference)."""
    storage = as_storage(storage)
    objectives = experiment_objectives(info)
    directions = [o.direction for o in objectives]
    frames = _member_frames(info, storage)
    if reference is None:
        reference = shared_reference(info, storage)
    rows = []
    for r, df in frames:
        if df.empty:
            continue
        t0 = df["start"].min()
        complete = pareto.objective_points(df, objectives).set_index("number")
        front = pareto.ParetoFront(directions)
        hv = np.nan
        for i, row in enumerate(df.itertuples(index=False), 1):
            if row.number in complete.index:
                point = complete.loc[row.number, [o.name for o in objectives]].to_numpy(float)
                if front.add([row.number], point[None, :]) or np.isnan(hv):
                    hv = pareto.hypervolume(front.points, directions, reference)
            rows.append({
                "method": r["method"], "seed": r["seed"], "run": r["run"], "trials": i,
                "number": int(row.number), "elapsed_s": (row.complete - t0).total_seconds(),
                "state": row.state, "hypervolume": hv, "front_size": len(front),
                "fit_seconds": (row.fit_seconds or 0.0) + (row.score_seconds or 0.0),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=HV_COLUMNS), reference


def hypervolume_table(info: ExperimentInfo, traj: pd.DataFrame) -> pd.DataFrame:
    """One row per method of a multi-objective experiment: the final hypervolume over seeds
    (median, min, max, and the standard deviation with several seeds), the final front size
    (median), trial states (totals over the method's runs), wall seconds (median) and how many
    of the method's seeds finished."""
    rows = []
    for method in info.config.entries:
        t = traj[traj["method"] == method]
        last = t.groupby("seed").tail(1) if len(t) else t
        hv = last["hypervolume"].dropna().to_numpy(dtype=float)
        states = t["state"].value_counts()
        runs = [r for r in info.runs if r["method"] == method]
        rows.append({
            "method": method,
            "hypervolume": float(np.median(hv)) if len(hv) else np.nan,
            "hv_low": float(hv.min()) if len(hv) else np.nan,
            "hv_high": float(hv.max()) if len(hv) else np.nan,
            "hv_std": float(np.std(hv, ddof=1)) if len(hv) > 1 else np.nan,
            "front_size": float(np.median(last["front_size"])) if len(last) else np.nan,
            "complete": int(states.get("complete", 0)),
            "pruned": int(states.get("pruned", 0)),
            "failed": int(states.get("failed", 0) + states.get("stopped", 0)),
            "wall_seconds": float(t.groupby("seed")["elapsed_s"].max().median()) if len(t) else np.nan,
            "seeds": len(runs),
            "seeds_finished": sum(r["status"] == "finished" for r in runs),
        })  # fmt: skip
    return pd.DataFrame(rows)
