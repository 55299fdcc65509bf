"""One colour per trial state, shared by the dashboard's live charts, the Analysis figures and
the report, so a pruned trial is orange everywhere."""

STATE_COLORS = {
    "complete": "#1f77b4",  # blue
    "pruned": "#ff7f0e",  # orange
    "failed": "#d62728",  # red
    "running": "#7f7f7f",  # grey
    "stopped": "#9467bd",  # purple
    "waiting": "#c7c7c7",  # light grey
}
STATE_ORDER = ("complete", "pruned", "failed", "stopped", "running", "waiting")
BEST_COLOR = "#2ca02c"  # green: best-so-far lines, the best trial
