"""Search-space schema: what a user edits, what Optuna samples, what grid search enumerates.

A space is an ordered tuple of `Param`s. Each parameter is an int, a float (optionally log-scaled
or stepped) or a categorical, may be switched off (then it stays fixed at its default), and may be
conditional on a categorical parent (e.g. SVM's gamma only for the kernels that use it). The same
object converts to Optuna distributions, samples through an Optuna trial, expands to a finite grid
and round-trips through JSON, so the UI, the engine and the saved run all agree on one definition.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from tuning.core.errors import SpaceError

KINDS = ("int", "float", "categorical")
JSONScalar = str | int | float | bool | None


@dataclass(frozen=True)
class Param:
    """One hyperparameter. `condition=(parent, values)`: active only when parent takes one of values."""

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[JSONScalar, ...] | None = None
    enabled: bool = True
    default: Any = None
    condition: tuple[str, tuple[JSONScalar, ...]] | None = None
    help: str = ""
    grid: tuple[JSONScalar, ...] | None = None  # explicit grid-search values (else spaced points)

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        where = f"Parameter '{self.name}'"
        if not self.name or not isinstance(self.name, str):
            raise SpaceError("Every parameter needs a non-empty name.")
        if self.kind not in KINDS:
            raise SpaceError(f"{where}: kind must be one of {', '.join(KINDS)}, not '{self.kind}'.")
        if self.grid is not None:
            self._validate_grid(where)
        if self.kind == "categorical":
            if not self.choices:
                raise SpaceError(f"{where} has no choices: give at least one value.")
            if len(set(map(_key, self.choices))) != len(self.choices):
                raise SpaceError(f"{where} lists a choice twice: remove the duplicate.")
            if self.default is not None and _key(self.default) not in set(map(_key, self.choices)):
                raise SpaceError(f"{where}: default {self.default!r} is not one of its choices.")
            return
        for bound in ("low", "high"):
            value = getattr(self, bound)
            if value is None or not _is_number(value) or not math.isfinite(float(value)):
                raise SpaceError(f"{where}: '{bound}' must be a finite number, got {value!r}.")
        if self.kind == "int" and (int(self.low) != self.low or int(self.high) != self.high):
            raise SpaceError(f"{where} is an integer parameter: its bounds must be whole numbers.")
        if self.low > self.high:
            raise SpaceError(
                f"{where}: low ({self.low}) is greater than high ({self.high}): swap or fix them."
            )
        if self.log and self.low <= 0:
            raise SpaceError(
                f"{where} is log-scaled, so low must be greater than 0 (got {self.low}): "
                "raise low or switch log off."
            )
        if self.step is not None:
            if not _is_number(self.step) or self.step <= 0:
                raise SpaceError(f"{where}: step must be a positive number, got {self.step!r}.")
            if self.log:
                raise SpaceError(f"{where}: a log-scaled parameter cannot also have a step.")
            if self.kind == "int" and int(self.step) != self.step:
                raise SpaceError(f"{where}: an integer parameter needs a whole-number step.")
            if self.low < self.high and self.step > self.high - self.low:
                # Optuna would silently search the single value `low`: surely not what was meant
                raise SpaceError(
                    f"{where}: step {self.step:g} is larger than the range {self.low:g} to "
                    f"{self.high:g}, so only {self.low:g} could be tried: lower the step or "
                    "widen the range."
                )
        if self.default is not None and not (self.low <= self.default <= self.high):
            raise SpaceError(
                f"{where}: default {self.default} lies outside [{self.low}, {self.high}]."
            )

    def _validate_grid(self, where: str) -> None:
        if not self.grid:
            raise SpaceError(f"{where}: its grid values are empty: give at least one value.")
        for v in self.grid:
            if self.kind == "categorical":
                ok = _key(v) in set(map(_key, self.choices or ()))
            elif self.kind == "int":
                ok = _is_number(v) and int(v) == v and self.low <= v <= self.high
            else:
                ok = _is_number(v) and self.low <= v <= self.high
            if not ok:
                raise SpaceError(
                    f"{where}: grid value {v!r} is not a valid value of the parameter "
                    f"({self.describe()}): fix the grid or widen the range."
                )

    # -- Optuna ---------------------------------------------------------------------------
    def distribution(self) -> BaseDistribution:
        if self.kind == "categorical":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(
                low=int(self.low), high=int(self.high), log=self.log, step=int(self.step or 1)
            )
        return FloatDistribution(
            low=float(self.low), high=float(self.high), log=self.log, step=self.step
        )

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(
            self.name, float(self.low), float(self.high), step=self.step, log=self.log
        )

    def contains(self, value: Any) -> bool:
        """Whether a search of this parameter can propose `value`: one of its choices (1, True
        and '1' are different choices), or a finite number in [low, high], whole for an int
        parameter and on the step lattice where there is a step."""
        if self.kind == "categorical":
            return _key(value) in set(map(_key, self.choices or ()))
        if not _is_number(value) or not math.isfinite(float(value)):
            return False
        if self.kind == "int" and int(value) != value:
            return False
        if not self.low <= value <= self.high:
            return False
        if self.step is None:
            return True
        steps = (value - self.low) / self.step
        return abs(steps - round(steps)) <= 1e-9 * max(1.0, abs(steps))

    def fixed_value(self) -> Any:
        """The value used when the parameter is switched off."""
        if self.default is not None:
            return self.default
        if self.kind == "categorical":
            return self.choices[0]
        if self.log:  # geometric middle for log-scaled ranges
            mid = math.sqrt(self.low * self.high)
        else:
            mid = (self.low + self.high) / 2
        return int(round(mid)) if self.kind == "int" else float(mid)

    def grid_values(self, n_points: int) -> list[Any]:
        """Finite values for grid search: all choices, or n points (log-spaced where log)."""
        if not self.enabled:
            return [self.fixed_value()]
        if self.grid is not None:
            return list(self.grid)
        if self.kind == "categorical":
            return list(self.choices)
        low, high = self.low, self.high
        if self.kind == "int":
            step = int(self.step or 1)
            n_all = (int(high) - int(low)) // step + 1
            if n_all <= n_points:
                return list(range(int(low), int(high) + 1, step))
            raw = _spaced(low, high, n_points, self.log)
            values = sorted({int(low) + step * round((v - low) / step) for v in raw})
            return [min(int(high), max(int(low), v)) for v in values]
        raw = _spaced(low, high, n_points, self.log)
        if self.step is not None:
            raw = sorted({low + self.step * round((v - low) / self.step) for v in raw})
            raw = [v for v in raw if low <= v <= high + 1e-12]
        return [float(_tidy(v)) for v in raw]

    def is_active(self, params: Mapping[str, Any]) -> bool:
        if self.condition is None:
            return True
        parent, values = self.condition
        return parent in params and _key(params[parent]) in set(map(_key, values))

    def describe(self) -> str:
        if self.kind == "categorical":
            text = "{" + ", ".join(map(str, self.choices)) + "}"
        else:
            text = f"[{self.low}, {self.high}]" + (" log" if self.log else "")
            text += f" step {self.step}" if self.step is not None else ""
        if self.condition:
            vals = [str(v) for v in self.condition[1]]
            either = vals[0] if len(vals) == 1 else f"{', '.join(vals[:-1])} or {vals[-1]}"
            text += f" when {self.condition[0]} is {either}"
        return text if self.enabled else f"fixed at {self.fixed_value()!r}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["choices"] = list(self.choices) if self.choices is not None else None
        d["condition"] = [self.condition[0], list(self.condition[1])] if self.condition else None
        d["grid"] = list(self.grid) if self.grid is not None else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Param:
        unknown = set(d) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise SpaceError(f"Unknown parameter field(s): {', '.join(sorted(unknown))}.")
        d = dict(d)
        if d.get("choices") is not None:
            d["choices"] = tuple(d["choices"])
        if d.get("grid") is not None:
            d["grid"] = tuple(d["grid"])
        if d.get("condition") is not None:
            parent, values = d["condition"]
            d["condition"] = (parent, tuple(values))
        try:
            p = cls(**d)
        except TypeError as exc:
            raise SpaceError(f"A parameter is missing a field: {exc}.") from None
        p.validate()
        return p


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))

    def validate(self) -> SearchSpace:
        names = [p.name for p in self.params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SpaceError(f"Parameter name(s) used twice: {', '.join(dupes)}.")
        seen: dict[str, Param] = {}
        for p in self.params:
            p.validate()
            if p.condition:
                parent = seen.get(p.condition[0])
                if parent is None or parent.kind != "categorical":
                    raise SpaceError(
                        f"Parameter '{p.name}' depends on '{p.condition[0]}', which must be a "
                        "categorical parameter listed before it."
                    )
                missing = set(map(_key, p.condition[1])) - set(map(_key, parent.choices))
                if missing:
                    raise SpaceError(
                        f"Parameter '{p.name}' is active for {sorted(missing)}, which are not "
                        f"choices of '{parent.name}'."
                    )
            seen[p.name] = p
        if not any(p.enabled for p in self.params):
            raise SpaceError("Every parameter is switched off: switch at least one on to search.")
        return self

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def __contains__(self, name: str) -> bool:
        return any(p.name == name for p in self.params)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def has_conditions(self) -> bool:
        return any(p.condition for p in self.params)

    def replace_param(self, name: str, **changes: Any) -> SearchSpace:
        params = tuple(replace(p, **changes) if p.name == name else p for p in self.params)
        return SearchSpace(params).validate()

    # -- Optuna ---------------------------------------------------------------------------
    def distributions(self) -> dict[str, BaseDistribution]:
        """Distributions of the searched (enabled) parameters."""
        return {p.name: p.distribution() for p in self.params if p.enabled}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample one configuration through `trial`; inactive parameters are left out."""
        params: dict[str, Any] = {}
        for p in self.params:
            if not p.is_active(params):
                continue
            params[p.name] = p.suggest(trial) if p.enabled else p.fixed_value()
        return params

    def complete(self, searched: Mapping[str, Any]) -> dict[str, Any]:
        """Full configuration from a trial's params: switched-off parameters at their fixed value."""
        params: dict[str, Any] = {}
        for p in self.params:
            if not p.is_active(params):
                continue
            params[p.name] = (
                searched[p.name] if p.enabled and p.name in searched else p.fixed_value()
            )
        return params

    # -- grid -----------------------------------------------------------------------------
    def grid(self, n_points: int = 5) -> list[dict[str, Any]]:
        """Every configuration of the grid, conditional parameters expanded only where active.

        Optuna's GridSampler takes a plain Cartesian product, which would repeat a configuration
        once per value of an inactive child (e.g. gamma for a linear kernel); we enumerate here.
        """
        if n_points < 1:
            raise SpaceError("Grid points per continuous parameter must be at least 1.")
        configs: list[dict[str, Any]] = [{}]
        for p in self.params:
            values = p.grid_values(n_points)
            expanded = []
            for cfg in configs:
                if p.is_active(cfg):
                    expanded.extend({**cfg, p.name: v} for v in values)
                else:
                    expanded.append(cfg)
            configs = expanded
        return configs

    def grid_size(self, n_points: int = 5) -> int:
        return len(self.grid(n_points))

    @classmethod
    def from_distributions(cls, space: Mapping[str, Any]) -> SearchSpace:
        """A space from Optuna distributions, or lists of values as scikit-learn's param_grid
        takes them (categorical), keyed by parameter name ("C", "clf__C"). Names are sorted, as
        ParameterGrid sorts them, so grid search tries configurations in GridSearchCV's order."""
        if isinstance(space, SearchSpace):
            return space.validate()
        if not isinstance(space, Mapping) or not space:
            raise SpaceError(
                "The search space must be a non-empty dict of parameter name -> Optuna "
                "distribution (e.g. {'C': FloatDistribution(1e-3, 1e3, log=True)}) or list of "
                "values, or a SearchSpace."
            )
        params = []
        for name in sorted(space):
            d = space[name]
            if isinstance(d, list | tuple):
                d = CategoricalDistribution(list(d))
            if isinstance(d, CategoricalDistribution):
                bad = [c for c in d.choices if not (c is None or isinstance(c, str | bool | int | float))]
                if bad:
                    raise SpaceError(
                        f"Parameter '{name}': choice {bad[0]!r} is not a number, string, bool or "
                        "None; the run is saved as JSON, so search objects by name instead "
                        "(e.g. a factory argument)."
                    )
                params.append(cat_param(str(name), d.choices))
            elif isinstance(d, IntDistribution):
                step = None if d.step == 1 else d.step
                params.append(int_param(str(name), d.low, d.high, log=d.log, step=step))
            elif isinstance(d, FloatDistribution):
                params.append(float_param(str(name), d.low, d.high, log=d.log, step=d.step))
            else:
                raise SpaceError(
                    f"Parameter '{name}': {d!r} is not an Optuna distribution (Float-, Int- or "
                    "CategoricalDistribution) or a list of values."
                )
        return cls(tuple(params)).validate()

    # -- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"params": [p.to_dict() for p in self.params]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SearchSpace:
        if not isinstance(d, Mapping) or not isinstance(d.get("params"), list):
            raise SpaceError('A search space must be an object with a "params" list.')
        return cls(tuple(Param.from_dict(p) for p in d["params"])).validate()

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> SearchSpace:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpaceError(f"The search space is not valid JSON: {exc}.") from None
        return cls.from_dict(data)


# -- helpers -------------------------------------------------------------------------------
def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def _key(value: Any) -> str:
    """Hashable, type-aware identity for choices (1 and True and '1' stay distinct)."""
    return f"{type(value).__name__}:{value!r}"


def _spaced(low: float, high: float, n: int, log: bool) -> Iterable[float]:
    if n == 1:
        return [math.sqrt(low * high) if log else (low + high) / 2]
    return np.geomspace(low, high, n) if log else np.linspace(low, high, n)


def _tidy(v: float) -> float:
    """Round to 6 significant digits so grid values read well (0.001, not 0.0010000000002)."""
    return float(f"{v:.6g}")


def int_param(name: str, low: int, high: int, **kw: Any) -> Param:
    return Param(name=name, kind="int", low=low, high=high, **kw)


def float_param(name: str, low: float, high: float, **kw: Any) -> Param:
    return Param(name=name, kind="float", low=low, high=high, **kw)


def cat_param(name: str, choices: Iterable[JSONScalar], **kw: Any) -> Param:
    return Param(name=name, kind="categorical", choices=tuple(choices), **kw)


__all__ = [
    "Param",
    "SearchSpace",
    "int_param",
    "float_param",
    "cat_param",
]
