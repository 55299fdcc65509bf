"""A Markdown note per run and per trial, written in the app and kept on the run's study.

Both live in study user attributes: Optuna refuses to change a finished trial
(`UpdateFinishedTrialError`), so a trial's note is kept on the study too, in one dict keyed by
trial number. Notes are the author's Markdown, stored as typed; every place that shows one
escapes its HTML (the pages draw Markdown without raw HTML, the reports escape it). A study
another tool made is only read: it takes no notes.
"""

from __future__ import annotations

from typing import Any

from optuna.storages import BaseStorage

from tuning.core.errors import ConfigError
from tuning.store.foreign import is_foreign

RUN_NOTE = "note"
TRIAL_NOTES = "trial_notes"  # {"<trial number>": note}
MAX_NOTE = 20_000  # characters: a note, not a document (study attributes are read often)


def notes_of(attrs: dict[str, Any]) -> tuple[str, dict[int, str]]:
    """The run's note ("" when none) and its trials' notes by trial number, ascending."""
    run_note = attrs.get(RUN_NOTE)
    trials = attrs.get(TRIAL_NOTES)
    out: dict[int, str] = {}
    if isinstance(trials, dict):
        for k, v in trials.items():
            if isinstance(v, str) and v.strip() and str(k).isdigit():
                out[int(k)] = v
    return (run_note if isinstance(run_note, str) else ""), dict(sorted(out.items()))


def _checked(storage: BaseStorage, study_id: int, note: str) -> dict[str, Any]:
    attrs = storage.get_study_user_attrs(study_id)
    if is_foreign(attrs):
        raise ConfigError(
            "This study was made outside Tuning Studio and is shown read-only: Tuning Studio "
            "writes nothing to it, notes included."
        )
    if not isinstance(note, str):
        raise ConfigError("A note is text.")
    if len(note) > MAX_NOTE:
        raise ConfigError(
            f"The note has {len(note):,} characters; keep it under {MAX_NOTE:,} (link to a "
            "longer document instead)."
        )
    return attrs


def set_run_note(storage: BaseStorage, study_id: int, note: str) -> None:
    """Save (or, with blank text, clear) the run's note."""
    _checked(storage, study_id, note)
    storage.set_study_user_attr(study_id, RUN_NOTE, note.strip() and note)


def set_trial_note(storage: BaseStorage, study_id: int, number: int, note: str) -> None:
    """Save (or, with blank text, clear) the note of trial `number`."""
    attrs = _checked(storage, study_id, note)
    n_trials = len(storage.get_all_trials(study_id, deepcopy=False))
    if not 0 <= int(number) < n_trials:
        raise ConfigError(f"The run has no trial {number} (its trials are 0 to {n_trials - 1}).")
    notes = {str(k): v for k, v in notes_of(attrs)[1].items()}
    if note.strip():
        notes[str(int(number))] = note
    else:
        notes.pop(str(int(number)), None)
    storage.set_study_user_attr(study_id, TRIAL_NOTES, notes)
