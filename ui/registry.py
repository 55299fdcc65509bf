"""Process-wide objects, shared by every browser session through st.cache_resource.

- the storage (tuning.runs.front.open_storage keeps one object per URL and process);
- one RunManager per storage URL: each run (experiments' members too) in its own worker
  process(es) (a thread only for in-memory storage), at most `max_running` at once, the rest
  queued. Released (e.g. by "Clear cache") with stop_all, so no run is orphaned;
- one LiveRun (long-lived TrialFeed + importance) per storage URL and run name.

Session state never holds any of these: a page reload starts a new session, and the runs must
outlive it.
"""

from __future__ import annotations

import os
import sys

import streamlit as st
from optuna.storages import BaseStorage

from tuning.analysis import LiveRun
from tuning.runs.front import RunManager, named_storages, open_storage, storage_labels
from tuning.runs.front import dask_address as named_cluster
from ui import state

ENV_MAX_RUNNING = "TUNING_STUDIO_MAX_RUNNING"
DEFAULT_MAX_RUNNING = 2


def storage_urls() -> list[str]:
    """The storages whoever started the app named (`streamlit run app.py -- --storage URL
    --storage URL2`, or $TUNING_STUDIO_STORAGES); by default the one of
    $TUNING_STUDIO_STORAGE, or the journal under $TUNING_STUDIO_DATA."""
    return named_storages(sys.argv[1:])


def storage_index() -> int:
    """Which of storage_urls() this session uses (the sidebar's choice; 0 by default)."""
    i = st.session_state.get(state.STORAGE_INDEX, 0)
    return i if isinstance(i, int) and 0 <= i < len(storage_urls()) else 0


def storage_url() -> str:
    """The storage this session uses."""
    return storage_urls()[storage_index()]


def storage_label() -> str:
    """The storage for people: a journal file's path, or the URL without its password."""
    return storage_labels(storage_urls())[storage_index()]


def dask_address() -> str | None:
    """The Dask scheduler this app was started with (`streamlit run app.py -- --dask ADDRESS`
    or $TUNING_STUDIO_DASK); None: runs work on this machine only. Never taken from a page:
    a Dask client unpickles what its scheduler sends."""
    return named_cluster(sys.argv[1:])


def storage() -> BaseStorage:
    return open_storage(storage_url())


def max_running() -> int:
    try:
        return max(1, int(os.environ.get(ENV_MAX_RUNNING, DEFAULT_MAX_RUNNING)))
    except ValueError:
        return DEFAULT_MAX_RUNNING


def _release_manager(manager: RunManager) -> None:
    manager.stop_all()


@st.cache_resource(on_release=_release_manager, show_spinner=False)
def _manager(url: str, cap: int, dask: str | None = None) -> RunManager:
    return RunManager(open_storage(url), max_running=cap, dask=dask)


def manager() -> RunManager:
    """The RunManager of this server process for the storage in use (and its Dask cluster)."""
    return _manager(storage_url(), max_running(), dask_address())


@st.cache_resource(max_entries=64, show_spinner=False)
def _live_run(url: str, name: str) -> LiveRun:
    return LiveRun(open_storage(url), name)


def live_run(name: str) -> LiveRun:
    """The long-lived reader of one run (its TrialFeed reads only new or unfinished trials)."""
    return _live_run(storage_url(), name)


def reader(store: BaseStorage, name: str) -> LiveRun:
    """The session's long-lived reader where `store` is the session's storage (it reads only
    new trials at each of a page's polls); a reader of its own elsewhere (the recorded race)."""
    return live_run(name) if store is storage() else LiveRun(store, name)


def forget(name: str) -> None:
    """Drop the reader of a deleted run (a new run may later take its name)."""
    _live_run.clear(storage_url(), name)
