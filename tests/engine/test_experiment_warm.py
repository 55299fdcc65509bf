"""Compare races a warm-started copy of a method beside the cold one (issue 27): the members,
what the warm start bought over seeds on a known case, and the command line's flags."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from tuning.analysis import warm
from tuning.core.config import DatasetRef, RunConfig
from tuning.core.errors import ConfigError
from tuning.runs import entries
from tuning.runs import experiments as ex
from tuning.runs.runner import create_run, execute
from tuning.store.records import RunRecord
from tuning.store.runs import load_study
from tuning.store.storage import open_storage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path):
    return open_storage(f"journal:///{tmp_path}/runs.journal")


def base(**kw) -> RunConfig:
    return RunConfig(dataset=DatasetRef("iris"), model="knn", n_trials=4, cv_folds=2, **kw)


@pytest.fixture
def source(store):
    """A finished cold knn run on wine: the earlier run the warm copies start from."""
    name = create_run(replace(base(method="tpe"), dataset=DatasetRef("wine"), n_trials=6,
                              name="knn-wine"), store)  # fmt: skip
    assert execute(name, store) == "finished"
    return name


def warm_exp(**kw) -> ex.ExperimentConfig:
    return ex.ExperimentConfig(base=base(), methods=("tpe", "random"), seeds=(0, 1), **kw)


# -- members -----------------------------------------------------------------------------------
def test_a_warm_copy_is_its_own_member_with_the_sources_and_a_plain_label(store, source):
    name = ex.create_experiment(warm_exp(warm_start=(source,), warm_methods=("tpe",),
                                         name="race"), store)  # fmt: skip
    info = ex.get_experiment(name, store)
    assert info.config.entries == ("tpe", "tpe+warm", "random")
    assert [(r["method"], r["seed"]) for r in info.runs] == [
        (m, s) for s in (0, 1) for m in ("tpe", "tpe+warm", "random")
    ]
    runs = {(r["method"], r["seed"]): r["run"] for r in info.runs}
    assert runs[("tpe+warm", 1)] == "race--tpe-warm--seed1"
    assert ex.experiment_of("race--tpe-warm--seed1") == "race"
    warm_cfg = load_study(runs[("tpe+warm", 0)], store).user_attrs["config"]
    cold_cfg = load_study(runs[("tpe", 0)], store).user_attrs["config"]
    assert warm_cfg["method"] == "tpe" and warm_cfg["warm_start"] == [source]
    assert cold_cfg["warm_start"] == [] and cold_cfg["seed"] == warm_cfg["seed"] == 0
    assert entries.entry_label("tpe+warm") == "Bayesian (TPE) with warm start"
    assert entries.entry_label("random") == "Random search"


def test_a_finished_race_pairs_each_warm_member_with_its_cold_twin_seed_for_seed(store, source):
    name = ex.create_experiment(warm_exp(warm_start=(source,), warm_methods=("tpe",)), store)
    assert set(ex.run_experiment(name, store).values()) == {"finished"}
    info = ex.get_experiment(name, store)
    runs = {(r["method"], r["seed"]): r["run"] for r in info.runs}
    # the Live monitor sets a warm member beside the cold run of its own seed
    for seed in (0, 1):
        record = RunRecord.from_study(load_study(runs[("tpe+warm", seed)], store))
        assert warm.cold_runs(record, store)[0] == runs[("tpe", seed)]
    (bought,) = warm.experiment_warm(info, store)
    assert bought.entry == "tpe+warm" and bought.seeds == 2
    assert bought.sentence.startswith("Warm start from run knn-wine (Wine, similarity")
    table = ex.summary_table(info, ex.trajectories(info, store), store)
    assert list(table["method"]) == ["tpe", "tpe+warm", "random"]
    assert "tpe" not in ex.verdict(info, table)  # the verdict names methods in plain words


def test_warm_fields_round_trip_and_old_experiments_still_load():
    exp = warm_exp(warm_start=("a", "b"), warm_methods=("tpe",))
    again = ex.ExperimentConfig.from_dict(exp.to_dict())
    assert again.warm_start == ("a", "b") and again.warm_methods == ("tpe",)
    old = exp.to_dict()
    del old["warm_start"], old["warm_methods"]  # stored before warm copies existed
    loaded = ex.ExperimentConfig.from_dict(old)
    assert loaded.warm_start == () and loaded.entries == ("tpe", "random")


@pytest.mark.parametrize(("kw", "words"), [
    ({"warm_start": ("x",)}, "Say which methods also race a warm-started copy"),
    ({"warm_methods": ("tpe",)}, "need earlier runs to start from"),
    ({"warm_start": ("x",), "warm_methods": ("gp",)}, "does not race: choose among its methods"),
    ({"warm_start": ("x",), "warm_methods": ("tpe", "tpe")}, "listed twice"),
])  # fmt: skip
def test_bad_warm_copies_are_refused_with_what_to_do(kw, words):
    with pytest.raises(ConfigError, match=words):
        warm_exp(**kw).validate()


def test_a_grid_gets_no_warm_copy_and_unknown_sources_are_refused_before_any_run(store):
    grid = ex.ExperimentConfig(base=base(), methods=("grid", "tpe"), warm_start=("x",),
                               warm_methods=("grid",))  # fmt: skip
    with pytest.raises(ConfigError, match="Grid search cannot start from earlier runs"):
        grid.validate()
    with pytest.raises(ConfigError, match="No earlier run named can seed the warm copies"):
        ex.create_experiment(warm_exp(warm_start=("gone",), warm_methods=("tpe",)), store)
    assert ex.list_experiments(store) == []
    assert entries.default_warm(["grid", "random", "gp", "tpe"]) == ["gp"]


# -- what the warm start bought, on known cases -----------------------------------------------
def trials(values: list[float], std: float = 0.01) -> pd.DataFrame:
    return pd.DataFrame({"number": range(len(values)), "state": "complete", "value": values,
                         "cv_std": std})  # fmt: skip


SOURCES = "from run knn-wine (Wine, similarity 0.85)"


def race(std: float) -> dict:
    return {  # seed: (warm, cold); cold's final best first reached at trials 4, 5 and 3
        0: (trials([0.80, 0.90, 0.91], std), trials([0.80, 0.85, 0.86, 0.90], std)),
        1: (trials([0.80, 0.88, 0.92, 0.93], std), trials([0.80, 0.85, 0.86, 0.87, 0.92], std)),
        2: (trials([0.85, 0.86, 0.89], std), trials([0.85, 0.86, 0.89], std)),
    }


def test_over_seeds_the_sentence_gives_median_trials_and_the_paired_difference():
    pairs = race(std=0.001)  # folds that agree: the seeds' spread is the noise
    b = warm.warm_bought(pairs, "maximize", "Bayesian (TPE)", SOURCES, "tpe+warm")
    # reached at trials 2, 3 and 3 (median 3); cold at 4, 5 and 3 (median 4)
    assert (b.seeds, b.reached, b.warm_trial, b.cold_trial) == (3, 3, 3.0, 4.0)
    # paired final differences +0.01, +0.01 and 0: mean 0.0067 above their std 0.0058
    assert b.diff == pytest.approx(0.02 / 3) and b.diff_std == pytest.approx(0.005773, abs=1e-6)
    assert b.state == "helped"
    assert b.sentence.startswith(
        "Warm start from run knn-wine (Wine, similarity 0.85): reached cold Bayesian (TPE)'s "
        "final best after 3 trials (cold: after 4 trials), median over 3 seeds; final best +0.0067 ± "
        "0.0058 against the cold runs'"
    )
    assert b.sentence.endswith("better by more than the spread over seeds and folds.")
    # the same race where each best's folds spread 0.01: 0.0067 is inside their noise
    noisy = warm.warm_bought(race(std=0.01), "maximize", "Bayesian (TPE)", SOURCES, "tpe+warm")
    assert noisy.state == "level" and noisy.sentence.endswith("within the noise of seeds and folds.")


def test_a_warm_start_that_ends_worse_beyond_the_seed_spread_is_said_to_hurt():
    pairs = {
        0: (trials([0.70, 0.80]), trials([0.70, 0.85, 0.90])),
        1: (trials([0.70, 0.82, 0.84]), trials([0.70, 0.89, 0.88])),  # cold: trials 3 and 2
    }
    b = warm.warm_bought(pairs, "maximize", "Bayesian (TPE)", SOURCES)
    assert b.state == "hurt" and b.reached == 0 and b.warm_trial is None
    assert b.diff == pytest.approx(-0.075)
    assert "Warm start from run knn-wine (Wine, similarity 0.85) hurt here: final best -0.0750" in (
        b.sentence
    )
    assert "never reached cold Bayesian (TPE)'s final best (cold: after 3 trials on seed 0 and 2 trials on " \
        "seed 1)" in b.sentence


def test_one_seed_says_the_spread_is_unknown_and_claims_nothing():
    pairs = {0: (trials([0.80, 0.95]), trials([0.80, 0.90]))}
    b = warm.warm_bought(pairs, "maximize", "Random search", SOURCES, so_far=True)
    assert b.state == "unknown" and b.diff == pytest.approx(0.05)
    assert b.sentence.startswith("So far, warm start from run knn-wine")
    assert "after 2 trials (cold: after 2 trials), on one seed" in b.sentence
    assert "spread over seeds is unknown" in b.sentence and "better" not in b.sentence


def test_an_error_to_minimize_counts_lower_as_better_and_no_scores_give_none():
    pairs = {s: (trials([5.0, 3.0]), trials([5.0, 4.0, 3.5])) for s in (0, 1)}
    pairs[1] = (trials([5.0, 3.2]), trials([5.0, 4.0, 3.4]))
    b = warm.warm_bought(pairs, "minimize", "Bayesian (TPE)", SOURCES)
    assert b.reached == 2 and b.warm_trial == 2 and b.diff == pytest.approx(0.35)
    assert b.state == "helped"
    assert "final best after 2 trials on seed 0 (cold: after 3 trials) and after 2 trials on seed 1 (cold: " \
        "after 3 trials)" in b.sentence
    one = {0: pairs[0], 1: (trials([5.0, 4.0]), trials([5.0, 4.0, 3.4]))}  # seed 1 never gets there
    assert "after 2 trials on seed 0 (cold: after 3 trials) and not on seed 1 (cold: after 3 trials)" in (
        warm.warm_bought(one, "minimize", "Bayesian (TPE)", SOURCES).sentence
    )
    failed = pd.DataFrame({"number": [0], "state": ["failed"], "value": [float("nan")]})
    assert warm.warm_bought({0: (failed, trials([1.0]))}, "maximize", "x", SOURCES) is None


# -- the command line --------------------------------------------------------------------------
def test_cli_compare_races_a_warm_copy_and_prints_what_it_bought(tmp_path):
    env = {**os.environ, "TUNING_STUDIO_DATA": str(tmp_path)}
    run = [sys.executable, "-m", "tuning", "run", "--dataset", "wine", "--model", "knn",
           "--method", "tpe", "--trials", "4", "--folds", "2", "--name", "knn-wine"]  # fmt: skip
    r = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cmd = [sys.executable, "-m", "tuning", "compare", "--dataset", "iris", "--model", "knn",
           "--methods", "random", "tpe", "--trials", "4", "--folds", "2", "--seeds", "0", "1",
           "--warm-start", "knn-wine"]  # fmt: skip
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert [ln.split()[0] for ln in r.stdout.splitlines() if ln.startswith(("tpe", "random"))] == [
        "random", "tpe", "tpe+warm"]  # the default warm copy: the first model-based method
    assert "Warm start from run knn-wine (Wine, similarity" in r.stdout
    assert "cold Bayesian (TPE)'s final best" in r.stdout
    bad = subprocess.run([*cmd[:-2], "--warm-methods", "tpe"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode != 0 and "--warm-methods needs --warm-start" in bad.stderr
