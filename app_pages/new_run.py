"""New run: dataset, model and search space, method, budget; launch in the background."""

import streamlit as st

from tuning.core.config import RunConfig
from ui import setup, text, warm_view, widgets

st.title("New run")

st.subheader("1 · Data")
choice = widgets.dataset_picker()
if choice is None:
    st.stop()
data_problem = st.empty()  # filled once the folds and test share below are known
task = choice.dataset.task
n_classes = len(choice.dataset.classes) if choice.dataset.classes is not None else None

st.subheader("2 · Model")
model, space = setup.model_and_space(task)

st.subheader("3 · Search method")
objectives = setup.objectives_picker(model)
method = setup.method_section(space, model, objectives)

st.subheader("4 · Budget and evaluation")
settings = setup.budget_section(task, n_classes, method, model, space)
setup.recommendation_note(method, space, model, objectives, settings)

problem = widgets.data_problem(
    choice.ref, settings["test_size"], settings["cv_folds"], settings["seed"]
)
if problem:
    data_problem.error(text.md(problem), icon=":material/block:")

config = None
if space is not None and problem is None:
    config = RunConfig(
        dataset=choice.ref,
        model=model.name,
        method=method.spec.name,
        space=space,
        method_options=method.options,
        grid_points=method.grid_points,
        objectives=objectives,
        **settings,
    )
config = warm_view.start_from(config)
setup.launch_button(config, "Fix the data above to launch." if problem else None)
