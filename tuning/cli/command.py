"""The shape of one command of `python -m tuning`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Iterator


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


@contextlib.contextmanager
def ctrl_c_sets(stop: threading.Event) -> Iterator[None]:
    """While held, Ctrl-C (SIGINT) only sets `stop`; a second one aborts (KeyboardInterrupt).

    Python's own Ctrl-C raises KeyboardInterrupt wherever the main thread happens to be: inside
    a read of the storage that the members' threads share (a journal's replay left half
    applied), or nowhere at all when the process was started with SIGINT ignored (a background
    job of a shell without job control, e.g. a test suite run with `&`: Python then installs
    no handler, and the command never stopped). A handler of our own does neither. Only the
    main thread can set one: elsewhere (a test calling the command on a thread) a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
