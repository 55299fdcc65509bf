"""The sentences the pages generate, each on a case whose answer is known (issue 24 item 11):
a sentence a presenter reads aloud must say what the numbers say, no more."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from tuning.analysis.recommendations import cost_text
from tuning.core.objectives import COSTS
from ui import compare, monitor, text


def plain(lines: list[str]) -> list[str]:
    """The Markdown as it reads on the page (its escapes dropped)."""
    return [line.replace("\\", "") for line in lines]


LABELS = {"random": "Random search", "tpe": "Bayesian (TPE)", "grid": "Grid search"}


@pytest.mark.parametrize(("seconds", "expected"), [
    (0.4, "0 s"), (59.4, "59 s"), (65, "1 min 05 s"), (3600 * 2 + 46 * 60 + 59, "2 h 46 min"),
    (None, "–"), (float("nan"), "–"),
])  # fmt: skip
def test_durations_read_as_a_clock_would(seconds, expected):
    assert text.duration(seconds) == expected


def test_the_times_line_says_elapsed_and_an_estimate_only_when_there_is_one():
    assert monitor.times_line(SimpleNamespace(elapsed_s=9960, eta_s=None)) == "Elapsed 2 h 46 min"
    line = monitor.times_line(SimpleNamespace(elapsed_s=75, eta_s=725))
    assert line == "Elapsed 1 min 15 s · about 12 min 05 s left (estimate)"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("model_bytes", 3_400_000, "3.4 MB"), ("model_bytes", 512, "512 bytes"),
    ("model_bytes", 2_000, "2 kB"), ("n_params", 80_150, "80,150"),
    ("predict_ms", 1.5, "1.5 ms per 1,000 rows"),
])  # fmt: skip
def test_costs_carry_their_units(name, value, expected):
    assert cost_text(value, COSTS[name]) == expected


def test_methods_that_shared_their_start_are_named_once_with_their_count():
    same = [{"methods": ["random", "tpe"], "seed": s, "trials": 10} for s in (0, 1, 2)]
    (line,) = plain(compare.shared_start_lines(same, LABELS, n_seeds=3))
    assert line.startswith(
        "Random search and Bayesian (TPE) shared their first 10 trials on every seed"
    )
    differs = [{"methods": ["random", "tpe"], "seed": 0, "trials": 10},
               {"methods": ["random", "tpe"], "seed": 2, "trials": 4}]  # fmt: skip
    (line,) = plain(compare.shared_start_lines(differs, LABELS, n_seeds=3))
    assert "their first trials (seed 0: 10, seed 2: 4)" in line
    (line,) = plain(compare.shared_start_lines(same[:1], LABELS, n_seeds=1))
    assert "their first 10 trials:" in line and "every seed" not in line


def test_the_target_caption_says_what_the_target_is():
    assert "needs grid search" in compare.target_caption({}, "target: x")
    said = compare.target_caption({0: 0.9}, "target: your score: seed 0: 0.9000")
    assert said == (
        "Time to target: seconds and trials until each method first reached the target: your "
        "score: seed 0: 0.9000"
    )


def _race(within: bool) -> pd.DataFrame:
    # Random search 0.01 behind TPE; a spread of 0.02 makes that gap noise, 0.001 does not.
    std = 0.02 if within else 0.001
    return pd.DataFrame({"method": ["tpe", "random"], "gap": [0.0, -0.01],
                         "gap_std": [std, std], "within_noise": [True, within]})  # fmt: skip


def test_time_to_target_is_read_as_time_when_scores_are_within_the_noise():
    caveat = compare.buys_caveat(_race(within=True), n_seeds=1)
    assert "buys time here, not a better model" in caveat
    assert "one draw of luck" in caveat  # from one seed
    assert compare.buys_caveat(_race(within=False), n_seeds=3) == ""  # a real gap: no caveat
    tied = _race(within=True).assign(gap=[0.0, 0.0])
    assert (
        compare.buys_caveat(tied, n_seeds=3)
        == "All methods reached the same best score: only the time differs."
    )


def test_the_test_column_names_its_interval():
    wilson = pd.DataFrame({"test_interval": ["wilson", "wilson"], "n_test": [114, 114]})
    assert compare.test_header(wilson) == "test (95 % Wilson)"
    assert "the same 114 held-out rows" in compare.test_note(wilson)
    seeds = pd.DataFrame({"test_interval": ["seeds", None], "n_test": [114, None]})
    assert compare.test_header(seeds) == "test (seeds' range)"
    assert "lowest and highest seed" in compare.test_note(seeds)
    none = pd.DataFrame({"test_interval": [None], "n_test": [None]})
    assert compare.test_header(none) == "test score" and compare.test_note(none) is None


def test_seeds_finished_counts_with_the_right_plural():
    assert (
        compare.seeds_finished(SimpleNamespace(seeds_finished=2, seeds=3))
        == "2 of 3 seeds finished"
    )
    assert (
        compare.seeds_finished(SimpleNamespace(seeds_finished=1, seeds=1)) == "1 of 1 seed finished"
    )
