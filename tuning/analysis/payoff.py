"""Did tuning pay off? The gain over the library defaults as every page headlines it.

`payoff(run)` wraps `baseline.gain_over_defaults` for the pages: the headline sentence (with
"provisional" while the run works, and where the defaults were scored when they are not a
trial), a compact cell for tables ("+0.032 (±0.012)", "+0.004 (±0.010), within noise") and
why there is none ("no baseline": never a made-up one). `listed_payoff(summary)` does the same
from a runs listing's one pass over the trials (Home), without reading the run again.
`experiment_payoff(info)` pools each method's gain over an experiment's seeds: per seed, its
members share the folds and the defaults, so the defaults are stated once and each method's
paired fold differences over all seeds give one interval (the corrected resampled t interval
for repeated cross-validation, Bouckaert & Frank 2004: n = folds x seeds differences, variance
factor 1/n + 1/(k-1) for k folds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from tuning.analysis.baseline import (
    LEVEL,
    Gain,
    defaults_score,
    gain_decimals,
    gain_over_defaults,
    signed,
    why_no_gain,
)
from tuning.analysis.rundata import RunData
from tuning.analysis.statistics import corrected_interval
from tuning.core.enums import RunStatus
from tuning.core.scoring import Scoring
from tuning.runs.entries import entry_label
from tuning.runs.experiments import ExperimentInfo, joined
from tuning.store.records import Baseline, RunRecord
from tuning.store.results import RunSummary, run_summary
from tuning.store.runs import as_storage
from tuning.store.trials import TrialMetrics

PROVISIONAL = "Provisional, while the run works: "


@dataclass(frozen=True)
class Payoff:
    """A run's gain over the library defaults as the pages state it."""

    gain: Gain | None
    why: str | None  # why there is no gain (None when there is one)
    provisional: bool  # the run still works: its best, hence the gain, may still change
    beside: str | None = None  # where the defaults were scored when they are not a trial
    no_baseline: bool = False  # the run has none (made before baselines, switched off, ...)

    @property
    def verdict(self) -> str:
        """"beats", "noise", "defaults_best", "worse" or "none" (for a page's icon)."""
        g = self.gain
        if g is None:
            return "none"
        if g.defaults_are_best or g.ties_defaults:
            return "defaults_best"
        if g.within_noise:
            return "noise"
        return "beats" if g.beats_defaults else "worse"

    @property
    def headline(self) -> str:
        """The sentence: the gain with its interval, or why there is none."""
        if self.gain is None:
            return (self.why or "No gain over the library defaults to state.").rstrip()
        text = _capital(self.gain.sentence) + "."
        if self.beside:
            text += f" The library defaults were {self.beside}."
        return (PROVISIONAL + _lower(text)) if self.provisional else text

    @property
    def test_line(self) -> str | None:
        """The held-out test of both the tuned model and the defaults (once the run ended)."""
        t = self.gain.test_sentence if self.gain is not None else None
        return None if t is None or self.provisional else _capital(t) + "."

    @property
    def short(self) -> str:
        """A table cell: the gain and its interval's half-width, or what stands in for it."""
        g = self.gain
        if g is None:
            return "no baseline" if self.no_baseline else "—"
        dec = gain_decimals(g)
        low, high = g.gain_interval
        half = f"±{(high - low) / 2:.{dec}f}"
        if g.defaults_are_best:
            cell = "defaults are best"
        elif g.ties_defaults:
            cell = "ties the defaults"
        elif g.within_noise:  # the gain with its interval, and that the interval holds 0
            cell = f"{_point(g.gain, dec)} ({half}), within noise"
        elif g.beats_defaults:
            cell = f"{signed(g.gain, dec)} ({half})"
        else:
            cell = f"defaults better: {signed(g.gain, dec)} ({half})"
        return cell + (" so far" if self.provisional else "")


def _point(gain: float, dec: int) -> str:
    """A gain inside the noise as a table states it: signed, or 0 ("±0.000" beside "(±0.024)"
    would read as a second interval)."""
    text = signed(gain, dec)
    return text.lstrip("±")


def payoff(run: RunData) -> Payoff:
    """The gain over the library defaults of a run read for analysis."""
    return _payoff(run, run.record.status == RunStatus.RUNNING)


def listed_payoff(summary: RunSummary) -> Payoff:
    """The same from a runs listing (its record and the trials it was read from)."""
    if summary.record is None or summary.trials is None:
        return Payoff(None, "The listing has no trials to compare.", False)
    view = ListedRun(summary.record, summary.trials, summary.best_number)
    return _payoff(view, summary.record.status == RunStatus.RUNNING)


def _payoff(run: Any, working: bool) -> Payoff:
    gain = gain_over_defaults(run)
    if gain is None:
        stored = run.record.baseline
        none = run.record.foreign is not None or stored is None or stored.status == Baseline.NONE
        return Payoff(None, why_no_gain(run), False, no_baseline=none)
    beside = None
    if gain.defaults_trial is None:
        d = defaults_score(run)
        beside = d.where if d is not None else None
    return Payoff(gain, None, working, beside)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


class ListedRun:
    """What the gain reads of a run (`baseline.gain_over_defaults`), from a record and its
    trials alone: a listing has both already, so no frame is built and nothing is read twice."""

    def __init__(self, record: RunRecord, trials: list[FrozenTrial],
                 best_number: int | None) -> None:  # fmt: skip
        self.record = record
        self.trials = trials
        self.direction = record.direction
        # The listing's best: the best complete score, ties to the earlier trial (as RunData)
        self.best = None if best_number is None else {"number": int(best_number)}

    @property
    def label(self) -> str:
        return Scoring(self.record.scoring).label if self.record.scoring else ""

    def trial(self, number: int) -> FrozenTrial:
        n = int(number)
        if 0 <= n < len(self.trials) and self.trials[n].number == n:  # one study: in order
            return self.trials[n]
        return next(t for t in self.trials if t.number == n)

    def metrics(self, number: int) -> TrialMetrics:
        return TrialMetrics.of(self.trial(number))


# -- an experiment: each method's gain pooled over its seeds ---------------------------------
@dataclass(frozen=True)
class MethodGain:
    """One method's gain over the defaults pooled over the seeds (gain units: > 0 is better)."""

    method: str
    seeds: int  # seeds with a gain to pool
    n: int  # paired fold differences over those seeds
    gain: float | None = None
    low: float | None = None
    high: float | None = None
    missing: list[str] = field(default_factory=list)  # members without a gain, and why

    @property
    def within_noise(self) -> bool:
        return self.low is not None and self.low <= 0 <= self.high

    def cell(self, dec: int) -> str:
        if self.gain is None:
            return "no gain to state"
        half = f"±{(self.high - self.low) / 2:.{dec}f}"
        if self.low == self.high == 0:  # every seed's best scored what the defaults did
            return "ties the defaults"
        if self.within_noise:
            return f"{_point(self.gain, dec)} ({half}), within noise"
        if self.low > 0:
            return f"{signed(self.gain, dec)} ({half})"
        return f"defaults better: {signed(self.gain, dec)} ({half})"


@dataclass(frozen=True)
class ExperimentPayoff:
    defaults: str  # the defaults' score, stated once
    methods: list[MethodGain]
    decimals: int
    sentence: str  # what the table says, in words


def experiment_payoff(info: ExperimentInfo, storage: BaseStorage | str | None = None,
                      level: float = LEVEL) -> ExperimentPayoff:  # fmt: skip
    """Each method's gain over the library defaults, pooled over the experiment's seeds."""
    storage = as_storage(storage)
    gains: dict[str, list[Gain]] = {m: [] for m in info.config.entries}
    missing: dict[str, list[str]] = {m: [] for m in info.config.entries}
    per_seed: dict[int, Gain] = {}
    for r in info.runs:
        s = run_summary(storage, r["run"])
        p = listed_payoff(s)
        if p.gain is None:
            missing[r["method"]].append(f"seed {r['seed']}: {p.why}")
            continue
        gains[r["method"]].append(p.gain)
        per_seed.setdefault(int(r["seed"]), p.gain)
    rows = [pooled_gain(m, gains[m], missing[m], level) for m in info.config.entries]
    dec = max((gain_decimals(g) for g in per_seed.values()), default=3)
    defaults = _defaults_once(list(per_seed.values()), dec)
    return ExperimentPayoff(defaults, rows, dec, experiment_sentence(rows, dec, level))


def pooled_gain(method: str, gains: list[Gain], missing: list[str] | None = None,
                level: float = LEVEL) -> MethodGain:  # fmt: skip
    """One method's gain over the defaults from its seeds' gains: all their paired fold
    differences, with the corrected resampled t interval for repeated k-fold CV."""
    missing = list(missing or [])
    folds = {g.n_folds for g in gains}
    if not gains or len(folds) != 1:
        why = missing or ["its seeds were scored on different numbers of folds"]
        return MethodGain(method, 0, 0, missing=why)
    k = folds.pop()
    # Each seed's paired fold differences (best - defaults), signed so that > 0 is better.
    diffs = np.concatenate([g.sign * _fold_differences(g) for g in gains])
    if len(diffs) < 2:
        return MethodGain(method, len(gains), len(diffs), missing=missing)
    mean, low, high = corrected_interval(diffs, np.zeros_like(diffs), level, 1.0 / (k - 1))
    return MethodGain(method, len(gains), len(diffs), mean, low, high, missing)


def _fold_differences(g: Gain) -> np.ndarray:
    return np.asarray(g.best_folds, dtype=float) - np.asarray(g.defaults_folds, dtype=float)


def _defaults_once(gains: list[Gain], dec: int) -> str:
    if not gains:
        return "No member has a scored baseline: there are no library defaults to compare with."
    means = [g.defaults_mean for g in gains]
    label = gains[0].label
    where = "scored on each seed's folds" if len(gains) > 1 else "scored on the run's folds"
    spread = (f" (range {min(means):.{dec}f} to {max(means):.{dec}f} over {len(gains)} "
              "seeds)" if len(gains) > 1 else f" ± {gains[0].defaults_std:.{dec}f}")  # fmt: skip
    return (
        f"The library defaults: CV {label} {float(np.mean(means)):.{dec}f}{spread}, {where}. "
        "Every method of a seed shares those folds and those defaults, so this is the same "
        "baseline for every method."
    )


def experiment_sentence(rows: list[MethodGain], dec: int, level: float) -> str:
    scored = [r for r in rows if r.gain is not None]
    if not scored:
        return "No method has a gain over the library defaults to state yet."
    beat = [entry_label(r.method) for r in scored if not r.within_noise and r.low > 0]
    noise = [entry_label(r.method) for r in scored if r.within_noise]
    parts = []
    if beat:
        parts.append(f"{joined(beat)} beat the library defaults beyond noise")
    if noise:
        them = "them" if beat else "the library defaults"
        parts.append(f"{joined(noise)} did not beat {them} beyond fold-to-fold noise")
    worse = [entry_label(r.method) for r in scored if r.high is not None and r.high < 0]
    if worse:
        parts.append(f"the defaults beat {joined(worse)}")
    pct = f"{100 * level:g} %"
    return (
        "; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + f" ({pct} interval of the gain, "
        "paired over the same folds of every seed)."
    )
