"""Did tuning pay off? The best configuration against the model's library defaults.

Every single-objective run scores the library defaults first (tuning/execution/baseline.py):
as its first trial where they fit the searched space, else beside the trials on the same CV
folds. Because both were scored on the same folds, their fold scores are paired: the gain is
the mean of the per-fold differences, and its interval is the corrected resampled t interval
(Nadeau & Bengio, 2003; `statistics.corrected_interval`, the interval of the test that
`compare_top` uses): the folds' training parts overlap, so a plain paired t interval would be
too narrow. When the interval holds 0 the words say that tuning did not beat the defaults
beyond fold-to-fold noise, never a bare positive number.

`defaults_score(run)` is the defaults in a run (where and how they were scored, their scores,
their test); `gain_over_defaults(run)` the gain with its interval and its sentence, or None,
and then `why_no_gain(run)` says why (no baseline, not scored yet, failed, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tuning.analysis.rundata import RunData
from tuning.analysis.statistics import corrected_interval
from tuning.runs.experiments import test_interval
from tuning.store.records import Baseline
from tuning.store.results import score_of, trial_row_state
from tuning.store.trials import TrialMetrics, defaults_trial

LEVEL = 0.95
METHOD = "corrected resampled t interval (Nadeau & Bengio, 2003) over the paired fold scores"
NO_BASELINE = (
    "No baseline: this run was made before runs scored the library defaults (or by a version "
    "without them), so there is nothing to compare with."
)
FOREIGN = "No baseline: the study was made outside Tuning Studio."


@dataclass(frozen=True)
class DefaultsScore:
    """The model's library defaults in a run: their parameters, where they were scored, their
    CV scores where there are some, and their held-out test score once the run has ended."""

    params: dict[str, Any]  # the searched parameters at the library's defaults
    trial: int | None  # the trial that holds them; None: scored beside the trials
    state: str  # the trial's state ("complete", "failed", ...), or the baseline's status
    fold_scores: list[float] = field(default_factory=list)
    mean: float | None = None
    std: float | None = None
    in_space: bool | None = None
    outside: dict[str, str] = field(default_factory=dict)  # parameter -> why it is outside
    where: str = ""  # a sentence: where and how they were scored
    error: str | None = None  # why they have no score (failed, stopped)
    test: float | None = None  # refit on the training rows, scored once on the test part

    @property
    def scored(self) -> bool:
        return self.mean is not None and math.isfinite(self.mean)


@dataclass(frozen=True)
class Gain:
    """The best complete trial against the library defaults, over the same folds.

    `difference` = best - defaults in score units (its sign as the scores go: negative is
    better for an error); `gain` is it signed so that > 0 means tuning did better. `low` and
    `high` bound the difference at `level`; `within_noise`: the interval holds 0.
    """

    label: str  # the score's name, e.g. "accuracy"
    direction: str  # "maximize" | "minimize"
    best_trial: int
    best_mean: float
    best_std: float
    defaults_mean: float
    defaults_std: float
    defaults_trial: int | None  # None: the defaults were scored beside the trials
    difference: float
    low: float
    high: float
    n_folds: int
    within_noise: bool
    sentence: str
    level: float = LEVEL
    method: str = METHOD
    test_best: float | None = None  # held-out test of the refit best (or chosen) configuration
    test_defaults: float | None = None  # held-out test of the refit defaults
    test_sentence: str | None = None
    best_folds: tuple[float, ...] = ()  # the paired fold scores the interval is computed on
    defaults_folds: tuple[float, ...] = ()

    @property
    def sign(self) -> float:
        return 1.0 if self.direction == "maximize" else -1.0

    @property
    def gain(self) -> float:
        """How much better the best is than the defaults (> 0: tuning did better)."""
        return self.sign * self.difference

    @property
    def gain_interval(self) -> tuple[float, float]:
        """The interval of `gain`."""
        ends = sorted((self.sign * self.low, self.sign * self.high))
        return ends[0], ends[1]

    @property
    def beats_defaults(self) -> bool:
        """Tuning did better than the defaults beyond fold-to-fold noise."""
        return self.gain_interval[0] > 0

    @property
    def defaults_are_best(self) -> bool:
        return self.defaults_trial is not None and self.defaults_trial == self.best_trial

    @property
    def ties_defaults(self) -> bool:
        """Another configuration scored exactly what the defaults scored on every fold (k-NN
        or a grid on a small data set often does): no noise to speak of, and no gain."""
        return (
            not self.defaults_are_best
            and len(self.best_folds) > 0
            and self.best_folds == self.defaults_folds
        )


def defaults_score(run: RunData) -> DefaultsScore | None:
    """The library defaults in `run`, or None where it has no baseline (made before baselines,
    switched off, population-based training, another tool's study: `why_no_gain` says which)."""
    if run.record.foreign is not None:
        return None
    stored = run.record.baseline
    if stored is None or stored.status == Baseline.NONE:
        return None
    test = run.record.defaults_test
    test_score = test.score if test is not None and test.error is None else None
    common = dict(params=dict(stored.params), in_space=stored.in_space,
                  outside=dict(stored.outside), test=test_score)  # fmt: skip
    if stored.is_trial:
        trial = defaults_trial(run.trials)
        if trial is None:
            missing = "The run has no trial of the library defaults."
            return DefaultsScore(trial=None, state="missing", error=missing, **common)
        state = trial_row_state(trial)
        m = TrialMetrics.of(trial)
        where = f"trial {trial.number}, queued first so that the sampler learns from it"
        complete = state == "complete"
        return DefaultsScore(
            trial=trial.number, state=state, where=where,
            fold_scores=list(m.fold_scores) if complete else [],
            mean=_score(run, trial.number) if complete else None,
            std=m.cv_std if complete else None,
            error=None if complete else _trial_error(trial.number, state, m), **common,
        )  # fmt: skip
    where = f"scored beside the trials, on the same folds: {_beside(stored)}"
    scores = stored.scores
    if stored.status == Baseline.SCORED and scores is not None and scores.cv_mean is not None:
        return DefaultsScore(
            trial=None, state=stored.status, where=where, fold_scores=list(scores.fold_scores),
            mean=scores.cv_mean, std=scores.cv_std, **common,
        )  # fmt: skip
    return DefaultsScore(trial=None, state=stored.status, where=where,
                         error=_beside_error(stored), **common)  # fmt: skip


def gain_over_defaults(run: RunData, level: float = LEVEL) -> Gain | None:
    """The best complete trial's CV score against the library defaults', with the interval of
    the difference over the same folds and the sentence that states it; None where there is no
    comparison to make (`why_no_gain` says why)."""
    d = defaults_score(run)
    best = run.best
    if d is None or not d.scored or best is None:
        return None
    number = int(best["number"])
    b = np.asarray(run.metrics(number).fold_scores, dtype=float)
    a = np.asarray(d.fold_scores, dtype=float)
    if len(a) != len(b) or len(a) < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    difference, low, high = corrected_interval(b, a, level)
    best_std = _finite(run.metrics(number).cv_std, float(np.std(b)))
    defaults_std = _finite(d.std, float(np.std(a)))
    gain = Gain(
        label=run.label, direction=run.direction, best_trial=number,
        best_mean=float(b.mean()), best_std=best_std, defaults_mean=float(a.mean()),
        defaults_std=defaults_std, defaults_trial=d.trial, difference=difference, low=low,
        high=high, n_folds=len(a), within_noise=bool(low <= 0 <= high), sentence="",
        level=level, best_folds=tuple(map(float, b)), defaults_folds=tuple(map(float, a)),
    )  # fmt: skip
    test = run.record.test
    test_best = test.score if test is not None and test.error is None else None
    return _with_sentences(gain, test_best, d.test, run)


def why_no_gain(run: RunData) -> str | None:
    """Why `gain_over_defaults(run)` is None, as a sentence for people; None when there is a
    gain to show."""
    if run.record.foreign is not None:
        return FOREIGN
    stored = run.record.baseline
    if stored is None:
        return NO_BASELINE
    if stored.status == Baseline.NONE:
        return stored.reason or "No baseline."
    d = defaults_score(run)
    if d is not None and not d.scored:
        return d.error
    if run.best is None:
        return "No trial has completed yet: there is no best to compare with the defaults."
    if gain_over_defaults(run) is None:
        return (
            "The best trial and the defaults were not scored on the same two or more folds "
            "(or a fold score is missing): their gain cannot be paired."
        )
    return None


# -- sentences -----------------------------------------------------------------------------------
def _with_sentences(g: Gain, test_best: float | None, test_defaults: float | None,
                    run: RunData) -> Gain:  # fmt: skip
    dec = gain_decimals(g)
    best = f"{g.best_mean:.{dec}f} ± {g.best_std:.{dec}f}"
    ref = f"{g.defaults_mean:.{dec}f} ± {g.defaults_std:.{dec}f}"
    better = ", lower is better" if g.direction == "minimize" else ""
    pct = f"{100 * g.level:g} %"
    interval = (
        f"{pct} interval {signed(g.low, dec)} to {signed(g.high, dec)} over the same "
        f"{g.n_folds} folds"
    )
    diff = signed(g.difference, dec)
    if g.defaults_are_best:
        sentence = (
            f"tuning did not beat the defaults: the library defaults (trial {g.best_trial}) "
            f"are still the best configuration, CV {g.label} {best}"
        )
    elif g.ties_defaults:
        sentence = (
            f"tuning did not beat the defaults: the best trial ({g.best_trial}) scores what the "
            f"library defaults score on each of the {g.n_folds} folds, CV {g.label} {best}"
        )
    elif g.within_noise:
        lead = (  # "did not beat them" alone would hide that the defaults are ahead
            "tuning did not beat the defaults, which scored better than the best trial by less "
            "than fold-to-fold noise" if g.gain < 0
            else "tuning did not beat the defaults beyond fold-to-fold noise"
        )  # fmt: skip
        sentence = (
            f"{lead}: best CV {g.label} {best} against the defaults' {ref} ({diff}{better}, "
            f"{interval})"
        )
    elif g.beats_defaults:
        sentence = (
            f"best CV {g.label} {best} against the defaults' {ref}: {diff}{better} ({interval})"
        )
    else:
        sentence = (
            f"the library defaults beat the best trial beyond fold-to-fold noise: best CV "
            f"{g.label} {best} against the defaults' {ref}: {diff}{better} ({interval})"
        )
    test_sentence = None
    if test_best is not None and test_defaults is not None:
        test_sentence = _test_sentence(g.label, run, test_best, test_defaults, dec)
    return replace(g, sentence=sentence, test_best=test_best, test_defaults=test_defaults,
                   test_sentence=test_sentence)  # fmt: skip


def _test_sentence(label: str, run: RunData, best: float, defaults: float, dec: int) -> str:
    """Both held-out scores with what one split can tell apart: an accuracy is a share of the
    held-out rows (a 95 % Wilson interval each, and how many rows apart they are); other scores
    have no closed form, so the words say it is one split."""
    t = run.record.test
    what = "chosen trade-off" if run.record.multi_objective else "tuned"
    n = t.n_test if t is not None and t.n_train and t.n_test else None
    rows = f" (each refit on the same {t.n_train} training rows, scored once on {n} held-out rows)"
    if n is None:
        return f"held-out test {label}: {what} {best:.{dec}f}, defaults {defaults:.{dec}f}"
    scoring = run.record.scoring
    ends = test_interval(scoring, best, n), test_interval(scoring, defaults, n)
    if None in ends:
        return (
            f"held-out test {label}{rows}: {what} {best:.{dec}f}, defaults {defaults:.{dec}f}, "
            "on one split, with no interval for this score"
        )
    (bl, bh), (dl, dh) = ends
    apart = abs(round(best * n) - round(defaults * n))
    if apart == 0:
        verdict = "as many rows right"
    elif bl > dh or dl > bh:
        verdict = f"{apart} of {n} rows apart, beyond one split's noise (the intervals part)"
    else:
        verdict = f"{apart} of {n} rows apart, within one split's noise (the intervals overlap)"
    return (
        f"held-out test {label}{rows}: {what} {best:.3f} (95 % {bl:.3f}–{bh:.3f}), defaults "
        f"{defaults:.3f} ({dl:.3f}–{dh:.3f}): {verdict}"
    )


def gain_decimals(g: Gain) -> int:
    """Decimals that show the largest noise (the interval's half-width, or a spread across
    folds) with two significant digits (0.021 -> 3), so that no digit claims more precision
    than the folds give; 3 where there is no noise at all."""
    tiny = 1e-9 * max(1.0, abs(g.best_mean), abs(g.defaults_mean))
    half = (g.high - g.low) / 2
    scales = [x for x in (g.best_std, g.defaults_std, half) if math.isfinite(x) and x > tiny]
    if not scales:
        return 3
    return max(0, min(6, 1 - math.floor(math.log10(max(scales)))))


def signed(x: float, dec: int) -> str:
    text = f"{abs(x):.{dec}f}"
    if float(text) == 0:
        return f"±{text}" if dec else "0"
    return ("+" if x > 0 else "−") + text


def _score(run: RunData, number: int) -> float | None:
    value = score_of(run.trial(number))
    return float(value) if value is not None and math.isfinite(value) else None


def _finite(x: float | None, fallback: float) -> float:
    return float(x) if x is not None and math.isfinite(float(x)) else fallback


def _trial_error(number: int, state: str, m: TrialMetrics) -> str:
    if state == "stopped":
        return (
            f"The library defaults (trial {number}) were stopped before they finished; "
            "resuming the run scores them again."
        )
    if state == "failed":
        why = m.fail_reason or "no reason recorded"
        return f"The library defaults (trial {number}) failed: {why}."
    if state == "pruned":
        return f"The library defaults (trial {number}) were stopped early by the pruner."
    return f"The library defaults are trial {number}, still {state}."


def _beside(stored: Baseline) -> str:
    if stored.outside:
        return "; ".join(stored.outside.values())
    return (stored.beside or "").split(":")[0].lower() or "outside the trials"


def _beside_error(stored: Baseline) -> str:
    if stored.status == Baseline.FAILED:
        return (
            f"The library defaults could not be scored: {stored.error or 'no reason recorded'}. "
            "The run went on without a baseline."
        )
    if stored.status == Baseline.SCORING:
        return "The library defaults are being scored beside the trials."
    if stored.status == Baseline.PENDING:
        return (
            "The library defaults have not been scored yet: the first worker to start scores "
            "them beside the trials."
        )
    return "The library defaults have no CV score."
