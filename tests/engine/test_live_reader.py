"""The Live monitor's long-lived reader (tuning.analysis.live.LiveRun): after its first read a
look costs only the new trials, so the page skips its loading skeleton (ui/monitor.py)."""

from __future__ import annotations

from conftest import make_config

from tuning.analysis import LiveRun
from tuning.runs.runner import create_run, execute


def test_a_reader_is_warm_once_it_has_read_the_trials(storage):
    name = create_run(make_config("knn", "random", n_trials=3), storage)
    assert execute(name, storage, refit=False) == "finished"
    reader = LiveRun(storage, name)
    assert not reader.warm  # the first look reads every trial: the skeleton shows meanwhile
    assert reader.read().n_complete == 3
    assert reader.warm
