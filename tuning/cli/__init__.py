"""Command line: `python -m tuning COMMAND`, one `Command` object per command.

The commands live in `tuning.cli.commands` (grouped by what they work on), the options several
of them share in `tuning.cli.options`, their text output in `tuning.cli.output`.
"""

from __future__ import annotations

import argparse
import sys

import optuna

from tuning.cli.command import Command
from tuning.cli.commands.compare import Compare, Experiments
from tuning.cli.commands.registries import Datasets, Methods, Models, Space
from tuning.cli.commands.runs import Choose, Resume, Run, Stop, Worker
from tuning.cli.commands.stored import Delete, List, Report, Show
from tuning.core.errors import UserError
from tuning.models.custom import allow

EPILOG = (
    "Runs are stored in the embedded journal file under ./data (or $TUNING_STUDIO_DATA); "
    "--storage or $TUNING_STUDIO_STORAGE selects any Optuna storage URL instead."
)

# In the order `--help` lists them.
COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Run(), Resume(), Worker(), Stop(), Choose(), List(), Show(), Delete(), Compare(),
        Experiments(), Report(), Datasets(), Models(), Methods(), Space(),
    )
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tuning",
        description="Tuning Studio: hyperparameter tuning with Optuna and scikit-learn.",
        epilog=EPILOG,
    )
    parser.add_argument(
        "--allow-estimator", action="append", default=[], metavar="MODULE",
        help="allow importing own estimators from MODULE (and its submodules) for the runs "
        "this command resumes, joins or reports; repeatable (or set $TUNING_STUDIO_ESTIMATORS)",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_arguments(
            sub.add_parser(
                command.name,
                help=command.help,
                description=command.description,
                epilog=command.epilog,
            )
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv), run the command; its exit status (2: bad input)."""
    args = build_parser().parse_args(argv)
    # The progress bar and the summary say how each trial went: Optuna's line per trial (INFO)
    # would break the bar; its warnings still show.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for module in args.allow_estimator:
        allow(module)
    try:
        return COMMANDS[args.command].run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
