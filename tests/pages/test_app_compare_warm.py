"""Compare with warm-started copies (issue 27): the form's toggle and its ranked sources, and a
finished race that shows the warm copy as its own row with what its warm start bought."""

from __future__ import annotations

import pytest
from app_support import (  # noqa: F401
    app,
    finished_run,
    fresh_data,
    manager,
    ok,
    storage,
    texts,
    wait_until_idle,
)

from tuning.core.config import DatasetRef, RunConfig
from tuning.runs import experiments as ex
from tuning.store.runs import load_study

pytestmark = pytest.mark.usefixtures("fresh_data")
COMPARE = "app_pages/compare.py"


def test_a_finished_race_shows_the_warm_copy_and_what_it_bought():
    src = finished_run(6, name="knn-on-wine", method="tpe", dataset=DatasetRef("wine"))
    base = RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=5, cv_folds=2, n_jobs=1)
    name = ex.create_experiment(ex.ExperimentConfig(
        base=base, methods=("random", "tpe"), seeds=(0, 1), warm_start=(src,),
        warm_methods=("tpe",),
    ), storage())  # fmt: skip
    ex.run_experiment(name, storage())
    at = ok(app(COMPARE))
    assert at.selectbox(key="compare_select").value == name
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Random search", "Bayesian (TPE)", "Bayesian (TPE) with warm start"]
    bought = [s for s in texts(at.caption) + texts(at.warning) if "arm start from run" in s]
    assert len(bought) == 1, texts(at.caption)
    line = bought[0].replace("\\", "")
    assert line.startswith("Warm start from run knn-on-wine (Wine, similarity 0.85): reached "
                           "cold Bayesian (TPE)'s final best after ")  # fmt: skip
    # two seeds: each seed's trial, not a median of two ("trial 1.5")
    assert " on seed 0 (cold: after " in line and " on seed 1 (cold: after " in line, line
    assert ".5 " not in line and "final best " in line and "(mean ± std over seeds" in line
    assert "tpe+warm" not in " ".join(texts(at.caption) + texts(at.info))  # no internal name
    # no grid and no target score: no table of "n/a" for time to target, the caption says why
    assert not any("trials to target" in frame.value.columns for frame in at.dataframe)
    assert any("Time to target needs grid search" in c for c in texts(at.caption))
    gains = at.dataframe[1].value  # the gain over the defaults: the warm copy has its own row
    assert list(gains["method"]) == list(table["method"])
    for frame in at.dataframe:
        assert "tpe+warm" not in frame.value.to_string()
    home = ok(app()).dataframe[0].value  # Home's row: two methods and one warm copy, not "3 methods"
    row = home["run"].str.startswith(name[:6]) & home["run"].str.contains("(experiment", regex=False)
    assert home.loc[row, "method"].iloc[0] == "2 methods + 1 warm copy"


def test_the_form_offers_ranked_sources_and_launches_warm_copies(monkeypatch):
    src = finished_run(6, name="knn-on-wine", method="tpe", dataset=DatasetRef("wine"))
    finished_run(4, name="svm-on-iris", method="tpe", model="svm")  # another model: not offered
    finished_run(3, name="knn-on-diabetes", method="tpe", dataset=DatasetRef("diabetes"))
    made = []  # the launch creates the experiment; running it is the test above's
    monkeypatch.setattr(ex, "start_experiment", lambda name, m: made.append(name) or [])
    at = ok(app(COMPARE))
    at.selectbox(key="cmp_dataset").set_value("iris").run()
    at.selectbox(key="cmp_model").set_value("knn").run()
    at.multiselect(key="cmp_methods").set_value(["grid", "random", "tpe"]).run()
    at.number_input(key="cmp_folds").set_value(2).run()
    at.toggle(key="cmp_warm_on").set_value(True).run()
    ok(at)
    assert at.multiselect(key="cmp_warm_methods").options == ["Random search", "Bayesian (TPE)"]
    assert at.multiselect(key="cmp_warm_methods").value == ["tpe"]  # the first model-based
    sources = at.multiselect(key="cmp_warm_sources")
    assert sources.options == ["knn-on-wine — Wine · similarity 0.85"]
    assert sources.value == sources.options  # the most similar run, ready to go
    captions = texts(at.caption)
    assert "knn-on-wine: similar data; its parameters match." in captions
    refused = [c for c in captions if c.startswith("Not offered:")]
    assert refused == ["Not offered: knn-on-diabetes: it is a regression task and this one is "
                       "classification."]  # fmt: skip
    ok(at.button(key="cmp_go").click().run())
    exps = ex.list_experiments(storage())
    assert len(exps) == 1 and made == [exps[0].name]
    cfg = exps[0].config
    assert cfg.warm_start == (src,) and cfg.warm_methods == ("tpe",)
    warm = [r for r in exps[0].runs if r["method"] == "tpe+warm"]
    assert len(warm) == 1 and "--tpe-warm--" in warm[0]["run"]
    assert load_study(warm[0]["run"], storage()).user_attrs["config"]["warm_start"] == [src]


def test_with_no_method_that_can_start_from_earlier_runs_the_form_says_so():
    at = ok(app(COMPARE))
    at.multiselect(key="cmp_methods").set_value(["grid"]).run()
    at.toggle(key="cmp_warm_on").set_value(True).run()
    assert any("None of the methods chosen can start from earlier runs" in c
               for c in texts(ok(at).caption))  # fmt: skip
