"""An uploaded CSV kept inside its run's storage (gzip + base64, in chunks of study attributes),
so a worker on another machine can rebuild the run from the storage alone; any Optuna storage
holds it. Written by `StoredRun.store_dataset`, read back by `fetch_dataset_from`."""

from __future__ import annotations

import base64
import gzip
import hashlib
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
    path = Path(config.dataset.path or "")
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]:
        return config
    text = "".join(attrs[DATASET_CHUNK.format(i)] for i in range(meta["chunks"]))
    raw = gzip.decompress(base64.b64decode(text))
    local = data_dir() / "uploads" / f"{meta['sha256']}.csv"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(raw)
    return replace(config, dataset=replace(config.dataset, path=str(local)))
