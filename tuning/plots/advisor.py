"""The stop advisor's chart: what further trials can still gain against the CV noise, over
trials (tuning.analysis.advisor.Advice), with the trial where the advisor stops marked."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from tuning.analysis.advisor import Advice, Rule
from tuning.plots.base import (
    LEGENDS,
    SCATTER,
    empty_figure,
    esc,
    figure,
    fixed_margins,
    integer_axis,
    layout,
    plain_axis,
)

TITLE = "Is it worth going on?"
GAIN_COLOR = "#1f77b4"
NOISE_COLOR = "rgba(90, 90, 90, 0.9)"
STOP_COLOR = "#2ca02c"


PLATEAU_NAME = "gain of the best over the last trials"
RECENT_COLOR = "#ff7f0e"


def gain_name(advice: Advice) -> str:
    """What the gain line is, by the rule that drew it."""
    if advice.rule == Rule.REGRET:
        return "bound on what further trials can gain"
    return PLATEAU_NAME


def advisor_figure(advice: Advice, live: bool = True, height: int | None = None) -> go.Figure:
    """The gain (regret bound and the best's recent gain, or the plateau rule's recent gain)
    and the CV noise at each checkpoint, in score units, against the trial number; the stop
    trial as a vertical line."""
    y_title = f"{advice.label} (score units)"
    if not advice.points:
        return empty_figure(TITLE, advice.sentence, "trial", y_title, live=live, height=height)
    pts = advice.points
    x = [p.trial for p in pts]
    gain = [p.gain for p in pts]
    noise = [p.noise if p.noise is not None else 0.0 for p in pts]
    hover = "trial %{x} (%{customdata} complete): %{y:.4g}<extra>%{fullData.name}</extra>"
    custom = [p.n for p in pts]
    data: list[dict[str, Any]] = [
        {"type": SCATTER, "x": x, "y": gain, "mode": "lines+markers", "name": gain_name(advice),
         "line": {"color": GAIN_COLOR, "width": 2}, "customdata": custom,
         "hovertemplate": hover},
        {"type": SCATTER, "x": x, "y": noise, "mode": "lines", "name": "CV noise of the best",
         "line": {"color": NOISE_COLOR, "dash": "dash"}, "customdata": custom,
         "hovertemplate": hover},
    ]  # fmt: skip
    if advice.rule == Rule.REGRET:  # the rule's second test: the plateau (execution/advisor.py)
        data.insert(1, {
            "type": SCATTER, "x": x, "y": [p.recent for p in pts], "mode": "lines+markers",
            "name": PLATEAU_NAME, "line": {"color": RECENT_COLOR, "width": 2},
            "marker": {"symbol": "diamond"}, "customdata": custom, "hovertemplate": hover,
        })  # fmt: skip
    lines = "either line stays" if advice.rule == Rule.REGRET else "the line stays"
    subtitle = esc(f"{advice.rule.value} rule: stop when {lines} under the noise")
    lay = layout(TITLE, "trial", y_title, height=height, subtitle=subtitle, live=live)
    if advice.stop is not None:
        lay["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": advice.stop.trial,
                          "x1": advice.stop.trial, "y0": 0, "y1": 1,
                          "line": {"color": STOP_COLOR, "dash": "dot", "width": 2}}]  # fmt: skip
        lay["annotations"] = [{"x": advice.stop.trial, "y": 1, "xref": "x", "yref": "paper",
                               "text": f"stop at trial {advice.stop.trial}", "showarrow": False,
                               "xanchor": "left", "yanchor": "top",
                               "font": {"color": STOP_COLOR}}]  # fmt: skip
    integer_axis(lay["xaxis"], x)
    plain_axis(lay["yaxis"])
    lay["yaxis"]["rangemode"] = "tozero"
    if live:
        fixed_margins(lay)
    # The legend at the figure's foot, a line per name where the column is narrow: above the
    # plot, its three names would cover the subtitle in a 900 px window.
    lay["legend"] = dict(LEGENDS["foot"])
    # The legend's lines, and the room a Live monitor chart keeps for it above the plot
    foot, top = 22 * len(data), 28 if live else 0
    margin = lay.get("margin", {})
    lay["margin"] = {**margin, "b": margin.get("b", 50) + foot, "t": margin.get("t", 100) - top}
    lay["height"] = lay["height"] + foot - top
    return figure(data, lay, live)
