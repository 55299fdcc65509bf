"""What a warm start bought a run, in one sentence for the Live monitor.

A warm-started run's first trials (after the library defaults) are earlier runs' best
configurations, marked "warm start". The sentence says where they came from and how they
fared against the run's own search: still the best, passed by the search at trial N, or never
better than the library defaults (a warm start that did not help is said so).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from tuning.analysis.baseline import signed
from tuning.analysis.live import LiveRun
from tuning.analysis.rundata import RunData
from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus
from tuning.runs.entries import cold_twin, entry_label, is_warm
from tuning.runs.warmstart import Agreement, agreement
from tuning.store.records import RunRecord
from tuning.store.trials import LIBRARY_DEFAULTS, WARM_START


def _sources(warm: dict) -> str:
    parts = []
    for s in warm.get("sources") or []:
        sim = s.get("similarity")
        about = ", ".join(
            x
            for x in (s.get("dataset") or "", f"similarity {sim:.2f}" if sim is not None else "")
            if x
        )
        parts.append(f"{s.get('run')} ({about})" if about else str(s.get("run")))
    return " and ".join(parts)


def warm_start_line(record: RunRecord, df: pd.DataFrame) -> str | None:
    """One sentence on the run's warm start; None for a run that was not warm-started."""
    warm = record.warm_start
    if not warm:
        return None
    origin = df["origin"] if "origin" in df.columns else pd.Series([None] * len(df), index=df.index)
    n = int((origin == WARM_START).sum())
    where = _sources(warm)
    if not where or n == 0:
        return (
            f"Warm start: no configuration of the earlier runs was used ({warm.get('note', '')})."
        )
    head = f"Warm start: {n} configuration{'s' if n != 1 else ''} from run{'s' if ' and ' in where else ''} {where}"
    if len(record.objectives) > 1:
        return head + "."
    return f"{head}; {_fared(df, origin, record.direction)}."


def _fared(df: pd.DataFrame, origin: pd.Series, direction: str) -> str:
    done = df[(df["state"] == "complete") & df["value"].notna()]
    warm = done[origin.loc[done.index] == WARM_START]
    if warm.empty:
        return "none of them scored yet"
    sign = 1.0 if direction == "maximize" else -1.0
    best = done.loc[(done["value"] * sign).idxmax()]
    best_warm = float((warm["value"] * sign).max())
    if origin.loc[best.name] == WARM_START:
        return f"the best so far came from the warm start (trial {int(best['number'])})"
    defaults = done[origin.loc[done.index] == LIBRARY_DEFAULTS]
    if not defaults.empty and best_warm < float((defaults["value"] * sign).max()):
        return "none of them beat the library defaults: this warm start did not help"
    rest = done[origin.loc[done.index] != WARM_START].sort_values("number")
    passed = rest[rest["value"] * sign > best_warm]
    if passed.empty or not math.isfinite(best_warm):
        return "the best so far is not from the warm start"
    return f"the search has since passed them at trial {int(passed['number'].iloc[0])}"


# -- against a cold run ----------------------------------------------------------------------------
# What the warm start bought is measured against a run of the same search without one (same
# model, method, dataset, scoring and folds, finished), never against a made-up expectation.
NO_COLD = (
    "No cold run of the same model, method, dataset, scoring and folds in this storage: "
    "nothing to measure this warm start against. Run the same search without a warm start to "
    "see what it bought."
)


def cold_runs(record: RunRecord, storage: BaseStorage) -> list[str]:
    """Finished runs without a warm start of the same model, method, dataset, scoring and CV
    folds as the warm-started run `record`, those of its seed first, then newest first; [] for
    a run that was not warm-started."""
    return cold_runs_by_state(record, storage)[0]


_COLD_STATES = (RunStatus.FINISHED, RunStatus.QUEUED, RunStatus.RUNNING)


def cold_runs_by_state(record: RunRecord, storage: BaseStorage) -> tuple[list[str], list[str]]:
    """`cold_runs`, and beside them the cold runs of the same search still queued or running
    (in the same order), from one pass over the storage."""
    cfg = record.config
    if cfg is None or not cfg.warm_start or record.multi_objective:
        return [], []
    same = (cfg.model, cfg.method, cfg.dataset, cfg.scoring, cfg.cv_folds)
    found: dict[bool, list] = {True: [], False: []}  # finished: yes, under way: no
    for s in storage.get_all_studies():
        rec = RunRecord.of_listing(s)
        other = rec.config
        if s.study_name == record.name or other is None or other.warm_start or rec.warm_start:
            continue
        if rec.status not in _COLD_STATES or rec.multi_objective:
            continue
        if (other.model, other.method, other.dataset, other.scoring, other.cv_folds) == same:
            # The same seed first: an experiment's cold twin of a warm copy, seed for seed.
            found[rec.status == RunStatus.FINISHED].append(
                (other.seed == cfg.seed, rec.created_at or "", s.study_name)
            )
    ordered = [[name for *_, name in sorted(rows, reverse=True)] for rows in found.values()]
    return ordered[0], ordered[1]


def cold_config(record: RunRecord) -> RunConfig | None:
    """The warm-started run's search without its warm start: same model, method and options,
    data, scoring, folds, budget and seed, on the full space where it was narrowed. It is what
    `cold_runs` looks for, so a run started from it is found there once it has finished."""
    cfg = record.config
    if cfg is None or not cfg.warm_start:
        return None
    return replace(cfg, warm_start=(), warm_narrow=False, space=cfg.full_space or cfg.space,
                   full_space=None, name=None)  # fmt: skip


def best_so_far(df: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Per trial count (finished trials in number order): the best CV score so far and the
    spread over its folds of the trial that holds it (NaN before the first complete trial)."""
    done = df[df["state"].isin(["complete", "pruned", "failed"])].sort_values("number")
    sign = 1.0 if direction == "maximize" else -1.0
    best, std, rows = -math.inf, math.nan, []
    for k, r in enumerate(done.itertuples(index=False), 1):
        v = float(r.value) if r.state == "complete" and pd.notna(r.value) else math.nan
        if math.isfinite(v) and sign * v > best:
            best = sign * v
            std = float(r.cv_std) if "cv_std" in df.columns and pd.notna(r.cv_std) else math.nan
        rows.append({"trials": k, "best": sign * best if math.isfinite(best) else math.nan,
                     "std": std})  # fmt: skip
    return pd.DataFrame(rows, columns=["trials", "best", "std"])


@dataclass(frozen=True)
class ColdComparison:
    """A warm-started run beside a cold run of the same search, trial count by trial count."""

    cold: str  # the cold run's name
    curve: pd.DataFrame  # trials, warm, warm_std, cold, cold_std (best so far, fold spread)
    cold_final: float  # the cold run's final best CV score
    cold_final_std: float  # the spread over its folds (NaN where unknown)
    cold_first: int  # the trial count at which the cold run first reached it
    cold_trials: int
    passed_at: int | None  # the warm run's trial count at which it reached cold_final
    state: str  # "passed", "ahead", "level" or "hurting" (at the same trial count)
    sentence: str
    warm_final: float  # the warm run's best so far after its last finished trial
    warm_final_std: float  # the spread over that trial's folds (NaN where unknown)


def compare_cold(
    warm: pd.DataFrame, cold: pd.DataFrame, direction: str, cold_name: str
) -> ColdComparison | None:
    """The warm-started run's trials `warm` beside the cold run's `cold` (TrialFeed frames):
    best so far at each trial count, with the fold spread of the trial that holds it, and the
    trial at which the warm run reached the cold run's final best. None while either has no
    complete trial."""
    w, c = best_so_far(warm, direction), best_so_far(cold, direction)
    if w["best"].notna().sum() == 0 or c["best"].notna().sum() == 0:
        return None
    sign = 1.0 if direction == "maximize" else -1.0
    final, final_std = float(c["best"].iloc[-1]), float(c["std"].iloc[-1])
    first = int(c.loc[(sign * c["best"]) >= sign * final - 1e-12, "trials"].iloc[0])
    reached = w.loc[(sign * w["best"]) >= sign * final - 1e-12, "trials"]
    passed = int(reached.iloc[0]) if len(reached) else None
    curve = w.rename(columns={"best": "warm", "std": "warm_std"}).merge(
        c.rename(columns={"best": "cold", "std": "cold_std"}), on="trials", how="outer"
    )
    at = min(len(w), len(c))  # the last trial count both runs have
    gap_state = _at_same_count(curve.iloc[at - 1], sign)
    state = "passed" if passed is not None else gap_state
    sentence = _cold_sentence(curve.iloc[at - 1], at, state, passed, cold_name,
                              (final, final_std, first, len(c)))  # fmt: skip
    return ColdComparison(cold_name, curve, final, final_std, first, len(c), passed, state,
                          sentence, float(w["best"].iloc[-1]), float(w["std"].iloc[-1]))  # fmt: skip


def _at_same_count(row: pd.Series, sign: float) -> str:
    """Warm against cold at one trial count: "ahead" or "hurting" where the difference passes
    the two best trials' fold spreads combined, else "level" (within the noise, or unknown)."""
    if pd.isna(row["warm"]) or pd.isna(row["cold"]):
        return "level" if pd.isna(row["cold"]) else "hurting"
    gap = sign * (row["warm"] - row["cold"])
    spread = math.sqrt(np.nansum([row["warm_std"] ** 2, row["cold_std"] ** 2]))
    if gap > spread:
        return "ahead"
    return "hurting" if -gap > spread else "level"


def _pm(value: float, std: float) -> str:
    return f"{value:.4f}" + (f" ± {std:.4f}" if pd.notna(std) else " (spread unknown)")


def _cold_sentence(row, at, state, passed, cold_name, final) -> str:
    value, std, first, n = final
    # Trial counts ("after 7 trials"), not trial numbers ("#6"), which count from 0.
    goal = (f"the cold run's final best, {_pm(value, std)} (which the cold run first reached "
            f"after {first} of its {n} trials)")  # fmt: skip
    now = (f"after {at} trials this run's best is {_pm(row['warm'], row['warm_std'])} against "
           f"the cold run's {_pm(row['cold'], row['cold_std'])} at the same count")  # fmt: skip
    head = f"Against a cold run of the same search ({cold_name}, no warm start): "
    if state == "passed":
        gap = abs(first - passed)
        count = f"{gap} trial{'s' if gap != 1 else ''}"
        # Slower is said as plainly as faster: one pair of runs either way.
        later = (f", {count} later, on this one pair of runs" if passed < first
                 else f": this run took {count} more, on this one pair of runs"
                 if passed > first else "")  # fmt: skip
        return (f"{head}this run reached the cold run's final best, {_pm(value, std)}, after "
                f"{_count(passed)}; the cold run first reached it after {first} of its {n} "
                f"trials{later}.")  # fmt: skip
    if state == "hurting":
        return (f"Warm start hurting. {head}{now}, behind it by more than the spread over "
                f"their folds; this run has not reached {goal}.")  # fmt: skip
    if state == "ahead":
        return (f"{head}{now}, ahead by more than the spread over their folds; this run has not "
                f"reached {goal}.")  # fmt: skip
    return (f"{head}{now}: level within the spread over their folds, so no gain shown; this run "
            f"has not reached {goal}.")  # fmt: skip


def cold_frame(name: str, storage: BaseStorage) -> pd.DataFrame:
    """A cold run's finished trials (number, state, value, cv_std, ...), read once: it has
    finished, so they no longer change."""
    from tuning.store.results import TrialFeed
    from tuning.store.runs import load_study

    return TrialFeed(load_study(name, storage)).refresh()


# -- do the sources' scores predict this run's? -------------------------------------------------
# Data similarity (rows, features, class balance) is a guess made before any trial; once the
# run has scored some, the sources can be judged on what matters: whether their good
# configurations are good here. Said only past the correlation's own uncertainty.
MIN_AGREEMENT_TRIALS = 8  # this run's scored trials before a source is judged on them


@dataclass(frozen=True)
class SourceAgreement:
    """How well one warm-start source's scores predict this run's."""

    source: str
    agreement: Agreement
    state: str  # "agrees", "against" or "unclear" (the 95 % interval holds 0)
    sentence: str


def source_trials(record: RunRecord, storage: BaseStorage) -> dict[str, list[FrozenTrial]]:
    """The warm-start sources' trials, by run name; a source that is gone or cannot be read is
    left out (the warm-start line already names it)."""
    from tuning.store.runs import load_study

    out = {}
    for s in (record.warm_start or {}).get("sources") or []:
        try:
            out[str(s["run"])] = load_study(str(s["run"]), storage).get_trials(deepcopy=False)
        except Exception:  # noqa: BLE001, S112 - a source deleted since is not this run's failure
            continue
    return out


def source_agreements(
    record: RunRecord, trials: list[FrozenTrial], sources: dict[str, list[FrozenTrial]]
) -> list[SourceAgreement]:
    """Each source's scores against this run's `trials` (`agreement`: each of this run's scored
    trials against the source's trial at the nearest configuration), once this run has
    MIN_AGREEMENT_TRIALS scored trials; [] before, and for runs that were not warm-started."""
    cfg = record.config
    if cfg is None or not record.warm_started or record.multi_objective:
        return []
    space = cfg.full_space or cfg.space
    out = []
    for name, theirs in sources.items():
        found = agreement(trials, theirs, space, MIN_AGREEMENT_TRIALS)
        if found is not None:
            state = "agrees" if found.low > 0 else "against" if found.high < 0 else "unclear"
            out.append(SourceAgreement(name, found, state, _agreement_sentence(name, found, state)))
    return out


def _agreement_sentence(name: str, a: Agreement, state: str) -> str:
    how = (f"rank correlation {signed(a.rho, 2)} (95 % interval {signed(a.low, 2)} to "
           f"{signed(a.high, 2)}) over "
           f"this run's {a.n} scored trials, each against {name}'s trial at the nearest "
           "configuration")  # fmt: skip
    if state == "agrees":
        # Measured (benchmarks/results/warm_start.txt): across 18 warm starts this check did not
        # tell which ones paid off, so agreeing is not sold as a good start.
        return (f"{name}'s scores predict this run's: {how}. The two share their good and bad "
                "regions, which does not make its best configurations this data's best: on the "
                "studio's warm-start benchmark this check did not tell which warm starts paid "
                "off.")  # fmt: skip
    if state == "against":
        return (f"{name}'s scores run against this run's: {how}. What did well there tends to "
                "do badly here, so its configurations were a poor start for this search.")  # fmt: skip
    return (f"No clear link yet between {name}'s scores and this run's: {how}. The interval "
            "holds 0: its good configurations are not shown to be good or bad here.")  # fmt: skip


# -- an experiment's warm copies against their cold twins, over seeds --------------------------
# Each seed pairs a warm copy with its cold twin (same method, seed, folds and defaults), so
# the difference of their final bests is paired, and its spread over seeds is the noise a
# gain or a loss is read against: a warm start is said to have helped or hurt only past it.
@dataclass(frozen=True)
class WarmBought:
    """What an experiment's warm copy of a method bought over the cold one, over seeds."""

    entry: str  # the warm entry ("tpe+warm")
    seeds: int  # seeds where both have a complete trial
    reached: int  # of which the warm copy reached the cold one's final best
    warm_trial: float | None  # median trial it reached it at (over the seeds that did)
    cold_trial: float  # median trial the cold one first reached its own final best
    diff: float  # mean over seeds of the final bests' difference, warm - cold (> 0: better)
    diff_std: float  # its standard deviation over seeds (NaN with one seed)
    state: str  # "helped", "hurt", "level" (within the spread) or "unknown" (one seed)
    sentence: str
    # (seed, trial the warm copy reached the cold final best at or None, the cold one's first)
    per_seed: tuple[tuple[int, int | None, int], ...] = ()


def warm_bought(
    pairs: dict[int, tuple[pd.DataFrame, pd.DataFrame]], direction: str, cold_label: str,
    sources: str, entry: str = "", so_far: bool = False,
) -> WarmBought | None:  # fmt: skip
    """Seed -> (warm copy's trials, cold twin's trials) (TrialFeed frames) summed up over the
    seeds: the trial at which the warm copy reached the cold one's final best (compare_cold,
    per seed) and the paired difference of their final bests, mean ± std over seeds. `sources`:
    where the warm start came from, in words. None while no seed has both scored."""
    sign = 1.0 if direction == "maximize" else -1.0
    seen = {seed: compare_cold(w, c, direction, cold_label) for seed, (w, c) in pairs.items()}
    seen = {seed: s for seed, s in seen.items() if s is not None}
    if not seen:
        return None
    passed = [s.passed_at for s in seen.values() if s.passed_at is not None]
    diffs = np.array([sign * (s.warm_final - s.cold_final) for s in seen.values()])
    # the two final bests' fold spreads combined, per seed
    folds = [math.sqrt(np.nansum([s.warm_final_std**2, s.cold_final_std**2])) for s in seen.values()]
    n = len(seen)
    std = float(np.std(diffs, ddof=1)) if n > 1 else math.nan
    diff = float(diffs.mean())
    # Read against the seeds' spread and the folds' (the two final bests' fold spreads
    # combined, median over seeds): two seeds that agree exactly still carry the folds' noise.
    noise = max(std, float(np.median(folds))) if n > 1 else math.nan
    if n < 2:
        state = "unknown"
    else:
        state = "hurt" if -diff > noise else "helped" if diff > noise else "level"
    bought = WarmBought(entry, n, len(passed), float(np.median(passed)) if passed else None,
                        float(np.median([s.cold_first for s in seen.values()])), diff, std, state,
                        "", tuple((seed, s.passed_at, s.cold_first) for seed, s in seen.items()))  # fmt: skip
    return replace(bought, sentence=_bought_sentence(bought, cold_label, sources, so_far))


def _trial(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _count(x: float) -> str:
    """'1 trial', '7 trials', '6.5 trials' (a median)."""
    return f"{_trial(x)} trial{'' if x == 1 else 's'}"


def _bought_sentence(b: WarmBought, cold: str, sources: str, so_far: bool) -> str:
    head = ("So far, w" if so_far else "W") + f"arm start {sources}"
    over = f"over {b.seeds} seeds" if b.seeds > 1 else "on one seed"
    cold_at = f"cold: after {_count(b.cold_trial)}"
    if b.seeds == 2 and len(b.per_seed) == 2:  # a median of two reads as "1.5 trials": each seed
        reach = _two_seeds(b, cold)
    elif b.reached == b.seeds:
        reach = (f"reached cold {cold}'s final best after {_count(b.warm_trial)} ({cold_at})"
                 f", {'median ' if b.seeds > 1 else ''}{over}")  # fmt: skip
    elif b.reached:
        reach = (f"reached cold {cold}'s final best on {b.reached} of {b.seeds} seeds, after "
                 f"{_count(b.warm_trial)} (median of those; {cold_at}, median)")  # fmt: skip
    else:
        reach = f"never reached cold {cold}'s final best ({cold_at}{', median' if b.seeds > 1 else ''})"
    if b.state == "unknown":
        worse = " (worse)" if b.diff < 0 else ""
        return (f"{head}: {reach}; final best {b.diff:+.4f}{worse} against the cold run's, from "
                "one seed: the spread over seeds is unknown, so this shows no gain or loss "
                "(run more seeds).")  # fmt: skip
    diff = (f"final best {b.diff:+.4f} ± {b.diff_std:.4f} against the cold runs' (mean ± std "
            "over seeds; + is better)")  # fmt: skip
    if b.state == "level" and b.diff == 0 and b.diff_std == 0:
        return f"{head}: {reach}; the same final best as the cold runs' on every seed."
    if b.state == "hurt":
        return (f"{head} hurt here: {diff}, worse by more than the spread over seeds and "
                f"folds; it {reach}.")  # fmt: skip
    if b.state == "helped":
        return f"{head}: {reach}; {diff}, better by more than the spread over seeds and folds."
    return f"{head}: {reach}; {diff}, within the noise of seeds and folds."


def _two_seeds(b: WarmBought, cold: str) -> str:
    each = [(f"after {_count(w)}" if w is not None else "not") + f" on seed {s} (cold: after "
            f"{_count(c)})" for s, w, c in b.per_seed]  # fmt: skip
    if not b.reached:
        return f"never reached cold {cold}'s final best (cold: after " + " and ".join(
            f"{_count(c)} on seed {s}" for s, _, c in b.per_seed) + ")"  # fmt: skip
    return f"reached cold {cold}'s final best {' and '.join(each)}"


def experiment_warm(
    info, storage: BaseStorage, read: Callable[[str], RunData] | None = None
) -> list[WarmBought]:
    """Each warm copy of an experiment (`runs.experiments.ExperimentInfo`) against its cold
    twin, over the seeds where both have run (the sentence says "so far" until all finished).
    `read`: a run by name (default: read afresh; a page passes its long-lived readers)."""
    read = read or (lambda name: LiveRun(storage, name).read())
    runs = {(r["method"], r["seed"]): r for r in info.runs}
    out = []
    for entry in [e for e in info.config.entries if is_warm(e)]:
        twin = cold_twin(entry)
        pairs, record = {}, None
        for seed in info.config.seeds:
            w, c = runs.get((entry, seed)), runs.get((twin, seed))
            if w is None or c is None:
                continue
            warm_run = read(w["run"])
            record = record or warm_run.record
            pairs[seed] = (warm_run.frame, read(c["run"]).frame)
        if record is None:
            continue
        done = all(r["status"] == RunStatus.FINISHED for r in info.runs if r["method"] in (entry, twin))
        found = warm_bought(pairs, record.direction, entry_label(twin),
                            _from(record.warm_start or {}), entry, so_far=not done)  # fmt: skip
        if found is not None:
            out.append(found)
    return out


def _from(warm: dict) -> str:
    """Where a warm start came from: "from run X (Wine, similarity 0.62)"."""
    where = _sources(warm)
    if not where:
        return f"that used no earlier run's configuration ({warm.get('note') or 'none could seed it'})"
    return f"from run{'s' if ' and ' in where else ''} {where}"
