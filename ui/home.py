"""Home page parts: the runs table (refreshing while runs work) and open / delete actions."""

from __future__ import annotations

import streamlit as st

from tuning.core.errors import UserError
from tuning.data.datasets import dataset_label
from tuning.runs.front import RunRef, experiments, run_summary
from ui import registry, runs, state, text

POLL_S = 3.0


def _any_live(refs: list[RunRef]) -> bool:
    manager = registry.manager()
    return any(runs.should_poll(r.name, r.status, r.created_at, manager) for r in refs)


def _text_width(values, low: int, high: int) -> int:
    """Pixels for a text column to show its longest value whole, within [low, high]."""
    longest = max((len(str(v)) for v in values), default=0)
    return int(min(high, max(low, 6.8 * longest + 24)))


def runs_table() -> None:
    """Every run in the storage; refreshes itself while any run works (here or elsewhere)."""
    polling = _any_live(runs.refs())

    @st.fragment(run_every=POLL_S if polling else None)
    def table() -> None:
        summaries = runs.summaries()
        if not summaries:
            st.info("No runs yet: start a demo above, or set one up on **New run**.")
            st.page_link(state.PAGE_NEW_RUN, label="New run", icon=":material/add_circle:")
            return
        frame = runs.overview_frame(summaries, registry.manager())
        st.dataframe(
            frame, hide_index=True, key="runs_table",
            column_config={  # names as wide as they are (up to a limit), so runs on one dataset
                # do not all read as the same cut-off prefix; the rest fits a laptop screen
                "run": st.column_config.TextColumn(width=_text_width(frame["run"], 175, 440),
                                                   pinned=True),
                "status": st.column_config.TextColumn(width=70),
                "dataset": st.column_config.TextColumn(width=_text_width(frame["dataset"], 115, 240)),
                "model": st.column_config.TextColumn(width=140),
                "method": st.column_config.TextColumn(width=105),
                "trials done": st.column_config.TextColumn(width=75),
                "best score": st.column_config.TextColumn(width=80),
                "score": st.column_config.TextColumn(width=95),
                "started": st.column_config.TextColumn(width=110),
            },
        )  # fmt: skip
        if polling and not _any_live(runs.refs()):
            st.rerun()  # every run ended: full rerun, polling stops

    table()


def run_actions() -> None:
    refs = runs.refs()
    if not refs:
        return
    names = [r.name for r in refs]
    left, mid, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    pick = left.selectbox("Run", names, key=state.HOME_PICK)
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
          "methods": ", ".join(runs.method_label(m) for m in e.config.methods),
          "seeds": len(e.config.seeds), "runs": len(e.runs),
          "dataset": dataset_label(e.config.base.dataset), "model": runs.model_label(e.config.base.model)}
         for e in exps],
        hide_index=True, key="experiments_table",
    )  # fmt: skip
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Open an experiment", [e.name for e in exps], key="home_exp_pick")
    if c2.button("Open in Compare methods", key="open_experiment", icon=":material/leaderboard:"):
        st.session_state[compare.GOTO] = pick
        st.session_state[compare.PICK] = pick
        st.switch_page(state.PAGE_COMPARE)
