"""The optimize loop of a sampler-driven run: Optuna's study.optimize with the engine's
bookkeeping around it (exact budget, heartbeat, stop, failures in a row, dead workers, refit)."""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from tuning.core.config import RunConfig
from tuning.core.enums import STOPPED_BY_USER, BudgetKind, RunStatus
from tuning.core.space import SearchSpace
from tuning.evaluation.metrics import TrialMetrics, worker_name
from tuning.evaluation.objective import Evaluation, StopRequested, make_folds, thread_limit
from tuning.execution import choice as choosing
from tuning.execution.claims import BudgetSpent, claim_trials
from tuning.execution.lifecycle import Heartbeat, recover_stale_trials
from tuning.execution.prepared import Prepared
from tuning.models import build_pipeline, categorical_columns
from tuning.store.runs import BEATING_S, STALE_S, counted, live_workers, now_iso, set_status


@dataclass
class RunContext:
    """One worker's part in a run, handed to the run's method: the study, its prepared
    configuration, the stop event and the caller's options."""

    study: optuna.Study
    prep: Prepared
    stop: threading.Event
    callbacks: Iterable[Callable[[optuna.Study, FrozenTrial], None]] = ()
    # Replaces the cross-validated evaluation (benchmarks use a trivial one).
    objective: Callable[[optuna.Trial], float | tuple[float, ...]] | None = None
    refit: bool = True
    max_trials: int | None = None  # this worker's share
    n_jobs: int | None = None  # overrides threads per fit


def optimize(
    ctx: RunContext,
    make_sampler: Callable[[int], BaseSampler],
    make_pruner: Callable[[], BasePruner],
    grid: bool = False,
) -> RunStatus:
    """Work on a sampler-driven run until its budget is spent or `ctx.stop` is set; returns the
    status. `make_sampler(seed)` and `make_pruner()` come from the run's method; `grid`: the
    trials are the configurations queued when the run was created."""
    study, prep, stop = ctx.study, ctx.prep, ctx.stop
    config = prep.config
    callbacks, objective, refit = ctx.callbacks, ctx.objective, ctx.refit
    max_trials, n_jobs = ctx.max_trials, ctx.n_jobs
    trials = study.get_trials(deepcopy=False)
    waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    if grid:
        requeue_stopped_grid_trials(study, trials)
        trials = study.get_trials(deepcopy=False)
        waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    left = (
        waiting
        if grid
        else (None if config.n_trials is None else config.n_trials - counted(trials))
    )
    elapsed_before = float(study.user_attrs.get("elapsed_s", 0.0))
    timeout = None if config.timeout_s is None else max(0.0, config.timeout_s - elapsed_before)
    if left == 0 or timeout == 0:
        if live_workers(study.user_attrs, window=BEATING_S):
            return RunStatus.FINISHED  # the last of the other workers sets the status
        last = None if has_complete(study) else last_failure(study)
        if last:
            message = f"No trial completed; the last one failed with: {last}"
            set_status(study, RunStatus.FAILED, message)
            return RunStatus.FAILED
        if refit and "test" not in study.user_attrs:
            # The worker that spent the budget last died, or saw one that had just died still
            # beating, before it refit: the run's refit and test are done here instead.
            try:
                refit_best(study, prep)
            except Exception as exc:  # a failed refit must not lose the finished search
                study.set_user_attr("test", {"error": f"{type(exc).__name__}: {exc}"})
        set_status(study, RunStatus.FINISHED, "The budget is spent.")
        return RunStatus.FINISHED

    # Each worker and each resume seeds by the run's progress and, with several workers, its
    # own identity: workers that start together see the same progress and would otherwise
    # replay each other's draws. A fresh run with one worker is reproducible from `seed`.
    study.sampler = make_sampler(sampler_seed(config, len(trials) - waiting))
    study.pruner = make_pruner()
    claim_trials(study, config.n_trials, grid)
    heart = Heartbeat(study, stop)
    if objective is None:
        objective = Evaluation(
            model=prep.model, space=prep.space, task=prep.dataset.task,
            X=prep.split.X_train, y=prep.split.y_train,
            folds=make_folds(prep.split.y_train, prep.dataset.task, config.cv_folds, config.seed),
            scoring=prep.scoring, budget=prep.budget, seed=config.seed,
            n_jobs=config.n_jobs if n_jobs is None else n_jobs,
            train_score=config.train_score, stop=stop, trial_timeout_s=config.trial_timeout_s,
            costs=tuple(o.column for o in prep.objectives[1:]),
        )  # fmt: skip
    inner = objective

    failures = {"row": 0, "message": None, "checked": time.time()}

    def guard(reason: str | None) -> None:
        """After each trial: honour Stop, count failures in a row, look for dead workers.

        Called from the objective wrapper rather than as an Optuna callback, because Optuna
        re-reads and deep-copies the trial for every callback (a third of the runner's own
        cost per trial).
        """
        if stop.is_set():
            study.stop()
            return
        if reason is not None and reason != STOPPED_BY_USER:
            failures["row"] += 1
            if failures["row"] >= config.max_consecutive_failures:
                failures["message"] = (
                    f"{failures['row']} trials failed in a row; the last said: {reason}. "
                    "Check the data and the search space (e.g. narrow extreme ranges)."
                )
                study.stop()
        else:
            failures["row"] = 0
        if time.time() - failures["checked"] > STALE_S:  # other workers may have died
            failures["checked"] = time.time()
            with contextlib.suppress(Exception):  # a storage hiccup must not fail this trial
                recover_stale_trials(study, config.retries)

    def tracked(trial: optuna.Trial) -> float:
        heart.running.add(trial.number)  # in memory only: the next heartbeat publishes it
        reason = None  # why the trial failed, as the objective records it; None: it did not
        try:
            value = inner(trial)
            try:  # one value, or a multi-objective run's (score, *costs)
                values = value if isinstance(value, (tuple, list)) else (value,)
                nan = any(math.isnan(float(v)) for v in values)
            except (TypeError, ValueError):
                nan = True
            if nan:
                reason = f"the objective returned {value!r}"  # Optuna fails the trial too
            return value
        except optuna.TrialPruned:
            raise
        except StopRequested:
            reason = STOPPED_BY_USER
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            guard(reason)  # while the trial is still listed as ours: stale-trial recovery skips it
            heart.running.discard(trial.number)

    if stop.is_set() and not live_workers(study.user_attrs, window=BEATING_S):
        message = "Stopped by the user before it started; resume to continue."
        set_status(study, RunStatus.STOPPED, message)
        return RunStatus.STOPPED
    set_status(study, RunStatus.RUNNING)
    if "started_at" not in study.user_attrs:
        study.set_user_attr("started_at", now_iso())
    t0 = time.time()
    status, message = RunStatus.FINISHED, "The budget is spent."
    try:
        with heart:
            study.optimize(
                tracked,
                n_trials=max_trials,
                timeout=timeout,
                callbacks=list(callbacks) or None,
                catch=(Exception,),
                gc_after_trial=False,
            )
    except BudgetSpent:
        pass
    except Exception as exc:  # the storage or sampler failed: the run cannot go on
        status = RunStatus.FAILED
        message = f"The run stopped on an error: {type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):  # concurrent workers: the longest session counts
            elapsed = max(
                float(study.user_attrs.get("elapsed_s", 0.0)), elapsed_before + time.time() - t0
            )
            study.set_user_attr("elapsed_s", elapsed)
    if status != RunStatus.FAILED:
        if failures["message"]:
            status, message = RunStatus.FAILED, failures["message"]
        elif stop.is_set():
            status, message = RunStatus.STOPPED, "Stopped by the user; resume to continue."
        elif not has_complete(study) and (last := last_failure(study)):
            status = RunStatus.FAILED
            message = f"No trial completed; the last one failed with: {last}"
        elif max_trials is not None and not _budget_spent(study, config, grid):
            status, message = (
                RunStatus.STOPPED,
                f"This worker ran its {max_trials} trials; the run has budget left.",
            )
    if grid and stop.is_set():
        requeue_stopped_grid_trials(study, study.get_trials(deepcopy=False))
    if live_workers(study.user_attrs, window=BEATING_S):
        return status  # other workers go on; the last one to finish refits and sets the status
    if refit:
        try:
            refit_best(study, prep)
        except Exception as exc:  # a failed refit must not lose the finished search
            study.set_user_attr("test", {"error": f"{type(exc).__name__}: {exc}"})
    set_status(study, status, message)
    return status


def _budget_spent(study: optuna.Study, config: RunConfig, grid: bool) -> bool:
    trials = study.get_trials(deepcopy=False)
    if grid:
        return not any(t.state == TrialState.WAITING for t in trials)
    return config.n_trials is not None and counted(trials) >= config.n_trials


def requeue_stopped_grid_trials(study: optuna.Study, trials: list[FrozenTrial]) -> None:
    """A grid trial cut short by Stop goes back in the queue, so the grid stays complete."""
    done = set(study.user_attrs.get("requeued", []))
    todo = [
        t for t in trials
        if t.state == TrialState.FAIL and t.number not in done and TrialMetrics.of(t).stopped
    ]  # fmt: skip
    for t in todo:
        study.enqueue_trial(dict(t.params))
    if todo:
        study.set_user_attr("requeued", sorted(done | {t.number for t in todo}))


def last_failure(study: optuna.Study) -> str | None:
    for t in reversed(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))):
        reason = TrialMetrics.of(t).fail_reason
        if reason != STOPPED_BY_USER:
            # No recorded reason: Optuna's RDB heartbeat failed it because its worker died.
            return reason or "no reason recorded (its worker probably died)"
    return None


def has_complete(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def best_params(study: optuna.Study, space: SearchSpace) -> tuple[FrozenTrial, dict[str, Any]]:
    best = study.best_trial
    params = space.complete(best.params)
    return best, params


def refit_best(study: optuna.Study, prep: Prepared) -> dict[str, Any] | None:
    """Refit the best configuration on all training data and score it once on the test part.
    A multi-objective run has no single best: it refits its chosen trade-off (execution/choice)."""
    if not has_complete(study):
        return None
    if len(study.directions) > 1:
        choice = choosing.default_choice(study, prep.objectives)
        if choice is None:
            return None
        study.set_user_attr(choosing.ATTR, choice.to_attr())
        return refit_trial(study, prep, study.get_trials(deepcopy=False)[choice.trial])
    best, _ = best_params(study, prep.space)
    return refit_trial(study, prep, best)


def sampler_seed(config: RunConfig, progress: int) -> int:
    """A worker's sampler seed: the run's seed moved on by its progress (trials made so far)
    and, with several workers, by the worker's own identity (host, process, thread): workers
    that start together see the same progress and would otherwise replay each other's draws."""
    offset = progress
    if config.workers > 1:
        offset += zlib.crc32(f"{worker_name()}:{threading.get_ident()}".encode())
    return (config.seed + offset) % 2**32


def refit_trial(study: optuna.Study, prep: Prepared, best: FrozenTrial) -> dict[str, Any]:
    """Refit one trial's configuration on all training data, score it once on the test part,
    and store that as the run's test result (`user_attrs["test"]`, with the trial's number)."""
    params = prep.space.complete(best.params)
    best_epoch = TrialMetrics.of(best).best_epoch
    if prep.model.budget != BudgetKind.FOLDS and best_epoch:  # early stopping's best step
        params[prep.model.budget_param] = int(best_epoch)
    pipe = build_pipeline(
        prep.model, params, prep.dataset.task, prep.config.seed, prep.config.n_jobs,
        categorical_columns(prep.split.X_train),
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings(), thread_limit(prep.config.n_jobs):
        warnings.simplefilter("ignore")  # as in the trials: no deprecation chatter on the console
        pipe.fit(prep.split.X_train, prep.split.y_train)
        seconds = time.perf_counter() - t0
        score = prep.scoring(pipe, prep.split.X_test, prep.split.y_test)
    test = {
        "score": float(score) if np.isfinite(score) else None,
        "trial": best.number,
        "params": params,
        "refit_seconds": round(seconds, 3),
        "n_train": len(prep.split.y_train),
        "n_test": len(prep.split.y_test),
    }
    study.set_user_attr("test", test)
    return test
