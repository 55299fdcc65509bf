"""The Live monitor's long-lived reader (tuning.analysis.live.LiveRun): after its first read a
look costs only the new trials, so the page skips its loading skeleton (ui/monitor.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
from conftest import make_config

from tuning.analysis import LiveRun
from tuning.analysis.live import elapsed_seconds
from tuning.core.enums import RunStatus
from tuning.runs.runner import create_run, execute


def test_a_reader_is_warm_once_it_has_read_the_trials(storage):
    name = create_run(make_config("knn", "random", n_trials=3), storage)
    assert execute(name, storage, refit=False) == "finished"
    reader = LiveRun(storage, name)
    assert not reader.warm  # the first look reads every trial: the skeleton shows meanwhile
    assert reader.read().n_complete == 3
    assert reader.warm


def test_a_run_whose_process_died_is_not_timed_until_the_death_was_noticed():
    # Its unfinished trial is marked failed when the missing heartbeat is noticed (here 90 min
    # later): the run worked 4 s, not an hour and a half.
    record = SimpleNamespace(status=RunStatus.INTERRUPTED, elapsed_s=None)
    df = pd.DataFrame({
        "state": ["complete", "complete", "failed"],
        "start": ["2026-12-07 10:00:00", "2026-12-07 10:00:02", "2026-12-07 10:00:04"],
        "complete": ["2026-12-07 10:00:02", "2026-12-07 10:00:04", "2026-12-07 11:30:00"],
    })  # fmt: skip
    assert elapsed_seconds(record, df, now=0.0) == 4.0
