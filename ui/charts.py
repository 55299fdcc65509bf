"""Plotly figures built from the Live monitor's data (tuning.analysis.Snapshot pieces).

Every figure has a title, axis titles with units, the score's name and direction, and the same
colour for a trial state everywhere (STATE_COLORS). Payloads stay small as runs grow: SVG
traces, at most ~MAX_POINTS markers per chart (all best-so-far improvements kept,
a deterministic sample of the rest), learning curves of ~40 trials only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tuning import analysis as an
from tuning.plots import pareto as pareto_plots
from tuning.plots.colors import BEST_COLOR, STATE_COLORS, STATE_ORDER
from ui import text

FINISHED = ("complete", "pruned", "failed", "stopped")
PARTIAL = ("pruned", "failed", "stopped")  # finished without a score
TRIAL_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#ff7f0e", "#7f7f7f",
)  # fmt: skip
MAX_POINTS = 1000  # markers per chart before sampling (SVG: each costs the browser time)
KEEP_RECENT = 50  # the newest trials are always drawn, so a live chart visibly moves
FEW_CURVES = 10  # up to this many learning curves get one colour and legend entry each
HEIGHT = 380
VALIDATE = False  # plotly property validation on the live path (tests turn it on)
# SVG, not WebGL (scattergl): at <= MAX_POINTS markers SVG draws a chart in ~0.1 s, while each
# WebGL chart costs ~0.4 s to set up in a browser without a GPU (software GL), and the page's
# first look waited for all of them.
SCATTER = "scatter"


def state_color(state: str) -> str:
    return STATE_COLORS.get(state, "#7f7f7f")


# -- data reduction --------------------------------------------------------------------------
def improvements(df: pd.DataFrame) -> pd.Series:
    """Boolean mask of complete trials that set a new best (needs a best_so_far column)."""
    best = df["best_so_far"]
    changed = best.ne(best.shift()) & best.notna()
    return changed & (df["state"] == "complete")


def sample(
    df: pd.DataFrame, keep: pd.Series | None = None, max_points: int = MAX_POINTS
) -> pd.DataFrame:
    """At most ~max_points rows: every `keep` row, the newest trials, and every k-th trial number.

    k is a power of two, so the sample is deterministic and changes only when the run doubles:
    points do not jump around between refreshes.
    """
    if len(df) <= max_points:
        return df
    stride = 2 ** math.ceil(math.log2(len(df) / max_points))
    mask = (df["number"] % stride == 0) | (df["number"] >= df["number"].max() - KEEP_RECENT)
    if keep is not None:
        mask |= keep
    return df[mask]


def hover_texts(
    df: pd.DataFrame, cache: dict[int, str] | None = None, params: pd.DataFrame | None = None
) -> list[str]:
    """'trial 12<br>n_estimators=187, max_depth=23' per row. Finished trials never change, so
    their text is kept in `cache` (one dict per run, owned by the run's LiveRun). The param_*
    columns are read from `params` (default: df), only for rows not in the cache."""
    params = df if params is None else params
    cols = [c for c in params.columns if c.startswith("param_")]
    names = [c[len("param_") :] for c in cols]
    cache = {} if cache is None else cache
    numbers = df["number"].to_numpy()
    finished = df["state"].isin(FINISHED).to_numpy()
    todo = [i for i, n in enumerate(numbers) if int(n) not in cache]
    fresh: dict[int, str] = {}
    if todo:
        index = df.index[todo]
        rows = params.loc[index, cols].to_numpy(dtype=object) if cols else [()] * len(todo)
        for i, r in zip(todo, rows, strict=True):
            parts = [
                f"{n}={text.value(v)}" for n, v in zip(names, r, strict=True) if not _missing(v)
            ]
            fresh[i] = f"trial {int(numbers[i])}<br>" + _safe(", ".join(parts))
            if finished[i]:
                cache[int(numbers[i])] = fresh[i]
    return [fresh[i] if i in fresh else cache[int(n)] for i, n in enumerate(numbers)]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _safe(s: str) -> str:
    """Plotly renders a few HTML tags in labels: show user text (choices) literally."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def layout(
    title: str, x: str, y: str, height: int = HEIGHT, subtitle: str | None = None, **extra: Any
) -> dict:
    """Title (and subtitle, lines split by <br>) on top, then the legend in a row of its own,
    then the plot."""
    extra_lines = (subtitle or "").count("<br>")
    return {
        "title": {
            "text": title, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top",
            "subtitle": {"text": subtitle or ""},
        },
        "xaxis": {"title": {"text": x}},
        "yaxis": {"title": {"text": y}},
        "height": height + extra_lines * 18 + (20 if subtitle else 0),
        "margin": {"l": 10, "r": 10, "t": (100 if subtitle else 80) + extra_lines * 18, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        "uirevision": "keep",  # keep zoom and legend toggles across live refreshes
        "hovermode": "closest",
        **extra,
    }  # fmt: skip


def fixed_margins(lay: dict) -> dict:
    """Margins given here instead of measured by Plotly (automargin): an automargin chart is
    laid out, measured and drawn again, up to twice the browser's work for each chart. Numeric
    tick labels of scores and steps fit in these margins."""
    for axis in ("xaxis", "yaxis"):
        lay[axis]["automargin"] = False
        lay[axis]["title"]["standoff"] = 6
    lay["margin"] = {**lay["margin"], "l": 76, "b": 50}
    return lay


def figure(data: list[dict], layout: dict) -> go.Figure:
    """One constructor call per figure. Validation is off on the live path (it costs more than
    building the data); tests rebuild every figure with validation on."""
    return go.Figure(data=data, layout=layout, _validate=VALIDATE)


def empty_figure(message: str, lay: dict) -> go.Figure:
    lay["annotations"] = [
        {"text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}
    ]
    lay["xaxis"]["showticklabels"] = False
    lay["yaxis"]["showticklabels"] = False
    return figure([], lay)


# -- figures ---------------------------------------------------------------------------------
def score_points(df: pd.DataFrame, hover_cache: dict[int, str] | None = None) -> pd.DataFrame:
    """The scored trials to draw (sampled past MAX_POINTS, every improvement kept), with hover.
    Only scores (tuning.analysis.scored): a pruned or stopped trial's running mean is not one."""
    cols = [c for c in ("number", "state", "value", "best_so_far", "t_end") if c in df]
    base = df[cols]  # copy only what is drawn, not every column of every trial
    shown = base[an.scored(base)] if len(df) else base
    if not len(shown):
        return shown.assign(hover=[])
    pts = sample(shown, improvements(shown) if "best_so_far" in shown else None)
    return pts.assign(hover=hover_texts(pts, hover_cache, params=df))


def _score_scatter(
    pts: pd.DataFrame, n_scored: int, counts: dict[str, int], x: str, xtitle: str, title: str,
    score_title: str, best_df: pd.DataFrame,
) -> go.Figure:  # fmt: skip
    # Plain arrays from here: per-state masks on numpy are much cheaper than on the frame.
    xs = pts[x].to_numpy(dtype=float) if len(pts) else np.empty(0)
    keep = ~np.isnan(xs)
    if not keep.any():
        return empty_figure("No scored trials yet", fixed_margins(layout(title, xtitle, score_title)))
    xs, ys = xs[keep], pts["value"].to_numpy(dtype=float)[keep]
    states = pts["state"].to_numpy(dtype=object)[keep]
    hover = np.asarray(pts["hover"].tolist(), dtype=str)[keep]  # fixed-width: one memcpy to copy
    data = []
    for state in STATE_ORDER:
        mask = states == state
        if not mask.any():
            continue
        data.append(
            {
                "type": SCATTER,
                "x": xs[mask],
                "y": ys[mask],
                "mode": "markers",
                "name": f"{state} ({int(counts.get(state, 0)):,})",
                "marker": {
                    "color": state_color(state), "size": 7, "opacity": 0.8,
                    "symbol": "x" if state == "pruned" else "circle",
                },
                "text": hover[mask],
                "hovertemplate": f"%{{text}}<br>score %{{y:.4f}}<extra>{state}</extra>",
            }
        )  # fmt: skip
    if len(best_df):
        data.append(
            {
                "type": SCATTER,
                "x": best_df[x].to_numpy(),
                "y": best_df["best"].to_numpy(dtype=float),
                "mode": "lines",
                "line": {"color": BEST_COLOR, "width": 2, "shape": "hv"},
                "name": "best so far",
                "hovertemplate": "best so far %{y:.4f}<extra></extra>",
            }
        )
    notes = []
    if len(xs) < n_scored:
        notes.append(
            f"{len(xs):,} of {n_scored:,} scored trials drawn: "
            "every new best, the newest and an even sample"
        )
    partial = sum(int(counts.get(s, 0)) for s in PARTIAL)
    if partial:
        notes.append(f"{partial:,} pruned, stopped or failed not drawn: cut short, no score")
    subtitle = "<br>".join(notes) or None
    lay = fixed_margins(layout(title, xtitle, score_title, subtitle=subtitle))
    finite = ys[np.isfinite(ys)]
    if len(finite) and finite.min() == finite.max():
        # Plotly pads a flat series by +-0.5 or more, so an accuracy of 0.95 showed on an axis up
        # to 1.5; keep the axis near the one value instead.
        pad = max(abs(float(finite[0])) * 0.01, 0.01)
        lay["yaxis"]["range"] = [float(finite[0]) - pad, float(finite[0]) + pad]
    return figure(data, lay)


def score_by_trial(
    df: pd.DataFrame, score_title: str, points: pd.DataFrame | None = None
) -> go.Figure:
    """Each trial's score against its number, with the best-so-far line (a step line)."""
    points = score_points(df) if points is None else points
    best_df = pd.DataFrame(columns=["number", "best"])
    if len(df) and df["best_so_far"].notna().any():
        imp = df[improvements(df)]
        best_df = pd.DataFrame(
            {
                "number": [*imp["number"], df["number"].max()],
                "best": [*imp["best_so_far"], imp["best_so_far"].iloc[-1]],
            }
        )
    return _score_scatter(
        points, _n_scored(df), _counts(df), "number", "trial number", "Score of every trial",
        score_title, best_df,
    )  # fmt: skip


def score_by_time(
    df: pd.DataFrame, score_title: str, direction: str, points: pd.DataFrame | None = None
) -> go.Figure:
    """Each trial's score against when it finished (seconds since the run started)."""
    points = score_points(df) if points is None else points
    best_df = pd.DataFrame(columns=["t_end", "best"])
    ended = an.best_by_end(df, direction) if len(df) else pd.DataFrame(columns=["best"])
    ended = ended[ended["best"].notna()]
    if len(ended):
        changed = ended["best"].ne(ended["best"].shift())
        best_df = pd.DataFrame(
            {
                "t_end": [*ended.loc[changed, "end_s"], df["t_end"].max()],
                "best": [*ended.loc[changed, "best"], ended["best"].iloc[-1]],
            }
        )
    return _score_scatter(
        points, _n_scored(df), _counts(df), "t_end", "elapsed time (s)", "Score over time",
        score_title, best_df,
    )  # fmt: skip


def _n_scored(df: pd.DataFrame) -> int:
    return int(an.scored(df).sum()) if len(df) else 0


def _counts(df: pd.DataFrame) -> dict[str, int]:
    return df["state"].value_counts().to_dict() if len(df) else {}


def _curve_trace(c: Any, name: str, color: str, width: float, markers: bool) -> dict:
    return {
        "type": SCATTER,
        "x": c.steps,
        "y": c.values,
        "mode": "lines+markers" if markers else "lines",
        "name": name,
        "line": {"color": color, "width": width},
        "marker": {"size": 5, "color": color},
        "hovertemplate": f"trial {c.number}<br>step %{{x}}<br>score %{{y:.4f}}<extra>{c.state}</extra>",
    }


NO_CURVES_MO = (
    "Optuna keeps no per-fold scores of multi-objective trials, so there are no learning curves"
)


def learning_curves(
    curves: list,
    step_label: str,
    score_title: str,
    best_number: int | None,
    empty: str = "No intermediate scores yet",
) -> go.Figure:
    """Intermediate scores per fold/epoch/round; pruned trials end in an orange ×.

    Up to FEW_CURVES curves get a colour and legend entry each (e.g. a learning-rate sweep);
    more are grouped by state into one trace each (gaps between trials) to keep the payload small.
    """
    title = "Learning curves"
    if not curves:
        return empty_figure(empty, layout(title, step_label, score_title))
    data = []
    if len(curves) <= FEW_CURVES:
        for i, c in enumerate(curves):
            star = " ★ best" if c.number == best_number else ""
            name = _safe(f"#{c.number} {text.params(c.params, 3)}{star}")
            color = TRIAL_PALETTE[i % len(TRIAL_PALETTE)]
            data.append(_curve_trace(c, name, color, 3 if star else 2, markers=True))
    else:
        for state in STATE_ORDER:
            group = [c for c in curves if c.state == state and c.number != best_number]
            if not group:
                continue
            xs, ys, nums = _joined(group)
            data.append(
                {
                    "type": SCATTER, "x": xs, "y": ys, "customdata": nums, "mode": "lines",
                    "name": f"{state} ({len(group)})", "opacity": 0.6,
                    "line": {"color": state_color(state), "width": 1.5},
                    "hovertemplate": "trial %{customdata}<br>step %{x}<br>score %{y:.4f}"
                    f"<extra>{state}</extra>",
                }
            )  # fmt: skip
        for c in curves:
            if c.number == best_number:
                data.append(_curve_trace(c, f"best trial (#{c.number})", BEST_COLOR, 3, False))
    data.extend(_end_markers(curves))
    few = len(curves) <= FEW_CURVES
    subtitle = None if few else f"{len(curves)} trials: the best and the most recent"
    lay = fixed_margins(layout(title, step_label, score_title, subtitle=subtitle))
    if few:  # long per-trial names: legend under the plot, one per line
        lay["legend"] = {"orientation": "v", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0}
        lay["height"] = HEIGHT + 22 * (len(curves) + 1)
        lay["margin"] = {**lay["margin"], "t": 60}
    if max(max(c.steps) for c in curves) <= 20:
        lay["xaxis"]["dtick"] = 1
    return figure(data, lay)


def _joined(curves: Iterable) -> tuple[list, list, list]:
    xs: list = []
    ys: list = []
    nums: list = []
    for c in curves:
        xs.extend([*c.steps, None])
        ys.extend([*c.values, None])
        nums.extend([c.number] * (len(c.steps) + 1))
    return xs, ys, nums


def _end_markers(curves: list) -> list[dict]:
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


def importance_bars(
    values: dict[str, float], n_complete: int, method: str, disagreement: str = ""
) -> go.Figure:
    """Horizontal bars, most important on top; `method` names the evaluator, `disagreement`
    says which other evaluator orders the parameters differently (Analysis says why)."""
    title = "Which hyperparameters matter"
    subtitle = f"{method} importance over {n_complete:,} complete trials"
    if disagreement:
        subtitle += f"<br>⚠ {_safe(disagreement)} (see Analysis)"
    x_title = "importance (share of the total, sums to 1)"
    if not values:
        return empty_figure("Not enough variation to rank parameters",
                      layout(title, x_title, "", subtitle=subtitle))  # fmt: skip
    items = sorted(values.items(), key=lambda kv: kv[1])
    bars = {
        "type": "bar",
        "x": [v for _, v in items],
        "y": [_safe(k) for k, _ in items],
        "orientation": "h",
        "marker": {"color": STATE_COLORS["complete"]},
        "hovertemplate": "%{y}: %{x:.3f}<extra></extra>",
    }
    height = max(220, 80 + 36 * len(items))
    return figure([bars], layout(title, x_title, "hyperparameter", height=height,
                                 subtitle=subtitle, showlegend=False))  # fmt: skip


def state_bars(counts: dict[str, int]) -> go.Figure:
    """How many trials are in each state, in the state colours."""
    states = [s for s in STATE_ORDER if counts.get(s)] + [s for s in counts if s not in STATE_ORDER]
    bars = {
        "type": "bar",
        "x": [counts[s] for s in states],
        "y": states,
        "orientation": "h",
        "marker": {"color": [state_color(s) for s in states]},
        "text": [f"{counts[s]:,}" for s in states],
        "textposition": "auto",
        "hovertemplate": "%{y}: %{x} trials<extra></extra>",
    }
    lay = layout("Trial states", "trials", "", height=max(180, 90 + 34 * len(states)),
                 showlegend=False)  # fmt: skip
    lay["yaxis"]["autorange"] = "reversed"
    return figure([bars], lay)


def live_figures(snap: Any, hover_cache: dict[int, str] | None = None) -> dict[str, go.Figure]:
    """Every figure the Live monitor draws for one refresh, by chart key."""
    best_number = int(snap.best["number"]) if snap.best else None
    points = score_points(snap.df, hover_cache)  # one sample, shared by both score charts
    figs = {
        "by_trial": score_by_trial(snap.df, snap.score_title, points),
        "by_time": score_by_time(snap.df, snap.score_title, snap.direction, points),
        "curves": learning_curves(
            snap.curves, snap.step_label, snap.score_title, best_number,
            **({"empty": NO_CURVES_MO} if snap.front is not None else {}),
        ),  # fmt: skip
        "states": state_bars(snap.counts),
    }
    if snap.importance is not None:
        imp = snap.importance
        other = snap.disagreement.short if snap.disagreement else ""
        figs["importance"] = importance_bars(imp.shares(), imp.n_complete, imp.label, other)
    if snap.front is not None:
        figs.update(front_figures(snap.front, snap.df))
    return figs


def front_figures(front: Any, df: pd.DataFrame) -> dict[str, go.Figure]:
    """A multi-objective run's figures (an FrontView): the front of the score against the
    first cost, the hypervolume history, and for 3+ objectives the front across all of them."""
    obj = front.objectives
    cache = front.hover_cache
    figs = {
        "front": pareto_plots.front_figure(front.points, obj, obj[1].name, obj[0].name,
                                           front.numbers, df, front.chosen, cache),
        "hypervolume": pareto_plots.hypervolume_figure(
            front.history, front.reference, obj, reference_trials=front.reference_trials
        ),
    }  # fmt: skip
    if len(obj) >= 3:
        figs["parallel_front"] = pareto_plots.parallel_front_figure(
            front.points, obj, front.numbers, front.chosen
        )
        figs["pairwise_fronts"] = pareto_plots.pairwise_fronts_figure(
            front.points, obj, front.numbers, front.chosen
        )
    return figs
