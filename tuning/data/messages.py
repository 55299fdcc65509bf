"""Wording shared by the data checks' messages: quoted names, examples, row counts, shares."""

from __future__ import annotations

import pandas as pd


def examples(s: pd.Series, k: int = 3) -> list:
    return pd.Series(s).drop_duplicates().head(k).tolist()


def shown(item: object, width: int = 40) -> str:
    """A value from the file as a message may show it: control characters escaped, cut to
    ``width`` characters, so a message never echoes a file's contents."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(item))
    return text if len(text) <= width else text[: width - 1] + "…"


def quoted(items: list, limit: int = 10) -> str:
    shown_items = ", ".join(f"'{shown(item)}'" for item in items[:limit])
    if len(items) > limit:
        shown_items += f" and {len(items) - limit} more"
    return shown_items


def subject(columns: list[str], singular: str, plural: str) -> str:
    """Column 'a' + singular verb, or Columns 'a', 'b' + plural verb."""
    if len(columns) == 1:
        return f"Column '{columns[0]}' {singular}"
    return f"Columns {quoted(columns, 5)} {plural}"


def it_they(columns: list[str]) -> str:
    return "it will be" if len(columns) == 1 else "they will be"


def count(n: int, noun: str) -> str:
    """ "1 row", "2 rows", "1,200 feature columns"."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def row_count(n: int) -> str:
    return count(n, "row")


def percent(share: float) -> str:
    return f"{100 * share:.1f}%" if share < 0.995 else "100%"
