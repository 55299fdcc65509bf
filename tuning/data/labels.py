"""How a run's dataset is named to people: the one label that listings, pages and the command
line show, with an uploaded CSV under the name it was uploaded with.

The label itself is `DatasetRef.label()` (also what run names and reports use); a listing names
an uploaded CSV by its original file name and leaves out the task a CSV was given. Uploads are
saved as `<uploads>/<sha256>/<name>`, so the path's own file name is that name; uploads saved by
earlier versions as `<sha256>.csv` keep their original names in a small JSON index beside them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from tuning.core.config import DatasetRef
from tuning.data.registry import REGISTRY

INDEX = "index.json"  # <sha256> -> original name, for uploads saved as <sha256>.csv


def read_index(folder: Path) -> dict[str, str]:
    """The index of uploads saved as <sha256>.csv in `folder` ({} when there is none)."""
    try:
        data = json.loads((folder / INDEX).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def upload_name(path: str | None) -> str:
    """The original name of the CSV file saved at `path` ("csv" when there is no path)."""
    if not path:
        return "csv"
    p = Path(path)
    name = read_index(p.parent).get(p.stem)  # an upload saved as <sha256>.csv
    return name or p.name


def dataset_label(ref: DatasetRef | Mapping[str, Any]) -> str:
    """A run's dataset as people read it: "Iris", "Moons (synthetic) (n_samples=500)",
    "my.csv → price";
    "?" for a reference this version cannot read."""
    try:
        ref = DatasetRef.from_dict(ref)
    except Exception:  # noqa: BLE001 - a saved reference of another version: unknown, not an error
        return "?"
    if ref.name == "csv":
        ref = replace(ref, path=upload_name(ref.path), task=None)
        return ref.label()
    spec = REGISTRY.get(ref.name)
    if spec is None:
        return ref.label()
    inner = ", ".join(f"{k}={v}" for k, v in ref.params.items())
    return f"{spec.label} ({inner})" if inner else spec.label
