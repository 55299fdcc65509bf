"""The shape of one command of `python -m tuning`."""

from __future__ import annotations

import argparse


class Command:
    """One subcommand: its texts for `--help`, its arguments, and what it does.

    `main` adds a subparser per command (`name`, `help`, `description`, `epilog`), lets
    `add_arguments` declare the arguments, and calls `run` with the parsed arguments; `run`
    returns the exit status and raises `UserError` for input the user has to change.
    """

    name: str
    help: str
    description: str
    epilog: str | None = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's arguments; a command without any keeps this."""

    def run(self, args: argparse.Namespace) -> int:
        raise NotImplementedError
