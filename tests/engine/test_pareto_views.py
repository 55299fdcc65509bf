"""The Pareto views of multi-objective runs (figures, the Live monitor's incremental front, the
report's trade-off section), on hand-made fronts whose answers are known."""

from __future__ import annotations

import datetime as dt

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.storages import InMemoryStorage
from optuna.trial import TrialState, create_trial

from tuning.analysis import LiveRun, pareto
from tuning.core.config import DatasetRef, RunConfig
from tuning.core.objectives import COSTS, score_objective
from tuning.plots import pareto as plots
from tuning.report import html as report

ACC, FIT, SIZE = score_objective("accuracy"), COSTS["fit_seconds"], COSTS["model_bytes"]
DISTS = {"x": FloatDistribution(0, 10), "kind": CategoricalDistribution(["a", "<b>"])}
# (accuracy, fit seconds): 0, 1 and 3 are the front; 2 is dominated by 1; 4 by 3
KNOWN = [(0.90, 10.0), (0.80, 1.0), (0.75, 2.0), (0.85, 5.0), (0.84, 6.0)]
FRONT = [0, 1, 3]
T0 = dt.datetime(2026, 1, 1)


@pytest.fixture(autouse=True)
def validated(monkeypatch):
    """Plotly's property validation on: every figure here must be a valid one."""
    monkeypatch.setattr(plots, "VALIDATE", True)


def trial(i, values, state=TrialState.COMPLETE, kind="a", size=1000):
    acc, fit = values
    metrics = {"cv_mean": acc, "cv_std": 0.01, "fold_scores": [acc] * 3, "fit_seconds": fit,
               "score_seconds": 0.1, "step": 3, "predict_ms": 0.5, "model_bytes": size,
               "n_params": None}  # fmt: skip
    return create_trial(
        state=state,
        values=[acc, fit] if state == TrialState.COMPLETE else None,
        params={"x": i / 100, "kind": kind},
        distributions=DISTS,
        user_attrs={"metrics": metrics},
        intermediate_values={1: acc},
    )


def mo_study(rows, objectives=("fit_seconds",), storage=None, choice=None, **attrs):
    """A finished two-objective run as the engine leaves it (accuracy up, fit seconds down)."""
    storage = storage or InMemoryStorage()
    study = optuna.create_study(
        storage=storage, study_name="trade-off", directions=["maximize", "minimize"]
    )
    cfg = RunConfig(DatasetRef("iris"), "knn", "random", n_trials=len(rows), cv_folds=3,
                    objectives=objectives)  # fmt: skip
    for k, v in {"config": cfg.to_dict(), "scoring": "accuracy", "status": "finished",
                 "task": "classification", **attrs}.items():  # fmt: skip
        study.set_user_attr(k, v)
    if choice is not None:
        study.set_user_attr("choice", choice)
    for r in rows:
        study.add_trial(r)
    return study


def known_study(**kw):
    return mo_study([trial(i, v) for i, v in enumerate(KNOWN)], **kw)


def points_of(study):
    run = LiveRun(study._storage, study.study_name).read()
    return run, pareto.objective_points(run.frame, [ACC, FIT])


# -- figures -----------------------------------------------------------------------------------
def test_front_figure_bolds_the_front_fades_the_rest_and_stars_the_choice():
    run, pts = points_of(known_study())
    front = np.flatnonzero(pareto.front_mask(pts[["accuracy", "fit_seconds"]].to_numpy(),
                                             ["maximize", "minimize"]))  # fmt: skip
    assert front.tolist() == FRONT
    fig = plots.front_figure(pts, [ACC, FIT], "fit_seconds", "accuracy", front, run.frame,
                             chosen=3)  # fmt: skip
    by_name = {t.name.split(" (")[0]: t for t in fig.data}
    dominated, members, chosen = by_name["dominated"], by_name["Pareto front"], by_name["chosen"]
    assert sorted(dominated.customdata) == [2, 4] and dominated.marker.opacity < 0.5
    # front members joined in order of fit time by a step line: cheapest first
    assert list(members.customdata) == [1, 3, 0] and members.mode == "lines+markers"
    assert members.line.shape == "hv" and list(members.x) == [1.0, 5.0, 10.0]
    assert list(chosen.customdata) == [3] and chosen.marker.symbol == "star"
    assert fig.layout.xaxis.title.text == "Fit time per trial (s), lower is better"
    assert fig.layout.yaxis.title.text == "CV accuracy, higher is better"
    assert "Fit time per trial (s)" in members.hovertemplate
    assert "CV accuracy" in members.hovertemplate


def test_hover_escapes_html_in_parameter_values():
    rows = [trial(0, (0.9, 2.0), kind="<b>"), trial(1, (0.8, 1.0))]
    run, pts = points_of(mo_study(rows))
    fig = plots.front_figure(pts, [ACC, FIT], "fit_seconds", "accuracy", [0, 1], run.frame)
    texts = [t for tr in fig.data for t in tr.text]
    assert any("kind=&lt;b&gt;" in t for t in texts) and not any("<b>" in t for t in texts)


def test_a_partial_trial_is_never_on_the_front():
    rows = [trial(i, v) for i, v in enumerate(KNOWN)]
    # pruned and failed trials with running means that would dominate everything
    rows += [trial(5, (0.99, 0.1), TrialState.PRUNED), trial(6, (0.99, 0.1), TrialState.FAIL)]
    snap = LiveRun(*_live(mo_study(rows))).snapshot()
    assert snap.front.numbers.tolist() == FRONT
    assert set(snap.front.points["number"]) == {0, 1, 2, 3, 4}


def test_flat_axes_stay_near_their_value():
    rows = [trial(i, (0.9, 1.0 + i)) for i in range(3)]  # the same accuracy everywhere
    run, pts = points_of(mo_study(rows))
    fig = plots.front_figure(pts, [ACC, FIT], "fit_seconds", "accuracy", [0], run.frame)
    low, high = fig.layout.yaxis.range
    assert 0.88 < low < 0.9 < high < 0.92


def test_dominated_points_are_sampled_but_the_front_and_choice_are_drawn():
    rng = np.random.default_rng(1)
    pts_np = rng.random((5000, 2))
    import pandas as pd

    pts = pd.DataFrame({"number": np.arange(5000), "accuracy": pts_np[:, 0],
                        "fit_seconds": pts_np[:, 1]})  # fmt: skip
    front = np.flatnonzero(pareto.front_mask(pts_np, ["maximize", "minimize"]))
    chosen = int(np.setdiff1d(np.arange(5000), front)[7])
    fig = plots.front_figure(pts, [ACC, FIT], "fit_seconds", "accuracy", front, chosen=chosen)
    by_name = {t.name.split(" (")[0]: t for t in fig.data}
    assert len(by_name["dominated"].x) <= plots.MAX_POINTS + plots.KEEP_RECENT + 1
    assert chosen in set(by_name["dominated"].customdata)
    assert sorted(by_name["Pareto front"].customdata) == front.tolist()
    assert "dominated trials drawn (an even sample" in fig.layout.title.text


def test_hypervolume_figure_names_its_reference_and_starts_at_zero():
    run, pts = points_of(known_study())
    ref = pareto.reference_point(pts[["accuracy", "fit_seconds"]].to_numpy(),
                                 ["maximize", "minimize"])  # fmt: skip
    hist = pareto.hypervolume_history(run.frame, [ACC, FIT], ref)
    fig = plots.hypervolume_figure(hist, ref, [ACC, FIT])
    assert "reference point" in fig.layout.title.text
    assert "CV accuracy 0.735, Fit time per trial 10.9 s" in fig.layout.title.text
    assert fig.layout.yaxis.rangemode == "tozero"
    assert list(fig.data[0].y)[-1] == pytest.approx(hist["hypervolume"].iloc[-1])


def test_three_objectives_get_parallel_coordinates_and_every_pair():
    objs = [ACC, FIT, SIZE]
    import pandas as pd

    pts = pd.DataFrame({"number": [0, 1, 2, 3], "accuracy": [0.9, 0.8, 0.85, 0.7],
                        "fit_seconds": [5.0, 1.0, 3.0, 6.0],
                        "model_bytes": [100.0, 900.0, 50.0, 1000.0]})  # fmt: skip
    mask = pareto.front_mask(pts[["accuracy", "fit_seconds", "model_bytes"]].to_numpy(),
                             [o.direction for o in objs])  # fmt: skip
    assert mask.tolist() == [True, True, True, False]
    par = plots.parallel_front_figure(pts, objs, [0, 1, 2], chosen=2)
    dims = par.data[0].dimensions
    assert [d.label for d in dims][0] == "CV accuracy ↑" and len(dims) == 3
    assert tuple(dims[2].range) == (50.0, 1000.0)  # all trials' span, not only the front's
    pairs = plots.pairwise_fronts_figure(pts, objs, [0, 1, 2], chosen=2)
    titled = {
        (a.title.text) for a in pairs.layout if a.startswith("xaxis") for a in [pairs.layout[a]]
    }
    assert {"Fit time per trial (s)", "Model size (bytes)"} <= titled
    fronts = [t for t in pairs.data if t.legendgroup == "front"]
    assert len(fronts) == 3 and all(sorted(t.customdata) == [0, 1, 2] for t in fronts)


# -- the Live monitor's incremental front ------------------------------------------------------
def _live(study):
    return study._storage, study.study_name


def test_incremental_front_equals_the_front_from_scratch_across_refreshes():
    rng = np.random.default_rng(3)
    study = mo_study([])
    live = LiveRun(*_live(study))
    n = 0
    for _refresh in range(6):
        for _ in range(40):
            acc, fit = 0.6 + 0.4 * rng.random(), 10 * rng.random()
            state = TrialState.PRUNED if rng.random() < 0.2 else TrialState.COMPLETE
            study.add_trial(trial(n, (acc, fit), state))
            n += 1
        snap = live.snapshot()
        run, pts = snap.run, snap.front.points
        values = pts[["accuracy", "fit_seconds"]].to_numpy()
        want = pts["number"].to_numpy()[pareto.front_mask(values, ["maximize", "minimize"])]
        assert snap.front.numbers.tolist() == sorted(want.tolist())
        # set by the first ten trials to complete, then fixed
        ref = pareto.reference_point(values[: pareto.REFERENCE_TRIALS], ["maximize", "minimize"])
        assert snap.front.reference == pytest.approx(ref)
        assert snap.front.reference == pytest.approx(pareto.run_reference(run.frame, [ACC, FIT])[0])
        hist = pareto.hypervolume_history(run.frame, [ACC, FIT], ref)
        assert snap.front.history["number"].tolist() == hist["number"].tolist()
        assert snap.front.history["hypervolume"].to_numpy() == pytest.approx(
            hist["hypervolume"].to_numpy()
        )


def test_the_tracker_feeds_only_new_complete_trials():
    study = known_study()
    live = LiveRun(*_live(study))
    live.snapshot()
    fed = []
    add = live.fronts.front.add
    live.fronts.front.add = lambda numbers, points: (
        fed.append(list(numbers)),
        add(numbers, points),
    )[1]
    live.snapshot()
    assert fed == []  # nothing new: the front is not touched
    study.add_trial(trial(5, (0.95, 20.0)))
    live.snapshot()
    assert fed == [[5]] and live.fronts.front.numbers.tolist().count(5) == 1


def test_single_objective_runs_have_no_front():
    study = optuna.create_study(storage=InMemoryStorage(), study_name="one", direction="maximize")
    study.set_user_attr("scoring", "accuracy")
    study.add_trial(create_trial(value=0.9, params={"x": 0.1}, distributions={"x": DISTS["x"]}))
    snap = LiveRun(study._storage, "one").snapshot()
    assert snap.front is None


# -- the report --------------------------------------------------------------------------------
CHOICE = {"trial": 3, "rule": "cheapest in fit time within 6 % of the best CV accuracy",
          "reason": "trial 3 reaches 0.85 in 5 s; the best, trial 0, reaches 0.9 in 10 s"}  # fmt: skip


def test_report_of_a_multi_objective_run_has_the_front_and_the_choice():
    test = {"score": 0.83, "trial": 3, "params": {"x": 0.03, "kind": "a"}, "n_train": 100,
            "n_test": 50, "refit_seconds": 0.1}  # fmt: skip
    study = known_study(choice=CHOICE, test=test)
    data = report.build_report(study)
    html_text = report.report_html(data)
    assert "Trade-offs: the Pareto front" in html_text
    assert "fig-pareto_front" in html_text and "fig-hypervolume" in html_text
    assert "Chosen trade-off: trial 3" in html_text
    assert report.h(CHOICE["rule"]) in html_text and report.h(CHOICE["reason"]) in html_text
    md = report.report_markdown(study)
    assert "## Trade-offs: the Pareto front" in md
    assert "Chosen trade-off: trial 3" in md and "cheapest in fit time within 6 % of" in md
    table = md.split("## Trade-offs: the Pareto front")[1]
    # the front table: trials 0, 1 and 3, best score first; 2 and 4 are dominated
    rows = [r for r in table.splitlines() if r.startswith("| ") and r[2].isdigit()]
    assert [int(r.split("|")[1]) for r in rows[:3]] == [0, 3, 1]
    assert "0.83" in table  # the chosen trial's test score


def test_the_fronts_in_the_report_have_the_template_of_every_other_figure():
    """A dict-built figure given the template by name kept the name (Plotly resolves it only
    with validation): the report drew the front and hypervolume in Plotly's default style, and
    no figure could leave its template to the page."""
    data = report.build_report(known_study(choice=CHOICE))
    for name in ("pareto_front", "hypervolume"):
        assert data.figures[name].layout.template.layout.plot_bgcolor == "white", name
    assert "window.plotlyTemplate=null" not in report.report_html(data)


def test_report_of_a_single_objective_run_has_no_tradeoff_section():
    study = optuna.create_study(storage=InMemoryStorage(), study_name="one", direction="maximize")
    cfg = RunConfig(DatasetRef("iris"), "knn", "random", n_trials=3, cv_folds=3)
    study.set_user_attr("config", cfg.to_dict())
    study.set_user_attr("scoring", "accuracy")
    for i in range(3):
        m = {"cv_mean": 0.8 + i / 100, "cv_std": 0.01, "fold_scores": [0.8] * 3, "step": 3}
        study.add_trial(create_trial(value=0.8 + i / 100, params={"x": i / 10},
                                     distributions={"x": DISTS["x"]}, user_attrs={"metrics": m}))  # fmt: skip
    assert "Pareto" not in report.report_markdown(study)
    assert "Trade-offs" not in report.report_html(report.build_report(study))


def test_three_objectives_front_is_exact_and_the_last_hypervolume_too():
    import pandas as pd

    from tuning.analysis.live import FrontTracker

    rng = np.random.default_rng(5)
    objs = [ACC, FIT, SIZE]
    n = 60
    frame = pd.DataFrame({"number": np.arange(n), "state": "complete",
                          "value": rng.random(n), "fit_seconds": rng.random(n),
                          "model_bytes": rng.random(n)})  # fmt: skip
    tracker = FrontTracker(objs)
    view = tracker.update(frame.iloc[:50])
    view = tracker.update(frame)
    values = frame[["value", "fit_seconds", "model_bytes"]].to_numpy()
    dirs = [o.direction for o in objs]
    assert view.numbers.tolist() == np.flatnonzero(pareto.front_mask(values, dirs)).tolist()
    exact = pareto.hypervolume(values[view.numbers], dirs, view.reference)
    assert view.hypervolume == pytest.approx(exact)
    fig = plots.hypervolume_figure(view.history, view.reference, objs)
    assert "evaluated at about 100 trials" in fig.layout.title.text


def test_the_hypervolume_history_is_not_rewritten_once_the_reference_is_fixed():
    """The issue's case: trial 0 read 0.039 at 15 s and 0.063 at the end, because the reference
    moved with every wider trial. Fixed by the first ten complete trials, it stays."""
    import pandas as pd

    from tuning.analysis.live import FrontTracker

    rng = np.random.default_rng(3)
    objs = [ACC, FIT]
    n = 40
    start = dt.datetime(2026, 1, 1)
    frame = pd.DataFrame({
        "number": np.arange(n), "state": "complete",
        "value": 0.8 + 0.1 * rng.random(n), "fit_seconds": 1 + rng.random(n),
        "complete": [start + dt.timedelta(seconds=i) for i in range(n)],
    })  # fmt: skip
    frame.loc[30, ["value", "fit_seconds"]] = [0.5, 9.0]  # far worse than the first ten on both
    tracker = FrontTracker(objs)
    early = tracker.update(frame.iloc[:12])
    assert early.reference_trials == pareto.REFERENCE_TRIALS
    first = early.history.set_index("number")["hypervolume"]
    late = tracker.update(frame)
    assert np.array_equal(late.reference, early.reference)  # trial 30 did not move it
    again = late.history.set_index("number")["hypervolume"]
    assert again.loc[first.index].tolist() == first.tolist()  # the first trials read the same
    assert tracker.recomputed == 1
    assert "fixed since" in plots.hypervolume_figure(
        late.history, late.reference, objs, reference_trials=late.reference_trials
    ).layout.title.text
    provisional = FrontTracker(objs).update(frame.iloc[:4])
    assert provisional.reference_trials == 4
    assert "provisional until 10 trials complete" in plots.hypervolume_figure(
        provisional.history, provisional.reference, objs,
        reference_trials=provisional.reference_trials,
    ).layout.title.text
