"""Uploaded CSV files: saved once per content and name under <data dir>/uploads/<sha256>/<name>.

Runs reference the saved file (DatasetRef("csv", path=...)), so any process can reload it; the
file keeps the name the user gave it (made safe for a path), so runs, tables and the report are
named after the file, not its hash. Uploads saved before as <sha256>.csv stay readable: their
original names are in a small JSON index beside them (`display_name`, tuning.data.labels, which
names an uploaded CSV the same way on every page and in the command line).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

from tuning.data.datasets import upload_name as display_name
from tuning.runs.front import data_dir

__all__ = ["display_name", "safe_file_name", "save_upload", "uploads_dir"]

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
