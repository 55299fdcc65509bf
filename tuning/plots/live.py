"""The Live monitor's figures, built from tuning.analysis.Snapshot pieces at every refresh.

Every figure has a title, axis titles with units, the score's name and direction, and the same
colour for a trial state everywhere (STATE_COLORS). Payloads stay small as runs grow: SVG
traces built as plain dicts (tuning.plots.base, `live=True`), at most ~MAX_POINTS markers per
chart (all best-so-far improvements kept, a deterministic sample of the rest), learning curves
of ~40 trials only. The learning curves and importance are the Analysis page's own figures
(tuning.plots.figures), drawn in the live style.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tuning import analysis as an
from tuning.plots import pareto as pareto_plots
from tuning.plots.base import (
    SCATTER,
    empty_figure,
    esc,
    figure,
    fixed_margins,
    integer_axis,
    layout,
    pad_flat,
    spread_band,
    value_text,
    whiskers,
    wrap,
)
from tuning.plots.colors import BEST_COLOR, STATE_COLORS, STATE_ORDER
from tuning.plots.figures import importance_figure, learning_curves_figure

HOVER_WRAP = 70  # characters a line of a hover's origin sentence
FINISHED = ("complete", "pruned", "failed", "stopped")
PARTIAL = ("pruned", "failed", "stopped")  # finished without a score
MAX_POINTS = 1000  # markers per chart before sampling (SVG: each costs the browser time)
KEEP_RECENT = 50  # the newest trials are always drawn, so a live chart visibly moves
FEW_CURVES = 10  # up to this many learning curves get one colour and legend entry each
IMPORTANCE_TITLE = "Which settings matter"  # short: it must fit half of a 900 px window
NO_CURVES = "No intermediate scores yet"
NO_CURVES_MO = "No learning curves: Optuna keeps no per-fold scores of multi-objective trials"


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
    """'trial 12<br>n_estimators=187, max_depth=23' per row ('trial 0 · library defaults<br>...'
    where the trial's origin was recorded). Finished trials never change, so their text is
    kept in `cache` (one dict per run, owned by the run's LiveRun). The param_* and origin
    columns are read from `params` (default: df), only for rows not in the cache."""
    params = df if params is None else params
    cols = [c for c in params.columns if c.startswith("param_")]
    names = [c[len("param_") :] for c in cols]
    why = "origin_text" in params.columns  # where each trial came from, as a last line
    cache = {} if cache is None else cache
    numbers = df["number"].to_numpy()
    finished = df["state"].isin(FINISHED).to_numpy()
    todo = [i for i, n in enumerate(numbers) if int(n) not in cache]
    fresh: dict[int, str] = {}
    if todo:
        index = df.index[todo]
        rows = params.loc[index, cols].to_numpy(dtype=object) if cols else [()] * len(todo)
        origins = params.loc[index, "origin_text"].tolist() if why else [None] * len(todo)
        for i, r, origin in zip(todo, rows, origins, strict=True):
            parts = [
                f"{n}={value_text(v)}" for n, v in zip(names, r, strict=True) if not _missing(v)
            ]
            fresh[i] = f"trial {int(numbers[i])}<br>" + esc(", ".join(parts))
            if isinstance(origin, str) and origin:
                fresh[i] += "<br>" + wrap(origin, HOVER_WRAP)
            if finished[i]:
                cache[int(numbers[i])] = fresh[i]
    return [fresh[i] if i in fresh else cache[int(n)] for i, n in enumerate(numbers)]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


# -- scores ----------------------------------------------------------------------------------
def score_points(df: pd.DataFrame, hover_cache: dict[int, str] | None = None) -> pd.DataFrame:
    """The scored trials to draw (sampled past MAX_POINTS, every improvement kept), with hover.
    Only scores (tuning.analysis.scored): a pruned or stopped trial's running mean is not one."""
    cols = [c for c in ("number", "state", "value", "cv_std", "best_so_far", "t_end") if c in df]
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
    """The drawn points by state (each complete one with whiskers of ± its fold std), the
    best-so-far line in a band of ± the best's fold std, and what was left out (the subtitle):
    a jump smaller than the CV noise looks like noise."""
    # Plain arrays from here: per-state masks on numpy are much cheaper than on the frame.
    xs = pts[x].to_numpy(dtype=float) if len(pts) else np.empty(0)
    keep = ~np.isnan(xs)
    if not keep.any():
        return empty_figure(title, "No scored trials yet", xtitle, score_title, live=True)
    xs, ys = xs[keep], pts["value"].to_numpy(dtype=float)[keep]
    states = pts["state"].to_numpy(dtype=object)[keep]
    hover = np.asarray(pts["hover"].tolist(), dtype=str)[keep]  # fixed-width: one memcpy to copy
    std = _column(pts, "cv_std")[keep]
    data = []
    if len(best_df):
        bx, best = best_df[x].to_numpy(), best_df["best"].to_numpy(dtype=float)
        data += spread_band(bx, best, _column(best_df, "std"))
    data += _state_markers(xs, ys, states, hover, counts, std)
    if len(best_df):
        data.append(
            {
                "type": SCATTER, "x": bx, "y": best, "mode": "lines",
                "line": {"color": BEST_COLOR, "width": 2, "shape": "hv"},
                "name": "best so far", "hovertemplate": "best so far %{y:.4f}<extra></extra>",
            }
        )  # fmt: skip
    subtitle = _left_out(len(xs), n_scored, counts)
    lay = fixed_margins(layout(title, xtitle, score_title, subtitle=subtitle, live=True))
    pad_flat(lay["yaxis"], ys)
    if x == "number":
        integer_axis(lay["xaxis"], xs)
    return figure(data, lay, live=True)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A float column, NaN where the frame has none (a run read before fold std was kept)."""
    if name in frame:
        return frame[name].to_numpy(dtype=float)
    return np.full(len(frame), np.nan)


def _state_markers(
    xs: np.ndarray, ys: np.ndarray, states: np.ndarray, hover: np.ndarray, counts: dict[str, int],
    std: np.ndarray | None = None,
) -> list[dict]:  # fmt: skip
    """One marker trace per trial state, in the state's colour; pruned trials as an ×; complete
    trials with whiskers of ± their fold std (`std`)."""
    data = []
    for state in STATE_ORDER:
        mask = states == state
        if not mask.any():
            continue
        trace = {
            "type": SCATTER, "x": xs[mask], "y": ys[mask], "mode": "markers",
            "name": f"{state} ({int(counts.get(state, 0)):,})",
            "marker": {
                "color": state_color(state), "size": 7, "opacity": 0.8,
                "symbol": "x" if state == "pruned" else "circle",
            },
            "text": hover[mask],
            "hovertemplate": f"%{{text}}<br>score %{{y:.4f}}<extra>{state}</extra>",
        }  # fmt: skip
        if state == "complete" and std is not None and np.isfinite(std[mask]).any():
            trace["error_y"] = whiskers(std[mask])
        data.append(trace)
    return data


def _left_out(n_drawn: int, n_scored: int, counts: dict[str, int]) -> str | None:
    """The subtitle: which scored trials the sample left out, and that cut-short trials have
    no score to draw."""
    notes = []
    if n_drawn < n_scored:
        notes.append(
            f"{n_drawn:,} of {n_scored:,} scored trials drawn: "
            "every new best, the newest and an even sample"
        )
    partial = sum(int(counts.get(s, 0)) for s in PARTIAL)
    if partial:
        notes.append(f"{partial:,} pruned, stopped or failed not drawn: cut short, no score")
    return "<br>".join(notes) or None


def score_by_trial(
    df: pd.DataFrame, score_title: str, points: pd.DataFrame | None = None
) -> go.Figure:
    """Each trial's score against its number, with the best-so-far line (a step line)."""
    points = score_points(df) if points is None else points
    best_df = pd.DataFrame(columns=["number", "best", "std"])
    if len(df) and df["best_so_far"].notna().any():
        imp = df[improvements(df)]
        std = list(_column(imp, "cv_std"))
        best_df = pd.DataFrame(
            {
                "number": [*imp["number"], df["number"].max()],
                "best": [*imp["best_so_far"], imp["best_so_far"].iloc[-1]],
                "std": [*std, std[-1]],
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
    best_df = pd.DataFrame(columns=["t_end", "best", "std"])
    ended = an.best_by_end(df, direction) if len(df) else pd.DataFrame(columns=["best"])
    ended = ended[ended["best"].notna()]
    if len(ended):
        changed = ended["best"].ne(ended["best"].shift())
        # the row where the best changes is the trial that set it: its own fold std
        std = list(_column(df.loc[ended.index[changed.to_numpy()]], "cv_std"))
        best_df = pd.DataFrame(
            {
                "t_end": [*ended.loc[changed, "end_s"], df["t_end"].max()],
                "best": [*ended.loc[changed, "best"], ended["best"].iloc[-1]],
                "std": [*std, std[-1]],
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
                 live=True, showlegend=False)  # fmt: skip
    lay["yaxis"]["autorange"] = "reversed"
    integer_axis(lay["xaxis"], [0, *bars["x"]])
    lay["xaxis"]["showticklabels"] = False  # each bar prints its count; ticks crowd a narrow column
    return figure([bars], lay, live=True)


def importance_bars(imp: an.Importance, disagreement: str = "") -> go.Figure:
    """The Analysis page's importance figure, titled for a glance: which evaluator over how
    many trials, and which other evaluator orders the parameters differently (Analysis says
    why)."""
    # Short lines: half of a 900 px window cuts a long title, subtitle or axis title.
    subtitle = f"{esc(imp.label)} importance<br>over {imp.n_complete:,} complete trials"
    if disagreement:
        subtitle += "<br>" + wrap(f"⚠ {disagreement} (see Analysis)", 34)
    return importance_figure(imp, IMPORTANCE_TITLE, subtitle, live=True,
                             x_title="share of total")  # fmt: skip


def learning_curves(snap: Any) -> go.Figure:
    """The Analysis page's learning-curves figure over the best and the newest trials: up to
    FEW_CURVES in a colour of their own each (e.g. a learning-rate sweep)."""
    best_number = int(snap.best["number"]) if snap.best else None
    few = len(snap.curves) <= FEW_CURVES
    subtitle = None if few else f"{len(snap.curves)} trials: the best and the most recent"
    empty = NO_CURVES_MO if snap.front is not None else NO_CURVES
    return learning_curves_figure(
        snap.curves, snap.step_label, snap.score_title, best_number, subtitle=subtitle,
        empty=empty, few=FEW_CURVES, live=True,
    )  # fmt: skip


class LiveFigures(dict):
    """The Live monitor's figures for one refresh, by chart key, each built when the page first
    asks for it: the score chart is sent to the browser before the other figures are built.
    `key in figs` says whether the refresh has that figure (built or not)."""

    def __init__(self, snap: Any, hover_cache: dict[int, str] | None = None) -> None:
        super().__init__()
        self.snap, self.hover_cache = snap, hover_cache
        self.points: pd.DataFrame | None = None  # one sample, shared by both score charts
        self.keys_ = ["by_trial", "by_time", "curves", "states"]
        if snap.importance is not None:
            self.keys_.append("importance")
        if snap.front is not None:
            self.keys_ += ["front", "hypervolume"]
            if len(snap.front.objectives) >= 3:
                self.keys_ += ["parallel_front", "pairwise_fronts"]

    def __contains__(self, key: object) -> bool:
        return key in self.keys_

    def __missing__(self, key: str) -> go.Figure:
        snap = self.snap
        if key not in self.keys_:
            raise KeyError(key)
        if key in ("by_trial", "by_time") and self.points is None:
            self.points = score_points(snap.df, self.hover_cache)
        if key == "by_trial":
            fig = score_by_trial(snap.df, snap.score_title, self.points)
        elif key == "by_time":
            fig = score_by_time(snap.df, snap.score_title, snap.direction, self.points)
        elif key == "curves":
            fig = learning_curves(snap)
        elif key == "states":
            fig = state_bars(snap.counts)
        elif key == "importance":
            other = snap.disagreement.short if snap.disagreement else ""
            fig = importance_bars(snap.importance, other)
        else:  # a front's figures are made together
            self.update(front_figures(snap.front, snap.df))
            return dict.__getitem__(self, key)
        self[key] = fig
        return fig


def live_figures(snap: Any, hover_cache: dict[int, str] | None = None) -> dict[str, go.Figure]:
    """Every figure the Live monitor draws for one refresh, by chart key, all built."""
    figs = LiveFigures(snap, hover_cache)
    return {key: figs[key] for key in figs.keys_}


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


WARM_COLOR, COLD_COLOR = "#d62728", "#7f7f7f"


def warm_cold_figure(curve: pd.DataFrame, score_title: str, cold_name: str) -> go.Figure:
    """A warm-started run's best so far beside a cold run's (same search, no warm start), by
    trial count, each with a band of ± the fold spread of the trial that holds it."""
    data: list[dict] = []
    for col, name, color, band in (
        ("cold", f"cold run ({cold_name})", COLD_COLOR, "rgba(127, 127, 127, 0.18)"),
        ("warm", "this run (warm start)", WARM_COLOR, "rgba(214, 39, 40, 0.15)"),
    ):
        part = curve.dropna(subset=[col])
        bands = spread_band(part["trials"], part[col], part[f"{col}_std"],
                            name=f"± fold std ({col})", color=band)  # fmt: skip
        for b in bands:
            b["legendgroup"] = col
        data += bands
        data.append({"type": SCATTER, "x": part["trials"], "y": part[col], "mode": "lines",
                     "name": name, "legendgroup": col,
                     "line": {"shape": "hv", "color": color, "width": 2}})  # fmt: skip
    lay = layout("Best so far: warm start against a cold run", "Trials", score_title, live=True,
                 height=300)  # fmt: skip
    lay["xaxis"] = integer_axis(dict(lay.get("xaxis") or {}), curve["trials"])
    return figure(data, lay, live=True)
