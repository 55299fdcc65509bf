"""The yardstick of benchmarks/first_chart.py: a bare Streamlit page with one Plotly chart.

As the app's pages, it sets a wide page config; its chart has MAX_POINTS markers, as many as
the Live monitor's score chart draws at most (tuning.plots.live.MAX_POINTS), built from plain
dicts. Nothing else is imported or read: the time the stack itself needs for a first chart.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

MAX_POINTS = 1000

st.set_page_config(page_title="Bare chart", layout="wide")
st.title("One chart")
rng = np.random.default_rng(0)
x = np.arange(MAX_POINTS)
fig = go.Figure(
    data=[{"type": "scatter", "x": x, "y": 0.9 + 0.05 * rng.random(MAX_POINTS), "mode": "markers"}],
    layout={"title": {"text": "Score of every trial"}, "height": 380},
)
st.plotly_chart(fig, key="chart")
