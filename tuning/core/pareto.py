"""The non-dominated points of a multi-objective run, for the engine (the trade-off it refits,
the command line) and the views (tuning.analysis.pareto, which re-exports these).

Kept incrementally (`ParetoFront.add` compares new points with the current front only) because
the Live monitor refreshes a 10,000-trial run every few seconds; Optuna computes
`study.best_trials` from scratch over all trials on every call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def loss_signs(directions: Sequence[str]) -> np.ndarray:
    """+1 for objectives to minimize, -1 to maximize: multiplying gives losses."""
    return np.array([1.0 if d == "minimize" else -1.0 for d in directions])


class ParetoFront:
    """The non-dominated trials seen so far, updated with new trials only."""

    def __init__(self, directions: Sequence[str]) -> None:
        self.directions = list(directions)
        self._signs = loss_signs(directions)
        self._numbers = np.zeros(0, dtype=int)
        self._losses = np.zeros((0, len(self.directions)))

    def add(self, numbers: Sequence[int], points: np.ndarray) -> bool:
        """Adds trials (their values, one row each); True if the front changed."""
        changed = False
        losses = np.asarray(points, dtype=float).reshape(-1, len(self.directions)) * self._signs
        for number, loss in zip(numbers, losses, strict=True):
            front = self._losses
            # dominated: some member is no worse everywhere and better somewhere
            if len(front) and np.any(np.all(front <= loss, axis=1) & np.any(front < loss, axis=1)):
                continue
            keep = ~(np.all(loss <= front, axis=1) & np.any(loss < front, axis=1))
            self._losses = np.vstack([front[keep], loss])
            self._numbers = np.append(self._numbers[keep], int(number))
            changed = True
        return changed

    @property
    def numbers(self) -> np.ndarray:
        return self._numbers.copy()

    @property
    def points(self) -> np.ndarray:
        return self._losses * self._signs

    def __len__(self) -> int:
        return len(self._numbers)


def front_mask(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Which rows no other row dominates (equal rows are all kept)."""
    points = np.asarray(points, dtype=float).reshape(-1, len(directions))
    front = ParetoFront(directions)
    front.add(range(len(points)), points)
    mask = np.zeros(len(points), dtype=bool)
    mask[front.numbers] = True
    return mask
