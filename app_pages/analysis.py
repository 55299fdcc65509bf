"""Analysis: what the trials of one run say (importance, slices, contours, efficiency, advice)."""

import streamlit as st

from ui import analysis_view, links, widgets

st.title("Analysis")
st.caption(
    "What the trials say: which hyperparameters matter, where the good scores are, whether the "
    "best is really the best, where the time went, and how to search better next time."
)
name = widgets.pick_run_or_stop(links.ANALYSIS)
analysis_view.show(name)
