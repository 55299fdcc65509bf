"""Cross-validated evaluation of one trial, reporting after each fold, epoch or boosting round.

Written by hand around scikit-learn's splitters and scorers rather than `cross_validate`, because
multi-fidelity methods must see a score after every fold/epoch/round and stop the trial there,
and the Stop button must take effect between folds, not only between trials.
"""

from __future__ import annotations

import contextlib
import math
import pickle
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from tuning.core.budget import Budget
from tuning.core.enums import STOPPED_BY_USER, BudgetKind, Task
from tuning.core.scoring import Scoring
from tuning.core.space import SearchSpace
from tuning.models import MLP_PATIENCE, ModelSpec, build_pipeline, categorical_columns
from tuning.models.costs import model_bytes, n_params
from tuning.store.trials import WORKER as WORKER  # where it was first defined
from tuning.store.trials import TrialMetrics, is_defaults


class StopRequested(Exception):
    """Raised inside a trial when the run was asked to stop; the trial is recorded as stopped."""


class TrialTimeLimit(Exception):
    """Raised inside a trial that ran past the run's per-trial time limit; the trial fails."""


def thread_limit(n_jobs: int | None) -> contextlib.AbstractContextManager:
    """Cap OpenMP and BLAS threads at n_jobs when it is set (>= 1); -1 leaves all cores.

    Histogram gradient boosting has no n_jobs: it used every OpenMP thread, whose busy-waiting
    on a loaded machine (or beside PyTorch's own OpenMP pool) made tiny fits 20x slower; BLAS
    threads (logistic regression, SVM) likewise halved the speed of small fits.
    """
    if n_jobs is None or n_jobs < 1:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_jobs)


def rows(data: Any, idx: np.ndarray) -> Any:
    """Rows `idx` of a DataFrame or Series, an array, a sparse matrix or a list (written here
    because scikit-learn's own `_safe_indexing` is private)."""
    if hasattr(data, "iloc"):
        return data.iloc[idx]
    if hasattr(data, "shape"):
        return data[idx]
    return [data[i] for i in idx]


def make_folds(y: pd.Series, task: str, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    cls = StratifiedKFold if task == Task.CLASSIFICATION else KFold
    splitter = cls(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def budget_for(spec: ModelSpec, space: SearchSpace, folds: int, use: str = "auto") -> Budget:
    """The fidelity a multi-fidelity method spends: the model's own, or folds if asked."""
    kind = BudgetKind(spec.budget if use == "auto" else use)
    if kind == BudgetKind.FOLDS or spec.budget_param is None or spec.budget_param not in space:
        return Budget(BudgetKind.FOLDS, 1, folds)
    p = space[spec.budget_param]
    high = int(p.high if p.enabled else p.fixed_value())
    if kind == BudgetKind.EPOCHS:
        return Budget(BudgetKind.EPOCHS, max(1, high // 20), high)
    return Budget(BudgetKind.ROUNDS, round_chunk(high), high)


def round_chunk(high: int) -> int:
    """Boosting rounds added between reports: about ten reports for the largest trial."""
    return max(5, int(math.ceil(high / 10)))


@dataclass
class Evaluation:
    """Everything one trial needs besides its parameters; built once per run."""

    model: ModelSpec
    space: SearchSpace
    task: str
    X: pd.DataFrame
    y: pd.Series
    folds: list[tuple[np.ndarray, np.ndarray]]
    scoring: Scoring
    budget: Budget
    seed: int
    n_jobs: int = 1
    train_score: bool = True
    stop: threading.Event | None = None
    # Checked cooperatively between folds, epochs and boosting rounds rather than enforced by a
    # kill: Python cannot kill a thread, and killing a process mid-fit would lose the trial's
    # record and could leave a storage write or the budget lock half-done. So one step (a fold's
    # fit) can overrun the limit; the trial then fails at the next check, with the reason.
    trial_timeout_s: float | None = None
    # A multi-objective run's cost objectives: the TrialMetrics fields returned after the score,
    # in the order of the study's directions. (): a single-objective run, which returns a float.
    costs: tuple[str, ...] = ()
    # Folds fitted at once (joblib, as scikit-learn's searches do) when the budget is folds and
    # nothing prunes between them; 1: one after another, reporting after each.
    fold_jobs: int = 1
    # False: skip the per-fold predict timing and the model-size pickle (the costs a
    # multi-objective run trades); a search object that does not show them saves their time.
    measure: bool = True
    # False: no intermediate value per fold (one storage write each) where nothing prunes.
    report_steps: bool = True

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        rec = _Record(trial, self.scoring)
        if self.trial_timeout_s is not None:
            rec.deadline = time.monotonic() + self.trial_timeout_s
        try:
            params = self.space.suggest(trial)
            with warnings.catch_warnings(), thread_limit(self.n_jobs):
                warnings.simplefilter("ignore")  # convergence chatter: the score tells the story
                if self.budget.kind == BudgetKind.EPOCHS:
                    value = self._by_epoch(trial, params, rec)
                elif self.budget.kind == BudgetKind.ROUNDS:
                    value = self._by_round(trial, params, rec)
                else:
                    value = self._by_fold(trial, params, rec)
            self._check_time(rec)  # the last step may have run past the limit too
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the CV score is {value} (a fold produced NaN or inf: the model diverged)"
                )
            if self.measure:
                rec.measure_model()
            unknown = [c for c in self.costs if getattr(rec.metrics(), c) is None]
            if unknown:
                raise ValueError(f"the cost(s) {', '.join(unknown)} could not be measured")
        except optuna.TrialPruned:
            rec.save(pruned=True)
            raise
        except StopRequested:
            rec.save(reason=STOPPED_BY_USER)
            raise
        except Exception as exc:
            rec.save(reason=f"{type(exc).__name__}: {exc}"[:500])
            raise
        metrics = rec.save()
        if not self.costs:
            return value
        # The costs come from the trial's own record, so its values and its metrics agree.
        return (value, *(float(getattr(metrics, c)) for c in self.costs))

    # -- the three budgets ---------------------------------------------------------------------
    def _by_fold(self, trial: optuna.Trial, params: dict, rec: _Record) -> float:
        if self.fold_jobs != 1:
            return self._folds_at_once(trial, params, rec)
        for step, (tr, va) in enumerate(self.folds, 1):
            self._check_stop()
            self._check_time(rec)
            pipe = self._pipeline(params)
            t0 = time.perf_counter()
            pipe.fit(rows(self.X, tr), rows(self.y, tr))
            seconds = time.perf_counter() - t0
            rec.fit_s += seconds
            rec.fold_fit_s.append(seconds)
            rec.folds.append(self._score(pipe, tr, va, rec))
            rec.step = step
            rec.last_pipe = pipe
            self._report(trial, float(np.mean(rec.folds)), step, last=step == len(self.folds))
        return float(np.mean(rec.folds))

    def _by_epoch(self, trial: optuna.Trial, params: dict, rec: _Record) -> float:
        # Folds train in lockstep so that each epoch has a CV score a pruner can compare.
        nets = []
        for tr, _ in self.folds:
            pipe = self._pipeline(params)
            t0 = time.perf_counter()
            prep = pipe[:-1].fit(rows(self.X, tr), rows(self.y, tr))
            pipe[-1].begin(prep.transform(rows(self.X, tr)), np.asarray(rows(self.y, tr)))
            rec.fit_s += time.perf_counter() - t0
            nets.append(pipe)
        rec.last_pipe = nets[-1]
        best, best_folds, best_epoch = None, [], 0
        patience = dict(self.model.options).get("patience", MLP_PATIENCE)
        for epoch in range(1, int(params[self.model.budget_param]) + 1):
            self._check_stop()
            self._check_time(rec)
            t0 = time.perf_counter()
            for pipe in nets:
                pipe[-1].train_epoch()
            rec.fit_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            scores = [
                self.scoring(p, rows(self.X, va), rows(self.y, va))
                for p, (_, va) in zip(nets, self.folds, strict=True)
            ]
            rec.score_s += time.perf_counter() - t0
            mean = float(np.mean(scores))
            if not math.isfinite(mean):
                return mean
            if self.scoring.better(mean, best):
                best, best_folds, best_epoch = mean, scores, epoch
            rec.step = epoch
            rec.folds = best_folds
            rec.best_epoch = best_epoch
            self._report(trial, mean, epoch, last=epoch == int(params[self.model.budget_param]))
            if patience and epoch - best_epoch >= patience:
                rec.stopped_early_at = epoch
                break
        if self.train_score:
            t0 = time.perf_counter()
            rec.train.extend(
                self.scoring(p, rows(self.X, tr), rows(self.y, tr))
                for p, (tr, _) in zip(nets, self.folds, strict=True)
            )
            rec.score_s += time.perf_counter() - t0
        for pipe, (_, va) in zip(nets, self.folds, strict=True):
            self._time_predict(pipe, va, rec)  # once, on the trained networks
        return float(best)

    def _by_round(self, trial: optuna.Trial, params: dict, rec: _Record) -> float:
        # Each checkpoint costs only its new trees: sklearn's warm start adds them to the fitted
        # ensemble; LightGBM, XGBoost and CatBoost continue from the fold's booster (spec.grow).
        name = self.model.budget_param
        total = int(params[name])
        # About ten chunks for the largest trial of the space; a total beyond it (the library
        # defaults scored beside the trials, e.g. CatBoost's 1,000 rounds) gets ten of its own.
        chunk = round_chunk(max(self.budget.max_step, total))
        checkpoints = [*range(chunk, total, chunk), total]
        grow = self.model.grow
        pipes = [self._pipeline(params) for _ in self.folds]
        if grow is None:
            for pipe in pipes:
                pipe[-1].set_params(warm_start=True)
        patience = int(params.get(self.model.patience_param, 0) or 0) if grow else 0
        best, best_folds, best_rounds = None, [], 0
        scores: list[float] = []
        features: list[Any] = []  # each fold's preprocessed training set, fitted once
        done = 0
        for rounds in checkpoints:
            self._check_stop()
            self._check_time(rec)
            scores = []
            for i, (pipe, (tr, va)) in enumerate(zip(pipes, self.folds, strict=True)):
                t0 = time.perf_counter()
                if len(features) <= i:
                    features.append(pipe[:-1].fit_transform(rows(self.X, tr), rows(self.y, tr)))
                y_tr = np.asarray(rows(self.y, tr))
                if grow is None:
                    pipe[-1].set_params(**{name: rounds})
                    pipe[-1].fit(features[i], y_tr)
                else:
                    pipe.steps[-1] = (pipe.steps[-1][0], grow(pipe[-1], features[i], y_tr, rounds - done))
                rec.fit_s += time.perf_counter() - t0
                scores.append(self._score(pipe, tr, va, rec, train=False))
            done = rounds
            mean = float(np.mean(scores))
            rec.folds = scores
            rec.step = rounds
            if patience and math.isfinite(mean) and self.scoring.better(mean, best):
                best, best_folds, best_rounds = mean, scores, rounds
            self._report(trial, mean, rounds, last=rounds == total)
            if patience and rounds < total and rounds - best_rounds >= patience:
                rec.stopped_early_at = rounds
                break
        rec.last_pipe = pipes[-1]
        for pipe, (tr, va) in zip(pipes, self.folds, strict=True):
            if self.train_score:
                t0 = time.perf_counter()
                rec.train.append(self.scoring(pipe, rows(self.X, tr), rows(self.y, tr)))
                rec.score_s += time.perf_counter() - t0
            self._time_predict(pipe, va, rec)
        if patience and best is not None:
            # Early stopping keeps the best round: the trial's score and the refit's rounds.
            rec.folds, rec.best_epoch = best_folds, best_rounds
            return float(best)
        return float(np.mean(scores))

    def _pipeline(self, params: dict):
        return build_pipeline(
            self.model, params, self.task, self.seed, self.n_jobs, categorical_columns(self.X)
        )

    def _folds_at_once(self, trial: optuna.Trial, params: dict, rec: _Record) -> float:
        from joblib import Parallel, delayed

        self._check_stop()
        pipes = [self._pipeline(params) for _ in self.folds]
        done = Parallel(n_jobs=self.fold_jobs)(
            delayed(_fit_and_score)(
                pipe, self.scoring, rows(self.X, tr), rows(self.y, tr), rows(self.X, va),
                rows(self.y, va), self.train_score,
            )
            for pipe, (tr, va) in zip(pipes, self.folds, strict=True)
        )  # fmt: skip
        for fit_s, score_s, score, train in done:
            rec.fit_s += fit_s
            rec.score_s += score_s
            rec.fold_fit_s.append(fit_s)
            rec.fold_score_s.append(score_s)
            rec.folds.append(score)
            if train is not None:
                rec.train.append(train)
        rec.step = len(self.folds)
        value = float(np.mean(rec.folds))
        self._report(trial, value, rec.step, last=True)
        return value

    # -- helpers -------------------------------------------------------------------------------
    def _score(self, pipe, tr, va, rec: _Record, train: bool = True) -> float:
        t0 = time.perf_counter()
        score = self.scoring(pipe, rows(self.X, va), rows(self.y, va))
        rec.fold_score_s.append(time.perf_counter() - t0)
        if self.train_score and train:
            rec.train.append(self.scoring(pipe, rows(self.X, tr), rows(self.y, tr)))
        rec.score_s += time.perf_counter() - t0
        if self.budget.kind == BudgetKind.FOLDS and self.measure:
            self._time_predict(pipe, va, rec)
        return score

    def _time_predict(self, pipe, va, rec: _Record) -> None:
        """Prediction latency of the fitted fold: one predict call on its validation rows, timed
        by itself. The scorer predicts too, but its time also holds the metric and sklearn's
        checks, which would swamp the predict time of fast models. Kept out of score_seconds,
        so that those mean what they meant before costs were measured."""
        X = rows(self.X, va)
        t0 = time.perf_counter()
        pipe.predict(X)
        seconds = time.perf_counter() - t0
        rec.predict_ms.append(seconds * 1000 * 1000 / max(1, len(va)))

    def _report(self, trial: optuna.Trial, value: float, step: int, last: bool = False) -> None:
        if not math.isfinite(value) or self.costs or not self.report_steps:
            # Optuna refuses intermediate values on multi-objective trials (no pruner could use
            # them): such a trial's progress shows only in its record's step and fold scores.
            return
        trial.report(value, step)
        # A trial that has spent its whole budget is complete: pruning it then would throw away
        # a finished score (successive halving has a rung at the last fold when k = η). The
        # library defaults are never pruned (the pruner still sees their steps): the gain of
        # tuning is measured against their full score.
        if not last and trial.should_prune() and not is_defaults(trial):
            raise optuna.TrialPruned(f"pruned at step {step}")

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise StopRequested()

    def _check_time(self, rec: _Record) -> None:
        if rec.deadline is not None and time.monotonic() > rec.deadline:
            done = f" (stopped at {self.budget.kind[:-1]} {rec.step})" if rec.step else ""
            raise TrialTimeLimit(
                f"the trial ran past its time limit of {self.trial_timeout_s:g} s{done}; "
                "raise the per-trial time limit or narrow the search space"
            )


def _fit_and_score(pipe, scoring, X_tr, y_tr, X_va, y_va, train_score: bool):
    """One fold fitted and scored where joblib runs it: (fit s, score s, score, train score)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        pipe.fit(X_tr, y_tr)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        score = scoring(pipe, X_va, y_va)
        score_s = time.perf_counter() - t0
        train = scoring(pipe, X_tr, y_tr) if train_score else None
    return fit_s, score_s, score, train


class _Record:
    """What a trial keeps besides params and value, gathered while it runs and written as one
    TrialMetrics record (one storage write)."""

    def __init__(self, trial: optuna.Trial, scoring: Scoring) -> None:
        self.trial = trial
        self.folds: list[float] = []
        self.train: list[float] = []
        self.fit_s = 0.0
        self.score_s = 0.0
        self.fold_fit_s: list[float] = []  # per fold, by folds only (search objects report them)
        self.fold_score_s: list[float] = []
        self.step = 0
        self.best_epoch: int | None = None  # networks: the epoch early stopping keeps
        self.stopped_early_at: int | None = None
        self.deadline: float | None = None  # time.monotonic() past which the trial fails
        self.predict_ms: list[float] = []  # per fold: ms per 1,000 validation rows
        self.last_pipe: Any = None  # the last fold's fitted pipeline
        self.model_bytes: int | None = None

    def measure_model(self) -> None:
        """Size of the last fold's pipeline, once per trial that completes (one pickle)."""
        if self.last_pipe is None:
            return
        try:
            self.model_bytes = model_bytes(self.last_pipe)
        except (pickle.PicklingError, AttributeError, TypeError):
            # An estimator that cannot be pickled (a class defined in a function) has no size
            # to report; its trial still counts. A run that trades size for score fails it below.
            self.model_bytes = None

    def _n_params(self) -> int | None:
        # Known as soon as a network is built, so pruned and stopped trials have it too.
        return None if self.last_pipe is None else n_params(self.last_pipe)

    def metrics(self, pruned: bool = False, reason: str | None = None) -> TrialMetrics:
        return TrialMetrics.scored(
            self.folds, self.train, self.fit_s, self.score_s, step=self.step,
            pruned_step=self.step if pruned else None, fail_reason=reason or None,
            best_epoch=self.best_epoch, stopped_early_at=self.stopped_early_at,
            predict_ms=round(float(np.median(self.predict_ms)), 4) if self.predict_ms else None,
            model_bytes=self.model_bytes, n_params=self._n_params(),
            fold_fit_seconds=[round(x, 5) for x in self.fold_fit_s] or None,
            fold_score_seconds=[round(x, 5) for x in self.fold_score_s] or None,
            train_fold_scores=([float(x) for x in self.train] or None) if self.fold_fit_s else None,
        )  # fmt: skip

    def save(self, pruned: bool = False, reason: str | None = None) -> TrialMetrics:
        metrics = self.metrics(pruned, reason)
        metrics.save(self.trial)
        return metrics
