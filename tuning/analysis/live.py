"""The long-lived reader of one run, and what the Live monitor shows of it at each refresh.

`LiveRun` holds one study object, one incremental `TrialFeed` and the run's `ImportanceCache`;
a page keeps one per run for the life of the process (ui.registry). `read()` is how the
Analysis and Report pages get the run's `RunData`; `snapshot()` is what every Live monitor
refresh calls: the same `RunData` plus the few live numbers (progress, time left, the learning
curves of the best and newest trials, importance when due, and whether another evaluator
ranks the parameters differently), as plain data that tuning.plots.live turns
into figures. Both read only new or unfinished trials, and both take importance from the same
cache, so the two pages show the same numbers for the same run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from optuna.storages import BaseStorage

from tuning.analysis import pareto
from tuning.analysis.param_importance import (
    DEFAULT_METHOD,
    MIN_TRIALS_FOR_IMPORTANCE,
    Disagreement,
    Importance,
    ImportanceCache,
)
from tuning.analysis.rundata import RunData, load_run, running_best
from tuning.analysis.statistics import Curve, select_curves
from tuning.core.enums import RunStatus
from tuning.core.objectives import Objective
from tuning.core.scoring import Scoring, StudyValue
from tuning.store.records import RunRecord, is_foreign_study
from tuning.store.results import TrialFeed
from tuning.store.runs import load_study

CURVES_TOP = 20  # learning curves: the best trials...
CURVES_RECENT = 20  # ...and the most recent ones
# 3+ objectives: hypervolume evaluations over a recomputed history (and one per refresh)
HV_EVALUATIONS = 100
DONE_STATES = ("complete", "pruned", "failed")  # states that used budget ("stopped" did not)
NUMERIC = ("value", "cv_std", "train_score", "fit_seconds", "score_seconds", "duration_s", "step")


@dataclass
class Snapshot:
    """One refresh of the Live monitor: the run as read, and what the page shows of it."""

    run: RunData
    df: pd.DataFrame  # run.frame with numbers made numeric and t_end (s from run start to end)
    counts: dict[str, int]
    done: int  # trials that used budget
    elapsed_s: float
    eta_s: float | None
    best: dict[str, Any] | None
    curves: list[Curve]
    importance: Importance | None  # None until MIN_TRIALS_FOR_IMPORTANCE trials complete
    disagreement: Disagreement | None = None  # where another evaluator ranks differently
    front: FrontView | None = None  # multi-objective runs: the Pareto front (FrontTracker)

    @property
    def record(self) -> RunRecord:
        return self.run.record

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def status(self) -> str:
        """As stored (queued/running/finished/stopped/failed/interrupted)."""
        return str(self.record.status)

    @property
    def scoring(self) -> Scoring | StudyValue:
        return self.run.metric

    @property
    def direction(self) -> str:
        return self.run.direction

    @property
    def score_title(self) -> str:
        """E.g. 'accuracy (higher is better)': the score's name and direction, for axes."""
        return f"{self.run.label} ({self.run.arrow})"

    @property
    def n_complete(self) -> int:
        return self.run.n_complete

    @property
    def n_budget(self) -> int | None:
        """Trials in the budget (or the grid's size)."""
        return self.record.n_trials

    @property
    def timeout_s(self) -> float | None:
        return self.record.config.timeout_s if self.record.config else None

    @property
    def step_kind(self) -> str:
        return self.run.budget_kind

    @property
    def step_label(self) -> str:
        return self.run.step_label

    @property
    def test(self) -> dict[str, Any]:
        return self.run.test

    @property
    def progress(self) -> float | None:
        """Share of the budget used, 0..1 (trials or time, whichever is further)."""
        shares = []
        if self.n_budget:
            shares.append(self.done / self.n_budget)
        if self.timeout_s:
            shares.append(self.elapsed_s / self.timeout_s)
        return min(1.0, max(shares)) if shares else None


@dataclass
class FrontView:
    """A multi-objective run's Pareto front at one refresh, as the Live monitor shows it."""

    objectives: list[Objective]
    points: pd.DataFrame  # the complete trials' objective values (pareto.objective_points)
    numbers: np.ndarray  # the front's trial numbers, ascending
    reference: np.ndarray  # the hypervolume's reference point (pareto.run_reference)
    history: pd.DataFrame  # number, hypervolume: after each complete trial, in trial order
    choice: dict[str, Any] | None = None  # the chosen trade-off: trial, rule, reason
    reference_trials: int = 0  # complete trials that set the reference (fixed at REFERENCE_TRIALS)
    # complete trials' hover text of the front figures (tuning.plots.pareto.param_texts)
    hover_cache: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.numbers)

    @property
    def hypervolume(self) -> float:
        return float(self.history["hypervolume"].iloc[-1]) if len(self.history) else 0.0

    @property
    def chosen(self) -> int | None:
        trial = (self.choice or {}).get("trial")
        return None if trial is None else int(trial)


class FrontTracker:
    """The Pareto front and hypervolume history of one run, kept across Live refreshes.

    Each refresh feeds the front only the trials that became complete since the last one
    (`pareto.ParetoFront.add` compares them with the current front only): a 10,000-trial run
    is not rescanned every few seconds. The reference point is recomputed from all complete
    trials until REFERENCE_TRIALS completed, then fixed (pareto.run_reference); only when it
    moved (during those first trials), or when a trial completed before an earlier-numbered one
    already in the history (parallel workers), is the history recomputed from the start;
    otherwise it is extended with the new trials."""

    def __init__(self, objectives: list[Objective]) -> None:
        self.objectives = objectives
        self.directions = [o.direction for o in objectives]
        self.names = [o.name for o in objectives]
        self.front = pareto.ParetoFront(self.directions)
        self._fed = np.zeros(0, dtype=bool)  # by trial number: already given to `front`
        self.reference: np.ndarray | None = None
        self.reference_trials = 0
        self._reset_history()
        self.recomputed = 0  # full history recomputations (the benchmark reports them)
        self.hover_cache: dict[int, str] = {}

    def _reset_history(self) -> None:
        self._hist_front = pareto.ParetoFront(self.directions)
        self._hist_numbers: list[int] = []
        self._hist_values: list[float] = []
        self._hv = 0.0
        self._history: pd.DataFrame | None = None  # the lists as a frame, made when read

    def _extend_history(self, numbers: np.ndarray, values: np.ndarray, every: int) -> None:
        """As pareto.hypervolume_history, from where the history stopped. Two objectives: the
        hypervolume after every trial that changed the front (exact and cheap). Three or more:
        the exact volume costs far more (seconds for a few hundred members in 4-D), so it is
        evaluated only at every `every`-th trial and at the last one when the front changed
        since, and carried over between (HV_EVALUATIONS)."""
        exact = len(self.directions) == 2
        stale, last = False, len(numbers) - 1
        for i, (number, row) in enumerate(zip(numbers, values, strict=True)):
            stale |= self._hist_front.add([number], row[None, :])
            if stale and (exact or i % every == 0 or i == last):
                self._hv = pareto.hypervolume(
                    self._hist_front.points, self.directions, self.reference
                )
                stale = False
            self._hist_numbers.append(int(number))
            self._hist_values.append(self._hv)
        self._history = None

    def update(self, frame: pd.DataFrame, choice: dict[str, Any] | None = None) -> FrontView:
        pts = pareto.objective_points(frame, self.objectives)
        numbers = pts["number"].to_numpy(dtype=np.int64)
        values = pts[self.names].to_numpy(dtype=float)
        if len(numbers) and numbers.max() >= len(self._fed):
            grown = np.zeros(int(numbers.max()) + 1, dtype=bool)
            grown[: len(self._fed)] = self._fed
            self._fed = grown
        new = ~self._fed[numbers] if len(numbers) else np.zeros(0, dtype=bool)
        if new.any():
            self.front.add(numbers[new], values[new])
            self._fed[numbers[new]] = True
        ref, self.reference_trials = pareto.run_reference(frame, self.objectives)
        last = self._hist_numbers[-1] if self._hist_numbers else -1
        in_order = not new.any() or numbers[new].min() > last
        if self.reference is None or not np.array_equal(ref, self.reference) or not in_order:
            self.reference = ref
            self._reset_history()
            self._extend_history(numbers, values, max(1, -(-len(numbers) // HV_EVALUATIONS)))
            self.recomputed += 1
        elif new.any():  # numbers (objective_points) ascend: the new ones in trial order
            self._extend_history(numbers[new], values[new], int(new.sum()))
        if self._history is None:
            self._history = pd.DataFrame(
                {
                    "number": np.asarray(self._hist_numbers, dtype=np.int64),
                    "hypervolume": np.asarray(self._hist_values, dtype=float),
                }
            )
        history = self._history
        return FrontView(
            self.objectives, pts, np.sort(self.front.numbers), self.reference, history, choice,
            reference_trials=self.reference_trials, hover_cache=self.hover_cache,
        )  # fmt: skip


class LiveRun:
    """Long-lived reader of one run. Thread-safe: sessions share it through ui.registry."""

    def __init__(self, storage: BaseStorage, name: str) -> None:
        self.name = name
        self.storage = storage
        self.study = load_study(name, storage)
        self.study_id = storage.get_study_id_from_name(name)
        self.foreign = is_foreign_study(self.study)  # made by another tool: read-only
        self.feed = TrialFeed(self.study, values=self.foreign)
        self.lock = threading.Lock()
        self.hover_cache: dict[int, str] = {}  # finished trials' hover text (tuning.plots.live)
        self.importances = ImportanceCache()  # the one importance of this run, per method
        self.fronts: FrontTracker | None = None  # multi-objective runs: made on first refresh
        self.n_objectives: int | None = None
        self.reads = 0  # refreshes so far: after the first, a read costs only the new trials

    @property
    def warm(self) -> bool:
        """Whether the run's trials were read before (by any session): a look is quick."""
        return self.reads > 0

    def record(self, now: float | None = None) -> RunRecord:
        """The run's record, from one fresh read of its attributes."""
        return RunRecord.from_study(self.study, now)

    def read(self, now: float | None = None) -> RunData:
        """The run for analysis; converts only trials that are new or were unfinished."""
        with self.lock:  # one refresh at a time: the feed appends in place
            self.feed.refresh()
            self.reads += 1
            return load_run(self.study, self.feed, now)

    def front(self, run: RunData) -> FrontView | None:
        """The Pareto front of a multi-objective run (None for a single-objective one),
        updated with the trials completed since the last call."""
        if self.n_objectives is None:  # a study's directions never change: read them once
            self.n_objectives = len(self.study.directions)
        objectives = run.record.objectives
        if self.n_objectives < 2 or len(objectives) != self.n_objectives:
            return None  # single-objective (or a saved config this version cannot read)
        with self.lock:
            if self.fronts is None:
                self.fronts = FrontTracker(objectives)
            return self.fronts.update(run.frame, run.record.choice)

    def importance(self, run: RunData, method: str = DEFAULT_METHOD) -> Importance:
        """The run's importance by `method`, from the one cache (computed when due)."""
        return self.importances.get(run, method)

    def snapshot(self, now: float | None = None, importance: bool = True) -> Snapshot:
        """The run now; `importance=False` leaves importance out (the Live monitor's first look
        draws its charts first, then `add_importance`: computing it takes seconds)."""
        now = time.time() if now is None else now
        run = self.read(now)
        if not importance or run.n_complete < MIN_TRIALS_FOR_IMPORTANCE:
            snap = build_snapshot(run, None, now)
        else:
            imp = self.importances.get(run, now=now)
            snap = build_snapshot(run, imp, now, self.importances.disagreement(run, now))
        snap.front = self.front(run)
        return snap

    def add_importance(self, snap: Snapshot, now: float | None = None) -> Snapshot:
        """A snapshot taken without importance, completed with it (and the evaluators'
        disagreement) from the run's one cache, when enough trials are complete."""
        if snap.importance is None and snap.run.n_complete >= MIN_TRIALS_FOR_IMPORTANCE:
            now = time.time() if now is None else now
            snap.importance = self.importances.get(snap.run, now=now)
            snap.disagreement = self.importances.disagreement(snap.run, now)
        return snap


def build_snapshot(
    run: RunData, importance: Importance | None, now: float, disagreement: Disagreement | None = None
) -> Snapshot:
    df = derived_columns(run.frame, run.direction)
    counts = df["state"].value_counts().to_dict() if len(df) else {}
    counts = {str(k): int(v) for k, v in counts.items()}
    done = sum(counts.get(s, 0) for s in DONE_STATES)
    elapsed = elapsed_seconds(run.record, df, now)
    running = run.record.status == RunStatus.RUNNING
    best = run.best
    return Snapshot(
        run=run,
        df=df,
        counts=counts,
        done=done,
        elapsed_s=elapsed,
        eta_s=eta_seconds(done, run.record.n_trials, elapsed, _timeout(run)) if running else None,
        best=None if best is None else df.loc[best.name].to_dict(),
        curves=select_curves(run, CURVES_TOP, recent=CURVES_RECENT),
        importance=importance,
        disagreement=disagreement,
    )


def _timeout(run: RunData) -> float | None:
    return run.config.timeout_s if run.config else None


def derived_columns(df: pd.DataFrame, direction: str) -> pd.DataFrame:
    """The trials frame with numbers made numeric, best_so_far (see running_best; kept when
    there) and t_end (seconds from the run's first start to each trial's end)."""
    if not len(df):
        return df.assign(best_so_far=[], t_end=[])
    # A running trial's None makes a column object-typed after a concat: keep numbers numeric.
    numeric = {
        c: pd.to_numeric(df[c], errors="coerce")
        for c in NUMERIC
        if c in df and df[c].dtype == object
    }
    start, end = pd.to_datetime(df["start"]), pd.to_datetime(df["complete"])
    t_end = (end - start.min()).dt.total_seconds()
    best = df["best_so_far"] if "best_so_far" in df else running_best(df, direction)
    return df.assign(**numeric, best_so_far=best, t_end=t_end)


def _local_naive(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone().replace(tzinfo=None)


def elapsed_seconds(record: RunRecord, df: pd.DataFrame, now: float) -> float:
    """Wall-clock seconds the run has worked (all its sessions, resumes included)."""
    before = record.elapsed_s
    if record.status != RunStatus.RUNNING:
        if before is not None:
            return float(before)
        if len(df) and df["complete"].notna().any():
            # A failed trial counts until it started: a run whose process died has its unfinished
            # trial marked failed when that is noticed, maybe hours later.
            starts = pd.to_datetime(df["start"])
            ends = pd.to_datetime(df["complete"]).where(df["state"] != "failed", starts)
            return max(0.0, float((ends.max() - starts.min()).total_seconds()))
        return 0.0
    now_dt = datetime.fromtimestamp(now)
    if before is None:  # first session: since it started
        started = record.started_at
        return max(0.0, (now_dt - _local_naive(started)).total_seconds()) if started else 0.0
    # A resumed run: earlier sessions plus this one, which began with its first new trial.
    since = None
    if record.ended_at and len(df):
        starts = pd.to_datetime(df["start"])
        later = starts[starts > _local_naive(record.ended_at)]
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
