"""Home: every run in the storage, demo presets that start a run in one click."""

import streamlit as st

from ui import home, runs, state

st.title("Tuning Studio")
st.markdown(
    "Pick a dataset, a model and a search method, launch a tuning run that works in the "
    "background, and watch it live: scores, learning curves and which hyperparameters matter."
)
state.show_flash()
refs = runs.refs()  # read once for the page's sections


def demos() -> None:
    st.subheader("Start a demo")
    home.demo_cards()


def runs_and_experiments() -> None:
    st.subheader("Runs")
    home.runs_table(refs)
    home.run_actions(refs)
    st.subheader("Experiments")
    home.experiments_table()


# A returning user comes for their runs, a first visit for a demo.
for section in (runs_and_experiments, demos) if refs else (demos, runs_and_experiments):
    section()
