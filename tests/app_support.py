"""Helpers for the app's AppTest page tests (imported by tests/pages/test_app_*.py).

Each test gets its own data folder (TUNING_STUDIO_DATA), hence its own journal storage URL,
RunManager and run readers: ui.registry caches them by storage URL, so tests never share runs.
AppTest cannot fire `run_every`, so tests wait for runs to end and assert on a full run.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tuning.core.config import DatasetRef, RunConfig
from tuning.runs.runner import start_run
from tuning.store.results import list_runs
from tuning.store.storage import default_url, open_storage

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 30
HOME, NEW_RUN, LIVE = "app_pages/home.py", "app_pages/new_run.py", "app_pages/live_monitor.py"


@pytest.fixture
def fresh_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data folder (tmp_path) and storage for this test; stops its runs after."""
    monkeypatch.setenv("TUNING_STUDIO_DATA", str(tmp_path))
    monkeypatch.delenv("TUNING_STUDIO_STORAGE", raising=False)
    monkeypatch.delenv("TUNING_STUDIO_MAX_RUNNING", raising=False)
    yield tmp_path
    stop_everything()


def app(page: str | None = None) -> AppTest:
    """The app after its first run, optionally switched to `page` (and run again)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page is not None:
        at.switch_page(page).run()
    return at


def ok(at: AppTest) -> AppTest:
    """Assert the run raised nothing (an uncaught exception shows as an exception element)."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def storage():
    return open_storage(default_url())


def manager():
    from ui import registry

    return registry.manager()


def stop_everything() -> None:
    m = manager()
    m.stop_all()
    for h in list(m.handles.values()):
        h.join(30)


def tiny_config(n_trials: int = 4, **kw: Any) -> RunConfig:
    """k-nearest neighbours on iris, 3 folds, one thread: a trial costs a few milliseconds."""
    defaults = dict(
        dataset=DatasetRef("iris"), model="knn", method="random", n_trials=n_trials,
        cv_folds=3, n_jobs=1,
    )  # fmt: skip
    defaults.update(kw)
    return RunConfig(**defaults)


def finished_run(n_trials: int = 6, **kw: Any) -> str:
    """A run made and finished by the engine directly (as the command line would)."""
    handle = start_run(tiny_config(n_trials, **kw), storage())
    assert handle.join(60) == "finished", handle.error
    return handle.name


def wait_until_idle(timeout: float = 60) -> None:
    """Wait until this process's RunManager holds no running or queued run."""
    m = manager()
    end = time.time() + timeout
    while time.time() < end:
        if not m.queued() and not any(
            h.alive or not h.started.is_set() for h in m.handles.values()
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"runs still active after {timeout} s: {list(m.handles)} {m.queued()}")


def wait_for(predicate, timeout: float = 30, what: str = "condition") -> None:
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def runs() -> list:
    return list_runs(storage())


def status_of(name: str) -> str:
    return next(r.status for r in runs() if r.name == name)


def run_workers(name: str) -> list[str]:
    """What works on run `name` here: threads of this process, and live worker processes (the
    app's runs work as `python -m tuning worker --run NAME`). Reruns must never add one."""
    found = [t.name for t in threading.enumerate() if t.name == f"run-{name}" and t.is_alive()]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            zombie = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:  # ended meanwhile
            continue
        if b"worker" in cmd and name.encode() in cmd and not zombie:
            found.append(f"process {proc.name}")
    return found


def texts(elements) -> list[str]:
    """Element bodies as a reader sees them (the app escapes Markdown in user text)."""
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements]


def home_runs(at: AppTest, *names: str):
    """Home's runs table indexed by the runs' whole names: a name the table shortened to fit
    the window ("knn-random…20261207-012808") is matched to the one of `names` that starts and
    ends as it does; other rows keep what the table shows."""
    table = next(d.value for d in at.dataframe if "run" in d.value.columns)

    def whole(cell: str) -> str:
        head, cut, tail = cell.partition("…")
        match = [n for n in names if n == cell or (cut and n.startswith(head) and n.endswith(tail))]
        return match[0] if len(match) == 1 else cell

    return table.set_index(table["run"].map(whole))


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page, by title (AppTest has no Plotly accessor: read the spec)."""
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def metrics(at: AppTest) -> dict[str, str]:
    """{label: value} of the page's st.metric boxes and widgets.tile boxes, as shown."""
    return {m.label: str(m.value) for m in at.metric} | dict(tiles(at))


def tiles(at: AppTest) -> list[tuple[str, str]]:
    """(label, value) of each widgets.tile, in page order, its Markdown escapes removed."""
    from ui import widgets

    shown = lambda el: re.sub(r"\\(.)", r"\1", el.value)  # noqa: E731
    return [
        (shown(node.children[0]), shown(node.children[1]))
        for node in [*at.main, *at.sidebar]
        if hasattr(node, "children") and str(getattr(node, "key", None)).startswith(widgets.TILE)
    ]


def knn_space_key() -> str:
    return "space_knn_classification_0"
