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
  trial queued from an earlier run's best), `WARM_WORDS` (how a warm-started run is named),
  `origin_count_line` (how many trials came from where: "31 model-guided, 5 start-up, 1
  library defaults").
- Replaying a sampler's reasoning (tuning.analysis.replay): `run_sampler` (the sampler that
  proposed a run's trials, as the run made it), `REPLAY_AS` and `default_sampler` (a sampler
  with Optuna's default settings, for a study whose sampler was not recorded).
- Warm starts (tuning.runs.warmstart): `warm_candidates` (earlier runs ranked as sources for
  a prepared run, each with its similarity and reason), `prepare` (a configuration validated
  against its data), `warm_plan` (what a warm start would queue and narrow).
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.storages import BaseStorage

from tuning.core.enums import RunStatus
from tuning.execution.choice import front_numbers
from tuning.methods import get_method
from tuning.methods.samplers import SamplerMethod
from tuning.runs import experiments
from tuning.runs.cluster import ENV_DASK, dask_address
from tuning.runs.entries import WARM_WORDS
from tuning.runs.prepare import prepare
from tuning.runs.runner import RunHandle, RunManager, choose
from tuning.runs.warmstart import candidates as warm_candidates
from tuning.runs.warmstart import plan as warm_plan
from tuning.runs.workers import follow_parent
from tuning.store.foreign import needs_config
from tuning.store.notes import MAX_NOTE
from tuning.store.origin import count_line as origin_count_line
from tuning.store.records import RunRecord
from tuning.store.results import (
    RunSummary,
    has_complete_trial,
    list_runs,
    listed_records,
    run_summary,
    top_trials,
)
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
    "origin_count_line", "prepare", "warm_candidates", "warm_plan", "run_sampler", "REPLAY_AS",
    "default_sampler", "has_complete_trial", "WARM_WORDS",
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


# The samplers a study made outside Tuning Studio can be replayed as (its own is not recorded).
REPLAY_AS = {
    "tpe": "Bayesian (TPE)", "gp": "Bayesian (Gaussian process)", "cmaes": "CMA-ES",
}  # fmt: skip


def run_sampler(record: RunRecord) -> optuna.samplers.BaseSampler | str:
    """The sampler that proposed the run's trials, as the run made it (its method with the
    method's settings, the run's seed), to replay its reasoning; a sentence where it cannot be
    known. The seed only moves the candidates a sampler drew, not its model of the trials."""
    if record.foreign is not None:
        return ("This study was made outside Tuning Studio: which sampler proposed its trials, "
                "and with what settings, was not recorded.")  # fmt: skip
    config = record.config
    if config is None:
        return "This run's configuration cannot be read, so its sampler is not known."
    spec = get_method(config.method)
    if not isinstance(spec, SamplerMethod) or spec.make_sampler is None:
        return f"{spec.label} does not propose trials with an Optuna sampler."
    return spec.sampler(config.seed, config.method_options)


def default_sampler(kind: str, seed: int = 0) -> optuna.samplers.BaseSampler:
    """One of REPLAY_AS's samplers with Optuna's default settings (what plain Optuna code that
    named the sampler without options would have run)."""
    made = {"tpe": optuna.samplers.TPESampler, "gp": optuna.samplers.GPSampler,
            "cmaes": optuna.samplers.CmaEsSampler}  # fmt: skip
    if kind not in made:
        raise ValueError(f"Unknown sampler '{kind}': choose one of {', '.join(made)}.")
    return made[kind](seed=seed)
