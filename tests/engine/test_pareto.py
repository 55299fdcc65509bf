"""Pareto fronts, hypervolume and the trade-off rule, on points whose answers are known."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

from tuning.analysis import pareto
from tuning.core.objectives import COSTS, score_objective

ACC, FIT = score_objective("accuracy"), COSTS["fit_seconds"]
DIRS = ["maximize", "minimize"]


def frame(rows):
    """(number, state, accuracy, fit seconds) -> a TrialFeed-like frame."""
    return pd.DataFrame(rows, columns=["number", "state", "value", "fit_seconds"])


def test_front_keeps_the_non_dominated_and_ties():
    pts = np.array([[0.9, 10.0], [0.8, 1.0], [0.85, 5.0], [0.8, 2.0], [0.9, 10.0], [0.7, 20.0]])
    assert pareto.front_mask(pts, DIRS).tolist() == [True, True, True, False, True, False]


def test_incremental_front_equals_the_front_from_scratch():
    rng = np.random.default_rng(0)
    pts = rng.random((500, 3))
    dirs = ["maximize", "minimize", "minimize"]
    front = pareto.ParetoFront(dirs)
    changed = [front.add(range(i, i + 50), pts[i : i + 50]) for i in range(0, 500, 50)]
    assert changed[0] and sorted(front.numbers) == list(
        np.flatnonzero(pareto.front_mask(pts, dirs))
    )
    # against Optuna's own front of the same points
    study = optuna.create_study(directions=dirs)
    for p in pts:
        study.add_trial(optuna.trial.create_trial(values=list(p), params={}, distributions={}))
    assert sorted(front.numbers) == sorted(t.number for t in study.best_trials)


def test_hypervolume_and_reference_point():
    pts = np.array([[1.0, 1.0], [0.5, 0.0]])  # accuracy up, seconds down
    ref = pareto.reference_point(pts, DIRS)
    assert ref == pytest.approx([0.45, 1.1])  # worst accuracy 0.5 - 0.05, worst seconds 1 + 0.1
    # boxes: (1.0-0.45) x (1.1-1.0) + (0.5-0.45) x (1.1-0.0) - no overlap beyond the first
    want = 0.55 * 0.1 + 0.05 * 1.0
    assert pareto.hypervolume(pts, DIRS, ref) == pytest.approx(want)


def test_hypervolume_history_grows_only_with_the_front_and_skips_partial_trials():
    f = frame([
        (0, "complete", 0.80, 2.0),
        (1, "pruned", 0.99, 0.1),  # a partial mean: never on the front
        (2, "complete", 0.70, 3.0),  # dominated: history flat
        (3, "complete", 0.90, 4.0),
    ])  # fmt: skip
    ref = np.array([0.6, 5.0])
    hist = pareto.hypervolume_history(f, [ACC, FIT], ref)
    assert hist["number"].tolist() == [0, 2, 3]
    h = hist["hypervolume"].to_numpy()
    assert h[0] == pytest.approx(0.2 * 3.0) and h[1] == h[0]
    assert h[2] == pytest.approx(0.2 * 3.0 + 0.1 * 1.0)


def test_tradeoff_is_the_cheapest_within_the_tolerance():
    f = frame([
        (0, "complete", 0.900, 10.0),
        (1, "complete", 0.895, 3.0),  # within 1 % of 0.9: cheapest
        (2, "complete", 0.850, 0.5),  # cheaper but 5.6 % worse
        (3, "failed", 0.95, 0.1),
        (4, "complete", 0.897, 3.0),  # same cost as 1, better score: wins the tie
    ])  # fmt: skip
    assert pareto.tradeoff(f, [ACC, FIT], 1.0, "fit_seconds") == 4
    assert pareto.tradeoff(f, [ACC, FIT], 0.0, "fit_seconds") == 0
    assert pareto.tradeoff(f, [ACC, FIT], 10.0, "fit_seconds") == 2
    assert pareto.tradeoff(frame([]), [ACC, FIT], 1.0, "fit_seconds") is None
    with pytest.raises(ValueError):
        pareto.tradeoff(f, [ACC, FIT], 1.0, "model_bytes")


@pytest.mark.parametrize("within", [0.0, 0.5, 2.0, 10.0])
def test_the_engine_and_the_views_choose_and_draw_the_same(within):
    """The engine's rule and front (execution/choice.py, on trials) and the views' (on the
    trials frame) are written for their own inputs; they must agree on every run."""
    from tuning.execution import choice
    from tuning.store.results import TrialFeed

    rng = np.random.default_rng(int(within * 10))
    study = optuna.create_study(directions=DIRS)
    for i in range(60):
        acc, sec = round(float(rng.uniform(0.8, 0.9)), 3), round(float(rng.uniform(1, 5)), 1)
        state = "complete" if i % 7 else "pruned"
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE if state == "complete"
            else optuna.trial.TrialState.PRUNED,
            values=[acc, sec] if state == "complete" else None,
            params={}, distributions={},
            user_attrs={"metrics": {"cv_mean": acc, "fit_seconds": sec}},
        ))  # fmt: skip
    frame = TrialFeed(study).refresh()
    engine = choice.cheapest_within(choice.scored_trials(study), ACC, within, FIT)
    assert engine is not None
    assert engine[0].number == pareto.tradeoff(frame, [ACC, FIT], within, "fit_seconds")
    pts = pareto.objective_points(frame, [ACC, FIT])
    drawn = pts["number"][pareto.front_mask(pts[["accuracy", "fit_seconds"]].to_numpy(), DIRS)]
    assert sorted(choice.front_numbers(study)) == sorted(drawn)
