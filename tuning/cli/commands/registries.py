"""Commands that list what is registered, by the names `run` takes, and a model's default space."""

from __future__ import annotations

import argparse
import json

from tuning.cli import options as o
from tuning.cli.command import Command
from tuning.cli.output import print_table
from tuning.core import hyperopt_space
from tuning.core.errors import UserError
from tuning.data import datasets
from tuning.methods import RECOMMENDED, list_methods, multi_objective_methods
from tuning.models import get_model, list_models


class Datasets(Command):
    name = "datasets"
    help = "list registered datasets"
    description = "List registered datasets."

    def run(self, args: argparse.Namespace) -> int:
        rows = [[d.name, d.task, d.shape_hint, d.description] for d in datasets.list_datasets()]
        print_table(["name", "task", "shape", "description"], rows)
        print(
            "\nOr a CSV file: --dataset PATH.csv --target COLUMN [--task classification|regression]"
        )
        return 0


class Models(Command):
    name = "models"
    help = "list registered models"
    description = "List registered models."

    def run(self, args: argparse.Namespace) -> int:
        rows = [
            [m.name, "/".join(t[:5] + "." for t in m.tasks), m.budget, m.description]
            for m in list_models()
        ]
        print_table(["name", "tasks", "budget", "description"], rows)
        return 0


class Methods(Command):
    name = "methods"
    help = "list search methods"
    description = "List search methods and their options."

    def run(self, args: argparse.Namespace) -> int:
        rows = [
            [m.name, m.family, m.summary,
             ", ".join(f"{k}={v}" for k, v in m.defaults.items()) or "-"]
            for m in list_methods()
        ]  # fmt: skip
        print_table(["name", "family", "description", "options (default)"], rows)
        print(
            f"\nDefault: {RECOMMENDED} (picks one of these from the space, the budget and the "
            "objectives; `show` says which and why). Set options with --option KEY=VALUE."
        )
        print(
            "Multi-objective runs (a score and costs, `run --objective ...`) can use: "
            f"{', '.join(multi_objective_methods())}."
        )
        return 0


class Space(Command):
    name = "space"
    help = "print a model's default search space as JSON"
    description = "Print a model's default search space as JSON, to edit and pass to `run --space`."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help="model name")
        o.TASK.add_to(parser, default="classification", help="task (default classification)")
        parser.add_argument(
            "--hyperopt", action="store_true",
            help='as a Hyperopt space ({"hyperopt": {...}}, each hp.* call written as JSON)',
        )  # fmt: skip

    def run(self, args: argparse.Namespace) -> int:
        model = get_model(args.model)
        if not model.supports(args.task):
            raise UserError(f"{model.label} does not handle {args.task}.")
        space = model.default_space(args.task)
        if args.hyperopt:
            data = {hyperopt_space.HP: hyperopt_space.describe_space(space)}
        else:
            data = space.to_dict()
        print(json.dumps(data, indent=2))
        return 0
