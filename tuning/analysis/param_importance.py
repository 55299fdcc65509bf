"""Parameter importance of a run, with a bootstrap uncertainty band, and the one cache of it.

`importance(run, method)` computes; `ImportanceCache` keeps one result per method for one run
and decides when to recompute it. The Live monitor and the Analysis page both read importance
through the run's cache (tuning.analysis.live.LiveRun.importances), so they show the same numbers
for the same run, refreshed by the same rule.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from tuning.analysis.rundata import RunData, to_float
from tuning.core.errors import ConfigError
from tuning.core.objectives import Objective
from tuning.store import compat

IMPORTANCE_METHODS = {
    "ped_anova": "PED-ANOVA",
    "fanova": "fANOVA",
    "mdi": "mean decrease impurity",
}
# What both pages show first, the report and the advice use. Mean decrease impurity splits the
# score's variation between the parameters, so it ranks a two-way kernel that decides the score
# above a narrow best range of C; PED-ANOVA, which asks how concentrated the top 10% of trials
# are in each parameter, ranks the other way round (tests/engine/test_analysis.py's known
# answers). PED-ANOVA is the cheap second opinion (CROSS_CHECK): where the two order the
# parameters differently, the pages say so (`disagreement`).
DEFAULT_METHOD = "mdi"
CROSS_CHECK = "ped_anova"
# Trial caps and default effort for the slow evaluators (fANOVA: ~12 s at 200 trials, 64 trees).
FANOVA_MAX_TRIALS = 200
MDI_MAX_TRIALS = 500  # ~0.1 s of CPU per resample: the default must stay cheap while a run works
MIN_TRIALS_FOR_IMPORTANCE = 5
_DEFAULT_BOOT = {"ped_anova": 50, "fanova": 10, "mdi": 30}  # bands from more than a handful
_DEFAULT_SECONDS = {"ped_anova": 5.0, "fanova": 40.0, "mdi": 5.0}


@dataclass
class Importance:
    """Parameter importance; `table` has one row per parameter, most important first:
    param, importance (share of the total, sums to 1), low/high (bootstrap 5-95% interval),
    above_next (fraction of resamples in which this parameter beats the next one down)."""

    table: pd.DataFrame
    method: str
    n_trials: int  # complete trials the estimate used
    n_boot: int  # bootstrap resamples behind the intervals
    seconds: float
    note: str = ""
    n_complete: int = 0  # complete trials of the run when it was computed (before any cap)

    @property
    def label(self) -> str:
        return IMPORTANCE_METHODS.get(self.method, self.method)

    @property
    def ok(self) -> bool:
        return not self.table.empty

    def share(self, param: str) -> float | None:
        row = self.table[self.table["param"] == param]
        return None if row.empty else float(row["importance"].iloc[0])

    def shares(self) -> dict[str, float]:
        """{param: share}, most important first; empty when nothing could be attributed (no
        table, or every score equal so that every share is 0)."""
        t = self.table
        if t.empty or not (t["importance"] > 0).any():
            return {}
        return dict(zip(t["param"], t["importance"].astype(float), strict=True))


def importance(
    run: RunData,
    method: str = DEFAULT_METHOD,
    *,
    params: Iterable[str] | None = None,
    n_boot: int | None = None,
    max_seconds: float | None = None,
    seed: int = 0,
    objective: Objective | None = None,
) -> Importance:
    """Importance of each parameter, with an uncertainty band from resampling the trials.

    Mean decrease impurity (default) and fANOVA use Optuna's evaluators on at most
    MDI_MAX_TRIALS / FANOVA_MAX_TRIALS trials (a random subset beyond, said in `note`), on the
    log scale where a parameter is searched on it and with conditional parameters included
    (`_forest_view`). PED-ANOVA is fast at any size (a vectorized re-implementation of
    Optuna's, exact on the full sample, ~10 ms per resample). Resampling stops after
    `max_seconds` (at least 3 resamples).

    `objective` (one of `run.record.objectives`) is what the parameters are judged on: the
    CV score by default, or a cost of a multi-objective run (its column of `run.frame`).
    """
    if method not in IMPORTANCE_METHODS:
        raise ConfigError(
            f"Unknown importance method '{method}': use one of {', '.join(IMPORTANCE_METHODS)}."
        )
    t0 = time.perf_counter()
    trials = _judged_trials(run, objective)
    n_complete = len(trials)
    names = [p for p in (params or run.param_names) if any(p in t.params for t in trials)]
    if len(trials) < MIN_TRIALS_FOR_IMPORTANCE or not names:
        note = (
            f"Importance needs at least {MIN_TRIALS_FOR_IMPORTANCE} complete trials; "
            f"this run has {len(trials)}."
            if names or len(trials) < MIN_TRIALS_FOR_IMPORTANCE
            else "No searched parameters."
        )
        empty = pd.DataFrame(columns=["param", "importance", "low", "high", "above_next"])
        return Importance(empty, method, len(trials), 0, time.perf_counter() - t0, note, n_complete)
    notes: list[str] = []
    rng = np.random.default_rng(seed)
    if method != "ped_anova":
        trials = _forest_sample(trials, names, method, rng, notes)
    maximize = run.maximize if objective is None else objective.direction == "maximize"
    direction = StudyDirection.MAXIMIZE if maximize else StudyDirection.MINIMIZE
    n_boot = _DEFAULT_BOOT[method] if n_boot is None else max(0, int(n_boot))
    budget = _DEFAULT_SECONDS[method] if max_seconds is None else max_seconds
    point, replicate = _evaluator(method, trials, names, direction, seed, rng, notes)
    if replicate is None:
        n_boot = 0
    reps = _resample(replicate, n_boot, budget, notes)
    table = _importance_table(names, point, np.array(reps) if reps else None)
    if len(trials) < 20:
        notes.append(f"Only {len(trials)} complete trials: treat the ranking as a first guess.")
    seconds = time.perf_counter() - t0
    return Importance(table, method, len(trials), len(reps), seconds, " ".join(notes), n_complete)


def _judged_trials(run: RunData, objective: Objective | None) -> list[FrozenTrial]:
    """The trials the parameters are judged on: the complete ones with a finite score, or with
    a value of `objective` (a multi-objective run's first objective by default)."""
    if objective is None and not run.record.multi_objective:
        return [
            t
            for t in run.trials
            if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
        ]
    return _judged_on(run, objective or run.record.objectives[0])


def _forest_sample(
    trials: list[FrozenTrial], names: list[str], method: str, rng: np.random.Generator,
    notes: list[str],
) -> list[FrozenTrial]:  # fmt: skip
    """The trials a forest-based method is fit on (a random subset beyond its cap), with notes
    on conditional parameters and on the subset."""
    conditional = [p for p in names if not all(p in t.params for t in trials)]
    if conditional:
        one = len(conditional) == 1
        notes.append(
            f"{', '.join(conditional)} {'applies' if one else 'apply'} only to some trials "
            f"(conditional): where {'it does' if one else 'one does'} not apply, the forest "
            "sees a random value from its range, so its importance is what it does where it "
            "applies."
        )
    cap = FANOVA_MAX_TRIALS if method == "fanova" else MDI_MAX_TRIALS
    if len(trials) <= cap:
        return trials
    keep = np.sort(rng.choice(len(trials), size=cap, replace=False))
    notes.append(
        f"{IMPORTANCE_METHODS[method]} is slow on many trials: computed on a random "
        f"{cap:,} of the {len(trials):,} complete trials. PED-ANOVA uses all of them."
    )
    return [trials[i] for i in keep]


Replicate = Callable[[int], np.ndarray]


def _evaluator(
    method: str, trials: list[FrozenTrial], names: list[str], direction: StudyDirection,
    seed: int, rng: np.random.Generator, notes: list[str],
) -> tuple[np.ndarray, Replicate | None]:  # fmt: skip
    """The importance on all `trials`, and how to compute one resample of it (None: no band)."""
    if method == "ped_anova":
        try:
            ped = _PedAnova(trials, names, direction)
        except ImportError:  # Optuna moved its Parzen estimator: its evaluator, no band
            from optuna.importance import PedAnovaImportanceEvaluator

            result = PedAnovaImportanceEvaluator().evaluate(_TrialSet(trials, direction), names)  # type: ignore[arg-type]
            notes.append("No uncertainty band: this Optuna version lacks the fast path.")
            return np.array([float(result.get(n, 0.0)) for n in names]), None

        def ped_replicate(i: int) -> np.ndarray:
            w = np.bincount(rng.integers(0, len(trials), len(trials)), minlength=len(trials))
            return ped.evaluate(w)

        return ped.evaluate(np.ones(len(trials), dtype=np.int64)), ped_replicate
    if method == "mdi":
        mdi = _Mdi(_forest_view(trials, names, seed), names)

        def mdi_replicate(i: int) -> np.ndarray:
            return mdi.evaluate(rng.integers(0, len(trials), len(trials)), seed + 1 + i, 16)

        return mdi.evaluate(np.arange(len(trials)), seed, n_trees=32), mdi_replicate
    view = _forest_view(trials, names, seed)

    def fanova_replicate(i: int) -> np.ndarray:
        sample = [view[j] for j in rng.integers(0, len(view), len(view))]
        return _fanova(sample, names, direction, seed + 1 + i, n_trees=16)

    return _fanova(view, names, direction, seed, n_trees=32), fanova_replicate


def _resample(
    replicate: Replicate | None, n_boot: int, budget: float, notes: list[str]
) -> list[np.ndarray]:
    """Up to `n_boot` resamples, stopping after `budget` seconds (at least 3 resamples)."""
    reps: list[np.ndarray] = []
    t_boot = time.perf_counter()
    for i in range(n_boot if replicate is not None else 0):
        reps.append(replicate(i))
        if len(reps) >= 3 and time.perf_counter() - t_boot > budget:
            notes.append(f"Resampling stopped after {len(reps)} resamples ({budget:g} s limit).")
            break
    return reps


def _normalize(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.nan_to_num(np.asarray(v, dtype=float)), 0, None)
    s = v.sum(axis=-1, keepdims=True)
    return np.divide(v, s, out=np.zeros_like(v), where=s > 0)


def _importance_table(names: list[str], point: np.ndarray, reps: np.ndarray | None) -> pd.DataFrame:
    share = _normalize(point)
    order = np.argsort(-share, kind="stable")
    if reps is not None and len(reps):
        r = _normalize(reps)
        low, high = np.percentile(r, 5, axis=0), np.percentile(r, 95, axis=0)
    else:
        r, low, high = None, share.copy(), share.copy()
    rows = []
    for pos, i in enumerate(order):
        above = np.nan
        if r is not None and pos + 1 < len(order):
            above = float(np.mean(r[:, i] > r[:, order[pos + 1]]))
        rows.append(
            {
                "param": names[i],
                "importance": float(share[i]),
                "low": float(min(low[i], share[i])),
                "high": float(max(high[i], share[i])),
                "above_next": above,
            }
        )
    return pd.DataFrame(rows)


def _judged_on(run: RunData, objective: Objective) -> list[FrozenTrial]:
    """Copies of the run's complete trials whose `value` is the objective's (from its column of
    the trials frame), so the evaluators below, which read `value`, judge the parameters on it.
    A trial without a finite value for it is left out."""
    frame = run.frame
    if objective.column not in frame or not len(frame):
        return []
    values = dict(zip(frame["number"], to_float(frame[objective.column]), strict=True))
    out = []
    for t in run.trials:
        v = values.get(t.number)
        if t.state != TrialState.COMPLETE or v is None or not math.isfinite(v):
            continue
        out.append(
            FrozenTrial(
                number=t.number, state=t.state, value=float(v), datetime_start=None,
                datetime_complete=None, params=t.params, distributions=t.distributions,
                user_attrs={}, system_attrs={}, intermediate_values={},
                trial_id=compat.trial_id(t),
            )  # fmt: skip
        )  # fmt: skip
    return out


class _TrialSet:
    """The few Study methods Optuna's importance evaluators call, over a given list of trials
    (so a bootstrap resample needs no new storage)."""

    def __init__(self, trials: list[FrozenTrial], direction: StudyDirection) -> None:
        self._trials = trials
        self.directions = [direction]
        self.direction = direction

    def get_trials(self, deepcopy: bool = False, states: Any = None) -> list[FrozenTrial]:
        return self._trials

    def _is_multi_objective(self) -> bool:
        return False


def _forest_view(trials: list[FrozenTrial], names: list[str], seed: int) -> list[FrozenTrial]:
    """Copies of the trials for the forest evaluators: every parameter in every trial, and
    log-scaled ones on the log scale (a linear range over log values).

    fANOVA integrates over the search space uniformly in the values it is given: on the raw
    scale, C in [0.001, 1000] would be judged almost only by C > 1. A conditional parameter
    (gamma only under kernel=rbf) gets, where it does not apply, a value drawn at random from
    its range: then its being absent tells the forest nothing (a fixed stand-in would let its
    splits stand in for the kernel's), and its importance is what it does where it applies."""
    dists: dict[str, BaseDistribution] = {}
    for t in trials:
        for n in names:
            if n not in dists and n in t.distributions:
                dists[n] = t.distributions[n]
    rng = np.random.default_rng(seed)
    view = {}
    for n, d in dists.items():
        if isinstance(d, CategoricalDistribution):
            view[n] = d
        elif d.log:
            view[n] = FloatDistribution(math.log(d.low), math.log(d.high))
        else:
            view[n] = FloatDistribution(float(d.low), float(d.high))
    out = []
    for t in trials:
        params = {}
        for n in names:
            d = dists[n]
            if n not in t.params:
                params[n] = _draw(view[n], rng)
            elif isinstance(d, CategoricalDistribution):
                params[n] = t.params[n]
            else:
                params[n] = math.log(t.params[n]) if d.log else float(t.params[n])
        out.append(
            FrozenTrial(
                number=t.number,
                state=t.state,
                value=t.value,
                datetime_start=None,
                datetime_complete=None,
                params=params,
                distributions=view,
                user_attrs={},
                system_attrs={},
                intermediate_values={},
                trial_id=compat.trial_id(t),
            )  # fmt: skip
        )
    return out


def _draw(d: BaseDistribution, rng: np.random.Generator) -> Any:
    if isinstance(d, CategoricalDistribution):
        return d.choices[int(rng.integers(len(d.choices)))]
    return float(rng.uniform(d.low, d.high))


def _fanova(
    trials: list[FrozenTrial],
    names: list[str],
    direction: StudyDirection,
    seed: int,
    n_trees: int,
) -> np.ndarray:
    from optuna.importance import FanovaImportanceEvaluator

    evaluator = FanovaImportanceEvaluator(n_trees=n_trees, seed=seed)
    result = evaluator.evaluate(_TrialSet(trials, direction), params=list(names))  # type: ignore[arg-type]
    return np.array([float(result.get(n, 0.0)) for n in names])


class _Mdi:
    """Mean decrease impurity as Optuna's evaluator computes it (a random forest fit to the
    scores, categorical parameters one-hot, each parameter's columns summed), on a matrix
    encoded once, so that a bootstrap resample costs one forest fit. (Optuna 5.0's evaluator
    also names its results in the order given but computes them in sorted order, so any other
    order swapped the numbers.)"""

    def __init__(self, trials: list[FrozenTrial], names: list[str]) -> None:
        columns, owner = [], []
        for j, name in enumerate(names):
            d = trials[0].distributions[name]  # a _forest_view: the same in every trial
            if isinstance(d, CategoricalDistribution):
                for choice in d.choices:
                    columns.append([float(t.params[name] == choice) for t in trials])
                    owner.append(j)
            else:
                columns.append([float(t.params[name]) for t in trials])
                owner.append(j)
        self.X = np.array(columns, dtype=float).T
        self.y = np.array([t.value for t in trials], dtype=float)
        self.owner = np.array(owner, dtype=np.int64)
        self.n_params = len(names)

    def evaluate(self, rows: np.ndarray, seed: int, n_trees: int) -> np.ndarray:
        from sklearn.ensemble import RandomForestRegressor

        forest = RandomForestRegressor(n_estimators=n_trees, max_depth=64, random_state=seed)
        forest.fit(self.X[rows], self.y[rows])
        out = np.zeros(self.n_params)
        np.add.at(out, self.owner, forest.feature_importances_)
        return out


class _PedAnova:
    """Optuna's PedAnovaImportanceEvaluator (target_quantile 0.1, region_quantile 1.0, local),
    re-done on count vectors so that a bootstrap resample (integer weights per trial) costs a
    few bincounts and Parzen estimators instead of a pass over FrozenTrial objects.
    With unit weights it returns exactly what Optuna's evaluator returns."""

    TARGET_QUANTILE = 0.1
    N_STEPS = 50
    PRIOR_WEIGHT = 1.0
    MIN_IN_REGIME = 2

    def __init__(
        self, trials: list[FrozenTrial], names: list[str], direction: StudyDirection
    ) -> None:
        self._pe = compat.scott_parzen_estimator()
        sign = 1.0 if direction == StudyDirection.MINIMIZE else -1.0
        self.loss = sign * np.array([t.value for t in trials], dtype=float)
        self.order = np.argsort(self.loss, kind="stable")
        self.params = []  # per parameter: list of (dist, member indices, grid index, size)
        for name in names:
            groups: dict[Any, list[int]] = {}
            reps: dict[Any, BaseDistribution | None] = {}
            for i, t in enumerate(trials):
                d = t.distributions.get(name)
                key = _dist_key(d)
                groups.setdefault(key, []).append(i)
                reps.setdefault(key, d)
            regimes = []
            for key, members in groups.items():
                d = reps[key]
                idx = np.array(members, dtype=np.int64)
                grid, size, rounded = (None, 0, None)
                if d is not None and not d.single():
                    grid, size, rounded = self._grid(name, d, [trials[i] for i in members])
                regimes.append((d, idx, grid, size, rounded))
            self.params.append(regimes)

    def _grid(self, name: str, d: BaseDistribution, trials: list[FrozenTrial]):
        if isinstance(d, CategoricalDistribution):
            grid = np.array([int(d.to_internal_repr(t.params[name])) for t in trials])
            return grid, len(d.choices), d
        n_steps = self.N_STEPS
        if isinstance(d, IntDistribution) and d.log:
            n_steps = min(int(np.ceil(np.log(d.high - d.low + 1) / np.log(2))) + 1, n_steps)
        elif d.step is not None:
            n_steps = min(round((d.high - d.low) / d.step) + 1, n_steps)
        low, high = (math.log(d.low), math.log(d.high)) if d.log else (d.low, d.high)
        values = np.array([t.params[name] for t in trials], dtype=float)
        if d.log:
            values = np.log(values)
        step = (high - low) / (n_steps - 1)
        grid = np.clip(np.ceil((values - low) / step - 0.5).astype(int), 0, n_steps - 1)
        return grid, n_steps, IntDistribution(low=0, high=n_steps - 1)

    def _divergence(self, top: np.ndarray, local: np.ndarray, rounded, size: int) -> float:
        grids = np.arange(size)
        pdfs = []
        for counts in (top, local):
            obs = np.flatnonzero(counts)
            pe = self._pe(
                observations=obs,
                search_space=rounded,
                predetermined_weights=counts[obs],
                prior_weight=self.PRIOR_WEIGHT,
            )
            pdfs.append(pe.pdf(grids) + 1e-12)
        pdf_top, pdf_local = pdfs
        return float(pdf_local @ ((pdf_top / pdf_local - 1) ** 2))

    def evaluate(self, w: np.ndarray) -> np.ndarray:
        """Importance of each parameter with `w[i]` copies of trial i (unnormalized)."""
        n = int(w.sum())
        if n <= 1:
            return np.zeros(len(self.params))
        cum = np.cumsum(w[self.order])
        cutoff_index = int(math.ceil(self.TARGET_QUANTILE * n)) - 1
        cutoff = self.loss[self.order][np.searchsorted(cum, cutoff_index, side="right")]
        wt = np.where(self.loss <= cutoff, w, 0)
        n_target = int(wt.sum())
        if n_target == 0:
            return np.zeros(len(self.params))
        out = np.zeros(len(self.params))
        for j, regimes in enumerate(self.params):
            for _d, idx, grid, size, rounded in regimes:
                w_region = w[idx]
                region_n = int(w_region.sum())
                if region_n < self.MIN_IN_REGIME:
                    continue
                w_target = wt[idx]
                target_n = int(w_target.sum())
                if grid is None or target_n == 0:
                    continue
                top = np.bincount(grid, weights=w_target, minlength=size).astype(np.int64)
                local = np.bincount(grid, weights=w_region, minlength=size).astype(np.int64)
                alpha, beta = target_n / n_target, region_n / n
                out[j] += alpha**2 / beta * self._divergence(top, local, rounded, size)
        return out * (n_target / n) ** 2


def _dist_key(d: BaseDistribution | None) -> Any:
    if d is None:
        return None
    if isinstance(d, CategoricalDistribution):
        return ("cat", tuple((type(c).__name__, c) for c in d.choices))
    return (type(d).__name__, d.low, d.high, d.log, d.step)


# -- when evaluators disagree --------------------------------------------------------------------
MATTERS = 0.1  # a parameter with at least this share (by one evaluator) counts in the comparison
MARGIN = 0.05  # and an order counts only where the shares differ by at least this


@dataclass(frozen=True)
class Disagreement:
    """Evaluators that order the parameters that matter differently: `base` (the default's
    result) and, per other evaluator, the pairs (a, b) that base ranks a above b and it ranks b
    above a."""

    base: Importance
    others: tuple[tuple[Importance, tuple[tuple[str, str], ...]], ...]

    @property
    def short(self) -> str:
        """One line, e.g. 'PED-ANOVA ranks C above kernel'."""
        return "; ".join(
            f"{imp.label} ranks {', '.join(f'{b} above {a}' for a, b in pairs)}"
            for imp, pairs in self.others
        )

    @property
    def text(self) -> str:
        """What differs and why, for the page."""
        a = self.base.shares()
        lines = []
        for imp, pairs in self.others:
            b = imp.shares()
            lines += [
                f"{_capital(self.base.label)} ranks {p} above {q} ({a.get(p, 0):.2f} vs {a.get(q, 0):.2f}), "
                f"{imp.label} {q} above {p} ({b.get(q, 0):.2f} vs {b.get(p, 0):.2f})."
                for p, q in pairs
            ]
        methods = [self.base.method, *(imp.method for imp, _ in self.others)]
        why = " ".join(EVALUATOR_QUESTIONS[m] for m in methods)
        if "ped_anova" in methods:
            why += (
                " So a choice that moves every score counts for more in the first, and a narrow "
                "best range that the top trials share counts for more in PED-ANOVA's."
            )
        return f"The importance evaluators disagree. {' '.join(lines)} {why}"


def _capital(label: str) -> str:
    """'mean decrease impurity' -> 'Mean decrease impurity'; 'fANOVA' stays as it is."""
    return label[:1].upper() + label[1:] if label.islower() else label


EVALUATOR_QUESTIONS = {
    "mdi": "Mean decrease impurity measures how much of the scores' variation each parameter "
    "explains (in a random forest fit to them).",
    "fanova": "fANOVA measures the share of the scores' variance due to each parameter alone.",
    "ped_anova": "PED-ANOVA measures how much more concentrated the top 10% of trials are in "
    "each parameter than all trials.",
}


def disagreement(base: Importance, others: Iterable[Importance]) -> Disagreement | None:
    """Where `others` order the parameters that matter differently from `base` (None: they
    agree, or there is nothing to compare)."""
    a = base.shares()
    found = []
    for imp in others:
        b = imp.shares()
        if not a or not b or imp.method == base.method:
            continue
        # In base's order, most important first: (p, q) means base ranks p above q.
        names = [p for p in dict.fromkeys([*a, *b]) if max(a.get(p, 0), b.get(p, 0)) >= MATTERS]
        names.sort(key=lambda p: -a.get(p, 0))
        pairs = []
        for i, p in enumerate(names):
            for q in names[i + 1 :]:
                if a.get(p, 0) - a.get(q, 0) >= MARGIN and b.get(q, 0) - b.get(p, 0) >= MARGIN:
                    pairs.append((p, q))
        if pairs:
            found.append((imp, tuple(pairs)))
    return Disagreement(base, tuple(found)) if found else None


# -- the one cache --------------------------------------------------------------------------------
# While a run works, an importance is kept until it is REFRESH_S[method] old or the count of
# complete trials grew by GROWTH: cheap while a run is small, bounded when it is big.
REFRESH_S = {"ped_anova": 10.0, "fanova": 60.0, "mdi": 15.0}
GROWTH = 0.1


@dataclass
class _Entry:
    n_complete: int
    at: float
    value: Importance


def _key(method: str, objective: Objective | None) -> str:
    """The cache key: the method for the score (as every run had), "method:cost" for a cost."""
    score = objective is None or objective.column == "value"
    return method if score else f"{method}:{objective.name}"


class ImportanceCache:
    """The importances of one run, one per method, shared by every page and session that shows
    that run (it lives on the run's LiveRun). Thread-safe: one computation per method at a
    time; a caller that finds one under way waits for it and reuses its result.

    Recomputed when the count of complete trials changed; while the run works, at most every
    REFRESH_S[method] seconds unless that count grew by GROWTH.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._method_locks = {m: threading.Lock() for m in IMPORTANCE_METHODS}
        self._items: dict[str, _Entry] = {}

    def due(
        self, run: RunData, method: str = DEFAULT_METHOD, now: float | None = None,
        objective: Objective | None = None,
    ) -> bool:  # fmt: skip
        """Whether `get` would compute (for a spinner); False when the cached value is current."""
        with self._lock:
            cur = self._items.get(_key(method, objective))
        return not self._current(cur, run, method, time.time() if now is None else now)

    def get(
        self, run: RunData, method: str = DEFAULT_METHOD, now: float | None = None,
        objective: Objective | None = None,
    ) -> Importance:  # fmt: skip
        """The run's importance by `method`: cached, or computed now from `run`'s trials.
        `objective`: judged on that objective of a multi-objective run (None: the score)."""
        if method not in IMPORTANCE_METHODS:
            return importance(run, method)  # raises the ConfigError that says what to use
        now = time.time() if now is None else now
        key = _key(method, objective)
        with self._method_locks[method]:
            with self._lock:
                cur = self._items.get(key)
            if self._current(cur, run, method, now):
                return cur.value
            try:
                value = importance(run, method, objective=objective)
            except Exception as exc:  # an evaluator that fails on this data: say so, keep going
                value = Importance(
                    pd.DataFrame(columns=["param", "importance", "low", "high", "above_next"]),
                    method, run.n_complete, 0, 0.0,
                    f"Importance could not be computed: {type(exc).__name__}: {exc}",
                    run.n_complete,
                )  # fmt: skip
            with self._lock:
                self._items[key] = _Entry(run.n_complete, now, value)
            return value

    def disagreement(self, run: RunData, now: float | None = None) -> Disagreement | None:
        """Whether the default evaluator and the others disagree on this run: the default and
        CROSS_CHECK (computed when due; both are cheap), and any other evaluator already
        computed for the run's current trials (fANOVA once a page asked for it)."""
        now = time.time() if now is None else now
        base = self.get(run, DEFAULT_METHOD, now)
        others = [self.get(run, CROSS_CHECK, now)]
        with self._lock:
            cached = dict(self._items)
        # per-objective entries ("method:cost") judge another objective: not a second opinion
        others += [
            e.value for m, e in cached.items()
            if m in IMPORTANCE_METHODS and m not in (DEFAULT_METHOD, CROSS_CHECK)
            and self._current(e, run, m, now)
        ]  # fmt: skip
        return disagreement(base, others)

    @staticmethod
    def _current(cur: _Entry | None, run: RunData, method: str, now: float) -> bool:
        if cur is None:
            return False
        n = run.n_complete
        if cur.n_complete == n:
            return True
        fresh = now - cur.at < REFRESH_S[method]
        small = n - cur.n_complete < GROWTH * cur.n_complete
        return run.working and cur.value.ok and fresh and small
