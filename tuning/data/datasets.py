"""Datasets: built-in, synthetic and uploaded (CSV); validation; holdout split.

This module is the data package's public surface; the code sits in one module per role:

- :mod:`tuning.data.registry`: :data:`REGISTRY` of built-in and synthetic sets (one
  :class:`DatasetSpec` each), their parameter limits, and :func:`load_dataset`;
- :mod:`tuning.data.csvfile`: reading a CSV file (:func:`read_csv`, :func:`csv_columns`,
  :func:`load_text`) as data only (pandas, never eval or pickle);
- :mod:`tuning.data.frame`: :func:`dataset_from_frame` (target, task inference, feature checks)
  and the :class:`Dataset` record;
- :mod:`tuning.data.labels`: :func:`dataset_label`, how listings name a run's dataset (an
  uploaded CSV by its original name, :func:`upload_name`);
- :mod:`tuning.data.split`: the holdout :func:`split`, the cross-validation check
  :func:`check_cv`, and :func:`check_trainable` (both, for a dataset and a run's settings).

A dataset is named by a :class:`DatasetRef` (saved in a run's JSON config) and loaded into a
:class:`Dataset` (features ``X``, target ``y``, task, warnings). Every problem raises
:class:`~tuning.core.errors.DataError` with a message that says what is wrong and what to do.
"""

from __future__ import annotations

from tuning.core.config import DatasetRef
from tuning.core.enums import TASKS
from tuning.data.csvfile import csv_columns, load_text, read_csv
from tuning.data.frame import (
    IMBALANCE_RATIO,
    MANY_CATEGORIES,
    MANY_ROWS,
    MIN_ROWS,
    Dataset,
    dataset_from_frame,
    infer_task,
)
from tuning.data.labels import dataset_label, upload_name
from tuning.data.registry import (
    MAX_CELLS,
    REGISTRY,
    DatasetSpec,
    ParamLimit,
    get_spec,
    list_datasets,
    load_dataset,
    validate_params,
)
from tuning.data.split import Split, check_cv, check_trainable, split

__all__ = [
    "IMBALANCE_RATIO",
    "MANY_CATEGORIES",
    "MANY_ROWS",
    "MAX_CELLS",
    "MIN_ROWS",
    "REGISTRY",
    "TASKS",
    "Dataset",
    "DatasetRef",
    "DatasetSpec",
    "ParamLimit",
    "Split",
    "check_cv",
    "check_trainable",
    "csv_columns",
    "dataset_from_frame",
    "dataset_label",
    "get_spec",
    "infer_task",
    "list_datasets",
    "load_dataset",
    "load_text",
    "read_csv",
    "split",
    "upload_name",
    "validate_params",
]
