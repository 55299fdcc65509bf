"""Commands that start, continue, join or stop a run, and the progress bar they share.

`run` and `resume` start a run as the app does, through a RunManager (tuning.runs.front), which
decides once how many workers of which kind work on it; `worker` is one of those workers.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import replace

from tuning.cli import options as o
from tuning.cli.command import Command, ctrl_c_sets
from tuning.cli.output import format_summary, format_tradeoff
from tuning.core.config import CUSTOM_MODEL, RunConfig
from tuning.core.enums import RunStatus
from tuning.core.errors import UserError
from tuning.methods import RECOMMENDED
from tuning.runs import front


class Run(Command):
    name = "run"
    help = "start a tuning run and watch its progress"
    description = (
        "Start a tuning run: cross-validated search on the training part, then the best "
        "configuration refit on all training data and scored once on the held-out test part."
    )
    epilog = (
        "Example: python -m tuning run --dataset seed-classification --model random_forest "
        "--method tpe --trials 30. Your own estimator: python -m tuning run --dataset iris "
        "--estimator mypkg.models:make_pipeline --space space.json --trials 30"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _what_arguments(parser)
        _search_arguments(parser)
        _limit_arguments(parser)
        _where_arguments(parser)
        _warm_arguments(parser)

    def run(self, args: argparse.Namespace) -> int:
        address = o.dask_address(args.dask)
        config = _config(args, address)
        url = args.storage or front.default_url()
        manager = front.RunManager(url, nice=0, isolate=False, dask=address)
        if address:  # one task per cluster worker unless --workers says how many
            config = replace(config, workers=args.workers or manager.check_cluster())
        name = manager.submit(config)  # nothing is created if the scheduler does not answer
        where = f"; {config.workers} task(s) on the Dask cluster at {address}" if address else ""
        print(f"Run '{name}' created in {front.describe_storage(url)}{where}", file=sys.stderr)
        warm = config.warm_start and front.StoredRun.open(name, manager.storage).record().warm_start
        if warm:
            print(f"Warm start: {warm.get('note')}", file=sys.stderr)
        return watch(manager.handles[name], manager.storage, quiet=args.quiet)


def _what_arguments(parser: argparse.ArgumentParser) -> None:
    """What is tuned: the data, the model (or one's own estimator) and the search method."""
    add = parser.add_argument
    o.DATASET.add_to(parser, required=True)
    o.TARGET.add_to(parser)
    o.TASK.add_to(parser)
    add(
        "--data-param", action="append", type=o.key_value, default=[], metavar="KEY=VALUE",
        help="dataset setting, e.g. n_samples=500 or noise=0.3 for synthetic sets (repeatable)",
    )  # fmt: skip
    which = parser.add_mutually_exclusive_group(required=True)
    o.MODEL.add_to(which)
    which.add_argument(
        "--estimator", metavar="PACKAGE.MODULE:FACTORY",
        help="your own scikit-learn estimator or pipeline: an importable function that "
        "returns it (or an estimator object at that path); needs --space. The path is saved "
        "with the run, so `worker` re-imports it on any machine where it is installed",
    )  # fmt: skip
    add(
        "--method",
        default=RECOMMENDED,
        help=f"search method (see `methods`; default {RECOMMENDED}: picked from the space, the "
        "budget and the objectives, the run records which and why)",
    )
    add(
        "--option", action="append", type=o.key_value, default=[], metavar="KEY=VALUE",
        help="method option, e.g. reduction_factor=3 (repeatable; see `methods`)",
    )  # fmt: skip


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    """The budget, how trials are scored, and the search space."""
    add = parser.add_argument
    o.TRIALS.add_to(parser)
    add("--minutes", type=o.positive_float, help="wall-clock budget in minutes")
    o.FOLDS.add_to(parser)
    o.SCORING.add_to(parser)
    o.OBJECTIVE.add_to(parser)
    add(
        "--seed", type=int, default=0,
        help="random seed for split, folds, sampler and models (default 0)",
    )  # fmt: skip
    add("--test-size", type=float, default=0.2, help="held-out test fraction (default 0.2)")
    o.GRID_POINTS.add_to(parser)
    o.SPACE.add_to(parser)


def _limit_arguments(parser: argparse.ArgumentParser) -> None:
    """When trials give up, and what each one may spend."""
    add = parser.add_argument
    add(
        "--no-defaults-baseline", action="store_true",
        help="do not score the model's library defaults first (by default they are the "
        "baseline every page measures the gain against)",
    )  # fmt: skip
    add(
        "--stop-when-flat", action="store_true",
        help="end the run before its budget when the stop advisor finds that further trials "
        "are unlikely to gain more than the CV noise, or the best stopped rising by more than "
        "that noise over the last half of the trials (a normal end: the best is refit and "
        "tested; the reason is recorded)",
    )  # fmt: skip
    add(
        "--max-failures", type=o.positive_int, default=10,
        help="stop after this many consecutive failed trials (default 10)",
    )  # fmt: skip
    add(
        "--trial-timeout", type=o.positive_float, metavar="SECONDS",
        help="fail a trial still working after this many seconds (checked between folds, "
        "epochs and boosting rounds; default: no limit)",
    )  # fmt: skip
    add(
        "--n-jobs", type=int, default=-1,
        help="threads per model fit where the model supports it (default -1: all cores)",
    )  # fmt: skip
    add(
        "--fidelity", choices=("auto", "folds"), default="auto",
        help="budget for multi-fidelity methods: the model's own (epochs, rounds) or CV folds",
    )  # fmt: skip


def _where_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the run works and is kept, and what it is called."""
    o.WORKERS.add_to(
        parser, default=None,
        help="worker processes here (default 1: this process), or with --dask tasks on the "
        "cluster (default: one per cluster worker); more join with `worker`",
    )  # fmt: skip
    o.DASK.add_to(parser)
    parser.add_argument(
        "--retries", type=int, default=0,
        help="times a trial is run again when its worker dies (default 0)",
    )  # fmt: skip
    o.NAME.add_to(parser)
    o.QUIET.add_to(parser)
    o.STORAGE.add_to(parser)


def _warm_arguments(parser: argparse.ArgumentParser) -> None:
    """Starting from earlier runs' best configurations."""
    parser.add_argument(
        "--warm-start", nargs="+", default=[], metavar="RUN",
        help="earlier runs of the same model in this storage (any dataset) whose best "
        "configurations are tried first, right after the library defaults",
    )  # fmt: skip
    parser.add_argument(
        "--warm-narrow", action="store_true",
        help="with --warm-start: narrow the numeric ranges to where those runs' best quarter "
        "of trials lay (padded by a tenth; the full ranges are kept in the configuration). "
        "Risky where the data differs: this data's best may lie outside those ranges",
    )  # fmt: skip


def _config(args: argparse.Namespace, address: str | None) -> RunConfig:
    """The run the arguments describe (checked when the run is created)."""
    scoring, costs = o.objectives(args.objective, args.scoring)
    model, estimator = args.model, None
    if args.estimator is not None:
        from tuning.models.custom import allow, describe, import_estimator

        if args.space is None:
            raise UserError(
                "--estimator needs --space FILE.json: your own estimator has no default "
                "search space (write one as `python -m tuning space MODEL` shows)."
            )
        model = CUSTOM_MODEL
        allow(args.estimator)  # named by whoever runs this command: its workers may import it
        estimator = describe(import_estimator(args.estimator), path=args.estimator)
    ref = o.dataset_ref(args.dataset, args.target, args.task, args.data_param)
    space = o.read_space(args.space)
    n_trials = args.trials if args.trials or args.minutes else 50
    return RunConfig(
        dataset=ref, model=model, estimator=estimator, method=args.method, space=space,
        method_options=dict(args.option), n_trials=n_trials,
        timeout_s=args.minutes * 60 if args.minutes else None, cv_folds=args.folds,
        scoring=scoring, objectives=costs, seed=args.seed, test_size=args.test_size,
        grid_points=args.grid_points, max_consecutive_failures=args.max_failures,
        n_jobs=args.n_jobs, fidelity=args.fidelity, name=args.name,
        workers=args.workers or 1, retries=args.retries, trial_timeout_s=args.trial_timeout,
        cluster="dask" if address else "local", defaults_baseline=not args.no_defaults_baseline,
        stop_when_flat=args.stop_when_flat, warm_start=tuple(args.warm_start),
        warm_narrow=args.warm_narrow,
    )  # fmt: skip


class Choose(Command):
    name = "choose"
    help = "choose a multi-objective run's trade-off: refit and test it"
    description = (
        "Choose the configuration a multi-objective run refits, scores once on the held-out "
        "test part and exports: a trial of its front by number, or the cheapest configuration "
        "within PCT % of the best CV score."
    )
    epilog = "Example: python -m tuning choose RUN --within 2 --cost fit_seconds"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        o.RUN.add_to(parser)
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument("--trial", type=int, metavar="N", help="this trial")
        how.add_argument(
            "--within", type=float, metavar="PCT",
            help="the cheapest trial whose CV score is within PCT %% of the best",
        )  # fmt: skip
        parser.add_argument(
            "--cost", help="cost to be cheapest in (default: the run's first cost objective)"
        )
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        if args.cost is not None and args.within is None:
            raise UserError("--cost goes with --within: the cost to be cheapest in.")
        store = front.open_storage(args.storage)
        front.StoredRun.open(args.run, store)  # a clear error when there is no such run
        front.choose(args.run, store, trial=args.trial, within_pct=args.within, cost=args.cost)
        print(format_tradeoff(front.StoredRun.open(args.run, store).study))
        return 0


class Resume(Command):
    name = "resume"
    help = "continue a stopped or interrupted run"
    description = "Continue a run from where it stopped, with its remaining budget."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        o.RUN.add_to(parser)
        o.QUIET.add_to(parser)
        o.DASK.add_to(parser, help="continue on the Dask cluster at ADDRESS (default: here)")
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        address = o.dask_address(args.dask)
        manager = front.RunManager(
            args.storage or front.default_url(), nice=0, isolate=False, dask=address
        )
        run = front.StoredRun.open(args.run, manager.storage)
        cluster = "dask" if address else "local"  # its workers as tasks there, or here
        if run.config().cluster != cluster:
            run.update_config(cluster=cluster)
        manager.resume(args.run)  # as many workers as it was started with
        return watch(manager.handles[args.run], manager.storage, quiet=args.quiet)


class Worker(Command):
    name = "worker"
    help = "join an existing run as one more worker (any machine that reaches the storage)"
    description = (
        "Join a run: rebuild its objective from the configuration saved in the storage (an "
        "uploaded CSV travels inside the storage) and work on it until the run's budget is spent, "
        "the run is stopped from the dashboard or `stop`, or this worker has run --trials trials."
    )
    epilog = (
        "Example: python -m tuning worker --storage postgresql://tuner:secret@db-host/tuning "
        "--run RUN"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add("--run", required=True, help="run name (see `list`)")
        add("--trials", type=o.positive_int, help="at most this many trials from this worker")
        add("--n-jobs", type=int, help="threads per model fit (default: the run's setting)")
        o.QUIET.add_to(parser)
        add(
            "--keep-stop", action="store_true",
            help="a stop already requested stops this worker too (by default, joining a stopped "
            "run resumes it); local worker pools set it",
        )  # fmt: skip
        add(
            "--index", type=int, metavar="I",
            help="this worker's place among the run's workers (0 to n-1), set by whoever starts "
            "them all (a local worker pool): with --progress it seeds the sampler, so a seed "
            "means the same race. Without it (a worker joined by hand) the seed is moved by this "
            "worker's own identity (host, process, thread), so it never replays another's draws",
        )  # fmt: skip
        add(
            "--progress", type=int, metavar="N",
            help="with --index: the run's trials when its workers were started (default: as "
            "this worker sees them)",
        )  # fmt: skip
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        if min(args.index or 0, args.progress or 0) < 0:
            raise UserError("--index and --progress count from 0: give a whole number >= 0.")
        front.follow_parent()
        store = front.open_storage(args.storage)
        front.StoredRun.open(args.run, store)  # a clear error when there is no such run
        handle = front.RunHandle(
            args.run, store, max_trials=args.trials, n_jobs=args.n_jobs,
            clear_stop=not args.keep_stop, worker_index=args.index,
            progress=args.progress if args.index is not None else None,
        ).start()  # fmt: skip
        return watch(handle, store, quiet=args.quiet)


class Stop(Command):
    name = "stop"
    help = "ask every worker of a run to stop"
    description = "Stop a run in every process working on it, within a fold or epoch."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        o.RUN.add_to(parser)
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        front.StoredRun.open(args.run, front.open_storage(args.storage)).request_stop()
        print(f"Asked every worker of '{args.run}' to stop; they stop within a fold or epoch.")
        return 0


def watch(handle, store, quiet: bool = False) -> int:
    """Progress bar while the run works (a RunManager may still be starting it on a thread of
    its own); Ctrl-C stops it within a fold or epoch.

    Prints the run's summary at the end; exit 0 when it finished or was stopped, 1 when it
    failed, 2 when it could not start (the handle's error).
    """
    from tqdm import tqdm

    s = front.run_summary(store, handle.name)
    bar = (
        None if quiet else tqdm(total=s.n_trials, unit="trial", file=sys.stderr, dynamic_ncols=True)
    )
    t0, shown, tty = time.time(), -1, sys.stderr.isatty()
    interrupted = threading.Event()
    with ctrl_c_sets(interrupted):  # Ctrl-C only sets it: heard however the process started
        while (handle.alive or not handle.started.is_set()) and not interrupted.is_set():
            if handle.started.wait(0.5):
                handle.join(0.5)
            s = front.run_summary(store, handle.name)
            if bar is not None and (tty or s.done != shown):  # a log file gets one line a trial
                _update(bar, s, t0)
                shown = s.done
        if interrupted.is_set():
            print(
                "\nStopping after the current fold or epoch... (Ctrl-C again to abort)",
                file=sys.stderr,
            )
            handle.stop()
            handle.started.wait()
        handle.join()  # ended: its status is read once its workers are gone
    if bar is not None:
        _update(bar, front.run_summary(store, handle.name), t0)
        bar.close()
    if handle.error:
        print(f"error: {handle.error}", file=sys.stderr)
        return 2
    print(format_summary(front.run_summary(store, handle.name), time.time() - t0))
    study = front.StoredRun.open(handle.name, store).study
    if len(study.directions) > 1:
        print(format_tradeoff(study))
    return 0 if handle.status in (RunStatus.FINISHED, RunStatus.STOPPED) else 1


def _update(bar, s, t0: float) -> None:
    bar.n = s.done
    best = "-" if s.best_value is None else f"{s.best_value:.4f}"
    bar.set_postfix_str(f"best {s.scoring}={best}  elapsed {time.time() - t0:.0f}s", refresh=False)
    bar.refresh()
