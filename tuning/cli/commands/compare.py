"""Experiments: `compare` races several methods on one dataset, model and budget."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from tuning.analysis import warm
from tuning.cli import options as o
from tuning.cli.command import Command, ctrl_c_sets
from tuning.cli.output import format_table, print_table
from tuning.core.errors import UserError
from tuning.runs import front


class Compare(Command):
    name = "compare"
    help = "race several search methods on one dataset, model and budget"
    description = (
        "Run an experiment: several methods (optionally over several seeds) on the same dataset, "
        "model, search space, CV, scoring and budget; print one row per method."
    )
    epilog = (
        "Example: python -m tuning compare --preset classic --seeds 0 1 2. With a warm-started "
        "copy of TPE raced beside the cold one: python -m tuning compare --dataset iris --model "
        "knn --methods tpe random --seeds 0 1 --warm-start knn-on-wine"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add(
            "--preset", choices=("classic", "engines"),
            help="classic: random forest on seed-classification, 5-fold CV; grid (81 "
            "configurations), random, TPE and Hyperband (30 trials each) on the same space. "
            "engines: Optuna's TPE against Hyperopt's TPE, both random searches as the "
            "control, SVM on breast_cancer, 40 trials each, 5-fold CV",
        )  # fmt: skip
        # The search options of `run`, worded for an experiment: a budget per method.
        o.DATASET.add_to(parser, help="dataset name or CSV path (without --preset)")
        o.TARGET.add_to(parser, help="target column (CSV datasets)")
        o.MODEL.add_to(parser, help="model name (without --preset)")
        add("--methods", nargs="+", metavar="METHOD", help="methods to compare (see `methods`)")
        o.TRIALS.add_to(
            parser, default=20, help="trials per method (grid runs its whole grid; default 20)"
        )
        o.FOLDS.add_to(parser)
        o.SCORING.add_to(parser)
        o.GRID_POINTS.add_to(
            parser, default=3, help="grid values per continuous parameter (default 3)"
        )
        o.SPACE.add_to(parser, help="search space as JSON")
        add(
            "--seeds", nargs="+", type=int, default=[0],
            help="seeds; each method runs once per seed (default 0)",
        )  # fmt: skip
        add(
            "--parallel", action="store_true",
            help="run the methods side by side instead of one after another",
        )  # fmt: skip
        o.WORKERS.add_to(
            parser,
            help="worker processes per method, one thread each (default 1: a thread here); with "
            "--dask, tasks per method on the cluster",
        )
        o.DASK.add_to(parser)
        add(
            "--score-target", type=float, dest="score_target",
            help="time-to-target score (default: grid search's best configuration, rescored "
            "with 5 model seeds)",
        )  # fmt: skip
        add(
            "--export", type=Path, metavar="FILE.csv",
            help="also write every trial of every run as CSV",
        )  # fmt: skip
        add(
            "--show", metavar="EXPERIMENT",
            help="print the table of an existing experiment instead of running one",
        )  # fmt: skip
        _warm_arguments(parser)
        o.NAME.add_to(parser, help="experiment name")
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        ex = front.experiments
        store = front.open_storage(args.storage)
        name = args.show or self._start(args, store)
        info = ex.get_experiment(name, store)
        traj = ex.trajectories(info, store)
        target = ex.targets(traj, info, args.score_target)
        table = ex.summary_table(info, traj, store, target)
        scoring = front.run_summary(store, info.runs[0]["run"]).scoring if info.runs else "score"
        bought = warm.experiment_warm(info, store)
        print(format_compare(info, table, target, scoring, traj, bought))
        if args.export:
            args.export.write_text(ex.export_csv(info, store))
            print(f"All trials written to {args.export}")
        return 0

    def _start(self, args: argparse.Namespace, store) -> str:
        """Create the experiment and run it here, with its progress on stderr; its name."""
        ex = front.experiments
        exp = _experiment(args)
        address = o.dask_address(args.dask)
        if address:  # before anything is made: a scheduler that answers, with workers
            front.RunManager(store, dask=address).check_cluster()
        name = ex.create_experiment(exp, store)
        n_runs = len(ex.get_experiment(name, store).runs)
        how = "side by side" if exp.parallel else "one after another"
        print(f"Experiment '{name}': {n_runs} runs, {how}. Ctrl-C stops it.", file=sys.stderr)
        stop, ended = threading.Event(), threading.Event()

        def work() -> None:
            try:
                ex.run_experiment(name, store, stop, dask=address)
            finally:
                ended.set()

        # Ctrl-C only sets `stop` (ctrl_c_sets): the members stop within a fold or epoch and
        # this waits for them through an Event, never a join() that Ctrl-C would cut short.
        with ctrl_c_sets(stop):
            threading.Thread(target=work, daemon=True).start()
            told = False
            while not ended.wait(0.5 if stop.is_set() else 2.0):
                if stop.is_set():
                    if not told:
                        print("\nStopping every member after its current fold or epoch... "
                              "(Ctrl-C again to abort)", file=sys.stderr)  # fmt: skip
                    told = True
                    continue
                runs = ex.get_experiment(name, store).runs
                done = sum(1 for r in runs if r["status"] == "finished")
                print(f"\r  runs finished: {done}/{n_runs}", end="", file=sys.stderr)
        if stop.is_set() and not told:  # they stopped before the wait woke
            print("\nStopped every member after its current fold or epoch.", file=sys.stderr)
        print(file=sys.stderr)
        return name


def _warm_arguments(parser: argparse.ArgumentParser) -> None:
    """Warm-started copies raced beside their cold method."""
    parser.add_argument(
        "--warm-start", nargs="+", default=[], metavar="RUN",
        help="also race warm-started copies: earlier runs of the same model in this storage "
        "(any dataset) whose best configurations each copy tries first, right after the "
        "library defaults",
    )  # fmt: skip
    parser.add_argument(
        "--warm-methods", nargs="+", default=[], metavar="METHOD",
        help="with --warm-start: the methods that also race a warm-started copy on the same "
        "seeds (default: the first model-based method, such as tpe)",
    )  # fmt: skip


def _experiment(args: argparse.Namespace):
    """The experiment the arguments describe: a preset, or dataset, model and methods."""
    from dataclasses import replace

    from tuning.core.config import RunConfig

    ex = front.experiments

    if args.preset:
        exp = ex.PRESETS[args.preset](
            seeds=tuple(args.seeds), parallel=args.parallel, workers=args.workers
        )
    else:
        if not (args.dataset and args.model and args.methods):
            raise UserError(
                "Give --preset classic (or engines), or --dataset, --model and --methods."
            )
        space = o.read_space(args.space)
        base = RunConfig(
            dataset=o.dataset_ref(args.dataset, args.target), model=args.model, space=space,
            n_trials=args.trials, cv_folds=args.folds,
            scoring=args.scoring, grid_points=args.grid_points, workers=args.workers,
        )  # fmt: skip
        exp = ex.ExperimentConfig(
            base=base, methods=tuple(args.methods), seeds=tuple(args.seeds),
            parallel=args.parallel,
        )  # fmt: skip
    if args.dask is not None:  # every member works on the cluster
        exp = replace(exp, base=replace(exp.base, cluster="dask"))
    if args.warm_methods and not args.warm_start:
        raise UserError("--warm-methods needs --warm-start RUN [RUN ...]: the earlier runs to "
                        "start the warm copies from.")  # fmt: skip
    warm_methods = tuple(args.warm_methods or (ex.default_warm(exp.methods) if args.warm_start else ()))
    return replace(exp, target=args.score_target, name=args.name,
                   warm_start=tuple(args.warm_start), warm_methods=warm_methods)  # fmt: skip


def format_compare(info, table, target, scoring: str, traj, warm_bought=()) -> str:
    """The experiment's header, its targets, one row per method (a warm copy is its own row,
    "tpe+warm"), the verdict, and what each warm copy bought (`warm_bought`: WarmBought)."""

    def num(v, fmt="{:.4f}"):
        return "-" if v is None or v != v else fmt.format(v)

    lines = [
        f"\nExperiment {info.name}  [{info.status}]  scoring: {scoring}, seeds: {list(info.config.seeds)}"
    ]
    if target:
        lines.append("T" + front.experiments.level_words(info, traj, target)[1:])
    rows = [
        [r.method, num(r.best_cv) + ("" if r.best_cv_std != r.best_cv_std else f" ± {r.best_cv_std:.4f}"),
         num(r.test), f"{r.complete}/{r.pruned}/{r.failed}", f"{r.seeds_finished}/{r.seeds}",
         num(r.wall_seconds, "{:.1f}"), num(r.fit_seconds, "{:.1f}"),
         num(r.seconds_to_target, "{:.1f}"), num(r.trials_to_target, "{:.0f}"), r.reached]
        for r in table.itertuples()
    ]  # fmt: skip
    header = ["method", "best CV (mean ± std)", "test", "complete/pruned/failed (total)",
              "seeds finished", "wall s", "CPU s", "s to target (median)",
              "trials to target (median)", "reached"]  # fmt: skip
    verdict = front.experiments.verdict(info, table)
    bought = [f"\n{b.sentence}" for b in warm_bought]
    return "\n".join(lines) + "\n" + format_table(header, rows) + "\n" + verdict + "".join(bought)


class Experiments(Command):
    name = "experiments"
    help = "list stored experiments"
    description = "List stored experiments."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        exps = front.experiments.list_experiments(front.open_storage(args.storage))
        if not exps:
            print("No experiments yet. Start one with `python -m tuning compare --preset classic`.")
            return 0
        rows = [
            [e.name, e.status, ", ".join(e.config.entries), str(list(e.config.seeds)),
             str(len(e.runs))]
            for e in exps
        ]  # fmt: skip
        print_table(["experiment", "status", "methods", "seeds", "runs"], rows)
        return 0
