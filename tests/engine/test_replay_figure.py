"""The figure of a replayed trial (tuning/plots/replay.py): a panel per layer whatever the
sampler, the known trials by their groups, the trial's own point a star on every panel, log
and categorical axes as the parameters are."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from tuning.analysis.replay import Layer, Picture
from tuning.plots.replay import SCALES, replay_figure, short_title

C = np.geomspace(0.01, 100.0, 5)
KERNELS = np.asarray(["rbf", "linear"], dtype=object)


def picture(kinds: list[str], two: bool = True, marks: dict | None = None) -> Picture:
    shape = (len(KERNELS), len(C)) if two else (len(C),)
    layers = [Layer(f"{k} layer", np.arange(np.prod(shape), dtype=float).reshape(shape), k)
              for k in kinds]  # fmt: skip
    coords = {0: (0.1, "rbf"), 1: (10.0, "linear"), 2: (1.0, "rbf")}
    if not two:
        coords = {t: c[:1] for t, c in coords.items()}
    return Picture(params=["C", "kernel"] if two else ["C"], grids=[C, KERNELS][: 2 if two else 1],
                   log=[True, False][: 2 if two else 1], layers=layers, coords=coords,
                   actual=(1.0, "linear") if two else (1.0,),
                   marks=marks if marks is not None else {"good": [0], "bad": [1, 2]})  # fmt: skip


def by_name(fig, name: str) -> list:
    return [t for t in fig.data if t.name == name]


def test_two_parameters_draw_a_heatmap_per_layer_with_the_trial_starred_on_each():
    fig = replay_figure(picture(["good", "bad", "ratio"]), "Trial 7")
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 3
    # Greens for the good trials' layer, Reds for the others', Viridis for their ratio.
    greens, reds, viridis = (go.Heatmap(colorscale=SCALES[k]).colorscale
                             for k in ("good", "bad", "ratio"))  # fmt: skip
    assert [h.colorscale for h in heat] == [greens, reds, viridis]
    stars = by_name(fig, "the replayed trial")
    assert len(stars) == 3 and all(s.marker.symbol == "star" for s in stars)
    assert all(list(s.x) == [1.0] and list(s.y) == ["linear"] for s in stars)
    good, other = by_name(fig, "good trials"), by_name(fig, "other trials")
    assert len(good) == len(other) == 3
    assert sorted(other[0].customdata) == [1, 2] and list(good[0].customdata) == [0]
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "category"
    assert sum(bool(t.showlegend) for t in stars) == 1  # one legend entry for three panels


def test_one_parameter_draws_lines_and_puts_the_trials_on_them():
    fig = replay_figure(picture(["mean", "std", "acquisition", "density"], two=False), "Trial 3")
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 4  # four panels: two rows of at most three
    assert fig.layout.xaxis4.anchor and fig.layout.xaxis.type == "log"
    star = by_name(fig, "the replayed trial")[0]
    # The star sits on the line: z is 0..4 over C's five log-spaced values, 1.0 the middle one.
    assert list(star.x) == [1.0] and np.isclose(star.y[0], 2.0)


def test_groups_other_than_good_and_bad_get_a_colour_each():
    marks = {"generation 1": [0, 1], "generation 2": [2]}
    fig = replay_figure(picture(["density"], marks=marks), "Trial 9")
    g1, g2 = by_name(fig, "generation 1"), by_name(fig, "generation 2")
    assert len(g1) == len(g2) == 1 and g1[0].marker.color != g2[0].marker.color


def test_long_titles_wrap_to_fit_three_panels():
    title = short_title("the expected improvement over the best so far: high = next")
    assert all(len(line) <= 16 for line in title.split("<br>")) and "<br>" in title
    assert short_title("log l(x)/g(x): high = next") == "log l(x)/g(x):<br>high = next"
    assert short_title("mean: guess") == "mean: guess"  # short enough as it is
