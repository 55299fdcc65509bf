"""tuning/store/compat.py, the one module that uses Optuna's private API: pinned to the installed
Optuna, each shim tried on a tiny in-memory study, and no other module reaching into Optuna."""

from __future__ import annotations

import ast
import errno
import json
import os
import warnings
from pathlib import Path

import archcheck
import numpy as np
import optuna
import pytest
import torch
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.pruners import HyperbandPruner
from optuna.samplers import CmaEsSampler, GPSampler, NSGAIISampler, RandomSampler, TPESampler
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import JournalFileOpenLock
from optuna.study import StudyDirection
from optuna.trial import TrialState

from tuning.store import compat

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / "tuning" / "store" / "compat.py"
SHIMS = {  # every public name of compat.py; each has a test below
    "WRITTEN_FOR", "storage_of", "study_id", "trial_id", "set_trial_claimer",
    "TrialNumberHyperband", "bracket_id", "tpe_startup_trials", "tpe_densities", "cmaes_state",
    "tpe_candidates", "ga_parents",
    "cmaes_generation", "cmaes_sigma_cov", "nsga_generation_key", "nsga_generation",
    "scott_parzen_estimator", "gp_fit", "gp_acquisition", "cmaes_unit",
    "gp_kernel_cache", "gp_kernel_params", "gp_fitted", "cmaes_from_unit",
    "RollbackFileBackend", "hypervolume", "metric_names",
    # what a trial's Optuna attributes say of its origin (tests under "origins" below)
    "fixed_params", "live_fixed_params", "generation_attr", "completed_rungs", "rung_values",
    "live_frozen", "sampler_view", "startup_trials", "constant_liar", "qmc_kind", "percentile_of",
    "pruner_of_bracket", "halving_settings",
}  # fmt: skip

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_compat_is_pinned_to_the_installed_optuna():
    assert optuna.__version__ == compat.WRITTEN_FOR, (
        f"Optuna is {optuna.__version__}, but tuning/store/compat.py was written for "
        f"{compat.WRITTEN_FOR}: re-check every shim there against the new Optuna's source "
        "(and this file's tests), then set WRITTEN_FOR to the new version."
    )


def test_every_shim_is_tested_here():
    defined = set()
    for node in ast.parse(COMPAT.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(target.id for target in node.targets if isinstance(target, ast.Name))
    assert {name for name in defined if not name.startswith("_")} == SHIMS


def _square(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", -1.0, 1.0) ** 2


# -- studies and trials ----------------------------------------------------------------------
def test_storage_study_and_trial_ids():
    study = optuna.create_study(study_name="ids", sampler=RandomSampler(seed=0))
    study.optimize(_square, n_trials=3)
    storage = compat.storage_of(study)
    assert isinstance(storage, BaseStorage)
    assert compat.study_id(study) == storage.get_study_id_from_name("ids")
    (frozen,) = storage.get_all_studies()  # FrozenStudy, as list_runs reads them
    assert compat.study_id(frozen) == compat.study_id(study)
    ids = [compat.trial_id(t) for t in study.trials]
    assert len(set(ids)) == 3
    assert [storage.get_trial(i).number for i in ids] == [0, 1, 2]


def test_metric_names_read_as_study_metric_names_does():
    study = optuna.create_study(directions=["minimize", "maximize"])
    storage, sid = compat.storage_of(study), compat.study_id(study)
    assert compat.metric_names(storage, sid) is None
    with warnings.catch_warnings():  # set_metric_names is marked experimental
        warnings.simplefilter("ignore")
        study.set_metric_names(["loss", "accuracy"])
    assert compat.metric_names(storage, sid) == study.metric_names == ["loss", "accuracy"]


def test_set_trial_claimer_makes_ask_take_the_claimed_trial():
    study = optuna.create_study(sampler=RandomSampler(seed=0))
    storage, sid = compat.storage_of(study), compat.study_id(study)
    study.enqueue_trial({"x": 0.5})
    study.enqueue_trial({"x": -0.5})
    waiting = [compat.trial_id(t) for t in study.get_trials(states=(TrialState.WAITING,))]
    calls = []

    def claim() -> int | None:  # the second waiting trial first, then none
        calls.append(1)
        if len(calls) == 1:
            assert storage.set_trial_state_values(waiting[1], state=TrialState.RUNNING)
            return waiting[1]
        return None

    compat.set_trial_claimer(study, claim)
    first = study.ask()
    assert compat.trial_id(first) == waiting[1]  # trial_id reads a live Trial too
    assert first.suggest_float("x", -1.0, 1.0) == -0.5
    second = study.ask()  # nothing claimed: Optuna creates a new trial
    assert len(calls) == 2
    assert compat.trial_id(second) not in waiting
    assert storage.get_trial(waiting[0]).state == TrialState.WAITING  # left alone
    assert len(storage.get_all_trials(sid)) == 3


# -- pruners ---------------------------------------------------------------------------------
def _brackets(pruner: HyperbandPruner, name: str) -> list[int]:
    study = optuna.create_study(study_name=name, sampler=RandomSampler(seed=0), pruner=pruner)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        for step in range(1, 10):
            trial.report(x * x + 1 / step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x * x

    study.optimize(objective, n_trials=24)
    return [compat.bracket_id(pruner, study, t) for t in study.trials]


def test_trial_number_hyperband_gives_the_same_brackets_whatever_the_study_name():
    def pruner(cls: type) -> HyperbandPruner:
        return cls(min_resource=1, max_resource=9, reduction_factor=3)

    ours = _brackets(pruner(compat.TrialNumberHyperband), "run-a")
    assert ours == _brackets(pruner(compat.TrialNumberHyperband), "run-b")
    assert set(ours) == {0, 1, 2}  # three brackets for resources 1..9 with eta 3
    # Optuna's own picks brackets by the study name, which is why the shim exists.
    assert _brackets(pruner(HyperbandPruner), "run-a") != _brackets(
        pruner(HyperbandPruner), "run-b"
    )


# -- origins ---------------------------------------------------------------------------------
def test_fixed_params_of_queued_trials_live_and_stored():
    study = optuna.create_study(sampler=RandomSampler(seed=0))
    study.enqueue_trial({"x": 0.5})
    seen = []

    def objective(trial: optuna.Trial) -> float:
        seen.append(compat.live_fixed_params(trial))
        return _square(trial)

    study.optimize(objective, n_trials=2)
    assert seen == [{"x": 0.5}, {}]
    assert [t.number for t in compat.sampler_view(study)] == [0, 1]
    assert [compat.fixed_params(t) for t in study.trials] == [{"x": 0.5}, None]


def test_generation_attr_live_frozen_and_sampler_settings():
    study = optuna.create_study(sampler=CmaEsSampler(seed=0, n_startup_trials=2))
    live = []

    def objective(trial: optuna.Trial) -> float:
        x, y = trial.suggest_float("x", -1.0, 1.0), trial.suggest_float("y", -1.0, 1.0)
        live.append(compat.generation_attr(compat.live_frozen(trial)))
        return x**2 + y**2

    study.optimize(objective, n_trials=5)
    assert live[:2] == [None, None]  # random start-up trials
    assert live[2:] == [("CMA-ES", compat.cmaes_generation(study.sampler, t))
                        for t in study.trials[2:]]  # fmt: skip
    assert compat.startup_trials(study.sampler) == 2
    assert compat.startup_trials(RandomSampler()) is None
    assert compat.constant_liar(TPESampler(constant_liar=True))
    assert not compat.constant_liar(TPESampler(constant_liar=False))
    assert compat.qmc_kind(optuna.samplers.QMCSampler(qmc_type="sobol")) == "Sobol"
    assert compat.percentile_of(optuna.pruners.MedianPruner()) == 50.0
    nsga = optuna.create_study(sampler=NSGAIISampler(seed=0, population_size=2))
    nsga.optimize(_square, n_trials=3)
    assert [compat.generation_attr(t) for t in nsga.trials] == [
        ("NSGA-II", 0), ("NSGA-II", 0), ("NSGA-II", 1)]  # fmt: skip


def test_completed_rungs_and_rung_values_read_successive_halving():
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    assert compat.halving_settings(pruner) == (2, 0)
    study = optuna.create_study(sampler=RandomSampler(seed=0), pruner=pruner)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        for step in range(1, 5):
            trial.report(x**2 + 1 / step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x**2

    study.optimize(objective, n_trials=12)
    trials = study.trials
    rungs = [compat.completed_rungs(t) for t in trials]
    assert all(r >= 1 for r in rungs) and max(rungs) >= 2
    firsts = compat.rung_values(trials, 0)
    assert len(firsts) == 12 and firsts[0] == pytest.approx(trials[0].intermediate_values[1])
    hb = compat.TrialNumberHyperband(min_resource=1, max_resource=9, reduction_factor=3)
    hb.prune(study, trials[0])  # builds its brackets
    sub = compat.pruner_of_bracket(hb, 0)
    assert isinstance(sub, optuna.pruners.SuccessiveHalvingPruner)
    assert compat.halving_settings(sub) == (3, 0)


# -- samplers' internal models ---------------------------------------------------------------
def test_tpe_startup_trials_and_densities():
    sampler = TPESampler(seed=0, n_startup_trials=5)
    assert compat.tpe_startup_trials(sampler) == 5
    assert compat.tpe_candidates(TPESampler(n_ei_candidates=7)) == 7
    study = optuna.create_study(sampler=sampler)
    study.optimize(_square, n_trials=12)
    seen = study.get_trials(states=(TrialState.COMPLETE,))
    space = {"x": FloatDistribution(-1.0, 1.0)}
    below, above, l_est, g_est = compat.tpe_densities(sampler, study, space, seen)
    assert len(below) + len(above) == len(seen) and below and above
    assert max(t.value for t in below) <= min(t.value for t in above)  # below: the good ones
    grid = {"x": np.linspace(-1.0, 1.0, 9)}
    for estimator in (l_est, g_est):
        log_pdf = estimator.log_pdf(grid)
        assert log_pdf.shape == (9,) and np.isfinite(log_pdf).all()


def test_cmaes_state_generation_and_distribution():
    sampler = CmaEsSampler(seed=0, n_startup_trials=2)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        return trial.suggest_float("x", -1.0, 1.0) ** 2 + trial.suggest_float("y", -1.0, 1.0) ** 2

    study.optimize(objective, n_trials=20)
    trials = study.trials
    space = {"x": FloatDistribution(-1.0, 1.0), "y": FloatDistribution(-1.0, 1.0)}
    direction = StudyDirection.MINIMIZE
    assert compat.cmaes_state(sampler, space, trials[0], trials[:1], direction) == (None, None)
    assert compat.cmaes_generation(sampler, trials[0]) is None  # a random start-up trial
    generations = [compat.cmaes_generation(sampler, t) for t in trials[2:]]
    assert generations == sorted(generations) and generations[0] == 0 and generations[-1] >= 1
    for t in (trials[2], trials[-1]):  # the initial distribution, then a told one
        generation, opt = compat.cmaes_state(sampler, space, t, trials[: t.number + 1], direction)
        assert generation == compat.cmaes_generation(sampler, t)
        sigma, cov = compat.cmaes_sigma_cov(opt)
        assert isinstance(sigma, float) and sigma > 0
        cov = np.asarray(cov, float)
        assert cov.shape == (2, 2) and np.allclose(cov, cov.T)
        assert (np.linalg.eigvalsh(cov) > 0).all()
        assert np.asarray(opt.mean).shape == (2,)


def test_gp_fit_along_the_samplers_path_is_the_samplers_own_fit():
    """Refitted from the default kernel, then each fit from the one before (as GPSampler keeps
    it), the last fit is exactly the one the sampler used for its last trial; and its LogEI
    ranks that trial's point at the top of the space."""
    sampler = GPSampler(seed=0, n_startup_trials=3)
    assert all(hasattr(sampler, a) for a in ("_log_prior", "_minimum_noise", "_deterministic"))
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 1e-2, 1e2, log=True)
        return (np.log10(x) - 1.0) ** 2 + 0.1 * trial.suggest_int("k", 1, 4)

    study.optimize(objective, n_trials=8)
    space = {"k": IntDistribution(1, 4), "x": FloatDistribution(1e-2, 1e2, log=True)}
    trials, cache = study.trials, None
    for t in trials[3:-1]:
        cache = compat.gp_fit(sampler, StudyDirection.MINIMIZE, space, trials[: t.number], cache)
    # What the sampler held before its last trial's fit, as the studio records it, is the path's
    # fit; fitted from it, or from the path, the last fit is the sampler's own.
    recorded = compat.gp_kernel_cache(sampler)  # now: the last trial's fit
    last_fit = compat.gp_fit(sampler, StudyDirection.MINIMIZE, space, trials[:-1], cache)
    assert np.allclose(recorded, compat.gp_kernel_params(last_fit))
    before = compat.gp_kernel_params(cache)
    assert len(before) == 4  # two length scales, the kernel scale, the noise
    again = compat.gp_fit(sampler, StudyDirection.MINIMIZE, space, trials[:-1], before)
    assert np.allclose(again.inverse_squared_lengthscales.numpy(),
                       last_fit.inverse_squared_lengthscales.numpy())  # fmt: skip
    assert compat.gp_kernel_cache(GPSampler()) == []
    rebuilt = compat.gp_fitted(StudyDirection.MINIMIZE, space, trials[:-1], recorded)
    probe = torch.from_numpy(np.array([[0.5, 0.3], [0.1, 0.9]]))
    assert np.allclose(rebuilt.posterior(probe)[0].numpy(), last_fit.posterior(probe)[0].numpy())
    fit = compat.gp_acquisition(StudyDirection.MINIMIZE, space, trials[:-1], last_fit)
    last = trials[-1]
    point = {"k": np.array([float(last.params["k"])]), "x": np.array([last.params["x"]])}
    grid = {"k": np.repeat(np.arange(1.0, 5.0), 50),
            "x": np.tile(np.geomspace(1e-2, 1e2, 50), 4)}  # fmt: skip
    assert np.mean(fit.log_ei(grid) < fit.log_ei(point)[0]) >= 0.9
    # the mean is in the objective's units: near each known trial's score
    known = {"k": np.array([float(t.params["k"]) for t in trials[:-1]]),
             "x": np.array([t.params["x"] for t in trials[:-1]])}  # fmt: skip
    values = np.array([t.value for t in trials[:-1]])
    assert np.abs(fit.mean(known) - values).max() < 0.2 * np.ptp(values)
    assert (fit.std(known) < fit.std(grid).max()).all()


def test_cmaes_unit_is_the_samplers_transform():
    sampler = CmaEsSampler(seed=0)
    assert sampler._with_margin is False  # the private flag both shims read
    space = {"x": FloatDistribution(1e-2, 1e2, log=True), "n": IntDistribution(1, 5)}
    unit = compat.cmaes_unit(sampler, space)
    rows = unit({"x": np.array([1e-2, 1.0, 1e2]), "n": np.array([1.0, 3.0, 5.0])})
    # log-scaled, and an integer's range widened by half a step each side
    assert np.allclose(rows[:, 0], [0.0, 0.5, 1.0])
    assert np.allclose(rows[:, 1], [0.1, 0.5, 0.9])
    back = compat.cmaes_from_unit(sampler, space)
    assert np.allclose(back("x", rows[:, 0]), [1e-2, 1.0, 1e2])
    assert np.allclose(back("n", rows[:, 1]), [1.0, 3.0, 5.0])


def test_nsga_generation_key():
    sampler = NSGAIISampler(seed=0, population_size=4)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", -1.0, 1.0)
        return x**2, (x - 1) ** 2

    study.optimize(objective, n_trials=12)
    key = compat.nsga_generation_key(sampler)
    assert isinstance(key, str)
    generations = [t.system_attrs[key] for t in study.trials]
    assert [compat.nsga_generation(sampler, t) for t in study.trials] == generations
    assert generations[:4] == [0, 0, 0, 0]
    assert generations == sorted(generations) and generations[-1] >= 1
    # the parents each generation was bred from, read back without writing: the sampler's own
    assert compat.ga_parents(sampler, study, 99) is None
    for g in range(1, generations[-1] + 1):
        assert {t.number for t in compat.ga_parents(sampler, study, g)} == {
            t.number for t in sampler.get_parent_population(study, g)}  # fmt: skip


# -- importance ------------------------------------------------------------------------------
def test_hypervolume_of_known_fronts():
    # two corners of the unit square, reference (1, 1): 0.5 + 0.5 - their 0.25 overlap
    assert compat.hypervolume([[0.5, 0.0], [0.0, 0.5]], [1.0, 1.0]) == pytest.approx(0.75)
    assert compat.hypervolume([[0.0, 0.0, 0.0]], [2.0, 1.0, 3.0]) == pytest.approx(6.0)
    # a point beyond the reference adds nothing; none inside: zero
    assert compat.hypervolume([[0.5, 0.5], [2.0, 0.0]], [1.0, 1.0]) == pytest.approx(0.25)
    assert compat.hypervolume([[3.0, 3.0]], [1.0, 1.0]) == 0.0


def test_scott_parzen_estimator_is_a_density_on_the_grid():
    estimator = compat.scott_parzen_estimator()
    assert isinstance(estimator, type)
    observations = np.array([2, 3, 3, 7])
    pe = estimator(
        observations=observations,
        search_space=IntDistribution(0, 9),
        predetermined_weights=np.ones(len(observations)),
        prior_weight=1.0,
    )
    pdf = pe.pdf(np.arange(10))
    assert pdf.shape == (10,) and (pdf > 0).all()
    assert pdf.sum() == pytest.approx(1.0, abs=1e-6)
    assert pdf.argmax() == 3  # the value seen most


# -- journal file ----------------------------------------------------------------------------
def _backend(path: Path) -> compat.RollbackFileBackend:
    return compat.RollbackFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))


def test_rollback_file_backend_appends_and_serves_a_journal_storage(tmp_path):
    path = tmp_path / "runs.journal"
    backend = _backend(path)
    backend.append_logs([{"a": 1}, {"b": [2, 3]}])
    backend.append_logs([{"c": "x"}])
    assert list(backend.read_logs(0)) == [{"a": 1}, {"b": [2, 3]}, {"c": "x"}]
    assert [json.loads(line) for line in path.read_text().splitlines()][1] == {"b": [2, 3]}
    path.unlink()
    study = optuna.create_study(study_name="j", storage=JournalStorage(_backend(path)))
    study.optimize(_square, n_trials=2)
    again = optuna.load_study(study_name="j", storage=JournalStorage(_backend(path)))
    assert [t.number for t in again.trials] == [0, 1]


def test_rollback_file_backend_rolls_back_a_failed_append(tmp_path, monkeypatch):
    path = tmp_path / "runs.journal"
    backend = _backend(path)
    backend.append_logs([{"a": 1}])
    size = path.stat().st_size
    real_write = os.write

    def write_half_then_fail(fd: int, data) -> int:  # as a full disk does
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", write_half_then_fail)
        with pytest.raises(OSError, match="No space"):
            backend.append_logs([{"b": "a log line long enough to be cut in half"}])
    assert path.stat().st_size == size  # the partial line is gone
    backend.append_logs([{"c": 3}])  # and the journal still takes writes
    assert list(_backend(path).read_logs(0)) == [{"a": 1}, {"c": 3}]


# -- no Optuna private API outside compat.py ---------------------------------------------------
def _compat_private_attributes() -> set[str]:
    """The private attributes compat.py reads on Optuna's objects. Not those on self: outside
    compat.py, self._x is a project class's own attribute."""
    return {
        node.attr
        for node in ast.walk(ast.parse(COMPAT.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    }


def _dotted(node: ast.AST) -> str:
    """'a.b' for the expression a.b, else ''."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def _optuna_private_uses(tree: ast.AST, private_attributes: set[str]) -> list[tuple[int, str]]:
    def private_path(name: str) -> bool:
        return any(p.startswith("_") and not p.startswith("__") for p in name.split("."))

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "optuna":
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(private_path(name) for name in names):
                found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "optuna" and private_path(alias.name):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            base = node.value
            is_self = isinstance(base, ast.Name) and base.id in ("self", "cls")
            if node.attr in private_attributes and not is_self:
                found.append((node.lineno, f".{node.attr}"))
            dotted = _dotted(base)
            if dotted.split(".")[0] == "optuna" and not node.attr.startswith("__"):
                found.append((node.lineno, f"{dotted}.{node.attr}"))
    return found


def test_the_scan_finds_optuna_private_api():
    source = """
from optuna.samplers._tpe.sampler import _split_trials
from optuna._transform import SearchSpaceTransform
import optuna.storages._rdb
import optuna

def f(study, trial, self):
    return study._storage, trial._trial_id, optuna._imports, self._storage
"""
    found = _optuna_private_uses(ast.parse(source), {"_storage", "_trial_id"})
    assert sorted(line for line, _ in found) == [2, 3, 4, 8, 8, 8]


def test_no_module_but_compat_uses_optuna_private_api():
    private = _compat_private_attributes()
    assert {"_storage", "_study_id", "_trial_id", "_pop_waiting_trial_id"} <= private
    uses = []
    for module, path in sorted(archcheck.modules(ROOT).items()):
        if module == "tuning.store.compat":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(ROOT)
        uses += [f"{rel}:{line}: {what}" for line, what in _optuna_private_uses(tree, private)]
    assert uses == [], "Optuna private API outside tuning/store/compat.py (move it there):\n" + (
        "\n".join(uses)
    )
