"""Security (issue 9): nothing a user gives is unpickled, eval'd or exec'd; uploads are capped
and XSRF stays on; user strings are escaped wherever HTML is made; run names are sanitized.

The code scan reads the source with `ast`, so comments and strings do not count and a new call
cannot hide behind an alias of a module (`import pickle as p; p.loads(...)`).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from tuning.core.errors import ConfigError
from tuning.store.runs import sanitize_name

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tuning", "ui", "app_pages", "app.py")

# Calls that run or deserialize code or objects. Anything here on user input is a hole.
DANGEROUS_BUILTINS = {"eval", "exec", "compile", "__import__"}
DANGEROUS_MODULES = {
    "pickle": {"load", "loads", "Unpickler"},
    "cPickle": {"load", "loads"},
    "dill": {"load", "loads"},
    "cloudpickle": {"load", "loads"},
    "joblib": {"load"},
    "marshal": {"load", "loads"},
    "shelve": {"open"},
    "yaml": {"load", "unsafe_load", "full_load"},
    "torch": {"load"},
    "numpy": {"load"},  # allow_pickle
    "pandas": {"read_pickle"},
    "os": {"system", "popen"},
}
# Reviewed uses: (file, call) -> why it is safe.
REVIEWED = {
    ("tuning/report/export.py", "torch.load"): "inside the exported load script, weights_only=True",
    # st.html with one constant: widgets.STYLE, style rules no user input reaches
    ("ui/layout.py", "streamlit.html"): "the constant widgets.STYLE, nothing else",
}
UNSAFE_HTML_KWARGS = {"unsafe_allow_html", "unsafe_allow_javascript"}


def _files() -> list[Path]:
    out = []
    for name in SCANNED:
        path = ROOT / name
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


def _calls(path: Path) -> list[tuple[str, int, ast.Call]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    aliases: dict[str, str] = {}  # local name -> module (import x as y; from x import load)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module.split('.')[0]}.{a.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name):
            name = aliases.get(f.id, f.id)
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            name = f"{aliases.get(f.value.id, f.value.id)}.{f.attr}"
        else:
            continue
        found.append((name, node.lineno, node))
    return found


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The scanner itself: it must see aliased and from-imported calls."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import pickle as p\nfrom yaml import load\nimport streamlit as st\n"
        "p.loads(b'')\nload('x')\neval('1')\nst.markdown('x', unsafe_allow_html=True)\n"
    )
    names = {n for n, _, _ in _calls(bad)}
    assert {"pickle.loads", "yaml.load", "eval", "streamlit.markdown"} <= names


def test_no_code_runs_or_unpickles_anything_except_reviewed_calls():
    problems = []
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        for name, line, call in _calls(path):
            module, _, attr = name.rpartition(".")
            bad = name in DANGEROUS_BUILTINS or attr in DANGEROUS_MODULES.get(module, ())
            if bad and (rel, name) not in REVIEWED:
                problems.append(f"{rel}:{line}: {name}")
            if any(k.arg in UNSAFE_HTML_KWARGS for k in call.keywords) and (rel, name) not in REVIEWED:
                problems.append(f"{rel}:{line}: {name}(..., unsafe HTML)")
            if name in ("streamlit.html", "streamlit.components.v1.html") and (rel, name) not in REVIEWED:
                problems.append(f"{rel}:{line}: {name} (raw HTML)")
    assert not problems, "review these calls (see tests/engine/test_security.py):\n" + "\n".join(problems)


def test_reviewed_calls_are_still_safe():
    text = (ROOT / "tuning" / "report" / "export.py").read_text()
    for line in text.splitlines():
        if "torch.load(" in line:
            assert "weights_only=True" in line, line
    # The one st.html call renders constant style rules and nothing else
    from ui import widgets

    calls = [c for n, _, c in _calls(ROOT / "ui" / "layout.py") if n == "streamlit.html"]
    assert [ast.unparse(c.args[0]) for c in calls] == ["widgets.STYLE"]
    assert not any(k.arg in UNSAFE_HTML_KWARGS for c in calls for k in c.keywords)
    assert re.fullmatch(r"<style>[^<]*</style>", widgets.STYLE), widgets.STYLE  # no tag inside


def test_server_config_caps_uploads_keeps_xsrf_and_listens_locally():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert 1 <= server["maxUploadSize"] <= 200  # MB; Streamlit refuses bigger files itself
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True  # false would allow any origin
    assert server["address"] in ("localhost", "127.0.0.1")
    assert config["client"]["showErrorDetails"] in ("none", "type")  # no tracebacks to viewers
    assert config["client"]["toolbarMode"] == "viewer"


HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("my run", "my-run"),
        ("../../etc/passwd", "etc-passwd"),
        (HOSTILE, "script-alert-x-script-img-src-x-onerror-alert-1"),
        ("ok_name.v2", "ok_name.v2"),
        ("x" * 300, "x" * 100),
    ],
)
def test_run_names_are_sanitized(given, expected):
    assert sanitize_name(given) == expected


@pytest.mark.parametrize("given", ["", "   ", "<>", "../", "日本語"])
def test_a_name_with_nothing_safe_in_it_is_refused(given):
    with pytest.raises(ConfigError, match="needs at least one letter or digit"):
        sanitize_name(given)


def test_a_hostile_run_name_is_stored_sanitized(storage):
    from conftest import make_config

    from tuning.runs.runner import create_run

    name = create_run(make_config("knn", n_trials=1, name=HOSTILE), storage)
    assert "<" not in name and ">" not in name and "/" not in name
    assert {s.study_name for s in storage.get_all_studies()} == {name}


# The HTML report's escaping of hostile column and target names is tested in
# tests/engine/test_report.py::test_hostile_column_names_are_escaped, Plotly figures' in
# tests/engine/test_analysis.py::test_every_figure_builds_and_escapes_hostile_names, and the New run
# page with a CSV whose columns hold script in tests/engine/test_bad_input.py. The pages themselves
# cannot render user HTML: the scan above allows no unsafe_allow_html and no st.html but the
# reviewed constant style rules (widgets.STYLE).
