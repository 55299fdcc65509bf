"""Streamlit glue around a run's long-lived reader (tuning.analysis.live.LiveRun, kept
process-wide by ui.registry), shared by the Live monitor, Analysis and Report pages."""

from __future__ import annotations

import streamlit as st

from tuning import analysis as an
from tuning.core.enums import RunStatus
from ui import registry, runs


def load(live: an.LiveRun) -> an.RunData:
    """The run for analysis, through its long-lived feed (converts only new trials)."""
    return live.read()


def status_of(run: an.RunData) -> RunStatus:
    """The status to show: queued or running here, else as stored."""
    return runs.shown_status(run.name, run.status, registry.manager())


def importance(live: an.LiveRun, run: an.RunData, method: str = an.DEFAULT_METHOD) -> an.Importance:
    """The run's importance from its one cache, with a spinner while it is computed."""
    if not live.importances.due(run, method):
        return live.importance(run, method)
    slow = " (fANOVA can take up to a minute)" if method == "fanova" else ""
    with st.spinner(f"Computing parameter importance{slow}…"):
        return live.importance(run, method)
