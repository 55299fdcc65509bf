"""Importable estimator factories for the tests of `python -m tuning run --estimator`."""

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def make_pipeline() -> Pipeline:
    """A scaled logistic regression: the kind of pipeline a person tunes with --estimator."""
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])


def broken() -> Pipeline:
    raise RuntimeError("the factory could not build its pipeline")
