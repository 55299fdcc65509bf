"""The samplers' reasoning replayed on real runs (issue 26, tuning/analysis/replay.py): TPE's and
the Gaussian process's acquisition rank the trial's actual point near the top, CMA-ES's trials lie
within the distribution they were drawn from, and what cannot be replayed says why in a sentence.
The 90 % target over models and datasets is benchmarks/replay_faithfulness.py.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import optuna
from conftest import make_config
from optuna.distributions import FloatDistribution
from optuna.samplers import CmaEsSampler
from optuna.trial import TrialState, create_trial

from tuning.analysis import replay as replay_module
from tuning.analysis.replay import Replay, groups, known_before, picture, replay, tpe_replay
from tuning.methods import get_method
from tuning.runs.runner import create_run, execute
from tuning.store.runs import load_study
from tuning.store.trials import trial_origin


def test_model_guided_trials_rank_near_the_top_and_others_say_why(storage):
    config = make_config("knn", "tpe", n_trials=14, method_options={"n_startup_trials": 3})
    name = create_run(config, storage)
    assert execute(name, storage, refit=False) == "finished"
    study = load_study(name, storage)
    sampler = get_method("tpe").sampler(0, config.method_options)
    replays = [tpe_replay(study, n, sampler) for n in range(14)]
    assert replays[0] == ("Trial 0 was not proposed by TPE's model (queued: the library "
                          "defaults).")  # fmt: skip
    assert replays[1].startswith("Trial 1 was not proposed by TPE's model (start-up trial 2 of 3")
    guided = [r for r in replays if isinstance(r, Replay)]
    assert len(guided) == 11 and [r.trial for r in guided] == list(range(3, 14))
    assert all(r.known == r.trial and r.running == 0 for r in guided)  # one worker, in order
    ranks = sorted(r.rank for r in guided)
    # TPE proposed each point as the best of its candidates: most rank in the top tenth.
    assert ranks[len(ranks) // 2] >= 0.9 and ranks[0] > 0.5
    assert guided[-1].sentence.startswith("TPE, from 13 finished trials (")
    assert "likelier under the good trials than the bad" in guided[-1].sentence
    assert tpe_replay(study, 99, sampler) == "There is no trial 99 in this run."


def test_groups_split_conditional_parameters_as_tpe_does():
    def trial(**params):
        return create_trial(params=params, value=0.0, distributions={
            k: FloatDistribution(0, 1) for k in params})  # fmt: skip

    found = groups([trial(C=0.1, gamma=0.2), trial(C=0.3, degree=0.5), trial(C=0.2, gamma=0.1)])
    assert sorted(map(sorted, found)) == [["C"], ["degree"], ["gamma"]]


def test_known_before_takes_finished_trials_and_counts_running_ones():
    t0 = dt.datetime(2026, 1, 1)

    def trial(number, start, end, state=TrialState.COMPLETE):
        t = create_trial(params={"x": 0.1}, distributions={"x": FloatDistribution(0, 1)},
                         value=0.0 if state == TrialState.COMPLETE else None, state=state)  # fmt: skip
        t.number = number
        t.datetime_start = t0 + dt.timedelta(seconds=start)
        t.datetime_complete = None if end is None else t0 + dt.timedelta(seconds=end)
        return t

    trials = [trial(0, 0, 1), trial(1, 1, 5), trial(2, 2, None, TrialState.RUNNING),
              trial(3, 3, 4)]  # fmt: skip
    known, running = known_before(trials, trials[3])
    assert [t.number for t in known] == [0] and running == 2  # trials 1 and 2 were running
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_picture_draws_two_parameters_with_the_others_held_and_marks_the_trial(storage):
    config = make_config("knn", "tpe", n_trials=10, method_options={"n_startup_trials": 3})
    name = create_run(config, storage)
    assert execute(name, storage, refit=False) == "finished"
    study = load_study(name, storage)
    r = tpe_replay(study, 9, get_method("tpe").sampler(0, config.method_options))
    assert isinstance(r, Replay)
    names = list(r.space)
    pic = picture(r, names[:2], n=20)
    assert pic.params == names[:2] and [lay.kind for lay in pic.layers] == ["good", "bad", "ratio"]
    shape = tuple(len(g) for g in reversed(pic.grids))
    assert all(lay.z.shape == shape for lay in pic.layers)
    trial = study.trials[9]
    assert pic.actual == tuple(trial.params[p] for p in names[:2])
    assert set(pic.coords) == {t.number for t in r.model.known}
    one = picture(r, names[:1], n=20)
    assert one.layers[0].z.shape == (len(one.grids[0]),)
    assert picture(r, ["nope"]).startswith("Trial 9 did not search nope: pick one or two of")
    assert r.sentence.startswith("TPE, from 9 finished trials (") and "nearest trial" in r.sentence


def test_gp_replay_ranks_its_points_at_the_top_and_draws_mean_doubt_and_improvement(
    storage, monkeypatch
):
    config = make_config("knn", "gp", n_trials=14)  # the sampler's 10 start-up trials, then 4
    name = create_run(config, storage)
    assert execute(name, storage, refit=False) == "finished"
    study = load_study(name, storage)
    sampler = get_method("gp").sampler(0, config.method_options)
    replays = [replay(study, n, sampler) for n in range(14)]
    assert replays[3].startswith("Trial 3 was not proposed by a model (start-up trial 4 of 10")
    guided = [r for r in replays if isinstance(r, Replay)]
    assert [r.trial for r in guided] == [10, 11, 12, 13]
    # The sampler proposed each point as the maximum of its expected improvement.
    assert sorted(r.rank for r in guided)[len(guided) // 2] >= 0.9
    last = guided[-1]
    assert last.sentence.startswith("Gaussian process (GP), from 13 finished trials: expected "
                                    "improvement here is ")  # fmt: skip
    assert " times its median over the space, above " in last.sentence
    assert math.exp(last.score - last.median) > 1  # above the median: the ratio says so
    pic = picture(last, list(last.space)[:2], n=20)
    assert [lay.kind for lay in pic.layers] == ["mean", "std", "acquisition"]
    # The mean is the score's guess, in its units (accuracy here): within the scores' range.
    scores = [t.value for t in last.model.known]
    mean = pic.layers[0].z
    assert min(scores) - 0.05 <= mean.min() and mean.max() <= max(scores) + 0.05
    assert (pic.layers[1].z >= 0).all()
    # The fit it started from is recorded with each trial; retracing the sampler's path of fits
    # instead (for studies made elsewhere) gives the same model.
    assert all(trial_origin(study.trials[r.trial]).kernel is not None for r in guided)
    monkeypatch.setattr(replay_module, "GP_PATH", 10**6)
    for r in guided:
        retraced = replay(study, r.trial, sampler)
        assert math.isclose(retraced.score, r.score, rel_tol=1e-6, abs_tol=1e-9)
    monkeypatch.setattr(replay_module, "GP_PATH", 0)  # fitted afresh: the note says so
    assert "the kernel was fitted afresh, not along all the sampler's 3 fits, so the model is " \
        "close, not exact" in replay(study, 13, sampler).model.note
    cma = replay(study, 12, CmaEsSampler(seed=0))
    assert cma.startswith("Trial 12 has no CMA-ES generation: CMA-ES did not draw it")


def test_cmaes_replay_puts_each_point_within_its_generations_distribution(storage):
    config = make_config("svm", "cmaes", n_trials=12)
    name = create_run(config, storage)
    assert execute(name, storage, refit=False) == "finished"
    study = load_study(name, storage)
    sampler = get_method("cmaes").sampler(0, config.method_options)
    replays = [replay(study, n, sampler) for n in range(12)]
    assert replays[0].startswith("Trial 0 was not proposed by a model (start-up trial 1 of 1")
    guided = [r for r in replays if isinstance(r, Replay)]
    # A trial drawn over C and gamma that then left gamma unused (a linear kernel) cannot be
    # placed in the distribution, and says so; every other one is replayed.
    unused = [r for r in replays[1:] if isinstance(r, str)]
    assert all("but the trial did not use gamma" in r for r in unused)
    assert len(guided) + len(unused) == 11 and len(guided) >= 8
    # Drawn from the distribution: a few standard deviations from its mean at most, and
    # denser there than most random points of the space.
    gaps = [math.sqrt(2 * (r.model.facts["peak"] - r.score)) for r in guided]
    assert max(gaps) < 3.5
    assert sorted(r.rank for r in guided)[len(guided) // 2] >= 0.8
    last = guided[-1]
    g = int(last.model.facts["generation"])
    assert last.sentence.startswith(f"CMA-ES generation {g} (sigma ")
    assert "standard deviations from the mean of its search distribution" in last.sentence
    members = last.model.marks[f"generation {g}"]
    assert all(r.trial in members for r in guided if r.model.facts["generation"] == g
               and r.trial < last.trial)  # fmt: skip
    assert set(members) | set(last.model.marks["earlier"]) == {t.number for t in last.model.known}
    pic = picture(last, ["C", "gamma"], n=20)
    assert [lay.kind for lay in pic.layers] == ["density"]
    density = pic.layers[0].z
    assert density.max() <= 1.0 and np.isfinite(density).all()
    assert last.model.ellipses(["C", "gamma"]) == {}  # CMA-ES models C alone (gamma depends)


def test_cmaes_outlines_its_distribution_in_the_parameters_units(storage):
    config = make_config("random_forest", "cmaes", n_trials=8)
    name = create_run(config, storage)
    assert execute(name, storage, refit=False) == "finished"
    study = load_study(name, storage)
    r = replay(study, 7, get_method("cmaes").sampler(0, config.method_options))
    assert isinstance(r, Replay)
    rings = r.model.ellipses(["max_depth", "n_estimators"])
    (x1, y1), (x2, y2) = rings["1 standard deviation"], rings["2 standard deviations"]
    assert len(x1) == len(y1) == 61
    # In the parameters' units (each widened by half a step, as CMA-ES samples integers), the
    # inner outline within the outer one's reach.
    assert 1.5 <= x2.min() <= x1.min() and x1.max() <= x2.max() <= 4.5  # max_depth 2..4
    assert 4.5 <= y2.min() <= y1.min() and y1.max() <= y2.max() <= 10.5  # n_estimators 5..10

def test_gp_note_says_what_the_replay_leaves_out():
    space = {"C": FloatDistribution(1e-2, 1e2, log=True), "gamma": FloatDistribution(0, 1)}
    assert replay_module.gp_note(space, space, 0) == ""
    note = replay_module.gp_note(space, {"C": space["C"]}, 2)
    assert note.startswith("gamma drawn at random; ")
    assert "counted the 2 running trials, left out here" in note


def test_a_choice_below_the_top_tenth_says_why_for_its_sampler():
    import numpy as np

    from tuning.analysis.replay import Model

    def model(by: str, running: int = 0) -> Model:
        return Model(by=by, known=[], running=running, acquisition=lambda p: np.zeros(1),
                     layers=lambda p: [], facts={"candidates": 24, "generation": 2,
                                                 "sigma": 0.2, "peak": 0.0})  # fmt: skip

    def one(by: str, rank: float, running: int = 0) -> Replay:
        return Replay(trial=7, model=model(by, running), space={}, point={}, score=0.0,
                      rank=rank, best=None, nearest=None, median=0.0)  # fmt: skip

    assert "draws 24 candidates from the good trials' density" in one("TPE", 0.5).sentence
    assert "local search" in one("GP", 0.7).sentence
    assert "one point in twenty" in one("CMA-ES", 0.3).sentence
    assert "left out here" in one("TPE", 0.5, running=2).sentence
    assert one("TPE", 0.95).why_not_top and "candidates" not in one("TPE", 0.95).sentence
    assert "above all 1,000 random points" in one("TPE", 1.0).sentence
    assert "above more than 99% of the 1,000 random points" in one("TPE", 0.9996).sentence  # not 100%


def test_a_genetic_child_names_the_parents_that_carry_its_values(storage):
    from tuning.plots.replay import replay_figure

    config = make_config("knn", "nsga2", n_trials=16, method_options={"population_size": 4})
    name = create_run(config, storage)
    assert execute(name, storage, refit=False) == "finished"
    study = load_study(name, storage)
    sampler = get_method("nsga2").sampler(0, config.method_options)
    replays = [replay(study, n, sampler) for n in range(16)]
    # the first generation is drawn at random: its trials say so
    first = [r for r in replays if isinstance(r, str) and "not proposed by a model" in r]
    children = [r for r in replays if isinstance(r, Replay)]
    assert first and len(children) >= 8
    by_number = {t.number: t for t in study.trials}
    carried = 0
    for r in children:
        g = int(r.model.facts["generation"])
        assert r.sentence.startswith(f"NSGA-II generation {g}: a child of the ")
        parents = r.model.marks["parents"]
        for param, owners in r.model.inherited.items():
            # the known answer: every parent named carries exactly the child's value
            value = by_number[r.trial].params[param]
            assert all(by_number[p].params.get(param) == value for p in owners)
            assert set(owners) <= set(parents)
            carried += bool(owners)
    # uniform crossover hands each value down from a parent; mutation redraws about one value
    # per child: most values are carried
    assert carried >= 0.6 * sum(len(r.model.inherited) for r in children)
    pic = picture(children[-1], list(children[-1].space)[:2])
    fig = replay_figure(pic, "t")
    assert pic.layers == [] and any(tr.name == "the replayed trial" for tr in fig.data)
    assert any(tr.name == "its generation's parents" for tr in fig.data)
