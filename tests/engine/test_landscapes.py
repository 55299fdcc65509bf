"""Landscapes and the Learn engine: optima where the heatmap says, stored grids that match a
fresh measurement, methods that search exactly as a direct Optuna run, and internals that agree
with the trials they explain."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from tuning.core.errors import ConfigError
from tuning.learn import figures as lp
from tuning.learn import search as learn
from tuning.learn.landscapes import (
    DATA_DIR,
    FIDELITY_STEPS,
    REAL_SPECS,
    get_landscape,
    list_landscapes,
    measure,
)
from tuning.methods.hyperopt import HyperoptSampler

SYNTHETIC = [n for n in list_landscapes() if n not in REAL_SPECS]


def _unit(land, x, y):
    return float(land.x.to_unit(x)), float(land.y.to_unit(y))


@pytest.mark.parametrize("name", list_landscapes())
def test_the_heatmaps_best_cell_is_within_one_cell_of_a_known_optimum(name):
    land = get_landscape(name)
    xs, ys, z = land.surface()
    j, i = np.unravel_index(np.argmax(z) if land.maximize else np.argmin(z), z.shape)
    cell_u, cell_v = 1 / (len(xs) - 1), 1 / (len(ys) - 1)
    hu, hv = _unit(land, xs[i], ys[j])
    near = [
        abs(hu - u) <= cell_u + 1e-9 and abs(hv - v) <= cell_v + 1e-9
        for u, v in (_unit(land, ox, oy) for ox, oy in land.optima)
    ]
    assert any(near), (name, xs[i], ys[j], land.optima)
    # The known optimum really is the best value, and no cell of the surface beats it.
    for ox, oy in land.optima:
        assert land.value(ox, oy) == pytest.approx(land.best, abs=1e-5)
    assert (z.max() <= land.best + 1e-9) if land.maximize else (z.min() >= land.best - 1e-9)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_optima_are_local_minima(name):
    land = get_landscape(name)
    for ox, oy in land.optima:
        for dx, dy in ((1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)):
            assert land.value(ox + dx, oy + dy) > land.value(ox, oy)


@pytest.mark.parametrize("name", list(REAL_SPECS))
def test_real_landscape_file_is_small_json_and_interpolates_between_its_points(name):
    path = DATA_DIR / f"{name}.json"
    assert path.stat().st_size < 50_000
    data = json.loads(path.read_text())  # JSON, nothing unpickled
    land = get_landscape(name)
    xs, ys, z = land.surface()
    assert (
        z.shape
        == (len(data["y_values"]), len(data["x_values"]))
        == (
            REAL_SPECS[name].points,
            REAL_SPECS[name].points,
        )
    )
    # At the measured points the landscape is the measurement; between them it stays within
    # the neighbouring measurements.
    for j, i in ((0, 0), (3, 7), (len(ys) - 1, len(xs) - 2)):
        assert land.value(xs[i], ys[j]) == pytest.approx(z[j, i])
    mx, my = math.sqrt(xs[4] * xs[5]), math.sqrt(ys[4] * ys[5])
    corners = z[4:6, 4:6]
    assert corners.min() - 1e-9 <= land.value(mx, my) <= corners.max() + 1e-9
    assert z.max() - z.min() > 0.2  # a landscape, not a plateau


def test_stored_svm_scores_match_a_fresh_cross_validation():
    spec, land = REAL_SPECS["svm_breast_cancer"], get_landscape("svm_breast_cancer")
    xs, ys, z = land.surface()
    ox, oy = land.optima[0]
    i, j = list(xs).index(ox), list(ys).index(oy)
    assert measure(spec, ox, oy) == pytest.approx(z[j, i], abs=1e-4)
    assert measure(spec, xs[0], ys[0]) == pytest.approx(z[0, 0], abs=1e-4)


def test_stored_mlp_score_at_the_optimum_matches_a_fresh_training():
    spec, land = REAL_SPECS["mlp_moons"], get_landscape("mlp_moons")
    xs, ys, z = land.surface()
    ox, oy = land.optima[0]
    i, j = list(xs).index(ox), list(ys).index(oy)
    assert measure(spec, ox, oy) == pytest.approx(z[j, i], abs=1e-4)  # seeded PyTorch training


def test_fidelity_rises_to_the_true_value_at_the_full_budget():
    land = get_landscape("branin")
    for x, y in ((0.0, 5.0), (9.0, 2.0), (-3.0, 12.0)):
        curve = [land.value_at_step(x, y, s) for s in range(1, FIDELITY_STEPS + 1)]
        assert curve[-1] == pytest.approx(land.value(x, y))
        assert all(a >= b for a, b in zip(curve, curve[1:], strict=False))  # minimize: falls
        assert curve[0] > curve[-1]
    with pytest.raises(ConfigError, match="between 1 and"):
        land.value_at_step(0.0, 5.0, 0)


def test_unknown_landscape_and_bad_requests_say_what_to_do():
    with pytest.raises(ConfigError, match="Choose one of: branin"):
        get_landscape("nope")
    with pytest.raises(ConfigError, match="at least one method"):
        learn.check_request("branin", [], 10)
    with pytest.raises(ConfigError, match="at most 4"):
        learn.check_request("branin", ["random", "tpe", "gp", "cmaes", "grid"], 10)
    with pytest.raises(ConfigError, match="cannot run on a landscape"):
        learn.check_request("branin", ["pbt"], 10)
    with pytest.raises(ConfigError, match="between 4 and 100"):
        learn.check_request("branin", ["random"], 2)


# -- methods run exactly as Optuna runs them -------------------------------------------------
def _direct(method: str, seed: int):
    """The sampler and pruner each method stands for, built straight from Optuna's API."""
    tpe = optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True, group=True)
    # The recommended method's own defaults: 5 random start-up trials and the constant liar.
    tpe_default = optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=5, multivariate=True, group=True, constant_liar=True
    )
    return {
        "random": (optuna.samplers.RandomSampler(seed=seed), None),
        "sobol": (optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed), None),
        "tpe": (tpe_default, None),
        "gp": (optuna.samplers.GPSampler(seed=seed), None),
        "cmaes": (optuna.samplers.CmaEsSampler(seed=seed), None),
        "nsga2": (optuna.samplers.NSGAIISampler(seed=seed, population_size=10), None),
        "nsga3": (optuna.samplers.NSGAIIISampler(seed=seed, population_size=10), None),
        "hyperopt_tpe": (HyperoptSampler("tpe", None, seed, {"n_startup_trials": 20}), None),
        "hyperopt_anneal": (HyperoptSampler("anneal", None, seed), None),
        "hyperopt_random": (HyperoptSampler("rand", None, seed), None),
        "hyperband": (tpe, optuna.pruners.HyperbandPruner(1, FIDELITY_STEPS, 3)),
        "successive_halving": (tpe, optuna.pruners.SuccessiveHalvingPruner(1, 3, 0)),
        # Median stopping's n_startup_trials option also reaches its TPE sampler.
        "median": (
            optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=5, multivariate=True, group=True
            ),
            optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        ),
    }[method]


@pytest.mark.parametrize(
    "landscape,method",
    [("branin", m) for m in learn.LEARN_METHODS if m != "grid"]
    + [("svm_breast_cancer", "tpe"), ("svm_breast_cancer", "cmaes")],
)
def test_a_methods_points_match_a_direct_optuna_run_with_the_same_seed(landscape, method):
    n = 14 if method != "gp" else 12
    run = learn.run_method(landscape, method, n, seed=3)
    land = get_landscape(landscape)
    sampler, pruner = _direct(method, 3)
    # Hyperband picks a trial's bracket by hashing the study name; the registry's Hyperband
    # uses the constant "hyperband", so the direct study gets that name.
    study = optuna.create_study(
        study_name="hyperband", direction=land.direction, sampler=sampler, pruner=pruner
    )

    def objective(trial):
        x = trial.suggest_float(land.x.name, land.x.low, land.x.high, log=land.x.log)
        y = trial.suggest_float(land.y.name, land.y.low, land.y.high, log=land.y.log)
        if pruner is None:
            return land.value(x, y)
        for s in range(1, FIDELITY_STEPS + 1):
            trial.report(land.value_at_step(x, y, s), s)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return land.value(x, y)

    study.optimize(objective, n_trials=n)
    direct = study.get_trials(deepcopy=False)
    assert [t.params for t in run.trials] == [t.params for t in direct]
    assert [t.state for t in run.trials] == [t.state for t in direct]
    assert run.values() == [t.value if t.state == TrialState.COMPLETE else None for t in direct]
    if pruner is not None:
        assert any(t.state == TrialState.PRUNED for t in direct)  # something was stopped


def test_grid_runs_the_largest_square_lattice_in_the_budget():
    run = learn.run_method("svm_breast_cancer", "grid", 30, seed=0)
    assert run.n_trials == 25  # 5 x 5 <= 30
    cs = sorted({t.params["C"] for t in run.trials})
    assert cs == pytest.approx([1e-3, 10**-1.5, 1.0, 10**1.5, 1e3], rel=1e-5)  # log-spaced
    assert len({(t.params["C"], t.params["gamma"]) for t in run.trials}) == 25
    assert set(map(tuple, run.lattice)) == {(t.params["C"], t.params["gamma"]) for t in run.trials}


def test_best_so_far_never_gets_worse_and_ignores_stopped_trials():
    run = learn.run_method("branin", "successive_halving", 30, seed=0)
    best = [b for b in run.best_so_far() if b is not None]
    assert all(a >= b for a, b in zip(best, best[1:], strict=False))
    complete = [t.value for t in run.trials if t.state == TrialState.COMPLETE]
    assert best[-1] == min(complete)
    assert sum(run.steps()) < run.n_trials * FIDELITY_STEPS  # early stopping saved budget


# -- internals agree with the trials they explain ----------------------------------------------
def test_tpe_densities_favour_the_good_trials():
    run = learn.run_method("branin", "tpe", 30, seed=0)
    assert learn.tpe_densities(run, 4) is None  # random start-up (5 trials): no model yet
    assert learn.tpe_densities(run, 5) is not None  # the model chose the 6th
    d = learn.tpe_densities(run, 20)
    seen = run.trials[:20]
    n_good = math.ceil(0.1 * 20)
    ranked = sorted(range(20), key=lambda i: seen[i].value)
    assert sorted(d["good"]) == sorted(ranked[:n_good])
    assert len(d["bad"]) == 20 - n_good

    def ratio_at(i):
        land = run.land
        u = np.argmin(np.abs(land.x.to_unit(d["xs"]) - land.x.to_unit(seen[i].params["x"])))
        v = np.argmin(np.abs(land.y.to_unit(d["ys"]) - land.y.to_unit(seen[i].params["y"])))
        return d["log_l"][v, u] - d["log_g"][v, u]

    assert ratio_at(ranked[0]) > ratio_at(ranked[-1])


def test_cmaes_distribution_is_the_one_each_trial_was_drawn_from():
    run = learn.run_method("rosenbrock", "cmaes", 30, seed=1)
    assert learn.cmaes_distribution(run, 0) is None  # Optuna's first trial is a random start
    land = run.land
    for t in range(1, 30):
        d = learn.cmaes_distribution(run, t)
        assert t in d["members"]
        # The trial lies well inside its generation's distribution (unit square, Mahalanobis).
        ex, ey = d["ellipses"][1]
        mu = np.array(_unit(land, *d["mean"]))
        pts = np.array([_unit(land, x, y) for x, y in zip(ex, ey, strict=True)]) - mu
        cov = pts.T @ pts / len(pts) * 2  # points on the 1-sigma ellipse: covariance / 2 each
        p = np.array(_unit(land, run.trials[t].params["x"], run.trials[t].params["y"])) - mu
        assert float(p @ np.linalg.solve(cov, p)) < 25, t


def test_nsga2_generations_are_recorded_per_population():
    run = learn.run_method("himmelblau", "nsga2", 30, seed=0)
    assert learn.generations(run) == [0] * 10 + [1] * 10 + [2] * 10


def test_hyperband_stops_trials_only_at_its_rungs():
    run = learn.run_method("branin", "hyperband", 40, seed=0)
    assert learn.rungs(run) == [1, 3, 9, 27]
    assert len(set(run.brackets)) >= 2
    stopped = [t for t in run.trials if t.state == TrialState.PRUNED]
    # Compared (and stopped) only at a rung; the last rung, 27, can stop a finished trial too.
    assert stopped and all(max(t.intermediate_values) in (1, 3, 9, 27) for t in stopped)
    assert any(max(t.intermediate_values) < 27 for t in stopped)


def test_gp_surrogate_is_sure_near_its_trials_and_expects_no_negative_improvement():
    run = learn.run_method("branin", "random", 15, seed=0)
    d = learn.gp_surrogate(run, 15)
    assert (d["ei"] >= -1e-12).all()
    land, t0 = run.land, run.trials[0]
    u = np.argmin(np.abs(land.x.to_unit(d["xs"]) - land.x.to_unit(t0.params["x"])))
    v = np.argmin(np.abs(land.y.to_unit(d["ys"]) - land.y.to_unit(t0.params["y"])))
    assert d["std"][v, u] < np.median(d["std"])


def test_distance_is_a_fraction_of_the_diagonal_in_the_searched_scale():
    land = get_landscape("svm_breast_cancer")
    assert learn.distance(land, (1e-3, 1e-4), (1e3, 10.0)) == pytest.approx(1.0)
    assert learn.distance(land, (1.0, 0.01), (1.0, 0.01)) == 0.0


# -- per budget spent -----------------------------------------------------------------------
def _made(method: str, trials: list[tuple[float | None, int]]) -> learn.MethodRun:
    """A run from (final score or None if stopped, budget steps spent) per trial."""
    land = get_landscape("branin")
    dist = {"x": land.x.distribution(), "y": land.y.distribution()}
    made = []
    for i, (value, steps) in enumerate(trials):
        made.append(optuna.trial.create_trial(
            params={"x": 0.0, "y": 0.0}, distributions=dist, value=value,
            state=TrialState.COMPLETE if value is not None else TrialState.PRUNED,
            intermediate_values={s: 50.0 for s in range(1, steps + 1)},
        ))  # fmt: skip
        made[-1].number = i
    return learn.MethodRun("branin", method, 0, len(made), "minimize", made)


def test_budget_spent_and_the_best_at_the_same_budget_on_a_known_case():
    full = _made("random", [(9.0, 27), (4.0, 27), (1.0, 27)])  # full runs: 27 steps each
    early = _made("hyperband", [(8.0, 27), (None, 1), (None, 3), (2.0, 27), (None, 1)])
    assert full.steps() == [27, 27, 27] and sum(full.steps()) == 81
    assert early.steps() == [27, 1, 3, 27, 1] and sum(early.steps()) == 59
    assert full.budget_spent() == [27, 54, 81]
    assert early.budget_spent() == [27, 28, 31, 58, 59]
    assert learn.same_budget([full, early]) == 59
    assert full.best_within(59) == 4.0  # trial 3 ended at 81 steps: past the same budget
    assert early.best_within(59) == 2.0  # its whole run
    assert full.best_within(26) is None and early.best_within(30) == 8.0


def test_multi_fidelity_budget_is_the_steps_its_trials_reported():
    full = learn.run_method("branin", "random", 30, 0)
    hb = learn.run_method("branin", "hyperband", 30, 0)
    assert sum(full.steps()) == full.budget_spent()[-1] == 30 * FIDELITY_STEPS
    # Each trial reports every step from 1 until it is stopped or finishes.
    assert sum(hb.steps()) == sum(len(t.intermediate_values) for t in hb.trials)
    same = learn.same_budget([full, hb])
    assert hb.budget_spent()[-1] == same < 30 * FIDELITY_STEPS
    # Random search at the same budget: its best of the full trials that fit in it.
    assert full.best_within(same) == full.best_so_far()[same // FIDELITY_STEPS - 1]


# -- figures stay small ---------------------------------------------------------------------
def test_figure_payloads_stay_small():
    land = get_landscape("branin")
    runs = [learn.run_method("branin", m, 60, 0) for m in ("random", "tpe", "cmaes", "hyperband")]
    fig = lp.search_figure(land, runs, ["a", "b", "c", "d"], ["a", "b", "c", "d"], 60)
    assert len(fig.to_json()) < 300_000
    assert len(lp.regret_figure(land, runs, ["a", "b", "c", "d"]).to_json()) < 100_000
    for run in runs:
        assert len(lp.internals_figure(run, 40).to_json()) < 300_000


# -- the landscapes at one trial ------------------------------------------------------------
def _array(v) -> np.ndarray:
    """A figure's array, whether plain or as Plotly's base64 typed array."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def test_search_figure_shows_trials_up_to_t_and_rings_trial_t_in_every_subplot():
    """No frames and no slider of its own: the page's one trial control draws it at trial t.
    A method with fewer trials (grid: 9 of 12) rings its last one."""
    land = get_landscape("himmelblau")
    runs = [learn.run_method("himmelblau", m, 12, 0) for m in ("random", "hyperband", "grid")]
    fig = lp.search_figure(land, runs, ["Random search", "H", "G"], ["R", "H", "G"], 10).to_dict()
    assert "frames" not in fig and "sliders" not in fig["layout"]
    assert fig["layout"]["title"]["text"].startswith("Trial 10:")
    axes = ("x", "x2", "x3")
    shown = [t for t in fig["data"] if t.get("name") == "the trial shown"]
    assert [t["xaxis"] for t in shown] == list(axes)
    assert [_array(t["customdata"])[0] for t in shown] == [10, 10, 9]
    for run, axis, ring in zip(runs, axes, shown, strict=True):
        k = min(10, run.n_trials)
        points = [t for t in fig["data"] if t.get("xaxis") == axis and t["type"] == "scatter"
                  and t.get("name") in ("trials", "stopped early")]  # fmt: skip
        assert sorted(np.concatenate([_array(t["customdata"]) for t in points])) == list(
            range(1, k + 1)
        )
        x, y = run.xy(k)
        assert (ring["x"][0], ring["y"][0]) == pytest.approx((x[-1], y[-1]))
    # two subplots a row, short titles with the full name in their hover
    assert [(a["text"], a.get("hovertext")) for a in fig["layout"]["annotations"]][0] == (
        "R", "Random search",
    )  # fmt: skip
    assert fig["layout"]["xaxis3"]["anchor"] == "y3" and fig["layout"]["yaxis3"]["domain"][1] < 0.5


@pytest.mark.parametrize("method", learn.LEARN_METHODS)
def test_every_registered_method_has_a_view_of_its_next_choice(method):
    run = learn.run_method("mlp_moons", method, 12, seed=0)
    assert run.land.y.integer and all(isinstance(t.params["width"], int) for t in run.trials)
    t = min(11, run.n_trials - 1)
    fig = lp.internals_figure(run, t)
    assert fig.layout.title.text.startswith(f"Trial {t + 1}")
    assert method in learn.VIEW_NOTES  # a note on what to look for in the view
