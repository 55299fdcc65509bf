"""Load (issue 9): several browser sessions launch runs at once on one real server.

Four Chromium sessions fill in New run, then all click Launch within a moment, one of them with a
double click. The cap (2 at once here) holds at every moment the storage is sampled, the runs
beyond it wait in a queue that their pages show, the double click starts one run, not two, and
a fifth session still gets Home rendered while the runs work. benchmarks/load.py measures the
response times.
"""

from __future__ import annotations

import time

import pytest
from browser_support import (
    ARGS,
    CHROMIUM,
    cv_folds_to_3,
    free_port,
    needs_chromium,
    open_page,
    set_number,
    start_server,
)

from tuning.store.storage import JOURNAL_NAME, open_storage

pytestmark = needs_chromium
SESSIONS = 4
CAP = 2


def fill_form(page, expect, url: str, seed: int) -> None:
    open_page(page, f"{url}/new_run", expect)
    # random forest (the default) on iris, 3 trials of 3 folds: seconds a run, long enough to queue
    set_number(page, expect, "Trials", 3)
    cv_folds_to_3(page, expect)
    set_number(page, expect, "Seed", seed)


@pytest.mark.timeout(360)
def test_sessions_launching_at_once_respect_the_cap_and_never_duplicate(tmp_path):
    from playwright import sync_api

    expect = sync_api.expect
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(tmp_path, port, TUNING_STUDIO_MAX_RUNNING=str(CAP))
    store = open_storage(f"journal:///{tmp_path / JOURNAL_NAME}")
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            pages = [browser.new_context().new_page() for _ in range(SESSIONS)]
            for i, page in enumerate(pages):
                fill_form(page, expect, url, seed=i)
            buttons = [page.get_by_role("button", name="Launch run") for page in pages]
            buttons[0].dblclick()  # a double click: one run
            for b in buttons[1:]:
                b.click()

            most, seen_queued, banner, home_s = 0, False, False, None
            end = time.time() + 260
            while time.time() < end:
                statuses = [s.user_attrs.get("status") for s in store.get_all_studies()]
                most = max(most, statuses.count("running"))
                if len(statuses) == SESSIONS and all(s == "finished" for s in statuses):
                    break
                if home_s is None and statuses.count("running") == CAP and "queued" in statuses:
                    seen_queued = True
                    # the queued runs' pages show the queue (they refresh themselves) ...
                    for _ in range(50):
                        banner = any(pg.get_by_text("at most 2 runs work at once").count()
                                     for pg in pages)  # fmt: skip
                        if banner:
                            break
                        time.sleep(0.2)
                    # ... and another session still gets a page while the runs work
                    t0 = time.time()
                    extra = browser.new_context().new_page()
                    open_page(extra, url, expect)
                    expect(extra.get_by_role("heading", name="Tuning Studio")).to_be_visible()
                    home_s = time.time() - t0
                    extra.context.close()
                time.sleep(0.1)
            studies = store.get_all_studies()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(15)

    assert len(studies) == SESSIONS, [s.study_name for s in studies]  # no duplicate
    statuses = {s.study_name: s.user_attrs.get("status") for s in studies}
    assert set(statuses.values()) == {"finished"}, statuses
    assert sorted(s.user_attrs["config"]["seed"] for s in studies) == list(range(SESSIONS))
    assert most == CAP  # the cap was reached and never exceeded
    assert seen_queued and banner
    # Responsive while runs work. Generous, as the machine is shared (a load average of 18 on
    # 2 cores was seen, and Home then took 40 s); benchmarks/load.py gives the figures.
    assert home_s is not None and home_s < 120, home_s
    logs = "".join(p.read_text() for p in tmp_path.glob("server-*.log"))
    assert "Traceback" not in logs
