"""Where the good scores are in the search space: trials as points for point-cloud figures,
two parameters binned into a contour grid, and the pair of parameters worth showing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tuning.analysis.param_importance import Importance
from tuning.analysis.rundata import ParamInfo, RunData, sample_rows, to_float
from tuning.core.errors import ConfigError


def points(run: RunData, max_points: int = 2000) -> pd.DataFrame:
    """Complete trials for point-cloud figures (slices, parallel coordinates), best kept."""
    c = run.complete
    return sample_rows(c, max_points, run.sign * to_float(c["value"]))


@dataclass
class ContourGrid:
    """Two parameters binned into cells: best score per cell (NaN where no trial fell).

    Numeric axes have `edges` (log-spaced where the parameter is log-scaled); categorical axes
    have `labels`. `z[i, j]` is the cell at y bin i and x bin j; `count` the trials in it.
    """

    x: ParamInfo
    y: ParamInfo
    x_edges: np.ndarray | None
    y_edges: np.ndarray | None
    x_labels: list[str] | None
    y_labels: list[str] | None
    z: np.ndarray
    count: np.ndarray
    sample: pd.DataFrame  # a few trials to draw as points: columns x, y, value, number
    n_trials: int
    agg: str


def contour_grid(
    run: RunData,
    x: str,
    y: str,
    bins: int | None = None,
    agg: str = "best",
    max_points: int = 300,
) -> ContourGrid:
    """Bin complete trials on parameters x and y (bins x bins cells, or one per category);
    each cell holds the best (agg='best') or mean (agg='mean') score of its trials.
    bins=None: about two trials per cell on average, between 6 and 30 bins per axis."""
    if agg not in ("best", "mean"):
        raise ConfigError("agg must be 'best' or 'mean'.")
    for p in (x, y):
        if p not in run.params:
            raise ConfigError(f"The run has no searched parameter '{p}'.")
    c = run.complete
    cx, cy = run.param_values(x, c), run.param_values(y, c)
    ok = cx.notna() & cy.notna()
    c, cx, cy = c[ok], cx[ok], cy[ok]
    if bins is None:
        bins = int(np.clip(np.sqrt(len(c) / 2), 6, 30))
    ix, x_edges, x_labels, nx = _bin(run.params[x], cx, bins)
    iy, y_edges, y_labels, ny = _bin(run.params[y], cy, bins)
    g = run.sign * to_float(c["value"])
    flat = iy * nx + ix
    count = np.bincount(flat, minlength=nx * ny).astype(float)
    if agg == "mean":
        total = np.bincount(flat, weights=g, minlength=nx * ny)
        zg = np.divide(total, count, out=np.full(nx * ny, np.nan), where=count > 0)
    else:
        zg = np.full(nx * ny, -np.inf)
        np.maximum.at(zg, flat, g)
        zg[count == 0] = np.nan
    z = (run.sign * zg).reshape(ny, nx)
    sample = sample_rows(
        pd.DataFrame({"x": cx.to_numpy(), "y": cy.to_numpy(), "value": to_float(c["value"]),
                      "number": c["number"].to_numpy()}),
        max_points,
        g,
    )  # fmt: skip
    return ContourGrid(
        run.params[x], run.params[y], x_edges, y_edges, x_labels, y_labels, z,
        count.reshape(ny, nx), sample, len(c), agg,
    )  # fmt: skip


def _bin(info: ParamInfo, values: pd.Series, bins: int):
    if not info.numeric:
        labels = [str(v) for v in (info.choices or sorted(values.astype(str).unique()))]
        pos = {lab: i for i, lab in enumerate(labels)}
        idx = np.array([pos.get(str(v), 0) for v in values], dtype=np.int64)
        return idx, None, labels, len(labels)
    v = to_float(values)
    low = float(info.low) if info.low is not None else float(np.nanmin(v))
    high = float(info.high) if info.high is not None else float(np.nanmax(v))
    if info.kind == "int" and not info.log and high - low + 1 <= bins:
        edges = np.arange(low - 0.5, high + 1.0, 1.0)  # one bin per integer
    elif info.log and low > 0:
        edges = np.geomspace(low, high, bins + 1) if high > low else np.array([low, low * 1.0001])
    else:
        edges = np.linspace(low, high, bins + 1) if high > low else np.array([low, low + 1e-9])
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    return idx.astype(np.int64), edges, None, len(edges) - 1


def best_pair(run: RunData, imp: Importance | None = None) -> tuple[str, str] | None:
    """The two parameters to show in a contour: the two most important (numeric first)."""
    names = list(imp.table["param"]) if imp is not None and imp.ok else run.param_names
    names = [n for n in names if n in run.params]
    numeric = [n for n in names if run.params[n].numeric]
    ordered = numeric + [n for n in names if n not in numeric]
    return (ordered[0], ordered[1]) if len(ordered) >= 2 else None
