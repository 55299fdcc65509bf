"""The Live monitor's body: a fragment that refreshes itself while the run works.

`show(name)` decides once per full run whether the run is live (running or queued here, or
"running" in the storage when another process runs it). If so, the fragment reruns every
POLL_S seconds; when the run ends, it forces one full rerun, which defines the fragment again
without run_every, so the browser stops polling. Each refresh reads only new or unfinished
trials (tuning.analysis.LiveRun) and draws small figures (ui.charts).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tuning.analysis import MIN_TRIALS_FOR_IMPORTANCE, Snapshot
from tuning.core.errors import UserError
from tuning.store.runs import STALE_S
from ui import charts, pbt_view, registry, runs, tables, text

POLL_S = 1.5
RESUMABLE = ("stopped", "interrupted", "queued")
STATUS_ICONS = {
    "queued": ":material/schedule:",
    "running": ":material/autorenew:",
    "finished": ":material/check_circle:",
    "stopped": ":material/stop_circle:",
    "failed": ":material/error:",
    "interrupted": ":material/warning:",
}
STATUS_COLORS = {
    "queued": "gray", "running": "blue", "finished": "green",
    "stopped": "violet", "failed": "red", "interrupted": "orange",
}  # fmt: skip
PLOTLY_CONFIG = {"displaylogo": False}


def show(name: str) -> None:
    manager = registry.manager()
    try:
        live_run = registry.live_run(name)
        attrs = live_run.attrs()
    except (UserError, KeyError):  # deleted meanwhile (from another tab or process)
        _gone(name)
        return
    runs.settle_interrupted(name, attrs, manager)
    record = live_run.record(attrs)
    polling = runs.should_poll(name, record.status, record.created_at, manager)

    drawn_key = f"live_drawn:{name}"

    @st.fragment(run_every=POLL_S if polling else None)
    def live() -> None:
        holder = st.empty()
        if not st.session_state.get(drawn_key):
            # The first look in this session: the page's layout at once, while the trials are
            # read; its empty charts also start the browser loading Plotly's code.
            with holder.container():
                skeleton()
        try:
            snap = live_run.snapshot()
        except KeyError:  # deleted while this page watched it
            snap = None
        # Emptied, not overwritten: elements drawn in this same run would survive an overwrite.
        holder.empty()
        if snap is None:
            _gone(name)
            if polling:
                st.rerun()
            return
        render(snap, live_run.hover_cache)
        st.session_state[drawn_key] = True
        still = runs.should_poll(name, snap.status, snap.record.created_at, manager)
        if polling and not still:
            st.rerun()  # full rerun: the fragment comes back without run_every

    live()


def _gone(name: str) -> None:
    registry.forget(name)
    st.warning(f"Run {text.md(name)} no longer exists: it was deleted.", icon=":material/delete:")


def render(snap: Snapshot, hover_cache: dict[int, str] | None = None) -> None:
    manager = registry.manager()
    status = runs.shown_status(snap.name, snap.status, manager)
    here = manager.is_active(snap.name)  # running or queued in this process
    _status_line(snap, status, here)
    _queue(snap.name)
    _metrics(snap)
    if pbt_view.is_population(snap.config):
        pbt_view.section(
            snap.run.trials, snap.config, snap.score_title, snap.direction, snap.test, "live"
        )
    _charts(snap, hover_cache)
    _details(snap)


def _status_line(snap: Snapshot, status: str, here: bool) -> None:
    left, right = st.columns([4, 1], vertical_alignment="center")
    with left:
        st.badge(status, icon=STATUS_ICONS.get(status), color=STATUS_COLORS.get(status, "gray"))
        cfg = snap.config
        st.caption(
            f"{text.md(runs.dataset_label(cfg))} · {text.md(runs.model_label(cfg.get('model', '?')))}"
            f" · {text.md(runs.method_label(cfg.get('method', '?')))} · score: "
            f"{text.md(snap.score_title)} · "
            + (
                f"holdout split (fold 1 of {cfg.get('cv_folds', '?')})"
                if pbt_view.is_population(cfg)
                else f"{cfg.get('cv_folds', '?')}-fold CV"
            )
            + f" · seed {cfg.get('seed', 0)}"
        )
    with right:
        if here or status == "running":  # a run in another process gets a stop request via storage
            stopping = runs.stop_requested(snap.name, registry.manager())
            label = "Stopping…" if stopping and status == "running" else "Stop run"
            if st.button(label, key="stop_run", icon=":material/stop:", disabled=stopping and status == "running",
                         help="Stops within one fold or epoch; finished trials are kept."):  # fmt: skip
                runs.stop(snap.name)
                st.toast("Stopping: the trial in progress ends after its current fold or epoch.")
        elif status in RESUMABLE and pbt_view.is_population(snap.config):
            st.caption("Cannot resume")
        elif status in RESUMABLE:
            if st.button("Resume", key="resume_run", icon=":material/play_arrow:",
                         help="Continue with the budget that is left"):  # fmt: skip
                runs.resume(snap.name)
                st.rerun()  # full rerun: start polling
    if status == "running" and not here:
        st.info(
            "This run works in another process (command line, worker or another server); this "
            "page follows it by reading the storage. Stop asks every process working on it to "
            "stop within a fold or epoch.",
            icon=":material/info:",
        )
    if status == "queued" and not here and snap.status == "queued":
        st.info("This run is waiting but is not in this app's queue (it may have been queued "
                "before the app restarted): Resume starts it.", icon=":material/info:")  # fmt: skip
    message = snap.record.message
    if message and status in ("failed", "interrupted"):
        st.error(text.md(message))
    elif status == "interrupted" and pbt_view.is_population(snap.config):
        st.warning(
            "The process running this run stopped without finishing. " + pbt_view.NOT_RESUMABLE
        )
    elif status == "interrupted":
        st.warning(f"The process running this run stopped without finishing (no heartbeat for "
                   f"{STALE_S:g} s): its unfinished trial is marked failed. Resume continues it.")  # fmt: skip
    elif message and status == "stopped":
        st.info(text.md(message))


def _queue(name: str) -> None:
    manager = registry.manager()
    queued = manager.queued()
    if not queued:
        return
    running = [n for n in runs.active_names(manager) if n not in queued]
    lines = [f"{i}. {'**this run**' if n == name else text.md(n)}" for i, n in enumerate(queued, 1)]
    st.warning(
        f"**Queue** — at most {manager.max_running} runs work at once "
        f"({len(running)} running now); these wait their turn:\n\n" + "\n".join(lines),
        icon=":material/hourglass_top:",
    )


METRIC_LABELS = ("Trials done", "Best score", "Best trial", "Elapsed", "Time left (estimate)")
# "10,000 / 10,000" needs about 1.6 times the width of the other values.
METRIC_WIDTHS = [1.6, 1, 1, 1, 1.2]


def skeleton() -> None:
    """What the page will show, before the first snapshot: metric tiles and the first charts."""
    c = st.columns(METRIC_WIDTHS)
    for col, label in zip(c, METRIC_LABELS, strict=True):
        col.metric(label, "…")
    left, right = st.columns(2)
    for col, title in ((left, "Score of every trial"), (right, "Score over time")):
        frame = charts.empty_figure("Loading trials…", charts.layout(title, "", ""))
        col.plotly_chart(frame, config=PLOTLY_CONFIG)


def _metrics(snap: Snapshot) -> None:
    c = st.columns(METRIC_WIDTHS)
    budget = f" / {snap.n_budget:,}" if snap.n_budget else ""
    c[0].metric("Trials done", f"{snap.done:,}{budget}", help="Complete, pruned and failed trials")
    best = snap.best["value"] if snap.best else None
    c[1].metric(
        f"Best {snap.scoring.label}", text.score(best),
        help=f"Best cross-validated score so far ({snap.scoring.arrow})",
    )  # fmt: skip
    c[2].metric("Best trial", f"#{int(snap.best['number'])}" if snap.best else "–")
    c[3].metric("Elapsed", text.duration(snap.elapsed_s))
    c[4].metric(
        "Time left (estimate)", text.duration(snap.eta_s) if snap.eta_s is not None else "–"
    )
    if snap.progress is not None:
        parts = []
        if snap.n_budget:
            parts.append(f"{snap.done:,} of {snap.n_budget:,} trials")
        if snap.timeout_s:
            parts.append(f"{text.duration(snap.elapsed_s)} of {text.duration(snap.timeout_s)}")
        st.progress(snap.progress, text=" · ".join(parts))


def _charts(snap: Snapshot, hover_cache: dict[int, str] | None) -> None:
    figs = charts.live_figures(snap, hover_cache)
    left, right = st.columns(2)
    left.plotly_chart(figs["by_trial"], key="chart_by_trial", config=PLOTLY_CONFIG)
    right.plotly_chart(figs["by_time"], key="chart_by_time", config=PLOTLY_CONFIG)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(figs["curves"], key="chart_curves", config=PLOTLY_CONFIG)
        st.caption(_curves_note(snap))
    with right:
        if "importance" in figs:
            st.plotly_chart(figs["importance"], key="chart_importance", config=PLOTLY_CONFIG)
            if snap.importance and snap.importance.n_complete != snap.n_complete:
                st.caption(f"Updated at {snap.importance.n_complete:,} complete trials; "
                           "it refreshes as more complete.")  # fmt: skip
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


def _curves_note(snap: Snapshot) -> str:
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
    st.markdown(f"**Top trials** by {text.md(snap.score_title)}")
    table = tables.top_table(snap.df, snap.scoring)
    if not len(table):
        st.caption("No complete trials yet.")
        return
    label = snap.scoring.label
    workers = tables.worker_counts(snap.df)
    if len(workers) > 1:
        st.caption(
            "Trials per worker process: "
            + ", ".join(f"{text.md(w)}: {n}" for w, n in workers.items())
        )
    st.dataframe(
        table, hide_index=True,
        column_config={
            label: st.column_config.NumberColumn(format="%.4f"),
            "± std (folds)": st.column_config.NumberColumn(format="%.4f"),
            "train score": st.column_config.NumberColumn(format="%.4f"),
            "fit time (s)": st.column_config.NumberColumn(format="%.2f"),
        },
    )  # fmt: skip


def _details(snap: Snapshot) -> None:
    test = snap.record.test
    if test is not None and test.score is not None:
        label, score = text.md(snap.scoring.label), text.score(test.score)
        n_train, n_test = _or_unknown(test.n_train), _or_unknown(test.n_test)
        if test.source == "population":
            how = (f"the best member's own network (its last segment, trial #{test.trial}), trained "
                   f"with its hyperparameter schedule on {n_train} rows, scored once on {n_test} rows")  # fmt: skip
        else:
            how = (f"the best configuration (trial #{test.trial}) refit on all {n_train} training "
                   f"rows and scored once on {n_test} rows")  # fmt: skip
        st.success(f"**Held-out test score: {label} = {score}** — {how} the search never saw.",
                   icon=":material/verified:")  # fmt: skip
    elif test is not None and test.error:
        st.warning(f"Refitting the best configuration failed: {text.md(test.error)}")
    with st.expander("Run configuration"):
        st.json(snap.config, expanded=2)


def _or_unknown(v) -> str:
    return "?" if v is None else str(v)
