"""The app's plain-Python parts: space table <-> SearchSpace, chart sampling, tables, escaping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuning.analysis.live import derived_columns, eta_seconds
from tuning.core.errors import SpaceError
from tuning.core.scoring import Scoring
from tuning.models import REGISTRY as MODELS
from tuning.plots import live as charts
from tuning.plots.base import esc
from ui import tables, text
from ui.space_table import parse_token, space_to_table, table_to_space


@pytest.mark.parametrize(("model", "task"), [(m.name, t) for m in MODELS.values() for t in m.tasks])
def test_every_default_space_round_trips_through_the_table(model, task):
    space = MODELS[model].default_space(task)
    assert table_to_space(space_to_table(space), space) == space


def test_table_edits_become_a_validated_space():
    space = MODELS["svm"].default_space("classification")
    table = space_to_table(space)
    table.loc[table["parameter"] == "C", ["low", "high"]] = [0.01, 10.0]
    table.loc[table["parameter"] == "kernel", "choices"] = "rbf, poly, sigmoid"
    table.loc[table["parameter"] == "degree", ["search", "fixed at"]] = [False, "3"]
    edited = table_to_space(table, space)
    assert (edited["C"].low, edited["C"].high) == (0.01, 10.0)
    assert edited["kernel"].choices == ("rbf", "poly", "sigmoid")
    assert not edited["degree"].enabled and edited["degree"].fixed_value() == 3


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"low": 0.0}, "log-scaled, so low must be greater than 0"),
        ({"low": 5000.0}, "is greater than high"),
        ({"low": float("nan")}, "enter a number for 'low'"),
        ({"search": False, "fixed at": "1e9"}, "'fixed at' value 1000000000.0 lies outside"),
    ],
)
def test_invalid_edits_are_refused_with_what_to_change(edit, message):
    """Row 0 is C, searched on a log scale from 1e-3 to 1e3."""
    space = MODELS["svm"].default_space("classification")
    table = space_to_table(space)
    for col, v in edit.items():
        table.loc[0, col] = v
    with pytest.raises(SpaceError, match=message.replace("(", r"\(")):
        table_to_space(table, space)


def test_integer_bounds_must_be_whole():
    space = MODELS["knn"].default_space("classification")
    table = space_to_table(space)
    table.loc[0, "high"] = 10.5
    with pytest.raises(SpaceError, match="integer"):
        table_to_space(table, space)


def test_tokens_keep_their_types():
    assert [parse_token(t) for t in ["None", "true", "3", "0.1", "1e-4", "'7'", "rbf"]] == [
        None, True, 3, 0.1, 1e-4, "7", "rbf",
    ]  # fmt: skip


def _frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    states = rng.choice(["complete", "pruned", "failed"], size=n, p=[0.8, 0.15, 0.05])
    values = np.where(states == "failed", np.nan, rng.random(n))
    start = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n), unit="s")
    df = pd.DataFrame(
        {"number": np.arange(n), "state": states, "value": values, "start": start,
         "complete": start + pd.Timedelta(seconds=0.5), "param_x": rng.random(n)}
    )  # fmt: skip
    return derived_columns(df, "maximize")


def test_sampling_keeps_every_improvement_and_is_deterministic():
    df = _frame(10_000, np.random.default_rng(0))
    shown = df[df["value"].notna()]
    keep = charts.improvements(shown)
    a, b = charts.sample(shown, keep), charts.sample(shown, keep)
    assert a.equals(b)
    assert len(a) <= charts.MAX_POINTS + keep.sum() + charts.KEEP_RECENT + 1
    assert set(shown.loc[keep, "number"]) <= set(a["number"])
    assert keep.sum() < 50  # improvements are rare: a pruned trial between two is not one
    assert df["number"].max() in set(a["number"])  # the newest trial is always drawn


def test_live_figures_stay_small_at_ten_thousand_trials():
    df = _frame(10_000, np.random.default_rng(1))
    fig = charts.score_by_trial(df, "accuracy (higher is better)")
    assert fig.data[0].type == "scatter"  # SVG: no WebGL context to set up in the browser
    drawn = sum(len(t.x) for t in fig.data if t.mode == "markers")
    assert drawn <= charts.MAX_POINTS + 200
    assert "trials drawn" in fig.layout.title.subtitle.text
    assert len(fig.to_json()) < 1_000_000


def test_equal_scores_keep_the_score_axis_near_them():
    """Plotly's own range for one repeated value (0.95 on an axis up to 1.5) misleads."""
    df = _frame(4, np.random.default_rng(2))
    df["value"] = 0.95
    df["state"] = "complete"
    for fig in (
        charts.score_by_trial(df, "accuracy"),
        charts.score_by_time(df, "accuracy", "maximize"),
    ):
        low, high = fig.layout.yaxis.range
        assert 0.93 < low < 0.95 < high < 0.97


def test_failure_table_groups_reasons():
    df = pd.DataFrame(
        {
            "number": [0, 1, 2, 3, 4],
            "state": ["complete", "failed", "failed", "pruned", "stopped"],
            "step": [3, 1, 1, 2, 1],
            "fail_reason": [None, "ValueError: x", "ValueError: x", None, "stopped by user"],
            "value": [0.9, None, None, 0.5, None],
        }
    )
    out = tables.failure_table(df)
    assert out.iloc[0].to_dict() == {
        "state": "failed", "reason": "ValueError: x", "trials": 2, "latest trials": "#1, #2",
    }  # fmt: skip
    assert "pruned at step 2" in out["reason"].tolist()
    assert "stopped by user" in out["reason"].tolist()


def test_top_table_respects_the_direction():
    df = pd.DataFrame(
        {"number": [0, 1, 2], "state": ["complete"] * 3, "value": [3.0, 1.0, 2.0],
         "cv_std": 0.1, "train_score": 1.0, "fit_seconds": 0.1, "param_alpha": [1.0, 0.1, 0.01]}
    )  # fmt: skip
    top = tables.top_table(df, Scoring("neg_root_mean_squared_error"))
    assert top["trial"].tolist() == [1, 2, 0] and "RMSE" in top.columns


def test_eta_uses_the_pace_and_the_time_limit():
    assert eta_seconds(done=10, n_budget=30, elapsed=20.0, timeout_s=None) == 40.0
    assert eta_seconds(done=10, n_budget=30, elapsed=20.0, timeout_s=30.0) == 10.0
    assert eta_seconds(done=0, n_budget=30, elapsed=5.0, timeout_s=None) is None


def test_markdown_in_user_text_is_shown_literally():
    assert text.md("**x** [a](javascript:alert(1)) <b>") == (
        r"\*\*x\*\* \[a\]\(javascript\:alert\(1\)\) \<b\>"
    )
    assert esc("<img src=x>") == "&lt;img src=x&gt;"


def test_removing_a_choice_that_a_condition_needs_is_refused():
    """Removing a choice that a condition refers to is refused, naming both parameters."""
    space = MODELS["svm"].default_space("classification")
    table = space_to_table(space)
    table.loc[table["parameter"] == "kernel", "choices"] = "rbf, linear"
    with pytest.raises(SpaceError, match="not choices of 'kernel'"):
        table_to_space(table, space)


def test_top_table_says_dash_for_a_parameter_that_does_not_apply():
    from ui import tables

    df = pd.DataFrame({"number": [0, 1], "state": ["complete", "complete"], "value": [0.9, 0.8],
                       "cv_std": [0.01, 0.02], "train_score": [1.0, 1.0], "fit_seconds": [1, 2],
                       "param_kernel": ["linear", "rbf"], "param_gamma": [np.nan, 0.1],
                       "param_max_depth": pd.Series([None, 3], dtype=object)})  # fmt: skip
    table = tables.top_table(df, Scoring("accuracy"))
    assert table["gamma"].tolist() == ["—", "0.1"]
    assert table["max_depth"].tolist() == ["None", "3"]  # None is a real choice


def test_a_categorical_parameter_has_no_bounds_in_the_table():
    """Its low and high read "—", never "None"; a numeric bound keeps every digit."""
    space = MODELS["svm"].default_space("classification")
    table = space_to_table(space).set_index("parameter")
    assert table.loc["kernel", "low"] == table.loc["kernel", "high"] == "—"
    assert float(table.loc["C", "low"]) == space["C"].low
    assert "None" not in table.astype(str).to_string()


def test_workers_are_numbered_in_order_of_first_appearance():
    df = pd.DataFrame({"number": [0, 1, 2, 3], "state": ["complete"] * 4,
                       "value": [0.1, 0.4, 0.3, 0.2], "worker": ["vm:9", "vm:5", "vm:9", "vm:5"],
                       "cv_std": 0.0, "train_score": 0.5, "fit_seconds": 1.0})  # fmt: skip
    assert tables.worker_names(df) == {"vm:9": "worker 1", "vm:5": "worker 2"}
    top = tables.top_table(df, Scoring("accuracy"))
    assert list(top["worker"]) == ["worker 2", "worker 1", "worker 2", "worker 1"]
    assert tables.worker_help(df) == "worker 1: vm:9; worker 2: vm:5"
