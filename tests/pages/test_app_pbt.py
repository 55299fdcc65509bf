"""Population-based training in the app: New run's PBT options and launch; Live monitor and
Analysis on a PBT run show the population, the lineage and the schedule."""

from __future__ import annotations

import pytest
from app_support import (
    LIVE,
    NEW_RUN,
    app,
    charts,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    metrics,
    ok,
    runs,
    storage,
    texts,
    wait_until_idle,
)

from tuning.core.config import DatasetRef, RunConfig
from tuning.models import REGISTRY as MODELS
from tuning.runs.runner import RunHandle, create_run
from tuning.store.run import StoredRun
from ui import state

pytestmark = pytest.mark.usefixtures("fresh_data")

PBT_CHARTS = ("Population: validation score per epoch", "Lineage of the best member",
              "Hyperparameter schedule of the best member")  # fmt: skip


def _pbt_form(at):
    at.selectbox(key="model_classification").set_value("mlp").run()
    at.selectbox(key="method").set_value("pbt").run()
    return ok(at)


def test_new_run_shows_pbt_options_and_launches_a_pbt_run():
    at = _pbt_form(app(NEW_RUN))
    assert at.number_input(key="pbt_population").value == 8
    assert at.number_input(key="pbt_interval").value == 4
    assert at.slider(key="pbt_quantile").value == 0.25
    assert at.slider(key="pbt_resample").value == 0.25
    assert (
        at.number_input(key="pbt_factor_down").value,
        at.number_input(key="pbt_factor_up").value,
    ) == (0.8, 1.2)
    assert at.multiselect(key="pbt_mutable").value == [
        "learning_rate",
        "dropout",
        "weight_decay",
        "batch_size",
    ]
    assert "n_trials" not in [w.key for w in at.number_input]  # the budget is members x epochs
    caption = " ".join(texts(at.caption))
    assert "8 members x 60 epochs" in caption and "480 epochs in all" in caption
    at.number_input(key="pbt_population").set_value(2).run()
    at.number_input(key="pbt_interval").set_value(30).run()
    at.multiselect(key="pbt_mutable").set_value(["learning_rate"]).run()
    assert "= 120 epochs in all, recorded as 4 segments (trials)" in " ".join(texts(ok(at).caption))
    at.button(key="launch").click().run()
    assert ok(at).title[0].value == "Live monitor"
    wait_until_idle(120)
    name = at.session_state[state.SELECTED_RUN]
    config = StoredRun.open(name).config()
    assert (config.method, config.n_trials) == ("pbt", 4)
    assert config.method_options["mutable"] == ["learning_rate"]
    assert config.method_options["population_size"] == 2
    assert runs()[0].status == "finished"


def test_pbt_on_a_model_without_epochs_is_refused_clearly():
    at = ok(app(NEW_RUN))
    at.selectbox(key="method").set_value("pbt").run()
    assert any("needs a model that trains in epochs" in w for w in texts(ok(at).warning))
    at.button(key="launch").click().run()
    assert any("needs a model that trains in epochs" in e for e in texts(ok(at).error))
    assert runs() == []


def _pbt_run(stop_early: bool = False) -> str:
    space = (
        MODELS["mlp"].default_space("classification")
        .replace_param("width", low=8, high=16).replace_param("n_layers", enabled=False, default=1)
        .replace_param("epochs", low=2, high=40 if stop_early else 6)
    )  # fmt: skip
    config = RunConfig(dataset=DatasetRef("iris"), model="mlp", method="pbt", space=space,
                       cv_folds=3, n_jobs=1, method_options={"population_size": 4, "interval": 2})  # fmt: skip
    store = storage()
    name = create_run(config, store)
    h = RunHandle(name, store).start()
    if stop_early:
        import time

        from tuning.store.runs import load_study

        study = load_study(name, store)
        end = time.time() + 60
        while time.time() < end and len(study.get_trials(deepcopy=False)) < 9:
            time.sleep(0.02)
        h.stop()
    h.join(120)
    return name


def test_live_monitor_and_analysis_show_population_lineage_and_schedule():
    name = _pbt_run()
    at = ok(app(LIVE))
    assert at.selectbox(key=state.LIVE_PICK).value == name
    assert metrics(at)["Trials done"] == "12"
    figs = charts(at)
    assert set(PBT_CHARTS) <= {t.split("<br>")[0] for t in figs}
    pop = figs[PBT_CHARTS[0]]
    members = [d for d in pop["data"] if d["name"].startswith("member ")]
    assert len(members) == 4
    assert any(d["name"].startswith("exploit") for d in pop["data"])
    assert any("the best member's own network" in s for s in texts(at.success))
    assert at.expander and any("Exploit and explore events" in e.label for e in at.expander)

    at = ok(app(state.PAGE_ANALYSIS))
    figs = charts(at)
    assert set(PBT_CHARTS) <= {t.split("<br>")[0] for t in figs}

    at = ok(app(state.PAGE_REPORT))
    assert any("the best member's own network" in c for c in texts(at.caption))


def test_a_stopped_pbt_run_offers_no_resume_and_says_why():
    _pbt_run(stop_early=True)
    at = ok(app(LIVE))
    assert not [b for b in at.button if b.key == "resume_run"]
    assert any("cannot be resumed" in i for i in texts(at.info))
