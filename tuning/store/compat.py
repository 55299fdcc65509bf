"""Every use of Optuna's private API, in one place, pinned to the Optuna version it was written for.

Optuna has no public hook for what these do (claiming a queued trial under our own lock, writing
a trial of another worker, a trial's Hyperband bracket, the samplers' internal models that Learn
draws, an atomic journal append). When Optuna is upgraded, `tests/engine/test_compat.py` fails
first and names what to re-check here.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import optuna
from optuna.pruners import HyperbandPruner
from optuna.pruners._successive_halving import _completed_rung_key
from optuna.storages import BaseStorage
from optuna.storages.journal import JournalFileBackend
from optuna.storages.journal._file import get_lock_file
from optuna.trial import FrozenTrial

WRITTEN_FOR = "5.0.0"  # the Optuna version these shims were read against


# -- studies and trials ----------------------------------------------------------------------
def storage_of(study: optuna.Study) -> BaseStorage:
    return study._storage


def study_id(study: optuna.Study | Any) -> int:
    """The storage's id of a study (or of a FrozenStudy from get_all_studies)."""
    return study._study_id


def metric_names(storage: BaseStorage, study_id: int) -> list[str] | None:
    """What `study.metric_names` returns, without a Study object: Optuna keeps the names set by
    `study.set_metric_names` in a study system attribute under a private key."""
    from optuna.study.study import _SYSTEM_ATTR_METRIC_NAMES

    return storage.get_study_system_attrs(study_id).get(_SYSTEM_ATTR_METRIC_NAMES)


def trial_id(trial: FrozenTrial) -> int:
    return trial._trial_id


def set_trial_claimer(study: optuna.Study, claim: Callable[[], int | None]) -> None:
    """Make `study.ask()` (and so optimize) take its next trial from `claim()` instead of
    Optuna's own queue pop (`Study._pop_waiting_trial_id`), which returns a trial id."""
    study._pop_waiting_trial_id = claim


# -- what a trial's Optuna attributes say of its origin (tuning.store.trials) -----------------
def fixed_params(trial: FrozenTrial) -> dict[str, Any] | None:
    """The parameters a trial was queued with (`study.enqueue_trial`), or None: Optuna keeps
    them in a system attribute under its own key."""
    return trial.system_attrs.get("fixed_params")


# The generation key of each sampler Optuna names it after ("NSGAIISampler:generation",
# CMA-ES's "cma:generation"), in plain words.
_GENERATION_KEYS = {
    "NSGAIISampler:generation": "NSGA-II", "NSGAIIISampler:generation": "NSGA-III",
    "cma:generation": "CMA-ES", "sepcma:generation": "CMA-ES", "cmawm:generation": "CMA-ES",
}  # fmt: skip


def generation_attr(trial: FrozenTrial) -> tuple[str, int] | None:
    """(sampler in words, generation) where a genetic or CMA-ES sampler recorded one."""
    for key, who in _GENERATION_KEYS.items():
        g = trial.system_attrs.get(key)
        if isinstance(g, int):
            return who, g
    return None


def completed_rungs(trial: FrozenTrial) -> int:
    """Rungs of successive halving (or a Hyperband bracket) the trial's score was ranked at."""
    rung = 0
    while _completed_rung_key(rung) in trial.system_attrs:
        rung += 1
    return rung


def rung_values(trials: list[FrozenTrial], rung: int) -> list[float]:
    """The scores every trial had when ranked at `rung` (0 = the first): the competition."""
    key = _completed_rung_key(rung)
    return [t.system_attrs[key] for t in trials if key in t.system_attrs]


def live_frozen(trial: optuna.Trial) -> FrozenTrial:
    """A live trial as stored now (the sampler's attributes written when it was asked for)."""
    return trial.study._storage.get_trial(trial._trial_id)


def sampler_view(study: optuna.Study) -> list[FrozenTrial]:
    """The study's trials as its sampler read them for the trial now starting: the snapshot
    Optuna caches per thread for the trial's sampling (read from the storage if none yet)."""
    return study._get_trials(deepcopy=False, use_cache=True)


def startup_trials(sampler: Any) -> int | None:
    """How many finished trials a model-based sampler (TPE, GP, CMA-ES) waits for."""
    n = getattr(sampler, "_n_startup_trials", None)
    return n if isinstance(n, int) else None


def constant_liar(sampler: Any) -> bool:
    return bool(getattr(sampler, "_constant_liar", False))


def pruner_of_bracket(pruner: HyperbandPruner, bracket: int) -> Any:
    """Hyperband's successive-halving pruner of one bracket."""
    return pruner._pruners[bracket]


def halving_settings(pruner: Any) -> tuple[int, int]:
    """(reduction factor, minimum early-stopping rate) of a successive-halving pruner."""
    return pruner._reduction_factor, pruner._min_early_stopping_rate


def live_fixed_params(trial: optuna.Trial) -> dict[str, Any]:
    """The parameters a live trial was queued with ({} for one its sampler proposes), as read
    when it began (no storage read)."""
    return trial._cached_frozen_trial.system_attrs.get("fixed_params") or {}


def qmc_kind(sampler: Any) -> str:
    """"Sobol" or "Halton": the sequence a QMC sampler draws."""
    return str(getattr(sampler, "_qmc_type", "quasi-random")).capitalize()


def percentile_of(pruner: Any) -> float:
    """The percentile a percentile (median: 50) pruner compares with."""
    return float(pruner._percentile)


# -- pruners ---------------------------------------------------------------------------------
class TrialNumberHyperband(HyperbandPruner):
    """Hyperband whose brackets depend on the trial number only.

    Optuna hashes the study name with the trial number to pick a trial's bracket, so two runs
    with the same seed (but, necessarily, different names) pruned, and with TPE sampled,
    differently. Keyed on a constant, the same seed gives the same run.
    """

    def _get_bracket_id(self, study, trial) -> int:
        return super()._get_bracket_id(SimpleNamespace(study_name="hyperband"), trial)


def bracket_id(pruner: HyperbandPruner, study: optuna.Study, trial: FrozenTrial) -> int:
    return pruner._get_bracket_id(study, trial)


# -- samplers' internal models (Learn draws what drove each choice) --------------------------
def tpe_startup_trials(sampler: optuna.samplers.TPESampler) -> int:
    return sampler._n_startup_trials


def tpe_candidates(sampler: optuna.samplers.TPESampler) -> int:
    """How many candidates TPE draws from the good density to pick each point from."""
    return sampler._n_ei_candidates


def tpe_densities(sampler, study, space: dict, seen: list[FrozenTrial]) -> tuple:
    """TPE's split of the trials it had seen into good and bad, and the Parzen estimator of
    each: (below, above, l_estimator, g_estimator)."""
    from optuna.samplers._tpe.sampler import _split_trials, default_gamma

    below, above = _split_trials(study, seen, default_gamma(len(seen)))
    return (
        below,
        above,
        sampler._build_parzen_estimator(study, space, below, handle_below=True),
        sampler._build_parzen_estimator(study, space, above, handle_below=False),
    )


def cmaes_state(sampler, space: dict, trial: FrozenTrial, upto: list[FrozenTrial], direction):
    """CMA-ES's generation of `trial` and the optimizer as it stood then (mean, sigma, C);
    (None, None) for a trial outside any generation."""
    from optuna._transform import _SearchSpaceTransform

    generation = trial.system_attrs.get(sampler._attr_key_generation)
    if generation is None:
        return None, None
    trans = _SearchSpaceTransform(space, transform_step=True, transform_0_1=True)
    opt = sampler._restore_optimizer(upto)
    if opt is None:  # before the first generation was told: the initial distribution
        opt = sampler._init_optimizer(trans, direction)
    return generation, opt


def cmaes_generation(sampler, trial: FrozenTrial) -> Any:
    return trial.system_attrs.get(sampler._attr_key_generation)


def cmaes_sigma_cov(opt) -> tuple[float, Any]:
    return float(opt._sigma), opt._C


def gp_kernel_cache(sampler) -> list[float]:
    """GPSampler's last kernel fit (one objective; once a trial's joint parameters are drawn,
    the fit they were drawn with), from which its next fit starts: the inverse squared length
    scales, the kernel scale, the noise variance; [] for none."""
    cache = getattr(sampler, "_gprs_cache_list", None)
    return gp_kernel_params(cache[0]) if cache else []


def gp_kernel_params(gpr) -> list[float]:
    """A fitted GP's kernel parameters as `gp_fit` takes them back: the inverse squared length
    scales, the kernel scale, the noise variance."""
    return [*map(float, gpr.inverse_squared_lengthscales), float(gpr.kernel_scale),
            float(gpr.noise_var)]  # fmt: skip


def gp_fit(sampler, direction, space: dict, completed: list[FrozenTrial], cache=None):
    """One fit of GPSampler's Gaussian process, as `GPSampler._sample_relative_impl` makes it
    for one objective: Optuna's normalization of the space and standardization of the scores,
    its kernel fit (the sampler's prior, minimum noise and determinism), started from `cache`,
    the previous fit (the sampler keeps it, a regressor or the list gp_kernel_cache makes of
    it; None where the space's size changed or there was none). Returns the fitted regressor."""
    import numpy as np
    import torch
    from optuna._gp import gp
    from optuna._gp.search_space import SearchSpace
    from optuna.samplers._gp.sampler import _standardize_values
    from optuna.study import StudyDirection

    gp_space = SearchSpace(space)
    if isinstance(cache, list):  # as gp_kernel_cache recorded it
        as_tensor = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
        cache = SimpleNamespace(inverse_squared_lengthscales=as_tensor(cache[:-2]),
                                kernel_scale=as_tensor(cache[-2]),
                                noise_var=as_tensor(cache[-1])) if cache else None  # fmt: skip
    if cache is not None and len(cache.inverse_squared_lengthscales) != gp_space.dim:
        cache = None
    sign = -1.0 if direction == StudyDirection.MINIMIZE else 1.0
    z, _, _ = _standardize_values(sign * np.array([[t.value] for t in completed]))
    with torch.device("cpu"):
        gpr = gp.fit_kernel_params(
            X=gp_space.get_normalized_params(completed), Y=z[:, 0],
            is_categorical=gp_space.is_categorical, log_prior=sampler._log_prior,
            minimum_noise=sampler._minimum_noise, gpr_cache=cache,
            deterministic_objective=sampler._deterministic,
        )  # fmt: skip
    return gpr


def gp_fitted(direction, space: dict, completed: list[FrozenTrial], params: list[float]):
    """The Gaussian process the sampler ended a fit with, rebuilt from its kernel parameters
    (as gp_kernel_params gives them) on the same trials, without fitting again."""
    import numpy as np
    import torch
    from optuna._gp import gp
    from optuna._gp.search_space import SearchSpace
    from optuna.samplers._gp.sampler import _standardize_values
    from optuna.study import StudyDirection

    gp_space = SearchSpace(space)
    sign = -1.0 if direction == StudyDirection.MINIMIZE else 1.0
    z, _, _ = _standardize_values(sign * np.array([[t.value] for t in completed]))
    as_tensor = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    gpr = gp.GPRegressor(
        is_categorical=torch.from_numpy(gp_space.is_categorical),
        X_train=torch.from_numpy(gp_space.get_normalized_params(completed)),
        y_train=torch.from_numpy(z[:, 0]), inverse_squared_lengthscales=as_tensor(params[:-2]),
        kernel_scale=as_tensor(params[-2]), noise_var=as_tensor(params[-1]),
    )  # fmt: skip
    gpr._cache_matrix()
    return gpr


def gp_acquisition(direction, space: dict, completed: list[FrozenTrial], gpr):
    """What GPSampler maximized for a trial (one objective, no running trial): LogEI of its fit
    `gpr` (from `gp_fit` on the same trials) with the best standardized score as the threshold.
    Returns callables over points (name -> values in Optuna's internal representation): mean
    and std in the objective's units, and log expected improvement."""
    import numpy as np
    import torch
    from optuna._gp import acqf
    from optuna._gp.search_space import SearchSpace, _normalize_one_param
    from optuna._gp.thread_limiting import limit_threads_in_optimization
    from optuna.samplers._gp.sampler import _standardize_values
    from optuna.study import StudyDirection

    gp_space = SearchSpace(space)
    sign = -1.0 if direction == StudyDirection.MINIMIZE else 1.0
    z, means, stds = _standardize_values(sign * np.array([[t.value] for t in completed]))
    mu, sd, best = float(means[0]), float(stds[0]), float(z[:, 0].max())
    log_ei = acqf.LogEI(gpr=gpr, search_space=gp_space, threshold=best)

    def normalize(points: dict) -> np.ndarray:
        # Categorical values are already indices (their normalized form); numbers go through
        # the sampler's own scaling (log where log, the step's half-widths at the bounds).
        return np.stack([np.asarray(points[k], float) if gp_space.is_categorical[i] else
                         _normalize_one_param(np.asarray(points[k], float),
                                              gp_space._scale_types[i], tuple(gp_space._bounds[i]),
                                              gp_space._steps[i])
                         for i, k in enumerate(space)], axis=-1)  # fmt: skip

    def posterior(points: dict) -> tuple:
        with torch.no_grad(), limit_threads_in_optimization():
            mean, var = gpr.posterior(torch.from_numpy(normalize(points)))
        return mean.numpy(), np.sqrt(var.numpy())

    def log_ei_of(points: dict) -> np.ndarray:
        with limit_threads_in_optimization():  # as the sampler does: no thread contention
            return log_ei.eval_acqf_no_grad(normalize(points))

    return SimpleNamespace(
        normalize=normalize,
        mean=lambda points: sign * (posterior(points)[0] * sd + mu),
        std=lambda points: posterior(points)[1] * sd,
        log_ei=log_ei_of,
    )  # fmt: skip


def cmaes_unit(sampler, space: dict) -> Callable[[dict], Any]:
    """The map CMA-ES samples through (its search space transform, to the unit cube, log
    where log, steps widened by half a step): points (name -> values) to rows."""
    import numpy as np
    from optuna._transform import _SearchSpaceTransform

    trans = _SearchSpaceTransform(space, transform_step=not sampler._with_margin,
                                  transform_0_1=True)  # fmt: skip

    def unit(points: dict) -> np.ndarray:
        size = len(next(iter(points.values())))
        return np.array([trans.transform({k: float(points[k][i]) for k in space})
                         for i in range(size)]).reshape(size, len(space))  # fmt: skip

    return unit


def cmaes_from_unit(sampler, space: dict) -> Callable[[str, Any], Any]:
    """The inverse of `cmaes_unit` for one parameter, unrounded (to draw the distribution's
    outlines in the parameter's own units): (name, unit values) -> values."""
    import numpy as np
    from optuna._transform import _SearchSpaceTransform

    trans = _SearchSpaceTransform(space, transform_step=not sampler._with_margin,
                                  transform_0_1=True)  # fmt: skip
    bounds = dict(zip(space, trans._raw_bounds, strict=True))

    def from_unit(name: str, u: Any) -> np.ndarray:
        low, high = bounds[name]
        raw = low + np.asarray(u, float) * (high - low)
        return np.exp(raw) if getattr(space[name], "log", False) else raw

    return from_unit


def nsga_generation_key(sampler: optuna.samplers.NSGAIISampler) -> str:
    return sampler._get_generation_key()


def nsga_generation(sampler: optuna.samplers.NSGAIISampler, trial: FrozenTrial) -> int | None:
    """The generation NSGA-II recorded on a trial (in the trial's system attributes)."""
    return trial.system_attrs.get(nsga_generation_key(sampler))


def ga_parents(sampler: Any, study: optuna.Study, generation: int) -> list[FrozenTrial] | None:
    """The parents a genetic sampler (NSGA-II, NSGA-III) bred `generation` from, as it cached
    them in the study when it bred it; None where nothing was cached. Read only: the public
    `get_parent_population` would select and write them where they are missing."""
    key = sampler._get_parent_cache_key_prefix() + str(generation)
    ids = study._storage.get_study_system_attrs(study._study_id).get(key)
    if ids is None:
        return None
    wanted = set(ids)
    return [t for t in study.get_trials(deepcopy=False) if t._trial_id in wanted]


# -- importance ------------------------------------------------------------------------------
def hypervolume(losses: Any, reference: Any) -> float:
    """Hypervolume dominated by `losses` (rows of objective values, every objective minimized)
    up to `reference`; Optuna's exact WFG algorithm, which has no public entry point."""
    import numpy as np
    from optuna._hypervolume import compute_hypervolume

    losses = np.asarray(losses, dtype=float)
    reference = np.asarray(reference, dtype=float)
    inside = losses[np.all(losses < reference, axis=1)] if len(losses) else losses
    if not len(inside):
        return 0.0
    return float(compute_hypervolume(inside, reference))


def scott_parzen_estimator() -> type:
    """PED-ANOVA's Parzen estimator (Optuna keeps it private); our bootstrap reuses it."""
    from optuna.importance._ped_anova.scott_parzen_estimator import ScottParzenEstimator

    return ScottParzenEstimator


# -- journal file ----------------------------------------------------------------------------
class RollbackFileBackend(JournalFileBackend):
    """Optuna's journal file backend, except that a failed append (disk full, file size limit)
    is rolled back. Optuna's own leaves the partial line in the file, and from then on every
    write fails with "AssertionError: Should not reach." (seen with RLIMIT_FSIZE), so one full
    disk would break the storage for good. The body is Optuna 5.0's append_logs plus the
    truncate; there is no hook to add it otherwise.
    """

    def append_logs(self, logs: list[dict]) -> None:
        import contextlib
        import json
        import os

        with get_lock_file(self._lock):
            data = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
            # A raw descriptor, not a buffered file: a buffered writer would flush its leftover
            # bytes on close, after the truncate.
            fd = os.open(self._file_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                try:
                    view = memoryview(data.encode("utf-8"))
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, size)
                    raise
            finally:
                os.close(fd)
