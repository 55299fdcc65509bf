"""Options that several commands take, declared once, and the types that check their values.

`run` and `compare` share the dataset and search options: the same flag, type and check in both.
Where the meaning differs (a budget per run, or per method of an experiment) a command passes
its own help or default to `Option.add_to`; the flag and its type stay the ones declared here.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuning.core import hyperopt_space
from tuning.core.errors import UserError
from tuning.core.objectives import COSTS, parse_cost
from tuning.core.space import SearchSpace
from tuning.data import datasets


# -- value types ---------------------------------------------------------------------------------
def key_value(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)  # numbers, true/false, null, quoted strings: data only
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


# -- declarations --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """One argparse argument kept as data, so that several commands add the same one."""

    flags: tuple[str, ...]
    settings: dict[str, Any]

    def add_to(self, parser: argparse.ArgumentParser, **changes: Any) -> argparse.Action:
        """Add this option to `parser`; `changes` replace settings (a command's help or default)."""
        return parser.add_argument(*self.flags, **{**self.settings, **changes})


def option(*flags: str, **settings: Any) -> Option:
    return Option(flags, settings)


# Dataset options (run, compare).
DATASET = option("--dataset", help="a registered dataset (see `datasets`) or a path to a CSV file")
TARGET = option("--target", help="target column (CSV datasets only)")
TASK = option("--task", choices=datasets.TASKS, help="override the inferred task (CSV datasets)")

# Search options (run, compare).
MODEL = option("--model", help="a registered model (see `models`)")
TRIALS = option(
    "--trials", type=positive_int, help="number of trials (default 50 unless --minutes is given)"
)
FOLDS = option("--folds", type=positive_int, default=5, help="cross-validation folds (default 5)")
SCORING = option("--scoring", help="scikit-learn scorer name (default accuracy / r2)")
OBJECTIVE = option(
    "--objective",
    action="append",
    default=[],
    metavar="NAME[:DIRECTION]",
    help="what the run optimizes (repeatable): a scikit-learn scorer name sets the CV score, "
    "the others are costs traded against it: fit_seconds, predict_ms, model_bytes, cv_std, "
    "n_params (MLP), optionally with :minimize or :maximize. Two or more make a "
    "multi-objective run, e.g. --objective accuracy --objective fit_seconds",
)
GRID_POINTS = option(
    "--grid-points",
    type=positive_int,
    default=5,
    help="grid search: values per continuous parameter (default 5)",
)
SPACE = option(
    "--space",
    type=Path,
    metavar="FILE.json",
    help="search space as JSON (start from `python -m tuning space MODEL`), or a Hyperopt "
    'space as {"hyperopt": {NAME: CALL, ...}}, each CALL written as JSON, e.g. '
    '{"hp.loguniform": ["C", -7, 7]} for hp.loguniform("C", -7, 7) (`space MODEL --hyperopt` '
    "prints one)",
)
WORKERS = option(
    "--workers",
    type=positive_int,
    default=1,
    help="local worker processes (default 1: this process); more join with `worker`",
)
NAME = option("--name", help="run name (default: model-method-dataset-time)")
DASK = option(
    "--dask",
    nargs="?",
    const="",
    metavar="ADDRESS",
    help="work on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786; "
    "without ADDRESS: $TUNING_STUDIO_DASK), one task per worker; default: this machine",
)

# Options of the commands that open stored runs.
RUN = option("run", help="run name")
QUIET = option("--quiet", action="store_true", help="no progress bar")
STORAGE = option(
    "--storage",
    metavar="URL",
    help="Optuna storage URL (journal:///path, sqlite:///file.db, postgresql://...). "
    "Default: $TUNING_STUDIO_STORAGE or the embedded journal under ./data.",
)


# -- values to engine objects --------------------------------------------------------------------
def dataset_ref(
    dataset: str, target: str | None, task: str | None = None, params: list | None = None
) -> datasets.DatasetRef:
    """--dataset (a registered name or a CSV path) with --target, --task and --data-param."""
    if dataset.lower().endswith(".csv") or Path(dataset).is_file():
        if not target:
            raise UserError("A CSV dataset needs --target COLUMN (the column to predict).")
        return datasets.DatasetRef(
            "csv", path=str(Path(dataset).resolve()), target=target, task=task
        )
    return datasets.DatasetRef(dataset, params=dict(params or []))


def read_space(path: Path | None) -> SearchSpace | None:
    """The --space file, or None for the model's default space."""
    if path is None:
        return None
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None  # from_json says what is wrong with it
    if isinstance(data, dict) and set(data) == {hyperopt_space.HP}:
        return hyperopt_space.from_description(data[hyperopt_space.HP])
    return SearchSpace.from_json(text)


def objectives(values: list[str], scoring: str | None) -> tuple[str | None, tuple[str, ...]]:
    """--objective values -> (the scoring, the cost objectives). A name that is not a cost is
    taken as the scorer (checked against the task when the run is created); a bad cost or
    direction is an error at once."""
    costs: list[str] = []
    for value in values:
        name = value.strip().partition(":")[0]
        if name in COSTS:
            parse_cost(value)  # checks the direction
            costs.append(value.strip())
            continue
        from sklearn.metrics import get_scorer_names

        if name not in get_scorer_names():
            raise UserError(
                f"Unknown objective '{value}': give a scorer name (e.g. accuracy, r2) or a cost: "
                f"{', '.join(COSTS)} (optionally with ':minimize' or ':maximize')."
            )
        if ":" in value:
            raise UserError(
                f"'{value}': the CV score keeps its own direction (higher is better, or lower "
                "for errors); give the scorer's name alone."
            )
        if scoring is not None and scoring != name:
            raise UserError(
                f"Two scores given ('{scoring}' and '{name}'): a run has one CV score; the "
                "other objectives must be costs."
            )
        scoring = name
    return scoring, tuple(costs)


def dask_address(value: str | None) -> str | None:
    """--dask: None (this machine), the scheduler's address, or $TUNING_STUDIO_DASK."""
    if value is None:
        return None
    from tuning.runs.front import ENV_DASK
    from tuning.runs.front import dask_address as named

    address = value.strip() or named()
    if not address:
        raise UserError(f"--dask needs the scheduler's ADDRESS (or set {ENV_DASK}).")
    return address
