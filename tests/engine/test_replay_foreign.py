"""A study made outside Tuning Studio, replayed as a chosen sampler (issue 26): its trials'
origins were not recorded, so `replay(..., trust_origin=False)` takes them as the sampler's,
while a trial queued by hand is still refused with why."""

from __future__ import annotations

import optuna

from tuning.analysis.replay import Replay, replay
from tuning.runs.front import default_sampler

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _study() -> optuna.Study:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=4))
    study.enqueue_trial({"x": 0.5})  # queued by hand: trial 0
    study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=12)
    return study


def test_unrecorded_origins_are_replayed_only_when_asked():
    study = _study()
    sampler = default_sampler("tpe")
    trusted = replay(study, 11, sampler)
    assert isinstance(trusted, str) and trusted.startswith("Trial 11 was not proposed by a model")
    r = replay(study, 11, sampler, trust_origin=False)
    assert isinstance(r, Replay) and r.known == 11
    assert "likelier under the good trials" in r.sentence
    assert r.rank > 0.5  # the study's own TPE proposed it: it ranks high under a replayed TPE
    queued = replay(study, 0, sampler, trust_origin=False)
    assert queued.startswith("Trial 0 was not proposed by a model (queued by hand")
    early = replay(study, 3, sampler, trust_origin=False)
    assert early.startswith("Only 3 trials had finished before trial 3")
