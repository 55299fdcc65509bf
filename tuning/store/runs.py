"""A run's record in its storage: naming, loading, status, workers' heartbeats, dataset blobs.

A run is an Optuna study whose configuration is saved on it as JSON; everything here reads or
writes the study's attributes, so any process (the app, the command line, a remote worker)
sees the same run.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import re
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from tuning.core.config import RunConfig
from tuning.core.enums import STATUSES, STOPPED_BY_USER, RunStatus
from tuning.core.errors import ConfigError
from tuning.evaluation.metrics import used_budget, worker_name
from tuning.store.storage import data_dir, open_storage

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
def load_config(name: str, storage: BaseStorage | str | None = None) -> RunConfig:
    return config_of(load_study(name, storage))


def config_of(study: optuna.Study) -> RunConfig:
    """The run's configuration; a study without one is not a (complete) Tuning Studio run."""
    saved = study.user_attrs.get("config")
    if saved is None:
        raise ConfigError(
            f"'{study.study_name}' is not a Tuning Studio run: it has no saved configuration "
            "(another tool made it, or its creation was cut short). Delete it or pick a run "
            "from `python -m tuning list`."
        )
    return RunConfig.from_dict(saved)


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


def set_status(study: optuna.Study, status: RunStatus, message: str | None = None) -> None:
    """Write the run's status (stored as its plain string), its message, and when it ended."""
    status = RunStatus(status)
    study.set_user_attr("status", status.value)
    if message is not None:
        study.set_user_attr("message", message)
    if status.ended:
        study.set_user_attr("ended_at", now_iso())


# -- workers and budget ----------------------------------------------------------------------
def counted(trials: Iterable[FrozenTrial]) -> int:
    """Trials that used budget: finished ones, except those cut short by a Stop and those
    whose worker died and that were queued again (their retry counts instead)."""
    return sum(1 for t in trials if t.state.is_finished() and used_budget(t))


def worker_key(worker: str | None = None) -> str:
    return f"worker:{worker or worker_name()}"


def live_workers(
    attrs: dict[str, Any], now: float | None = None, window: float | None = None
) -> dict[str, dict]:
    """Workers whose heartbeat is fresh and who have not signed off.

    The default window (STALE_S) is the patient one, for failing another worker's trials; who
    sets a run's final status asks with BEATING_S, so a worker killed half a minute ago does not
    keep the run "running" until its heartbeat is a minute old.
    """
    now = now or time.time()
    window = STALE_S if window is None else window
    return {
        k[len("worker:") :]: v
        for k, v in attrs.items()
        if k.startswith("worker:") and not v.get("done") and now - v.get("ts", 0) <= window
    }


# -- an uploaded CSV kept inside the run -----------------------------------------------------
BLOB_CHUNK = 512 * 1024  # characters of base64 per study attribute


def store_dataset(study: optuna.Study, path: str) -> None:
    """Keep an uploaded CSV inside the run's storage (gzip + base64, in chunks), so a worker on
    another machine can rebuild the run from the storage alone; any Optuna storage holds it."""
    raw = Path(path).read_bytes()
    text = base64.b64encode(gzip.compress(raw)).decode("ascii")
    chunks = [text[i : i + BLOB_CHUNK] for i in range(0, len(text), BLOB_CHUNK)] or [""]
    for i, chunk in enumerate(chunks):
        study.set_user_attr(f"dataset_chunk_{i}", chunk)
    study.set_user_attr(
        "dataset_file",
        {"sha256": hashlib.sha256(raw).hexdigest(), "chunks": len(chunks), "name": Path(path).name},
    )


def fetch_dataset(study: optuna.Study, config: RunConfig) -> RunConfig:
    """Point the config at a local copy of the run's CSV, fetched from the storage if needed."""
    return fetch_dataset_from(study.user_attrs, config)


def fetch_dataset_from(attrs: dict, config: RunConfig) -> RunConfig:
    """fetch_dataset from the study's user attributes, as records and run data hold them."""
    meta = attrs.get("dataset_file")
    if config.dataset.name != "csv" or not meta:
        return config
    path = Path(config.dataset.path or "")
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]:
        return config
    text = "".join(attrs[f"dataset_chunk_{i}"] for i in range(meta["chunks"]))
    raw = gzip.decompress(base64.b64decode(text))
    local = data_dir() / "uploads" / f"{meta['sha256']}.csv"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(raw)
    return replace(config, dataset=replace(config.dataset, path=str(local)))
