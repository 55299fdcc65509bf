"""Tuning Studio engine: a plain Python package (never imports streamlit).

`from tuning import TuningSearchCV` gives the scikit-learn search object (tuning.runs.search_cv);
it is imported on first use, so importing a part of the engine does not import all of it.
"""

__all__ = ["TuningSearchCV"]


def __getattr__(name: str):
    if name == "TuningSearchCV":
        from tuning.runs.search_cv import TuningSearchCV

        return TuningSearchCV
    raise AttributeError(f"module 'tuning' has no attribute {name!r}")
