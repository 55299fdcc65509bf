"""Report: a run's summary and its downloads (HTML and Markdown report, trials, model, script)."""

import streamlit as st

from ui import report_view, runs, state, widgets

st.title("Report")
st.caption(
    "Everything to keep or share about one run: the best configuration and its scores, a "
    "report that opens offline, all trials, the refit best model and a script that rebuilds it."
)
refs = runs.run_refs()
if not refs:
    st.info("No runs yet: start one on **New run** or from a demo on **Home**.")
    st.page_link(state.PAGE_NEW_RUN, label="New run", icon=":material/add_circle:")
    st.stop()
name = widgets.run_picker(refs)
report_view.show(name)
