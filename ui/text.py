"""Formatting of numbers, durations and times for display, and escaping of user text.

Run names, column names, CSV values and search-space choices come from users. Streamlit renders
the body of st.markdown / st.error / st.warning / st.caption as Markdown, so any such text is
passed through `md()` first; tables use st.dataframe, which shows cells as plain text.
"""

from __future__ import annotations

import math
import string
from datetime import datetime
from typing import Any

from tuning.plots.base import params_text, value_text
from tuning.runs.front import experiments as ex

_MD_SPECIAL = set(string.punctuation)


def md(text: Any) -> str:
    """Escape Markdown in `text`, so it is shown literally (CommonMark: any ASCII punctuation
    may be backslash-escaped). Newlines become spaces: one message, one paragraph."""
    out = []
    for ch in str(text):
        if ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def score(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


def duration(seconds: float | None) -> str:
    """12 s, 3 min 05 s, 2 h 07 min."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def local_time(iso: str | None, short: bool = False) -> str:
    """An ISO timestamp (UTC, from the engine) as local 'YYYY-MM-DD HH:MM' (short: 'Nov 26 14:05')."""
    if not iso:
        return "–"
    try:
        return (
            datetime.fromisoformat(iso)
            .astimezone()
            .strftime("%b %d %H:%M" if short else "%Y-%m-%d %H:%M")
        )
    except ValueError:
        return iso


# A hyperparameter value as a user would type it, and a few of them: the figures' wording.
value = value_text
params = params_text


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def held_out_interval(scoring: str, score: float | None, n: int | None) -> str | None:
    """How far one held-out split can move a test score: an accuracy on n rows is a proportion,
    with a 95 % Wilson interval; other scores have no such closed form, so the words say one
    split. None without a score or a row count."""
    if score is None or not n:
        return None
    if (ends := ex.test_interval(scoring, score, n)) is None:
        return f"one split of {n:,} rows"
    return f"95 %: {ends[0]:.3f}–{ends[1]:.3f} ({n:,} rows)"
