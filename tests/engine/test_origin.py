"""Every trial's origin (issue 26): recorded when it is proposed or queued, and why a pruner
stopped it, in one plain sentence (tuning/store/origin.py, tuning/methods/origins.py).

Known answers: TPE's start-up trials are numbered against its n_startup_trials and the library
defaults count as one; a grid's trials are its points in order; a pruned trial's median or rung
cut-off is recomputed here from the other trials; CMA-ES's generations are those it stored; a
population member that copied another says whom and how it perturbed; a study made outside
Tuning Studio gets a sentence, not a traceback.
"""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from conftest import make_config
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.trial import TrialState

from tuning.cli import main
from tuning.core.config import DatasetRef, RunConfig
from tuning.methods.origins import Seen, decide, tpe_origin
from tuning.methods.pbt import Population
from tuning.models import REGISTRY as MODELS
from tuning.runs.prepare import prepare
from tuning.runs.runner import create_run, execute
from tuning.store import compat
from tuning.store.origin import (
    GRID,
    LIBRARY_DEFAULTS,
    MODEL,
    POPULATION,
    PROPOSED,
    START_UP,
    Origin,
    count_line,
)
from tuning.store.results import TrialFeed
from tuning.store.runs import load_study
from tuning.store.trials import (
    TrialMetrics,
    origin_sentence,
    origin_words,
    retry_attrs,
    trial_origin,
    trial_pruning,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _run(storage, config: RunConfig):
    name = create_run(config, storage)
    assert execute(name, storage) == "finished"
    return name, load_study(name, storage).get_trials(deepcopy=False)


def test_tpe_start_up_trials_are_numbered_and_the_rest_model_guided(storage):
    config = make_config("knn", "tpe", n_trials=6, method_options={"n_startup_trials": 3})
    name, trials = _run(storage, config)
    origins = [trial_origin(t) for t in trials]
    assert [o.label for o in origins] == [LIBRARY_DEFAULTS, START_UP, START_UP, MODEL, MODEL, MODEL]
    # The defaults are one of the 3 finished trials TPE waits for: the random ones are 2 and 3.
    assert [(o.k, o.n) for o in origins[1:3]] == [(2, 3), (3, 3)]
    assert [(o.by, o.finished) for o in origins[3:]] == [("TPE", 3), ("TPE", 4), ("TPE", 5)]
    assert origin_sentence(trials[0]) == "Queued: the library defaults."
    assert origin_sentence(trials[2]).startswith(
        "Start-up trial 3 of 3: drawn at random before TPE has enough finished trials to model"
    )
    assert origin_sentence(trials[5]) == "Proposed by TPE, from the 5 trials finished by then."
    frame = TrialFeed(load_study(name, storage)).refresh()
    assert count_line(frame["origin_kind"]) == "3 model-guided, 2 start-up, 1 library defaults"


@pytest.mark.parametrize(("method", "options", "labels", "by"), [
    ("hyperopt_tpe", {"n_startup_trials": 3},
     [LIBRARY_DEFAULTS, START_UP, START_UP, MODEL, MODEL], "Hyperopt TPE"),
    ("hyperopt_anneal", {}, [LIBRARY_DEFAULTS] + [MODEL] * 4, "Hyperopt annealing"),
    ("hyperopt_random", {}, [LIBRARY_DEFAULTS] + ["random"] * 4, None),
])  # fmt: skip
def test_hyperopt_methods_say_where_their_trials_came_from(storage, method, options, labels, by):
    _, trials = _run(storage, make_config("knn", method, n_trials=5, method_options=options))
    origins = [trial_origin(t) for t in trials]
    assert [o.label for o in origins] == labels
    guided = [o for o in origins if o.label == MODEL]
    assert all(o.by == by for o in guided) and [o.finished for o in guided] == list(
        range(len(trials) - len(guided), len(trials))
    )


def test_warm_start_trials_say_they_came_from_an_earlier_run(storage):
    source, _ = _run(storage, make_config("knn", "random", n_trials=4, name="source"))
    _, trials = _run(storage, make_config("knn", "tpe", n_trials=5, warm_start=(source,)))
    kinds = [origin_words(t)[0] for t in trials]
    assert kinds[0] == LIBRARY_DEFAULTS and kinds[1] == "warm start"
    assert origin_sentence(trials[1]) == (
        "Queued: one of the best configurations of an earlier run (warm start)."
    )


def test_a_grid_run_says_which_point_of_how_many(storage):
    config = make_config("knn", "grid")
    name, trials = _run(storage, config)
    n = len(trials)
    assert n == config.space.grid_size(config.grid_points) > 1
    origins = [trial_origin(t) for t in trials]
    assert {o.kind for o in origins} == {GRID}
    assert sorted(o.k for o in origins) == list(range(1, n + 1)) and {o.n for o in origins} == {n}
    assert origin_sentence(trials[0]) == f"Grid point 1 of {n}."
    frame = TrialFeed(load_study(name, storage)).refresh()
    assert count_line(frame["origin_kind"]) == f"{n} grid points"


def test_median_stopping_records_the_step_and_the_median_it_fell_below(storage):
    config = make_config("knn", "median", n_trials=10)
    _, trials = _run(storage, config)
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, "the seed's run prunes at least one trial"
    for t in pruned:
        p = trial_pruning(t)
        assert p.by == "median stopping" and p.unit == "fold" and p.of == config.cv_folds
        assert p.step == TrialMetrics.of(t).pruned_step == max(t.intermediate_values)
        # The median of the trials complete before it, at that step, recomputed here.
        before = [u.intermediate_values[p.step] for u in trials
                  if u.state == TrialState.COMPLETE and u.datetime_complete < t.datetime_complete]  # fmt: skip
        assert p.among == len(before) and p.against == pytest.approx(np.median(before))
        assert p.value == pytest.approx(max(t.intermediate_values.values()))
        assert p.value < p.against
        assert f"stopped at fold {p.step} of {config.cv_folds} by median stopping: its best " \
               "score so far was below the median" in origin_sentence(t)  # fmt: skip


def test_hyperband_records_the_rung_and_its_cut_off(storage):
    config = make_config("knn", "hyperband", n_trials=10)
    _, trials = _run(storage, config)
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned
    for t in pruned:
        p = trial_pruning(t)
        assert p.by == "Hyperband" and p.rung == compat.completed_rungs(t) and p.bracket >= 1
        assert p.value < p.against and p.among >= 3  # outside the top third of its rung
        assert f"stopped at rung {p.rung} (fold {p.step} of 3) of bracket {p.bracket}" in (
            origin_sentence(t)
        )
    promoted = [t for t in trials if t.state == TrialState.COMPLETE and compat.completed_rungs(t)]
    assert promoted and "promoted through 1 rung" in origin_sentence(promoted[0])


def test_cmaes_records_its_generations(storage):
    # A forest's max_depth default (None) lies outside the space: no defaults trial here.
    config = make_config("random_forest", "cmaes", n_trials=8)
    _, trials = _run(storage, config)
    origins = [trial_origin(t) for t in trials]
    assert (origins[0].kind, origins[0].k, origins[0].n) == (START_UP, 1, 1)
    generations = [compat.generation_attr(t) for t in trials[1:]]
    assert [(o.kind, o.by, o.generation) for o in origins[1:]] == [
        (MODEL, "CMA-ES", g) for _, g in generations
    ]
    assert generations[0][1] == 0 and generations[-1][1] >= 1
    assert "Proposed by CMA-ES, generation 0" in origin_sentence(trials[1])


def test_population_members_record_exploit_and_perturbation():
    space = (
        MODELS["mlp"].default_space("classification")
        .replace_param("width", low=8, high=16).replace_param("n_layers", enabled=False, default=1)
        .replace_param("learning_rate", low=1e-3, high=1e-1).replace_param("epochs", low=2, high=4)
    )  # fmt: skip
    config = RunConfig(
        dataset=DatasetRef("iris"), model="mlp", method="pbt", space=space, cv_folds=3,
        n_jobs=1, seed=3, method_options={"population_size": 4, "interval": 2},
    )  # fmt: skip
    prep = prepare(config)
    pop = Population(optuna.create_study(direction=prep.direction), prep)
    assert pop.run() == "finished"
    trials = pop.study.get_trials(deepcopy=False)
    origins = [trial_origin(t) for t in trials]
    assert {o.kind for o in origins} == {POPULATION}
    assert [o.label for o in origins[:4]] == ["random"] * 4
    copied = [(t, o) for t, o in zip(trials, origins, strict=True) if o.copied]
    assert copied and all(o.label == "copied and perturbed" for _, o in copied)
    t, o = copied[0]
    source = o.copied["from_member"]
    sentence = origin_sentence(t)
    assert f"Member {o.member}, generation 1 copied member {source}" in sentence
    for name, (old, new, how) in o.changes.items():
        assert how in ("x0.8", "x1.2", "resampled", "one choice up", "one choice down")
        assert t.params[name] == new and f"{name} {how}" in sentence
        if how.startswith("x") and old != 0 and new not in (1e-3, 1e-1):
            assert new / old == pytest.approx(float(how[1:]), rel=1e-6) or name != "learning_rate"
    kept = [o for o in origins[4:] if not o.copied]
    assert kept and all(o.label == "continued" and o.parent is not None for o in kept)


def test_a_study_made_outside_tuning_studio_gets_sentences_not_a_traceback(storage):
    plain = optuna.create_study(study_name="plain", storage=storage, sampler=TPESampler(seed=0))
    plain.enqueue_trial({"x": 0.5})
    plain.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
    frame = TrialFeed(plain).refresh()
    assert list(frame["origin_text"]) == [
        "Queued by hand.",
        "The sampler that proposed it is not known.",
        "The sampler that proposed it is not known.",
    ]
    assert count_line(frame["origin_kind"]) == "2 of unknown origin, 1 queued by hand"
    genetic = optuna.create_study(
        study_name="genetic", storage=storage,
        sampler=optuna.samplers.NSGAIISampler(seed=0, population_size=2),
    )  # fmt: skip
    genetic.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
    sentences = list(TrialFeed(genetic).refresh()["origin_text"])
    assert sentences[2] == "Proposed by NSGA-II, generation 1."


def test_the_constant_liar_says_how_many_trials_were_running():
    study = optuna.create_study()
    liar = tpe_origin(study, None, TPESampler(n_startup_trials=2, constant_liar=True),
                      lambda: Seen(finished=4, complete=4, running=2))  # fmt: skip
    assert (liar.kind, liar.finished, liar.running) == (MODEL, 4, 2)
    assert "2 other trials were running, and it counted them as bad results (the constant " \
           "liar)" in liar.sentence  # fmt: skip
    honest = tpe_origin(study, None, TPESampler(n_startup_trials=2, constant_liar=False),
                        lambda: Seen(finished=4, complete=4, running=2))  # fmt: skip
    assert honest.running is None and "running" not in honest.sentence


class _OwnSampler(BaseSampler):
    """Stands for a method's own sampler (a BaseSampler the rules do not know)."""

    def __init__(self, seed: int) -> None:
        self.random = RandomSampler(seed=seed)

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, name, distribution):
        return self.random.sample_independent(study, trial, name, distribution)


def test_a_method_gives_its_own_origin_and_unknown_samplers_a_generic_one():
    seen = []

    def own(study, trial, sampler, had) -> Origin:
        return Origin(MODEL, by="Own model", finished=had().finished)

    def objective(trial: optuna.Trial) -> float:
        seen.append((decide(trial.study, trial, None, "Own search"),
                     decide(trial.study, trial, own, "Own search")))  # fmt: skip
        return trial.suggest_float("x", 0, 1)

    study = optuna.create_study(sampler=_OwnSampler(seed=0))
    study.optimize(objective, n_trials=2)
    generic, ruled = seen[1]
    assert (generic.kind, generic.sentence) == (PROPOSED, "proposed by Own search")
    assert (ruled.by, ruled.finished) == ("Own model", 1)


def test_a_retried_trial_keeps_its_origin_and_says_whom_it_replaces(storage):
    _, trials = _run(storage, make_config("knn", "tpe", n_trials=4,
                                          method_options={"n_startup_trials": 2}))  # fmt: skip
    again = Origin.from_attr(retry_attrs(trials[3])["proposed"])
    assert again.kind == MODEL and again.retry_of == 3
    assert again.sentence.endswith("run again in place of trial 3, whose worker stopped")


def test_show_lists_where_the_top_trials_came_from(storage, journal_path, capsys):
    url = f"journal:///{journal_path}"
    name, _ = _run(storage, make_config("knn", "tpe", n_trials=4,
                                        method_options={"n_startup_trials": 2}))  # fmt: skip
    assert main(["show", name, "--storage", url]) == 0
    out = capsys.readouterr().out
    # The most common first; ties in the order of their names.
    assert "Trials came from: 2 model-guided, 1 library defaults, 1 start-up." in out
    assert "  0  Queued: the library defaults." in out
