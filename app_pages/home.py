"""Home: every run in the storage, demo presets that start a run in one click."""

import streamlit as st

from tuning.core.errors import UserError
from ui import home, runs, state, text
from ui.presets import PRESETS

st.title("Tuning Studio")
st.markdown(
    "Pick a dataset, a model and a search method, launch a tuning run that works in the "
    "background, and watch it live: scores, learning curves and which hyperparameters matter."
)
state.show_flash()

st.subheader("Start a demo")
for col, preset in zip(st.columns(len(PRESETS)), PRESETS, strict=True):
    with col.container(border=True, height="stretch"):
        st.markdown(f"**{preset.title}**")
        st.caption(preset.blurb)
        st.space("stretch")  # buttons line up at the bottom of the cards
        if st.button(
            "Start", key=f"preset_{preset.key}", type="primary", icon=":material/play_arrow:"
        ):
            try:
                runs.launch(preset.make())
            except UserError as exc:
                st.error(text.md(exc))
            else:
                st.switch_page(state.PAGE_LIVE)

st.subheader("Runs")
home.runs_table()
home.run_actions()

st.subheader("Experiments")
home.experiments_table()
