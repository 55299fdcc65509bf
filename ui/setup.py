"""New run page parts: model and space, method, budget and evaluation, launch.

Each section reads its widgets and returns plain values; `launch_button` builds the frozen
RunConfig, submits it to the process-wide RunManager and opens the Live monitor.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import streamlit as st

from tuning.core.config import RunConfig
from tuning.core.enums import BudgetKind
from tuning.core.errors import SpaceError, UserError
from tuning.core.objectives import COSTS
from tuning.core.scoring import Scoring
from tuning.core.space import SearchSpace
from tuning.methods import (
    RECOMMENDED,
    get_method,
    list_methods,
    method_label,
    multi_objective_methods,
)
from tuning.methods.base import MethodSpec
from tuning.methods.recommend import choose
from tuning.methods.words import option_label
from tuning.models import ModelSpec, get_model, list_models
from ui import registry, runs, state, text, widgets

MAX_GRID = 100_000  # the engine refuses bigger grids
TWO_CLASS_ONLY = ("roc_auc", "f1")
OPTION_MIN = {
    "reduction_factor": 2,
    "population_size": 2,
    "n_warmup_steps": 0,
    "n_startup_trials": 0,
}


@dataclass
class MethodChoice:
    spec: MethodSpec
    options: dict[str, Any]
    grid_points: int
    # Under the picker: what Recommended will run and why, filled once the budget is known.
    note: Any = None


def model_and_space(task: str) -> tuple[ModelSpec, SearchSpace | None]:
    models = list_models(task)
    names = [m.name for m in models]
    name = st.selectbox(
        "Model", names, key=f"model_{task}", format_func=lambda n: get_model(n).label,
        index=names.index("random_forest") if "random_forest" in names else 0,
    )  # fmt: skip
    spec = get_model(name)
    st.caption(spec.description)
    st.markdown(
        "**Search space** — switch parameters on or off, edit ranges, log scale and choices."
    )
    version_key = f"space_version_{name}_{task}"
    version = st.session_state.get(version_key, 0)
    space = widgets.space_editor(spec.default_space(task), key=f"space_{name}_{task}_{version}")
    if space is not None:
        widgets.hyperopt_export(space, name)
    if st.button("Reset to the model's defaults", key="reset_space", icon=":material/restart_alt:"):
        st.session_state[version_key] = version + 1
        st.rerun()
    return spec, space


def grid_size(space: SearchSpace, points: int) -> int | None:
    """Configurations in the grid, or None when it is clearly too big to enumerate."""
    upper = math.prod(len(p.grid_values(points)) for p in space.params)
    if upper > 10 * MAX_GRID:
        return None
    return space.grid_size(points)


def cost_label(name: str) -> str:
    """A cost as the picker lists it: label, unit and which way is better."""
    o = COSTS[name]
    unit = f", {o.unit}" if o.unit else ""
    return f"{o.label} ({'lower' if o.direction == 'minimize' else 'higher'} is better{unit})"


def objectives_picker(model: ModelSpec) -> tuple[str, ...]:
    """The run's cost objectives: none (the CV score alone, as every run was) or costs that
    apply to the model, each traded against the score."""
    names = [n for n, o in COSTS.items() if o.applies_to(model.name)]
    picked = st.multiselect(
        "Objectives: the CV score, and optionally costs to trade against it", names,
        default=[], key=f"objectives_{model.name}", format_func=cost_label,
        placeholder="the CV score only",
        help="With a cost chosen the run searches for the best trade-offs (the Pareto front: "
        "trials no other beats on both the score and the cost) instead of the single best "
        "score. Every run measures these costs anyway; choosing one makes the search use it.",
    )  # fmt: skip
    if picked:
        st.caption(
            f"A multi-objective run: the CV score against {text.md(', '.join(COSTS[n].label.lower() for n in picked))}. "
            "When it ends, the cheapest trial within 1% of the best score is chosen by default, "
            "refit and scored on the test set."
        )  # fmt: skip
    return tuple(picked)


def method_section(
    space: SearchSpace | None, model: ModelSpec | None = None, objectives: tuple[str, ...] = ()
) -> MethodChoice:
    methods = list_methods()
    names = [m.name for m in methods]
    name = st.selectbox(
        "Search method", names, index=names.index(RECOMMENDED), key="method",
        format_func=lambda n: get_method(n).label,
    )  # fmt: skip
    spec = get_method(name)
    note = st.empty() if spec.chooses_method else None
    st.info(f"**{spec.label}**. {spec.explanation}", icon=":material/school:")
    if objectives:
        multi_objective_note(spec)
    grid_points = grid_points_input(space) if spec.enumerates_grid else 5
    if spec.runs_itself:
        options = population_options(spec, space, model)
    else:
        options = method_options(spec)
    return MethodChoice(spec, options, int(grid_points), note)


def recommendation_note(
    method: MethodChoice, space: SearchSpace | None, model: ModelSpec,
    objectives: tuple[str, ...], settings: dict[str, Any],
) -> None:  # fmt: skip
    """Under the picker, the method Recommended will run for the budget chosen below, and why
    (the engine makes the same choice when the run is created, and records it)."""
    if method.note is None or space is None:
        return
    fidelity = BudgetKind.FOLDS if settings.get("fidelity") == BudgetKind.FOLDS else model.budget
    chosen = choose(
        space, settings.get("n_trials"), 1 + len(objectives), fidelity, settings.get("workers", 1)
    )
    method.note.success(
        f"Recommended will run **{text.md(method_label(chosen.method))}**. "
        f"{text.md(chosen.reason)}",
        icon=":material/recommend:",
    )


def grid_points_input(space: SearchSpace | None) -> int:
    """Grid search's points per numeric parameter, and the size of the grid they make."""
    grid_points = st.number_input(
        "Grid points per numeric parameter", min_value=1, max_value=50, value=5, step=1,
        key="grid_points", help="Values tried for each continuous range (log-spaced where log)",
    )  # fmt: skip
    if space is None:
        return int(grid_points)
    try:
        size = grid_size(space, int(grid_points))
    except SpaceError as exc:
        st.error(text.md(exc))
        size = None
    if size is None or size > MAX_GRID:
        st.error(
            f"The grid has more than {MAX_GRID:,} configurations: lower the grid points, "
            "narrow or switch off parameters, or choose random search."
        )
    else:
        st.caption(f"The grid has {size:,} configurations; the run tries each once.")
    return int(grid_points)


def method_options(spec: MethodSpec) -> dict[str, Any]:
    """The method's options with a default of a plain type (number or text), in an expander."""
    options: dict[str, Any] = {}
    if not spec.defaults:
        return options
    with st.expander("Method options"):
        for key, default in spec.defaults.items():
            help_ = spec.option_help.get(key)
            wkey = f"opt_{spec.name}_{key}"
            if isinstance(default, bool) or not isinstance(default, int | float | str):
                continue
            label = option_label(spec.name, key)
            if key == "sampler":
                options[key] = st.selectbox(
                    label, ["tpe", "random"], index=["tpe", "random"].index(default),
                    format_func=method_label, help=help_, key=wkey,
                )  # fmt: skip
            elif isinstance(default, int):
                low = OPTION_MIN.get(key, 1)
                options[key] = int(
                    st.number_input(
                        label, min_value=low, value=default, step=1, help=help_, key=wkey
                    )
                )
            elif isinstance(default, float):
                options[key] = float(st.number_input(label, value=default, help=help_, key=wkey))
            else:
                options[key] = st.text_input(label, value=default, help=help_, key=wkey)
    return options


def multi_objective_note(spec: MethodSpec) -> None:
    """Which methods can search several objectives, and why the chosen one cannot."""
    able = multi_objective_methods()
    labels = ", ".join(get_method(m).label for m in able)
    if spec.name in able:
        st.caption(f"Methods that can search several objectives: {text.md(labels)}.")
        return
    if spec.multi_fidelity:
        why = (
            f"{spec.label} stops poor trials early by comparing their running score, but "
            "Optuna's pruning does not apply to multi-objective runs: a trial cannot be judged "
            "on one number when it is weighed on several."
        )
    else:
        why = f"{spec.label} searches one objective only."
    st.warning(
        f"{text.md(why)} With costs chosen, pick one of: {text.md(labels)}; or clear the "
        "costs above for a single-objective run.",
        icon=":material/block:",
    )


def population_options(
    spec: MethodSpec, space: SearchSpace | None, model: ModelSpec | None
) -> dict[str, Any]:
    """Population-based training's options: population, interval, quantile, explore rules."""
    if model is not None and model.budget != BudgetKind.EPOCHS:
        st.warning(
            f"Population-based training needs a model that trains in epochs: choose "
            f"**{text.md(get_model('mlp').label)}** in step 2. {text.md(model.label)} trains "
            "in one go, so it cannot copy weights between members.",
            icon=":material/block:",
        )
    d, h = spec.defaults, spec.option_help
    c = st.columns(3)
    o: dict[str, Any] = {
        "population_size": int(c[0].number_input(
            "Population size", min_value=2, max_value=64, value=d["population_size"], step=1,
            key="pbt_population", help=h["population_size"])),
        "interval": int(c[1].number_input(
            "Perturbation interval (epochs)", min_value=1, max_value=100, value=d["interval"],
            step=1, key="pbt_interval", help=h["interval"])),
        "quantile": float(c[2].slider(
            "Quantile", min_value=0.05, max_value=0.5, value=d["quantile"], step=0.05,
            key="pbt_quantile", help=h["quantile"])),
    }  # fmt: skip
    c = st.columns(3)
    down = c[0].number_input("Perturbation factor down", min_value=0.05, max_value=1.0,
                             value=d["factors"][0], step=0.05, key="pbt_factor_down",
                             help=h["factors"])  # fmt: skip
    up = c[1].number_input("Perturbation factor up", min_value=1.0, max_value=20.0,
                           value=d["factors"][1], step=0.05, key="pbt_factor_up",
                           help=h["factors"])  # fmt: skip
    o["factors"] = [float(down), float(up)]
    o["resample_probability"] = float(c[2].slider(
        "Resample probability", min_value=0.0, max_value=1.0, value=d["resample_probability"],
        step=0.05, key="pbt_resample", help=h["resample_probability"]))  # fmt: skip
    o["mutable"] = st.multiselect(
        "Hyperparameters that may change",
        list(d["mutable"]),
        default=list(d["mutable"]),
        key="pbt_mutable",
        help=h["mutable"],
    )
    if not o["mutable"]:
        st.error("Choose at least one hyperparameter that may change.")
    elif space is not None:
        off = [n for n in o["mutable"] if n in space and not space[n].enabled]
        if off:
            st.caption(
                f"Switched off in the search space, so they stay fixed: {text.md(', '.join(off))}."
            )
    return o


def scoring_choices(task: str, n_classes: int | None) -> list[str]:
    names = list(Scoring.choices(task))
    if n_classes and n_classes > 2:
        names = [n for n in names if n not in TWO_CLASS_ONLY]
    return names


def population_budget(method: MethodChoice, model: ModelSpec, space: SearchSpace | None) -> str:
    """The budget of a population run in words: members x epochs, and its segments."""
    if space is None or model.budget_param not in space:
        return "Population-based training: its budget is population size x epochs."
    p = space[model.budget_param]
    epochs = int(p.high if p.enabled else p.fixed_value())
    size, interval = method.options["population_size"], method.options["interval"]
    segments = size * math.ceil(epochs / interval)
    return (
        f"Budget: {size} members x {epochs} epochs (the top of the epochs range) = "
        f"{size * epochs:,} epochs in all, recorded as {segments:,} segments (trials)."
    )


# A scorer in a picker: "accuracy ↑", as the tables write it (a third or a quarter of a 900 px
# window cuts "accuracy (higher is better)").
SCORING_HELP = "↑ higher is better, ↓ lower is better"


def scoring_option(name: str) -> str:
    return runs.scoring_label(name, Scoring(name).direction)


def budget_section(
    task: str, n_classes: int | None, method: MethodChoice, model: ModelSpec,
    space: SearchSpace | None = None,
) -> dict[str, Any]:  # fmt: skip
    c = st.columns(3)
    population = method.spec.runs_itself
    n_trials = trials_input(c[0], method, model, space)
    minutes = c[1].number_input(
        "Time limit (minutes)", min_value=0.1, max_value=7 * 24 * 60.0, value=None, step=1.0,
        key="minutes", placeholder="no limit", help="Stop after this long (empty: no limit)",
    )  # fmt: skip
    folds = c[2].slider("CV folds", min_value=2, max_value=10, value=5, key="cv_folds",
                        help="Cross-validation folds per trial")  # fmt: skip
    flat = stop_when_flat_input(method)
    c = st.columns(3)
    choices = scoring_choices(task, n_classes)
    scoring = c[0].selectbox(
        "Scoring", choices, index=choices.index(Scoring.default(task)), key=f"scoring_{task}",
        format_func=scoring_option, help=SCORING_HELP,
    )  # fmt: skip
    seed = c[1].number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed",
                             help="Same seed, same split, folds and proposals")  # fmt: skip
    name = c[2].text_input("Run name (optional)", key="run_name", max_chars=100,
                           placeholder="model-method-dataset-time")  # fmt: skip
    cluster = where_input("where")
    with st.expander("More settings"):
        more = more_settings(method, model, cluster)
    if population:  # the engine sets the trials (segments) from the population and epochs
        n_trials = 1
    return {
        "n_trials": int(n_trials) if n_trials else None,
        "timeout_s": float(minutes) * 60 if minutes else None,
        "cv_folds": int(folds),
        "scoring": scoring,
        "seed": int(seed),
        "name": name.strip() or None,
        "stop_when_flat": flat,
        **more,
        "cluster": cluster,
    }


def trials_input(where: Any, method: MethodChoice, model: ModelSpec, space: SearchSpace | None):
    """The number of trials; None where the method sets its own budget (a grid, a population)."""
    if method.spec.runs_itself:
        where.caption(population_budget(method, model, space))
        return None
    if method.spec.enumerates_grid:
        where.caption("Grid search tries every configuration: its budget is the grid.")
        return None
    return where.number_input(
        "Trials", min_value=1, max_value=100_000, value=30, step=1, key="n_trials",
        help="How many configurations to try (with a time limit too, whichever comes first)",
    )  # fmt: skip


def stop_when_flat_input(method: MethodChoice) -> bool:
    """End the run early when the stop advisor finds it flat; not offered where the search
    must run whole (a grid, a population)."""
    if method.spec.enumerates_grid or method.spec.runs_itself:
        return False
    return st.checkbox(
        "Stop when flat", value=False, key="stop_when_flat",
        help="End the run before its budget once the stop advisor finds that further trials "
        "are unlikely to gain more than the CV noise (its bound on what is left to gain, or "
        "what the best gained over the last half of the trials, stays under the noise of the "
        "best trial). The best is then refit and tested as at any end, "
        "and Live monitor says why the run ended. Not for multi-objective runs.",
    )  # fmt: skip


def more_settings(method: MethodChoice, model: ModelSpec, cluster: str) -> dict[str, Any]:
    """The test share, the workers, retries, limits per trial and what multi-fidelity spends."""
    test_size = st.slider(
        "Held-out test share", min_value=0.1, max_value=0.5, value=0.2, step=0.05, key="test_size",
        help="Kept aside during tuning; the best configuration is scored on it once at the end",
    )  # fmt: skip
    workers = workers_input(method, cluster)
    retries = st.number_input(
        "Retries of a trial whose worker died", min_value=0, max_value=5, value=0, step=1,
        key="retries",
    )  # fmt: skip
    c = st.columns(2)
    trial_limit = c[0].number_input(
        "Time limit per trial (seconds)", min_value=1.0, max_value=7 * 24 * 3600.0,
        value=None, step=10.0, key="trial_timeout", placeholder="no limit",
        help="A trial still working after this long is failed, with the reason, and the run "
        "goes on. Checked between folds, epochs and boosting rounds.",
    )  # fmt: skip
    max_failures = c[1].number_input(
        "Stop after this many failed trials in a row", min_value=1, max_value=1000,
        value=10, step=1, key="max_failures",
        help="A run whose trials keep failing (bad data, an impossible search space) stops "
        "with the last failure's reason instead of spending its whole budget.",
    )  # fmt: skip
    fidelity = "auto"
    if method.spec.multi_fidelity and model.budget != BudgetKind.FOLDS:
        fidelity = st.radio(
            "What the multi-fidelity method spends", ["auto", "folds"], key="fidelity",
            format_func=lambda v: f"the model's own ({model.budget})" if v == "auto" else "CV folds",
            horizontal=True,
        )  # fmt: skip
    return {
        "test_size": float(test_size),
        "fidelity": fidelity,
        "workers": int(workers),
        "retries": int(retries),
        "trial_timeout_s": float(trial_limit) if trial_limit else None,
        "max_consecutive_failures": int(max_failures),
    }


def workers_input(method: MethodChoice, cluster: str) -> int:
    """How many work on the run: threads of a population, Dask workers, or processes here."""
    population = method.spec.runs_itself
    cores = os.cpu_count() or 1
    on_cluster = cluster == "dask" and not population
    return st.number_input(
        "Worker threads" if population else "Dask workers" if on_cluster
        else "Worker processes", min_value=1,
        max_value=64 if on_cluster else max(1, cores * 2), value=1, step=1, key="workers",
        help=(
            "Members of the population train on this many threads at once (one process)."
            if population
            else "Trials run as this many tasks on the Dask cluster, one per worker; the "
            "budget is shared exactly between them."
            if on_cluster
            else f"Trials run in this many processes at once, each with an equal share of "
            f"the {cores} cores for its numeric threads, at a lower priority than the app."
        ),
    )  # fmt: skip


def where_input(key: str, where: Any = None) -> str:
    """Where a run works: "local" (this machine's worker processes) or "dask" (the Dask cluster
    the app was started with; the choice appears only then)."""
    address = registry.dask_address()
    if not address:
        return "local"
    return (where or st).radio(
        "Where it works", ["local", "dask"], key=key, horizontal=True,
        format_func=lambda v: "this machine" if v == "local" else f"Dask cluster at {address}",
        help="On the cluster, the run's workers are tasks on its Dask workers; the trials come "
        "back to this app's storage and the budget is shared exactly between the workers.",
    )  # fmt: skip


def launch_button(config: RunConfig | None, blocked: str | None = None) -> None:
    """Launch, or (disabled) with ``blocked`` saying what to fix first."""
    if st.button("Launch run", type="primary", icon=":material/rocket_launch:", key="launch",
                 disabled=config is None):  # fmt: skip
        try:
            runs.launch(config)
        except UserError as exc:
            st.error(text.md(exc))
            return
        st.switch_page(state.PAGE_LIVE)
    if config is None:
        st.caption(blocked or "Fix the search space above to launch.")
