"""Experiments: several methods raced on one dataset, model, space and budget."""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from tuning.core.config import DatasetRef, RunConfig
from tuning.core.errors import UserError
from tuning.runs import experiments as ex
from tuning.runs import runner
from tuning.runs.runner import RunManager
from tuning.store.runs import load_study
from tuning.store.storage import open_storage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path):
    return open_storage(f"journal:///{tmp_path}/runs.journal")


def small(methods=("grid", "random", "tpe", "median"), seeds=(0, 1), **kw) -> ex.ExperimentConfig:
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=4, cv_folds=3, grid_points=2)
    return ex.ExperimentConfig(base=base, methods=methods, seeds=seeds, **kw)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One finished experiment shared by the read-only tests below (runs take seconds)."""
    store = open_storage(f"journal:///{tmp_path_factory.mktemp('exp')}/runs.journal")
    name = ex.create_experiment(small(), store)
    return store, name, ex.run_experiment(name, store)


@pytest.fixture
def finished(shared):
    return shared[1], shared[2]


def test_experiment_runs_every_method_and_seed_as_ordinary_runs(shared, finished):
    store = shared[0]
    name, statuses = finished
    assert len(statuses) == 8 and set(statuses.values()) == {"finished"}
    info = ex.get_experiment(name, store)
    assert [(r["method"], r["seed"]) for r in info.runs] == [
        (m, s) for s in (0, 1) for m in ("grid", "random", "tpe", "median")
    ]
    assert info.status == "finished"
    # each member is a normal study with the shared settings
    study = load_study(info.runs[1]["run"], store)
    cfg = study.user_attrs["config"]
    assert cfg["model"] == "knn" and cfg["cv_folds"] == 3 and cfg["method"] == "random"
    grid = load_study(info.runs[0]["run"], store)
    assert len(grid.get_trials(deepcopy=False)) == grid.user_attrs["grid_size"] == 8


def test_summary_table_and_time_to_target(shared, finished):
    store = shared[0]
    name, _ = finished
    info = ex.get_experiment(name, store)
    traj = ex.trajectories(info, store)
    assert set(traj["method"]) == {"grid", "random", "tpe", "median"}
    # best so far never gets worse within a run
    for _, g in traj.groupby("run"):
        best = g["best_so_far"].dropna()
        assert (best.diff().dropna() >= 0).all()
    target = ex.targets(traj, info)
    assert set(target) == {0, 1}  # grid's best per seed by default
    table = ex.summary_table(info, traj, store, target).set_index("method")
    assert list(table.index) == ["grid", "random", "tpe", "median"]
    assert table.loc["grid", "reached"] == "2/2"  # grid reaches its own best
    assert table.loc["grid", "complete"] == 8
    assert table.loc["random", "complete"] == 4
    assert (table["wall_seconds"] >= table["fit_seconds"] * 0.5).all()
    assert table["best_cv"].between(0.5, 1.0).all() and table["test"].notna().all()
    # a user target nobody reaches
    unreachable = ex.summary_table(info, traj, store, ex.targets(traj, info, 1.01))
    assert (unreachable["reached"] == "0/2").all() and unreachable["seconds_to_target"].isna().all()


def test_band_and_export(shared, finished):
    store = shared[0]
    name, _ = finished
    info = ex.get_experiment(name, store)
    traj = ex.trajectories(info, store)
    b = ex.band(traj, "trials")
    assert set(b["method"]) == {"grid", "random", "tpe", "median"}
    assert (b["low"] <= b["median"] + 1e-12).all() and (b["median"] <= b["high"] + 1e-12).all()
    csv = ex.export_csv(info, store)
    df = pd.read_csv(io.StringIO(csv))
    assert len(df) == 2 * (8 + 4 + 4 + 4)
    assert {"experiment", "method", "seed", "value", "param_n_neighbors"} <= set(df.columns)
    assert [e.name for e in ex.list_experiments(store)] == [name]


def test_bad_experiments_are_refused_before_anything_is_written(store):
    with pytest.raises(UserError, match="twice"):
        ex.create_experiment(small(methods=("tpe", "tpe")), store)
    with pytest.raises(UserError, match="Unknown method"):
        ex.create_experiment(small(methods=("tpe", "annealing")), store)
    bad = small()
    bad = ex.ExperimentConfig(
        base=RunConfig(dataset=DatasetRef("iris"), model="ridge"), methods=("tpe",)
    )
    with pytest.raises(UserError, match="does not handle classification"):
        ex.create_experiment(bad, store)
    assert store.get_all_studies() == []


def test_classic_preset_matches_the_field_comparison():
    exp = ex.classic_preset(workers=2)
    space = exp.base.space
    assert space.grid_size() == 81
    assert {p.name: (p.low, p.high) for p in space.params if p.kind == "int"} == {
        "n_estimators": (50, 300), "max_depth": (5, 30), "min_samples_split": (2, 20),
        "min_samples_leaf": (1, 10),
    }  # fmt: skip
    assert space["max_features"].choices == ("sqrt", "log2")
    assert exp.methods == ("grid", "random", "tpe", "hyperband")
    assert exp.base.n_trials == 20 and exp.base.cv_folds == 5
    assert exp.base.dataset.name == "seed-classification" and exp.base.workers == 2


def test_cli_compare_prints_the_table_and_exports(tmp_path):
    env = {**os.environ, "TUNING_STUDIO_DATA": str(tmp_path)}
    out = tmp_path / "trials.csv"
    cmd = [sys.executable, "-m", "tuning", "compare", "--dataset", "iris", "--model", "knn",
           "--methods", "grid", "random", "--trials", "3", "--folds", "3", "--grid-points", "2",
           "--export", str(out)]  # fmt: skip
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "best CV (mean ± std)" in r.stdout and "s to target" in r.stdout
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("grid ", "random "))]
    assert len(lines) == 2
    assert len(pd.read_csv(out)) == 8 + 3
    listed = subprocess.run([sys.executable, "-m", "tuning", "experiments"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "grid, random" in listed.stdout and "finished" in listed.stdout


@pytest.mark.timeout(240)
def test_cli_compare_ctrl_c_stops_the_members_before_it_exits(tmp_path):
    """Ctrl-C stops every member within a trial and the command waits for them: no member is
    left "running" in the storage (a join() interrupted by Ctrl-C used to return at once)."""
    import signal

    env = {**os.environ, "TUNING_STUDIO_DATA": str(tmp_path)}
    cmd = [sys.executable, "-m", "tuning", "compare", "--dataset", "iris", "--model", "knn",
           "--methods", "random", "tpe", "--trials", "5000", "--folds", "3"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    store = open_storage(f"journal:///{tmp_path}/runs.journal")
    deadline = time.time() + 120
    while time.time() < deadline and not any(
        store.get_all_trials(store.get_study_id_from_name(s.study_name))
        for s in store.get_all_studies()
    ):
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(120) in (0, 1, 130), proc.stderr.read()
    statuses = {s.study_name: s.user_attrs.get("status") for s in store.get_all_studies()
                if "config" in s.user_attrs}  # fmt: skip
    assert statuses and "running" not in statuses.values(), statuses


def test_members_asking_for_workers_run_in_worker_processes(tmp_path, monkeypatch):
    """As New run does, a member with workers=2 runs as two `tuning worker` processes: the
    trials record other process ids than this one, the grid is run exactly once."""
    monkeypatch.setenv("TUNING_STUDIO_DATA", str(tmp_path))  # worker logs land here
    store = open_storage(f"journal:///{tmp_path}/runs.journal")
    cfg = small(methods=("grid",), seeds=(0,))
    cfg = ex.ExperimentConfig(base=replace(cfg.base, workers=2), methods=("grid",), seeds=(0,))
    name = ex.create_experiment(cfg, store)
    assert ex.run_experiment(name, store) == {
        ex.get_experiment(name, store).runs[0]["run"]: "finished"
    }
    study = load_study(ex.get_experiment(name, store).runs[0]["run"], store)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == study.user_attrs["grid_size"] == 8
    workers = {t.user_attrs["metrics"]["worker"].rsplit(":", 1)[1] for t in trials}
    assert str(os.getpid()) not in workers and 1 <= len(workers) <= 2


@pytest.fixture
def counted_runs(monkeypatch):
    """Counts the members working at once: every run of a manager's thread goes through
    runner.execute."""
    seen = {"now": 0, "peak": 0}
    lock = threading.Lock()
    execute = runner.execute

    def counting(*args, **kwargs):
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
        try:
            return execute(*args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(runner, "execute", counting)
    return seen


def _wait_idle(manager, timeout: float = 120) -> None:
    end = time.time() + timeout
    while any(manager.is_active(n) for n in list(manager.handles) + manager.queued()):
        assert time.time() < end, "experiment still running"
        time.sleep(0.05)


def test_an_experiment_beyond_the_cap_waits_in_the_managers_queue(store, counted_runs):
    """Members go through the one scheduler: with a cap of 2, 6 members side by side never
    have more than 2 working, and the manager's queue lists the others while they wait."""
    name = ex.create_experiment(small(methods=("grid", "random", "tpe"), parallel=True), store)
    members = [r["run"] for r in ex.get_experiment(name, store).runs]
    manager = RunManager(store, max_running=2, nice=0, isolate=False)
    assert ex.start_experiment(name, manager) == members
    assert list(manager.handles) == members[:2] and manager.queued() == members[2:]
    info = ex.get_experiment(name, store)
    assert ex.active_members(info, manager) == members
    while ex.active_members(info, manager):
        queued = manager.queued()
        working = [n for n in ex.active_members(info, manager) if n not in queued]
        assert len(working) <= 2
        assert queued == [n for n in members if n in queued]  # in the experiment's order
        time.sleep(0.01)
    assert counted_runs["peak"] <= 2
    assert {r["status"] for r in ex.get_experiment(name, store).runs} == {"finished"}
    assert ex.start_experiment(name, manager) == []  # nothing left to do


def test_members_one_after_another_work_one_at_a_time_and_let_other_runs_pass(store, counted_runs):
    name = ex.create_experiment(small(methods=("random", "tpe", "median"), seeds=(0,)), store)
    members = [r["run"] for r in ex.get_experiment(name, store).runs]
    manager = RunManager(store, max_running=2, nice=0, isolate=False)
    ex.start_experiment(name, manager)
    assert list(manager.handles) == members[:1] and manager.queued() == members[1:]
    other = manager.submit(replace(small().base, method="random", name="other"))
    assert other in manager.handles  # the free place goes to a run queued after the members
    _wait_idle(manager)
    assert counted_runs["peak"] <= 2
    info = ex.get_experiment(name, store)
    assert {r["status"] for r in info.runs} == {"finished"}
    # one at a time: each member began after the one before it ended
    spans = []
    for r in info.runs:
        trials = load_study(r["run"], store).get_trials(deepcopy=False)
        spans.append(
            (min(t.datetime_start for t in trials), max(t.datetime_complete for t in trials))
        )
    assert all(before[1] <= after[0] for before, after in itertools.pairwise(spans))


def test_stopping_an_experiment_stops_its_members_and_dequeues_the_rest(store):
    exp = small(methods=("random", "tpe", "median"), seeds=(0,))
    exp = replace(exp, base=replace(exp.base, n_trials=100_000))
    name = ex.create_experiment(exp, store)
    manager = RunManager(store, max_running=2, nice=0, isolate=False)
    ex.start_experiment(name, manager)
    info = ex.get_experiment(name, store)
    first = info.runs[0]["run"]
    assert manager.handles[first].started.wait(30)
    ex.stop_experiment(info, manager)
    assert manager.queued() == [] and ex.active_members(info, manager) in ([], [first])
    assert manager.handles[first].join(60) == "stopped"
    assert [r["status"] for r in ex.get_experiment(name, store).runs] == ["stopped"] * 3
    assert list(manager.handles) == [first]  # the queued members never started
