"""Links: every page that shows one run or experiment has a URL naming it.

`?run=NAME` (Live monitor, Analysis, Report) or `?experiment=NAME` (Compare methods), with
`&storage=<index or label>` when the app was started with several storages. A link names only a
choice among the storages the app was started with, never a URL or a path: the browser cannot
point the app at a storage. Opening a link selects what it names; the pickers write their
choice back, so the address bar and the picker stay in step (st.query_params).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from tuning.runs.front import storage_labels
from ui import registry, state, text

RUN, EXPERIMENT, STORAGE = "run", "experiment", "storage"
# The pages' URL paths (st.Page's default: the file name without .py).
LIVE, ANALYSIS, REPORT, COMPARE = "live_monitor", "analysis", "report", "compare"
JOURNAL = "journal file "  # how tuning.runs.front.storage_labels names a journal file
LOCAL_BASE = "http://localhost:8501"  # when the browser's address is not known (tests)


def apply_storage_param() -> None:
    """Select the storage a link names (`?storage=1` or its label), before anything reads it."""
    value = st.query_params.get(STORAGE)
    if value is None:
        return
    labels = storage_labels(registry.storage_urls())
    index = None
    if value.isdigit() and int(value) < len(labels):
        index = int(value)
    elif value in labels:
        index = labels.index(value)
    if index is None:
        choices = ", ".join(f"{i} ({lb})" for i, lb in enumerate(labels))
        st.warning(
            text.md(f"The link names storage '{value}', which this app was not started with: "
                    f"showing {labels[registry.storage_index()]}. Its storages: {choices}."),
            icon=":material/link_off:",
        )  # fmt: skip
        return
    st.session_state[state.STORAGE_INDEX] = index


def storage_picker() -> None:
    """The sidebar's switch between the storages the app was started with (labels without
    passwords); shown only when there are several."""
    urls = registry.storage_urls()
    if len(urls) < 2:
        label = registry.storage_label()
        short, where = short_storage(label)
        st.text(short, help=label)
        if where:
            st.caption(text.md(where).replace("/", "/\u200b"))  # wraps at the separators
        return
    labels = storage_labels(urls)
    current = registry.storage_index()
    if st.session_state.get(state.STORAGE_PICK) != current:
        st.session_state[state.STORAGE_PICK] = current  # a link chose another storage

    def changed() -> None:
        st.session_state[state.STORAGE_INDEX] = st.session_state[state.STORAGE_PICK]
        st.query_params[STORAGE] = str(st.session_state[state.STORAGE_PICK])
        st.query_params.pop(RUN, None)  # a run of the old storage is not in the new one
        st.query_params.pop(EXPERIMENT, None)

    st.selectbox(
        "Storage", range(len(urls)), key=state.STORAGE_PICK, on_change=changed,
        format_func=lambda i: labels[i], label_visibility="collapsed",
        help="The storages this app was started with (--storage, or TUNING_STUDIO_STORAGES)",
    )  # fmt: skip


def short_storage(label: str) -> tuple[str, str]:
    """A storage's label cut for the narrow sidebar: (its short name, where it is). A journal
    file reads "runs.journal" with its folder below; a URL its database, with the server."""
    if label.startswith(JOURNAL):
        path = label[len(JOURNAL) :]
        folder, _, file = path.rpartition("/")
        return file or path, f"journal file in {folder or '/'}"
    scheme, sep, rest = label.partition("://")
    if not sep:
        return label, ""
    server, _, database = rest.partition("/")
    if not server:  # a file: sqlite:///folder/runs.db
        folder, _, file = database.rpartition("/")
        return file or label, f"{scheme} file in /{folder}"
    return (database or server), f"{scheme} on {server}" if database else scheme


def linked(key: str) -> str | None:
    """What the page's URL names (`run` or `experiment`), if anything."""
    return st.query_params.get(key)


def follow(key: str, name: str) -> None:
    """Write the picker's choice into the URL (and the storage, when there are several)."""
    if st.query_params.get(key) != name:
        st.query_params[key] = name
    if len(registry.storage_urls()) > 1:
        index = str(registry.storage_index())
        if st.query_params.get(STORAGE) != index:
            st.query_params[STORAGE] = index


def url(page: str, **params: str) -> str:
    """The address of `page` showing what `params` name, as the browser reached this app."""
    address = st.context.url or LOCAL_BASE
    parts = urlsplit(address)
    base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else LOCAL_BASE
    prefix = (st.get_option("server.baseUrlPath") or "").strip("/")
    path = "/".join(p for p in (prefix, page) if p)
    if len(registry.storage_urls()) > 1:
        params = {**params, STORAGE: str(registry.storage_index())}
    return f"{base}/{path}?{urlencode(params)}"


def copy_link(page: str, **params: str) -> None:
    """One click copies the link (the code block's copy button), inside a popover so that the
    page's first load does not fetch the code highlighter."""
    with st.popover("Link", icon=":material/link:"):
        st.caption("Open it in another browser or send it: it opens this page on the same run.")
        st.code(url(page, **params), language=None, wrap_lines=True)
