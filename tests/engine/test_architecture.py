"""The layering rules hold (tests/archcheck.py): no import cycle, no use of another module's
private names, no upward import between layers, every module in a layer, no streamlit in the
engine. The checker itself is tried on a small project that breaks each rule once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import archcheck
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def findings() -> dict[str, list[str]]:
    return archcheck.check(ROOT)


def test_the_checker_reads_every_module_of_the_project():
    names = archcheck.modules(ROOT)
    assert {"tuning.data.datasets", "tuning.store.compat", "ui.layout", "app"} <= set(names)
    assert any(name.startswith("app_pages.") for name in names)


@pytest.mark.parametrize("kind", archcheck.KINDS)
def test_the_project_has_no_finding_of_this_kind(findings, kind):
    assert findings[kind] == [], f"{kind}:\n" + "\n".join(findings[kind])


def test_the_script_prints_zero_findings_and_exits_0():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "archcheck.py"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == ", ".join(
        f"0 {kind}" for kind in archcheck.KINDS
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_checker_finds_each_kind_of_breach(tmp_path):
    _write(
        tmp_path,
        {
            "tuning/__init__.py": "",
            "tuning/core/errors.py": """
                def _hidden():
                    pass

                def late():
                    from tuning.data import datasets  # inside a function: still counts
                    import streamlit as st
                    return datasets, st
            """,
            "tuning/data/datasets.py": """
                import tuning.core.errors
                from tuning.core import errors as e
                from tuning.core.errors import _hidden

                def use():
                    one = e._hidden
                    two = tuning.core.errors._hidden
                    return one, two, _hidden
            """,
            "tuning/extras/thing.py": "",
            "ui/view.py": "from app_pages import home\n",
            "ui/attrs.py": "def peek(study):\n    study.set_user_attr('k', 1)\n    return study.user_attrs\n",
            "tuning/store/run.py": "def owned(study):\n    return study.user_attrs\n",
            "app_pages/home.py": "import ui.view\nfrom ui import view\n",
        },
    )
    found = archcheck.check(tmp_path)
    assert found["cycles"] == [
        "app_pages.home <-> ui.view",
        "tuning.core.errors <-> tuning.data.datasets",
    ]
    assert found["private"] == [
        "tuning/data/datasets.py:4: tuning.data.datasets imports _hidden from tuning.core.errors",
        "tuning/data/datasets.py:7: tuning.data.datasets uses tuning.core.errors._hidden",
        "tuning/data/datasets.py:8: tuning.data.datasets uses tuning.core.errors._hidden",
    ]
    upward = "\n".join(found["upward"])
    assert "tuning.core.errors (tuning.core) imports tuning.data.datasets" in upward
    assert "ui.view (ui) imports app_pages.home (app_pages, above)" in upward
    assert len(found["upward"]) == 2
    assert found["unlayered"] == [
        "tuning/extras/thing.py: tuning.extras.thing is in no layer (see TUNING_LAYERS)"
    ]
    assert found["streamlit"] == ["tuning/core/errors.py:7: tuning.core.errors imports streamlit"]
    assert found["attributes"] == [  # the stored run's own module may; a page may not
        "ui/attrs.py:2: ui.attrs uses .set_user_attr (the stored run's to use)",
        "ui/attrs.py:3: ui.attrs uses .user_attrs (the stored run's to use)",
    ]
    assert archcheck.main([str(tmp_path)]) == 1


def test_relative_imports_are_resolved(tmp_path):
    _write(
        tmp_path,
        {
            "tuning/core/__init__.py": "from . import enums\nfrom .errors import _x\n",
            "tuning/core/enums.py": "from .. import core\n",
            "tuning/core/errors.py": "_x = 1\n",
        },
    )
    found = archcheck.check(tmp_path)
    assert found["cycles"] == ["tuning.core <-> tuning.core.enums"]
    assert found["private"] == [
        "tuning/core/__init__.py:2: tuning.core imports _x from tuning.core.errors"
    ]
