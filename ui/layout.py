"""The shared sidebar: which storage is in use, and the runs this app is working on."""

from __future__ import annotations

import streamlit as st

from tuning.core.errors import StorageError
from tuning.runs.front import experiments
from ui import links, registry, text, widgets


def storage_or_stop() -> None:
    """Stop the page with a clear message when the storage cannot be opened (server down,
    bad URL, read-only folder): every page needs it, and a traceback would say nothing."""
    links.apply_storage_param()
    try:
        registry.storage()
    except StorageError as exc:
        st.error(text.md(exc), icon=":material/database:")
        if len(registry.storage_urls()) > 1:
            with st.sidebar:  # the other storages stay one click away
                st.caption("Storage in use")
                links.storage_picker()
        st.stop()


def sidebar() -> None:
    with st.sidebar:
        st.caption("Storage in use")
        # Plain text, not st.code: a code block makes every page's first load fetch and run a
        # 1.5 MB syntax highlighter (0.5-1 s of the browser's main thread before any chart).
        links.storage_picker()
        if address := registry.dask_address():
            st.caption("Dask cluster")
            st.text(address)  # named by whoever started the app, never by a page
        runs_here()
        # A constant: no user input. st.html sends a style-only block to no place on the page;
        # st.markdown(unsafe_allow_html) made every page fetch a 190 kB HTML parser for it.
        st.html(widgets.STYLE)


def runs_here() -> None:
    """The runs this app works on. It refreshes itself while any works or waits: a page that
    follows a run reruns only its own fragment, so a list drawn once would go stale (a race's
    members start one after another while the sidebar still said "0 running")."""
    manager = registry.manager()
    busy = bool(manager.active_names() or manager.queued())

    @st.fragment(run_every=2.0 if busy else None)
    def panel() -> None:
        queued = manager.queued()
        running = [n for n in manager.active_names() if n not in queued]
        st.caption(
            f"Runs in this app: {len(running)} running (at most {manager.max_running} at once), "
            f"{len(queued)} queued"
        )
        for n in running:
            st.text(f"▶ {n}")
        for i, line in enumerate(queued_lines(queued), 1):
            st.text(f"{i}. {line}")
        if busy and not (running or queued):
            st.rerun()  # a full rerun: run_every=None stops the polling

    panel()


def queued_lines(queued: list[str]) -> list[str]:
    """One line per queued run, except that an experiment's queued members share one line
    (a race of 4 methods on 3 seeds would list 11 names)."""
    groups: dict[str, list[str]] = {}
    for n in queued:
        groups.setdefault(experiments.experiment_of(n) or n, []).append(n)
    lines = []
    for key, names in groups.items():
        if len(names) == 1:
            lines.append(f"{names[0]} (queued)")
        else:
            lines.append(f"{key}: {len(names)} runs queued")
    return lines
