"""The stop advisor on cases with a known answer, and runs that stop by themselves when flat."""

from __future__ import annotations

import threading

import numpy as np
import optuna
import pytest
from conftest import IRIS
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import create_trial

from tuning.analysis import advisor, load_run
from tuning.core.config import RunConfig
from tuning.core.errors import ConfigError
from tuning.execution.advisor import MIN_TRIALS, cv_error, window
from tuning.report.html import report_markdown
from tuning.runs.entries import warm_entry
from tuning.runs.runner import create_run, execute
from tuning.store.run import StoredRun
from tuning.store.runs import load_study
from tuning.store.trials import ATTR, TrialMetrics, as_worker


def synthetic(values, folds_spread: float, categorical: bool = False) -> optuna.Study:
    """A study whose trial i has parameter x_i, score values[i] and 5 fold scores spread by
    +-folds_spread around it (the CV noise the advisor reads)."""
    study = optuna.create_study(direction="maximize")
    rng = np.random.default_rng(0)
    offsets = np.array([-2, -1, 0, 1, 2]) * folds_spread / np.sqrt(2)
    for i, v in enumerate(values):
        if categorical:
            params = {"kind": ["a", "b", "c", "d"][i % 4]}
            dists = {"kind": CategoricalDistribution(["a", "b", "c", "d"])}
        else:
            params = {"x": float(rng.uniform())}
            dists = {"x": FloatDistribution(0.0, 1.0)}
        metrics = TrialMetrics.scored(list(v + offsets))
        study.add_trial(create_trial(params=params, distributions=dists, value=float(v),
                                     user_attrs={ATTR: metrics.to_attr()}))  # fmt: skip
    return study


def test_the_noise_is_the_corrected_cv_error_of_makarova_et_al():
    # sqrt((1/k + 1/(k-1)) * var): two folds 0.8 and 0.9 -> sqrt(1.5 * 0.0025)
    assert cv_error([0.8, 0.9]) == pytest.approx(np.sqrt(1.5 * 0.0025))
    assert cv_error([0.9]) is None and cv_error([]) is None


def test_the_terminator_the_advisor_wraps_is_the_installed_one():
    # Pinned: Optuna 6.0 removes optuna.terminator; this module is the one place to change.
    assert optuna.__version__.startswith("5.")
    from optuna.terminator import RegretBoundEvaluator  # noqa: F401


def test_a_flat_objective_stops_early():
    # Every trial scores 0.90 up to 0.001, far inside a CV noise of about 0.02.
    rng = np.random.default_rng(1)
    study = synthetic(0.90 + rng.normal(0, 0.001, 60), folds_spread=0.03)
    a = advisor.advise(load_run(study))
    assert a.rule == advisor.Rule.REGRET
    assert a.stop is not None and a.stop.n <= 30
    assert a.loss is not None and a.loss < 0.005 and not a.lost_beyond_std
    assert a.saved >= 0.5
    assert "unlikely to gain more than the CV noise" in a.sentence
    assert f"{a.used} of 60 trials were enough" in a.sentence


def test_a_stop_at_the_last_trial_saves_nothing_and_says_so():
    """The flat run above, cut right after the advisor's stop: "30 of 30 trials were enough"
    read as a saving where there was none."""
    values = 0.90 + np.random.default_rng(1).normal(0, 0.001, 60)
    stop = advisor.advise(load_run(synthetic(values, folds_spread=0.03))).stop.trial
    a = advisor.advise(load_run(synthetic(values[: stop + 1], folds_spread=0.03)))
    assert a.stop.trial == stop and a.used == a.total == stop + 1 and a.saved == 0
    assert "were enough" not in a.sentence
    assert (f"the advisor would have stopped only at the last trial ({stop}): it would have "
            f"saved none of the {stop + 1} trials.") in a.sentence  # fmt: skip


def test_a_run_still_improving_strongly_does_not_stop():
    # Each trial beats the last by 0.01, against a CV noise of about 0.003.
    study = synthetic(np.linspace(0.3, 0.9, 60), folds_spread=0.004)
    a = advisor.advise(load_run(study))
    assert a.stop is None and len(a.points) == len(range(MIN_TRIALS, 61, 5))
    assert all(not p.flat for p in a.points)
    assert "worth going on" in a.sentence


def test_a_best_that_stands_still_stops_a_run_the_bound_would_not():
    # Rugged scores (0.5-0.85 at random) with the best, 0.90, at trial 4 and a CV noise of
    # about 0.003: the GP's bound stays far above the noise (about 0.05), but the best has not
    # moved over the last 20 trials at n = 25 and 30, so the plateau test stops it there.
    rng = np.random.default_rng(5)
    values = rng.uniform(0.5, 0.85, 60)
    values[4] = 0.9
    a = advisor.advise(load_run(synthetic(values, folds_spread=0.004)))
    assert a.rule == advisor.Rule.REGRET
    assert all(p.gain > 5 * p.noise for p in a.points)  # the bound alone never stops it
    assert a.stop is not None and a.stop.n == 30 and a.stop.by_plateau and a.loss == 0
    assert "rose by less than the CV noise (±0.0027) over the last 20 complete trials" in (
        a.sentence)  # fmt: skip
    assert "or the best score rose by less than that noise" in a.rule_text


def test_fewer_trials_than_needed_says_how_many_more():
    study = synthetic(np.full(12, 0.9), folds_spread=0.02)
    a = advisor.advise(load_run(study))
    assert a.needs == MIN_TRIALS - 12 and a.stop is None and not a.points
    assert f"{MIN_TRIALS - 12} more" in a.sentence and "12 so far" in a.sentence


def test_a_categorical_only_space_uses_the_plateau_rule():
    rng = np.random.default_rng(2)
    study = synthetic(0.90 + rng.normal(0, 0.001, 40), folds_spread=0.03, categorical=True)
    a = advisor.advise(load_run(study))
    assert a.rule == advisor.Rule.PLATEAU and "choice among values" in a.rule_text
    # The first checks that look back a whole window (n=25, 30) both find it flat.
    assert window(25) == 20 and a.stop is not None and a.stop.n == 30


def test_the_plateau_rule_does_not_stop_a_rising_run():
    study = synthetic(np.linspace(0.3, 0.9, 60), folds_spread=0.004, categorical=True)
    a = advisor.advise(load_run(study))
    assert a.stop is None and "still improving" in a.sentence


def test_a_study_without_fold_scores_stops_when_its_best_stands_still():
    # Another tool's study: no fold scores, so no CV noise; its best stops moving at trial 4.
    study = optuna.create_study(direction="maximize")
    dist = {"x": FloatDistribution(0.0, 1.0)}
    for i, v in enumerate([0.5, 0.6, 0.7, 0.8, 0.9] + [0.85] * 35):
        study.add_trial(create_trial(params={"x": i / 40}, distributions=dist, value=v))
    a = advisor.advise(load_run(study))
    assert a.rule == advisor.Rule.PLATEAU and "no fold scores" in a.rule_text
    assert a.stop is not None and a.stop.n == 30 and a.stop.noise is None and a.loss == 0
    assert "has not improved over the last 20 complete trials" in a.sentence


def test_per_method_medians_count_the_runs_it_would_not_stop_as_saving_nothing():
    rng = np.random.default_rng(4)
    flat = advisor.advise(load_run(synthetic(0.9 + rng.normal(0, 0.001, 60), folds_spread=0.03)))
    rising = advisor.advise(load_run(synthetic(np.linspace(0.3, 0.9, 60), folds_spread=0.004)))
    short = advisor.advise(load_run(synthetic(np.full(10, 0.9), folds_spread=0.02)))
    (row,) = advisor.by_method({"tpe": [flat, rising, short]})
    assert (row.label, row.runs, row.stopped, row.beyond_std) == ("Bayesian (TPE)", 2, 1, 0)
    assert row.stop_trial == flat.stop.trial
    assert row.saved == pytest.approx(flat.saved / 2)  # the median of (saved, 0)
    # A run the advisor would stop at its own last trial saved nothing: not counted as stopped
    # (the recorded race's table read "2 of 2" runs stopped at trial 29 of 30, 0 % saved)
    at_end = advisor.advise(load_run(synthetic(0.9 + rng.normal(0, 0.001, 25), folds_spread=0.03)))
    assert at_end.stop is not None and at_end.saved == 0
    (row,) = advisor.by_method({"tpe": [flat, at_end]})
    assert (row.runs, row.stopped, row.stop_trial) == (2, 1, flat.stop.trial)


def test_a_tracker_computes_each_check_once():
    rng = np.random.default_rng(3)
    run = load_run(synthetic(0.9 + rng.normal(0, 0.001, 30), folds_spread=0.03))
    tracker = advisor.tracker_for(run)
    first = advisor.advise(run, tracker)
    spent = tracker.seconds
    again = advisor.advise(run, tracker)
    assert again.points == first.points and tracker.seconds - spent < 0.05
    # Short of time, a page gets one new check per look and how many are left.
    fresh = advisor.advise(run, advisor.tracker_for(run), budget_s=1e-9)
    assert len(fresh.points) == 1 and fresh.pending == len(first.points) - 1
    assert not advisor.advise(run, advisor.tracker_for(run), budget_s=0.0).points


# -- runs that stop by themselves ------------------------------------------------------------------
def flat_config(**kw) -> RunConfig:
    """kNN on iris: its CV accuracy sits within the fold noise after a few trials."""
    d = dict(dataset=IRIS, model="knn", method="tpe", n_trials=80, cv_folds=3, n_jobs=1,
             stop_when_flat=True)  # fmt: skip
    d.update(kw)
    return RunConfig(**d)


def test_stop_when_flat_ends_the_run_before_its_budget_with_the_reason(storage):
    name = create_run(flat_config(), storage)
    assert execute(name, storage) == "finished"
    run = StoredRun.open(name, storage)
    record = run.record()
    assert record.status == "finished"
    assert record.message.startswith("Stopped by the stop advisor at trial ")
    assert "CV noise (±" in record.message
    assert len(run.study.get_trials(deepcopy=False)) < 80
    assert run.test is not None and run.test.score is not None  # refit and tested as normal
    # The page's advisor agrees with the engine on where it stopped.
    a = advisor.advise(load_run(load_study(name, storage)))
    assert a.stop is not None and f"trial {a.stop.trial}:" in record.message
    # The report says where it stopped, in a section of its own.
    md = report_markdown(load_study(name, storage))
    assert "## Stop advisor: where the run could have stopped" in md
    assert f"| would have stopped at | trial {a.stop.trial} (" in md


def test_stop_when_flat_stops_every_worker(storage):
    # The order two workers' trials finish in changes the proposals, and with them the regret
    # bound, which on this flat search hovers about the CV noise (alone, it stopped at trial 24
    # in one run and never in another); its plateau test stops it once the best stands still.
    name = create_run(flat_config(n_trials=120), storage)
    statuses = {}

    def work(i: int) -> None:
        with as_worker(f"test-worker-{i}"):
            statuses[i] = execute(name, storage, worker_index=i, clear_stop=False,
                                  max_trials=60)  # fmt: skip

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses == {0: "finished", 1: "finished"}
    record = StoredRun.open(name, storage).record()
    assert record.status == "finished" and record.message.startswith("Stopped by the stop advisor")
    assert len(load_study(name, storage).get_trials(deepcopy=False)) < 100


def test_a_resume_clears_the_advisors_stop(storage):
    name = create_run(flat_config(n_trials=60), storage)
    execute(name, storage)
    run = StoredRun.open(name, storage)
    assert run.flat_stop and run.stop_requested
    run.clear_stop_request()
    assert run.flat_stop is None and not run.stop_requested


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(method="grid"), "grid search tries every combination"),
        (dict(objectives=("accuracy", "fit_seconds")), "no single best score"),
    ],
)
def test_stop_when_flat_is_refused_where_it_does_not_apply(storage, changes, words):
    with pytest.raises(ConfigError, match=words):
        create_run(flat_config(**changes), storage)


def test_a_configuration_saved_before_the_option_runs_to_its_budget():
    saved = flat_config().to_dict()
    del saved["stop_when_flat"]
    assert RunConfig.from_dict(saved).stop_when_flat is False


def test_cli_stop_when_flat_ends_the_run_and_says_why(tmp_path, capsys):
    from tuning import cli

    url = f"journal:///{tmp_path / 'cli.journal'}"
    argv = ["run", "--dataset", "iris", "--model", "knn", "--trials", "80", "--folds", "3",
            "--n-jobs", "1", "--stop-when-flat", "--name", "flat", "--quiet", "--storage", url]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "[finished]" in out and "Note:       Stopped by the stop advisor at trial" in out
    assert len(load_study("flat", url).get_trials(deepcopy=False)) < 80
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert "--stop-when-flat" in capsys.readouterr().out


def test_compare_does_not_judge_a_grid_where_it_could_have_stopped():
    why = advisor.not_judged("grid")
    assert why is not None and why.startswith("Grid search is not judged")
    assert "fixed order" in why
    assert advisor.not_judged("tpe") is None and advisor.not_judged("random") is None
    assert advisor.not_judged(warm_entry("tpe")) is None


def test_a_grid_run_is_not_judged_on_its_own_pages_either(storage):
    cfg = RunConfig(dataset=IRIS, model="knn", method="grid", cv_folds=3, n_jobs=1, grid_points=3)
    name = create_run(cfg, storage)
    execute(name, storage)
    a = advisor.advise(load_run(load_study(name, storage)))
    assert not a.applies and a.stop is None and not a.points
    assert a.sentence.startswith("Grid search is not judged")
    md = report_markdown(load_study(name, storage))
    assert "Grid search is not judged" in md
