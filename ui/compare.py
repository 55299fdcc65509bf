"""Compare page: define an experiment (one task, several methods, seeds), run it in the
background, and follow the race live: best-so-far curves, time and score bars, time-to-target
and a table per method. Experiments are kept in the storage like runs and can be reopened.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pandas as pd
import streamlit as st

from tuning.analysis import race, warm
from tuning.core.config import RunConfig
from tuning.core.enums import RunStatus
from tuning.core.errors import UserError
from tuning.core.objectives import COSTS
from tuning.core.scoring import Scoring
from tuning.data import datasets
from tuning.methods import list_methods
from tuning.models import list_models
from tuning.plots import compare as plots
from tuning.runs.front import experiments as ex
from tuning.runs.front import run_summary
from ui import advisor_view, gain_view, links, registry, text, warm_view, widgets
from ui.runs import method_label, model_label, shown_status
from ui.setup import SCORING_HELP, cost_label, scoring_choices, scoring_option, where_input

PICK = "compare_pick"  # plain key: the experiment shown (survives page switches)
NEW = "New experiment"
GOTO = "compare_goto"  # plain key: the experiment to select on the next run
RECORDED = "recorded-classic-race"  # the picker's value (and ?experiment=) for the recording
# On a quiet two-core machine with two worker processes per method (benchmarks/compare_grid.py):
# grid search's 81 trials take about 3 minutes, each 30-trial method about one.
CLASSIC_MINUTES_PER_SEED = 6


@st.cache_resource(show_spinner=False)
def recorded() -> ex.RecordedRace | None:
    """The recorded classic race shipped with the studio, opened once per process from a
    private copy of its journal (None when the package holds none)."""
    return ex.open_recorded()


def start(name: str) -> None:
    """Start (or resume) an experiment: its unfinished members join the app's queue like any
    run (the cap on runs at once holds for them); a second click while it runs starts nothing."""
    ex.start_experiment(name, registry.manager())


def running(info: ex.ExperimentInfo) -> bool:
    """Whether this app works on (or has queued) a member of the experiment."""
    return bool(ex.active_members(info, registry.manager()))


def live_statuses(info: ex.ExperimentInfo) -> ex.ExperimentInfo:
    """The experiment with its members' statuses as this app knows them (queued or running
    here), as the runs table shows runs."""
    manager = registry.manager()
    return replace(info, runs=[
        {**r, "status": shown_status(r["run"], r["status"], manager)} for r in info.runs
    ])  # fmt: skip


# -- defining an experiment ----------------------------------------------------------------------
def picker() -> str | None:
    names = [e.name for e in ex.list_experiments(registry.storage())]
    if recorded() is not None:
        names = [RECORDED, *names]
    options = [NEW, *names]
    asked = links.linked(links.EXPERIMENT)  # a link (?experiment=NAME) selects its experiment
    if GOTO in st.session_state:  # a launch here chose the experiment: the URL follows it
        asked = None
    if asked is not None and asked in names and asked != st.session_state.get("compare_select"):
        st.session_state[GOTO] = asked
    elif asked is not None and asked not in names:
        st.warning(f"The link names experiment {text.md(asked)}, which is not in this storage.",
                   icon=":material/link_off:")  # fmt: skip
    if GOTO in st.session_state:  # set before the widget exists, so Streamlit allows it
        st.session_state["compare_select"] = st.session_state.pop(GOTO)
    if st.session_state.get("compare_select") not in options:
        st.session_state.pop("compare_select", None)  # e.g. a deleted experiment
    if "compare_select" not in st.session_state:
        # The widget's value lives in session state only: a selectbox given both an index and
        # a session-state value makes Streamlit warn, so the starting choice is set here.
        current = st.session_state.get(PICK)
        own = [n for n in names if n != RECORDED]
        st.session_state["compare_select"] = (
            current if current in options else (own[0] if own else NEW)
        )
    # Options are plain text; the icon (Streamlit's Material set, no emoji font needed) sits
    # in the field.
    new = st.session_state["compare_select"] == NEW

    def changed() -> None:  # the URL follows the picker
        pick = st.session_state["compare_select"]
        if pick == NEW:
            st.query_params.pop(links.EXPERIMENT, None)
        else:
            st.query_params[links.EXPERIMENT] = pick

    # The Link button at its own width: a seventh of a 900 px window's page cut it to "L".
    row = st.container(horizontal=True, vertical_alignment="bottom")
    choice = row.selectbox("Experiment", options, key="compare_select", on_change=changed,
                            format_func=lambda o: "Recorded classic race (read-only)"
                            if o == RECORDED else o,
                            icon=":material/add:" if new else ":material/leaderboard:")  # fmt: skip
    st.session_state[PICK] = choice
    if choice == NEW:
        st.query_params.pop(links.EXPERIMENT, None)
        return None
    links.follow(links.EXPERIMENT, choice)
    with row:
        links.copy_link(links.COMPARE, experiment=choice)
    return choice


def new_experiment_form() -> None:
    cluster = where_input("cmp_where")
    classic_form(cluster)
    engines_form(cluster)
    own_form(cluster)


def engines_form(cluster: str) -> None:
    """The preset race of Optuna's TPE against Hyperopt's, random searches as the control."""
    st.subheader("Optuna TPE against Hyperopt TPE")
    preset = ex.engines_preset()
    st.markdown(
        f"An SVM on the breast-cancer data, 5-fold CV, {preset.base.n_trials} trials per method and seed: "
        "**Bayesian (TPE)** (Optuna's) against **Hyperopt TPE**, with **Random search** and "
        "**Hyperopt random search** as the control. "
        + text.md(ex.ENGINES_DIFFERENCE)
    )
    _preset_launch(ex.engines_preset, len(preset.seeds), "engines", "Run it", cluster,
                   seeds_help="Each method runs once per seed; the bands show the spread over "
                   "seeds.")  # fmt: skip


def classic_form(cluster: str) -> None:
    """The classic comparison: the preset race of grid, random, TPE and Hyperband."""
    st.subheader("The classic comparison")
    preset = ex.classic_preset()
    st.markdown(
        "Random forest on the 2000 × 50 synthetic benchmark, 5-fold CV: **grid search** over "
        "n_estimators {50, 100, 200} × max_depth {5, 10, 15} × min_samples_split {2, 5, 10} × "
        f"min_samples_leaf {{1, 2, 4}} (81 configurations), max_features sqrt; **random "
        f"search**, **TPE** and **Hyperband** with {preset.base.n_trials} trials each over the "
        "same box (every integer from the lowest to the highest grid value), so the race "
        "compares how methods search one region. Each method runs once per seed: the curves show the "
        "median over seeds and a band from the worst to the best seed, so what a method buys "
        "stands apart from luck. On two cores a seed takes about "
        f"{CLASSIC_MINUTES_PER_SEED} minutes ({len(preset.seeds)} seeds: about "
        f"{CLASSIC_MINUTES_PER_SEED * len(preset.seeds)}); the recorded race opens at once."
    )
    if (rec := recorded()) is not None:
        st.caption(text.md(rec.label))
        if st.button("Open the recorded classic race", icon=":material/history:",
                     type="primary", key="classic_recorded"):  # fmt: skip
            st.session_state[GOTO] = RECORDED
            st.rerun()
    _preset_launch(ex.classic_preset, len(preset.seeds), "classic", "Run it live", cluster,
                   seeds_help="Each method runs once per seed; fewer seeds finish sooner but "
                   "show no spread.", go_help="Runs the classic comparison here: seed 0's "
                   "members first, so its curves appear while the other seeds wait.")  # fmt: skip


def _preset_launch(
    make, seeds: int, key: str, label: str, cluster: str, seeds_help: str, go_help: str | None = None
) -> None:
    """A preset race's seeds, workers and launch button: `make(seeds=, workers=)` builds it."""
    c1, c2, c3 = st.columns([1, 1, 2])
    n = c1.number_input("Seeds", 1, 5, seeds, key=f"{key}_seeds", help=seeds_help)
    workers = workers_input(c2, f"{key}_workers")
    if c3.button(label, icon=":material/play_arrow:", key=f"{key}_go", help=go_help):
        _create(make(seeds=tuple(range(int(n))), workers=workers), cluster)


def own_form(cluster: str) -> None:
    """An experiment of one's own: a dataset, a model, the objectives and the methods raced."""
    st.subheader("Your own experiment")
    ds_name = st.selectbox(
        "Dataset", [d.name for d in datasets.list_datasets()], key="cmp_dataset",
        format_func=lambda n: f"{(d := datasets.get_spec(n)).label} ({d.shape_hint}, {d.task})",
    )  # fmt: skip
    task = datasets.get_spec(ds_name).task
    models = [m.name for m in list_models(task)]
    model = st.selectbox(
        "Model (its default search space)", models, key="cmp_model", format_func=model_label
    )
    objectives = st.multiselect(
        "Objectives: the CV score, and optionally costs to trade against it",
        [n for n, o in COSTS.items() if o.applies_to(model)], default=[],
        key=f"cmp_objectives_{model}", format_func=cost_label, placeholder="the CV score only",
        help="With a cost, each method searches for the best trade-offs, and the race is on "
        "the hypervolume of their Pareto fronts.",
    )  # fmt: skip
    methods = _methods_input(bool(objectives))
    settings = _race_settings(ds_name, task)
    base = RunConfig(dataset=datasets.DatasetRef(ds_name), model=model,
                     n_trials=settings["trials"], cv_folds=settings["folds"],
                     scoring=settings["scoring"], grid_points=settings["points"],
                     workers=settings["workers"], objectives=tuple(objectives))  # fmt: skip
    sources, warm_methods = ((), ()) if objectives else _warm_input(base, methods)
    if st.button("Start experiment", type="primary", icon=":material/rocket_launch:", key="cmp_go"):
        if not methods:
            st.error("Choose at least one method to compare.")
            return
        _create(ex.ExperimentConfig(
            base=base, methods=tuple(methods), seeds=tuple(range(settings["seeds"])),
            parallel=settings["parallel"], target=settings["target"],
            warm_start=sources, warm_methods=warm_methods,
        ), cluster)  # fmt: skip


WARM_HELP = (
    "Beside each method picked here, race a copy of it that starts from the best "
    "configurations of earlier runs of this model, on the same seeds: the race then shows "
    "what the warm start bought, or that it hurt."
)


def _warm_input(base: RunConfig, methods: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Optional warm-started copies: which methods get one and the earlier runs they start
    from (the ranked list New run offers). Off: ((), ())."""
    if not st.toggle("Also race warm-started copies", key="cmp_warm_on", help=WARM_HELP):
        return (), ()
    with st.container(border=True):
        able = [m for m in methods if ex.can_warm_start(m)]
        if not able:
            st.caption("None of the methods chosen can start from earlier runs: add a sampler "
                       "such as Bayesian (TPE) or random search.")  # fmt: skip
            return (), ()
        if [m for m in st.session_state.get("cmp_warm_methods", []) if m not in able]:
            st.session_state.pop("cmp_warm_methods")  # a method no longer raced
        chosen = st.multiselect("Methods that also race a warm-started copy", able,
                                default=ex.default_warm(able), format_func=method_label,
                                key="cmp_warm_methods")  # fmt: skip
        first = chosen[0] if chosen else able[0]
        sources = warm_view.race_sources(replace(base, method=first, objectives=()),
                                         "cmp_warm_sources")  # fmt: skip
    return sources, tuple(chosen)


def _methods_input(multi_objective: bool) -> list[str]:
    """The methods to race: with costs, only those that can search several objectives."""
    if not multi_objective:
        return st.multiselect(
            "Methods", [m.name for m in list_methods()],
            default=["grid", "random", "tpe", "hyperband"], format_func=method_label,
            key="cmp_methods",
        )  # fmt: skip
    able = ex.multi_objective_methods()
    methods = st.multiselect(
        "Methods (those that can search several objectives)", able,
        default=[m for m in ("random", "tpe", "nsga2") if m in able],
        format_func=method_label, key="cmp_methods_mo",
    )  # fmt: skip
    st.caption(
        "Multi-fidelity methods, population-based training and CMA-ES search one objective "
        "only, so they are not offered here."
    )
    return methods


def _race_settings(ds_name: str, task: str) -> dict:
    """Each method's budget and evaluation, the seeds, and how the runs share the machine."""
    c1, c2, c3, c4 = st.columns(4)
    trials = c1.number_input("Trials per method", 2, 2000, 20, key="cmp_trials",
                             help="Grid search runs its whole grid instead.")  # fmt: skip
    folds = c2.number_input("CV folds", 2, 10, 5, key="cmp_folds")
    points = c3.number_input("Grid points per range", 2, 10, 3, key="cmp_points",
                             help="Values per numeric parameter for grid search (log-spaced where log).")  # fmt: skip
    n_seeds = c4.number_input("Seeds", 1, 10, 1, key="cmp_seeds")
    c1, c2, c3, c4 = st.columns(4)
    n_classes = (
        len(datasets.get_spec(ds_name).loader({})[1].unique()) if task == "classification" else None
    )
    scoring = c1.selectbox("Scoring", scoring_choices(task, n_classes), key="cmp_scoring",
                           format_func=scoring_option, help=SCORING_HELP)  # fmt: skip
    mode = c2.radio("Runs", ["one after another", "side by side"], key="cmp_mode", horizontal=True,
                    help="Side by side shares the cores between methods; one after another times each fairly.")  # fmt: skip
    workers = workers_input(c4, "cmp_workers")
    target = c3.number_input("Target score (optional)", value=None, key="cmp_target", format="%.4f",
                             help="Empty: grid search's best configuration, scored again with 5 "
                             "model seeds (its own best score for a model without a seed).")  # fmt: skip
    return {
        "trials": int(trials), "folds": int(folds), "points": int(points), "seeds": int(n_seeds),
        "scoring": scoring, "parallel": mode == "side by side", "workers": workers,
        "target": target,
    }  # fmt: skip


def workers_input(where, key: str) -> int:
    cores = os.cpu_count() or 1
    return int(where.number_input(
        "Worker processes per method", 1, max(1, cores * 2), min(2, cores), key=key,
        help=f"Each method's trials run in this many processes, one thread each ({cores} cores "
        "here). Processes use the cores better than threads for forests and boosting.",
    ))  # fmt: skip


def _create(config: ex.ExperimentConfig, cluster: str = "local") -> None:
    config = replace(config, base=replace(config.base, cluster=cluster))
    try:
        if cluster == "dask":
            registry.manager().check_cluster()  # before the runs exist
        with st.spinner("Checking the settings and creating the runs…"):
            name = ex.create_experiment(config, registry.storage())
    except UserError as exc:
        st.error(text.md(exc))
        return
    start(name)
    st.session_state[PICK] = name
    st.session_state[GOTO] = name  # the picker shows the new experiment on the next run
    st.rerun()


# -- following an experiment ---------------------------------------------------------------------
def show(name: str) -> None:
    live = running(ex.get_experiment(name, registry.storage()))

    @st.fragment(run_every=2.0 if live else None)
    def panel() -> None:
        info = live_statuses(ex.get_experiment(name, registry.storage()))
        render(info, registry.storage())
        if live and not running(info):
            st.rerun()  # full rerun: run_every=None stops the polling

    panel()


def show_recorded() -> None:
    """The recorded classic race: read from the packaged recording, never resumed or written."""
    rec = recorded()
    st.info(
        text.md(rec.label) + " Read-only: these are real runs of the studio engine, replayed "
        "from the recording shipped with it; nothing here can resume or change them. Start "
        "**New experiment → Run it live** to race on this machine.",
        icon=":material/history:",
    )
    render(rec.info, rec.storage, read_only=True)


def render(info: ex.ExperimentInfo, store, read_only: bool = False) -> None:
    cfg = info.config
    st.markdown(
        f"**{text.md(datasets.dataset_label(cfg.base.dataset))}** · "
        f"{text.md(model_label(cfg.base.model))} · {cfg.base.cv_folds}-fold CV · seeds "
        f"{', '.join(map(str, cfg.seeds))} · "
        f"{'side by side' if cfg.parallel else 'one after another'}"
    )
    if note := ex.race_note(cfg):
        st.caption(text.md(note))
    _progress(info, store, read_only)
    if cfg.base.multi_objective:
        front_race(info, store)
    else:
        score_race(info, store)
    downloads(info, store, read_only)


def progress_text(info: ex.ExperimentInfo, trials_done: int, trials_total: int) -> str:
    """The progress line: whole runs first, then the trials so far (a race's first member,
    grid search, alone takes minutes)."""
    runs_done = sum(1 for r in info.runs if r["status"] == RunStatus.FINISHED)
    return (
        f"{runs_done} of {len(info.runs)} runs finished · {trials_done:,} of "
        f"{text.plural(trials_total, 'trial')} so far · {info.status}"
    )


def _progress(info: ex.ExperimentInfo, store, read_only: bool = False) -> None:
    """Runs and trials done, Stop or Resume, and why members failed here."""
    trials_done, trials_total = ex.progress(info, store)
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.progress(trials_done / max(1, trials_total),
                text=progress_text(info, trials_done, trials_total))  # fmt: skip
    if read_only:
        return
    if running(info):
        if c2.button("Stop", icon=":material/stop:", key=f"cmp_stop_{info.name}"):
            ex.stop_experiment(info, registry.manager())
            st.toast("Stopping after the current fold or epoch.")
    elif info.status != "finished" and c2.button(
        "Resume", icon=":material/play_arrow:", key=f"cmp_resume_{info.name}"
    ):
        try:  # a member on a Dask cluster that this app cannot reach says so
            start(info.name)
        except UserError as exc:
            st.error(text.md(exc))
        else:
            st.rerun()
    manager = registry.manager()
    for r in info.runs:
        if error := manager.error(r["run"]):
            st.error(text.md(f"{r['run']}: {error}"))


def score_race(info: ex.ExperimentInfo, store) -> None:
    """A single-objective experiment: best-so-far curves, the verdict, score gaps and time,
    a score table and a time-to-target table per method."""
    cfg = info.config
    traj = ex.trajectories(info, store)
    scoring = Scoring(run_summary(store, info.runs[0]["run"]).scoring)
    score_title = f"CV {scoring.label} ({scoring.arrow})"
    target = ex.targets(traj, info)
    labels = {m: ex.entry_label(m) for m in cfg.entries}
    table = ex.summary_table(info, traj, store, target)
    _curves(info, traj, target, score_title, labels, list(table.loc[table["validation"] == "holdout", "method"]))
    for line in shared_start_lines(ex.shared_starts(info, store), labels, len(cfg.seeds)):
        st.info(line, icon=":material/call_split:")
    if info.complete:
        st.info(text.md(ex.verdict(info, table)), icon=":material/flag:")
    else:
        st.warning(text.md(ex.verdict(info, table)), icon=":material/hourglass_top:")
    # One under the other: side by side, a 900 px window leaves each too narrow to read.
    st.plotly_chart(plots.score_gap_figure(table, score_title, labels),
                    key=f"cmp_gaps_{info.name}", width="stretch")  # fmt: skip
    st.dataframe(_table_view(table, labels, cfg.base.cv_folds, info.complete), hide_index=True,
                 width="stretch")  # fmt: skip
    if note := test_note(table):
        st.caption(note)
    warm_bought(info, store)
    advise_later = advisor_view.compare(info, store)
    st.markdown("**What each method buys: time to the target** (median over the seeds that "
                "reached it, with their range)")  # fmt: skip
    if target:  # without one, a table of "n/a" says nothing the caption does not
        st.dataframe(_target_view(table, labels), hide_index=True)
        if caveat := buys_caveat(table, len(cfg.seeds)):
            st.caption(caveat)
    st.caption(target_caption(target, ex.level_words(info, traj, target)))
    st.plotly_chart(plots.time_figure(table, labels), key=f"cmp_time_{info.name}",
                    width="stretch")  # fmt: skip
    holdout = list(table.loc[table["validation"] == "holdout", "method"])
    if holdout:
        st.caption(
            f"{', '.join(labels[m] for m in holdout)}: its validation score comes from one "
            "holdout split (the first CV fold), picked as the best of many segments, while the "
            f"others' are {cfg.base.cv_folds}-fold CV means: the two are not the same kind of "
            "number, and the holdout one is optimistic. Compare methods on the test score, "
            "which all score the same way, and on epochs trained, not on trials."
        )
    gain_view.experiment(info, store)
    advise_later()  # the advisor's GP fits, once the page above and below it is drawn


def warm_bought(info: ex.ExperimentInfo, store) -> None:
    """Beside the score table: one sentence per warm copy on what its warm start bought over
    the cold method on the same seeds; a warm start that hurt is shown as a warning."""
    read = registry.reader  # the page's long-lived readers: each poll reads only new trials
    for bought in warm.experiment_warm(info, store, lambda name: read(store, name).read()):
        if bought.state == "hurt":
            st.warning(text.md(bought.sentence), icon=":material/trending_down:")
        else:
            st.caption(text.md(bought.sentence))


def _curves(info, traj, target, score_title, labels, holdout) -> None:
    """Best so far by trials (or epochs on a model that trains in epochs: trials differ in
    cost there) and by wall-clock time, side by side."""
    methods = list(info.config.entries)
    one_target = next(iter(target.values())) if len(set(target.values())) == 1 else None
    x = "epochs_so_far" if traj["epochs"].notna().any() else "trials"
    tab_trials, tab_time = widgets.pair("cmp_curves")
    for where, axis, data, key in ((tab_trials, x, traj.dropna(subset=[x]), "n"),
                                   (tab_time, "elapsed_s", traj, "t")):  # fmt: skip
        where.plotly_chart(
            plots.compare_curve_figure(ex.band(data, axis), axis, score_title, methods,
                                       one_target, labels, holdout),
            key=f"cmp_curve_{key}_{info.name}", width="stretch",
        )  # fmt: skip


def buys_caveat(table: pd.DataFrame, n_seeds: int) -> str:
    """What time to target may be read as, beside it: when every score difference lies within
    the noise, a method that gets there sooner buys time, not a better model; from one seed,
    time to target is one draw."""
    note = plots.noise_note(table)
    parts = []
    if note is not None and "within" in note:
        parts.append(
            "Every difference in best CV score is within the noise, so a method that reaches "
            "the target sooner buys time here, not a better model."
        )
    elif note is not None:
        parts.append("All methods reached the same best score: only the time differs.")
    if n_seeds == 1:
        parts.append(
            "From one seed, trials and seconds to the target are one draw of luck; more seeds "
            "give their range."
        )
    return " ".join(parts)


def target_caption(target: dict, words: str) -> str:
    """What time to target measures: the score each seed's race ran to and where it came from
    (`words`: experiments.level_words, grid's de-noised level or your own target)."""
    if not target:
        return "Time to target needs grid search among the methods, or a target score."
    return f"Time to target: seconds and trials until each method first reached the {words}"


def downloads(info: ex.ExperimentInfo, store, read_only: bool = False) -> None:
    st.download_button(
        "Download all trials (CSV)", ex.export_csv(info, store),
        file_name=f"{info.name}-trials.csv", mime="text/csv", icon=":material/download:",
        key=f"cmp_csv_{info.name}",
    )  # fmt: skip
    where = "the recording" if read_only else "this storage; each opens in Live monitor"
    with st.expander(f"Runs of this experiment ({where})"):
        runs = pd.DataFrame(info.runs)[["run", "method", "seed", "status"]]
        runs["method"] = [ex.entry_label(m) for m in runs["method"]]
        st.dataframe(runs, hide_index=True, width="stretch")


def front_race(info: ex.ExperimentInfo, store) -> None:
    """A multi-objective experiment: methods raced on the hypervolume of their Pareto fronts,
    every member against one reference point."""
    cfg = info.config
    objectives = race.experiment_objectives(info)
    score, costs = objectives[0], objectives[1:]
    traj, ref = race.hypervolume_trajectories(info, store)
    labels = {m: ex.entry_label(m) for m in cfg.entries}
    st.markdown(
        f"Each method searches for the best trade-offs of {text.md(score.label)} against "
        f"{text.md(', '.join(c.label.lower() for c in costs))}: its Pareto front, the trials no "
        "other of its trials beats on every objective. The race is on the **hypervolume** of "
        "that front: the area of the objective space it dominates up to one reference point, "
        "the same for every method and seed. Greater is better: a front that reaches a better "
        "score, a lower cost, or both."
    )
    tab_trials, tab_time = widgets.pair("cmp_hv")
    for where, x, key in ((tab_trials, "trials", "n"), (tab_time, "elapsed_s", "t")):
        where.plotly_chart(
            plots.compare_curve_figure(
                ex.band(traj, x, y="hypervolume"), x, "hypervolume (greater is better)",
                list(cfg.entries), labels=labels, quantity="Hypervolume",
            ),
            key=f"cmp_hv_{key}_{info.name}", width="stretch",
        )  # fmt: skip
    table = race.hypervolume_table(info, traj)
    if not info.complete:  # no winner from incomplete seeds, on hypervolume either
        st.warning(text.md(ex.verdict(info, table)), icon=":material/hourglass_top:")
    st.plotly_chart(plots.hypervolume_bars_figure(table, labels), key=f"cmp_hv_bars_{info.name}",
                    width="stretch")  # fmt: skip
    if len(ref) and bool(pd.notna(ref).all()):
        point = ", ".join(f"{o.label} {v:.4g}" for o, v in zip(objectives, ref, strict=True))
        st.caption(
            f"Reference point: {text.md(point)}: each objective's worst value over all members' "
            "complete trials, pushed a tenth of its range further. It moves as trials arrive, so "
            "compare the methods with each other, not with a hypervolume read earlier."
        )
    st.dataframe(_hv_table_view(table, labels), hide_index=True, width="stretch")


def _hv_table_view(table: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    def num(v, fmt: str = "{:.4g}") -> str:
        return "–" if pd.isna(v) else fmt.format(v)

    return pd.DataFrame({
        "method": [labels.get(m, m) for m in table["method"]],
        "final hypervolume (median)": [num(v) for v in table["hypervolume"]],
        "worst – best seed": [
            "–" if pd.isna(lo) else f"{lo:.4g} – {hi:.4g}"
            for lo, hi in zip(table["hv_low"], table["hv_high"], strict=True)
        ],
        "± std over seeds": [num(v) for v in table["hv_std"]],
        "front size (median)": [num(v, "{:.0f}") for v in table["front_size"]],
        "trials complete / pruned / failed (all seeds)": [
            f"{r.complete} / {r.pruned} / {r.failed}" for r in table.itertuples()
        ],
        "wall seconds": [num(v, "{:.1f}") for v in table["wall_seconds"]],
        "seeds finished": [seeds_finished(r) for r in table.itertuples()],
    })  # fmt: skip


def shared_start_lines(shared: list[dict], labels: dict[str, str], n_seeds: int) -> list[str]:
    """One sentence per group of methods that began with the same configurations: the same
    on every seed reads as one line."""
    by_group: dict[tuple, dict[int, int]] = {}
    for g in shared:
        by_group.setdefault(tuple(g["methods"]), {})[g["seed"]] = g["trials"]
    lines = []
    for methods, seeds in by_group.items():
        names = text.md(ex.joined([labels.get(m, m) for m in methods]))
        counts = sorted(set(seeds.values()))
        if len(seeds) == n_seeds and len(counts) == 1:
            where = f"their first {text.plural(counts[0], 'trial')}" + (
                " on every seed" if n_seeds > 1 else ""
            )
        else:
            where = "their first trials (" + ", ".join(
                f"seed {s}: {n}" for s, n in sorted(seeds.items())
            ) + ")"
        lines.append(
            f"{names} shared {where}: with the same seed, methods that start with random draws "
            "draw the same configurations, so their curves coincide until they part. "
            "What each method adds shows only after that point, and across seeds."
        )
    return lines


def seeds_finished(r) -> str:
    return f"{r.seeds_finished} of {r.seeds} seed{'s' if r.seeds != 1 else ''} finished"


def test_header(table: pd.DataFrame) -> str:
    """The test column's header: which uncertainty its interval is (`test_note` says more)."""
    kinds = {k for k in table["test_interval"] if isinstance(k, str)}  # no test: None or NaN
    if kinds == {"wilson"}:
        return "test (95 % Wilson)"
    if kinds == {"seeds"}:
        return "test (seeds' range)"
    return "test score"


def test_note(table: pd.DataFrame) -> str | None:
    """What the test interval is, under the table."""
    kinds = {k for k in table["test_interval"] if isinstance(k, str)}  # no test: None or NaN
    if kinds == {"wilson"}:
        rows = int(table["n_test"].dropna().iloc[0])
        return (
            "Test: each method's best configuration refit and scored once on the same "
            f"{rows} held-out rows (mean over seeds), with a 95 % Wilson interval: the binomial "
            f"uncertainty of an accuracy measured on {rows} rows."
        )
    if kinds == {"seeds"}:
        return ("Test: each method's best configuration refit and scored once on the held-out "
                "rows; mean over seeds, in brackets the lowest and highest seed.")  # fmt: skip
    return None


def test_cell(r) -> str:
    if pd.isna(r.test):
        return "–"
    if pd.isna(r.test_low):
        return text.score(r.test)
    return f"{text.score(r.test)} ({r.test_low:.3f} – {r.test_high:.3f})"


def _table_view(
    table: pd.DataFrame, labels: dict[str, str], folds: int, complete: bool = True
) -> pd.DataFrame:
    """The score table: kept narrow (a laptop shows it whole); time to target has its own."""
    def pm(r) -> str:
        if pd.isna(r.best_cv):
            return "–"
        return text.score(r.best_cv) + ("" if pd.isna(r.best_cv_std) else f" ± {r.best_cv_std:.4f}")

    def gap(r) -> str:
        if pd.isna(r.gap):
            return "not comparable" if r.validation == "holdout" else "–"
        if r.gap == 0:
            return "best" if complete else "leads so far"
        err = "" if pd.isna(r.gap_std) else f" ± {r.gap_std:.4f}"
        return f"{r.gap:+.4f}{err}" + (" (within noise)" if r.within_noise is True else "")

    spread = {"seeds": "std over seeds", "folds": "std over folds"}
    kinds = {s for s in table["spread"] if s}
    holdout = (table["validation"] == "holdout").any()
    score = "validation score" if holdout else f"{folds}-fold CV"
    header = f"best {score} (mean ± {spread[kinds.pop()] if len(kinds) == 1 else 'std'})"
    view = pd.DataFrame({"method": [labels.get(m, m) for m in table["method"]]})
    if holdout:
        view["validated on"] = [
            "one holdout split" if v == "holdout" else f"{folds}-fold CV mean"
            for v in table["validation"]
        ]
    view[header] = [pm(r) for r in table.itertuples()]
    view["vs the best" if complete else "vs the leader"] = [
        gap(r) for r in table.itertuples()
    ]
    view[test_header(table)] = [test_cell(r) for r in table.itertuples()]
    view["trials complete / pruned / failed"] = [
        f"{r.complete} / {r.pruned} / {r.failed}" for r in table.itertuples()
    ]
    view["seeds"] = [seeds_finished(r) for r in table.itertuples()]
    return view


def spread_cell(median: float, low: float, high: float, fmt: str) -> str:
    """A median over seeds with its range: "12 (8 – 20)"; "n/a" where no seed reached it."""
    if pd.isna(median):
        return "n/a"
    if low == high:
        return fmt.format(median)
    return f"{fmt.format(median)} ({fmt.format(low)} – {fmt.format(high)})"


def _target_view(table: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """What each method buys: trials and seconds to the target (median and range over the
    seeds that reached it) and in how many seeds it got there. Narrow: it must show whole in
    a laptop's window (the time each method spent has its own figure)."""
    view = pd.DataFrame({
        "method": [labels.get(m, m) for m in table["method"]],
        "trials to target": [
            spread_cell(r.trials_to_target, r.trials_to_target_low, r.trials_to_target_high, "{:.0f}")
            for r in table.itertuples()
        ],
        "seconds to target": [
            spread_cell(r.seconds_to_target, r.seconds_to_target_low, r.seconds_to_target_high, "{:.0f}")
            for r in table.itertuples()
        ],
        "reached in": [
            "–" if r.reached == "-" else f"{r.reached_n} of {r.seeds} seeds"
            for r in table.itertuples()
        ],
    })  # fmt: skip
    if table["epochs"].notna().any():
        view["epochs trained"] = [_or_never(v, "{:,.0f}").replace("not reached", "–")
                                  for v in table["epochs"]]  # fmt: skip
    return view


def _or_never(value: float, fmt: str) -> str:
    return "not reached" if pd.isna(value) else fmt.format(value)


def page() -> None:
    name = picker()
    if name is None:
        new_experiment_form()
    elif name == RECORDED:
        show_recorded()
    else:
        show(name)
