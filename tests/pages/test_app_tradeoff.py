"""Multi-objective pages: the objectives picker on New run, the Analysis and Compare pages on
faked score-against-cost runs (tests/mo_support.py: n_estimators buys accuracy with time),
and the trade-off demo on Home."""

from __future__ import annotations

import base64

import numpy as np
import optuna
import pytest
from app_support import (
    NEW_RUN,
    app,
    charts,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    ok,
    runs,
    storage,
    texts,
    tiny_config,
    wait_until_idle,
)
from mo_support import tradeoff_experiment, tradeoff_study

from tuning.runs import experiments as ex
from tuning.store.run import StoredRun
from ui import presets, state
from ui.runs import method_label

pytestmark = pytest.mark.usefixtures("fresh_data")
optuna.logging.set_verbosity(optuna.logging.WARNING)
COMPARE = state.PAGE_COMPARE
PRUNING = "Optuna's pruning does not apply to multi-objective runs"


def numbers(v) -> list[float]:
    """A figure array as numbers (Plotly 6+ sends numbers as typed arrays)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v)


def _knn(at):
    at.selectbox(key="model_classification").set_value("knn").run()
    at.number_input(key="n_trials").set_value(3).run()
    at.slider(key="cv_folds").set_value(3).run()
    return ok(at)


def test_new_run_offers_the_costs_that_apply_to_the_model_and_launches_with_them():
    at = _knn(app(NEW_RUN))
    picker = at.multiselect(key="objectives_knn")
    assert picker.value == []  # single-objective by default
    assert "Parameter count" not in " ".join(picker.options)  # networks only
    assert any(o.startswith("Fit time per trial (lower is better, s)") for o in picker.options)
    assert not [w for w in texts(at.warning) if PRUNING in w]
    at.selectbox(key="model_classification").set_value("mlp").run()
    assert any(
        o.startswith("Parameter count") for o in ok(at).multiselect(key="objectives_mlp").options
    )

    at = _knn(at.selectbox(key="model_classification").set_value("knn").run())
    at.multiselect(key="objectives_knn").select("fit_seconds").run()
    assert any("A multi-objective run: the CV score against fit time per trial" in c
               for c in texts(ok(at).caption))  # fmt: skip
    assert any("Methods that can search several objectives:" in c for c in texts(at.caption))
    at.selectbox(key="method").set_value("random").run()
    at.button(key="launch").click().run()
    ok(at)
    name = at.session_state[state.SELECTED_RUN]
    wait_until_idle()
    config = StoredRun.open(name).config()
    assert config.objectives == ("fit_seconds",) and config.multi_objective


def test_a_multi_fidelity_method_with_costs_is_explained_and_refused():
    at = _knn(app(NEW_RUN))
    at.multiselect(key="objectives_knn").select("fit_seconds").run()
    at.selectbox(key="method").set_value("hyperband").run()
    warning = next(w for w in texts(ok(at).warning) if PRUNING in w)
    assert method_label("random") in warning and method_label("hyperband") in warning
    at.button(key="launch").click().run()
    assert ok(at).error and not runs()  # the engine's message, no traceback, no run


def test_analysis_of_a_multi_objective_run():
    tradeoff_study(storage(), "tradeoff-run", n=40, pruned=2)
    at = ok(app(state.PAGE_ANALYSIS))
    assert at.selectbox(key=state.LIVE_PICK).value == "tradeoff-run"
    assert "Which hyperparameters trade score for cost" in [h.value for h in at.subheader]
    body = " ".join(texts(at.markdown))
    assert "n_estimators buys CV accuracy with fit time per trial: higher values" in body
    assert "Higher max_depth improves CV accuracy without a clear cost" in body
    table = next(d.value for d in at.dataframe if "Fit time per trial (s)" in d.value.columns)
    rho = table.set_index("parameter")
    assert rho.loc["n_estimators", "Fit time per trial (s)"] > 0.9
    assert abs(rho.loc["max_depth", "Fit time per trial (s)"]) < 0.3
    figs = charts(at)
    cost_imp = figs["Importance for Fit time per trial (s) (mean decrease impurity)"]
    bars = cost_imp["data"][0]
    shares = numbers(bars["x"])
    assert bars["y"][shares.index(max(shares))] == "n_estimators"
    assert any(t.startswith("Parameter importance") for t in figs)  # the score's, as always
    assert any("show CV accuracy only, not the costs" in c for c in texts(at.caption))
    assert "Trade-off" in body and "within 1% of the best" in body
    assert any("A multi-objective run: CV accuracy against fit time per trial" in i
               for i in texts(at.info))  # fmt: skip


def test_compare_races_multi_objective_members_by_hypervolume():
    name = tradeoff_experiment(storage(), seeds=(0, 1), n=15)
    at = ok(app(COMPARE))
    assert at.selectbox(key="compare_select").value == name
    figs = charts(at)
    for title in ("Hypervolume by trial", "Hypervolume by time",
                  "Final hypervolume per method"):  # fmt: skip
        assert title in figs, list(figs)
    assert not [t for t in figs if t.startswith("Best score")]
    curve = figs["Hypervolume by trial"]
    assert {t["name"] for t in curve["data"] if t.get("name")} == {
        method_label("random"),
        method_label("tpe"),
    }
    assert curve["layout"]["title"]["subtitle"]["text"].startswith("median over 2 seeds")
    table = next(d.value for d in at.dataframe if "final hypervolume (median)" in d.value.columns)
    assert table["seeds finished"].tolist() == ["2 of 2 seeds finished"] * 2
    assert any(c.startswith("Reference point: CV accuracy") for c in texts(at.caption))


def test_a_new_multi_objective_experiment_offers_only_methods_for_several_objectives():
    at = ok(app(COMPARE))
    at.selectbox(key="cmp_dataset").set_value("iris").run()
    at.selectbox(key="cmp_model").set_value("knn").run()
    assert ok(at).multiselect(key="cmp_methods").value == ["grid", "random", "tpe", "hyperband"]
    at.multiselect(key="cmp_objectives_knn").select("fit_seconds").run()
    methods = ok(at).multiselect(key="cmp_methods_mo")
    assert set(methods.options) == {method_label(m) for m in ex.multi_objective_methods()}
    assert not {method_label(m) for m in ("hyperband", "pbt", "cmaes")} & set(methods.options)


def test_home_trade_off_demo_launches_and_opens_the_live_monitor(monkeypatch):
    if not hasattr(ex, "tradeoff_demo_config"):  # the engine's demo: a tiny stand-in until then
        monkeypatch.setattr(
            ex, "tradeoff_demo_config", lambda: tiny_config(3, objectives=("fit_seconds",)),
            raising=False,
        )  # fmt: skip
        monkeypatch.setattr(presets, "PRESETS", (*presets.PRESETS, presets.TRADEOFF))
    else:
        monkeypatch.setattr(
            ex, "tradeoff_demo_config", lambda: tiny_config(3, objectives=("fit_seconds",))
        )
    at = ok(app())
    card = [m for m in texts(at.markdown) if "Trade-off: accuracy against fit time" in m]
    assert card
    at.button(key="preset_tradeoff").click().run()
    ok(at)
    assert at.title[0].value == "Live monitor"
    name = at.session_state[state.SELECTED_RUN]
    wait_until_idle()
    assert StoredRun.open(name).config().objectives == ("fit_seconds",)


def test_a_single_objective_run_shows_no_trade_off_section():
    study = optuna.create_study(storage=storage(), study_name="one-score", direction="maximize")
    study.set_user_attr("config", tiny_config(12).to_dict())
    study.set_user_attr("scoring", "accuracy")
    study.set_user_attr("status", "finished")
    rng = np.random.default_rng(0)
    dist = {"n_neighbors": optuna.distributions.IntDistribution(1, 30)}
    for _ in range(12):
        k = int(rng.integers(1, 31))
        v = 0.9 - 0.005 * k
        study.add_trial(optuna.trial.create_trial(
            value=v, params={"n_neighbors": k}, distributions=dist,
            user_attrs={"metrics": {"cv_mean": v, "cv_std": 0.01, "fold_scores": [v] * 3,
                                    "fit_seconds": 0.01 * k, "step": 3}},
        ))  # fmt: skip
    at = ok(app(state.PAGE_ANALYSIS))
    heads = [h.value for h in at.subheader]
    assert "Which hyperparameters matter" in heads
    assert "Which hyperparameters trade score for cost" not in heads
    assert not [c for c in texts(at.caption) if "not the costs" in c]
    assert not [i for i in texts(at.info) if "multi-objective" in i]
