"""Learn: watch search methods search a 2-D landscape whose every point is known."""

import streamlit as st

from ui import learn

st.title("Learn")
st.caption(
    "How do search methods decide where to look? Each method below searches the same landscape "
    "with the same budget, in a real Optuna study; the heatmap is the true score everywhere, "
    "which a real tuning run never gets to see."
)
learn.page()
