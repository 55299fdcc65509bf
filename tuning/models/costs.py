"""What a fitted pipeline costs to keep: its serialized size and, for networks, its parameters.

Measured on every trial (core/objectives.py names them as costs a run can trade against its
score). The pipelines are our own objects, built and fitted in this process, never user input,
so serializing them to measure their size is safe.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from sklearn.pipeline import Pipeline


def model_bytes(pipe: Pipeline) -> int:
    """Bytes of the fitted pipeline as it would be saved. A network is saved as its trained
    state (what the export writes), not pickled: the live estimator also holds its optimizer
    and a copy of its training data, which are not part of the model."""
    final = pipe[-1]
    if hasattr(final, "state") and hasattr(final, "model_"):
        import torch

        buf = io.BytesIO()
        torch.save(final.state(), buf)
        return len(pickle.dumps(pipe[:-1], protocol=pickle.HIGHEST_PROTOCOL)) + buf.tell()
    return len(pickle.dumps(pipe, protocol=pickle.HIGHEST_PROTOCOL))


def n_params(model: Any) -> int | None:
    """Trainable parameters of a network (a pipeline's final step, or the estimator itself);
    None for models that are not networks."""
    final = model[-1] if isinstance(model, Pipeline) else model
    module: Any = getattr(final, "model_", None)
    if module is None or not hasattr(module, "parameters"):
        return None
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))
