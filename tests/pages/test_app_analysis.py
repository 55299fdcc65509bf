"""Analysis page: importance (three methods), the figures, overfitting, advice and Refine."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from app_support import (
    LIVE,
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    metrics,
    ok,
    runs,
    texts,
    wait_until_idle,
)

from tuning import analysis as an
from tuning.core.config import RunConfig
from tuning.models import REGISTRY as MODELS
from tuning.runs import experiments as ex
from ui import analysis_view as view
from ui import state

pytestmark = pytest.mark.usefixtures("fresh_data")


def edge_run() -> str:
    """A 6-trial grid whose top 3 trials all sit at the bottom of n_neighbors' range
    (k=30 beats k=70 on iris's 80-row folds): the advice is to widen it."""
    space = (
        MODELS["knn"].default_space("classification")
        .replace_param("n_neighbors", low=30, high=70, log=False)
        .replace_param("weights", enabled=False, default="uniform")
        .replace_param("p", choices=(1, 2, 3))
    )  # fmt: skip
    return finished_run(n_trials=None, method="grid", grid_points=2, space=space)


def array(v) -> np.ndarray:
    """A figure array as numbers (Plotly 6+ sends numbers as typed arrays)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).astype(float)
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def finite(v) -> list[float]:
    return [x for x in array(v).tolist() if np.isfinite(x)]


def test_analysis_of_a_finished_run_and_refine():
    name = edge_run()
    at = ok(app(state.PAGE_ANALYSIS))
    assert at.selectbox(key=state.LIVE_PICK).value == name

    figs = charts(at)
    assert any(t.startswith("Slices") for t in figs)  # the first tab is open
    for view_name in view.VIEWS[1:]:  # only the open tab is drawn: open each in turn
        at.session_state[view.VIEW] = view_name
        figs |= charts(ok(at.run()))
    expected = (
        "Parameter importance<br>", "Slices", "n_neighbors × p", "Parallel coordinates",
        "Empirical distribution of CV accuracy", "Optimization history", "Timeline of trials",
        "Learning curves", "Overfitting check", "Best CV accuracy against cumulative compute",
        "Where the wall time went", "Is the best really the best?",
    )  # fmt: skip
    for prefix in expected:
        assert any(t.startswith(prefix) for t in figs), (prefix, list(figs))
    imp = next(f for t, f in figs.items() if t.startswith("Parameter importance"))
    assert set(imp["data"][0]["y"]) == {"n_neighbors", "p"} and "error_x" in imp["data"][0]
    slices = next(f for t, f in figs.items() if t.startswith("Slices"))
    assert slices["layout"]["yaxis"]["title"]["text"] == "CV accuracy (higher is better)"

    assert metrics(at)["Useful fraction"].endswith("%")
    assert any("Too few finished trials (6)" in i for i in texts(at.info))  # plateau
    advice = " ".join(texts(at.markdown))
    assert "Widen" in advice and "n_neighbors sits at the bottom of its range" in advice
    changes = next(d.value for d in at.dataframe if "after" in d.value.columns)
    assert changes.to_dict("records") == [
        {"parameter": "n_neighbors", "change": "widen", "now": "30 – 70", "after": "1 – 70"}
    ]
    ranks = next(d.value for d in at.dataframe if "same as best?" in d.value.columns)
    assert ranks["same as best?"].iloc[0] == "best" and len(ranks) == 6

    at.radio(key=view.IMP_METHOD).set_value("ped_anova").run()
    assert any(t.startswith("Parameter importance<br><sup>PED-ANOVA</sup>") for t in charts(ok(at)))

    # Score the top 5 on the test set: the overfitting view then has 5 test scores.
    at.button(key=view.TOP_TEST).click().run()
    over = next(f for t, f in charts(ok(at)).items() if t.startswith("Overfitting check"))
    test = next(tr for tr in over["data"] if tr["name"].startswith("held-out test (95 % on "))
    assert len(finite(test["y"])) == 5
    # each test accuracy with its Wilson interval on the held-out rows
    n = int(test["name"].split(" on ")[1].split(" rows")[0])
    y, up, down = (array(v) for v in (test["y"], test["error_y"]["array"],
                                      test["error_y"]["arrayminus"]))  # fmt: skip
    got = np.isfinite(y)
    wilson = np.array([ex.wilson_interval(v, n) for v in y[got]])
    assert np.allclose(y[got] + up[got], wilson[:, 1]) and np.allclose(y[got] - down[got], wilson[:, 0])
    assert at.button(key=view.TOP_TEST).disabled  # nothing left to refit

    # Refine: a new run with n_neighbors widened, launched and shown on the Live monitor.
    at.button(key=view.REFINE).click().run()
    ok(at)
    wait_until_idle(60)
    new = [r for r in runs() if r.name != name]
    assert len(new) == 1 and new[0].status == "finished"
    config = RunConfig.from_dict(new[0].config)
    assert (config.space["n_neighbors"].low, config.space["n_neighbors"].high) == (1, 70)
    assert config.method == "grid" and config.space["p"].choices == (1, 2, 3)
    assert at.session_state[state.SELECTED_RUN] == new[0].name


def test_live_monitor_and_analysis_show_the_same_importance(monkeypatch):
    """One finished run on both pages: the same importance numbers, from one computation (the
    run's one cache: same evaluator, same bootstrap, same refresh rule)."""
    from tuning.analysis import param_importance

    calls = []
    compute = param_importance.importance

    def counted(run, method=an.DEFAULT_METHOD, **kw):
        calls.append(method)
        return compute(run, method, **kw)

    monkeypatch.setattr(param_importance, "importance", counted)
    finished_run(n_trials=8)
    at = ok(app(LIVE))
    bars = charts(at)["Which settings matter"]
    live = dict(zip(bars["data"][0]["y"], finite(bars["data"][0]["x"]), strict=True))
    assert live and "over 8 complete trials" in bars["layout"]["title"]["subtitle"]["text"]

    at.switch_page(state.PAGE_ANALYSIS).run()
    figs = charts(ok(at))
    label = an.IMPORTANCE_METHODS[an.DEFAULT_METHOD]
    fig = next(
        f for t, f in figs.items() if t.startswith(f"Parameter importance<br><sup>{label}</sup>")
    )
    shown = dict(zip(fig["data"][0]["y"], finite(fig["data"][0]["x"]), strict=True))
    assert shown == live  # the same numbers, to the last bit
    assert "8 complete trials" in fig["layout"]["title"]["text"]
    table = next(d.value for d in at.dataframe if "share" in d.value.columns)
    assert dict(zip(table["parameter"], table["share"], strict=True)) == {
        k: f"{v:.3f}" for k, v in live.items()
    }
    # Computed once, for both pages: the default and its cross-check (do they disagree?).
    assert sorted(calls) == sorted([an.DEFAULT_METHOD, an.CROSS_CHECK])
