"""What a warm start bought a run, in one sentence for the Live monitor.

A warm-started run's first trials (after the library defaults) are earlier runs' best
configurations, marked "warm start". The sentence says where they came from and how they
fared against the run's own search: still the best, passed by the search at trial N, or never
better than the library defaults (a warm start that did not help is said so).
"""

from __future__ import annotations

import math

import pandas as pd

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
