"""How the pages show a study another tool made: what is known, what is not, and why the
actions that need Tuning Studio's configuration are not offered (`needs_config`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tuning import analysis as an
from tuning.core.enums import RunStatus
from tuning.runs.front import STALE_S, RunRecord, needs_config
from ui import text

READ_ONLY_ACTIONS = "Stop, Resume, refit, test scores, the reproduce script and Refine"


def is_foreign(record: RunRecord) -> bool:
    return record.foreign is not None


def caption(run: an.RunData) -> str:
    """The status line's caption: where the study comes from and what it optimizes."""
    objectives = " · ".join(f"{o.label} ({o.direction})" for o in run.record.objectives)
    return (
        f"An Optuna study made outside Tuning Studio, shown read-only · {text.md(objectives)} · "
        f"{text.plural(len(run.params), 'parameter')}"
    )


def notice(status: RunStatus) -> None:
    """Why the actions that need a configuration are missing, and what the status means."""
    st.info(
        text.md(needs_config(READ_ONLY_ACTIONS, plural=True)) + " Notes cannot be added for the same reason.",
        icon=":material/lock:",
    )
    if status == RunStatus.RUNNING:
        st.caption(
            "Another process is optimizing this study (a trial is in progress): this page "
            "follows it by reading the storage."
        )
    elif status == RunStatus.INTERRUPTED:
        st.warning(
            f"Some trials are unfinished and nothing has happened for over {STALE_S:g} s: the "
            "process optimizing this study may have stopped. Tuning Studio leaves the study "
            "as it is."
        )


def known(run: an.RunData) -> None:
    """What the study and its trials say, and what only a Tuning Studio run would."""
    foreign = run.record.foreign
    st.markdown("**What this study holds**")
    rows = [
        {"objective": i, "name": o.label, "direction": o.direction}
        for i, o in enumerate(foreign.objectives)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if not foreign.metric_names:
        st.caption("No metric names were set (study.set_metric_names): values are numbered.")
    if run.params:
        st.markdown("**Parameters** (their distributions, as the trials record them)")
        st.dataframe(param_table(run), hide_index=True)
    st.markdown("**Not known** (only a Tuning Studio run records these)")
    st.markdown("\n".join(f"- {text.md(w)}" for w in foreign.unknown))


def param_table(run: an.RunData) -> pd.DataFrame:
    rows = []
    for p in run.params.values():
        if p.numeric:
            span = f"{an.fmt_value(p.low)} … {an.fmt_value(p.high)}" + (" (log)" if p.log else "")
        else:
            span = ", ".join(map(an.fmt_value, p.choices or ()))
        rows.append({"parameter": p.name, "kind": p.kind, "range or choices": span})
    return pd.DataFrame(rows)
