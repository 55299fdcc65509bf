"""Did tuning pay off? The gain over the library defaults as the pages show it: the headline
box (Live monitor, Analysis), what the budget bought (Analysis) and each method's gain pooled
over an experiment's seeds (Compare methods). The numbers and words come from
tuning.analysis (payoff, efficiency); this module only places them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tuning import analysis as an
from tuning.runs.front import experiments as ex
from ui import text

TITLE = "**Did tuning pay off?**"
ICONS = {
    "beats": ":material/trending_up:", "noise": ":material/drag_handle:",
    "defaults_best": ":material/drag_handle:", "worse": ":material/trending_down:",
}  # fmt: skip
CELL_HELP = (
    "The best CV score against the library defaults' on the same folds: the gain and the "
    "half-width of its 95 % interval, \"within noise\" where the interval holds 0; \"so far\" "
    "while the run works; \"no baseline\" for runs made without the defaults."
)


def headline(run: an.RunData) -> an.Payoff:
    """The gain over the library defaults in one box, with the held-out test of both."""
    p = an.payoff(run)
    body = f"{TITLE} {text.md(p.headline)}"
    if p.test_line:
        body += f"  \n{text.md(p.test_line)}"
    if p.verdict == "none":
        st.caption(body)
    elif p.verdict == "beats" and not p.provisional:
        st.success(body, icon=ICONS["beats"])
    else:
        st.info(body, icon=ICONS[p.verdict])
    return p


def efficiency(run: an.RunData) -> an.TuningEfficiency:
    """What the budget bought: the gain per trial and per minute, and the share of the budget
    that bought the last 10 % of the gain."""
    eff = an.tuning_efficiency(run)
    st.markdown("**What the budget bought**")
    if eff.gain is None or eff.gain <= 0:
        st.caption(text.md(eff.message))
        return eff
    share = eff.last_trials_share
    # Tiles as wide as their labels, in a row that wraps: a third of a 900 px window cut
    # "Trials after 90 % of the gain"
    with st.container(horizontal=True, gap="medium"):
        st.metric("Gain per trial", an.decimal(eff.per_trial, sign=True), width="content",
                  help=f"{run.label} gained over {eff.reference}, per finished trial")  # fmt: skip
        st.metric("Gain per minute",
                  "–" if eff.per_minute is None else an.decimal(eff.per_minute, sign=True),
                  width="content", help="Over the run's wall time from the first trial's "
                  "start to the last one's end")  # fmt: skip
        st.metric("Trials after 90 % of the gain",
                  "–" if share is None else f"{100 * share:.0f} %", width="content",
                  help="The share of the trials spent after 90 % of the gain was reached")  # fmt: skip
    st.caption(text.md(eff.message))
    return eff


def experiment(info: ex.ExperimentInfo, store) -> None:
    """Each method's gain over the library defaults, pooled over the seeds; the defaults once."""
    p = an.experiment_payoff(info, store)
    st.markdown(f"{TITLE} The gain of each method's best over the library defaults")
    if not any(m.gain is not None for m in p.methods):  # e.g. runs made before baselines
        why = next((w for m in p.methods for w in m.missing), p.defaults)
        st.caption(text.md(f"No method has a gain to state. {why.split(': ', 1)[-1]}"))
        return
    st.caption(text.md(p.defaults))
    rows = [{
        "method": ex.entry_label(m.method),
        "gain over defaults (95 % interval)": m.cell(p.decimals),
        "paired fold scores": f"{m.n} over {text.plural(m.seeds, 'seed')}" if m.n else "–",
        "left out": "; ".join(m.missing) or "",
    } for m in p.methods]  # fmt: skip
    table = pd.DataFrame(rows)
    if not table["left out"].any():
        table = table.drop(columns="left out")
    st.dataframe(table, hide_index=True)
    so_far = "" if info.complete else "So far (not every run has finished): "
    st.caption(
        text.md(so_far + p.sentence) + " Each run's best was picked on these same folds, so "
        "its gain is somewhat optimistic; the held-out test scores above are not."
    )
