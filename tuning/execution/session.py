"""One worker's session in a run, and the rules every search method shares.

The session holds the stored run and its configuration prepared once (data fetched, split,
model, scorer, budget). It owns what no method should write again: the life cycle (running,
heartbeat, elapsed time, the final status, "the last worker to finish ends the run") and the
refit-and-test rule. A method only searches inside it (`MethodSpec.run(session)`), the shape
of scikit-learn's `BaseSearchCV._run_search(evaluate_candidates)`.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from tuning.core.config import RunConfig
from tuning.core.enums import BudgetKind, RunStatus
from tuning.core.space import SearchSpace
from tuning.evaluation.objective import thread_limit
from tuning.execution import baseline, level
from tuning.execution import choice as choosing
from tuning.execution.lifecycle import Heartbeat
from tuning.execution.prepared import Prepared
from tuning.models import ModelSpec, build_pipeline, categorical_columns
from tuning.store.records import Baseline, TestResult
from tuning.store.run import StoredRun
from tuning.store.trials import LIBRARY_DEFAULTS, TrialMetrics, defaults_trial

Objective = Callable[[optuna.Trial], float | tuple[float, ...]]


@dataclass(frozen=True)
class Outcome:
    """How one worker's part of a run ended: the status and the sentence that says why."""

    status: RunStatus
    message: str | None = None


@dataclass
class RunSession:
    """One worker's part in a run: the stored run, its prepared configuration, the stop event
    and the caller's options. Built once by `tuning.runs.runner.execute`."""

    run: StoredRun
    prep: Prepared
    stop: threading.Event
    callbacks: Iterable[Callable[[optuna.Study, FrozenTrial], None]] = ()
    # Replaces the cross-validated evaluation (benchmarks use a trivial one).
    objective: Objective | None = None
    refit: bool = True
    max_trials: int | None = None  # this worker's share
    n_jobs: int | None = None  # overrides threads per fit
    worker_index: int | None = 0  # its place among the run's workers (None: joined by hand)
    progress: int | None = None  # the run's trials when its workers started (None: as seen)

    @property
    def study(self) -> optuna.Study:
        return self.run.study

    @property
    def config(self) -> RunConfig:
        return self.prep.config

    def evaluation(self) -> Objective:
        """What a trial runs: the k-fold cross-validated evaluation of its configuration."""
        if self.objective is not None:
            return self.objective
        prep, config = self.prep, self.prep.config
        return prep.evaluation(
            n_jobs=self.n_jobs, train_score=config.train_score, stop=self.stop,
            trial_timeout_s=config.trial_timeout_s,
            costs=tuple(o.column for o in prep.objectives[1:]),
        )  # fmt: skip

    # -- the life cycle ------------------------------------------------------------------------
    @contextlib.contextmanager
    def working(self, running: set[int] | None = None) -> Iterator[Heartbeat]:
        """The run is running while this worker searches: its status, its first start, the
        worker's heartbeat (listing `running`, the trials it has open) and, at the end, the
        run's working time (concurrent workers: the longest session counts)."""
        heart = Heartbeat(self.run, self.stop)
        if running is not None:
            heart.running = running
        before = self.run.elapsed_s
        self.run.mark_started()
        t0 = time.time()
        try:
            with heart:
                yield heart
        finally:
            with contextlib.suppress(Exception):
                self.run.save_elapsed(before + time.time() - t0)

    def end(self, outcome: Outcome, tested: bool = False) -> RunStatus:
        """The end of this worker's part. While other workers still beat, the last of them ends
        the run; otherwise the run's best trial (or chosen trade-off) is refit and tested once,
        unless the method `tested` it itself, an experiment's grid member scores its level
        (execution/level.py), and the run gets its final status."""
        if self.run.others_working():
            return outcome.status
        if self.refit and not tested:
            self.save_test(self.refit_best)
            self.save_defaults_test()
        if outcome.status == RunStatus.FINISHED:
            # Before the status: whoever sees the grid member finished finds its level there.
            with contextlib.suppress(Exception):  # the level is an extra: never lose the run
                level.save_level(self.run, self.prep, stop=self.stop)
        self.run.set_status(outcome.status, outcome.message)
        return outcome.status

    def save_test(self, test: Callable[[], TestResult | None]) -> None:
        """Run `test` and keep its result; a failure is kept as the test's error, never losing
        the finished search."""
        try:
            result = test()
        except Exception as exc:  # noqa: BLE001 - the search stays; only the test is missing
            self.run.save_test_error(exc)
            return
        if result is not None:
            self.run.save_test(result)

    # -- the library defaults as the baseline (tuning/execution/baseline.py) -------------------
    def score_baseline(self) -> float:
        """Score the library defaults beside the trials, where the run's baseline waits for it
        (once per run: the first worker to start); returns the seconds it took."""
        return baseline.score_beside(self.run, self.evaluation())

    def save_defaults_test(self) -> None:
        """Refit the library defaults and score them once on the test part, beside the best's
        test; a failure is kept as that test's error."""
        try:
            result = self.test_defaults()
        except Exception as exc:  # noqa: BLE001 - the search and the best's test stay
            self.run.save_defaults_test_error(exc)
            return
        if result is not None:
            self.run.save_defaults_test(result)

    def test_defaults(self) -> TestResult | None:
        """The library defaults refit on all training rows and scored once on the test part, as
        the best configuration is (its result is reused where the defaults are the best trial);
        None where the run has no scored defaults."""
        found = defaults_params(self.prep, self.run.baseline, self.study.get_trials(deepcopy=False))
        if found is None:
            return None
        params, number = found
        best = self.run.test
        if best is not None and number is not None and best.trial == number and not best.error:
            return replace(best, source=LIBRARY_DEFAULTS)
        done = refit(self.prep, params)
        return TestResult(
            score=done.score, trial=number, params=params,
            refit_seconds=round(done.seconds, 3), n_train=len(self.prep.split.y_train),
            n_test=len(self.prep.split.y_test), source=LIBRARY_DEFAULTS,
        )  # fmt: skip

    # -- refit and test ------------------------------------------------------------------------
    def refit_best(self) -> TestResult | None:
        """The best trial refit and tested once; a multi-objective run has no single best: its
        chosen trade-off (execution/choice) is refit instead."""
        study = self.study
        if not has_complete(study):
            return None
        if len(study.directions) > 1:
            choice = choosing.default_choice(study, self.prep.objectives, self.run.choice)
            if choice is None:
                return None
            self.run.save_choice(choice.to_attr())
            return refit_and_test(self.prep, study.get_trials(deepcopy=False)[choice.trial])
        return refit_and_test(self.prep, study.best_trial)


def defaults_params(
    prep: Prepared, stored: Baseline | None, trials: list[FrozenTrial]
) -> tuple[dict[str, Any], int | None] | None:
    """The library defaults' whole configuration as it is refit, as any trial's is (completed
    with the space's fixed values; where early stopping kept an earlier epoch or round, that
    one), and the trial that holds it (None: scored beside the trials). None where there is
    nothing to refit: no baseline, or defaults that were not scored."""
    if stored is None:
        return None
    if stored.is_trial:
        trial = defaults_trial(trials)
        if trial is None or trial.state != TrialState.COMPLETE:
            return None
        return trial_params(prep.space, prep.model, trial), trial.number
    scores = stored.scores
    if stored.status != Baseline.SCORED or scores is None or scores.cv_mean is None:
        return None
    params = prep.space.complete(stored.params)
    model = prep.model
    if model.budget != BudgetKind.FOLDS and scores.best_epoch and model.budget_param:
        params[model.budget_param] = int(scores.best_epoch)
    return params, None


def has_complete(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def trial_params(space: SearchSpace, model: ModelSpec, trial: FrozenTrial) -> dict[str, Any]:
    """A trial's whole configuration as it is refit: its parameters completed with the space's
    fixed values, and where early stopping kept an earlier epoch or round, that one."""
    params = space.complete(trial.params)
    best_epoch = TrialMetrics.of(trial).best_epoch
    if model.budget != BudgetKind.FOLDS and best_epoch:
        params[model.budget_param] = int(best_epoch)
    return params


@dataclass(frozen=True)
class Refit:
    """A configuration fit on all training rows and scored once on the held-out test part."""

    pipeline: Any
    seconds: float  # to fit
    score: float | None  # None where the score is not finite


def refit(prep: Prepared, params: dict[str, Any]) -> Refit:
    """Fit the pipeline of `params` on all training rows and score it on the test part."""
    pipe = build_pipeline(
        prep.model, params, prep.dataset.task, prep.config.seed, prep.config.n_jobs,
        categorical_columns(prep.split.X_train),
    )  # fmt: skip
    with warnings.catch_warnings(), thread_limit(prep.config.n_jobs):
        warnings.simplefilter("ignore")  # as in the trials: no deprecation chatter on the console
        t0 = time.perf_counter()
        pipe.fit(prep.split.X_train, prep.split.y_train)
        seconds = time.perf_counter() - t0
        score = float(prep.scoring(pipe, prep.split.X_test, prep.split.y_test))
    return Refit(pipe, seconds, score if np.isfinite(score) else None)


def refit_and_test(prep: Prepared, trial: FrozenTrial) -> TestResult:
    """The rule every run shares: refit a trial's configuration on all training rows and score
    it once on the held-out test part."""
    params = trial_params(prep.space, prep.model, trial)
    done = refit(prep, params)
    return TestResult(
        score=done.score, trial=trial.number, params=params,
        refit_seconds=round(done.seconds, 3), n_train=len(prep.split.y_train),
        n_test=len(prep.split.y_test),
    )  # fmt: skip
