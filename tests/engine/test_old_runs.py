"""Runs made before the engine moved into role packages still open, resume and report.

tests/data/old_runs/runs.journal was written by the engine as it was at commit 1cff8df (one
module per concern: tuning.runner, tuning.results, ...): a finished TPE run, a random run
stopped after 2 of 5 trials, a grid run stopped after 3 of its 8 configurations, and a finished
run on an uploaded CSV whose file is gone (the CSV lives inside the run).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from optuna.trial import TrialState

from tuning.core.enums import RunStatus
from tuning.report import export
from tuning.report import html as report
from tuning.runs.runner import execute
from tuning.store.records import RunRecord
from tuning.store.results import list_runs
from tuning.store.runs import counted, load_study
from tuning.store.storage import open_storage

OLD = Path(__file__).resolve().parents[1] / "data" / "old_runs" / "runs.journal"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def old_store(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNING_STUDIO_DATA", str(tmp_path))  # a fetched CSV lands here
    shutil.copy(OLD, tmp_path / "runs.journal")
    return open_storage(f"journal:///{tmp_path}/runs.journal")


def test_old_runs_are_listed_with_their_status_and_config(old_store):
    runs = {r.name: r for r in list_runs(old_store)}
    assert {n: r.status for n, r in runs.items()} == {
        "old-finished": "finished", "old-stopped": "stopped", "old-grid": "stopped",
        "old-csv": "finished",
    }  # fmt: skip
    for name in runs:
        rec = RunRecord.from_study(load_study(name, old_store))
        assert rec.config is not None and rec.config.name == name
        assert isinstance(rec.status, RunStatus)
    assert runs["old-finished"].best_value is not None and runs["old-finished"].test["score"]


def test_old_stopped_runs_resume_to_their_budget(old_store):
    assert execute("old-stopped", old_store) == "finished"
    study = load_study("old-stopped", old_store)
    assert counted(study.get_trials(deepcopy=False)) == 5
    assert execute("old-grid", old_store) == "finished"
    grid = load_study("old-grid", old_store)
    done = grid.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert len(done) == grid.user_attrs["grid_size"] == 8
    assert len({tuple(sorted(t.params.items())) for t in done}) == 8  # each configuration once


def test_old_runs_report_and_export(old_store):
    for name in ("old-finished", "old-csv"):
        study = load_study(name, old_store)
        html = report.report_html(study)
        assert name in html and "Best" in html
        assert "Tuning report" in report.report_markdown(study)
    script = export.reproduce_script(export_run := report.build_report(
        load_study("old-csv", old_store)).run)  # fmt: skip
    assert "label" in script and export_run.name == "old-csv"


def test_old_runs_show_on_the_command_line(old_store, tmp_path):
    env = {"TUNING_STUDIO_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "tuning", "show", "old-finished"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "old-finished" in out.stdout and "Best CV" in out.stdout
