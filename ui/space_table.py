"""A search space as an editable table, and back (no Streamlit here: tested directly).

One row per parameter, in the model's order (names and kinds are fixed; the engine checks them
against the model). Users edit: on/off, low/high and log for numbers, the choices of
categorical parameters, and the value a switched-off parameter is fixed at. `table_to_space`
builds Params and calls SearchSpace.validate(), so every refusal is a SpaceError whose message
says what to change.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pandas as pd

from tuning.core.errors import SpaceError
from tuning.core.hyperopt_space import hyperopt_code
from tuning.core.space import Param, SearchSpace
from ui.text import value as format_value

COLUMNS = [
    "search",
    "parameter",
    "type",
    "low",
    "high",
    "log",
    "choices",
    "fixed at",
    "only when",
    "about",
]
EDITABLE = ["search", "low", "high", "log", "choices", "fixed at"]


def format_choices(choices: tuple | list | None) -> str:
    return ", ".join(format_value(c) for c in choices or ())


def parse_token(token: str) -> Any:
    """A typed value from what a user typed: None, True/False, an int, a float, else text."""
    t = token.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    low = t.lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        x = float(t)
    except ValueError:
        return t
    return x if math.isfinite(x) else t


def parse_choices(text: Any) -> tuple:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ()
    return tuple(parse_token(part) for part in str(text).split(",") if part.strip())


NO_BOUND = "—"  # a categorical parameter's low and high


def _bound(v: float) -> str:
    return f"{float(v):.12g}"


def space_to_table(space: SearchSpace) -> pd.DataFrame:
    rows = []
    for p in space.params:
        numeric = p.kind != "categorical"
        cond = f"{p.condition[0]} ∈ {{{format_choices(p.condition[1])}}}" if p.condition else ""
        rows.append(
            {
                "search": p.enabled,
                "parameter": p.name,
                "type": p.kind,
                # text: a categorical parameter's bounds read "—", never "None"
                "low": _bound(p.low) if numeric else NO_BOUND,
                "high": _bound(p.high) if numeric else NO_BOUND,
                "log": bool(p.log) if numeric else False,
                "choices": "" if numeric else format_choices(p.choices),
                "fixed at": format_value(p.fixed_value()),
                "only when": cond,
                "about": p.help,
            }
        )
    # object columns: an edit may be typed text or a number
    return pd.DataFrame(rows, columns=COLUMNS).astype({"low": object, "high": object})


def _number(row: pd.Series, col: str, p: Param) -> float:
    v = row.get(col)
    if isinstance(v, str):
        v = v.strip()
    if v is None or v in ("", NO_BOUND) or (isinstance(v, float) and math.isnan(v)):
        raise SpaceError(f"Parameter '{p.name}': enter a number for '{col}'.")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise SpaceError(f"Parameter '{p.name}': '{col}' must be a number, got {v!r}.") from None


def _fixed(text: Any, p: Param, new: Param) -> Any:
    """The default of the edited parameter: unchanged text keeps the computed middle."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return p.default
    t = str(text).strip()
    if not t or t == format_value(p.fixed_value()):
        return p.default
    v = parse_token(t)
    if new.kind == "categorical":
        return v
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise SpaceError(f"Parameter '{p.name}': 'fixed at' must be a number, got '{t}'.")
    if new.kind == "int":
        if float(v) != int(v):
            raise SpaceError(
                f"Parameter '{p.name}' is an integer: 'fixed at' must be a whole number."
            )
        return int(v)
    return float(v)


def table_to_space(table: pd.DataFrame, base: SearchSpace) -> SearchSpace:
    """The edited table as a validated SearchSpace; raises SpaceError with what to change."""
    by_name = {str(r["parameter"]): r for _, r in table.iterrows()}
    params = []
    for p in base.params:
        row = by_name.get(p.name)
        if row is None:
            raise SpaceError(f"Parameter '{p.name}' is missing from the table: reset the table.")
        enabled = bool(row.get("search")) if row.get("search") is not None else p.enabled
        if p.kind == "categorical":
            choices = parse_choices(row.get("choices"))
            if not choices:
                raise SpaceError(
                    f"Parameter '{p.name}' has no choices: list at least one value, separated "
                    "by commas."
                )
            new = replace(p, enabled=enabled, choices=choices)
        else:
            low, high = _number(row, "low", p), _number(row, "high", p)
            if p.kind == "int":
                for col, v in (("low", low), ("high", high)):
                    if v != int(v):
                        raise SpaceError(
                            f"Parameter '{p.name}' is an integer: '{col}' must be a whole "
                            f"number, got {v:g}."
                        )
                low, high = int(low), int(high)
            log = bool(row.get("log")) if row.get("log") is not None else False
            new = replace(p, enabled=enabled, low=low, high=high, log=log,
                          step=None if log else p.step)  # fmt: skip
        default = _fixed(row.get("fixed at"), p, new)
        if default is not None and new.kind == "categorical" and not enabled:
            # A switched-off categorical may be fixed at any value, e.g. one not searched.
            if default not in new.choices:
                new = replace(new, choices=(*new.choices, default))
        new = replace(new, default=default)
        try:
            new.validate()
        except SpaceError as exc:
            raise SpaceError(str(exc).replace("default", "'fixed at' value")) from None
        params.append(new)
    return SearchSpace(tuple(params)).validate()


def hyperopt_script(space: SearchSpace) -> str:
    """The space as Hyperopt code (`space = {... hp.* ...}`), to download beside the table."""
    return hyperopt_code(space)
