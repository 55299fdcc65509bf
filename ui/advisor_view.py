"""The stop advisor on the pages: is it worth going on (Live monitor), and where each method's
runs could have stopped (Compare).

Its numbers come from tuning.analysis.advisor; each run's points (one Gaussian-process fit per
checkpoint) are kept in one process-wide tracker per run, so that a Live monitor refresh
computes only the checkpoints its new trials reached, within LIVE_BUDGET_S.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import streamlit as st

from tuning.analysis import advisor
from tuning.analysis.rundata import RunData
from tuning.core.enums import RunStatus
from tuning.plots.advisor import advisor_figure
from ui import registry, text

LIVE_BUDGET_S = 0.3  # seconds of GP fits per Live monitor refresh while the run works
COMPARE_BUDGET_S = 2.0  # seconds of GP fits per look at Compare (over all its runs)
ENDED_BUDGET_S = 3.0  # ...and per look at an ended run (its later looks add the rest)
CHART_HEIGHT = 300


@st.cache_resource(show_spinner=False)
def _trackers() -> dict[tuple[str, str, str | None], advisor.Tracker]:
    """One tracker per run for the life of the process, shared by every session: keyed by its
    storage, name and creation time (a run deleted and made again under its name starts
    afresh)."""
    return {}


def tracker(run: RunData) -> advisor.Tracker:
    key = (registry.storage_url(), run.name, run.record.created_at)
    known = _trackers().get(key)
    rule = advisor.rule_of(run)[0]
    if known is None or known.rule != rule or known.maximize != run.maximize:
        known = _trackers()[key] = advisor.Tracker(rule, run.maximize)
    return known


def live(snap) -> Callable[[], None]:
    """The Live monitor's stop advisor, in its place under the metrics: the reason the run
    ended where the advisor ended it, then its sentence and chart from the points computed so
    far. Returns what completes it once the page's charts are drawn: the new points' GP fits
    (bounded per look), redrawn in the same place, so that no fit delays the first charts."""
    run = snap.run
    message = snap.record.message or ""
    # A resumed run keeps its last message until it ends again: only a finished run's counts.
    if snap.record.status == RunStatus.FINISHED and message.startswith(advisor.ADVISOR_ENDED):
        st.success(text.md(message), icon=":material/trending_flat:")
    slot = st.empty()
    known = tracker(run)
    first = advisor.advise(run, known, budget_s=0.0)
    _draw(slot, first, run, "chart_advisor")

    def later() -> None:
        if not first.pending:
            return
        # Each look computes a bounded share of the checks; the rest come on the next ones.
        budget = LIVE_BUDGET_S if run.working else ENDED_BUDGET_S
        advice = advisor.advise(run, known, budget_s=budget)
        if advice.points != first.points:
            # Emptied first: elements drawn in this same run would survive an overwrite.
            slot.empty()
            _draw(slot, advice, run, "chart_advisor_more")  # a key of its own in this run

    return later


def _draw(slot, advice: advisor.Advice, run: RunData, key: str) -> None:
    # The sentence over the chart, both at full width: beside the chart, a 900 px window would
    # set the sentence in a column a third of the page wide.
    with slot.container():
        # How it decides, in the heading's tooltip: the page stays short.
        st.markdown("**Stop advisor**", help=advice.rule_text or None)
        said = text.md(advice.sentence)
        if advice.stop is not None:
            st.success(said, icon=":material/check:")
        else:
            st.info(said, icon=":material/timeline:")
        if run.config is not None and run.config.stop_when_flat and run.working:
            st.caption("This run stops by itself when the advisor says so (Stop when flat).")
        if advice.pending:
            when = ("at each refresh of this page" if run.working
                    else "each time this page is opened again")  # fmt: skip
            st.caption(
                f"{text.plural(advice.pending, 'check')} still to compute: they are added {when}."
            )
        if advice.points:
            st.plotly_chart(advisor_figure(advice, live=True, height=CHART_HEIGHT), key=key,
                            config={"displaylogo": False})  # fmt: skip


def compare(info, store) -> Callable[[], None]:
    """Compare: per method, the trial at which the stop advisor would have stopped its
    finished runs and what stopping there would have lost, as medians over the seeds. `store`:
    the experiment's storage (the recorded race has its own). Draws what is known at once and
    returns what completes it once the rest of the page is drawn: the GP fits still to do
    (bounded per look), drawn in the same place, so that no fit delays the page below."""
    finished, not_judged = [], set()
    for r in info.runs:
        if r["status"] != "finished":
            continue
        if why := advisor.not_judged(r["method"]):
            not_judged.add(why)
        else:
            finished.append(r)
    skipped = sorted(not_judged)
    if not finished:
        return lambda: None
    slot = st.empty()
    runs = [registry.reader(store, r["run"]).read() for r in finished]
    methods = [r["method"] for r in finished]
    pending = _stops(slot, runs, methods, 0.0, skipped)

    def later() -> None:
        if pending:
            # All at once where nothing works any more (a recorded or finished race: a few
            # seconds, once per process); a share per look while members still run.
            budget = COMPARE_BUDGET_S if any(r["status"] != "finished" for r in info.runs) \
                else ENDED_BUDGET_S * len(runs)  # fmt: skip
            _stops(slot, runs, methods, budget, skipped)

    return later


def _stops(slot, runs: list[RunData], methods: list[str], budget_s: float,
           skipped: list[str]) -> int:  # fmt: skip
    """Draws the table of where each method's runs would have stopped into `slot`, from the
    points its trackers know plus `budget_s` seconds of new ones, and why some methods are
    not judged (`skipped`); returns the runs left to judge."""
    advice: dict[str, list[advisor.Advice]] = {}
    t0, pending = time.perf_counter(), 0
    for run, method in zip(runs, methods, strict=True):
        left = max(0.0, budget_s - (time.perf_counter() - t0))
        a = advisor.advise(run, tracker(run), budget_s=left, until_stop=True)
        pending += bool(a.pending)
        advice.setdefault(method, []).append(a)
    stops = advisor.by_method(advice)
    rows = [r for r in stops if r.runs]
    need = advisor.MIN_TRIALS
    skipped = skipped + [  # methods none of whose runs has the complete trials it needs
        f"{r.label} is not judged: its runs have at most {need - shortfall} complete trials, "
        f"fewer than the advisor needs ({need})."
        for r in stops
        if not r.runs and (shortfall := min(a.needs or 0 for a in advice[r.method]))
    ]  # fmt: skip
    slot.empty()  # emptied first: elements drawn in this same run would survive an overwrite
    if not rows and not pending and not skipped:
        return 0
    with slot.container():
        st.markdown("**Where the stop advisor would have stopped** (median over the seeds' runs)")
        if rows:
            st.dataframe(stops_table(rows), hide_index=True, width="stretch")
            st.caption(
                "Trials saved: the share of a run's trials after the stop (0 where the advisor "
                "would have run on); score lost: the final best against the best at the stop, "
                "in CV score units, beside the CV standard deviation of the final best across "
                "folds."
            )
        if pending:
            st.caption(
                f"{text.plural(pending, 'run')} still to judge: the advisor's model is fitted "
                "a few seconds at each look at this page."
            )
        for why in skipped:
            st.caption(text.md(why))
    return pending


def stops_table(rows: list[advisor.MethodStops]) -> pd.DataFrame:
    def num(x, fmt: str) -> str:
        return "–" if x is None else format(x, fmt)

    return pd.DataFrame({
        "Method": [r.label for r in rows],
        "Runs it would stop": [f"{r.stopped} of {r.runs}" for r in rows],
        "Stop at trial (median)": [num(r.stop_trial, ".0f") for r in rows],
        "Trials saved (median)": [num(r.saved, ".0%") for r in rows],
        "Score lost (median)": [num(r.loss, ".4f") for r in rows],
        "CV std of final best": [num(r.std, ".4f") for r in rows],
        "Lost > 1 CV std": [f"{r.beyond_std} of {r.runs}" for r in rows],
        "Rule": [", ".join(r.rules) for r in rows],
    })  # fmt: skip
