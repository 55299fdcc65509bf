"""Your own estimator on the pages (issue 16): a TuningSearchCV run opens on Live monitor,
Analysis and Report with its CV scores, and what needs the estimator rebuilt here (Resume,
Refine, the report's refit and reproduce script) says why it is not offered."""

from __future__ import annotations

import pytest
from app_support import (
    app,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    metrics,
    ok,
    texts,
)
from optuna.distributions import FloatDistribution
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tuning import TuningSearchCV
from tuning.store.storage import default_url
from ui import state

pytestmark = pytest.mark.usefixtures("fresh_data")


@pytest.fixture
def own_run() -> str:
    X, y = load_iris(return_X_y=True, as_frame=True)
    search = TuningSearchCV(
        LogisticRegression(max_iter=300), {"C": FloatDistribution(1e-2, 1e2, log=True)},
        method="random", n_trials=4, cv=3, storage=default_url(), run_name="my-logistic",
        random_state=0,
    ).fit(X, y)  # fmt: skip
    return search.run_name_


def page_with(run: str, page: str):
    at = app()
    at.query_params["run"] = run
    return ok(at.switch_page(page).run())


def everything(at) -> list[str]:
    return texts([*at.info, *at.caption, *at.markdown, *at.warning, *at.error])


def test_live_monitor_and_analysis_show_an_own_estimator_run(own_run):
    at = page_with(own_run, "app_pages/live_monitor.py")
    assert metrics(at)["Trials done"] == "4"
    at = page_with(own_run, state.PAGE_ANALYSIS)
    assert any("handed to TuningSearchCV as a Python object" in t for t in everything(at)), (
        "Refine must say why it is not offered"
    )


def test_report_refuses_refit_and_script_with_the_reason(own_run):
    at = page_with(own_run, state.PAGE_REPORT)
    said = everything(at)
    assert any("Python object" in t and "Refitting the best model" in t for t in said), said
    assert any("The reproduce script is not offered" in t for t in said), said
    prepare = [b for b in at.button if b.label == "Prepare the best model"]
    assert prepare and prepare[0].disabled
