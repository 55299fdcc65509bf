"""Learn page: methods searching a 2-D landscape whose every point is known, step by step.

Runs and figures are cached (st.cache_data): a method's run on a landscape is a pure function
of (landscape, method, trials, seed), so every later rerun (a step, a guess) only places
figures. One trial control drives every view of a trial (the landscapes, the view inside each
method, the guess): they sit in one fragment, and Play steps that same control on a timer
(`st.fragment(run_every=...)`), so no two views can show different trials.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tuning.core.errors import UserError
from tuning.learn import figures as lp
from tuning.learn import search as learn
from tuning.learn.landscapes import FIDELITY_STEPS, get_landscape, label_of, list_landscapes
from tuning.learn.search import MethodRun
from tuning.methods import get_method
from ui import replay_view, text

TRIAL = "learn_trial"  # plain key: the trial every view shows (1-based)
PLAYING = "learn_playing"  # plain key: Play is stepping the trial on a timer
PLAY_SECONDS = 1.5  # a step of Play: each one redraws the trial's figures on the server
REVEALED = "learn_revealed"  # plain key: which guess has been revealed
DEFAULT_METHODS = ["random", "tpe", "cmaes", "hyperband"]
PLOTLY_CONFIG = {"displaylogo": False}


@st.cache_data(show_spinner=False, max_entries=128)
def run(landscape: str, method: str, n_trials: int, seed: int) -> MethodRun:
    return learn.run_method(landscape, method, n_trials, seed)


@st.cache_data(show_spinner=False, max_entries=256)
def _search(landscape: str, methods: tuple[str, ...], n: int, seed: int, t: int) -> go.Figure:
    runs = [run(landscape, m, n, seed) for m in methods]
    return lp.search_figure(get_landscape(landscape), runs, [_label(m) for m in methods],
                            [learn.short_label(m) for m in methods], t)  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=512)
def _internals(landscape: str, method: str, n_trials: int, seed: int, t: int) -> go.Figure:
    return lp.internals_figure(run(landscape, method, n_trials, seed), t)


def _label(method: str) -> str:
    return get_method(method).label


def controls() -> tuple[str, list[str], int, int]:
    names = list_landscapes()
    # The methods on a row of their own: beside three other inputs, a 900 px window cut the
    # landscape's name and broke "Trials" and "Seed" across lines.
    c1, c2, c3 = st.columns([2, 1, 1])
    landscape = c1.selectbox("Landscape", names, format_func=label_of, key="learn_landscape")
    n = c2.number_input("Trials", learn.MIN_TRIALS, learn.MAX_TRIALS, 30, key="learn_trials",
                        help="The same budget for every method.")  # fmt: skip
    seed = c3.number_input("Seed", 0, 10_000, 0, key="learn_seed",
                           help="The same seed gives the same search.")  # fmt: skip
    methods = st.multiselect(
        f"Methods (1–{learn.MAX_METHODS})", list(learn.LEARN_METHODS), default=DEFAULT_METHODS,
        format_func=_label, max_selections=learn.MAX_METHODS, key="learn_methods",
        wrap=True,  # on one row, a narrow window would hide the last chips
    )  # fmt: skip
    return landscape, methods, int(n), int(seed)


def page() -> None:
    landscape, methods, n, seed = controls()
    try:
        learn.check_request(landscape, methods, n)
        land = get_landscape(landscape)
    except UserError as exc:
        st.error(text.md(exc))
        return
    best_at = ", ".join(f"({text.value(x)}, {text.value(y)})" for x, y in land.optima[:4])
    more = f" and {len(land.optima) - 4} more" if len(land.optima) > 4 else ""
    st.caption(
        f"{text.md(land.description)} Best possible {text.md(land.score_label)}: "
        f"**{text.score(land.best)}** at {best_at}{more} (white star)."
    )
    slow = " (the Gaussian process needs about half a second per trial)" if "gp" in methods else ""
    with st.spinner(f"Running the methods…{slow}"):
        runs = [run(landscape, m, n, seed) for m in methods]
    # The timer is set on a full run only: Play and Pause, and the last trial, rerun the app.
    playing = bool(st.session_state.get(PLAYING))
    st.fragment(run_every=PLAY_SECONDS if playing else None)(trial_views)(
        landscape, tuple(methods), n, seed, playing
    )
    compare(land, runs, n)
    replay_view.your_run()  # the same reasoning on a real run of the storage
    glossary()


def trial_views(landscape: str, methods: tuple[str, ...], n: int, seed: int, ticking: bool) -> None:
    """Every view of one trial, under the one control that sets it; while `ticking` (Play),
    each run of this fragment shows the next trial, and the last one stops the timer."""
    if bool(st.session_state.get(PLAYING)) != ticking:
        st.rerun()  # Play, Pause or the end: a full run sets or clears the timer
    runs = [run(landscape, m, n, seed) for m in methods]
    high = max(r.n_trials for r in runs)
    _dragged(high)
    if ticking and st.session_state.get(PLAYING):
        _advance(high)
    # Both figures of the trial before any element: the views change together, not one by one.
    search = _search(landscape, methods, n, seed, _trial(high))
    r = next((x for x in runs if x.method == st.session_state.get("learn_inside_method")), runs[0])
    _internals(r.landscape, r.method, r.n_trials, r.seed, min(_trial(high), r.n_trials) - 1)
    t = trial_stepper(high)
    st.plotly_chart(search, key="learn_animation", config=PLOTLY_CONFIG)
    st.subheader("Inside each method: what drives the next choice")
    # One method at a time: each view is a few heatmaps, and tabs would draw all of them.
    shown = st.radio("Method", methods, format_func=_label, horizontal=True,
                     key="learn_inside_method", label_visibility="collapsed")  # fmt: skip
    r = next(x for x in runs if x.method == shown)
    inside(r, min(t, r.n_trials))
    st.subheader("Guess where it samples next")
    guess_prompt(runs, t)


def compare(land, runs: list[MethodRun], n: int) -> None:
    """The methods' regret per trial and per budget spent, and the summary table."""
    st.subheader("Compare: per trial and per budget spent")
    notes = []
    if any(r.method == "grid" for r in runs):
        g = next(r for r in runs if r.method == "grid")
        k = math.isqrt(g.n_trials)
        notes.append(f"Grid search uses a {k} × {k} lattice: {g.n_trials} trials, the largest "
                     f"square that fits {n}.")  # fmt: skip
    if any(r.spec.multi_fidelity for r in runs):
        notes.append(f"Multi-fidelity methods stop some trials early (orange rings): compare "
                     f"the budget steps they spent (a full trial is {FIDELITY_STEPS}).")  # fmt: skip
    if notes:
        st.caption(" ".join(notes))
    labels = [_label(r.method) for r in runs]
    st.plotly_chart(lp.regret_figure(land, runs, labels), key="learn_regret",
                    config=PLOTLY_CONFIG)  # fmt: skip
    st.dataframe(summary(land, runs), hide_index=True, width="stretch",
                 column_config={"method": st.column_config.TextColumn(width="medium")})  # fmt: skip
    st.caption(same_budget_note(runs))


def same_budget_note(runs: list[MethodRun]) -> str:
    budget = learn.same_budget(runs)
    if all(sum(r.steps()) == budget for r in runs):
        return (f"Every method spent the same budget ({budget} steps), so regret at the same "
                "budget is the regret of the whole run.")  # fmt: skip
    least = " and ".join(text.md(_label(r.method)) for r in runs if sum(r.steps()) == budget)
    return (
        f"Regret at the same budget: the best each method found within {budget} budget steps, "
        f"the smallest total any method spent ({least}'s), so that a method that stops trials "
        "early is not compared on less compute than the others."
    )


def summary(land, runs: list[MethodRun]) -> pd.DataFrame:
    # Where lower is better and the best possible is 0, the regret is the score itself.
    same = not land.maximize and land.best == 0
    budget = learn.same_budget(runs)
    rows = []
    for r in runs:
        best, at_budget = r.best_so_far()[-1], r.best_within(budget)
        # The regrets first: in a narrow window they are the columns on screen.
        row = {"method": _label(r.method)}
        if same:
            row["best found (= regret)"] = text.score(best)
        else:
            row["best found"] = text.score(best)
            row["regret"] = text.score(None if best is None else land.regret(best))
        row["regret at the same budget"] = text.score(
            None if at_budget is None else land.regret(at_budget)
        )
        row |= {
            "budget steps": sum(r.steps()), "trials": r.n_trials,
            "stopped early": sum(t.state.name == "PRUNED" for t in r.trials),
        }  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def _stop() -> None:
    st.session_state[PLAYING] = False


def _slider_key(t: int, high: int) -> str:
    # A new slider for each trial and budget, drawn at the trial: Play sets the trial on the
    # server, and a slider that kept its key would send the browser's older value back.
    return f"{TRIAL}_{high}_{t}"


def _advance(high: int) -> None:
    """Play's step: the next trial; at the last one Play stops."""
    t = min(high, _trial(high) + 1)
    st.session_state[TRIAL] = t
    if t >= high:
        _stop()


def _play(high: int) -> None:
    if st.session_state.get(PLAYING):
        _stop()
        return
    if _trial(high) >= high:
        st.session_state[TRIAL] = 1  # from the start again
    st.session_state[PLAYING] = True


def _trial(high: int) -> int:
    """The trial shown, within 1..high (the budget may be smaller since the last run)."""
    return min(max(1, st.session_state.get(TRIAL, min(11, high))), high)


def _step(delta: int, high: int) -> None:
    _stop()
    st.session_state[TRIAL] = min(high, max(1, _trial(high) + delta))


def _dragged(high: int) -> None:
    """The slider moved in the browser: its trial is the one shown, and Play stops."""
    moved = st.session_state.get(_slider_key(_trial(high), high))
    if moved is not None and moved != _trial(high):
        st.session_state[TRIAL] = moved
        _stop()


def trial_stepper(n: int) -> int:
    """The one trial control (1-based): Back, Play or Pause and Step beside the slider; the
    buttons keep their words in a narrow window (their width is their label's)."""
    st.session_state[TRIAL] = t = _trial(n)
    playing = bool(st.session_state.get(PLAYING))
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button("◀ Back", key="learn_back", on_click=_step, args=(-1, n))
        st.button("❚❚ Pause" if playing else "▶ Play", key="learn_play", on_click=_play,
                  args=(n,), help=f"Step through the trials, one every {PLAY_SECONDS:g} s.")  # fmt: skip
        st.button("Step ▶", key="learn_forward", on_click=_step, args=(1, n))
        st.slider("Trial", 1, n, t, key=_slider_key(t, n),
                  help="The trial every view below shows: where each method has sampled, "
                  "what it knew before this trial, and the guess.")  # fmt: skip
    return t


def inside(r: MethodRun, t: int) -> None:
    spec = r.spec
    left, right = st.columns([2, 3])
    with left:
        st.markdown(f"**{spec.label}**: {text.md(spec.summary)}")
        with st.expander("How it works"):
            st.markdown(text.md(spec.explanation))
    note = learn.VIEW_NOTES.get(spec.name, "The trials so far, and the next one (red ring).")
    right.info(text.md(note), icon=":material/visibility:")
    fig = _internals(r.landscape, r.method, r.n_trials, r.seed, t - 1)
    st.plotly_chart(fig, key="learn_inside", config=PLOTLY_CONFIG)


def _axis_input(col, axis, key: str) -> float:
    mid = float(axis.from_unit(0.5))
    label = f"{axis.name}{' (log scale)' if axis.log else ''}"
    if axis.integer:
        return col.number_input(label, int(axis.low), int(axis.high), int(round(mid)), key=key)
    return col.number_input(
        label, float(axis.low), float(axis.high), float(f"{mid:.3g}"), key=key, format="%g",
        step=float(f"{axis.low:.3g}") if axis.log else (axis.high - axis.low) / 100,
    )  # fmt: skip


def guess_prompt(runs: list[MethodRun], t: int) -> None:
    methods = [r.method for r in runs]
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    method = c1.selectbox("Method", methods, format_func=_label, key="learn_guess_method")
    r = next(x for x in runs if x.method == method)
    t = min(t, r.n_trials)
    land = r.land
    gx = _axis_input(c2, land.x, f"learn_guess_x_{land.name}")
    gy = _axis_input(c3, land.y, f"learn_guess_y_{land.name}")
    key = (land.name, method, r.n_trials, r.seed, t)
    if c4.button("Reveal", key="learn_reveal", width="stretch"):
        st.session_state[REVEALED] = key
    revealed = st.session_state.get(REVEALED) == key
    st.caption(
        f"{_label(method)} has seen trials 1–{t - 1} (on the chart). Where will trial {t} be? "
        "Enter your guess, then reveal. Step the trial above to try the next one."
        if t > 1
        else f"Trial 1: {_label(method)} has seen nothing yet. Where will it start?"
    )
    st.plotly_chart(lp.guess_figure(r, t - 1, (gx, gy), revealed), key="learn_guess_chart",
                    config=PLOTLY_CONFIG)  # fmt: skip
    if revealed:
        xs, ys = r.xy(t)
        actual = (float(xs[t - 1]), float(ys[t - 1]))
        d = learn.distance(land, (gx, gy), actual)
        verdict = "Spot on!" if d < 0.05 else "Close." if d < 0.15 else "Not quite."
        st.success(
            f"{verdict} Trial {t} went to {land.x.name} = {text.value(actual[0])}, "
            f"{land.y.name} = {text.value(actual[1])}: {d:.0%} of the landscape's diagonal from "
            "your guess (measured on log scales where an axis is log)."
        )


def glossary() -> None:
    with st.expander("Glossary", expanded=False):
        for term, meaning in learn.GLOSSARY.items():
            st.markdown(f"**{term}**: {meaning}")
