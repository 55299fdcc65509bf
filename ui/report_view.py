"""The Report page's body: a run's summary and its downloads.

The report (HTML with every figure inlined, and Markdown), the trials CSV and the reproduce
script are built once per state of the run (trials finished, status, test scores) and kept
process-wide (st.cache_resource), so reruns of the page and other sessions reuse them. The
refit best model costs a model fit: it is made only on request ("Prepare the best model") and
kept per run and best trial.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from tuning.analysis import LiveRun, RunData, fmt_value, to_float, warm
from tuning.core.enums import RunStatus
from tuning.core.errors import UserError
from tuning.report import export
from tuning.report import html as rp
from tuning.runs.front import needs_config
from ui import foreign, gain_view, registry, runs, text
from ui.live import load, status_of
from ui.monitor import badge

MODEL_ENTRIES = 16
PREVIEW_HEIGHT = 560

# Widget keys
PREPARE_MODEL = "rp_prepare_model"
DL_HTML, DL_MD, DL_CSV, DL_MODEL, DL_SCRIPT = (
    "rp_dl_html", "rp_dl_md", "rp_dl_csv", "rp_dl_model", "rp_dl_script",
)  # fmt: skip


@dataclass
class Bundle:
    """Everything the page offers for one state of a run (the model aside)."""

    data: rp.ReportData | None
    html: bytes | None
    markdown: str | None
    csv: str
    script: str | None
    script_error: str | None = None
    report_error: str | None = None


def html_name(run: RunData) -> str:
    return f"{run.name}-report.html"


def markdown_name(run: RunData) -> str:
    return f"{run.name}-report.md"


def csv_name(run: RunData) -> str:
    return f"{run.name}-trials.csv"


def signature(run: RunData) -> tuple:
    """What the report depends on: the trials that finished, the status, the test scores."""
    finished = int(run.frame["state"].isin(["complete", "pruned", "failed"]).sum())
    return (
        len(run.frame),
        finished,
        run.record.status,
        repr(run.record.test),
        repr(run.record.test_top),
        repr(run.record.choice),  # a multi-objective run's chosen trade-off
    )


@st.cache_resource(max_entries=8, show_spinner="Building the report…")
def _bundle(
    url: str, study_id: int, name: str, sig: tuple, _live: LiveRun, _run: RunData
) -> Bundle:
    csv = export.trials_csv(_run)
    script = script_error = None
    try:
        script = export.reproduce_script(_run)
    except Exception as exc:  # e.g. no complete trial, no saved configuration
        script_error = str(exc)
    try:
        sources = warm.source_trials(_run.record, registry.storage())  # warm start's, if any
        data = rp.build_report(_live.study, _run, sources=sources)  # the default evaluator
        html = rp.report_html(data).encode("utf-8")
        markdown = rp.report_markdown(data)
    except Exception as exc:  # the page still offers the trials and the script
        return Bundle(None, None, None, csv, script, script_error, f"{type(exc).__name__}: {exc}")
    return Bundle(data, html, markdown, csv, script, script_error)


def bundle(live: LiveRun, run: RunData) -> Bundle:
    return _bundle(registry.storage_url(), live.study_id, run.name, signature(run), live, run)


@st.cache_resource(show_spinner=False)
def _model_store() -> dict:
    """Refit best models of this server process: (url, study, run, best trial) -> ModelFile."""
    return {"lock": threading.Lock(), "items": OrderedDict()}


def _model_key(live: LiveRun, run: RunData) -> tuple:
    number = _chosen(run)
    if number is None:
        number = int(run.best["number"])
    return (registry.storage_url(), live.study_id, run.name, number)


def _chosen(run: RunData) -> int | None:
    """A multi-objective run's chosen trade-off (user_attrs["choice"]), the trial it refits."""
    trial = (run.record.choice or {}).get("trial") if run.record.multi_objective else None
    return None if trial is None else int(trial)


def cached_model(live: LiveRun, run: RunData) -> export.ModelFile | None:
    store = _model_store()
    with store["lock"]:
        return store["items"].get(_model_key(live, run))


def prepare_model(live: LiveRun, run: RunData) -> export.ModelFile:
    """Refit the best configuration (one model fit) and keep the file for this run and trial."""
    model = export.best_model(live.study, run)
    store = _model_store()
    with store["lock"]:
        items = store["items"]
        items[_model_key(live, run)] = model
        while len(items) > MODEL_ENTRIES:
            items.popitem(last=False)
    return model


# -- the page -----------------------------------------------------------------------------------
def show(name: str) -> None:
    try:
        live = registry.live_run(name)
        run = load(live)
    except (UserError, KeyError):  # deleted meanwhile
        registry.forget(name)
        st.warning(f"Run {text.md(name)} no longer exists: it was deleted.",
                   icon=":material/delete:")  # fmt: skip
        return
    status = status_of(run)
    _status_line(run, status)
    if run.n_complete == 0:
        st.info(
            "No complete trials yet: the report, the best model and the script need at least "
            "one. Come back when trials have completed.",
            icon=":material/hourglass_top:",
        )
        return
    if status in (RunStatus.RUNNING, RunStatus.QUEUED):
        # A row that wraps: a sixth-wide column cut "Refresh" at 900 px
        with st.container(horizontal=True, vertical_alignment="center"):
            st.info(
                f"This run is still working: the report covers the {run.n_complete:,} trials "
                "complete so far. Refresh for a newer one.",
                icon=":material/autorenew:",
            )
            if st.button("Refresh", key="rp_refresh", icon=":material/refresh:"):
                st.rerun()
    b = bundle(live, run)
    _summary(run)
    _downloads(live, run, b)
    _preview(b)


def _status_line(run: RunData, status: RunStatus) -> None:
    badge(status)
    if run.record.read_only:
        st.caption(foreign.caption(run))
        foreign.notice(status)
        return
    cfg = run.config  # None: a configuration this version cannot read
    folds, seed = (cfg.cv_folds, cfg.seed) if cfg is not None else ("?", "?")
    st.caption(f"{runs.describe(run.record)} · {folds}-fold CV · seed {seed}")


def _summary(run: RunData) -> None:
    st.subheader("Summary")
    if run.record.read_only:
        _foreign_summary(run)
        return
    gain_view.headline(run)
    _score_metrics(run)
    _test_note(run.test)
    _best_params(run)


METRIC_PX = 200  # a metric's box: whole numbers and labels, wrapping onto a new line


def _metric_row(n: int) -> list:
    """n boxes side by side that wrap on a narrow window (columns would cut "0.95…")."""
    row = st.container(horizontal=True, gap="small")
    return [row.container(width=METRIC_PX) for _ in range(n)]


def _score_metrics(run: RunData) -> None:
    """The best CV score, the test score, the best (or chosen) trial and how many completed."""
    best = run.best
    std = to_float([best.get("cv_std")])[0]
    c = _metric_row(4)
    c[0].metric(
        f"Best CV {run.label}",
        text.score(float(best["value"])),
        delta=f"± {std:.3g} over {run.folds or '?'} folds" if std == std else None,
        delta_color="off",
        delta_arrow="off",
        help=f"Mean and standard deviation over the CV folds ({run.arrow})",
    )
    c[1].metric(
        f"Test {run.label}",
        text.score(run.test.get("score")),
        delta=text.held_out_interval(run.scoring, run.test.get("score"), run.test.get("n_test")),
        delta_color="off",
        delta_arrow="off",
        help="The best configuration refit on all training rows and scored once on the "
        "held-out test rows, which the search never saw.",
    )
    chosen = _chosen(run)
    if run.record.multi_objective:
        c[2].metric("Chosen trade-off", f"#{chosen}" if chosen is not None else "–",
                    help="The trial this run refits and tests: see the report's trade-offs")  # fmt: skip
        st.caption(
            f"A multi-objective run: the best CV {text.md(run.label)} is the best score whatever "
            "it cost; the test score and the hyperparameters are those of the chosen trade-off."
        )
    else:
        c[2].metric("Best trial", f"#{int(best['number'])}")
    c[3].metric("Complete trials", f"{run.n_complete:,} of {len(run.frame):,}")


def _test_note(test: dict) -> None:
    """How the test score was made, why it failed, or why there is none."""
    if test.get("score") is not None and test.get("source") == "population":
        st.caption(
            f"Test score: the best member's own network (population-based training: no refit), "
            f"trained on {test.get('n_train', '?')} rows with its hyperparameter schedule, scored "
            f"once on {test.get('n_test', '?')} held-out rows. Its validation scores come from "
            "one holdout split, not the full CV."
        )
    elif test.get("score") is not None:
        st.caption(
            f"Test score: refit on {test.get('n_train', '?')} training rows, scored once on "
            f"{test.get('n_test', '?')} held-out rows."
        )
    elif test.get("error"):
        st.warning(f"Refitting the best configuration failed: {text.md(test['error'])}")
    elif test.get("n_test") == 0:
        st.caption(
            "No held-out test score: TuningSearchCV tuned on all the rows it was given. Keep a "
            "test set apart and score it with search.score(X_test, y_test)."
        )
    else:
        st.caption(
            "No test score yet: the run refits and scores its best configuration when it ends."
        )


def _best_params(run: RunData) -> None:
    """The best (or chosen) configuration: each parameter, and whether it was searched."""
    mo = run.record.multi_objective
    st.markdown("**Hyperparameters of the chosen trade-off**" if mo else "**Best hyperparameters**")
    try:
        params = export.best_params(run)
    except UserError as exc:
        st.caption(text.md(exc))
        return
    searched = set(run.params)
    table = pd.DataFrame(
        {
            "parameter": list(params),
            "value": [fmt_value(v) for v in params.values()],
            "how": ["searched" if k in searched else "fixed (not searched)" for k in params],
        }
    )
    st.dataframe(table, hide_index=True)


def _foreign_summary(run: RunData) -> None:
    best = run.best
    c = _metric_row(3)
    c[0].metric(f"Best {run.label}", text.score(float(best["value"])),
                help=f"The best value the study's objective returned ({run.arrow}); its trials "
                "have no CV folds, so no spread is known")  # fmt: skip
    c[1].metric("Best trial", f"#{int(best['number'])}")
    c[2].metric("Complete trials", f"{run.n_complete:,} of {len(run.frame):,}")
    st.caption(text.md(needs_config("A held-out test score")))
    st.markdown("**Best parameters** (as the best trial holds them)")
    params = dict(run.trial(int(best["number"])).params)
    st.dataframe(pd.DataFrame({"parameter": list(params),
                               "value": [fmt_value(v) for v in params.values()]}),
                 hide_index=True)  # fmt: skip


def _code(name: str) -> str:
    """A file name for Markdown: as code where its characters allow, escaped otherwise."""
    return f"`{name}`" if re.fullmatch(r"[A-Za-z0-9._ -]+", name) else text.md(name)


def _card(title: str, what: str, filename: str | None = None):
    box = st.container(border=True, height="stretch")
    box.markdown(f"**{title}**")
    box.caption(what)
    if filename:
        box.caption(f"File: {_code(filename)}")
    return box


def _downloads(live: LiveRun, run: RunData, b: Bundle) -> None:
    st.subheader("Downloads")
    if b.report_error:
        st.error(f"The report could not be built: {text.md(b.report_error)}")
    beside_csv = _report_cards(run, b)
    with beside_csv:
        _model_card(live, run)
    _script_card(run, b)
    if b.script is not None:
        with st.expander(f"The script: {text.md(export.script_filename(run))}", expanded=True):
            st.code(b.script, language="python", height=420)


def _report_cards(run: RunData, b: Bundle):
    """The HTML report, the Markdown report and every trial as CSV: two cards a row (three
    leave a 900 px window too narrow for a button's label). Returns the place beside the CSV's."""
    row = st.columns(2)
    with row[0]:
        box = _card(
            "HTML report",
            "One self-contained file with every figure, interactive (hover, zoom) and offline: "
            "open it in any browser, or send it to someone.",
            html_name(run),
        )
        box.download_button(
            "Download", data=b.html or b"", file_name=html_name(run),
            mime="text/html", key=DL_HTML, icon=":material/download:", on_click="ignore",
            disabled=b.html is None,
        )  # fmt: skip
    with row[1]:
        box = _card(
            "Markdown report",
            "The same content as text and tables (no figures): paste it into a README, a wiki "
            "page or a pull request.",
            markdown_name(run),
        )
        box.download_button(
            "Download", data=b.markdown or "",
            file_name=markdown_name(run), mime="text/markdown", key=DL_MD,
            icon=":material/download:", on_click="ignore", disabled=b.markdown is None,
        )  # fmt: skip
    row = st.columns(2)
    with row[0]:
        box = _card(
            "All trials (CSV)",
            "One row per trial: parameters, CV mean and std, per-fold scores, timings and "
            "state. Opens with pandas.read_csv or in a spreadsheet.",
            csv_name(run),
        )
        box.download_button(
            "Download", data=b.csv, file_name=csv_name(run), mime="text/csv",
            key=DL_CSV, icon=":material/download:", on_click="ignore",
        )  # fmt: skip
    return row[1]


def _script_card(run: RunData, b: Bundle) -> None:
    """The reproduce script, or why there is none."""
    script_name = export.script_filename(run)
    box = _card(
        "Script to reproduce",
        "Plain Python with only pandas and scikit-learn (and PyTorch for the neural "
        "network): it reloads the data, makes the same train/test split, fits the best "
        "configuration and prints its test score.",
    )
    if not run.record.rebuildable or run.record.own_estimator:
        box.caption(text.md(run.record.why_not("The reproduce script")))
    elif b.script is None:
        box.caption(text.md(b.script_error or "No script for this run."))
    else:
        box.markdown(f"Run it with {_code(f'python {script_name}')}; it needs no Tuning Studio.")
        box.download_button(
            "Download script", data=b.script, file_name=script_name,
            mime="text/x-python", key=DL_SCRIPT, icon=":material/download:",
            on_click="ignore",
        )  # fmt: skip


def _model_card(live: LiveRun, run: RunData) -> None:
    what = "chosen trade-off" if run.record.multi_objective else "best configuration"
    box = _card(
        "Chosen model" if run.record.multi_objective else "Best model",
        f"The {what} refit on all training rows, ready to predict. Preparing it "
        "costs one model fit.",
    )
    model = cached_model(live, run)
    if not run.record.rebuildable or run.record.own_estimator:
        why = run.record.why_not("Refitting the best model")
        box.button("Prepare the best model", key=PREPARE_MODEL, icon=":material/build:",
                   disabled=True, help=why)  # fmt: skip
        box.caption(text.md(why))
        return
    if model is None:
        slot = box.empty()
        if not slot.button("Prepare the best model", key=PREPARE_MODEL, icon=":material/build:",
                           disabled=run.config is None):  # fmt: skip
            return
        try:
            with box, st.spinner("Refitting the best configuration on all training rows…"):
                model = prepare_model(live, run)
        except Exception as exc:  # an error in the refit: say what happened
            box.error(f"Refitting failed: {text.md(f'{type(exc).__name__}: {exc}')}")
            return
        slot.empty()  # done: the download takes the button's place
    box.caption(f"File: {_code(model.filename)}")
    box.download_button(
        "Download model", data=model.data, file_name=model.filename,
        mime=model.mime, key=DL_MODEL, icon=":material/download:", on_click="ignore",
        type="primary",
    )  # fmt: skip
    if model.test_score is not None:
        box.caption(f"Test {text.md(run.label)} of this refit: {text.score(model.test_score)}.")
    box.caption(text.md(model.description))


def _preview(b: Bundle) -> None:
    if b.markdown is None:
        return
    st.subheader("Report preview")
    st.caption("The Markdown report as it reads; the HTML report adds the interactive figures.")
    # The engine escapes every user string in the Markdown (and Streamlit shows no raw HTML).
    with st.container(height=PREVIEW_HEIGHT, border=True):
        st.markdown(demote_headings(b.markdown))


def demote_headings(markdown: str, levels: int = 2) -> str:
    """Headings two levels smaller (the report's title would dwarf the page's own), outside
    fenced code blocks."""
    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,4} ", line):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out)
