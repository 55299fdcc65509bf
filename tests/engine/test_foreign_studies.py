"""Any Optuna study (issue 16): studies written by plain Optuna code are listed and read from
what their trials hold, never written to; the CLI shows and reports them; notes; naming
several storages."""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timedelta

import foreign_support as fs
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from tuning import cli
from tuning.analysis import load_run
from tuning.core.enums import RunStatus
from tuning.core.errors import ConfigError
from tuning.report import html as report
from tuning.runs.runner import create_run, execute
from tuning.store.foreign import foreign_status, is_foreign, needs_config
from tuning.store.notes import notes_of, set_run_note, set_trial_note
from tuning.store.records import RunRecord
from tuning.store.results import list_runs, run_summary
from tuning.store.run import StoredRun
from tuning.store.runs import load_study
from tuning.store.storage import named_storages, open_storage, storage_labels

PG_URL = os.environ.get("TUNING_STUDIO_TEST_PG")


@pytest.fixture(params=["journal", "sqlite"])
def any_storage(request, tmp_path):
    if request.param == "journal":
        return open_storage(f"journal:///{tmp_path}/other.journal")
    return open_storage(f"sqlite:///{tmp_path}/other.db")


def test_studies_other_tools_made_are_listed_with_what_their_trials_say(any_storage):
    fs.single(any_storage)
    fs.multi(any_storage)
    listed = {r.name: r for r in list_runs(any_storage)}
    assert set(listed) == {"plain-single", "plain-multi"}
    one, two = listed["plain-single"], listed["plain-multi"]
    assert one.record.read_only and two.record.read_only
    assert one.status == RunStatus.FINISHED and one.direction == "minimize"
    assert one.counts == {"complete": fs.N_TRIALS - 2, "failed": 1, "pruned": 1}
    study = load_study("plain-single", any_storage)
    best = study.best_trial
    assert one.best_value == pytest.approx(best.value) and one.best_number == best.number
    assert one.best_params == best.params and one.scoring == "value"
    assert one.created_at is not None  # the first trial's start
    # set_metric_names names the objectives; the directions are the study's
    assert [(o.label, o.direction) for o in two.record.objectives] == [
        ("loss", "minimize"), ("gain", "maximize"),
    ]  # fmt: skip
    assert two.scoring == "loss" and two.record.foreign.metric_names == ("loss", "gain")


def test_a_foreign_study_reads_for_analysis_from_its_trials(any_storage):
    fs.single(any_storage)
    fs.multi(any_storage)
    run = load_run(load_study("plain-single", any_storage))
    assert run.record.read_only and run.config is None
    assert run.label == "value" and run.score_title == "value (lower is better)"
    assert run.metric.direction == "minimize" and run.metric.arrow == "lower is better"
    df = run.frame.set_index("number")
    assert df.loc[fs.FAILED, "state"] == "failed" and df.loc[fs.PRUNED, "state"] == "pruned"
    assert df.loc[fs.PRUNED, "step"] == 1  # its last reported step
    # a pruned trial's intermediate value is never a score
    assert df["value"].isna().sum() == 2 and run.n_complete == fs.N_TRIALS - 2
    assert run.best["number"] == load_study("plain-single", any_storage).best_trial.number
    # parameters and their distributions, from the trials
    assert run.params["x"].kind == "float" and (run.params["x"].low, run.params["x"].high) == (-5, 5)
    assert run.params["n"].log and run.params["kind"].choices == ("a", "b")
    assert run.trial(0).user_attrs == {"origin": "plain optuna"}

    mo = load_run(load_study("plain-multi", any_storage))
    assert mo.record.multi_objective and "values_1" in mo.frame
    study = load_study("plain-multi", any_storage)
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    frame = mo.frame.set_index("number")
    for t in done:
        assert frame.loc[t.number, "value"] == pytest.approx(t.values[0])
        assert frame.loc[t.number, "values_1"] == pytest.approx(t.values[1])


def test_reading_a_foreign_study_writes_nothing(tmp_path):
    path = tmp_path / "other.journal"
    storage = open_storage(f"journal:///{path}")
    fs.single(storage)
    before = path.read_bytes()
    run = load_run(load_study("plain-single", storage))
    data = report.build_report(load_study("plain-single", storage), run, figures=False)
    report.report_markdown(data)
    list_runs(storage)
    assert path.read_bytes() == before
    with pytest.raises(ConfigError, match="read-only"):
        set_run_note(storage, storage.get_study_id_from_name("plain-single"), "mine")
    assert path.read_bytes() == before
    # what needs the configuration says so
    with pytest.raises(ConfigError, match="not a Tuning Studio run"):
        StoredRun(load_study("plain-single", storage)).config()


def _trial(state):
    value = 1.0 if state == TrialState.COMPLETE else None
    return create_trial(state=state, params={"x": 0.5}, value=value,
                        distributions={"x": FloatDistribution(0, 1)})  # fmt: skip


def test_a_foreign_studys_status_comes_from_its_trials():
    now = datetime(2026, 1, 1, 12, 0, 0)
    done = _trial(TrialState.COMPLETE)
    done.datetime_start, done.datetime_complete = now - timedelta(hours=1), now - timedelta(hours=1)
    running = _trial(TrialState.RUNNING)
    waiting = _trial(TrialState.WAITING)
    assert foreign_status([], now) == RunStatus.QUEUED
    assert foreign_status([waiting], now) == RunStatus.QUEUED
    assert foreign_status([done], now) == RunStatus.FINISHED
    running.datetime_start = now - timedelta(seconds=5)
    assert foreign_status([done, running], now) == RunStatus.RUNNING  # a trial in progress
    running.datetime_start = now - timedelta(hours=1)
    assert foreign_status([done, running], now) == RunStatus.INTERRUPTED  # nothing for an hour


def test_half_written_runs_stay_hidden_and_studio_runs_are_not_foreign(storage):
    optuna.create_study(study_name="half", storage=storage).set_user_attr("created_at", "x")
    name = create_run(fs_config(), storage)
    fs.single(storage)
    listed = {r.name: r.record.read_only for r in list_runs(storage)}
    assert listed == {name: False, "plain-single": True}
    assert not is_foreign(storage.get_study_user_attrs(storage.get_study_id_from_name(name)))


def fs_config():
    from tuning.core.config import DatasetRef, RunConfig

    return RunConfig(DatasetRef("iris"), "knn", "random", n_trials=2, cv_folds=3, n_jobs=1)


@pytest.mark.skipif(not PG_URL, reason="set TUNING_STUDIO_TEST_PG to a PostgreSQL URL")
def test_foreign_studies_on_postgresql():
    storage = open_storage(PG_URL)
    name = fs.single(storage, name=f"plain-{uuid.uuid4().hex[:8]}")
    try:
        summary = run_summary(storage, name)
        assert summary.record.read_only and summary.counts["complete"] == fs.N_TRIALS - 2
        assert load_run(load_study(name, storage)).n_complete == fs.N_TRIALS - 2
    finally:
        optuna.delete_study(study_name=name, storage=storage)


# -- the command line ----------------------------------------------------------------------------
def test_cli_lists_shows_and_reports_a_foreign_study(tmp_path, capsys):
    url = f"journal:///{tmp_path}/other.journal"
    fs.single(open_storage(url))
    fs.multi(open_storage(url))
    assert cli.main(["list", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "plain-single" in out and "plain-multi" in out
    assert cli.main(["show", "plain-single", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "outside Tuning Studio (plain Optuna): read-only" in out
    assert "Best:       value = " in out and "Test" not in out  # no test score is claimed
    assert "cv mean" not in out and re.search(r"trial +value +seconds +x +kind +n", out)
    assert cli.main(["show", "plain-multi", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "Objectives: loss (minimize), gain (maximize)" in out
    md = tmp_path / "r.md"
    assert cli.main(["report", "plain-single", "-o", str(md), "--storage", url]) == 0
    text = md.read_text()
    assert "Made by | another tool" in text and "Best value" in text
    assert needs_config("A held-out test score").split(" (")[0] in text
    html_file = tmp_path / "r.html"
    assert cli.main(["report", "plain-multi", "-o", str(html_file), "--storage", url]) == 0
    assert "plain-multi" in html_file.read_text()
    # what needs a configuration is refused with why, not a traceback
    assert cli.main(["report", "plain-single", "--script", str(tmp_path / "s.py"),
                     "-o", str(md), "--storage", url]) == 2  # fmt: skip
    assert "made outside Tuning Studio" in capsys.readouterr().err


# -- notes --------------------------------------------------------------------------------------
def test_notes_round_trip_and_are_escaped_in_the_reports(storage):
    name = create_run(fs_config(), storage)
    assert execute(name, storage, refit=False) == RunStatus.FINISHED
    sid = storage.get_study_id_from_name(name)
    set_run_note(storage, sid, "**Why**: try <script>alert(1)</script> next")
    set_trial_note(storage, sid, 1, "odd <b>one</b>")  # a finished trial: kept on the study
    run_note, trial_notes = notes_of(storage.get_study_user_attrs(sid))
    assert run_note.startswith("**Why**") and trial_notes == {1: "odd <b>one</b>"}
    study = load_study(name, storage)
    data = report.build_report(study, load_run(study), figures=False)
    md = report.report_markdown(data)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "<script>alert" not in md
    assert "**Trial 1**" in md and "&lt;b&gt;one&lt;/b&gt;" in md
    page = report.report_html(data)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    set_trial_note(storage, sid, 1, "  ")  # blank clears it
    assert notes_of(storage.get_study_user_attrs(sid))[1] == {}
    with pytest.raises(ConfigError, match="no trial 99"):
        set_trial_note(storage, sid, 99, "x")
    with pytest.raises(ConfigError, match="under 20,000"):
        set_run_note(storage, sid, "x" * 20_001)


# -- several storages ------------------------------------------------------------------------------
def test_several_storages_are_named_by_whoever_starts_the_app(monkeypatch):
    pg = "postgresql://tuner:s3cret@db/tuning"
    argv = ["--storage", "journal:///a/runs.journal", "--other", "--storage", pg]
    assert named_storages(argv, env={}) == ["journal:///a/runs.journal", pg]
    env = {"TUNING_STUDIO_STORAGES": f"sqlite:///x.db; {pg} ;sqlite:///x.db"}
    assert named_storages([], env=env) == ["sqlite:///x.db", pg]  # repeats dropped
    assert named_storages(["--storage", "sqlite:///y.db"], env=env) == ["sqlite:///y.db"]
    assert named_storages([], env={"TUNING_STUDIO_STORAGE": "sqlite:///z.db"}) == ["sqlite:///z.db"]
    labels = storage_labels(["journal:///a/runs.journal", pg, "postgresql://u:other@db/tuning"])
    assert labels == ["journal file /a/runs.journal", "postgresql://db/tuning (1)",
                      "postgresql://db/tuning (2)"]  # fmt: skip
    assert not any("s3cret" in label or "tuner" in label for label in labels)


def test_record_of_a_study_without_trials_or_names(storage):
    study = optuna.create_study(study_name="empty", storage=storage, directions=["maximize"] * 2)
    rec = RunRecord.from_study(study)
    assert rec.status == RunStatus.QUEUED and rec.created_at is None
    assert [o.label for o in rec.objectives] == ["values_0", "values_1"]
    assert list_runs(storage)[0].best_value is None
