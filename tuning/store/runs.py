"""Runs in a storage: naming, opening, deleting, reading a status, counting budget.

A run is an Optuna study whose configuration is saved on it as JSON; its attributes are read
and written by `tuning.store.run.StoredRun`. What is here needs no run object: names, the
staleness windows, and the rules that read a status or a trial list.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from tuning.core.enums import STATUSES, STOPPED_BY_USER, RunStatus
from tuning.core.errors import ConfigError
from tuning.store.storage import open_storage
from tuning.store.trials import used_budget, worker_name

__all__ = ["STATUSES", "STOPPED_BY_USER"]

# A "running" run, or a worker, whose heartbeat is older than STALE_S was killed.
STALE_S = float(os.environ.get("TUNING_STUDIO_STALE_S") or 60.0)
HEARTBEAT_S = min(10.0, STALE_S / 4)
STOP_POLL_S = min(1.0, HEARTBEAT_S)  # how often a worker looks for a stop from another process
BEATING_S = 2.5 * HEARTBEAT_S  # a worker silent for longer has stopped beating

# -- names -----------------------------------------------------------------------------------
_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_name(name: str) -> str:
    """Run names are shown everywhere and used in file names: keep them to a safe alphabet."""
    clean = _NAME_OK.sub("-", name).strip("-.")[:100]
    if not clean:
        raise ConfigError("A run name needs at least one letter or digit.")
    return clean


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def unique_name(storage: BaseStorage, base: str) -> str:
    existing = {s.study_name for s in storage.get_all_studies()}
    name, i = base, 2
    while name in existing:
        name, i = f"{base}-{i}", i + 1
    return name


def as_storage(storage: BaseStorage | str | None) -> BaseStorage:
    """A storage object from an object, a URL, or None (the default storage)."""
    return storage if isinstance(storage, BaseStorage) else open_storage(storage)


# -- loading ---------------------------------------------------------------------------------
def load_study(name: str, storage: BaseStorage | str | None = None) -> optuna.Study:
    storage = as_storage(storage)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in storage.get_all_studies()]
        hint = f" Runs: {', '.join(names[-5:])}." if names else " There are no runs yet."
        raise ConfigError(f"No run named '{name}'.{hint}") from None


def delete_run(name: str, storage: BaseStorage | str | None = None) -> None:
    storage = as_storage(storage)
    load_study(name, storage)  # clear error if missing
    optuna.delete_study(study_name=name, storage=storage)


# -- status ----------------------------------------------------------------------------------
def run_status(attrs: dict[str, Any], now: float | None = None) -> RunStatus:
    """The run's status as readers should see it: "running" with a heartbeat older than
    STALE_S means its process was killed (interrupted)."""
    status = RunStatus.parse(attrs.get("status"))
    if status == RunStatus.RUNNING:
        beat = attrs.get("heartbeat")
        if beat is not None and (now or time.time()) - beat > STALE_S:
            return RunStatus.INTERRUPTED
    return status


# -- workers and budget ----------------------------------------------------------------------
def counted(trials: Iterable[FrozenTrial]) -> int:
    """Trials that used budget: finished ones, except those cut short by a Stop and those
    whose worker died and that were queued again (their retry counts instead). The library
    defaults' trial counts like any other (tuning/execution/claims.py says why)."""
    return sum(1 for t in trials if t.state.is_finished() and used_budget(t))


def worker_key(worker: str | None = None) -> str:
    return f"worker:{worker or worker_name()}"
