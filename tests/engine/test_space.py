"""Search spaces: JSON round trips, Optuna distributions, grids, validation, switched-off params."""

from __future__ import annotations

import json
import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from tuning.core.errors import SpaceError, UserError
from tuning.core.space import Param, SearchSpace, cat_param, float_param, int_param
from tuning.models import REGISTRY as MODELS


def _space(*params: Param) -> SearchSpace:
    return SearchSpace(params).validate()


ALL_DEFAULT_SPACES = [
    (name, task) for name, spec in MODELS.items() for task in spec.tasks
]  # every model's default space for every task it supports


# --------------------------------------------------------------------------- JSON


@pytest.mark.parametrize(("model", "task"), ALL_DEFAULT_SPACES)
def test_every_default_space_round_trips_through_json(model, task):
    space = MODELS[model].default_space(task)
    text = space.to_json()
    json.loads(text)  # plain JSON, readable by anything
    again = SearchSpace.from_json(text)
    assert again == space
    assert again.to_json() == text
    assert SearchSpace.from_dict(space.to_dict()) == space


def test_round_trip_keeps_every_field():
    space = _space(
        cat_param("kernel", ["rbf", "linear", None, True, 1], default="linear", help="k"),
        float_param("gamma", 1e-4, 10.0, log=True, condition=("kernel", ("rbf",))),
        float_param("frac", 0.0, 1.0, step=0.25, enabled=False, default=0.5),
        int_param("depth", 2, 8, step=2, help="depth"),
    )
    again = SearchSpace.from_json(space.to_json())
    assert again == space
    assert again["kernel"].choices == ("rbf", "linear", None, True, 1)
    assert again["gamma"].condition == ("kernel", ("rbf",))
    assert again["frac"].enabled is False and again["frac"].default == 0.5
    assert again["depth"].step == 2 and again["depth"].help == "depth"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("[]", '"params" list'),
        ('{"params": [{"name": "a", "kind": "int", "low": 1, "high": 2, "colour": 1}]}', "colour"),
        ('{"params": [{"name": "a"}]}', "missing a field"),
    ],
)
def test_bad_json_is_refused_with_a_clear_message(text, needle):
    with pytest.raises(SpaceError, match=needle):
        SearchSpace.from_json(text)


# --------------------------------------------------------------------------- Optuna


def test_conversion_to_optuna_distributions():
    space = _space(
        float_param("C", 1e-3, 1e3, log=True),
        float_param("frac", 0.0, 1.0, step=0.1),
        int_param("n", 1, 9, step=2),
        int_param("k", 1, 64, log=True),
        cat_param("kernel", ["rbf", "linear"]),
        int_param("off", 1, 3, enabled=False),
    )
    d = space.distributions()
    assert d == {
        "C": FloatDistribution(low=1e-3, high=1e3, log=True),
        "frac": FloatDistribution(low=0.0, high=1.0, step=0.1),
        "n": IntDistribution(low=1, high=9, step=2),
        "k": IntDistribution(low=1, high=64, log=True),
        "kernel": CategoricalDistribution(["rbf", "linear"]),
    }
    assert "off" not in d  # switched off: not searched


def test_suggest_through_optuna_skips_inactive_and_switched_off_params():
    space = _space(
        cat_param("kernel", ["rbf", "linear"]),
        float_param("gamma", 1e-4, 10.0, log=True, condition=("kernel", ("rbf",))),
        int_param("degree", 2, 4, enabled=False, default=3),
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(20):
        trial = study.ask()
        params = space.suggest(trial)
        seen.add(params["kernel"])
        assert ("gamma" in params) == (params["kernel"] == "rbf")
        assert params["degree"] == 3
        assert "degree" not in trial.params  # fixed, not sampled
        if "gamma" in params:
            assert 1e-4 <= params["gamma"] <= 10.0
        study.tell(trial, 0.0)
    assert seen == {"rbf", "linear"}


# --------------------------------------------------------------------------- grids


def test_grid_size_is_the_product_of_choices_and_points():
    space = _space(cat_param("c", ["a", "b", "c"]), int_param("n", 1, 100))
    assert space.grid_size(4) == 3 * 4
    grid = space.grid(4)
    assert len(grid) == len({tuple(sorted(g.items())) for g in grid})  # no duplicates
    assert sorted({g["n"] for g in grid}) == [1, 34, 67, 100]


def test_log_spaced_float_grid_is_geometric():
    p = float_param("C", 1e-3, 1e3, log=True)
    assert p.grid_values(7) == [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0]
    assert float_param("x", 0.0, 1.0).grid_values(5) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_small_int_range_gives_every_value_once():
    assert int_param("d", 2, 4).grid_values(10) == [2, 3, 4]
    assert int_param("d", 2, 10, step=4).grid_values(10) == [2, 6, 10]
    values = int_param("k", 1, 50, log=True).grid_values(5)
    assert values == sorted(set(values)) and values[0] == 1 and values[-1] == 50
    assert all(isinstance(v, int) for v in values)


def test_stepped_float_grid_stays_on_the_step():
    values = float_param("f", 0.0, 1.0, step=0.25).grid_values(3)
    assert values == [0.0, 0.5, 1.0]


def test_one_point_grid_takes_the_middle():
    assert float_param("x", 0.0, 10.0).grid_values(1) == [5.0]
    assert float_param("C", 1e-2, 1e2, log=True).grid_values(1) == [1.0]


def test_svm_default_grid_expands_conditional_params_only_where_active():
    space = MODELS["svm"].default_space("classification")
    # By hand, 5 points: C 5 x kernel {rbf: gamma 5, linear: 1, poly: gamma 5 x degree 3
    # (2, 3, 4), sigmoid: gamma 5} = 5 x (5 + 1 + 15 + 5) = 130.
    assert space.grid_size(5) == 5 * (5 + 1 + 5 * 3 + 5) == 130
    # 2 points: degree 2..4 gives {2, 4}: 2 x (2 + 1 + 2 x 2 + 2) = 18.
    assert space.grid_size(2) == 18
    grid = space.grid(5)
    linear = [g for g in grid if g["kernel"] == "linear"]
    assert len(linear) == 5 and all(set(g) == {"C", "kernel"} for g in linear)
    assert all(set(g) == {"C", "kernel", "gamma", "degree"} for g in grid if g["kernel"] == "poly")
    assert all(set(g) == {"C", "kernel", "gamma"} for g in grid if g["kernel"] == "rbf")
    # Regression adds epsilon (5 points): 5 x 130.
    assert MODELS["svm"].default_space("regression").grid_size(5) == 650


def test_switched_off_params_do_not_multiply_the_grid():
    space = _space(
        cat_param("c", ["a", "b"]), int_param("n", 1, 100), int_param("off", 1, 9, enabled=False)
    )
    grid = space.grid(3)
    assert len(grid) == 2 * 3
    assert {g["off"] for g in grid} == {5}  # fixed at its middle


def test_grid_points_below_one_are_refused():
    with pytest.raises(SpaceError, match="at least 1"):
        _space(int_param("n", 1, 3)).grid(0)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ((float_param("C", 10.0, 1.0),), r"low \(10.0\) is greater than high \(1.0\)"),
        ((int_param("n", 5, 2),), "greater than high"),
        ((float_param("C", 0.0, 1.0, log=True),), "log-scaled, so low must be greater than 0"),
        ((float_param("C", -1.0, 1.0, log=True),), "greater than 0"),
        ((cat_param("k", []),), "has no choices"),
        ((Param(name="k", kind="categorical"),), "has no choices"),
        ((cat_param("k", ["a", "a"]),), "lists a choice twice"),
        ((int_param("n", 1, 3), int_param("n", 1, 5)), "used twice: n"),
        (
            (float_param("gamma", 1e-3, 1.0, condition=("kernel", ("rbf",))),),
            "depends on 'kernel', which must be a categorical parameter listed before it",
        ),
        (
            (
                int_param("kernel", 1, 3),
                float_param("gamma", 1e-3, 1.0, condition=("kernel", (1,))),
            ),
            "must be a categorical parameter",
        ),
        (
            (
                cat_param("kernel", ["rbf"]),
                float_param("gamma", 1e-3, 1.0, condition=("kernel", ("poly",))),
            ),
            "not choices of 'kernel'",
        ),
        (
            (int_param("n", 1, 3, enabled=False), cat_param("c", ["a"], enabled=False)),
            "Every parameter is switched off",
        ),
        ((int_param("n", 1.5, 3),), "bounds must be whole numbers"),
        ((float_param("x", 0.0, math.inf),), "finite number"),
        ((Param(name="x", kind="float", low=0.0),), "'high' must be a finite number"),
        ((Param(name="x", kind="text"),), "kind must be one of"),
        ((Param(name="", kind="int", low=1, high=2),), "non-empty name"),
        ((float_param("x", 1e-3, 1.0, log=True, step=0.1),), "cannot also have a step"),
        ((float_param("x", 0.0, 1.0, step=-0.1),), "step must be a positive number"),
        ((int_param("n", 1, 9, step=1.5),), "whole-number step"),
        ((int_param("n", 1, 9, default=20),), "outside"),
        ((cat_param("k", ["a", "b"], default="c"),), "not one of its choices"),
    ],
)
def test_invalid_spaces_are_refused_with_clear_messages(params, needle):
    with pytest.raises(SpaceError, match=needle) as info:
        SearchSpace(params).validate()
    assert isinstance(info.value, UserError)  # shown to users without a traceback


def test_json_with_invalid_ranges_is_refused_on_load():
    bad = {"params": [{"name": "C", "kind": "float", "low": 5, "high": 1}]}
    with pytest.raises(SpaceError, match="greater than high"):
        SearchSpace.from_json(json.dumps(bad))


def test_condition_lists_parent_by_name_in_the_message():
    with pytest.raises(SpaceError, match="'gamma'"):
        _space(float_param("gamma", 1e-3, 1.0, condition=("kernel", ("rbf",))))


def test_replace_param_validates_the_result():
    space = MODELS["ridge"].default_space("regression")
    narrowed = space.replace_param("alpha", low=0.1, high=10.0)
    assert narrowed["alpha"].low == 0.1 and space["alpha"].low == 1e-4  # original untouched
    with pytest.raises(SpaceError, match="greater than high"):
        space.replace_param("alpha", low=100.0, high=1.0)


# --------------------------------------------------------------------------- switched off


def test_complete_fixes_switched_off_params_at_their_default():
    space = _space(
        float_param("C", 1e-3, 1e3, log=True),
        int_param("depth", 2, 8, enabled=False, default=3),
        cat_param("kernel", ["rbf", "linear"], enabled=False, default="linear"),
        float_param("gamma", 1e-3, 1.0, condition=("kernel", ("rbf",))),
    )
    full = space.complete({"C": 0.5})
    assert full == {"C": 0.5, "depth": 3, "kernel": "linear"}  # gamma inactive for linear
    # A searched value for a switched-off parameter is ignored: it stays fixed.
    assert space.complete({"C": 0.5, "depth": 7})["depth"] == 3


def test_switched_off_params_without_default_take_the_middle():
    assert int_param("n", 1, 9, enabled=False).fixed_value() == 5
    assert float_param("x", 0.0, 1.0, enabled=False).fixed_value() == 0.5
    assert float_param("C", 1e-2, 1e2, log=True).fixed_value() == pytest.approx(1.0)
    assert cat_param("k", ["a", "b"], enabled=False).fixed_value() == "a"
    assert "fixed at 5" in int_param("n", 1, 9, enabled=False).describe()


def test_conditional_child_uses_the_fixed_parent():
    space = _space(
        cat_param("kernel", ["rbf", "linear"], enabled=False, default="rbf"),
        float_param("gamma", 1e-3, 1.0, log=True, condition=("kernel", ("rbf",))),
    )
    assert space.complete({"gamma": 0.01}) == {"kernel": "rbf", "gamma": 0.01}
    assert space.grid_size(3) == 3


def test_choice_identity_is_type_aware():
    # 1, True and "1" are distinct choices; a condition on True does not fire for 1.
    space = _space(
        cat_param("fit", [True, 1, "1"]),
        float_param("x", 0.0, 1.0, condition=("fit", (True,))),
    )
    assert [("x" in g) for g in space.grid(1)] == [True, False, False]


def test_explicit_grid_values_replace_spaced_points_and_round_trip():
    space = _space(
        cat_param("c", ["a", "b", "c"]),
        int_param("n", 1, 100, grid=(10, 50, 100)),
        float_param("lr", 1e-3, 1.0, log=True),
    )
    assert space["n"].grid_values(7) == [10, 50, 100]  # n_points does not apply
    assert space.grid_size(2) == 3 * 3 * 2
    assert SearchSpace.from_json(space.to_json()) == space
    with pytest.raises(SpaceError, match="grid value 500 is not a valid value"):
        _space(int_param("n", 1, 100, grid=(10, 500)))
    with pytest.raises(SpaceError, match="grid values are empty"):
        _space(int_param("n", 1, 100, grid=()))
