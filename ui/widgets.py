"""Widgets shared by pages: the dataset picker (with preview), the search-space editor, the
run picker. Each returns plain values; errors meant for users are shown with st.error."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from tuning.core.config import DatasetRef
from tuning.core.enums import TASKS
from tuning.core.errors import DataError, SpaceError
from tuning.core.space import SearchSpace
from tuning.data import datasets
from tuning.data.datasets import Dataset
from ui import links, painted, registry, runs, state, text
from ui.runs import RunRef
from ui.space_table import COLUMNS, EDITABLE, hyperopt_script, space_to_table, table_to_space
from ui.uploads import save_upload

SOURCES = ("Built-in", "Synthetic", "Upload CSV")
TASK_CHOICES = ("infer from the target", *TASKS)
PREVIEW_ROWS = 10


@dataclass
class DatasetChoice:
    ref: DatasetRef
    dataset: Dataset


PAIR = "pair-"  # the key prefix of pair's rows
TILE = "tile-"  # the key prefix of tile's boxes
PICKER_ROW = "run-picker"  # the key of the run picker's row
STAND_IN = "run-stand-in"  # the key of the run picker's stand-in (_stand_in)
STAND_IN_SHOWN = "run_stand_in_shown"  # state: this page run drew the stand-in
FIRST_LOOK = "run_picker_first_look"  # state: this session has had its first look (the stand-in)
# Rules for our own keys only, a constant (no user input), emitted once per page by
# layout.sidebar. Each of a pair's places grows from 440 px and they wrap when two do not fit:
# Streamlit's containers have no minimum width, so its layout API cannot say this. A tile's
# label and number in st.metric's sizes (14 px; 2.25 rem, normal weight).
# The main area's side padding: Streamlit's 5rem took 160 px from every width, a third of a
# 900 px window's page beside the sidebar. (Its own rules keep less on a phone.) The run
# picker's stand-in in the selectbox's place and size: a 1.75 rem label over a 2.5 rem box;
# its row keeps that height while the selectbox's code loads (drawn without its label then).
STYLE = (
    "<style>@media (min-width: 640px) { [data-testid='stMainBlockContainer']"
    " { padding-left: 2rem; padding-right: 2rem; } }"
    f" [class*='st-key-{PAIR}'] > div {{ flex: 1 1 440px !important; }}"
    f" [class*='st-key-{TILE}'] p {{ margin: 0; }}"
    f" [class*='st-key-{TILE}'] > div:first-child p {{ font-size: 0.875rem; margin-bottom: 0.5rem; }}"
    f" [class*='st-key-{TILE}'] > div:last-child p"
    " { font-size: 2.25rem; line-height: normal; padding-bottom: 0.25rem; }"
    f" .st-key-{PICKER_ROW} {{ min-height: 4.25rem; }}"
    f" .st-key-{STAND_IN} p {{ margin: 0; font-size: 0.875rem; }}"
    f" .st-key-{STAND_IN} [data-testid='stMarkdownContainer'] {{ margin-bottom: 0; }}"
    f" .st-key-{STAND_IN} > div:first-child {{ height: 1.75rem; }}"
    f" .st-key-{STAND_IN} > div:nth-child(2) {{ height: 2.5rem; padding: 0 0.75rem;"
    " display: flex; align-items: center; border-radius: 0.5rem;"
    " background: rgba(151, 166, 195, 0.15); }</style>"
)


def tile(where, label: str, value: str, *, key: str, help: str | None = None) -> None:
    """A number under its label, as st.metric draws it. Not st.metric: on Live monitor's first
    look the browser fetched and ran st.metric's code beside Plotly's, and that held the first
    chart back (benchmarks/first_chart.py); Markdown's code every page has already."""
    with where.container(key=TILE + key, gap=None):
        st.markdown(text.md(label), help=help)
        st.markdown(text.md(value))


def pair(key: str):
    """Two places side by side for charts, that wrap one above the other where the window is
    too narrow for two readable charts (STYLE): st.columns only stacks below 640 px,
    and squeezed each chart of a 900 px window to 220 px, its legend over its subtitle."""
    row = st.container(horizontal=True, gap="medium", key=PAIR + key)
    return row.container(), row.container()


# -- dataset ----------------------------------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner="Loading the dataset…")
def _load(ref_json: str) -> Dataset:
    """Loaded datasets, shared read-only (cache_resource: no pickling of large frames)."""
    return datasets.load_dataset(DatasetRef.from_dict(json.loads(ref_json)))


def load(ref: DatasetRef) -> Dataset:
    return _load(json.dumps(ref.to_dict(), sort_keys=True))


@st.cache_resource(max_entries=32, show_spinner=False)
def _problem(ref_json: str, test_size: float, folds: int, seed: int) -> str | None:
    try:
        datasets.check_trainable(_load(ref_json), test_size, folds, seed)
    except DataError as exc:
        return str(exc)
    return None


def data_problem(ref: DatasetRef, test_size: float, folds: int, seed: int) -> str | None:
    """What would make every trial fail with these settings (the holdout split and the CV
    folds of the data), in a sentence that says what to change; None when nothing would."""
    return _problem(json.dumps(ref.to_dict(), sort_keys=True), test_size, folds, seed)


@st.cache_resource(max_entries=8, show_spinner=False)
def _columns(path: str) -> list[str]:
    return datasets.csv_columns(path)


def _spec_label(spec: datasets.DatasetSpec) -> str:
    return f"{spec.label} ({spec.shape_hint}, {spec.task})"


def dataset_picker() -> DatasetChoice | None:
    """Built-in, synthetic (with size controls) or uploaded CSV; shows a preview and warnings.

    Returns None (after showing why) while no usable dataset is chosen.
    """
    source = st.segmented_control(
        "Data source", SOURCES, default=SOURCES[0], required=True, key="ds_source"
    )
    if source == "Upload CSV":
        ref = _csv_ref()
    else:
        synthetic = source == "Synthetic"
        specs = [s for s in datasets.list_datasets() if s.synthetic == synthetic]
        names = [s.name for s in specs]
        name = st.selectbox(
            "Dataset", names, key=f"ds_{'synthetic' if synthetic else 'builtin'}",
            format_func=lambda n: _spec_label(datasets.get_spec(n)),
        )  # fmt: skip
        spec = datasets.get_spec(name)
        st.caption(spec.description)
        params = _synthetic_params(spec) if synthetic else {}
        ref = DatasetRef(name, params=params)
    if ref is None:
        return None
    try:
        ds = load(ref)
    except DataError as exc:
        st.error(text.md(exc))
        return None
    dataset_preview(ds)
    return DatasetChoice(ref, ds)


def _synthetic_params(spec: datasets.DatasetSpec) -> dict:
    params = {}
    cols = st.columns(len(spec.limits))
    for col, (key, limit) in zip(cols, spec.limits.items(), strict=True):
        default = spec.defaults[key]
        with col:
            if limit.kind is int:
                v = st.number_input(
                    key.replace("_", " "), min_value=int(limit.low), max_value=int(limit.high),
                    value=int(default), step=1, help=limit.help, key=f"ds_{spec.name}_{key}",
                )  # fmt: skip
            else:
                v = st.number_input(
                    key.replace("_", " "), min_value=float(limit.low), max_value=float(limit.high),
                    value=float(default), help=limit.help, key=f"ds_{spec.name}_{key}",
                )  # fmt: skip
        if v != default:
            params[key] = v
    return params


def _csv_ref() -> DatasetRef | None:
    up = st.file_uploader(
        "CSV file (column names in the first row; comma, semicolon or tab separated)",
        type=["csv", "txt", "tsv"],
        key="ds_upload",
    )
    if up is None:
        st.info("Upload a CSV file, then choose the column to predict.")
        return None
    path = save_upload(up.getvalue(), up.name)
    try:
        columns = _columns(str(path))
    except DataError as exc:
        st.error(text.md(exc))
        return None
    c1, c2 = st.columns(2)
    target = c1.selectbox(
        "Target column (what the model predicts)", columns, index=len(columns) - 1,
        key=f"ds_target_{path.parent.name[:16]}",  # one picker per file content
    )  # fmt: skip
    task = c2.radio("Task", TASK_CHOICES, horizontal=True, key="ds_task")
    return DatasetRef(
        "csv", path=str(path), target=target, task=None if task == TASK_CHOICES[0] else task
    )


def dataset_preview(ds: Dataset) -> None:
    rows, cols = ds.shape
    # Numbers in the tiles, words in a line under them: a tile cuts "classification" or a
    # long target name to "clas…" in a 900 px window.
    c = st.columns(3)
    c[0].metric("Rows", f"{rows:,}")
    c[1].metric("Features", f"{cols:,}")
    if ds.classes is not None:
        c[2].metric("Classes", len(ds.classes))
    st.caption(f"Task: {ds.task} · target: {text.md(ds.target)}")
    if ds.warnings:
        notes = "\n".join(f"- {text.md(w)}" for w in ds.warnings)
        st.warning(f"**About this data**\n\n{notes}", icon=":material/warning:")
    with st.expander(f"Preview: first {PREVIEW_ROWS} rows and the target", expanded=False):
        head = ds.X.head(PREVIEW_ROWS).copy()
        head.insert(0, f"{ds.target} (target)", ds.y.head(PREVIEW_ROWS).to_numpy())
        st.dataframe(head, hide_index=True)
        if ds.classes is not None:
            counts = ds.y.value_counts()
            balance = pd.DataFrame(
                {"class": counts.index.astype(str), "rows": counts.to_numpy(),
                 "share": counts.to_numpy() / counts.sum()}
            )  # fmt: skip
            st.caption("Class balance")
            st.dataframe(
                balance, hide_index=True,
                column_config={"share": st.column_config.ProgressColumn("share", format="percent", min_value=0.0, max_value=1.0)},
            )  # fmt: skip
        else:
            st.caption("Target distribution")
            st.dataframe(ds.y.describe().to_frame().T, hide_index=True)


# -- search space ------------------------------------------------------------------------------
def space_editor(base: SearchSpace, key: str) -> SearchSpace | None:
    """The space as an editable table; returns the validated space, or None after showing the
    SpaceError that says what to change."""
    table = space_to_table(base)
    edited = st.data_editor(
        table,
        key=key,
        hide_index=True,
        num_rows="fixed",
        disabled=[c for c in COLUMNS if c not in EDITABLE],
        column_config={
            "search": st.column_config.CheckboxColumn("search", help="Off: fixed at the 'fixed at' value"),
            "parameter": st.column_config.TextColumn("parameter"),
            "type": st.column_config.TextColumn("type", width="small"),
            "low": st.column_config.TextColumn("low", help="Smallest value searched (— for choices)"),
            "high": st.column_config.TextColumn("high", help="Largest value searched (— for choices)"),
            "log": st.column_config.CheckboxColumn("log", help="Search on a log scale (for ranges spanning orders of magnitude)"),
            "choices": st.column_config.TextColumn("choices", help="Categorical values, separated by commas"),
            "fixed at": st.column_config.TextColumn("fixed at", help="Value used when the parameter is switched off"),
            "only when": st.column_config.TextColumn("only when", help="Active only for these values of another parameter"),
            "about": st.column_config.TextColumn("about", width="large"),
        },
    )  # fmt: skip
    try:
        return table_to_space(edited, base)
    except SpaceError as exc:
        st.error(f"The search space cannot be used: {text.md(exc)}", icon=":material/block:")
        return None


def hyperopt_export(space: SearchSpace, name: str) -> None:
    """The space as Hyperopt code, to read and download (a run with Hyperopt's fmin, or a
    --space file for later, starts from it)."""
    with st.expander("The space as Hyperopt code", icon=":material/code:"):
        code = hyperopt_script(space)
        st.caption(
            "The same space written with Hyperopt's hp.* functions: pass `space` to "
            "`hyperopt.fmin`, or to TuningSearchCV, which reads it back as this space."
        )
        st.code(code, language="python")
        st.download_button(
            "Download the Hyperopt space", code, file_name=f"{name}_hyperopt_space.py",
            mime="text/x-python", key=f"hyperopt_{name}", icon=":material/download:",
        )  # fmt: skip


# -- runs --------------------------------------------------------------------------------------
def run_picker(refs: list[RunRef], label: str = "Run", page: str | None = None) -> str:
    """A selectbox over runs that follows (and sets) the selected run across pages, and the
    page's URL (`?run=NAME`): a link selects its run, a choice here rewrites the link."""
    names = [r.name for r in refs]
    wanted = _wanted(names, page)
    # Always set before the widget exists: the widget's own state does not survive a page
    # switch (a new page's selectbox would start on its first option, the newest run).
    st.session_state[state.LIVE_PICK] = wanted

    def _changed() -> None:
        state.select_run(st.session_state[state.LIVE_PICK])
        if page:
            st.query_params[links.RUN] = st.session_state[state.LIVE_PICK]

    # Names only: a keyed selectbox keeps showing the label it first drew for its value, so a
    # status in the label would go stale (the status badge below the picker stays current).
    if page:
        # The Link button at its own width beside the selectbox: a seventh of a 900 px
        # window's page cut its label to "L".
        row = _picker_row()
        with row:
            st.selectbox(label, names, key=state.LIVE_PICK, on_change=_changed)
    else:
        st.selectbox(label, names, key=state.LIVE_PICK, on_change=_changed)
    name = st.session_state[state.LIVE_PICK]
    state.select_run(name)
    if page:
        links.follow(links.RUN, name)
        with row:
            links.copy_link(page, run=name)
    return name


def _picker_row():
    return st.container(key=PICKER_ROW, horizontal=True, vertical_alignment="bottom")


def _wanted(names: list[str], page: str | None) -> str:
    """The run to show (state.chosen_run), warning when the page's link names a missing one."""
    asked = links.linked(links.RUN) if page else None
    if asked is not None and asked not in names:
        st.warning(f"The link names run {text.md(asked)}, which is not in this storage "
                   f"({text.md(registry.storage_label())}).", icon=":material/link_off:")  # fmt: skip
    return state.chosen_run(names, asked, runs.has_results)


def pick_run_or_stop(page: str | None = None, *, after_first_chart: bool = False) -> str:
    """The run picker shared by the per-run pages (`page`: its URL path, for links); with no
    runs yet, say where to start one. `after_first_chart`: on a browser's first look, the
    picker itself comes once the page's first chart is drawn (_stand_in)."""
    st.session_state.pop(STAND_IN_SHOWN, None)
    refs = runs.refs()
    if not refs:
        st.info("No runs yet: start one on **New run** or from a demo on **Home**.")
        st.page_link(state.PAGE_NEW_RUN, label="New run", icon=":material/add_circle:")
        st.stop()
    # AppTest has no browser (and no User-Agent): nothing is drawn there, the picker comes at once.
    if (after_first_chart and not st.session_state.get(FIRST_LOOK)
            and st.context.headers.get("User-Agent")):  # fmt: skip
        st.session_state[FIRST_LOOK] = True  # the page's next run draws the picker
        return _stand_in(refs, page)
    return run_picker(refs, page=page)


def _stand_in(refs: list[RunRef], page: str | None) -> str:
    """A browser's first look: the chosen run's name in the picker's place and size, and a
    signal that reruns the page once the browser has drawn a chart (ui/painted.py), which
    draws the picker. Sent beside the first chart, the selectbox's code (about twenty modules)
    held that chart back (benchmarks/first_chart.py)."""
    name = _wanted([r.name for r in refs], page)
    if page:
        links.follow(links.RUN, name)
    with _picker_row():
        with st.container(key=STAND_IN, gap=None):
            st.markdown("Run")
            st.markdown(text.md(name))
            # No height, no gap; outside any fragment, so it reruns the whole page.
            painted.when_painted("painted:picker")
        if page:
            links.copy_link(page, run=name)
    st.session_state[STAND_IN_SHOWN] = True
    return name


def reruns_after_first_chart() -> bool:
    """Whether this page run drew the picker's stand-in, whose signal reruns the whole page
    once a chart is drawn: a fragment on it need not ask for its own rerun."""
    return bool(st.session_state.get(STAND_IN_SHOWN))
