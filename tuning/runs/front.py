"""The front door: all that the pages (ui/, app_pages/) and the command line (tuning/cli/) use
of runs, their storage and their workers.

Pages and the command line import from here, from tuning.analysis (what a run's trials say),
tuning.core (configuration, enums, errors), the registries (tuning.methods, tuning.models,
tuning.data), tuning.plots and tuning.report; never from tuning.store or tuning.execution,
whose modules may change shape without them noticing (tests/pages/test_front_door.py checks).

- Where runs live: `open_storage`, `named_storages`, `storage_labels`, `describe_storage`,
  `default_url`, `data_dir`.
- Working on runs: `RunManager` (submit, resume, stop, delete, settle an interrupted run, and
  `executor`: the one place that decides how many workers of which kind work on a run, for the
  app and the command line alike); `choose` (a multi-objective run's trade-off, refit and
  tested); `RunHandle` and `follow_parent` (one worker, `python -m tuning worker`); the Dask
  cluster a process was started with (`dask_address`, `ENV_DASK`); `experiments`, groups of
  runs raced against each other (tuning.runs.experiments); `delete_run` (the command line's
  `delete`, which asks no manager).
- One run: `StoredRun` (open, config, status, request_stop, update_config, set_note,
  set_trial_note) and its typed `RunRecord` (config, status, test, choice, notes,
  dataset_label, `fetch_dataset`).
- Listings: `RunRef` and `run_refs` (from study attributes only: cheap), `RunSummary`,
  `list_runs` and `run_summary` (with a pass over the trials), `top_trials`, `front_numbers`
  (a multi-objective run's Pareto front).
- What the pages say of runs: `STALE_S` (a run silent that long was interrupted), `MAX_NOTE`,
  `needs_config` (why an action is missing for a study another tool made), `trial_attrs`,
  `LIBRARY_DEFAULTS` (the origin of a run's defaults trial), `WARM_START` (the origin of a
  trial queued from an earlier run's best), `origin_count_line` (how many trials came from
  where: "31 model-guided, 5 start-up, 1 library defaults").
- Warm starts (tuning.runs.warmstart): `warm_candidates` (earlier runs ranked as sources for
  a prepared run, each with its similarity and reason), `prepare` (a configuration validated
  against its data), `warm_plan` (what a warm start would queue and narrow).
"""

from __future__ import annotations

from dataclasses import dataclass

from optuna.storages import BaseStorage

from tuning.core.enums import RunStatus
from tuning.execution.choice import front_numbers
from tuning.runs import experiments
from tuning.runs.cluster import ENV_DASK, dask_address
from tuning.runs.prepare import prepare
from tuning.runs.runner import RunHandle, RunManager, choose
from tuning.runs.warmstart import candidates as warm_candidates
from tuning.runs.warmstart import plan as warm_plan
from tuning.runs.workers import follow_parent
from tuning.store.foreign import needs_config
from tuning.store.notes import MAX_NOTE
from tuning.store.origin import count_line as origin_count_line
from tuning.store.records import RunRecord
from tuning.store.results import RunSummary, list_runs, listed_records, run_summary, top_trials
from tuning.store.run import StoredRun
from tuning.store.runs import STALE_S, delete_run
from tuning.store.storage import data_dir, default_url, named_storages, open_storage, storage_labels
from tuning.store.storage import describe as describe_storage
from tuning.store.trials import LIBRARY_DEFAULTS, WARM_START, trial_attrs

__all__ = [
    "ENV_DASK", "MAX_NOTE", "STALE_S", "RunHandle", "RunManager", "RunRecord", "RunRef",
    "RunSummary", "StoredRun", "choose", "dask_address", "data_dir", "default_url", "delete_run",
    "describe_storage", "experiments", "follow_parent", "front_numbers", "list_runs",
    "named_storages", "needs_config", "open_storage", "run_refs", "run_summary",
    "storage_labels", "top_trials", "trial_attrs", "LIBRARY_DEFAULTS", "WARM_START",
    "origin_count_line", "prepare", "warm_candidates", "warm_plan",
]  # fmt: skip


@dataclass(frozen=True)
class RunRef:
    """What a picker needs about a run, read from study attributes only (no trials)."""

    name: str
    status: RunStatus
    created_at: str | None
    foreign: bool = False  # a study another tool made (shown read-only)


def run_refs(storage: BaseStorage) -> list[RunRef]:
    """Every study in the storage, newest first: Tuning Studio's runs (cheap: study attributes
    only) and studies other tools made (their trials give their status and date)."""
    refs = [
        RunRef(rec.name, rec.status, rec.created_at, rec.foreign is not None)
        for _, rec in listed_records(storage)  # in creation order
    ]
    # created_at has whole seconds: among runs created in the same second, the later is newer
    order = {r.name: i for i, r in enumerate(refs)}
    refs.sort(key=lambda r: (r.created_at or "", order[r.name]), reverse=True)
    return refs
