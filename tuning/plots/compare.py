"""Figures of the Compare page, built from `tuning.runs.experiments` tables (band, summary).

Differences between methods are often smaller than the noise of cross-validation, so the score
panel draws each method's gap to the best one with its uncertainty, on an axis at least a few
spreads wide, and says when every gap lies within the noise. A method validated on one holdout
split (population-based training) is not set on the same axis as cross-validated means.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tuning.plots.base import LEGENDS, base_layout, empty_figure, esc, wrap
from tuning.runs.entries import is_warm

METHOD_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                  "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip
HOLDOUT_NOTE = "one holdout split"

X_TITLES = {
    "trials": ("trial", "trials finished"),
    "elapsed_s": ("time", "wall-clock time (s)"),
    "epochs_so_far": ("epochs trained", "network epochs trained (all folds and members)"),
}
SPREAD_WORDS = {"seeds": "±1 std over seeds, or over the best trials' CV folds where larger",
                "folds": "±1 std over the best trial's CV folds"}  # fmt: skip


def method_colors(methods: list[str]) -> dict[str, str]:
    return {m: METHOD_PALETTE[i % len(METHOD_PALETTE)] for i, m in enumerate(methods)}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _name(m: str, labels: dict[str, str] | None, holdout: Iterable[str]) -> str:
    label = (labels or {}).get(m, m)
    return esc(f"{label} ({HOLDOUT_NOTE})" if m in set(holdout) else label)


def _dash(m: str, holdout: set[str]) -> str | None:
    """Dotted: scored on one holdout split; dashed: a warm-started copy of a method."""
    return "dot" if m in holdout else "dash" if is_warm(m) else None


def compare_curve_figure(
    band: pd.DataFrame, x: str, score_title: str, methods: list[str],
    target: float | None = None, labels: dict[str, str] | None = None,
    holdout: Iterable[str] = (), quantity: str = "Best score",
) -> go.Figure:  # fmt: skip
    """Best-so-far per method against trials or seconds: the median over seeds as a line and
    the min-max over seeds as a band (a single seed has no band). Methods in `holdout` are
    named as scored on one holdout split, not the CV mean. `quantity` names what is raced
    (a multi-objective race: "Hypervolume")."""
    title = f"{quantity} by " + X_TITLES.get(x, ("time", ""))[0]
    xlabel = X_TITLES.get(x, ("", "elapsed time (s)"))[1]
    if band.empty:
        return empty_figure(title, "No finished trials yet.")
    holdout = set(holdout)
    colors = method_colors(methods)
    fig = go.Figure()
    for m in methods:
        b = band[band["method"] == m]
        if b.empty:
            continue
        name = _name(m, labels, holdout)
        if (b["seeds"] > 1).any():
            fig.add_trace(go.Scatter(x=b[x], y=b["high"], mode="lines", line=dict(width=0, shape="hv"),
                                     hoverinfo="skip", showlegend=False, legendgroup=m))  # fmt: skip
            fig.add_trace(go.Scatter(x=b[x], y=b["low"], mode="lines", line=dict(width=0, shape="hv"),
                                     fill="tonexty", fillcolor=_rgba(colors[m], 0.18),
                                     hoverinfo="skip", showlegend=False, legendgroup=m))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=b[x], y=b["median"], mode="lines", name=name, legendgroup=m,
            line=dict(color=colors[m], width=2.5, shape="hv", dash=_dash(m, holdout)),
            hovertemplate=f"{name}<br>{xlabel}: %{{x:.4g}}<br>{esc(quantity.lower())}: "
            "%{y:.4g}<extra></extra>",
        ))  # fmt: skip
    if target is not None:
        # A legend entry, not a label on the plot: the curves that reach the target would be
        # drawn under a label sitting on its line.
        lo, hi = float(band[x].min()), float(band[x].max())
        fig.add_trace(go.Scatter(
            x=[lo, hi], y=[target, target], mode="lines", name=f"target {target:.4f}",
            line=dict(color="#444", dash="dot", width=1.5), hoverinfo="skip",
        ))  # fmt: skip
    seeds = int(band["seeds"].max())
    note = f"median over {seeds} seeds, band: min–max" if seeds > 1 else "one seed"
    base_layout(fig, title, xlabel, score_title, height=460)
    # Legend below the plot: with several methods a legend above it collides with the title.
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0),
                      title_subtitle_text=note, margin=dict(b=110, t=80))  # fmt: skip
    return fig


def gap_axis(table: pd.DataFrame) -> tuple[float, float]:
    """A range for the gaps that does not make noise look like a difference: it holds every
    gap with its error bar, and is at least three spreads (or 1% of the best score) each way."""
    cv = table[table["gap"].notna()]
    err = cv["gap_std"].fillna(0.0)
    reach = float(np.max(np.abs(cv["gap"]) + err)) if len(cv) else 0.0
    spread = float(np.nanmax(cv["best_cv_std"])) if cv["best_cv_std"].notna().any() else 0.0
    top = float(cv.loc[cv["gap"].abs().idxmin(), "best_cv"]) if len(cv) else 1.0
    half = max(reach * 1.15, 3 * spread, 0.01 * abs(top), 1e-6)
    return -half, half


def noise_note(table: pd.DataFrame) -> str | None:
    """A sentence on whether the methods' differences exceed their spread (None: unknown)."""
    cv = table[table["gap"].notna()]
    if len(cv) < 2 or cv["gap_std"].isna().any():
        return None
    behind = cv[cv["gap"].abs() > 0]
    if behind.empty:
        return "All methods reached the same best score."
    if cv["within_noise"].astype(bool).all():
        return "Every difference is within ±1 std: no method is clearly better here."
    return None


def score_gap_figure(
    table: pd.DataFrame, score_title: str, labels: dict[str, str] | None = None
) -> go.Figure:
    """Per method: best CV score minus the best method's, error bar = the gap's spread (over
    seeds or the best trials' folds, whichever is larger), on an axis that does not exaggerate
    noise; methods validated on one holdout split stand apart (named below)."""
    title = "Best CV score vs the top one"
    cv = table[table["gap"].notna()] if len(table) else table
    if cv.empty:
        return empty_figure(title, "No cross-validated scores yet.")
    names = {m: esc((labels or {}).get(m, m)) for m in table["method"]}
    colors = method_colors(list(table["method"]))
    spread_of = next((s for s in table["spread"] if s), None)
    top = cv.loc[cv["gap"].abs().idxmin()]
    fig = go.Figure()
    for r in cv.itertuples():
        err = 0.0 if pd.isna(r.gap_std) else r.gap_std
        fig.add_trace(go.Scatter(
            x=[names[r.method]], y=[r.gap], mode="markers", showlegend=False,
            marker=dict(color=colors[r.method], size=12),
            error_y=dict(type="data", array=[err], visible=True, thickness=2, width=8),
            hovertemplate=(f"{names[r.method]}<br>best CV {r.best_cv:.4f}"
                           f"<br>difference %{{y:+.4f}} ± {err:.4f}<extra></extra>"),
        ))  # fmt: skip
    fig.add_hline(y=0, line=dict(color="#444", width=1))
    notes = [f"0 = {names[top.method]} ({top.best_cv:.4f})",
             f"error bars: {SPREAD_WORDS[spread_of]}" if spread_of else "no spread known"]  # fmt: skip
    if (note := noise_note(table)) is not None:
        notes.append(note)
    apart = [(labels or {}).get(m, m) for m in table.loc[table["validation"] == "holdout", "method"]]
    if apart:
        notes.append(f"not shown: {', '.join(apart)} ({HOLDOUT_NOTE}, not a CV mean)")
    base_layout(fig, title, "", f"difference in {score_title}", height=420)
    fig.update_yaxes(range=list(gap_axis(table)), zeroline=False)
    # One note a line: a narrow window cuts a long subtitle instead of wrapping it.
    fig.update_layout(title_subtitle_text="<br>".join(esc(n) for n in notes),
                      margin=dict(t=70 + 16 * len(notes)))  # fmt: skip
    fig.update_xaxes(type="category")
    return fig


WALL = "wall-clock (s)"
CPU = "CPU time fitting and scoring<br>(s, summed over workers)"


def time_figure(table: pd.DataFrame, labels: dict[str, str] | None = None) -> go.Figure:
    """Per method, side by side: the wall-clock seconds the run took, then the CPU seconds its
    models spent fitting and scoring, summed over its workers (more than the wall clock when
    several worked at once); medians over seeds. Nothing timed yet: no axes at all."""
    title = "Time per method"
    timed = table[table["wall_seconds"].notna()] if len(table) else table
    if timed.empty:
        return empty_figure(title, "No finished trials yet.")
    # Names on lines of their own, level: in a 900 px window Plotly would tilt and cut them
    # ("Ba…") under the legend.
    names = [wrap((labels or {}).get(m, m), 16) for m in timed["method"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=timed["wall_seconds"], name=WALL, marker_color="#7f7f7f",
                         hovertemplate="%{x}<br>wall clock %{y:.1f} s<extra></extra>"))  # fmt: skip
    fig.add_trace(go.Bar(x=names, y=timed["fit_seconds"], name=CPU, marker_color="#1f77b4",
                         hovertemplate="%{x}<br>CPU fitting and scoring %{y:.1f} s"
                         "<extra></extra>"))  # fmt: skip
    seeds = int(timed["seeds_timed"].max()) if "seeds_timed" in timed else 1
    note = f"median over {seeds} seeds" if seeds > 1 else "one seed"
    base_layout(fig, title, "", "seconds", height=420)
    # The legend at the figure's foot, under names of up to three lines
    fig.update_layout(barmode="group", title_subtitle_text=note, margin=dict(t=80, b=130),
                      legend=LEGENDS["foot"])  # fmt: skip
    fig.update_yaxes(rangemode="tozero")
    fig.update_xaxes(tickangle=0)
    return fig


def hypervolume_bars_figure(table: pd.DataFrame, labels: dict[str, str] | None = None) -> go.Figure:
    """Per method of a multi-objective race: the final hypervolume (median over seeds, a bar)
    with the worst and best seed (an error bar), and the front's size in the hover."""
    title = "Final hypervolume per method"
    done = table[table["hypervolume"].notna()] if len(table) else table
    if done.empty:
        return empty_figure(title, "No complete trials yet.")
    colors = method_colors(list(table["method"]))
    fig = go.Figure()
    for r in done.itertuples():
        name = esc((labels or {}).get(r.method, r.method))
        fig.add_trace(go.Bar(
            x=[name], y=[r.hypervolume], marker_color=colors[r.method], showlegend=False,
            error_y=dict(type="data", symmetric=False, array=[r.hv_high - r.hypervolume],
                         arrayminus=[r.hypervolume - r.hv_low], visible=r.seeds > 1),
            hovertemplate=(f"{name}<br>hypervolume %{{y:.4g}} (seeds: {r.hv_low:.4g} – "
                           f"{r.hv_high:.4g})<br>front: {r.front_size:.0f} trials<extra></extra>"),
        ))  # fmt: skip
    seeds = int(done["seeds"].max())
    note = f"median over {seeds} seeds, bars: worst to best seed" if seeds > 1 else "one seed"
    base_layout(fig, title, "", "hypervolume (greater is better)", height=380)
    fig.update_layout(title_subtitle_text=note, margin=dict(t=80))
    return fig
