"""Did tuning pay off, and what did the budget buy? The gain headline as the pages state it
(tuning/analysis/payoff.py), pooled over an experiment's seeds, and the tuning efficiency
(tuning/analysis/efficiency.py), on cases whose answer is known: hand-made best-so-far curves,
hand-computed pooled intervals, and tiny real runs (iris, 3 folds).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import make_config
from scipy import stats

from tuning import analysis as an
from tuning.analysis.efficiency import efficiency_message
from tuning.analysis.payoff import PROVISIONAL, pooled_gain
from tuning.core.config import DatasetRef, RunConfig
from tuning.core.enums import RunStatus
from tuning.core.space import SearchSpace, int_param
from tuning.report.export import trials_csv
from tuning.runs import experiments as ex
from tuning.runs.runner import create_run, execute
from tuning.store.results import run_summary
from tuning.store.runs import load_study
from tuning.store.trials import LIBRARY_DEFAULTS


def _run(storage, config):
    name = create_run(config, storage)
    execute(name, storage)
    return name, an.load_run(load_study(name, storage))


# -- efficiency on hand-made curves ---------------------------------------------------------------
def test_efficiency_of_a_known_curve():
    # 10 finished trials, 12 s apart, the last one at 120 s; from a reference of 0.80 the best
    # reaches 0.89 (90 % of the final gain 0.10) at the 3rd trial and 0.90 at the 5th.
    best = [0.80, 0.85, 0.89, 0.89, 0.90, 0.90, 0.90, 0.90, 0.90, 0.90]
    ends = [10, 20, 30, 40, 50, 60, 70, 80, 90, 120]
    f = an.efficiency_of(pd.DataFrame({"end_s": ends, "best": best}), 0.80, 1.0)
    eff = an.TuningEfficiency("the library defaults", 0.80, f.pop("gain"), **f)
    assert eff.gain == pytest.approx(0.10)
    assert eff.per_trial == pytest.approx(0.01) and eff.per_minute == pytest.approx(0.05)
    assert (eff.trials_to_90, eff.trials_to_best) == (3, 5)
    assert (eff.seconds_to_90, eff.seconds_to_best) == (30, 50)
    assert eff.last_trials_share == pytest.approx(0.7)  # trials 4-10 bought the last 10 %
    assert eff.last_time_share == pytest.approx(0.75)  # 90 of the 120 s
    text = efficiency_message(eff, "accuracy")
    assert "90 % of the gain came within 3 trials" in text
    assert "70 % of the trials and 75 % of the time" in text
    assert "the 5 trials after the final best added nothing" in text


def test_small_rates_are_written_as_decimals_not_exponents():
    # A gain of 0.0022 over 60 trials: 0.000037 per trial (it read "3.7e-05")
    best = [0.9802] * 30 + [0.9824] * 30
    f = an.efficiency_of(pd.DataFrame({"end_s": np.arange(1, 61), "best": best}), 0.9802, 1.0)
    eff = an.TuningEfficiency("the library defaults", 0.9802, f.pop("gain"), **f)
    text = efficiency_message(eff, "accuracy")
    assert "0.000037 per trial" in text and "e-0" not in text
    assert [an.decimal(x, sign=True) for x in (0.012, -0.00044, 1.5)] == ["+0.012", "-0.00044", "+1.5"]


def test_efficiency_of_an_error_and_of_no_gain():
    # Lower is better: from 10 to 6; the first trial failed (no best yet).
    curve = pd.DataFrame({"end_s": [5, 10, 15, 20], "best": [np.nan, 9.0, 6.4, 6.0]})
    f = an.efficiency_of(curve, 10.0, -1.0)
    assert f["gain"] == pytest.approx(4.0) and f["per_trial"] == pytest.approx(1.0)
    assert f["trials_to_90"] == 3 and f["trials_to_best"] == 4  # 3.6 of 4 at 6.4
    # Nothing better than the reference: a gain of 0 and no share of it to place.
    flat = an.efficiency_of(pd.DataFrame({"end_s": [1, 2], "best": [0.5, 0.5]}), 0.5, 1.0)
    assert flat["gain"] == 0 and "trials_to_90" not in flat
    eff = an.TuningEfficiency("the first trial", 0.5, flat.pop("gain"), **flat)
    assert "gained nothing" in efficiency_message(eff, "accuracy")


def test_tuning_efficiency_of_a_run_against_its_defaults_or_its_first_trial(storage):
    _, run = _run(storage, make_config("knn", "random", n_trials=5))
    eff = an.tuning_efficiency(run)
    defaults = an.defaults_score(run)
    assert eff.reference == "the library defaults"
    assert eff.reference_score == pytest.approx(defaults.mean)
    assert eff.gain == pytest.approx(float(run.best["value"]) - defaults.mean)
    assert eff.trials == 5 and "over the library defaults" in eff.message
    _, run = _run(storage, make_config("knn", "random", n_trials=4, defaults_baseline=False))
    eff = an.tuning_efficiency(run)
    assert eff.reference == "the first trial"
    assert eff.reference_score == pytest.approx(float(run.frame["value"].iloc[0]))


# -- the headline ----------------------------------------------------------------------------------
def test_the_headline_says_provisional_while_the_run_works(storage):
    name, run = _run(storage, make_config("knn", "random", n_trials=4))
    done = an.payoff(run)
    assert not done.provisional and done.headline[0].isupper()
    # Each held-out accuracy with its 95 % Wilson interval on the held-out rows, and how many
    # rows the two are apart
    t, g = run.record.test, done.gain
    n = t.n_test
    (bl, bh), (dl, dh) = ex.wilson_interval(g.test_best, n), ex.wilson_interval(g.test_defaults, n)
    assert done.test_line.startswith(
        f"Held-out test accuracy (each refit on the same {t.n_train} training rows, scored once "
        f"on {n} held-out rows): tuned {g.test_best:.3f} (95 % {bl:.3f}–{bh:.3f}), defaults "
        f"{g.test_defaults:.3f} ({dl:.3f}–{dh:.3f}): ")
    apart = abs(round(g.test_best * n) - round(g.test_defaults * n))
    assert (f"{apart} of {n} rows apart" in done.test_line) == (apart > 0)

    def held_out(best, defaults, n, scoring="accuracy"):
        r = run.record
        record = replace(r, scoring=scoring, test=replace(r.test, score=best, n_test=n),
                         defaults_test=replace(r.defaults_test, score=defaults))  # fmt: skip
        return an.payoff(replace(run, record=record)).test_line

    # 95 of 100 against 70 of 100: the Wilson intervals (0.888-0.978, 0.604-0.781) part
    assert held_out(0.95, 0.70, 100).endswith(
        "tuned 0.950 (95 % 0.888–0.978), defaults 0.700 (0.604–0.781): 25 of 100 rows apart, "
        "beyond one split's noise (the intervals part).")
    assert held_out(0.95, 0.95, 100).endswith(": as many rows right.")
    assert held_out(-0.31, -0.35, 100, "neg_log_loss").endswith(
        ", on one split, with no interval for this score.")
    working = replace(run, record=replace(run.record, status=RunStatus.RUNNING))
    live = an.payoff(working)
    assert live.provisional and live.headline.startswith(PROVISIONAL)
    assert live.short.endswith(" so far") and live.test_line is None
    # The listing (Home) states the same from its one pass over the trials.
    listed = an.listed_payoff(run_summary(storage, name))
    assert listed.headline == done.headline and listed.short == done.short


def test_the_headline_says_where_defaults_outside_the_space_were_scored(storage):
    _, run = _run(storage, make_config("svm", "random", n_trials=3))
    p = an.payoff(run)
    assert p.gain is not None and p.gain.defaults_trial is None
    assert "The library defaults were scored beside the trials, on the same folds" in p.headline
    assert "gamma = 'scale' is outside" in p.headline


def test_defaults_ahead_within_the_noise_are_said_to_be_ahead(storage):
    """k-NN on iris held at 30 neighbours scores 0.883 against the defaults' (5) 0.908: inside
    the noise, but "did not beat the defaults beyond noise" alone hid who was ahead."""
    space = SearchSpace((int_param("n_neighbors", 30, 30),)).validate()
    config = make_config("knn", "random", space=space, n_trials=1, cv_folds=3,
                         dataset=DatasetRef("iris"))  # fmt: skip
    _, run = _run(storage, config)
    p = an.payoff(run)
    assert p.gain.within_noise and p.gain.gain < 0 and p.short == "−0.025 (±0.098), within noise"
    assert p.headline.startswith(
        "Tuning did not beat the defaults, which scored better than the best trial by less "
        "than fold-to-fold noise: best CV accuracy 0.883 ± 0.051 against the defaults' "
        "0.908 ± 0.042 (−0.025, 95 % interval −0.123 to +0.073 over the same 3 folds).")


def test_a_run_without_baseline_says_so_and_makes_none_up(storage):
    _, run = _run(storage, make_config("knn", "random", n_trials=3, defaults_baseline=False))
    p = an.payoff(run)
    assert p.gain is None and p.verdict == "none" and p.short == "no baseline"
    assert "baseline switched off" in p.headline


def test_the_compact_cell_never_shows_a_gain_inside_the_noise_without_saying_so():
    def gain(low, high):
        g = an.Gain("accuracy", "maximize", 3, 0.9, 0.01, 0.88, 0.01, 0, (low + high) / 2,
                    low, high, 5, low <= 0 <= high, "s")  # fmt: skip
        return an.Payoff(g, None, False)

    assert gain(-0.004, 0.012).short == "+0.004 (±0.008), within noise"
    assert gain(-0.01, 0.01).short == "0.000 (±0.010), within noise"  # not "±0.000 (±0.010)"
    assert gain(0.004, 0.012).short == "+0.008 (±0.004)"
    assert gain(-0.03, -0.01).short == "defaults better: −0.020 (±0.010)"


def test_a_best_that_scores_what_the_defaults_score_on_every_fold_is_a_tie_not_noise(storage):
    """k-NN's grid on iris: trial 11 (7 neighbours, distance weights, Manhattan) is right on
    the same rows as the defaults in each of the 5 folds; "within noise (±0.000)" said
    nothing true."""
    from tuning.models import get_model

    space = get_model("knn").default_space("classification")
    config = make_config("knn", "grid", space=space, n_trials=20, cv_folds=5, grid_points=5,
                         dataset=DatasetRef("iris"))  # fmt: skip
    _, run = _run(storage, config)
    p = an.payoff(run)
    g = p.gain
    assert g.best_folds == g.defaults_folds and not g.defaults_are_best and g.ties_defaults
    assert (g.low, g.high) == (0, 0) and p.verdict == "defaults_best"
    assert p.short == "ties the defaults"
    assert p.headline.startswith(
        f"Tuning did not beat the defaults: the best trial ({g.best_trial}) scores what the "
        "library defaults score on each of the 5 folds, CV accuracy 0.958 ± 0.026.")
    m = pooled_gain("grid", [g, g])
    assert m.cell(3) == "ties the defaults"


# -- an experiment: the gain pooled over seeds ----------------------------------------------------
def _gain(best, defaults):
    b, a = np.asarray(best, float), np.asarray(defaults, float)
    d = b - a
    return an.Gain("accuracy", "maximize", 1, b.mean(), b.std(), a.mean(), a.std(), 0,
                   d.mean(), 0, 0, len(b), False, "", best_folds=tuple(b),
                   defaults_folds=tuple(a))  # fmt: skip


def test_the_pooled_gain_is_the_corrected_repeated_cv_interval():
    seeds = [_gain([0.90, 0.92, 0.91], [0.88, 0.89, 0.90]),
             _gain([0.93, 0.90, 0.92], [0.90, 0.90, 0.89])]  # fmt: skip
    m = pooled_gain("tpe", seeds)
    d = np.array([0.02, 0.03, 0.01, 0.03, 0.00, 0.03])
    # Bouckaert & Frank: n = 6 differences of 3-fold CV, var factor 1/6 + 1/2, t with 5 dof.
    half = stats.t.ppf(0.975, 5) * math.sqrt((1 / 6 + 1 / 2) * d.var(ddof=1))
    assert (m.seeds, m.n) == (2, 6) and m.gain == pytest.approx(d.mean())
    assert (m.low, m.high) == pytest.approx((d.mean() - half, d.mean() + half))
    # 0.020 ± 0.027: six fold differences from 0.00 to 0.03 do not clear the noise
    assert m.within_noise and m.cell(3) == f"+0.020 (±{half:.3f}), within noise"
    clear = pooled_gain("tpe", [_gain([0.93, 0.94, 0.95], [0.90, 0.90, 0.91])] * 2)
    assert not clear.within_noise and clear.low > 0 and clear.cell(3).startswith("+0.037 (±")


def test_an_experiment_states_the_defaults_once_and_each_methods_pooled_gain(storage):
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=4, cv_folds=3)
    name = ex.create_experiment(ex.ExperimentConfig(base, ("random", "tpe"), (0, 1)), storage)
    ex.run_experiment(name, storage)
    p = an.experiment_payoff(ex.get_experiment(name, storage), storage)
    assert [m.method for m in p.methods] == ["random", "tpe"]
    assert all((m.seeds, m.n) == (2, 6) for m in p.methods)
    assert p.defaults.startswith("The library defaults: CV accuracy ")
    assert "same baseline for every method" in p.defaults
    assert "interval of the gain" in p.sentence


def test_the_experiments_sentence_names_what_each_method_did_not_beat():
    from tuning.analysis.payoff import MethodGain, experiment_sentence

    noise = MethodGain("grid", 1, 5, 0.005, -0.03, 0.04)
    beat = MethodGain("tpe", 1, 5, 0.05, 0.01, 0.09)
    assert experiment_sentence([noise], 3, 0.95).startswith(
        "Grid search did not beat the library defaults beyond fold-to-fold noise (95 %")
    assert experiment_sentence([beat, noise], 3, 0.95).startswith(
        "Bayesian (TPE) beat the library defaults beyond noise; Grid search did not beat them "
        "beyond fold-to-fold noise")


# -- the library defaults in the trials CSV -------------------------------------------------------
def test_the_trials_csv_marks_the_library_defaults(storage):
    _, run = _run(storage, make_config("knn", "random", n_trials=3))
    rows = list(csv.DictReader(io.StringIO(trials_csv(run))))
    assert rows[0]["origin"] == "Queued: the library defaults."
    assert rows[0]["origin_kind"] == LIBRARY_DEFAULTS
    assert all("library defaults" not in r["origin"] for r in rows[1:])


def test_the_trials_chart_hover_marks_the_library_defaults():
    from tuning.plots.live import hover_texts

    df = pd.DataFrame({"number": [0, 1], "state": ["complete", "complete"],
                       "origin_text": ["Queued: the library defaults.", None],
                       "param_k": [5, 3]})  # fmt: skip
    assert hover_texts(df) == ["trial 0<br>k=5<br>Queued: the library defaults.", "trial 1<br>k=3"]
