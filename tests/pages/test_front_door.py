"""The pages and the command line reach the engine through one front door.

ui/, app_pages/, app.py and tuning/cli/ import from tuning.runs.front (runs, their storage and
workers), tuning.analysis, tuning.core, the registries (tuning.methods, tuning.models,
tuning.data), tuning.plots and tuning.report (and the Learn page from tuning.learn); never from
tuning.store, tuning.execution or the other modules of tuning.runs. Imports inside functions
count (docs/architecture.md, "A run's data flow").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = (
    "tuning.runs.front", "tuning.analysis", "tuning.core", "tuning.methods", "tuning.models",
    "tuning.data", "tuning.plots", "tuning.report", "tuning.learn",
)  # fmt: skip
# What a RunManager keeps for itself: pages ask it (active_names, stop_requested, error).
MANAGER_INSIDES = ("handles", "stop_event", "lanes")


def _files(*parts: str) -> list[Path]:
    found = []
    for part in parts:
        path = ROOT / part
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


PAGE_FILES = _files("ui", "app_pages", "app.py")
CLI_FILES = _files("tuning/cli")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every import of the tuning package in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return [(line, name) for line, name in out if name.split(".")[0] == "tuning"]


def _allowed(name: str, own: str | None) -> bool:
    return any(name == p or name.startswith(p + ".") for p in (*ALLOWED, *filter(None, [own])))


@pytest.mark.parametrize(
    "path", PAGE_FILES + CLI_FILES, ids=lambda p: str(p.relative_to(ROOT))
)
def test_pages_and_the_command_line_import_only_the_front_door(path):
    own = "tuning.cli" if path in CLI_FILES else None
    wrong = [f"{line}: {name}" for line, name in _imports(path) if not _allowed(name, own)]
    assert not wrong, f"{path.relative_to(ROOT)} reaches past the front door: {wrong}"


def test_pages_ask_the_run_manager_instead_of_reading_its_insides():
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}"
        for path in PAGE_FILES
        if path.name != "charts.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in MANAGER_INSIDES
    ]
    assert not found, found


def test_the_front_door_exports_what_it_lists():
    from tuning.runs import front

    missing = [name for name in front.__all__ if not hasattr(front, name)]
    assert not missing
