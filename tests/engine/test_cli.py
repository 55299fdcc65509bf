"""Command line: a real run end to end in a subprocess, listings, help, and refused inputs."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import PYTHON, make_config

from tuning import cli
from tuning.data.datasets import REGISTRY as DATASETS
from tuning.methods import REGISTRY as METHODS
from tuning.models import REGISTRY as MODELS
from tuning.store.storage import ENV_DATA_DIR, ENV_STORAGE, JOURNAL_NAME

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], data: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV_STORAGE}
    env[ENV_DATA_DIR] = str(data)
    env["PYTHONPATH"] = str(ROOT)
    env["COLUMNS"] = "200"
    return subprocess.run(
        [PYTHON, "-m", "tuning", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    """An empty data folder for both the subprocesses and in-process calls."""
    data = tmp_path / "data"
    monkeypatch.setenv(ENV_DATA_DIR, str(data))
    monkeypatch.delenv(ENV_STORAGE, raising=False)
    return data


def _main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- a real run


@pytest.mark.timeout(300)
def test_run_then_list_then_show(data_home, capsys):
    run = _cli(
        [
            "run", "--dataset", "iris", "--model", "logistic_regression", "--method", "tpe",
            "--trials", "3", "--folds", "3", "--n-jobs", "1", "--name", "cli-run", "--quiet",
        ],
        data_home,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    out = run.stdout
    assert "cli-run" in out and "[finished]" in out
    assert re.search(r"Best CV:\s+accuracy = \d\.\d{4} ± \d\.\d{4}", out), out
    assert re.search(r"Test:\s+accuracy = \d\.\d{4}", out), out
    assert "Best hyperparameters:" in out
    assert re.search(r"^\s+C\s+= ", out, re.M) and "class_weight" in out
    assert re.search(r"Time:\s+\d+\.\d s", out)
    assert "3 done" in out
    assert (data_home / JOURNAL_NAME).is_file()  # the default storage, created on first use

    # The same data folder read in this process (the run was written by another one).
    code, listing, err = _main(["list"], capsys)
    assert code == 0, err
    row = next(line for line in listing.splitlines() if line.startswith("cli-run"))
    assert "finished" in row.split() and "logistic_regression" in row and "3/3" in row

    code, show, err = _main(["show", "cli-run", "--top", "2"], capsys)
    assert code == 0, err
    assert "[finished]" in show and "Best CV:" in show
    assert "Top 2 trials:" in show
    header = show.split("Top 2 trials:")[1].splitlines()[1]
    assert header.split()[:4] == ["trial", "cv", "mean", "cv"]
    assert "C" in header.split() and "class_weight" in header.split()
    rows = show.split("Top 2 trials:")[1].splitlines()[3:5]
    values = [float(r.split()[1]) for r in rows]
    assert values == sorted(values, reverse=True)  # best first (accuracy: higher is better)


@pytest.mark.timeout(180)
def test_ctrl_c_stops_a_run_within_a_fold_and_prints_its_summary(data_home):
    """`run` works through a RunManager (its worker on a thread here); Ctrl-C stops it."""
    env = {k: v for k, v in os.environ.items() if k != ENV_STORAGE}
    env.update({ENV_DATA_DIR: str(data_home), "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    cmd = [PYTHON, "-m", "tuning", "run", "--dataset", "iris", "--model", "knn", "--method",
           "random", "--trials", "100000", "--folds", "3", "--n-jobs", "1", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line = ""
    while not line.startswith("Run '"):  # printed once the run is created and submitted
        line = proc.stderr.readline()
        assert line, "the command ended before its run started"
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Stopping after the current fold or epoch" in err and "KeyboardInterrupt" not in err
    assert "[stopped]" in out and "Best CV:" in out


@pytest.mark.timeout(240)
def test_ctrl_c_stops_a_compare_started_with_sigint_ignored(data_home):
    """Issue 24 item 17: a process started from a shell's background job (no job control, as
    a test suite run with `&`) inherits SIGINT ignored, and Python then raises no
    KeyboardInterrupt: `compare` never stopped. Its own handler sets the stop instead. Its
    stderr goes to a file: a pipe nobody reads fills up with Optuna's line per trial and
    blocks the process, which reads the same as a lost Ctrl-C."""
    from tuning.store.storage import open_storage

    env = {k: v for k, v in os.environ.items() if k != ENV_STORAGE}
    env.update({ENV_DATA_DIR: str(data_home), "PYTHONPATH": str(ROOT)})
    cmd = [PYTHON, "-m", "tuning", "compare", "--dataset", "iris", "--model", "knn",
           "--methods", "random", "tpe", "--trials", "5000", "--folds", "3"]  # fmt: skip
    data_home.mkdir(parents=True, exist_ok=True)
    with open(data_home / "err.txt", "w") as err:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )  # fmt: skip
    store, deadline = None, time.time() + 120
    while store is None or not any(
        store.get_all_trials(store.get_study_id_from_name(s.study_name))
        for s in store.get_all_studies()
    ):  # fmt: skip
        assert time.time() < deadline and proc.poll() is None, "no trial started"
        if (data_home / JOURNAL_NAME).exists():
            store = open_storage(f"journal:///{data_home / JOURNAL_NAME}")
        time.sleep(0.5)
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(120)
    finally:
        proc.kill()
    text = (data_home / "err.txt").read_text()
    assert rc == 0, text[-2000:]
    assert "every member after its current fold or epoch" in text  # the stop was heard
    assert "KeyboardInterrupt" not in text
    statuses = {s.study_name: s.user_attrs.get("status") for s in store.get_all_studies()
                if "config" in s.user_attrs}  # fmt: skip
    assert statuses and "running" not in statuses.values(), statuses
    print(f"compare exited {time.time() - t0:.1f} s after Ctrl-C")


@pytest.mark.timeout(120)
def test_a_bad_input_exits_2_without_a_traceback_in_a_real_process(data_home):
    res = _cli(["run", "--dataset", "iris", "--model", "nope", "--trials", "3"], data_home)
    assert res.returncode == 2
    assert res.stderr.startswith("error: Unknown model 'nope'")
    assert "Traceback" not in res.stderr


# --------------------------------------------------------------------------- listings


def test_list_on_an_empty_storage_says_so(data_home, capsys):
    code, out, _ = _main(["list"], capsys)
    assert code == 0
    assert "No runs yet" in out


@pytest.mark.parametrize(
    ("command", "names"),
    [("datasets", list(DATASETS)), ("models", list(MODELS)), ("methods", list(METHODS))],
)
def test_registries_are_listed_by_name(command, names, capsys):
    code, out, _ = _main([command], capsys)
    assert code == 0
    first_column = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert set(names) <= first_column


def test_methods_list_shows_option_defaults(capsys):
    _, out, _ = _main(["methods"], capsys)
    assert "reduction_factor=3" in out and "population_size=10" in out


def test_space_prints_json_that_run_accepts(capsys, tmp_path):
    code, out, _ = _main(["space", "svm", "--task", "regression"], capsys)
    assert code == 0
    from tuning.core.space import SearchSpace

    space = SearchSpace.from_json(out)
    assert space == MODELS["svm"].default_space("regression")


# --------------------------------------------------------------------------- help


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_is_dispatched():
    assert set(_subcommands()) == set(cli.COMMANDS)


def test_run_and_compare_take_their_shared_options_with_the_same_type():
    """The options both accept are declared once (tuning.cli.options); only help and defaults
    may be worded per command."""
    subs = _subcommands()
    run, compare = ({a.dest: a for a in subs[c]._actions} for c in ("run", "compare"))
    shared = set(run) & set(compare) - {"help"}
    assert {"dataset", "target", "model", "trials", "folds", "scoring", "grid_points", "space",
            "workers", "name", "storage"} <= shared  # fmt: skip
    for dest in shared:
        a, b = run[dest], compare[dest]
        assert (a.option_strings, a.type, a.choices, a.metavar) == (
            b.option_strings, b.type, b.choices, b.metavar,
        ), dest  # fmt: skip


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_subcommand_help_exits_0_and_mentions_each_option(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = _main([command, "--help"], capsys)
    assert code == 0, err
    parser = _subcommands()[command]
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--"):
                assert option in out, f"{command} --help does not mention {option}"
        if not action.option_strings and action.dest != "help":
            assert action.dest in out or (action.metavar or "") in out
        if action.help and action.help != argparse.SUPPRESS and action.dest != "help":
            words = action.help.split()[:2]
            assert " ".join(words) in " ".join(out.split()), (command, action.dest)


def test_top_level_help_lists_every_command(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _main(["--help"], capsys)
    assert code == 0
    for command in cli.COMMANDS:
        assert command in out


# --------------------------------------------------------------------------- refused inputs

IRIS_RUN = ["run", "--dataset", "iris", "--trials", "3", "--folds", "3"]
IRIS_COMPARE = ["compare", "--dataset", "iris", "--model", "knn", "--methods", "random"]


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    rows = ["a,b,label"] + [f"{i},{i % 7},{'yes' if i % 2 else 'no'}" for i in range(40)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([*IRIS_RUN, "--model", "nope"], "Unknown model 'nope'. Choose one of: random_forest"),
        ([*IRIS_RUN, "--model", "knn", "--method", "nope"], "Unknown method 'nope'"),
        (
            ["run", "--dataset", "nope", "--model", "knn", "--trials", "3"],
            "Unknown dataset 'nope'",
        ),
        ([*IRIS_RUN, "--model", "knn", "--trials", "0"], "--trials: must be at least 1, got 0"),
        ([*IRIS_RUN, "--model", "knn", "--trials", "many"], "expected a whole number"),
        ([*IRIS_RUN, "--model", "knn", "--minutes", "-1"], "must be greater than 0"),
        ([*IRIS_RUN, "--model", "knn", "--scoring", "bogus"], "Unknown scoring 'bogus'"),
        (
            [*IRIS_RUN, "--model", "knn", "--scoring", "r2"],
            "Scoring 'r2' does not fit a classification task",
        ),
        (
            [*IRIS_RUN, "--model", "knn", "--scoring", "roc_auc"],
            "'roc_auc' needs two classes and this dataset has 3",
        ),
        ([*IRIS_RUN, "--model", "ridge"], "does not handle classification"),
        ([*IRIS_RUN, "--model", "knn", "--folds", "1"], "CV folds must be between 2 and 20"),
        ([*IRIS_RUN, "--model", "knn", "--test-size", "0.9"], "test fraction"),
        ([*IRIS_RUN, "--model", "knn", "--option", "x"], "expected KEY=VALUE"),
        ([*IRIS_RUN, "--model", "knn", "--method", "tpe", "--option", "k=1"], "no option(s) k"),
        (
            [*IRIS_RUN, "--model", "knn", "--method", "hyperband", "--option", "sampler=foo"],
            "option sampler must be one of tpe, random",
        ),
        ([*IRIS_RUN, "--model", "knn", "--data-param", "n=3"], "takes no parameters"),
        ([*IRIS_RUN, "--model", "knn", "--space", "/nonexistent/space.json"], "Cannot read"),
        ([*IRIS_COMPARE, "--space", "/nonexistent/space.json"], "Cannot read"),
        (["show", "nope"], "No run named 'nope'"),
        (["delete", "nope", "--yes"], "No run named 'nope'"),
        (["stop", "nope"], "No run named 'nope'"),
        (["resume", "nope"], "No run named 'nope'"),
        (["space", "nope"], "Unknown model 'nope'"),
        (["space", "ridge"], "does not handle classification"),
        (["frobnicate"], "invalid choice"),
        (["run", "--model", "knn"], "the following arguments are required: --dataset"),
    ],
)
def test_bad_inputs_exit_2_with_a_clear_message(argv, needle, data_home, capsys):
    code, _, err = _main(argv, capsys)
    assert code == 2
    assert "error:" in err
    assert needle in err, err
    assert "Traceback" not in err


def test_csv_without_target_and_with_a_missing_column(data_home, tmp_path, capsys):
    path = _csv(tmp_path)
    code, _, err = _main(["run", "--dataset", str(path), "--model", "knn", "--trials", "3"], capsys)
    assert code == 2 and "needs --target COLUMN" in err
    code, _, err = _main(
        ["run", "--dataset", str(path), "--target", "price", "--model", "knn", "--trials", "3"],
        capsys,
    )
    assert code == 2
    assert "There is no column 'price'" in err and "'label'" in err


def test_invalid_space_file_is_refused(data_home, tmp_path, capsys):
    bad = tmp_path / "space.json"
    bad.write_text('{"params": [{"name": "n_neighbors", "kind": "int", "low": 9, "high": 2}]}')
    code, _, err = _main([*IRIS_RUN, "--model", "knn", "--space", str(bad)], capsys)
    assert code == 2
    assert "low (9) is greater than high (2)" in err


def test_refused_runs_leave_nothing_behind(data_home, capsys):
    _main([*IRIS_RUN, "--model", "knn", "--scoring", "bogus"], capsys)
    code, out, _ = _main(["list"], capsys)
    assert code == 0 and "No runs yet" in out


@pytest.mark.timeout(120)
def test_csv_run_in_process(data_home, tmp_path, capsys):
    path = _csv(tmp_path)
    code, out, err = _main(
        [
            "run", "--dataset", str(path), "--target", "label", "--model", "knn",
            "--method", "random", "--trials", "2", "--folds", "2", "--n-jobs", "1", "--quiet",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "tiny.csv → label" in out
    assert "Best CV:" in out


# --------------------------------------------------------------------------- runs, as the app starts them


def test_stop_asks_every_worker_of_a_run_to_stop(data_home, capsys):
    from tuning.runs.front import StoredRun, open_storage
    from tuning.runs.runner import create_run

    name = create_run(make_config("knn", name="to-stop"), open_storage())
    code, out, err = _main(["stop", name], capsys)
    assert code == 0, err
    assert "Asked every worker of 'to-stop' to stop" in out
    assert StoredRun.open(name, open_storage()).stop_requested


@pytest.mark.timeout(120)
def test_resume_continues_a_run_through_the_run_manager(data_home, capsys):
    from optuna.trial import TrialState

    from tuning.runs.front import StoredRun, open_storage
    from tuning.runs.runner import create_run

    name = create_run(make_config("knn", n_trials=2, name="to-resume"), open_storage())
    code, out, err = _main(["resume", name, "--quiet"], capsys)
    assert code == 0, err
    assert "[finished]" in out
    run = StoredRun.open(name, open_storage())
    assert len(run.study.get_trials(states=(TrialState.COMPLETE,))) == 2
    assert run.config().cluster == "local"


def test_one_decision_of_the_workers_for_the_app_and_the_command_line(data_home, tmp_path):
    """RunManager.executor decides how many workers of which kind work on a run; the command
    line's `run` and `resume` ask it as the app does (nice=0, isolate=False)."""
    from tuning.runs.cluster import ClusterPool
    from tuning.runs.front import RunHandle, RunManager
    from tuning.runs.workers import WorkerPool

    url = f"journal:///{tmp_path / 'runs.journal'}"
    app, cli_ = RunManager(url), RunManager(url, nice=0, isolate=False, dask="tcp://h:8786")
    one, two = make_config("knn"), make_config("knn", workers=2)
    pbt = make_config("mlp", method="pbt", workers=4)
    assert isinstance(cli_.executor("r", one), RunHandle)  # one worker: a thread here
    assert isinstance(pool := cli_.executor("r", two), WorkerPool) and pool.n == 2
    assert isinstance(cli_.executor("r", pbt), RunHandle)  # a population trains on threads
    assert isinstance(pool := app.executor("r", one), WorkerPool) and pool.n == 1  # isolated
    assert isinstance(pool := app.executor("r", pbt), WorkerPool) and pool.n == 1
    assert isinstance(RunManager().executor("r", two), WorkerPool)  # the default storage's URL
    from optuna.storages import InMemoryStorage

    assert isinstance(RunManager(InMemoryStorage()).executor("r", two), RunHandle)
    tasks = cli_.executor("r", make_config("knn", workers=3, cluster="dask"))
    assert isinstance(tasks, ClusterPool) and tasks.n == 3
    assert cli_.executor("r", make_config("mlp", method="pbt", cluster="dask")).n == 1
