"""Live monitor of a multi-objective run: the front, its count, its table, choosing a trade-off;
a single-objective run keeps its page as it was."""

from __future__ import annotations

import datetime as dt

import optuna
import pytest
from app_support import (
    LIVE,
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    metrics,
    ok,
    storage,
    texts,
)
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from tuning.core.config import DatasetRef, RunConfig
from ui import monitor

pytestmark = pytest.mark.usefixtures("fresh_data")

# (accuracy, fit seconds): trials 0, 1 and 3 are the front
KNOWN = [(0.90, 10.0), (0.80, 1.0), (0.75, 2.0), (0.85, 5.0), (0.84, 6.0)]
NAME = "trade-off-run"


def finished_mo_run(choice=None, test=None, status="finished") -> str:
    study = optuna.create_study(
        storage=storage(), study_name=NAME, directions=["maximize", "minimize"]
    )
    cfg = RunConfig(DatasetRef("iris"), "knn", "random", n_trials=len(KNOWN), cv_folds=3,
                    objectives=("fit_seconds",), name=NAME)  # fmt: skip
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    attrs = {"config": cfg.to_dict(), "scoring": "accuracy", "status": status,
             "task": "classification", "created_at": now, "started_at": now, "ended_at": now,
             "elapsed_s": 12.0}  # fmt: skip
    if status == "running":  # worked on elsewhere right now: a fresh heartbeat
        attrs["heartbeat"] = dt.datetime.now().timestamp()
    if choice:
        attrs["choice"] = choice
    if test:
        attrs["test"] = test
    for k, v in attrs.items():
        study.set_user_attr(k, v)
    for i, (acc, fit) in enumerate(KNOWN):
        m = {"cv_mean": acc, "cv_std": 0.01, "fold_scores": [acc] * 3, "fit_seconds": fit,
             "score_seconds": 0.1, "step": 3, "predict_ms": 0.4, "model_bytes": 2000}  # fmt: skip
        study.add_trial(create_trial(
            values=[acc, fit], params={"n_neighbors": float(i + 1)},
            distributions={"n_neighbors": FloatDistribution(1, 30)}, user_attrs={"metrics": m},
            intermediate_values={1: acc},
        ))  # fmt: skip
    return NAME


CHOICE = {"trial": 3, "rule": "cheapest in fit time within 6 % of the best CV accuracy",
          "reason": "trial 3 reaches 0.85 in 5 s"}  # fmt: skip


def test_a_finished_two_objective_run_shows_its_front():
    finished_mo_run(CHOICE, {"score": 0.83, "trial": 3, "n_train": 100, "n_test": 50})
    at = ok(app(LIVE))
    m = metrics(at)
    assert m["Front members"] == "3" and m["Trials done"] == "5"
    assert m["Best accuracy"] == "0.9000"  # the score alone, still shown
    figs = charts(at)
    front = next(f for t, f in figs.items() if t.startswith("Pareto front"))
    members = next(t for t in front["data"] if t["name"].startswith("Pareto front"))
    assert members["name"] == "Pareto front (3)"
    assert any(t.startswith("Hypervolume against trial number") for t in figs)
    table = next(d.value for d in at.dataframe if "trial" in d.value and "CV accuracy" in d.value)
    assert table["trial"].tolist() == [0, 3, 1]  # best score first
    assert table["Fit time per trial (s)"].tolist() == [10.0, 5.0, 1.0]
    chosen = " ".join(texts(at.success))
    assert "Chosen trade-off: trial #3" in chosen and "cheapest in fit time" in chosen
    assert "Held-out test accuracy: **0.8300**" in chosen
    captions = " ".join(texts(at.caption))
    assert "show the CV score alone" in captions


def test_no_held_out_test_score_while_the_run_still_works():
    """A test kept on the run (from an earlier end, before a resume) is not this run's result
    while it works: the page says when it will show one (issue 24, item 12)."""
    finished_mo_run(CHOICE, {"score": 0.83, "trial": 3, "n_train": 100, "n_test": 50},
                    status="running")  # fmt: skip
    at = ok(app(LIVE))
    shown = " ".join(texts(at.success) + texts(at.info) + texts(at.markdown))
    assert "Chosen trade-off: trial #3" in shown
    assert "Held-out test" not in shown and "0.8300" not in shown
    assert "shown once the run has ended" in shown


def test_clicking_a_front_row_chooses_that_trial(monkeypatch):
    finished_mo_run(CHOICE)
    calls = []

    def choose(name, storage, trial=None, within_pct=None, cost=None):
        calls.append((name, trial, within_pct, cost))
        study = optuna.load_study(study_name=name, storage=storage)
        study.set_user_attr("choice", {"trial": trial, "rule": "picked on the front",
                                       "reason": "by hand"})  # fmt: skip
        return trial

    monkeypatch.setattr(monitor, "choose", choose)
    at = ok(app(LIVE))
    key = monitor.front_table_key(NAME, [0, 3, 1])
    at.session_state[key] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at = ok(at.run())
    assert calls == [(NAME, 1, None, None)]
    assert "Chosen trade-off: trial #1" in " ".join(texts(at.success))
    at = ok(at.run())
    assert len(calls) == 1  # the selection stays, but it is not chosen again


def test_cheapest_within_a_share_of_the_best(monkeypatch):
    finished_mo_run()
    calls = []
    monkeypatch.setattr(monitor, "choose", lambda name, storage, **how: calls.append(how) or 3)
    at = ok(app(LIVE))
    assert "No trade-off chosen yet." in texts(at.info)
    at.number_input(key=f"within_pct:{NAME}").set_value(6.0).run()
    assert "By this rule: trial #3" in texts(at.caption)  # 0.85 is within 6 % of 0.90
    at.button(key=f"within_go:{NAME}").click().run()
    assert calls == [{"within_pct": 6.0, "cost": "fit_seconds"}]


def test_a_single_objective_run_looks_as_before():
    finished_run(n_trials=4)
    at = ok(app(LIVE))
    m = metrics(at)
    assert "Front members" not in m and m["Best trial"].startswith("#")
    assert not [t for t in charts(at) if t.startswith(("Pareto", "Hypervolume"))]
    assert not any("show the CV score alone" in c for c in texts(at.caption))


def test_the_report_page_of_a_two_objective_run_names_the_chosen_trade_off():
    from ui import state

    finished_mo_run(CHOICE, {"score": 0.83, "trial": 3, "n_train": 100, "n_test": 50})
    at = ok(app(state.PAGE_REPORT))
    m = metrics(at)
    assert m["Chosen trade-off"] == "#3" and m["Best CV accuracy"] == "0.9000"
    assert any("the chosen trade-off" in c for c in texts(at.caption))
    preview = " ".join(texts(at.markdown))
    assert "Trade-offs: the Pareto front" in preview and "Chosen trade-off: trial 3" in preview
