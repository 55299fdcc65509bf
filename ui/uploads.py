"""Uploaded CSV files: saved once per content and name under <data dir>/uploads/<sha256>/<name>.

Runs reference the saved file (DatasetRef("csv", path=...)), so any process can reload it; the
file keeps the name the user gave it (made safe for a path), so runs, tables and the report are
named after the file, not its hash. Uploads saved before as <sha256>.csv stay readable: their
original names are in a small JSON index beside them.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

from tuning.store.storage import data_dir

INDEX = "index.json"  # <sha256> -> original name, for uploads saved as <sha256>.csv
_UNSAFE = re.compile(r"[^\w.\- ]+")


def uploads_dir() -> Path:
    return data_dir() / "uploads"


def safe_file_name(filename: str) -> str:
    """The upload's own file name, kept to characters that are safe in a path and a run name."""
    name = _UNSAFE.sub("_", Path(filename or "").name).strip(" ._")[:100]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        name = f"{name or 'upload'}.csv"
    return name


def save_upload(data: bytes, filename: str) -> Path:
    """Write the bytes (once per content and name); returns the path."""
    digest = hashlib.sha256(data).hexdigest()
    path = uploads_dir() / digest / safe_file_name(filename)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")  # one per writer
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a reader never sees half a file
    return path


def _read_index(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / INDEX).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def display_name(path: str | None) -> str:
    """The uploaded file's original name for a saved path."""
    if not path:
        return "csv"
    p = Path(path)
    name = _read_index(p.parent).get(p.stem)  # an upload saved as <sha256>.csv
    return name or p.name
