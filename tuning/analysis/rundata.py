"""One run read for analysis: `RunData` (its trials as a DataFrame, its record, its parameters)
and the small value helpers every other analysis module shares.

The trials come from a `TrialFeed` (a page passes its long-lived one, so a refresh converts only
new trials); the run's attributes are read once, through `RunRecord`, per `load_run`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from optuna.trial import FrozenTrial

from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus
from tuning.core.scoring import Scoring, StudyValue
from tuning.core.space import SearchSpace
from tuning.store.records import RunRecord, direction_of, is_foreign_study
from tuning.store.results import TrialFeed
from tuning.store.trials import TrialMetrics

# What one step of a trial's intermediate scores is, by the run's budget kind (axis titles).
STEP_LABELS = {"folds": "CV folds completed", "epochs": "epoch", "rounds": "boosting rounds"}


@dataclass(frozen=True)
class ParamInfo:
    """What analysis needs to know about one searched parameter."""

    name: str
    kind: str  # "int" | "float" | "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    @property
    def numeric(self) -> bool:
        return self.kind != "categorical"

    def unit(self, values: Any) -> np.ndarray:
        """Position of values in [0, 1] along the range (on the log scale where log)."""
        x = np.asarray(values, dtype=float)
        low, high = float(self.low), float(self.high)
        if self.log:
            x, low, high = np.log(np.clip(x, 1e-300, None)), math.log(low), math.log(high)
        if high == low:
            return np.full_like(x, 0.5)
        return (x - low) / (high - low)

    def from_unit(self, u: float) -> float:
        low, high = float(self.low), float(self.high)
        if self.log:
            return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        return low + u * (high - low)


@dataclass
class RunData:
    """One run read from storage: its trials as a DataFrame plus what describes the run.

    `frame` has one row per trial (the columns of `tuning.store.results.trial_row`, plus
    `best_so_far` and `partial_value`); its `value` is a score only for the trials that have one
    (see `scored`): a trial cut short keeps its running mean in `partial_value`. `trials` holds the same trials as Optuna FrozenTrials (not copied: read
    only). `record` is the run's typed record.
    Read once per refresh and not changed afterwards (derived tables are cached on it).
    """

    name: str
    frame: pd.DataFrame
    trials: list[FrozenTrial]
    direction: str
    scoring: str
    record: RunRecord
    params: dict[str, ParamInfo] = field(default_factory=dict)

    # -- the score ------------------------------------------------------------------------
    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    @property
    def sign(self) -> float:
        """Multiply a score by this and greater is better."""
        return 1.0 if self.maximize else -1.0

    @property
    def label(self) -> str:
        if self.record.foreign is not None:
            return self.scoring
        return Scoring(self.scoring).label

    @property
    def metric(self) -> Scoring | StudyValue:
        """Objective 0 as the views name it: the run's scorer, or a foreign study's value."""
        if self.record.foreign is not None:
            return StudyValue(self.scoring, self.direction)
        return Scoring(self.scoring)

    @property
    def arrow(self) -> str:
        return "higher is better" if self.maximize else "lower is better"

    @property
    def score_title(self) -> str:
        """e.g. 'CV accuracy (higher is better)'; a foreign study's value has no CV."""
        cv = "" if self.record.foreign is not None else "CV "
        return f"{cv}{self.label} ({self.arrow})"

    # -- trials -----------------------------------------------------------------------------
    @property
    def complete(self) -> pd.DataFrame:
        """Complete trials with a finite score, in trial order."""
        return self._cached("complete", lambda: self.frame[self._complete_mask()])

    @property
    def n_complete(self) -> int:
        return int(self._complete_mask().sum())

    def ranked(self) -> pd.DataFrame:
        """Complete trials, best first (ties: the earlier trial first)."""
        return self._cached("ranked", lambda: self.frame.iloc[self._ranked_rows()])

    def ranked_numbers(self) -> np.ndarray:
        """The numbers of the complete trials, best first (as ranked(), without the rows)."""
        return self.frame["number"].to_numpy(dtype=np.int64)[self._ranked_rows()]

    @property
    def best(self) -> pd.Series | None:
        rows = self._ranked_rows()
        return self.frame.iloc[rows[0]] if len(rows) else None

    def _complete_mask(self) -> np.ndarray:
        return self._cached("complete_mask", lambda: scored(self.frame))

    def _ranked_rows(self) -> np.ndarray:
        """Positions in `frame` of the complete trials, best first, ties by trial number."""

        def rows() -> np.ndarray:
            at = np.flatnonzero(self._complete_mask())
            goodness = self.sign * to_float(self.frame["value"])[at]
            numbers = self.frame["number"].to_numpy()[at]
            return at[np.lexsort((numbers, -goodness))]

        return self._cached("ranked_rows", rows)

    def trial(self, number: int) -> FrozenTrial:
        n = int(number)
        if 0 <= n < len(self.trials) and self.trials[n].number == n:  # one study: in order
            return self.trials[n]
        t = self._by_number().get(n)
        if t is None:
            raise KeyError(f"The run has no trial {number}.")
        return t

    def metrics(self, number: int) -> TrialMetrics:
        return TrialMetrics.of(self.trial(number))

    def _by_number(self) -> dict[int, FrozenTrial]:
        return self._cached("numbers", lambda: {t.number: t for t in self.trials})

    def _cached(self, key: str, make):
        """Derived tables, computed once per RunData (the frame is not changed after loading)."""
        cache = self.__dict__.setdefault("_derived", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    # -- the run ----------------------------------------------------------------------------
    @property
    def config(self) -> RunConfig | None:
        return self.record.config

    @property
    def status(self) -> RunStatus:
        """As readers should see it (a "running" run with a stale heartbeat is interrupted)."""
        return self.record.status

    @property
    def working(self) -> bool:
        """The run is working (here or in another process): its trials still change."""
        return self.record.status == RunStatus.RUNNING

    @property
    def test(self) -> dict[str, Any]:
        """The held-out test result as a dict (empty when there is none)."""
        t = self.record.test
        return {k: v for k, v in asdict(t).items() if v is not None} if t else {}

    @property
    def folds(self) -> int | None:
        return self.config.cv_folds if self.config else None

    @property
    def budget_kind(self) -> str:
        return str(self.record.budget.kind) if self.record.budget else "folds"

    @property
    def step_label(self) -> str:
        """What one step of the learning curves is (e.g. 'CV folds completed'); a study another
        tool made says only "step" (whatever its objective passed to trial.report)."""
        if self.record.foreign is not None:
            return "step (as trial.report was given it)"
        return STEP_LABELS.get(self.budget_kind, "step")

    @property
    def space(self) -> SearchSpace | None:
        return self.config.space if self.config else None

    @property
    def param_names(self) -> list[str]:
        return list(self.params)

    def param_values(self, name: str, df: pd.DataFrame | None = None) -> pd.Series:
        df = self.frame if df is None else df
        col = f"param_{name}"
        return df[col] if col in df else pd.Series([None] * len(df), index=df.index, dtype=object)


def load_run(
    study: optuna.Study, feed: TrialFeed | None = None, now: float | None = None
) -> RunData:
    """Read a run for analysis. Pass the page's long-lived TrialFeed, refreshed, to reuse its
    incremental frame (a refresh then converts only new trials); without one, all trials are
    read once. `now` dates the status (a stale heartbeat reads as interrupted)."""
    if feed is None:
        feed = TrialFeed(study, values=is_foreign_study(study))
        feed.refresh()
    frame, trials = feed.frame(), feed.trials
    direction = direction_of(study)
    record = RunRecord.from_study(study, now, trials)
    frame = score_only(frame).assign(best_so_far=running_best(frame, direction))
    return RunData(
        name=study.study_name,
        frame=frame,
        trials=list(trials),
        direction=direction,
        scoring=record.scoring or record.objectives[0].label,
        record=record,
        params=_param_infos(record.config, trials, frame),
    )


def scored(frame: pd.DataFrame) -> np.ndarray:
    """The one rule of what is a score: the trials that completed with a finite value.

    A pruned, stopped or failed trial also carries a `value` in the feed (its running mean over
    the folds or epochs it got through, `TrialMetrics.cv_mean`), but that mean is over part of
    the budget: never a score, never a best, never on a score axis."""
    if not len(frame):
        return np.zeros(0, dtype=bool)
    return (frame["state"] == "complete").to_numpy() & np.isfinite(to_float(frame["value"]))


def score_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The trials frame with `value` kept only where it is a score (`scored`); a partial trial's
    running mean moves to `partial_value`. Every view reads this frame, so none can draw it as
    a score by mistake."""
    ok = scored(frame)
    values = to_float(frame["value"]) if len(frame) else np.zeros(0)
    return frame.assign(
        value=np.where(ok, values, np.nan), partial_value=np.where(ok, np.nan, values)
    )


def running_best(frame: pd.DataFrame, direction: str) -> pd.Series:
    """The best score over complete trials so far, in trial order: NaN before the first complete
    trial, carried over the trials that did not complete (a pruned trial is not a new best)."""
    sign = 1.0 if direction == "maximize" else -1.0
    goodness = np.where(scored(frame), sign * to_float(frame["value"]), np.nan)
    # fmax skips NaN: NaN until the first complete trial, then the best so far, carried over.
    return pd.Series(sign * np.fmax.accumulate(goodness), index=frame.index, dtype=float)


def best_by_end(frame: pd.DataFrame, direction: str) -> pd.DataFrame:
    """The best score against time: the finished trials in the order they ended (ties: by
    number), indexed as in `frame`, with number, state, end_s (seconds from the run's first
    start to the trial's end) and best (the best complete score among the trials ended so far;
    NaN before the first)."""
    fin = frame[frame["start"].notna() & frame["complete"].notna()]
    if fin.empty:
        return pd.DataFrame(columns=["number", "state", "end_s", "best"], dtype=float)
    end = pd.to_datetime(fin["complete"])
    order = np.lexsort((fin["number"].to_numpy(), end.to_numpy(dtype="datetime64[ns]")))
    fin, end = fin.iloc[order], end.iloc[order]
    sign = 1.0 if direction == "maximize" else -1.0
    values = to_float(fin["value"])
    ok = scored(fin)
    best = np.maximum.accumulate(np.where(ok, sign * values, -np.inf))
    return pd.DataFrame(
        {
            "number": fin["number"].to_numpy(),
            "state": fin["state"].to_numpy(),
            "end_s": (end - pd.to_datetime(frame["start"]).min()).dt.total_seconds().to_numpy(),
            "best": np.where(np.isfinite(best), sign * best, np.nan),
        },
        index=fin.index,
    )


def _param_infos(
    config: RunConfig | None, trials: Sequence[FrozenTrial], frame: pd.DataFrame
) -> dict[str, ParamInfo]:
    seen = [c[len("param_") :] for c in frame.columns if c.startswith("param_")]
    infos: dict[str, ParamInfo] = {}
    space = config.space if config else None
    if space is not None:
        for p in space.params:
            if p.enabled and (p.name in seen or not seen):
                infos[p.name] = ParamInfo(p.name, p.kind, p.low, p.high, p.log, p.choices)
    # Parameters not described by the saved space: take their distribution from the trials.
    missing = [n for n in seen if n not in infos]
    for t in reversed(trials):
        if not missing:
            break
        for name in list(missing):
            d = t.distributions.get(name)
            if d is not None:
                infos[name] = _info_from_distribution(name, d)
                missing.remove(name)
    return infos


def _info_from_distribution(name: str, d: BaseDistribution) -> ParamInfo:
    if isinstance(d, CategoricalDistribution):
        return ParamInfo(name, "categorical", choices=tuple(d.choices))
    kind = "int" if isinstance(d, IntDistribution) else "float"
    return ParamInfo(name, kind, d.low, d.high, d.log)


# -- value helpers --------------------------------------------------------------------------------
def to_float(s: Any) -> np.ndarray:
    """Any column or list as a float array (None and text become NaN)."""
    return pd.to_numeric(pd.Series(s), errors="coerce").to_numpy(dtype=float)


def sample_rows(df: pd.DataFrame, n_max: int, goodness: np.ndarray | None = None) -> pd.DataFrame:
    """At most n_max rows, deterministically: the best quarter by `goodness`, then evenly spaced
    rows of the rest. Returned in the original order."""
    if len(df) <= n_max:
        return df
    n_best = n_max // 4 if goodness is not None else 0
    keep = np.zeros(len(df), dtype=bool)
    if n_best:
        g = np.where(np.isfinite(goodness), goodness, -np.inf)
        keep[np.argsort(-g, kind="stable")[:n_best]] = True
    rest = np.flatnonzero(~keep)
    pick = np.linspace(0, len(rest) - 1, n_max - n_best).round().astype(int)
    keep[rest[pick]] = True
    return df[keep]


NOT_APPLICABLE = "—"  # a parameter a trial did not have (gamma under a linear kernel)


def param_cell(v: Any, fmt: Callable[[Any], str] | None = None) -> str:
    """A trial's parameter value for a shown table: "—" where the parameter does not apply
    (missing: NaN in the trials' frame), else fmt(v) (default fmt_value). None is a real
    choice (max_depth=None) and is formatted, not hidden. Every table of trials uses this."""
    if v is not None and not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v):
        return NOT_APPLICABLE
    return (fmt or fmt_value)(v)


def decimal(x: float, digits: int = 2, sign: bool = False) -> str:
    """`digits` significant digits written out (0.000037, not 3.7e-05): a gain or a noise is
    read as a decimal; only below a millionth does it fall back to an exponent."""
    plus = "+" if sign else ""
    if not math.isfinite(x) or x == 0:
        return f"{x:{plus}g}" if not math.isfinite(x) else "0"
    dec = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    if dec > 7:
        return f"{x:{plus}.{digits}g}"
    text = f"{x:{plus}.{dec}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text  # as "g" would: 0.0022


def fmt_value(v: Any) -> str:
    """A parameter or score value for people: 4 significant digits for floats."""
    if isinstance(v, bool | np.bool_) or v is None:
        return str(v)
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)
