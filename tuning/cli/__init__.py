"""Command line: `python -m tuning run|resume|list|show|delete|report|datasets|models|methods|space`."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tuning.core.errors import UserError
from tuning.core.space import SearchSpace
from tuning.data import datasets
from tuning.methods import RECOMMENDED, list_methods
from tuning.models import get_model, list_models
from tuning.store import storage as storage_mod

EPILOG = (
    "Runs are stored in the embedded journal file under ./data (or $TUNING_STUDIO_DATA); "
    "--storage or $TUNING_STUDIO_STORAGE selects any Optuna storage URL instead."
)


def _kv(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)  # numbers, true/false, null, quoted strings: data only
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def _add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage URL (journal:///path, sqlite:///file.db, postgresql://...). "
        "Default: $TUNING_STUDIO_STORAGE or the embedded journal under ./data.",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tuning",
        description="Tuning Studio: hyperparameter tuning with Optuna and scikit-learn.",
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="start a tuning run and watch its progress",
        description="Start a tuning run: cross-validated search on the training part, then the "
        "best configuration refit on all training data and scored once on the held-out test part.",
        epilog="Example: python -m tuning run --dataset seed-classification --model random_forest "
        "--method tpe --trials 30",
    )
    run.add_argument(
        "--dataset",
        required=True,
        help="a registered dataset (see `datasets`) or a path to a CSV file",
    )
    run.add_argument("--target", help="target column (CSV datasets only)")
    run.add_argument(
        "--task", choices=datasets.TASKS, help="override the inferred task (CSV datasets)"
    )
    run.add_argument(
        "--data-param",
        action="append",
        type=_kv,
        default=[],
        metavar="KEY=VALUE",
        help="dataset setting, e.g. n_samples=500 or noise=0.3 for synthetic sets (repeatable)",
    )
    run.add_argument("--model", required=True, help="a registered model (see `models`)")
    run.add_argument(
        "--method",
        default=RECOMMENDED,
        help=f"search method (see `methods`; default {RECOMMENDED})",
    )
    run.add_argument(
        "--option",
        action="append",
        type=_kv,
        default=[],
        metavar="KEY=VALUE",
        help="method option, e.g. reduction_factor=3 (repeatable; see `methods`)",
    )
    run.add_argument(
        "--trials",
        type=_positive_int,
        help="number of trials (default 50 unless --minutes is given)",
    )
    run.add_argument("--minutes", type=_positive_float, help="wall-clock budget in minutes")
    run.add_argument(
        "--folds", type=_positive_int, default=5, help="cross-validation folds (default 5)"
    )
    run.add_argument("--scoring", help="scikit-learn scorer name (default accuracy / r2)")
    run.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed for split, folds, sampler and models (default 0)",
    )
    run.add_argument(
        "--test-size", type=float, default=0.2, help="held-out test fraction (default 0.2)"
    )
    run.add_argument(
        "--grid-points",
        type=_positive_int,
        default=5,
        help="grid search: values per continuous parameter (default 5)",
    )
    run.add_argument(
        "--space",
        type=Path,
        metavar="FILE.json",
        help="search space as JSON (start from `python -m tuning space MODEL`)",
    )
    run.add_argument(
        "--max-failures",
        type=_positive_int,
        default=10,
        help="stop after this many consecutive failed trials (default 10)",
    )
    run.add_argument(
        "--trial-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="fail a trial still working after this many seconds (checked between folds, "
        "epochs and boosting rounds; default: no limit)",
    )
    run.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="threads per model fit where the model supports it (default -1: all cores)",
    )
    run.add_argument(
        "--fidelity",
        choices=("auto", "folds"),
        default="auto",
        help="budget for multi-fidelity methods: the model's own (epochs, rounds) or CV folds",
    )
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="local worker processes (default 1: this process); more join with `worker`",
    )
    run.add_argument(
        "--retries",
        type=int,
        default=0,
        help="times a trial is run again when its worker dies (default 0)",
    )
    run.add_argument("--name", help="run name (default: model-method-dataset-time)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_storage(run)

    resume = sub.add_parser(
        "resume",
        help="continue a stopped or interrupted run",
        description="Continue a run from where it stopped, with its remaining budget.",
    )
    resume.add_argument("run", help="run name")
    resume.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_storage(resume)

    worker = sub.add_parser(
        "worker",
        help="join an existing run as one more worker (any machine that reaches the storage)",
        description="Join a run: rebuild its objective from the configuration saved in the storage "
        "(an uploaded CSV travels inside the storage) and work on it until the run's budget is spent, "
        "the run is stopped from the dashboard or `stop`, or this worker has run --trials trials.",
        epilog="Example: python -m tuning worker --storage postgresql://tuner:secret@db-host/tuning --run RUN",
    )
    worker.add_argument("--run", required=True, help="run name (see `list`)")
    worker.add_argument(
        "--trials", type=_positive_int, help="at most this many trials from this worker"
    )
    worker.add_argument(
        "--n-jobs", type=int, help="threads per model fit (default: the run's setting)"
    )
    worker.add_argument("--quiet", action="store_true", help="no progress bar")
    worker.add_argument(
        "--keep-stop",
        action="store_true",
        help="a stop already requested stops this worker too (by default, joining a stopped "
        "run resumes it); local worker pools set it",
    )
    _add_storage(worker)

    stop = sub.add_parser(
        "stop",
        help="ask every worker of a run to stop",
        description="Stop a run in every process working on it, within a fold or epoch.",
    )
    stop.add_argument("run", help="run name")
    _add_storage(stop)

    ls = sub.add_parser(
        "list", help="list stored runs with their status", description="List every stored run."
    )
    _add_storage(ls)

    show = sub.add_parser(
        "show", help="show a run's summary and top trials", description="Show one run."
    )
    show.add_argument("run", help="run name")
    show.add_argument(
        "--top", type=_positive_int, default=10, help="how many top trials (default 10)"
    )
    _add_storage(show)

    delete = sub.add_parser(
        "delete", help="delete a run", description="Delete a run and its trials."
    )
    delete.add_argument("run", help="run name")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _add_storage(delete)

    cmp = sub.add_parser(
        "compare",
        help="race several search methods on one dataset, model and budget",
        description="Run an experiment: several methods (optionally over several seeds) on the same "
        "dataset, model, search space, CV, scoring and budget; print one row per method.",
        epilog="Example: python -m tuning compare --preset classic --seeds 0 1 2",
    )
    cmp.add_argument(
        "--preset",
        choices=("classic",),
        help="classic: random forest on seed-classification, 5-fold CV; grid (81 configurations), "
        "random and TPE (20 trials each) and Hyperband on the same space",
    )
    cmp.add_argument("--dataset", help="dataset name or CSV path (without --preset)")
    cmp.add_argument("--target", help="target column (CSV datasets)")
    cmp.add_argument("--model", help="model name (without --preset)")
    cmp.add_argument(
        "--methods", nargs="+", metavar="METHOD", help="methods to compare (see `methods`)"
    )
    cmp.add_argument(
        "--trials",
        type=_positive_int,
        default=20,
        help="trials per method (grid runs its whole grid; default 20)",
    )
    cmp.add_argument(
        "--folds", type=_positive_int, default=5, help="cross-validation folds (default 5)"
    )
    cmp.add_argument("--scoring", help="scikit-learn scorer name (default accuracy / r2)")
    cmp.add_argument(
        "--grid-points",
        type=_positive_int,
        default=3,
        help="grid values per continuous parameter (default 3)",
    )
    cmp.add_argument("--space", type=Path, metavar="FILE.json", help="search space as JSON")
    cmp.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0],
        help="seeds; each method runs once per seed (default 0)",
    )
    cmp.add_argument(
        "--parallel",
        action="store_true",
        help="run the methods side by side instead of one after another",
    )
    cmp.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="worker processes per method, one thread each (default 1: a thread here)",
    )
    cmp.add_argument(
        "--score-target",
        type=float,
        dest="score_target",
        help="time-to-target score (default: the best score grid search found)",
    )
    cmp.add_argument(
        "--export", type=Path, metavar="FILE.csv", help="also write every trial of every run as CSV"
    )
    cmp.add_argument(
        "--show",
        metavar="EXPERIMENT",
        help="print the table of an existing experiment instead of running one",
    )
    cmp.add_argument("--name", help="experiment name")
    _add_storage(cmp)
    exps = sub.add_parser(
        "experiments", help="list stored experiments", description="List stored experiments."
    )
    _add_storage(exps)

    rep = sub.add_parser(
        "report",
        help="write a run's report (HTML or Markdown), and optionally its downloads",
        description="Write a run's report: one self-contained HTML file (opens offline) or Markdown, "
        "with the best hyperparameters, CV and test scores, top 10, efficiency, parameter impact, "
        "recommendations and configuration.",
        epilog="Example: python -m tuning report my-run -o report.html --model best.skops --script reproduce.py",
    )
    rep.add_argument("run", help="run name")
    rep.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="report file (default RUN-report.html or .md)",
    )
    rep.add_argument(
        "--format",
        choices=("html", "md"),
        help="html or md (default: from the file extension, else html)",
    )
    rep.add_argument(
        "--importance",
        choices=("ped_anova", "fanova", "mdi"),
        default="ped_anova",
        help="importance method (default ped_anova; fanova is slow, capped at 200 trials)",
    )
    rep.add_argument(
        "--model",
        type=Path,
        metavar="FILE",
        help="also refit the best model and save it (skops; a zip for the MLP)",
    )
    rep.add_argument(
        "--script",
        type=Path,
        metavar="FILE.py",
        help="also write a Python script that rebuilds the best model",
    )
    rep.add_argument("--csv", type=Path, metavar="FILE.csv", help="also write all trials as CSV")
    _add_storage(rep)

    sub.add_parser(
        "datasets", help="list registered datasets", description="List registered datasets."
    )
    sub.add_parser("models", help="list registered models", description="List registered models.")
    sub.add_parser(
        "methods", help="list search methods", description="List search methods and their options."
    )
    space = sub.add_parser(
        "space",
        help="print a model's default search space as JSON",
        description="Print a model's default search space as JSON, to edit and pass to `run --space`.",
    )
    space.add_argument("model", help="model name")
    space.add_argument(
        "--task",
        choices=datasets.TASKS,
        default="classification",
        help="task (default classification)",
    )
    return parser


# -- commands ------------------------------------------------------------------------------------
def _dataset_ref(
    dataset: str, target: str | None, task: str | None, params: list
) -> datasets.DatasetRef:
    if dataset.lower().endswith(".csv") or Path(dataset).is_file():
        if not target:
            raise UserError("A CSV dataset needs --target COLUMN (the column to predict).")
        return datasets.DatasetRef(
            "csv", path=str(Path(dataset).resolve()), target=target, task=task
        )
    return datasets.DatasetRef(dataset, params=dict(params))


def cmd_run(args: argparse.Namespace) -> int:
    from tuning.core.config import RunConfig
    from tuning.runs.runner import RunHandle, create_run

    ref = _dataset_ref(args.dataset, args.target, args.task, args.data_param)
    space = None
    if args.space:
        try:
            space = SearchSpace.from_json(args.space.read_text())
        except OSError as exc:
            raise UserError(f"Cannot read {args.space}: {exc.strerror}.") from None
    n_trials = args.trials if args.trials or args.minutes else 50
    config = RunConfig(
        dataset=ref, model=args.model, method=args.method, space=space,
        method_options=dict(args.option), n_trials=n_trials,
        timeout_s=args.minutes * 60 if args.minutes else None, cv_folds=args.folds,
        scoring=args.scoring, seed=args.seed, test_size=args.test_size,
        grid_points=args.grid_points, max_consecutive_failures=args.max_failures,
        n_jobs=args.n_jobs, fidelity=args.fidelity, name=args.name,
        workers=args.workers, retries=args.retries, trial_timeout_s=args.trial_timeout,
    )  # fmt: skip
    store = storage_mod.open_storage(args.storage)
    name = create_run(config, store)
    print(f"Run '{name}' created in {storage_mod.describe(args.storage)}", file=sys.stderr)
    if args.workers > 1:
        from tuning.runs.workers import WorkerPool

        url = storage_mod.url_of(store) or storage_mod.default_url()
        return _watch(WorkerPool(name, url, args.workers).start(), store, quiet=args.quiet)
    return _watch(RunHandle(name, store).start(), store, quiet=args.quiet)


def cmd_worker(args: argparse.Namespace) -> int:
    from tuning.runs.runner import RunHandle
    from tuning.runs.workers import follow_parent
    from tuning.store.runs import load_study

    follow_parent()
    store = storage_mod.open_storage(args.storage)
    load_study(args.run, store)
    handle = RunHandle(
        args.run, store, max_trials=args.trials, n_jobs=args.n_jobs,
        clear_stop=not args.keep_stop,
    ).start()  # fmt: skip
    return _watch(handle, store, quiet=args.quiet)


def cmd_stop(args: argparse.Namespace) -> int:
    from tuning.execution.lifecycle import request_stop

    request_stop(args.run, storage_mod.open_storage(args.storage))
    print(f"Asked every worker of '{args.run}' to stop; they stop within a fold or epoch.")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from tuning.runs.runner import RunHandle
    from tuning.store.runs import load_study

    store = storage_mod.open_storage(args.storage)
    load_study(args.run, store)
    return _watch(RunHandle(args.run, store).start(), store, quiet=args.quiet)


def _watch(handle, store, quiet: bool = False) -> int:
    """Progress bar while the run works in its thread; Ctrl-C stops it within a fold or epoch."""
    from tqdm import tqdm

    from tuning.store.results import run_summary

    s = run_summary(store, handle.name)
    total = s.n_trials
    bar = None if quiet else tqdm(total=total, unit="trial", file=sys.stderr, dynamic_ncols=True)
    t0, shown, tty = time.time(), -1, sys.stderr.isatty()
    try:
        while handle.alive:
            handle.join(0.5)
            s = run_summary(store, handle.name)
            if bar is not None and (tty or s.done != shown):  # a log file gets one line a trial
                _update(bar, s, t0)
                shown = s.done
    except KeyboardInterrupt:
        print(
            "\nStopping after the current fold or epoch... (Ctrl-C again to abort)", file=sys.stderr
        )
        handle.stop()
        handle.join()
    if bar is not None:
        _update(bar, run_summary(store, handle.name), t0)
        bar.close()
    if handle.error:
        print(f"error: {handle.error}", file=sys.stderr)
        return 2
    print(format_summary(run_summary(store, handle.name), time.time() - t0, storage_url=store))
    return 0 if handle.status in ("finished", "stopped") else 1


def _update(bar, s, t0: float) -> None:
    bar.n = s.done
    best = "-" if s.best_value is None else f"{s.best_value:.4f}"
    bar.set_postfix_str(f"best {s.scoring}={best}  elapsed {time.time() - t0:.0f}s", refresh=False)
    bar.refresh()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def format_summary(s, seconds: float | None = None, storage_url: Any = None) -> str:
    lines = [
        "",
        f"Run:        {s.name}  [{s.status}]",
        f"Dataset:    {s.dataset}    model: {s.model}    method: {s.method}",
        f"Trials:     {s.done} done ("
        + ", ".join(f"{v} {k}" for k, v in sorted(s.counts.items()))
        + ")",
    ]
    if s.message and s.status != "finished":
        lines.append(f"Note:       {s.message}")
    if s.best_value is None:
        lines.append("Best:       no trial completed")
    else:
        direction = "lower is better" if s.direction == "minimize" else "higher is better"
        scoring = s.scoring[4:] if s.scoring.startswith("neg_") else s.scoring
        std = f" ± {s.best_std:.4f}" if s.best_std is not None else ""
        lines.append(
            f"Best CV:    {scoring} = {s.best_value:.4f}{std}  (trial {s.best_number}, {direction})"
        )
        test = s.test.get("score")
        if test is not None:
            lines.append(
                f"Test:       {scoring} = {test:.4f}  (best configuration refit on all "
                f"{s.test.get('n_train')} training rows, scored once on {s.test.get('n_test')} held-out rows)"
            )
        elif s.test.get("error"):
            lines.append(f"Test:       refit failed: {s.test['error']}")
        lines.append("Best hyperparameters:")
        params = s.test.get("params") or s.best_params
        width = max(map(len, params), default=0)
        lines += [f"  {k:<{width}} = {_fmt(v)}" for k, v in params.items()]
    if seconds is not None:
        lines.append(f"Time:       {seconds:.1f} s")
    elif s.elapsed_s:
        lines.append(f"Time:       {s.elapsed_s:.1f} s of tuning")
    lines.append(
        f"Open it:    optuna.load_study(study_name={s.name!r}, storage=...)  or  python -m tuning show {s.name}"
    )
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    from tuning.store.results import list_runs

    runs = list_runs(storage_mod.open_storage(args.storage))
    if not runs:
        print(
            f"No runs yet in {storage_mod.describe(args.storage)}. Start one with `python -m tuning run ...`."
        )
        return 0
    rows = [
        [r.name, r.status, r.dataset, r.model, r.method, f"{r.done}/{r.n_trials or '-'}",
         "-" if r.best_value is None else f"{r.best_value:.4f}", r.scoring, (r.created_at or "")[:19]]
        for r in runs
    ]  # fmt: skip
    _table(
        [
            "run",
            "status",
            "dataset",
            "model",
            "method",
            "trials",
            "best",
            "scoring",
            "created (UTC)",
        ],
        rows,
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from tuning.store.results import TrialFeed, run_summary, top_trials
    from tuning.store.runs import load_study

    store = storage_mod.open_storage(args.storage)
    study = load_study(args.run, store)
    s = run_summary(store, args.run)
    print(format_summary(s))
    df = TrialFeed(study).refresh()
    top = top_trials(df, s.direction, args.top)
    if top.empty:
        return 0
    params = [c for c in df.columns if c.startswith("param_")]
    print(f"\nTop {len(top)} trials:")
    rows = [
        [int(r.number), f"{r.value:.4f}", "-" if r.cv_std is None else f"{r.cv_std:.4f}",
         f"{r.duration_s:.1f}" if r.duration_s == r.duration_s else "-"]
        + [_fmt(getattr(r, p)) for p in params]
        for r in top.itertuples()
    ]  # fmt: skip
    _table(["trial", "cv mean", "cv std", "seconds", *[p[6:] for p in params]], rows)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from tuning.store.runs import delete_run, load_study

    store = storage_mod.open_storage(args.storage)
    load_study(args.run, store)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError("Deleting needs confirmation: pass --yes.")
        if input(f"Delete run '{args.run}' and all its trials? [y/N] ").strip().lower() != "y":
            print("Nothing deleted.")
            return 0
    delete_run(args.run, store)
    print(f"Deleted run '{args.run}'.")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tuning.core.config import RunConfig
    from tuning.runs import experiments as ex

    store = storage_mod.open_storage(args.storage)
    if args.show:
        name = args.show
    else:
        if args.preset:
            exp = ex.PRESETS[args.preset](
                seeds=tuple(args.seeds), parallel=args.parallel, workers=args.workers
            )
        else:
            if not (args.dataset and args.model and args.methods):
                raise UserError("Give --preset classic, or --dataset, --model and --methods.")
            space = SearchSpace.from_json(args.space.read_text()) if args.space else None
            base = RunConfig(
                dataset=_dataset_ref(args.dataset, args.target, None, []), model=args.model,
                space=space, n_trials=args.trials, cv_folds=args.folds, scoring=args.scoring,
                grid_points=args.grid_points, workers=args.workers,
            )  # fmt: skip
            exp = ex.ExperimentConfig(
                base=base,
                methods=tuple(args.methods),
                seeds=tuple(args.seeds),
                parallel=args.parallel,
            )
        exp = replace(exp, target=args.score_target, name=args.name)
        name = ex.create_experiment(exp, store)
        info = ex.get_experiment(name, store)
        how = "side by side" if exp.parallel else "one after another"
        print(
            f"Experiment '{name}': {len(info.runs)} runs, {how}. Ctrl-C stops it.", file=sys.stderr
        )
        stop = threading.Event()
        worker = threading.Thread(target=ex.run_experiment, args=(name, store, stop), daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(2.0)
                done = sum(
                    1 for r in ex.get_experiment(name, store).runs if r["status"] == "finished"
                )
                print(f"\r  runs finished: {done}/{len(info.runs)}", end="", file=sys.stderr)
        except KeyboardInterrupt:
            stop.set()
            worker.join()
        print(file=sys.stderr)
    info = ex.get_experiment(name, store)
    traj = ex.trajectories(info, store)
    target = ex.targets(traj, info, args.score_target)
    table = ex.summary_table(info, traj, store, target)
    from tuning.store.results import run_summary

    scoring = run_summary(store, info.runs[0]["run"]).scoring if info.runs else "score"
    print(format_compare(info, table, target, scoring))
    if args.export:
        args.export.write_text(ex.export_csv(info, store))
        print(f"All trials written to {args.export}")
    return 0


def format_compare(info, table, target, scoring: str) -> str:
    def num(v, fmt="{:.4f}"):
        return "-" if v is None or v != v else fmt.format(v)

    lines = [
        f"\nExperiment {info.name}  [{info.status}]  scoring: {scoring}, seeds: {list(info.config.seeds)}"
    ]
    if target:
        lines.append(
            "Target: "
            + ", ".join(f"seed {k}: {v:.4f}" for k, v in target.items())
            + ("  (grid search's best)" if info.config.target is None else "")
        )
    rows = [
        [r.method, num(r.best_cv) + ("" if r.best_cv_std != r.best_cv_std else f" ± {r.best_cv_std:.4f}"),
         num(r.test), f"{r.complete}/{r.pruned}/{r.failed}", num(r.fit_seconds, "{:.1f}"),
         num(r.wall_seconds, "{:.1f}"), num(r.seconds_to_target, "{:.1f}"), num(r.trials_to_target, "{:.0f}"), r.reached]
        for r in table.itertuples()
    ]  # fmt: skip
    header = ["method", "best CV (mean ± std)", "test", "complete/pruned/failed", "fit s", "wall s",
              "s to target", "trials to target", "reached"]  # fmt: skip
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        _table(header, rows)
    return "\n".join(lines) + "\n" + buf.getvalue().rstrip()


def cmd_experiments(args: argparse.Namespace) -> int:
    from tuning.runs.experiments import list_experiments

    exps = list_experiments(storage_mod.open_storage(args.storage))
    if not exps:
        print("No experiments yet. Start one with `python -m tuning compare --preset classic`.")
        return 0
    rows = [
        [e.name, e.status, ", ".join(e.config.methods), str(list(e.config.seeds)), str(len(e.runs))]
        for e in exps
    ]
    _table(["experiment", "status", "methods", "seeds", "runs"], rows)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tuning.analysis import load_run
    from tuning.report import export
    from tuning.report import html as report
    from tuning.store.runs import load_study

    store = storage_mod.open_storage(args.storage)
    study = load_study(args.run, store)
    run = load_run(study)
    ext = args.output.suffix.lower() if args.output else ""
    fmt = args.format or ("md" if ext in (".md", ".markdown") else "html")
    out = args.output or Path(f"{run.name}-report.{fmt}")
    data = report.build_report(study, run, importance_method=args.importance, figures=fmt == "html")
    _write(out, report.report_html(data) if fmt == "html" else report.report_markdown(data))
    print(f"Report written to {out}")
    if args.csv:
        _write(args.csv, export.trials_csv(run))
        print(f"All trials written to {args.csv}")
    if args.script:
        _write(args.script, export.reproduce_script(run))
        print(f"Reproduce script written to {args.script} (run it with python {args.script})")
    if args.model:
        model = export.best_model(study, run)
        _write(args.model, model.data)
        kind = (
            "zip of the torch state dict and the preprocessing"
            if model.filename.endswith(".zip")
            else "skops"
        )
        print(f"Best model ({kind}) written to {args.model}; refit test score {model.test_score!r}")
    return 0


def _write(path: Path, content: str | bytes) -> None:
    try:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def cmd_datasets(args: argparse.Namespace) -> int:
    rows = [[d.name, d.task, d.shape_hint, d.description] for d in datasets.list_datasets()]
    _table(["name", "task", "shape", "description"], rows)
    print("\nOr a CSV file: --dataset PATH.csv --target COLUMN [--task classification|regression]")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    rows = [
        [m.name, "/".join(t[:5] + "." for t in m.tasks), m.budget, m.description]
        for m in list_models()
    ]
    _table(["name", "tasks", "budget", "description"], rows)
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    rows = [
        [m.name, m.family, m.summary, ", ".join(f"{k}={v}" for k, v in m.defaults.items()) or "-"]
        for m in list_methods()
    ]
    _table(["name", "family", "description", "options (default)"], rows)
    print(f"\nRecommended default: {RECOMMENDED}. Set options with --option KEY=VALUE.")
    return 0


def cmd_space(args: argparse.Namespace) -> int:
    model = get_model(args.model)
    if not model.supports(args.task):
        raise UserError(f"{model.label} does not handle {args.task}.")
    print(json.dumps(model.default_space(args.task).to_dict(), indent=2))
    return 0


def _table(header: list[str], rows: list[list[Any]]) -> None:
    cells = [header, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for j, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))


COMMANDS = {
    "run": cmd_run, "resume": cmd_resume, "list": cmd_list, "show": cmd_show,
    "delete": cmd_delete, "datasets": cmd_datasets, "models": cmd_models,
    "methods": cmd_methods, "space": cmd_space, "compare": cmd_compare,
    "experiments": cmd_experiments, "worker": cmd_worker, "stop": cmd_stop,
    "report": cmd_report,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
