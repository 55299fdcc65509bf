"""Landscapes for the Learn page: 2-D score surfaces whose every point is known.

Synthetic ones are classic test functions with known optima (Branin, Himmelblau, Rastrigin,
Rosenbrock). Real ones are true cross-validated scores of a model over two hyperparameters,
computed once on a grid by `python -m tuning.learn.landscapes build` and committed as small JSON files
in tuning/landscape_data/; between grid points the score is interpolated, so the page needs no
training at all.

Every landscape also has a fidelity (a budget of `FIDELITY_STEPS` steps) so that multi-fidelity
methods (Hyperband, successive halving, median stopping) have something to stop early: see
`Landscape.value_at_step`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution

from tuning.core.errors import ConfigError

DATA_DIR = Path(__file__).parent / "landscape_data"
FIDELITY_STEPS = 27  # 1, 3, 9, 27: the rungs of Hyperband with reduction factor 3
# Heatmap points per axis: odd, so a centred optimum (Rastrigin's) is a grid point. With 60
# points the egg-box's best cell was a local minimum next to the global one.
HEAT_POINTS = 61


@dataclass(frozen=True)
class Axis:
    """One hyperparameter of a landscape: its range, and whether it is searched on a log scale."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def distribution(self) -> BaseDistribution:
        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)

    def to_unit(self, v):
        """Position in [0, 1] along the axis as the methods see it (log-spaced where log)."""
        v = np.asarray(v, dtype=float)
        if self.log:
            return (np.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (v - self.low) / (self.high - self.low)

    def from_unit(self, u):
        u = np.asarray(u, dtype=float)
        if self.log:
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def points(self, n: int) -> np.ndarray:
        return self.from_unit(np.linspace(0.0, 1.0, n))

    def to_dict(self) -> dict:
        return {"name": self.name, "low": self.low, "high": self.high, "log": self.log,
                "integer": self.integer}  # fmt: skip


@dataclass(frozen=True)
class Landscape:
    name: str
    label: str
    description: str
    x: Axis
    y: Axis
    direction: str  # "minimize" | "maximize"
    kind: str  # "synthetic" | "real"
    score_label: str
    optima: tuple[tuple[float, float], ...]  # where the best value is (several for some)
    best: float  # the best value
    func: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # real: (xs, ys, Z[y, x])
    log_color: bool = False  # colour by log10(1 + gap to the optimum): for steep valleys

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def value(self, x, y):
        """The true score at (x, y); vectorized."""
        out = self.func(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return float(out) if np.ndim(out) == 0 else out

    def surface(self, n: int = HEAT_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xs, ys, Z) with Z[j, i] the score at (xs[i], ys[j]): the stored grid for a real
        landscape (its measured values, nothing interpolated), an n x n grid otherwise."""
        if self.grid is not None:
            return self.grid
        xs, ys = self.x.points(n), self.y.points(n)
        gx, gy = np.meshgrid(xs, ys)
        return xs, ys, self.func(gx, gy)

    @property
    def worst(self) -> float:
        z = self.surface()[2]
        return float(z.min() if self.maximize else z.max())

    def regret(self, value: float) -> float:
        """How far a score is from the best possible one (0 at the optimum)."""
        return (self.best - value) if self.maximize else (value - self.best)

    def value_at_step(self, x: float, y: float, step: int, steps: int = FIDELITY_STEPS) -> float:
        """The score a configuration shows after `step` of `steps` budget units.

        A deterministic learning-curve model, written by hand because no library models one:
        the score rises from the landscape's worst value towards the configuration's true value
        as 1 - exp(-rate * step / steps) (rescaled to reach it exactly at the last step). The rate
        varies smoothly over the space (0.6 to 3), so some configurations start slowly and an
        early ranking is not the final one: exactly the risk Hyperband's brackets hedge against.
        """
        if not 1 <= step <= steps:
            raise ConfigError(f"Step must be between 1 and {steps}, got {step}.")
        u, v = float(self.x.to_unit(x)), float(self.y.to_unit(y))
        rate = 0.6 + 2.4 * (0.5 + 0.5 * math.sin(2 * math.pi * (1.3 * u + 0.7 * v) + 1.0))
        frac = (1 - math.exp(-4 * rate * step / steps)) / (1 - math.exp(-4 * rate))
        worst = self.worst
        return worst + (self.value(x, y) - worst) * frac


# -- synthetic functions ------------------------------------------------------------------
def _branin(x, y):
    a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return a * (y - b * x**2 + c * x - r) ** 2 + s * (1 - t) * np.cos(x) + s


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _rastrigin(x, y):
    return 20 + x**2 - 10 * np.cos(2 * np.pi * x) + y**2 - 10 * np.cos(2 * np.pi * y)


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


_SYNTHETIC = (
    Landscape(
        "branin", "Branin (3 equal minima)",
        "A smooth function with three global minima of equal depth in a broad basin: the "
        "standard first test for Bayesian optimization. Lower is better.",
        Axis("x", -5.0, 10.0), Axis("y", 0.0, 15.0), "minimize", "synthetic", "f(x, y)",
        ((-math.pi, 12.275), (math.pi, 2.275), (3 * math.pi, 2.475)), 0.397887, _branin,
    ),
    Landscape(
        "himmelblau", "Himmelblau (4 minima)",
        "Four separate minima, all equally good: a method that finds one may never see the "
        "others. Lower is better.",
        Axis("x", -5.0, 5.0), Axis("y", -5.0, 5.0), "minimize", "synthetic", "f(x, y)",
        ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
        0.0, _himmelblau, log_color=True,
    ),
    Landscape(
        "rastrigin", "Rastrigin (many local minima)",
        "A bowl covered in a regular egg-box of local minima; the single global minimum is at "
        "the centre. Methods that only follow the local slope get stuck. Lower is better.",
        Axis("x", -5.12, 5.12), Axis("y", -5.12, 5.12), "minimize", "synthetic", "f(x, y)",
        ((0.0, 0.0),), 0.0, _rastrigin,
    ),
    Landscape(
        "rosenbrock", "Rosenbrock (narrow curved valley)",
        "A long, narrow, curved valley: easy to reach, hard to follow to the minimum at (1, 1). "
        "Methods that adapt the shape of their search (CMA-ES) do well. Lower is better.",
        Axis("x", -2.0, 2.0), Axis("y", -1.0, 3.0), "minimize", "synthetic", "f(x, y)",
        ((1.0, 1.0),), 0.0, _rosenbrock, log_color=True,
    ),
)  # fmt: skip


# -- real landscapes: a model's cross-validated score over two hyperparameters -------------
@dataclass(frozen=True)
class RealSpec:
    """How a real landscape is computed (by `build`) and described."""

    name: str
    label: str
    description: str
    dataset: dict  # DatasetRef fields
    model: str
    x: Axis
    y: Axis
    fixed: dict  # the model's other hyperparameters, held constant
    points: int  # grid points per axis
    cv_folds: int = 3


REAL_SPECS: dict[str, RealSpec] = {
    s.name: s
    for s in (
        RealSpec(
            "svm_breast_cancer", "SVM: C × gamma (breast cancer)",
            "True 3-fold CV accuracy of an RBF support vector machine on the breast-cancer "
            "data, over its regularization C and kernel width gamma. Too small a gamma or C "
            "underfits; large gamma overfits. Higher is better.",
            {"name": "breast_cancer"}, "svm",
            Axis("C", 1e-3, 1e3, log=True), Axis("gamma", 1e-4, 10.0, log=True),
            {"kernel": "rbf"}, 30,
        ),
        RealSpec(
            "mlp_moons", "Neural net: learning rate × width (moons)",
            "True 3-fold CV accuracy of a one-hidden-layer PyTorch network on 300 noisy "
            "two-moons points, over the Adam learning rate and the layer width (20 epochs). "
            "Too small a learning rate never learns in time. Higher is better.",
            {"name": "moons", "params": {"n_samples": 300, "noise": 0.25, "seed": 0}}, "mlp",
            Axis("learning_rate", 1e-4, 1e-1, log=True),
            Axis("width", 16, 512, log=True, integer=True),
            {"n_layers": 1, "batch_size": 32, "epochs": 20, "dropout": 0.0,
             "weight_decay": 1e-5, "patience": 0},
            20,
        ),
    )
}  # fmt: skip


def _data_path(name: str) -> Path:
    return DATA_DIR / f"{name}.json"


@cache  # the committed files never change while the app runs
def _load_real(name: str) -> Landscape:
    from scipy.interpolate import RegularGridInterpolator

    spec = REAL_SPECS[name]
    path = _data_path(name)
    if not path.exists():
        raise ConfigError(
            f"The landscape data {path.name} is missing: run `python -m tuning.learn.landscapes build "
            f"{name}` to compute it."
        )
    data = json.loads(path.read_text())
    xs, ys = np.array(data["x_values"], float), np.array(data["y_values"], float)
    z = np.array(data["scores"], float)  # z[j, i]: y_j, x_i
    # Linear interpolation in the space the methods search (log where log): between measured
    # points only, and never above the best measured score, so the grid's best stays the best.
    interp = RegularGridInterpolator((spec.y.to_unit(ys), spec.x.to_unit(xs)), z)

    def func(x, y):
        u = np.clip(spec.x.to_unit(x), 0.0, 1.0)
        v = np.clip(spec.y.to_unit(y), 0.0, 1.0)
        u, v = np.broadcast_arrays(u, v)
        out = interp(np.stack([v.ravel(), u.ravel()], axis=-1)).reshape(u.shape)
        return out if out.ndim else out[()]

    best = float(z.max())
    jj, ii = np.nonzero(z >= best - 1e-12)
    optima = tuple((float(xs[i]), float(ys[j])) for j, i in zip(jj, ii, strict=True))
    return Landscape(
        spec.name, spec.label, spec.description, spec.x, spec.y, "maximize", "real",
        f"CV {data['scoring']}", optima, best, func, grid=(xs, ys, z),
    )  # fmt: skip


def list_landscapes() -> list[str]:
    return [s.name for s in _SYNTHETIC] + list(REAL_SPECS)


def get_landscape(name: str) -> Landscape:
    for s in _SYNTHETIC:
        if s.name == name:
            return s
    if name in REAL_SPECS:
        return _load_real(name)
    raise ConfigError(f"Unknown landscape '{name}'. Choose one of: {', '.join(list_landscapes())}.")


def label_of(name: str) -> str:
    synthetic = {s.name: s.label for s in _SYNTHETIC}
    return synthetic.get(name) or REAL_SPECS[name].label


# -- building the real landscapes ---------------------------------------------------------
def measure(spec: RealSpec, x: float, y: float) -> float:
    """The true CV score of one configuration: the project's own pipeline and folds."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from tuning.core.config import DatasetRef
    from tuning.models import build_pipeline, get_model, preprocessor

    ds = _dataset(DatasetRef.from_dict(spec.dataset))
    x = int(round(x)) if spec.x.integer else float(x)
    y = int(round(y)) if spec.y.integer else float(y)
    params = {**spec.fixed, spec.x.name: x, spec.y.name: y}
    model = get_model(spec.model)
    if spec.model == "svm":
        from sklearn.pipeline import Pipeline
        from sklearn.svm import SVC

        # The registry's SVC also fits Platt scaling (5 extra fits) for predict_proba, which
        # accuracy does not use: the same model without it is several times faster.
        pipe = Pipeline([("prep", preprocessor(model.scale)), ("model", SVC(**params))])
    else:
        pipe = build_pipeline(model, params, ds.task, seed=0)
    folds = StratifiedKFold(spec.cv_folds, shuffle=True, random_state=0)
    return float(cross_val_score(pipe, ds.X, ds.y, cv=folds, scoring="accuracy").mean())


@cache
def _dataset(ref):
    from tuning.data.datasets import load_dataset

    return load_dataset(ref)


def grid_values(spec: RealSpec) -> tuple[list[float], list[float]]:
    def values(axis: Axis) -> list[float]:
        pts = axis.points(spec.points)
        return [int(round(p)) for p in pts] if axis.integer else [float(f"{p:.6g}") for p in pts]

    return values(spec.x), values(spec.y)


def build(name: str) -> Path:
    """Measure the whole grid of a real landscape and write it to tuning/landscape_data/."""
    spec = REAL_SPECS[name]
    xs, ys = grid_values(spec)
    if spec.model == "mlp":
        import torch

        torch.set_num_threads(1)  # tiny networks: threads cost more than they give
    start = time.time()
    scores = []
    for j, y in enumerate(ys):
        scores.append([round(measure(spec, x, y), 4) for x in xs])
        print(f"{name}: row {j + 1}/{len(ys)} ({time.time() - start:.0f} s)", flush=True)
    DATA_DIR.mkdir(exist_ok=True)
    out = _data_path(name)
    payload = {
        "name": name, "dataset": spec.dataset, "model": spec.model, "fixed": spec.fixed,
        "cv_folds": spec.cv_folds, "scoring": "accuracy", "x": spec.x.to_dict(),
        "y": spec.y.to_dict(), "x_values": xs, "y_values": ys, "scores": scores,
        "build_seconds": round(time.time() - start, 1),
    }  # fmt: skip
    out.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tuning.learn.landscapes",
        description="Compute the real landscapes of the Learn page (a grid of true CV scores).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="measure a landscape's grid and write it as JSON")
    b.add_argument("names", nargs="*", help=f"any of {', '.join(REAL_SPECS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(REAL_SPECS)
    if unknown:
        parser.error(f"unknown landscape(s) {', '.join(sorted(unknown))}: "
                     f"choose from {', '.join(REAL_SPECS)}")  # fmt: skip
    for name in args.names or list(REAL_SPECS):
        print(f"wrote {build(name)}")


if __name__ == "__main__":
    main()
