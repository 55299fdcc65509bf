"""Home page parts: the runs table (refreshing while runs work) and open / delete actions."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from tuning.core.enums import RunStatus
from tuning.core.errors import UserError
from tuning.data.datasets import dataset_label
from tuning.runs.front import RunRef, RunSummary, experiments, run_summary
from ui import gain_view, presets, registry, runs, state, text
from ui.presets import Preset

POLL_S = 3.0
COLUMNS = ["run", "status", "dataset", "model", "method", "trials done", "best score", runs.GAIN,
           "score", "started"]  # fmt: skip


def _any_live(refs: list[RunRef]) -> bool:
    manager = registry.manager()
    return any(runs.should_poll(r.name, r.status, r.created_at, manager) for r in refs)


# Streamlit's table neither fits its columns to the window nor ends a clipped cell with an
# ellipsis: the Home table sizes its columns and shortens its names itself.
def _px(text: str) -> float:
    """Pixels `text` takes in a table cell, its padding included: Source Sans at 14 px draws
    a digit in 7 px and most other characters in 6 (measured in Chromium; rounded up)."""
    return sum(7.1 if ch.isdigit() else 6.3 for ch in text) + 20


def _text_width(values, low: int, high: int) -> int:
    """Pixels for a text column to show its longest value whole, within [low, high]."""
    return math.ceil(min(high, max([low] + [_px(str(v)) for v in values])))


# Each column's [low, high] in pixels: as wide as its longest value, within them.
SIZES = {"run": (175, 360), "status": (70, 200), "dataset": (115, 240), "model": (120, 190),
         "method": (105, 215), "trials done": (75, 110), "best score": (80, 110),
         runs.GAIN: (140, 240), "score": (75, 160), "started": (80, 130)}  # fmt: skip
YIELDING = ("run", "dataset", "model", "method")  # shortened first: the numbers never are
RUN_FLOOR = 200  # a run's name is shortened to no less: about 26 characters, both ends kept
TABLE_PX = 1230  # the table beside the sidebar in a 1600 px window (widgets.STYLE's padding)


def column_widths(
    frame: pd.DataFrame, budget: int = TABLE_PX, labels: dict[str, str] | None = None
) -> dict[str, int]:
    """Each column's width: its longest value's (or its label's, from `labels`), within SIZES.
    Where that makes the table wider than `budget`, the widest of the name columns (YIELDING)
    are cut to one common width (the run's not below RUN_FLOOR, the others' not below their
    lows), so the scores and when each run started stay on screen and only the longest names
    are shortened (whole in the Run picker under the table). Where even that is too wide, the
    table scrolls, its run pinned."""
    labels = labels or {}
    widths = {c: _text_width([*frame[c], labels.get(c, "")], *SIZES[c]) for c in frame.columns}
    floor = {c: min(widths[c], RUN_FLOOR if c == "run" else SIZES[c][0]) for c in YIELDING}
    fixed = sum(w for c, w in widths.items() if c not in YIELDING)

    def cut(c: str, level: int) -> int:
        return max(floor[c], min(widths[c], level))

    level = max(widths[c] for c in YIELDING)
    while level > 0 and fixed + sum(cut(c, level) for c in YIELDING) > budget:
        level -= 1
    return {c: cut(c, level) if c in YIELDING else w for c, w in widths.items()}


def fit_text(value: str, width: int) -> str:
    """`value`, ended with an ellipsis where it is wider than `width` pixels."""
    keep = len(value)
    while keep > 1 and _px(value[:keep] + ("…" if keep < len(value) else "")) > width:
        keep -= 1
    return value if keep == len(value) else value[:keep] + "…"


def fit_name(name: str, width: int) -> str:
    """A run's name cut in the middle to fit `width` pixels: names made on one dataset share
    their start and differ at the end (the time stamp), so both ends stay. An experiment's
    note stays: "(experiment, 4 runs)", or "(experiment)" where the whole note would leave
    fewer than 20 of the name's characters (its runs are counted in the status column)."""
    if _px(name) <= width:
        return name
    base, paren, note = name.partition(" (")
    notes = [paren + note, paren + note.split(",")[0].rstrip(")") + ")"] if paren else [""]
    leasts = (20, 12) if paren else (12,)  # the short note, rather than a stub of the name
    for note, least in zip(notes, leasts, strict=True):
        for keep in range(len(base) - 1, least - 1, -1):
            tail = min(15, keep - 7)
            shown = f"{base[: keep - 1 - tail]}…{base[-tail:]}{note}"
            if _px(shown) <= width:
                return shown
    return fit_text(name, width)


CARD_PX = 200  # a demo card's width: cards wrap onto a new line rather than squeeze words


def demo_cards() -> None:
    """One card per demo preset, side by side while they fit and wrapping onto new lines on
    a narrow window (st.columns would squeeze five cards into slivers that break words)."""
    with st.container(horizontal=True, gap="small"):
        for preset in presets.PRESETS:
            with st.container(border=True, width=CARD_PX, height="stretch"):
                st.markdown(f"**{preset.title}**")
                st.caption(preset.blurb)
                st.space("stretch")  # buttons line up at the bottom of the cards
                if st.button(
                    "Start", key=f"preset_{preset.key}", type="primary",
                    icon=":material/play_arrow:", width="content",
                ):  # fmt: skip
                    _start(preset)


def _start(preset: Preset) -> None:
    try:
        runs.launch(preset.make())
    except UserError as exc:
        st.error(text.md(exc))
    else:
        st.switch_page(state.PAGE_LIVE)


def runs_table(refs: list[RunRef]) -> None:
    """Every run in the storage (`refs`: runs.refs() of this page run); refreshes itself while
    any run works (here or elsewhere)."""
    polling = _any_live(refs)

    @st.fragment(run_every=POLL_S if polling else None)
    def table() -> None:
        summaries = runs.summaries()
        if not summaries:
            st.info("No runs yet: start a demo above, or set one up on **New run**.")
            st.page_link(state.PAGE_NEW_RUN, label="New run", icon=":material/add_circle:")
            return
        frame = overview(summaries)
        shown, labels = list(COLUMNS), {}
        if frame["score"].nunique() == 1:  # one score for every run: named once, in a header
            shown.remove("score")
            labels["best score"] = f"best {frame['score'].iloc[0]}"
        widths = column_widths(frame[shown], labels=labels)
        for column in YIELDING:
            fit = fit_name if column == "run" else fit_text
            frame[column] = [fit(str(v), widths[column]) for v in frame[column]]
        config = {c: st.column_config.TextColumn(labels.get(c), width=w) for c, w in widths.items()}
        config["run"] = st.column_config.TextColumn(width=widths["run"], pinned=True)
        config[runs.GAIN] = st.column_config.TextColumn(width=widths[runs.GAIN],
                                                         help=gain_view.CELL_HELP)  # fmt: skip
        st.dataframe(frame, hide_index=True, key="runs_table", column_config=config,
                     column_order=shown)  # fmt: skip
        if polling and not _any_live(runs.refs()):
            st.rerun()  # every run ended: full rerun, polling stops

    table()


def overview(summaries: list[RunSummary]) -> pd.DataFrame:
    """The Home table: the user's own runs, and one row per experiment for its members (a
    race's never-started members would otherwise fill the screen); rows with results first,
    newest first within each."""
    manager = registry.manager()
    exps = experiments.list_experiments(registry.storage())
    member_of = {m["run"]: e.name for e in exps for m in e.runs}
    own = [s for s in summaries if s.name not in member_of]
    rows = runs.overview_frame(own, manager).to_dict("records") if own else []
    keyed = [(s.done > 0, i, row) for i, (s, row) in enumerate(zip(own, rows, strict=True))]
    position = {s.name: i for i, s in enumerate(summaries)}
    for e in exps:
        members = [s for s in summaries if member_of.get(s.name) == e.name]
        if not members:
            continue
        row = _experiment_row(e, members, manager)
        first = min(position[s.name] for s in members)
        keyed.append((any(s.done > 0 for s in members), first, row))
    keyed.sort(key=lambda k: (not k[0], k[1]))
    return pd.DataFrame([row for *_, row in keyed], columns=COLUMNS)


def _experiment_row(e, members: list[RunSummary], manager) -> dict:
    """One experiment as a row: its members' statuses counted, its best score."""
    status: dict[str, int] = {}
    for s in members:
        shown = runs.shown_status(s.name, s.status, manager)
        if shown == RunStatus.STOPPED and s.done == 0:
            shown = "not started"
        status[str(shown)] = status.get(str(shown), 0) + 1
    scored = [s for s in members if s.best_value is not None]
    best = None
    if scored:
        pick = max if members[0].direction == "maximize" else min
        best = pick(s.best_value for s in scored)
    budget = sum(s.n_trials or 0 for s in members)
    done = sum(s.done for s in members)
    return {
        "run": f"{e.name} (experiment, {text.plural(len(members), 'run')})",
        "status": ", ".join(f"{n} {k}" for k, n in status.items()),
        "dataset": dataset_label(e.config.base.dataset),
        "model": runs.model_label(e.config.base.model).split(" (")[0],
        "method": text.plural(len(e.config.methods), "method")  # named under Experiments
        + (f" + {text.plural(len(e.config.warm_methods), 'warm copy', 'warm copies')}"
           if e.config.warm_methods else ""),  # fmt: skip
        "trials done": f"{done} / {budget}" if budget else f"{done}",
        "best score": "" if best is None else f"{best:.4f}",
        runs.GAIN: "in Compare methods",
        "score": runs.scoring_label(members[0].scoring, members[0].direction),
        "started": text.local_time(min((s.started_at or s.created_at or "") for s in members)
                                   or None, short=True),
    }  # fmt: skip


def run_actions(refs: list[RunRef]) -> None:
    if not refs:
        return
    names = [r.name for r in refs]
    if st.session_state.get(state.HOME_PICK) not in names:
        # the run chosen elsewhere, else the one the other pages open on
        chosen = state.selected_run()
        st.session_state[state.HOME_PICK] = (
            chosen if chosen in names else state.default_run(names, runs.has_results)
        )
    # a row that wraps on a narrow window, rather than columns that cut the buttons' labels
    row = st.container(horizontal=True, vertical_alignment="bottom")
    left = mid = right = row
    pick = left.selectbox("Run", names, key=state.HOME_PICK, width=420)
    if mid.button("Open in Live monitor", icon=":material/monitoring:", key="open_run"):
        state.select_run(pick)
        st.switch_page(state.PAGE_LIVE)
    foreign = next(r.foreign for r in refs if r.name == pick)
    if right.button("Delete…", icon=":material/delete:", key="delete_run", disabled=foreign,
                    help="Tuning Studio deletes only the runs it made: this study was made "
                    "outside it (delete it with optuna.delete_study)" if foreign else None):  # fmt: skip
        st.session_state[state.PENDING_DELETE] = pick
    pending = st.session_state.get(state.PENDING_DELETE)
    if pending not in names:
        st.session_state.pop(state.PENDING_DELETE, None)
        return
    _confirm_delete(pending)


def _confirm_delete(name: str) -> None:
    n = sum(run_summary(registry.storage(), name).counts.values())
    with st.container(border=True):
        st.warning(
            f"Delete run **{text.md(name)}** and its {text.plural(n, 'trial')}? This cannot be undone.",
            icon=":material/delete_forever:",
        )
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Yes, delete", type="primary", key="confirm_delete"):
            try:
                runs.delete(name)
            except UserError as exc:
                st.error(text.md(exc))
                return
            st.session_state.pop(state.PENDING_DELETE, None)
            state.flash(f"Deleted run {text.md(name)}.")
            st.rerun()
        if no.button("Cancel", key="cancel_delete"):
            st.session_state.pop(state.PENDING_DELETE, None)
            st.rerun()


def experiments_table() -> None:
    """Stored experiments (method races from Compare methods), each reopened there."""
    from ui import compare

    exps = experiments.list_experiments(registry.storage())
    if not exps:
        st.caption("No experiments yet: race several methods on **Compare methods**.")
        return
    st.dataframe(
        [{"experiment": e.name, "status": compare.live_statuses(e).status,
          "methods": ", ".join(experiments.entry_label(m) for m in e.config.entries),
          "seeds": len(e.config.seeds), "runs": len(e.runs),
          "dataset": dataset_label(e.config.base.dataset), "model": runs.model_label(e.config.base.model)}
         for e in exps],
        hide_index=True, key="experiments_table",
    )  # fmt: skip
    c1 = c2 = st.container(horizontal=True, vertical_alignment="bottom")
    pick = c1.selectbox("Open an experiment", [e.name for e in exps], key="home_exp_pick",
                        width=420)  # fmt: skip
    if c2.button("Open in Compare methods", key="open_experiment", icon=":material/leaderboard:"):
        st.session_state[compare.GOTO] = pick
        st.session_state[compare.PICK] = pick
        st.switch_page(state.PAGE_COMPARE)
