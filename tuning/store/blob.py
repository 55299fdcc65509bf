"""An uploaded CSV kept inside its run's storage (gzip + base64, in chunks of study attributes),
so a worker on another machine can rebuild the run from the storage alone; any Optuna storage
holds it. Written by `StoredRun.store_dataset`, read back by `fetch_dataset_from`."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from tuning.core.config import RunConfig
from tuning.store.storage import data_dir

DATASET_FILE = "dataset_file"  # {"sha256", "chunks", "name"}
DATASET_CHUNK = "dataset_chunk_{}"
BLOB_CHUNK = 512 * 1024  # characters of base64 per study attribute


def dataset_attrs(path: str) -> dict[str, Any]:
    """The study attributes that keep the CSV at `path`: its chunks, then its description."""
    raw = Path(path).read_bytes()
    text = base64.b64encode(gzip.compress(raw)).decode("ascii")
    chunks = [text[i : i + BLOB_CHUNK] for i in range(0, len(text), BLOB_CHUNK)] or [""]
    attrs: dict[str, Any] = {DATASET_CHUNK.format(i): c for i, c in enumerate(chunks)}
    attrs[DATASET_FILE] = {
        "sha256": hashlib.sha256(raw).hexdigest(), "chunks": len(chunks), "name": Path(path).name,
    }  # fmt: skip
    return attrs


def fetch_dataset_from(attrs: dict[str, Any], config: RunConfig) -> RunConfig:
    """fetch_dataset from the study's user attributes, as records and run data hold them."""
    meta = attrs.get(DATASET_FILE)
    if config.dataset.name != "csv" or not meta:
        return config
    if _holds(Path(config.dataset.path or ""), meta["sha256"]):
        return config
    local = data_dir() / "uploads" / f"{meta['sha256']}.csv"
    if not _holds(local, meta["sha256"]):
        text = "".join(attrs[DATASET_CHUNK.format(i)] for i in range(meta["chunks"]))
        _write_whole(local, gzip.decompress(base64.b64decode(text)))
    return replace(config, dataset=replace(config.dataset, path=str(local)))


def _holds(path: Path, sha256: str) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256


def _write_whole(path: Path, raw: bytes) -> None:
    """Write `path` so that a reader sees it whole or not at all: the workers of one run on one
    machine fetch the same copy at once, and a plain write let one read it empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
