"""Analysis of a run (finished or still running): numbers first, as DataFrames and dataclasses.

`load_run(study)` reads a run once into a `RunData`; every other function here takes it and
returns plain data that `tuning.plots` turns into figures and `tuning.report` into a report:

- importance(run, method)      parameter importance with a bootstrap interval per parameter
- contour_grid(run, x, y)      two parameters binned into a grid (small at any number of trials)
- score_ecdf, timeline, learning_curves, points   data behind the other Analysis figures
- overfitting(run)             train vs CV vs held-out test score of the top trials
- efficiency(run)              best score vs cumulative compute; where the wall time went
- compare_top(run)             is the best really the best? corrected resampled t-test
- plateau(run)                 has the best stopped improving by more than its CV noise?
- recommend(run)               plain-language advice; refined_config() applies it to a config

Reads use `get_trials(deepcopy=False)` (never `study.trials`), so this stays fast at 10,000
trials; only the opt-in fANOVA and mean-decrease-impurity importances are slow, and they cap the
number of trials they look at.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from scipy import stats

from tuning.core.config import RunConfig
from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace
from tuning.store import compat
from tuning.store.results import TrialFeed, add_running_best

# -- loading ------------------------------------------------------------------------------------


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
    `best_so_far`); `trials` holds the same trials as Optuna FrozenTrials (not copied: read only).
    """

    name: str
    frame: pd.DataFrame
    trials: list[FrozenTrial]
    direction: str
    scoring: str
    attrs: dict[str, Any] = field(default_factory=dict)
    config: RunConfig | None = None
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
        return self.scoring[4:] if self.scoring.startswith("neg_") else self.scoring

    @property
    def arrow(self) -> str:
        return "higher is better" if self.maximize else "lower is better"

    @property
    def score_title(self) -> str:
        """e.g. 'CV accuracy (higher is better)'."""
        return f"CV {self.label} ({self.arrow})"

    # -- trials -----------------------------------------------------------------------------
    @property
    def complete(self) -> pd.DataFrame:
        """Complete trials with a finite score, in trial order."""
        df = self.frame
        ok = (df["state"] == "complete") & np.isfinite(_num(df["value"]))
        return df[ok]

    @property
    def n_complete(self) -> int:
        return len(self.complete)

    def ranked(self) -> pd.DataFrame:
        """Complete trials, best first (ties: the earlier trial first)."""
        c = self.complete.assign(_g=self.sign * _num(self.complete["value"]))
        return c.sort_values(["_g", "number"], ascending=[False, True]).drop(columns="_g")

    @property
    def best(self) -> pd.Series | None:
        r = self.ranked()
        return None if r.empty else r.iloc[0]

    def trial(self, number: int) -> FrozenTrial:
        t = self._by_number().get(int(number))
        if t is None:
            raise KeyError(f"The run has no trial {number}.")
        return t

    def metrics(self, number: int) -> dict[str, Any]:
        return self.trial(number).user_attrs.get("metrics") or {}

    def _by_number(self) -> dict[int, FrozenTrial]:
        cache = self.__dict__.get("_numbers")
        if cache is None or len(cache) != len(self.trials):
            cache = {t.number: t for t in self.trials}
            self.__dict__["_numbers"] = cache
        return cache

    # -- the run ----------------------------------------------------------------------------
    @property
    def test(self) -> dict[str, Any]:
        return self.attrs.get("test") or {}

    @property
    def folds(self) -> int | None:
        return self.config.cv_folds if self.config else None

    @property
    def budget_kind(self) -> str:
        return (self.attrs.get("budget") or {}).get("kind", "folds")

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


def load_run(study: optuna.Study, feed: TrialFeed | None = None) -> RunData:
    """Read a run for analysis. Pass the page's long-lived TrialFeed to reuse its incremental
    frame (a refresh then converts only new trials); without one, all trials are read once."""
    if feed is None:
        feed = TrialFeed(study)
        feed.refresh()
    frame, trials = feed.frame(), feed.trials
    direction = "minimize" if study.direction == StudyDirection.MINIMIZE else "maximize"
    attrs = dict(study.user_attrs)
    config = None
    if attrs.get("config"):
        try:
            config = RunConfig.from_dict(attrs["config"])
        except Exception:  # a config from another version: analysis works without it
            config = None
    scoring = attrs.get("scoring") or (config.scoring if config else None) or "score"
    frame = add_running_best(frame, direction) if len(frame) else frame.assign(best_so_far=[])
    return RunData(
        name=study.study_name,
        frame=frame,
        trials=list(trials),
        direction=direction,
        scoring=scoring,
        attrs=attrs,
        config=config,
        params=_param_infos(config, trials, frame),
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


def _num(s: Any) -> np.ndarray:
    return pd.to_numeric(pd.Series(s), errors="coerce").to_numpy(dtype=float)


def to_float(s: Any) -> np.ndarray:
    """Any column or list as a float array (None and text become NaN)."""
    return _num(s)


# -- sampling for figures -------------------------------------------------------------------------
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


def points(run: RunData, max_points: int = 2000) -> pd.DataFrame:
    """Complete trials for point-cloud figures (slices, parallel coordinates), best kept."""
    c = run.complete
    return sample_rows(c, max_points, run.sign * _num(c["value"]))


# -- importance -----------------------------------------------------------------------------------
IMPORTANCE_METHODS = {
    "ped_anova": "PED-ANOVA",
    "fanova": "fANOVA",
    "mdi": "mean decrease impurity",
}
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

    @property
    def label(self) -> str:
        return IMPORTANCE_METHODS.get(self.method, self.method)

    @property
    def ok(self) -> bool:
        return not self.table.empty

    def share(self, param: str) -> float | None:
        row = self.table[self.table["param"] == param]
        return None if row.empty else float(row["importance"].iloc[0])


def importance(
    run: RunData,
    method: str = "ped_anova",
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
    names = [p for p in (params or run.param_names) if any(p in t.params for t in trials)]
    empty = pd.DataFrame(columns=["param", "importance", "low", "high", "above_next"])
    if len(trials) < MIN_TRIALS_FOR_IMPORTANCE or not names:
        note = (
            f"Importance needs at least {MIN_TRIALS_FOR_IMPORTANCE} complete trials; "
            f"this run has {len(trials)}."
            if names or len(trials) < MIN_TRIALS_FOR_IMPORTANCE
            else "No searched parameters."
        )
        return Importance(empty, method, len(trials), 0, time.perf_counter() - t0, note)
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
            return Importance(
                empty, method, len(trials), 0, time.perf_counter() - t0, " ".join(notes)
            )
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
    return Importance(
        table, method, len(trials), len(reps), time.perf_counter() - t0, " ".join(notes)
    )


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


# -- contour --------------------------------------------------------------------------------------
@dataclass
class ContourGrid:
    """Two parameters binned into cells: best score per cell (NaN where no trial fell).

    Numeric axes have `edges` (log-spaced where the parameter is log-scaled); categorical axes
    have `labels`. `z[i, j]` is the cell at y bin i and x bin j; `count` the trials in it.
    """

    x: ParamInfo
    y: ParamInfo
    x_edges: np.ndarray | None
    y_edges: np.ndarray | None
    x_labels: list[str] | None
    y_labels: list[str] | None
    z: np.ndarray
    count: np.ndarray
    sample: pd.DataFrame  # a few trials to draw as points: columns x, y, value, number
    n_trials: int
    agg: str


def contour_grid(
    run: RunData,
    x: str,
    y: str,
    bins: int | None = None,
    agg: str = "best",
    max_points: int = 300,
) -> ContourGrid:
    """Bin complete trials on parameters x and y (bins x bins cells, or one per category);
    each cell holds the best (agg='best') or mean (agg='mean') score of its trials.
    bins=None: about two trials per cell on average, between 6 and 30 bins per axis."""
    if agg not in ("best", "mean"):
        raise ConfigError("agg must be 'best' or 'mean'.")
    for p in (x, y):
        if p not in run.params:
            raise ConfigError(f"The run has no searched parameter '{p}'.")
    c = run.complete
    cx, cy = run.param_values(x, c), run.param_values(y, c)
    ok = cx.notna() & cy.notna()
    c, cx, cy = c[ok], cx[ok], cy[ok]
    if bins is None:
        bins = int(np.clip(np.sqrt(len(c) / 2), 6, 30))
    ix, x_edges, x_labels, nx = _bin(run.params[x], cx, bins)
    iy, y_edges, y_labels, ny = _bin(run.params[y], cy, bins)
    g = run.sign * _num(c["value"])
    flat = iy * nx + ix
    count = np.bincount(flat, minlength=nx * ny).astype(float)
    if agg == "mean":
        total = np.bincount(flat, weights=g, minlength=nx * ny)
        zg = np.divide(total, count, out=np.full(nx * ny, np.nan), where=count > 0)
    else:
        zg = np.full(nx * ny, -np.inf)
        np.maximum.at(zg, flat, g)
        zg[count == 0] = np.nan
    z = (run.sign * zg).reshape(ny, nx)
    sample = sample_rows(
        pd.DataFrame({"x": cx.to_numpy(), "y": cy.to_numpy(), "value": _num(c["value"]),
                      "number": c["number"].to_numpy()}),
        max_points,
        g,
    )  # fmt: skip
    return ContourGrid(
        run.params[x], run.params[y], x_edges, y_edges, x_labels, y_labels, z,
        count.reshape(ny, nx), sample, len(c), agg,
    )  # fmt: skip


def _bin(info: ParamInfo, values: pd.Series, bins: int):
    if not info.numeric:
        labels = [str(v) for v in (info.choices or sorted(values.astype(str).unique()))]
        pos = {lab: i for i, lab in enumerate(labels)}
        idx = np.array([pos.get(str(v), 0) for v in values], dtype=np.int64)
        return idx, None, labels, len(labels)
    v = _num(values)
    low = float(info.low) if info.low is not None else float(np.nanmin(v))
    high = float(info.high) if info.high is not None else float(np.nanmax(v))
    if info.kind == "int" and not info.log and high - low + 1 <= bins:
        edges = np.arange(low - 0.5, high + 1.0, 1.0)  # one bin per integer
    elif info.log and low > 0:
        edges = np.geomspace(low, high, bins + 1) if high > low else np.array([low, low * 1.0001])
    else:
        edges = np.linspace(low, high, bins + 1) if high > low else np.array([low, low + 1e-9])
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    return idx.astype(np.int64), edges, None, len(edges) - 1


def best_pair(run: RunData, imp: Importance | None = None) -> tuple[str, str] | None:
    """The two parameters to show in a contour: the two most important (numeric first)."""
    names = list(imp.table["param"]) if imp is not None and imp.ok else run.param_names
    names = [n for n in names if n in run.params]
    numeric = [n for n in names if run.params[n].numeric]
    ordered = numeric + [n for n in names if n not in numeric]
    return (ordered[0], ordered[1]) if len(ordered) >= 2 else None


# -- distribution, timeline, learning curves ----------------------------------------------------
def score_ecdf(run: RunData, max_points: int = 1000) -> pd.DataFrame:
    """Empirical distribution of complete trials' scores: value, fraction of trials at least as
    good (so 0.1 at a value means: the top 10% of trials reached it). Sorted best first."""
    v = _num(run.complete["value"])
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


BUDGET_LABELS = {"folds": "CV folds done", "epochs": "epoch", "rounds": "boosting rounds"}


def learning_curves(run: RunData, max_trials: int = 60, top: int = 10) -> pd.DataFrame:
    """Intermediate scores (after each fold, epoch or boosting round): number, state, step,
    value, rank (1 = best complete trial; NaN for others). The `top` best complete trials are
    always included, then an even sample of the rest up to `max_trials` trials."""
    with_curves = [t for t in run.trials if t.intermediate_values]
    if not with_curves:
        return pd.DataFrame(columns=["number", "state", "step", "value", "rank"])
    ranked = list(run.ranked()["number"])
    rank = {n: i + 1 for i, n in enumerate(ranked)}
    chosen = {n for n in ranked[:top]}
    rest = [t.number for t in with_curves if t.number not in chosen]
    room = max(0, max_trials - len(chosen))
    if rest and room:
        pick = np.unique(np.linspace(0, len(rest) - 1, min(room, len(rest))).round().astype(int))
        chosen.update(rest[i] for i in pick)
    states = dict(zip(run.frame["number"], run.frame["state"], strict=False))
    rows = []
    for t in with_curves:
        if t.number not in chosen:
            continue
        for step, value in sorted(t.intermediate_values.items()):
            rows.append((t.number, states.get(t.number, ""), step, value, rank.get(t.number)))
    return pd.DataFrame(rows, columns=["number", "state", "step", "value", "rank"])


# -- overfitting ----------------------------------------------------------------------------------
def overfitting(run: RunData, n: int = 10) -> pd.DataFrame:
    """Top complete trials: rank, number, train (mean over folds), cv, cv_std, test, gap
    (train minus CV, in the better direction: positive = fits training data better).
    Test scores exist for the refit best trial and for trials scored by refit_top_on_test()."""
    top = run.ranked().head(n)
    test = {int(k): v for k, v in (run.attrs.get("test_top") or {}).items()}
    t = run.test
    if t.get("score") is not None and t.get("trial") is not None:
        test[int(t["trial"])] = t["score"]
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(top) + 1),
            "number": top["number"].to_numpy(),
            "train": _num(top["train_score"]),
            "cv": _num(top["value"]),
            "cv_std": _num(top["cv_std"]),
            "test": [test.get(int(k), np.nan) for k in top["number"]],
        }
    )
    out["test"] = _num(out["test"])
    out["gap"] = run.sign * (out["train"] - out["cv"])
    return out


def refit_top_on_test(
    study: optuna.Study, n: int = 5, run: RunData | None = None, store: bool = True
) -> dict[int, float]:
    """Refit the top n configurations on all training data and score each on the held-out
    test part (for the overfitting view; the best one is already scored by the run).
    Saved on the study as user attribute `test_top` when `store`. Costs n model fits."""
    from tuning.models import build_pipeline
    from tuning.runs.prepare import prepare

    run = run or load_run(study)
    if run.config is None:
        raise ConfigError("This run has no saved configuration: it cannot be refit.")
    prep = prepare(run.config)
    out: dict[int, float] = {}
    for number in run.ranked()["number"].head(n):
        t = run.trial(int(number))
        params = prep.space.complete(t.params)
        m = t.user_attrs.get("metrics") or {}
        if prep.model.budget == "epochs" and m.get("best_epoch"):
            params[prep.model.budget_param] = int(m["best_epoch"])
        pipe = build_pipeline(
            prep.model, params, prep.dataset.task, prep.config.seed, prep.config.n_jobs
        )
        pipe.fit(prep.split.X_train, prep.split.y_train)
        score = prep.scoring(pipe, prep.split.X_test, prep.split.y_test)
        out[int(number)] = float(score) if math.isfinite(score) else None
    if store:
        saved = dict(study.user_attrs.get("test_top") or {})
        saved.update({str(k): v for k, v in out.items()})
        study.set_user_attr("test_top", saved)
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
    fin = df[df["start"].notna() & df["complete"].notna()].copy()
    empty_curve = pd.DataFrame(columns=["number", "state", "compute_s", "wall_s", "best"])
    if fin.empty:
        breakdown = pd.DataFrame({"part": list(BREAKDOWN_PARTS), "label": list(BREAKDOWN_PARTS.values()),
                                  "seconds": 0.0, "share": 0.0})  # fmt: skip
        return Efficiency(empty_curve, breakdown, 0.0, 0, None, "No trial has finished yet.")
    fin["_end"] = pd.to_datetime(fin["complete"])
    fin = fin.sort_values(["_end", "number"])
    start = pd.to_datetime(df["start"]).min()
    dur = np.nan_to_num(_num(fin["duration_s"]))
    g = np.where(
        (fin["state"] == "complete").to_numpy() & np.isfinite(_num(fin["value"])),
        run.sign * _num(fin["value"]),
        -np.inf,
    )
    best_g = np.maximum.accumulate(g)
    curve = pd.DataFrame(
        {
            "number": fin["number"].to_numpy(),
            "state": fin["state"].to_numpy(),
            "compute_s": np.cumsum(dur),
            "wall_s": (fin["_end"] - start).dt.total_seconds().to_numpy(),
            "best": np.where(np.isfinite(best_g), run.sign * best_g, np.nan),
        }
    )
    span = float(curve["wall_s"].max())
    elapsed = run.attrs.get("elapsed_s")
    wall = float(elapsed) if elapsed and elapsed > 0 else span
    workers = _max_concurrency(df)
    capacity = max(wall * workers, float(dur.sum()))
    fit = float(np.nansum(_num(df["fit_seconds"])))
    score = float(np.nansum(_num(df["score_seconds"])))
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


def compare_top(run: RunData, n: int = 10, alpha: float = 0.05) -> pd.DataFrame:
    """The top n complete trials against the best, fold by fold (all trials of a run use the
    same CV folds). Columns: rank, number, value, cv_std, diff (how much worse than the best,
    in score units, >= 0 mostly), t, p, same_as_best (p >= alpha: statistically
    indistinguishable from the best). Trials without per-fold scores get NaN."""
    top = run.ranked().head(n)
    cols = ["rank", "number", "value", "cv_std", "diff", "t", "p", "same_as_best"]
    if top.empty:
        return pd.DataFrame(columns=cols)
    folds = [run.metrics(int(k)).get("fold_scores") or [] for k in top["number"]]
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
                "cv_std": _num([row.cv_std])[0],
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
    ok = (fin["state"] == "complete").to_numpy() & np.isfinite(_num(fin["value"]))
    g = np.where(ok, run.sign * _num(fin["value"]), -np.inf)
    curve = np.maximum.accumulate(g)
    final = curve[-1]
    noise = _noise(run, best)
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
        message = (
            f"The last {100 * frac:.0f}% of trials ({stale} of {n}) improved the best "
            f"{run.label} by {improvement:.3g}, less than its CV noise ({noise:.3g}, the "
            f"standard deviation across folds): more trials of this search are unlikely to "
            "help. Stop here, or refine the search space."
        )
    else:
        k = max(1, int(math.ceil(tail * n)))
        recent = float(final - curve[n - 1 - k]) if np.isfinite(curve[n - 1 - k]) else math.inf
        message = (
            f"The best {run.label} is still moving: it improved by "
            f"{'a first score' if math.isinf(recent) else f'{recent:.3g}'} over the last "
            f"{k} trials, against a CV noise of {noise:.3g}."
        )
    return Plateau(
        detected, message, n, stale, frac, improvement, noise,
        int(numbers[j]) if stale else None,
    )  # fmt: skip


def _noise(run: RunData, best: pd.Series) -> float | None:
    std = _num([best.get("cv_std")])[0]
    if np.isfinite(std) and std > 0:
        return float(std)
    top = _num(run.ranked().head(10)["cv_std"])
    top = top[np.isfinite(top) & (top > 0)]
    return float(np.median(top)) if len(top) else None


# -- recommendations ------------------------------------------------------------------------------
RECOMMENDATION_KINDS = ("widen", "narrow", "fix", "stop", "note")


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
    - note: top trials indistinguishable from the best, overfitting, many failed trials.
    """
    c = run.complete
    out: list[Recommendation] = []
    if run.n_complete == 0:
        return out
    if imp is None and run.n_complete >= 10:
        imp = importance(run, n_boot=20)
    top = run.ranked().head(min(top_k, max(3, run.n_complete // 5)))
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
    return out


def _edge(run: RunData, info: ParamInfo, top: pd.DataFrame) -> Recommendation | None:
    v = _num(run.param_values(info.name, top))
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
        f"widen it (from {_fmt(info.low)}–{_fmt(info.high)} to {_fmt(low)}–{_fmt(high)}).",
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
                f"fix {row.param} at {_fmt(value)} (typical of the top {len(top)} trials) and "
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
    med = float(np.median(_num(values)))
    if info.log:
        med = float(np.exp(np.median(np.log(_num(values)))))
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
        v = _num(run.param_values(row.param, top))
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
                f"{len(v)} trials all lie in {_fmt(min(v))}–{_fmt(max(v))}, "
                f"{100 * (u.max() - u.min()):.0f}% of its range: narrow it to "
                f"{_fmt(low)}–{_fmt(high)} to search there more finely.",
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
        listed = ", ".join(str(n) for n in same["number"].head(6))
        more = f" and {len(same) - 6} more" if len(same) > 6 else ""
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
        train, cv = _num([best.get("train_score")])[0], float(best["value"])
        noise = _noise(run, best) or 0.0
        gap = run.sign * (train - cv)
        if np.isfinite(gap) and gap > 3 * noise and gap > 0.05 * max(abs(cv), 1e-12):
            out.append(
                Recommendation(
                    "note",
                    f"The best configuration scores {_fmt(train)} on its training folds but "
                    f"{_fmt(cv)} in cross-validation: it overfits. Favour stronger "
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
    d = _num(df.loc[numbers, "duration_s"])
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


def _fmt(v: Any) -> str:
    if isinstance(v, bool | np.bool_) or v is None:
        return str(v)
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)


def fmt_value(v: Any) -> str:
    """A parameter or score value for people: 4 significant digits for floats."""
    return _fmt(v)


__all__ = [
    "RunData", "ParamInfo", "load_run", "points", "sample_rows", "to_float",
    "Importance", "importance", "IMPORTANCE_METHODS",
    "ContourGrid", "contour_grid", "best_pair",
    "score_ecdf", "timeline", "learning_curves", "BUDGET_LABELS",
    "overfitting", "refit_top_on_test",
    "Efficiency", "efficiency", "corrected_ttest", "compare_top",
    "Plateau", "plateau", "Recommendation", "recommend", "refined_config", "fmt_value",
]  # fmt: skip
