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


def _shown_trials(fig: dict) -> list[int]:
    """The trial the landscapes figure shows: each method's ringed trial."""
    return [t["customdata"][0] for t in fig["data"] if t.get("name") == "the trial shown"]


def _slider(at):
    """The one trial slider (a new key for each trial: see ui.learn._slider_key)."""
    (slider,) = at.slider
    return slider


def _search(at) -> dict:
    return next(f for f in _figs(at) if _title(f).endswith("where each method has sampled so far"))


def test_default_page_shows_four_methods_with_small_figures():
    at = ok(app(LEARN))
    assert at.title[0].value == "Learn"
    assert at.selectbox(key="learn_landscape").value == "branin"
    assert at.multiselect(key="learn_methods").value == ["random", "tpe", "cmaes", "hyperband"]
    assert at.multiselect(key="learn_methods").proto.wrap  # all four chips show, at any width
    search = _search(at)
    assert _title(search) == "Trial 11: where each method has sampled so far"
    assert "frames" not in search  # no second trial control in the browser
    assert not search["layout"].get("sliders") and not search["layout"].get("updatemenus")
    # Short subplot titles (four side by side ran into each other at 900 px), full names in
    # their hover; two subplots a row.
    notes = search["layout"]["annotations"][:4]
    assert [a["text"] for a in notes] == ["Random", "TPE", "CMA-ES", "Hyperband"]
    assert [a["hovertext"] for a in notes] == [
        "Random search", "Bayesian (TPE)", "CMA-ES (evolution strategy)", "Hyperband",
    ]  # fmt: skip
    assert search["layout"]["xaxis2"]["domain"][0] > 0.5 and "xaxis3" in search["layout"]
    assert [at.button(key=k).label for k in ("learn_back", "learn_play", "learn_forward")] == [
        "◀ Back", "▶ Play", "Step ▶",
    ]  # fmt: skip
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


def test_one_trial_control_drives_the_landscapes_and_every_methods_view():
    at = ok(app(LEARN))
    start = _slider(at).value
    assert _shown_trials(_search(at)) == [start] * 4
    ok(at.button(key="learn_forward").click().run())
    assert _slider(at).value == start + 1
    assert _shown_trials(_search(at)) == [start + 1] * 4  # the landscapes moved with it
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
        assert _shown_trials(_search(at)) == [start + 1] * 4
    assert any("stopped early" in t for t in map(_title, _figs(at)))  # Hyperband's view
    at.radio(key="learn_inside_method").set_value("tpe")
    ok(_slider(at).set_value(3).run())
    titles = [_title(f) for f in _figs(at)]
    assert "Trial 3: where it samples next" in titles  # TPE still in its random start-up
    assert _title(_search(at)).startswith("Trial 3:") and _shown_trials(_search(at)) == [3] * 4
    ok(at.button(key="learn_back").click().run())
    assert _slider(at).value == 2
    assert _shown_trials(_search(at)) == [2] * 4


def test_play_steps_the_same_control_and_stops_at_the_last_trial():
    at = app(LEARN)
    at.number_input(key="learn_trials").set_value(6)
    ok(at.run())
    ok(_slider(at).set_value(4).run())
    ok(at.button(key="learn_play").click().run())  # AppTest: each run is one tick of Play
    assert at.session_state["learn_playing"]
    seen = []
    for _ in range(4):
        t = _slider(at).value
        seen.append(t)
        assert _shown_trials(_search(at)) == [t] * 4
        assert any(_title(f).startswith(f"Trial {t}: ") for f in _figs(at)[1:])  # inside
        ok(at.run())
    assert seen == [5, 6, 6, 6]  # the last trial stops Play
    assert not at.session_state["learn_playing"]
    assert at.button(key="learn_play").label == "▶ Play"
    ok(at.button(key="learn_play").click().run())  # at the end, Play starts again at trial 1
    assert _slider(at).value == 2 and _shown_trials(_search(at)) == [2] * 4
    ok(at.button(key="learn_forward").click().run())  # stepping pauses Play
    assert not at.session_state["learn_playing"]
    assert _slider(at).value == 3
    ok(at.button(key="learn_play").click().run())
    assert at.session_state["learn_playing"] and _slider(at).value == 4
    ok(_slider(at).set_value(2).run())  # so does dragging the slider, which wins over Play
    assert not at.session_state["learn_playing"]
    assert _slider(at).value == 2 and _shown_trials(_search(at)) == [2] * 4


def test_regret_is_compared_per_trial_and_at_the_same_budget():
    at = ok(app(LEARN))
    methods = at.multiselect(key="learn_methods").value
    runs = [learn.run_method("branin", m, 30, 0) for m in methods]
    hb = runs[methods.index("hyperband")]
    budget = sum(hb.steps())
    assert budget == learn.same_budget(runs) < 30 * 27  # Hyperband spent the least
    regret = next(f for f in _figs(at) if _title(f).startswith("Regret"))
    by_budget = [t for t in regret["data"] if t.get("xaxis") == "x2"]
    assert [t["x"][-1] for t in by_budget] == [810, 810, 810, budget]
    table = at.dataframe[0].value
    land = get_landscape("branin")
    assert [float(v) for v in table["regret at the same budget"]] == pytest.approx(
        [land.regret(r.best_within(budget)) for r in runs], abs=1e-4
    )
    assert float(table["regret at the same budget"].iloc[3]) == pytest.approx(
        float(table["regret"].iloc[3]), abs=1e-4
    )  # Hyperband's whole run is the same budget
    assert any(
        f"the best each method found within {budget} budget steps" in c and "Hyperband" in c
        for c in texts(at.caption)
    )


def test_regret_is_one_column_where_the_best_possible_is_zero():
    at = ok(app(LEARN))
    ok(at.selectbox(key="learn_landscape").set_value("himmelblau").run())
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "method", "best found (= regret)", "regret at the same budget", "budget steps", "trials",
        "stopped early",
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
    ok(_slider(at).set_value(12).run())
    titles = [_title(f) for f in _figs(at)]
    assert "Trial 9: the next lattice point, in a fixed order" in titles  # grid has 9 trials
    ok(at.radio(key="learn_inside_method").set_value("gp").run())
    titles = [_title(f) for f in _figs(at)]
    assert "Trial 12: a Gaussian process fitted to the 11 trials before" in titles


def test_guess_is_revealed_with_its_distance():
    at = ok(app(LEARN))
    _slider(at).set_value(15).run()
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
