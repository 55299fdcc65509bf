"""Compare methods: race several search methods on one dataset, model, space and budget."""

import streamlit as st

from ui import compare

st.title("Compare methods")
st.caption(
    "Which search method should I use here, and what does it buy me? Every method gets the same "
    "dataset, model, search space, CV folds, scoring and trial budget; each run is an ordinary run."
)
compare.page()
