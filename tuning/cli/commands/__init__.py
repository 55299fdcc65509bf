"""The commands of `python -m tuning`, one `Command` object each, grouped by what they work on."""
