"""The stop advisor on the pages: is it worth going on (Live monitor), and where each method's
runs could have stopped (Compare).

Its numbers come from tuning.analysis.advisor; each run's points (one Gaussian-process fit per
checkpoint) are kept in one process-wide tracker per run, so that a Live monitor refresh
computes only the checkpoints its new trials reached, within LIVE_BUDGET_S.
"""

from __future__ import annotations

import streamlit as st

from tuning.analysis import advisor
from tuning.analysis.rundata import RunData
from tuning.plots.advisor import advisor_figure
from ui import registry, text

LIVE_BUDGET_S = 0.3  # seconds of GP fits per Live monitor refresh while the run works
CHART_HEIGHT = 300


@st.cache_resource(show_spinner=False)
def _trackers() -> dict[tuple[str, str], advisor.Tracker]:
    """One tracker per (storage, run) for the life of the process, shared by every session."""
    return {}


def tracker(run: RunData) -> advisor.Tracker:
    key = (registry.storage_url(), run.name)
    known = _trackers().get(key)
    rule = advisor.rule_of(run)[0]
    if known is None or known.rule != rule or known.maximize != run.maximize:
        known = _trackers()[key] = advisor.Tracker(rule, run.maximize)
    return known


def live(snap) -> None:
    """The Live monitor's stop advisor: its sentence, its chart over trials once it has points,
    and, where the advisor ended the run, the recorded reason."""
    run = snap.run
    message = snap.record.message or ""
    if message.startswith(advisor.ADVISOR_ENDED):
        st.success(text.md(message), icon=":material/trending_flat:")
    # A finished run is drawn whole once (then every point is cached); a working one gets a
    # bounded share of each refresh, and the rest on the next ones.
    budget = LIVE_BUDGET_S if run.working else None
    with st.spinner("The stop advisor is fitting its model…"):
        advice = advisor.advise(run, tracker(run), budget_s=budget)
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Stop advisor**")
        said = text.md(advice.sentence)
        if advice.stop is not None:
            st.success(said, icon=":material/check:")
        else:
            st.info(said, icon=":material/timeline:")
        if run.config is not None and run.config.stop_when_flat and run.working:
            st.caption("This run stops by itself when the advisor says so (Stop when flat).")
        st.caption(text.md(advice.rule_text))
        if advice.pending:
            st.caption(f"{text.plural(advice.pending, 'check')} still to compute.")
    if advice.points:
        right.plotly_chart(
            advisor_figure(advice, live=True, height=CHART_HEIGHT), key="chart_advisor",
            config={"displaylogo": False},
        )  # fmt: skip
