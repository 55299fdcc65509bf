"""tuning.analysis and tuning.plots on studies built directly with Optuna (fast, known answers)."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta

import numpy as np
import optuna
import plotly.graph_objects as go
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial, TrialState

from tuning import analysis as an
from tuning.analysis import param_importance, recommendations
from tuning.core.config import DatasetRef, RunConfig
from tuning.core.errors import ConfigError
from tuning.models import get_model
from tuning.plots import figures as plots
from tuning.runs.runner import create_run

T0 = datetime(2026, 1, 1, 12, 0, 0)


def frozen(number, params, dists, value=None, state=TrialState.COMPLETE, start=None, seconds=1.0,
           metrics=None, curve=None) -> FrozenTrial:  # fmt: skip
    start = T0 + timedelta(seconds=2 * number) if start is None else start
    finished = state.is_finished()
    return FrozenTrial(
        number=number, state=state, value=value if state == TrialState.COMPLETE else None,
        datetime_start=start, datetime_complete=start + timedelta(seconds=seconds) if finished else None,
        params=params, distributions={k: dists[k] for k in params},
        user_attrs={"metrics": metrics} if metrics is not None else {}, system_attrs={},
        intermediate_values=curve or {}, trial_id=number,
    )  # fmt: skip


def study_of(trials, direction="maximize", attrs=None) -> optuna.Study:
    study = optuna.create_study(storage=InMemoryStorage(), direction=direction)
    study.add_trials(trials)
    # As create_run starts a run (its first attribute): read as a Tuning Studio run, not as a
    # study another tool made (tests/engine/test_foreign_studies.py covers those).
    study.set_user_attr("created_at", "2026-01-01T00:00:00+00:00")
    for k, v in (attrs or {}).items():
        study.set_user_attr(k, v)
    return study


def metrics(value, folds=None, train=None, fit=0.5, score=0.1, std=0.01):
    folds = list(folds) if folds is not None else [value - std, value, value + std]
    return {"cv_mean": float(np.mean(folds)), "cv_std": float(np.std(folds)), "fold_scores": folds,
            "train_score": value + 0.01 if train is None else train, "fit_seconds": fit,
            "score_seconds": score, "step": len(folds)}  # fmt: skip


SVM_DISTS = {
    "C": FloatDistribution(1e-3, 1e3, log=True),
    "gamma": FloatDistribution(1e-4, 10.0, log=True),
    "noise_a": FloatDistribution(0.0, 1.0),
    "noise_b": IntDistribution(1, 50),
    "noise_c": CategoricalDistribution(["x", "y", "z"]),
}


@pytest.fixture(scope="module")
def svm_like() -> an.RunData:
    """An SVM-like objective where only C and gamma matter (two dummies, one dummy categorical)."""
    rng = np.random.default_rng(0)
    trials = []
    for i in range(200):
        p = {
            "C": float(10 ** rng.uniform(-3, 3)), "gamma": float(10 ** rng.uniform(-4, 1)),
            "noise_a": float(rng.uniform()), "noise_b": int(rng.integers(1, 51)),
            "noise_c": str(rng.choice(["x", "y", "z"])),
        }  # fmt: skip
        v = 0.95 - 0.03 * (math.log10(p["C"]) - 1) ** 2 - 0.02 * (math.log10(p["gamma"]) + 2) ** 2
        v += rng.normal(0, 0.002)
        trials.append(frozen(i, p, SVM_DISTS, v, metrics=metrics(v)))
    return an.load_run(study_of(trials))


# -- importance -------------------------------------------------------------------------------
def test_ped_anova_ranks_the_parameters_that_matter_first(svm_like):
    imp = an.importance(svm_like, "ped_anova")
    t = imp.table
    assert set(t["param"].head(2)) == {"C", "gamma"}
    assert t["importance"].sum() == pytest.approx(1.0)
    assert (t["low"] <= t["importance"]).all() and (t["importance"] <= t["high"]).all()
    # The second real parameter clearly beats the best dummy across resamples.
    assert t["above_next"].iloc[1] >= 0.9
    assert t["high"].iloc[2:].max() < t["low"].iloc[:2].min()
    assert imp.n_boot == 50 and imp.n_trials == 200


def test_fast_ped_anova_equals_optunas_evaluator(svm_like):
    from optuna.importance import PedAnovaImportanceEvaluator

    study = study_of(svm_like.trials)
    names = list(SVM_DISTS)
    ref = PedAnovaImportanceEvaluator().evaluate(study, params=names)
    ped = param_importance._PedAnova(svm_like.trials, names, study.direction)
    mine = ped.evaluate(np.ones(len(svm_like.trials), dtype=np.int64))
    assert mine == pytest.approx([ref[n] for n in names], rel=1e-12, abs=1e-15)


def test_mdi_and_fanova_rank_the_parameters_that_matter_first(svm_like, monkeypatch):
    mdi = an.importance(svm_like, "mdi", n_boot=3)
    assert set(mdi.table["param"].head(2)) == {"C", "gamma"}
    monkeypatch.setattr(param_importance, "FANOVA_MAX_TRIALS", 60)  # keep the slow evaluator quick
    fan = an.importance(svm_like, "fanova", n_boot=2)
    assert set(fan.table["param"].head(2)) == {"C", "gamma"}
    assert fan.n_trials == 60 and "random 60 of the 200" in fan.note


def known_answer(kind: str, n: int = 200, seed: int = 0) -> an.RunData:
    """Random-search studies whose important parameter is known. numeric: only x matters (y and
    a categorical are noise); categorical: only the kernel k (0.97 vs 0.63 vs 0.65), x is noise;
    conditional (SVM-like): kernel decides most (linear 0.97, rbf 0.63 to 0.88), gamma applies
    under rbf only and decides the rest there, C barely matters."""
    rng = np.random.default_rng(seed)

    def objective(t: optuna.Trial) -> float:
        if kind == "numeric":
            x = t.suggest_float("x", -3, 3)
            t.suggest_float("y", -3, 3)
            t.suggest_categorical("c", ["a", "b", "c"])
            return -(x**2) + rng.normal(0, 0.05)
        if kind == "categorical":
            k = t.suggest_categorical("k", ["linear", "rbf", "poly"])
            t.suggest_float("x", 1e-3, 1e3, log=True)
            return {"linear": 0.97, "rbf": 0.63, "poly": 0.65}[k] + rng.normal(0, 0.01)
        kernel = t.suggest_categorical("kernel", ["linear", "rbf"])
        c = t.suggest_float("C", 1e-3, 1e3, log=True)
        v = (0.97 if kernel == "linear" else 0.63) - 0.02 * abs(math.log10(c)) / 3
        if kernel == "rbf":
            gamma = t.suggest_float("gamma", 1e-4, 10.0, log=True)
            v += 0.25 * math.exp(-((math.log10(gamma) + 2) ** 2))
        return v + rng.normal(0, 0.005)

    study = optuna.create_study(storage=InMemoryStorage(), direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=seed))  # fmt: skip
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=n)
    return an.load_run(study)


KNOWN = {"numeric": "x", "categorical": "k", "conditional": "kernel"}


@pytest.fixture(scope="module")
def known_runs() -> dict[str, an.RunData]:
    return {kind: known_answer(kind) for kind in KNOWN}


@pytest.mark.parametrize("kind", list(KNOWN))
@pytest.mark.parametrize("method", ["mdi", "fanova", "ped_anova"])
def test_every_evaluator_on_known_answers(known_runs, kind, method, monkeypatch):
    """The default (and fANOVA) rank first the parameter that decides the score, numeric,
    categorical or conditional; PED-ANOVA too, except where a narrow best range of C is what
    the top trials share: there it ranks C first, and the pages say that the evaluators
    disagree."""
    monkeypatch.setattr(param_importance, "FANOVA_MAX_TRIALS", 120)  # keep the slow one quick
    run = known_runs[kind]
    imp = an.importance(run, method, n_boot=0 if method == "fanova" else 3)
    shares = imp.shares()
    names = list(shares)
    want = "C" if (method, kind) == ("ped_anova", "conditional") else KNOWN[kind]
    assert names[0] == want, shares
    if method != "ped_anova":
        assert shares[want] > 0.6, shares
    if kind == "conditional" and method != "ped_anova":
        # gamma counts where it applies (it is not left out), and not as a stand-in for kernel.
        assert names[1] == "gamma" and 0.05 < shares["gamma"] < 0.4, shares
        assert "gamma applies only to some trials" in imp.note
    if kind == "numeric":
        assert shares["x"] > 0.9, shares  # its names not swapped with the noise's (MDI)


def test_disagreeing_evaluators_are_named(known_runs):
    for kind in ("numeric", "categorical"):
        assert an.ImportanceCache().disagreement(known_runs[kind]) is None, kind
    cache = an.ImportanceCache()
    run = known_runs["conditional"]
    found = cache.disagreement(run)
    assert found is not None and found.base.method == an.DEFAULT_METHOD
    [(other, pairs)] = found.others
    assert other.method == "ped_anova" and ("kernel", "C") in pairs
    assert "PED-ANOVA ranks C above kernel" in found.short
    assert "Mean decrease impurity ranks kernel above C" in found.text
    assert "top 10%" in found.text  # and why they differ
    # The same numbers the pages show: both results come from the run's one cache.
    assert found.base is cache.get(run) and other is cache.get(run, "ped_anova")
    # The Live monitor's snapshot carries it, for its importance chart.
    snap = an.live.build_snapshot(run, found.base, 0.0, found)
    assert snap.disagreement is found


def test_importance_needs_a_few_trials():
    trials = [frozen(i, {"C": 1.0 + i}, SVM_DISTS, 0.5 + i / 10) for i in range(3)]
    imp = an.importance(an.load_run(study_of(trials)))
    assert not imp.ok and "at least" in imp.note
    with pytest.raises(ConfigError):
        an.importance(an.load_run(study_of(trials)), "shap")


# -- the corrected resampled t-test ------------------------------------------------------------
def test_corrected_ttest_matches_a_hand_computed_example():
    a = [0.80, 0.82, 0.78, 0.81, 0.79]
    b = [0.78, 0.80, 0.77, 0.80, 0.76]
    # d = [.02, .02, .01, .01, .03]: mean .018, sample variance 7e-5, k = 5, n_test/n_train = 1/4
    # t = .018 / sqrt((1/5 + 1/4) * 7e-5) = .018 / sqrt(3.15e-5) = 3.20713...
    t, p, df = an.corrected_ttest(a, b)
    assert df == 4
    assert t == pytest.approx(0.018 / math.sqrt(0.45 * 7e-5), rel=1e-9)
    assert t == pytest.approx(3.20713, abs=1e-5)
    # Student's t with 4 degrees of freedom has a closed-form CDF:
    # F(t) = 1/2 + (3/4) x - (1/4) x^3 with x = t / sqrt(4 + t^2)
    x = t / math.sqrt(4 + t * t)
    cdf = 0.5 + 0.75 * x - 0.25 * x**3
    assert p == pytest.approx(2 * (1 - cdf), rel=1e-9)
    assert 0.02 < p < 0.05
    # Without the correction (n_test/n_train = 0) the test is over-confident by sqrt(0.45/0.2).
    t0, p0, _ = an.corrected_ttest(a, b, test_train_ratio=0.0)
    assert t0 / t == pytest.approx(1.5)
    assert p0 < p


def test_corrected_ttest_degenerate_cases():
    assert an.corrected_ttest([1, 1, 1], [1, 1, 1])[:2] == (0.0, 1.0)
    assert an.corrected_ttest([2, 2, 2], [1, 1, 1])[1] == 0.0
    with pytest.raises(ValueError):
        an.corrected_ttest([1.0], [1.0])


def test_compare_top_flags_the_statistically_indistinguishable():
    d = {"x": FloatDistribution(0, 1)}
    folds = {
        0: [0.90, 0.92, 0.91, 0.93, 0.89],  # the best
        1: [0.90, 0.91, 0.91, 0.92, 0.89],  # as good, within noise
        2: [0.80, 0.81, 0.82, 0.80, 0.81],  # clearly worse on every fold
    }
    trials = [
        frozen(i, {"x": i / 10}, d, float(np.mean(f)), metrics=metrics(0, f))
        for i, f in folds.items()
    ]
    r = an.compare_top(an.load_run(study_of(trials)))
    assert list(r["number"]) == [0, 1, 2]
    assert list(r["same_as_best"]) == [True, True, False]
    assert r["p"].iloc[2] < 0.05 < r["p"].iloc[1]
    assert r["diff"].iloc[2] == pytest.approx(0.102)


# -- diminishing returns and recommendations --------------------------------------------------
def test_plateau_fires_when_the_best_stopped_moving():
    d = {"x": FloatDistribution(0, 1)}
    values = [0.5, 0.7, 0.8, 0.85, 0.9] + [0.88, 0.89, 0.87, 0.901, 0.85] * 3  # 20 trials
    run = an.load_run(study_of([frozen(i, {"x": 0.1}, d, v, metrics=metrics(v, std=0.01))
                                for i, v in enumerate(values)]))  # fmt: skip
    p = an.plateau(run)
    assert p.detected and p.stale_trials == 15 and p.stale_fraction == pytest.approx(0.75)
    assert p.improvement == pytest.approx(0.001) and p.noise == pytest.approx(
        np.std([0.89, 0.9, 0.91])
    )
    # within the noise of the final best since trial 4 (0.90); the last gain at trial 8 (0.901)
    assert "since trial 4: the 15 trials after it (75% of 20) added only 0.001" in p.message
    assert "the last gain came at trial 8" in p.message and "CV noise" in p.message
    assert any(r.kind == "stop" for r in an.recommend(run))


def test_plateau_names_the_late_best_when_it_came_inside_the_noise():
    # the case: within the noise from trial 1 on, but the best itself came at trial 22
    d = {"x": FloatDistribution(0, 1)}
    values = [0.80, 0.899] + [0.895] * 20 + [0.902] + [0.89] * 17  # 40 trials, best at 22
    run = an.load_run(study_of([frozen(i, {"x": 0.1}, d, v, metrics=metrics(v, std=0.01))
                                for i, v in enumerate(values)]))  # fmt: skip
    p = an.plateau(run)
    assert p.detected and p.since_trial == 1 and p.stale_trials == 38
    assert "since trial 1: the 38 trials after it (95% of 40)" in p.message
    assert "the last gain came at trial 22" in p.message


def test_tied_trials_are_listed_once_and_the_rest_counted_as_other_trials():
    d = {"x": FloatDistribution(0, 1)}
    rng = np.random.default_rng(0)
    base = np.array([0.90, 0.92, 0.91, 0.93, 0.89])
    folds = [base] + [base + rng.normal(0, 0.01, 5) - 0.001 for _ in range(11)]
    trials = [
        frozen(i, {"x": i / 20}, d, float(np.mean(f)), metrics=metrics(0, list(f)))
        for i, f in enumerate(folds)
    ]
    run = an.load_run(study_of(trials))
    ranks = an.compare_top(run)
    tied = [int(n) for n in ranks[(ranks["rank"] > 1) & ranks["same_as_best"]]["number"]]
    assert len(tied) > 6  # the case the sentence must count rather than list
    notes = [r.message for r in recommendations.recommend(run) if "indistinguishable" in r.message]
    assert len(notes) == 1
    listed = re.match(r"Trials ([\d, ]+), plus (\d+) other trials, are", notes[0])
    assert listed, notes[0]
    shown = [int(x) for x in listed.group(1).split(", ")]
    assert shown == tied[:6] and len(set(shown)) == 6
    assert int(listed.group(2)) == len(tied) - 6


def test_plateau_silent_while_improving_or_short():
    d = {"x": FloatDistribution(0, 1)}
    rising = an.load_run(study_of([frozen(i, {"x": 0.1}, d, 0.5 + 0.02 * i, metrics=metrics(0.5 + 0.02 * i))
                                   for i in range(20)]))  # fmt: skip
    assert not an.plateau(rising).detected
    short = an.load_run(
        study_of([frozen(i, {"x": 0.1}, d, 0.5, metrics=metrics(0.5)) for i in range(5)])
    )
    assert not an.plateau(short).detected and "Too few" in an.plateau(short).message


FOREST = get_model("random_forest").default_space("classification")
FOREST_DISTS = FOREST.distributions()


def forest_run(n=120, seed=0) -> an.RunData:
    """Only max_depth matters and deeper is better: its top trials crowd the top of its range."""
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n):
        p = {"n_estimators": int(rng.integers(50, 301)), "max_depth": int(rng.integers(5, 31)),
             "min_samples_split": int(rng.integers(2, 21)), "min_samples_leaf": int(rng.integers(1, 11)),
             "max_features": str(rng.choice(["sqrt", "log2"]))}  # fmt: skip
        v = 0.7 + 0.25 * (p["max_depth"] - 5) / 25 + rng.normal(0, 0.002)
        trials.append(frozen(i, p, FOREST_DISTS, v, metrics=metrics(v, std=0.001)))
    cfg = RunConfig(
        dataset=DatasetRef("iris"), model="random_forest", space=FOREST, n_trials=n, cv_folds=3
    )
    return an.load_run(study_of(trials, attrs={"config": cfg.to_dict(), "scoring": "accuracy"}))


def test_recommendations_fire_on_a_constructed_run():
    run = forest_run()
    recs = an.recommend(run)
    by = {(r.kind, r.param): r for r in recs}
    widen = by[("widen", "max_depth")]
    assert (widen.low, widen.high) == (5, 55)
    assert "max_depth sits at the top of its range in" in widen.message
    fixes = [r for r in recs if r.kind == "fix"]
    assert fixes and all(r.param != "max_depth" for r in fixes)
    assert all("max_depth matters most" in r.message for r in fixes)
    assert not any(r.kind == "narrow" for r in recs)

    refined = an.refined_config(run.config, recs)
    assert refined.name is None and refined.n_trials == run.config.n_trials
    assert (refined.space["max_depth"].low, refined.space["max_depth"].high) == (5, 55)
    for r in fixes:
        p = refined.space[r.param]
        assert not p.enabled and p.fixed_value() == r.value
    assert create_run(refined, InMemoryStorage())  # the page can start it as is


def test_recommendations_stay_silent_when_nothing_stands_out():
    d = {"x": FloatDistribution(0, 1), "y": FloatDistribution(0, 1)}
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(40):
        x, y = rng.uniform(0.05, 0.95, 2)
        rows.append((x, y, math.sin(4 * math.pi * x) + math.sin(4 * math.pi * y)))
    rows.sort(key=lambda r: r[2])  # each trial better than the last: the search is still moving
    trials = [frozen(i, {"x": x, "y": y}, d, v, metrics=metrics(v, std=1e-4, train=v + 1e-3))
              for i, (x, y, v) in enumerate(rows)]  # fmt: skip
    run = an.load_run(study_of(trials))
    imp = an.importance(run)
    assert imp.table["importance"].min() > 0.1  # both parameters matter
    assert an.recommend(run, imp) == []


def test_widening_keeps_log_ranges_positive_and_respects_limits():
    d = {"learning_rate": FloatDistribution(0.01, 0.3, log=True), "subsample": FloatDistribution(0.5, 1.0),
         "min_samples_leaf": IntDistribution(1, 30, log=True)}  # fmt: skip
    rng = np.random.default_rng(2)
    trials = []
    for i in range(60):  # smaller learning rates and larger subsamples are better
        p = {"learning_rate": float(10 ** rng.uniform(-2, math.log10(0.3))),
             "subsample": float(rng.uniform(0.5, 1.0)), "min_samples_leaf": int(rng.integers(1, 31))}  # fmt: skip
        v = -3 * (math.log10(p["learning_rate"]) + 2) - 0.5 * (1 - p["subsample"])
        trials.append(frozen(i, p, d, v, metrics=metrics(v, std=1e-3)))
    recs = {(r.kind, r.param): r for r in an.recommend(an.load_run(study_of(trials)))}
    lr = recs[("widen", "learning_rate")]
    assert 0 < lr.low < 0.01 and lr.high == 0.3
    assert lr.low == pytest.approx(0.01 / 30, rel=1e-3)  # one range-width on the log scale
    assert ("widen", "subsample") not in recs  # already at 1.0, a fraction's limit
    assert not [k for k in recs if k[1] == "min_samples_leaf" and k[0] != "fix"]

    info = an.ParamInfo
    assert recommendations._widened(info("subsample", "float", 0.5, 1.0), "high") == (0.5, 1.0)
    assert recommendations._widened(info("dropout", "float", 0.0, 0.5), "high") == (0.0, 0.9)
    assert recommendations._widened(info("max_depth", "int", 5, 30), "low") == (1, 30)
    assert recommendations._widened(info("min_samples_split", "int", 2, 20), "low") == (2, 20)
    assert recommendations._widened(info("C", "float", 1e-3, 1e3, log=True), "high") == (
        1e-3,
        1e5,
    )  # x100 at most
    assert recommendations._widened(info("width", "int", 16, 512, log=True), "low") == (1, 512)

    cfg = RunConfig(dataset=DatasetRef("iris"), model="gradient_boosting", n_trials=10,
                    space=get_model("gradient_boosting").default_space("classification"))  # fmt: skip
    new = an.refined_config(cfg, [lr]).space["learning_rate"]
    assert new.log and 0 < new.low < 0.01


def test_refined_config_narrow_and_errors():
    cfg = RunConfig(dataset=DatasetRef("iris"), model="random_forest", space=FOREST)
    narrow = an.Recommendation("narrow", "", param="n_estimators", low=100, high=200)
    fix = an.Recommendation("fix", "", param="max_features", value="log2")
    stop = an.Recommendation("stop", "stop here")
    new = an.refined_config(cfg, [narrow, fix, stop], name="refined", n_trials=20)
    assert (new.space["n_estimators"].low, new.space["n_estimators"].high) == (100, 200)
    assert (
        new.space["max_features"].fixed_value() == "log2" and not new.space["max_features"].enabled
    )
    assert new.name == "refined" and new.n_trials == 20
    with pytest.raises(ConfigError):
        an.refined_config(cfg, [an.Recommendation("fix", "", param="nope", value=1)])


# -- efficiency, timeline, curves ---------------------------------------------------------------
def test_efficiency_splits_the_wall_time():
    d = {"x": FloatDistribution(0, 1)}
    trials = [
        frozen(i, {"x": 0.1 * i}, d, 0.5 + 0.1 * i, start=T0 + timedelta(seconds=3 * i), seconds=2.0,
               metrics=metrics(0.5 + 0.1 * i, fit=1.0, score=0.5))
        for i in range(3)
    ]  # fmt: skip
    run = an.load_run(study_of(trials, attrs={"elapsed_s": 9.0}))
    eff = an.efficiency(run)
    parts = dict(zip(eff.breakdown["part"], eff.breakdown["seconds"], strict=True))
    assert parts == pytest.approx({"fit": 3.0, "score": 1.5, "in_trial": 1.5, "between": 3.0})
    assert eff.useful_fraction == pytest.approx(4.5 / 9.0) and eff.workers == 1
    assert list(eff.curve["compute_s"]) == pytest.approx([2.0, 4.0, 6.0])
    assert list(eff.curve["best"]) == pytest.approx([0.5, 0.6, 0.7])
    tl = an.timeline(run)
    assert list(tl["start_s"]) == [0.0, 3.0, 6.0] and list(tl["duration_s"]) == [2.0, 2.0, 2.0]


def test_parallel_workers_are_counted():
    d = {"x": FloatDistribution(0, 1)}
    trials = [
        frozen(i, {"x": 0.1}, d, 0.5, start=T0, seconds=4.0, metrics=metrics(0.5)) for i in range(3)
    ]
    assert an.efficiency(an.load_run(study_of(trials))).workers == 3


def test_learning_curves_keep_the_best_and_sample_the_rest():
    d = {"x": FloatDistribution(0, 1)}
    trials = []
    for i in range(100):
        v = i / 100
        state = TrialState.COMPLETE if i % 3 else TrialState.PRUNED
        trials.append(frozen(i, {"x": v}, d, v, state=state, metrics=metrics(v),
                             curve={1: v / 3, 2: v / 2, 3: v}))  # fmt: skip
    run = an.load_run(study_of(trials))
    c = an.learning_curves(run, max_trials=30, top=10)
    assert c["number"].nunique() == 30
    assert set(run.ranked()["number"].head(10)) <= set(c["number"])
    assert set(c["state"]) == {"complete", "pruned"}


# -- figures ----------------------------------------------------------------------------------
def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def test_every_figure_builds_and_escapes_hostile_names():
    hostile = "<img src=x onerror=alert(1)>"
    d = {hostile: FloatDistribution(1e-3, 1.0, log=True), "k": CategoricalDistribution(["<b>a</b>", "b"]),
         "n": IntDistribution(1, 5)}  # fmt: skip
    rng = np.random.default_rng(3)
    trials = []
    states = (
        [TrialState.COMPLETE] * 25
        + [TrialState.PRUNED] * 3
        + [TrialState.FAIL] * 2
        + [TrialState.RUNNING]
    )
    for i, state in enumerate(states):
        p = {hostile: float(10 ** rng.uniform(-3, 0)), "k": str(rng.choice(["<b>a</b>", "b"])),
             "n": int(rng.integers(1, 6))}  # fmt: skip
        v = float(rng.uniform(0, 1))
        trials.append(frozen(i, p, d, v, state=state, metrics=metrics(v), curve={1: v / 2, 2: v}))
    run = an.load_run(study_of(trials, direction="minimize", attrs={"scoring": "neg_log_loss"}))
    assert run.score_title == "CV log loss (lower is better)"
    figs = plots.analysis_figures(run)
    assert set(figs) == set(plots.FIGURES)
    for name, fig in figs.items():
        assert isinstance(fig, go.Figure)
        payload = json.loads(fig.to_json())
        assert not [s for s in _strings(payload) if "<img" in s or "<b>a" in s], name
        assert fig.layout.title.text, name
    assert "lower is better" in figs["slices"].layout.yaxis.title.text
    tl_states = {t.name.split(" ")[0] for t in figs["timeline"].data}
    assert tl_states == {"complete", "pruned", "failed", "running"}
    colors = {t.name.split(" ")[0]: t.line.color for t in figs["timeline"].data}
    assert colors["failed"] == plots.STATE_COLORS["failed"] == "#d62728"


def test_figures_of_an_empty_run():
    run = an.load_run(study_of([]))
    for name, fig in plots.analysis_figures(run).items():
        assert isinstance(fig, go.Figure), name
    assert an.recommend(run) == [] and not an.plateau(run).detected


def test_contour_is_binned_and_small_at_2000_trials(svm_like):
    rng = np.random.default_rng(4)
    base = svm_like.trials
    trials = [frozen(i, dict(base[i % 200].params, noise_a=float(rng.uniform())), SVM_DISTS,
                     base[i % 200].value, metrics=metrics(base[i % 200].value)) for i in range(2000)]  # fmt: skip
    run = an.load_run(study_of(trials))
    grid = an.contour_grid(run, "C", "gamma", bins=30)
    assert grid.z.shape == (30, 30) and grid.count.sum() == 2000
    assert np.allclose(np.log10(grid.x_edges[[0, -1]]), [-3, 3])  # log-spaced bins
    assert np.nanmax(grid.z) == pytest.approx(max(t.value for t in trials))
    fig = plots.contour_figure(grid, run)
    assert len(fig.to_json()) < 2_000_000
    slices = plots.slice_figure(run)
    drawn = sum(len(t.x) for t in slices.data)
    assert drawn <= 5 * (2000 + 1) and len(slices.to_json()) < 2_000_000  # + the best, per panel
    mean = an.contour_grid(run, "noise_c", "C", bins=10, agg="mean")
    assert mean.z.shape == (10, 3) and mean.x_labels == ["x", "y", "z"]


def test_sample_rows_keeps_the_best_deterministically():
    import pandas as pd

    df = pd.DataFrame(
        {"number": range(10_000), "value": np.random.default_rng(5).uniform(size=10_000)}
    )
    a = an.sample_rows(df, 2000, df["value"].to_numpy())
    b = an.sample_rows(df, 2000, df["value"].to_numpy())
    assert len(a) == 2000 and a.equals(b)
    assert set(df.nlargest(500, "value")["number"]) <= set(a["number"])


# -- one best-so-far, one curve selection, one importance cache ------------------------------
def test_best_so_far_is_carried_over_trials_that_did_not_complete():
    d = {"x": FloatDistribution(0, 1)}
    states = [TrialState.PRUNED, TrialState.COMPLETE, TrialState.PRUNED, TrialState.COMPLETE,
              TrialState.FAIL, TrialState.COMPLETE]  # fmt: skip
    values = [0.9, 0.5, 0.99, 0.7, None, 0.6]
    trials = [frozen(i, {"x": 0.1}, d, v, state=s, metrics=metrics(v or 0.0))
              for i, (s, v) in enumerate(zip(states, values, strict=True))]  # fmt: skip
    run = an.load_run(study_of(trials))
    best = run.frame["best_so_far"].tolist()
    assert math.isnan(best[0]) and best[1:] == [0.5, 0.5, 0.7, 0.7, 0.7]  # pruned 0.99: no best
    by_end = an.best_by_end(run.frame, run.direction)
    assert by_end["number"].tolist() == list(range(6))
    assert by_end["end_s"].tolist() == [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    assert by_end["best"].tolist()[1:] == [0.5, 0.5, 0.7, 0.7, 0.7]


def test_curve_selection_for_the_live_monitor_keeps_the_best_and_the_newest():
    d = {"x": FloatDistribution(0, 1)}
    trials = [frozen(i, {"x": 0.5}, d, v, metrics=metrics(v), curve={1: v / 2, 2: v})
              for i, v in enumerate(np.linspace(1.0, 0.0, 50))]  # fmt: skip
    run = an.load_run(study_of(trials))
    curves = an.select_curves(run, top=5, recent=5)
    assert [c.number for c in curves] == [0, 1, 2, 3, 4, 45, 46, 47, 48, 49]
    assert [c.rank for c in curves[:5]] == [1, 2, 3, 4, 5] and curves[-1].rank == 50
    assert curves[0].steps == [1, 2] and curves[0].values == [0.5, 1.0]
    assert run.step_label == "CV folds completed"


def test_one_importance_cache_recomputes_by_one_rule(monkeypatch):
    d = {"a": FloatDistribution(0, 1), "b": FloatDistribution(0, 1)}
    rng = np.random.default_rng(6)

    def run_of(n, status):
        trials = []
        for i in range(n):
            p = {"a": float(rng.uniform()), "b": float(rng.uniform())}
            trials.append(frozen(i, p, d, p["a"], metrics=metrics(p["a"])))
        return an.load_run(study_of(trials, attrs={"status": status}))

    cache = an.ImportanceCache()
    m = "ped_anova"  # the rule is the same for every method; this one is quick
    first = cache.get(run_of(100, "running"), m, now=0.0)
    assert first.ok and first.n_complete == 100 and first.n_boot == 50
    assert first.table["param"].iloc[0] == "a"
    assert cache.get(run_of(100, "running"), m, now=1.0) is first  # same count: kept
    assert not cache.due(run_of(105, "running"), m, now=1.0)  # working, +5%, fresh: kept
    assert cache.get(run_of(105, "running"), m, now=1.0) is first
    late = param_importance.REFRESH_S[m] + 1.0
    assert cache.due(run_of(105, "running"), m, now=late)  # stale
    assert cache.get(run_of(111, "running"), m, now=2.0).n_complete == 111  # grew by 10%
    finished = cache.get(run_of(112, "finished"), m, now=3.0)  # ended: every count is current
    assert finished.n_complete == 112 and cache.get(run_of(112, "finished"), m) is finished
    assert cache.get(run_of(112, "finished"), "mdi").method == "mdi"  # one entry per method
    assert cache.get(run_of(112, "finished"), m) is finished
    assert cache.get(run_of(112, "finished")).method == an.DEFAULT_METHOD == "mdi"


# -- partial trials are never scores ------------------------------------------------------------
def _figure_ys(fig) -> list[float]:
    """Every y of every trace (and every parallel-coordinates value), as floats."""
    out: list[float] = []
    for t in fig.data:
        if t.type == "parcoords":
            out += [float(v) for d in t.dimensions for v in d["values"]]
        elif getattr(t, "y", None) is not None:
            out += [float(v) for v in t.y if v is not None and not isinstance(v, str)]
    return out


@pytest.fixture(scope="module")
def stopped_mid_trial() -> optuna.Study:
    """Complete trials up to 0.80; a pruned and a stopped trial whose running means after two
    folds (0.97, 0.99) are above the real best."""
    d = {"x": FloatDistribution(0, 1)}
    trials = [frozen(i, {"x": v}, d, v, metrics=metrics(v), curve={1: v, 2: v, 3: v})
              for i, v in enumerate([0.6, 0.8, 0.7, 0.75, 0.65, 0.72])]  # fmt: skip
    pruned = dict(metrics(0.97, folds=[0.97, 0.97]), pruned_step=2)
    stopped = dict(metrics(0.99, folds=[0.99, 0.99]), fail_reason="stopped by user")
    trials.append(frozen(6, {"x": 0.3}, d, state=TrialState.PRUNED, metrics=pruned,
                         curve={1: 0.97, 2: 0.97}))  # fmt: skip
    trials.append(frozen(7, {"x": 0.9}, d, state=TrialState.FAIL, metrics=stopped,
                         curve={1: 0.99, 2: 0.99}))  # fmt: skip
    return study_of(trials, attrs={"scoring": "accuracy"})


def test_a_partial_trials_running_mean_is_never_a_score(stopped_mid_trial):
    run = an.load_run(stopped_mid_trial)
    assert an.scored(run.frame).tolist() == [True] * 6 + [False, False]
    assert run.frame["value"].iloc[6:].isna().all()  # no view can read it as a score
    assert run.frame["partial_value"].iloc[6:].tolist() == [0.97, 0.99]
    assert int(run.best["number"]) == 1 and run.frame["best_so_far"].max() == 0.8
    assert run.n_complete == 6 and set(run.ranked()["number"]) == set(range(6))
    assert an.best_by_end(run.frame, run.direction)["best"].max() == 0.8
    assert an.score_ecdf(run)["value"].max() == 0.8
    assert an.compare_top(run)["value"].max() == 0.8
    figs = plots.analysis_figures(run)
    for name in ("history", "slices", "parallel", "top_configs", "overfitting", "efficiency"):
        ys = [y for y in _figure_ys(figs[name]) if y <= 1.0]  # scores, not trial numbers
        assert ys and max(ys) <= 0.81, name  # 0.81: the best trial's train score
    assert max(figs["distribution"].data[0].x) == 0.8
    # Learning curves may show partial trials, as curves (not as a score on the best's line).
    curves = figs["learning_curves"]
    assert {t.name.split(" ")[0] for t in curves.data} >= {"pruned", "stopped"}


def test_the_report_never_shows_a_partial_mean_as_a_score(stopped_mid_trial):
    from tuning.report import html as report

    data = report.build_report(stopped_mid_trial, figures=False)
    assert data.run.best["value"] == 0.8
    md = report.report_markdown(data)
    assert "0.99" not in md and "0.97" not in md


def _contrast_on_white(hex_color: str) -> float:
    """WCAG contrast ratio of a colour against white."""
    c = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 1.05 / (0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2] + 0.05)


def _round_number(text: str) -> bool:
    """1, 2.5, 10, 250, 0.001: at most two significant digits (31.62 and 0.001778 are not)."""
    digits = f"{abs(float(text)):.6e}".split("e")[0].replace(".", "").rstrip("0")
    return len(digits) <= 2


def _readable_run(n=40):
    d = {"C": FloatDistribution(1e-3, 1e3, log=True), "lr": FloatDistribution(1e-4, 0.1, log=True),
         "depth": IntDistribution(1, 5), "leaves": IntDistribution(2, 50),
         "kernel": CategoricalDistribution(["linear", "rbf"])}  # fmt: skip
    rng = np.random.default_rng(8)
    trials = []
    for i in range(n):
        p = {"C": float(10 ** rng.uniform(-3, 3)), "lr": float(10 ** rng.uniform(-4, -1)),
             "depth": int(rng.integers(1, 6)), "leaves": int(rng.integers(2, 51)),
             "kernel": str(rng.choice(["linear", "rbf"]))}  # fmt: skip
        v = 0.99 - i / 100 if i < 3 else float(rng.uniform(0.5, 0.9))  # the best trial is early
        trials.append(frozen(i, p, d, v, metrics=metrics(v)))
    return an.load_run(study_of(trials))


def test_slices_read_the_same_on_every_panel():
    run = _readable_run()
    fig = plots.slice_figure(run)
    layout = fig.to_plotly_json()["layout"]
    # every row's score axis has the score's own title (one said "score")
    titles = {v["title"]["text"] for k, v in layout.items() if k.startswith("yaxis") and "title" in v}
    assert titles == {run.score_title}
    # integer parameters: whole-number ticks only (no 2.5 on depth 1..5)
    for name in ("depth", "leaves"):
        i = run.param_names.index(name) if name in run.param_names else None
        axis = next(v for k, v in layout.items() if k.startswith("xaxis")
                    and v.get("title", {}).get("text") == name)  # fmt: skip
        assert axis["tickvals"] and all(float(t).is_integer() for t in axis["tickvals"]), (name, i)
    # the first trials are drawn in a colour that shows on white, and the best trial is marked
    trials = [t for t in fig.data if t.marker.colorscale]
    first_colour = trials[0].marker.colorscale[0][1]
    assert _contrast_on_white(first_colour) >= 3.0
    best = [t for t in fig.data if t.name and t.name.startswith("best trial")]
    assert len(best) == 5 and all(t.marker.color == plots.BEST_COLOR for t in best)
    assert best[0].y[0] == pytest.approx(0.99)


def test_parallel_coordinates_tick_at_round_numbers():
    run = _readable_run()
    fig = plots.parallel_figure(run)
    for dim in fig.data[0].dimensions[:-1]:
        if dim.label == "kernel":
            continue
        texts = [t for t in dim.ticktext if t != "(inactive)"]
        assert len(texts) >= 2 and all(_round_number(t) for t in texts), (dim.label, texts)
        if dim.label.startswith("depth"):
            assert texts == ["1", "2", "3", "4", "5"]
    c = next(d for d in fig.data[0].dimensions if d.label.startswith("C"))
    assert list(c.ticktext) == ["0.001", "0.01", "0.1", "1", "10", "100", "1000"]
    assert list(c.tickvals) == pytest.approx([-3, -2, -1, 0, 1, 2, 3])


def test_nice_ticks():
    assert plots.nice_ticks(1e-4, 0.1, log=True) == [1e-4, 1e-3, 1e-2, 0.1]
    assert plots.nice_ticks(0.01, 0.5, log=True) == [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
    assert plots.nice_ticks(1, 4, integer=True) == [1, 2, 3, 4]
    assert plots.nice_ticks(50, 300, integer=True) == [50, 100, 150, 200, 250, 300]
    assert plots.nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_timeline_has_a_legend_entry_per_state_even_for_one_state():
    run = _readable_run(10)  # all complete: one trace, which Plotly would draw without a legend
    fig = plots.timeline_figure(run)
    assert [t.showlegend for t in fig.data] == [True]
    assert fig.data[0].name.startswith("complete")


def _conditional_study():
    """An SVM-like study where gamma applies only to the rbf kernel."""
    d = {"kernel": CategoricalDistribution(["linear", "rbf"]), "C": FloatDistribution(0.1, 20),
         "gamma": FloatDistribution(1e-3, 1.0, log=True)}  # fmt: skip
    trials = []
    for i in range(12):
        p = {"kernel": "linear", "C": 1.0 + i} if i % 2 == 0 else {"kernel": "rbf", "C": 1.0,
                                                                    "gamma": 0.01 * i}  # fmt: skip
        v = 0.97 if i % 2 == 0 else 0.6 + i / 100
        trials.append(frozen(i, p, {k: d[k] for k in p}, v, metrics=metrics(v)))
    return study_of(trials)


def test_a_parameter_that_does_not_apply_reads_a_dash():
    assert an.param_cell(float("nan")) == an.NOT_APPLICABLE == "—"
    assert an.param_cell(None) == "None"  # a real choice (max_depth=None), not a missing value
    assert an.param_cell(0.5) == "0.5" and an.param_cell("rbf") == "rbf"


def test_report_tables_say_dash_where_a_parameter_does_not_apply():
    from tuning.report import html as report

    data = report.build_report(_conditional_study(), figures=False)
    html = report.report_html(data)
    md = report.report_markdown(data)
    rows = re.findall(r"<tr>(<td.*?)</tr>", html)
    linear = [r for r in rows if "<td>linear</td>" in r and r.startswith('<td class="num">')]
    assert linear and all("<td>—</td>" in r for r in linear)
    assert ">nan<" not in html and "<td></td>" not in html
    md_linear = [line for line in md.splitlines() if "| linear |" in line and line[2].isdigit()]
    assert md_linear and all("| — |" in line for line in md_linear) and "nan" not in md



def test_a_plateau_whose_best_came_first_says_the_trials_after_it_added_nothing():
    d = {"x": FloatDistribution(0, 1)}
    values = [0.9] + [0.8] * 9  # the best at once, nothing after it
    run = an.load_run(study_of([frozen(i, {"x": 0.1}, d, v, metrics=metrics(v, std=0.01))
                                for i, v in enumerate(values)]))  # fmt: skip
    p = an.plateau(run)
    assert p.detected and "since trial 0: the 9 trials after it (90% of 10) added nothing." in (
        p.message)  # fmt: skip
    assert "added only" not in p.message
