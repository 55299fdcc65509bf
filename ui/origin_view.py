"""Where a run's trials came from: a count line and a trial list filtered by origin.

Shown on Live monitor and Analysis from the trials frame (its `origin_kind` and `origin_text`
columns, tuning/store/results.py): "31 model-guided, 5 start-up, 1 library defaults", then every
trial's sentence, filtered by the origins chosen.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tuning.runs import front
from ui import text

MAX_ROWS = 500  # the newest trials listed; the count line counts them all
HEADING = "**Where the trials came from**"
FILTER = "Show trials that came from"


def started(df: pd.DataFrame) -> pd.DataFrame:
    """The trials that ended (a proposed trial's origin is written with its result; a queued
    grid point has not come from anywhere yet)."""
    if not len(df) or "origin_kind" not in df.columns:
        return df.iloc[0:0]
    return df[~df["state"].isin(("waiting", "running"))]


def count_line(df: pd.DataFrame) -> str:
    """"31 model-guided, 5 start-up, 1 library defaults" over the trials that ended."""
    return front.origin_count_line(started(df)["origin_kind"].tolist())


def origin_table(df: pd.DataFrame, kinds: list[str] | None = None) -> pd.DataFrame:
    """The trials that ended, newest first, of the chosen origins (all where none is chosen):
    trial, state, score and the sentence on where it came from."""
    rows = started(df)
    if kinds:
        rows = rows[rows["origin_kind"].isin(kinds)]
    rows = rows.sort_values("number", ascending=False).head(MAX_ROWS)
    return pd.DataFrame({
        "trial": rows["number"].astype(int), "state": rows["state"],
        "score": rows["value"].map(lambda v: text.score(v) if pd.notna(v) else "–"),
        "origin": rows["origin_kind"], "where it came from": rows["origin_text"],
    })  # fmt: skip


def section(df: pd.DataFrame, key: str) -> None:
    """The count line, and the trial list with its filter by origin (`key`: the page's)."""
    line = count_line(df)
    if not line:
        return
    st.markdown(HEADING)
    st.caption(f"Trials so far: {line}.")
    kinds = sorted(started(df)["origin_kind"].dropna().unique())
    chosen = st.multiselect(FILTER, kinds, key=f"{key}_origin_filter", placeholder="every origin")
    table = origin_table(df, chosen)
    shown = len(started(df)) if not chosen else int(started(df)["origin_kind"].isin(chosen).sum())
    if shown > MAX_ROWS:
        st.caption(f"The {MAX_ROWS} newest of {shown:,} trials.")
    st.dataframe(table, hide_index=True, height=min(400, 40 + 35 * len(table)))
