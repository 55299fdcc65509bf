"""Population-based training: exploit copies weights, explore stays in range and type, the same
seed gives the same lineage, Stop keeps what was recorded, and the views read the lineage."""

from __future__ import annotations

import math
import time

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from tuning.core.config import DatasetRef, RunConfig
from tuning.core.errors import ConfigError
from tuning.core.space import cat_param, float_param, int_param
from tuning.methods import get_method
from tuning.methods.pbt import NOT_RESUMABLE, Population, perturb, resample
from tuning.models import REGISTRY as MODELS
from tuning.plots import pbt as pbt_plots
from tuning.runs.prepare import prepare
from tuning.runs.runner import RunHandle, create_run, execute
from tuning.store.runs import load_study


def _space(epochs: int = 6):
    return (
        MODELS["mlp"].default_space("classification")
        .replace_param("width", low=8, high=16)
        .replace_param("n_layers", enabled=False, default=1)
        .replace_param("learning_rate", low=1e-3, high=1e-1)
        .replace_param("epochs", low=2, high=epochs)
    )  # fmt: skip


def _config(**kw) -> RunConfig:
    options = {"population_size": 4, "interval": 2, **kw.pop("options", {})}
    base = dict(
        dataset=DatasetRef("iris"), model="mlp", method="pbt", space=_space(), cv_folds=3,
        n_jobs=1, seed=3, method_options=options,
    )  # fmt: skip
    base.update(kw)
    return RunConfig(**base)


def _population(**kw) -> Population:
    prep = prepare(_config(**kw))
    study = optuna.create_study(direction=prep.direction)
    return Population(study, prep)


def test_exploit_copies_weights_and_hyperparameters():
    pop = _population()
    pop.start()
    for m in pop.members:
        pop.train_segment(m, 2)
        pop.close(m)
    worst, best = pop.ranked()[-1], pop.ranked()[0]
    assert worst.score != best.score or worst.params != best.params
    pop.copy_from(worst, best)
    # Right after copying, the member scores as its source did, with its hyperparameters.
    copied = pop.scoring(worst.net, pop.X_va, pop.y_va)
    assert copied == pytest.approx(pop.scoring(best.net, pop.X_va, pop.y_va))
    assert copied == pytest.approx(best.score)
    assert worst.params == best.params and worst.epoch == best.epoch
    assert worst.net is not best.net and worst.net.model_ is not best.net.model_
    assert worst.exploit == {"from_member": best.id, "from_trial": best.trial.number,
                             "at_epoch": best.epoch}  # fmt: skip
    # The copy trains on independently: the source's weights are untouched by it.
    before = {k: v.clone() for k, v in best.net.model_.state_dict().items()}
    worst.net.train_epoch()
    after = best.net.model_.state_dict()
    assert all((before[k] == after[k]).all() for k in before)


def test_explore_applies_the_new_values_to_the_live_network():
    pop = _population(options={"resample_probability": 0.0})
    pop.start()
    m = pop.members[0]
    old = dict(m.params)
    changes = pop.explore(m)
    assert set(changes) == {"learning_rate", "dropout", "weight_decay", "batch_size"}
    for name, (before, after, how) in changes.items():
        assert before == old[name] and after == m.params[name]
        assert how in ("x0.8", "x1.2", "resampled", "one choice up", "one choice down")
    live = m.net.get_live_params()
    for name in ("learning_rate", "dropout", "weight_decay"):
        assert live[name] == pytest.approx(m.params[name])
    assert m.net.batch_size == m.params["batch_size"]
    lr = changes["learning_rate"]
    assert (
        lr[1] / lr[0] == pytest.approx(float(lr[2][1:]))  # the factor it says it applied
        or lr[1] in (1e-3, 1e-1)  # clipped at a bound
        or lr[2] == "resampled"
    )


@pytest.mark.parametrize(
    "param",
    [
        float_param("lr", 1e-4, 1e-1, log=True),
        float_param("dropout", 0.0, 0.5),
        float_param("stepped", 0.0, 1.0, step=0.25),
        int_param("layers", 1, 4),
        int_param("width", 16, 512, log=True),
        cat_param("batch", [32, 64, 128, 256]),
        cat_param("kind", ["relu", "tanh", "gelu"]),
    ],
    ids=lambda p: p.name,
)
def test_explore_keeps_every_value_inside_its_range_and_type(param):
    rng = np.random.default_rng(0)
    value = resample(param, rng)
    seen = set()
    for _ in range(400):  # extreme factors push every value against its bounds
        value = perturb(value, param, rng, (0.01, 0.8, 1.2, 100.0), 0.25)
        seen.add(value)
        if param.kind == "categorical":
            assert value in param.choices and type(value) is type(param.choices[0])
            continue
        assert param.low <= value <= param.high, value
        if param.kind == "int":
            assert isinstance(value, int) and not isinstance(value, bool)
        else:
            assert isinstance(value, float)
        if param.step:
            assert (value - param.low) / param.step == pytest.approx(
                round((value - param.low) / param.step)
            )
    assert len(seen) > 2  # explore actually moves


def test_batch_size_moves_to_a_neighbouring_choice_when_multiplied():
    p = cat_param("batch_size", [32, 64, 128, 256])
    rng = np.random.default_rng(1)
    for _ in range(50):
        new = perturb(64, p, rng, (0.8, 1.2), 0.0)
        assert new in (32, 128)
    assert perturb(256, p, rng, (2.0,), 0.0) == 256  # stays at the largest choice


def _lineage(storage, **kw) -> list[tuple]:
    name = create_run(_config(workers=2, **kw), storage)
    assert execute(name, storage) == "finished"
    trials = load_study(name, storage).get_trials(deepcopy=False)
    return [(t.number, t.state, t.value, t.params, t.intermediate_values, t.user_attrs["pbt"])
            for t in trials]  # fmt: skip


def test_the_same_seed_gives_the_same_lineage(storage):
    first = _lineage(storage)
    assert first == _lineage(storage)  # two threads, yet identical: decided at the barrier
    assert any(info["exploit"] for *_, info in first)
    other = _lineage(storage, seed=4)
    assert [x[3] for x in other] != [x[3] for x in first]


def test_a_run_records_segments_lineage_and_a_test_score(storage):
    config = _config()
    name = create_run(config, storage)
    assert load_study(name, storage).user_attrs["config"]["n_trials"] == 4 * 3
    assert execute(name, storage) == "finished"
    study = load_study(name, storage)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 12 and all(t.state == TrialState.COMPLETE for t in trials)
    for t in trials:
        info = t.user_attrs["pbt"]
        assert info["start_epoch"] == 2 * info["generation"]
        assert sorted(t.intermediate_values) == [info["start_epoch"] + 1, info["start_epoch"] + 2]
        assert "epochs" not in t.params  # the budget, not a hyperparameter
        if info["generation"]:
            parent = trials[info["parent"]].user_attrs["pbt"]
            assert parent["member"] == info["member"]
            assert parent["generation"] == info["generation"] - 1
        if info["exploit"]:
            src = trials[info["exploit"]["from_trial"]]
            assert src.user_attrs["pbt"]["generation"] == info["generation"] - 1
            assert set(info["explore"]) == {
                "learning_rate",
                "dropout",
                "weight_decay",
                "batch_size",
            }
            assert {k: v[1] for k, v in info["explore"].items()} == {
                k: t.params[k] for k in info["explore"]
            }
    # One member per generation in the bottom quarter of 4 copies another.
    assert sum(bool(t.user_attrs["pbt"]["exploit"]) for t in trials) == 2
    test = study.user_attrs["test"]
    assert test["source"] == "population" and 0 <= test["score"] <= 1
    assert trials[test["trial"]].user_attrs["pbt"]["generation"] == 2
    assert study.user_attrs["status"] == "finished"


def trials_by_number(study) -> dict:
    return {t.number: t for t in study.get_trials(deepcopy=False)}


def test_stopping_mid_run_keeps_what_was_recorded_and_refuses_to_resume(storage, monkeypatch):
    from tuning.execution import lifecycle

    monkeypatch.setattr(lifecycle, "HEARTBEAT_S", 0.05)  # beat often, so the test sees one
    name = create_run(_config(space=_space(epochs=60), options={"interval": 1}), storage)
    handle = RunHandle(name, storage).start()
    study = load_study(name, storage)
    end = time.time() + 60
    while time.time() < end:
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(done) >= 8:
            break
        time.sleep(0.02)
    # While it trains, the heartbeat lists the open segments (so no stale-trial recovery
    # elsewhere fails them).
    listed: list[int] = []
    while time.time() < end and not listed:
        beats = [v for k, v in study.user_attrs.items() if k.startswith("worker:")]
        listed = beats[0]["trials"] if beats else []
        time.sleep(0.02)
    assert listed and all(trials_by_number(study)[n].user_attrs["pbt"] for n in listed)
    handle.stop()
    assert handle.join(60) == "stopped"
    study = load_study(name, storage)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert 8 <= len(complete) < 4 * 60
    for t in trials:
        assert t.state in (TrialState.COMPLETE, TrialState.FAIL)
        if t.state == TrialState.FAIL:
            assert t.user_attrs["metrics"]["fail_reason"] == "stopped by user"
    assert study.user_attrs["status"] == "stopped"
    assert "cannot be resumed" in study.user_attrs["message"]
    assert math.isfinite(study.user_attrs["test"]["score"])
    with pytest.raises(ConfigError, match="cannot be resumed"):
        execute(name, storage)
    assert len(load_study(name, storage).get_trials(deepcopy=False)) == len(trials)
    assert NOT_RESUMABLE in load_study(name, storage).user_attrs["message"]


def test_a_finished_run_resumed_is_simply_finished(storage):
    name = create_run(_config(space=_space(epochs=2)), storage)
    assert execute(name, storage) == "finished"
    n = len(load_study(name, storage).get_trials(deepcopy=False))
    assert execute(name, storage) == "finished"
    assert len(load_study(name, storage).get_trials(deepcopy=False)) == n


def test_the_run_manager_runs_pbt_as_one_process_its_members_on_threads(tmp_path):
    from tuning.runs.runner import RunManager
    from tuning.runs.workers import WorkerPool

    manager = RunManager(f"journal:///{tmp_path / 'runs.journal'}")
    name = manager.submit(_config(workers=2, space=_space(epochs=2)))
    handle = manager.handles[name]
    assert isinstance(handle, WorkerPool) and handle.n == 1  # members share one process
    assert handle.started.wait(30)  # the manager's watcher thread starts it
    assert handle.join(120) == "finished"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "knn", "space": None}, "needs a model that trains in epochs"),
        ({"options": {"quantile": 0.9}}, "quantile must be a fraction"),
        ({"options": {"factors": [0.8, -1]}}, "factors must be a list of positive numbers"),
        ({"options": {"mutable": ["width"]}}, "cannot change width"),
        ({"options": {"mutable": []}}, "at least one hyperparameter"),
        ({"options": {"resample_probability": 2}}, "resample_probability must be between"),
        (
            {"options": {"population_size": 1}},
            "population_size must be a whole number of at least 2",
        ),
    ],
)
def test_bad_settings_are_refused_with_what_to_change(change, message):
    with pytest.raises(ConfigError, match=message):
        prepare(_config(**change))


def test_only_searched_hyperparameters_can_change():
    space = _space().replace_param("learning_rate", enabled=False)
    with pytest.raises(ConfigError, match="switch one of them on"):
        prepare(_config(space=space, options={"mutable": ["learning_rate"]}))


def test_views_follow_the_lineage(storage):
    name = create_run(_config(), storage)
    execute(name, storage)
    study = load_study(name, storage)
    trials = study.get_trials(deepcopy=False)
    seg = pbt_plots.segments(trials)
    best = pbt_plots.best_segment(seg, "maximize", study.user_attrs["test"])
    chain = pbt_plots.lineage(seg, best)
    assert chain[-1] == best and len(chain) == 3
    assert [seg.set_index("trial").loc[t, "generation"] for t in chain] == [0, 1, 2]
    figs = pbt_plots.pbt_figures(trials, "accuracy", "maximize", study.user_attrs["test"],
                                 ("learning_rate",))  # fmt: skip
    names = {tr.name for tr in figs["population"].data}
    assert {f"member {i}" for i in range(4)} <= names and "exploit (copy + perturb)" in names
    exploits = next(tr for tr in figs["population"].data if tr.name.startswith("exploit"))
    assert len(exploits.x) == sum(bool(t.user_attrs["pbt"]["exploit"]) for t in trials)
    assert "final best: trial #" in figs["lineage"].layout.title.text
    sched = figs["schedule"]
    assert len(sched.data) == 4  # learning rate, dropout, weight decay, batch size
    lr = [v for v in sched.data[0].y if v is not None]
    wide = max(lr) >= 2 * min(lr)  # learning rate is log-scaled: a log axis when it spans >= 2x
    assert sched.layout.yaxis.type == ("log" if wide else None)
    assert sched.layout.yaxis2.type is None  # batch size: not log-scaled


def test_pbt_is_a_population_method_in_the_registry():
    spec = get_method("pbt")
    assert spec.runs_itself and spec.run is not None
    assert spec.defaults["quantile"] == 0.25 and spec.defaults["factors"] == [0.8, 1.2]
    assert spec.defaults["resample_probability"] == 0.25
    assert "holdout" in spec.explanation


def test_an_experiment_races_pbt_against_random_and_hyperband_on_epochs(storage):
    from tuning.runs import experiments as ex

    base = _config(method="random", n_trials=3, space=_space(epochs=4))
    exp = ex.ExperimentConfig(
        base=base, methods=("random", "hyperband", "pbt"),
        overrides={"pbt": {"method_options": {"population_size": 3, "interval": 2}},
                   "random": {"method_options": {}}, "hyperband": {"method_options": {}}},
    )  # fmt: skip
    name = ex.create_experiment(exp, storage)
    statuses = ex.run_experiment(name, storage)
    assert set(statuses.values()) == {"finished"}, statuses
    info = ex.get_experiment(name, storage)
    traj = ex.trajectories(info, storage)
    table = ex.summary_table(info, traj, storage).set_index("method")
    assert table.loc["pbt", "epochs"] == 3 * 4  # 3 members x 4 epochs, one network each
    # A CV trial trains one network per fold: random search's 3 trials x 3 folds x epochs.
    random_runs = traj[traj["method"] == "random"]
    assert table.loc["random", "epochs"] == random_runs["epochs"].sum()
    assert (random_runs["epochs"] % 3 == 0).all() and (random_runs["epochs"] > 0).all()
    assert math.isfinite(table.loc["pbt", "best_cv"]) and math.isfinite(table.loc["pbt", "test"])
    band = ex.band(traj, "epochs_so_far")
    assert set(band["method"]) == {"random", "hyperband", "pbt"}


def test_the_html_report_of_a_pbt_run_shows_the_population_views(storage):
    from tuning.report.html import report_html

    name = create_run(_config(), storage)
    execute(name, storage)
    html = report_html(load_study(name, storage))
    assert "<h2>Population-based training</h2>" in html
    for div in ("fig-pbt_population", "fig-pbt_lineage", "fig-pbt_schedule"):
        assert f'id="{div}"' in html
    assert "the best member&#x27;s own network" in html or "the best member's own network" in html


def test_lineage_and_schedule_follow_an_exploit_across_members():
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    dist = {"learning_rate": FloatDistribution(1e-4, 1e-1, log=True)}

    def seg(number, member, gen, lr, values, parent=None, exploit=None, explore=None):
        t = create_trial(
            params={"learning_rate": lr}, distributions=dist, value=values[-1],
            intermediate_values={2 * gen + i + 1: v for i, v in enumerate(values)},
            user_attrs={"pbt": {"member": member, "generation": gen, "parent": parent,
                                "start_epoch": 2 * gen, "exploit": exploit, "explore": explore}},
        )  # fmt: skip
        t.number = number
        return t

    trials = [
        seg(0, 0, 0, 0.001, [0.5, 0.6]),
        seg(1, 1, 0, 0.01, [0.7, 0.9]),
        # member 0 copies member 1 (trial 1) at epoch 2 and explores its learning rate
        seg(
            2,
            0,
            1,
            0.05,
            [0.92, 0.95],
            parent=0,
            exploit={"from_member": 1, "from_trial": 1, "at_epoch": 2},
            explore={"learning_rate": [0.01, 0.05]},
        ),  # fmt: skip
        seg(3, 1, 1, 0.01, [0.9, 0.91], parent=1),
    ]
    seg_df = pbt_plots.segments(trials)
    assert pbt_plots.best_segment(seg_df, "maximize") == 2
    assert pbt_plots.lineage(seg_df, 2) == [1, 2]  # the weights came from member 1
    assert pbt_plots.lineage(seg_df, 3) == [1, 3]
    sch = pbt_plots.schedule(seg_df, [1, 2])
    assert sch["value"].tolist() == [0.01, 0.05] and sch["member"].tolist() == [1, 0]
    fig = pbt_plots.schedule_figure(trials, "maximize", None, ("learning_rate",))
    assert list(fig.data[0].x) == [0, 2, 2, 4] and list(fig.data[0].y) == [0.01, 0.01, 0.05, 0.05]
    assert fig.layout.yaxis.type == "log"  # 5x apart
    pop = pbt_plots.population_figure(trials, "accuracy")
    marker = next(tr for tr in pop.data if tr.name.startswith("exploit"))
    assert list(marker.x) == [2] and list(marker.y) == [0.9]  # at the source's score
    assert "member 0 copied member 1" in marker.hovertext[0]
    member0 = next(tr for tr in pop.data if tr.name == "member 0")
    assert list(member0.x) == [1, 2, None, 3, 4]  # broken where it was replaced by the copy


def test_a_member_that_diverges_is_recorded_failed_and_replaced_by_a_copy():
    pop = _population(space=_space(epochs=4), options={"population_size": 4, "interval": 2})
    real = pop.scoring
    pop.start()
    sick = pop.members[1].net

    class Diverging:  # the member's network "diverges" in its first segment
        direction = real.direction

        def __call__(self, est, X, y):
            return float("nan") if est is sick else real(est, X, y)

    pop.scoring = Diverging()
    assert pop.run() == "finished"
    trials = pop.study.get_trials(deepcopy=False)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.user_attrs["pbt"]["member"] for t in failed] == [1]
    assert "diverged" in failed[0].user_attrs["metrics"]["fail_reason"]
    nxt = next(
        t for t in trials if t.user_attrs["pbt"]["member"] == 1 and t.number != failed[0].number
    )
    assert nxt.user_attrs["pbt"]["exploit"]["from_member"] != 1  # it copied a healthy member
    assert nxt.state == TrialState.COMPLETE and sorted(nxt.intermediate_values) == [3, 4]
    assert all(m.epoch == 4 for m in pop.members)
