"""Plotly figures of the Learn page, built from `tuning.learn` and `tuning.landscapes`.

The landscape is a heatmap in which a brighter colour is always a better score; points are the
method's trials. Log-scaled hyperparameters get log axes. Arrays travel as float32 typed arrays,
so a figure with four heatmaps stays small. Subplot titles are short labels (a few words): side
by side in a narrow window longer ones ran into each other.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tuning.learn import search as learn
from tuning.learn.landscapes import FIDELITY_STEPS, HEAT_POINTS, Landscape
from tuning.learn.search import MethodRun
from tuning.plots.base import base_layout
from tuning.plots.colors import BEST_COLOR, STATE_COLORS

NEXT_COLOR = "#e41a1c"  # red: the point about to be sampled
GUESS_COLOR = "#ff00ff"
OPT_COLOR = "#ffffff"
METHOD_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
BRACKET_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf")  # no orange: stopped
# Generations: light, distinct colours with a dark outline, readable on the Viridis heatmap.
GEN_COLORS = ("#ff7f0e", "#17becf", "#e377c2", "#ffffff", "#bcbd22", "#1f77b4", "#d62728",
              "#8c564b", "#7f7f7f", "#9467bd")  # fmt: skip


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def shown_scores(land: Landscape, z: np.ndarray) -> tuple[np.ndarray, str]:
    """What the heatmap colours by: the score, or log10(1 + gap to the optimum) for landscapes
    whose valley is invisible on a linear scale (Rosenbrock, Himmelblau)."""
    if land.log_color:
        return np.log10(1 + np.abs(z - land.best)), f"log10(1 + {land.score_label} − best)"
    return z, land.score_label


def _reversed(land: Landscape) -> bool:
    # Bright = good: reverse the scale where lower is better (or where the gap is shown).
    return not land.maximize or land.log_color


def heatmap(land: Landscape, n: int = HEAT_POINTS, showscale: bool = True, **kw: Any) -> go.Heatmap:
    xs, ys, z = land.surface(n)
    shown, title = shown_scores(land, z)
    return go.Heatmap(
        x=_f32(xs), y=_f32(ys), z=_f32(shown), colorscale="Viridis", reversescale=_reversed(land),
        showscale=showscale, colorbar=dict(title=dict(text=title, side="right"), thickness=12),
        hovertemplate=f"{land.x.name}=%{{x:.4g}}<br>{land.y.name}=%{{y:.4g}}<br>"
        f"{title}=%{{z:.4g}}<extra></extra>", **kw,
    )  # fmt: skip


def _optimum(land: Landscape, showlegend: bool = True) -> go.Scatter:
    ox, oy = zip(*land.optima[:8], strict=True)
    return go.Scatter(
        x=list(ox), y=list(oy), mode="markers", name="optimum",
        marker=dict(symbol="star", size=15, color=OPT_COLOR, line=dict(color="black", width=1)),
        showlegend=showlegend, legendgroup="optimum",
        hovertemplate=f"best possible: {land.best:.4g}<extra></extra>",
    )  # fmt: skip


def _points(run: MethodRun, upto: int, showlegend: bool = True) -> list:
    """The trials so far as two traces: complete (white) and stopped early (orange rings).

    Two traces with one colour and symbol each, and numbers only in the arrays: Plotly
    validates per-point strings one by one.
    """
    xs, ys = run.xy(upto)
    pruned = np.array([t.state.name == "PRUNED" for t in run.trials[:upto]], dtype=bool)
    number = np.arange(1, len(xs) + 1, dtype=np.int32)
    out = []
    for mask, name, symbol, color in ((~pruned, "trials", "circle", "white"),
                                      (pruned, "stopped early", "circle-open",
                                       STATE_COLORS["pruned"])):  # fmt: skip
        out.append(go.Scatter(
            x=_f32(xs[mask]), y=_f32(ys[mask]), customdata=number[mask], mode="markers",
            name=name, legendgroup=name,
            showlegend=showlegend and (name == "trials" or bool(mask.any())),
            marker=dict(size=8, color=color, symbol=symbol, line=dict(color="black", width=1)),
            hovertemplate=f"trial %{{customdata}}{' (stopped early)' if symbol != 'circle' else ''}"
            "<br>(%{x:.4g}, %{y:.4g})<extra></extra>",
        ))  # fmt: skip
    return out


def _next(run: MethodRun, t: int, showlegend: bool = True) -> go.Scatter:
    xs, ys = run.xy(t + 1)
    return go.Scatter(
        x=[float(xs[t])], y=[float(ys[t])], customdata=[t + 1], mode="markers",
        name=f"trial {t + 1} (next)", showlegend=showlegend, legendgroup="next",
        marker=dict(symbol="circle-open", size=18, color=NEXT_COLOR, line=dict(width=3)),
        hovertemplate="trial %{customdata}: (%{x:.4g}, %{y:.4g})<extra></extra>",
    )  # fmt: skip


def _axis_style(axis) -> dict:
    style: dict[str, Any] = {"title_text": axis.name, "range": _range(axis)}
    if axis.log:
        style["type"] = "log"
        if axis.high / axis.low >= 100:  # powers of ten only: 2s and 5s crowd a small plot
            style.update(dtick=1, exponentformat="power")
    return style


def _axes(fig: go.Figure, land: Landscape, **kw: Any) -> None:
    fig.update_xaxes(**_axis_style(land.x), constrain="domain", **kw)
    fig.update_yaxes(**_axis_style(land.y), **kw)


def _outer_titles(fig: go.Figure, land: Landscape) -> None:
    """Axis titles only on the left column's y axes: beside a neighbour's tick labels, an inner
    panel's title ran into them in a narrow window."""
    fig.update_yaxes(title_text=None)
    fig.update_yaxes(title_text=land.y.name, col=1)


def _range(axis) -> list[float]:
    if axis.log:
        return [float(np.log10(axis.low)), float(np.log10(axis.high))]
    return [axis.low, axis.high]


def _below(fig: go.Figure, title: str, height: int, **kw: Any) -> go.Figure:
    """Layout with the legend under the plot, clear of the subplot titles."""
    return base_layout(fig, title, height=height + 40,
                   legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0.0),
                   margin=dict(l=60, r=20, t=70, b=100), **kw)  # fmt: skip


def search_figure(land: Landscape, runs: list[MethodRun], labels: list[str],
                  short: list[str], t: int) -> go.Figure:  # fmt: skip
    """The methods side by side on the landscape at trial `t` (1-based): each method's trials
    1..t, and trial t ringed. At most two subplots a row, under short titles (the full label is
    in their hover), so four methods stay readable in a narrow window."""
    m = len(runs)
    cols = min(m, 2)
    rows = math.ceil(m / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=short, horizontal_spacing=0.08,
                        vertical_spacing=0.14 if rows > 1 else 0.0)  # fmt: skip
    for ann, label in zip(fig.layout.annotations, labels, strict=True):
        ann.hovertext = label
    legend: set[str] = set()  # each legend entry once, from the first subplot that has it
    for i, (run, label) in enumerate(zip(runs, labels, strict=True)):
        at = dict(row=i // cols + 1, col=i % cols + 1)
        heat = heatmap(land, HEAT_POINTS, showscale=i == m - 1, name=label)
        heat.hovertemplate = f"{label}<br>{heat.hovertemplate}"
        heat.colorbar.len = 1.0 / rows if rows > 1 else 1.0
        fig.add_trace(heat, **at)
        fig.add_trace(_optimum(land, showlegend=i == 0), **at)
        for trace in (*_points(run, min(t, run.n_trials)), _latest(run, t)):
            trace.showlegend = trace.showlegend and trace.name not in legend
            if trace.showlegend:
                legend.add(trace.name)
            fig.add_trace(trace, **at)
    _axes(fig, land, showgrid=False, zeroline=False)
    _outer_titles(fig, land)
    fig.update_xaxes(title_text=None)
    fig.update_xaxes(title_text=land.x.name, row=rows)
    fig = _below(fig, f"Trial {t}: where each method has sampled so far", height=300 * rows + 110)
    # The legend just under the last row's axis title (in pixels of the plot area's height).
    return fig.update_layout(legend_y=-60 / (300 * rows - 20))


def _latest(run: MethodRun, t: int) -> go.Scatter:
    """The method's trial t ringed in red (its last trial where it ran fewer than t)."""
    k = min(t, run.n_trials)
    trace = _next(run, k - 1)
    trace.name = "the trial shown"
    return trace


def _regret(run: MethodRun, land: Landscape) -> list[float | None]:
    return [None if b is None else max(land.regret(b), 1e-6) for b in run.best_so_far()]


def regret_figure(land: Landscape, runs: list[MethodRun], labels: list[str]) -> go.Figure:
    """Regret of the best so far, by trial (top) and by budget steps spent (bottom), where a
    method that stops trials early is not judged on less compute; a dashed line at the
    smallest budget any method spent, where the summary table compares them."""
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.2, subplot_titles=(
        "by trial", "by budget steps spent"))  # fmt: skip
    for run, label, color in zip(runs, labels, METHOD_COLORS, strict=False):
        reg = _regret(run, land)
        for row, xs, unit in ((1, list(range(1, len(reg) + 1)), "trial"),
                              (2, run.budget_spent(), "steps")):  # fmt: skip
            fig.add_trace(go.Scatter(
                x=xs, y=reg, mode="lines+markers", name=label, legendgroup=label,
                showlegend=row == 1, line=dict(shape="hv", color=color), marker=dict(size=4),
                hovertemplate=f"{label}<br>{unit} %{{x}}: regret %{{y:.4g}}<extra></extra>",
            ), row=row, col=1)  # fmt: skip
    same = learn.same_budget(runs)
    fig.add_vline(x=same, line=dict(dash="dash", color="#999999", width=1), row=2, col=1,
                  annotation_text=f"same budget: {same}", annotation_position="top left")  # fmt: skip
    fig.update_yaxes(type="log", dtick=1, title_text="regret (log)")  # powers of ten only
    fig.update_xaxes(title_text="trial", row=1, col=1)
    fig.update_xaxes(
        title_text=f"budget steps spent (a full trial is {FIDELITY_STEPS})", row=2, col=1
    )
    return _below(fig, "Regret of the best score so far (lower is better)", height=560)


# -- what drives each choice ---------------------------------------------------------------
def _base(fig: go.Figure, land: Landscape, run: MethodRun, t: int, row: int = 1, col: int = 1,
          points: bool = True, heat: bool = True) -> None:  # fmt: skip
    first = row == 1 and col == 1
    if heat:
        fig.add_trace(heatmap(land, HEAT_POINTS, showscale=False, opacity=0.85), row=row, col=col)
    fig.add_trace(_optimum(land, showlegend=first), row=row, col=col)
    if points:
        for trace in _points(run, t, showlegend=first):
            fig.add_trace(trace, row=row, col=col)
    fig.add_trace(_next(run, t, showlegend=first), row=row, col=col)


def _density(xs, ys, z, name: str, scale: str = "Blues") -> go.Heatmap:
    # A smoothed heatmap, not a contour plot: contours cost the browser far more to draw.
    return go.Heatmap(x=_f32(xs), y=_f32(ys), z=_f32(z), colorscale=scale, showscale=False,
                      zsmooth="best", name=name,
                      hovertemplate=f"{name}=%{{z:.3g}}<extra></extra>")  # fmt: skip


def internals_figure(run: MethodRun, t: int) -> go.Figure:
    """What drove the method's choice of trial t (0-based): the state it had after trials
    0..t-1, and the point it chose (red ring)."""
    land, name = run.land, run.method
    if name == "tpe":
        d = learn.tpe_densities(run, t)
        if d is not None:
            return _tpe(run, t, d)
    if name == "gp":
        d = learn.gp_surrogate(run, t)
        if d is not None:
            return _gp(run, t, d)
    if name in ("hyperband", "successive_halving", "median"):
        return _fidelity(run, t)
    fig = make_subplots(rows=1, cols=1)
    _base(fig, land, run, t, points=name != "nsga2")  # the genetic algorithm's: by generation
    title = f"Trial {t + 1}: where it samples next"
    if name == "grid":
        title = _lattice(fig, run, t)
    elif name == "cmaes":
        title = _cmaes_state(fig, run, t)
    elif name == "nsga2":
        title = _generations(fig, run, t) or title
    _axes(fig, land)
    return _below(fig, title, height=460)


def _lattice(fig: go.Figure, run: MethodRun, t: int) -> str:
    """Grid search: every lattice point, fixed in advance; the title says the order is fixed."""
    lx, ly = zip(*run.lattice, strict=True)
    fig.add_trace(go.Scatter(
        x=list(lx), y=list(ly), mode="markers", name="the lattice (every trial, fixed in advance)",
        marker=dict(symbol="x-thin", size=9, line=dict(width=1.5, color="#dddddd")),
        hoverinfo="skip",
    ))  # fmt: skip
    return f"Trial {t + 1}: the next lattice point, in a fixed order"


def _cmaes_state(fig: go.Figure, run: MethodRun, t: int) -> str:
    """CMA-ES: its search distribution (1σ and 2σ ellipses, the mean) and the generation's
    members so far; before it has one, the title says the trial is a random start."""
    d = learn.cmaes_distribution(run, t)
    if d is None:
        return f"Trial {t + 1}: a random start, before CMA-ES has a distribution"
    members = set(d["members"])
    for k, dash in ((1, "solid"), (2, "dot")):
        ex, ey = d["ellipses"][k]
        fig.add_trace(go.Scatter(x=_f32(ex), y=_f32(ey), mode="lines",
                                 name=f"{k}σ of the search distribution",
                                 line=dict(color=NEXT_COLOR, dash=dash, width=2),
                                 hoverinfo="skip"))  # fmt: skip
    fig.add_trace(go.Scatter(
        x=[d["mean"][0]], y=[d["mean"][1]], mode="markers", name="mean",
        marker=dict(symbol="cross", size=12, color=NEXT_COLOR),
    ))  # fmt: skip
    xs, ys = run.xy(t)
    idx = [i for i in range(t) if i in members]
    if idx:
        fig.add_trace(go.Scatter(
            x=_f32(xs[idx]), y=_f32(ys[idx]), mode="markers", name="this generation so far",
            marker=dict(size=10, color="#ffd92f", line=dict(color="black", width=1)),
        ))  # fmt: skip
    return f"Trial {t + 1}: drawn from generation {d['generation'] + 1}'s distribution"


def _generations(fig: go.Figure, run: MethodRun, t: int) -> str | None:
    """The genetic algorithm: the trials so far, one colour per generation; the title names
    trial t's generation (None when it has none)."""
    gens = learn.generations(run)
    xs, ys = run.xy(t)
    for g in sorted({gens[i] for i in range(t) if gens[i] is not None}):
        idx = [i for i in range(t) if gens[i] == g]
        fig.add_trace(go.Scatter(
            x=_f32(xs[idx]), y=_f32(ys[idx]), mode="markers", name=f"generation {g + 1}",
            marker=dict(size=10, color=GEN_COLORS[g % len(GEN_COLORS)],
                        line=dict(color="black", width=1)),
        ))  # fmt: skip
    g = gens[t]
    return f"Trial {t + 1}: a child in generation {g + 1}" if g is not None else None


def _tpe(run: MethodRun, t: int, d: dict) -> go.Figure:
    land = run.land
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.06, subplot_titles=(
        f"l(x): best {len(d['good'])}", f"g(x): other {len(d['bad'])}", "l/g: high = next"))  # fmt: skip
    xs, ys = run.xy(t)
    good, bad = d["good"], d["bad"]
    panels = ((np.exp(d["log_l"]), "l(x)", "Greens"), (np.exp(d["log_g"]), "g(x)", "Reds"),
              (d["log_l"] - d["log_g"], "log l/g", "Viridis"))  # fmt: skip
    for col, (z, name, scale) in enumerate(panels, start=1):
        fig.add_trace(_density(d["xs"], d["ys"], z, name, scale), row=1, col=col)
        fig.add_trace(go.Scatter(x=_f32(xs[good]), y=_f32(ys[good]), mode="markers",
                                 name="good trials", showlegend=col == 1, legendgroup="good",
                                 marker=dict(color=BEST_COLOR, size=9, line=dict(color="white", width=1))),
                      row=1, col=col)  # fmt: skip
        fig.add_trace(go.Scatter(x=_f32(xs[bad]), y=_f32(ys[bad]), mode="markers",
                                 name="other trials", showlegend=col == 1, legendgroup="bad",
                                 marker=dict(color=STATE_COLORS["failed"], size=7, symbol="x")),
                      row=1, col=col)  # fmt: skip
        fig.add_trace(_next(run, t, showlegend=col == 1), row=1, col=col)
    _axes(fig, land)
    _outer_titles(fig, land)
    return _below(fig, f"Trial {t + 1}: TPE's good and bad densities from the {t} trials before",
                   height=430)  # fmt: skip


def _gp(run: MethodRun, t: int, d: dict) -> go.Figure:
    land = run.land
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.06, subplot_titles=(
        "mean: guess", "std: doubt", "EI: high = next"))  # fmt: skip
    panels = ((d["mean"], "mean", "Viridis" if land.maximize else "Viridis_r"),
              (d["std"], "std", "Greys"), (d["ei"], "EI", "Magma"))  # fmt: skip
    for col, (z, name, scale) in enumerate(panels, start=1):
        fig.add_trace(_density(d["xs"], d["ys"], z, name, scale), row=1, col=col)
        for trace in _points(run, t, showlegend=col == 1):
            fig.add_trace(trace, row=1, col=col)
        fig.add_trace(_next(run, t, showlegend=col == 1), row=1, col=col)
    _axes(fig, land)
    _outer_titles(fig, land)
    return _below(fig, f"Trial {t + 1}: a Gaussian process fitted to the {t} trials before",
                   height=430)  # fmt: skip


def _fidelity(run: MethodRun, t: int) -> go.Figure:
    """Left: the landscape (trials stopped early drawn hollow). Right: every trial's score by
    budget spent; a cross where a trial was stopped; dashed lines at the rungs."""
    land = run.land
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14, column_widths=[0.45, 0.55],
                        subplot_titles=("the landscape", "score by budget spent"))  # fmt: skip
    _base(fig, land, run, t)
    fig.update_xaxes(**_axis_style(land.x), row=1, col=1)
    fig.update_yaxes(**_axis_style(land.y), row=1, col=1)
    brackets = run.brackets or [None] * run.n_trials
    shown: set = set()
    for tr in run.trials[:t]:
        steps = sorted(tr.intermediate_values)
        vals = [tr.intermediate_values[s] for s in steps]
        b = brackets[tr.number]
        color = (
            BRACKET_COLORS[b % len(BRACKET_COLORS)] if b is not None else STATE_COLORS["complete"]
        )
        group = f"bracket {b + 1}" if b is not None else "trials"
        pruned = tr.state.name == "PRUNED"
        fig.add_trace(go.Scatter(
            x=steps, y=_f32(vals), mode="lines", line=dict(color=color, width=1.2),
            name=group, legendgroup=group, showlegend=b is not None and group not in shown,
            legendrank=1000 + (b or 0),
            hovertemplate=f"trial {tr.number + 1}" + (f", {group}" if b is not None else "")
            + "<br>step %{x}: %{y:.4g}<extra></extra>",
        ), row=1, col=2)  # fmt: skip
        shown.add(group)
        if pruned:
            fig.add_trace(go.Scatter(x=[steps[-1]], y=[vals[-1]], mode="markers", showlegend=False,
                                     marker=dict(symbol="x", size=8, color=STATE_COLORS["pruned"]),
                                     hoverinfo="skip"), row=1, col=2)  # fmt: skip
    for r in learn.rungs(run):
        fig.add_vline(x=r, line=dict(dash="dash", color="#999999", width=1), row=1, col=2)
    fig.update_xaxes(title_text=f"budget steps (of {FIDELITY_STEPS})", type="log", row=1, col=2,
                     tickvals=learn.rungs(run) or [1, 3, 9, FIDELITY_STEPS])  # fmt: skip
    fig.update_yaxes(title_text=land.score_label, row=1, col=2)
    spent = sum(run.steps()[:t])
    title = (f"Trial {t + 1}: {sum(tr.state.name == 'PRUNED' for tr in run.trials[:t])} of {t} "
             f"trials stopped early; {spent} of {t * FIDELITY_STEPS} budget steps spent")  # fmt: skip
    return _below(fig, title, height=430)


def guess_figure(run: MethodRun, t: int, guess: tuple[float, float] | None,
                 reveal: bool) -> go.Figure:  # fmt: skip
    land = run.land
    fig = go.Figure()
    fig.add_trace(heatmap(land, HEAT_POINTS, showscale=False))
    fig.add_traces(_points(run, t))
    if guess is not None:
        fig.add_trace(go.Scatter(x=[guess[0]], y=[guess[1]], mode="markers", name="your guess",
                                 marker=dict(symbol="x", size=16, color=GUESS_COLOR,
                                             line=dict(width=2, color="white"))))  # fmt: skip
    if reveal:
        fig.add_trace(_next(run, t))
        if guess is not None:
            xs, ys = run.xy(t + 1)
            fig.add_trace(go.Scatter(x=[guess[0], float(xs[t])], y=[guess[1], float(ys[t])],
                                     mode="lines", showlegend=False, hoverinfo="skip",
                                     line=dict(color=GUESS_COLOR, dash="dot")))  # fmt: skip
    _axes(fig, land)
    return _below(fig, f"Trials 1–{t} so far: where will trial {t + 1} be?", height=440)  # fmt: skip
