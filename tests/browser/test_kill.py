"""SIGKILL the app during a run (issue 9): a real `streamlit run app.py`, a run launched in it from
Chromium, a real SIGKILL, a restart on the same data folder. Every completed trial is still
there, the run shows as interrupted with its unfinished trial failed, and Resume finishes it.

The heartbeat window is shortened for the servers (TUNING_STUDIO_STALE_S) so that "killed" is
recognised in seconds rather than a minute. (A killed `python -m tuning worker` is covered in
tests/engine/test_workers.py with real processes too.)
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time

import pytest
from browser_support import (
    ARGS,
    CHROMIUM,
    free_port,
    idle,
    needs_chromium,
    open_page,
    start_server,
    wait,
)
from optuna.trial import TrialState

from tuning.store import compat
from tuning.store.storage import JOURNAL_NAME, open_storage

STALE_S = 3.0

pytestmark = needs_chromium


@pytest.mark.timeout(300)
def test_sigkill_the_app_mid_run_then_restart_and_resume(tmp_path):
    from playwright import sync_api

    expect = sync_api.expect
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    journal = f"journal:///{tmp_path / JOURNAL_NAME}"
    proc = start_server(tmp_path, port, TUNING_STUDIO_STALE_S=str(STALE_S))
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_page(page, f"{url}/new_run", expect)
            # random forest (the default model) with 100-300 trees: trials of about a second
            trials = page.get_by_role("spinbutton", name="Trials", exact=True)
            trials.fill("8")
            trials.press("Enter")
            idle(page, expect)
            page.get_by_role("button", name="Launch run").click()
            page.wait_for_url(re.compile(r".*/live_monitor(\?.*)?$"), timeout=30_000)

            store = open_storage(journal)

            def study():
                (s,) = store.get_all_studies()
                return s

            def mid_run():
                trials = store.get_all_trials(compat.study_id(study()), deepcopy=False)
                complete = [t for t in trials if t.state == TrialState.COMPLETE]
                running = [t for t in trials if t.state == TrialState.RUNNING]
                return len(complete) >= 2 and running and (complete, running)

            complete, running = wait(mid_run, 150, "two complete trials and one running")
            os.kill(proc.pid, signal.SIGKILL)  # no shutdown hook, no flush: a power cut
            proc.wait(10)
            name = study().study_name
            before = {t.number: t.value for t in complete}
            victim = running[0].number

            time.sleep(STALE_S + 1)  # the dead process's heartbeat goes stale
            proc = start_server(tmp_path, port, TUNING_STUDIO_STALE_S=str(STALE_S))
            open_page(page, f"{url}/live_monitor", expect)
            expect(page.get_by_text("interrupted").first).to_be_visible(timeout=30_000)
            expect(page.get_by_text("Resume continues it")).to_be_visible()
            again = open_storage(journal)  # cached reader: re-read the trials
            dead = again.get_trial(again.get_trial_id_from_study_id_trial_number(
                again.get_study_id_from_name(name), victim))  # fmt: skip
            assert dead.state == TrialState.FAIL
            assert "worker stopped responding" in dead.user_attrs["metrics"]["fail_reason"]

            page.get_by_role("button", name="Resume").click()
            expect(page.get_by_text("8 of 8 trials")).to_be_visible(timeout=180_000)
            expect(page.get_by_text("Held-out test score").first).to_be_visible(timeout=60_000)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            browser.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        proc.wait(15)

    store = open_storage(journal)
    sid = store.get_study_id_from_name(name)
    trials = store.get_all_trials(sid, deepcopy=False)
    for number, value in before.items():  # every trial completed before the kill is intact
        assert trials[number].state == TrialState.COMPLETE and trials[number].value == value
    assert trials[victim].state == TrialState.FAIL
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert len(trials) == 8  # the budget, counting the killed trial: nothing lost, nothing extra
    attrs = store.get_study_user_attrs(sid)
    assert attrs["status"] == "finished" and attrs["test"]["score"] is not None
    logs = "".join(p.read_text() for p in tmp_path.glob("server-*.log"))
    assert "Traceback" not in logs
