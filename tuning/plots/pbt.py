"""Population-based training: the data (DataFrames) and the Plotly figures of its three views.

- population: every member's validation score per epoch, with each exploit marked;
- lineage: every segment as a node at (end epoch, member), linked to the segment it continued or
  copied; the final best member's ancestry is highlighted;
- schedule: each hyperparameter of the best member's ancestry over epochs (a step line).

Built from the run's trials only (their population lineage, see tuning.methods.pbt), so it works live, after
a Stop, in the Analysis page and in the HTML report. No streamlit here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState
from plotly.subplots import make_subplots

from tuning.core.config import RunConfig
from tuning.core.errors import ConfigError
from tuning.methods import get_method
from tuning.plots.base import base_layout, empty_figure, esc, integer_axis
from tuning.plots.colors import BEST_COLOR
from tuning.store.trials import population_info

PALETTE = (
    "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#aec7e8", "#ffbb78", "#c5b0d5", "#c49c94",
)  # fmt: skip
EXPLOIT_COLOR = "#d62728"


def is_population(config: RunConfig | None) -> bool:
    """Whether the run trains a population itself (population-based training): the one rule
    the pages and the report ask, read from the run's method, so it holds before any trial."""
    if config is None:  # a study another tool made, or a configuration this version cannot read
        return False
    try:
        return get_method(config.method).runs_itself
    except ConfigError:  # a method this version does not know: an ordinary view
        return False


def segments(trials: list[FrozenTrial]) -> pd.DataFrame:
    """One row per segment: trial, member, generation, epochs, value, state, lineage parent."""
    rows = []
    for t in trials:
        info = population_info(t)
        if not info or t.state in (TrialState.WAITING,):
            continue
        exploit = info.get("exploit") or {}
        steps = sorted(t.intermediate_values)
        start = int(info.get("start_epoch") or 0)
        rows.append({
            "trial": t.number, "member": int(info["member"]),
            "generation": int(info.get("generation") or 0),
            "start_epoch": start, "end_epoch": steps[-1] if steps else start,
            "value": t.value if t.state == TrialState.COMPLETE else np.nan,
            "state": t.state.name.lower(),
            # where the weights came from: the copied segment after an exploit, else the member's own
            "source": exploit.get("from_trial", info.get("parent")),
            "from_member": exploit.get("from_member"),
            "exploited": bool(exploit),
            "explore": info.get("explore") or {},
            "params": dict(t.params),
        })  # fmt: skip
    cols = ["trial", "member", "generation", "start_epoch", "end_epoch", "value", "state",
            "source", "from_member", "exploited", "explore", "params"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def scores(trials: list[FrozenTrial]) -> pd.DataFrame:
    """One row per member per epoch: the validation score reported in that epoch."""
    rows = [
        {
            "member": int(info["member"]),
            "trial": t.number,
            "epoch": int(e),
            "score": v,
        }
        for t in trials
        if (info := population_info(t))
        for e, v in sorted(t.intermediate_values.items())
    ]
    return pd.DataFrame(rows, columns=["member", "trial", "epoch", "score"])


def best_segment(seg: pd.DataFrame, direction: str, test: dict | None = None) -> int | None:
    """The final best member's last segment: the test score's trial if there is one, else the
    best complete segment of the latest generation that completed."""
    if test and test.get("trial") is not None and int(test["trial"]) in set(seg["trial"]):
        return int(test["trial"])
    done = seg[seg["state"] == "complete"]
    if done.empty:
        return None
    last = done[done["generation"] == done["generation"].max()]
    row = last.loc[last["value"].idxmax() if direction == "maximize" else last["value"].idxmin()]
    return int(row["trial"])


def lineage(seg: pd.DataFrame, trial: int | None) -> list[int]:
    """Segments from the first generation to `trial`, following where the weights came from."""
    by_trial = seg.set_index("trial")
    chain: list[int] = []
    seen: set[int] = set()
    while trial is not None and trial in by_trial.index and trial not in seen:
        seen.add(trial)
        chain.append(int(trial))
        src = by_trial.loc[trial, "source"]
        trial = None if src is None or (isinstance(src, float) and math.isnan(src)) else int(src)
    return chain[::-1]


def schedule(seg: pd.DataFrame, chain: list[int]) -> pd.DataFrame:
    """The best member's hyperparameters per segment of its ancestry (start and end epochs)."""
    by_trial = seg.set_index("trial")
    rows = []
    for t in chain:
        r = by_trial.loc[t]
        for name, value in r["params"].items():
            rows.append({"trial": t, "member": int(r["member"]), "start_epoch": int(r["start_epoch"]),
                         "end_epoch": int(r["end_epoch"]), "param": name, "value": value})  # fmt: skip
    return pd.DataFrame(
        rows, columns=["trial", "member", "start_epoch", "end_epoch", "param", "value"]
    )


# -- figures -------------------------------------------------------------------------------------
def _color(member: int) -> str:
    return PALETTE[member % len(PALETTE)]


def population_figure(trials: list[FrozenTrial], score_title: str) -> go.Figure:
    """Every member's score per epoch; an exploit is a red marker where the copy happened."""
    title = "Population: validation score per epoch"
    sc = scores(trials)
    if sc.empty:
        return empty_figure(title, "No epoch has been scored yet.")
    seg = segments(trials)
    fig = go.Figure()
    for member, g in sc.groupby("member"):
        g = g.sort_values("epoch")
        # One line per member, broken where it was replaced by a copy (a new lineage starts).
        xs, ys = [], []
        starts = set(seg[(seg["member"] == member) & seg["exploited"]]["start_epoch"])
        for e, v in zip(g["epoch"], g["score"], strict=True):
            if e - 1 in starts and xs:
                xs.append(None)
                ys.append(None)
            xs.append(int(e))
            ys.append(float(v))
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", name=f"member {member}", line=dict(color=_color(member), width=1.5),
            marker=dict(size=4), hovertemplate=f"member {member}<br>epoch %{{x}}<br>score %{{y:.4f}}<extra></extra>",
        ))  # fmt: skip
    ex = seg[seg["exploited"]]
    if not ex.empty:
        last = sc.set_index(["member", "epoch"])["score"]
        xs, ys, texts = [], [], []
        for _, r in ex.iterrows():
            at = int(r["start_epoch"])
            y = last.get((int(r["from_member"]), at), np.nan)
            changes = "<br>".join(
                f"{esc(k)}: {_fmt(v[0])} → {_fmt(v[1])}" for k, v in r["explore"].items()
            )
            texts.append(f"epoch {at}: member {int(r['member'])} copied member "
                         f"{int(r['from_member'])}<br>{changes}")  # fmt: skip
            xs.append(at)
            ys.append(float(y))
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name="exploit (copy + perturb)", hovertext=texts, hoverinfo="text",
            marker=dict(symbol="triangle-up", size=11, color=EXPLOIT_COLOR, line=dict(color="white", width=1)),
        ))  # fmt: skip
    base_layout(fig, title, x="epoch", y=esc(score_title))
    return fig.update_xaxes(**integer_axis({}, sc["epoch"]))  # epochs are whole


def lineage_figure(
    trials: list[FrozenTrial], direction: str, test: dict | None = None
) -> go.Figure:
    """All segments as nodes (end epoch × member), each linked to the segment its weights came
    from; the final best member's ancestry in green."""
    title = "Lineage of the best member"
    seg = segments(trials)
    if seg.empty:
        return empty_figure(title, "No segment has finished yet.")
    best = best_segment(seg, direction, test)
    chain = set(lineage(seg, best))
    by_trial = seg.set_index("trial")
    ex, ey, bx, by = [], [], [], []
    for _, r in seg.iterrows():
        src = r["source"]
        if (
            src is None
            or (isinstance(src, float) and math.isnan(src))
            or int(src) not in by_trial.index
        ):
            x0, y0 = r["start_epoch"], r["member"]
        else:
            s = by_trial.loc[int(src)]
            x0, y0 = s["end_epoch"], s["member"]
        xs, ys = (bx, by) if r["trial"] in chain else (ex, ey)
        xs += [x0, r["end_epoch"], None]
        ys += [y0, r["member"], None]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line=dict(color="#c7c7c7", width=1),
                             name="continued or copied", hoverinfo="skip"))  # fmt: skip
    fig.add_trace(go.Scatter(x=bx, y=by, mode="lines", line=dict(color=BEST_COLOR, width=3),
                             name="best member's ancestry", hoverinfo="skip"))  # fmt: skip
    texts = [
        f"trial #{int(r['trial'])} · member {int(r['member'])} · epochs {int(r['start_epoch']) + 1}–"
        f"{int(r['end_epoch'])}<br>score {_fmt(r['value'])}"
        + (f"<br>copied member {int(r['from_member'])}" if r["exploited"] else "")
        for _, r in seg.iterrows()
    ]
    colors = [BEST_COLOR if t in chain else ("#d62728" if e else "#7f7f7f")
              for t, e in zip(seg["trial"], seg["exploited"], strict=True)]  # fmt: skip
    fig.add_trace(go.Scatter(
        x=seg["end_epoch"], y=seg["member"], mode="markers", hovertext=texts, hoverinfo="text",
        marker=dict(size=9, color=colors, symbol=["diamond" if e else "circle" for e in seg["exploited"]]),
        name="segment (◆ after an exploit)",
    ))  # fmt: skip
    members = sorted(seg["member"].unique())
    fig.update_yaxes(tickmode="array", tickvals=members, ticktext=[f"member {m}" for m in members],
                     autorange="reversed")  # fmt: skip
    note = f"final best: trial #{best}" if best is not None else "no complete segment"
    base_layout(fig, f"{title}<br><sup>{note}; a link that changes row is an exploit</sup>",
            x="epoch", y="member", height=max(360, 120 + 40 * len(members)))  # fmt: skip
    # Legend under the plot: above it, it collides with the two-line title.
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
                      margin=dict(b=110))  # fmt: skip
    return fig.update_xaxes(**integer_axis({}, [*seg["start_epoch"], *seg["end_epoch"]]))


def schedule_figure(trials: list[FrozenTrial], direction: str, test: dict | None = None,
                    log_params: tuple[str, ...] = ()) -> go.Figure:  # fmt: skip
    """Each hyperparameter of the best member's ancestry as a step line over epochs."""
    title = "Hyperparameter schedule of the best member"
    seg = segments(trials)
    best = best_segment(seg, direction, test) if not seg.empty else None
    if best is None:
        return empty_figure(title, "No segment has completed yet.")
    sch = schedule(seg, lineage(seg, best))
    explored = {k for e in seg["explore"] for k in e} or set(sch["param"])
    names = [p for p in dict.fromkeys(sch["param"]) if p in explored]  # in the space's order
    if not names:
        return empty_figure(title, "No hyperparameter changes in this run.")
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[esc(n) for n in names])  # fmt: skip
    for i, name in enumerate(names, 1):
        g = sch[sch["param"] == name].sort_values("start_epoch")
        xs, ys, texts = [], [], []
        for _, r in g.iterrows():
            xs += [r["start_epoch"], r["end_epoch"]]
            ys += [r["value"], r["value"]]
            texts += [
                f"trial #{int(r['trial'])} (member {int(r['member'])}): {esc(name)} = {_fmt(r['value'])}"
            ] * 2
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", line=dict(color=BEST_COLOR, shape="hv"),
                                 marker=dict(size=5), hovertext=texts, hoverinfo="text", showlegend=False),
                      row=i, col=1)  # fmt: skip
        values = [v for v in ys if isinstance(v, int | float) and v > 0]
        # A log axis over less than a factor of 2 shows only odd minor labels: stay linear there.
        if name in log_params and values and max(values) >= 2 * min(values):
            fig.update_yaxes(type="log", row=i, col=1)
    fig.update_xaxes(title_text="epoch", row=len(names), col=1)
    fig.update_xaxes(**integer_axis({}, [x for t in fig.data for x in t.x]))  # epochs are whole
    return base_layout(fig, title, height=max(260, 170 * len(names)))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.4g}"
    return esc(v)


def pbt_figures(trials: list[FrozenTrial], score_title: str, direction: str,
                test: dict | None = None, log_params: tuple[str, ...] = ()) -> dict[str, go.Figure]:  # fmt: skip
    return {
        "population": population_figure(trials, score_title),
        "lineage": lineage_figure(trials, direction, test),
        "schedule": schedule_figure(trials, direction, test, log_params),
    }
