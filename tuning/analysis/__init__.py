"""Analysis of a run (finished or still running): numbers first, as DataFrames and dataclasses.

`load_run(study)` (or a page's `LiveRun.read()`) reads a run once into a `RunData`; every other
function here takes it and returns plain data that `tuning.plots` turns into figures and
`tuning.report` into a report. The Live monitor, the Analysis page and the report all use this
one code: the same best-so-far, step labels, learning-curve selection and importance.

Modules, each importing only those above it:

- rundata           RunData, ParamInfo, load_run; what is a score (scored, score_only: a
                    partial trial's running mean never is); best so far (running_best, best_by_end),
                    STEP_LABELS, value helpers (to_float, sample_rows, fmt_value)
- param_importance  importance(run, method) with a bootstrap interval per parameter, the
                    one ImportanceCache per run (evaluator, refresh rule), and disagreement
                    (where two evaluators order the parameters differently)
- surfaces          points, contour_grid (two parameters binned), best_pair
- statistics        score_ecdf, timeline, select_curves / learning_curves, overfitting,
                    refit_top_on_test, efficiency, corrected_ttest, corrected_interval,
                    compare_top, plateau
- baseline          did tuning pay off: defaults_score(run) (the library defaults in the run),
                    gain_over_defaults(run) -> Gain (paired interval, within_noise, sentence),
                    why_no_gain(run)
- advisor           the stop advisor (`from tuning.analysis import advisor`): advise(run) -> Advice
                    (regret bound and plateau against the CV noise per checkpoint, where the run
                    could have stopped, what that lost, the sentence), by_method over runs
- payoff            the gain as pages headline it: payoff(run) / listed_payoff(summary) -> Payoff
                    (headline, provisional, compact cell), experiment_payoff(info) (each
                    method's gain pooled over seeds)
- efficiency        tuning_efficiency(run): gain per trial and per minute, the share of the
                    budget that bought the last 10 % of the gain
- recommendations   recommend(run) (plain-language advice), refined_config (applies it)
- pareto            multi-objective runs: ParetoFront (incremental), front_mask, reference_point,
                    hypervolume, hypervolume_history, tradeoff (`from tuning.analysis import pareto`)
- live              LiveRun (one run's long-lived reader) and the Live monitor's Snapshot

This package's surface is the names below (`from tuning import analysis as an`). Reads use
`get_trials(deepcopy=False)` (never `study.trials`), so this stays fast at 10,000 trials; only
the forest importances (mean decrease impurity, the default, and the opt-in fANOVA) are slow,
and they cap the number of trials they look at.
"""

from tuning.analysis.baseline import (
    DefaultsScore,
    Gain,
    defaults_score,
    gain_decimals,
    gain_over_defaults,
    signed,
    why_no_gain,
)
from tuning.analysis.efficiency import TuningEfficiency, efficiency_of, tuning_efficiency
from tuning.analysis.live import LiveRun, Snapshot
from tuning.analysis.param_importance import (
    CROSS_CHECK,
    DEFAULT_METHOD,
    IMPORTANCE_METHODS,
    MIN_TRIALS_FOR_IMPORTANCE,
    Disagreement,
    Importance,
    ImportanceCache,
    disagreement,
    importance,
)
from tuning.analysis.payoff import (
    ExperimentPayoff,
    MethodGain,
    Payoff,
    experiment_payoff,
    listed_payoff,
    payoff,
)
from tuning.analysis.recommendations import Recommendation, recommend, refined_config
from tuning.analysis.rundata import (
    NOT_APPLICABLE,
    STEP_LABELS,
    ParamInfo,
    RunData,
    best_by_end,
    decimal,
    fmt_value,
    load_run,
    param_cell,
    running_best,
    sample_rows,
    score_only,
    scored,
    to_float,
)
from tuning.analysis.statistics import (
    Curve,
    Efficiency,
    Plateau,
    compare_top,
    corrected_interval,
    corrected_ttest,
    efficiency,
    learning_curves,
    overfitting,
    plateau,
    refit_top_on_test,
    score_ecdf,
    select_curves,
    timeline,
)
from tuning.analysis.surfaces import ContourGrid, best_pair, contour_grid, points

__all__ = [
    "RunData", "ParamInfo", "load_run", "scored", "score_only", "running_best", "best_by_end",
    "STEP_LABELS", "to_float", "sample_rows", "fmt_value", "decimal", "param_cell", "NOT_APPLICABLE",
    "Importance", "importance", "ImportanceCache", "IMPORTANCE_METHODS", "DEFAULT_METHOD",
    "CROSS_CHECK", "MIN_TRIALS_FOR_IMPORTANCE", "Disagreement", "disagreement",
    "ContourGrid", "contour_grid", "best_pair", "points",
    "score_ecdf", "timeline", "Curve", "select_curves", "learning_curves",
    "overfitting", "refit_top_on_test", "Efficiency", "efficiency", "corrected_ttest",
    "corrected_interval", "DefaultsScore", "Gain", "defaults_score", "gain_over_defaults",
    "why_no_gain", "gain_decimals", "signed", "Payoff", "payoff", "listed_payoff", "ExperimentPayoff", "MethodGain",
    "experiment_payoff", "TuningEfficiency", "tuning_efficiency", "efficiency_of",
    "compare_top", "Plateau", "plateau",
    "Recommendation", "recommend", "refined_config",
    "LiveRun", "Snapshot",
]  # fmt: skip
