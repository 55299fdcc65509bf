"""Population-based training views, shown on the Live monitor and the Analysis page of a PBT run:
the population's scores with exploits marked, the best member's lineage and its schedule."""

from __future__ import annotations

import streamlit as st
from optuna.trial import FrozenTrial

from tuning.core.config import RunConfig
from tuning.methods.pbt import NOT_RESUMABLE
from tuning.plots.pbt import is_population, pbt_figures, segments
from ui import widgets

__all__ = ["is_population"]  # the one rule (tuning.plots.pbt), for the views

PLOTLY_CONFIG = {"displaylogo": False}


def log_params(config: RunConfig | None) -> tuple[str, ...]:
    """The searched parameters on a log scale (the schedule's axes follow them)."""
    if config is None or config.space is None:
        return ()
    return tuple(p.name for p in config.space.params if p.log)


def section(trials: list[FrozenTrial], config: RunConfig | None, score_title: str, direction: str,
            test: dict | None, key: str) -> None:  # fmt: skip
    """The three PBT figures and a table of exploits; `key` keeps chart keys unique per page."""
    st.subheader("Population-based training")
    figs = pbt_figures(list(trials), score_title, direction, test, log_params(config))
    st.plotly_chart(figs["population"], key=f"{key}_pbt_population", config=PLOTLY_CONFIG)
    st.caption(
        "Each line is one member's validation score (on the holdout split) after each epoch. "
        "A red triangle marks an exploit: a member of the bottom quantile copied that member's "
        "weights and hyperparameters, then perturbed them; its line restarts from there."
    )
    left, right = widgets.pair(f"{key}_pbt")
    left.plotly_chart(figs["lineage"], key=f"{key}_pbt_lineage", config=PLOTLY_CONFIG)
    right.plotly_chart(figs["schedule"], key=f"{key}_pbt_schedule", config=PLOTLY_CONFIG)
    seg = segments(list(trials))
    ex = seg[seg["exploited"]]
    with st.expander(f"Exploit and explore events ({len(ex)})"):
        if ex.empty:
            st.caption("No exploit yet: the first happens after the first interval.")
        else:
            rows = [
                {
                    "epoch": int(r["start_epoch"]),
                    "member": int(r["member"]),
                    "copied member": int(r["from_member"]),
                    "new segment": f"#{int(r['trial'])}",
                    "explore (old → new)": "; ".join(
                        f"{k}: {_short(v[0])} → {_short(v[1])}" for k, v in r["explore"].items()
                    ),
                }
                for _, r in ex.iterrows()
            ]
            st.dataframe(rows, hide_index=True)


def not_resumable_note() -> None:
    st.info(NOT_RESUMABLE, icon=":material/info:")


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
