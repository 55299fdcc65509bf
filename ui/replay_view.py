"""Why did it try that? A sampler's reasoning for one trial of a real run (issue 26), on
Analysis and as "your run" on Learn.

The section picks a trial (a slider with Back and Step beside it, as on Learn) and one or two
parameters, rebuilds what the run's sampler knew when it proposed that trial
(tuning.analysis.replay) and draws it (tuning.plots.replay). A study made outside Tuning
Studio did not record its sampler: the section says so and replays it as a sampler the user
picks, with Optuna's default settings. Whatever cannot be replayed is one sentence saying why.

A replay depends only on the trials that had finished when its trial began, so it is cached
process-wide by storage, run, trial and sampler: stepping back to a trial costs nothing.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tuning import analysis as an
from tuning.analysis import replay as rp
from tuning.core.errors import UserError
from tuning.methods import get_method
from tuning.plots.base import params_text
from tuning.plots.replay import replay_figure
from tuning.runs import front
from ui import registry, text

HEADING = "Why did it try that?"
PLOTLY_CONFIG = {"displaylogo": False}
MODEL = "model-guided"  # the origin of a trial a model proposed (the trials frame's origin_kind)
UNSEEN = ("waiting", "running")  # trials whose origin is not written yet
# Origins a replay cannot check (a foreign study, a run made before the studio kept them): such
# a trial is replayed as the sampler's, which says so where it had too few trials for a model.
ENGINE_WORDS = {"TPESampler": "TPE", "GPSampler": "the Gaussian process", "CmaEsSampler": "CMA-ES",
                "NSGAIISampler": "NSGA-II", "NSGAIIISampler": "NSGA-III"}  # fmt: skip
UNRECORDED = ("origin unknown", "proposed")  # labels, or how they start ("proposed by …")


def _key(key: str, what: str, name: str) -> str:
    return f"{key}_replay_{what}_{name}"  # per page and run: another run has other trials


def section(live: an.LiveRun, run: an.RunData, imp: an.Importance | None, key: str,
            heading: str = HEADING) -> None:  # fmt: skip
    """The replay of one trial of `run`, under the page's `key` (and `heading`, if any)."""
    if heading:
        st.subheader(heading)
    st.caption(
        "What the search method knew when it proposed a trial, rebuilt from the trials that "
        "had finished by then: where it expected good scores over one or two parameters (the "
        "others held at the trial's values), and the point it chose (the star)."
    )
    numbers = replayable(run.frame)
    if not numbers:
        st.info("No trial has finished yet: there is nothing to replay.")
        return
    how = _sampler_choice(run, key)
    if how is None:
        return
    sampler, kind = how
    st.caption(count_line(run.frame, "the run's method" if kind == "run" else
                          f"{front.REPLAY_AS[kind]} with Optuna's default settings"))  # fmt: skip
    number = stepper(numbers, default_trial(run), _key(key, "trial", run.name))
    params = _param_choice(run, imp, key)
    if params is None:
        return
    cache_key = (registry.storage_url(), run.name, run.record.created_at, number, kind)
    result = replayed(live, cache_key, sampler)
    if isinstance(result, str):
        st.info(text.md(result), icon=":material/info:")
        return
    show(result, params, key, cache_key)


def _sampler_choice(run: an.RunData, key: str) -> tuple[object, str] | None:
    """(the sampler to replay, "run" or the kind the user chose for a foreign study); None,
    with a sentence saying why, where the run's trials have no reasoning to replay."""
    sampler = front.run_sampler(run.record)
    if run.record.foreign is not None:
        st.info(text.md(sampler) + " Pick a method to see how it would have reasoned about the "
                "same trials, with Optuna's default settings.", icon=":material/help:")  # fmt: skip
        kind = st.selectbox("Replay as", list(front.REPLAY_AS), format_func=front.REPLAY_AS.get,
                            key=_key(key, "as", run.name))  # fmt: skip
        return front.default_sampler(kind), kind
    if isinstance(sampler, str):
        st.info(text.md(sampler), icon=":material/info:")
        return None
    if not any(isinstance(sampler, k) for k, _ in rp.ENGINES):
        st.info(text.md(unreplayable(get_method(run.config.method))), icon=":material/info:")
        return None
    return sampler, "run"


def unreplayable(spec) -> str:
    """Why a run of the method `spec` has no reasoning to replay, in a sentence."""
    if spec.family in ("random", "exhaustive"):
        return (f"{spec.label} does not learn from the trials: each point is chosen without "
                "looking at the scores so far, so there is no reasoning to replay.")  # fmt: skip
    reads = [ENGINE_WORDS.get(kind.__name__, kind.__name__) for kind, _ in rp.ENGINES]
    return (f"This run searched with {spec.label}, whose reasoning the studio cannot replay: "
            f"replay reads {' and '.join(reads)}.")  # fmt: skip


def replayable(df: pd.DataFrame) -> list[int]:
    """The trials that can be picked: every trial that ended, by number."""
    if not len(df):
        return []
    return sorted(int(n) for n in df.loc[~df["state"].isin(UNSEEN), "number"])


def default_trial(run: an.RunData) -> int | None:
    """The best trial if a model proposed it, else the latest model-guided trial before it,
    else the last model-guided trial; where no origin was recorded, the last trial (the one
    that had the most finished trials to learn from)."""
    df = run.frame[~run.frame["state"].isin(UNSEEN)]
    kinds = df["origin_kind"] if "origin_kind" in df.columns else pd.Series("", index=df.index)
    guided = sorted(int(n) for n in df.loc[kinds == MODEL, "number"])
    best = None if run.best is None else int(run.best["number"])
    if not guided:
        return None  # the stepper's default: the last trial
    before = [n for n in guided if best is not None and n <= best]
    return (before or guided)[-1]


def count_line(df: pd.DataFrame, who: str = "the run's method") -> str:
    """How many of the trials a model proposed (those a replay can rebuild) and where the
    others came from; where that was not recorded, that each is replayed as `who` would."""
    ended = df[~df["state"].isin(UNSEEN)] if len(df) else df
    n = len(ended)
    kinds = ended["origin_kind"].tolist() if "origin_kind" in ended.columns else []
    guided = sum(k == MODEL for k in kinds)
    if not guided and all(str(k).startswith(UNRECORDED) for k in kinds):
        return (f"{text.plural(n, 'trial')}: where each came from was not recorded, so each is "
                f"replayed as if {who} proposed it; one drawn at random before the model had "
                "enough finished trials cannot be.")  # fmt: skip
    rest = front.origin_count_line([k for k in kinds if k != MODEL])
    line = f"{guided} of {text.plural(n, 'trial')} were proposed by the model and can be replayed"
    return line + (f"; the others cannot ({rest})." if rest else ".")


# -- the trial ----------------------------------------------------------------------------------
def _step(key: str, numbers: list[int], delta: int) -> None:
    at = numbers.index(st.session_state[key]) if st.session_state.get(key) in numbers else 0
    st.session_state[key] = numbers[min(len(numbers) - 1, max(0, at + delta))]


def stepper(numbers: list[int], default: int | None, key: str) -> int:
    """The trial shown: a slider over the trials, Back and Step beside it (as on Learn); the
    buttons keep their words in a narrow window (their width is their label's)."""
    if st.session_state.get(key) not in numbers:  # first view, or a run with other trials
        st.session_state[key] = default if default in numbers else numbers[-1]
    at = numbers.index(st.session_state[key])
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button("◀ Back", key=f"{key}_back", on_click=_step, args=(key, numbers, -1),
                  disabled=at == 0)  # fmt: skip
        st.button("Step ▶", key=f"{key}_next", on_click=_step, args=(key, numbers, 1),
                  disabled=at == len(numbers) - 1)  # fmt: skip
        if len(numbers) > 1:
            st.select_slider("Trial", numbers, key=key,
                             help="The trial whose proposal is replayed.")  # fmt: skip
    return int(st.session_state[key])


def _param_choice(run: an.RunData, imp: an.Importance | None, key: str) -> list[str] | None:
    """One or two of the run's parameters (by default the two most important, else the first
    two searched); None, with a sentence, where none is picked."""
    names = run.param_names
    ranked = [p for p in imp.table["param"] if p in names] if imp is not None and imp.ok else []
    default = (ranked + [p for p in names if p not in ranked])[:2]
    picked = st.multiselect("Draw over", names, default=default, max_selections=2,
                            key=_key(key, "params", run.name),
                            help="One parameter draws lines; two draw maps. The other "
                            "parameters are held at the trial's values.")  # fmt: skip
    if not picked:
        st.info("Pick one or two parameters to draw the replay over.")
        return None
    return picked


# -- the replay ---------------------------------------------------------------------------------
@st.cache_resource(max_entries=128, show_spinner=False)  # each holds its known trials
def _replay(url: str, name: str, created: str | None, number: int, kind: str, _study,
            _sampler) -> rp.Replay | str:  # fmt: skip
    try:
        return rp.replay(_study, number, _sampler, trust_origin=False)
    except Exception as exc:  # a sampler's internals the studio misread: say so, keep the page
        return f"Trial {number} could not be replayed ({type(exc).__name__}: {exc})."


def replayed(live: an.LiveRun, cache_key: tuple, sampler) -> rp.Replay | str:
    """The replay of a trial, `cache_key` (storage, run, its creation, trial, "run" or the
    sampler chosen) naming it: it depends only on the trials finished when the trial began, and
    on the sampler."""
    with st.spinner(f"Replaying trial {cache_key[3]}…"):
        return _replay(*cache_key, live.study, sampler)


def show(r: rp.Replay, params: list[str], key: str, cache_key: tuple) -> None:
    """The trial's sentence, the figure over `params`, and what it is computed on."""
    st.markdown(f"**Trial {r.trial}.** {text.md(r.sentence)}")
    fig = drawn(*cache_key, tuple(params), r)
    if isinstance(fig, str):
        st.info(text.md(fig), icon=":material/info:")
        return
    st.plotly_chart(fig, key=f"{key}_replay_chart", config=PLOTLY_CONFIG)
    st.caption(text.md(basis(r, params)))


@st.cache_data(max_entries=256, show_spinner=False)
def drawn(url: str, name: str, created: str | None, number: int, kind: str,
          params: tuple[str, ...], _r: rp.Replay) -> go.Figure | str:  # fmt: skip
    """The replay's figure over `params` (cached with its replay's key: stepping back to a
    trial, or a refresh of a working run, draws nothing again); a sentence where it cannot be
    drawn."""
    try:
        pic = rp.picture(_r, list(params))
        if isinstance(pic, str):
            return pic
        ellipses = getattr(_r.model, "ellipses", None)
        return replay_figure(pic, f"Trial {_r.trial}: what the method knew when it proposed it",
                             ellipses=ellipses(list(params)) if callable(ellipses) else ellipses)  # fmt: skip
    except Exception as exc:  # a layer the figure cannot draw: say so, keep the page
        return f"The picture of trial {_r.trial} could not be drawn ({type(exc).__name__}: {exc})."


def basis(r: rp.Replay, params: list[str]) -> str:
    """What the picture is computed on, in a sentence."""
    held = {k: _value(r, k) for k in r.space if k not in params}
    line = (f"Computed from the {text.plural(r.known, 'trial')} finished before trial {r.trial} "
            "began")  # fmt: skip
    if held:
        line += f"; the other parameters held at trial {r.trial}'s values ({params_text(held)})"
    return line + "."


def _value(r: rp.Replay, param: str):
    return r.space[param].to_external_repr(float(r.point[param][0]))


# -- Learn: your run ----------------------------------------------------------------------------
YOUR_RUN = "learn_your_run"
YOUR_HEADING = "Your run: why did it try that?"


def your_run() -> None:
    """Learn's replay of a run of the storage in use: the same section as on Analysis."""
    st.subheader(YOUR_HEADING)
    refs = front.run_refs(registry.storage())
    if not refs:
        st.caption("Once you have made a run (New run), pick it here to see why its search "
                   "method tried each of its trials.")  # fmt: skip
        return
    name = st.selectbox("Your run", [r.name for r in refs], index=None, key=YOUR_RUN,
                        placeholder="Pick one of your runs",
                        help="The runs of the storage in use, newest first.")  # fmt: skip
    if name is None:
        st.caption("The landscapes above are toys whose every point is known. Pick one of "
                   "your runs to see the same reasoning on real trials.")  # fmt: skip
        return
    try:
        live = registry.live_run(name)
        run = live.read()
    except (UserError, KeyError):  # deleted meanwhile (from another tab or process)
        registry.forget(name)
        st.warning(f"Run {text.md(name)} no longer exists: it was deleted.")
        return
    if run.n_complete == 0:
        st.info("This run has no complete trial yet: there is nothing to replay.")
        return
    section(live, run, None, "learn", heading="")
