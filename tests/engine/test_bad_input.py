"""Bad input (issue 9): the bad-CSV corpus through the engine, the command line and the New run
page, and search spaces that cannot work, refused at the form and on the command line.

Each corpus file either gets a specific message (what is wrong, what to do) or loads the way a
careful tool would; nowhere does it crash, leave a run behind or put its text into HTML.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from app_support import NEW_RUN, app, knn_space_key, metrics, ok, texts
from app_support import fresh_data as fresh_data  # noqa: F401  (fixture)

from tuning.cli import main as cli  # noqa: E402
from tuning.core.errors import DataError  # noqa: E402
from tuning.data.datasets import check_trainable, read_csv  # noqa: E402
from tuning.store.storage import open_storage  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_csv"
sys.path.insert(0, str(CORPUS))
import make_corpus  # noqa: E402

# file -> the words of its message (refused), or None when it loads
REFUSED = {
    "empty.csv": "The file is empty",
    "header_only.csv": "no rows of data",
    "single_class.csv": "has only one class ('yes')",
    "binary_garbage.csv": "not a text CSV: it contains binary data",
    "binary_high_bytes.csv": "not a text CSV: it contains binary data",
    "headerless_numbers.csv": "The first row looks like data ('0', '0', '1'), not column names: "
    "add a header row",
    "headerless_with_labels.csv": "The first row looks like data",
    "duplicate_columns.csv": "duplicate column names: 'a'",
    "ragged_rows.csv": "line 18 has 5 values but the first row has 3 columns",
    "free_text_target.csv": "Every row has a different value in the target column 'target'",
}
# file -> the words of its message: it loads, but the default settings (5 CV folds, a 20% test
# part) would make every trial fail, so a run is refused before it starts
REFUSED_AT_SETTINGS = {
    "one_row_class.csv": "Class 'maybe' has only 1 row",
    "feature_empty_after_id.csv": "Only 1 of the 48 rows in the training part has a value in any "
    "feature column ('a')",
}
# file -> (feature columns, a note the user is shown, or None)
LOADS = {
    "latin1.csv": (["température", "ville"], None),
    "utf8_bom.csv": (["a", "b"], None),  # the BOM is not part of the first column's name
    "semicolon.csv": (["a", "b"], None),  # and its decimal commas are numbers
    "html_columns.csv": (["<script>alert(1)</script>", "<img src=x onerror=alert(2)>"], None),
    "inf_and_huge.csv": (["a", "b"], "values too large for the models"),
    "mixed_types.csv": (["a", "b"], "mostly numbers but also has text such as 'high'"),
    "thousands_of_columns.csv": ([f"x{i}" for i in range(3000)], None),
    # issue 24: an ID goes with its copy, a copied feature is dropped, and so is a copy of the
    # target (target leakage), each with a note naming the columns
    "id_and_its_copy.csv": (
        ["a", "b"],
        "Column 'customer_id' looks like a row ID, and column 'customer_ref' is identical to it",
    ),
    "identical_features.csv": (
        ["a", "b"],
        "Column 'a_again' is identical to column 'a' (the same value in every row)",
    ),
    "target_copy_labels.csv": (
        ["a", "b"],
        "Column 'outcome_code' is the target 'target' under other labels",
    ),
    "target_copy_regression.csv": (
        ["a", "b"],
        "Column 'price_cents' is the target 'target' rescaled (a perfect linear relation",
    ),
}
REGRESSION = {"target_copy_regression.csv"}  # the others' target is 'yes' or 'no'
COPIES = {"id_and_its_copy.csv", "identical_features.csv", *REGRESSION, "target_copy_labels.csv"}
COPY_NOTES = ("identical to", "copies of", "target leakage")  # words no other notes have


def test_the_corpus_is_complete_and_as_committed(tmp_path):
    committed = {p.name for p in CORPUS.glob("*.csv")}
    assert committed | {"thousands_of_columns.csv"} == (
        set(REFUSED) | set(REFUSED_AT_SETTINGS) | set(LOADS)
    )
    for name, data in make_corpus.files().items():
        assert (CORPUS / name).read_bytes() == data, f"{name}: run make_corpus.py again"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    paths = {p.name: p for p in CORPUS.glob("*.csv")}
    wide = make_corpus.wide(tmp_path_factory.mktemp("wide"))
    paths[wide.name] = wide
    return paths


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_engine_refuses_with_a_specific_message(name, corpus):
    with pytest.raises(DataError) as err:
        read_csv(corpus[name], "target")
    message = str(err.value)
    assert REFUSED[name] in message
    assert len(message) < 600  # a sentence, not the file's contents
    assert message.isprintable()  # and never the file's bytes


@pytest.mark.parametrize("name", sorted(REFUSED_AT_SETTINGS))
def test_engine_refuses_what_would_fail_every_trial_before_a_run(name, corpus):
    ds = read_csv(corpus[name], "target")
    with pytest.raises(DataError) as err:
        check_trainable(ds, test_size=0.2, folds=5, seed=0)
    assert REFUSED_AT_SETTINGS[name] in str(err.value)


@pytest.mark.parametrize("name", sorted(LOADS))
def test_engine_loads_what_a_careful_tool_would(name, corpus):
    columns, note = LOADS[name]
    ds = read_csv(corpus[name], "target")
    assert list(ds.X.columns) == columns
    if name in REGRESSION:
        assert ds.task == "regression" and ds.classes is None
    else:
        assert ds.task == "classification" and sorted(ds.classes) == ["no", "yes"]
    assert len(ds.X) == (80 if name == "thousands_of_columns.csv" else 60)
    if note:
        assert any(note in w for w in ds.warnings), ds.warnings
    if name not in COPIES:  # no false alarm
        assert not [w for w in ds.warnings if any(words in w for words in COPY_NOTES)]
    if name == "id_and_its_copy.csv":
        assert ds.id_columns == ["customer_id", "customer_ref"]
    if name == "semicolon.csv":
        assert ds.X["a"].dtype.kind == "f"
    if name == "inf_and_huge.csv":  # treated as missing, imputed in the pipeline
        assert ds.X["b"].abs().max() < 1e38 and ds.X["a"].abs().max() < 1e38


@pytest.mark.parametrize("name", sorted(REFUSED) + sorted(REFUSED_AT_SETTINGS))
def test_command_line_refuses_with_the_same_message(name, corpus, tmp_path, capsys):
    url = f"journal:///{tmp_path}/runs.journal"
    code = cli(["run", "--dataset", str(corpus[name]), "--target", "target", "--model", "knn",
                "--trials", "1", "--folds", "5", "--quiet", "--storage", url])  # fmt: skip
    err = capsys.readouterr().err
    words = REFUSED.get(name) or REFUSED_AT_SETTINGS[name]
    assert code == 2
    assert err.startswith("error: ") and words in err and "Traceback" not in err
    assert open_storage(url).get_all_studies() == []  # nothing left behind


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(LOADS))
def test_command_line_runs_the_files_that_load(name, corpus, tmp_path, capsys):
    url = f"journal:///{tmp_path}/runs.journal"
    code = cli(["run", "--dataset", str(corpus[name]), "--target", "target", "--model",
                "random_forest", "--trials", "2", "--folds", "3", "--n-jobs", "1", "--quiet",
                "--storage", url])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    (study,) = open_storage(url).get_all_studies()
    assert study.user_attrs["status"] == "finished"


@pytest.mark.usefixtures("fresh_data")
@pytest.mark.parametrize("name", sorted(REFUSED) + sorted(REFUSED_AT_SETTINGS) + sorted(LOADS))
def test_new_run_upload_shows_a_message_or_the_preview(name, corpus):
    at = ok(app(NEW_RUN))
    at.segmented_control(key="ds_source").set_value("Upload CSV").run()
    at.file_uploader(key="ds_upload").set_value((name, corpus[name].read_bytes(), "text/csv")).run()
    ok(at)
    errors = texts(at.error)
    if name in REFUSED:
        assert any(REFUSED[name] in e for e in errors), errors
        assert not at.button  # nothing to launch without data
        return
    if name in REFUSED_AT_SETTINGS:  # refused on upload, before any Launch
        assert any(REFUSED_AT_SETTINGS[name] in e for e in errors), errors
        assert at.button(key="launch").disabled
        assert "Fix the data above to launch." in texts(at.caption)
        return
    assert not errors, errors
    rows = "80" if name == "thousands_of_columns.csv" else "60"
    task = "regression" if name in REGRESSION else "classification"
    assert metrics(at)["Rows"] == rows and f"Task: {task}" in " ".join(texts(at.caption))
    assert not at.button(key="launch").disabled
    note = LOADS[name][1]
    if note:
        assert any(note in w for w in texts(at.warning))
    # hostile column names are data, shown as text: never as markup anywhere on the page
    for el in (*at.markdown, *at.caption):
        assert not (el.proto.allow_html and "<script" in el.value), el.value


# -- search spaces that cannot work ------------------------------------------------------------
FORM_EDITS = {  # knn's table: row 0 n_neighbors (int, log), row 1 weights, row 2 p
    "low above high": ({0: {"low": 30, "high": 5}}, "low (30) is greater than high (5)"),
    "log with low 0": ({0: {"low": 0}}, "log-scaled, so low must be greater than 0"),
    "empty categorical": ({1: {"choices": ""}}, "'weights' has no choices"),
    "fraction for an integer": ({0: {"low": 1.5}}, "'low' must be a whole number"),
    "missing bound": ({0: {"high": None}}, "enter a number for 'high'"),
    "fixed outside the range": (
        {0: {"search": False, "fixed at": "99"}},
        "'fixed at' value 99 lies outside [1, 50]",
    ),
    "nothing searched": (
        {0: {"search": False}, 1: {"search": False}, 2: {"search": False}},
        "switch at least one on",
    ),
}


@pytest.mark.usefixtures("fresh_data")
@pytest.mark.parametrize("case", sorted(FORM_EDITS))
def test_new_run_form_refuses_a_space_that_cannot_work(case):
    edits, needle = FORM_EDITS[case]
    at = ok(app(NEW_RUN))
    at.selectbox(key="model_classification").set_value("knn").run()
    at.session_state[knn_space_key()] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.run()
    assert any(needle in e for e in texts(ok(at).error)), texts(at.error)
    assert at.button(key="launch").disabled


CLI_SPACES = {  # changes to knn's n_neighbors (or weights) in a --space file
    "low above high": ({"low": 30, "high": 5}, "low (30) is greater than high (5)"),
    "log with low 0": ({"low": 0}, "log-scaled, so low must be greater than 0"),
    "step larger than the range": (
        {"log": False, "step": 100},
        "step 100 is larger than the range 1 to 50",
    ),
    "negative step": ({"log": False, "step": -2}, "step must be a positive number"),
    "not a number": ({"low": "five"}, "'low' must be a finite number"),
    "empty categorical": ({"name": "weights", "choices": []}, "'weights' has no choices"),
    "unknown parameter": ({"name": "n_neighbours"}, "has no parameter(s) n_neighbours"),
}


@pytest.mark.parametrize("case", sorted(CLI_SPACES))
def test_command_line_refuses_a_space_that_cannot_work(case, tmp_path, capsys):
    import json

    from tuning.models import get_model

    change, needle = CLI_SPACES[case]
    space = get_model("knn").default_space("classification").to_dict()
    target = 1 if change.get("name") == "weights" else 0
    space["params"][target].update(change)
    path = tmp_path / "space.json"
    path.write_text(json.dumps(space))
    url = f"journal:///{tmp_path}/runs.journal"
    code = cli(["run", "--dataset", "iris", "--model", "knn", "--trials", "1", "--quiet",
                "--space", str(path), "--storage", url])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err, err
    assert open_storage(url).get_all_studies() == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--trials", "0"], "--trials: must be at least 1"),
        (["--minutes", "-1"], "--minutes: must be greater than 0"),
        (["--folds", "1"], "CV folds must be between 2 and 20"),
        (["--test-size", "0.9"], "test fraction must be between 0.05 and 0.5"),
        (["--grid-points", "x"], "--grid-points: expected a whole number"),
        (["--option", "n_startup_trials"], "expected KEY=VALUE"),
    ],
)
def test_command_line_refuses_arguments_that_cannot_work(args, needle, tmp_path, capsys):
    url = f"journal:///{tmp_path}/runs.journal"
    argv = ["run", "--dataset", "iris", "--model", "knn", "--quiet", "--storage", url, *args]
    try:
        code = cli(argv)
    except SystemExit as exc:  # argparse refuses before the engine sees it
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and needle in err, err
