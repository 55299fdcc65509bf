"""Plotly figures of a multi-objective run: its Pareto front, the hypervolume the front covers
as trials complete, and for three or more objectives the front across all of them.

Shared by the Live monitor and the report. Inputs are `tuning.analysis.pareto` data: the
complete trials' objective values (`pareto.objective_points`: `number` and one column per
objective, named by the objective) and the front's trial numbers. Values are as the user reads
them (accuracy up, seconds down). Dominated trials are faded and, past `MAX_POINTS`, drawn as
an even sample (every front member and the chosen trade-off are always drawn). Every string
that can come from a user (parameter names and values) is HTML-escaped. SVG traces, not WebGL:
the Live monitor redraws these every refresh (see tuning.plots.live).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tuning.analysis.pareto import REFERENCE_TRIALS
from tuning.analysis.rundata import NOT_APPLICABLE, param_cell
from tuning.core.objectives import Objective
from tuning.plots.base import (
    base_layout,
    empty_figure,
    esc,
    figure,
    integer_axis,
    layout,
    pad_flat,
    plain_axis,
    seconds_axis,
)
from tuning.plots.colors import BEST_COLOR, STATE_COLORS

MAX_POINTS = 1000  # dominated markers drawn before sampling (SVG: each costs the browser)
KEEP_RECENT = 50  # the newest trials are always drawn, so a live front visibly moves
FRONT_COLOR = BEST_COLOR
DOMINATED_COLOR = STATE_COLORS["complete"]
CHOSEN_COLOR = "#d62728"
HEIGHT = 420
MAX_PARAMS = 8  # parameters listed in a hover
# Figures are built from plain dicts without Plotly's property validation, which (with the
# report's template) cost ~100 ms a figure at each Live refresh; `styled=True` (the report)
# adds the template of the Analysis figures, Streamlit applies its own theme.
VALIDATE = False


# -- text -----------------------------------------------------------------------------------------
def better(o: Objective) -> str:
    return "lower is better" if o.direction == "minimize" else "higher is better"


def axis_title(o: Objective) -> str:
    """E.g. 'Fit time per trial (s), lower is better'."""
    return esc(f"{o.title}, {better(o)}")


def param_texts(
    frame: pd.DataFrame, numbers: Sequence[int], cache: dict[int, str] | None = None
) -> list[str]:
    """'n_estimators=120, max_depth=7' for each trial number, escaped for Plotly. Complete
    trials never change, so their text is kept in `cache` (one dict per run)."""
    cache = {} if cache is None else cache
    todo = [int(n) for n in numbers if int(n) not in cache]
    if todo:
        cols = [c for c in frame.columns if c.startswith("param_")][:MAX_PARAMS]
        rows = frame.loc[frame["number"].isin(todo), ["number", *cols]]
        for r in rows.itertuples(index=False):
            cells = ((c[len("param_") :], param_cell(v)) for c, v in zip(cols, r[1:], strict=True))
            parts = [f"{name}={cell}" for name, cell in cells if cell != NOT_APPLICABLE]
            cache[int(r[0])] = esc(", ".join(parts))
    return [cache.get(int(n), "") for n in numbers]


def reference_text(reference: np.ndarray, objectives: Sequence[Objective]) -> str:
    return ", ".join(
        f"{esc(o.label)} {_num(v)}{' ' + esc(o.unit) if o.unit else ''}"
        for o, v in zip(objectives, reference, strict=True)
    )


def objective_axis(axis: dict, o: Objective, values: Any) -> dict:
    """Ticks in the objective's unit: seconds as '200µs' or '15ms', whole counts (bytes,
    parameters) at whole numbers ('80k' past 10,000), anything else as plain numbers (never an
    SI suffix on a unit of its own: '200µ' ms per 1,000 rows)."""
    if o.unit == "s":
        return seconds_axis(axis)
    if o.counts:
        integer_axis(axis, values)
        v = np.asarray(values, dtype=float)
        if len(v) and np.nanmax(np.abs(v)) >= 10_000:
            axis["tickformat"] = "~s"
        return axis
    return plain_axis(axis)


def _num(v: float) -> str:
    return f"{float(v):.4g}"


# -- shared pieces --------------------------------------------------------------------------------
def drawn(
    points: pd.DataFrame, front_numbers: Sequence[int], chosen: int | None = None,
    max_points: int = MAX_POINTS,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:  # fmt: skip
    """(front rows, dominated rows to draw, dominated count). Past max_points the dominated rows
    are every k-th trial number (k a power of two, so the sample changes only when the run
    doubles and points do not jump between refreshes), the newest and the chosen one."""
    on_front = points["number"].isin(np.asarray(front_numbers, dtype=int)).to_numpy()
    front, dominated = points[on_front], points[~on_front]
    n_dominated = len(dominated)
    if n_dominated > max_points:
        stride = 2 ** math.ceil(math.log2(n_dominated / max_points))
        num = dominated["number"]
        keep = (num % stride == 0) | (num >= points["number"].max() - KEEP_RECENT)
        if chosen is not None:
            keep |= num == chosen
        dominated = dominated[keep]
    return front, dominated, n_dominated


def _hovertemplate(xo: Objective, yo: Objective, what: str) -> str:
    return (
        f"trial %{{customdata}}<br>{esc(xo.title)}: %{{x:.4g}}<br>{esc(yo.title)}: %{{y:.4g}}"
        f"<br>%{{text}}<extra>{what}</extra>"
    )


def _markers(rows: pd.DataFrame, xo: Objective, yo: Objective, texts: list[str], **kw: Any):
    return dict(
        type="scatter",
        x=rows[xo.name].to_numpy(dtype=float),
        y=rows[yo.name].to_numpy(dtype=float),
        customdata=rows["number"].to_numpy(dtype=np.int64),
        text=texts,
        **kw,
    )


# -- the 2-D front --------------------------------------------------------------------------------
def front_figure(
    points: pd.DataFrame, objectives: Sequence[Objective], x: str, y: str,
    front_numbers: Sequence[int], hover: pd.DataFrame | None = None,
    chosen: int | None = None, cache: dict[int, str] | None = None,
    max_points: int = MAX_POINTS, styled: bool = False,
) -> go.Figure:  # fmt: skip
    """Every complete trial on objectives `x` against `y` (names): dominated trials faded, front
    members bold and, for a two-objective run, joined by the step line that bounds what they
    dominate; the chosen trade-off starred. `hover` is the trials frame whose param_* columns
    each marker's hover lists."""
    by_name = {o.name: o for o in objectives}
    xo, yo = by_name[x], by_name[y]
    title = f"Pareto front: {esc(yo.label)} against {esc(xo.label.lower())}"
    if points.empty:
        return empty_figure(title, "No complete trials yet.")
    front, dominated, n_dominated = drawn(points, front_numbers, chosen, max_points)
    front = front.sort_values([x, "number"], kind="stable")
    pick = points[points["number"] == chosen] if chosen is not None else points.iloc[:0]

    def texts(rows: pd.DataFrame) -> list[str]:
        if hover is None:
            return [""] * len(rows)
        return param_texts(hover, rows["number"].to_numpy(), cache)

    two = len(objectives) == 2
    data = [
        _markers(dominated, xo, yo, texts(dominated), mode="markers",
                 name=f"dominated ({n_dominated:,})",
                 marker=dict(color=DOMINATED_COLOR, size=6, opacity=0.3),
                 hovertemplate=_hovertemplate(xo, yo, "dominated")),
        _front_line(front, xo, yo, texts(front), two),
    ]  # fmt: skip
    if len(pick):
        data.append(
            _markers(pick, xo, yo, texts(pick), mode="markers", name=f"chosen (trial #{chosen})",
                     marker=dict(symbol="star", size=18, color=CHOSEN_COLOR,
                                 line=dict(width=1, color="#7f0000")),
                     hovertemplate=_hovertemplate(xo, yo, "chosen"))
        )  # fmt: skip
    notes = _front_notes(len(dominated), n_dominated, len(objectives))
    full = title + "".join(f"<br><sup>{n}</sup>" for n in notes)
    lay = layout(full, axis_title(xo), axis_title(yo), height=440 + 18 * len(notes),
                 live=not styled, legend="below", uirevision="keep", hovermode="closest")  # fmt: skip
    for axis, o in (("xaxis", xo), ("yaxis", yo)):
        values = points[o.name].to_numpy(dtype=float)
        pad_flat(lay[axis], values)
        objective_axis(lay[axis], o, values)
    return figure(data, lay, live=not styled, validate=VALIDATE)


def _front_line(
    front: pd.DataFrame, xo: Objective, yo: Objective, texts: list[str], two: bool
) -> dict:
    """The front members, bold; for two objectives joined by the line that bounds the region
    they dominate: from each member, first along x to the next, then along y ("hv") when x is
    minimized; first along y ("vh") when maximized."""
    shape = "hv" if xo.direction == "minimize" else "vh"
    return _markers(
        front, xo, yo, texts, mode="lines+markers" if two else "markers",
        name=f"Pareto front ({len(front):,})",
        line=dict(color=FRONT_COLOR, width=2, shape=shape),
        marker=dict(color=FRONT_COLOR, size=10, line=dict(width=1.5, color="#1b5e20")),
        hovertemplate=_hovertemplate(xo, yo, "on the front"),
    )  # fmt: skip


def _front_notes(n_drawn: int, n_dominated: int, n_objectives: int) -> list[str]:
    """What the view leaves out: a sample of the dominated trials; for 3+ objectives, that the
    front is over all of them, so some members look dominated in these two."""
    notes = []
    if n_drawn < n_dominated:
        notes.append(
            f"{n_drawn:,} of {n_dominated:,} dominated trials drawn (an even sample and "
            "the newest); every front member drawn"
        )
    if n_objectives != 2:
        notes.append(
            f"front of all {n_objectives} objectives: in this view some members look dominated"
        )
    return notes


# -- hypervolume ----------------------------------------------------------------------------------
def hypervolume_figure(
    history: pd.DataFrame, reference: np.ndarray | None = None,
    objectives: Sequence[Objective] | None = None, styled: bool = False,
    reference_trials: int | None = None,
) -> go.Figure:  # fmt: skip
    """The hypervolume the front covers after each complete trial (a step line: it grows only
    when the front changes). The y axis starts at 0: growth is shown at its true scale.
    `reference_trials`: how many complete trials set a run's reference point (it is fixed once
    REFERENCE_TRIALS have, and said to be provisional before)."""
    title = "Hypervolume against trial number"
    if reference is not None and objectives is not None and np.isfinite(reference).all():
        # Short lines (Plotly does not wrap a title): the figure is 440 px wide at the least.
        title += "<br><sup>against the reference point: each objective's worst value</sup>"
        when = ""
        if reference_trials is not None:
            n = REFERENCE_TRIALS
            when = (
                f"in the first {n} complete trials (fixed since), " if reference_trials >= n
                else f"so far (provisional until {n} trials complete), "
            )  # fmt: skip
        title += f"<br><sup>{when}10% of its range further:</sup>"
        parts = reference_text(reference, objectives).split(", ")
        for i in range(0, len(parts), 2):
            title += f"<br><sup>{', '.join(parts[i : i + 2])}</sup>"
    if objectives is not None and len(objectives) > 2:
        title += (
            "<br><sup>3+ objectives: the exact volume is costly, so it is</sup>"
            "<br><sup>evaluated at about 100 trials of the run and at each refresh, flat between</sup>"
        )
    if history.empty:
        return empty_figure(title, "No complete trials yet.")
    numbers = history["number"].to_numpy(dtype=np.int64)
    hv = history["hypervolume"].to_numpy(dtype=float)
    # Only the changes and the last trial: the line is the same, the payload much smaller.
    change = np.r_[True, hv[1:] != hv[:-1]]
    change[-1] = True
    data = [
        dict(
            type="scatter", x=numbers[change], y=hv[change], mode="lines+markers",
            line=dict(color=FRONT_COLOR, width=2, shape="hv"), marker=dict(size=5),
            name="hypervolume", hovertemplate="after trial %{x}: %{y:.4g}<extra></extra>",
        )
    ]  # fmt: skip
    lines = title.count("<br>")  # the plot keeps its height under a long title
    lay = layout(title, "trial number", "hypervolume (higher is better)",
                 height=HEIGHT + 22 * lines, live=not styled, legend="below", showlegend=False,
                 uirevision="keep", yaxis=dict(rangemode="tozero"))  # fmt: skip
    integer_axis(lay["xaxis"], numbers)
    return figure(data, lay, live=not styled, validate=VALIDATE)


# -- three or more objectives ---------------------------------------------------------------------
def parallel_front_figure(
    points: pd.DataFrame, objectives: Sequence[Objective], front_numbers: Sequence[int],
    chosen: int | None = None, styled: bool = False,
) -> go.Figure:  # fmt: skip
    """One line per front member across every objective, coloured by the score. Each axis spans
    the values of all complete trials, not only the front's, so that small differences between
    members are not stretched over the whole axis."""
    title = "The front across every objective"
    front = points[points["number"].isin(np.asarray(front_numbers, dtype=int))]
    if front.empty:
        return empty_figure(title, "No complete trials yet.")
    dims = []
    for o in objectives:
        v = points[o.name].to_numpy(dtype=float)
        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        if hi <= lo:
            pad = max(abs(lo) * 0.01, 0.01)
            lo, hi = lo - pad, hi + pad
        label = esc(f"{o.title}{' ↓' if o.direction == 'minimize' else ' ↑'}")
        dims.append(dict(label=label, values=front[o.name].to_numpy(dtype=float), range=[lo, hi]))
    score = front[objectives[0].name].to_numpy(dtype=float)
    sub = f"{len(front):,} front members; ↑ higher is better, ↓ lower is better"
    if chosen is not None and chosen in set(front["number"]):
        sub += f"; the chosen trade-off is trial #{chosen}"
    data = [
        dict(
            type="parcoords", dimensions=dims,
            line=dict(color=score, colorscale="Viridis",
                      reversescale=objectives[0].direction == "minimize", showscale=True,
                      colorbar=dict(title=dict(text=esc(objectives[0].label)), thickness=12,
                                    x=1.06, xanchor="left")),
        )
    ]  # fmt: skip
    lay = layout(title, subtitle=sub, height=460, live=not styled, legend="below",
                 margin=dict(l=70, r=120, t=100, b=40))  # fmt: skip
    return figure(data, lay, live=not styled, validate=VALIDATE)


def pairwise_fronts_figure(
    points: pd.DataFrame, objectives: Sequence[Objective], front_numbers: Sequence[int],
    chosen: int | None = None, max_points: int = MAX_POINTS // 2, styled: bool = False,
) -> go.Figure:  # fmt: skip
    """Small multiples: every pair of objectives, dominated trials faded, the members of the
    front over all objectives bold, the chosen trade-off starred."""
    title = "Every pair of objectives"
    pairs = list(combinations(range(len(objectives)), 2))
    if points.empty or not pairs:
        return empty_figure(title, "No complete trials yet.")
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.09, vertical_spacing=0.2)
    front, dominated, n_dominated = drawn(points, front_numbers, chosen, max_points)
    pick = points[points["number"] == chosen] if chosen is not None else points.iloc[:0]
    for k, (i, j) in enumerate(pairs):
        xo, yo = objectives[j], objectives[i]  # the score (objective 0) on y, as elsewhere
        r, c = divmod(k, cols)
        first = k == 0
        for rows_, name, marker, group in (
            (dominated, f"dominated ({n_dominated:,})",
             dict(color=DOMINATED_COLOR, size=5, opacity=0.3), "dominated"),
            (front, f"Pareto front ({len(front):,})",
             dict(color=FRONT_COLOR, size=8, line=dict(width=1, color="#1b5e20")), "front"),
            (pick, f"chosen (trial #{chosen})",
             dict(symbol="star", size=14, color=CHOSEN_COLOR), "chosen"),
        ):  # fmt: skip
            if not len(rows_):
                continue
            fig.add_trace(
                _markers(rows_, xo, yo, [""] * len(rows_), mode="markers", name=name,
                         marker=marker, legendgroup=group, showlegend=first,
                         hovertemplate=_hovertemplate(xo, yo, group)),
                row=r + 1, col=c + 1,
            )  # fmt: skip
        fig.update_xaxes(title_text=esc(xo.title), row=r + 1, col=c + 1,
                         **objective_axis({}, xo, points[xo.name].to_numpy(dtype=float)))
        fig.update_yaxes(title_text=esc(yo.title), row=r + 1, col=c + 1,
                         **objective_axis({}, yo, points[yo.name].to_numpy(dtype=float)))  # fmt: skip
    sub = "the front of all objectives, seen two at a time: a member may look dominated in one pair"
    if len(dominated) < n_dominated:
        sub += f"; {len(dominated):,} of {n_dominated:,} dominated trials drawn (an even sample)"
    full = f"{title}<br><sup>{sub}</sup>"
    height = max(420, 320 * rows + 100)
    # the subplots' own axes keep their titles; the report has the width for a legend on top
    return base_layout(fig, full, height=height, live=not styled,
                       legend=None if styled else "below")  # fmt: skip


# -- the front as a table -------------------------------------------------------------------------
def front_table(
    points: pd.DataFrame, objectives: Sequence[Objective], front_numbers: Sequence[int],
    frame: pd.DataFrame | None = None,
) -> pd.DataFrame:  # fmt: skip
    """The front members, best score first: `trial`, each objective (titled with its unit) as
    a number, then the parameters as text ("—" where one does not apply). Numpy, not pandas
    row selection: the Live monitor builds it at every refresh of a 10,000-trial run."""
    numbers = points["number"].to_numpy(dtype=np.int64)
    on = np.isin(numbers, np.asarray(front_numbers, dtype=np.int64))
    s = -1.0 if objectives[0].direction == "maximize" else 1.0
    score = points[objectives[0].name].to_numpy(dtype=float)[on]
    order = np.lexsort((numbers[on], s * score))
    trials = numbers[on][order]
    out: dict[str, Any] = {"trial": trials}
    for o in objectives:
        out[o.title] = points[o.name].to_numpy(dtype=float)[on][order]
    if frame is not None and len(trials):
        at = pd.Index(frame["number"].to_numpy(dtype=np.int64)).get_indexer(trials)
        for c in (c for c in frame.columns if c.startswith("param_")):
            values = frame[c].to_numpy()[at]
            out[c[len("param_") :]] = [param_cell(v) for v in values]
    return pd.DataFrame(out)


__all__ = [
    "front_figure", "hypervolume_figure", "parallel_front_figure", "pairwise_fronts_figure",
    "front_table", "param_texts", "axis_title", "drawn", "MAX_POINTS",
]  # fmt: skip
