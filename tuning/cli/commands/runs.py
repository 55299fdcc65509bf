"""Commands that start, continue, join or stop a run, and the progress bar they share."""

from __future__ import annotations

import argparse
import sys
import time

from tuning.cli import options as o
from tuning.cli.command import Command
from tuning.cli.output import format_summary, format_tradeoff
from tuning.core.errors import UserError
from tuning.methods import RECOMMENDED
from tuning.store import storage as storage_mod


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
            help=f"search method (see `methods`; default {RECOMMENDED})",
        )
        add(
            "--option", action="append", type=o.key_value, default=[], metavar="KEY=VALUE",
            help="method option, e.g. reduction_factor=3 (repeatable; see `methods`)",
        )  # fmt: skip
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
        o.WORKERS.add_to(
            parser, default=None,
            help="worker processes here (default 1: this process), or with --dask tasks on the "
            "cluster (default: one per cluster worker); more join with `worker`",
        )  # fmt: skip
        o.DASK.add_to(parser)
        add(
            "--retries", type=int, default=0,
            help="times a trial is run again when its worker dies (default 0)",
        )  # fmt: skip
        add("--no-defaults-baseline", action="store_true", help="skip scoring the defaults first")
        o.NAME.add_to(parser)
        o.QUIET.add_to(parser)
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        from tuning.core.config import CUSTOM_MODEL, RunConfig
        from tuning.runs.runner import RunHandle, create_run

        address = o.dask_address(args.dask)
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
        config = RunConfig(
            dataset=ref, model=model, estimator=estimator, method=args.method, space=space,
            method_options=dict(args.option), n_trials=n_trials,
            timeout_s=args.minutes * 60 if args.minutes else None, cv_folds=args.folds,
            scoring=scoring, objectives=costs, seed=args.seed, test_size=args.test_size,
            grid_points=args.grid_points, max_consecutive_failures=args.max_failures,
            n_jobs=args.n_jobs, fidelity=args.fidelity, name=args.name,
            workers=args.workers or 1, retries=args.retries, trial_timeout_s=args.trial_timeout,
            cluster="dask" if address else "local", defaults_baseline=not args.no_defaults_baseline,
        )  # fmt: skip
        store = storage_mod.open_storage(args.storage)
        if address:
            return run_on_cluster(config, store, address, args.workers, args.quiet)
        name = create_run(config, store)
        print(f"Run '{name}' created in {storage_mod.describe(args.storage)}", file=sys.stderr)
        if config.workers > 1:
            from tuning.runs.workers import WorkerPool

            url = storage_mod.url_of(store) or storage_mod.default_url()
            return watch(WorkerPool(name, url, config.workers).start(), store, quiet=args.quiet)
        return watch(RunHandle(name, store).start(), store, quiet=args.quiet)


def run_on_cluster(config, store, address: str, workers: int | None, quiet: bool) -> int:
    """Create the run and work on it as tasks on the Dask cluster at `address`: one per cluster
    worker unless `workers` says how many. Nothing is created if the scheduler does not answer."""
    from dataclasses import replace

    from tuning.runs.runner import RunManager

    manager = RunManager(store, nice=0, isolate=False, dask=address)
    n = workers or manager.check_cluster()
    name = manager.submit(replace(config, workers=n))
    print(
        f"Run '{name}' created in {storage_mod.describe(storage_mod.url_of(store))}; "
        f"{n} task(s) on the Dask cluster at {address}",
        file=sys.stderr,
    )
    return watch(manager.handles[name], store, quiet=quiet)


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
        from tuning.runs.runner import choose
        from tuning.store.runs import load_study

        if args.cost is not None and args.within is None:
            raise UserError("--cost goes with --within: the cost to be cheapest in.")
        store = storage_mod.open_storage(args.storage)
        load_study(args.run, store)
        choose(args.run, store, trial=args.trial, within_pct=args.within, cost=args.cost)
        print(format_tradeoff(load_study(args.run, store)))
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
        from tuning.runs.runner import RunHandle, RunManager
        from tuning.store.run import StoredRun

        address = o.dask_address(args.dask)
        store = storage_mod.open_storage(args.storage)
        run = StoredRun.open(args.run, store)
        if address:  # its workers as tasks on the cluster, as many as it was started with
            run.update_config(cluster="dask")
            manager = RunManager(store, nice=0, isolate=False, dask=address)
            manager.resume(args.run)
            return watch(manager.handles[args.run], store, quiet=args.quiet)
        return watch(RunHandle(args.run, store).start(), store, quiet=args.quiet)


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
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
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
        return watch(handle, store, quiet=args.quiet)


class Stop(Command):
    name = "stop"
    help = "ask every worker of a run to stop"
    description = "Stop a run in every process working on it, within a fold or epoch."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        o.RUN.add_to(parser)
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        from tuning.execution.lifecycle import request_stop

        request_stop(args.run, storage_mod.open_storage(args.storage))
        print(f"Asked every worker of '{args.run}' to stop; they stop within a fold or epoch.")
        return 0


def watch(handle, store, quiet: bool = False) -> int:
    """Progress bar while the run works in its thread; Ctrl-C stops it within a fold or epoch.

    Prints the run's summary at the end; exit 0 when it finished or was stopped, 1 when it
    failed, 2 when it could not start (the handle's error).
    """
    from tqdm import tqdm

    from tuning.store.results import run_summary

    s = run_summary(store, handle.name)
    bar = (
        None if quiet else tqdm(total=s.n_trials, unit="trial", file=sys.stderr, dynamic_ncols=True)
    )
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
    print(format_summary(run_summary(store, handle.name), time.time() - t0))
    from tuning.store.runs import load_study

    study = load_study(handle.name, store)
    if len(study.directions) > 1:
        print(format_tradeoff(study))
    return 0 if handle.status in ("finished", "stopped") else 1


def _update(bar, s, t0: float) -> None:
    bar.n = s.done
    best = "-" if s.best_value is None else f"{s.best_value:.4f}"
    bar.set_postfix_str(f"best {s.scoring}={best}  elapsed {time.time() - t0:.0f}s", refresh=False)
    bar.refresh()
