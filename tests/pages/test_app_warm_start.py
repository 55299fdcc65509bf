"""New run's "Start from earlier runs": ranked sources, the narrowed space table and its undo,
and a launch whose first trials after the defaults are the source's best."""

from __future__ import annotations

import pytest
from app_support import (
    LIVE,
    NEW_RUN,
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    manager,
    ok,
    storage,
    texts,
)

from tuning.analysis import warm as warm_runs
from tuning.core.config import DatasetRef
from tuning.runs.runner import create_run
from tuning.store.run import StoredRun
from tuning.store.trials import LIBRARY_DEFAULTS, WARM_START, origin_of
from ui import state, warm_view

pytestmark = pytest.mark.usefixtures("fresh_data")


def test_picker_ranks_sources_narrows_undoes_and_seeds_the_launch(monkeypatch):
    # The launch creates the run (queuing its trials) but does not run it: what is checked here
    # is what creation queued, and a run's start costs this test most of its time.
    monkeypatch.setattr(manager(), "submit", lambda config: create_run(config, storage()))
    src = finished_run(10, name="knn-on-iris", method="tpe")
    at = ok(app(NEW_RUN))
    at.selectbox(key="model_classification").set_value("knn").run()
    at.toggle(key="warm_on").set_value(True).run()
    picker = ok(at).multiselect(key="warm_sources")
    assert picker.options == ["knn-on-iris — Iris · similarity 1.00"]
    assert picker.value == picker.options  # the most similar run comes picked: one click seeds
    picker.set_value([]).run()
    assert not any("the same data" in c for c in texts(ok(at).caption))
    at.multiselect(key="warm_sources").set_value(picker.options).run()
    assert any("knn-on-iris: the same data; its parameters match." in c for c in texts(ok(at).caption))
    at.checkbox(key="warm_narrow").check().run()
    assert any("Ranges narrowed: n_neighbors" in c for c in texts(ok(at).caption))
    assert any("Narrowed search space" in m for m in texts(at.markdown))
    at.button(key="warm_restore").click().run()
    assert not ok(at).checkbox(key="warm_narrow").value
    assert not any("Narrowed search space" in m for m in texts(at.markdown))
    at.number_input(key="n_trials").set_value(7).run()
    at.slider(key="cv_folds").set_value(3).run()
    at.button(key="launch").click().run()
    name = ok(at).session_state[state.SELECTED_RUN]
    assert at.title[0].value == "Live monitor"
    account = [c for c in texts(at.caption) if c.startswith("Warm start:")]
    assert account and "from run knn-on-iris (Iris, similarity 1.00)" in account[0], texts(at.caption)
    run = StoredRun.open(name)
    assert run.config().warm_start == (src,)
    origins = [origin_of(t) for t in run.study.trials]
    assert origins[0] == LIBRARY_DEFAULTS and origins[1] == WARM_START


def test_live_monitor_sets_a_warm_start_beside_a_cold_run_of_the_same_search():
    cold = finished_run(6, name="cold-knn")
    warm = finished_run(6, name="warm-knn", warm_start=(cold,))
    at = ok(app(LIVE))
    at.selectbox(key=state.LIVE_PICK).set_value(warm).run()
    said = [c for c in texts(ok(at).caption) + texts(at.warning)
            if "Against a cold run of the same search (cold-knn, no warm start)" in c]  # fmt: skip
    assert said and "the cold run's final best" in said[0], texts(at.caption)
    assert "±" in said[0]  # the fold spread beside every score
    assert "Best so far: warm start against a cold run" in charts(at)


def test_without_a_cold_run_the_monitor_says_so_and_makes_nothing_up():
    src = finished_run(6, name="tpe-source", method="tpe")
    warm = finished_run(6, name="warm-random", warm_start=(src,))
    at = ok(app(LIVE))
    at.selectbox(key=state.LIVE_PICK).set_value(warm).run()
    assert any(c.startswith("No cold run of the same model, method") for c in texts(ok(at).caption))
    assert not any("Against a cold run" in c for c in texts(at.caption) + texts(at.warning))


def test_a_cold_run_that_finishes_later_is_found_on_the_next_look(monkeypatch):
    src = finished_run(6, name="tpe-source", method="tpe")
    warm = finished_run(6, name="warm-knn", warm_start=(src,))
    at = ok(app(LIVE))
    at.selectbox(key=state.LIVE_PICK).set_value(warm).run()
    assert any(c.startswith("No cold run of the same model, method") for c in texts(ok(at).caption))
    finished_run(6, name="cold-knn")  # the presenter runs the same search cold, to compare
    monkeypatch.setattr(warm_view, "COLD_RECHECK_S", 0.0)  # the page's next look, a while later
    at.run()
    said = [c for c in texts(ok(at).caption) + texts(at.warning) if "Against a cold run" in c]
    assert said and "(cold-knn, no warm start)" in said[0], texts(at.caption)


def test_one_click_runs_the_same_search_cold_beside_the_warm_run(monkeypatch):
    # The cold run is created (as the manager would) but not run: what is checked is which
    # search it is, that the warm run stays chosen, and that the page says it is under way.
    submitted = []

    def submit(config):
        submitted.append(config)
        return create_run(config, storage())

    monkeypatch.setattr(manager(), "submit", submit)
    src = finished_run(6, name="tpe-source", method="tpe")
    warm = finished_run(6, name="warm-knn", warm_start=(src,), seed=3)
    at = ok(app(LIVE))
    at.selectbox(key=state.LIVE_PICK).set_value(warm).run()
    at.button(key="warm_run_cold").click().run()
    (cold,) = submitted
    same = ("model", "method", "method_options", "dataset", "scoring", "cv_folds", "seed",
            "n_trials", "space")  # fmt: skip
    was = StoredRun.open(warm).config()
    assert {k: getattr(cold, k) for k in same} == {k: getattr(was, k) for k in same}
    assert cold.warm_start == () and not cold.warm_narrow
    assert ok(at).session_state[state.SELECTED_RUN] == warm  # the presenter's run stays chosen
    said = [c for c in texts(at.caption) if "A cold run of the same search is under way" in c]
    assert said, texts(at.caption)
    assert not [b for b in at.button if b.key == "warm_run_cold"]  # not a second one
    # The cold run is the one the comparison looks for once it has finished.
    assert warm_runs.cold_runs_by_state(StoredRun.open(warm).record(), storage())[1]


def test_a_cold_run_started_elsewhere_is_named_while_it_is_under_way():
    src = finished_run(6, name="tpe-source", method="tpe")
    warm = finished_run(6, name="warm-knn", warm_start=(src,))
    cfg = StoredRun.open(warm).config()
    going = create_run(warm_runs.cold_config(StoredRun.open(warm).record()), storage())  # queued
    assert StoredRun.open(going).config().warm_start == () and cfg.warm_start == (src,)
    at = ok(app(LIVE))
    at.selectbox(key=state.LIVE_PICK).set_value(warm).run()
    said = [c for c in texts(ok(at).caption) if "A cold run of the same search is under way" in c]
    assert said and going in said[0], texts(at.caption)
    assert not [b for b in at.button if b.key == "warm_run_cold"]


def test_a_run_whose_sources_were_all_gone_is_not_offered_a_cold_twin():
    asked = finished_run(6, name="asked-warm", warm_start=("deleted-run",))
    at = ok(app(LIVE))
    at.selectbox(key=state.LIVE_PICK).set_value(asked).run()
    assert any("no configuration of the earlier runs was used" in c for c in texts(ok(at).caption))
    assert not any("cold run" in c.lower() for c in texts(at.caption))
    assert not [b for b in at.button if b.key == "warm_run_cold"]


def test_live_monitor_warns_when_the_sources_scores_run_against_this_runs():
    # k-NN on two noisy moons does best with many neighbours, on digits with few: a warm start
    # from one to the other points the search the wrong way, and the page says so, with the
    # correlation's interval.
    src = finished_run(12, name="knn-moons", dataset=DatasetRef("moons"), method="tpe", seed=0)
    warm = finished_run(12, name="knn-digits", dataset=DatasetRef("digits"), method="tpe",
                        seed=0, warm_start=(src,))  # fmt: skip
    at = ok(app(LIVE))
    at.selectbox(key=state.LIVE_PICK).set_value(warm).run()
    said = [w for w in texts(ok(at).warning) if "knn-moons's scores run against this run's" in w]
    assert said and "95 % interval" in said[0] and "12 scored trials" in said[0], texts(at.warning)
