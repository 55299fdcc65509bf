"""Core types every layer shares: errors, enums, the search space, budgets, scoring, RunConfig.

Nothing here imports from the rest of the engine.
"""
