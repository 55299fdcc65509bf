"""Tuning Studio engine: a plain Python package (never imports streamlit)."""
