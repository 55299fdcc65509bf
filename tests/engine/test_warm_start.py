"""Warm starts from earlier runs (issue 27): sources ranked by how similar their data is, their
best configurations fitted to the new space and queued first, refusals in one sentence."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier

from tuning import TuningSearchCV
from tuning.analysis import warm as warm_analysis
from tuning.analysis.warm import warm_start_line
from tuning.cli import main
from tuning.core.config import DatasetRef, RunConfig
from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace, cat_param, float_param, int_param
from tuning.report.html import build_report, report_markdown
from tuning.runs import warmstart
from tuning.runs.prepare import prepare
from tuning.runs.runner import create_run, execute
from tuning.store.records import RunRecord
from tuning.store.runs import delete_run, load_study
from tuning.store.storage import open_storage
from tuning.store.trials import LIBRARY_DEFAULTS, WARM_START, origin_of


def knn(dataset: str = "iris", **kw) -> RunConfig:
    base = dict(dataset=DatasetRef(dataset), model="knn", method="tpe", n_trials=6, cv_folds=3,
                n_jobs=1)  # fmt: skip
    base.update(kw)
    return RunConfig(**base)


@pytest.fixture
def store():
    return optuna.storages.InMemoryStorage()


@pytest.fixture
def sources(store):
    """Finished knn runs on iris and breast cancer, and a logistic regression on iris."""
    for name, cfg in {
        "knn-iris": knn("iris", n_trials=10),
        "knn-cancer": knn("breast_cancer", n_trials=6),
        "logreg-iris": RunConfig(DatasetRef("iris"), "logistic_regression", n_trials=2,
                                 cv_folds=3, n_jobs=1),
    }.items():  # fmt: skip
        assert execute(create_run(cfg.__class__(**{**cfg.__dict__, "name": name}), store), store)
    return store


def test_the_same_data_ranks_first_and_other_models_are_not_offered(sources):
    found = warmstart.candidates(prepare(knn("iris")), sources)
    assert [c.run for c in found] == ["knn-iris", "knn-cancer"]
    assert found[0].similarity == 1.0 and found[0].reason.startswith("the same data")
    assert found[1].similarity < 1.0 and all(c.usable for c in found)


def test_similarity_on_known_meta_features():
    iris = warmstart.MetaFeatures("classification", 150, 4, 1.0, 0.0)
    wine = warmstart.MetaFeatures("classification", 178, 13, 0.68, 0.0)
    digits = warmstart.MetaFeatures("classification", 1797, 64, 0.96, 0.0)
    diabetes = warmstart.MetaFeatures("regression", 442, 10, None, 0.0)
    assert warmstart.data_similarity(iris, iris) == 1.0
    assert warmstart.data_similarity(iris, wine) > warmstart.data_similarity(iris, digits)
    assert warmstart.data_similarity(iris, diabetes) == 0.0


def test_seeds_are_queued_marked_and_evaluated_first(sources):
    name = create_run(knn("wine", name="warm", warm_start=("knn-iris",)), sources)
    waiting = load_study(name, sources).get_trials(deepcopy=False)
    origins = [origin_of(t) for t in waiting]
    assert origins[0] == LIBRARY_DEFAULTS and origins[1:] == [WARM_START] * (len(origins) - 1)
    assert 2 <= len(origins) - 1 <= warmstart.TOP_K
    execute(name, sources)
    trials = load_study(name, sources).get_trials(deepcopy=False)
    best_src = warmstart.best_configs(load_study("knn-iris", sources).trials, "maximize")
    first = [t.params for t in trials[1 : len(origins)]]
    assert first == best_src[: len(first)]  # the source's best, in its order, scored first
    record = RunRecord.from_study(load_study(name, sources))
    assert record.warm_start["sources"][0]["run"] == "knn-iris"
    line = warm_start_line(record, _frame(trials))
    assert line.startswith(f"Warm start: {len(first)} configurations from run knn-iris (Iris")


def _frame(trials) -> pd.DataFrame:
    return pd.DataFrame(
        {"number": t.number, "state": t.state.name.lower(), "value": t.value,
         "origin": origin_of(t)} for t in trials
    )  # fmt: skip


def test_the_account_says_when_the_search_passed_them():
    record = RunRecord("r", "finished", "maximize", {}, warm_start={
        "sources": [{"run": "x", "dataset": "Iris", "similarity": 0.9}], "note": ""})  # fmt: skip
    rows = [(0, 0.80, LIBRARY_DEFAULTS), (1, 0.90, WARM_START), (2, 0.85, None), (3, 0.95, None)]
    df = pd.DataFrame(rows, columns=["number", "value", "origin"]).assign(state="complete")
    line = warm_start_line(record, df)
    assert line == (
        "Warm start: 1 configuration from run x (Iris, similarity 0.90); "
        "the search has since passed them at trial 3."
    )
    df.loc[1, "value"] = 0.7  # below the defaults: said so
    assert "did not help" in warm_start_line(record, df)
    df.loc[1, "value"] = 0.99
    assert "the best so far came from the warm start (trial 1)" in warm_start_line(record, df)


def test_out_of_space_configurations_are_clipped_or_dropped_and_listed():
    space = SearchSpace((
        float_param("C", 0.01, 100.0, log=True), cat_param("kernel", ["rbf", "linear"]),
        int_param("degree", 2, 5),
    ))  # fmt: skip
    configs = [
        {"C": 1.0, "kernel": "rbf"}, {"C": 500.0, "kernel": "linear"},
        {"C": 1.0, "kernel": "poly"}, {"C": 2.0, "kernel": "poly", "degree": 3},
        {"C": 3.0, "kernel": "rbf", "gamma": 0.1},
    ]  # fmt: skip
    kept, note = warmstart.fit_to_space(configs, space)
    assert kept == [{"C": 1.0, "kernel": "rbf"}, {"C": 100.0, "kernel": "linear"},
                    {"C": 3.0, "kernel": "rbf"}]  # fmt: skip
    assert note == (
        "kept 3, clipped 1 (C to 100), "
        "dropped 2 (kernel 'poly' not searched; kernel 'poly' not searched)"
    )


def test_narrowing_spans_the_good_trials_and_keeps_the_full_ranges(sources):
    space = SearchSpace((int_param("k", 1, 100), float_param("C", 1e-3, 1e3, log=True)))
    good = [{"k": 10, "C": 0.1}, {"k": 20, "C": 10.0}]
    narrowed, words = warmstart.narrow_space(space, good)
    assert (narrowed["k"].low, narrowed["k"].high) == (9, 21)
    # The padded span 10**-1.2 to 10**1.2, rounded outwards to 3 significant digits to be read
    assert (narrowed["C"].low, narrowed["C"].high) == (0.063, 15.9)
    assert 0.063 <= 10**-1.2 and 10**1.2 <= 15.9
    assert words == ["k 9-21 (was 1-100)", "C 0.063-15.9 (was 0.001-1000)"]
    name = create_run(knn("wine", name="narrow", warm_start=("knn-iris",), warm_narrow=True), sources)
    cfg = RunRecord.from_study(load_study(name, sources)).config
    assert cfg.full_space is not None and cfg.full_space["n_neighbors"].high == 50
    assert cfg.space["n_neighbors"].high <= 50


def test_refusals_say_why_in_one_sentence(sources):
    prep = prepare(knn("diabetes", model="knn"))  # a regression task
    (cand, _), = warmstart.judge_named(prep, sources, ("knn-iris",))
    assert not cand.usable and cand.reason == "it is a classification task and this one is regression"
    (cand, _), = warmstart.judge_named(prepare(knn("iris")), sources, ("logreg-iris",))
    assert cand.reason.startswith("it tuned Logistic regression, not")
    minimize = prepare(knn("iris", scoring="neg_log_loss"))
    if minimize.direction == "minimize":
        (cand, _), = warmstart.judge_named(minimize, sources, ("knn-iris",))
        assert cand.reason == "its score is maximized and this run's is minimized"
    name = create_run(knn("wine", name="refused", warm_start=("logreg-iris",)), sources)
    note = RunRecord.from_study(load_study(name, sources)).warm_start["note"]
    assert note.startswith("Run logreg-iris is not used: it tuned Logistic regression")


def test_another_direction_is_refused(sources):
    study = optuna.create_study(study_name="other-tool", storage=sources, direction="minimize")
    study.optimize(lambda t: t.suggest_int("n_neighbors", 1, 50), n_trials=3)
    (cand, _), = warmstart.judge_named(prepare(knn("iris")), sources, ("other-tool",))
    assert cand.reason == "its score is minimized and this run's is maximized"


def test_a_plain_optuna_study_with_matching_parameters_is_a_source(sources):
    study = optuna.create_study(study_name="plain", storage=sources, direction="maximize")
    for k in (3, 8, 15, 30):
        study.enqueue_trial({"n_neighbors": k})
    study.optimize(lambda t: t.suggest_int("n_neighbors", 1, 50) / 50, n_trials=4)
    found = {c.run: c for c in warmstart.candidates(prepare(knn("iris")), sources)}
    assert found["plain"].usable and found["plain"].similarity is None
    assert "uses n_neighbors; " not in found["plain"].reason  # all its params are searched
    name = create_run(knn("wine", name="from-plain", warm_start=("plain",)), sources)
    seeds = [t for t in load_study(name, sources).trials if origin_of(t) == WARM_START]
    assert len(seeds) == 4


def test_a_deleted_source_does_not_break_creation(sources):
    delete_run("knn-cancer", sources)
    name = create_run(knn("wine", name="after", warm_start=("knn-cancer", "knn-iris")), sources)
    note = RunRecord.from_study(load_study(name, sources)).warm_start["note"]
    assert "Run knn-cancer is not used: it is not in this storage (deleted or renamed?)." in note
    assert any(origin_of(t) == WARM_START for t in load_study(name, sources).trials)


def test_a_grid_cannot_be_warm_started():
    with pytest.raises(ConfigError, match="does not start from earlier runs"):
        prepare(knn(method="grid", warm_start=("x",)))


def test_old_configurations_load_without_a_warm_start():
    d = knn().to_dict()
    for key in ("warm_start", "warm_narrow", "full_space"):
        d.pop(key)
    cfg = RunConfig.from_json(json.dumps(d))
    assert cfg.warm_start == () and cfg.warm_narrow is False and cfg.full_space is None
    assert RunConfig.from_json(knn(warm_start=("a",)).to_json()).warm_start == ("a",)


def test_score_agreement_on_a_known_answer():
    space = SearchSpace((int_param("k", 1, 50),))
    dist = {"k": IntDistribution(1, 50)}
    src = [optuna.trial.create_trial(params={"k": k}, distributions=dist, value=k / 50) for k in range(1, 51, 5)]
    same = [optuna.trial.create_trial(params={"k": k}, distributions=dist, value=k) for k in (3, 9, 20, 33, 47)]
    flipped = [optuna.trial.create_trial(params={"k": k}, distributions=dist, value=-k) for k in (3, 9, 20, 33, 47)]
    assert warmstart.score_agreement(same, src, space) == pytest.approx(1.0)
    assert warmstart.score_agreement(flipped, src, space) == pytest.approx(-1.0)
    assert warmstart.score_agreement(same[:3], src, space) is None


def test_the_command_line_warm_start(tmp_path, capsys):
    url = f"journal:///{tmp_path / 'runs.journal'}"
    common = ["run", "--model", "knn", "--trials", "4", "--folds", "3", "--quiet",
              "--n-jobs", "1", "--storage", url]  # fmt: skip
    assert main([*common, "--dataset", "iris", "--name", "src"]) == 0
    assert main([*common, "--dataset", "wine", "--name", "dst", "--warm-start", "src", "gone"]) == 0
    err = capsys.readouterr().err
    assert "Warm start: Run src (similar data" in err and "Run gone is not used" in err
    trials = load_study("dst", open_storage(url)).trials
    assert [origin_of(t) for t in trials[:2]] == [LIBRARY_DEFAULTS, WARM_START]
    assert RunRecord.from_study(load_study("dst", open_storage(url))).config.warm_start == ("src", "gone")
    assert main(["show", "dst", "--storage", url]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Warm start:")]
    assert shown and "from run src (Iris, similarity" in shown[0], shown
    assert main(["report", "dst", "--format", "md", "-o", str(tmp_path / "r.md"), "--storage", url]) == 0
    md = (tmp_path / "r.md").read_text()
    assert "| Warm start |" in md and "configurations from run src (Iris, similarity" in md


def test_tuning_search_cv_warm_start(tmp_path):
    url = f"journal:///{tmp_path / 'runs.journal'}"
    X, y = load_iris(return_X_y=True)
    space = {"n_neighbors": IntDistribution(1, 30), "p": FloatDistribution(1.0, 2.0)}
    TuningSearchCV(KNeighborsClassifier(), space, n_trials=5, cv=3, storage=url,
                   run_name="first").fit(X, y)  # fmt: skip
    again = TuningSearchCV(KNeighborsClassifier(), space, n_trials=8, cv=3, storage=url,
                           run_name="second", warm_start=["first"]).fit(X, y)  # fmt: skip
    # Data given in Python is not kept, so its similarity is unknown; its configurations are used.
    assert again.warm_start_note_.startswith("Run first (its data cannot be loaded")
    assert "its parameters match): kept" in again.warm_start_note_
    origins = [origin_of(t) for t in again.study_.trials]
    assert origins[0] == LIBRARY_DEFAULTS and WARM_START in origins[1:6]
    assert np.isfinite(again.best_score_)


def test_scores_of_this_run_weigh_in_once_there_are_enough(sources):
    prep = prepare(knn("iris"))
    name = create_run(knn("iris", name="now", n_trials=6), sources)
    execute(name, sources)
    scored = load_study(name, sources).get_trials(deepcopy=False)
    before = {c.run: c for c in warmstart.candidates(prep, sources, exclude=name)}
    after = {c.run: c for c in warmstart.candidates(prep, sources, exclude=name, scored=scored)}
    rho = warmstart.score_agreement(scored, load_study("knn-iris", sources).trials, prep.space)
    assert rho is not None and "rank correlation" in after["knn-iris"].reason
    assert after["knn-iris"].similarity == pytest.approx((1.0 + (rho + 1) / 2) / 2, abs=1e-3)
    assert before["knn-iris"].similarity == 1.0


def _scored(ks, score):
    dist = {"k": IntDistribution(1, 50)}
    return [optuna.trial.create_trial(params={"k": k}, distributions=dist, value=score(k)) for k in ks]


def test_agreement_states_follow_known_landscapes_and_say_their_uncertainty():
    space = SearchSpace((int_param("k", 1, 50),))
    src = _scored(range(1, 51, 3), lambda k: -abs(k - 40))  # best near k = 40 there
    here = list(range(2, 50, 4))  # 12 trials of this run
    rng = np.random.default_rng(0)
    noisy = _scored(here, lambda k: -abs(k - 40) + rng.normal(0, 5))
    same = warmstart.agreement(noisy, src, space)
    opposite = warmstart.agreement(_scored(here, lambda k: abs(k - 40)), src, space)
    unrelated = warmstart.agreement(_scored(here, lambda k: (k // 4) % 2), src, space)  # zigzag
    assert same.low > 0 and same.rho > 0.6 and same.n == 12
    assert opposite.high < 0 and opposite.rho < -0.9
    assert unrelated.low < 0 < unrelated.high  # no link: the interval holds 0
    # A correlation from fewer trials is less sure; a perfect one from 6 is not taken as proof.
    few = warmstart.agreement(noisy[:6], src, space)
    assert few.rho == 1.0 and few.low < 0.9


def test_a_source_whose_best_configurations_do_badly_here_is_said_to_run_against(sources):
    # k-NN on two noisy moons does best with many neighbours, on digits with few: a warm start
    # from one to the other is known to point the wrong way.
    def knn_run(dataset, **kw):
        cfg = RunConfig(dataset=DatasetRef(dataset), model="knn", method="tpe", n_trials=12,
                        cv_folds=3, n_jobs=1, seed=0, **kw)  # fmt: skip
        name = create_run(cfg, sources)
        execute(name, sources)
        return load_study(name, sources)

    src = knn_run("moons", name="knn-moons")
    study = knn_run("digits", name="knn-digits", warm_start=("knn-moons",))
    record = RunRecord.from_study(study)
    trials = warm_analysis.source_trials(record, sources)
    assert set(trials) == {"knn-moons"}
    assert src.best_params["n_neighbors"] > study.best_params["n_neighbors"]
    (seen,) = warm_analysis.source_agreements(record, study.get_trials(), trials)
    assert seen.state == "against" and seen.agreement.high < 0, seen.sentence
    assert "knn-moons's scores run against this run's" in seen.sentence
    assert "95 % interval" in seen.sentence and "over this run's 12 scored trials" in seen.sentence
    # Before enough of this run's trials are scored, nothing is said.
    assert warm_analysis.source_agreements(record, study.get_trials()[:7], trials) == []
    # The report a presenter takes away says it too.
    md = report_markdown(build_report(study, figures=False, sources=trials))
    assert "| Warm-start source | knn-moons's scores run against this run's" in md
