"""The run report: one self-contained HTML file (opens offline) and a Markdown version.

    data = build_report(study)          # numbers and figures, computed once
    html_text = report_html(data)       # plotly.js inlined once (packed), no network access
    md_text = report_markdown(data)

Both have: the optimal hyperparameters; CV and test performance; the top-10 configurations
(with the corrected resampled t-test against the best); the tuning efficiency analysis; the
parameter-impact figures (the HTML embeds the same Plotly figures as the Analysis page, the
Markdown shows importance as text bars and tables); the recommendations; the run's
configuration.

One list of sections (`report_sections`: each a title and what it shows, computed once) is
drawn by two Jinja templates (templates/report.html.j2 and report.md.j2), one macro per
section. The HTML template is autoescaped and every value the Markdown template prints goes
through `md`, so every user-controlled string (study name, parameter value, note, CSV column)
is escaped (HTML, or Markdown + HTML) unless the code marks it safe.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
import math
import numbers
import platform
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import optuna
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup

from tuning import analysis as an
from tuning.analysis import advisor as stop_advisor
from tuning.analysis.live import FrontTracker, FrontView
from tuning.analysis.warm import source_agreements, warm_start_line
from tuning.core.enums import BudgetKind
from tuning.core.objectives import Objective
from tuning.core.scoring import Scoring
from tuning.data.datasets import dataset_label
from tuning.methods import REGISTRY, method_label
from tuning.methods.words import method_in_words
from tuning.models import model_label
from tuning.plots import figures as plots
from tuning.plots import pareto as pareto_plots
from tuning.plots.advisor import advisor_figure
from tuning.runs.experiments import test_interval
from tuning.store.foreign import needs_config

# Seconds of the stop advisor's GP fits a report may spend (one fit takes 0.1-1 s on a long
# run); its section says how many checks were left out.
ADVISOR_BUDGET_S = 10.0
FIGURE_NOTES = {
    "advisor": "At each check (every 5 complete trials), what the best gained over the last "
    "half of the trials and, where the regret bound applies, what further trials could still "
    "gain, against the CV noise of the best trial; the advisor stops once a line stays under "
    "the noise.",
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
        "pareto_front": "Every complete trial on the CV score against the first cost: faded "
        "trials are dominated (another trial is at least as good on both and better on one); "
        "the front members are joined by the line that bounds what they dominate; the star is "
        "the chosen trade-off.",
        "hypervolume": "The area (volume, for more objectives) that the front dominates up to "
        "the reference point, after each complete trial: it grows only when the front moves.",
        "parallel_front": "Each line is one front member across every objective.",
        "pairwise_fronts": "The front of all objectives seen two objectives at a time.",
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
    "tradeoffs": ("pareto_front", "hypervolume", "parallel_front", "pairwise_fronts"),
}  # fmt: skip


def tradeoffs_of(run: an.RunData) -> FrontView | None:
    """The front of a multi-objective run; None for a single-objective one."""
    if not run.record.multi_objective:
        return None
    # The Live monitor's tracker: the same front, reference point and history as that page
    # (with 3+ objectives, a history whose costly volume is evaluated at about 100 trials).
    return FrontTracker(run.record.objectives).update(run.frame, run.record.choice)


def _tradeoff_figures(run: an.RunData, t: FrontView) -> dict[str, go.Figure]:
    obj = t.objectives
    figs = {
        "pareto_front": pareto_plots.front_figure(
            t.points, obj, obj[1].name, obj[0].name, t.numbers, run.frame, t.chosen, styled=True
        ),
        "hypervolume": pareto_plots.hypervolume_figure(
            t.history, t.reference, obj, styled=True, reference_trials=t.reference_trials
        ),
    }
    if len(obj) >= 3:
        figs["parallel_front"] = pareto_plots.parallel_front_figure(
            t.points, obj, t.numbers, t.chosen, styled=True
        )
        figs["pairwise_fronts"] = pareto_plots.pairwise_fronts_figure(
            t.points, obj, t.numbers, t.chosen, styled=True
        )
    return figs


def _all_figures(run: an.RunData, imp, eff, ranks, tradeoffs=None) -> dict[str, go.Figure]:
    """The Analysis figures, plus the population views for a population-based training run
    and the front's for a multi-objective one."""
    figs = plots.analysis_figures(run, imp, eff, ranks)
    if tradeoffs is not None:
        figs.update(_tradeoff_figures(run, tradeoffs))
    from tuning.plots.pbt import is_population, pbt_figures

    if is_population(run.config):
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
    tradeoffs: FrontView | None = None  # multi-objective runs
    payoff: an.Payoff | None = None  # the gain over the library defaults
    bought: an.TuningEfficiency | None = None  # what the budget bought
    advice: stop_advisor.Advice | None = None  # the stop advisor (None: not computed)
    # whether each warm-start source's scores predict the run's (sentences; none without sources)
    warm_agreement: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Tuning report: {self.run.name}"


def build_report(
    study: optuna.Study,
    run: an.RunData | None = None,
    importance_method: str = an.DEFAULT_METHOD,
    figures: bool = True,
    sources: dict[str, list[optuna.trial.FrozenTrial]] | None = None,
) -> ReportData:
    """Compute everything the report shows. figures=False skips the Plotly figures (Markdown).
    `sources`: a warm-started run's source runs' trials (tuning.analysis.warm.source_trials),
    to say whether their scores predict the run's."""
    run = run or an.load_run(study)
    imp = an.importance(run, importance_method)
    ranks = an.compare_top(run)
    eff = an.efficiency(run)
    stall = an.plateau(run)
    recs = an.recommend(run, imp, stall, ranks)
    trade = tradeoffs_of(run)
    figs = _all_figures(run, imp, eff, ranks, trade) if figures else {}
    return ReportData(
        run, imp, ranks, eff, stall, recs, an.overfitting(run), figs,
        datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), trade, an.payoff(run),
        an.tuning_efficiency(run),
        advice=stop_advisor.advise(run, budget_s=ADVISOR_BUDGET_S, until_stop=True),
        warm_agreement=tuple(
            a.sentence for a in source_agreements(run.record, run.trials, sources or {})
        ),
    )  # fmt: skip


# -- numbers and names as people read them --------------------------------------------------------
def num(v: Any, digits: int = 3) -> str:
    """A number to at most ``digits`` significant digits (0.008148 -> 0.00815, 2.0 -> 2), in
    exponent form only outside 1e-4 to 1e6; text and categories stay as they are."""
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
        return str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    v = float(v)
    if v != v:
        return ""
    if abs(v) < 1e-12:  # rounding noise (a spread of 1.1e-16 between equal fold scores)
        return "0"
    if math.isinf(v) or not 1e-4 <= abs(v) < 1e6:
        return f"{v:.{digits}g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    text = f"{round(v, decimals):.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text  # 2.00 -> 2, like %g


def p_text(p: float) -> str:
    """A p-value to two significant digits, and "< 0.001" below that."""
    if p != p:
        return "n/a"
    return "< 0.001" if p < 0.001 else num(p, 2)


def scoring_label(name: str | None) -> str:
    try:
        return Scoring(name).label if name else "default"
    except Exception:  # a scorer this version does not know: its name is the best label
        return str(name)


# -- shared content -------------------------------------------------------------------------------
def _best_params(data: ReportData) -> list[tuple[str, Any, str]]:
    """(name, value, how) for the refit model's configuration."""
    run = data.run
    test = run.test
    best = run.best
    number = None if best is None else int(best["number"])
    params: dict[str, Any] = dict(test.get("params") or {})
    chosen = data.tradeoffs.chosen if data.tradeoffs else None
    if chosen is not None and test.get("trial") != chosen:  # not refit yet: the chosen trial's
        params, number = {}, chosen
    if not params and number is not None:
        trial = run.trial(number)
        params = run.space.complete(trial.params) if run.space else dict(trial.params)
    searched = set(run.params)
    rows = []
    for k, v in params.items():
        how = "searched" if k in searched else "fixed"
        if run.budget_kind == BudgetKind.EPOCHS and k == "epochs" and k in searched:
            how = "searched; refit with the best trial's best epoch"
        rows.append((k, v, how))
    return rows


def _performance(data: ReportData) -> list[tuple[str, str]]:
    run = data.run
    best = run.best
    rows: list[tuple[str, str]] = []
    if best is None:
        return [("Best", "no trial completed")]
    if run.record.foreign is not None:
        return [
            (f"Best {run.label}", f"{an.fmt_value(float(best['value']))} (trial "
             f"{int(best['number'])}, {run.arrow}; as the study's objective returned it: no CV "
             "folds, so no spread)"),
            ("Test score", needs_config("A held-out test score")),
        ]  # fmt: skip
    std = an.to_float([best.get("cv_std")])[0]
    folds = run.folds or "?"
    rows.append(
        (
            f"Best CV {run.label}",
            f"{an.fmt_value(float(best['value']))}"
            + (f" ± {num(std, 2)}" if std == std else "")
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
        ends = test_interval(run.scoring, float(test["score"]), test.get("n_test"))
        spread = f"95 % {ends[0]:.3f}–{ends[1]:.3f}; " if ends else ""
        rows.append(
            (
                f"Test {run.label}",
                f"{an.fmt_value(test['score'])} ({spread}refit on all "
                f"{test.get('n_train', '?')} training rows in {test.get('refit_seconds', '?')} s, "
                f"scored once on {test.get('n_test', '?')} held-out rows)",
            )
        )
    elif test.get("error"):
        rows.append((f"Test {run.label}", f"the refit failed: {test['error']}"))
    else:
        rows.append((f"Test {run.label}", "not scored yet (the run refits the best when it ends)"))
    return rows


def _when(value: Any) -> str:
    """'2026-12-06 14:21:10 UTC' for a stored ISO time (as it is where it does not parse)."""
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if t.tzinfo is not None else "")


def _summary(data: ReportData) -> list[tuple[str, str]]:
    run = data.run
    cfg = run.config
    rec = run.record
    counts = run.frame["state"].value_counts()
    if rec.foreign is not None:
        unknown = "not known (made outside Tuning Studio)"
        return [
            ("Study", run.name), ("Made by", "another tool (plain Optuna): shown read-only"),
            ("Status", str(rec.status)), ("Dataset", unknown), ("Model", unknown),
            ("Search method", unknown), ("Objective", f"{run.label} ({run.arrow})"),
            ("Trials", ", ".join(f"{int(v)} {k}" for k, v in counts.items()) or "none"),
            *((label, _when(v)) for v, label in ((rec.started_at, "First trial started"),
                                               (rec.ended_at, "Last trial ended")) if v),
        ]  # fmt: skip
    rows = [
        ("Run", run.name),
        ("Status", str(rec.status)),
        ("Dataset", dataset_label(cfg.dataset) if cfg else "?"),
        ("Task", str(rec.task or "?")),
        ("Model", model_label(cfg.model) if cfg else "?"),
        ("Search method", method_label(cfg.method) if cfg else "?"),
        ("Scoring", f"{run.label} ({run.arrow})"),
        ("Trials", ", ".join(f"{int(v)} {k}" for k, v in counts.items()) or "none"),
    ]
    if line := warm_start_line(rec, run.frame):  # the earlier runs it started from, and how
        rows.append(("Warm start", line.removeprefix("Warm start: ")))
        rows += [("Warm-start source", sentence) for sentence in data.warm_agreement]
    if rec.elapsed_s:
        rows.append(("Tuning time", f"{float(rec.elapsed_s):.1f} s"))
    for value, label in ((rec.started_at, "Started"), (rec.ended_at, "Ended")):
        if value:
            rows.append((label, _when(value)))
    if rec.message:
        rows.append(("Note", str(rec.message)))
    return rows


def _text_or_blank(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _top_table(data: ReportData) -> pd.DataFrame:
    run = data.run
    top = run.ranked().head(10)
    ranks = data.ranks.set_index("number") if not data.ranks.empty else pd.DataFrame()
    # Where each trial came from, in short ("library defaults", "start-up", "model-guided").
    kind = "origin_kind" if "origin_kind" in top.columns else "origin"
    marked = kind in top.columns and top[kind].notna().any()
    rows = []
    for i, r in enumerate(top.itertuples(), 1):
        row: dict[str, Any] = {
            "rank": i,
            "trial": int(r.number),
            **({"origin": _text_or_blank(getattr(r, kind))} if marked else {}),
            f"{'' if run.record.foreign else 'CV '}{run.label}": an.fmt_value(float(r.value)),
            "std": an.param_cell(an.to_float([r.cv_std])[0], lambda v: num(v, 2)),
            "train": an.param_cell(an.to_float([r.train_score])[0], lambda v: num(v, 4)),
            "seconds": an.param_cell(an.to_float([r.duration_s])[0], lambda v: num(v, 3)),
        }
        if int(r.number) in ranks.index:
            p = ranks.loc[int(r.number), "p"]
            same = ranks.loc[int(r.number), "same_as_best"]
            row["p vs best"] = "best" if i == 1 else p_text(p)
            row["same as best?"] = (
                an.NOT_APPLICABLE if i == 1 else {True: "yes", False: "no"}.get(same, "n/a")
            )
        for name in run.param_names:
            col = f"param_{name}"
            row[name] = (
                an.param_cell(top[col].iloc[i - 1], num) if col in top else an.NOT_APPLICABLE
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _payoff_rows(data: ReportData) -> list[tuple[str, str]]:
    """The gain over the library defaults: both CV scores on the same folds, the gain with its
    interval, and the held-out test of both; or why there is none."""
    p = data.payoff
    g = p.gain
    if g is None:
        return [("Library defaults", p.why or "no baseline")]
    low, high = g.gain_interval
    dec = an.gain_decimals(g)
    where = f"trial {g.defaults_trial}" if g.defaults_trial is not None else p.beside
    rows = [
        (f"Best CV {g.label}", f"{g.best_mean:.{dec}f} ± {g.best_std:.{dec}f} (trial {g.best_trial})"),
        (f"Library defaults CV {g.label}",
         f"{g.defaults_mean:.{dec}f} ± {g.defaults_std:.{dec}f} ({where})"),
        ("Gain (> 0: tuning did better)",
         "none: the best scores what the defaults score on each fold"
         if g.defaults_are_best or g.ties_defaults else
         f"{'within' if g.within_noise else 'beyond'} fold-to-fold noise: "
         f"{an.signed(g.gain, dec)} ({100 * g.level:g} % interval {an.signed(low, dec)} to "
         f"{an.signed(high, dec)} over the same {g.n_folds} folds)"),
    ]  # fmt: skip
    if p.test_line:
        rows.append(("Held-out test", p.test_line))
    elif not p.provisional:
        rows.append(("Held-out test", "not scored for both the tuned model and the defaults"))
    return rows


def _params_heading(data: ReportData) -> str:
    if data.tradeoffs is not None and data.tradeoffs.chosen is not None:
        return f"Hyperparameters of the chosen trade-off (trial {data.tradeoffs.chosen})"
    return "Optimal hyperparameters"


def _objective_value(o: Objective, v: float) -> str:
    return f"{num(v, 4)}{' ' + o.unit if o.unit else ''}"


def _tradeoff_intro(data: ReportData) -> str:
    t = data.tradeoffs
    objectives = "; ".join(f"{o.title} ({pareto_plots.better(o)})" for o in t.objectives)
    ref = ", ".join(
        f"{o.label} {_objective_value(o, v)}"
        for o, v in zip(t.objectives, t.reference, strict=True)
    )
    return (
        f"This run optimized {len(t.objectives)} objectives at once: {objectives}. "
        f"{len(t.numbers)} of its {len(t.points)} complete trials are on the Pareto front (no "
        "other trial is at least as good on every objective and better on one). The front's "
        f"hypervolume is {num(t.hypervolume, 4)}, measured against the reference point {ref} "
        "(each objective's worst value, 10% of its range further)."
    )


def _choice_rows(data: ReportData) -> list[tuple[str, str]]:
    t = data.tradeoffs
    run = data.run
    if run.record.foreign is not None:
        return [("Chosen trade-off", needs_config("Choosing a trade-off (a refit and a test)"))]
    if t.chosen is None:
        return [("Chosen trade-off", "none yet (the run chooses one when it finishes)")]
    rows = [("Rule", str(t.choice.get("rule", ""))), ("Why", str(t.choice.get("reason", "")))]
    mine = t.points[t.points["number"] == t.chosen]
    for o in t.objectives:
        value = _objective_value(o, float(mine[o.name].iloc[0])) if len(mine) else "?"
        rows.append((o.title, value))
    test = run.test
    if test.get("trial") == t.chosen and test.get("score") is not None:
        rows.append((f"Test {run.label}", f"{an.fmt_value(test['score'])} (refit on all "
                     f"{test.get('n_train', '?')} training rows, scored once on "
                     f"{test.get('n_test', '?')} held-out rows)"))  # fmt: skip
    elif test.get("trial") == t.chosen and test.get("error"):
        rows.append((f"Test {run.label}", f"the refit failed: {test['error']}"))
    else:
        rows.append((f"Test {run.label}", "not refit and tested yet"))
    return rows


def _front_df(data: ReportData) -> pd.DataFrame:
    t = data.tradeoffs
    table = pareto_plots.front_table(t.points, t.objectives, t.numbers, data.run.frame)
    for o in t.objectives:
        table[o.title] = table[o.title].map(lambda v: num(v, 4))
    if t.chosen is not None:
        table.insert(1, "chosen", ["★" if n == t.chosen else "" for n in table["trial"]])
    return table


def _single_score_note(data: ReportData) -> str:
    """What the views built for one score show on a multi-objective run."""
    if data.tradeoffs is None:
        return ""
    cv = "" if data.run.record.foreign else "CV "
    return (
        f"On this multi-objective run, the sections below follow the {cv}{data.run.label} alone "
        "(the first objective): the best, the top 10, the efficiency and the parameter impact "
        "rank trials by it whatever they cost; the trade-off section above weighs it against "
        "the costs."
    )


_DIRECTION_WORDS = {"maximize": "higher is better", "minimize": "lower is better"}


def _config_rows(data: ReportData) -> list[tuple[str, str]]:
    cfg = data.run.config
    foreign = data.run.record.foreign
    if foreign is not None:
        return [
            *((f"Objective {i}", f"{o.label} ({_DIRECTION_WORDS.get(o.direction, o.direction)})")
              for i, o in enumerate(foreign.objectives, 1)),
            ("Metric names", ", ".join(foreign.metric_names) if foreign.metric_names
             else "not set (study.set_metric_names)"),
            ("Not known", "; ".join(foreign.unknown)),
        ]  # fmt: skip
    if cfg is None:
        return [("Configuration", "not saved with this run")]
    budget = []
    if cfg.n_trials is not None:
        budget.append(f"{cfg.n_trials} trials")
    if cfg.timeout_s is not None:
        budget.append(f"{cfg.timeout_s / 60:g} min")
    rows = [
        ("Dataset", data.run.record.dataset_label),
        ("Model", model_label(cfg.model)),
        ("Method", method_in_words(cfg.method, cfg.method_options)),
        *_recommended_row(data.run.record.recommendation),
        ("Budget", " / ".join(budget) or "the whole grid"),
        ("Cross-validation", f"{cfg.cv_folds} folds"),
        ("Scoring", scoring_label(cfg.scoring)),
        ("Held-out test fraction", f"{cfg.test_size:g}"),
        ("Seed", str(cfg.seed)),
    ]
    spec = REGISTRY.get(cfg.method)
    if spec is not None and spec.multi_fidelity:
        rows.append(("Multi-fidelity budget", _fidelity_words(cfg.fidelity)))
    if spec is not None and spec.enumerates_grid:
        rows.append(("Grid points per numeric parameter", str(cfg.grid_points)))
    return rows


def _recommended_row(chosen: dict | None) -> list[tuple[str, str]]:
    """Why the method was picked, for a run created as "Recommended"."""
    if not chosen:
        return []
    return [("Why this method", f"Picked by Recommended: {chosen.get('reason', '')}")]


def _fidelity_words(fidelity: str) -> str:
    return {"auto": "the model's own (epochs or boosting rounds)", "folds": "CV folds"}.get(
        fidelity, fidelity
    )


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


# -- plotly.js and the figures of the HTML report ------------------------------------------------
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
                  "modeBarButtonsToRemove": ["sendDataToCloud"], "showSendToCloud": False}  # fmt: skip


def plotly_js() -> str:
    """plotly.js from the installed Plotly package, ready to inline in a <script> element.

    The bundle has URLs only inside string literals (map tiles, attribution links that our
    figures never use). Writing "https://" as "https\\u003a\\/\\/" keeps their values and
    leaves the report without any http(s) URL text at all; and "</" becomes "<\\/", so nothing
    in the bundle can close the script element early."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs().replace("://", ":\\/\\/").replace("</", "<\\/")
    return re.sub(r"\b(https?):(?=\\/\\/)", r"\1\\u003a", js)


@functools.cache
def plotly_js_packed() -> str:
    """plotly.js gzip-compressed and base64-encoded: 1.9 MB instead of 4.8 MB. Plotly ships one
    full bundle only (3-D, maps and all), so the report carries it packed and the browser
    unpacks it (DecompressionStream) when the file opens, still with no network access."""
    return base64.b64encode(gzip.compress(plotly_js().encode("utf-8"), 9, mtime=0)).decode()


def _plotly_loader(template: dict | None) -> str:
    """The one script that unpacks plotly.js; every figure waits for `plotlyReady`."""
    return (
        "window.plotlyTemplate=" + json.dumps(template) + ";"
        "window.plotlyReady=(async function(){"
        'if(typeof DecompressionStream==="undefined"){throw new Error("This browser cannot '
        "unpack the embedded charts: open the report in a current Chrome, Edge, Firefox or "
        'Safari.");}'
        f'var b=atob("{plotly_js_packed()}");'
        "var a=new Uint8Array(b.length);for(var i=0;i<b.length;i++){a[i]=b.charCodeAt(i);}"
        'var s=new Blob([a]).stream().pipeThrough(new DecompressionStream("gzip"));'
        "(0,eval)(await new Response(s).text());})();"
    )


def _shared_template(figures: dict[str, go.Figure]) -> dict | None:
    """The layout template every figure uses (Plotly repeats ~6 kB of it in each figure)."""
    templates = [fig.layout.template.to_plotly_json() for fig in figures.values()]
    if templates and all(t == templates[0] for t in templates):
        return templates[0]
    return None


def _embedded(name: str, fig: go.Figure, shared_template: bool = False) -> EmbeddedFigure:
    fig = go.Figure(fig)  # a copy: the report's own margins, the Analysis figure untouched
    # Room for every tick label and axis title: long parameter names and category labels
    # were cut at the figure's edge with the Analysis page's tight margins.
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if any(trace.type == "parcoords" for trace in fig.data):  # its labels overhang the plot
        fig.update_layout(margin={"l": 80, "r": 80, "t": 110})
    if shared_template:
        fig.layout.template = None
    payload = Markup(fig.to_json())  # Plotly escapes <, > and / in strings: no early </script>
    div = f"fig-{re.sub(r'[^a-z0-9_-]', '', name)}"
    return EmbeddedFigure(div, payload, FIGURE_NOTES.get(name, ""), shared_template)


# -- the report's sections ------------------------------------------------------------------------
@dataclass
class Table:
    """A table as both formats show it: column names and each row's cells as text ("—" for a
    missing number); `numeric` marks the cells that hold numbers (right-aligned in HTML)."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[list[bool]]

    @classmethod
    def of(cls, df: pd.DataFrame) -> Table:
        if df.empty:
            return cls([], [], [])
        rows, numeric = [], []
        for r in df.itertuples(index=False):
            rows.append([str(_cell(v)) for v in r])
            numeric.append([isinstance(v, int | float) and not isinstance(v, bool) for v in r])
        return cls([str(c) for c in df.columns], rows, numeric)

    @classmethod
    def kv(cls, rows: list[tuple[str, str]]) -> Table:
        """Item-value rows (no header shown in HTML; "item | value" in Markdown)."""
        return cls.of(pd.DataFrame(rows, columns=["item", "value"]))

    @property
    def empty(self) -> bool:
        return not self.rows


@dataclass
class EmbeddedFigure:
    """One figure of the HTML report: its element id, its Plotly JSON and its caption."""

    div: str
    payload: Markup  # Plotly's JSON escapes <, > and / in strings: no early </script>
    caption: str
    shared_template: bool


@dataclass
class Section:
    """One part of the report: `key` names the part of each template that draws it (both
    formats draw every section; a part may show only what suits its format: figures in HTML,
    text bars in Markdown); `title` is its heading ("" for none); `data` is computed once."""

    key: str
    title: str
    data: dict[str, Any]


def _cell(v: Any) -> Any:
    """A missing number reads "—" (does not apply), never "nan" or blank."""
    return an.NOT_APPLICABLE if isinstance(v, float) and v != v else v


def report_sections(
    data: ReportData, figures: bool = False, shared_template: bool = False
) -> list[Section]:
    """The report's sections in order, each with what it shows computed once. `figures`: embed
    those of data.figures (for HTML; `shared_template`: they leave their template to the page)."""

    def figs(names: tuple[str, ...]) -> list[EmbeddedFigure]:
        shown = [n for n in names if n in data.figures] if figures else []
        return [_embedded(n, data.figures[n], shared_template) for n in shown]

    out = [Section("summary", "", {"rows": Table.kv(_summary(data))})]
    if data.payoff is not None:
        out.append(Section("payoff", "Did tuning pay off?", {
            "headline": data.payoff.headline, "rows": Table.kv(_payoff_rows(data)),
        }))  # fmt: skip
    run_note, trial_notes = data.run.record.note, data.run.record.trial_notes
    if run_note or trial_notes:
        out.append(Section("notes", "Notes", {"run": run_note, "trials": trial_notes}))
    params = pd.DataFrame(_best_params(data), columns=["parameter", "value", "how"])
    params["value"] = params["value"].map(num)
    out.append(Section("params", _params_heading(data), {"table": Table.of(params)}))
    out.append(Section("performance", "Performance", {"rows": Table.kv(_performance(data))}))
    if data.tradeoffs is not None:
        out.append(_tradeoffs_section(data, figs(SECTIONS_FIGURES["tradeoffs"])))
    out.append(Section("population", "Population-based training",
                       {"figures": figs(SECTIONS_FIGURES["population"])}))  # fmt: skip
    out.append(Section("top", "Top 10 configurations",
                       {"table": Table.of(_top_table(data)), "figures": figs(SECTIONS_FIGURES["best"])}))  # fmt: skip
    out.append(_efficiency_section(data, figs(SECTIONS_FIGURES["efficiency"])))
    out.append(_advisor_section(data, figures, shared_template))
    out.append(_impact_section(data, figs(SECTIONS_FIGURES["impact"])))
    recs = data.recommendations
    out.append(Section("recommendations", "Recommendations",
                       {"recs": recs, "actionable": any(r.actionable for r in recs)}))  # fmt: skip
    raw = json.dumps(data.run.record.config_dict, indent=2, ensure_ascii=False, default=str)
    space = pd.DataFrame(_space_rows(data), columns=["parameter", "kind", "range"])
    out.append(Section("configuration", "Configuration", {
        "rows": Table.kv(_config_rows(data)), "space": Table.of(space), "raw": raw,
    }))  # fmt: skip
    return out


def _tradeoffs_section(data: ReportData, figures: list[EmbeddedFigure]) -> Section:
    """The front of a multi-objective run: what it is, the chosen trade-off, the front's
    members, and what the single-score sections below follow."""
    t = data.tradeoffs
    final = t.history.iloc[-1] if len(t.history) else None
    return Section("tradeoffs", "Trade-offs: the Pareto front", {
        "intro": _tradeoff_intro(data),
        "hypervolume": num(t.hypervolume, 4),
        "last_trial": None if final is None else int(final["number"]),
        "chosen": f"Chosen trade-off: trial {t.chosen}" if t.chosen is not None
        else "Chosen trade-off",
        "choice": Table.kv(_choice_rows(data)),
        "figures": figures,
        "front": Table.of(_front_df(data)),
        "single_score": _single_score_note(data),
    })  # fmt: skip


def _efficiency_section(data: ReportData, figures: list[EmbeddedFigure]) -> Section:
    eff = data.efficiency
    breakdown = eff.breakdown.assign(
        seconds=lambda d: d["seconds"].map(lambda v: f"{v:.1f}"),
        share=lambda d: d["share"].map(lambda v: f"{100 * v:.0f}%"),
    )[["label", "seconds", "share"]].rename(columns={"label": "where the time went"})
    return Section("efficiency", "Tuning efficiency", {
        "bought": data.bought.message if data.bought is not None else "",
        "message": eff.message, "plateau": data.plateau.message,
        "breakdown": Table.of(breakdown), "figures": figures,
    })  # fmt: skip


def _advisor_section(data: ReportData, figures: bool, shared_template: bool) -> Section:
    """Where the stop advisor would have stopped the run, what stopping there would have
    lost, the rule it used, and (HTML) its chart of the bound against the CV noise."""
    a = data.advice
    if a is None:
        return Section("advisor", "Stop advisor", {"sentence": "", "rows": Table.kv([]),
                                                   "rule": "", "figures": []})  # fmt: skip
    rows = []
    if a.stop is not None:
        rows += [
            ("would have stopped at", f"trial {a.stop.trial} ({a.used} of {a.total} trials)"),
            ("trials it would have saved", f"{a.saved:.0%}"),
            ("best CV score there", f"{num(a.stop.best, 4)} (final best {num(a.final_best, 4)})"),
            ("score lost by stopping there", num(a.loss, 2) if a.loss else "nothing"),
            ("CV std of the final best", num(a.final_std, 2)),
            ("CV noise at the stop", "—" if a.stop.noise is None else f"±{num(a.stop.noise, 2)}"),
        ]  # fmt: skip
    if a.pending:
        rows.append(
            ("checks not computed", f"{a.pending} (the report's time for the advisor ran out)")
        )
    shown = []
    if figures and a.points:
        shown = [_embedded("advisor", advisor_figure(a, live=False), shared_template)]
    return Section("advisor", "Stop advisor: where the run could have stopped", {
        "sentence": a.sentence, "rows": Table.kv(rows), "rule": a.rule_text, "figures": shown,
    })  # fmt: skip


def _impact_section(data: ReportData, figures: list[EmbeddedFigure]) -> Section:
    """Importance (a table, and text bars for Markdown), the overfitting check, the figures."""
    imp = data.importance
    table = (
        imp.table.assign(
            importance=lambda d: d["importance"].map(lambda v: f"{v:.2f}"),
            low=lambda d: d["low"].map(lambda v: f"{v:.2f}"),
            high=lambda d: d["high"].map(lambda v: f"{v:.2f}"),
            above_next=lambda d: d["above_next"].map(
                lambda v: an.NOT_APPLICABLE if v != v else f"{100 * v:.0f}%"
            ),
        ).rename(columns={"above_next": "beats the next one in"})
        if imp.ok
        else pd.DataFrame()
    )
    digits = {"train": 4, "cv": 4, "cv_std": 2, "test": 4, "gap": 2}
    overfit = data.overfit.assign(**{
        c: data.overfit[c].map(lambda v, d=d: an.param_cell(v, lambda x: num(x, d)))
        for c, d in digits.items()
    })  # fmt: skip
    return Section("impact", "Parameter impact", {
        "importance": imp, "table": Table.of(table), "bars": _text_bars(imp) if imp.ok else "",
        "overfit": Table.of(overfit), "figures": figures,
    })  # fmt: skip


def _text_bars(imp: an.Importance, width: int = 30) -> str:
    """Importance as text bars for a fenced block: name, bar, share, [5-95% range]."""
    t = imp.table
    name_w = max(len(p) for p in t["param"])
    lines = []
    for r in t.itertuples():
        bar = "█" * round(width * r.importance) or "▏"
        lines.append(
            f"{r.param:<{name_w}}  {bar:<{width}}  {r.importance:.2f}  [{r.low:.2f}, {r.high:.2f}]"
        )
    # A fenced block shows text verbatim; escape only what could end the fence.
    return "\n".join(lines).replace("```", "'''")


# -- rendering: one Jinja environment, a template per format -------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")  # $: GitHub renders $...$ as math


def md(text: Any) -> str:
    """Escape a user-controlled string for Markdown: HTML-escaped, Markdown syntax and table
    pipes backslash-escaped, newlines flattened."""
    s = html.escape(str(text), quote=False).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", s)


def h(text: Any) -> str:
    """Escape a user-controlled string for HTML (as the HTML template does)."""
    return html.escape(str(text), quote=True)


def _html_finalize(value: Any) -> Any:
    """Every value the HTML template prints is escaped with `h` (the entities the report has
    always had: &quot; and &#x27;) unless marked safe (Markup); autoescaping, on as well,
    leaves the result as it is."""
    return value if isinstance(value, Markup) else Markup(h(value))


def _md_finalize(value: Any) -> Any:
    """Every value the Markdown template prints is escaped with `md` unless marked safe."""
    return value if isinstance(value, Markup) else md(value)


def _verbatim(text: Any) -> Markup:
    """Text its author wrote as Markdown (a note): HTML in it escaped, its Markdown kept."""
    return Markup(html.escape(str(text), quote=False))


@functools.cache
def _environment(kind: str) -> jinja2.Environment:
    """HTML: autoescaped, so no study name, parameter value, note or CSV content reaches the
    page unescaped. Markdown: every printed value through `md`, Markdown and HTML escaped."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=kind == "html",
        finalize=_md_finalize if kind == "md" else _html_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=kind == "md",  # as before: the page ends at </html>
    )
    env.filters["verbatim"] = _verbatim
    return env


def _render(kind: str, data: ReportData, shared_template: bool = False, **extra: Any) -> str:
    sections = report_sections(data, figures=kind == "html", shared_template=shared_template)
    template = _environment(kind).get_template(f"report.{kind}.j2")
    return template.render(data=data, sections=sections, versions=_versions(), **extra)


def report_html(data: ReportData | optuna.Study) -> str:
    """The report as one self-contained HTML document (string)."""
    if not isinstance(data, ReportData):
        data = build_report(data)
    if not data.figures:
        data.figures = _all_figures(
            data.run, data.importance, data.efficiency, data.ranks, data.tradeoffs
        )
    template = _shared_template(data.figures)
    loader = Markup(_plotly_loader(template))  # our script; plotly.js packed as base64
    config = Markup(json.dumps(_PLOTLY_CONFIG))
    return _render("html", data, template is not None, loader=loader, config=config)


def report_markdown(data: ReportData | optuna.Study) -> str:
    """The report as Markdown (tables; importance as text bars; no embedded figures)."""
    if not isinstance(data, ReportData):
        data = build_report(data, figures=False)
    return _render("md", data)


__all__ = [
    "ReportData", "build_report", "report_sections", "report_html", "report_markdown",
    "plotly_js", "plotly_js_packed", "md", "h", "num", "p_text",
]  # fmt: skip
