"""What the trials of a run say beyond importance: the score distribution, the timeline, the
learning curves, overfitting, where the time went, whether the best is really the best (a
corrected resampled t-test), and whether the search has stopped paying off."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from scipy import stats

from tuning.analysis.rundata import RunData, best_by_end, decimal, load_run, scored, to_float
from tuning.core.errors import ConfigError
from tuning.execution.session import refit, trial_params
from tuning.runs.runner import open_session
from tuning.store.results import trial_row_state
from tuning.store.run import StoredRun
from tuning.store.trials import TrialMetrics


# -- distribution, timeline, learning curves ----------------------------------------------------
def score_ecdf(run: RunData, max_points: int = 1000) -> pd.DataFrame:
    """Empirical distribution of complete trials' scores: value, fraction of trials at least as
    good (so 0.1 at a value means: the top 10% of trials reached it). Sorted best first."""
    v = to_float(run.complete["value"])
    if not len(v):
        return pd.DataFrame({"value": [], "fraction": []})
    v = np.sort(v)[::-1] if run.maximize else np.sort(v)
    frac = np.arange(1, len(v) + 1) / len(v)
    if len(v) > max_points:
        keep = np.unique(np.linspace(0, len(v) - 1, max_points).round().astype(int))
        v, frac = v[keep], frac[keep]
    return pd.DataFrame({"value": v, "fraction": frac})


def timeline(run: RunData, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """When each trial ran: number, state, worker, start_s / end_s (seconds since the run's
    first trial started), duration_s. Running trials end now; waiting trials are left out."""
    df = run.frame
    if df.empty or df["start"].isna().all():
        return pd.DataFrame(columns=["number", "state", "worker", "start_s", "end_s", "duration_s"])
    started = df[df["start"].notna()]
    start = pd.to_datetime(started["start"])
    end = pd.to_datetime(started["complete"])
    now = pd.Timestamp.now() if now is None else now
    end = end.where(end.notna(), now)
    t0 = start.min()
    out = pd.DataFrame(
        {
            "number": started["number"].to_numpy(),
            "state": started["state"].to_numpy(),
            "worker": started["worker"].fillna("").astype(str).to_numpy(),
            "start_s": (start - t0).dt.total_seconds().to_numpy(),
            "end_s": (end - t0).dt.total_seconds().to_numpy(),
        }
    )
    out["end_s"] = np.maximum(out["end_s"], out["start_s"])
    out["duration_s"] = out["end_s"] - out["start_s"]
    return out


@dataclass
class Curve:
    """One trial's intermediate scores (running CV mean per fold, or score per epoch/round)."""

    number: int
    state: str
    steps: list[int]
    values: list[float]
    params: dict[str, Any]
    stopped_early_at: int | None = None
    rank: int | None = None  # 1 = the best complete trial; None for trials not complete


def select_curves(
    run: RunData, top: int = 10, recent: int = 0, max_trials: int | None = None
) -> list[Curve]:
    """The learning curves worth drawing, in trial order: those of the `top` best complete
    trials, of the `recent` most recent trials that have one, then (with `max_trials`) an even
    sample of the others up to `max_trials` trials in all. Trials without intermediate scores
    are left out. The Live monitor follows the best and the newest; Analysis and the report
    show the best and an even sample."""
    ranked = run.ranked_numbers()
    chosen = {int(n) for n in ranked[:top]}
    if recent:
        found = 0
        for t in reversed(run.trials):
            if found >= recent:
                break
            if t.intermediate_values:
                chosen.add(t.number)
                found += 1
    if max_trials is not None:
        rest = [t.number for t in run.trials if t.intermediate_values and t.number not in chosen]
        room = max(0, max_trials - len(chosen))
        if rest and room:
            pick = np.linspace(0, len(rest) - 1, min(room, len(rest))).round().astype(int)
            chosen.update(rest[i] for i in np.unique(pick))
    at = np.flatnonzero(np.isin(ranked, np.fromiter(chosen, dtype=np.int64, count=len(chosen))))
    rank = {int(ranked[i]): int(i) + 1 for i in at}
    curves = []
    for n in sorted(chosen):
        t = run.trial(n)
        if not t.intermediate_values:
            continue
        steps = sorted(t.intermediate_values)
        curves.append(
            Curve(
                number=t.number,
                state=trial_row_state(t),
                steps=steps,
                values=[float(t.intermediate_values[s]) for s in steps],
                params=dict(t.params),
                stopped_early_at=TrialMetrics.of(t).stopped_early_at,
                rank=rank.get(t.number),
            )
        )
    return curves


def learning_curves(run: RunData, max_trials: int = 60, top: int = 10) -> pd.DataFrame:
    """Intermediate scores (after each fold, epoch or boosting round) of the curves that
    select_curves picks (the `top` best complete trials, then an even sample of the rest up to
    `max_trials` trials), one row per step: number, state, step, value, rank."""
    rows = [
        (c.number, c.state, step, value, c.rank)
        for c in select_curves(run, top, max_trials=max_trials)
        for step, value in zip(c.steps, c.values, strict=True)
    ]
    return pd.DataFrame(rows, columns=["number", "state", "step", "value", "rank"])


# -- overfitting ----------------------------------------------------------------------------------
def overfitting(run: RunData, n: int = 10) -> pd.DataFrame:
    """Top complete trials: rank, number, train (mean over folds), cv, cv_std, test, gap
    (train minus CV, in the better direction: positive = fits training data better).
    Test scores exist for the refit best trial and for trials scored by refit_top_on_test()."""
    top = run.ranked().head(n)
    test = {int(k): v for k, v in (run.record.test_top or {}).items()}
    t = run.record.test
    if t is not None and t.score is not None and t.trial is not None:
        test[int(t.trial)] = t.score
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(top) + 1),
            "number": top["number"].to_numpy(),
            "train": to_float(top["train_score"]),
            "cv": to_float(top["value"]),
            "cv_std": to_float(top["cv_std"]),
            "test": [test.get(int(k), np.nan) for k in top["number"]],
        }
    )
    out["test"] = to_float(out["test"])
    out["gap"] = run.sign * (out["train"] - out["cv"])
    return out


def refit_top_on_test(
    study: optuna.Study, n: int = 5, run: RunData | None = None, store: bool = True
) -> dict[int, float]:
    """Refit the top n configurations on all training data and score each on the held-out
    test part (for the overfitting view; the best one is already scored by the run), by the
    rule the run's own test follows. Kept with the run when `store`. Costs n model fits."""
    run = run or load_run(study)
    if run.config is None:
        raise ConfigError("This run has no saved configuration: it cannot be refit.")
    prep = open_session(StoredRun(study)).prep
    out: dict[int, float] = {}
    for number in run.ranked()["number"].head(n):
        params = trial_params(prep.space, prep.model, run.trial(int(number)))
        out[int(number)] = refit(prep, params).score
    if store:
        StoredRun(study).save_test_top(out)
    return out


# -- efficiency -----------------------------------------------------------------------------------
@dataclass
class Efficiency:
    """Where the time went. `curve`: one row per finished trial in order of completion, with
    compute_s (cumulative trial time), wall_s (since the run started) and best (best score so
    far). `breakdown`: part, seconds, share of the capacity (wall time x parallel workers)."""

    curve: pd.DataFrame
    breakdown: pd.DataFrame
    wall_s: float
    workers: int
    useful_fraction: float | None
    message: str


BREAKDOWN_PARTS = {
    "fit": "model fitting",
    "score": "scoring",
    "in_trial": "other work in trials (data slicing, pipelines, reporting)",
    "between": "between trials (sampler, storage, waiting)",
}


def efficiency(run: RunData) -> Efficiency:
    df = run.frame
    fin = best_by_end(df, run.direction)
    empty_curve = pd.DataFrame(columns=["number", "state", "compute_s", "wall_s", "best"])
    if fin.empty:
        breakdown = pd.DataFrame({"part": list(BREAKDOWN_PARTS), "label": list(BREAKDOWN_PARTS.values()),
                                  "seconds": 0.0, "share": 0.0})  # fmt: skip
        return Efficiency(empty_curve, breakdown, 0.0, 0, None, "No trial has finished yet.")
    dur = np.nan_to_num(to_float(df.loc[fin.index, "duration_s"]))
    curve = pd.DataFrame(
        {
            "number": fin["number"].to_numpy(),
            "state": fin["state"].to_numpy(),
            "compute_s": np.cumsum(dur),
            "wall_s": fin["end_s"].to_numpy(),
            "best": fin["best"].to_numpy(),
        }
    )
    span = float(curve["wall_s"].max())
    elapsed = run.record.elapsed_s
    wall = float(elapsed) if elapsed and elapsed > 0 else span
    workers = _max_concurrency(df)
    capacity = max(wall * workers, float(dur.sum()))
    fit = float(np.nansum(to_float(df["fit_seconds"])))
    score = float(np.nansum(to_float(df["score_seconds"])))
    in_trial = max(0.0, float(dur.sum()) - fit - score)
    between = max(0.0, capacity - float(dur.sum()))
    parts = {"fit": fit, "score": score, "in_trial": in_trial, "between": between}
    total = sum(parts.values()) or 1.0
    breakdown = pd.DataFrame(
        {
            "part": list(parts),
            "label": [BREAKDOWN_PARTS[k] for k in parts],
            "seconds": list(parts.values()),
            "share": [v / total for v in parts.values()],
        }
    )
    useful = (fit + score) / total if total > 0 else None
    lanes = f" on {workers} parallel workers" if workers > 1 else ""
    if run.record.foreign is not None:  # its trials hold durations, not fit and score times
        breakdown = breakdown[breakdown["part"].isin(["in_trial", "between"])].assign(
            label=["inside trials (the study's objective)", "between trials"]
        )
        message = (
            f"The study's {wall:.1f} s of wall time{lanes}: {float(dur.sum()):.1f} s inside "
            f"trials, {between:.1f} s between them. It was made outside Tuning Studio, so its "
            "trials record no fit and score times: how much went into fitting is not known."
        )
        return Efficiency(curve, breakdown, wall, workers, None, message)
    message = (
        f"{100 * useful:.0f}% of the run's {wall:.1f} s of wall time{lanes} went into fitting "
        f"({fit:.1f} s) and scoring ({score:.1f} s) models; the rest was overhead in trials "
        f"({in_trial:.1f} s) and between trials ({between:.1f} s: sampler, storage, waiting)."
    )
    return Efficiency(curve, breakdown, wall, workers, useful, message)


def _max_concurrency(df: pd.DataFrame) -> int:
    s = pd.to_datetime(df["start"]).dropna()
    if s.empty:
        return 1
    e = pd.to_datetime(df.loc[s.index, "complete"]).fillna(pd.Timestamp.now())
    times = np.concatenate([s.to_numpy(dtype="datetime64[ns]"), e.to_numpy(dtype="datetime64[ns]")])
    delta = np.concatenate([np.ones(len(s)), -np.ones(len(e))])
    order = np.lexsort((delta, times))  # at equal times, ends (-1) before starts
    return max(1, int(np.cumsum(delta[order]).max()))


# -- is the best really the best? -----------------------------------------------------------------
def corrected_ttest(
    a: Sequence[float], b: Sequence[float], test_train_ratio: float | None = None
) -> tuple[float, float, int]:
    """Corrected resampled t-test (Nadeau & Bengio, 2003) on paired per-fold scores.

    d_j = a_j - b_j over k folds; t = mean(d) / sqrt((1/k + n_test/n_train) * var(d)), with
    var the sample variance (ddof=1) and k-1 degrees of freedom; for k-fold CV
    n_test/n_train = 1/(k-1). Returns (t, two-sided p, degrees of freedom).
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    k = len(d)
    if k < 2 or len(a) != len(b):
        raise ValueError("The t-test needs the same two or more folds for both configurations.")
    ratio = 1.0 / (k - 1) if test_train_ratio is None else float(test_train_ratio)
    mean, var = float(d.mean()), float(d.var(ddof=1))
    if var <= 0:
        if mean == 0:
            return 0.0, 1.0, k - 1
        return math.copysign(math.inf, mean), 0.0, k - 1
    t = mean / math.sqrt((1.0 / k + ratio) * var)
    p = float(2 * stats.t.sf(abs(t), k - 1))
    return t, p, k - 1


def corrected_interval(
    a: Sequence[float], b: Sequence[float], level: float = 0.95,
    test_train_ratio: float | None = None,
) -> tuple[float, float, float]:  # fmt: skip
    """The interval of the mean paired difference a - b over the same k folds that
    `corrected_ttest` tests: mean(d) ± t(k-1) * sqrt((1/k + n_test/n_train) * var(d)) (Nadeau &
    Bengio, 2003). The folds' training parts overlap, so their differences are correlated and
    a plain paired t interval would be too narrow. Returns (mean, low, high)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    k = len(d)
    if k < 2 or len(a) != len(b):
        raise ValueError("The interval needs the same two or more folds for both configurations.")
    ratio = 1.0 / (k - 1) if test_train_ratio is None else float(test_train_ratio)
    mean = float(d.mean())
    half = float(stats.t.ppf(0.5 + level / 2, k - 1)) * math.sqrt(
        (1.0 / k + ratio) * float(d.var(ddof=1))
    )
    return mean, mean - half, mean + half


def compare_top(run: RunData, n: int = 10, alpha: float = 0.05) -> pd.DataFrame:
    """The top n complete trials against the best, fold by fold (all trials of a run use the
    same CV folds). Columns: rank, number, value, cv_std, diff (how much worse than the best,
    in score units, >= 0 mostly), t, p, same_as_best (p >= alpha: statistically
    indistinguishable from the best). Trials without per-fold scores get NaN."""
    top = run.ranked().head(n)
    cols = ["rank", "number", "value", "cv_std", "diff", "t", "p", "same_as_best"]
    if top.empty:
        return pd.DataFrame(columns=cols)
    folds = [run.metrics(int(k)).fold_scores for k in top["number"]]
    ref = np.asarray(folds[0], dtype=float)
    rows = []
    for i, (row, f) in enumerate(zip(top.itertuples(), folds, strict=True)):
        f = np.asarray(f, dtype=float)
        t = p = np.nan
        if i == 0:
            t, p = 0.0, 1.0
        elif len(f) == len(ref) >= 2 and np.isfinite(f).all() and np.isfinite(ref).all():
            t, p, _ = corrected_ttest(run.sign * ref, run.sign * f)
        rows.append(
            {
                "rank": i + 1,
                "number": int(row.number),
                "value": float(row.value),
                "cv_std": to_float([row.cv_std])[0],
                "diff": run.sign * (float(top["value"].iloc[0]) - float(row.value)),
                "t": t,
                "p": p,
                "same_as_best": bool(p >= alpha) if np.isfinite(p) else None,
            }
        )
    return pd.DataFrame(rows, columns=cols)


# -- diminishing returns --------------------------------------------------------------------------
@dataclass
class Plateau:
    """Whether the best score stopped improving by more than its CV noise.

    `stale_trials` of `n_trials` finished trials at the end (a fraction `stale_fraction`)
    improved the best by `improvement` (score units), against a noise of `noise` (the CV
    standard deviation of the best trial across folds)."""

    detected: bool
    message: str
    n_trials: int = 0
    stale_trials: int = 0
    stale_fraction: float = 0.0
    improvement: float | None = None
    noise: float | None = None
    since_trial: int | None = None


def plateau(run: RunData, tail: float = 0.4, min_trials: int = 10) -> Plateau:
    """Detects diminishing returns: over (at least) the last `tail` of finished trials, the best
    improved by less than the CV noise. Silent (detected=False) on short or improving runs."""
    fin = run.frame[run.frame["state"].isin(["complete", "pruned", "failed"])]
    n = len(fin)
    best = run.best
    if best is None or n < min_trials:
        return Plateau(
            False, f"Too few finished trials ({n}) to judge whether the search has stalled.", n
        )
    g = np.where(scored(fin), run.sign * to_float(fin["value"]), -np.inf)
    curve = np.maximum.accumulate(g)
    final = curve[-1]
    noise = cv_noise(run, best)
    if noise is None:
        return Plateau(False, "The best trial has no per-fold scores, so its noise is unknown.", n)
    # j: first finished trial from which on the best rose by less than the noise
    j = int(np.argmax(curve > final - noise)) if np.isfinite(final) else n - 1
    stale = n - 1 - j
    frac = stale / n
    improvement = float(final - curve[j])
    numbers = fin["number"].to_numpy()
    detected = frac >= tail and stale >= 5
    if detected:
        # The last gain can come after trial j (within the noise): name both, so the sentence
        # stays true when the best itself came late.
        last = int(best["number"])
        added = (f"added only {decimal(improvement, 3)} (the last gain came at trial {last})"
                 if improvement > 0 else "added nothing")  # fmt: skip
        message = (
            f"The best {run.label} has stayed within its CV noise ({decimal(noise, 3)}, the standard "
            f"deviation across folds) since trial {int(numbers[j])}: the {stale} trials after "
            f"it ({100 * frac:.0f}% of {n}) {added}. More trials of this search are unlikely "
            "to help: stop here, or refine the search space."
        )
    else:
        k = max(1, int(math.ceil(tail * n)))
        recent = float(final - curve[n - 1 - k]) if np.isfinite(curve[n - 1 - k]) else math.inf
        message = (
            f"The best {run.label} is still moving: it improved by "
            f"{'a first score' if math.isinf(recent) else decimal(recent, 3)} over the last "
            f"{k} trials, against a CV noise of {decimal(noise, 3)}."
        )
    return Plateau(
        detected, message, n, stale, frac, improvement, noise,
        int(numbers[j]) if stale else None,
    )  # fmt: skip


def cv_noise(run: RunData, best: pd.Series) -> float | None:
    """The CV noise of a score: the best trial's standard deviation across folds (else the
    median of the top ten's)."""
    std = to_float([best.get("cv_std")])[0]
    if np.isfinite(std) and std > 0:
        return float(std)
    top = to_float(run.ranked().head(10)["cv_std"])
    top = top[np.isfinite(top) & (top > 0)]
    return float(np.median(top)) if len(top) else None


# -- multi-objective: which parameters trade the score for a cost --------------------------------
TRADE_MIN_RHO = 0.3  # a rank correlation at least this strong (and significant) counts
TRADE_ALPHA = 0.05
TRADE_MIN_TRIALS = 8


def tradeoff_effects(run: RunData, objectives: Sequence[Any] | None = None) -> pd.DataFrame:
    """How each numeric searched parameter moves each objective, over the complete trials: one
    row per (param, objective) with `rho` (Spearman rank correlation of the parameter with the
    objective's value), `p`, `n`, and `gain` = rho signed so that > 0 means higher values of the
    parameter make that objective better (score up when maximized, a cost down when
    minimized). Categorical parameters have no order, so they are left out."""
    objectives = list(objectives if objectives is not None else run.record.objectives)
    done = run.complete
    rows = []
    for name, info in run.params.items():
        if not info.numeric:
            continue
        x = to_float(run.param_values(name, done))
        for o in objectives:
            y = to_float(done[o.column]) if o.column in done else np.full(len(done), np.nan)
            ok = np.isfinite(x) & np.isfinite(y)
            rho, p = np.nan, np.nan
            if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(y[ok]) > 0:
                rho, p = (float(v) for v in stats.spearmanr(x[ok], y[ok]))
            sign = 1.0 if o.direction == "maximize" else -1.0
            rows.append({"param": name, "objective": o.name, "rho": rho, "p": p,
                         "n": int(ok.sum()), "gain": sign * rho})  # fmt: skip
    return pd.DataFrame(rows, columns=["param", "objective", "rho", "p", "n", "gain"])


@dataclass
class Tradeoff:
    """What raising one parameter does to the score and to one cost."""

    param: str
    cost: str  # the cost objective's name
    kind: str  # "trade" (better score, worse cost), "free" (both better), "score_only", "cost_only"
    higher: bool  # the better score (for "cost_only": the better cost) comes with higher values
    sentence: str


def tradeoffs(run: RunData, effects: pd.DataFrame | None = None) -> list[Tradeoff]:
    """Plain sentences on the parameters that clearly move the score or a cost, strongest trade
    first: "n_estimators buys CV accuracy with fit time per trial: higher values raise both". A
    link counts when its rank correlation is at least TRADE_MIN_RHO with p < TRADE_ALPHA, over
    at least TRADE_MIN_TRIALS complete trials."""
    objectives = run.record.objectives
    if len(objectives) < 2:
        return []
    effects = tradeoff_effects(run, objectives) if effects is None else effects
    score, costs = objectives[0], objectives[1:]
    strong = effects[
        (effects["n"] >= TRADE_MIN_TRIALS) & (effects["rho"].abs() >= TRADE_MIN_RHO)
        & (effects["p"] < TRADE_ALPHA)
    ].set_index(["param", "objective"])  # fmt: skip
    out: list[tuple[float, Tradeoff]] = []
    for param in dict.fromkeys(effects["param"]):
        gs = strong["gain"].get((param, score.name))
        for cost in costs:
            gc = strong["gain"].get((param, cost.name))
            what = cost.label[0].lower() + cost.label[1:]
            # a minimized cost gets worse as it grows ("more fit time"), a maximized one shrinks
            worse, better = ("more", "less") if cost.direction == "minimize" else ("less", "more")
            if gs is not None and gc is not None and np.sign(gs) != np.sign(gc):
                way = "higher" if gs > 0 else "lower"
                out.append((abs(gs) + abs(gc), Tradeoff(
                    param, cost.name, "trade", bool(gs > 0),
                    f"{param} buys {score.label} with {what}: {way} values give a better score "
                    f"and {worse} {what} (rank correlation {_rho(effects, param, score)} with the "
                    f"score, {_rho(effects, param, cost)} with the cost).",
                )))  # fmt: skip
            elif gs is not None and gc is not None:
                way = "higher" if gs > 0 else "lower"
                out.append((abs(gs) + abs(gc), Tradeoff(
                    param, cost.name, "free", bool(gs > 0),
                    f"{way.capitalize()} {param} is better on both: a better {score.label} and "
                    f"{better} {what} ({_rho(effects, param, score)} with the score, "
                    f"{_rho(effects, param, cost)} with the cost).",
                )))  # fmt: skip
            elif gs is not None and cost is costs[0]:
                way = "higher" if gs > 0 else "lower"
                out.append((abs(gs), Tradeoff(
                    param, cost.name, "score_only", bool(gs > 0),
                    f"{way.capitalize()} {param} improves {score.label} without a clear cost in "
                    f"{what} (rank correlation {_rho(effects, param, score)} with the score).",
                )))  # fmt: skip
            elif gc is not None:
                way = "higher" if gc > 0 else "lower"
                out.append((abs(gc) / 2, Tradeoff(
                    param, cost.name, "cost_only", bool(gc > 0),
                    f"{way.capitalize()} {param} saves {what} without a clear effect on "
                    f"{score.label} ({_rho(effects, param, cost)} with the cost).",
                )))  # fmt: skip
    order = {"trade": 0, "free": 1, "score_only": 2, "cost_only": 3}
    return [t for _, t in sorted(out, key=lambda e: (order[e[1].kind], -e[0]))]


def _rho(effects: pd.DataFrame, param: str, objective: Any) -> str:
    row = effects[(effects["param"] == param) & (effects["objective"] == objective.name)]
    return f"{float(row['rho'].iloc[0]):+.2f}"
