"""The app's side of issue 9: the fault settings on New run, and storage faults shown as
messages rather than tracebacks."""

from __future__ import annotations

import pytest
from app_support import LIVE, NEW_RUN, app, ok, texts, wait_until_idle
from app_support import fresh_data as fresh_data  # noqa: F401  (fixture)
from optuna.trial import TrialState

from tuning.store.run import StoredRun
from tuning.store.runs import load_study
from ui import state


@pytest.mark.usefixtures("fresh_data")
def test_time_limit_and_failure_limit_are_settings_on_new_run():
    at = ok(app(NEW_RUN))
    at.selectbox(key="model_classification").set_value("knn").run()
    at.number_input(key="n_trials").set_value(6).run()
    at.slider(key="cv_folds").set_value(3).run()
    limit = at.number_input(key="trial_timeout")
    assert limit.value is None and "failed, with the reason" in limit.help  # no limit by default
    assert at.number_input(key="max_failures").value == 10
    at.number_input(key="trial_timeout").set_value(60.0).run()
    at.number_input(key="max_failures").set_value(3).run()
    at.button(key="launch").click().run()
    ok(at)
    wait_until_idle()
    name = at.session_state[state.SELECTED_RUN]
    config = StoredRun.open(name).config()
    assert config.trial_timeout_s == 60.0 and config.max_consecutive_failures == 3
    # iris with kNN takes milliseconds a trial: a 60 s limit fails none of them
    trials = load_study(name).get_trials(deepcopy=False)
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in trials)


@pytest.mark.usefixtures("fresh_data")
@pytest.mark.parametrize("page", [None, NEW_RUN, LIVE, "app_pages/report.py"])
def test_an_unreachable_storage_is_a_message_on_every_page(page, monkeypatch):
    monkeypatch.setenv("TUNING_STUDIO_STORAGE", "postgresql+psycopg://tuner:s3cret@127.0.0.1:1/x")
    at = ok(app(page))  # the message, not an exception
    errors = texts(at.error)
    assert any("Cannot open storage postgresql+psycopg://127.0.0.1:1/x" in e for e in errors)
    assert any("server is running" in e for e in errors)
    assert not any("s3cret" in e for e in errors)
    monkeypatch.delenv("TUNING_STUDIO_STORAGE")  # before fresh_data's teardown stops its runs
