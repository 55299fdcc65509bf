"""Tables the Live monitor shows, as DataFrames (no Streamlit: benchmarks and tests call them)."""

from __future__ import annotations

from collections import deque

import pandas as pd

from tuning import analysis as an
from tuning.core.scoring import Scoring, StudyValue
from ui import text

NOT_COMPLETED = ("failed", "stopped", "pruned")


def top_table(df: pd.DataFrame, scoring: Scoring | StudyValue, n: int = 10) -> pd.DataFrame:
    """The n best complete trials: score, spread over folds, train score, fit time, params."""
    if not len(df):
        return pd.DataFrame()
    values = df["value"].where(df["state"] == "complete").dropna()
    best = values.nlargest(n) if scoring.direction == "maximize" else values.nsmallest(n)
    top = df.loc[best.index]
    table = pd.DataFrame(
        {
            "trial": top["number"].astype(int),
            scoring.label: top["value"],
            "± std (folds)": top["cv_std"],
            "train score": top["train_score"],
            "fit time (s)": top["fit_seconds"],
        }
    )
    # Columns no trial records (a study another tool made has no folds or fit times).
    table = table.drop(columns=[c for c in table.columns[2:] if table[c].isna().all()])
    marks = origins(top)
    if marks is not None:
        table.insert(1, ORIGIN, marks)
    if "worker" in df.columns and df["worker"].nunique() > 1:
        # "worker 1", "worker 2": the host:pid (or Dask address) is the column's tooltip
        table["worker"] = top["worker"].map(worker_names(df))
    for c in (c for c in top.columns if c.startswith("param_")):
        table[c[len("param_") :]] = top[c].map(lambda v: an.param_cell(v, text.value))
    return table


ORIGIN = "origin"


def origins(rows: pd.DataFrame) -> list[str] | None:
    """Where each listed trial came from, in short ("library defaults", "start-up",
    "model-guided"; its sentence is in the page's list of origins and the chart's hovers), or
    None where none of them has one (then a table leaves the column out)."""
    column = "origin_kind" if "origin_kind" in rows.columns else "origin"
    if column not in rows.columns or not rows[column].notna().any():
        return None
    return [o if isinstance(o, str) else "" for o in rows[column]]


def worker_names(df: pd.DataFrame) -> dict[str, str]:
    """Each worker process (host:pid, or a Dask worker's address) as people read it: "worker
    1", "worker 2", ... numbered in the order of their first trial."""
    if "worker" not in df.columns or not len(df):
        return {}
    order = df.sort_values("number", kind="stable")["worker"].dropna().astype(str).unique()
    return {w: f"worker {i}" for i, w in enumerate(order, 1)}


def worker_help(df: pd.DataFrame) -> str:
    """Which process each numbered worker is (the worker column's tooltip)."""
    return "; ".join(f"{n}: {w}" for w, n in worker_names(df).items())


def worker_counts(df: pd.DataFrame) -> dict[str, int]:
    """Finished trials per worker process (host:pid), for runs worked on by several."""
    if "worker" not in df.columns or not len(df):
        return {}
    done = df.loc[df["state"] != "running", "worker"].dropna()
    return {str(k): int(v) for k, v in done.value_counts().items()}


def failure_table(df: pd.DataFrame, examples: int = 5) -> pd.DataFrame:
    """Trials that did not complete, grouped by state and reason, most frequent first.

    A plain loop over the failed, pruned and stopped rows: faster than a pandas groupby on
    text columns at the sizes seen live (thousands of rows, a handful of groups).
    """
    columns = ["state", "reason", "trials", "latest trials"]
    bad = df.loc[df["state"].isin(NOT_COMPLETED)] if len(df) else df
    if not len(bad):
        return pd.DataFrame(columns=columns)
    groups: dict[tuple[str, str], list] = {}
    rows = zip(bad["number"].tolist(), bad["state"].tolist(), bad["step"].tolist(),
               bad["fail_reason"].tolist(), strict=True)  # fmt: skip
    for number, state, step, reason in rows:
        if state == "pruned":
            reason = f"pruned at step {int(step)}" if step == step and step is not None else None
        if not isinstance(reason, str) or not reason:
            reason = "(no reason recorded)"
        entry = groups.setdefault((state, reason), [0, deque(maxlen=examples)])
        entry[0] += 1
        entry[1].append(number)
    out = pd.DataFrame(
        [(s, r, n, ", ".join(f"#{k}" for k in last)) for (s, r), (n, last) in groups.items()],
        columns=columns,
    )
    return out.sort_values("trials", ascending=False, kind="stable", ignore_index=True)
