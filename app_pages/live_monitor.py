"""Live monitor: one run's progress, scores, learning curves, importance and top trials."""

import streamlit as st

from ui import links, monitor, widgets

st.title("Live monitor")
name = widgets.pick_run_or_stop(links.LIVE, after_first_chart=True)
monitor.show(name)
