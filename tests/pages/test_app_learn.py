"""Learn page through AppTest: pick a landscape and methods, step the trial, guess, glossary."""

from __future__ import annotations

import json

import pytest
from app_support import app, fresh_data, ok, texts  # noqa: F401

from tuning.learn import search as learn
from tuning.learn.landscapes import get_landscape

pytestmark = pytest.mark.usefixtures("fresh_data")
LEARN = "app_pages/learn.py"


def _figs(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _title(fig: dict) -> str:
    return fig["layout"]["title"]["text"]


def test_default_page_animates_four_methods_with_small_figures():
    at = ok(app(LEARN))
    assert at.title[0].value == "Learn"
    assert at.selectbox(key="learn_landscape").value == "branin"
    assert at.multiselect(key="learn_methods").value == ["random", "tpe", "cmaes", "hyperband"]
    assert at.multiselect(key="learn_methods").proto.wrap  # all four chips show, in a column
    figs = _figs(at)
    anim = figs[0]
    assert _title(anim).startswith("Where each method samples")
    assert len(anim["frames"]) == 30
    # the landscape is a picture under each subplot, which the frames cannot take away
    assert [im["xref"] for im in anim["layout"]["images"]] == ["x", "x2", "x3", "x4"]
    assert [a["text"] for a in anim["layout"]["annotations"]] == [
        "Random search", "Bayesian (TPE)", "CMA-ES (evolution strategy)", "Hyperband",
    ]  # fmt: skip
    assert {b["label"] for b in anim["layout"]["updatemenus"][0]["buttons"]} == {
        "▶ Play", "❚❚ Pause",
    }  # fmt: skip
    sizes = [len(el.proto.spec) for el in at.get("plotly_chart")]
    assert max(sizes) < 1_000_000, sizes
    table = at.dataframe[0].value
    assert list(table["method"]) == [
        "Random search", "Bayesian (TPE)", "CMA-ES (evolution strategy)", "Hyperband",
    ]  # fmt: skip
    hb = table[table["method"] == "Hyperband"].iloc[0]
    assert hb["stopped early"] > 0 and hb["budget steps"] < 30 * 27
    assert (table["best found"] != table["regret"]).all()  # Branin's best possible is 0.3979
    assert any("Best possible f(x, y): **0.3979**" in c for c in texts(at.caption))


def test_stepping_the_trial_moves_every_methods_explanation():
    at = ok(app(LEARN))
    start = at.slider(key="learn_trial").value
    ok(at.button(key="learn_forward").click().run())
    assert at.slider(key="learn_trial").value == start + 1
    assert at.radio(key="learn_inside_method").value == "random"
    assert f"Trial {start + 1}: where it samples next" in [_title(f) for f in _figs(at)]
    expected = {
        "tpe": f"Trial {start + 1}: TPE's good and bad densities",
        "cmaes": f"Trial {start + 1}: drawn from generation",
        "hyperband": f"Trial {start + 1}: ",
    }
    for method, title in expected.items():
        ok(at.radio(key="learn_inside_method").set_value(method).run())
        assert any(t.startswith(title) for t in map(_title, _figs(at))), method
    assert any("stopped early" in t for t in map(_title, _figs(at)))  # Hyperband's view
    at.radio(key="learn_inside_method").set_value("tpe")
    ok(at.slider(key="learn_trial").set_value(3).run())
    titles = [_title(f) for f in _figs(at)]
    assert "Trial 3: where it samples next" in titles  # TPE still in its random start-up
    ok(at.button(key="learn_back").click().run())
    assert at.slider(key="learn_trial").value == 2


def test_regret_is_one_column_where_the_best_possible_is_zero():
    at = ok(app(LEARN))
    ok(at.selectbox(key="learn_landscape").set_value("himmelblau").run())
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "method", "trials", "stopped early", "budget steps", "best found (= regret)",
    ]  # fmt: skip
    methods = at.multiselect(key="learn_methods").value
    runs = [learn.run_method("himmelblau", m, 30, 0) for m in methods]
    land = get_landscape("himmelblau")
    assert [float(v) for v in table["best found (= regret)"]] == pytest.approx(
        [land.regret(r.best_so_far()[-1]) for r in runs], abs=1e-4
    )


def test_real_landscape_with_grid_and_gp():
    at = ok(app(LEARN))
    at.number_input(key="learn_trials").set_value(12)  # first: the GP costs ~0.5 s a trial
    at.selectbox(key="learn_landscape").set_value("svm_breast_cancer")
    ok(at.multiselect(key="learn_methods").set_value(["grid", "gp"]).run())
    assert any("a 3 × 3 lattice: 9 trials" in c for c in texts(at.caption))
    anim = _figs(at)[0]
    assert anim["layout"]["xaxis"]["type"] == "log" and anim["layout"]["yaxis"]["type"] == "log"
    table = at.dataframe[0].value
    assert list(table["trials"]) == [9, 12]
    ok(at.slider(key="learn_trial").set_value(12).run())
    titles = [_title(f) for f in _figs(at)]
    assert "Trial 9: the next lattice point, in a fixed order" in titles  # grid has 9 trials
    ok(at.radio(key="learn_inside_method").set_value("gp").run())
    titles = [_title(f) for f in _figs(at)]
    assert "Trial 12: a Gaussian process fitted to the 11 trials before" in titles


def test_guess_is_revealed_with_its_distance():
    at = ok(app(LEARN))
    at.slider(key="learn_trial").set_value(15).run()
    at.selectbox(key="learn_guess_method").set_value("cmaes").run()
    at.number_input(key="learn_guess_x_branin").set_value(1.0)
    ok(at.number_input(key="learn_guess_y_branin").set_value(2.0).run())
    assert not at.success  # nothing revealed before the click
    ok(at.button(key="learn_reveal").click().run())
    run = learn.run_method("branin", "cmaes", 30, 0)
    x, y = run.trials[14].params["x"], run.trials[14].params["y"]
    d = learn.distance(get_landscape("branin"), (1.0, 2.0), (x, y))
    msg = at.success[0].value
    assert f"Trial 15 went to x = {x:.6g}" in msg and f"{d:.0%} of the landscape's diagonal" in msg
    guess = next(f for f in _figs(at) if _title(f).startswith("Trials 1–14 so far"))
    assert {t.get("name") for t in guess["data"]} >= {"your guess", "trial 15 (next)"}
    ok(at.button(key="learn_forward").click().run())  # the next trial hides the answer again
    assert not at.success


def test_glossary_and_method_explanations():
    at = ok(app(LEARN))
    body = " ".join(texts(at.markdown))
    for term in ("Trial", "Fold", "Budget", "Pruning", "Exploit / explore", "Importance", "Regret"):
        assert f"**{term}**:" in body
    assert "Samples every parameter independently" in body  # the registry's summary
    assert "Each point is drawn uniformly" in " ".join(texts(at.info))
    ok(at.radio(key="learn_inside_method").set_value("cmaes").run())
    assert "ellipses hold the middle" in " ".join(texts(at.info))


def test_bad_choice_says_what_to_do():
    at = ok(app(LEARN))
    ok(at.multiselect(key="learn_methods").set_value([]).run())
    assert any("Pick at least one method" in e for e in texts(at.error))
    assert not at.get("plotly_chart")


def test_guess_on_an_integer_axis_takes_whole_numbers():
    at = ok(app(LEARN))
    at.number_input(key="learn_trials").set_value(12)
    at.selectbox(key="learn_landscape").set_value("mlp_moons")
    ok(at.multiselect(key="learn_methods").set_value(["random"]).run())
    width = at.number_input(key="learn_guess_y_mlp_moons")
    assert width.value == 91 and width.min == 16 and width.max == 512  # geometric middle
    width.set_value(300)
    ok(at.button(key="learn_reveal").click().run())
    assert "width = " in at.success[0].value
