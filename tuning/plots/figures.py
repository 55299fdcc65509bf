"""Plotly figures of the Analysis page and the report, built from `tuning.analysis` results;
the Live monitor draws two of them too (importance and learning curves, in the live style:
tuning.plots.live).

Every figure has a title, axis titles with units, the score's name and direction, and one colour
per trial state (STATE_COLORS, shared with the UI). Payloads stay small at 10,000 trials: point
clouds use WebGL (Scattergl) and a deterministic sample that keeps the best trials; the contour
is binned; numeric arrays travel as typed arrays. Every string that can come from a user (run
and parameter names, values) is HTML-escaped, because Plotly renders labels as HTML. The layout,
the empty figure and escaping are tuning.plots.base's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tuning import analysis as an
from tuning.plots.base import (
    HEIGHT,
    LEGENDS,
    LIVE_HEIGHT,
    SCATTER,
    base_layout,
    empty_figure,
    esc,
    figure,
    fixed_margins,
    integer_axis,
    layout,
    pad_flat,
    params_text,
    spread_band,
    whiskers,
)
from tuning.plots.colors import BEST_COLOR, STATE_COLORS, STATE_ORDER
from tuning.runs.experiments import test_interval

TEST_COLOR = "#2ca02c"
TRAIN_COLOR = "#7f7f7f"
MAX_POINTS = 2000
# Trial number as colour: the darker part of Blues only, so the first trials stay visible on a
# white background (the scale's lightest end is nearly white).
TRIAL_SCALE = [[0.0, "#4292c6"], [0.5, "#2171b5"], [1.0, "#08306b"]]  # 3.4:1 on white and darker
TRIAL_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#ff7f0e", "#7f7f7f",
)  # fmt: skip
CURVES_TOP = 10  # Analysis and the report: the learning curves of the 10 best trials...
CURVES_MAX = 60  # ...and an even sample of the rest, up to this many trials


def nice_ticks(low: float, high: float, log: bool = False, integer: bool = False,
               target: int = 5) -> list[float]:  # fmt: skip
    """Round tick values in [low, high], in the parameter's own units: 1-2-5 steps (whole
    numbers for integers); on a log axis the decades, or 1-2-5 multiples of them when the range
    spans less than three decades."""
    if log and low > 0 and high > low:
        lo, hi = math.log10(low), math.log10(high)
        decades = [10.0**k for k in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
        if len(decades) >= 3:
            step = max(1, math.ceil(len(decades) / (target + 2)))
            return decades[::step]
        out = [m * 10.0**k for k in range(math.floor(lo) - 1, math.ceil(hi) + 1) for m in (1, 2, 5)]
        return [_round(v) for v in out if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
    if not high > low:
        return [float(low)]
    raw = (high - low) / target
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(low / step - 1e-9) * step
    ticks = np.arange(first, high + step * 1e-9, step)
    return [_round(float(v)) for v in ticks]


def _round(v: float) -> float:
    """Drop float noise (0.30000000000000004 -> 0.3)."""
    return float(f"{v:.12g}")


def _tick_text(v: float, integer: bool) -> str:
    return str(int(round(v))) if integer or float(v).is_integer() else an.fmt_value(v)


def _ids(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _is_log(run: an.RunData, name: str) -> bool:
    info = run.params.get(name)
    return bool(info and info.log)


# -- importance -----------------------------------------------------------------------------------
def importance_figure(
    imp: an.Importance, title: str | None = None, subtitle: str | None = None, *,
    x_title: str = "share of total importance", y_title: str | None = None, live: bool = False,
) -> go.Figure:  # fmt: skip
    """Horizontal bars (share of total importance), most important on top, with the bootstrap
    5-95% interval as whiskers. The title, subtitle and axis titles are the page's wording (the
    defaults: the Analysis page's, which names the evaluator and the resamples)."""
    title = title or "Parameter importance"  # short lines: half a 900 px window holds them
    t = imp.table
    share = t["importance"].to_numpy(dtype=float)[::-1]  # most important on top
    if not (share > 0).any():  # no table, or every share 0: nothing to rank
        message = "Not enough variation to rank parameters" if imp.ok else (
            imp.note or "No importance to show.")  # fmt: skip
        return empty_figure(title, message, x_title, y_title or "", live=live, subtitle=subtitle)
    if subtitle is None:
        subtitle = (
            f"{esc(imp.label)}<br>{imp.n_trials:,} complete trials, {imp.n_boot} resamples<br>"
            "bars: 5-95% interval"
        )
    low, high = t["low"].to_numpy(dtype=float)[::-1], t["high"].to_numpy(dtype=float)[::-1]
    bars = {
        "type": "bar",
        "x": share,
        "y": [esc(p) for p in t["param"].tolist()[::-1]],
        "orientation": "h",
        "marker": {"color": STATE_COLORS["complete"]},
        "error_x": {
            "type": "data", "symmetric": False, "color": "#444",
            "array": np.clip(high - share, 0, None), "arrayminus": np.clip(share - low, 0, None),
        },
        "customdata": np.c_[low, high],
        "hovertemplate": "%{y}: %{x:.3f} (5-95%: %{customdata[0]:.3f}-%{customdata[1]:.3f})"
        "<extra></extra>",
    }  # fmt: skip
    lay = layout(title, x_title, y_title, height=max(260, 60 + 34 * len(t)), subtitle=subtitle,
                 live=live, showlegend=False)  # fmt: skip
    return figure([bars], lay, live)


# -- slices ---------------------------------------------------------------------------------------
def slice_figure(run: an.RunData, params: list[str] | None = None,
                 max_points: int = MAX_POINTS) -> go.Figure:  # fmt: skip
    """Score against each parameter, one panel per parameter; colour = trial number."""
    title = "Slices: score against each parameter"
    names = [p for p in (params or run.param_names) if p in run.params][:12]
    pts = an.points(run, max_points)
    if pts.empty or not names:
        return empty_figure(title, "No complete trials yet.")
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, horizontal_spacing=0.04,
                        vertical_spacing=0.16 if rows > 1 else 0.1)  # fmt: skip
    for i, name in enumerate(names):
        at = dict(row=i // cols + 1, col=i % cols + 1)
        info = run.params[name]
        fig.add_trace(_slice_trials(run, name, pts, first=i == 0), **at)
        best = _slice_best(run, name, first=i == 0)  # on top: it must never hide among the others
        if best is not None:
            fig.add_trace(best, **at)
        fig.update_xaxes(**at, **_slice_axis(name, info))
    for r in range(1, rows + 1):  # the same score title on every row
        fig.update_yaxes(title_text=esc(run.score_title), row=r, col=1)
    flat: dict = {}
    pad_flat(flat, an.to_float(pts["value"]))  # one score: near it, not an axis up to 1.5
    if flat:
        fig.update_yaxes(**flat)
    return base_layout(fig, title + esc(_sample_note(len(pts), run.n_complete)),
                       height=max(HEIGHT, 300 * rows + 80))  # fmt: skip


def _slice_trials(run: an.RunData, name: str, pts: pd.DataFrame, first: bool) -> go.Scattergl:
    """The sampled trials' scores against one parameter, coloured by trial number (the colour
    bar once, on the first panel)."""
    info = run.params[name]
    vals = run.param_values(name, pts)
    ok = vals.notna().to_numpy()
    x = an.to_float(vals[ok]) if info.numeric else np.array([esc(v) for v in vals[ok]], dtype=object)
    numbers = _ids(pts["number"])
    return go.Scattergl(
        x=x,
        y=an.to_float(pts["value"])[ok],
        mode="markers",
        customdata=numbers[ok],
        marker=dict(
            size=5, color=numbers[ok], colorscale=TRIAL_SCALE, opacity=0.8, showscale=first,
            cmin=0, cmax=max(1, int(run.frame["number"].max())),
            colorbar=dict(title="trial", thickness=12, len=0.6),
        ),
        hovertemplate=f"trial %{{customdata}}<br>{esc(name)}=%{{x}}<br>score=%{{y:.4g}}"
        "<extra></extra>",
        showlegend=False,
    )  # fmt: skip


def _slice_best(run: an.RunData, name: str, first: bool) -> go.Scatter | None:
    """The best trial's star on one panel; None when there is no best or it lacks the
    parameter (one legend entry, from the first panel)."""
    best = run.best
    if best is None or pd.isna(best.get(f"param_{name}")):
        return None
    info = run.params[name]
    bx = best[f"param_{name}"]
    return go.Scatter(
        x=[float(bx) if info.numeric else esc(bx)], y=[float(best["value"])],
        mode="markers", name=f"best trial (#{int(best['number'])})",
        marker=dict(symbol="star", size=13, color=BEST_COLOR, line=dict(width=1, color="#1b5e20")),
        hovertemplate=f"best trial<br>{esc(name)}=%{{x}}<br>score=%{{y:.4g}}<extra></extra>",
        showlegend=first, legendgroup="best",
    )  # fmt: skip


def _slice_axis(name: str, info: an.ParamInfo) -> dict[str, Any]:
    """A panel's x axis in the parameter's own terms: log scale, whole-number ticks for an
    integer, the choices in their order for a category."""
    axis: dict[str, Any] = dict(title_text=esc(name) + (" (log)" if info.log else ""))
    if info.log:
        axis["type"] = "log"
    elif info.kind == "int" and info.low is not None and info.high is not None:
        ticks = nice_ticks(info.low, info.high, integer=True, target=4)
        axis.update(tickmode="array", tickvals=ticks, ticktext=[_tick_text(t, True) for t in ticks])
    elif not info.numeric:
        axis.update(type="category", categoryorder="array",
                    categoryarray=[esc(v) for v in (info.choices or [])])  # fmt: skip
    return axis


def _sample_note(drawn: int, n_complete: int) -> str:
    return f" ({drawn:,} of {n_complete:,} trials, best kept)" if drawn < n_complete else ""


# -- contour --------------------------------------------------------------------------------------
def contour_figure(grid: an.ContourGrid, run: an.RunData) -> go.Figure:
    """Binned 2-parameter map: best (or mean) score per cell, plus a sample of trials."""
    what = "best" if grid.agg == "best" else "mean"
    title = f"{esc(grid.x.name)} × {esc(grid.y.name)}: {what} {esc(run.label)} per cell"
    if grid.n_trials == 0:
        return empty_figure(title, "No complete trial has both parameters.")

    def axis(info: an.ParamInfo, edges, labels):
        if labels is not None:
            return [esc(v) for v in labels], dict(type="category")
        if info.log:
            return np.log10(edges), dict(title_text=f"log10 {esc(info.name)}")
        return edges, dict()

    xs, xaxis = axis(grid.x, grid.x_edges, grid.x_labels)
    ys, yaxis = axis(grid.y, grid.y_edges, grid.y_labels)
    fig = go.Figure(
        go.Heatmap(
            x=xs,
            y=ys,
            z=grid.z,
            customdata=grid.count,
            colorscale="Viridis",
            reversescale=not run.maximize,
            colorbar=dict(title=esc(run.label), thickness=12),
            hovertemplate=f"{esc(grid.x.name)} %{{x}}<br>{esc(grid.y.name)} %{{y}}<br>"
            f"{what} %{{z:.4g}} (%{{customdata:.0f}} trials)<extra></extra>",
            hoverongaps=False,
        )
    )
    s = grid.sample

    def coord(info: an.ParamInfo, v: pd.Series):
        if not info.numeric:
            return np.array([esc(x) for x in v], dtype=object)
        x = an.to_float(v)
        return np.log10(x) if info.log else x

    fig.add_trace(
        go.Scattergl(
            x=coord(grid.x, s["x"]),
            y=coord(grid.y, s["y"]),
            mode="markers",
            marker=dict(size=4, color="white", line=dict(width=0.5, color="black"), opacity=0.7),
            customdata=np.c_[_ids(s["number"]), an.to_float(s["value"])],
            hovertemplate="trial %{customdata[0]:.0f}: %{customdata[1]:.4g}<extra></extra>",
            name="trials (sample)",
            showlegend=False,
        )
    )
    xt = f"{esc(grid.x.name)} (log)" if grid.x.log else esc(grid.x.name)
    yt = f"{esc(grid.y.name)} (log)" if grid.y.log else esc(grid.y.name)
    fig.update_xaxes(**{k: v for k, v in xaxis.items() if k != "title_text"}, **_decades(grid.x))
    fig.update_yaxes(**{k: v for k, v in yaxis.items() if k != "title_text"}, **_decades(grid.y))
    sub = f"{grid.n_trials:,} complete trials; empty cells: no trial there"
    return base_layout(fig, f"{title}<br><sup>{sub}</sup>", xt, yt, height=480)


def _decades(info: an.ParamInfo) -> dict[str, Any]:
    """Tick labels in the parameter's own units on an axis drawn in log10 units."""
    if not (info.numeric and info.log and info.low and info.high):
        return {}
    raw = nice_ticks(info.low, info.high, log=True, integer=info.kind == "int")
    return dict(tickmode="array", tickvals=[math.log10(r) for r in raw],
                ticktext=[_tick_text(r, info.kind == "int") for r in raw])  # fmt: skip


# -- parallel coordinates -------------------------------------------------------------------------
def parallel_figure(run: an.RunData, params: list[str] | None = None,
                    max_points: int = 1000) -> go.Figure:  # fmt: skip
    """One line per trial across all parameters, coloured by score (best trials kept)."""
    title = "Parallel coordinates"
    names = [p for p in (params or run.param_names) if p in run.params][:12]
    pts = an.points(run, max_points)
    if pts.empty or not names:
        return empty_figure(title, "No complete trials yet.")
    dims = []
    for name in names:
        info = run.params[name]
        vals = run.param_values(name, pts)
        dims.append(_numeric_dimension(name, info, vals) if info.numeric
                    else _category_dimension(name, info, vals))  # fmt: skip
    score = an.to_float(pts["value"])
    dims.append(dict(label=esc(run.label), values=score))
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            line=dict(
                color=score,
                colorscale="Viridis",
                reversescale=not run.maximize,
                showscale=True,
                # Clear of the score axis's tick labels, which sit right of the last axis.
                colorbar=dict(title=esc(run.label), thickness=12, x=1.06, xanchor="left"),
            ),
        )  # fmt: skip
    )
    return base_layout(fig, title + esc(_sample_note(len(pts), run.n_complete)), height=460,
                       margin=dict(l=60, r=110, t=90, b=40))  # fmt: skip


def _category_dimension(name: str, info: an.ParamInfo, vals: pd.Series) -> dict[str, Any]:
    """A categorical parameter's axis: one tick per choice, in the space's order, and
    "(inactive)" below them for trials that did not have the parameter."""
    choices = [str(c) for c in (info.choices or sorted(vals.dropna().astype(str).unique()))]
    pos = {c: i for i, c in enumerate(choices)}
    codes = np.array([pos.get(str(v), -1) if v is not None and v == v else -1 for v in vals],
                     dtype=float)  # fmt: skip
    tickvals, ticktext = list(range(len(choices))), [esc(c) for c in choices]
    if (codes < 0).any():
        tickvals, ticktext = [-1, *tickvals], ["(inactive)", *ticktext]
    return dict(label=esc(name), values=codes, tickvals=tickvals, ticktext=ticktext,
                range=[min(tickvals), max(tickvals)])  # fmt: skip


def _numeric_dimension(name: str, info: an.ParamInfo, vals: pd.Series) -> dict[str, Any]:
    """A numeric parameter's axis over its whole searched range (log10 units where it is
    searched on a log scale), ticked at round values in its own units; trials without the
    parameter sit at "(inactive)" just below the range."""
    v = an.to_float(vals)
    if info.log:
        v = np.log10(np.clip(v, 1e-300, None))
    lo = math.log10(info.low) if info.log else float(info.low)
    hi = math.log10(info.high) if info.log else float(info.high)
    if hi <= lo:
        hi = lo + 1.0
    integer = info.kind == "int"
    raw = nice_ticks(10**lo if info.log else lo, 10**hi if info.log else hi, info.log, integer)
    ticks = [math.log10(r) if info.log else r for r in raw]
    text = [_tick_text(r, integer) for r in raw]
    if np.isnan(v).any():
        missing = lo - 0.1 * (hi - lo)
        v = np.where(np.isnan(v), missing, v)
        ticks, text, lo = [missing, *ticks], ["(inactive)", *text], missing
    label = esc(name) + (" (log)" if info.log else "")
    return dict(label=label, values=v, range=[lo, hi], tickvals=ticks, ticktext=text)


# -- distribution ---------------------------------------------------------------------------------
def distribution_figure(run: an.RunData, ecdf: pd.DataFrame | None = None) -> go.Figure:
    """Empirical distribution: the fraction of trials that reached at least each score."""
    title = f"Empirical distribution of CV {esc(run.label)}"
    ecdf = an.score_ecdf(run) if ecdf is None else ecdf
    if ecdf.empty:
        return empty_figure(title, "No complete trials yet.")
    fig = go.Figure(
        go.Scatter(
            x=ecdf["value"].to_numpy(),
            y=ecdf["fraction"].to_numpy(),
            mode="lines",
            line=dict(color=STATE_COLORS["complete"], shape="hv"),
            name="complete trials",
            hovertemplate="%{y:.0%} of trials reached %{x:.4g} or better<extra></extra>",
        )
    )
    best = ecdf["value"].iloc[0]
    fig.add_vline(x=best, line=dict(color=BEST_COLOR, dash="dot"),
                  annotation_text=f"best {an.fmt_value(best)}")  # fmt: skip
    test = run.test.get("score")
    if test is not None:
        fig.add_vline(x=test, line=dict(color="#444", dash="dash"),
                      annotation_text=f"test {an.fmt_value(test)}", annotation_position="bottom left")  # fmt: skip
    return base_layout(
        fig,
        title,
        esc(run.score_title),
        "fraction of trials at least this good",
        yaxis=dict(tickformat=".0%", range=[0, 1.02]),
        showlegend=False,
    )


# -- history --------------------------------------------------------------------------------------
def history_figure(run: an.RunData, max_points: int = MAX_POINTS) -> go.Figure:
    """Score of each trial in trial order, with whiskers of ± its fold std, and the best so far
    in a band of ± the best's fold std: a jump smaller than the CV noise looks like noise."""
    title = f"Optimization history: CV {esc(run.label)} per trial"
    c = run.complete
    if c.empty:
        return empty_figure(title, "No complete trials yet.")
    pts = an.sample_rows(c, max_points, run.sign * an.to_float(c["value"]))
    fig = go.Figure()
    best = run.frame[["number", "best_so_far"]].dropna()
    changed = best["best_so_far"].ne(best["best_so_far"].shift())
    steps = pd.concat([best[changed], best.tail(1)])
    std = _step_std(run.frame, steps["number"])
    for band in spread_band(_ids(steps["number"]), an.to_float(steps["best_so_far"]), std):
        fig.add_trace(band)
    fig.add_trace(
        go.Scattergl(
            x=_ids(pts["number"]),
            y=an.to_float(pts["value"]),
            error_y=whiskers(_fold_std(run.frame, pts["number"])),
            mode="markers",
            marker=dict(color=STATE_COLORS["complete"], size=5, opacity=0.6),
            name="complete trial (± fold std)",
            hovertemplate="trial %{x}: %{y:.4g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=_ids(steps["number"]),
            y=an.to_float(steps["best_so_far"]),
            mode="lines",
            line=dict(color=BEST_COLOR, width=2, shape="hv"),
            name="best so far",
        )
    )
    base_layout(fig, title, "trial number", esc(run.score_title))
    return fig.update_xaxes(**integer_axis({}, steps["number"]))


def _step_std(frame: pd.DataFrame, numbers: pd.Series) -> np.ndarray:
    """The fold std of the best at each step of a best-so-far curve (`numbers`: the trial
    that set each step, the last repeated to end the curve, so it takes the last best's)."""
    std = _fold_std(frame, numbers)
    std[-1] = std[-2] if len(std) > 1 else std[-1]
    return std


def _fold_std(frame: pd.DataFrame, numbers: pd.Series) -> np.ndarray:
    """Each trial's fold std, by trial number (NaN where none was kept)."""
    if "cv_std" not in frame:
        return np.full(len(numbers), np.nan)
    by_number = pd.Series(an.to_float(frame["cv_std"]), index=frame["number"].to_numpy())
    return by_number.reindex(numbers.to_numpy()).to_numpy(dtype=float, copy=True)


# -- timeline -------------------------------------------------------------------------------------
def timeline_figure(run: an.RunData, tl: pd.DataFrame | None = None) -> go.Figure:
    """One bar per trial from its start to its end, coloured by state."""
    title = "Timeline of trials"
    tl = an.timeline(run) if tl is None else tl
    if tl.empty:
        return empty_figure(title, "No trial has started yet.")
    fig = go.Figure()
    width = 6 if len(tl) <= 100 else 3 if len(tl) <= 1000 else 1.5
    for state in (*STATE_ORDER, *sorted(set(tl["state"]) - set(STATE_ORDER))):
        part = tl[tl["state"] == state]
        if part.empty:
            continue
        n = len(part)
        x = np.full(3 * n, np.nan)
        x[0::3], x[1::3] = part["start_s"].to_numpy(), part["end_s"].to_numpy()
        y = np.full(3 * n, np.nan)
        y[0::3] = y[1::3] = part["number"].to_numpy()
        fig.add_trace(
            go.Scattergl(
                x=x,
                y=y,
                mode="lines",
                line=dict(color=STATE_COLORS.get(state, "#7f7f7f"), width=width),
                name=f"{esc(state)} ({n:,})",
                showlegend=True,  # the legend says what the colours mean, even for one state
                hovertemplate="trial %{y}: %{x:.1f} s<extra>" + esc(state) + "</extra>",
            )
        )
    sub = f"{len(tl):,} trials over {tl['end_s'].max():.1f} s"
    base_layout(fig, f"{title}<br><sup>{sub}</sup>", "seconds since the first trial started",
                "trial number")  # fmt: skip
    return fig.update_yaxes(**integer_axis({}, tl["number"]))


# -- learning curves ------------------------------------------------------------------------------
def learning_curves_figure(
    curves: list[an.Curve], step_label: str, score_title: str, best_number: int | None = None,
    *, title: str = "Learning curves", subtitle: str | None = None,
    empty: str = "No intermediate scores were reported yet.", few: int = 0, live: bool = False,
) -> go.Figure:  # fmt: skip
    """Intermediate scores per trial (after each fold, epoch or boosting round). Up to `few`
    curves get a colour and legend entry each (e.g. a learning-rate sweep); more are grouped by
    state into one trace each (gaps between trials, a small payload) with the best trial's
    drawn over them. Pruned trials end in an orange ×, early-stopped networks in a ◆."""
    if not curves:
        return empty_figure(title, empty, step_label, score_title, live=live)
    own = len(curves) <= few
    data = _own_curves(curves, best_number) if own else _curves_by_state(curves, best_number)
    data.extend(_end_markers(curves))
    lay = layout(title, step_label, score_title, subtitle=subtitle, live=live)
    if live:
        fixed_margins(lay)
    if own:  # long per-trial names: legend under the plot, one per line
        lay["legend"] = {"orientation": "v", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0}
        lay["height"] = (LIVE_HEIGHT if live else HEIGHT) + 22 * (len(curves) + 1)
        lay["margin"] = {**lay["margin"], "t": 60}
    integer_axis(lay["xaxis"], [s for c in curves for s in c.steps])
    return figure(data, lay, live)


def learning_curves_of(run: an.RunData) -> go.Figure:
    """The learning curves as Analysis and the report show them: the CURVES_TOP best trials
    and an even sample of the rest, grouped by state."""
    curves = an.select_curves(run, CURVES_TOP, max_trials=CURVES_MAX)
    best_number = int(run.best["number"]) if run.best is not None else None
    empty = (
        "Multi-objective trials keep no per-fold scores in Optuna."  # Optuna refuses
        if run.record.multi_objective  # trial.report on several objectives
        else "No intermediate scores were reported yet."
    )
    return learning_curves_figure(
        curves, run.step_label, esc(run.score_title), best_number,
        title=f"Learning curves: CV {esc(run.label)} by {run.step_label}",
        subtitle=f"{len(curves)} trials shown: the {CURVES_TOP} best and an even sample of the rest",
        empty=empty,
    )  # fmt: skip


def _curve_trace(c: an.Curve, name: str, color: str, width: float, markers: bool) -> dict:
    return {
        "type": SCATTER,
        "x": c.steps,
        "y": c.values,
        "mode": "lines+markers" if markers else "lines",
        "name": name,
        "line": {"color": color, "width": width},
        "marker": {"size": 5, "color": color},
        "hovertemplate": f"trial {c.number}<br>step %{{x}}<br>score %{{y:.4f}}<extra>{esc(c.state)}</extra>",
    }


def _own_curves(curves: list[an.Curve], best_number: int | None) -> list[dict]:
    """A colour and a legend entry per trial, named by its first parameters; the best thicker."""
    data = []
    for i, c in enumerate(curves):
        star = " ★ best" if c.number == best_number else ""
        name = esc(f"#{c.number} {params_text(c.params, 3)}{star}")
        color = TRIAL_PALETTE[i % len(TRIAL_PALETTE)]
        data.append(_curve_trace(c, name, color, 3 if star else 2, markers=True))
    return data


def _curves_by_state(curves: list[an.Curve], best_number: int | None) -> list[dict]:
    """One trace per state in the state's colour (trials joined with gaps), then the best
    trial's curve over them."""
    data = []
    states = {c.state for c in curves}
    for state in (*STATE_ORDER, *sorted(states - set(STATE_ORDER))):
        group = [c for c in curves if c.state == state and c.number != best_number]
        if not group:
            continue
        xs, ys, nums = _joined(group)
        data.append(
            {
                "type": SCATTER, "x": xs, "y": ys, "customdata": nums, "mode": "lines",
                "name": f"{esc(state)} ({len(group)})", "opacity": 0.6,
                "line": {"color": STATE_COLORS.get(state, "#7f7f7f"), "width": 1.5},
                "hovertemplate": "trial %{customdata}<br>step %{x}<br>score %{y:.4f}"
                f"<extra>{esc(state)}</extra>",
            }
        )  # fmt: skip
    for c in curves:
        if c.number == best_number:
            data.append(_curve_trace(c, f"best trial (#{c.number})", BEST_COLOR, 3, False))
    return data


def _joined(curves: Iterable[an.Curve]) -> tuple[list, list, list]:
    xs: list = []
    ys: list = []
    nums: list = []
    for c in curves:
        xs.extend([*c.steps, None])
        ys.extend([*c.values, None])
        nums.extend([c.number] * (len(c.steps) + 1))
    return xs, ys, nums


def _end_markers(curves: list[an.Curve]) -> list[dict]:
    """× where a pruned trial stopped; ◆ where early stopping ended a network's training."""
    out = []
    pruned = [c for c in curves if c.state == "pruned"]
    if pruned:
        out.append(
            {
                "type": SCATTER, "mode": "markers", "name": "pruned here",
                "x": [c.steps[-1] for c in pruned], "y": [c.values[-1] for c in pruned],
                "customdata": [c.number for c in pruned],
                "marker": {"symbol": "x", "size": 11, "color": STATE_COLORS["pruned"]},
                "hovertemplate": "trial %{customdata} pruned at step %{x}<extra></extra>",
            }
        )  # fmt: skip
    early = [c for c in curves if c.stopped_early_at and c.state == "complete"]
    if early:
        at = [c.stopped_early_at for c in early]
        out.append(
            {
                "type": SCATTER, "mode": "markers", "name": "stopped early",
                "x": at,
                "y": [c.values[c.steps.index(a)] if a in c.steps else c.values[-1] for c, a in zip(early, at, strict=True)],
                "customdata": [c.number for c in early],
                "marker": {"symbol": "diamond", "size": 10, "color": "#333333"},
                "hovertemplate": "trial %{customdata}: early stopping at epoch %{x}<extra></extra>",
            }
        )  # fmt: skip
    return out


# -- overfitting ----------------------------------------------------------------------------------
def overfitting_figure(run: an.RunData, df: pd.DataFrame | None = None) -> go.Figure:
    """Train vs cross-validation vs held-out test score for the top trials."""
    title = f"Overfitting check: train, CV and test {esc(run.label)} of the top trials"
    df = an.overfitting(run) if df is None else df
    if df.empty:
        return empty_figure(title, "No complete trials yet.")
    x = [f"#{r} (trial {n})" for r, n in zip(df["rank"], df["number"], strict=True)]
    fig = go.Figure()
    if np.isfinite(df["train"]).any():
        fig.add_trace(go.Scatter(x=x, y=df["train"].to_numpy(), mode="markers", name="train (CV folds)",
                                 marker=dict(symbol="triangle-up", size=10, color=TRAIN_COLOR)))  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=x,
            y=df["cv"].to_numpy(),
            mode="markers",
            name="cross-validation (± std)",
            marker=dict(size=10, color=STATE_COLORS["complete"]),
            error_y=dict(
                type="data", array=np.nan_to_num(df["cv_std"].to_numpy()), color="#1f77b4"
            ),
        )
    )
    if np.isfinite(df["test"]).any():
        test = df["test"].to_numpy(dtype=float)
        fig.add_trace(go.Scatter(x=x, y=test, mode="markers", **_held_out_spread(run, test),
                                 marker=dict(symbol="diamond-open", size=15, color=TEST_COLOR,
                                             line=dict(width=2))))  # fmt: skip
    base_layout(fig, title, "rank (trial)", esc(run.label + f" ({run.arrow})"),
                xaxis=dict(type="category"))  # fmt: skip
    # The legend at the foot: over the plot, three entries covered a long title in a narrow
    # window
    return fig.update_layout(legend=LEGENDS["foot"], margin=dict(b=140))


def _held_out_spread(run: an.RunData, test: np.ndarray) -> dict:
    """The test points' name and, for an accuracy on a known number of held-out rows, their
    95 % Wilson intervals as whiskers: one split of a hundred rows moves an accuracy by a few
    hundredths, more than the CV whiskers beside it often span."""
    n = run.test.get("n_test")
    ends = [test_interval(run.record.scoring, v, n) for v in test]
    if not any(ends):
        return {"name": "held-out test"}
    ends = np.array([e or (np.nan, np.nan) for e in ends])
    return {
        "name": f"held-out test (95 % on {int(n)} rows)",
        "error_y": dict(type="data", symmetric=False, array=np.nan_to_num(ends[:, 1] - test),
                        arrayminus=np.nan_to_num(test - ends[:, 0]), color=TEST_COLOR),
    }  # fmt: skip


# -- efficiency -----------------------------------------------------------------------------------
def efficiency_figure(run: an.RunData, eff: an.Efficiency | None = None) -> go.Figure:
    """Best score so far against cumulative compute (the sum of trial durations), in a band of
    ± the best's fold std: a step smaller than the CV noise looks like noise."""
    title = f"Best CV {esc(run.label)} against cumulative compute"
    eff = an.efficiency(run) if eff is None else eff
    curve = eff.curve.dropna(subset=["best"])
    if curve.empty:
        return empty_figure(title, "No complete trials yet.")
    changed = curve["best"].ne(curve["best"].shift())
    steps = pd.concat([curve[changed], curve.tail(1)])
    std = _step_std(run.frame, steps["number"])
    fig = go.Figure()
    for band in spread_band(steps["compute_s"].to_numpy(), steps["best"].to_numpy(), std):
        fig.add_trace(band)
    fig.add_trace(
        go.Scatter(
            x=steps["compute_s"].to_numpy(),
            y=steps["best"].to_numpy(),
            customdata=np.c_[_ids(steps["number"]), steps["wall_s"].to_numpy()],
            mode="lines+markers",
            line=dict(color=BEST_COLOR, shape="hv", width=2),
            marker=dict(size=6),
            name="best so far",
            hovertemplate="%{x:.1f} s of compute (%{customdata[1]:.1f} s wall): %{y:.4g}"
            " (trial %{customdata[0]:.0f})<extra></extra>",
        )
    )
    return base_layout(fig, title, "cumulative compute (seconds of trial time)",
                   esc(run.score_title), subtitle="band: ± the best trial's fold std",
                   showlegend=False)  # fmt: skip


def time_breakdown_figure(eff: an.Efficiency) -> go.Figure:
    """Wall time (x parallel workers) split into fitting, scoring and overhead."""
    title = "Where the wall time went"
    if eff.wall_s <= 0:
        return empty_figure(title, eff.message)
    b = eff.breakdown
    colors = {"fit": "#1f77b4", "score": "#17becf", "in_trial": "#ff7f0e", "between": "#c7c7c7"}
    fig = go.Figure()
    for row in b.itertuples():
        fig.add_trace(
            go.Bar(
                x=[row.seconds],
                y=["time"],
                orientation="h",
                name=f"{row.label} ({100 * row.share:.0f}%)",
                marker_color=colors.get(row.part, "#7f7f7f"),
                hovertemplate=f"{row.label}: %{{x:.1f}} s ({100 * row.share:.0f}%)<extra></extra>",
            )
        )
    useful = (
        "" if eff.useful_fraction is None else f"useful fraction {100 * eff.useful_fraction:.0f}%"
    )
    lanes = f" × {eff.workers} workers" if eff.workers > 1 else ""
    fig.update_layout(barmode="stack")
    fig.update_yaxes(showticklabels=False)
    return base_layout(
        fig,
        f"{title}<br><sup>{eff.wall_s:.1f} s wall{lanes}; {useful}</sup>",
        "seconds",
        None,
        height=290,  # the legend sits clear below the axis title
        legend=dict(orientation="h", yanchor="top", y=-0.6, x=0, traceorder="normal"),
        margin=dict(l=20, r=20, t=70, b=110),
    )


# -- is the best really the best? -----------------------------------------------------------------
def top_configs_figure(run: an.RunData, ranks: pd.DataFrame | None = None) -> go.Figure:
    """CV mean ± std of the top trials, coloured by whether the corrected resampled t-test
    tells them apart from the best."""
    title = "Is the best really the best? Top configurations vs the best"
    ranks = an.compare_top(run) if ranks is None else ranks
    if ranks.empty:
        return empty_figure(title, "No complete trials yet.")
    x = [f"#{r} (trial {n})" for r, n in zip(ranks["rank"], ranks["number"], strict=True)]
    groups = {
        "best": ranks["rank"] == 1,
        "indistinguishable (p ≥ 0.05)": (ranks["rank"] > 1) & (ranks["same_as_best"] == True),  # noqa: E712
        "worse (p < 0.05)": (ranks["rank"] > 1) & (ranks["same_as_best"] == False),  # noqa: E712
        "not testable (no fold scores)": ranks["same_as_best"].isna(),
    }
    colors = [BEST_COLOR, STATE_COLORS["complete"], STATE_COLORS["failed"], "#7f7f7f"]
    fig = go.Figure()
    for (name, mask), color in zip(groups.items(), colors, strict=True):
        m = mask.to_numpy(dtype=bool)
        if not m.any():
            continue
        fig.add_trace(
            go.Scatter(
                x=[x[i] for i in np.flatnonzero(m)],
                y=ranks["value"].to_numpy()[m],
                error_y=dict(type="data", array=np.nan_to_num(ranks["cv_std"].to_numpy()[m])),
                customdata=ranks["p"].to_numpy()[m],
                mode="markers",
                marker=dict(size=11, color=color),
                name=name,
                hovertemplate="%{x}: %{y:.4g}, p = %{customdata:.3f}<extra></extra>",
            )
        )
    sub = "corrected resampled t-test (Nadeau & Bengio, 2003) on per-fold scores; bars: ± std"
    return base_layout(fig, f"{title}<br><sup>{sub}</sup>", "rank (trial)", esc(run.score_title),
                   xaxis=dict(type="category", categoryorder="array", categoryarray=x))  # fmt: skip


# -- all of them ----------------------------------------------------------------------------------
FIGURES = (
    "importance", "history", "slices", "contour", "parallel", "distribution", "timeline",
    "learning_curves", "overfitting", "efficiency", "time_breakdown", "top_configs",
)  # fmt: skip


def analysis_figures(
    run: an.RunData,
    imp: an.Importance | None = None,
    eff: an.Efficiency | None = None,
    ranks: pd.DataFrame | None = None,
    only: tuple[str, ...] = FIGURES,
) -> dict[str, go.Figure]:
    """Every Analysis figure by name (the report uses them all). Importance is computed with
    PED-ANOVA when not given; the contour shows the two most important parameters."""
    imp = an.importance(run) if imp is None and ("importance" in only or "contour" in only) else imp
    eff = an.efficiency(run) if eff is None else eff
    out: dict[str, go.Figure] = {}
    builders = {
        "importance": lambda: importance_figure(imp),
        "history": lambda: history_figure(run),
        "slices": lambda: slice_figure(run),
        "contour": lambda: _contour(run, imp),
        "parallel": lambda: parallel_figure(run),
        "distribution": lambda: distribution_figure(run),
        "timeline": lambda: timeline_figure(run),
        "learning_curves": lambda: learning_curves_of(run),
        "overfitting": lambda: overfitting_figure(run),
        "efficiency": lambda: efficiency_figure(run, eff),
        "time_breakdown": lambda: time_breakdown_figure(eff),
        "top_configs": lambda: top_configs_figure(run, ranks),
    }
    for name in only:
        out[name] = builders[name]()
    return out


def _contour(run: an.RunData, imp: an.Importance | None) -> go.Figure:
    pair = an.best_pair(run, imp)
    if pair is None:
        return empty_figure("Contour", "A contour needs two searched parameters.")
    return contour_figure(an.contour_grid(run, *pair), run)


__all__ = [
    "STATE_COLORS", "STATE_ORDER", "BEST_COLOR", "FIGURES", "esc", "analysis_figures",
    "importance_figure", "slice_figure", "contour_figure", "parallel_figure",
    "distribution_figure", "history_figure", "timeline_figure", "learning_curves_figure",
    "learning_curves_of",
    "overfitting_figure", "efficiency_figure", "time_breakdown_figure", "top_configs_figure",
]  # fmt: skip
