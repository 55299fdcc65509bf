"""The figure of a replayed trial (tuning.analysis.replay): what the sampler knew when it
proposed the trial, over one or two of its parameters, the others held at the trial's values.

One panel per layer of the picture, whatever the sampler (TPE's densities and their ratio, the
GP's mean, uncertainty and acquisition, CMA-ES's search distribution): a line over one
parameter, a heatmap over two. Each layer's kind picks its colours, so a new sampler's layers
need nothing here. The trials the sampler knew are points grouped by the picture's marks
(good and other trials, generations); the replayed trial is a star. Subplot titles are wrapped
short: three panels side by side in a narrow window ran into each other.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tuning.analysis.replay import Layer, Picture
from tuning.plots.base import base_layout, esc, value_text
from tuning.plots.colors import BEST_COLOR, STATE_COLORS

SCALES = {  # a layer's kind -> its heatmap colours (bright = where the sampler looks)
    "good": "Greens", "bad": "Reds", "ratio": "Viridis", "acquisition": "Magma",
    "mean": "Viridis", "std": "Greys", "density": "Blues",
}  # fmt: skip
LINES = {  # a layer's kind -> its line colour over one parameter
    "good": BEST_COLOR, "bad": STATE_COLORS["failed"], "ratio": "#440154",
    "acquisition": "#b5367a", "mean": "#21918c", "std": "#555555", "density": "#1f77b4",
}  # fmt: skip
MARKS = {  # a group of known trials -> (legend name, colour, symbol)
    "good": ("good trials", BEST_COLOR, "circle"),
    "bad": ("other trials", STATE_COLORS["failed"], "x"),
    "finished": ("finished trials", "#ffffff", "circle"),  # a model of them all (the GP's)
    "parents": ("its generation's parents", BEST_COLOR, "circle"),  # a genetic algorithm's
}
ON_TOP = ("good", "parents")  # drawn last (before the star): few, and what the sampler aims at
# Other groups (generations): light colours with a dark outline, readable on any scale.
GROUP_COLORS = ("#ff7f0e", "#17becf", "#e377c2", "#ffffff", "#bcbd22", "#1f77b4", "#9467bd")
ACTUAL_COLOR = "#ff00ff"  # magenta: stands out on every colour scale above
PLAIN = "#7f7f7f"  # a known trial in no group
ROW_HEIGHT = {1: 250, 2: 320}  # per row of panels, by the number of parameters drawn
MAX_COLS = 3
TITLE_CHARS = 16  # a subplot title's line (11 px font): three panels in 400 px (900 px window)


def replay_figure(picture: Picture, title: str,
                  ellipses: Mapping[str, tuple[Any, Any]] | None = None) -> go.Figure:  # fmt: skip
    """One panel per layer of `picture`, the known trials by their marks, the trial's own point
    as a star; `ellipses` (label -> (xs, ys) over the two drawn parameters): outlines drawn
    over each heatmap, such as CMA-ES's search distribution."""
    n = max(1, len(picture.layers))
    cols = min(n, MAX_COLS)
    rows = math.ceil(n / cols)
    titles = [short_title(lay.title, cols) for lay in picture.layers]
    two = len(picture.params) == 2
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles or None,
                        shared_yaxes=two,  # one parameter's ticks, not one per panel
                        horizontal_spacing=0.05 if two else 0.08,
                        vertical_spacing=0.22 if rows > 1 else 0.0)  # fmt: skip
    if not picture.layers:  # bred, not modelled (a genetic algorithm): where the trials lay
        for trace in _points_only(picture):
            fig.add_trace(trace, row=1, col=1)
        fig.update_yaxes(visible=two)
    for i, layer in enumerate(picture.layers):
        at = dict(row=i // cols + 1, col=i % cols + 1)
        first = i == 0
        traces = (_panel_2d(picture, layer, first, ellipses) if two
                  else _panel_1d(picture, layer, first))  # fmt: skip
        for trace in traces:
            fig.add_trace(trace, **at)
    _axes(fig, picture, rows)
    fig.update_annotations(font_size=11)
    height = ROW_HEIGHT[2 if two else 1] * rows + 150
    return base_layout(fig, title, height=height, legend="below",
                       margin=dict(l=60, r=20, t=75, b=110))  # fmt: skip


def short_title(text: str, cols: int = MAX_COLS) -> str:
    """A subplot title in lines short enough for its panel's width (escaped), broken after a
    colon first ("log l(x)/g(x):", "high = next")."""
    width = TITLE_CHARS * MAX_COLS // max(cols, 1)
    if len(text) <= width:
        return esc(text)
    head, colon, tail = text.partition(": ")
    lines = [head + ":", tail] if colon else []
    if not lines or max(map(len, lines)) > width:
        lines = textwrap.wrap(text, width)
    return "<br>".join(esc(line) for line in lines)


def shown(values: Sequence[Any], categorical: bool) -> list:
    """Values as an axis takes them: a categorical parameter's choices as their text."""
    return [value_text(v) for v in values] if categorical else [float(v) for v in values]


def _categorical(picture: Picture, k: int) -> bool:
    return picture.grids[k].dtype == object


def _finite(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=float)
    return np.where(np.isfinite(z), z, np.nan)


def _groups(picture: Picture) -> list[tuple[str, str, str, list[int]]]:
    """(legend name, colour, symbol, trial numbers) of each group of known trials drawn; the
    trials in no group last, grey."""
    out, placed = [], set()
    extra = 0
    for key, numbers in picture.marks.items():
        numbers = [t for t in numbers if t in picture.coords]
        if key in MARKS:
            name, color, symbol = MARKS[key]
        else:
            name, color, symbol = key, GROUP_COLORS[extra % len(GROUP_COLORS)], "diamond"
            extra += 1
        out.append((name, color, symbol, numbers))
        placed.update(numbers)
    rest = [t for t in picture.coords if t not in placed]
    if rest:
        out.append(("trials known then", PLAIN, "circle", rest))
    keys = [*picture.marks, "rest"][: len(out)]
    return [g for _, g in sorted(zip(keys, out, strict=True), key=lambda kg: kg[0] in ON_TOP)]


def _marker(color: str, symbol: str) -> dict:
    if symbol == "x":
        return dict(color=color, symbol=symbol, size=8, line=dict(color=color, width=1))
    outline = "white" if color == BEST_COLOR else "black"  # white: seen on dark greens
    return dict(color=color, symbol=symbol, size=10, line=dict(color=outline, width=1.5))


def _star(first: bool, x: list, y: list, trial_text: str) -> go.Scatter:
    return go.Scatter(
        x=x, y=y, mode="markers", name="the replayed trial", legendgroup="actual",
        showlegend=first, hovertemplate=f"{trial_text}<extra></extra>",
        marker=dict(symbol="star", size=17, color=ACTUAL_COLOR, line=dict(color="black", width=1)),
    )  # fmt: skip


def _panel_2d(picture: Picture, layer: Layer, first: bool,
              ellipses: Mapping[str, tuple[Any, Any]] | None) -> list:  # fmt: skip
    px, py = picture.params
    cx, cy = _categorical(picture, 0), _categorical(picture, 1)
    out: list = [go.Heatmap(
        x=shown(picture.grids[0], cx), y=shown(picture.grids[1], cy), z=_finite(layer.z),
        colorscale=SCALES.get(layer.kind, "Viridis"), showscale=False, zsmooth=False,
        name=esc(layer.title),
        hovertemplate=f"{esc(px)}=%{{x}}<br>{esc(py)}=%{{y}}<br>%{{z:.3g}}<extra></extra>",
    )]  # fmt: skip
    for label, (xs, ys) in (ellipses or {}).items():
        out.append(go.Scatter(x=list(xs), y=list(ys), mode="lines", name=esc(label),
                              legendgroup=f"ellipse {label}", showlegend=first,
                              line=dict(color=ACTUAL_COLOR, width=2), hoverinfo="skip"))  # fmt: skip
    for name, color, symbol, numbers in _groups(picture):
        pts = [(t, picture.coords[t]) for t in numbers if None not in picture.coords[t]]
        out.append(go.Scatter(
            x=shown([c[0] for _, c in pts], cx), y=shown([c[1] for _, c in pts], cy),
            customdata=[t for t, _ in pts], mode="markers", name=name, legendgroup=name,
            showlegend=first, marker=_marker(color, symbol),
            hovertemplate=f"trial %{{customdata}} ({name})<extra></extra>",
        ))  # fmt: skip
    ax, ay = picture.actual
    out.append(_star(first, shown([ax], cx), shown([ay], cy), "the replayed trial"))
    return out


def _on_line(picture: Picture, layer: Layer, value: Any) -> float:
    """The layer's value at a parameter value (interpolated on the grid; log-scaled where the
    axis is log), so that a trial's point sits on the line."""
    z = _finite(layer.z)
    grid = picture.grids[0]
    if _categorical(picture, 0):
        hits = [i for i, g in enumerate(grid) if g == value]
        return float(z[hits[0]]) if hits else float("nan")
    x = np.asarray(grid, dtype=float)
    if picture.log[0]:
        return float(np.interp(math.log(float(value)), np.log(x), z))
    return float(np.interp(float(value), x, z))


def _panel_1d(picture: Picture, layer: Layer, first: bool) -> list:
    p = picture.params[0]
    cat = _categorical(picture, 0)
    color = LINES.get(layer.kind, "#1f77b4")
    hover = f"{esc(p)}=%{{x}}<br>%{{y:.3g}}<extra></extra>"
    x, z = shown(picture.grids[0], cat), _finite(layer.z)
    # Choices have no order between them: bars, not a line through them.
    out: list = [go.Bar(x=x, y=z, name=esc(layer.title), showlegend=False, marker_color=color,
                        opacity=0.45, hovertemplate=hover) if cat else
                 go.Scatter(x=x, y=z, mode="lines", name=esc(layer.title), showlegend=False,
                            line=dict(color=color, width=2), hovertemplate=hover)]  # fmt: skip
    for name, color_, symbol, numbers in _groups(picture):
        pts = [(t, picture.coords[t][0]) for t in numbers if picture.coords[t][0] is not None]
        out.append(go.Scatter(
            x=shown([v for _, v in pts], cat), y=[_on_line(picture, layer, v) for _, v in pts],
            customdata=[t for t, _ in pts], mode="markers", name=name, legendgroup=name,
            showlegend=first, marker=_marker(color_, symbol),
            hovertemplate=f"trial %{{customdata}} ({name})<extra></extra>",
        ))  # fmt: skip
    a = picture.actual[0]
    out.append(_star(first, shown([a], cat), [_on_line(picture, layer, a)], "the replayed trial"))
    return out


def _axes(fig: go.Figure, picture: Picture, rows: int) -> None:
    """Log axes where a parameter is log-scaled (powers of ten where it spans a hundredfold),
    choices in their order; axis titles on the outer panels only."""
    for k, axis in enumerate((fig.update_xaxes, fig.update_yaxes)[: len(picture.params)]):
        style: dict[str, Any] = {"showgrid": False}
        if _categorical(picture, k):
            style["type"] = "category"
        elif picture.log[k]:
            style["type"] = "log"
            grid = np.asarray(picture.grids[k], dtype=float)
            decades = math.log10(grid.max() / grid.min()) if len(grid) else 0.0
            if decades >= 2:  # at most four powers of ten: three panels share 900 px
                style.update(dtick=max(1, math.ceil(decades / 3)), exponentformat="power",
                             tickangle=0)  # fmt: skip
        axis(**style)
    fig.update_xaxes(title_text=esc(picture.params[0]), row=rows)
    if len(picture.params) == 2:
        fig.update_yaxes(title_text=esc(picture.params[1]), col=1)


def _points_only(picture: Picture) -> list:
    """The known trials by their marks and the replayed trial, over one parameter (on a line)
    or two, for a sampler with nothing to draw under them."""
    two = len(picture.params) == 2
    cats = [_categorical(picture, k) for k in range(len(picture.params))]
    out: list = []
    for name, color, symbol, numbers in _groups(picture):
        pts = [(t, picture.coords[t]) for t in numbers if None not in picture.coords[t]]
        out.append(go.Scatter(
            x=shown([c[0] for _, c in pts], cats[0]),
            y=shown([c[1] for _, c in pts], cats[1]) if two else [0.0] * len(pts),
            customdata=[t for t, _ in pts], mode="markers", name=name, legendgroup=name,
            marker=_marker(color, symbol),
            hovertemplate=f"trial %{{customdata}} ({name})<extra></extra>",
        ))  # fmt: skip
    a = picture.actual
    out.append(_star(True, shown([a[0]], cats[0]), shown([a[1]], cats[1]) if two else [0.0],
                     "the replayed trial"))  # fmt: skip
    return out
