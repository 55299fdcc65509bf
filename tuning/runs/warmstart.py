"""Warm starts: seed a new run with the best configurations of earlier runs in its storage.

Candidates are the storage's runs of the same model (any dataset) and studies other tools made
whose parameters match the new space. They are ranked by how similar their data is (task, rows,
features, class balance, share of categorical columns), and, once the new run has a few
scored trials, by how well the source's scores predict this run's (`score_agreement`). The
chosen sources' best configurations are fitted to the new space (clipped or dropped, each
listed) and queued as "warm start" trials right after the library defaults; the search ranges
may be narrowed to where the sources' good trials lay (undoable: the full ranges are kept).
A source that is gone or cannot be read is skipped with a sentence; it never breaks creation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState
from scipy.stats import spearmanr

from tuning.core.config import DatasetRef
from tuning.core.errors import UserError
from tuning.core.space import Param, SearchSpace
from tuning.data import datasets
from tuning.data.frame import Dataset
from tuning.execution.prepared import Prepared
from tuning.models import REGISTRY as MODELS
from tuning.store.records import RunRecord
from tuning.store.results import listed_records

TOP_K = 5  # configurations taken from each source
GOOD_SHARE = 0.25  # narrowing spans the sources' best quarter of trials ...
PAD = 0.10  # ... padded by a tenth of that span on each side
MIN_NARROW = 8  # completed source trials needed before ranges are narrowed
PYTHON_DATA = "python"  # TuningSearchCV's data: arrays handed to fit, never saved


@dataclass(frozen=True)
class MetaFeatures:
    """What a dataset looks like to a model, as compared between runs."""

    task: str
    rows: int
    features: int
    balance: float | None  # smallest class share / largest (1: balanced); None: regression
    categorical: float  # share of categorical columns


def meta_features(ds: Dataset) -> MetaFeatures:
    balance = None
    if ds.task == "classification":  # y may be a Series or (TuningSearchCV) an array
        counts = np.unique(np.asarray(ds.y).astype(str), return_counts=True)[1]
        balance = float(counts.min() / counts.max()) if len(counts) else None
    rows, cols = np.shape(ds.X)[0], np.shape(ds.X)[1] if np.ndim(ds.X) > 1 else 1
    return MetaFeatures(
        str(ds.task), int(rows), int(cols), balance, len(ds.categorical_columns) / max(cols, 1),
    )  # fmt: skip


_META: dict[str, MetaFeatures] = {}  # per dataset reference: loading a dataset costs seconds


def dataset_meta(ref: DatasetRef) -> MetaFeatures:
    key = json.dumps(ref.to_dict(), sort_keys=True, default=str)
    if key not in _META:
        _META[key] = meta_features(datasets.load_dataset(ref))
    return _META[key]


def data_similarity(a: MetaFeatures, b: MetaFeatures) -> float:
    """1 for the same shape of data, towards 0 as rows (per tenfold), features (per tenfold),
    class balance and categorical share part; 0 for another task."""
    if a.task != b.task:
        return 0.0
    parts = [
        min(abs(math.log10(max(a.rows, 1)) - math.log10(max(b.rows, 1))) / 2, 1.0),
        min(abs(math.log10(max(a.features, 1)) - math.log10(max(b.features, 1))) / 2, 1.0),
        abs(a.categorical - b.categorical),
    ]
    if a.balance is not None and b.balance is not None:
        parts.append(abs(a.balance - b.balance))
    return round(1.0 - float(np.mean(parts)), 3)


@dataclass(frozen=True)
class Candidate:
    """An earlier run as a warm-start source: usable or not, and why, in one sentence."""

    run: str
    dataset: str  # its data as listings show it ("" for another tool's study)
    similarity: float | None  # 0..1; None where its data is unknown (another tool's study)
    usable: bool
    reason: str
    n_complete: int = 0


def _values(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.COMPLETE and t.values]


def _space_words(params: set[str], space: SearchSpace) -> tuple[bool, str]:
    searched = {p.name for p in space.params if p.enabled}
    shared = sorted(params & searched)
    if not shared:
        return False, "none of its parameters are searched here"
    missing = sorted(params - searched)
    if missing:
        return True, f"uses {', '.join(shared)}; {', '.join(missing)} not searched here"
    return True, "its parameters match"


def _refusal(record: RunRecord, prep: Prepared) -> str | None:
    """Why a studio run cannot seed this run, as a sentence; None when it can."""
    cfg = record.config
    label = MODELS[prep.config.model].label if prep.config.model in MODELS else prep.config.model
    if cfg is None:
        return f"its configuration cannot be read ({record.config_error or 'none saved'})"
    if cfg.model != prep.config.model:
        other = MODELS[cfg.model].label if cfg.model in MODELS else cfg.model
        return f"it tuned {other}, not {label}: another model's settings do not carry over"
    own, here = cfg.estimator, prep.config.estimator
    if own is not None and here is not None and own.cls != here.cls:
        return f"it tuned {own.label()}, not {here.label()}"
    if record.task is not None and str(record.task) != prep.dataset.task:
        return f"it is a {record.task} task and this one is {prep.dataset.task}"
    if record.direction != prep.direction:
        return f"its score is {record.direction}d and this run's is {prep.direction}d"
    return None


def _judge(record: RunRecord, trials: list[FrozenTrial], prep: Prepared, meta: MetaFeatures):
    done = _values(trials)
    params = {k for t in done for k in t.params}
    if record.foreign is not None:
        if record.direction != prep.direction:
            why = f"its score is {record.direction}d and this run's is {prep.direction}d"
            return Candidate(record.name, "", None, False, why, len(done))
        ok, words = _space_words(params, prep.space)
        why = f"a study another tool made (its data is unknown); {words}"
        return Candidate(record.name, "", None, ok and bool(done), why, len(done))
    refused = _refusal(record, prep)
    if refused:
        return Candidate(record.name, record.dataset_label, None, False, refused, len(done))
    try:
        if record.config.dataset.name == PYTHON_DATA:
            raise UserError("it was given in Python and is not kept")
        sim = data_similarity(meta, dataset_meta(record.fetch_dataset(record.config).dataset))
    except (UserError, OSError, ValueError) as exc:
        sim, words = None, f"its data cannot be loaded ({exc}), so similarity is unknown"
    else:
        words = _meta_words(sim, record.config.dataset == prep.config.dataset)
    ok, space_words = _space_words(params, prep.space)
    if not done:
        return Candidate(record.name, record.dataset_label, sim, False, "it has no scored trials")
    return Candidate(
        record.name, record.dataset_label, sim, ok, f"{words}; {space_words}", len(done)
    )


def _meta_words(sim: float, same: bool) -> str:
    if same:
        return "the same data"
    return (
        "similar data"
        if sim >= 0.8
        else "somewhat similar data"
        if sim >= 0.5
        else "dissimilar data"
    )


def _sources(storage: BaseStorage, exclude: str | None = None, only: set[str] | None = None):
    """(record, its trials) of every listed study but `exclude` (of `only` these names)."""
    for sid, record in listed_records(storage):
        if record.name == exclude or (only is not None and record.name not in only):
            continue
        yield record, storage.get_all_trials(sid, deepcopy=False)


def candidates(
    prep: Prepared, storage: BaseStorage, exclude: str | None = None,
    scored: list[FrozenTrial] | None = None,
) -> list[Candidate]:  # fmt: skip
    """Every run and outside study in `storage` judged as a source for `prep`: usable ones
    first, most similar first (unknown similarity after known), each with its reason. With
    `scored` (trials the new run has scored), a source's similarity also weighs how well its
    scores predict these (score_agreement), half and half, once there are enough of them."""
    meta = meta_features(prep.dataset)
    out = []
    for record, trials in _sources(storage, exclude):
        if record.foreign is None and record.config_dict.get("model") != prep.config.model:
            continue  # another model's runs are not offered (refused when named)
        cand = _judge(record, trials, prep, meta)
        out.append(_with_agreement(cand, scored, trials, prep.space) if scored else cand)
    return sorted(
        out, key=lambda c: (not c.usable, -(c.similarity if c.similarity is not None else -1))
    )


def _with_agreement(cand: Candidate, scored, trials, space: SearchSpace) -> Candidate:
    rho = score_agreement(scored, trials, space) if cand.usable else None
    if rho is None:
        return cand
    agree = (rho + 1) / 2
    sim = agree if cand.similarity is None else (cand.similarity + agree) / 2
    words = f"its scores predict this run's with rank correlation {rho:.2f}"
    return replace(cand, similarity=round(sim, 3), reason=f"{cand.reason}; {words}")


def judge_named(prep: Prepared, storage: BaseStorage, names: tuple[str, ...]):
    """The named sources judged, with their trials: [(candidate, trials)]; one that is gone or
    unreadable is judged unusable with why, never raised."""
    meta = meta_features(prep.dataset)
    found = {r.name: (r, t) for r, t in _sources(storage, only=set(names))} if names else {}
    out = []
    for name in names:
        if name not in found:
            why = "it is not in this storage (deleted or renamed?)"
            out.append((Candidate(name, "", None, False, why), []))
            continue
        try:
            out.append((_judge(*found[name], prep, meta), found[name][1]))
        except Exception as exc:  # noqa: BLE001 - an unreadable source never breaks a new run
            out.append((Candidate(name, "", None, False, f"it cannot be read ({exc})"), []))
    return out


# -- seeding: the sources' best configurations, fitted to the new space ----------------------
def best_configs(trials: list[FrozenTrial], direction: str, k: int = TOP_K) -> list[dict]:
    """The k best distinct configurations of a source's completed trials, best first."""
    done = sorted(_values(trials), key=lambda t: t.values[0], reverse=direction == "maximize")
    out: list[dict] = []
    for t in done:
        if dict(t.params) not in out:
            out.append(dict(t.params))
        if len(out) == k:
            break
    return out


def _fit_value(p: Param, value: Any) -> tuple[Any, str | None, str | None]:
    """(value fitted to p, clip note, drop note): a choice not searched drops the configuration;
    a number outside the range is clipped to it (and onto its step)."""
    if p.contains(value):
        return value, None, None
    if p.kind == "categorical":
        return None, None, f"{p.name} {value!r} not searched"
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None, None, f"{p.name} {value!r} not a number"
    v = min(max(value, p.low), p.high)
    if p.step is not None:
        v = p.low + p.step * round((v - p.low) / p.step)
        v = min(v, p.high)
    v = int(round(v)) if p.kind == "int" else float(v)
    return v, (f"{p.name} to {v:g}" if v != value else None), None


def fit_to_space(configs: list[dict], space: SearchSpace) -> tuple[list[dict], str]:
    """The configurations that fit `space` (numbers clipped into it, parameters it does not
    search left out, repeats merged), and one sentence listing what was kept, clipped and
    dropped: "kept 5, clipped 1 (C to 100), dropped 2 (kernel 'poly' not searched)"."""
    kept: list[dict] = []
    clips: list[str] = []
    drops: list[str] = []
    for params in configs:
        fitted, clip, drop = _fit_config(params, space)
        if drop:
            drops.append(drop)
        elif fitted not in kept:
            kept.append(fitted)
            clips += clip
    words = [f"kept {len(kept)}"]
    if clips:
        words.append(f"clipped {len(clips)} ({', '.join(clips)})")
    if drops:
        words.append(f"dropped {len(drops)} ({'; '.join(drops)})")
    return kept, ", ".join(words)


def _fit_config(params: dict, space: SearchSpace) -> tuple[dict, list[str], str | None]:
    fitted: dict[str, Any] = {}
    clips: list[str] = []
    for p in space.params:
        if not p.enabled or p.name not in params or not p.is_active({**params, **fitted}):
            continue
        value, clip, drop = _fit_value(p, params[p.name])
        if drop:
            return {}, [], drop
        fitted[p.name] = value
        clips += [clip] if clip else []
    return fitted, clips, None


# -- narrowing: the ranges where the sources' good trials lay ---------------------------------
def narrow_space(space: SearchSpace, good: list[dict]) -> tuple[SearchSpace, list[str]]:
    """`space` with each searched number's range cut to the span of `good` configurations
    (padded by PAD of that span, in log space where the parameter is logarithmic), never past
    the original range; and what was narrowed ("C 0.5-30 (was 0.01-1000)")."""
    if len(good) < 2:
        return space, []
    out, words = space, []
    for p in space.params:
        vals = [c[p.name] for c in good if p.name in c and p.contains(c[p.name])]
        if p.kind == "categorical" or not p.enabled or len(vals) < 2:
            continue
        f = math.log10 if p.log else float
        g = (lambda x: 10**x) if p.log else float
        lo, hi = f(min(vals)), f(max(vals))
        pad = PAD * (hi - lo)
        # Outwards to 3 significant digits: a range people can read ("C 1.27-25.9"), which
        # still holds every good configuration.
        low = max(_significant(g(lo - pad), math.floor), p.low)
        high = min(_significant(g(hi + pad), math.ceil), p.high)
        if p.step is not None:  # onto the parameter's lattice, outwards
            low = p.low + p.step * math.floor((low - p.low) / p.step + 1e-9)
            high = min(p.low + p.step * math.ceil((high - p.low) / p.step - 1e-9), p.high)
        if p.kind == "int":
            low, high = int(math.floor(low)), int(math.ceil(high))
        if low >= high or (low, high) == (p.low, p.high):
            continue
        out = out.replace_param(p.name, low=low, high=high)
        words.append(f"{p.name} {low:g}-{high:g} (was {p.low:g}-{p.high:g})")
    return out, words


def _significant(x: float, rounding: Callable[[float], int], digits: int = 3) -> float:
    """`x` rounded to `digits` significant digits with `rounding` (floor: down, ceil: up)."""
    if x == 0 or not math.isfinite(x):
        return x
    scale = 10 ** (digits - 1 - math.floor(math.log10(abs(x))))
    return float(rounding(x * scale) / scale)


def good_configs(sources: list[tuple[list[FrozenTrial], str]]) -> list[dict]:
    """The best GOOD_SHARE of each source's completed trials (sources with MIN_NARROW or more)."""
    good: list[dict] = []
    for trials, direction in sources:
        done = _values(trials)
        if len(done) >= MIN_NARROW:
            good += best_configs(done, direction, max(2, int(len(done) * GOOD_SHARE)))
    return good


@dataclass(frozen=True)
class WarmPlan:
    """What a warm start queues and changes, and one sentence per source on what was used."""

    configs: tuple[dict, ...]
    sources: tuple[dict, ...]  # {"run", "dataset", "similarity"} of the sources used
    notes: tuple[str, ...]  # one sentence per named source (used, partly used, or refused)
    space: SearchSpace | None = None  # narrowed ranges (None: not narrowed)

    @property
    def note(self) -> str:
        return " ".join(self.notes)


def plan(prep: Prepared, storage: BaseStorage) -> WarmPlan:
    """The warm start of a prepared run whose config names sources (config.warm_start)."""
    names = tuple(prep.config.warm_start)
    configs, used, notes, good = [], [], [], []
    judged = judge_named(prep, storage, names)
    # About TOP_K in all: several sources share them (their bests are more diverse than one
    # source's top five, which tend to sit side by side).
    k = max(2, math.ceil(TOP_K / max(sum(c.usable for c, _ in judged), 1)))
    for cand, trials in judged:
        if not cand.usable:
            notes.append(f"Run {cand.run} is not used: {cand.reason}.")
            continue
        best = best_configs(trials, prep.direction, k)
        kept, words = fit_to_space(best, prep.space)
        notes.append(f"Run {cand.run} ({cand.reason}): {words}.")
        configs += [c for c in kept if c not in configs]
        used.append({"run": cand.run, "dataset": cand.dataset, "similarity": cand.similarity})
        good.append((trials, prep.direction))
    narrowed = None
    if prep.config.warm_narrow and good:
        space, words = narrow_space(prep.space, good_configs(good))
        if words:
            narrowed = space
            notes.append(f"Ranges narrowed: {'; '.join(words)}.")
            configs = [c for c in fit_to_space(configs, space)[0]]
    return WarmPlan(tuple(configs), tuple(used), tuple(notes), narrowed)


def apply_narrowing(prep: Prepared, warm: WarmPlan) -> Prepared:
    """The prepared run with its narrowed space (the full ranges kept to restore them)."""
    if warm.space is None:
        return prep
    cfg = replace(prep.config, space=warm.space, full_space=prep.config.space)
    return replace(prep, config=cfg)


@dataclass(frozen=True)
class Agreement:
    """How well a source's scores predict this run's: Spearman's rank correlation over this
    run's `n` scored trials, with its 95 % interval."""

    rho: float
    n: int
    low: float
    high: float


def score_agreement(
    new: list[FrozenTrial], source: list[FrozenTrial], space: SearchSpace, min_common: int = 5
) -> float | None:
    """`agreement`'s correlation alone (None where it has none)."""
    found = agreement(new, source, space, min_common)
    return None if found is None else found.rho


def agreement(
    new: list[FrozenTrial], source: list[FrozenTrial], space: SearchSpace, min_common: int = 5
) -> Agreement | None:
    """Spearman's correlation between this run's scores and the source's score at its nearest
    configuration (each parameter scaled to 0..1 over the space, log where logarithmic; another
    choice counts as distance 1). None with fewer than `min_common` scored trials here."""
    new, source = _values(new), _values(source)
    if len(new) < max(min_common, 4) or not source:
        return None
    near = np.argmin(_distances([t.params for t in new], [s.params for s in source], space), 1)
    predicted = [source[i].values[0] for i in near]
    rho = spearmanr([t.values[0] for t in new], predicted).statistic
    if not np.isfinite(rho):
        return None
    return Agreement(float(rho), len(new), *rank_interval(float(rho), len(new)))


def rank_interval(rho: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """A 95 % interval for Spearman's rho: Fisher's z with Bonett and Wright's (2000) standard
    error, written here because scipy gives intervals for Pearson's r only. A correlation of
    exactly ±1 (common among a few trials) is taken as ±0.99: Fisher's z is unbounded there,
    and would shrink the interval to nothing."""
    r = min(max(rho, -0.99), 0.99)
    se = math.sqrt((1 + r * r / 2) / (n - 3))
    return math.tanh(math.atanh(r) - z * se), math.tanh(math.atanh(r) + z * se)


def _distances(a: list[dict], b: list[dict], space: SearchSpace) -> np.ndarray:
    """(len(a), len(b)) distances: parameters scaled to 0..1 over the space (log where
    logarithmic), summed; another choice (or a parameter only one side has) counts as 1."""
    total = np.zeros((len(a), len(b)))
    for p in space.params:
        x = np.array([c.get(p.name) for c in a], dtype=object)
        y = np.array([c.get(p.name) for c in b], dtype=object)
        if p.kind == "categorical":
            total += (x[:, None] != y[None, :]).astype(float)
            continue
        f = (lambda v: math.log10(max(float(v), 1e-300))) if p.log else float
        span = (f(p.high) - f(p.low)) or 1.0
        xs = np.array([np.nan if v is None else f(v) for v in x], dtype=float)
        ys = np.array([np.nan if v is None else f(v) for v in y], dtype=float)
        d = np.minimum(np.abs(xs[:, None] - ys[None, :]) / span, 1.0)
        # A parameter only one side has counts as 1; one neither has, as 0.
        gone = np.isnan(xs)[:, None] | np.isnan(ys)[None, :]
        both = np.isnan(xs)[:, None] & np.isnan(ys)[None, :]
        total += np.where(both, 0.0, np.where(gone, 1.0, d))
    return total
