"""Pareto fronts of multi-objective runs: which trials no other beats on every objective, the
hypervolume they cover, and the trade-off a user picks from them.

Values are as the user reads them (accuracy up, seconds down); `directions` says which way each
objective is better. Only complete trials are ever on a front: a pruned, stopped or failed
trial's numbers cover part of its budget (`rundata.scored`).

The front itself (ParetoFront, front_mask) lives in tuning/core/pareto.py, which the engine
shares; it is re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tuning.analysis.rundata import scored, to_float
from tuning.core.objectives import Objective
from tuning.core.pareto import ParetoFront as ParetoFront  # re-exported for the views
from tuning.core.pareto import front_mask as front_mask
from tuning.core.pareto import loss_signs
from tuning.store import compat

# The reference point lies this share of each objective's range past its worst value.
REFERENCE_MARGIN = 0.1
# A run's reference point is set by its first complete trials (in the order they completed) and
# fixed once this many completed: the hypervolume history is then never rewritten as later
# trials widen the ranges (a trial beyond the reference adds no volume).
REFERENCE_TRIALS = 10


def objective_points(frame: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    """The complete trials with a finite value on every objective: `number` and one column per
    objective (named by the objective), in trial order."""
    ok = scored(frame)
    cols = {o.name: to_float(frame[o.column]) if o.column in frame else None for o in objectives}
    if any(v is None for v in cols.values()) or not len(frame):
        return pd.DataFrame(columns=["number", *cols])
    values = np.column_stack(list(cols.values()))
    ok &= np.isfinite(values).all(axis=1)
    out = pd.DataFrame(values[ok], columns=list(cols))
    out.insert(0, "number", frame["number"].to_numpy()[ok].astype(int))
    return out.sort_values("number", kind="stable").reset_index(drop=True)


def reference_point(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """The hypervolume's reference: each objective's worst observed value, pushed a tenth of
    its observed range further (a tenth of its size, or 1, where all values are equal), so
    that the worst trials still add a little volume. Compare methods with one reference point
    computed over all their trials."""
    points = np.asarray(points, dtype=float).reshape(-1, len(directions))
    if not len(points):
        return np.full(len(directions), np.nan)
    losses = points * loss_signs(directions)
    worst, best = losses.max(axis=0), losses.min(axis=0)
    span = worst - best
    span = np.where(span > 0, span, np.where(worst != 0, np.abs(worst), 1.0))
    return (worst + REFERENCE_MARGIN * span) * loss_signs(directions)


def run_reference(
    frame: pd.DataFrame, objectives: Sequence[Objective]
) -> tuple[np.ndarray, int]:
    """A run's hypervolume reference point and how many trials set it: those of its first
    REFERENCE_TRIALS complete trials, in the order they completed (the same at every refresh
    once they have, and in Analysis and the report afterwards)."""
    pts = objective_points(frame, objectives)
    if "complete" in frame and len(pts):
        done = frame.set_index("number")["complete"].reindex(pts["number"]).to_numpy()
        order = np.argsort(pd.to_datetime(done).to_numpy(), kind="stable")
        pts = pts.iloc[order]
    first = pts.head(REFERENCE_TRIALS)
    values = first[[o.name for o in objectives]].to_numpy(dtype=float)
    return reference_point(values, [o.direction for o in objectives]), len(first)


def hypervolume(points: np.ndarray, directions: Sequence[str], reference: np.ndarray) -> float:
    """The volume that the points dominate up to `reference` (greater is better)."""
    signs = loss_signs(directions)
    points = np.asarray(points, dtype=float).reshape(-1, len(directions))
    return compat.hypervolume(points * signs, np.asarray(reference, dtype=float) * signs)


def hypervolume_history(
    frame: pd.DataFrame, objectives: Sequence[Objective], reference: np.ndarray
) -> pd.DataFrame:
    """Hypervolume after each complete trial, in trial order (`number`, `hypervolume`); it is
    recomputed only when the front changes."""
    pts = objective_points(frame, objectives)
    directions = [o.direction for o in objectives]
    front = ParetoFront(directions)
    hv, out = 0.0, np.zeros(len(pts))
    values = pts[[o.name for o in objectives]].to_numpy(dtype=float)
    for i, (number, row) in enumerate(zip(pts["number"], values, strict=True)):
        if front.add([number], row[None, :]):
            hv = hypervolume(front.points, directions, reference)
        out[i] = hv
    return pd.DataFrame({"number": pts["number"].to_numpy(dtype=int), "hypervolume": out})


def tradeoff(
    frame: pd.DataFrame, objectives: Sequence[Objective], within_pct: float, cost: str
) -> int | None:
    """The cheapest complete trial (by the cost objective named `cost`) whose score is within
    `within_pct` % of the best score (relative to |best|); ties go to the better score, then
    the earlier trial. None before any trial completed."""
    by_name = {o.name: o for o in objectives}
    if cost not in by_name or cost == objectives[0].name:
        raise ValueError(f"'{cost}' is not one of this run's cost objectives")
    score, spend = objectives[0], by_name[cost]
    pts = objective_points(frame, objectives)
    if pts.empty:
        return None
    s = 1.0 if score.direction == "maximize" else -1.0
    goodness = s * pts[score.name].to_numpy(dtype=float)
    best = goodness.max()
    near = goodness >= best - abs(best) * within_pct / 100.0 - 1e-12
    c = 1.0 if spend.direction == "minimize" else -1.0
    cand = pts[near].assign(_cost=c * pts[spend.name][near], _good=-goodness[near])
    pick = cand.sort_values(["_cost", "_good", "number"], kind="stable").iloc[0]
    return int(pick["number"])
