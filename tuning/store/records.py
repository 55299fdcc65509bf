"""One typed record of a run, parsed once from its study's attributes.

The CLI, the pages, the report and the workers read a run through `RunRecord` instead of
picking keys out of `study.user_attrs`; the attributes themselves (the storage format) are the
ones runs have always had, so runs made by earlier versions read the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from tuning.core.budget import Budget
from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus, Task
from tuning.core.errors import UserError
from tuning.core.objectives import Objective, run_objectives, score_objective
from tuning.data.labels import dataset_label
from tuning.models.custom import missing_estimator
from tuning.store import blob, compat
from tuning.store.foreign import ForeignStudy, foreign_status, is_foreign, needs_config
from tuning.store.notes import notes_of
from tuning.store.runs import run_status
from tuning.store.trials import TrialMetrics


@dataclass(frozen=True)
class TestResult:
    """The best configuration refit on all training data and scored once on the test part."""

    score: float | None = None
    trial: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    refit_seconds: float | None = None
    n_train: int | None = None
    n_test: int | None = None
    source: str | None = None  # "population": the best member's own network
    error: str | None = None  # the refit failed (the search is kept)

    @classmethod
    def from_attr(cls, d: dict | None) -> TestResult | None:
        if not d:
            return None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_attr(self) -> dict[str, Any]:
        """As stored (and as listings hand it on): the fields that are set."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Baseline:
    """The model's library defaults as a run's baseline (tuning/execution/baseline.py): where
    they are scored, their parameters and, once scored beside the trials, their scores; or why
    the run has none. Written at creation; a run made before baselines has none (None), and
    none is made up for it.

    `status`:
    - TRIAL: the defaults lie in the searched space and were queued as the first trial (origin
      "library defaults", tuning.store.trials); its scores are that trial's, and it counts as one
      of the run's trials.
    - PENDING / SCORING: to be scored beside the trials by the first worker that starts (grid,
      multi-objective, or defaults outside the space: `beside` says which) / being scored.
    - SCORED: scored beside the trials on the same folds: `metrics`.
    - FAILED: the defaults could not be scored: `error`; the run went on.
    - NONE: the run has no baseline: `reason` (switched off, population-based training, a
      model whose defaults cannot be read).
    """

    TRIAL: ClassVar[str] = "trial"
    PENDING: ClassVar[str] = "pending"
    SCORING: ClassVar[str] = "scoring"
    SCORED: ClassVar[str] = "scored"
    FAILED: ClassVar[str] = "failed"
    NONE: ClassVar[str] = "none"

    status: str
    # The searched parameters at the library's defaults (the run's fixed ones are as in every
    # trial); None: a value the library chooses from the data when it fits.
    params: dict[str, Any] = field(default_factory=dict)
    in_space: bool | None = None  # every searched parameter's default lies in its range
    outside: dict[str, str] = field(default_factory=dict)  # parameter -> why it is outside
    beside: str | None = None  # why it is scored beside the trials rather than as one
    metrics: dict[str, Any] | None = None  # SCORED: the TrialMetrics record, as stored
    error: str | None = None  # FAILED: why
    reason: str | None = None  # NONE: why the run has no baseline
    worker: str | None = None  # SCORING: who is scoring it

    @classmethod
    def from_attr(cls, d: dict | None) -> Baseline | None:
        if not isinstance(d, dict) or "status" not in d:
            return None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_attr(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {})}

    @property
    def scores(self) -> TrialMetrics | None:
        """The defaults' scores where they were scored beside the trials."""
        return TrialMetrics.from_attr(self.metrics) if self.metrics else None

    @property
    def is_trial(self) -> bool:
        return self.status == self.TRIAL

    @property
    def waiting(self) -> bool:
        """Still to be scored beside the trials (or being scored)."""
        return self.status in (self.PENDING, self.SCORING)


@dataclass(frozen=True)
class GridLevel:
    """The level an experiment's races run to, de-noised: the grid member's best configuration
    scored again on the run's own folds with several model seeds (the model's random_state),
    so that the level is that configuration's typical score, not the one lucky draw that made
    it the largest of many (tuning/execution/level.py).

    `status`:
    - SCORED: `scores` holds one CV mean per model seed in `model_seeds`; `mean` and `std`
      (over the seeds, ddof=1) are the level and its spread.
    - DETERMINISTIC: the model takes no random seed, so rescoring would repeat the same score:
      the level is grid's own best (`mean` = `own`).
    - FAILED: the rescoring failed (`error`); readers fall back to grid's own best.
    """

    SCORED: ClassVar[str] = "scored"
    DETERMINISTIC: ClassVar[str] = "deterministic"
    FAILED: ClassVar[str] = "failed"

    status: str
    trial: int | None = None  # the grid trial whose configuration was rescored
    params: dict[str, Any] = field(default_factory=dict)
    own: float | None = None  # grid's own best CV score (the run's model seed)
    model_seeds: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)  # CV mean per model seed
    mean: float | None = None
    std: float | None = None
    folds: int | None = None
    error: str | None = None

    @classmethod
    def from_attr(cls, d: dict | None) -> GridLevel | None:
        if not isinstance(d, dict) or "status" not in d:
            return None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_attr(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, [])}

    @property
    def usable(self) -> bool:
        """A level to race to: rescored, or grid's own best for a model without a seed."""
        return self.status in (self.SCORED, self.DETERMINISTIC) and self.mean is not None


@dataclass(frozen=True)
class RunRecord:
    name: str
    # As readers should see it: a "running" run with a stale heartbeat is interrupted.
    status: RunStatus
    direction: str  # "maximize" | "minimize"
    config_dict: dict[str, Any]  # the saved JSON, as is (`config` parses it)
    message: str | None = None
    task: Task | None = None
    scoring: str | None = None
    budget: Budget | None = None
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    elapsed_s: float | None = None
    heartbeat: float | None = None
    grid_size: int | None = None
    stop_requested: bool = False
    test: TestResult | None = None
    # The library defaults: the run's baseline (None: made before baselines were kept), and
    # their refit on the same training rows scored once on the test part, beside `test`.
    baseline: Baseline | None = None
    defaults_test: TestResult | None = None
    test_top: dict[str, Any] | None = None
    experiment: dict[str, Any] | None = None
    dataset_file: dict[str, Any] | None = None
    choice: dict[str, Any] | None = None  # a multi-objective run's chosen trade-off
    # What "Recommended" chose for this run: {"method", "options", "reason"}; None: not asked.
    recommendation: dict[str, Any] | None = None
    note: str = ""  # the run's note (Markdown, as typed)
    trial_notes: dict[int, str] = field(default_factory=dict)
    # A study another tool made: what is known of it (None for a Tuning Studio run).
    foreign: ForeignStudy | None = None
    # Where its warm-start trials came from: {"sources": [{run, dataset, similarity}], "note"}.
    warm_start: dict[str, Any] | None = None
    # An experiment's grid member: its best configuration rescored with several model seeds.
    grid_level: GridLevel | None = None
    # The attributes read, for the uploaded CSV's chunks (fetch_dataset): not listed or compared.
    _attrs: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def fetch_dataset(self, config: RunConfig) -> RunConfig:
        """`config` pointed at a local copy of the run's uploaded CSV (from the run's storage
        where the file is gone); other datasets as they are."""
        return blob.fetch_dataset_from(self._attrs, config)

    @property
    def warm_started(self) -> bool:
        """Whether an earlier run seeded this one (a warm start asked for whose sources were all
        refused or gone queued nothing: such a run searched as a cold one)."""
        return bool(self.warm_start and self.warm_start.get("sources"))

    @property
    def config(self) -> RunConfig | None:
        """The saved configuration; None: not a Tuning Studio run, or one this version cannot
        read (`config_error` says why)."""
        return self._parsed[0]

    @property
    def config_error(self) -> str | None:
        """Why `config` is None although a configuration was saved."""
        return self._parsed[1]

    @cached_property
    def _parsed(self) -> tuple[RunConfig | None, str | None]:
        # Parsed on first use: listings read the saved JSON only, and parsing a configuration
        # (its search space) costs most of a record's reading.
        if not self.config_dict:
            return None, None
        try:
            return RunConfig.from_dict(self.config_dict), None
        except (UserError, TypeError, KeyError, ValueError, AttributeError) as exc:
            return None, str(exc) or type(exc).__name__

    @property
    def objectives(self) -> list[Objective]:
        """The run's objectives in its study's order (objective 0: the CV score)."""
        if self.foreign is not None:
            return self.foreign.objectives
        cfg = self.config
        if cfg is not None:
            return run_objectives(cfg, self.scoring)
        return [score_objective(self.scoring or "accuracy")]

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def is_studio_run(self) -> bool:
        return bool(self.config_dict)

    @property
    def n_trials(self) -> int | None:
        """The trial budget: a grid's size, or the configured number of trials."""
        return self.grid_size or self.config_dict.get("n_trials")

    @property
    def dataset_label(self) -> str:
        """The run's dataset as listings show it (tuning.data.labels: one rule everywhere)."""
        return dataset_label(self.config_dict.get("dataset") or {})

    @property
    def read_only(self) -> bool:
        """A study another tool made: shown from its trials, never written to."""
        return self.foreign is not None

    @cached_property
    def missing_estimator(self) -> str | None:
        """Why this run's own estimator cannot be rebuilt here (models.custom), or None."""
        cfg = self.config
        return None if cfg is None else missing_estimator(cfg.estimator)

    @property
    def rebuildable(self) -> bool:
        """Whether Resume, Refine, refit and the reproduce script can rebuild this run here."""
        return self.foreign is None and self.missing_estimator is None

    @property
    def own_estimator(self) -> str | None:
        """The class of a run's own estimator (TuningSearchCV, --estimator), or None."""
        cfg = self.config
        return None if cfg is None or cfg.estimator is None else cfg.estimator.cls

    def why_not(self, what: str, plural: bool = False) -> str:
        """The sentence that says why `what` (e.g. "Refine") is not offered for this run: a
        study another tool made, an estimator that cannot be rebuilt here, or (for the report's
        refit and script, which rebuild the studio's own models) a run of one's own estimator."""
        verb = "are" if plural else "is"
        if self.foreign is not None:
            return needs_config(what, plural)
        if self.missing_estimator is not None:
            return f"{what} {verb} not offered: {self.missing_estimator}"
        return (
            f"{what} {verb} not offered for your own estimator ({self.own_estimator}): the "
            "report rebuilds Tuning Studio's models only. Set the best parameters on your "
            "estimator (TuningSearchCV's best_estimator_ is that model, refit)."
        )

    @classmethod
    def from_attrs(
        cls, name: str, attrs: dict[str, Any], direction: str, now: float | None = None, *,
        directions: Sequence[str] | None = None, metric_names: Sequence[str] | None = None,
        trials: Sequence[FrozenTrial] | None = None,
    ) -> RunRecord:
        """The record from the study's attributes. A study another tool made (no saved
        configuration) also needs its `directions`, `metric_names` and `trials`: its status and
        dates come from the trials (pass them; without them it reads as finished)."""
        if is_foreign(attrs):
            return cls._foreign(name, attrs, directions or (direction,), metric_names, trials, now)
        cfg_dict = attrs.get("config") or {}
        task = attrs.get("task")
        note, trial_notes = notes_of(attrs)
        return cls(
            name=name, status=run_status(attrs, now), direction=direction,
            config_dict=cfg_dict, message=attrs.get("message"),
            task=Task(task) if task in tuple(Task) else None,
            scoring=attrs.get("scoring") or cfg_dict.get("scoring"),
            budget=_budget(attrs.get("budget")),
            created_at=attrs.get("created_at"), started_at=attrs.get("started_at"),
            ended_at=attrs.get("ended_at"), elapsed_s=attrs.get("elapsed_s"),
            heartbeat=attrs.get("heartbeat"), grid_size=attrs.get("grid_size"),
            stop_requested=bool(attrs.get("stop_requested")),
            test=TestResult.from_attr(attrs.get("test")), test_top=attrs.get("test_top"),
            baseline=Baseline.from_attr(attrs.get("baseline")),
            defaults_test=TestResult.from_attr(attrs.get("test_defaults")),
            experiment=attrs.get("experiment"), dataset_file=attrs.get("dataset_file"),
            choice=attrs.get("choice"), recommendation=attrs.get("recommendation"),
            note=note, trial_notes=trial_notes, _attrs=attrs, warm_start=attrs.get("warm_start"),
            grid_level=GridLevel.from_attr(attrs.get("grid_level")),
        )  # fmt: skip

    @classmethod
    def _foreign(
        cls, name: str, attrs: dict[str, Any], directions: Sequence[str],
        metric_names: Sequence[str] | None, trials: Sequence[FrozenTrial] | None,
        now: float | None,
    ) -> RunRecord:  # fmt: skip
        when = datetime.fromtimestamp(now) if now is not None else None
        status = RunStatus.FINISHED if trials is None else foreign_status(trials, when)
        starts = [t.datetime_start for t in trials or () if t.datetime_start]
        ends = [t.datetime_complete for t in trials or () if t.datetime_complete]
        first = _iso(min(starts)) if starts else None
        return cls(
            name=name, status=status, direction=directions[0], config_dict={},
            created_at=first, started_at=first,
            ended_at=_iso(max(ends)) if ends and status.ended else None,
            foreign=ForeignStudy(
                tuple(directions), tuple(metric_names) if metric_names else None
            ),
        )  # fmt: skip

    @classmethod
    def of_listing(cls, study: optuna.study.FrozenStudy, now: float | None = None) -> RunRecord:
        """The record of a study as `storage.get_all_studies()` lists it, from its attributes
        alone (no trials are read: a study another tool made reads as finished)."""
        direction = direction_name(study.directions[0])
        return cls.from_attrs(study.study_name, study.user_attrs, direction, now)

    @classmethod
    def from_study(
        cls, study: optuna.Study, now: float | None = None,
        trials: Sequence[FrozenTrial] | None = None,
    ) -> RunRecord:  # fmt: skip
        """The record from one fresh read of the study's attributes (through its storage: no
        deep copy). A study another tool made also reads its trials (`trials` when the caller
        has them)."""
        attrs = compat.storage_of(study).get_study_user_attrs(compat.study_id(study))
        if not is_foreign(attrs):
            return cls.from_attrs(study.study_name, attrs, direction_of(study), now)
        return cls.from_attrs(
            study.study_name, attrs, direction_of(study), now,
            directions=[direction_name(d) for d in study.directions],
            metric_names=study.metric_names,
            trials=study.get_trials(deepcopy=False) if trials is None else trials,
        )  # fmt: skip


def is_foreign_study(study: optuna.Study) -> bool:
    """Whether another tool made the study (no saved configuration): it is only read."""
    return is_foreign(compat.storage_of(study).get_study_user_attrs(compat.study_id(study)))


def _iso(naive_local: datetime) -> str:
    """Optuna's naive local datetimes as the UTC ISO strings runs keep their dates in."""
    return naive_local.astimezone(UTC).isoformat(timespec="seconds")


def direction_of(study: optuna.Study) -> str:
    return direction_name(study.directions[0])


def direction_name(direction: StudyDirection) -> str:
    """The word runs and pages use for Optuna's direction: "maximize" or "minimize"."""
    return "minimize" if direction == StudyDirection.MINIMIZE else "maximize"


def _budget(d: Any) -> Budget | None:
    if not isinstance(d, dict):
        return None
    try:
        return Budget(d["kind"], int(d["min_step"]), int(d["max_step"]))
    except (KeyError, TypeError, ValueError):  # not a budget this version knows
        return None
