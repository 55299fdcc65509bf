"""Did tuning pay off? The gain over the library defaults, with its paired interval
(tuning/analysis/baseline.py), on cases whose answer is known: the corrected resampled t
interval computed by hand; an objective whose optimum is the defaults (a gain inside the noise)
and one whose defaults are far off (a clear gain), for a score and for an error; and what
`show` and the analysis say where a run has no gain to state.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL_REGRESSION, make_config
from optuna.distributions import IntDistribution
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier

from tuning import TuningSearchCV
from tuning import analysis as an
from tuning.analysis.baseline import NO_BASELINE
from tuning.cli import main
from tuning.runs.runner import create_run, execute
from tuning.store.records import RunRecord
from tuning.store.runs import load_study
from tuning.store.storage import open_storage
from tuning.store.trials import TrialMetrics, is_defaults

OLD = Path(__file__).resolve().parents[1] / "data" / "old_runs" / "runs.journal"


def _run(storage, config, **kw):
    name = create_run(config, storage)
    status = execute(name, storage, **kw)
    return name, load_study(name, storage), status


def test_the_interval_is_the_corrected_resampled_t_interval():
    d = np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    mean, low, high = an.corrected_interval(0.8 + d, np.full(5, 0.8))
    # mean 0.03, var 0.00025, (1/5 + 1/4) * var = 1.125e-4, t(4, 0.975) = 2.7764
    assert mean == pytest.approx(0.03)
    assert (low, high) == pytest.approx((0.03 - 0.029449, 0.03 + 0.029449), abs=1e-6)
    # Its ends are where the corrected t-test's p-value is 0.05.
    _, p, _ = an.corrected_ttest(0.8 + d - low, np.full(5, 0.8))
    assert p == pytest.approx(0.05, abs=1e-6)


def _ridge_run(storage, quality, scoring: str | None = None, n_trials: int = 8):
    """A ridge run whose objective gives each configuration `quality(alpha)` on every fold,
    plus fold noise of 0.01 (a fixed draw per configuration): the answer is known."""

    def objective(trial):
        alpha = trial.suggest_float("alpha", 1e-4, 1e3, log=True)
        trial.suggest_categorical("fit_intercept", [True, False])
        noise = np.random.default_rng(int(1e6 * math.log(alpha)) % 2**32).normal(0, 0.01, 5)
        folds = [quality(alpha) + e for e in noise]
        TrialMetrics.scored(folds).save(trial)
        return float(np.mean(folds))

    config = make_config("ridge", "random", dataset=SMALL_REGRESSION, cv_folds=5,
                         n_trials=n_trials, scoring=scoring)  # fmt: skip
    name, study, status = _run(storage, config, objective=objective, refit=False)
    assert status == "finished" and is_defaults(study.get_trials(deepcopy=False)[0])
    return an.load_run(study)


def test_defaults_already_best_give_a_gain_inside_the_noise(storage):
    run = _ridge_run(storage, lambda alpha: 0.90 - 0.05 * abs(math.log10(alpha)))
    gain = an.gain_over_defaults(run)
    assert gain.within_noise and not gain.beats_defaults
    assert gain.low <= 0 <= gain.high and abs(gain.difference) < 0.02
    assert gain.sentence.startswith("tuning did not beat the defaults")
    assert gain.n_folds == 5 and gain.defaults_trial == 0


def test_defaults_far_off_give_a_clear_gain_whose_interval_excludes_zero(storage):
    run = _ridge_run(storage, lambda alpha: 0.90 - 0.30 * math.exp(-(math.log10(alpha) ** 2)))
    gain = an.gain_over_defaults(run)
    assert gain.beats_defaults and not gain.within_noise and 0 < gain.low < gain.high
    assert gain.defaults_mean == pytest.approx(0.60, abs=0.02) and gain.gain > 0.2
    number = r"\d+\.\d+"
    assert re.fullmatch(
        rf"best CV R² {number} ± {number} against the defaults' {number} ± {number}: "
        rf"\+{number} \(95 % interval \+{number} to \+{number} over the same 5 folds\)",
        gain.sentence,
    ), gain.sentence


def test_the_gain_is_direction_aware(storage):
    # An error (lower is better): 10 at the defaults, 5 far from them.
    run = _ridge_run(storage, lambda a: 5 + 5 * math.exp(-math.log10(a) ** 2),
                     scoring="neg_mean_absolute_error")  # fmt: skip
    gain = an.gain_over_defaults(run)
    assert run.direction == "minimize" and gain.difference < -4 and gain.gain > 4
    assert gain.beats_defaults and gain.high < 0
    assert gain.sentence.startswith("best CV MAE ")
    assert re.search(r": −\d+\.\d+, lower is better \(95 % interval −", gain.sentence)


# -- where the defaults are, in words --------------------------------------------------------------
def test_the_defaults_score_says_where_they_were_scored(storage):
    _, study, _ = _run(storage, make_config("knn", "random", n_trials=3))
    run = an.load_run(study)
    score = an.defaults_score(run)
    trial = study.get_trials(deepcopy=False)[0]
    assert score.trial == 0 and score.mean == pytest.approx(trial.value) and score.scored
    assert score.fold_scores == TrialMetrics.of(trial).fold_scores
    assert score.test == RunRecord.from_study(study).defaults_test.score
    assert "trial 0" in score.where and an.why_no_gain(run) is None

    _, study, _ = _run(storage, make_config("svm", "random", n_trials=2))
    score = an.defaults_score(an.load_run(study))
    assert score.trial is None and score.in_space is False
    assert "beside the trials" in score.where and "gamma = 'scale' is outside" in score.where


def test_a_multi_objective_run_states_its_gain_on_the_cv_score(storage):
    _, study, _ = _run(
        storage, make_config("knn", "random", n_trials=3, objectives=("fit_seconds",))
    )
    gain = an.gain_over_defaults(an.load_run(study))
    assert gain is not None and gain.defaults_trial is None
    assert "chosen trade-off" in gain.test_sentence


def test_runs_without_a_gain_say_why(storage):
    options = {"population_size": 2, "interval": 2}
    name = create_run(make_config("mlp", "pbt", method_options=options), storage)
    run = an.load_run(load_study(name, storage))
    assert an.gain_over_defaults(run) is None and "holdout split" in an.why_no_gain(run)

    name = create_run(make_config("svm", "random"), storage)  # created, not started
    run = an.load_run(load_study(name, storage))
    assert an.why_no_gain(run).startswith("The library defaults have not been scored yet")

    x, y = load_iris(return_X_y=True)
    search = TuningSearchCV(
        KNeighborsClassifier(n_neighbors=200), {"n_neighbors": IntDistribution(1, 30)},
        method="random", n_trials=2, cv=3, storage="memory",
    ).fit(x, y)  # fmt: skip
    why = an.why_no_gain(an.load_run(search.study_))
    assert why.startswith("The library defaults could not be scored: ValueError")
    assert why.endswith("The run went on without a baseline.")


def test_an_old_run_shows_no_baseline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUNING_STUDIO_DATA", str(tmp_path))
    shutil.copy(OLD, tmp_path / "runs.journal")
    url = f"journal:///{tmp_path}/runs.journal"
    assert execute("old-stopped", open_storage(url)) == "finished"
    run = an.load_run(load_study("old-stopped", open_storage(url)))
    assert an.gain_over_defaults(run) is None and an.defaults_score(run) is None
    assert an.why_no_gain(run) == NO_BASELINE
    capsys.readouterr()
    assert main(["show", "old-stopped", "--storage", url]) == 0
    assert f"Defaults:   {NO_BASELINE}" in capsys.readouterr().out


def test_show_prints_the_gain_and_marks_the_defaults(tmp_path, capsys):
    url = f"journal:///{tmp_path / 'runs.journal'}"
    assert main(["run", "--dataset", "iris", "--model", "knn", "--trials", "3", "--folds", "3",
                 "--quiet", "--storage", url, "--name", "k"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["show", "k", "--storage", url]) == 0
    out = capsys.readouterr().out
    said = an.payoff(an.load_run(load_study("k", open_storage(url))))
    assert said.headline.startswith(("Best CV accuracy", "Tuning did not beat the defaults"))
    assert f"Defaults:   {said.headline}" in out and f"            {said.test_line}" in out
    assert re.search(r"^0\* ", out, re.MULTILINE) and "* the library defaults" in out


def test_the_recommendations_use_the_gain(storage):
    flat = _ridge_run(storage, lambda alpha: 0.90 - 0.05 * abs(math.log10(alpha)))
    advice = [r.message for r in an.recommend(flat) if "library defaults" in r.message]
    assert len(advice) == 1 and "the defaults are a fine choice here" in advice[0]
    assert advice[0].startswith("Tuning did not beat the library defaults beyond fold-to-fold")
    far = _ridge_run(storage, lambda alpha: 0.90 - 0.30 * math.exp(-(math.log10(alpha) ** 2)))
    assert not [r for r in an.recommend(far) if "library defaults" in r.message]
