"""Wording shared by the data checks' messages: quoted names, examples, row counts, shares."""

from __future__ import annotations

import pandas as pd


def examples(s: pd.Series, k: int = 3) -> list:
    return pd.Series(s).drop_duplicates().head(k).tolist()


def quoted(items: list, limit: int = 10) -> str:
    shown = ", ".join(f"'{item}'" for item in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


def subject(columns: list[str], singular: str, plural: str) -> str:
    """Column 'a' + singular verb, or Columns 'a', 'b' + plural verb."""
    if len(columns) == 1:
        return f"Column '{columns[0]}' {singular}"
    return f"Columns {quoted(columns, 5)} {plural}"


def it_they(columns: list[str]) -> str:
    return "it will be" if len(columns) == 1 else "they will be"


def row_count(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def percent(share: float) -> str:
    return f"{100 * share:.1f}%" if share < 0.995 else "100%"
