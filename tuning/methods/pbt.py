"""Population-based training (Jaderberg et al., 2017) for models that train in epochs.

A population of networks trains side by side. After every `interval` epochs all members meet at a
barrier; there, and only there, the bottom `quantile` copies the weights and hyperparameters of a
random member of the top `quantile` (exploit) and perturbs the copied hyperparameters (explore).
Decisions use one seeded generator, in member order, at the barrier, so the lineage does not
depend on which thread finished first.

Written by hand because no installed library runs PBT on top of an Optuna study (Ray Tune's PBT
needs the Ray runtime). Everything is recorded in the run's Optuna study: one trial per member
per interval (a "segment") with the hyperparameters used in it, the validation score of each
epoch as an intermediate value (step = the member's epoch count), the score at the end as its
value, and the lineage on each trial (`tuning.store.trials.tag_population`). So Live monitor, Compare, Analysis and the Report
read a PBT run like any other, and a Stop keeps every finished segment.

Cost: a member is scored on one holdout split (the first CV fold), not the whole CV.
"""

from __future__ import annotations

import copy
import math
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState
from sklearn.pipeline import Pipeline

from tuning.core.config import RunConfig
from tuning.core.enums import STOPPED_BY_USER, BudgetKind, RunStatus
from tuning.core.errors import ConfigError
from tuning.core.space import Param, SearchSpace
from tuning.evaluation.objective import make_folds, thread_limit
from tuning.execution.session import Outcome, RunSession, has_complete
from tuning.methods.base import MethodSpec
from tuning.models import ModelSpec, build_pipeline
from tuning.models.costs import model_bytes, n_params
from tuning.models.mlp import import_torch
from tuning.store.records import TestResult
from tuning.store.trials import TrialMetrics, population_info, tag_population

TIMEOUT = "timeout"  # Population.run's outcome at the time limit (the run then finishes)
MUTABLE = ("learning_rate", "dropout", "weight_decay", "batch_size")
NOT_RESUMABLE = (
    "Population-based training cannot be resumed: its networks live in memory while it runs, "
    "so a stopped or interrupted run has lost them. Its finished segments are kept; start a new "
    "run (same settings) to train again."
)


# -- options -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    population_size: int
    interval: int
    quantile: float
    factors: tuple[float, ...]
    resample_probability: float
    mutable: tuple[str, ...]

    @classmethod
    def from_dict(cls, o: dict) -> Options:
        return cls(
            int(o["population_size"]), int(o["interval"]), float(o["quantile"]),
            tuple(float(f) for f in o["factors"]), float(o["resample_probability"]),
            tuple(o["mutable"]),
        )  # fmt: skip

    def n_quantile(self) -> int:
        """Members in the bottom (and in the top) part: at least one."""
        return max(1, int(math.floor(self.population_size * self.quantile)))


def check_options(o: dict) -> None:
    """Refuse options PBT cannot use, saying what to change (called when a run is created)."""
    q = o.get("quantile")
    if not isinstance(q, int | float) or isinstance(q, bool) or not 0 < q <= 0.5:
        raise ConfigError(f"PBT quantile must be a fraction above 0 and at most 0.5, got {q!r}.")
    p = o.get("resample_probability")
    if not isinstance(p, int | float) or isinstance(p, bool) or not 0 <= p <= 1:
        raise ConfigError(f"PBT resample_probability must be between 0 and 1, got {p!r}.")
    f = o.get("factors")
    if (
        not isinstance(f, list | tuple)
        or not f
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in f)
        or not all(x > 0 and math.isfinite(x) for x in f)
    ):
        raise ConfigError(
            f"PBT factors must be a list of positive numbers such as [0.8, 1.2], got {f!r}."
        )
    m = o.get("mutable")
    if not isinstance(m, list | tuple) or not m:
        raise ConfigError(
            f"PBT needs at least one hyperparameter that may change: choose from {', '.join(MUTABLE)}."
        )
    bad = [x for x in m if x not in MUTABLE]
    if bad:
        raise ConfigError(
            f"PBT cannot change {', '.join(map(str, bad))} while a network trains; "
            f"choose from {', '.join(MUTABLE)}."
        )
    if int(o.get("population_size", 2)) < 2:
        raise ConfigError("PBT needs a population of at least 2 members.")


def check_run(space, model, options: dict) -> int:
    """Checks that need the model and space; returns the run's number of segments (its trials)."""
    if model.budget != BudgetKind.EPOCHS or model.budget_param not in space:
        raise ConfigError(
            f"Population-based training needs a model that trains in epochs (the neural "
            f"network); {model.label} trains in one go. Choose the MLP, or another method."
        )
    o = Options.from_dict(options)
    searched = {p.name for p in space.params if p.enabled}
    if not set(o.mutable) & searched:
        raise ConfigError(
            f"None of the hyperparameters PBT may change ({', '.join(o.mutable)}) is searched: "
            "switch one of them on in the search space, or choose others."
        )
    epochs = member_epochs(space, model)
    return o.population_size * math.ceil(epochs / o.interval)


def member_epochs(space, model) -> int:
    """Epochs each member trains: the top of the epochs range (the run's epoch budget)."""
    p = space[model.budget_param]
    return int(p.high if p.enabled else p.fixed_value())


# -- explore -------------------------------------------------------------------------------------
def resample(param: Param, rng: np.random.Generator) -> Any:
    """A fresh value drawn from the parameter's range (log-uniform where it is log-scaled)."""
    if param.kind == "categorical":
        return param.choices[int(rng.integers(len(param.choices)))]
    low, high = float(param.low), float(param.high)
    x = (
        math.exp(rng.uniform(math.log(low), math.log(high)))
        if param.log
        else rng.uniform(low, high)
    )
    return _fit(param, x)


def perturb(
    value: Any, param: Param, rng: np.random.Generator, factors, resample_probability: float
) -> Any:
    """Explore one value: resample with the given probability, else multiply by a factor.

    Numbers stay inside [low, high] (on the step lattice, whole for ints); a categorical with
    numeric choices (batch size) moves to the next smaller or larger choice; one without an order
    is resampled.
    """
    return perturbed(value, param, rng, factors, resample_probability)[0]


def perturbed(
    value: Any, param: Param, rng: np.random.Generator, factors, resample_probability: float
) -> tuple[Any, str]:
    """`perturb`, with how the value moved in words: "x0.8", "x1.2" or "resampled"."""
    if rng.random() < resample_probability:
        return resample(param, rng), "resampled"
    factor = float(factors[int(rng.integers(len(factors)))])
    how = f"x{factor:g}"
    if param.kind == "categorical":
        choices = list(param.choices)
        numeric = all(isinstance(c, int | float) and not isinstance(c, bool) for c in choices)
        if not numeric:
            return resample(param, rng), "resampled"
        order = sorted(choices)
        i = order.index(value) if value in order else 0
        if factor > 1:
            i = min(i + 1, len(order) - 1)
        elif factor < 1:
            i = max(i - 1, 0)
        return order[i], ("one choice up" if factor > 1 else "one choice down")
    return _fit(param, float(value) * factor), how


def _fit(param: Param, x: float) -> Any:
    low, high = float(param.low), float(param.high)
    x = min(high, max(low, x))
    if param.step:
        x = low + round((x - low) / float(param.step)) * float(param.step)
        x = min(high, max(low, x))
    if param.kind == "int":
        return int(min(int(param.high), max(int(param.low), round(x))))
    return float(x)


# -- the population ------------------------------------------------------------------------------
@dataclass
class Member:
    id: int
    net: Any  # a begun MLPEstimator
    params: dict[str, Any]  # searched hyperparameters in use
    epoch: int = 0  # epochs trained, over the whole lineage
    generation: int = 0
    trial: optuna.Trial | None = None
    parent: int | None = None  # trial number of the segment this one continues
    exploit: dict | None = None
    explore: dict | None = None
    scores: list[float] = field(default_factory=list)  # this segment's, one per epoch
    score: float | None = None  # at the end of the last finished segment
    train_score: float | None = None
    predict_ms: float | None = None  # the segment's last network, per 1,000 holdout rows
    fit_s: float = 0.0
    score_s: float = 0.0
    stopped: bool = False


class Population:
    """The engine: builds members, trains segments on a thread pool, exploits and explores.

    `study` is the run's study; `prep` is an execution.prepared.Prepared. Usable on its own (tests build one and
    call its steps) as well as through `run_population`.
    """

    def __init__(self, study: optuna.Study, prep: Any, stop: threading.Event | None = None):
        cfg = prep.config
        self.study, self.prep, self.stop = study, prep, stop or threading.Event()
        self.options = Options.from_dict(cfg.method_options)
        self.space, self.model, self.scoring = prep.space, prep.model, prep.scoring
        self.epochs = member_epochs(self.space, self.model)
        self.rng = np.random.default_rng(cfg.seed)
        self.threads = max(1, min(cfg.workers, self.options.population_size))
        self.n_jobs = 1 if cfg.n_jobs < 1 else cfg.n_jobs
        tr, va = make_folds(prep.split.y_train, prep.dataset.task, cfg.cv_folds, cfg.seed)[0]
        pipe = self._pipeline({})
        X, y = prep.split.X_train, prep.split.y_train
        self.prep_step = pipe[:-1].fit(X.iloc[tr], y.iloc[tr])
        self.X_tr, self.y_tr = self.prep_step.transform(X.iloc[tr]), y.iloc[tr].to_numpy()
        self.X_va, self.y_va = self.prep_step.transform(X.iloc[va]), y.iloc[va].to_numpy()
        self.mutable = [
            n for n in self.options.mutable if n in self.space and self.space[n].enabled
        ]
        self.members: list[Member] = []
        # Open segment trials; the heartbeat publishes them, so another process's stale-trial
        # recovery does not fail a segment that is still training.
        self.running: set[int] = set()

    def _pipeline(self, params: dict, seed: int | None = None):

        full = self.space.complete(params)
        seed = self.prep.config.seed if seed is None else seed
        return build_pipeline(self.model, full, self.prep.dataset.task, seed, self.n_jobs)

    # -- segments ------------------------------------------------------------------------------
    def _searched(self, trial: optuna.Trial) -> dict[str, Any]:
        """Suggest the searched hyperparameters (the epochs budget is not one of them)."""
        params: dict[str, Any] = {}
        for p in self.space.params:
            if p.name == self.model.budget_param or not p.is_active(params):
                continue
            params[p.name] = p.suggest(trial) if p.enabled else p.fixed_value()
        return {k: v for k, v in params.items() if self.space[k].enabled}

    def start(self) -> None:
        """Generation 0: hyperparameters from Optuna's random sampler, fresh networks."""
        self.study.sampler = optuna.samplers.RandomSampler(seed=self.prep.config.seed)
        for i in range(self.options.population_size):
            trial = self.study.ask()
            params = self._searched(trial)
            net = self._pipeline(params, seed=self.prep.config.seed * 1000 + i)[-1]
            net.begin(self.X_tr, self.y_tr)
            m = Member(i, net, params, trial=trial)
            self._tag(m)
            self.members.append(m)

    def _open(self, m: Member) -> None:
        """A new segment for `m`: a trial with its (fixed) hyperparameters."""
        self.study.enqueue_trial(dict(m.params), skip_if_exists=False)
        m.trial = self.study.ask()
        self._searched(m.trial)  # records the enqueued values with their distributions
        self._tag(m)

    def _tag(self, m: Member) -> None:
        self.running.add(m.trial.number)
        tag_population(
            m.trial,
            {
                "member": m.id, "generation": m.generation, "parent": m.parent,
                "start_epoch": m.epoch, "exploit": m.exploit, "explore": m.explore,
            },
        )  # fmt: skip
        m.scores = []

    def train_segment(self, m: Member, n_epochs: int) -> None:
        """Train `m` for up to n_epochs, reporting each epoch's validation score (runs on a
        pool thread; touches only its own member and its own trial)."""
        for _ in range(n_epochs):
            if self.stop.is_set():
                m.stopped = True
                return
            t0 = time.perf_counter()
            m.net.train_epoch()
            m.fit_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            score = self.scoring(m.net, self.X_va, self.y_va)
            m.score_s += time.perf_counter() - t0
            m.epoch += 1
            m.scores.append(float(score))
            if not math.isfinite(score):
                return  # diverged: the segment fails at the barrier
            m.trial.report(float(score), m.epoch)
        if self.prep.config.train_score:
            m.train_score = float(self.scoring(m.net, self.X_tr, self.y_tr))
        # The costs every trial records (core/objectives.py); the features are preprocessed
        # once for the population, so this times the network alone.
        t0 = time.perf_counter()
        m.net.predict(self.X_va)
        seconds = time.perf_counter() - t0
        m.predict_ms = seconds * 1000 * 1000 / max(1, len(self.y_va))

    def close(self, m: Member) -> None:
        """Finish `m`'s segment trial: complete with its last score, or failed with why."""
        score = m.scores[-1] if m.scores else None
        ok = score is not None and math.isfinite(score) and not m.stopped
        reason = None
        if not ok:
            reason = (
                STOPPED_BY_USER
                if m.stopped
                else f"the validation score is {score} (the network diverged)"
            )
        # A member is scored on one holdout split: its one "fold" is that score.
        TrialMetrics.scored(
            [] if score is None else [score],
            [] if m.train_score is None else [m.train_score],
            m.fit_s, m.score_s, step=m.epoch, fail_reason=reason, best_epoch=m.epoch,
            segment_epochs=len(m.scores), validation="holdout",
            predict_ms=None if m.predict_ms is None else round(m.predict_ms, 4),
            model_bytes=model_bytes(Pipeline([("prep", self.prep_step), ("model", m.net)]))
            if ok else None,
            n_params=n_params(m.net),
        ).save(m.trial)  # fmt: skip
        m.fit_s = m.score_s = 0.0
        m.train_score = m.predict_ms = None
        self.running.discard(m.trial.number)
        if ok:
            self.study.tell(m.trial, score)
            m.score = score
        else:
            self.study.tell(m.trial, state=TrialState.FAIL)
            if not m.stopped:  # diverged; a stopped member keeps its last finished score
                m.score = None

    # -- exploit and explore ------------------------------------------------------------------
    def ranked(self) -> list[Member]:
        """Best first; a member without a score (diverged) ranks last; ties by member id."""
        sign = 1.0 if self.scoring.direction == "maximize" else -1.0

        def key(m: Member):
            return (m.score is None, -sign * (m.score if m.score is not None else 0.0), m.id)

        return sorted(self.members, key=key)

    def exploit_explore(self) -> list[tuple[int, int]]:
        """At the barrier: the bottom quantile copies a random top-quantile member, then
        perturbs. Returns (loser, source) pairs; every member gets a new segment."""
        ranked = self.ranked()
        n = self.options.n_quantile()
        # The bottom quantile, and any member whose network diverged (it has nothing to keep).
        losers = {m.id for m in ranked[-n:]} | {m.id for m in ranked if m.score is None}
        top = [m for m in ranked[:n] if m.id not in losers]
        bottom = [m for m in self.members if m.id in losers]
        copied = []
        for m in self.members:
            m.parent, m.exploit, m.explore = m.trial.number, None, None
        for m in bottom:
            src = top[int(self.rng.integers(len(top)))]
            self.copy_from(m, src)
            m.explore = self.explore(m)
            copied.append((m.id, src.id))
        for m in self.members:
            m.generation += 1
            self._open(m)
        return copied

    def copy_from(self, m: Member, src: Member) -> None:
        """Exploit: m takes src's weights, optimizer state and hyperparameters; its own
        shuffling and dropout draws are reseeded (from the run's generator) so it does not
        replay src's minibatches."""

        shared = {id(src.net._X_train): src.net._X_train, id(src.net._y_train): src.net._y_train}
        net = copy.deepcopy(src.net, memo=shared)  # weights + AdamW moments + live settings
        seed = int(self.rng.integers(2**31 - 1))
        torch = import_torch()
        net._shuffle_gen = torch.Generator().manual_seed(seed)
        net._rng_state = {"cpu": torch.Generator().manual_seed(seed + 1).get_state()}
        m.exploit = {"from_member": src.id, "from_trial": src.trial.number, "at_epoch": src.epoch}
        m.net, m.params, m.epoch, m.score = net, dict(src.params), src.epoch, src.score

    def explore(self, m: Member) -> dict[str, list]:
        """Perturb m's mutable hyperparameters and apply them to its live network."""
        o = self.options
        changes: dict[str, list] = {}
        for name in self.mutable:
            old = m.params[name]
            new, how = perturbed(
                old, self.space[name], self.rng, o.factors, o.resample_probability
            )
            changes[name] = [old, new, how]  # how it moved: "x0.8", "x1.2", "resampled"
            m.params[name] = new
        live = {
            k: v for k, v in m.params.items() if k in ("learning_rate", "dropout", "weight_decay")
        }
        m.net.set_live_params(**{k: live[k] for k in live if k in self.mutable})
        if "batch_size" in self.mutable:
            m.net.batch_size = int(m.params["batch_size"])  # read afresh by every train_epoch()
        return changes

    # -- the loop ------------------------------------------------------------------------------
    def run(self, deadline: float | None = None) -> str:
        """Train until every member has `epochs` epochs, Stop, or the deadline; returns
        RunStatus.FINISHED, RunStatus.STOPPED or TIMEOUT."""
        # Warning filters and thread limits are process-wide: set once here, around the pool,
        # not per member thread (nested enter/exit from threads would restore them wrongly).
        with (
            warnings.catch_warnings(),
            thread_limit(self.n_jobs),
            ThreadPoolExecutor(self.threads, thread_name_prefix="pbt") as pool,
        ):
            warnings.simplefilter("ignore")  # convergence chatter: the scores tell the story
            if not self.members:
                self.start()
            while True:
                # A member that diverged stopped early, and is replaced by a copy at the barrier.
                n = min(self.options.interval, self.epochs - max(m.epoch for m in self.members))
                list(pool.map(self.train_segment, self.members, [n] * len(self.members)))  # barrier
                for m in self.members:  # at the barrier, in member order: deterministic
                    self.close(m)
                if self.stop.is_set():
                    return RunStatus.STOPPED
                if max(m.epoch for m in self.members) >= self.epochs:
                    return RunStatus.FINISHED
                if deadline is not None and time.time() >= deadline:
                    return TIMEOUT
                if all(m.score is None for m in self.members):
                    raise FloatingPointError("every member's network diverged")
                self.exploit_explore()

    def best(self) -> Member | None:
        ranked = [m for m in self.ranked() if m.score is not None]
        return ranked[0] if ranked else None

    def test_score(self) -> TestResult | None:
        """Score the best member's own network once on the held-out test rows."""
        m = self.best()
        if m is None:
            return None
        split = self.prep.split
        X_test = self.prep_step.transform(split.X_test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = float(self.scoring(m.net, X_test, split.y_test.to_numpy()))
        return TestResult(
            score=score if math.isfinite(score) else None,
            trial=_last_complete(self.study, m.id),
            params={**self.space.complete(m.params), self.model.budget_param: self.epochs},
            refit_seconds=0.0, n_train=len(self.y_tr), n_test=len(split.y_test),
            source="population",
        )  # fmt: skip


def _last_complete(study: optuna.Study, member: int) -> int | None:
    for t in reversed(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))):
        if (population_info(t) or {}).get("member") == member:
            return t.number
    return None


# -- the runner's entry point --------------------------------------------------------------------
def run_population(session: RunSession) -> RunStatus:
    """Run PBT inside the run's session (PopulationMethod.run); returns the final status. The
    test is the best member's own network, not a refit."""
    study = session.study
    if any(t.state != TrialState.WAITING for t in study.get_trials(deepcopy=False)):
        if session.run.status() == RunStatus.FINISHED:
            return RunStatus.FINISHED  # nothing left to do, as for any finished run
        raise ConfigError(NOT_RESUMABLE)
    cfg = session.config
    outcome = Outcome(RunStatus.FINISHED, "Every member trained its epochs.")
    pop = None
    try:
        with session.working() as heart:
            deadline = None if cfg.timeout_s is None else time.time() + cfg.timeout_s
            pop = Population(study, session.prep, session.stop)
            heart.running = pop.running  # the same set: each beat lists the open segments
            ended = pop.run(deadline)
            if ended == RunStatus.STOPPED:
                outcome = Outcome(RunStatus.STOPPED, "Stopped by the user. " + NOT_RESUMABLE)
            elif ended == TIMEOUT:
                outcome = Outcome(RunStatus.FINISHED, "The time limit was reached.")
    except Exception as exc:
        outcome = Outcome(
            RunStatus.FAILED, f"The run stopped on an error: {type(exc).__name__}: {exc}"
        )
    if pop is not None and pop.members:
        session.save_test(pop.test_score)
    if outcome.status != RunStatus.FAILED and not has_complete(study):
        outcome = Outcome(RunStatus.FAILED, "No segment completed. " + (outcome.message or ""))
    return session.end(outcome, tested=True)


@dataclass(frozen=True)
class PopulationMethod(MethodSpec):
    """Population-based training as a method: it trains the population itself, in one process
    (the members' networks live in memory), and its trials are fixed in advance."""

    runs_itself = True
    one_process = True
    why_no_baseline = (
        "Population-based training has no baseline: its members are scored on one holdout "
        "split, not the CV folds, and change their hyperparameters while they train, so the "
        "defaults scored on the folds would compare with none of them; and every trial is a "
        "segment of a member's training, so no trial can hold them."
    )

    def check_options(self, options: dict) -> None:
        check_options(options)

    def validate_run(self, config: RunConfig, space: SearchSpace, model: ModelSpec) -> RunConfig:
        # A population run's trials are its segments: members x intervals, fixed in advance.
        return replace(config, n_trials=check_run(space, model, config.method_options))

    def run(self, session: RunSession) -> RunStatus:
        return run_population(session)


__all__ = [
    "Population",
    "PopulationMethod",
    "run_population",
    "perturb",
    "resample",
    "check_options",
]
