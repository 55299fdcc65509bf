"""Report: a run's summary and its downloads (HTML and Markdown report, trials, model, script)."""

import streamlit as st

from ui import links, report_view, widgets

st.title("Report")
st.caption(
    "Everything to keep or share about one run: the best configuration and its scores, a "
    "report that opens offline, all trials, the refit best model and a script that rebuilds it."
)
name = widgets.pick_run_or_stop(links.REPORT)
report_view.show(name)
