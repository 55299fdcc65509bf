"""The run report: one self-contained HTML file (opens offline) and a Markdown version.

    data = build_report(study)          # numbers and figures, computed once
    html_text = report_html(data)       # plotly.js inlined exactly once, no network access
    md_text = report_markdown(data)

Both have: the optimal hyperparameters; CV and test performance; the top-10 configurations
(with the corrected resampled t-test against the best); the tuning efficiency analysis; the
parameter-impact figures (the HTML embeds the same Plotly figures as the Analysis page, the
Markdown shows importance as text bars and tables); the recommendations; the run's
configuration. Every user-controlled string is escaped (HTML, or Markdown + HTML).
"""

from __future__ import annotations

import html
import json
import platform
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import optuna
import pandas as pd
import plotly.graph_objects as go

from tuning import analysis as an
from tuning.plots import figures as plots

FIGURE_NOTES = {
    "importance": "How much each parameter drove reaching the top 10% of scores. The bars give "
    "the 5-95% range over bootstrap resamples of the trials: overlapping bars mean the data "
    "cannot tell the two parameters apart.",
    "history": "Each complete trial's CV score in the order it ran, and the best so far.",
    "slices": "The CV score against each parameter on its own; darker points ran later.",
    "contour": "The two most important parameters binned into cells, each cell coloured by the "
    "best score reached in it; dots are a sample of the trials.",
    "parallel": "Each line is one trial across every parameter, coloured by its score.",
    "distribution": "For each score, the fraction of trials that reached it or better.",
    "timeline": "When each trial ran and how long it took, coloured by its state.",
    "learning_curves": "The CV score reported during each trial (after each fold, epoch or "
    "boosting round); multi-fidelity methods stop poor trials early on these curves.",
    "overfitting": "Training-fold, cross-validation and held-out test scores of the top trials: "
    "a large gap between train and CV means overfitting.",
    "efficiency": "The best score found against the compute spent so far (sum of trial times).",
    "time_breakdown": "Wall time split into fitting, scoring and overhead.",
    "top_configs": "The top configurations against the best on the same CV folds.",
}
FIGURE_NOTES.update(
    {
        "pbt_population": "Population-based training: each member's validation score (holdout "
        "split) after each epoch; a red triangle marks an exploit, where a bottom member copied a "
        "top member's weights and hyperparameters and then perturbed them.",
        "pbt_lineage": "Every segment of training as a node (end epoch, member), linked to the "
        "segment its weights came from; the best member's ancestry is green.",
        "pbt_schedule": "The best member's hyperparameters over epochs: the schedule that PBT found.",
    }
)
SECTIONS_FIGURES = {
    "efficiency": ("efficiency", "time_breakdown", "history", "timeline"),
    "impact": (
        "importance", "slices", "contour", "parallel", "distribution", "learning_curves",
        "overfitting",
    ),
    "best": ("top_configs",),
    "population": ("pbt_population", "pbt_lineage", "pbt_schedule"),
}  # fmt: skip


def _all_figures(run: an.RunData, imp, eff, ranks) -> dict[str, go.Figure]:
    """The Analysis figures, plus the population views for a population-based training run."""
    figs = plots.analysis_figures(run, imp, eff, ranks)
    from tuning.plots.pbt import is_population, pbt_figures

    if is_population(run.trials):
        log = tuple(name for name, info in run.params.items() if getattr(info, "log", False))
        title = f"holdout {run.label} ({run.arrow})"
        pbt = pbt_figures(run.trials, title, run.direction, run.test, log)
        figs.update({f"pbt_{k}": v for k, v in pbt.items()})
    return figs


@dataclass
class ReportData:
    """Everything a report shows, computed once from a run (also handy for the Report page)."""

    run: an.RunData
    importance: an.Importance
    ranks: pd.DataFrame
    efficiency: an.Efficiency
    plateau: an.Plateau
    recommendations: list[an.Recommendation]
    overfit: pd.DataFrame
    figures: dict[str, go.Figure] = field(default_factory=dict)
    generated_at: str = ""

    @property
    def title(self) -> str:
        return f"Tuning report: {self.run.name}"


def build_report(
    study: optuna.Study,
    run: an.RunData | None = None,
    importance_method: str = "ped_anova",
    figures: bool = True,
) -> ReportData:
    """Compute everything the report shows. figures=False skips the Plotly figures (Markdown)."""
    run = run or an.load_run(study)
    imp = an.importance(run, importance_method)
    ranks = an.compare_top(run)
    eff = an.efficiency(run)
    stall = an.plateau(run)
    recs = an.recommend(run, imp, stall, ranks)
    figs = _all_figures(run, imp, eff, ranks) if figures else {}
    return ReportData(
        run, imp, ranks, eff, stall, recs, an.overfitting(run), figs,
        datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    )  # fmt: skip


# -- shared content -------------------------------------------------------------------------------
def _best_params(data: ReportData) -> list[tuple[str, Any, str]]:
    """(name, value, how) for the refit model's configuration."""
    run = data.run
    test = run.test
    best = run.best
    params: dict[str, Any] = dict(test.get("params") or {})
    if not params and best is not None:
        trial = run.trial(int(best["number"]))
        params = run.space.complete(trial.params) if run.space else dict(trial.params)
    searched = set(run.params)
    rows = []
    for k, v in params.items():
        how = "searched" if k in searched else "fixed"
        if run.budget_kind == "epochs" and k == "epochs" and k in searched:
            how = "searched; refit with the best trial's best epoch"
        rows.append((k, v, how))
    return rows


def _performance(data: ReportData) -> list[tuple[str, str]]:
    run = data.run
    best = run.best
    rows: list[tuple[str, str]] = []
    if best is None:
        return [("Best", "no trial completed")]
    std = an.to_float([best.get("cv_std")])[0]
    folds = run.folds or "?"
    rows.append(
        (
            f"Best CV {run.label}",
            f"{an.fmt_value(float(best['value']))}"
            + (f" ± {std:.3g}" if std == std else "")
            + f" (mean ± std over {folds} folds; trial {int(best['number'])})",
        )
    )
    train = an.to_float([best.get("train_score")])[0]
    if train == train:
        rows.append((f"Train {run.label}", f"{an.fmt_value(train)} (mean over training folds)"))
    test = run.test
    if test.get("score") is not None and test.get("source") == "population":
        rows.append(
            (
                f"Test {run.label}",
                f"{an.fmt_value(test['score'])} (the best member's own network, trained with its "
                f"schedule on {test.get('n_train', '?')} rows, scored once on "
                f"{test.get('n_test', '?')} held-out rows)",
            )
        )
    elif test.get("score") is not None:
        rows.append(
            (
                f"Test {run.label}",
                f"{an.fmt_value(test['score'])} (refit on all {test.get('n_train', '?')} training "
                f"rows in {test.get('refit_seconds', '?')} s, scored once on "
                f"{test.get('n_test', '?')} held-out rows)",
            )
        )
    elif test.get("error"):
        rows.append((f"Test {run.label}", f"the refit failed: {test['error']}"))
    else:
        rows.append((f"Test {run.label}", "not scored yet (the run refits the best when it ends)"))
    return rows


def _summary(data: ReportData) -> list[tuple[str, str]]:
    run = data.run
    cfg = run.config
    counts = run.frame["state"].value_counts()
    rows = [
        ("Run", run.name),
        ("Status", str(run.attrs.get("status", "?"))),
        ("Dataset", cfg.dataset.label() if cfg else "?"),
        ("Task", str(run.attrs.get("task", "?"))),
        ("Model", cfg.model if cfg else "?"),
        ("Search method", cfg.method if cfg else "?"),
        ("Scoring", f"{run.label} ({run.arrow})"),
        ("Trials", ", ".join(f"{int(v)} {k}" for k, v in counts.items()) or "none"),
    ]
    if run.attrs.get("elapsed_s"):
        rows.append(("Tuning time", f"{float(run.attrs['elapsed_s']):.1f} s"))
    for key, label in (("started_at", "Started"), ("ended_at", "Ended")):
        if run.attrs.get(key):
            rows.append((label, str(run.attrs[key])))
    if run.attrs.get("message"):
        rows.append(("Note", str(run.attrs["message"])))
    return rows


def _top_table(data: ReportData) -> pd.DataFrame:
    run = data.run
    top = run.ranked().head(10)
    ranks = data.ranks.set_index("number") if not data.ranks.empty else pd.DataFrame()
    rows = []
    for i, r in enumerate(top.itertuples(), 1):
        row: dict[str, Any] = {
            "rank": i,
            "trial": int(r.number),
            f"CV {run.label}": an.fmt_value(float(r.value)),
            "std": an.param_cell(an.to_float([r.cv_std])[0]),
            "train": an.param_cell(an.to_float([r.train_score])[0]),
            "seconds": an.param_cell(an.to_float([r.duration_s])[0]),
        }
        if int(r.number) in ranks.index:
            p = ranks.loc[int(r.number), "p"]
            same = ranks.loc[int(r.number), "same_as_best"]
            row["p vs best"] = "best" if i == 1 else an.fmt_value(p) if p == p else "n/a"
            row["same as best?"] = (
                an.NOT_APPLICABLE if i == 1 else {True: "yes", False: "no"}.get(same, "n/a")
            )
        for name in run.param_names:
            col = f"param_{name}"
            row[name] = an.param_cell(top[col].iloc[i - 1]) if col in top else an.NOT_APPLICABLE
        rows.append(row)
    return pd.DataFrame(rows)


def _config_rows(data: ReportData) -> list[tuple[str, str]]:
    cfg = data.run.config
    if cfg is None:
        return [("Configuration", "not saved with this run")]
    options = ", ".join(f"{k}={v}" for k, v in cfg.method_options.items()) or "defaults"
    budget = []
    if cfg.n_trials is not None:
        budget.append(f"{cfg.n_trials} trials")
    if cfg.timeout_s is not None:
        budget.append(f"{cfg.timeout_s / 60:g} min")
    return [
        ("Dataset", json.dumps(cfg.dataset.to_dict(), ensure_ascii=False)),
        ("Model", cfg.model),
        ("Method", f"{cfg.method} ({options})"),
        ("Budget", " / ".join(budget) or "the whole grid"),
        ("Cross-validation", f"{cfg.cv_folds} folds"),
        ("Scoring", str(cfg.scoring)),
        ("Held-out test fraction", f"{cfg.test_size:g}"),
        ("Seed", str(cfg.seed)),
        ("Multi-fidelity budget", cfg.fidelity),
        ("Grid points", str(cfg.grid_points)),
    ]


def _space_rows(data: ReportData) -> list[tuple[str, str, str]]:
    space = data.run.space
    if space is None:
        return []
    return [(p.name, p.kind, p.describe()) for p in space.params]


def _versions() -> str:
    import plotly
    import sklearn

    return (
        f"Python {platform.python_version()}, Optuna {optuna.__version__}, "
        f"scikit-learn {sklearn.__version__}, pandas {pd.__version__}, Plotly {plotly.__version__}"
    )


# -- HTML -----------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0;color:#1f2328;background:#fff;line-height:1.5}
main{max-width:1100px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:1.7em;margin:.2em 0}h2{margin-top:2em;border-bottom:1px solid #d0d7de;
padding-bottom:.2em}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.kv th{width:210px}.muted{color:#59636e;font-size:.9em}
.fig{margin:1em 0 .3em;min-height:200px}.caption{color:#59636e;font-size:.9em;margin:0 0 1.4em}
.rec{margin:.4em 0;padding:.5em .8em;border-left:4px solid #1f77b4;background:#f6f8fa}
.rec.stop{border-color:#2ca02c}.rec.note{border-color:#7f7f7f}.rec.fix{border-color:#9467bd}
.rec.widen,.rec.narrow{border-color:#ff7f0e}
pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:.85em}
.scroll{overflow-x:auto}
"""
# No network at all: only inline scripts and styles, data: and blob: images.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; worker-src blob:; connect-src 'none'"
)
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
                  "modeBarButtonsToRemove": ["sendDataToCloud"], "showSendToCloud": False}  # fmt: skip


def h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def plotly_js() -> str:
    """plotly.js from the installed Plotly package, ready to inline in a <script> element.

    The bundle has URLs only inside string literals (map tiles, attribution links that our
    figures never use). Writing "https://" as "https\\u003a\\/\\/" keeps their values and
    leaves the report without any http(s) URL text at all; and "</" becomes "<\\/", so nothing
    in the bundle can close the script element early."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs().replace("://", ":\\/\\/").replace("</", "<\\/")
    return re.sub(r"\b(https?):(?=\\/\\/)", r"\1\\u003a", js)


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{h(k)}</th><td>{h(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _cell(v: Any) -> Any:
    """A missing number reads "—" (does not apply), never "nan" or blank."""
    return an.NOT_APPLICABLE if isinstance(v, float) and v != v else v


def _df_table(df: pd.DataFrame) -> str:
    if df.empty:
        return '<p class="muted">Nothing to show yet.</p>'
    head = "".join(f"<th>{h(c)}</th>" for c in df.columns)
    rows = []
    for r in df.itertuples(index=False):
        cells = []
        for v in r:
            cls = ' class="num"' if isinstance(v, int | float) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{h(_cell(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(rows)}</table></div>'


def _figure_html(name: str, fig: go.Figure) -> str:
    payload = fig.to_json()  # Plotly escapes <, > and / in strings: no early </script>
    div = f"fig-{re.sub(r'[^a-z0-9_-]', '', name)}"
    config = json.dumps(_PLOTLY_CONFIG)
    note = FIGURE_NOTES.get(name, "")
    return (
        f'<div id="{div}" class="fig"></div>'
        f'<script>(function(){{var f={payload};Plotly.newPlot("{div}",f.data,f.layout,{config});}})();</script>'
        + (f'<p class="caption">{h(note)}</p>' if note else "")
    )


def _figures_html(data: ReportData, names: tuple[str, ...]) -> str:
    return "".join(_figure_html(n, data.figures[n]) for n in names if n in data.figures)


def _recs_html(recs: list[an.Recommendation]) -> str:
    if not recs:
        return '<p class="muted">Nothing stands out: no parameter sits at the edge of its range, ' \
               "none is clearly negligible, and the search has not stalled.</p>"  # fmt: skip
    items = "".join(
        f'<div class="rec {h(r.kind)}"><b>{h(r.kind)}</b>: {h(r.message)}</div>' for r in recs
    )
    return items + (
        '<p class="muted">In Tuning Studio, the Refine action starts a new run with the search '
        "space changed as recommended (widen / narrow / fix).</p>"
        if any(r.actionable for r in recs)
        else ""
    )


def report_html(data: ReportData | optuna.Study) -> str:
    """The report as one self-contained HTML document (string)."""
    if not isinstance(data, ReportData):
        data = build_report(data)
    run = data.run
    if not data.figures:
        data.figures = _all_figures(run, data.importance, data.efficiency, data.ranks)
    imp_table = (
        data.importance.table.assign(
            importance=lambda d: d["importance"].map(an.fmt_value),
            low=lambda d: d["low"].map(an.fmt_value),
            high=lambda d: d["high"].map(an.fmt_value),
            above_next=lambda d: d["above_next"].map(
                lambda v: an.NOT_APPLICABLE if v != v else f"{100 * v:.0f}%"
            ),
        ).rename(columns={"above_next": "beats the next one in"})
        if data.importance.ok
        else pd.DataFrame()
    )
    params = pd.DataFrame(_best_params(data), columns=["parameter", "value", ""])
    params["value"] = params["value"].map(an.fmt_value)
    space = pd.DataFrame(_space_rows(data), columns=["parameter", "kind", "range"])
    raw = json.dumps(run.attrs.get("config") or {}, indent=2, ensure_ascii=False, default=str)
    eff = data.efficiency
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',  # our constant
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{h(data.title)}</title><style>{_CSS}</style>",
        f"<script>{plotly_js()}</script>",
        "</head><body><main>",
        f"<h1>{h(data.title)}</h1>",
        f'<p class="muted">Generated {h(data.generated_at)} by Tuning Studio. This file works '
        "offline: the figures are embedded and interactive (hover, zoom, double-click to reset)."
        "</p>",
        _kv_table(_summary(data)),
        "<h2>Optimal hyperparameters</h2>",
        _df_table(params),
        "<h2>Performance</h2>",
        _kv_table(_performance(data)),
        "<h2>Population-based training</h2>" if "pbt_population" in data.figures else "",
        _figures_html(data, SECTIONS_FIGURES["population"]),
        "<h2>Top 10 configurations</h2>",
        '<p class="muted">p vs best: corrected resampled t-test (Nadeau &amp; Bengio, 2003) on the '
        "per-fold scores; &quot;same as best&quot; when p ≥ 0.05 (the data cannot tell them apart)."
        "</p>",
        _df_table(_top_table(data)),
        _figures_html(data, SECTIONS_FIGURES["best"]),
        "<h2>Tuning efficiency</h2>",
        f"<p>{h(eff.message)}</p>",
        f"<p><b>Diminishing returns.</b> {h(data.plateau.message)}</p>",
        _figures_html(data, SECTIONS_FIGURES["efficiency"]),
        "<h2>Parameter impact</h2>",
        f"<p>{h(data.importance.note)}</p>" if data.importance.note else "",
        _df_table(imp_table) if not imp_table.empty else "",
        _figures_html(data, SECTIONS_FIGURES["impact"]),
        "<h2>Recommendations</h2>",
        _recs_html(data.recommendations),
        "<h2>Configuration</h2>",
        _kv_table(_config_rows(data)),
        "<h3>Search space</h3>",
        _df_table(space),
        f"<details><summary>The configuration as saved with the run (JSON)</summary><pre>{h(raw)}</pre></details>",
        f'<p class="muted">{h(_versions())}</p>',
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)


# -- Markdown -------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")  # $: GitHub renders $...$ as math


def md(text: Any) -> str:
    """Escape a user-controlled string for Markdown: HTML-escaped, Markdown syntax and table
    pipes backslash-escaped, newlines flattened."""
    s = html.escape(str(text), quote=False).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", s)


def _md_kv(rows: list[tuple[str, str]]) -> str:
    return _md_table(pd.DataFrame(rows, columns=["", "value"]))


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_Nothing to show yet._\n"
    head = "| " + " | ".join(md(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(md(_cell(v)) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def _bars(imp: an.Importance, width: int = 30) -> str:
    if not imp.ok:
        return f"_{md(imp.note)}_\n"
    t = imp.table
    name_w = max(len(p) for p in t["param"])
    lines = []
    for r in t.itertuples():
        bar = "█" * round(width * r.importance) or "▏"
        lines.append(
            f"{r.param:<{name_w}}  {bar:<{width}}  {r.importance:.2f}  [{r.low:.2f}, {r.high:.2f}]"
        )
    # A fenced block shows text verbatim; escape only what could end the fence.
    text = "\n".join(lines).replace("```", "'''")
    return f"```text\n{text}\n```\n"


def report_markdown(data: ReportData | optuna.Study) -> str:
    """The report as Markdown (tables; importance as text bars; no embedded figures)."""
    if not isinstance(data, ReportData):
        data = build_report(data, figures=False)
    params = pd.DataFrame(_best_params(data), columns=["parameter", "value", "how"])
    params["value"] = params["value"].map(an.fmt_value)
    eff = data.efficiency
    breakdown = eff.breakdown.assign(
        seconds=lambda d: d["seconds"].map(lambda v: f"{v:.1f}"),
        share=lambda d: d["share"].map(lambda v: f"{100 * v:.0f}%"),
    )[["label", "seconds", "share"]]
    imp = data.importance
    out = [
        f"# {md(data.title)}\n",
        f"_Generated {md(data.generated_at)} by Tuning Studio. The HTML report has the "
        "interactive figures._\n",
        _md_kv(_summary(data)),
        "## Optimal hyperparameters\n",
        _md_table(params),
        "## Performance\n",
        _md_kv(_performance(data)),
        "## Top 10 configurations\n",
        "p vs best: corrected resampled t-test (Nadeau & Bengio, 2003) on the per-fold scores; "
        '"same as best" when p ≥ 0.05.\n',
        _md_table(_top_table(data)),
        "## Tuning efficiency\n",
        md(eff.message) + "\n",
        _md_table(breakdown.rename(columns={"label": "where the time went"})),
        f"**Diminishing returns.** {md(data.plateau.message)}\n",
        "## Parameter impact\n",
        f"Importance ({md(imp.label)}; share of the total, with the 5-95% bootstrap range over "
        f"{imp.n_boot} resamples of {imp.n_trials} complete trials):\n",
        _bars(imp),
        (f"_{md(imp.note)}_\n" if imp.note and imp.ok else ""),
        "Overfitting check (top trials):\n",
        _md_table(
            data.overfit.assign(
                **{
                    c: data.overfit[c].map(an.param_cell)
                    for c in ("train", "cv", "cv_std", "test", "gap")
                }
            )
        ),
        "## Recommendations\n",
        "\n".join(f"- **{md(r.kind)}**: {md(r.message)}" for r in data.recommendations) + "\n"
        if data.recommendations
        else "Nothing stands out.\n",
        "## Configuration\n",
        _md_kv(_config_rows(data)),
        "### Search space\n",
        _md_table(pd.DataFrame(_space_rows(data), columns=["parameter", "kind", "range"])),
        f"_{md(_versions())}_\n",
    ]
    return "\n".join(p for p in out if p)


__all__ = ["ReportData", "build_report", "report_html", "report_markdown", "plotly_js", "md", "h"]
