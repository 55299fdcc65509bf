"""New run page: datasets (built-in, synthetic, CSV), the space editor, method, budget, launch."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from app_support import (
    HOME,
    LIVE,
    NEW_RUN,
    ROOT,
    app,
    fresh_data,  # noqa: F401  (fixture, used by pytestmark)
    knn_space_key,
    metrics,
    ok,
    run_workers,
    runs,
    texts,
    wait_until_idle,
)

from tuning.methods import get_method
from tuning.store.run import StoredRun
from ui import state, uploads

CUSTOMERS = "id,age,income,city,notes,bought\n" + "".join(
    f"{i},{20 + i % 50},{'' if i % 10 == 0 else 1000 * (i % 90 + 10)},{['Paris', 'Lyon', 'Nice'][i % 3]},,"
    f"{'yes' if i % 8 == 0 else 'no'}\n"
    for i in range(200)
)

pytestmark = pytest.mark.usefixtures("fresh_data")


def test_default_page_shows_a_usable_setup():
    at = ok(app(NEW_RUN))
    assert at.title[0].value == "New run"
    assert metrics(at)["Rows"] == "150" and metrics(at)["Classes"] == "3"
    editor = at.data_editor[0].value
    assert editor["parameter"].tolist() == [
        "n_estimators", "max_depth", "min_samples_split", "min_samples_leaf", "max_features",
    ]  # fmt: skip
    assert any(get_method("recommended").explanation[:60] in i for i in texts(at.info))
    assert not at.button(key="launch").disabled
    assert not at.error


def test_recommended_says_under_the_picker_what_it_will_run_and_why():
    """The default method names the method it picks for this space and budget, in words, with
    its reason; a conditional space (the SVM's) changes the pick."""
    at = ok(app(NEW_RUN))
    assert at.selectbox(key="method").value == "recommended"
    at.selectbox(key="model_classification").set_value("knn").run()
    said = " ".join(texts(ok(at).success))
    assert "Recommended will run **Bayesian (TPE)**" in said and "weights, p" in said
    assert "after 5 random start-up trials" in said
    at.selectbox(key="model_classification").set_value("svm").run()
    said = " ".join(texts(ok(at).success))
    assert "Recommended will run **Bayesian (TPE)**" in said and "gamma" in said


def test_method_explanation_follows_the_choice():
    at = ok(app(NEW_RUN))
    at.selectbox(key="method").set_value("hyperband").run()
    assert any(get_method("hyperband").explanation[:60] in i for i in texts(ok(at).info))
    at.selectbox(key="method").set_value("grid").run()
    assert any("The grid has" in c and "configurations" in c for c in texts(ok(at).caption))


def test_synthetic_dataset_size_controls():
    at = ok(app(NEW_RUN))
    at.segmented_control(key="ds_source").set_value("Synthetic").run()
    at.selectbox(key="ds_synthetic").set_value("moons").run()
    at.number_input(key="ds_moons_n_samples").set_value(300).run()
    ok(at)
    assert metrics(at)["Rows"] == "300" and metrics(at)["Features"] == "2"


def test_regression_dataset_offers_regression_models_and_scorers():
    at = ok(app(NEW_RUN))
    at.selectbox(key="ds_builtin").set_value("diabetes").run()
    ok(at)
    models = at.selectbox(key="model_regression").options
    assert "Ridge regression" in models and "Logistic regression" not in models
    scorers = at.selectbox(key="scoring_regression").options
    assert "RMSE ↓" in scorers  # short: a third of a 900 px window holds it


def test_csv_upload_preview_warnings_and_saved_file(tmp_path):
    at = ok(app(NEW_RUN))
    at.segmented_control(key="ds_source").set_value("Upload CSV").run()
    data = CUSTOMERS.encode()
    at.file_uploader(key="ds_upload").set_value(("customers.csv", data, "text/csv")).run()
    ok(at)
    digest = hashlib.sha256(data).hexdigest()
    saved = tmp_path / "uploads" / digest / "customers.csv"  # the file keeps its own name
    assert saved.read_bytes() == data
    # uploads saved before as <sha256>.csv keep their names from the index beside them
    legacy = tmp_path / "uploads" / f"{digest}.csv"
    legacy.write_bytes(data)
    (tmp_path / "uploads" / "index.json").write_text(json.dumps({digest: "customers.csv"}))
    assert uploads.display_name(str(legacy)) == "customers.csv"
    assert uploads.safe_file_name("../my data (v2).csv") == "my data _v2_.csv"
    assert uploads.safe_file_name("<x>") == "x.csv"
    # target defaults to the last column; the preview shows what the model will see
    assert metrics(at)["Rows"] == "200" and "Task: classification" in " ".join(texts(at.caption))
    notes = " ".join(texts(at.warning))
    assert "looks like a row ID" in notes and "empty" in notes and "imbalanced" in notes
    preview = at.dataframe[0].value
    assert "bought (target)" in preview.columns and "id" not in preview.columns
    # another target column, forced to regression
    target_key = next(s.key for s in at.selectbox if s.key and s.key.startswith("ds_target_"))
    at.selectbox(key=target_key).set_value("age").run()
    at.radio(key="ds_task").set_value("regression").run()
    assert "Task: regression" in " ".join(texts(ok(at).caption))


def test_bad_csv_shows_the_data_error_not_a_traceback():
    at = ok(app(NEW_RUN))
    at.segmented_control(key="ds_source").set_value("Upload CSV").run()
    at.file_uploader(key="ds_upload").set_value(
        ("book.csv", b"PK\x03\x04\x00\x00", "text/csv")
    ).run()
    ok(at)
    assert any("Excel workbook" in e for e in texts(at.error))
    assert not at.button  # nothing to launch without data
    at.file_uploader(key="ds_upload").set_value(("one.csv", b"a,b\n1,2\n", "text/csv")).run()
    assert any("rows" in e for e in texts(ok(at).error))


def test_invalid_space_edit_is_refused_with_a_clear_message():
    at = ok(app(NEW_RUN))
    at.selectbox(key="model_classification").set_value("knn").run()
    # n_neighbors is log-scaled: a low of 0 cannot be searched
    at.session_state[knn_space_key()] = {
        "edited_rows": {0: {"low": 0}}, "added_rows": [], "deleted_rows": [],
    }  # fmt: skip
    at.run()
    ok(at)
    assert any("log-scaled, so low must be greater than 0" in e for e in texts(at.error))
    assert at.button(key="launch").disabled
    # every parameter switched off
    at.session_state[knn_space_key()] = {
        "edited_rows": {0: {"search": False}, 1: {"search": False}, 2: {"search": False}},
        "added_rows": [], "deleted_rows": [],
    }  # fmt: skip
    at.run()
    assert any("switch at least one on" in e for e in texts(ok(at).error))
    # reset brings the defaults back
    at.button(key="reset_space").click().run()
    assert not ok(at).error and not at.button(key="launch").disabled


def _fill_knn_form(at):
    at.selectbox(key="model_classification").set_value("knn").run()
    # narrow the range and switch 'p' off at 1: the edits reach the saved configuration
    at.session_state[knn_space_key()] = {
        "edited_rows": {0: {"high": 10}, 2: {"search": False, "fixed at": "1"}},
        "added_rows": [], "deleted_rows": [],
    }  # fmt: skip
    at.run()
    at.selectbox(key="method").set_value("random").run()
    at.number_input(key="n_trials").set_value(4).run()
    at.slider(key="cv_folds").set_value(3).run()
    return ok(at)


def test_launch_starts_one_run_in_the_background_and_opens_the_monitor():
    at = _fill_knn_form(app(NEW_RUN))
    at.button(key="launch").click().run()
    ok(at)
    assert at.title[0].value == "Live monitor"
    name = at.session_state[state.SELECTED_RUN]
    assert [r.name for r in runs()] == [name]
    # The same form submitted again at once (a double click, a rerun) starts no second run
    # and no second thread.
    at = _fill_knn_form(at.switch_page(NEW_RUN).run())
    at.button(key="launch").click().run()
    assert at.session_state[state.SELECTED_RUN] == name
    assert [r.name for r in runs()] == [name]
    assert len(run_workers(name)) <= 1
    wait_until_idle()
    config = StoredRun.open(name).config()
    assert (config.model, config.method, config.n_trials, config.cv_folds) == (
        "knn",
        "random",
        4,
        3,
    )
    assert config.space["n_neighbors"].high == 10
    assert not config.space["p"].enabled and config.space["p"].fixed_value() == 1
    assert runs()[0].status == "finished"


def test_launch_from_an_uploaded_csv(tmp_path):
    at = ok(app(NEW_RUN))
    at.segmented_control(key="ds_source").set_value("Upload CSV").run()
    at.file_uploader(key="ds_upload").set_value(
        ("customers.csv", CUSTOMERS.encode(), "text/csv")
    ).run()
    at.selectbox(key="model_classification").set_value("knn").run()
    at.number_input(key="n_trials").set_value(2).run()
    at.slider(key="cv_folds").set_value(3).run()
    at.button(key="launch").click().run()
    ok(at)
    wait_until_idle()
    config = StoredRun.open(at.session_state[state.SELECTED_RUN]).config()
    assert config.dataset.name == "csv" and config.dataset.target == "bought"
    assert config.dataset.path.startswith(str(tmp_path / "uploads"))
    # the run is named after the file, not its content hash
    run = at.session_state[state.SELECTED_RUN]
    assert run.startswith(f"knn-{config.method}-customers.csv-bought-"), run
    at.switch_page(HOME).run()
    assert ok(at).dataframe[0].value["dataset"].tolist() == ["customers.csv → bought"]


def test_engine_errors_at_launch_are_shown():
    at = ok(app(NEW_RUN))
    at.selectbox(key="model_classification").set_value("knn").run()
    at.text_input(key="run_name").input("same-name").run()
    at.number_input(key="n_trials").set_value(1).run()
    at.slider(key="cv_folds").set_value(3).run()
    at.button(key="launch").click().run()
    wait_until_idle()
    at.switch_page(NEW_RUN).run()  # widgets start afresh on a page visit
    at.text_input(key="run_name").input("same-name").run()  # same name, another configuration
    at.button(key="launch").click().run()
    assert any("already exists" in e for e in texts(ok(at).error))


def test_starting_the_app_does_not_import_torch():
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(ROOT / 'app.py')!r}, default_timeout=60).run()\n"
        "at.switch_page('app_pages/new_run.py').run()\n"
        "at.switch_page('app_pages/live_monitor.py').run()\n"
        "assert not at.exception, at.exception\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_worker_processes_setting_runs_the_trials_in_several_processes():
    at = _fill_knn_form(app(NEW_RUN))
    at.number_input(key="n_trials").set_value(8).run()
    at.number_input(key="workers").set_value(2).run()
    at.button(key="launch").click().run()
    ok(at)
    name = at.session_state[state.SELECTED_RUN]
    assert StoredRun.open(name).config().workers == 2
    wait_until_idle(timeout=180)
    from tuning.store.runs import load_study

    trials = load_study(name).get_trials(deepcopy=False)
    assert len(trials) == 8 and all(t.state.name == "COMPLETE" for t in trials)
    # Two worker processes ran the run, none of the trials in this one. (Which of them gets
    # how many of these millisecond trials depends on which finished importing first.)
    from tuning.evaluation.objective import WORKER
    from tuning.runs.workers import WorkerPool
    from ui import registry

    pool = registry.manager().handles.get(name)
    assert isinstance(pool, WorkerPool) and len(pool.procs) == 2
    assert all(p.returncode == 0 for p in pool.procs)
    workers = {t.user_attrs["metrics"]["worker"] for t in trials}
    assert WORKER not in workers and 1 <= len(workers) <= 2
    at = ok(at.switch_page(LIVE).run())
    assert any("Trials per worker process" in c for c in texts(at.caption))
    assert "worker" in at.dataframe[-1].value.columns or any(
        "worker" in d.value.columns for d in at.dataframe
    )


def test_the_method_and_its_options_are_named_in_words():
    """No internal names: the method's label without its family key, option labels instead
    of option keys (the space table's "—" bounds: test_app_parts)."""
    at = ok(app(NEW_RUN))
    at.selectbox(key="method").set_value("tpe").run()
    infos = " ".join(texts(ok(at).info))
    assert "Bayesian (TPE)" in infos and "(bayesian)" not in infos
    assert at.number_input(key="opt_tpe_n_startup_trials").label == "Random start-up trials"


def test_the_edited_space_downloads_as_hyperopt_code_that_reads_back_the_same():
    from dataclasses import replace

    from tuning.core.hyperopt_space import from_hyperopt
    from tuning.models import get_model

    at = ok(app(NEW_RUN))
    at.selectbox(key="model_classification").set_value("knn").run()
    at.session_state[knn_space_key()] = {
        "edited_rows": {0: {"high": 10}}, "added_rows": [], "deleted_rows": [],
    }  # fmt: skip
    at.run()
    ok(at)
    assert any(e.label == "The space as Hyperopt code" for e in at.expander)
    code = next(c.value for c in at.code if "hp.choice" in c.value)
    assert "hp.qloguniform('n_neighbors', math.log(1.0), math.log(10.0), 1)" in code
    namespace: dict = {}
    exec(compile(code, "<downloaded space>", "exec"), namespace)
    expected = get_model("knn").default_space("classification").replace_param("n_neighbors", high=10)
    plain = lambda s: [replace(p, help="") for p in s.params]  # noqa: E731 - code has no help text
    assert plain(from_hyperopt(namespace["space"])) == plain(expected)
    at.selectbox(key="method").set_value("hyperopt_tpe").run()
    assert any("Hyperopt's TPE is the original implementation" in i for i in texts(ok(at).info))
