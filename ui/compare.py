"""Compare page: define an experiment (one task, several methods, seeds), run it in the
background, and follow the race live: best-so-far curves, time and score bars, time-to-target
and a table per method. Experiments are kept in the storage like runs and can be reopened.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pandas as pd
import streamlit as st

from tuning.core.config import RunConfig
from tuning.core.errors import UserError
from tuning.core.scoring import Scoring
from tuning.data import datasets
from tuning.methods import list_methods
from tuning.models import list_models
from tuning.plots import figures as plots
from tuning.runs import experiments as ex
from tuning.store.results import run_summary
from ui import pbt_view, registry, text
from ui.runs import method_label, model_label, shown_status
from ui.setup import scoring_choices

PICK = "compare_pick"  # plain key: the experiment shown (survives page switches)
NEW = "➕ New experiment"
GOTO = "compare_goto"  # plain key: the experiment to select on the next run


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
    options = [NEW, *names]
    current = st.session_state.get(PICK)
    if GOTO in st.session_state:  # set before the widget exists, so Streamlit allows it
        st.session_state["compare_select"] = st.session_state.pop(GOTO)
    if st.session_state.get("compare_select") not in options:
        st.session_state.pop("compare_select", None)  # e.g. a deleted experiment
    index = options.index(current) if current in options else (1 if names else 0)
    choice = st.selectbox("Experiment", options, index=index, key="compare_select")
    st.session_state[PICK] = choice
    return None if choice == NEW else choice


def new_experiment_form() -> None:
    st.subheader("The classic comparison")
    st.markdown(
        "Random forest on the 2000 × 50 synthetic benchmark, 5-fold CV: **grid search** over "
        "n_estimators {50, 100, 200} × max_depth {5, 10, 15} × min_samples_split {2, 5, 10} × "
        "min_samples_leaf {1, 2, 4} (81 configurations), **random search** and **TPE** with 20 "
        "trials each over n_estimators 50–300, max_depth 5–30, min_samples_split 2–20, "
        "min_samples_leaf 1–10, max_features {sqrt, log2}, and **Hyperband** on the same space. "
        "Expect several minutes on two cores."
    )
    c1, c2, c3 = st.columns([1, 1, 2])
    seeds = c1.number_input(
        "Seeds", 1, 5, 1, key="classic_seeds", help="Each method runs once per seed."
    )
    workers = workers_input(c2, "classic_workers")
    if c3.button("Run the classic comparison", icon=":material/play_arrow:", key="classic_go"):
        _create(ex.classic_preset(seeds=tuple(range(int(seeds))), workers=workers))

    st.subheader("Your own experiment")
    ds_name = st.selectbox(
        "Dataset", [d.name for d in datasets.list_datasets()], key="cmp_dataset",
        format_func=lambda n: f"{n} ({datasets.get_spec(n).shape_hint}, {datasets.get_spec(n).task})",
    )  # fmt: skip
    task = datasets.get_spec(ds_name).task
    models = [m.name for m in list_models(task)]
    model = st.selectbox(
        "Model (its default search space)", models, key="cmp_model", format_func=model_label
    )
    methods = st.multiselect(
        "Methods", [m.name for m in list_methods()], default=["grid", "random", "tpe", "hyperband"],
        format_func=method_label, key="cmp_methods",
    )  # fmt: skip
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
                           format_func=lambda s: f"{Scoring(s).label} ({Scoring(s).arrow})")  # fmt: skip
    mode = c2.radio("Runs", ["one after another", "side by side"], key="cmp_mode", horizontal=True,
                    help="Side by side shares the cores between methods; one after another times each fairly.")  # fmt: skip
    workers = workers_input(c4, "cmp_workers")
    target = c3.number_input("Target score (optional)", value=None, key="cmp_target", format="%.4f",
                             help="Time-to-target uses grid search's best score when empty.")  # fmt: skip
    if st.button("Start experiment", type="primary", icon=":material/rocket_launch:", key="cmp_go"):
        if not methods:
            st.error("Choose at least one method to compare.")
            return
        base = RunConfig(dataset=datasets.DatasetRef(ds_name), model=model, n_trials=int(trials),
                         cv_folds=int(folds), scoring=scoring, grid_points=int(points),
                         workers=workers)  # fmt: skip
        _create(ex.ExperimentConfig(
            base=base, methods=tuple(methods), seeds=tuple(range(int(n_seeds))),
            parallel=mode == "side by side", target=target,
        ))  # fmt: skip


def workers_input(where, key: str) -> int:
    cores = os.cpu_count() or 1
    return int(where.number_input(
        "Worker processes per method", 1, max(1, cores * 2), min(2, cores), key=key,
        help=f"Each method's trials run in this many processes, one thread each ({cores} cores "
        "here). Processes use the cores better than threads for forests and boosting.",
    ))  # fmt: skip


def _create(config: ex.ExperimentConfig) -> None:
    try:
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
        render(info)
        if live and not running(info):
            st.rerun()  # full rerun: run_every=None stops the polling

    panel()


def render(info: ex.ExperimentInfo) -> None:
    store = registry.storage()
    cfg = info.config
    here = running(info)
    done = sum(1 for r in info.runs if r["status"] == "finished")
    st.markdown(
        f"**{text.md(cfg.base.dataset.label())}** · {text.md(model_label(cfg.base.model))} · "
        f"{cfg.base.cv_folds}-fold CV · seeds {', '.join(map(str, cfg.seeds))} · "
        f"{'side by side' if cfg.parallel else 'one after another'}"
    )
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.progress(
        done / max(1, len(info.runs)),
        text=f"{done} of {len(info.runs)} runs finished · {info.status}",
    )
    if here:
        if c2.button("Stop", icon=":material/stop:", key=f"cmp_stop_{info.name}"):
            ex.stop_experiment(info, registry.manager())
            st.toast("Stopping after the current fold or epoch.")
    elif info.status != "finished" and c2.button(
        "Resume", icon=":material/play_arrow:", key=f"cmp_resume_{info.name}"
    ):
        start(info.name)
        st.rerun()
    handles = registry.manager().handles
    for r in info.runs:
        h = handles.get(r["run"])
        if h is not None and h.error:
            st.error(text.md(f"{r['run']}: {h.error}"))

    traj = ex.trajectories(info, store)
    scoring = Scoring(run_summary(store, info.runs[0]["run"]).scoring)
    score_title = f"CV {scoring.label} ({scoring.arrow})"
    target = ex.targets(traj, info)
    one_target = next(iter(target.values())) if len(set(target.values())) == 1 else None
    labels = {m: method_label(m) for m in cfg.methods}
    table = ex.summary_table(info, traj, store, target)

    # On a model that trains in epochs, trials differ in cost (pruned, early-stopped, PBT
    # segments): compare on the epochs trained instead.
    x = "epochs_so_far" if traj["epochs"].notna().any() else "trials"
    tab_trials, tab_time = st.columns(2)
    tab_trials.plotly_chart(
        plots.compare_curve_figure(ex.band(traj.dropna(subset=[x]), x), x, score_title, list(cfg.methods), one_target, labels),
        key=f"cmp_curve_n_{info.name}", width="stretch",
    )  # fmt: skip
    tab_time.plotly_chart(
        plots.compare_curve_figure(ex.band(traj, "elapsed_s"), "elapsed_s", score_title, list(cfg.methods), one_target, labels),
        key=f"cmp_curve_t_{info.name}", width="stretch",
    )  # fmt: skip
    st.plotly_chart(
        plots.compare_bars_figure(table, score_title, labels),
        key=f"cmp_bars_{info.name}",
        width="stretch",
    )

    if target:
        source = (
            "your target"
            if cfg.target is not None
            else "the best score grid search found (per seed)"
        )
        st.caption(
            f"Time to target: seconds and trials until each method first reached {source}: "
            + ", ".join(f"seed {s}: {v:.4f}" for s, v in target.items())
        )
    else:
        st.caption("Time to target needs grid search among the methods, or a target score.")
    st.dataframe(_table_view(table, labels), hide_index=True, width="stretch")
    if any(pbt_view.is_population({"method": m}) for m in cfg.methods):
        st.caption(
            "Population-based training scores its members on one holdout split (the first CV "
            "fold) instead of the full cross-validation, and its test score is the best "
            "member's own network; compare methods on epochs trained, not on trials."
        )
    st.download_button(
        "Download all trials (CSV)", ex.export_csv(info, store), file_name=f"{info.name}-trials.csv",
        mime="text/csv", icon=":material/download:", key=f"cmp_csv_{info.name}",
    )  # fmt: skip
    with st.expander("Runs of this experiment (each opens in Live monitor)"):
        st.dataframe(
            pd.DataFrame(info.runs)[["run", "method", "seed", "status"]],
            hide_index=True,
            width="stretch",
        )


def _table_view(table: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    def pm(r) -> str:
        if pd.isna(r.best_cv):
            return "–"
        return text.score(r.best_cv) + ("" if pd.isna(r.best_cv_std) else f" ± {r.best_cv_std:.4f}")

    return pd.DataFrame({
        "method": [labels.get(m, m) for m in table["method"]],
        "best CV (mean ± std over seeds)": [pm(r) for r in table.itertuples()],
        "test score of its best": [text.score(v) for v in table["test"]],
        "complete / pruned / failed": [f"{r.complete} / {r.pruned} / {r.failed}" for r in table.itertuples()],
        "model seconds": table["fit_seconds"].round(1),
        "wall seconds": table["wall_seconds"].round(1),
        "epochs trained": [_or_never(v, "{:,.0f}").replace("not reached", "–") for v in table["epochs"]],
        "seconds to target": [_or_never(v, "{:.1f}") for v in table["seconds_to_target"]],
        "trials to target": [_or_never(v, "{:.0f}") for v in table["trials_to_target"]],
        "reached target": table["reached"],
    })  # fmt: skip


def _or_never(value: float, fmt: str) -> str:
    return "not reached" if pd.isna(value) else fmt.format(value)


def page() -> None:
    name = picker()
    if name is None:
        new_experiment_form()
    else:
        show(name)
