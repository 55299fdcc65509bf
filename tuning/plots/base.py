"""What every figure shares: escaping, value text, the one layout, the one empty figure.

Two kinds of page draw the same figures. The Live monitor redraws its charts at every refresh
(`live=True`): plain-dict traces built without Plotly's property validation, no template
(Streamlit applies its theme), zoom and legend toggles kept across refreshes, the legend at
the left under the title. Analysis and the report draw them once (`live=False`): the report's
template, the legend at the right above the plot. Every string that can come from a user (run
and parameter names, values) goes through `esc`, because Plotly renders labels as HTML.
"""

from __future__ import annotations

import html
import textwrap
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

HEIGHT = 420  # Analysis and report figures
LIVE_HEIGHT = 380  # the Live monitor's charts, two to a row
EMPTY_HEIGHT = 240
WRAP = 34  # characters a line of an empty figure's message: a Live column at 900 px
INTEGER_SPAN = 100  # integer_axis sets the step up to this span  # a static figure with nothing to draw needs no room for a plot
TEMPLATE = "plotly_white"
VALIDATE = False  # Plotly's property validation of dict-built figures (tests turn it on)
# SVG, not WebGL (scattergl), for every chart the Live monitor redraws: at <= MAX_POINTS
# markers SVG draws a chart in ~0.1 s, while each WebGL chart costs ~0.4 s to set up in a
# browser without a GPU (software GL).
SCATTER = "scatter"
LEGENDS = {
    "right": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1.0},
    "left": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    # under the plot, where it cannot cover a long title in a narrow column
    "below": {"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0.0},
    # at the figure's foot, whatever the plot's size: the bottom margin makes its room
    "foot": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.01,
             "xanchor": "left", "x": 0.0},
}


def esc(text: Any) -> str:
    """Escape a user-controlled string for Plotly (labels render as HTML)."""
    return html.escape(str(text), quote=True)


def value_text(v: Any) -> str:
    """A hyperparameter value as a user would type it."""
    if v is None:
        return "None"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}" if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5) else f"{v:.6g}"
    return str(v)


def params_text(p: dict[str, Any], limit: int = 6) -> str:
    """'n_estimators=120, max_depth=7, …' (at most `limit` parameters; not escaped)."""
    items = [f"{k}={value_text(v)}" for k, v in list(p.items())[:limit]]
    if len(p) > limit:
        items.append("…")
    return ", ".join(items)


# -- the one layout -------------------------------------------------------------------------------
def layout(
    title: str, x: str | None = None, y: str | None = None, *, height: int | None = None,
    subtitle: str | None = None, live: bool = False, legend: str | dict | None = None,
    **extra: Any,
) -> dict:  # fmt: skip
    """Every figure's layout as a dict: the title at the top left (and a subtitle under it),
    margins that make room for the title's lines, the axis titles (None: no title set), the
    height, and the legend in a row of its own: `legend` "left" (the Live monitor's default),
    "right" (Analysis and the report's), "below", or a dict of its own. `extra` is merged in
    (dicts one level deep: `yaxis=dict(rangemode="tozero")` keeps the axis title)."""
    place = legend if legend is not None else ("left" if live else "right")
    if place == "below":
        lay = _frame_below(title, subtitle, height)
    elif live:
        lay = _frame_live(title, subtitle, height)
    else:
        lay = _frame_static(title, subtitle, height)
    lay["legend"] = dict(LEGENDS[place]) if isinstance(place, str) else place
    if live:
        lay["uirevision"] = "keep"  # keep zoom and legend toggles across live refreshes
        lay["hovermode"] = "closest"
    for key, text in (("xaxis", x), ("yaxis", y)):
        if text is not None:
            lay[key] = {"title": {"text": text}}
    for k, v in extra.items():
        lay[k] = {**lay[k], **v} if isinstance(v, dict) and isinstance(lay.get(k), dict) else v
    return lay


def _frame_live(title: str, subtitle: str | None, height: int | None) -> dict:
    """A Live monitor chart: the subtitle (lines split by <br>) under the title, the plot
    growing with it so that it keeps its height."""
    extra_lines = (subtitle or "").count("<br>")
    return {
        "title": {
            "text": title, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top",
            "subtitle": {"text": subtitle or ""},
        },
        "height": (height or LIVE_HEIGHT) + extra_lines * 18 + (20 if subtitle else 0),
        "margin": {"l": 10, "r": 10, "t": (100 if subtitle else 80) + extra_lines * 18, "b": 10},
    }  # fmt: skip


def _frame_static(title: str, subtitle: str | None, height: int | None) -> dict:
    """An Analysis or report figure: a subtitle is smaller lines of the title (split by <br>),
    the top margin growing with them."""
    lines = subtitle.split("<br>") if subtitle else []
    text = "<br>".join([title, *(f"<sup>{line}</sup>" for line in lines)])
    return {
        # Anchored at the top: centred in the margin, three subtitle lines reach the plot.
        "title": {"text": text, "x": 0.01, "xanchor": "left", "y": 1, "yanchor": "top",
                  "pad": {"t": 14}},
        "height": (height or HEIGHT) + 16 * max(0, len(lines) - 1),
        "margin": {"l": 60, "r": 20, "t": (70 if lines else 60) + 16 * max(0, len(lines) - 1),
                   "b": 50},
    }  # fmt: skip


def _frame_below(title: str, subtitle: str | None, height: int | None) -> dict:
    """A figure whose legend sits under the plot: the title is laid out from the top down, so
    that a title of several lines fills the margin made for it."""
    text = f"{title}<br><sup>{subtitle}</sup>" if subtitle else title
    return {
        "title": {"text": text, "x": 0.01, "xanchor": "left", "yref": "container", "y": 1.0,
                  "yanchor": "top", "pad": {"t": 12}},
        "height": height or HEIGHT,
        "margin": {"l": 60, "r": 20, "t": 50 + 22 * text.count("<br>"), "b": 100},
    }  # fmt: skip


def fixed_margins(lay: dict) -> dict:
    """Margins given here instead of measured by Plotly (automargin): an automargin chart is
    laid out, measured and drawn again, up to twice the browser's work for each chart. Numeric
    tick labels of scores and steps fit in these margins."""
    for axis in ("xaxis", "yaxis"):
        lay.setdefault(axis, {}).setdefault("title", {})
        lay[axis]["automargin"] = False
        lay[axis]["title"]["standoff"] = 6
    lay["margin"] = {**lay["margin"], "l": 76, "b": 50}
    return lay


def pad_flat(axis: dict, values: Any) -> None:
    """An axis over one repeated value: Plotly pads it by +-0.5 or more (an accuracy of 0.95
    drawn on an axis up to 1.5); keep the axis near the value instead."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if len(finite) and finite.min() == finite.max():
        pad = max(abs(float(finite[0])) * 0.01, 0.01)
        axis["range"] = [float(finite[0]) - pad, float(finite[0]) + pad]


def integer_axis(axis: dict, values: Any = ()) -> dict:
    """Ticks at whole numbers only, for trial numbers, counts, epochs and folds: over a short
    range Plotly's own ticks fall at 0.5 and 1.5. Up to INTEGER_SPAN the step is set (1, 2, 5,
    10 or 20: at most 8 ticks over the values' span); past it Plotly's steps are whole anyway."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    span = float(finite.max() - finite.min()) if len(finite) else 0.0
    axis["tickformat"] = ",d"
    if span <= INTEGER_SPAN:
        axis["tick0"] = 0
        axis["dtick"] = next(d for d in (1, 2, 5, 10, 20) if span / d <= 8)
    return axis


def seconds_axis(axis: dict) -> dict:
    """An axis of seconds whose ticks carry their unit: '200µs', '15ms', '2s' (Plotly's SI
    suffixes alone read '200µ', which says nothing about time)."""
    axis["tickformat"] = "~s"
    axis["ticksuffix"] = "s"
    return axis


def plain_axis(axis: dict) -> dict:
    """An axis of a measure with a unit of its own (ms per 1,000 rows, a spread): plain numbers,
    never an SI suffix that would multiply the unit ('200µ' ms)."""
    axis["tickformat"] = "~g"
    axis["exponentformat"] = "none"
    return axis


def spread_band(
    x: Any, center: Any, std: Any, name: str = "± fold std",
    color: str = "rgba(214, 39, 40, 0.15)", shape: str = "hv",
) -> list[dict]:
    """A band of ± the fold standard deviation around a line (the best so far): two traces,
    the lower edge and the upper one filled down to it, so that a step smaller than the CV
    noise looks like noise. A missing std (one fold) counts as 0."""
    center = np.asarray(center, dtype=float)
    std = np.nan_to_num(np.asarray(std, dtype=float))
    edge = {"type": SCATTER, "x": x, "mode": "lines", "legendgroup": "spread", "name": name,
            "line": {"width": 0, "shape": shape, "color": color}}  # fmt: skip
    return [
        {**edge, "y": center - std, "showlegend": False, "hoverinfo": "skip"},
        {**edge, "y": center + std, "fill": "tonexty", "fillcolor": color, "legendrank": 1001,
         "customdata": std, "hovertemplate": "± %{customdata:.4f} (fold std)<extra></extra>"},
    ]  # fmt: skip


def whiskers(std: Any, color: str = "rgba(60, 60, 60, 0.35)") -> dict:
    """error_y of ± each trial's fold standard deviation (a missing std draws none)."""
    return {"type": "data", "array": np.nan_to_num(np.asarray(std, dtype=float)),
            "visible": True, "color": color, "thickness": 1, "width": 0}  # fmt: skip


def figure(
    data: list[dict], lay: dict, live: bool = False, validate: bool | None = None
) -> go.Figure:
    """One constructor call per figure from plain dicts. Validation is off by default (on the
    live path it costs more than building the data; tests turn it on); a static figure gets the
    template, the same object as every other static figure's (the report shares it)."""
    fig = go.Figure(data=data, layout=lay, _validate=VALIDATE if validate is None else validate)
    if not live:  # the Template itself: without validation, a template's name stays a string
        fig.layout.template = pio.templates[TEMPLATE]
    return fig


def base_layout(
    fig: go.Figure, title: str, x: str | None = None, y: str | None = None,
    height: int | None = None, *, live: bool = False, **kw: Any,
) -> go.Figure:  # fmt: skip
    """`layout` applied to a figure built from Plotly's objects or subplots: the axis titles go
    to every x (y) axis of its subplots."""
    fig.update_layout(layout(title, height=height, live=live, **kw))
    if not live:
        fig.update_layout(template=TEMPLATE)
    if x is not None:
        fig.update_xaxes(title_text=x)
    if y is not None:
        fig.update_yaxes(title_text=y)
    return fig


def wrap(message: str, width: int = WRAP) -> str:
    """A message escaped and broken into lines of at most `width` characters (Plotly never
    wraps an annotation: a long one is cut by the figure's edges in a narrow column)."""
    return "<br>".join(esc(line) for line in textwrap.wrap(str(message), width, break_on_hyphens=False)) or esc(message)


def empty_figure(
    title: str, message: str, x: str | None = None, y: str | None = None, *,
    live: bool = False, subtitle: str | None = None, height: int | None = None,
) -> go.Figure:  # fmt: skip
    """A figure with nothing to draw yet, saying why. A live chart keeps its place and look
    until data comes: its axis titles and fixed margins, tick labels hidden. A static one
    hides its axes and is short."""
    if not live and height is None:
        height = EMPTY_HEIGHT
    lay = layout(title, x, y, height=height, subtitle=subtitle, live=live)
    lay["annotations"] = [
        {"text": wrap(message), "showarrow": False, "xref": "paper", "yref": "paper",
         "x": 0.5, "y": 0.5}
    ]  # fmt: skip
    if live:
        for axis in ("xaxis", "yaxis"):
            lay.setdefault(axis, {})["showticklabels"] = False
        fixed_margins(lay)
    else:
        lay["xaxis"], lay["yaxis"] = {"visible": False}, {"visible": False}
    return figure([], lay, live)


__all__ = [
    "HEIGHT", "LIVE_HEIGHT", "TEMPLATE", "SCATTER", "esc", "value_text", "params_text",
    "layout", "base_layout", "fixed_margins", "pad_flat", "figure", "empty_figure",
    "integer_axis", "seconds_axis", "plain_axis", "spread_band", "whiskers",
]  # fmt: skip
