"""Axes and noise on the score charts (issue 24, items 10 and 12): whole-number axes tick at
whole numbers, seconds carry their unit, the fold spread is drawn around every score and the
best so far (Live monitor and Analysis), and an empty figure's message fits its box."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import IntDistribution
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial, TrialState

from tuning import analysis as an
from tuning.core.objectives import COSTS, Objective
from tuning.plots import base, live, pareto
from tuning.plots import figures as plots

T0 = datetime(2026, 1, 1, 12, 0, 0)
VALUES = [0.90, 0.95, 0.93, 0.96]
STDS = [0.01, 0.02, 0.03, 0.015]
DISTS = {"k": IntDistribution(1, 50)}


def _values(v) -> list:
    """Plotly sends numeric arrays as typed arrays ({dtype, bdata}) in its JSON."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return np.asarray(v, dtype=float).tolist()


def _trial(number: int, value: float, std: float) -> FrozenTrial:
    start = T0 + timedelta(seconds=10 * number)
    folds = [value - std, value, value + std]  # np.std of these is std * sqrt(2/3)
    metrics = {"cv_mean": value, "cv_std": std, "fold_scores": folds, "train_score": 1.0,
               "fit_seconds": 0.5, "score_seconds": 0.1, "step": 3}  # fmt: skip
    return FrozenTrial(
        number=number, state=TrialState.COMPLETE, value=value, datetime_start=start,
        datetime_complete=start + timedelta(seconds=5), params={"k": number + 1},
        distributions=DISTS, user_attrs={"metrics": metrics}, system_attrs={},
        intermediate_values={1: value - 0.01, 2: value, 3: value}, trial_id=number,
    )  # fmt: skip


@pytest.fixture(scope="module")
def run():
    storage = InMemoryStorage()
    study = optuna.create_study(storage=storage, direction="maximize", study_name="noise")
    study.add_trials([_trial(i, v, s) for i, (v, s) in enumerate(zip(VALUES, STDS, strict=True))])
    study.set_user_attr("created_at", "2026-01-01T00:00:00+00:00")
    return storage, study


def _band(fig) -> tuple[list, list, list]:
    """(x, lower, upper) of the fold-spread band; fails when there is none."""
    d = fig.to_plotly_json()["data"]
    lower, upper = (t for t in d if t.get("legendgroup") == "spread")
    assert upper["fill"] == "tonexty" and "fold std" in upper["name"]
    return _values(upper["x"]), _values(lower["y"]), _values(upper["y"])


def _whole_ticks(axis: dict) -> None:
    assert axis["tickformat"] == ",d"
    assert float(axis["dtick"]).is_integer() and axis["dtick"] >= 1


def test_analysis_history_draws_the_fold_spread_around_the_best_and_each_trial(run):
    fig = plots.history_figure(an.load_run(run[1]))
    x, lower, upper = _band(fig)
    # the best changes at trials 0, 1 and 3; the last point repeats the last best
    assert x == [0, 1, 3, 3]
    best, std = np.array([0.90, 0.95, 0.96, 0.96]), np.array([0.01, 0.02, 0.015, 0.015])
    assert np.allclose(lower, best - std) and np.allclose(upper, best + std)
    markers = next(t for t in fig.data if t.mode == "markers")
    assert np.allclose(markers.error_y.array, STDS) and markers.error_y.visible
    _whole_ticks(fig.layout.xaxis.to_plotly_json())


def test_analysis_compute_curve_draws_the_fold_spread_around_the_best(run):
    fig = plots.efficiency_figure(an.load_run(run[1]))
    _, lower, upper = _band(fig)
    best, std = np.array([0.90, 0.95, 0.96, 0.96]), np.array([0.01, 0.02, 0.015, 0.015])
    assert np.allclose(lower, best - std) and np.allclose(upper, best + std)


def test_live_score_charts_draw_the_fold_spread_and_whole_trial_numbers(run):
    storage, study = run
    snap = an.LiveRun(storage, study.study_name).snapshot()
    figs = live.live_figures(snap)
    for key in ("by_trial", "by_time"):
        _, lower, upper = _band(figs[key])
        best, std = np.array([0.90, 0.95, 0.96, 0.96]), np.array([0.01, 0.02, 0.015, 0.015])
        assert np.allclose(lower, best - std) and np.allclose(upper, best + std), key
        d = figs[key].to_plotly_json()["data"]
        complete = next(t for t in d if str(t.get("name", "")).startswith("complete"))
        assert np.allclose(_values(complete["error_y"]["array"]), STDS), key
    _whole_ticks(figs["by_trial"].to_plotly_json()["layout"]["xaxis"])
    assert "dtick" not in figs["by_time"].to_plotly_json()["layout"]["xaxis"]  # seconds
    _whole_ticks(figs["states"].to_plotly_json()["layout"]["xaxis"])  # counts
    _whole_ticks(figs["curves"].to_plotly_json()["layout"]["xaxis"])  # folds


def test_integer_axes_tick_at_whole_numbers_at_every_span():
    assert base.integer_axis({}, [0, 1])["dtick"] == 1  # Plotly's own: 0, 0.5, 1, 1.5
    assert base.integer_axis({}, [0, 3])["dtick"] == 1
    assert base.integer_axis({}, [0, 30])["dtick"] == 5
    assert base.integer_axis({}, [1, 100])["dtick"] == 20
    big = base.integer_axis({}, [0, 10_000])  # Plotly's steps are whole there
    assert "dtick" not in big and big["tickformat"] == ",d"
    assert base.integer_axis({}, [])["dtick"] == 1


def test_hypervolume_and_front_axes_in_their_units():
    fit, size = COSTS["fit_seconds"], COSTS["model_bytes"]
    score = Objective("score", "accuracy", "", "maximize", "value")
    hist = pd.DataFrame({"number": [0, 1, 2], "hypervolume": [0.1, 0.2, 0.2]})
    fig = pareto.hypervolume_figure(hist)
    _whole_ticks(fig.to_plotly_json()["layout"]["xaxis"])
    seconds = pareto.objective_axis({}, fit, [0.0002, 0.0004])
    assert seconds == {"tickformat": "~s", "ticksuffix": "s"}  # 200µs, not "200µ"
    assert pareto.objective_axis({}, size, [80_000, 90_150])["tickformat"] == "~s"
    assert pareto.objective_axis({}, size, [800, 950])["tickformat"] == ",d"
    plain = pareto.objective_axis({}, score, [0.95, 0.975])
    assert plain["exponentformat"] == "none" and "s" not in plain["tickformat"]
    assert pareto.objective_axis({}, COSTS["predict_ms"], [0.2, 0.3])["exponentformat"] == "none"


def test_an_empty_figures_message_is_wrapped_to_fit_a_narrow_box():
    fig = base.empty_figure("Learning curves", live.NO_CURVES_MO, "fold", "score", live=True)
    lines = fig.layout.annotations[0].text.split("<br>")
    assert len(lines) > 1 and all(len(line) <= base.WRAP for line in lines)
    assert " ".join(lines) == live.NO_CURVES_MO
    assert base.wrap("a <b> & c") == "a &lt;b&gt; &amp; c"  # still escaped


def test_the_live_monitors_figures_are_built_when_the_page_places_them(run):
    """The first look sends the score chart before the other figures are built (item 16)."""
    storage, study = run
    snap = an.LiveRun(storage, study.study_name).snapshot(importance=False)
    figs = live.LiveFigures(snap)
    assert "by_trial" in figs and "curves" in figs and "importance" not in figs
    assert len(figs) == 0  # nothing built yet
    assert figs["by_trial"].layout.title.text == "Score of every trial"
    assert list(figs) == ["by_trial"]
    with pytest.raises(KeyError):
        figs["importance"]
    assert set(live.live_figures(snap)) == {"by_trial", "by_time", "curves", "states"}


def test_slices_of_a_single_trial_keep_the_score_axis_near_its_score(run):
    """One complete trial: Plotly padded the axis of one value to 0-1.5 for an accuracy."""
    storage = InMemoryStorage()
    study = optuna.create_study(storage=storage, direction="maximize", study_name="one")
    study.add_trials([_trial(0, 0.85, 0.01)])
    study.set_user_attr("created_at", "2026-01-01T00:00:00+00:00")
    low, high = plots.slice_figure(an.load_run(study)).layout.yaxis.range
    assert low < 0.85 < high and high - low <= 0.05
    _, several = run
    assert plots.slice_figure(an.load_run(several)).layout.yaxis.range is None  # Plotly's own
