"""Hyperopt's search algorithms (TPE, adaptive annealing, random) as the sampler of an ordinary
Optuna study, so that a Hyperopt run is stored, watched, resumed and shared like any other.

For each new trial the sampler hands Hyperopt the study's finished trials as a
`hyperopt.Trials` history (what every process sees, so resumes and several workers work) and
asks its algorithm for one point, ask/tell style. The space is the run's SearchSpace, converted
once (tuning.core.hyperopt_space), so conditional parameters are Hyperopt's nested choices.

Seeds: `fmin(rstate=np.random.default_rng(seed))` calls the algorithm with the k-th draw of
`rstate.integers(2**31 - 1)` for its k-th point; the sampler gives trial number k the same
draw, so on a fresh study with the same seed, space and objective it proposes `fmin`'s points.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.pruners import NopPruner
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from tuning.core.enums import RunStatus
from tuning.core.errors import ConfigError
from tuning.core.hyperopt_space import to_hyperopt, value_from_hyperopt, value_to_hyperopt
from tuning.core.space import SearchSpace
from tuning.execution.loop import TrialNotes, optimize
from tuning.execution.session import RunSession
from tuning.methods.origins import OriginRule
from tuning.methods.samplers import SamplerMethod
from tuning.store.origin import MODEL, RANDOM, START_UP, Origin

ALGORITHMS = ("tpe", "anneal", "rand")


def _suggest(algo: str, options: Mapping[str, Any]):
    from hyperopt import anneal, rand, tpe

    if algo == "tpe":
        return functools.partial(tpe.suggest, n_startup_jobs=options.get("n_startup_trials", 20))
    return {"anneal": anneal.suggest, "rand": rand.suggest}[algo]


class _History:
    """Hyperopt's view of one search space: its Domain and the Trials built from the study's
    finished trials, extended as trials finish (a finished trial never changes)."""

    def __init__(self, space: SearchSpace) -> None:
        from hyperopt import Trials
        from hyperopt.base import Domain

        self.space = space
        self.params = {p.name: p for p in space.params if p.enabled}
        self.domain = Domain(lambda _: 0.0, to_hyperopt(space))
        self.labels = list(self.domain.params)
        self.trials = Trials()
        self.seen: set[int] = set()

    def extend(self, finished: list[FrozenTrial], sign: float) -> None:
        from hyperopt.base import JOB_STATE_DONE

        docs = []
        new = len(finished) - len(self.seen)
        for t in reversed(finished):  # the newest first: stop once every new one is found
            if new <= 0:
                break
            if t.number in self.seen:
                continue
            new -= 1
            self.seen.add(t.number)
            idxs: dict[str, list] = {label: [] for label in self.labels}
            vals: dict[str, list] = {label: [] for label in self.labels}
            for name, value in t.params.items():
                p = self.params.get(name)
                # a value outside the space (a run's space narrowed since) is left out
                if p is not None and name in idxs and p.contains(value):
                    idxs[name], vals[name] = [t.number], [value_to_hyperopt(p, value)]
            misc = {"tid": t.number, "cmd": self.domain.cmd, "workdir": None,
                    "idxs": idxs, "vals": vals}  # fmt: skip
            result = {"status": "ok", "loss": sign * float(t.value)}
            doc = self.trials.new_trial_docs([t.number], [None], [result], [misc])[0]
            doc["state"] = JOB_STATE_DONE
            docs.append(doc)
        if docs:
            docs.sort(key=lambda d: d["tid"])  # in the order fmin would have them
            self.trials.insert_trial_docs(docs)
            self.trials.refresh()

    def propose(self, suggest, number: int, seed: int) -> dict[str, Any]:
        new = suggest([number], self.domain, self.trials, seed)
        vals = new[0]["misc"]["vals"]
        return {
            name: value_from_hyperopt(self.params[name], v[0])
            for name, v in vals.items()
            if v and name in self.params
        }


class HyperoptSampler(BaseSampler):
    """Optuna sampler whose points come from a Hyperopt algorithm ("tpe", "anneal", "rand").

    `space`: the run's SearchSpace (or Optuna distributions by name), known before the first
    trial as Hyperopt needs; None: the parameters every finished trial has (Optuna's
    intersection), with random points until one has finished."""

    def __init__(
        self,
        algo: str = "tpe",
        space: SearchSpace | Mapping[str, BaseDistribution] | None = None,
        seed: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if algo not in ALGORITHMS:
            raise ConfigError(f"Unknown Hyperopt algorithm '{algo}': one of {', '.join(ALGORITHMS)}.")
        if space is not None and not isinstance(space, SearchSpace):
            space = SearchSpace.from_distributions(space)
        self._space = space
        self.algo = algo
        # Hyperopt's TPE draws at random until this many trials have finished.
        self.startup = int((options or {}).get("n_startup_trials", 20)) if algo == "tpe" else 0
        self._suggest = _suggest(algo, options or {})
        self._seed = seed
        self._rstate = np.random.default_rng(seed)
        self._draws: list[int] = []
        self._histories: dict[str, _History] = {}
        self._fallback = RandomSampler(seed=seed)
        self._intersection = IntersectionSearchSpace()

    def reseed_rng(self) -> None:
        self._rstate = np.random.default_rng()
        self._draws = []
        self._fallback.reseed_rng()

    def seed_for(self, number: int) -> int:
        """The seed Hyperopt gets for trial `number`: fmin's draw for its point of that rank."""
        while len(self._draws) <= number:
            self._draws.append(int(self._rstate.integers(2**31 - 1)))
        return self._draws[number]

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._space is not None:
            return self._space.distributions()
        found = self._intersection.calculate(study)
        return {k: d for k, d in found.items() if not d.single()}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        if len(study.directions) > 1:
            raise ConfigError(MULTI_OBJECTIVE)
        history = self._history(search_space)
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0  # Hyperopt minimizes
        history.extend(finished, sign)
        return history.propose(self._suggest, trial.number, self.seed_for(trial.number))

    def _history(self, search_space: dict[str, BaseDistribution]) -> _History:
        """The history of the run's space, or of the space found so far (one per space)."""
        if self._space is not None:
            key = ""
        else:
            key = repr(sorted(search_space.items()))
        history = self._histories.get(key)
        if history is None:
            space = self._space or SearchSpace.from_distributions(search_space)
            history = self._histories[key] = _History(space)
        return history

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        # Only a parameter outside the known space comes here (or every one before the first
        # trial has finished, when the space is not given).
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)


MULTI_OBJECTIVE = (
    "Hyperopt's algorithms minimize one loss, so they cannot trade the score against a cost: "
    "Bayesian (TPE) is the nearest method that can."
)


def hyperopt_origin(study, trial, sampler, seen) -> Origin:
    """Where a Hyperopt trial came from: its random search's draw, its TPE's random start-up
    (k of n) or model, or an annealing step from the best trials so far."""
    if getattr(sampler, "algo", "rand") == "rand":
        return Origin(RANDOM)
    finished = seen().finished
    if sampler.algo == "tpe" and finished < sampler.startup:
        return Origin(START_UP, by="Hyperopt TPE", k=finished + 1, n=sampler.startup,
                      finished=finished)  # fmt: skip
    if sampler.algo == "tpe":
        return Origin(MODEL, by="Hyperopt TPE", finished=finished)
    return Origin(MODEL, by="Hyperopt annealing", finished=finished,
                  note="a step near one of the best trials so far")  # fmt: skip


@dataclass(frozen=True)
class HyperoptMethod(SamplerMethod):
    """A Hyperopt algorithm proposes each trial (see HyperoptSampler); the run is an ordinary
    Optuna study run by the engine's optimize loop, with the run's whole space given to
    Hyperopt up front so that conditional parameters are its nested choices."""

    algo: str = "tpe"
    why_one_objective = MULTI_OBJECTIVE
    origin_rule: OriginRule | None = hyperopt_origin

    def run(self, session: RunSession) -> RunStatus:
        options = session.config.method_options
        space = session.prep.space
        return optimize(
            session,
            make_sampler=lambda seed: HyperoptSampler(self.algo, space, seed, options),
            make_pruner=NopPruner,
            grid=False,
            notes=TrialNotes(self.trial_origin),
        )


def hyperopt_sampler(algo: str):
    """make_sampler for the registry (seed, options): without the run's space, for pages that
    drive a sampler themselves (Learn's landscapes)."""
    return lambda seed, o: HyperoptSampler(algo, None, seed, o)
