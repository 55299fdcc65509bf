"""The Live monitor's body: a fragment that refreshes itself while the run works.

`show(name)` decides once per full run whether the run is live (running or queued here, or
"running" in the storage when another process runs it). If so, the fragment reruns every
POLL_S seconds; when the run ends, it forces one full rerun, which defines the fragment again
without run_every, so the browser stops polling. Each refresh reads only new or unfinished
trials (tuning.analysis.LiveRun) and draws small figures (tuning.plots.live).
"""

from __future__ import annotations

import zlib

import pandas as pd
import streamlit as st

from tuning.analysis import MIN_TRIALS_FOR_IMPORTANCE, Snapshot, pareto
from tuning.analysis.warm import warm_start_line
from tuning.core.enums import RunStatus
from tuning.core.errors import UserError
from tuning.plots import live as charts
from tuning.plots import pareto as pareto_plots
from tuning.plots.base import empty_figure
from tuning.runs.front import STALE_S, choose
from ui import (
    advisor_view,
    foreign,
    gain_view,
    notes,
    origin_view,
    painted,
    pbt_view,
    registry,
    runs,
    tables,
    text,
    warm_view,
    widgets,
)

POLL_S = 1.5
HEAD, DRAWN = "head", "drawn"
RESUMABLE = (RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.QUEUED)
STATUS_ICONS = {
    RunStatus.QUEUED: ":material/schedule:",
    RunStatus.RUNNING: ":material/autorenew:",
    RunStatus.FINISHED: ":material/check_circle:",
    RunStatus.STOPPED: ":material/stop_circle:",
    RunStatus.FAILED: ":material/error:",
    RunStatus.INTERRUPTED: ":material/warning:",
}
STATUS_COLORS = {
    RunStatus.QUEUED: "gray", RunStatus.RUNNING: "blue", RunStatus.FINISHED: "green",
    RunStatus.STOPPED: "violet", RunStatus.FAILED: "red", RunStatus.INTERRUPTED: "orange",
}  # fmt: skip
PLOTLY_CONFIG = {"displaylogo": False}


def show(name: str) -> None:
    manager = registry.manager()
    try:
        live_run = registry.live_run(name)
        record = live_run.record()
    except (UserError, KeyError):  # deleted meanwhile (from another tab or process)
        _gone(name)
        return
    if not record.read_only:  # a study another tool made is never written to
        runs.settle_interrupted(record)
    # A warm-started run also refreshes while a cold run of the same search is under way:
    # the comparison appears when it has finished.
    polling = runs.should_poll(name, record.status, record.created_at, manager) or (
        warm_view.waits_for_cold(name)
    )
    look_key = f"live_look:{name}"

    @st.fragment(run_every=POLL_S if polling else None)
    def live() -> None:
        look = st.session_state.get(look_key)  # None: first look; HEAD: its top is drawn
        holder = st.empty()
        if look is None and not live_run.warm:
            # The page's layout at once, while the trials are read for the first time; its
            # empty charts also start the browser loading Plotly's code. Once read, a look
            # takes milliseconds, and a skeleton would only cost the browser its drawing.
            with holder.container():
                skeleton()
        try:
            # Importance (seconds of model fits) is computed after the first look's charts,
            # into its place (importance_slot); later refreshes read it from the run's cache.
            snap = live_run.snapshot(importance=look == DRAWN)
        except KeyError:  # deleted while this page watched it
            snap = None
        # Emptied, not overwritten: elements drawn in this same run would survive an overwrite.
        holder.empty()
        if snap is None:
            _gone(name)
            if polling:
                st.rerun()
            return
        # A browser's first look comes in two runs of this fragment: the tiles and the score
        # charts, then the rest once the browser has drawn them (ui/painted.py); sent in one
        # run, the browser lays out tables, curves and states before it draws any chart.
        # Where the run picker waits for that chart too, the whole page's rerun is the second.
        # AppTest has no browser (and no User-Agent): one run there.
        head_only = look is None and bool(st.context.headers.get("User-Agent"))
        slot = render(snap, live_run.hover_cache, head_only=head_only)
        if slot is HEAD:
            st.session_state[look_key] = HEAD
            if not widgets.reruns_after_first_chart():  # else the whole page reruns then
                painted.when_painted(f"painted:{name}")
            return
        if slot is not None:
            _importance(slot, live_run.add_importance(snap))
        notes.run_note(live_run, snap.run, "live")
        notes.trial_panel(live_run, snap.run, "live")
        st.session_state[look_key] = DRAWN
        still = runs.should_poll(name, snap.record.status, snap.record.created_at, manager) or (
            warm_view.waits_for_cold(name)
        )
        if polling and not still:
            st.rerun()  # full rerun: the fragment comes back without run_every
        elif not polling and warm_view.waits_for_cold(name):  # found on this look: refresh
            st.rerun()

    live()


def _gone(name: str) -> None:
    registry.forget(name)
    st.warning(f"Run {text.md(name)} no longer exists: it was deleted.", icon=":material/delete:")


def render(snap: Snapshot, hover_cache: dict[int, str] | None = None, head_only: bool = False):
    """Draw one snapshot; returns the empty place of the importance chart when the snapshot
    was taken without it (see LiveRun.add_importance), else None. `head_only`: the status,
    tiles and the two score charts of a single-objective run, and HEAD (see show)."""
    manager = registry.manager()
    status = runs.shown_status(snap.name, snap.record.status, manager)
    here = manager.is_active(snap.name)  # running or queued in this process
    _status_line(snap, status, here)
    _queue(snap.name)
    _metrics(snap)
    gain_view.headline(snap.run)
    # A held-out test score is the run's last word: none is shown while the run still works
    # (one kept from an earlier end of a resumed run would read as this run's result).
    ended = not (here or status in (RunStatus.RUNNING, RunStatus.QUEUED))
    config = snap.record.config
    if pbt_view.is_population(config):
        test = snap.test if ended else None
        pbt_view.section(snap.run.trials, config, snap.score_title, snap.direction, test, "live")
    figs = charts.LiveFigures(snap, hover_cache)  # each built where it is placed: charts first
    if head_only and snap.front is None and not pbt_view.is_population(config):
        _score_charts(figs, head_only=True)
        st.caption("Loading learning curves, importance and the top trials…")
        return HEAD
    if snap.front is not None:
        _tradeoffs(snap, figs, ended)
    slot = _charts(snap, figs)
    origin_view.section(snap.df, "live")  # where the trials came from, filtered by origin
    _details(snap, ended)
    return slot


def badge(status: RunStatus) -> None:
    st.badge(status, icon=STATUS_ICONS.get(status), color=STATUS_COLORS.get(status, "gray"))


def _status_line(snap: Snapshot, status: RunStatus, here: bool) -> None:
    if snap.record.read_only:
        badge(status)
        st.caption(foreign.caption(snap.run))
        foreign.notice(status)
        return
    # The badge and Stop or Resume share a row that wraps, the caption has its own: a column
    # of a fifth of a 900 px window cut "Stop run" to "St…".
    with st.container(horizontal=True, horizontal_alignment="distribute",
                      vertical_alignment="center"):  # fmt: skip
        badge(status)
        _action(snap, status, here)
    st.caption(_caption(snap))
    _where_note(snap, status, here)
    _end_note(snap, status)


def _caption(snap: Snapshot) -> str:
    """What the run tunes, on what score, validated how, with which seed."""
    cfg = snap.record.config  # None: a configuration this version cannot read
    folds = cfg.cv_folds if cfg is not None else "?"
    validation = (
        f"holdout split (fold 1 of {folds})"
        if pbt_view.is_population(cfg)
        else f"{folds}-fold CV"
    )
    seed = cfg.seed if cfg is not None else "?"
    return (
        f"{runs.describe(snap.record)} · score: {text.md(snap.score_title)} · {validation} "
        f"· seed {seed}"
    )


def _action(snap: Snapshot, status: RunStatus, here: bool) -> None:
    """Stop a run that works (here, or elsewhere through the storage), or resume one."""
    if here or status == RunStatus.RUNNING:
        stopping = status == RunStatus.RUNNING and runs.stop_requested(snap.name)
        label = "Stopping…" if stopping else "Stop run"
        if st.button(label, key="stop_run", icon=":material/stop:", disabled=stopping,
                     help="Stops within one fold or epoch; finished trials are kept."):  # fmt: skip
            runs.stop(snap.name)
            st.toast("Stopping: the trial in progress ends after its current fold or epoch.")
    elif status not in RESUMABLE:
        return
    elif pbt_view.is_population(snap.record.config):
        st.caption("Cannot resume")
    elif not snap.record.rebuildable:
        st.caption("Cannot resume", help=snap.record.why_not("Resume"))
    elif st.button("Resume", key="resume_run", icon=":material/play_arrow:",
                   help="Continue with the budget that is left"):  # fmt: skip
        try:  # a run on a Dask cluster that this app cannot reach says so
            runs.resume(snap.name)
        except UserError as exc:
            st.error(text.md(exc))
        else:
            st.rerun()  # full rerun: start polling


def _where_note(snap: Snapshot, status: RunStatus, here: bool) -> None:
    """A run that works, or waits, somewhere other than this app."""
    if status == RunStatus.RUNNING and not here:
        st.info(
            "This run works in another process (command line, worker or another server); this "
            "page follows it by reading the storage. Stop asks every process working on it to "
            "stop within a fold or epoch.",
            icon=":material/info:",
        )
    if status == RunStatus.QUEUED and not here and snap.record.status == RunStatus.QUEUED:
        st.info("This run is waiting but is not in this app's queue (it may have been queued "
                "before the app restarted): Resume starts it.", icon=":material/info:")  # fmt: skip


def _end_note(snap: Snapshot, status: RunStatus) -> None:
    """Why the run ended as it did: its message, or what an interruption means."""
    message = snap.record.message
    if message and status in (RunStatus.FAILED, RunStatus.INTERRUPTED):
        st.error(text.md(message))
    elif status == RunStatus.INTERRUPTED and pbt_view.is_population(snap.record.config):
        st.warning(
            "The process running this run stopped without finishing. " + pbt_view.NOT_RESUMABLE
        )
    elif status == RunStatus.INTERRUPTED:
        st.warning(f"The process running this run stopped without finishing (no heartbeat for "
                   f"{STALE_S:g} s): its unfinished trial is marked failed. Resume continues it.")  # fmt: skip
    elif message and status == RunStatus.STOPPED:
        st.info(text.md(message))


def _queue(name: str) -> None:
    manager = registry.manager()
    queued = manager.queued()
    if not queued:
        return
    running = [n for n in manager.active_names() if n not in queued]
    lines = [f"{i}. {'**this run**' if n == name else text.md(n)}" for i, n in enumerate(queued, 1)]
    st.warning(
        f"**Queue** — at most {manager.max_running} runs work at once "
        f"({len(running)} running now); these wait their turn:\n\n" + "\n".join(lines),
        icon=":material/hourglass_top:",
    )


# Three tiles, so that a score fits at 900 px as at 1600 px (Streamlit's columns do not reflow:
# five tiles cut "0.9736" to "0.…" in a narrow window); the times go in a line under them.
METRIC_LABELS = ("Best score", "Best trial", "Trials done")


def skeleton() -> None:
    """What the page will show, before the first snapshot: metric tiles and the first charts."""
    for i, col in enumerate(st.columns(len(METRIC_LABELS))):
        widgets.tile(col, METRIC_LABELS[i], "…", key=f"skeleton-{i}")
    titles = ("Score of every trial", "Score over time")
    for col, title in zip(widgets.pair("skeleton"), titles, strict=True):
        frame = empty_figure(title, "Loading trials…", "", "", live=True)
        col.plotly_chart(frame, config=PLOTLY_CONFIG)


def _metrics(snap: Snapshot) -> None:
    c = st.columns(len(METRIC_LABELS))
    best = snap.best["value"] if snap.best else None
    widgets.tile(
        c[0], f"Best {snap.scoring.label}", text.score(best), key="best",
        help=(f"Best value the study's objective returned so far ({snap.scoring.arrow})"
              if snap.record.read_only
              else f"Best cross-validated score so far ({snap.scoring.arrow})")
        + (", whatever it cost" if snap.front is not None else ""),
    )  # fmt: skip
    if snap.front is not None:  # one best score is not the answer here: the front is
        widgets.tile(c[1], "Front members", f"{len(snap.front):,}", key="front",
                     help="Complete trials that no other beats on every objective")  # fmt: skip
    else:
        widgets.tile(c[1], "Best trial", f"#{int(snap.best['number'])}" if snap.best else "–",
                     key="best-trial")  # fmt: skip
    budget = f" of {snap.n_budget:,}" if snap.n_budget else ""
    widgets.tile(c[2], "Trials done", f"{snap.done:,}", key="done",
                 help=f"Complete, pruned and failed trials{budget}")  # fmt: skip
    st.caption(times_line(snap))
    if warm := warm_start_line(snap.record, snap.df):  # what the earlier runs' best bought
        st.caption(text.md(warm))
        warm_view.source_agreement(snap)
        warm_view.cold_account(snap)
    if snap.progress is not None:
        parts = []
        if snap.n_budget:
            parts.append(f"{snap.done:,} of {snap.n_budget:,} trials")
        if snap.timeout_s:
            parts.append(f"{text.duration(snap.elapsed_s)} of {text.duration(snap.timeout_s)}")
        st.progress(snap.progress, text=" · ".join(parts))


def times_line(snap: Snapshot) -> str:
    """'Elapsed 2 h 46 min · about 12 min 05 s left (estimate)': a line, never cut like a tile."""
    line = f"Elapsed {text.duration(snap.elapsed_s)}"
    if snap.eta_s is not None:
        line += f" · about {text.duration(snap.eta_s)} left (estimate)"
    return line


def _charts(snap: Snapshot, figs: dict):
    if snap.front is not None:
        st.caption(
            f"The charts below show the CV score alone ({text.md(snap.score_title)}): its "
            "best so far is the best score whatever it cost, not the chosen trade-off."
        )
    _score_charts(figs)
    # Under the score charts it reads (is the best still moving?), and the first look draws
    # those charts alone; its model's fits come after every chart of the page.
    advise_later = advisor_view.live(snap)
    left, right = widgets.pair("curves")
    with left:
        st.plotly_chart(figs["curves"], key="chart_curves", config=PLOTLY_CONFIG)
        st.caption(_curves_note(snap))
    slot = None
    with right:
        if "importance" in figs:
            _importance(st.empty(), snap, figs["importance"])
        elif snap.n_complete >= MIN_TRIALS_FOR_IMPORTANCE:  # drawn once the charts are sent
            slot = st.empty()
            slot.info("Computing parameter importance…", icon=":material/insights:")
        else:
            st.info(
                f"Parameter importance appears after {MIN_TRIALS_FOR_IMPORTANCE} complete trials "
                f"({snap.n_complete} so far).",
                icon=":material/insights:",
            )
    left, right = st.columns([2, 3])
    with left:
        if snap.counts:
            st.plotly_chart(figs["states"], key="chart_states", config=PLOTLY_CONFIG)
        else:
            st.markdown("**Trial states**")
            st.caption("No trials yet.")
    with right:
        _failures(snap.df)
    _top_table(snap)
    advise_later()
    return slot


def _score_charts(figs, head_only: bool = False) -> None:
    """Score by trial and over time, side by side. The first look sends the first alone (its
    neighbour's place kept empty): each carries up to a thousand points with their hovers, and
    the browser draws nothing until it has read and drawn all it was sent."""
    left, right = widgets.pair("scores")
    left.plotly_chart(figs["by_trial"], key="chart_by_trial", config=PLOTLY_CONFIG)
    if not head_only:
        right.plotly_chart(figs["by_time"], key="chart_by_time", config=PLOTLY_CONFIG)


def _importance(slot, snap: Snapshot, fig=None) -> None:
    """The importance chart (and how old it is) in its place on the page."""
    if snap.importance is None:
        slot.empty()
        return
    if fig is None:
        other = snap.disagreement.short if snap.disagreement else ""
        fig = charts.importance_bars(snap.importance, other)
    with slot.container():
        st.plotly_chart(fig, key="chart_importance", config=PLOTLY_CONFIG)
        if snap.importance.n_complete != snap.n_complete:
            st.caption(f"Updated at {snap.importance.n_complete:,} complete trials; "
                       "it refreshes as more complete.")  # fmt: skip


def _curves_note(snap: Snapshot) -> str:
    if snap.record.read_only:
        return ("Each line is one trial: the intermediate values its objective reported "
                "(trial.report), by step. An × marks where a pruned trial was stopped.")  # fmt: skip
    if snap.step_kind == "folds":
        what = "the running mean of the CV score after each fold"
    elif snap.step_kind == "epochs":
        what = "the CV score after each epoch of training"
    else:
        what = "the CV score after each chunk of boosting rounds"
    return (f"Each line is one trial: {what}. An × marks where a pruned trial was stopped"
            + ("; a ◆ where early stopping ended training." if snap.step_kind == "epochs" else "."))  # fmt: skip


def _failures(df: pd.DataFrame) -> None:
    st.markdown("**Why trials did not complete**")
    if not len(df):
        st.caption("No trials yet.")
        return
    table = tables.failure_table(df)
    if not len(table):
        st.caption("Every finished trial completed.")
        return
    st.dataframe(table, hide_index=True, height=min(300, 40 + 35 * len(table)))


def _top_table(snap: Snapshot) -> None:
    alone = " alone (the front above weighs it against the costs)" if snap.front else ""
    st.markdown(f"**Top trials** by {text.md(snap.score_title)}{alone}")
    table = tables.top_table(snap.df, snap.scoring)
    if not len(table):
        st.caption("No complete trials yet.")
        return
    label = snap.scoring.label
    workers = tables.worker_counts(snap.df)
    if len(workers) > 1:
        # A Dask worker is named by its address (tcp://host:port), a local one by host:pid.
        kind = "Dask worker" if all("://" in str(w) for w in workers) else "worker process"
        names = tables.worker_names(snap.df)
        st.caption(
            f"Trials per {kind}: "
            + ", ".join(f"{names.get(w, text.md(w))}: {n}" for w, n in workers.items()),
            help=text.md(tables.worker_help(snap.df)),
        )
    st.dataframe(
        table, hide_index=True,
        column_config={
            label: st.column_config.NumberColumn(format="%.4f"),
            "± std (folds)": st.column_config.NumberColumn(format="%.4f"),
            "train score": st.column_config.NumberColumn(format="%.4f"),
            "fit time (s)": st.column_config.NumberColumn(format="%.2f"),
            "worker": st.column_config.TextColumn(help=tables.worker_help(snap.df)),
        },
    )  # fmt: skip


# -- multi-objective runs ----------------------------------------------------------------------
def choose_tradeoff(name: str, **how) -> int:
    """Refit and test a trade-off through the engine (`trial=N`, or `within_pct=X, cost=NAME`):
    the run keeps the choice and the test of that trial."""
    return choose(name, registry.storage(), **how)


def _objective_value(v: float, index: int) -> str:
    """The score as scores are shown everywhere; a cost with 4 significant digits, whole
    numbers (bytes, parameters) with thousands separators."""
    if index == 0:
        return text.score(v)
    return f"{int(v):,}" if v.is_integer() and abs(v) >= 1000 else f"{v:.4g}"


def front_table_key(name: str, numbers) -> str:
    """The front table's widget key: a new one whenever the front changes, so that a row
    selected in an older front (rows are positions) never chooses another trial."""
    return f"front_table:{name}:{zlib.crc32(bytes(str(list(map(int, numbers))), 'ascii'))}"


def _tradeoffs(snap: Snapshot, figs: dict, ended: bool) -> None:
    front = snap.front
    objs = front.objectives
    st.markdown("#### Trade-offs: the Pareto front")
    st.caption(
        "Objectives: "
        + " · ".join(text.md(f"{o.title} ({pareto_plots.better(o)})") for o in objs)
        + f". {len(front):,} of {len(front.points):,} complete trials are on the front: no other "
        "trial is at least as good on every objective and better on one."
    )
    left, right = widgets.pair("front")
    left.plotly_chart(figs["front"], key="chart_front", config=PLOTLY_CONFIG)
    right.plotly_chart(figs["hypervolume"], key="chart_hypervolume", config=PLOTLY_CONFIG)
    if "parallel_front" in figs:
        st.plotly_chart(figs["parallel_front"], key="chart_parallel_front", config=PLOTLY_CONFIG)
        st.plotly_chart(figs["pairwise_fronts"], key="chart_pairwise_fronts", config=PLOTLY_CONFIG)
    if snap.record.read_only:
        _front_table(snap, False)
        st.caption(text.md(snap.record.why_not("Choosing a trade-off (a refit and a test)")))
        return
    _choice(snap, ended)
    working = not ended
    can_choose = ended and len(front) > 0
    _front_table(snap, can_choose)
    _cheapest(snap, can_choose)
    if working:
        st.caption(
            "You can choose a trade-off once the run has ended: choosing refits that trial on "
            "all training rows and scores it once on the held-out test set. When the run "
            "finishes it chooses the cheapest trial within 1 % of the best score by the first cost."
        )


def _choice(snap: Snapshot, ended: bool = True) -> None:
    front = snap.front
    choice = front.choice
    if not choice:
        st.info("No trade-off chosen yet.", icon=":material/balance:")
        return
    number = int(choice["trial"])
    row = front.points[front.points["number"] == number]
    values = ""
    if len(row):
        values = " · ".join(
            f"{text.md(o.title)}: {_objective_value(float(row[o.name].iloc[0]), i)}"
            for i, o in enumerate(front.objectives)
        )
    test = snap.record.test if ended else None
    if not ended:
        tested = "Its held-out test score is shown once the run has ended."
    elif test is not None and test.trial == number and test.score is not None:
        tested = f"Held-out test {text.md(snap.scoring.label)}: **{text.score(test.score)}**."
    elif test is not None and test.trial == number and test.error:
        tested = f"Its refit failed: {text.md(test.error)}"
    else:
        tested = "Not refit and tested yet."
    st.success(
        f"**Chosen trade-off: trial #{number}** ({text.md(choice.get('rule', ''))}). "
        f"{text.md(choice.get('reason', ''))}\n\n{values}\n\n{tested}",
        icon=":material/balance:",
    )


def _front_table(snap: Snapshot, can_choose: bool) -> None:
    front = snap.front
    table = pareto_plots.front_table(front.points, front.objectives, front.numbers, snap.df)
    st.markdown("**The front**" + (" — click a row to choose that trade-off" if can_choose else ""))
    if not len(table):
        st.caption("No complete trials yet.")
        return
    formats = {
        o.title: st.column_config.NumberColumn(format="localized" if o.counts else "%.4g")
        for o in front.objectives
    }
    key = front_table_key(snap.name, table["trial"])
    shown = dict(hide_index=True, column_config=formats, height=min(400, 40 + 35 * len(table)))
    if not can_choose:
        st.dataframe(table, **shown)
        return
    event = st.dataframe(
        table, key=key, on_select="rerun", selection_mode="single-row", **shown
    )  # fmt: skip
    rows = list(event.selection.rows) if event is not None else []
    if not rows:
        return
    number = int(table["trial"].iloc[rows[0]])
    done_key = f"front_chosen:{snap.name}"
    if st.session_state.get(done_key) == (key, number) or number == front.chosen:
        return  # this click was handled (the selection stays on later reruns)
    st.session_state[done_key] = (key, number)
    _apply_choice(snap, trial=number)


def _cheapest(snap: Snapshot, can_choose: bool) -> None:
    front = snap.front
    costs = front.objectives[1:]
    score = front.objectives[0]
    # A row that wraps on a narrow window: in columns the button's label was cut ("Choose the…")
    row = st.container(horizontal=True, vertical_alignment="bottom")
    pct = row.number_input(
        "Within % of the best score", min_value=0.0, max_value=100.0, value=1.0, step=0.5,
        key=f"within_pct:{snap.name}", width=200,
    )  # fmt: skip
    cost = row.selectbox(
        "Cheapest by", [o.name for o in costs], key=f"within_cost:{snap.name}",
        format_func=lambda n: next(o.title for o in costs if o.name == n), width=320,
    )  # fmt: skip
    number = _cheapest_trial(snap, float(pct), cost) if can_choose else None
    pressed = row.button(
        "Choose the cheapest", key=f"within_go:{snap.name}", icon=":material/balance:",
        disabled=not can_choose or number is None,
        help=f"The complete trial with the lowest {cost} whose {score.label} is within this "
        "share of the best; ties go to the better score",
    )  # fmt: skip
    if number is not None:
        st.caption(
            f"By this rule: trial #{number}"
            + (" (the chosen one)" if number == front.chosen else "")
        )
    if pressed and number is not None:
        _apply_choice(snap, within_pct=float(pct), cost=cost)


def _cheapest_trial(snap: Snapshot, pct: float, cost: str) -> int | None:
    """pareto.tradeoff over the run's trials, kept while they do not change: it is offered once
    the run has ended, and each refresh would recompute it over every trial."""
    key = (snap.name, len(snap.df), snap.n_complete, pct, cost)
    memo = st.session_state.setdefault("cheapest_memo", {})
    if key not in memo:
        memo.clear()  # one run and rule at a time
        memo[key] = pareto.tradeoff(snap.df, snap.front.objectives, pct, cost)
    return memo[key]


def _apply_choice(snap: Snapshot, **how) -> None:
    what = f"trial #{how['trial']}" if "trial" in how else "the cheapest trade-off"
    with st.spinner(f"Refitting {what} on all training rows and scoring it on the test set…"):
        try:
            number = choose_tradeoff(snap.name, **how)
        except (UserError, ValueError) as exc:
            st.error(text.md(str(exc)))
            return
    st.toast(f"Chose trial #{number}: refit and tested.")
    st.rerun()


def _details(snap: Snapshot, ended: bool = True) -> None:
    test = snap.record.test if ended else None
    if test is not None and test.score is not None:
        label, score = text.md(snap.scoring.label), text.score(test.score)
        n_train, n_test = _or_unknown(test.n_train), _or_unknown(test.n_test)
        if test.source == "population":
            how = (f"the best member's own network (its last segment, trial #{test.trial}), trained "
                   f"with its hyperparameter schedule on {n_train} rows, scored once on {n_test} rows")  # fmt: skip
        else:
            what = "chosen trade-off" if snap.front is not None else "best configuration"
            how = (f"the {what} (trial #{test.trial}) refit on all {n_train} training "
                   f"rows and scored once on {n_test} rows")  # fmt: skip
        spread = text.held_out_interval(snap.run.scoring, test.score, test.n_test)
        spread = f" ({text.md(spread)})" if spread else ""
        st.success(f"**Held-out test score: {label} = {score}**{spread} — {how} the search "
                   "never saw.", icon=":material/verified:")  # fmt: skip
    elif test is not None and test.error:
        st.warning(f"Refitting the best configuration failed: {text.md(test.error)}")
    if snap.record.read_only:
        with st.expander("What is known of this study"):
            foreign.known(snap.run)
        return
    with st.expander("Run configuration"):
        st.json(snap.record.config_dict, expanded=2)  # as saved (JSON), whatever its version


def _or_unknown(v) -> str:
    return "?" if v is None else str(v)
