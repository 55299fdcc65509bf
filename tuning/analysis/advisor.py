"""The stop advisor on a run: is it worth going on, and where could the run have stopped?

`advise(run)` reads the run's complete trials in trial order, picks the rule that applies to it
(tuning/execution/advisor.py: the regret bound of Makarova et al. and a plateau test against
the CV noise, or the plateau alone where that bound does not apply), and returns an `Advice`:
the points drawn over trials (gain and noise at each checkpoint), the first trial at which the
advisor would stop, the best score there against the final best (what stopping there would
have lost), and the sentence that says it. Pages keep one `Tracker` per run and pass it in, so
that each checkpoint's Gaussian-process fit is computed once; `budget_s` bounds the work of
one call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from tuning.analysis.rundata import RunData, decimal
from tuning.execution.advisor import (
    ADVISOR_ENDED,
    CONSECUTIVE,
    GP_TOP,
    MIN_TRIALS,
    PLATEAU_MIN,
    PLATEAU_SHARE,
    Point,
    Rule,
    Tracker,
    checkpoints,
    cv_error,
    pick_rule,
    stop_index,
    window,
)
from tuning.methods import get_method
from tuning.runs.entries import entry_label, entry_method

__all__ = [
    "ADVISOR_ENDED", "MIN_TRIALS", "Advice", "MethodStops", "Point", "Rule", "Tracker", "advise",
    "by_method", "not_judged", "rule_of", "rule_text", "tracker_for",
]  # fmt: skip

NOISE = "CV noise"


@dataclass(frozen=True)
class Advice:
    """What the stop advisor says of a run.

    `points` are its checkpoints (n complete trials, the n-th trial's number, the best so far,
    the gain further trials can still bring, the CV noise). `stop` is the point where it would
    stop (None: not yet, or it does not apply); `used` the trials the run had made by then
    (all states, up to the stop trial) of `total`; `loss` what the best score lost by stopping
    there against the final best (>= 0, score units), `final_std` the final best's spread
    across folds."""

    rule: Rule | None
    rule_text: str
    sentence: str
    points: tuple[Point, ...] = ()
    stop: Point | None = None
    used: int | None = None
    total: int = 0
    final_best: float | None = None
    final_std: float | None = None
    loss: float | None = None
    needs: int | None = None  # more complete trials before the advisor can judge
    pending: int = 0  # checkpoints not computed yet (a page's time budget ran out)
    why_plateau: str | None = None
    label: str = ""

    @property
    def applies(self) -> bool:
        return self.rule is not None

    @property
    def saved(self) -> float | None:
        """The share of the run's trials after the stop: what stopping there would have saved."""
        if self.used is None or not self.total:
            return None
        return max(0.0, 1.0 - self.used / self.total)

    @property
    def stops_early(self) -> bool:
        """A stop that saves trials: one at the run's last trial is no stop before the end."""
        return self.stop is not None and (self.saved or 0.0) > 0

    @property
    def lost_beyond_std(self) -> bool | None:
        """Stopping there lost more than one CV standard deviation of the final best."""
        if self.loss is None or self.final_std is None:
            return None
        return self.loss > self.final_std + 1e-12


def rule_of(run: RunData) -> tuple[Rule, str | None]:
    """The rule that applies to `run`, and why the regret bound does not (None where it does)."""
    config = run.config
    method = None
    if config is not None:
        try:
            method = get_method(config.method)
        except Exception:  # noqa: BLE001 - a method this version does not know: judge the trials
            method = None
    pruned = bool((run.frame["state"] == "pruned").any()) if len(run.frame) else False
    best = run.best
    folds = run.metrics(int(best["number"])).fold_scores if best is not None else []
    params = list(run.params.values())
    return pick_rule(
        categorical_only=bool(params) and all(not p.numeric for p in params),
        pruned=pruned or bool(method and method.multi_fidelity),
        population=bool(method and method.runs_itself),
        multi_objective=run.record.multi_objective,
        has_folds=cv_error(folds) is not None or best is None,
    )


def tracker_for(run: RunData) -> Tracker:
    """A new tracker of `run`'s points under the rule that applies to it."""
    return Tracker(rule_of(run)[0], run.maximize)


def advise(
    run: RunData, tracker: Tracker | None = None, budget_s: float | None = None,
    until_stop: bool = False,
) -> Advice:  # fmt: skip
    """The stop advisor on `run` (see `Advice`). `tracker`: the run's points computed so far
    (a page's, kept between refreshes); `budget_s` caps the seconds spent on new points;
    `until_stop`: no point after the stop is computed (Compare and the report need only it)."""
    if run.config is not None and (no := not_judged(run.config.method)):
        return Advice(None, "", no, total=_total(run), label=run.label)
    rule, why = rule_of(run)
    if tracker is None or tracker.rule != rule:
        tracker = Tracker(rule, run.maximize)
    label = run.label
    n = run.n_complete
    if n < MIN_TRIALS:
        needs = MIN_TRIALS - n
        sentence = (
            f"The stop advisor needs {MIN_TRIALS} complete trials to judge whether further "
            f"trials can still help: {needs} more ({n} so far)."
        )
        return Advice(rule, rule_text(rule, why), sentence, total=_total(run), needs=needs,
                      why_plateau=why, label=label)  # fmt: skip
    numbers = run.complete["number"].to_numpy(dtype=np.int64)
    trials = [run.trial(int(k)) for k in numbers]
    points = tuple(tracker.update(trials, budget_s=budget_s, until_stop=until_stop))
    at = stop_index(points, tracker.consecutive)
    stop = points[at] if at is not None else None
    pending = 0 if stop is not None and until_stop else len(checkpoints(n)) - len(points)
    return _advice(run, rule, why, points, stop, pending)


def _advice(run: RunData, rule: Rule, why: str | None, points: tuple[Point, ...],
            stop: Point | None, pending: int) -> Advice:  # fmt: skip
    best = run.best
    final = float(best["value"]) if best is not None else None
    std = run.metrics(int(best["number"])).cv_std if best is not None else None
    total = _total(run)
    used = loss = None
    if stop is not None:
        used = _trials_up_to(run, stop.trial)
        loss = max(0.0, run.sign * (final - stop.best)) if final is not None else None
    advice = Advice(
        rule, rule_text(rule, why), "", points, stop, used, total, final,
        float(std) if std is not None and math.isfinite(std) else None, loss,
        pending=pending, why_plateau=why, label=run.label,
    )  # fmt: skip
    return _with_sentence(advice, run)


def _total(run: RunData) -> int:
    """The trials the run made that used budget (not those a Stop cut short)."""
    if not len(run.frame):
        return 0
    return int(run.frame["state"].isin(["complete", "pruned", "failed"]).sum())


def _trials_up_to(run: RunData, number: int) -> int:
    f = run.frame
    return int((f["state"].isin(["complete", "pruned", "failed"]) & (f["number"] <= number)).sum())


def rule_text(rule: Rule, why: str | None) -> str:
    """What the rule does, in words, for the pages and the report."""
    if rule == Rule.REGRET:
        return (
            "Regret bound (Makarova et al., AutoML 2022): a Gaussian process fitted on the "
            f"top trials (at most {GP_TOP}) bounds how much better than the best so far the "
            "searched space can still be; the advisor stops when that bound is under the CV "
            "noise of the best trial, or the best score rose by less than that noise over the "
            f"last {PLATEAU_SHARE:.0%} of the complete trials (at least {PLATEAU_MIN}: the "
            "bound widens as trials accumulate, so a long plateau may never bring it under "
            f"the noise), at {CONSECUTIVE} checks in a row (a check every 5 complete trials, "
            f"from {MIN_TRIALS} on)."
        )
    return (
        f"Plateau rule (the regret bound does not apply: {why}): the advisor stops when the "
        f"best score rose by less than the CV noise of the best trial over the last "
        f"{PLATEAU_SHARE:.0%} of the complete trials (at least {PLATEAU_MIN}), at "
        f"{CONSECUTIVE} checks in a row (a check every 5 complete trials, from {MIN_TRIALS} on)."
    )


def _fmt(x: float) -> str:
    """Two significant digits, as a noise deserves (0.0036, 0.012)."""
    return decimal(x) if x and math.isfinite(x) else "0"


def _with_sentence(a: Advice, run: RunData) -> Advice:
    if a.stop is not None:
        return replace(a, sentence=_stopped(a, run))
    if not a.points:
        return replace(a, sentence="The stop advisor is still computing its first check.")
    return replace(a, sentence=_going_on(a, run, a.points[-1]))


def _stopped(a: Advice, run: RunData) -> str:
    stop = a.stop
    head = (
        f"the best {run.label} rose by less than the {NOISE} (±{_fmt(stop.noise)}) over "
        f"the last {window(stop.n)} complete trials"
        if stop.noise and stop.by_plateau
        else f"further trials are unlikely to gain more than the {NOISE} (±{_fmt(stop.noise)})"
        if stop.noise
        else f"the best {run.label} has not improved over the last {window(stop.n)} "
        "complete trials (the trials keep no fold scores: there is no CV noise to weigh "
        "a gain against)"
    )
    if run.working:
        tail = f"the advisor would stop here (trial {stop.trial}, {a.used} trials)"
    elif not a.stops_early:  # "30 of 30 trials were enough" would read as a saving
        tail = (
            f"the advisor would have stopped only at the last trial ({stop.trial}): it would "
            f"have saved none of the {a.total} trials"
        )
    else:
        lost = "nothing" if not a.loss else f"{_fmt(a.loss)} of {run.label}"
        tail = (
            f"{a.used} of {a.total} trials were enough (the advisor would have stopped at "
            f"trial {stop.trial}; stopping there lost {lost} against the final best)"
        )
    return f"{head[0].upper()}{head[1:]}; {tail}."


def _going_on(a: Advice, run: RunData, last: Point) -> str:
    """What the last check says where the advisor has not stopped."""
    # The regret rule needs fold scores; a plateau without them weighs a gain against nothing.
    noise = f"the {NOISE} (±{_fmt(last.noise)})" if last.noise else ""
    waits = f"at one check; the advisor waits for {CONSECUTIVE} checks in a row."
    if last.gain is None:
        return (
            f"The best {run.label} is still new: too few trials since its start to see a plateau."
        )
    if a.rule == Rule.REGRET:
        rose = (
            f" and the best rose by {_fmt(last.recent)} over the last {window(last.n)}"
            if last.recent is not None
            else ""
        )
        if not last.flat:
            return (
                f"Further trials may still gain up to {_fmt(last.gain)} in {run.label} (the "
                f"bound after {last.n} complete trials){rose}, more than {noise}: the search "
                "is worth going on."
            )
        if last.by_plateau:
            return (
                f"The best {run.label} rose by less than {noise} over the last "
                f"{window(last.n)} complete trials {waits}"
            )
        return f"The bound on what further trials can gain ({_fmt(last.gain)}) is under {noise} {waits}"
    if not last.flat:
        return (
            f"The best {run.label} rose by {_fmt(last.gain)} over the last {window(last.n)} "
            f"complete trials (of {last.n}){f', more than {noise}' if noise else ''}: the "
            "search is still improving."
        )
    return (
        f"The best {run.label} has stayed {f'within {noise}' if noise else 'the same'} over the "
        f"last {window(last.n)} complete trials {waits}"
    )


# -- several runs: where each method's runs could have stopped ----------------------------------
def not_judged(entry: str) -> str | None:
    """Why the stop advisor does not judge runs of `entry` (a method, or its warm copy), None
    where it does: a grid's trials come in its own fixed order, so the best of
    the combinations tried so far says nothing about those left (Stop when flat is refused
    for it too)."""
    try:
        spec = get_method(entry_method(entry))
    except Exception:  # noqa: BLE001 - a method this version does not know: judge the trials
        return None
    if spec.enumerates_grid:
        return (
            f"{entry_label(entry)} is not judged: it tries every combination in a fixed order, "
            "so the best of those tried so far says nothing about those left."
        )
    return None


@dataclass(frozen=True)
class MethodStops:
    """The stop advisor over one method's runs (one per seed): medians over those runs."""

    method: str
    label: str  # the method as people read it ("Bayesian (TPE)")
    runs: int  # runs judged (with enough complete trials)
    stopped: int  # of which the advisor would have stopped before the end
    stop_trial: float | None  # median trial at which it would have stopped (stopped runs)
    saved: float | None  # median share of each run's trials after the stop (0 where it ran on)
    loss: float | None  # median best score lost by stopping there (0 where it ran on)
    std: float | None  # median CV std of the final best (the noise the loss is read against)
    beyond_std: int  # runs where stopping lost more than one CV std of the final best
    rules: tuple[str, ...]  # the rules used (regret bound, plateau)


def by_method(advice: dict[str, list[Advice]]) -> list[MethodStops]:
    """Per method, where its runs' advisor would have stopped and what it would have lost,
    as medians over its runs (runs it could not judge are left out)."""
    out = []
    for method, items in advice.items():
        judged = [a for a in items if a.applies and a.needs is None and a.points and not a.pending]
        stopped = [a for a in judged if a.stops_early]
        out.append(MethodStops(
            method=method, label=entry_label(method), runs=len(judged),
            stopped=len(stopped),
            stop_trial=_median([a.stop.trial for a in stopped]),
            saved=_median([a.saved or 0.0 for a in judged]),
            loss=_median([a.loss or 0.0 for a in judged]),
            std=_median([a.final_std for a in judged if a.final_std is not None]),
            beyond_std=sum(1 for a in stopped if a.lost_beyond_std),
            rules=tuple(sorted({a.rule.value for a in judged if a.rule is not None})),
        ))  # fmt: skip
    return out


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None
