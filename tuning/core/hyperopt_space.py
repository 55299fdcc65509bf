"""Hyperopt search spaces to and from the studio's SearchSpace.

Three forms of one Hyperopt space meet here:
- the expression Hyperopt itself builds (`{"C": hp.loguniform("C", -7, 7), ...}`), which
  TuningSearchCV accepts and Hyperopt's algorithms sample;
- a JSON description that mirrors the code call for call (`{"hp.loguniform": ["C", -7, 7]}`,
  `{"scope.int": [...]}`), which `--space FILE.json` accepts: it is built by calling the few
  `hp.*` functions named below, never by evaluating text;
- Python code (`hyperopt_code`), which the space table offers to download.

The studio's space is flat: one parameter per name, the name an estimator's keyword. So a
parameter's name is the dict key that holds it (what the objective receives), not Hyperopt's
label; a `hp.choice` among dicts becomes a categorical parameter (the key every option fixes to
a different constant, e.g. {"kernel": "rbf", ...}) whose options' other entries become
parameters active only for that option, and their dicts are flattened into one level.
Hyperopt is imported only when a space is built, as importing it takes most of a second.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tuning.core.errors import SpaceError
from tuning.core.space import Param, SearchSpace, cat_param, float_param, int_param

HP = "hyperopt"  # the key of a --space file that holds a Hyperopt description
CALLS = ("hp.uniform", "hp.loguniform", "hp.quniform", "hp.qloguniform", "hp.randint",
         "hp.uniformint", "hp.choice", "scope.int")  # fmt: skip
# How each distribution's arguments are named, to read keyword arguments as well.
_ARGS = {"uniform": ("low", "high"), "loguniform": ("low", "high"),
         "quniform": ("low", "high", "q"), "qloguniform": ("low", "high", "q"),
         "randint": ("low", "high")}  # fmt: skip
_UNBOUNDED = ("normal", "lognormal", "qnormal", "qlognormal")


def _tidy(x: float) -> float:
    """exp(log(0.001)) is 0.0010000000000000002: 12 significant digits give 0.001 back."""
    return float(f"{x:.12g}")


# -- studio -> description -------------------------------------------------------------------
def describe_space(space: SearchSpace) -> dict:
    """The space as a Hyperopt description (see the module doc). A switched-off parameter is
    a constant; a conditional one sits in the options of its parent's `hp.choice`."""
    children: dict[str, list[Param]] = {}
    for p in space.params:
        if p.condition:
            children.setdefault(p.condition[0], []).append(p)
    return _level([p for p in space.params if not p.condition], children)


def _level(params: list[Param], children: dict[str, list[Param]]) -> dict:
    out: dict[str, Any] = {}
    for p in params:
        kids = children.get(p.name, [])
        if not p.enabled:
            value = p.fixed_value()
            out[p.name] = value
            out.update(_level([c for c in kids if _active_for(c, value)], children))
        elif kids and p.kind == "categorical":
            options = [
                {p.name: v, **_level([c for c in kids if _active_for(c, v)], children)}
                for v in p.choices
            ]
            out[p.name] = {"hp.choice": [p.name, options]}
        else:
            out[p.name] = _node(p)
    return out


def _active_for(p: Param, value: Any) -> bool:
    return p.is_active({p.condition[0]: value})


def _node(p: Param) -> dict:
    if p.kind == "categorical":
        return {"hp.choice": [p.name, list(p.choices)]}
    if p.kind == "float" and p.step is None:
        if p.log:
            return {"hp.loguniform": [p.name, math.log(p.low), math.log(p.high)]}
        return {"hp.uniform": [p.name, float(p.low), float(p.high)]}
    if p.kind == "float":
        return {"hp.quniform": [p.name, float(p.low), float(p.high), float(p.step)]}
    if p.log:
        return {"scope.int": [{"hp.qloguniform": [p.name, math.log(p.low), math.log(p.high), 1]}]}
    return {"scope.int": [{"hp.quniform": [p.name, int(p.low), int(p.high), int(p.step or 1)]}]}


# -- description -> Hyperopt expression ------------------------------------------------------
def build(description: Any) -> Any:
    """The Hyperopt expression a description stands for. A parameter described twice with one
    label and the same arguments (a child shared by several options) is one node, as Hyperopt
    needs; the same label with different arguments is refused."""
    from hyperopt import hp
    from hyperopt.pyll import scope

    funcs = {"hp.uniform": hp.uniform, "hp.loguniform": hp.loguniform,
             "hp.quniform": hp.quniform, "hp.qloguniform": hp.qloguniform,
             "hp.randint": hp.randint, "hp.uniformint": hp.uniformint,
             "hp.choice": hp.choice, "scope.int": scope.int}  # fmt: skip
    nodes: dict[str, tuple[str, Any]] = {}

    def go(d: Any) -> Any:
        call = _call(d)
        if call is None:
            if isinstance(d, Mapping):
                return {str(k): go(v) for k, v in d.items()}
            if isinstance(d, list):
                return [go(v) for v in d]
            return d
        name, args = call
        if name == "scope.int":
            return funcs[name](go(args[0]))
        label = args[0] if args else None
        if not isinstance(label, str):
            raise SpaceError(f"{name} needs a label (a name) as its first argument, got {label!r}.")
        key = repr((name, args))
        if label in nodes:
            if nodes[label][0] != key:
                raise SpaceError(
                    f"The label '{label}' is given to two different Hyperopt parameters: "
                    "give each its own label."
                )
            return nodes[label][1]
        built = funcs[name](label, *[go(a) for a in args[1:]])
        nodes[label] = (key, built)
        return built

    return go(description)


def _call(d: Any) -> tuple[str, list] | None:
    """(name, arguments) where `d` describes a call ({"hp.uniform": ["x", 0, 1]}), else None."""
    if not (isinstance(d, Mapping) and len(d) == 1):
        return None
    (name, args), = d.items()
    if not (isinstance(name, str) and re.match(r"^(hp|scope)\.", name)):
        return None
    if name not in CALLS:
        raise SpaceError(
            f"{name} is not one of the Hyperopt calls a space file may use: {', '.join(CALLS)}."
        )
    if not isinstance(args, list):
        raise SpaceError(f'{name} takes a list of arguments, e.g. {{"{name}": ["x", 0, 1]}}.')
    return name, args


def to_hyperopt(space: SearchSpace) -> dict:
    """The space as a Hyperopt expression (what `fmin` and the algorithms sample)."""
    return build(describe_space(space))


# -- Hyperopt expression -> studio -----------------------------------------------------------
def is_hyperopt(obj: Any) -> bool:
    """Whether `obj` is a Hyperopt expression, or a dict holding one (checked without
    importing Hyperopt: an object of its pyll module)."""
    if type(obj).__module__.startswith("hyperopt"):
        return True
    if isinstance(obj, Mapping):
        return any(is_hyperopt(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return any(is_hyperopt(v) for v in obj)
    return False


def from_hyperopt(expr: Any) -> SearchSpace:
    """The studio's space for a Hyperopt space (a dict of `hp.*` expressions, or one
    `hp.choice` among dicts); a construct it cannot represent is refused by name."""
    params: list[Param] = []
    if _apply_name(expr) == "switch":
        _add(None, expr, None, params)
    else:
        for key, node in _entries(expr, "the space"):
            _add(key, node, None, params)
    return SearchSpace(tuple(params)).validate()


def from_description(description: Any) -> SearchSpace:
    """The studio's space for a JSON description (the `"hyperopt"` entry of a --space file)."""
    if not isinstance(description, Mapping):
        raise SpaceError(
            'A Hyperopt space file holds {"hyperopt": {NAME: CALL, ...}}, each CALL as '
            '{"hp.loguniform": ["C", -7, 7]}; its "hyperopt" entry must be such an object.'
        )
    return from_hyperopt(build(description))


def _apply_name(node: Any) -> str | None:
    return getattr(node, "name", None) if type(node).__module__.startswith("hyperopt") else None


def _entries(node: Any, where: str) -> list[tuple[str, Any]]:
    """The (key, value) pairs of a dict, or of Hyperopt's `dict` node."""
    if isinstance(node, Mapping):
        return [(str(k), v) for k, v in node.items()]
    if _apply_name(node) == "dict":
        return [(str(k), v) for k, v in node.named_args]
    raise SpaceError(
        f"{where.capitalize()} must be a dict of parameter name -> hp.* expression; "
        f"got {_what(node)}."
    )


def _what(node: Any) -> str:
    name = _apply_name(node)
    return f"a Hyperopt '{name}' expression" if name else repr(node)


def _constant(node: Any) -> tuple[bool, Any]:
    """(True, value) for a plain value or Hyperopt literal, else (False, None)."""
    if _apply_name(node) == "literal":
        node = node.obj
    elif type(node).__module__.startswith("hyperopt"):
        return False, None
    if node is None or isinstance(node, str | bool | int | float):
        return True, node
    return False, None


def _add(key: str | None, node: Any, condition: tuple | None, out: list[Param]) -> None:
    """Add the parameter(s) `node` stands for, under `key`, active under `condition`."""
    ok, value = _constant(node)
    if ok:
        if key is None:
            raise SpaceError(f"The space is the constant {value!r}: nothing to search.")
        _put(out, cat_param(key, [value], enabled=False, default=value, condition=condition))
        return
    name = _apply_name(node)
    if name == "switch":
        _add_choice(key, node, condition, out)
        return
    integer = False
    while name in ("int", "float"):
        integer = integer or name == "int"
        node = node.pos_args[0]
        name = _apply_name(node)
    if name != "hyperopt_param":
        raise SpaceError(
            f"Parameter '{key}': {_what(node)} cannot be converted: give an hp.* expression "
            "(hp.uniform, hp.loguniform, hp.quniform, hp.randint, hp.choice) without "
            "arithmetic or other functions around it."
        )
    label = node.pos_args[0].obj
    _put(out, replace(_param(key or label, label, node.pos_args[1], integer), condition=condition))


def _dist_args(label: str, dist: Any) -> dict[str, float]:
    names = _ARGS[dist.name]
    args = dict(zip(names, dist.pos_args, strict=False)) | dict(dist.named_args)
    values = {}
    for k, v in args.items():
        ok, x = _constant(v)
        if not ok or isinstance(x, bool) or not isinstance(x, int | float):
            raise SpaceError(
                f"Hyperopt parameter '{label}': its {k} must be a number, not {_what(v)}."
            )
        values[k] = x
    return values


def _param(name: str, label: str, dist: Any, integer: bool) -> Param:
    kind = dist.name
    if kind in _UNBOUNDED:
        raise SpaceError(
            f"Hyperopt parameter '{label}' uses hp.{kind}, which has no bounds; the studio "
            "searches bounded ranges: use hp.uniform or hp.loguniform with bounds instead."
        )
    if kind not in _ARGS:
        raise SpaceError(f"Hyperopt parameter '{label}': hp.{kind} cannot be converted.")
    a = _dist_args(label, dist)
    if kind == "randint":
        low, high = (0, a["low"]) if "high" not in a else (a["low"], a["high"])
        return int_param(name, int(low), int(high) - 1)
    if kind == "uniform":
        return float_param(name, float(a["low"]), float(a["high"]))
    if kind == "loguniform":
        return float_param(name, _tidy(math.exp(a["low"])), _tidy(math.exp(a["high"])), log=True)
    q = a["q"]
    if kind == "qloguniform":
        if not (integer and q == 1):
            raise SpaceError(
                f"Hyperopt parameter '{label}' uses hp.qloguniform with q={q:g}: the studio's "
                "log-scaled parameters have no step; use hp.loguniform, or "
                "scope.int(hp.qloguniform(..., 1)) for whole numbers."
            )
        low, high = max(1, round(math.exp(a["low"]))), round(math.exp(a["high"]))
        return int_param(name, low, high, log=True)
    # quniform yields round(uniform(low, high) / q) * q: the lattice of multiples of q
    low, high = round(a["low"] / q) * q, round(a["high"] / q) * q
    if integer:
        if q != int(q):
            raise SpaceError(f"Hyperopt parameter '{label}' is a whole number with step q={q:g}.")
        return int_param(name, int(low), int(high), step=None if q == 1 else int(q))
    return float_param(name, _tidy(low), _tidy(high), step=q)


def _add_choice(key: str | None, node: Any, condition: tuple | None, out: list[Param]) -> None:
    """hp.choice: a categorical parameter among constants, or, among dicts, the parameter that
    tells the options apart with their entries active only under their option."""
    param = node.pos_args[0]
    label = param.pos_args[0].obj
    if param.pos_args[1].name != "randint":
        raise SpaceError(
            f"Hyperopt parameter '{label}' is an hp.pchoice: the studio draws choices with "
            "equal chances; use hp.choice."
        )
    options = node.pos_args[1:]
    constants = [_constant(o) for o in options]
    if all(ok for ok, _ in constants):
        _put(out, cat_param(key or label, [v for _, v in constants], condition=condition))
        return
    odd = [o for o, (ok, _) in zip(options, constants, strict=True)
           if not ok and not isinstance(o, Mapping) and _apply_name(o) != "dict"]  # fmt: skip
    if odd:
        raise SpaceError(
            f"hp.choice '{label}': the option {_what(odd[0])} is not a number, string, bool, "
            "None or dict; a run is saved as JSON, so choose by name instead (e.g. a factory "
            "argument that builds the object)."
        )
    if any(ok for ok, _ in constants):
        raise SpaceError(
            f"hp.choice '{label}' mixes plain values and dicts: make every option a dict that "
            f"names its value, e.g. {{'{key or label}': 'none'}}."
        )
    branches = [_entries(o, f"an option of hp.choice '{label}'") for o in options]
    parent = _discriminator(key, label, branches)
    values = [dict(b)[parent].obj if _apply_name(dict(b)[parent]) else dict(b)[parent]
              for b in branches]  # fmt: skip
    _put(out, cat_param(parent, values, condition=condition))
    for value, branch in zip(values, branches, strict=True):
        for k, v in branch:
            if k != parent:
                _add(k, v, (parent, (value,)), out)


def _discriminator(key: str | None, label: str, branches: list[list[tuple[str, Any]]]) -> str:
    """The key that every option of a choice fixes to its own constant ("kernel": "rbf")."""
    found = []
    for k, _ in branches[0]:
        fixed = [_constant(dict(b).get(k, _Missing)) for b in branches]
        values = [v for ok, v in fixed if ok]
        if len(values) == len(branches) and len({repr(v) for v in values}) == len(values):
            found.append(k)
    for preferred in (key, label):
        if preferred in found:
            return preferred
    if found:
        return found[0]
    raise SpaceError(
        f"hp.choice '{label}' chooses between dicts, but no key has a different constant "
        f"value in each option; add one (e.g. {{'{key or label}': 'first', ...}}) so that the "
        "studio knows which option a trial took."
    )


class _Missing:  # a key an option does not have: never a constant
    pass


def _put(out: list[Param], p: Param) -> None:
    """Add `p`; one name met again (a key in several options) merges when it is the same
    parameter under the same parent, else is refused."""
    for i, q in enumerate(out):
        if q.name != p.name:
            continue
        same = replace(q, condition=None) == replace(p, condition=None)
        if same and q.condition and p.condition and q.condition[0] == p.condition[0]:
            values = tuple(dict.fromkeys(q.condition[1] + p.condition[1]))
            out[i] = replace(q, condition=(q.condition[0], values))
            return
        raise SpaceError(
            f"The space has two different parameters '{p.name}' ({q.describe()} and "
            f"{p.describe()}); the studio keeps one parameter per name: give them the same "
            "range, or different names."
        )
    out.append(p)


# -- studio -> Python code -------------------------------------------------------------------
def hyperopt_code(space: SearchSpace) -> str:
    """Python code that builds the space with Hyperopt (`space = {...}`), to paste beside
    `fmin`. A parameter used in several options is one variable, as Hyperopt needs one node
    per label."""
    description = describe_space(space)
    shared = _shared(description)
    names = {label: re.sub(r"\W", "_", label) + "_space" for label in shared}
    lines = [
        '"""The search space as Hyperopt code: pass `space` to hyperopt.fmin.',
        "",
        "Switched-off parameters are constants; a parameter searched only for some values of a",
        "choice sits in those options of its hp.choice, so fmin's objective receives it nested;",
        'the studio reads the options\' entries as parameters of one flat space."""',
        "import math",
        "",
        "from hyperopt import hp",
        "from hyperopt.pyll import scope",
        "",
    ]
    for label, d in shared.items():
        lines.append(f"{names[label]} = {_code(d, {}, 0)}")
    lines += ["", f"space = {_code(description, names, 0)}", ""]
    return "\n".join(lines)


def _shared(d: Any, seen: dict | None = None, out: dict | None = None) -> dict[str, Any]:
    """Calls whose label appears more than once, in order."""
    seen = {} if seen is None else seen
    out = {} if out is None else out
    call = _call(d)
    if call and call[0] != "scope.int":
        label = call[1][0]
        if label in seen:
            out[label] = seen[label]
        seen[label] = d
    if isinstance(d, Mapping):
        for v in d.values():
            _shared(v, seen, out)
    elif isinstance(d, list):
        for v in d:
            _shared(v, seen, out)
    return out


def _code(d: Any, names: dict[str, str], depth: int) -> str:
    call = _call(d)
    pad, inner = "    " * depth, "    " * (depth + 1)
    if call is not None:
        name, args = call
        if name != "scope.int" and args[0] in names:
            return names[args[0]]
        if name in ("hp.loguniform", "hp.qloguniform"):
            bounds = [f"math.log({_tidy(math.exp(a))!r})" for a in args[1:3]]
            return f"{name}({', '.join([repr(args[0]), *bounds, *map(repr, args[3:])])})"
        return f"{name}({', '.join(_code(a, names, depth) for a in args)})"
    if isinstance(d, Mapping):
        items = [f"{inner}{k!r}: {_code(v, names, depth + 1)}," for k, v in d.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(d, list):
        if all(_call(v) is None and not isinstance(v, Mapping | list) for v in d):
            return repr(list(d))
        items = [f"{inner}{_code(v, names, depth + 1)}," for v in d]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    return repr(d)


# -- values: a trial's parameter <-> what Hyperopt records ---------------------------------------
def _identity(value: Any) -> str:
    """Type-aware identity of a choice (1, True and '1' are different choices)."""
    return f"{type(value).__name__}:{value!r}"


def value_to_hyperopt(p: Param, value: Any) -> Any:
    """What Hyperopt records for `value` of `p` (describe_space's node): a choice's index,
    else the number."""
    if p.kind == "categorical":
        return [_identity(c) for c in p.choices].index(_identity(value))
    return float(value)


def value_from_hyperopt(p: Param, val: Any) -> Any:
    """The value of `p` for what Hyperopt drew: the choice at an index; a number within
    [low, high], on the step lattice where there is one (quniform rounds to multiples of q,
    which need not start at low), whole for an integer parameter."""
    if p.kind == "categorical":
        return p.choices[int(val)]
    x = min(max(float(val), p.low), p.high)
    if p.step is not None:
        x = p.low + round((x - p.low) / p.step) * p.step
        x = min(x, p.high)
    if p.kind == "int":
        return int(round(x))
    return float(x)
