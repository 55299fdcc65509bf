"""Did tuning pay off? The gain over the library defaults as the headline of Live monitor,
Home, Analysis and Compare methods, and the library defaults marked where trials are listed
(tuning/analysis/payoff.py, ui/gain_view.py)."""

from __future__ import annotations

import re

import pytest
from app_support import (
    LIVE,
    app,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    home_runs,
    manager,
    ok,
    runs,
    storage,
    texts,
    tiny_config,
    wait_for,
)

from tuning.core.config import DatasetRef, RunConfig
from tuning.runs.front import experiments as ex
from ui import runs as ui_runs
from ui import state

pytestmark = pytest.mark.usefixtures("fresh_data")
COMPARE = "app_pages/compare.py"
HEADLINE = re.compile(
    r"Did tuning pay off\? (Best CV accuracy \S+ ± \S+ against the defaults' \S+ ± \S+: \+|"
    r"Tuning did not beat the defaults)"
)


def _boxes(at) -> list[str]:
    return [t.replace("**", "") for t in texts(at.info) + texts(at.success) + texts(at.caption)]


def _headline(at) -> str:
    return next(t for t in _boxes(at) if t.startswith("Did tuning pay off?"))


def test_live_monitor_headlines_the_gain_and_marks_the_defaults_in_the_top_trials():
    name = finished_run(n_trials=6)
    at = ok(app(LIVE))
    assert at.selectbox(key=state.LIVE_PICK).value == name
    line = _headline(at)
    assert HEADLINE.match(line), line
    assert "95 % interval" in line or "are still the best configuration" in line
    assert "Held-out test accuracy (each refit on the same " in line
    assert re.search(r": tuned \d\.\d{3} \(95 % \d\.\d{3}–\d\.\d{3}\), defaults ", line), line
    assert "Provisional" not in line  # the run has ended
    top = next(d.value for d in at.dataframe if "train score" in d.value.columns)
    # Six trials: all in the top ten, the defaults (trial 0) marked as such, the others as
    # random search's draws.
    assert top.loc[top["trial"] == 0, "origin"].item() == "library defaults"
    assert set(top.loc[top["trial"] != 0, "origin"]) == {"random"}


def test_a_working_run_states_a_provisional_gain():
    name = manager().submit(tiny_config(n_trials=100_000))

    def scored() -> bool:
        s = next((r for r in runs() if r.name == name), None)
        return s is not None and s.status == "running" and s.counts.get("complete", 0) >= 3

    wait_for(scored, timeout=60, what="three complete trials")
    at = ok(app(LIVE))
    assert _headline(at).startswith("Did tuning pay off? Provisional, while the run works: ")
    assert home_runs(ok(app()), name).loc[name, ui_runs.GAIN].endswith(" so far")


def test_defaults_outside_the_space_are_said_to_be_scored_beside_the_trials():
    finished_run(n_trials=3, model="svm")
    line = _headline(ok(app(LIVE)))
    assert "The library defaults were scored beside the trials, on the same folds" in line


def test_a_run_without_the_baseline_says_so():
    finished_run(n_trials=3, defaults_baseline=False)
    line = _headline(ok(app(LIVE)))
    assert "baseline switched off" in line and "+" not in line


def test_home_lists_the_gain_over_the_defaults_per_run():
    with_it = finished_run(n_trials=4)
    without = finished_run(n_trials=3, defaults_baseline=False)
    at = ok(app())
    cells = home_runs(at, with_it, without)[ui_runs.GAIN].to_dict()
    assert cells[without] == "no baseline"
    assert re.fullmatch(r"([+−]\S+ \(±\S+\), within noise|\+\S+ \(±\S+\)|defaults are best|ties the defaults|"
                        r"defaults better: −\S+ \(±\S+\))", cells[with_it]), cells[with_it]  # fmt: skip


def test_analysis_opens_with_the_headline_and_shows_what_the_budget_bought():
    finished_run(n_trials=6)
    at = ok(app(state.PAGE_ANALYSIS))
    assert HEADLINE.match(_headline(at))
    bought = texts(at.caption) + texts(at.markdown)
    assert "**What the budget bought**" in [str(m.value) for m in at.markdown]
    assert any("over the library defaults" in t for t in bought)
    ranks = next(d.value for d in at.dataframe if "same as best?" in d.value.columns)
    assert ranks.loc[ranks["trial"] == 0, "origin"].item() == "library defaults"


def test_compare_states_the_defaults_once_and_each_methods_gain_over_seeds():
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=3, cv_folds=3, n_jobs=1)
    name = ex.create_experiment(
        ex.ExperimentConfig(base=base, methods=("random", "tpe"), seeds=(0, 1)), storage()
    )
    ex.run_experiment(name, storage())
    at = ok(app(COMPARE))
    assert at.selectbox(key="compare_select").value == name
    gains = next(d.value for d in at.dataframe if "paired fold scores" in d.value.columns)
    assert list(gains["method"]) == ["Random search", "Bayesian (TPE)"]
    assert set(gains["paired fold scores"]) == {"6 over 2 seeds"}
    for cell in gains["gain over defaults (95 % interval)"]:
        assert re.fullmatch(r"([+−]\S+ \(±\S+\), within noise|\+\S+ \(±\S+\)|defaults better: −\S+ \(±\S+\))",
                            cell), cell  # fmt: skip
    defaults = [c for c in texts(at.caption) if c.startswith("The library defaults: CV accuracy")]
    assert len(defaults) == 1 and "same baseline for every method" in defaults[0]


def test_the_recorded_race_states_each_methods_gain_over_the_defaults():
    # The recording scored the forest's library defaults beside every run (they lie outside
    # the classic box), on each seed's folds: Compare states every method's gain over them.
    at = ok(app(COMPARE))
    ok(at.button(key="classic_recorded").click().run())
    said = " ".join(texts(at.caption))
    assert "The library defaults: CV accuracy " in said and "over 2 seeds" in said
    assert "No baseline: this run was made before" not in said
    gains = next(d.value for d in at.dataframe if "paired fold scores" in d.value.columns)
    assert len(gains) == 4 and gains["gain over defaults (95 % interval)"].str.len().min() > 0
