"""Runs as the pages show them: listing with live status, launching, resuming, deleting.

A run's stored status says what its own process last wrote; this process's RunManager knows
better about runs it holds (queued here, or starting). Runs this process does not hold but whose
status is "running" were started elsewhere (command line, another server) and are watched by
polling the storage. Everything here reaches the engine through tuning.runs.front.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from tuning.analysis import listed_payoff
from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus
from tuning.core.scoring import Scoring
from tuning.methods import method_label
from tuning.models import model_label
from tuning.runs.front import (
    WARM_WORDS,
    RunManager,
    RunRecord,
    RunRef,
    RunSummary,
    has_complete_trial,
    list_runs,
)
from tuning.runs.front import run_refs as stored_refs
from ui import registry, state, text

__all__ = ["RunRef", "method_label", "model_label"]  # re-exported for the views

DOUBLE_CLICK_S = 10.0  # the same configuration launched again within this time is one launch
WATCH_QUEUED_S = 300.0  # a run queued elsewhere is watched this long after its creation
ARROWS = {"maximize": "↑", "minimize": "↓"}
GAIN = "gain over defaults"  # the Home table's column (tuning.analysis.payoff's compact cell)


def shown_status(name: str, stored: RunStatus, manager: RunManager) -> RunStatus:
    if name in manager.queued():
        return RunStatus.QUEUED
    if manager.is_active(name):
        return RunStatus.RUNNING
    return stored


def should_poll(name: str, stored: RunStatus, created_at: str | None, manager: RunManager) -> bool:
    """Whether the Live monitor should keep refreshing this run."""
    if manager.is_active(name) or stored == RunStatus.RUNNING:
        return True
    if stored == RunStatus.QUEUED and created_at:  # queued by another process: it may start soon
        try:
            age = time.time() - pd.Timestamp(created_at).timestamp()
        except ValueError:
            return False
        return age < WATCH_QUEUED_S
    return False


def refs() -> list[RunRef]:
    """Every study in the storage, newest first (from study attributes only: cheap)."""
    return stored_refs(registry.storage())


def describe(record: RunRecord) -> str:
    """The run's dataset, model and method as the status lines show them (Markdown)."""
    cfg = record.config  # None: a configuration this version cannot read
    model = model_label(cfg.model) if cfg is not None else "?"
    method = method_label(cfg.method) if cfg is not None else "?"
    if record.recommendation:  # the run was created as "Recommended": say it picked this
        method += " (picked by Recommended)"
    return f"{text.md(record.dataset_label)} · {text.md(model)} · {text.md(method)}"


def scoring_label(name: str | None, direction: str) -> str:
    if not name or name == "?":
        return "?"
    return f"{Scoring(name).label} {ARROWS.get(direction, '')}".strip()


def has_results(name: str) -> bool:
    """Whether the run has a complete trial (a never-started member of an experiment has none)."""
    return has_complete_trial(registry.storage(), name)


def summaries() -> list[RunSummary]:
    """Every run with its numbers, newest first (the order of refs)."""
    order = {r.name: i for i, r in enumerate(refs())}
    return sorted(list_runs(registry.storage()), key=lambda r: order.get(r.name, len(order)))


def overview_frame(runs: list[RunSummary], manager: RunManager) -> pd.DataFrame:
    """One row per run for the Home table (shown with st.dataframe: cells are plain text)."""
    rows = []
    for r in runs:
        if r.record is not None and r.record.foreign is not None:
            rows.append(_foreign_row(r))
            continue
        budget = f"{r.done} / {r.n_trials}" if r.n_trials else f"{r.done}"
        rows.append(
            {
                "run": r.name,
                "status": shown_status(r.name, r.status, manager),
                "dataset": r.dataset,
                "model": model_label(r.model).split(" (")[0],  # not "(PyTorch MLP)"
                "method": _method(r),
                "trials done": budget,
                # text: a run without a finished trial shows a blank cell (a missing number
                # would read "None")
                "best score": "" if r.best_value is None else f"{r.best_value:.4f}",
                GAIN: listed_payoff(r).short if r.done else "",
                "score": scoring_label(r.scoring, r.direction),
                "started": text.local_time(r.started_at or r.created_at, short=True),
            }
        )
    return pd.DataFrame(rows)


def _method(r: RunSummary) -> str:
    """The method, and whether the run was warm-started: told apart from its cold twin of the
    same search at a glance (short, for a table that also holds a long run name)."""
    label = method_label(r.method)
    return f"{label}, {WARM_WORDS}" if r.record is not None and r.record.warm_started else label


FOREIGN_DATASET = "— (made outside Tuning Studio)"  # a plain Optuna study


def _foreign_row(r: RunSummary) -> dict:
    return {
        "run": r.name, "status": r.status, "dataset": FOREIGN_DATASET, "model": "—",
        "method": "—", "trials done": f"{r.done}",
        "best score": "" if r.best_value is None else f"{r.best_value:.4g}",
        GAIN: "no baseline", "score": f"{r.scoring} {ARROWS.get(r.direction, '')}".strip(),
        "started": text.local_time(r.started_at, short=True),
    }  # fmt: skip


def launch(config: RunConfig, select: bool = True) -> str:
    """Submit a run to this process's RunManager and select it (`select` False: the chosen run
    stays chosen); returns the run's name.

    The same configuration launched again within DOUBLE_CLICK_S (a double click, a rerun)
    returns the first run instead of creating another. Raises UserError with what to change.
    """
    fingerprint = config.to_json()
    last = st.session_state.get(state.LAST_LAUNCH)
    if last and last[0] == fingerprint and time.time() - last[1] < DOUBLE_CLICK_S:
        name = last[2]
    else:
        name = registry.manager().submit(config)
        st.session_state[state.LAST_LAUNCH] = (fingerprint, time.time(), name)
    if select:
        state.select_run(name)
    return name


def settle_interrupted(record: RunRecord) -> None:
    """Mark failed the unfinished trials of a run whose process died (app or worker killed), so
    that the monitor shows them as they are rather than as forever running. Resume would do it
    too; doing it on sight means a reader never has to resume to learn what happened."""
    registry.manager().settle(record)


def resume(name: str) -> None:
    registry.manager().resume(name)  # idempotent: never a second thread for one run


def stop(name: str) -> None:
    registry.manager().stop(name)


def stop_requested(name: str) -> bool:
    """Whether a Stop was asked for this run's live workers here (by any session)."""
    return registry.manager().stop_requested(name)


def delete(name: str) -> None:
    """Delete a run that works nowhere; raises ConfigError (what to do first) otherwise."""
    registry.manager().delete(name)
    registry.forget(name)
    if state.selected_run() == name:
        state.select_run(None)
