"""Plain-language advice from a run's numbers, and a refined configuration that applies it.

`recommend(run)` reads importance, the top trials' positions in their ranges, the plateau and
the t-test; `refined_config(config, recommendations)` turns the actionable ones (widen, narrow,
fix) into a new run configuration.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from tuning.analysis import pareto
from tuning.analysis.param_importance import Importance, importance
from tuning.analysis.payoff import Payoff, payoff
from tuning.analysis.rundata import ParamInfo, RunData, fmt_value, to_float
from tuning.analysis.statistics import (
    Plateau,
    Tradeoff,
    compare_top,
    cv_noise,
    plateau,
    tradeoffs,
)
from tuning.core.config import RunConfig
from tuning.core.errors import ConfigError

RECOMMENDATION_KINDS = ("widen", "narrow", "fix", "stop", "note", "tradeoff")
TRADEOFF_PCT = 1.0  # "as good as the best": within this % of the best score (the engine's default)


@dataclass(frozen=True)
class Recommendation:
    """One piece of advice. widen/narrow carry the new `low`/`high`; fix carries `value`.
    `refined_config` applies the actionable ones (widen, narrow, fix)."""

    kind: str
    message: str
    param: str | None = None
    low: float | int | None = None
    high: float | int | None = None
    value: Any = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def actionable(self) -> bool:
        return self.kind in ("widen", "narrow", "fix") and self.param is not None


# Hard limits for well-known parameters (a widened range never crosses them).
PARAM_LIMITS: dict[str, tuple[float | None, float | None]] = {
    "min_samples_split": (2, None), "min_samples_leaf": (1, None), "max_depth": (1, None),
    "n_estimators": (1, None), "max_iter": (1, None), "max_leaf_nodes": (2, None),
    "n_neighbors": (1, None), "degree": (1, 10), "n_layers": (0, 8), "width": (1, 4096),
    "epochs": (1, None), "subsample": (0.01, 1.0), "dropout": (0.0, 0.9), "batch_size": (1, None),
}  # fmt: skip
LOG_WIDEN_MAX = 100.0  # a log-scaled range grows by at most this factor per widening
EDGE = 0.1  # the outer tenth of a range (on its own scale) counts as "at the edge"


def recommend(
    run: RunData,
    imp: Importance | None = None,
    stall: Plateau | None = None,
    ranks: pd.DataFrame | None = None,
    top_k: int = 10,
) -> list[Recommendation]:
    """Advice derived from the numbers; empty when nothing stands out.

    - widen: a parameter sits at the edge of its range in most of the top trials;
    - fix: a parameter barely matters while another clearly does (importance);
    - narrow: the most important parameter's top trials fill a small part of its range;
    - stop: the best stopped improving by more than the CV noise (see plateau());
    - note: tuning did not beat the library defaults beyond noise (or they beat it), top trials
      indistinguishable from the best, overfitting, many failed trials;
    - tradeoff (multi-objective runs): which parameters buy score with a cost, and the cheapest
      trial as good as the best. There fix and narrow, which look at the score only, leave
      alone the parameters that clearly move a cost: the cheap end of the front needs them.
    """
    c = run.complete
    out: list[Recommendation] = []
    if run.n_complete == 0:
        return out
    if imp is None and run.n_complete >= 10:
        imp = importance(run, n_boot=20)
    top = run.ranked().head(min(top_k, max(3, run.n_complete // 5)))
    gained = _defaults_advice(payoff(run))
    if gained is not None:
        out.append(gained)
    widened: set[str] = set()
    for name, info in run.params.items():
        if not info.numeric or info.low is None or info.high is None or info.high <= info.low:
            continue
        rec = _edge(run, info, top)
        if rec:
            out.append(rec)
            widened.add(name)
    if imp is not None and imp.ok and run.n_complete >= 20:
        out += _fixes(run, imp, top, widened)
        out += _narrow(run, imp, top, widened)
    stall = stall or plateau(run)
    if stall.detected:
        out.append(Recommendation("stop", stall.message, evidence={"plateau": stall.__dict__}))
    out += _notes(run, c, ranks)
    if run.record.multi_objective:
        trades = tradeoffs(run)
        costly = {t.param for t in trades if t.kind != "score_only"}
        out = [r for r in out if not (r.kind in ("fix", "narrow") and r.param in costly)]
        out += _tradeoff_advice(run, trades)
    return out


def _defaults_advice(p: Payoff) -> Recommendation | None:
    """What the gain over the library defaults advises, where tuning did not clearly pay off."""
    g = p.gain
    if g is None or p.verdict == "beats":
        return None
    low, high = g.gain_interval
    so_far = " so far" if p.provisional else ""
    evidence = {"gain": g.gain, "low": low, "high": high, "defaults_trial": g.defaults_trial}
    if p.verdict == "worse":
        return Recommendation(
            "note",
            f"The library defaults beat the best trial{so_far} beyond fold-to-fold noise: the "
            "searched ranges leave out the defaults' region. Widen them to include the "
            "defaults, or keep the defaults.",
            evidence=evidence,
        )
    return Recommendation(
        "note",
        f"Tuning did not beat the library defaults beyond fold-to-fold noise{so_far} (best "
        f"{g.label} {g.best_mean:.4g} against the defaults' {g.defaults_mean:.4g}): the "
        "defaults are a fine choice here. More trials of this search are unlikely to pay; "
        "another model, other features or more data are likelier to help.",
        evidence=evidence,
    )


def _tradeoff_advice(run: RunData, trades: list[Tradeoff]) -> list[Recommendation]:
    """What a multi-objective run says about its trade-off, in words."""
    out = []
    for t in trades:
        if t.kind == "trade":
            out.append(Recommendation(
                "tradeoff", t.sentence + " The best score is not free here: pick on the Pareto "
                "front how much score a cheaper model is worth.", param=t.param,
                evidence={"cost": t.cost, "higher": t.higher},
            ))  # fmt: skip
        elif t.kind == "free":
            out.append(Recommendation(
                "tradeoff", t.sentence + " Nothing is traded there: move its range that way.",
                param=t.param, evidence={"cost": t.cost, "higher": t.higher},
            ))  # fmt: skip
    objectives = run.record.objectives
    best = run.best
    if best is None:
        return out
    score = objectives[0]
    for cost in objectives[1:]:
        pick = pareto.tradeoff(run.frame, objectives, TRADEOFF_PCT, cost.name)
        if pick is None or pick == int(best["number"]):
            continue
        row = run.frame.set_index("number").loc[pick]
        mine, theirs = float(row[cost.column]), float(best[cost.column])
        if not (np.isfinite(mine) and np.isfinite(theirs)) or mine == theirs:
            continue
        change = (
            f"{abs(1 - mine / theirs):.0%} {'less' if mine < theirs else 'more'}"
            if theirs else "a different"
        )  # fmt: skip
        out.append(Recommendation(
            "tradeoff",
            f"Trial {pick} scores {fmt_value(float(row['value']))} {score.label}, within "
            f"{TRADEOFF_PCT:g}% of the best ({fmt_value(float(best['value']))}, trial "
            f"{int(best['number'])}), with {change} {cost.label.lower()}: "
            f"{cost_text(mine, cost)} against {cost_text(theirs, cost)}.",
            evidence={"trial": pick, "best": int(best["number"]), "cost": cost.name},
        ))  # fmt: skip
    return out


def cost_text(value: float, objective: Any) -> str:
    """A cost as a reader reads it: "1.2 s", "3.4 MB", "12,345"."""
    if objective.unit == "bytes":
        for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
            if abs(value) >= size:
                return f"{value / size:.3g} {unit}"
        return f"{value:.0f} bytes"
    if objective.name == "n_params":
        return f"{value:,.0f}"
    unit = {"s": " s", "ms per 1,000 rows": " ms per 1,000 rows"}.get(objective.unit, "")
    return f"{fmt_value(value)}{unit}"


def _edge(run: RunData, info: ParamInfo, top: pd.DataFrame) -> Recommendation | None:
    v = to_float(run.param_values(info.name, top))
    v = v[np.isfinite(v)]
    if len(v) < 3:
        return None
    u = info.unit(v)
    at_high = int(np.sum((u >= 1 - EDGE) | (v >= info.high)))
    at_low = int(np.sum((u <= EDGE) | (v <= info.low)))
    need = max(3, math.ceil(0.5 * len(v)))
    side = "high" if at_high >= need and at_high >= at_low else "low" if at_low >= need else None
    if side is None:
        return None
    low, high = _widened(info, side)
    if (low, high) == (info.low, info.high):
        return None
    count = at_high if side == "high" else at_low
    where = "top" if side == "high" else "bottom"
    return Recommendation(
        "widen",
        f"{info.name} sits at the {where} of its range in {count} of the top {len(v)} trials: "
        f"widen it (from {fmt_value(info.low)}–{fmt_value(info.high)} to {fmt_value(low)}–{fmt_value(high)}).",
        param=info.name,
        low=low,
        high=high,
        evidence={"side": side, "count": count, "of": len(v)},
    )


def _widened(info: ParamInfo, side: str) -> tuple[Any, Any]:
    """Extend one side by one range width (log ranges: by the range's ratio, at most
    LOG_WIDEN_MAX-fold), within PARAM_LIMITS, >0 for log ranges, [0, 1] for fractions."""
    low, high = float(info.low), float(info.high)
    lim_low, lim_high = PARAM_LIMITS.get(info.name, (None, None))
    if info.log:
        ratio = min(high / low, LOG_WIDEN_MAX)
        new_low, new_high = (low / ratio, high) if side == "low" else (low, high * ratio)
        floor = 1.0 if info.kind == "int" else 1e-12
        lim_low = max(lim_low, floor) if lim_low is not None else floor
    else:
        width = high - low
        new_low, new_high = (low - width, high) if side == "low" else (low, high + width)
        if lim_low is None and low >= 0:
            lim_low = 1.0 if info.kind == "int" and low >= 1 else 0.0
        if lim_high is None and info.kind == "float" and low >= 0 and high <= 1:
            lim_high = 1.0  # a fraction stays a fraction
    if lim_low is not None:
        new_low = max(new_low, lim_low)
    if lim_high is not None:
        new_high = min(new_high, lim_high)
    new_low, new_high = min(new_low, low), max(new_high, high)
    if info.kind == "int":
        return int(math.floor(new_low)), int(math.ceil(new_high))
    return _tidy(new_low), _tidy(new_high)


def _fixes(
    run: RunData, imp: Importance, top: pd.DataFrame, skip: set[str]
) -> list[Recommendation]:
    t = imp.table
    lead = t.iloc[0]
    if lead["importance"] < 0.3 or len(t) < 2:
        return []
    out = []
    for row in t.iloc[1:].itertuples():
        if row.param in skip or row.param not in run.params:
            continue
        if row.importance >= 0.05 or row.high >= 0.1:
            continue
        value = _typical(run, run.params[row.param], top)
        if value is None:
            continue
        out.append(
            Recommendation(
                "fix",
                f"{lead['param']} matters most (importance {lead['importance']:.2f}) and "
                f"{row.param} barely ({row.importance:.2f}, at most {row.high:.2f}): "
                f"fix {row.param} at {fmt_value(value)} (typical of the top {len(top)} trials) and "
                "spend the trials on the parameters that matter.",
                param=row.param,
                value=value,
                evidence={"importance": row.importance, "high": row.high, "lead": lead["param"]},
            )
        )
    # Keep at least one parameter searched.
    if len(out) >= len(run.params):
        out = out[: len(run.params) - 1]
    return out


def _typical(run: RunData, info: ParamInfo, top: pd.DataFrame) -> Any:
    values = run.param_values(info.name, top).dropna()
    if values.empty:
        return None
    if not info.numeric:
        best = values.iloc[0]
        counts = values.astype(str).value_counts()
        winner = counts.index[0] if counts.iloc[0] > 1 else str(best)
        for v in values:
            if str(v) == winner:
                return _py(v)
        return _py(best)
    med = float(np.median(to_float(values)))
    if info.log:
        med = float(np.exp(np.median(np.log(to_float(values)))))
    med = min(max(med, float(info.low)), float(info.high))
    return int(round(med)) if info.kind == "int" else _tidy(med)


def _narrow(
    run: RunData, imp: Importance, top: pd.DataFrame, skip: set[str]
) -> list[Recommendation]:
    if run.n_complete < 30:
        return []
    out = []
    for row in imp.table.itertuples():
        info = run.params.get(row.param)
        if row.importance < 0.25 or info is None or not info.numeric or row.param in skip:
            continue
        v = to_float(run.param_values(row.param, top))
        v = v[np.isfinite(v)]
        if len(v) < 5:
            continue
        u = info.unit(v)
        if u.max() - u.min() > 0.4:
            continue
        pad = 0.1 * (u.max() - u.min()) + 0.02
        lo_u, hi_u = max(0.0, u.min() - pad), min(1.0, u.max() + pad)
        low, high = info.from_unit(lo_u), info.from_unit(hi_u)
        if info.kind == "int":
            low, high = int(math.floor(low)), int(math.ceil(high))
            if high <= low:
                continue
        else:
            low, high = _tidy(low), _tidy(high)
        if (low, high) == (info.low, info.high):
            continue
        out.append(
            Recommendation(
                "narrow",
                f"{row.param} matters (importance {row.importance:.2f}) and the top "
                f"{len(v)} trials all lie in {fmt_value(min(v))}–{fmt_value(max(v))}, "
                f"{100 * (u.max() - u.min()):.0f}% of its range: narrow it to "
                f"{fmt_value(low)}–{fmt_value(high)} to search there more finely.",
                param=row.param,
                low=low,
                high=high,
                evidence={"span": float(u.max() - u.min())},
            )
        )
    return out


def _notes(run: RunData, c: pd.DataFrame, ranks: pd.DataFrame | None) -> list[Recommendation]:
    out = []
    ranks = compare_top(run) if ranks is None else ranks
    same = ranks[(ranks["rank"] > 1) & (ranks["same_as_best"] == True)]  # noqa: E712
    if len(same) >= 2:
        fast = _fastest(run, [int(ranks["number"].iloc[0]), *same["number"]])
        numbers = list(dict.fromkeys(int(n) for n in same["number"]))
        listed = ", ".join(map(str, numbers[:6]))
        # "and 2 more" after a list of trial numbers reads as trial 2: say "other trials".
        others = len(numbers) - 6
        more = f", plus {others} other trial{'s' if others > 1 else ''}," if others > 0 else ""
        speed = ""
        if fast is not None and fast[0] != int(ranks["number"].iloc[0]):
            speed = f"; trial {fast[0]} was the fastest of them ({fast[1]:.2g} s per trial)"
        out.append(
            Recommendation(
                "note",
                f"Trials {listed}{more} are statistically indistinguishable from the best "
                f"(corrected resampled t-test, p ≥ 0.05): any of them is as good on this "
                f"data{speed}.",
                evidence={"trials": [int(x) for x in same["number"]]},
            )
        )
    best = run.best
    if best is not None:
        train, cv = to_float([best.get("train_score")])[0], float(best["value"])
        noise = cv_noise(run, best) or 0.0
        gap = run.sign * (train - cv)
        if np.isfinite(gap) and gap > 3 * noise and gap > 0.05 * max(abs(cv), 1e-12):
            out.append(
                Recommendation(
                    "note",
                    f"The best configuration scores {fmt_value(train)} on its training folds but "
                    f"{fmt_value(cv)} in cross-validation: it overfits. Favour stronger "
                    "regularization or simpler models in the search space.",
                    evidence={"train": train, "cv": cv},
                )
            )
    fr = run.frame
    finished = fr[fr["state"].isin(["complete", "pruned", "failed"])]
    failed = finished[finished["state"] == "failed"]
    if len(failed) >= 3 and len(failed) >= 0.2 * len(finished):
        reason = failed["fail_reason"].dropna().astype(str)
        common = reason.value_counts().index[0] if len(reason) else "unknown"
        out.append(
            Recommendation(
                "note",
                f"{len(failed)} of {len(finished)} trials failed (most often: {common[:200]}). "
                "Narrow extreme ranges or switch off the parameter that causes it.",
                evidence={"failed": len(failed)},
            )
        )
    return out


def _fastest(run: RunData, numbers: list[int]) -> tuple[int, float] | None:
    df = run.frame.set_index("number")
    d = to_float(df.loc[numbers, "duration_s"])
    if not np.isfinite(d).any():
        return None
    i = int(np.nanargmin(d))
    return numbers[i], float(d[i])


def refined_config(
    config: RunConfig,
    recommendations: Iterable[Recommendation],
    name: str | None = None,
    n_trials: int | None = None,
) -> RunConfig:
    """A new run configuration with the search space changed as recommended (widen, narrow,
    fix; other kinds are ignored). Pass it to runner.create_run / start_run. The name is reset
    (a new run gets a fresh name) unless given."""
    space = config.space
    if space is None:
        from tuning.data.datasets import load_dataset
        from tuning.models import get_model

        space = get_model(config.model).default_space(load_dataset(config.dataset).task)
    recs = [r for r in recommendations if r.actionable]
    fixed = {r.param for r in recs if r.kind == "fix"}
    for r in recs:
        if r.param not in space:
            raise ConfigError(
                f"The recommendation is about '{r.param}', which is not in this run's space."
            )
        p = space[r.param]
        if r.kind == "fix":
            value = _py(r.value)
            if p.kind == "int":
                value = int(round(value))
            space = space.replace_param(r.param, enabled=False, default=value, grid=None)
        elif r.param not in fixed:
            low = p.low if r.low is None else r.low
            high = p.high if r.high is None else r.high
            if p.kind == "int":
                low, high = int(low), int(high)
            else:
                low, high = float(low), float(high)
            if p.log and low <= 0:
                raise ConfigError(f"{r.param} is log-scaled: its low end must stay above 0.")
            default = p.default if p.default is not None and low <= p.default <= high else None
            grid = p.grid
            if grid is not None and not all(low <= g <= high for g in grid):
                grid = None
            space = space.replace_param(r.param, low=low, high=high, default=default, grid=grid)
    if not any(p.enabled for p in space.params):
        raise ConfigError("The recommendations would switch off every parameter.")
    changes: dict[str, Any] = {"space": space, "name": name}
    if n_trials is not None:
        changes["n_trials"] = n_trials
    return replace(config, **changes)


# -- helpers --------------------------------------------------------------------------------------
def _tidy(v: float) -> float:
    return float(f"{v:.4g}")


def _py(v: Any) -> Any:
    """numpy scalars -> plain Python (JSON-friendly)."""
    return v.item() if isinstance(v, np.generic) else v
