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
from tuning.methods import get_method
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
    assert table.loc["grid", "complete"] == 16  # totals over the 2 seeds' runs
    assert table.loc["random", "complete"] == 8
    assert (table["seeds_finished"] == 2).all()
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


def test_a_seed_that_ended_keeps_its_best_so_the_median_never_dips():
    """Two seeds by time: seed 0 ends at 10 s with 0.95, seed 1 works on to 20 s at 0.93. A
    best-so-far median must not fall to 0.93 where seed 0 ends; a seed still working is not
    extrapolated."""
    traj = pd.DataFrame({
        "method": "tpe", "seed": [0, 0, 1, 1, 1], "elapsed_s": [5, 10, 5, 15, 20],
        "best_so_far": [0.94, 0.95, 0.90, 0.92, 0.93], "ended": [True, True, True, True, True],
    })  # fmt: skip
    b = ex.band(traj, "elapsed_s", points=5)  # at 5, 8.75, 12.5, 16.25, 20 s
    assert b["median"].tolist() == pytest.approx([0.92, 0.92, 0.925, 0.935, 0.94])
    assert b["median"].is_monotonic_increasing and b["seeds"].tolist() == [2] * 5
    working = ex.band(traj.assign(ended=False), "elapsed_s", points=5)
    assert working["seeds"].tolist() == [2, 2, 1, 1, 1]  # seed 0's end: no value after it


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
    # Every method searches the grid's own box: each range spans its grid values exactly, and
    # what the grid holds fixed the samplers hold fixed too.
    for p in space.params:
        if p.enabled:
            assert (p.low, p.high) == (min(p.grid), max(p.grid)), p.name
    assert not space["max_features"].enabled and space["max_features"].fixed_value() == "sqrt"
    assert exp.methods == ("grid", "random", "tpe", "hyperband")
    assert exp.base.cv_folds == 5
    assert exp.base.dataset.name == "seed-classification" and exp.base.workers == 2
    # Issue 14: one seed and 20 trials (inside TPE's random start-up) made random search, TPE
    # and Hyperband tie; several seeds, and a budget well past the start-up, by default.
    assert len(exp.seeds) >= 3
    startup = get_method("tpe").defaults["n_startup_trials"]
    assert exp.base.n_trials >= 2 * startup and exp.base.n_trials == 30


def test_members_that_began_with_the_same_draws_are_detected(shared, finished):
    """Random search, TPE and median stopping (TPE inside) draw their first trials from the same
    seed: with 4 trials, inside TPE's start-up, they try the same configurations; grid search
    does not."""
    store = shared[0]
    info = ex.get_experiment(finished[0], store)
    shared_starts = ex.shared_starts(info, store)
    startup = min(4, get_method("tpe").defaults["n_startup_trials"])
    assert [(g["seed"], g["methods"]) for g in shared_starts] == [
        (0, ["random", "tpe", "median"]), (1, ["random", "tpe", "median"])
    ]  # fmt: skip
    assert all(g["trials"] >= startup for g in shared_starts)
    # different seeds: nothing shared
    other = ex.ExperimentInfo(info.name, replace(info.config, seeds=(0, 1)), [
        r for r in info.runs if (r["method"], r["seed"]) in {("random", 0), ("tpe", 1)}
    ], info.created_at)  # fmt: skip
    assert ex.shared_starts(other, store) == []
    assert ex._common_start([1, 2, 3, 4], [2, 1, 3, 5]) == 3  # as sets: order within a start


def test_progress_counts_trials_not_only_finished_runs(shared, finished, store):
    info = ex.get_experiment(finished[0], shared[0])
    assert ex.progress(info, shared[0]) == (2 * (8 + 4 + 4 + 4),) * 2
    name = ex.create_experiment(small(methods=("grid", "random"), seeds=(0,)), store)
    fresh = ex.get_experiment(name, store)
    assert ex.progress(fresh, store) == (0, 8 + 4)  # the grid's size, then the trials budget


def test_gaps_come_with_their_uncertainty_and_holdout_scores_stand_apart(shared, finished):
    store = shared[0]
    info = ex.get_experiment(finished[0], store)
    traj = ex.trajectories(info, store)
    assert set(traj["validation"]) == {"cv"}
    table = ex.summary_table(info, traj, store, ex.targets(traj, info)).set_index("method")
    assert (table["validation"] == "cv").all() and (table["spread"] == "seeds").all()
    best = table["best_cv"].max()
    assert table["gap"].max() == 0 and (table["gap"] <= 0).all()
    assert ((table["best_cv"] - best - table["gap"]).abs() < 1e-12).all()
    assert table["gap_std"].notna().all()
    for m, r in table.iterrows():
        assert r.within_noise == (abs(r.gap) <= r.gap_std), m
    # one seed: the spread is the best trial's fold spread
    one = ex.ExperimentInfo(info.name, replace(info.config, seeds=(0,)),
                            [r for r in info.runs if r["seed"] == 0], info.created_at)  # fmt: skip
    t1 = ex.summary_table(one, traj[traj["seed"] == 0], store).set_index("method")
    assert (t1["spread"] == "folds").all() and t1["best_cv_std"].notna().all()
    # a method validated on one holdout split has no gap: it is not the same kind of number
    traj2 = traj.copy()
    traj2.loc[traj2["method"] == "tpe", "validation"] = "holdout"
    t2 = ex.summary_table(info, traj2, store).set_index("method")
    assert t2.loc["tpe", "validation"] == "holdout" and pd.isna(t2.loc["tpe", "gap"])
    assert t2.drop(index="tpe")["gap"].notna().all()


def test_cli_compare_prints_the_table_and_exports(tmp_path):
    env = {**os.environ, "TUNING_STUDIO_DATA": str(tmp_path)}
    out = tmp_path / "trials.csv"
    cmd = [sys.executable, "-m", "tuning", "compare", "--dataset", "iris", "--model", "knn",
           "--methods", "grid", "random", "--trials", "3", "--folds", "3", "--grid-points", "2",
           "--export", str(out)]  # fmt: skip
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "best CV (mean ± std)" in r.stdout and "s to target" in r.stdout
    assert "seeds finished" in r.stdout and "(±1 std)" in r.stdout  # the verdict sentence
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
    # stderr to a file: a pipe read only at the end fills with Optuna's line per trial and
    # blocks the command (issue 24 item 17)
    with open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=err)
    store = open_storage(f"journal:///{tmp_path}/runs.journal")
    deadline = time.time() + 120
    while time.time() < deadline and not any(
        store.get_all_trials(store.get_study_id_from_name(s.study_name))
        for s in store.get_all_studies()
    ):
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(120) in (0, 1, 130), (tmp_path / "err.txt").read_text()[-2000:]
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


def _table(best, std, validation=None, spread="seeds", methods=None):
    """A summary table as summary_table returns it, for the figure tests."""
    n = len(best)
    table = pd.DataFrame({
        "method": methods or [f"m{i}" for i in range(n)], "validation": validation or ["cv"] * n,
        "best_cv": best, "best_cv_std": std, "spread": [spread] * n, "test": [0.9] * n,
        "fit_seconds": [1.0] * n, "wall_seconds": [2.0] * n, "seeds": [1] * n,
    })  # fmt: skip
    return ex._gaps(table, minimize=False)


def test_score_differences_are_drawn_with_their_spread_on_an_honest_axis():
    """Issue 14: bars on an axis from 0.876 made a 0.0025 gap, inside CV noise, look like a
    factor of three. Gaps to the best now carry error bars, the axis is at least three spreads
    each way, and the figure says when every gap is within the noise."""
    from tuning.plots import compare as plots

    table = _table([0.8790, 0.8765, 0.8781], [0.004, 0.003, 0.005])
    fig = plots.score_gap_figure(table, "CV accuracy (higher is better)").to_plotly_json()
    points = [t for t in fig["data"] if t["type"] == "scatter"]
    assert [t["y"][0] for t in points] == pytest.approx([0.0, -0.0025, -0.0009])
    assert all(t["error_y"]["visible"] and t["error_y"]["array"][0] > 0 for t in points)
    low, high = fig["layout"]["yaxis"]["range"]
    assert low <= -3 * 0.005 and high >= 3 * 0.005 and low == -high
    assert "within ±1 std" in fig["layout"]["title"]["subtitle"]["text"]
    assert "std over seeds" in fig["layout"]["title"]["subtitle"]["text"]
    # a gap well beyond the noise is not called noise, and fits on the axis with its bar
    wide = _table([0.95, 0.85], [0.002, 0.003])
    fig = plots.score_gap_figure(wide, "CV accuracy").to_plotly_json()
    assert "within" not in fig["layout"]["title"]["subtitle"]["text"]
    assert fig["layout"]["yaxis"]["range"][0] < -0.1 - 0.0036
    # one seed: the error bars are the best trial's fold spread, and say so
    folds = _table([0.9, 0.89], [0.01, 0.02], spread="folds")
    fig = plots.score_gap_figure(folds, "CV accuracy").to_plotly_json()
    assert "CV folds" in fig["layout"]["title"]["subtitle"]["text"]


def test_holdout_scores_are_not_set_beside_cv_means_as_the_same_number():
    """Issue 14: PBT's best holdout score (one split, best of many segments) stood beside
    5-fold CV means. It gets no gap, stays off the CV axis and is named as different."""
    from tuning.plots import compare as plots

    table = _table([0.974, 0.985], [0.004, 0.002], validation=["cv", "holdout"])
    assert table.loc[0, "gap"] == 0 and pd.isna(table.loc[1, "gap"])
    fig = plots.score_gap_figure(table, "CV accuracy", {"m1": "PBT"}).to_plotly_json()
    points = [t for t in fig["data"] if t["type"] == "scatter"]
    assert [t["x"][0] for t in points] == ["m0"]
    assert "not shown: PBT (one holdout split, not a CV mean)" in fig["layout"]["title"]["subtitle"]["text"]
    band = pd.DataFrame({"method": ["m0", "m1"], "trials": [1, 1], "median": [0.9, 0.95],
                         "low": [0.9, 0.95], "high": [0.9, 0.95], "seeds": [1, 1]})  # fmt: skip
    curve = plots.compare_curve_figure(band, "trials", "CV accuracy", ["m0", "m1"],
                                       labels={"m1": "PBT"}, holdout=["m1"]).to_plotly_json()  # fmt: skip
    assert [t["name"] for t in curve["data"]] == ["m0", "PBT (one holdout split)"]


def test_the_target_is_its_own_legend_entry_not_a_label_over_the_curves():
    """Issue 24: the curves that reach the target were drawn under its "target" label. The
    target is a dotted line named in the legend; every method's curve keeps its own name."""
    from tuning.plots import compare as plots

    band = pd.DataFrame({"method": ["m0"] * 2 + ["m1"] * 2, "trials": [1, 2, 1, 2],
                         "median": [0.8, 0.9, 0.85, 0.95], "low": [0.7, 0.85, 0.8, 0.9],
                         "high": [0.85, 0.95, 0.9, 0.97], "seeds": [3] * 4})  # fmt: skip
    fig = plots.compare_curve_figure(band, "trials", "CV accuracy", ["m0", "m1"], target=0.9,
                                     labels={"m0": "Grid", "m1": "TPE"}).to_plotly_json()  # fmt: skip
    named = [t["name"] for t in fig["data"] if t.get("showlegend") is not False]
    assert named == ["Grid", "TPE", "target 0.9000"]
    assert not fig["layout"].get("annotations") and not fig["layout"].get("shapes")
    line = fig["data"][-1]
    assert list(line["y"]) == [0.9, 0.9] and list(line["x"]) == [1, 2]
    assert "median over 3 seeds" in fig["layout"]["title"]["subtitle"]["text"]
    assert fig["layout"]["title"]["text"] == "Best score by trial"  # short: fits at 900 px


def test_time_is_wall_clock_first_and_cpu_beside_it():
    """Issue 24: CPU seconds stood under an axis saying "seconds" with the wall-clock bar
    hidden behind them; an empty chart's axis ran from -1 to 4 s."""
    from tuning.plots import compare as plots

    table = _table([0.9, 0.88], [0.01, 0.01], methods=["grid", "tpe"])
    table["wall_seconds"], table["fit_seconds"] = [120.0, 40.0], [230.0, 70.0]
    fig = plots.time_figure(table, {"grid": "Grid search", "tpe": "TPE"})
    assert fig.layout.barmode == "group"
    wall, cpu = fig.data
    assert wall.name == "wall-clock (s)" and list(wall.y) == [120.0, 40.0]
    assert cpu.name == "CPU time fitting and scoring<br>(s, summed over workers)"
    assert list(cpu.y) == [230.0, 70.0] and list(cpu.x) == ["Grid search", "TPE"]
    # a long name goes on two level lines, not tilted and cut ("Ba…") in a 900 px window
    long = plots.time_figure(table, {"grid": "Grid search", "tpe": "Bayesian (TPE) with warm start"})
    assert list(long.data[0].x) == ["Grid search", "Bayesian (TPE)<br>with warm start"]
    assert long.layout.xaxis.tickangle == 0
    empty = table.assign(wall_seconds=float("nan"))
    fig = plots.time_figure(empty).to_plotly_json()
    assert fig["data"] == [] and fig["layout"]["yaxis"]["visible"] is False
    assert "range" not in fig["layout"]["yaxis"]


def test_wilson_interval_on_a_known_case():
    low, high = ex.wilson_interval(0.9, 100)  # 90 of 100 right
    assert (low, high) == pytest.approx((0.8256, 0.9448), abs=1e-4)
    assert ex.wilson_interval(1.0, 20)[1] == pytest.approx(1.0)


def _info(statuses):
    """An experiment of random and TPE on seeds 0 and 1 with the given member statuses."""
    runs = [{"run": f"x--{m}--seed{s}", "method": m, "seed": s, "order": i, "status": st}
            for i, ((s, m), st) in enumerate(zip(itertools.product((0, 1), ("random", "tpe")),
                                                  statuses, strict=True))]  # fmt: skip
    return ex.ExperimentInfo("x", small(methods=("random", "tpe")), runs, None)


def test_an_incomplete_race_names_no_winner_and_says_who_is_missing():
    table = _table([0.95, 0.85], [0.002, 0.003], methods=["random", "tpe"])
    info = _info(["finished", "finished", "stopped", "queued"])
    assert not info.complete and info.missing() == {"random": [1], "tpe": [1]}
    assert ex.verdict(info, table) == (
        "The race is incomplete: 2 of 4 runs finished; missing Random search (seed 1) and "
        "Bayesian (TPE) (seed 1). No method is named best until every method has finished "
        "every seed."
    )
    done = _info(["finished"] * 4)
    assert ex.verdict(done, table) == (
        "Random search found the best CV score (0.9500); Bayesian (TPE) is behind it by more "
        "than the noise (±1 std)."
    )
    close = _table([0.90, 0.899], [0.004, 0.003], methods=["random", "tpe"])
    assert ex.verdict(done, close) == (
        "Every difference is within the noise (±1 std): no method is clearly better here; "
        "Random search scored highest (0.9000) by less than that."
    )


def test_counts_are_totals_over_the_runs_and_seeds_finished_per_method(shared, finished):
    """Issue 24: a 3-seed race stopped part way read grid "27 / 0 / 0" (81 / 3) while Home
    showed 81 of 81. Trial counts are totals over a method's runs, with its seeds finished."""
    store = shared[0]
    info = ex.get_experiment(finished[0], store)
    info = replace(info, runs=[
        {**r, "status": "stopped" if (r["method"], r["seed"]) == ("grid", 1) else r["status"]}
        for r in info.runs
    ])  # fmt: skip
    traj = ex.trajectories(info, store)
    table = ex.summary_table(info, traj, store, ex.targets(traj, info)).set_index("method")
    assert table.loc["grid", "complete"] == 16  # 8 configurations on each of 2 seeds
    assert table.loc["random", "complete"] + table.loc["random", "pruned"] == 8
    assert table.loc["grid", "seeds_finished"] == 1 and table.loc["tpe", "seeds_finished"] == 2
    assert "grid" in info.missing() and "The race is incomplete" in ex.verdict(info, table.reset_index())
    # time to target: median and range over the seeds that reached it, and how many did
    assert table.loc["grid", "reached_n"] == 2 and table.loc["grid", "reached"] == "2/2"
    assert table.loc["grid", "trials_to_target_low"] <= table.loc["grid", "trials_to_target"]
    assert table.loc["grid", "trials_to_target"] <= table.loc["grid", "trials_to_target_high"]
    # iris and accuracy: the test score gets a Wilson interval on its held-out rows
    r = table.loc["random"]
    assert r.test_interval == "wilson" and r.n_test > 0
    assert (r.test_low, r.test_high) == pytest.approx(ex.wilson_interval(r.test, int(r.n_test)))


def test_member_names_say_their_experiment():
    name = ex.member_name("compare-knn-iris-20260101", "tpe", 2)
    assert name == "compare-knn-iris-20260101--tpe--seed2"
    assert ex.experiment_of(name) == "compare-knn-iris-20260101"
    assert ex.experiment_of("my-run") is None and ex.experiment_of("a--seed1") is None


def test_the_recorded_classic_race_is_a_valid_storage_of_studio_runs():
    """The recorded race shipped in the package: a journal that Optuna itself opens, whose
    experiment lists the classic methods on the seeds its metadata names, every run finished,
    small enough to keep in the repository; opened from a copy, never from the package."""
    import json

    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    journal = ex.RECORDED_DIR / ex.RECORDED_JOURNAL
    meta = json.loads((ex.RECORDED_DIR / ex.RECORDED_META).read_text())
    assert journal.stat().st_size < 2_000_000
    plain = JournalStorage(JournalFileBackend(str(journal)))
    names = {s.study_name for s in optuna.get_all_study_summaries(plain)}
    seeds = tuple(meta["seeds"])
    methods = ("grid", "random", "tpe", "hyperband")
    assert names == {ex.member_name(meta["experiment"], m, s) for m in methods for s in seeds}
    before = journal.stat().st_mtime_ns
    rec = ex.open_recorded()
    assert rec.info.config.methods == methods and rec.info.config.seeds == seeds
    assert rec.info.complete and len(rec.info.runs) == len(methods) * len(seeds)
    assert f"Recorded on {meta['recorded_on']}" in rec.label and f"{len(seeds)} seeds" in rec.label
    assert journal.stat().st_mtime_ns == before
    traj = ex.trajectories(rec.info, rec.storage)
    table = ex.summary_table(rec.info, traj, rec.storage, ex.targets(traj, rec.info))
    assert list(table["method"]) == list(methods) and (table["seeds_finished"] == len(seeds)).all()
    assert (table.loc[table["method"] == "grid", "complete"] == 81 * len(seeds)).all()


def test_the_record_script_writes_a_journal_and_its_metadata(tmp_path, monkeypatch):
    """scripts/record_classic_race.py, on a tiny preset (the real one takes minutes)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import record_classic_race as script

    tiny = small(methods=("grid", "random"), seeds=(0,))
    monkeypatch.setattr(script.ex, "classic_preset",
                        lambda seeds, workers: replace(tiny, seeds=seeds))  # fmt: skip
    meta = script.record(tmp_path, (0, 1), workers=1)
    assert meta["seeds"] == [0, 1] and meta["methods"] == ["grid", "random"]
    assert meta["cores"] == os.cpu_count() and meta["wall_seconds"] > 0
    rec = ex.open_recorded(tmp_path)
    assert [(r["method"], r["seed"]) for r in rec.info.runs] == [
        ("grid", 0), ("random", 0), ("grid", 1), ("random", 1)
    ]  # seed 0's members first: the live race shows its first curves early
    assert rec.info.complete


def test_a_population_run_is_labelled_as_holdout_in_the_race(store):
    """Issue 14: PBT's best holdout score (0.985) stood beside Hyperband's 5-fold CV mean as the
    same kind of number. Its trials say they were validated on one split; the table keeps it
    apart from the CV gaps while its test score stays comparable."""
    from tuning.models import get_model

    space = (
        get_model("mlp").default_space("classification")
        .replace_param("width", low=8, high=16)
        .replace_param("n_layers", enabled=False, default=1)
        .replace_param("epochs", low=2, high=4)
    )  # fmt: skip
    base = RunConfig(dataset=DatasetRef("iris"), model="mlp", method="random", space=space,
                     n_trials=2, cv_folds=3, n_jobs=1)  # fmt: skip
    exp = ex.ExperimentConfig(
        base=base, methods=("random", "pbt"),
        overrides={"pbt": {"method_options": {"population_size": 2, "interval": 2}}},
    )  # fmt: skip
    name = ex.create_experiment(exp, store)
    assert set(ex.run_experiment(name, store).values()) == {"finished"}
    info = ex.get_experiment(name, store)
    traj = ex.trajectories(info, store)
    assert set(traj.loc[traj["method"] == "pbt", "validation"]) == {"holdout"}
    table = ex.summary_table(info, traj, store).set_index("method")
    assert table.loc["pbt", "validation"] == "holdout" and pd.isna(table.loc["pbt", "gap"])
    assert table.loc["random", "validation"] == "cv" and table.loc["random", "gap"] == 0
    assert pd.notna(table.loc["pbt", "test"])
