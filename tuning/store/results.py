"""Trials from storage -> pandas, incrementally; run summaries for listings.

Finished trials never change, so a refresh converts only trials that are new or were unfinished
last time, and reads through `get_trials(deepcopy=False)` on one long-lived study object
(`study.trials` deep-copies every trial on every call: never on a refresh path).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from tuning.core.objectives import value_column
from tuning.store import compat
from tuning.store.foreign import is_foreign, listed
from tuning.store.records import RunRecord, direction_name
from tuning.store.trials import TrialMetrics, origin_of, origin_words

STATE_NAMES = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
    TrialState.RUNNING: "running",
    TrialState.WAITING: "waiting",
}
STOPPED = "stopped"  # a failed trial that a Stop cut short (its own row state)
BASE_COLUMNS = [
    "number", "state", "value", "cv_std", "train_score", "fit_seconds", "score_seconds",
    "duration_s", "start", "complete", "step", "fail_reason", "worker",
    "predict_ms", "model_bytes", "n_params", "origin", "origin_kind", "origin_text",
]  # fmt: skip


def score_of(t: FrozenTrial) -> float | None:
    """A complete trial's CV score: its value, or objective 0 of a multi-objective trial's
    values (`t.value` raises on those)."""
    return t.values[0] if t.state == TrialState.COMPLETE and t.values else None


def trial_row(t: FrozenTrial, values: bool = False) -> dict[str, Any]:
    """One trial as a row. `values`: also each of a multi-objective trial's values after the
    first ("values_1", ...): a study another tool made keeps its objectives only there."""
    m = TrialMetrics.of(t)
    known = TrialMetrics.recorded(t)  # without a record (running) the numbers are unknown, not 0
    start, end = t.datetime_start, t.datetime_complete
    row = {
        "number": t.number,
        "state": _row_state(t, m),
        "value": score_of(t) if t.state == TrialState.COMPLETE else m.cv_mean,
        "cv_std": m.cv_std,
        "train_score": m.train_score,
        "fit_seconds": m.fit_seconds if known else None,
        "score_seconds": m.score_seconds if known else None,
        "duration_s": (end - start).total_seconds() if start and end else None,
        "start": start,
        "complete": end,
        "step": m.pruned_step if t.state == TrialState.PRUNED else (m.step if known else None),
        "fail_reason": m.fail_reason,
        "worker": m.worker,
        "predict_ms": m.predict_ms,
        "model_bytes": m.model_bytes,
        "n_params": m.n_params,
        "origin": origin_of(t),  # "library defaults" for the baseline; None: its sampler's
        # Where it came from: a short kind for counts and filters, and the full sentence.
        **dict(zip(("origin_kind", "origin_text"), origin_words(t), strict=True)),
    }
    if values and t.values and len(t.values) > 1:
        for i, v in enumerate(t.values[1:], 1):
            row[value_column(i)] = v if t.state == TrialState.COMPLETE else None
    if t.state == TrialState.PRUNED and row["step"] is None and t.intermediate_values:
        row["step"] = max(t.intermediate_values)  # no record of ours: its last reported step
    for k, v in t.params.items():
        row[f"param_{k}"] = v
    return row


class TrialFeed:
    """Incremental DataFrame of a study's trials. Keep one per run for the life of the process.

    `values`: also a column per objective value after the first (studies another tool made)."""

    def __init__(self, study: optuna.Study, values: bool = False) -> None:
        self.study = study
        self.values = values
        self._done = pd.DataFrame(columns=BASE_COLUMNS)  # finished trials, in number order
        self._n_done = 0  # trials[:_n_done] are all finished and converted
        self._tail: list[dict[str, Any]] = []
        self.trials: list[FrozenTrial] = []
        self.refreshed_at = 0.0

    def refresh(self) -> pd.DataFrame:
        trials = self.study.get_trials(deepcopy=False)
        self.trials = trials
        new_done, tail = [], []
        i = self._n_done
        # Advance the finished prefix; everything after the first unfinished trial is re-read.
        while i < len(trials) and trials[i].state.is_finished():
            new_done.append(trial_row(trials[i], self.values))
            i += 1
        tail = [trial_row(t, self.values) for t in trials[i:]]
        if new_done:
            chunk = pd.DataFrame(new_done)
            self._done = (
                chunk if self._n_done == 0 else pd.concat([self._done, chunk], ignore_index=True)
            )
            self._n_done = i
        self._tail = tail
        self.refreshed_at = time.time()
        return self.frame()

    def frame(self) -> pd.DataFrame:
        if not self._tail:
            return self._done
        return pd.concat([self._done, pd.DataFrame(self._tail)], ignore_index=True)


@dataclass
class RunSummary:
    name: str
    status: str
    dataset: str
    model: str
    method: str
    scoring: str
    direction: str
    n_trials: int | None
    timeout_s: float | None
    counts: dict[str, int] = field(default_factory=dict)
    best_value: float | None = None
    best_std: float | None = None
    best_number: int | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    elapsed_s: float | None = None
    message: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    # The run's record, all the above was read from (None where a summary is built by hand).
    record: RunRecord | None = field(default=None, repr=False, compare=False)
    # The trials the numbers were read from (not copied: read only), so that a listing can
    # state the gain over the library defaults without reading them again.
    trials: list[FrozenTrial] | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> int:
        return sum(v for k, v in self.counts.items() if k not in ("running", "waiting", "stopped"))

    @property
    def budget_label(self) -> str:
        parts = []
        if self.n_trials is not None:
            parts.append(f"{self.n_trials} trials")
        if self.timeout_s is not None:
            parts.append(f"{self.timeout_s / 60:g} min")
        return " / ".join(parts) or "grid"

    def as_row(self) -> dict[str, Any]:
        return {
            "run": self.name, "status": self.status, "dataset": self.dataset, "model": self.model,
            "method": self.method, "trials": self.done, "best": self.best_value,
            "scoring": self.scoring, "test": self.test.get("score"), "created": _local(self.created_at),
        }  # fmt: skip


def _local(iso: str | None) -> str | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def summarize(
    storage: BaseStorage, study_id: int, name: str, attrs: dict, direction: str
) -> RunSummary:
    return summary_of(record_in(storage, study_id, name, attrs, direction), storage, study_id)


def record_in(
    storage: BaseStorage, study_id: int, name: str, attrs: dict, direction: str,
    trials: list[FrozenTrial] | None = None, now: float | None = None,
) -> RunRecord:  # fmt: skip
    """The study's record; for a study another tool made, from its directions, metric names
    and trials too (read here unless given)."""
    if not is_foreign(attrs):
        return RunRecord.from_attrs(name, attrs, direction, now)
    directions = [direction_name(d) for d in storage.get_study_directions(study_id)]
    names = compat.metric_names(storage, study_id)
    if trials is None:
        trials = storage.get_all_trials(study_id, deepcopy=False)
    return RunRecord.from_attrs(
        name, attrs, direction, now, directions=directions, metric_names=names, trials=trials
    )


FOREIGN_LABEL = "—"  # what a study another tool made shows for its dataset, model and method


def summary_of(run: RunRecord, storage: BaseStorage, study_id: int) -> RunSummary:
    """A listing's numbers for the run: its record plus a pass over its trials."""
    cfg = run.config_dict
    trials = storage.get_all_trials(study_id, deepcopy=False)
    if run.foreign is not None:
        return _foreign_summary(run, trials)
    counts: dict[str, int] = {}
    best: FrozenTrial | None = None
    sign = 1 if run.direction == "maximize" else -1
    for t in trials:
        state = trial_row_state(t)
        counts[state] = counts.get(state, 0) + 1
        v = score_of(t)
        if v is not None and np.isfinite(v):
            if best is None or sign * v > sign * score_of(best):
                best = t
    return RunSummary(
        name=run.name, status=run.status, dataset=run.dataset_label,
        model=cfg.get("model", "?"), method=cfg.get("method", "?"), scoring=run.scoring or "?",
        direction=run.direction, n_trials=run.n_trials, timeout_s=cfg.get("timeout_s"),
        counts=counts, best_value=score_of(best) if best else None,
        best_std=TrialMetrics.of(best).cv_std if best else None,
        best_number=best.number if best else None, best_params=dict(best.params) if best else {},
        test=run.test.to_attr() if run.test else {}, created_at=run.created_at,
        started_at=run.started_at, ended_at=run.ended_at, elapsed_s=run.elapsed_s,
        message=run.message, config=cfg, record=run, trials=trials,
    )  # fmt: skip


def _foreign_summary(run: RunRecord, trials: list[FrozenTrial]) -> RunSummary:
    counts: dict[str, int] = {}
    best: FrozenTrial | None = None
    sign = 1 if run.direction == "maximize" else -1
    for t in trials:
        state = STATE_NAMES.get(t.state, t.state.name.lower())
        counts[state] = counts.get(state, 0) + 1
        v = score_of(t)
        if v is not None and np.isfinite(v) and (best is None or sign * v > sign * score_of(best)):
            best = t
    return RunSummary(
        name=run.name, status=run.status, dataset=FOREIGN_LABEL, model=FOREIGN_LABEL,
        method=FOREIGN_LABEL, scoring=run.objectives[0].label, direction=run.direction,
        n_trials=None, timeout_s=None, counts=counts,
        best_value=score_of(best) if best else None, best_std=None,
        best_number=best.number if best else None, best_params=dict(best.params) if best else {},
        created_at=run.created_at, started_at=run.started_at, ended_at=run.ended_at,
        record=run,
    )  # fmt: skip


def trial_row_state(t: FrozenTrial) -> str:
    return _row_state(t, TrialMetrics.of(t) if t.state == TrialState.FAIL else None)


def _row_state(t: FrozenTrial, m: TrialMetrics | None) -> str:
    """The trial's state as tables show it: Optuna's, and "stopped" for one cut short by Stop."""
    if t.state == TrialState.FAIL and m is not None and m.stopped:
        return STOPPED
    return STATE_NAMES.get(t.state, t.state.name.lower())


def listed_records(storage: BaseStorage) -> list[tuple[int, RunRecord]]:
    """(study id, record) of every study in the storage, in creation order: Tuning Studio's
    runs (from their attributes) and studies other tools made (their trials read too);
    half-written runs (creation cut short) are skipped."""
    out = []
    for s in storage.get_all_studies():
        if not listed(s.user_attrs):
            continue
        sid = compat.study_id(s)
        direction = direction_name(s.directions[0])
        out.append((sid, record_in(storage, sid, s.study_name, s.user_attrs, direction)))
    return out


def list_runs(storage: BaseStorage) -> list[RunSummary]:
    """Every study in the storage, newest first: Tuning Studio's runs and studies other tools
    made (`RunSummary.record.foreign`); half-written runs (creation cut short) are skipped."""
    out = [summary_of(run, storage, sid) for sid, run in listed_records(storage)]
    out.sort(key=lambda r: r.created_at or "", reverse=True)
    return out


def run_summary(storage: BaseStorage, name: str) -> RunSummary:
    study_id = storage.get_study_id_from_name(name)
    attrs = storage.get_study_user_attrs(study_id)
    direction = direction_name(storage.get_study_directions(study_id)[0])
    return summary_of(record_in(storage, study_id, name, attrs, direction), storage, study_id)


def has_complete_trial(storage: BaseStorage, name: str) -> bool:
    """Whether the run has a complete trial: a filter over its trials, no summary (a page's
    default run is the newest that has one, and a summary of 10,000 trials takes 30 ms)."""
    study_id = storage.get_study_id_from_name(name)
    return bool(storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.COMPLETE,)))


def top_trials(df: pd.DataFrame, direction: str, n: int = 10) -> pd.DataFrame:
    done = df[df["state"] == "complete"]
    # Ties in trial order, so the first row is the trial the summary calls best (Optuna's
    # best trial is the first to reach the best value).
    return done.sort_values(
        ["value", "number"], ascending=[direction == "minimize", True], kind="stable"
    ).head(n)
