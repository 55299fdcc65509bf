"""Session-state keys shared by pages, and the few plain (non-widget) values they carry.

Widget state is dropped when a widget is not rendered (e.g. on another page), so anything that
must survive a page switch is copied into a plain key here. Session state holds UI choices only:
never threads, studies or feeds (those live in ui.registry, shared by every session).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

SELECTED_RUN = "selected_run"  # the run Live monitor, Analysis and Report show (plain key)
LAST_LAUNCH = "last_launch"  # (fingerprint, time, run name) of the last launch: double-click guard
PENDING_DELETE = "pending_delete"  # run name waiting for the delete confirmation on Home
FLASH = "flash"  # one message shown once on the next page (e.g. "run deleted")
STORAGE_INDEX = "storage_index"  # which of the started-with storages this session uses

# Widget keys (pages read them back with st.session_state when needed).
LIVE_PICK = "live_run_pick"
HOME_PICK = "home_run_pick"
STORAGE_PICK = "storage_pick"


def selected_run() -> str | None:
    return st.session_state.get(SELECTED_RUN)


def select_run(name: str | None) -> None:
    st.session_state[SELECTED_RUN] = name


def chosen_run(
    names: Sequence[str], asked: str | None, has_results: Callable[[str], bool]
) -> str:
    """The run a per-run page shows, of `names` (newest first): the one the page's link names
    (`asked`), else the one chosen on any page before, else the newest run that has complete
    trials (a never-started member of an experiment is newer but has nothing to show), else
    the newest. The choice is remembered for the other pages."""
    if asked in names:
        wanted = asked
    elif selected_run() in names:
        wanted = selected_run()
    else:
        wanted = default_run(names, has_results)
    select_run(wanted)
    return wanted


def default_run(names: Sequence[str], has_results: Callable[[str], bool]) -> str:
    """With none chosen, of `names` (newest first): the newest run that has complete trials (a
    never-started member of an experiment is newer but has nothing to show), else the newest."""
    return next((n for n in names if has_results(n)), names[0])


def flash(message: str, kind: str = "success") -> None:
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    """Show (once) a message left by the previous page run."""
    item = st.session_state.pop(FLASH, None)
    if item is None:
        return
    kind, message = item
    {"success": st.success, "info": st.info, "warning": st.warning}.get(kind, st.info)(message)


# Page files, for st.switch_page / st.page_link (registered in app.py).
PAGE_HOME = "app_pages/home.py"
PAGE_NEW_RUN = "app_pages/new_run.py"
PAGE_LIVE = "app_pages/live_monitor.py"
PAGE_ANALYSIS = "app_pages/analysis.py"
PAGE_REPORT = "app_pages/report.py"
PAGE_COMPARE = "app_pages/compare.py"
