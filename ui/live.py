"""What the Live monitor shows, computed without Streamlit calls (so benchmarks can time it).

`LiveRun` is the long-lived reader of one run (kept process-wide by ui.registry): one study
object, one incremental `TrialFeed`, and the last parameter importance. `LiveRun.snapshot()` is
what every refresh calls; it reads only new or unfinished trials and returns a `Snapshot` of
plain data (DataFrames, lists, numbers) that ui.charts turns into figures.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from tuning.core.scoring import Scoring
from tuning.store.results import TrialFeed, trial_row_state
from tuning.store.runs import load_study, run_status

IMPORTANCE_MIN_COMPLETE = 5  # fewer complete trials say nothing about importance
IMPORTANCE_REFRESH_S = 30.0  # at most this stale once the count of complete trials changed...
IMPORTANCE_GROWTH = 0.05  # ...unless it grew by this share (cheap while small, bounded when big)
CURVES_TOP = 20  # learning curves: the best trials...
CURVES_LAST = 20  # ...and the most recent ones
DONE_STATES = ("complete", "pruned", "failed")  # states that used budget ("stopped" did not)
NUMERIC = ("value", "cv_std", "train_score", "fit_seconds", "score_seconds", "duration_s", "step")
STEP_LABELS = {"folds": "CV folds completed", "epochs": "epoch", "rounds": "boosting rounds"}


@dataclass
class Curve:
    """One trial's intermediate scores (running CV mean per fold, or score per epoch/round)."""

    number: int
    state: str
    steps: list[int]
    values: list[float]
    params: dict[str, Any]
    stopped_early_at: int | None = None


@dataclass
class Importance:
    values: dict[str, float]
    n_complete: int
    seconds: float
    error: str | None = None


@dataclass
class Snapshot:
    name: str
    status: str  # as stored (queued/running/finished/stopped/failed/interrupted)
    config: dict[str, Any]
    scoring: Scoring
    task: str | None
    df: pd.DataFrame  # one row per trial + best_so_far + t_end (s from run start to trial end)
    counts: dict[str, int]
    done: int  # trials that used budget
    n_budget: int | None  # trials in the budget (or the grid's size)
    timeout_s: float | None
    elapsed_s: float
    eta_s: float | None
    best: dict[str, Any] | None
    curves: list[Curve]
    step_kind: str
    importance: Importance | None
    n_complete: int
    test: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None

    @property
    def direction(self) -> str:
        return self.scoring.direction

    @property
    def score_title(self) -> str:
        """E.g. 'accuracy (higher is better)': the score's name and direction, for axes."""
        return f"{self.scoring.label} ({self.scoring.arrow})"

    @property
    def step_label(self) -> str:
        return STEP_LABELS.get(self.step_kind, self.step_kind)

    @property
    def progress(self) -> float | None:
        """Share of the budget used, 0..1 (trials or time, whichever is further)."""
        shares = []
        if self.n_budget:
            shares.append(self.done / self.n_budget)
        if self.timeout_s:
            shares.append(self.elapsed_s / self.timeout_s)
        return min(1.0, max(shares)) if shares else None


class LiveRun:
    """Long-lived reader of one run. Thread-safe: sessions share it through ui.registry."""

    def __init__(self, storage: BaseStorage, name: str) -> None:
        self.name = name
        self.storage = storage
        self.study = load_study(name, storage)
        self.study_id = storage.get_study_id_from_name(name)
        self.feed = TrialFeed(self.study)
        self.lock = threading.Lock()
        self.hover_cache: dict[int, str] = {}  # finished trials' hover text (ui.charts)
        self._importance: Importance | None = None
        self._importance_at = 0.0

    def snapshot(self, now: float | None = None) -> Snapshot:
        now = time.time() if now is None else now
        with self.lock:  # one refresh at a time: the feed appends in place
            df = self.feed.refresh()
            trials = self.feed.trials
            attrs = self.storage.get_study_user_attrs(self.study_id)
            n_complete = int((df["state"] == "complete").sum()) if len(df) else 0
            importance = self._importance_for(n_complete, now)
        return build_snapshot(self.name, attrs, df, trials, importance, n_complete, now)

    def _importance_for(self, n_complete: int, now: float) -> Importance | None:
        """Recompute only when the count of complete trials changed, and then at most every
        IMPORTANCE_REFRESH_S seconds unless that count grew by IMPORTANCE_GROWTH."""
        cur = self._importance
        if n_complete < IMPORTANCE_MIN_COMPLETE:
            return None
        if cur is not None and cur.n_complete == n_complete:
            return cur
        if cur is not None and cur.error is None:
            grown = n_complete - cur.n_complete
            fresh = now - self._importance_at < IMPORTANCE_REFRESH_S
            if 0 < grown < IMPORTANCE_GROWTH * cur.n_complete and fresh:
                return cur
        t0 = time.perf_counter()
        try:
            values = optuna.importance.get_param_importances(
                self.study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()
            )
            imp = Importance({k: float(v) for k, v in values.items()}, n_complete, 0.0)
        except Exception as exc:  # e.g. every score equal: nothing to attribute
            imp = Importance({}, n_complete, 0.0, f"{type(exc).__name__}: {exc}")
        imp.seconds = time.perf_counter() - t0
        self._importance, self._importance_at = imp, now
        return imp


def build_snapshot(
    name: str,
    attrs: dict[str, Any],
    df: pd.DataFrame,
    trials: list[FrozenTrial],
    importance: Importance | None,
    n_complete: int,
    now: float,
) -> Snapshot:
    config = attrs.get("config") or {}
    scoring = Scoring(attrs.get("scoring") or config.get("scoring") or "accuracy")
    status = run_status(attrs, now)
    df = derived_columns(df, scoring.direction)
    counts = df["state"].value_counts().to_dict() if len(df) else {}
    counts = {str(k): int(v) for k, v in counts.items()}
    done = sum(counts.get(s, 0) for s in DONE_STATES)
    n_budget = attrs.get("grid_size") or config.get("n_trials")
    timeout_s = config.get("timeout_s")
    elapsed = elapsed_seconds(attrs, df, status, now)
    best = best_row(df, scoring.direction)
    return Snapshot(
        name=name,
        status=status,
        config=config,
        scoring=scoring,
        task=attrs.get("task"),
        df=df,
        counts=counts,
        done=done,
        n_budget=n_budget,
        timeout_s=timeout_s,
        elapsed_s=elapsed,
        eta_s=eta_seconds(done, n_budget, elapsed, timeout_s) if status == "running" else None,
        best=best,
        curves=select_curves(trials, df, scoring.direction),
        step_kind=(attrs.get("budget") or {}).get("kind", "folds"),
        importance=importance,
        n_complete=n_complete,
        test=attrs.get("test") or {},
        message=attrs.get("message"),
        created_at=attrs.get("created_at"),
        started_at=attrs.get("started_at"),
        ended_at=attrs.get("ended_at"),
    )


def derived_columns(df: pd.DataFrame, direction: str) -> pd.DataFrame:
    """One copy of the trials frame with numbers made numeric, best_so_far (over complete
    trials, in trial order) and t_end (seconds from the run's first start to each trial's end)."""
    if not len(df):
        return df.assign(best_so_far=[], t_end=[])
    # A running trial's None makes a column object-typed after a concat: keep numbers numeric.
    numeric = {
        c: pd.to_numeric(df[c], errors="coerce")
        for c in NUMERIC
        if c in df and df[c].dtype == object
    }
    value = numeric.get("value", df["value"])
    complete = value.where(df["state"] == "complete")
    best = complete.cummax() if direction == "maximize" else complete.cummin()
    best = best.ffill()  # cummax leaves NaN at pruned/failed rows: carry the best over them
    start, end = pd.to_datetime(df["start"]), pd.to_datetime(df["complete"])
    t_end = (end - start.min()).dt.total_seconds()
    return df.assign(**numeric, best_so_far=best, t_end=t_end)


def complete_values(df: pd.DataFrame) -> pd.Series:
    """Finite scores of complete trials (index: the frame's)."""
    if not len(df):
        return pd.Series(dtype=float)
    values = df["value"].where(df["state"] == "complete").astype(float)
    return values[np.isfinite(values)]


def best_row(df: pd.DataFrame, direction: str) -> dict[str, Any] | None:
    values = complete_values(df)
    if not len(values):
        return None
    idx = values.idxmax() if direction == "maximize" else values.idxmin()
    return df.loc[idx].to_dict()


def _local_naive(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone().replace(tzinfo=None)


def elapsed_seconds(attrs: dict[str, Any], df: pd.DataFrame, status: str, now: float) -> float:
    """Wall-clock seconds the run has worked (all its sessions, resumes included)."""
    before = attrs.get("elapsed_s")
    if status != "running":
        if before is not None:
            return float(before)
        if len(df) and df["complete"].notna().any():
            return float(
                (
                    pd.to_datetime(df["complete"]).max() - pd.to_datetime(df["start"]).min()
                ).total_seconds()
            )
        return 0.0
    now_dt = datetime.fromtimestamp(now)
    if before is None:  # first session: since it started
        started = attrs.get("started_at")
        return max(0.0, (now_dt - _local_naive(started)).total_seconds()) if started else 0.0
    # A resumed run: earlier sessions plus this one, which began with its first new trial.
    ended = attrs.get("ended_at")
    since = None
    if ended and len(df):
        starts = pd.to_datetime(df["start"])
        later = starts[starts > _local_naive(ended)]
        since = later.min() if len(later) else None
    extra = (now_dt - since.to_pydatetime()).total_seconds() if since is not None else 0.0
    return float(before) + max(0.0, extra)


def eta_seconds(
    done: int, n_budget: int | None, elapsed: float, timeout_s: float | None
) -> float | None:
    """Time left: trials left at the pace so far, capped by the time budget."""
    estimates = []
    if n_budget and done > 0 and elapsed > 0:
        estimates.append(max(0, n_budget - done) * elapsed / done)
    if timeout_s:
        estimates.append(max(0.0, timeout_s - elapsed))
    return min(estimates) if estimates else None


def select_curves(
    trials: list[FrozenTrial], df: pd.DataFrame, direction: str,
    top: int = CURVES_TOP, last: int = CURVES_LAST,
) -> list[Curve]:  # fmt: skip
    """Learning curves of the best `top` complete trials and the `last` most recent trials."""
    if not len(df):
        return []
    values = complete_values(df)
    best = values.nlargest(top) if direction == "maximize" else values.nsmallest(top)
    chosen = set(df.loc[best.index, "number"].astype(int))
    recent = []
    for t in reversed(trials):
        if len(recent) >= last:
            break
        if t.intermediate_values:
            recent.append(t.number)
    chosen.update(recent)
    by_number = {t.number: t for t in trials} if _misnumbered(trials) else None
    curves = []
    for n in sorted(chosen):
        t = by_number[n] if by_number is not None else trials[n]
        if not t.intermediate_values:
            continue
        steps = sorted(t.intermediate_values)
        metrics = t.user_attrs.get("metrics") or {}
        curves.append(
            Curve(
                number=t.number,
                state=trial_row_state(t),
                steps=steps,
                values=[float(t.intermediate_values[s]) for s in steps],
                params=dict(t.params),
                stopped_early_at=metrics.get("stopped_early_at"),
            )
        )
    return curves


def _misnumbered(trials: list[FrozenTrial]) -> bool:
    """Trials come in number order from one study; check the ends rather than assume."""
    return bool(trials) and (trials[0].number != 0 or trials[-1].number != len(trials) - 1)
