"""Live monitor: one run's progress, scores, learning curves, importance and top trials."""

import streamlit as st

from ui import monitor, runs, state, widgets

st.title("Live monitor")
refs = runs.run_refs()
if not refs:
    st.info("No runs yet: start one on **New run** or from a demo on **Home**.")
    st.page_link(state.PAGE_NEW_RUN, label="New run", icon=":material/add_circle:")
    st.stop()
name = widgets.run_picker(refs)
monitor.show(name)
