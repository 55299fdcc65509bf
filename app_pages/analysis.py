"""Analysis: what the trials of one run say (importance, slices, contours, efficiency, advice)."""

import streamlit as st

from ui import analysis_view, runs, state, widgets

st.title("Analysis")
st.caption(
    "What the trials say: which hyperparameters matter, where the good scores are, whether the "
    "best is really the best, where the time went, and how to search better next time."
)
refs = runs.run_refs()
if not refs:
    st.info("No runs yet: start one on **New run** or from a demo on **Home**.")
    st.page_link(state.PAGE_NEW_RUN, label="New run", icon=":material/add_circle:")
    st.stop()
name = widgets.run_picker(refs)
analysis_view.show(name)
