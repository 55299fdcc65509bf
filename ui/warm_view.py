"""New run's "Start from earlier runs": pick earlier runs of the same model as warm-start
sources (ranked by how similar their data is), and optionally narrow the ranges to where their
good trials lay, shown as a table with a button that restores the full ranges. On the Live
monitor, a warm-started run beside a cold run of the same search (`cold_account`), and whether
its sources' scores predict its own (`source_agreement`). On
Compare, the sources of an experiment's warm-started copies (`race_sources`)."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import streamlit as st

from tuning.analysis import warm
from tuning.core.config import RunConfig
from tuning.core.errors import UserError
from tuning.plots.live import warm_cold_figure
from tuning.runs import front
from ui import registry, runs, space_table, text

PICK = "warm_sources"
NARROW = "warm_narrow"
COLD_RECHECK_S = 10.0  # how often Live monitor looks again for a cold run where none was found
ON = "warm_on"
TOGGLE_HELP = (
    "Seed this run with the best configurations of earlier runs of the same model in this "
    "storage (on any dataset), ranked by how similar their data is."
)
NARROW_HELP = (
    "Searches only where the earlier runs' best quarter of trials lay: a good start when the "
    "data is alike, but this data's best may lie outside. On the studio's warm-start benchmark "
    "(18 tasks, each left out in turn) narrowed runs ended worse than a cold run on 8 tasks, "
    "against 3 for the same warm start without narrowing."
)


def _candidates(config: RunConfig) -> tuple[object | None, list]:
    """The prepared run and its ranked candidates, read once per configuration (preparing
    loads the data; judging sources loads theirs)."""
    key = ("warm_candidates", config.to_json())
    if key not in st.session_state:
        try:
            prep = front.prepare(replace(config, warm_start=(), warm_narrow=False))
            found = front.warm_candidates(prep, registry.storage())
        except UserError:
            prep, found = None, []
        st.session_state[key] = (prep, found)
    return st.session_state[key]


def _label(c) -> str:
    sim = f"similarity {c.similarity:.2f}" if c.similarity is not None else "similarity unknown"
    data = f"{c.dataset} · " if c.dataset else ""
    return f"{c.run} — {data}{sim}"


def start_from(config: RunConfig | None) -> RunConfig | None:
    """The configuration with the warm start chosen here (unchanged when none is chosen)."""
    if config is None:
        return None
    # A toggle, not an expander: the candidates (each source's data and trials) are read only
    # when asked for, so New run stays as fast as before for everyone else.
    if not st.toggle("Start from earlier runs", key=ON, help=TOGGLE_HELP):
        return config
    with st.container(border=True):
        prep, found = _candidates(config)
        usable = [c for c in found if c.usable]
        if not usable:
            st.caption("No earlier run of this model in this storage can seed this run.")
            _refused(found)
            return config
        names = _pick(usable, "Seed with the best configurations of", PICK,
                      "Their 5 best configurations (shared among the runs picked, at least 2 "
                      "each) are tried first, right after the library defaults, each marked "
                      "'warm start'.")  # fmt: skip
        _refused(found)
        if not names:
            return config
        narrow = st.checkbox("Narrow the ranges to where their good trials lay", key=NARROW,
                             help=NARROW_HELP)
        warm = replace(config, warm_start=names, warm_narrow=narrow)
        _preview(prep, warm)
        return warm


def race_sources(config: RunConfig, key: str) -> tuple[str, ...]:
    """Compare's warm copies: the earlier runs to start them from, picked from the same ranked
    list as New run's (refused ones say why in one caption)."""
    _, found = _candidates(config)
    usable = [c for c in found if c.usable]
    if not usable:
        st.caption("No earlier run of this model in this storage can seed a warm copy: finish "
                   "a run of it first (on any dataset of the same task).")  # fmt: skip
        _refused(found)
        return ()
    names = _pick(usable, "Start them from the best configurations of", key,
                  "Each warm copy tries their 5 best configurations first, right after the "
                  "library defaults.")  # fmt: skip
    _refused(found)
    return names


def _pick(usable: list, label: str, key: str, help: str) -> tuple[str, ...]:
    """The earlier runs picked among `usable` (ranked, most similar first, which is picked
    until the user changes it: one click seeds a run), each with its reason."""
    by_label = {_label(c): c for c in usable}
    if [p for p in st.session_state.get(key, []) if p not in by_label]:
        st.session_state.pop(key)  # another model or dataset: its runs are not offered here
    picked = st.multiselect(
        label, list(by_label), key=key, default=list(by_label)[:1],
        help=f"{help} Ranked by how similar their data is: task, rows, features, class "
        "balance and share of categorical columns. Once the run has 8 scored trials, Live "
        "monitor says whether each one's scores predict this run's.",
    )  # fmt: skip
    for one in picked:
        st.caption(text.md(f"{by_label[one].run}: {by_label[one].reason}."))
    return tuple(by_label[one].run for one in picked)


def _refused(found: list) -> None:
    refused = [c for c in found if not c.usable]
    if refused:
        lines = "; ".join(f"{c.run}: {c.reason}" for c in refused[:5])
        st.caption(text.md(f"Not offered: {lines}."))


def _preview(prep, warm: RunConfig) -> None:
    """What the warm start would queue and narrow, with the narrowed space table."""
    if prep is None:
        return
    plan = front.warm_plan(replace(prep, config=replace(prep.config, warm_start=warm.warm_start,
                                                        warm_narrow=warm.warm_narrow)),
                           registry.storage())  # fmt: skip
    st.caption(text.md(plan.note))
    if plan.space is None:
        return
    st.markdown("**Narrowed search space** (the full ranges are kept with the run)")
    st.dataframe(space_table.space_to_table(plan.space), hide_index=True)
    st.button("Restore full ranges", key="warm_restore", icon=":material/undo:", on_click=_restore)


def _restore() -> None:
    st.session_state[NARROW] = False  # a callback: runs before the checkbox is drawn again


def cold_account(snap) -> None:
    """Live monitor, a warm-started run: what the warm start bought against a cold run of the
    same search in this storage (best so far by trial count, with the fold spreads), or that
    there is none to measure it against."""
    record = snap.record
    if not record.warm_started or record.multi_objective or record.read_only:
        return
    key = _cold_key(snap.name)
    checked_at, found, going = st.session_state.get(key, (-math.inf, None, None))
    # A cold run, once found, has finished: its trials are read once per session. Without one,
    # the storage is looked at again after a while: a cold run started to compare may finish.
    if found is None and time.monotonic() - checked_at > COLD_RECHECK_S:
        store = registry.storage()
        names, under_way = warm.cold_runs_by_state(record, store)
        found = (names[0], warm.cold_frame(names[0], store)) if names else None
        going = None if names else next(iter(under_way), None)
        st.session_state[key] = (time.monotonic(), found, going)
    if found is None:
        _no_cold(record, going, key)
        return
    cold_name, frame = found
    seen = warm.compare_cold(snap.df, frame, snap.direction, cold_name)
    if seen is None:
        st.caption(text.md(f"Against a cold run of the same search ({cold_name}): nothing to "
                           "compare until this run has a complete trial."))  # fmt: skip
        return
    if seen.state == "hurting":
        st.warning(text.md(seen.sentence), icon=":material/trending_down:")
    else:
        st.caption(text.md(seen.sentence))
    with st.expander("Warm start against the cold run, trial by trial"):
        st.plotly_chart(warm_cold_figure(seen.curve, snap.score_title, cold_name),
                        key="chart_warm_cold", config={"displaylogo": False})  # fmt: skip


def source_agreement(snap) -> None:
    """Live monitor, a warm-started run with enough scored trials: whether each source's scores
    predict this run's, with the correlation's interval (a source against it is a warning)."""
    record = snap.record
    if not record.warm_started or record.multi_objective or record.read_only:
        return
    key = ("warm_source_trials", snap.name)
    if key not in st.session_state:  # the sources have finished: their trials are read once
        st.session_state[key] = warm.source_trials(record, registry.storage())
    # Worked out again only when this run has scored more trials (a refresh often has none).
    scored = int(snap.counts.get("complete", 0))
    done_key = ("warm_agreement", snap.name)
    if st.session_state.get(done_key, (None,))[0] != scored:
        found = warm.source_agreements(record, snap.run.trials, st.session_state[key])
        st.session_state[done_key] = (scored, found)
    for seen in st.session_state[done_key][1]:
        if seen.state == "against":
            st.warning(text.md(seen.sentence), icon=":material/call_split:")
        else:
            st.caption(text.md(seen.sentence))


def _no_cold(record, going: str | None, key: tuple) -> None:
    """No finished cold run to measure the warm start against: the one under way is named;
    without one, a button starts the same search cold beside this run, which stays chosen."""
    if going:
        st.caption(text.md(f"A cold run of the same search is under way ({going}): what the "
                           "warm start bought shows here once it has finished."))  # fmt: skip
        return
    st.caption(warm.NO_COLD)
    cold = warm.cold_config(record)
    if cold is None or not st.button(
        "Run the same search cold", key="warm_run_cold", icon=":material/compare_arrows:",
        help="Starts a run of the same model, method, data, scoring, folds, budget and seed "
        "without the warm start (on the full ranges), beside this one: this run stays chosen, "
        "and once the cold run has finished this page sets the two side by side.",
    ):  # fmt: skip
        return
    try:
        name = runs.launch(cold, select=False)
    except UserError as e:
        st.error(text.md(str(e)), icon=":material/error:")
        return
    st.session_state[key] = (time.monotonic(), None, name)
    st.rerun()  # the whole page: it now refreshes itself until the cold run has finished


def waits_for_cold(name: str) -> bool:
    """Whether the Live monitor of warm-started run `name` knows a cold run of the same search
    under way (started here or elsewhere): the page keeps refreshing until it has finished."""
    _, found, going = st.session_state.get(_cold_key(name), (None, None, None))
    return found is None and going is not None


def _cold_key(name: str) -> tuple[str, str]:
    """Session state: (when the storage was last looked at, the finished cold run found with
    its trials, the cold run under way) for warm-started run `name`."""
    return ("warm_cold", name)
