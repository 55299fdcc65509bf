"""The strategy shared by every sampler method: an Optuna sampler decides what to try next, an
Optuna pruner when to stop a trial, and the engine's optimize loop does the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.pruners import (
    BasePruner,
    MedianPruner,
    NopPruner,
    SuccessiveHalvingPruner,
)
from optuna.samplers import BaseSampler

from tuning.core.budget import Budget
from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus
from tuning.core.errors import ConfigError
from tuning.core.space import SearchSpace
from tuning.execution.loop import TrialNotes, optimize
from tuning.execution.session import RunSession
from tuning.methods.base import MethodSpec
from tuning.methods.origins import OriginRule, decide, why_pruned
from tuning.models import ModelSpec
from tuning.store import compat
from tuning.store.origin import Origin, Pruning
from tuning.store.run import StoredRun

GRID_LIMIT = 100_000  # configurations a grid may have


@dataclass(frozen=True)
class SamplerMethod(MethodSpec):
    make_sampler: Callable[[int, dict], BaseSampler] | None = None  # (seed, options)
    make_pruner: Callable[[Budget, dict], BasePruner] | None = None
    # How its sampler's trials came about (tuning/methods/origins.py); None: the rule of the
    # sampler's family (TPE, GP, CMA-ES, genetic, random, quasi-random), else "proposed by"
    # the method's label.
    origin_rule: OriginRule | None = None

    @property
    def multi_fidelity(self) -> bool:
        return self.make_pruner is not None

    def sampler(self, seed: int, options: dict | None = None) -> BaseSampler:
        return self.make_sampler(seed, {**self.defaults, **(options or {})})

    def pruner(self, budget: Budget, options: dict | None = None) -> BasePruner:
        if self.make_pruner is None:
            return NopPruner()
        return self.make_pruner(budget, {**self.defaults, **(options or {})})

    def trial_origin(self, study: optuna.Study, trial: optuna.Trial) -> Origin:
        """Where a trial this method's sampler is running came from, at its start."""
        return decide(study, trial, self.origin_rule, self.label)

    def run(self, session: RunSession) -> RunStatus:
        options = session.config.method_options
        budget = session.prep.budget
        pruned = None
        if self.multi_fidelity:
            def pruned(study: optuna.Study, trial: optuna.Trial) -> Pruning:
                return why_pruned(study, trial, budget)
        return optimize(
            session,
            make_sampler=lambda seed: self.sampler(seed, options),
            make_pruner=lambda: self.pruner(budget, options),
            grid=self.enumerates_grid,
            notes=TrialNotes(self.trial_origin, pruned),
        )


@dataclass(frozen=True)
class GridMethod(SamplerMethod):
    """Every configuration of a lattice, queued as WAITING trials when the run is created, so
    that workers and resumes pop them from the storage; the run ends when the queue is empty."""

    enumerates_grid = True
    needs_budget = False

    def validate_run(self, config: RunConfig, space: SearchSpace, model: ModelSpec) -> RunConfig:
        size = space.grid_size(config.grid_points)
        if size > GRID_LIMIT:
            raise ConfigError(
                f"The grid has {size:,} configurations: lower grid points per parameter, "
                "narrow or switch off parameters, or use random search."
            )
        return config

    def setup(self, run: StoredRun, space: SearchSpace, config: RunConfig) -> None:
        run.enqueue_grid(space.grid(config.grid_points), space.distributions())


def tpe(seed: int, o: dict) -> BaseSampler:
    # group=True lets multivariate TPE model conditional parameters (e.g. SVM gamma) jointly.
    # constant_liar: a worker counts the others' running trials as bad results, so that
    # parallel workers do not all propose the same promising point.
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=o.get("n_startup_trials", 10), multivariate=True, group=True,
        constant_liar=o.get("constant_liar", False),
    )  # fmt: skip


def inner_sampler(seed: int, o: dict) -> BaseSampler:
    if o.get("sampler", "tpe") == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return tpe(seed, o)


def hyperband(b: Budget, o: dict) -> BasePruner:
    return compat.TrialNumberHyperband(
        min_resource=b.min_step, max_resource=b.max_step, reduction_factor=o["reduction_factor"]
    )


def halving(b: Budget, o: dict) -> BasePruner:
    return SuccessiveHalvingPruner(
        min_resource=b.min_step, reduction_factor=o["reduction_factor"], min_early_stopping_rate=0
    )


def median(b: Budget, o: dict) -> BasePruner:
    return MedianPruner(n_startup_trials=o["n_startup_trials"], n_warmup_steps=o["n_warmup_steps"])
