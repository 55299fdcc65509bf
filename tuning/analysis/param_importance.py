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
from collections.abc import Iterable
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

from tuning.analysis.rundata import RunData
from tuning.core.errors import ConfigError
from tuning.store import compat

IMPORTANCE_METHODS = {
    "ped_anova": "PED-ANOVA",
    "fanova": "fANOVA",
    "mdi": "mean decrease impurity",
}
DEFAULT_METHOD = "ped_anova"  # what both pages show first, the report and the advice use
# Trial caps and default effort for the slow evaluators (fANOVA: ~12 s at 200 trials, 64 trees).
FANOVA_MAX_TRIALS = 200
MDI_MAX_TRIALS = 1000
MIN_TRIALS_FOR_IMPORTANCE = 5
_DEFAULT_BOOT = {"ped_anova": 50, "fanova": 5, "mdi": 20}
_DEFAULT_SECONDS = {"ped_anova": 5.0, "fanova": 40.0, "mdi": 15.0}


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
) -> Importance:
    """Importance of each parameter, with an uncertainty band from resampling the trials.

    PED-ANOVA (default) is fast at any size (a vectorized re-implementation of Optuna's, exact
    on the full sample, ~10 ms per resample). fANOVA and mean decrease impurity use Optuna's
    evaluators on at most FANOVA_MAX_TRIALS / MDI_MAX_TRIALS trials (a random subset beyond,
    said in `note`). Resampling stops after `max_seconds` (at least 3 resamples).
    """
    if method not in IMPORTANCE_METHODS:
        raise ConfigError(
            f"Unknown importance method '{method}': use one of {', '.join(IMPORTANCE_METHODS)}."
        )
    t0 = time.perf_counter()
    trials = [
        t
        for t in run.trials
        if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
    ]
    n_complete = len(trials)
    names = [p for p in (params or run.param_names) if any(p in t.params for t in trials)]
    empty = pd.DataFrame(columns=["param", "importance", "low", "high", "above_next"])
    if len(trials) < MIN_TRIALS_FOR_IMPORTANCE or not names:
        note = (
            f"Importance needs at least {MIN_TRIALS_FOR_IMPORTANCE} complete trials; "
            f"this run has {len(trials)}."
            if names or len(trials) < MIN_TRIALS_FOR_IMPORTANCE
            else "No searched parameters."
        )
        return Importance(empty, method, len(trials), 0, time.perf_counter() - t0, note, n_complete)
    notes = []
    rng = np.random.default_rng(seed)
    if method != "ped_anova":
        # fANOVA and MDI need every parameter in every trial: conditional ones are left out.
        common = [p for p in names if all(p in t.params for t in trials)]
        dropped = [p for p in names if p not in common]
        if dropped:
            notes.append(
                f"{IMPORTANCE_METHODS[method]} needs parameters present in every trial: "
                f"{', '.join(dropped)} (conditional) left out; PED-ANOVA includes them."
            )
        names = common
        cap = FANOVA_MAX_TRIALS if method == "fanova" else MDI_MAX_TRIALS
        if len(trials) > cap:
            keep = np.sort(rng.choice(len(trials), size=cap, replace=False))
            notes.append(
                f"{IMPORTANCE_METHODS[method]} is slow on many trials: computed on a random "
                f"{cap:,} of the {len(trials):,} complete trials. PED-ANOVA uses all of them."
            )
            trials = [trials[i] for i in keep]
        if not names:
            seconds = time.perf_counter() - t0
            return Importance(empty, method, len(trials), 0, seconds, " ".join(notes), n_complete)
    direction = StudyDirection.MAXIMIZE if run.maximize else StudyDirection.MINIMIZE
    n_boot = _DEFAULT_BOOT[method] if n_boot is None else max(0, int(n_boot))
    budget = _DEFAULT_SECONDS[method] if max_seconds is None else max_seconds

    if method == "ped_anova":
        try:
            ped = _PedAnova(trials, names, direction)
        except ImportError:  # Optuna moved its Parzen estimator: its evaluator, no band
            from optuna.importance import PedAnovaImportanceEvaluator

            result = PedAnovaImportanceEvaluator().evaluate(_TrialSet(trials, direction), names)  # type: ignore[arg-type]
            point = np.array([float(result.get(n, 0.0)) for n in names])
            notes.append("No uncertainty band: this Optuna version lacks the fast path.")
            n_boot = 0
        else:
            point = ped.evaluate(np.ones(len(trials), dtype=np.int64))

        def replicate(i: int) -> np.ndarray:
            w = np.bincount(rng.integers(0, len(trials), len(trials)), minlength=len(trials))
            return ped.evaluate(w)
    else:
        trials = _log_view(trials, names)
        point = _forest_importance(method, trials, names, direction, seed, n_trees=32)

        def replicate(i: int) -> np.ndarray:
            idx = rng.integers(0, len(trials), len(trials))
            sample = [trials[j] for j in idx]
            return _forest_importance(method, sample, names, direction, seed + 1 + i, n_trees=16)

    reps = []
    t_boot = time.perf_counter()
    for i in range(n_boot):
        reps.append(replicate(i))
        if len(reps) >= 3 and time.perf_counter() - t_boot > budget:
            notes.append(f"Resampling stopped after {len(reps)} resamples ({budget:g} s limit).")
            break
    table = _importance_table(names, point, np.array(reps) if reps else None)
    if len(trials) < 20:
        notes.append(f"Only {len(trials)} complete trials: treat the ranking as a first guess.")
    seconds = time.perf_counter() - t0
    return Importance(table, method, len(trials), len(reps), seconds, " ".join(notes), n_complete)


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


def _log_view(trials: list[FrozenTrial], names: list[str]) -> list[FrozenTrial]:
    """Copies of the trials with log-scaled parameters on the log scale (a linear range over
    log values). fANOVA integrates over the search space uniformly in the values it is given:
    on the raw scale, C in [0.001, 1000] would be judged almost only by C > 1."""
    logs = {}
    for t in trials:
        for n in names:
            d = t.distributions.get(n)
            if n not in logs and d is not None and not isinstance(d, CategoricalDistribution):
                logs[n] = bool(d.log)
    if not any(logs.values()):
        return trials
    out = []
    for t in trials:
        params, dists = {}, {}
        for n in names:
            d = t.distributions[n]
            if logs.get(n):
                params[n] = math.log(t.params[n])
                dists[n] = FloatDistribution(math.log(d.low), math.log(d.high))
            else:
                params[n], dists[n] = t.params[n], d
        out.append(
            FrozenTrial(
                number=t.number,
                state=t.state,
                value=t.value,
                datetime_start=None,
                datetime_complete=None,
                params=params,
                distributions=dists,
                user_attrs={},
                system_attrs={},
                intermediate_values={},
                trial_id=compat.trial_id(t),
            )  # fmt: skip
        )
    return out


def _forest_importance(
    method: str,
    trials: list[FrozenTrial],
    names: list[str],
    direction: StudyDirection,
    seed: int,
    n_trees: int,
) -> np.ndarray:
    from optuna.importance import (
        FanovaImportanceEvaluator,
        MeanDecreaseImpurityImportanceEvaluator,
    )

    cls = (
        FanovaImportanceEvaluator if method == "fanova" else MeanDecreaseImpurityImportanceEvaluator
    )
    evaluator = cls(n_trees=n_trees, seed=seed)
    result = evaluator.evaluate(_TrialSet(trials, direction), params=list(names))  # type: ignore[arg-type]
    return np.array([float(result.get(n, 0.0)) for n in names])


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


# -- the one cache --------------------------------------------------------------------------------
# While a run works, an importance is kept until it is REFRESH_S[method] old or the count of
# complete trials grew by GROWTH: cheap while a run is small, bounded when it is big.
REFRESH_S = {"ped_anova": 10.0, "fanova": 60.0, "mdi": 30.0}
GROWTH = 0.1


@dataclass
class _Entry:
    n_complete: int
    at: float
    value: Importance


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

    def due(self, run: RunData, method: str = DEFAULT_METHOD, now: float | None = None) -> bool:
        """Whether `get` would compute (for a spinner); False when the cached value is current."""
        with self._lock:
            cur = self._items.get(method)
        return not self._current(cur, run, method, time.time() if now is None else now)

    def get(
        self, run: RunData, method: str = DEFAULT_METHOD, now: float | None = None
    ) -> Importance:
        """The run's importance by `method`: cached, or computed now from `run`'s trials."""
        if method not in IMPORTANCE_METHODS:
            return importance(run, method)  # raises the ConfigError that says what to use
        now = time.time() if now is None else now
        with self._method_locks[method]:
            with self._lock:
                cur = self._items.get(method)
            if self._current(cur, run, method, now):
                return cur.value
            try:
                value = importance(run, method)
            except Exception as exc:  # an evaluator that fails on this data: say so, keep going
                value = Importance(
                    pd.DataFrame(columns=["param", "importance", "low", "high", "above_next"]),
                    method, run.n_complete, 0, 0.0,
                    f"Importance could not be computed: {type(exc).__name__}: {exc}",
                    run.n_complete,
                )  # fmt: skip
            with self._lock:
                self._items[method] = _Entry(run.n_complete, now, value)
            return value

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
