"""The notes of a run and of its trials (written through StoredRun), and one trial's details.

A note is the author's Markdown: st.markdown draws it without raw HTML (no unsafe_allow_html),
so a `<script>` in a note shows as text. A study another tool made is read-only: its trials'
details are shown, and no note is offered."""

from __future__ import annotations

import json

import streamlit as st

from tuning import analysis as an
from tuning.core.errors import UserError
from tuning.runs.front import MAX_NOTE, StoredRun, trial_attrs
from ui import text


def run_note(live: an.LiveRun, run: an.RunData, where: str) -> None:
    """The run's note, and (on a Tuning Studio run) an editor for it."""
    note = run.record.note
    with st.expander("Note on this run" + ("" if note else " (none yet)"), expanded=bool(note)):
        if note:
            st.markdown(note)
        if run.record.read_only:
            st.caption("This study was made outside Tuning Studio and is shown read-only: "
                       "it takes no notes.")  # fmt: skip
            return
        with st.form(f"run_note_form_{where}", border=False):
            draft = st.text_area(
                "Markdown", value=note, max_chars=MAX_NOTE, key=f"run_note_{where}:{run.name}",
                help="Kept with the run in its storage; shown on the Live monitor, Analysis and "
                "in the reports.",
            )  # fmt: skip
            if st.form_submit_button("Save note", icon=":material/save:"):
                _save(lambda: StoredRun(live.study).set_note(draft), "Note saved.")


def trial_panel(live: an.LiveRun, run: an.RunData, where: str) -> None:
    """One trial as the storage holds it (state, values, parameters, intermediate values, user
    attributes, duration) and its note."""
    if not len(run.trials):
        return
    trial_notes = run.record.trial_notes
    with st.expander("A trial's details and note"):
        numbers = [t.number for t in run.trials]
        best = run.best
        default = numbers.index(int(best["number"])) if best is not None else 0
        number = st.selectbox(
            "Trial", numbers, index=default, key=f"trial_pick_{where}:{run.name}",
            format_func=lambda n: f"#{n}" + (" (note)" if n in trial_notes else ""),
        )  # fmt: skip
        t = run.trial(number)
        duration = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_start and t.datetime_complete else None
        )  # fmt: skip
        st.caption(f"State: {t.state.name.lower()} · duration: {text.duration(duration)}"
                   if duration is not None else f"State: {t.state.name.lower()}")  # fmt: skip
        st.json(json.loads(json.dumps({
            "values": t.values, "params": t.params,
            "intermediate_values": dict(sorted(t.intermediate_values.items())),
            "user_attrs": trial_attrs(t),
        }, default=str)), expanded=1)  # fmt: skip
        note = trial_notes.get(number, "")
        if note:
            st.markdown(f"**Note on trial #{number}**")
            st.markdown(note)
        if run.record.read_only:
            return
        with st.form(f"trial_note_form_{where}", border=False):
            draft = st.text_area(
                f"Note on trial #{number} (Markdown)", value=note, max_chars=MAX_NOTE,
                key=f"trial_note_{where}:{run.name}:{number}",
            )  # fmt: skip
            if st.form_submit_button("Save trial note", icon=":material/save:"):
                _save(lambda: StoredRun(live.study).set_trial_note(number, draft),
                      f"Note on trial #{number} saved.")  # fmt: skip


def _save(write, done: str) -> None:
    try:
        write()
    except UserError as exc:
        st.error(text.md(exc))
        return
    except OSError as exc:
        st.error(text.md(f"The note could not be saved: {exc.strerror or exc}."))
        return
    st.toast(done, icon=":material/check:")
    st.rerun()
