"""Uploaded CSV files: saved once by content hash under <data dir>/uploads/<sha256>.csv.

Runs reference the saved file (DatasetRef("csv", path=...)), so any process can reload it. The
name the user gave the file is kept in a small JSON index beside the files, only for display.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from tuning.store.storage import data_dir

INDEX = "index.json"
_lock = threading.Lock()


def uploads_dir() -> Path:
    return data_dir() / "uploads"


def save_upload(data: bytes, filename: str) -> Path:
    """Write the bytes (once per content) and remember the original file name; returns the path."""
    digest = hashlib.sha256(data).hexdigest()
    folder = uploads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.csv"
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a reader never sees half a file
    with _lock:
        index = _read_index(folder)
        if index.get(digest) != filename:
            index[digest] = Path(filename).name[:200]
            (folder / INDEX).write_text(json.dumps(index, indent=0))
    return path


def _read_index(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / INDEX).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def display_name(path: str | None) -> str:
    """The uploaded file's original name for a saved path, else the path's file name."""
    if not path:
        return "csv"
    p = Path(path)
    name = _read_index(p.parent).get(p.stem)
    return name or p.name
