"""The import graph of the project's modules, checked against its layering rules.

Reads every module of ``tuning``, ``ui``, ``app_pages`` and ``app.py`` with :mod:`ast` (imports
inside functions count as much as those at the top) and prints what breaks a rule:

- cycles: modules that import each other, directly or around a loop;
- private: one module using another's private name (``from m import _x``, ``m._x``);
- upward: a layer importing a layer above it. Bottom to top: the ``tuning`` packages in
  :data:`TUNING_LAYERS` order, the ``tuning`` package root (its ``__main__``), ``ui``,
  ``app_pages``, ``app``; a module may import from its own package and those below;
- unlayered: a module in none of those layers (a new ``tuning`` package needs its place);
- streamlit: a ``tuning`` module importing streamlit (the engine is a plain Python package);
- attributes: a module outside ``tuning/store`` reading or writing a study's or trial's
  attributes (``set_user_attr``, ``user_attrs``, ``system_attrs``, the storage's
  ``set_study_user_attr`` ...): the stored run (``tuning.store.run``) and its trial side
  (``tuning.store.trials``) are their one owner, and Optuna's private attributes stay in
  ``tuning.store.compat``.

Exit status 1 when anything is found. Usage: ``python tests/archcheck.py [ROOT]``.
``tests/engine/test_architecture.py`` runs it in the test suite (and so in CI).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("tuning", "ui", "app_pages")
SCRIPTS = ("app.py",)  # entry points outside the packages
TUNING_LAYERS = (
    "core", "data", "models", "store", "evaluation", "execution", "methods", "runs",
    "analysis", "plots", "report", "learn", "cli",
)  # fmt: skip
TOP_LAYERS = ("tuning", "ui", "app_pages", "app")  # above the tuning packages, in order
KINDS = ("cycles", "private", "upward", "unlayered", "streamlit", "attributes")
OWNER = "tuning.store"  # the one package that reads and writes a study's attributes
ATTRIBUTE_ACCESS = frozenset({
    "user_attrs", "system_attrs", "set_user_attr", "set_system_attr",
    "set_study_user_attr", "set_study_system_attr", "set_trial_user_attr",
    "set_trial_system_attr", "get_study_user_attrs", "get_study_system_attrs",
    "get_trial_user_attrs", "get_trial_system_attrs",
})  # fmt: skip


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project under ``root``."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    for script in SCRIPTS:
        if (root / script).is_file():
            found[Path(script).stem] = root / script
    return found


def layer(module: str) -> tuple[int, str] | None:
    """(rank, name) of the layer holding ``module``; None when it is in no layer."""
    parts = module.split(".")
    if parts[0] == "tuning" and len(parts) > 1 and parts[1] in TUNING_LAYERS:
        return TUNING_LAYERS.index(parts[1]), f"tuning.{parts[1]}"
    if parts[0] == "tuning" and (len(parts) == 1 or parts[1].startswith("__")):
        return len(TUNING_LAYERS), "tuning"  # the package root and its __main__
    if parts[0] in TOP_LAYERS[1:]:
        return len(TUNING_LAYERS) + TOP_LAYERS.index(parts[0]), parts[0]
    return None


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[ast.AST, str, str]]:
    """(node, imported module or package, imported name or '') for every import in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, ""
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                yield node, base, alias.name


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module that a dotted name is, or is inside of."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _dotted(node: ast.AST) -> str | None:
    """'a.b.c' for the expression a.b.c, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def check(root: Path) -> dict[str, list[str]]:
    """The findings of each kind in :data:`KINDS` for the project under ``root``."""
    known = modules(root)
    edges: dict[str, set[str]] = {m: set() for m in known}
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        file = path.relative_to(root)
        mine = layer(module)
        if mine is None:
            found["unlayered"].append(f"{file}: {module} is in no layer (see TUNING_LAYERS)")
        bound: dict[str, str] = {}  # local name -> the module (or package) it is bound to
        for node, base, name in _imports(tree, module, path.name == "__init__.py"):
            full = f"{base}.{name}" if name else base
            alias = next(a for a in node.names if a.name == (name or base))
            if not name:  # import a.b.c binds a; import a.b.c as x binds x to a.b.c
                bound[alias.asname or base.partition(".")[0]] = (
                    full if alias.asname else base.partition(".")[0]
                )
            elif full in known:  # from a import b, b a module
                bound[alias.asname or name] = full
            if module.startswith("tuning") and full.partition(".")[0] == "streamlit":
                found["streamlit"].append(f"{file}:{node.lineno}: {module} imports {full}")
            target = _resolve(full, known)
            if target is None or target == module:
                continue
            edges[module].add(target)
            if name and _is_private(name):
                found["private"].append(
                    f"{file}:{node.lineno}: {module} imports {name} from {target}"
                )
            theirs = layer(target)
            if mine and theirs and theirs[0] > mine[0]:
                found["upward"].append(
                    f"{file}:{node.lineno}: {module} ({mine[1]}) imports {target} "
                    f"({theirs[1]}, above)"
                )
        owner = module == OWNER or module.startswith(OWNER + ".")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ATTRIBUTE_ACCESS and not owner:
                found["attributes"].append(
                    f"{file}:{node.lineno}: {module} uses .{node.attr} (the stored run's to use)"
                )
            if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
                continue
            dotted = _dotted(node.value)  # m._x, or a.b.m._x after import a.b.m
            head, _, rest = (dotted or "").partition(".")
            if head not in bound:
                continue
            target = ".".join(filter(None, [bound[head], rest]))
            if target in known and target != module:
                found["private"].append(
                    f"{file}:{node.lineno}: {module} uses {target}.{node.attr}"
                )
    found["cycles"] = [" <-> ".join(cycle) for cycle in _cycles(edges)]
    return {kind: sorted(set(items)) for kind, items in found.items()}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import graph's strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(components)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    found = check(root)
    for kind in KINDS:
        for item in found[kind]:
            print(f"{kind}: {item}")
    print(", ".join(f"{len(found[kind])} {kind}" for kind in KINDS))
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
