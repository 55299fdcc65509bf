"""Why did it try that? (issue 26): a trial's proposal replayed on Analysis and on Learn, for a
run the studio made (its own sampler) and for a study made outside it (a sampler the user
picks); what cannot be replayed says why in a sentence."""

from __future__ import annotations

import foreign_support as fs
import optuna
import pytest
from app_support import (
    app,
    charts,
    finished_run,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    ok,
    storage,
    texts,
)
from optuna.trial import create_trial

from ui import replay_view, state

pytestmark = pytest.mark.usefixtures("fresh_data")
KEY = "analysis"


def _trial_key(name: str) -> str:
    return f"{KEY}_replay_trial_{name}"


def _replay_chart(at) -> dict:
    return next(f for t, f in charts(at).items() if "what the method knew" in t)


def test_analysis_replays_a_tpe_trial_and_says_why_a_start_up_one_cannot_be():
    # 12 trials: the library defaults, 2 random start-up draws, then 9 from TPE's model.
    name = finished_run(n_trials=12, method="tpe", method_options={"n_startup_trials": 3})
    at = ok(app(state.PAGE_ANALYSIS))
    assert replay_view.HEADING in texts(at.subheader)
    assert ("9 of 12 trials were proposed by the model and can be replayed; the others cannot "
            "(2 start-up, 1 library defaults).") in texts(at.caption)  # fmt: skip
    slider = at.select_slider(key=_trial_key(name))
    assert slider.options == [str(n) for n in range(12)]
    shown = int(slider.value)
    assert shown >= 3  # a model-guided trial by default
    said = next(m for m in texts(at.markdown) if m.startswith(f"**Trial {shown}.**"))
    assert "likelier under the good trials than the bad" in said
    fig = _replay_chart(at)
    stars = [t for t in fig["data"] if t.get("name") == "the replayed trial"]
    assert len(stars) == 3  # one per panel: good, other, their ratio
    assert any(f"finished before trial {shown} began" in c for c in texts(at.caption))

    at.button(key=f"{_trial_key(name)}_back").click().run()
    assert int(ok(at).select_slider(key=_trial_key(name)).value) == shown - 1
    at.select_slider(key=_trial_key(name)).set_value(0).run()
    assert at.button(key=f"{_trial_key(name)}_back").disabled  # the first trial
    at.button(key=f"{_trial_key(name)}_next").click().run()
    assert any(i.startswith("Trial 1 was not proposed by a model (start-up trial 2 of 3")
               for i in texts(ok(at).info))  # fmt: skip
    assert not [t for t in charts(at) if "what the method knew" in t]  # no empty chart

    # A trial more (as while a run works): the trial picked stays picked.
    study = optuna.load_study(study_name=name, storage=storage())
    last = study.trials[-1]
    study.add_trial(create_trial(params=last.params, distributions=last.distributions,
                                 value=last.value))  # fmt: skip
    slider = ok(at.run()).select_slider(key=_trial_key(name))
    assert slider.options[-1] == "12" and int(slider.value) == 1


def test_a_foreign_study_is_replayed_as_the_method_picked():
    fs.single(storage())
    at = app()
    at.query_params["run"] = "plain-single"
    at = ok(at.switch_page(state.PAGE_ANALYSIS).run())
    assert any("which sampler proposed its trials" in i and "Pick a method" in i
               for i in texts(at.info))  # fmt: skip
    pick = at.selectbox(key=f"{KEY}_replay_as_plain-single")
    assert pick.value == "tpe" and pick.options == [
        "Bayesian (TPE)",
        "Bayesian (Gaussian process)",
        "CMA-ES",
    ]
    last = fs.N_TRIALS - 1
    assert int(at.select_slider(key=_trial_key("plain-single")).value) == last
    said = next(m for m in texts(at.markdown) if m.startswith(f"**Trial {last}.**"))
    assert "likelier under the good trials" in said
    at.select_slider(key=_trial_key("plain-single")).set_value(2).run()
    assert any("Only 2 trials had finished before trial 2" in i for i in texts(ok(at).info))
    for kind in ("gp", "cmaes"):  # whatever the engine says, a sentence and no traceback
        at.selectbox(key=f"{KEY}_replay_as_plain-single").set_value(kind).run()
        said = [m for m in texts(ok(at).markdown) if m.startswith("**Trial 2.**")]
        why = [i for i in texts(at.info) if "trial 2" in i.lower() or "reasoning of" in i]
        assert said or why, texts(at.info)


def test_learn_replays_one_of_your_runs():
    name = finished_run(n_trials=8, method="tpe", method_options={"n_startup_trials": 3})
    at = ok(app("app_pages/learn.py"))
    assert replay_view.YOUR_HEADING in texts(at.subheader)
    pick = at.selectbox(key=replay_view.YOUR_RUN)
    assert pick.value is None and pick.options == [name]
    pick.set_value(name).run()
    shown = int(ok(at).select_slider(key=f"learn_replay_trial_{name}").value)
    said = next(m for m in texts(at.markdown) if m.startswith(f"**Trial {shown}.**"))
    assert "likelier under the good trials" in said
    assert at.slider  # Learn's own trial control is still there


def test_a_random_search_says_it_has_no_reasoning_to_replay():
    finished_run(n_trials=4, method="random")
    at = ok(app(state.PAGE_ANALYSIS))
    assert replay_view.HEADING in texts(at.subheader)
    assert ("Random search does not learn from the trials: each point is chosen without "
            "looking at the scores so far, so there is no reasoning to replay.") in texts(at.info)  # fmt: skip
    assert not [t for t in charts(at) if "what the method knew" in t]


def test_a_method_replay_cannot_read_names_what_it_reads_in_words():
    from tuning.methods import get_method
    from ui.replay_view import unreplayable

    said = unreplayable(get_method("hyperopt_tpe"))
    assert "cannot replay: replay reads TPE and the Gaussian process and CMA-ES and NSGA-II" in said
    assert "Sampler" not in said
