"""The Analysis page's body: what the trials of one run say, refreshed while the run works.

`show(name)` decides once per full run whether the run is live (as the Live monitor does). If
so, the body is a fragment that reruns every POLL_S seconds and forces one full rerun when the
run ends, so the browser stops polling. Each refresh reads only new or unfinished trials
(through the run's long-lived reader, tuning.analysis.LiveRun) and turns them into numbers
(tuning.analysis) and figures (tuning.plots).

Importance is the one costly number: it comes from the run's one cache
(tuning.analysis.ImportanceCache), the same the Live monitor reads, so both pages show the
same importance for the same run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tuning import analysis as an
from tuning.analysis import statistics as an_stats
from tuning.core.errors import UserError
from tuning.plots import figures as plots
from ui import (
    foreign,
    gain_view,
    notes,
    origin_view,
    pbt_view,
    registry,
    replay_view,
    runs,
    state,
    tables,
    text,
    widgets,
)
from ui import live as live_ui
from ui.monitor import badge

POLL_S = 5.0
PLOTLY_CONFIG = {"displaylogo": False}
TOP_ON_TEST = 5

METHOD_LABELS = {  # the default first: the radio starts on it
    "mdi": "Mean decrease impurity (default)",
    "ped_anova": "PED-ANOVA (fast)",
    "fanova": "fANOVA (slower)",
}
METHOD_HELP = (
    "**Mean decrease impurity** (default): how much of the scores' variation each parameter's "
    "splits explain in a random forest fit to them. **PED-ANOVA**: how differently each "
    "parameter is distributed among the top 10% of trials than among all trials; fast at any "
    "number of trials, and it favours a narrow best range over a choice that moves every score. "
    "**fANOVA**: splits the variance of a random forest's predictions between the parameters; "
    "slower, computed on at most 200 trials. The bars show each estimate's 5–95% range over "
    "bootstrap resamples of the trials."
)
REC_LABELS = {"widen": "Widen", "narrow": "Narrow", "fix": "Fix", "stop": "Stop", "note": "Note",
              "tradeoff": "Trade-off"}  # fmt: skip

# Widget keys
IMP_METHOD = "an_imp_method"
CONTOUR_AGG = "an_contour_agg"
VIEW = "an_view"  # the open tab of "Where the good scores are"
REFINE = "an_refine"
TOP_TEST = "an_top_test"
TOP_TEST_DONE = "an_top_test_done"  # plain key: a toast on the next run


# -- the page -----------------------------------------------------------------------------------
def show(name: str) -> None:
    manager = registry.manager()
    try:
        live = registry.live_run(name)
        record = live.record()
    except (UserError, KeyError):  # deleted meanwhile (from another tab or process)
        _gone(name)
        return
    polling = runs.should_poll(name, record.status, record.created_at, manager)

    @st.fragment(run_every=POLL_S if polling else None)
    def body() -> None:
        try:
            run = live_ui.load(live)
        except KeyError:  # deleted while this page watched it
            _gone(name)
            if polling:
                st.rerun()
            return
        render(live, run, polling)
        notes.run_note(live, run, "analysis")
        notes.trial_panel(live, run, "analysis")
        stored, created = run.record.status, run.record.created_at
        if polling and not runs.should_poll(name, stored, created, manager):
            st.rerun()  # full rerun: the fragment comes back without run_every

    body()


def _gone(name: str) -> None:
    registry.forget(name)
    st.warning(f"Run {text.md(name)} no longer exists: it was deleted.", icon=":material/delete:")


def render(live: an.LiveRun, run: an.RunData, working: bool) -> None:
    _status_line(run, working)
    gain_view.headline(run)
    if run.n_complete == 0:
        st.info(
            "No complete trials yet: the analysis appears as soon as trials complete.",
            icon=":material/hourglass_top:",
        )
        return
    if pbt_view.is_population(run.config):
        pbt_view.section(
            run.trials, run.config, f"holdout {run.label} ({run.arrow})",
            run.direction, run.test, "analysis",
        )  # fmt: skip
    multi = run.record.multi_objective
    if multi:
        _objectives_line(run)
    first = live_ui.importance(live, run)
    _importance_section(live, run, first)
    if multi:
        _tradeoff_section(live, run)
    _explore_section(run, first)
    _overfitting_section(live, run)
    eff = an.efficiency(run)
    _efficiency_section(run, eff)
    ranks = an.compare_top(run)
    _best_section(run, ranks)
    origin_view.section(run.frame, "analysis")  # where the trials came from, filtered by origin
    replay_view.section(live, run, first, "analysis")  # why a trial was tried, replayed
    stall = an.plateau(run)
    _plateau_section(stall, run)
    recs = an.recommend(run, first, stall, ranks)
    _recommendations_section(run, recs)


def _chart(fig, key: str) -> None:
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG)


def _status_line(run: an.RunData, working: bool) -> None:
    status = live_ui.status_of(run)
    badge(status)
    counts = run.frame["state"].value_counts() if len(run.frame) else pd.Series(dtype=int)
    parts = [f"{int(v):,} {k}" for k, v in counts.items()]
    if run.record.read_only:
        st.caption(foreign.caption(run))
        foreign.notice(str(status))
        return
    line = f"{runs.describe(run.record)} · trials: {', '.join(parts) or 'none yet'}"
    if working:
        line += f" · refreshing every {POLL_S:g} s while the run works"
    st.caption(line)


# -- importance ---------------------------------------------------------------------------------
def _objectives_line(run: an.RunData) -> None:
    score, *costs = run.record.objectives
    st.info(
        f"A multi-objective run: {text.md(score.label)} against "
        f"{text.md(', '.join(c.label.lower() for c in costs))}. Importance and the trade-off "
        "section judge each objective; the views below them that need one value per trial "
        f"(slices, contours, history, overfitting, the t-test, diminishing returns) show "
        f"{text.md(score.label)} (the run's main score).",
        icon=":material/balance:",
    )


def _score_only(run: an.RunData, what: str) -> None:
    """On a multi-objective run, say that a one-value view reads the score only."""
    if run.record.multi_objective:
        st.caption(f"{what} {text.md(run.record.objectives[0].label)} only, not the costs.")


def _importance_section(live: an.LiveRun, run: an.RunData, first: an.Importance) -> None:
    st.subheader("Which hyperparameters matter")
    if run.record.multi_objective:
        st.caption(f"Judged on {text.md(run.record.objectives[0].label)}; each cost's own "
                   "importance is in the trade-off section below.")  # fmt: skip
    method = st.radio(
        "Importance method",
        list(METHOD_LABELS),
        format_func=METHOD_LABELS.get,
        horizontal=True,
        key=IMP_METHOD,
        help=METHOD_HELP,
    )
    imp = first if method == an.DEFAULT_METHOD else live_ui.importance(live, run, method)
    # The chart and its numbers side by side; the words under both, at the page's width (in a
    # column of half a 900 px window they ran to forty lines). One above the other where two
    # do not fit: at 900 px the table's columns were cut.
    left, right = widgets.pair("importance")
    with left:
        _chart(plots.importance_figure(imp), "an_importance")
    with right:
        if imp.ok:
            st.dataframe(
                importance_table(imp),
                hide_index=True,
                column_config={
                    "beats next": st.column_config.TextColumn(
                        help="Share of the bootstrap resamples that rank this parameter above "
                        "the next one down: near 50%, the data cannot order the two."
                    )
                },
            )
        basis = imp.n_complete
        stale = " so far; it refreshes as more complete" if basis < run.n_complete else ""
        st.caption(f"Computed in {imp.seconds:.1f} s when {basis:,} trials were complete{stale}.")
    st.markdown(
        "A longer bar: the parameter did more to decide the scores (what each method counts: "
        "see its help). The whiskers give the 5–95% range over bootstrap resamples of the "
        "trials: where two ranges overlap, the data cannot tell those parameters apart."
    )
    if imp.note:
        st.caption(text.md(imp.note))
    other = live.importances.disagreement(run)
    if other is not None:
        st.warning(text.md(other.text), icon=":material/compare_arrows:")


def importance_table(imp: an.Importance) -> pd.DataFrame:
    t = imp.table
    return pd.DataFrame(
        {
            "parameter": t["param"],
            "share": t["importance"].map(lambda v: f"{v:.3f}"),
            "5–95% range": [
                f"{lo:.3f} – {hi:.3f}" for lo, hi in zip(t["low"], t["high"], strict=True)
            ],
            "beats next": t["above_next"].map(lambda v: "–" if pd.isna(v) else f"{100 * v:.0f}%"),
        }
    )


# -- multi-objective: what each parameter does to the score and to each cost -----------------
def _tradeoff_section(live: an.LiveRun, run: an.RunData) -> None:
    st.subheader("Which hyperparameters trade score for cost")
    score, *costs = run.record.objectives
    effects = an_stats.tradeoff_effects(run)
    trades = an_stats.tradeoffs(run, effects)
    if trades:
        st.markdown("\n".join(f"- {text.md(t.sentence)}" for t in trades))
    else:
        st.markdown(
            "No numeric parameter clearly moves the score and a cost yet (a rank correlation "
            f"of at least {an_stats.TRADE_MIN_RHO:g} with p < {an_stats.TRADE_ALPHA:g}, over "
            f"at least {an_stats.TRADE_MIN_TRIALS} complete trials)."
        )
    if not effects.empty:
        table = effects.pivot(index="param", columns="objective", values="rho")
        names = {o.name: o.title for o in run.record.objectives}
        table = table[[o.name for o in run.record.objectives if o.name in table]]
        st.dataframe(
            table.rename(columns=names).reset_index().rename(columns={"param": "parameter"}),
            hide_index=True,
            column_config={
                names[o.name]: st.column_config.NumberColumn(format="%+.2f")
                for o in run.record.objectives if o.name in table
            },
        )  # fmt: skip
        st.caption(
            "Spearman rank correlation of each numeric parameter with each objective over the "
            "complete trials: +1, the objective rises whenever the parameter does; 0, no "
            "link. A parameter with a strong link to the score and to a cost is the price of "
            "the score; categorical parameters have no order and are not listed."
        )
    cols = st.columns(len(costs))
    for col, cost in zip(cols, costs, strict=True):
        with col:
            if live.importances.due(run, an.DEFAULT_METHOD, objective=cost):
                with st.spinner(f"Computing importance for {cost.label.lower()}…"):
                    imp = live.importances.get(run, an.DEFAULT_METHOD, objective=cost)
            else:
                imp = live.importances.get(run, an.DEFAULT_METHOD, objective=cost)
            fig = plots.importance_figure(imp)
            fig.update_layout(title_text=f"Importance for {cost.title} ({imp.label})")
            _chart(fig, f"an_importance_{cost.name}")
            if imp.note:
                st.caption(text.md(imp.note))


# -- slices, contour, parallel coordinates, distribution, timeline, learning curves -------------
VIEWS = (
    "Slices", "Contour", "Parallel coordinates", "Score distribution", "History", "Timeline",
    "Learning curves",
)  # fmt: skip


def _explore_section(run: an.RunData, imp: an.Importance) -> None:
    st.subheader("Where the good scores are")
    _score_only(run, "These views show")
    # Stateful tabs: only the open one is drawn (a refresh sends one figure, not seven).
    tabs = st.tabs(list(VIEWS), key=VIEW, on_change="rerun")
    views = {
        "Slices": lambda: _slices(run),
        "Contour": lambda: _contour(run, imp),
        "Parallel coordinates": lambda: _parallel(run),
        "Score distribution": lambda: _distribution(run),
        "History": lambda: _history(run),
        "Timeline": lambda: _timeline(run),
        "Learning curves": lambda: _curves(run),
    }
    for tab, name in zip(tabs, VIEWS, strict=True):
        if tab.open:
            with tab:
                views[name]()


def _slices(run: an.RunData) -> None:
    _chart(plots.slice_figure(run), "an_slices")
    st.caption("The CV score against each parameter on its own; darker points ran later.")


def _parallel(run: an.RunData) -> None:
    _chart(plots.parallel_figure(run), "an_parallel")
    st.caption(
        "Each line is one trial across every parameter, coloured by its score. Drag along "
        "an axis to keep only the trials in that range."
    )


def _distribution(run: an.RunData) -> None:
    _chart(plots.distribution_figure(run), "an_distribution")
    st.caption(
        "For each score, the share of trials that reached it or better. A curve that stays "
        "high until close to the best: most trials were good; one that drops early: only a "
        "few came near the best."
    )


def _history(run: an.RunData) -> None:
    _chart(plots.history_figure(run), "an_history")
    st.caption("Each complete trial's CV score in the order it ran, and the best so far.")


def _timeline(run: an.RunData) -> None:
    _chart(plots.timeline_figure(run), "an_timeline")
    st.caption("When each trial ran and for how long, coloured by how it ended.")


def _curves(run: an.RunData) -> None:
    _chart(plots.learning_curves_of(run), "an_curves")
    st.caption(
        "The CV score reported during each trial (after each fold, epoch or boosting "
        "round); multi-fidelity methods stop poor trials early on these curves."
    )


def _contour(run: an.RunData, imp: an.Importance) -> None:
    names = run.param_names
    pair = an.best_pair(run, imp)
    if pair is None:
        st.info("A contour needs two searched parameters; this run searches "
                f"{text.plural(len(names), 'parameter')}.")  # fmt: skip
        return
    c1, c2, c3 = st.columns([2, 2, 2])
    # Keys per run: another run has other parameters (and another best pair).
    x = c1.selectbox("Horizontal axis", names, index=names.index(pair[0]),
                     key=f"an_contour_x_{run.name}")  # fmt: skip
    y = c2.selectbox("Vertical axis", names, index=names.index(pair[1]),
                     key=f"an_contour_y_{run.name}")  # fmt: skip
    agg = c3.segmented_control(
        "Each cell shows", ["best", "mean"], default="best", required=True, key=CONTOUR_AGG,
        format_func=lambda a: f"the {a} score",
    )  # fmt: skip
    if x == y:
        st.warning("Pick two different parameters.")
        return
    _chart(plots.contour_figure(an.contour_grid(run, x, y, agg=agg or "best"), run), "an_contour")
    st.caption(
        "Both parameters binned into cells; each cell is coloured by the "
        f"{agg or 'best'} score of the trials in it, and the dots are trials. Defaults to the two "
        "most important parameters."
    )


# -- overfitting --------------------------------------------------------------------------------
def _overfitting_section(live: an.LiveRun, run: an.RunData) -> None:
    st.subheader("Does it generalize?")
    if run.record.read_only:
        st.caption(text.md(run.record.why_not("Comparing train, CV and held-out test scores")))
        return
    _score_only(run, "The top trials here are ranked by")
    df = an.overfitting(run)
    top = df.head(TOP_ON_TEST)
    missing = int(top["test"].isna().sum())
    # The chart at full width with the words above and below it: beside it, in two fifths of
    # a 900 px window, the chart's title and legend overlapped.
    st.markdown(
        "Training-fold, cross-validation and held-out test scores of the top trials. A "
        "large gap between train and CV means the model fits its training data much "
        "better than new data (overfitting)."
    )
    chart = st.container()  # drawn after the button, which may add test scores first
    st.caption(
        f"The run scored its best configuration on the held-out test part. Scoring the "
        f"top {TOP_ON_TEST} refits each configuration on all training rows: one model fit "
        "each. Use these test scores to check generalization, not to pick a configuration "
        "(that would tune on the test set)."
    )
    clicked = st.button(
        f"Test the top {TOP_ON_TEST}",
        key=TOP_TEST,
        icon=":material/fact_check:",
        disabled=missing == 0 or run.config is None,
        help=f"{TOP_ON_TEST} model fits; {missing} of the top {TOP_ON_TEST} have no test "
        "score yet."
        if missing
        else f"The top {TOP_ON_TEST} already have test scores.",
    )
    if st.session_state.pop(TOP_TEST_DONE, None):
        st.toast(f"Scored the top {TOP_ON_TEST} on the test set.", icon=":material/check:")
    if clicked:
        try:
            with st.spinner(f"Refitting the top {TOP_ON_TEST} configurations…"):
                an.refit_top_on_test(live.study, n=TOP_ON_TEST, run=run)
        except UserError as exc:
            st.error(text.md(exc))
        except Exception as exc:  # a refit that fails: say so, keep the page
            st.error(f"Refitting failed: {text.md(f'{type(exc).__name__}: {exc}')}")
        else:
            st.session_state[TOP_TEST_DONE] = True
            st.rerun()  # draw the scores and the button's new state
    with chart:
        _chart(plots.overfitting_figure(run, df), "an_overfitting")


# -- efficiency ---------------------------------------------------------------------------------
def _efficiency_section(run: an.RunData, eff: an.Efficiency) -> None:
    st.subheader("Where the time went")
    _score_only(run, "The curve follows the best")
    compute = float(eff.curve["compute_s"].max()) if len(eff.curve) else 0.0
    # The tiles take the width their labels need, in a row that wraps: two to a column of a
    # narrow window cut "Parallel workers" to "Paralle…"
    with st.container(horizontal=True, gap="medium"):
        st.metric(
            "Useful fraction",
            "–" if eff.useful_fraction is None else f"{100 * eff.useful_fraction:.0f}%",
            help="Share of the capacity (wall time × parallel workers) spent fitting and scoring "
            "models; the rest is overhead (sampler, storage, data handling, waiting).",
            width="content",
        )
        st.metric("Wall time", text.duration(eff.wall_s), width="content")
        st.metric("Compute", text.duration(compute), help="The sum of the trials' durations",
                  width="content")  # fmt: skip
        st.metric("Parallel workers", f"{eff.workers}", help="The most trials at once",
                  width="content")  # fmt: skip
    st.markdown(text.md(eff.message))
    _chart(plots.efficiency_figure(run, eff), "an_efficiency")
    st.caption(
        "The best score found against the compute spent so far: a long flat end means "
        "the last trials bought nothing."
    )
    _chart(plots.time_breakdown_figure(eff), "an_breakdown")
    gain_view.efficiency(run)


# -- is the best really the best? ---------------------------------------------------------------
def _best_section(run: an.RunData, ranks: pd.DataFrame) -> None:
    st.subheader("Is the best really the best?")
    if run.record.read_only:
        st.caption("This study was made outside Tuning Studio: its trials have no per-fold "
                   "scores, so the best cannot be tested against its rivals fold by fold.")  # fmt: skip
        return
    _score_only(run, "The best and its rivals are ranked by")
    st.markdown(
        "Each of the top configurations against the best, fold by fold, with the **corrected "
        "resampled t-test** (Nadeau & Bengio, 2003): a paired t-test on the per-fold scores "
        "whose variance is corrected for the folds sharing training data. p ≥ 0.05 means the "
        "data cannot tell that configuration from the best."
    )
    same = ranks[(ranks["rank"] > 1) & (ranks["same_as_best"] == True)]  # noqa: E712
    if len(ranks) > 1:
        st.caption(
            f"{text.plural(len(same), 'configuration')} of the next {len(ranks) - 1} "
            f"{'is' if len(same) == 1 else 'are'} statistically indistinguishable from the best."
        )
    if run.folds is not None and run.folds < 5:
        st.caption(
            f"With {run.folds} folds the test has little power: a configuration with a clearly "
            "lower mean can still count as indistinguishable. More folds give a sharper answer."
        )
    st.dataframe(_ranks_table(run, ranks), hide_index=True)
    _chart(plots.top_configs_figure(run, ranks), "an_top_configs")


def _ranks_table(run: an.RunData, ranks: pd.DataFrame) -> pd.DataFrame:
    def verdict(row) -> str:
        if row["rank"] == 1:
            return "best"
        return {True: "yes", False: "no"}.get(row["same_as_best"], "n/a (no fold scores)")

    if ranks.empty:
        return pd.DataFrame()
    table = pd.DataFrame(
        {
            "rank": ranks["rank"].astype(int),
            "trial": ranks["number"].astype(int),
            f"CV {run.label}": ranks["value"].map(lambda v: text.score(float(v))),
            "± std": ranks["cv_std"].map(_fixed),
            "worse than the best by": ranks["diff"].map(_fixed),
            "p": ranks["p"].map(lambda v: "–" if pd.isna(v) else f"{float(v):.3f}"),
            "same as best?": ranks.apply(verdict, axis=1),
        }
    )
    rows = run.frame.set_index("number").reindex(ranks["number"].astype(int))
    marks = tables.origins(rows)
    if marks is not None:
        table.insert(2, tables.ORIGIN, marks)
    return table


def _fixed(v) -> str:
    if pd.isna(v):
        return "–"
    x = float(v)
    return f"{0.0 if abs(x) < 5e-5 else x:.4f}"  # no "-0.0000" from rounding noise


# -- diminishing returns ------------------------------------------------------------------------
def _plateau_section(stall: an.Plateau, run: an.RunData | None = None) -> None:
    st.subheader("Diminishing returns")
    if run is not None:
        _score_only(run, "This follows the best")
    if stall.detected:
        st.success(text.md(stall.message), icon=":material/flag:")
    else:
        st.info(text.md(stall.message), icon=":material/trending_up:")


# -- recommendations and Refine -----------------------------------------------------------------
def _recommendations_section(run: an.RunData, recs: list[an.Recommendation]) -> None:
    st.subheader("Recommendations")
    if not recs:
        st.markdown(
            "Nothing stands out: no parameter sits at the edge of its range, none is clearly "
            "negligible, and the search has not stalled."
        )
    else:
        st.markdown(
            "\n".join(f"- **{REC_LABELS.get(r.kind, r.kind)}**: {text.md(r.message)}" for r in recs)
        )
    changes = refine_changes(run, recs)
    with st.container(border=True):
        st.markdown("**Refine: a new run with the search space changed as recommended**")
        if not run.record.rebuildable:
            st.caption(text.md(run.record.why_not("Refine")))
            return
        if run.config is None:
            st.caption("This run has no saved configuration, so it cannot be refined.")
            return
        if changes.empty:
            st.caption(
                "None of the recommendations changes the search space (widen, narrow or fix), "
                "so there is nothing to refine."
            )
            return
        st.dataframe(changes, hide_index=True)
        n_trials = run.config.n_trials
        if n_trials is not None:
            n_trials = int(
                st.number_input(
                    "Trials for the new run",
                    min_value=1,
                    max_value=100_000,
                    value=int(n_trials),
                    step=1,
                    key=f"an_refine_trials_{run.name}",
                )  # fmt: skip
            )
        st.caption(
            "Everything else stays as in this run (data, model, method, CV, scoring, seed). "
            "The new run starts in the background and opens on the Live monitor."
        )
        if st.button("Refine: start the new run", key=REFINE, type="primary",
                     icon=":material/tune:"):  # fmt: skip
            try:
                config = an.refined_config(run.config, recs, n_trials=n_trials)
                runs.launch(config)
            except UserError as exc:
                st.error(text.md(exc))
                return
            st.switch_page(state.PAGE_LIVE)


def refine_changes(run: an.RunData, recs: list[an.Recommendation]) -> pd.DataFrame:
    """What Refine changes, one row per parameter, as refined_config applies it (a fix wins
    over a widen or narrow of the same parameter)."""
    actionable = [r for r in recs if r.actionable]
    fixed = {r.param for r in actionable if r.kind == "fix"}
    rows = []
    for r in actionable:
        if r.kind != "fix" and r.param in fixed:
            continue
        info = run.params.get(r.param)
        rows.append(
            {
                "parameter": r.param,
                "change": {"widen": "widen", "narrow": "narrow", "fix": "fix (stop searching)"}[
                    r.kind
                ],
                "now": _describe(info),
                "after": f"fixed at {an.fmt_value(r.value)}"
                if r.kind == "fix"
                else f"{an.fmt_value(r.low)} – {an.fmt_value(r.high)}"
                + (" (log)" if info is not None and info.log else ""),
            }
        )
    return pd.DataFrame(rows, columns=["parameter", "change", "now", "after"])


def _describe(info: an.ParamInfo | None) -> str:
    if info is None:
        return "?"
    if not info.numeric:
        return "one of " + ", ".join(an.fmt_value(c) for c in info.choices or ())
    return f"{an.fmt_value(info.low)} – {an.fmt_value(info.high)}" + (" (log)" if info.log else "")
