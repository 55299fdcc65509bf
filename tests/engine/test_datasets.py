"""Tests for tuning.data: registry, synthetic parameters, CSV checks, split and CV checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tuning.core.config import DatasetRef
from tuning.core.errors import DataError, UserError
from tuning.data import datasets as D
from tuning.data.datasets import (
    REGISTRY,
    TASKS,
    Dataset,
    check_cv,
    csv_columns,
    dataset_from_frame,
    infer_task,
    list_datasets,
    load_dataset,
    read_csv,
    split,
)


def _csv(rows: list[list], header: list[str], sep: str = ",") -> bytes:
    lines = [sep.join(header)] + [sep.join("" if v is None else str(v) for v in r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _frame_bytes(df: pd.DataFrame, **kw) -> bytes:
    return df.to_csv(index=False, **kw).encode("utf-8")


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.normal(50_000, 10_000, n).round(2),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n),
            "member": rng.choice([True, False], n),
            "label": rng.choice(["yes", "no"], n),
        }
    )


# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_registry_entry_loads_with_its_task_and_shape(name):
    spec = REGISTRY[name]
    ds = load_dataset(DatasetRef(name))
    assert isinstance(ds, Dataset)
    assert ds.task == spec.task in TASKS
    rows, cols = (int(part) for part in spec.shape_hint.split(" × "))
    assert ds.shape == (rows, cols) == ds.X.shape
    assert len(ds.y) == rows
    assert all(isinstance(c, str) for c in ds.X.columns)
    assert not ds.X.isna().any().any()
    assert ds.warnings == []
    assert ds.name == name
    if spec.task == "classification":
        assert ds.classes == sorted(ds.y.unique().tolist())
        assert len(ds.classes) >= 2
    else:
        assert ds.classes is None
    assert "\n" not in spec.description and spec.description


def test_registry_shape_and_contract():
    assert [s.name for s in list_datasets()] == list(REGISTRY)
    assert {"iris", "wine", "breast_cancer", "digits", "diabetes"} <= set(REGISTRY)
    assert {"seed-classification", "regression", "moons"} <= set(REGISTRY)
    for spec in list_datasets():
        assert set(spec.defaults) == set(spec.limits), spec.name
        assert spec.synthetic == bool(spec.defaults)
        # defaults are valid values
        assert D.validate_params(spec.name, {}) == spec.defaults


def test_bundled_sets_keep_feature_names():
    ds = load_dataset(DatasetRef("iris"))
    assert "petal length (cm)" in ds.X.columns
    assert "bmi" in load_dataset(DatasetRef("diabetes")).X.columns


def test_seed_classification_is_the_classic_benchmark():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=2000, n_features=50, n_informative=30, n_redundant=10, random_state=42
    )
    ds = load_dataset(DatasetRef("seed-classification"))
    np.testing.assert_array_equal(ds.X.to_numpy(), X)
    np.testing.assert_array_equal(ds.y.to_numpy(), y)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(DataError, match="Unknown dataset 'irsi'") as e:
        load_dataset(DatasetRef("irsi"))
    for name in REGISTRY:
        assert name in str(e.value)


def test_load_dataset_accepts_a_dict_and_rejects_a_wrong_task():
    assert load_dataset({"name": "wine"}).shape == (178, 13)
    with pytest.raises(DataError, match="classification dataset and cannot be used for regression"):
        load_dataset(DatasetRef("iris", task="regression"))
    with pytest.raises(DataError, match="only applies to CSV"):
        load_dataset(DatasetRef("iris", target="x"))


# --------------------------------------------------------------------------- synthetic params


def test_synthetic_params_change_the_data():
    ds = load_dataset(DatasetRef("moons", {"n_samples": 500, "noise": 0.3}))
    assert ds.shape == (500, 2)
    assert ds.name == "moons(n_samples=500, noise=0.3)"
    assert "noise=0.3" in ds.description
    reg = load_dataset(DatasetRef("regression", {"n_samples": 200, "n_features": 5, "noise": 0}))
    assert reg.shape == (200, 5) and reg.task == "regression"
    sc = load_dataset(DatasetRef("seed-classification", {"n_samples": 300}))
    assert sc.shape == (300, 50)


def test_synthetic_data_is_seeded():
    a = load_dataset(DatasetRef("regression", {"n_samples": 50, "seed": 1}))
    b = load_dataset(DatasetRef("regression", {"n_samples": 50, "seed": 1}))
    c = load_dataset(DatasetRef("regression", {"n_samples": 50, "seed": 2}))
    pd.testing.assert_frame_equal(a.X, b.X)
    assert not np.allclose(a.X.to_numpy(), c.X.to_numpy())


def test_float_whole_numbers_from_json_are_accepted():
    assert D.validate_params("moons", {"n_samples": 300.0, "noise": 1})["n_samples"] == 300


@pytest.mark.parametrize(
    "name, params, words",
    [
        ("moons", {"n_samples": 5}, "between 20 and 200000"),
        ("moons", {"n_samples": 10**7}, "between 20 and 200000"),
        ("moons", {"n_samples": 100.5}, "whole number"),
        ("moons", {"n_samples": "abc"}, "whole number"),
        ("moons", {"n_samples": True}, "whole number"),
        ("moons", {"noise": -0.1}, "between 0 and 10"),
        ("moons", {"noise": float("nan")}, "finite"),
        ("regression", {"n_features": 0}, "between 1 and 1000"),
        ("regression", {"n_samples": 200_000, "n_features": 1000}, "too large"),
        ("moons", {"size": 10}, "Unknown parameter(s) for dataset 'moons': size. Valid parameters: n_samples, noise, seed"),
        ("iris", {"n_samples": 10}, "takes no parameters"),
    ],
)  # fmt: skip
def test_bad_synthetic_params_are_rejected(name, params, words):
    with pytest.raises(DataError) as e:
        load_dataset(DatasetRef(name, params))
    assert words in str(e.value)


# --------------------------------------------------------------------------- DatasetRef


def test_ref_round_trips_through_json():
    for ref in (
        DatasetRef("iris"),
        DatasetRef("moons", {"n_samples": 500, "noise": 0.3}),
        DatasetRef("csv", path="/data/my.csv", target="price", task="regression"),
    ):
        back = DatasetRef.from_dict(json.loads(json.dumps(ref.to_dict())))
        assert back == ref
        assert hash(back) == hash(ref)


def test_ref_labels():
    assert DatasetRef("iris").label() == "iris"
    assert DatasetRef("moons", {"n_samples": 500, "noise": 0.3}).label() == (
        "moons(n_samples=500, noise=0.3)"
    )
    assert DatasetRef("csv", path="/x/my.csv", target="price").label() == "my.csv → price"


def test_ref_validation():
    with pytest.raises(DataError, match="Unknown key"):
        DatasetRef.from_dict({"name": "iris", "colour": "red"})
    with pytest.raises(DataError, match="no 'name'"):
        DatasetRef.from_dict({"params": {}})
    with pytest.raises(DataError, match="Unknown task"):
        DatasetRef("csv", task="clustering")
    params = {"n_samples": 100}
    ref = DatasetRef("moons", params)
    params["n_samples"] = 5  # the ref keeps its own copy
    assert ref.params == {"n_samples": 100}


def test_csv_ref_needs_path_and_target(tmp_path):
    with pytest.raises(DataError, match="needs a file"):
        load_dataset(DatasetRef("csv", target="y"))
    with pytest.raises(DataError, match="target column"):
        load_dataset(DatasetRef("csv", path=str(tmp_path / "a.csv")))


# --------------------------------------------------------------------------- CSV: good files


def test_csv_from_path_via_ref(tmp_path, mixed_frame):
    path = tmp_path / "people.csv"
    path.write_bytes(_frame_bytes(mixed_frame))
    ds = load_dataset(DatasetRef("csv", path=str(path), target="label"))
    assert ds.name == "people.csv → label"
    assert ds.task == "classification"
    assert ds.classes == ["no", "yes"]
    assert ds.shape == (60, 4)
    assert set(ds.categorical_columns) == {"city", "member"}
    assert ds.y.name == ds.target == "label"
    assert "target 'label'" in ds.description


def test_csv_categorical_columns_and_missing_values_kept():
    rows = [[i % 7, f"c{i % 3}" if i % 5 else None, i * 0.5, i % 2] for i in range(40)]
    ds = read_csv(_csv(rows, ["n", "colour", "x", "y"]), "y")
    assert ds.categorical_columns == ["colour"]
    assert ds.X["colour"].isna().sum() == 8  # NaNs stay; imputation is in the pipeline
    assert any("missing values" in w and "'colour' 20.0%" in w for w in ds.warnings)


def test_semicolon_latin1_decimal_comma_file_loads():
    text = "prénom;taille;poids;classe\n" + "".join(
        f"Zoé{i};{1 + i / 100:.2f};{60 + i % 9},5;{'a' if i % 2 else 'b'}\n".replace(".", ",")
        for i in range(30)
    )
    ds = read_csv(text.encode("latin-1"), "classe")
    assert list(ds.X.columns) == ["taille", "poids"]  # 'prénom' is unique text: ID-like
    assert ds.id_columns == ["prénom"]
    assert ds.X["taille"].dtype == float and ds.X["taille"].iloc[1] == pytest.approx(1.01)
    assert ds.X["poids"].iloc[0] == pytest.approx(60.5)


def test_utf8_bom_tab_and_utf16_files_load(mixed_frame):
    bom = "\ufeff".encode() + _frame_bytes(mixed_frame)
    assert read_csv(bom, "label").shape == (60, 4)
    assert csv_columns(bom)[0] == "age"  # no BOM glued to the first name
    tab = _frame_bytes(mixed_frame, sep="\t")
    assert read_csv(tab, "label").shape == (60, 4)
    utf16 = mixed_frame.to_csv(index=False, sep="\t").encode("utf-16")
    assert read_csv(utf16, "label").shape == (60, 4)


def test_quoted_separators_in_text():
    # (the names do not follow the target, or they would be dropped as a copy of it)
    rows = [[i, f'"Smith, {"A" if i % 3 else "B"}"', i % 2] for i in range(20)]
    ds = read_csv(_csv(rows, ["x", "name", "y"]), "y")
    assert set(ds.X["name"]) == {"Smith, A", "Smith, B"}


def test_csv_columns_for_pickers(mixed_frame):
    assert csv_columns(_frame_bytes(mixed_frame, sep=";")) == list(mixed_frame.columns)
    with pytest.raises(DataError, match="empty"):
        csv_columns(b"")


def test_id_columns_are_flagged_and_dropped(mixed_frame):
    df = mixed_frame.copy()
    df.insert(0, "customer_id", np.arange(1000, 1060)[::-1])
    df["row_number"] = np.random.default_rng(1).permutation(60) + 1  # ID by its name
    df["store_id"] = np.arange(60) % 4  # repeats: a real feature, not an ID
    ds = read_csv(df.to_csv(index=True).encode(), "label")  # index written as 'Unnamed: 0'
    assert ds.id_columns == ["Unnamed: 0", "customer_id", "row_number"]
    for c in ds.id_columns:
        assert c not in ds.X.columns
        assert f"Column '{c}' looks like a row ID; it will be dropped." in ds.warnings
    assert "store_id" in ds.X.columns


def test_empty_constant_and_infinite_columns():
    rows = [[i % 7, None, "same", "inf" if i == 3 else i * 1.5, i % 2] for i in range(20)]
    ds = read_csv(_csv(rows, ["a", "blank", "const", "x", "y"]), "y")
    assert list(ds.X.columns) == ["a", "x"]
    assert np.isnan(ds.X.loc[3, "x"])
    text = " ".join(ds.warnings)
    assert "Column 'blank' is empty" in text
    assert "Column 'const' has the same value in every row" in text
    assert "Column 'x' has infinite values in 1 row;" in text


def test_mostly_numeric_text_column_warns():
    rows = [["?" if i % 10 == 0 else i, i % 2] for i in range(40)]
    ds = read_csv(_csv(rows, ["x", "y"]), "y")
    assert "x" in ds.categorical_columns
    assert any("mostly numbers but also has text such as '?'" in w for w in ds.warnings)


def test_missing_target_rows_are_dropped_with_a_warning():
    rows = [[i % 7, None if i < 5 else i % 2] for i in range(30)]
    ds = read_csv(_csv(rows, ["x", "y"]), "y")
    assert len(ds.y) == 25 and ds.X.index.equals(ds.y.index)
    assert "5 of 30 rows have no value in the target column 'y'" in ds.warnings[0]
    assert ds.y.dtype == "int64"  # 0.0/1.0 after the NaNs became 0/1


def test_class_imbalance_warns():
    rows = [[i % 7, int(i < 5)] for i in range(100)]
    ds = read_csv(_csv(rows, ["x", "y"]), "y")
    assert any("imbalanced" in w and "'1' has 5 rows" in w for w in ds.warnings)


def test_task_inference_and_override():
    counts = [[i % 7, i % 4] for i in range(40)]
    assert read_csv(_csv(counts, ["x", "y"]), "y").task == "classification"
    forced = read_csv(_csv(counts, ["x", "y"]), "y", task="regression")
    assert forced.task == "regression" and forced.y.dtype == float and forced.classes is None
    prices = [[i % 7, 10.5 + i * 1.37] for i in range(40)]
    assert read_csv(_csv(prices, ["x", "price"]), "price").task == "regression"


@pytest.mark.parametrize(
    "values, task",
    [
        (["a", "b", "a"] * 10, "classification"),
        ([True, False] * 15, "classification"),
        ([0, 1] * 15, "classification"),
        ([1.0, 2.0, 3.0] * 10, "classification"),
        ([0.0, 1.0, None] * 10, "classification"),
        (list(range(30)), "regression"),
        ([i % 10 for i in range(30)], "regression"),  # 10 values in 30 rows: too many to be classes
        ([i % 10 for i in range(100)], "classification"),
        ([i % 50 for i in range(1000)], "regression"),  # more than 20 values
        ([0.5, 1.7, 2.2] * 10, "regression"),
        (pd.Series(["x", "y"] * 10, dtype="category"), "classification"),
    ],
)
def test_infer_task(values, task):
    assert infer_task(pd.Series(values)) == task


# --------------------------------------------------------------------------- CSV: errors


def _error(source, target="y", **kw) -> str:
    with pytest.raises(DataError) as e:
        read_csv(source, target, **kw)
    return str(e.value)


def test_error_empty_file():
    assert "The file is empty" in _error(b"")
    assert "The file is empty" in _error(b"  \n\n \r\n")
    assert "The file is empty" in _error(b"\xef\xbb\xbf")


def test_error_header_only():
    msg = _error(b"a,b,y\n")
    assert "no rows of data" in msg and "'a', 'b', 'y'" in msg


def test_error_binary_and_excel_files():
    assert "binary data" in _error(bytes(range(256)) * 4)
    assert "Excel" in _error(b"PK\x03\x04" + b"\x00" * 100)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (bytes(range(128, 256)) * 16, ""),  # no NUL bytes, not UTF-8: not Latin-1 text either
        (b"%PDF-1.4\n" + bytes(range(128, 256)) * 8, " (it is a PDF document)"),
        (b"\x1f\x8b\x08" + bytes(range(1, 200)), " (it is gzip-compressed)"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(1, 200)), " (it is a PNG image)"),
    ],
)
def test_binary_files_are_not_a_text_csv_and_are_never_echoed(data, what):
    msg = _error(data)
    assert msg.startswith(f"The file is not a text CSV: it contains binary data{what}.")
    assert len(msg) < 300 and msg.isprintable()
    with pytest.raises(DataError, match="not a text CSV"):
        csv_columns(data)


def test_names_in_messages_are_capped_and_escaped():
    long_name = "x" * 2000
    msg = _error(f"{long_name},b\x07c,y\n".encode())
    assert "no rows of data" in msg and len(msg) < 300
    assert "'xxxxxxxx" in msg and "…'" in msg and "b\\x07c" in msg and "\x07" not in msg


def test_a_first_row_of_data_asks_for_a_header():
    for data in (b"0,0,1\n1,0,0\n" * 10, b"5.1,3.5,setosa\n4.9,3.0,setosa\n6.0,2.9,virginica\n"):
        msg = _error(data)
        assert msg.startswith("The first row looks like data") and "add a header row" in msg
    # numbers as names are fine beside a name that is not a value below it (years as columns)
    ds = read_csv(_csv([[i % 4, i * 2 % 7, "yes" if i % 2 else "no"] for i in range(20)],
                       ["2019", "2020", "y"]), "y")  # fmt: skip
    assert list(ds.X.columns) == ["2019", "2020"]


def test_messages_count_one_row_in_the_singular():
    ds = read_csv(_csv([[i % 5, i % 3, None if i == 0 else i % 2] for i in range(30)],
                       ["a", "b", "y"]), "y")  # fmt: skip
    assert "1 of 30 rows has no value in the target column 'y'" in ds.warnings[0]
    assert "29 rows, 2 feature columns" in ds.description
    one = read_csv(_csv([[i, i % 2] for i in range(12)], ["t", "y"]), "y")
    assert "12 rows, 1 feature column (" in one.description


def test_error_no_such_target_lists_columns_and_suggests(mixed_frame):
    msg = _error(_frame_bytes(mixed_frame), target="Label")
    assert "There is no column 'Label'" in msg
    assert "Did you mean 'label'?" in msg
    assert "'age', 'income', 'city', 'member', 'label'" in msg


def test_error_duplicate_columns():
    msg = _error(_csv([[1, 2, 0]] * 20, ["a", "a", "y"]))
    assert "duplicate column names: 'a'" in msg


def test_error_all_target_missing():
    assert "has no values" in _error(_csv([[i, None] for i in range(20)], ["x", "y"]))


def test_error_too_few_rows():
    msg = _error(_csv([[i, i % 2] for i in range(6)], ["x", "y"]))
    assert "Only 6 rows" in msg and "at least 10" in msg


def test_error_single_class():
    msg = _error(_csv([[i, "cat"] for i in range(20)], ["x", "y"]))
    assert "only one class ('cat')" in msg and "at least two" in msg


def test_error_text_target_for_regression():
    rows = [[i, "high" if i % 2 else "low"] for i in range(20)]
    msg = _error(_csv(rows, ["x", "y"]), task="regression")
    assert "holds text" in msg and "'high'" in msg and "choose classification" in msg


def test_error_one_class_per_row():
    text = _error(_csv([[i % 3, f"name{i}"] for i in range(30)], ["x", "y"]))
    assert "Every row has a different value" in text and "another target column" in text
    rows = [[i % 3, 0.5 + i * 1.1] for i in range(30)]
    numeric = _error(_csv(rows, ["x", "y"]), task="classification")
    assert "choose the regression task" in numeric


def test_error_ragged_rows():
    data = b"a,b,y\n" + b"1,2,0\n" * 5 + b"1,2,3,4\n" + b"1,2,1\n" * 5
    msg = _error(data)
    assert "line 7 has 4 values but the first row has 3 columns" in msg
    assert "quotes" in msg


def test_error_unclosed_quote_json_and_html():
    assert "never closed" in _error(b'a,b,y\n1,"abc,0\n' + b"2,x,1\n" * 20)
    assert "looks like JSON" in _error(b'{"a": [1, 2], "y": [0, 1]}')
    assert "looks like HTML or XML" in _error(b"<html><body>table</body></html>")


def test_error_no_target_chosen():
    assert "No target column was chosen" in _error(b"a,y\n" + b"1,0\n" * 20, target=None)


def test_error_more_values_than_names():
    msg = _error(b"a,y\n" + b"1,2,3\n" * 20)
    assert "more values than the first row has column names" in msg


def test_error_only_the_target_column():
    msg = _error(b"y\n" + b"1\n0\n" * 10)
    assert "only one column ('y')" in msg and "separated" in msg


def test_error_no_features_left():
    rows = [[None, "k", i % 2] for i in range(20)]
    msg = _error(_csv(rows, ["blank", "const", "y"]))
    assert "No feature columns are left" in msg and "'blank', 'const'" in msg


def test_an_id_like_only_feature_is_kept_with_a_warning():
    ds = read_csv(_csv([[i, i * 2.5 + (i % 3)] for i in range(20)], ["t", "y"]), "y")
    assert list(ds.X.columns) == ["t"] and ds.id_columns == []
    assert "looks like a row ID, but it is the only feature" in ds.warnings[0]


def test_shuffled_or_gappy_integers_are_not_ids():
    x = np.random.default_rng(0).permutation(30)
    ds = read_csv(_csv([[v, v * 3, i % 2] for i, v in enumerate(x)], ["a", "b", "y"]), "y")
    assert ds.id_columns == [] and list(ds.X.columns) == ["a", "b"]


# ------------------------------------------- identical columns, copies of the target (issue 24)
COPY_NOTES = ("identical to", "copies of", "target leakage")  # words of the copies' notes


def _copy_notes(ds: Dataset) -> list[str]:
    return [w for w in ds.warnings if any(words in w for words in COPY_NOTES)]


def test_a_row_counter_goes_with_its_copy_even_as_decimals(mixed_frame):
    df = mixed_frame.copy()
    df.insert(0, "n", np.arange(60))
    df["n_again"] = np.arange(60).astype(float)  # 0.0, 1.0, ...: not an ID by itself
    ds = read_csv(_frame_bytes(df), "label")
    assert ds.id_columns == ["n", "n_again"]
    assert list(ds.X.columns) == ["age", "income", "city", "member"]
    assert (
        "Column 'n' looks like a row ID, and column 'n_again' is identical to it (the same value "
        "in every row); both will be dropped."
    ) in ds.warnings


def test_an_id_by_name_goes_with_every_copy_wherever_they_stand(mixed_frame):
    df = mixed_frame.copy()
    ids = np.random.default_rng(1).permutation(60) + 500
    df.insert(0, "ref", ids)  # before the ID, and not an ID by itself
    df["customer_id"], df["ref2"] = ids, ids
    ds = dataset_from_frame(df, "label")
    assert ds.id_columns == ["ref", "customer_id", "ref2"]
    assert list(ds.X.columns) == ["age", "income", "city", "member"]
    (note,) = _copy_notes(ds)
    assert note.startswith("Column 'customer_id' looks like a row ID, and columns 'ref', 'ref2'")
    assert note.endswith("all 3 will be dropped.")


def test_an_id_and_its_copy_as_the_only_features_keep_one_and_say_which():
    rows = [[i, i, i * 2.5 + (i % 3)] for i in range(20)]
    ds = read_csv(_csv(rows, ["t", "t_copy", "y"]), "y")
    assert list(ds.X.columns) == ["t"] and ds.id_columns == []
    assert ds.warnings[0].startswith(
        "Column 't' looks like a row ID, but it is the only feature, so it is kept."
    )
    assert ds.warnings[1].startswith("Column 't_copy' is identical to column 't'")
    assert ds.warnings[1].endswith("it will be dropped and 't' kept.")


def test_identical_features_keep_the_first_and_name_the_others(mixed_frame):
    df = mixed_frame.copy()
    df.loc[::7, "income"] = np.nan
    df["income_again"] = df["income"]  # missing in the same rows
    df["city_copy"] = df["city"]
    df["age_float"] = df["age"].astype(float)  # 18 and 18.0 are the same value
    df["age_twice"] = df["age"]
    ds = read_csv(_frame_bytes(df), "label")
    assert list(ds.X.columns) == ["age", "income", "city", "member"]
    assert ds.id_columns == []
    assert _copy_notes(ds) == [
        "Columns 'age_float', 'age_twice' are identical to column 'age' (the same value in every "
        "row), so they add nothing; they will be dropped and 'age' kept.",
        "Column 'income_again' is identical to column 'income' (the same value in every row), so "
        "it adds nothing; it will be dropped and 'income' kept.",
        "Column 'city_copy' is identical to column 'city' (the same value in every row), so it "
        "adds nothing; it will be dropped and 'city' kept.",
    ]


def test_nearly_identical_columns_are_kept(mixed_frame):
    df = mixed_frame.copy()
    df["age_but_one"] = df["age"].where(df.index != 59, 99)  # one row differs
    df["income_gaps"] = df["income"].where(df.index % 5 != 0)  # missing where income is not
    df["city_relabelled"] = df["city"].str.upper()  # the same information, other values
    ds = dataset_from_frame(df, "label")
    assert list(ds.X.columns) == list(df.columns.drop("label"))
    assert _copy_notes(ds) == []


def test_many_identical_columns_are_summed_up():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"x{i}": rng.normal(size=30) for i in range(8)})
    for i in range(8):
        df[f"x{i}_copy"] = df[f"x{i}"]
    df["y"] = np.arange(30) % 2
    ds = dataset_from_frame(df, "y")
    assert list(ds.X.columns) == [f"x{i}" for i in range(8)]
    notes = _copy_notes(ds)
    assert len(notes) == 6 and notes[4].startswith("Column 'x4_copy' is identical")
    assert notes[5] == (
        "3 more columns ('x5_copy', 'x6_copy', 'x7_copy') are copies of other columns; they "
        "will be dropped."
    )


@pytest.mark.parametrize(
    ("copy", "how"),
    [
        (lambda y: y.map({"yes": 1, "no": 0}), "is the target 'label' under other labels"),
        (lambda y: y.map({"yes": "Y", "no": "N"}), "is the target 'label' under other labels"),
        (lambda y: y == "yes", "is the target 'label' under other labels"),
        (lambda y: y, "holds the same values as the target 'label' in every row"),
    ],
    ids=["ints", "other text", "bool", "same"],
)
def test_a_copy_of_a_class_target_is_dropped_and_named(mixed_frame, copy, how):
    df = mixed_frame.copy()
    df.insert(1, "outcome", copy(df["label"]))
    ds = read_csv(_frame_bytes(df), "label")
    assert list(ds.X.columns) == ["age", "income", "city", "member"]
    (note,) = _copy_notes(ds)
    assert note.startswith(f"Column 'outcome' {how}")
    assert "(target leakage), so it will be dropped" in note and "remove it from the file" in note


def test_a_copy_of_a_numbered_class_target_is_dropped(mixed_frame):
    df = mixed_frame.copy()
    df["grade"] = np.arange(60) % 3  # classes 0, 1, 2
    df["grade_name"] = df["grade"].map({0: "low", 1: "mid", 2: "high"})
    ds = dataset_from_frame(df.drop(columns="label"), "grade")
    assert ds.task == "classification" and "grade_name" not in ds.X.columns
    assert _copy_notes(ds)[0].startswith("Column 'grade_name' is the target 'grade' under other")


@pytest.mark.parametrize(
    ("copy", "how"),
    [
        (lambda y: y, "holds the same values as the target 'price' in every row"),
        (lambda y: (y * 100).round(), "is the target 'price' rescaled"),
        (
            lambda y: 32 - 1.8 * y,
            "is the target 'price' rescaled (a perfect linear relation, "
            "correlation -1, in every row)",
        ),
    ],
    ids=["same", "cents", "negative"],
)
def test_a_copy_of_a_regression_target_is_dropped_and_named(mixed_frame, copy, how):
    df = mixed_frame.drop(columns="label")
    df["price"] = (df["income"] / 100 + df["age"]).round(2)
    df.insert(0, "price_copy", copy(df["price"]))
    ds = read_csv(_frame_bytes(df), "price")
    assert ds.task == "regression"
    assert list(ds.X.columns) == ["age", "income", "city", "member"]
    (note,) = _copy_notes(ds)
    assert note.startswith(f"Column 'price_copy' {how}") and "(target leakage)" in note


def test_what_only_resembles_the_target_is_kept(mixed_frame):
    df = mixed_frame.copy()
    label = df["label"]
    df["almost"] = label.where(df.index != 0, "yes" if label[0] == "no" else "no")
    df["gappy"] = label.where(df.index % 9 != 0)  # a copy with gaps: not said to be one
    df["finer"] = label + np.where(df.index % 2, "-a", "-b")  # more values than classes
    ds = dataset_from_frame(df, "label")
    assert {"almost", "gappy", "finer"} <= set(ds.X.columns)
    assert _copy_notes(ds) == []
    df = mixed_frame.drop(columns="label")
    df["price"] = df["income"] / 100 + df["age"]
    df["nearly"] = df["price"] + np.random.default_rng(2).normal(0, 0.01, 60)  # |r| < 1
    df["squared"] = df["price"] ** 2  # one to one, but not linear
    ds = dataset_from_frame(df, "price")
    assert {"nearly", "squared"} <= set(ds.X.columns) and _copy_notes(ds) == []


def test_only_whole_columns_count_beyond_the_first_rows_tested_first():
    n = 3000  # more rows than the cheap first test reads
    rng = np.random.default_rng(3)
    y = rng.choice(["a", "b"], n)
    late = np.where(y == "a", 1, 0)
    late[-1] = 1 - late[-1]  # differs in the last row only
    df = pd.DataFrame({"x": rng.normal(size=n), "late": late, "code": np.where(y == "a", 7, 3)})
    df["late_text"], df["y"] = np.where(late == 1, "A", "B"), y
    ds = dataset_from_frame(df, "y")
    assert list(ds.X.columns) == ["x", "late", "late_text"]
    assert _copy_notes(ds)[0].startswith("Column 'code' is the target 'y' under other labels")
    price = rng.normal(100, 10, n)
    df = pd.DataFrame({"x": rng.normal(size=n), "cents": price * 100, "price": price})
    df.loc[n - 1, "cents"] += 1
    ds = dataset_from_frame(df, "price")
    assert list(ds.X.columns) == ["x", "cents"] and _copy_notes(ds) == []


def test_many_copies_of_the_target_are_summed_up(mixed_frame):
    df = mixed_frame.copy()
    for i in range(7):
        df[f"copy{i}"] = df["label"].map({"yes": i, "no": -i - 1})
    ds = dataset_from_frame(df, "label")
    notes = _copy_notes(ds)
    assert list(ds.X.columns) == ["age", "income", "city", "member"] and len(notes) == 6
    assert notes[5] == (
        "2 more columns ('copy5', 'copy6') are copies of the target 'label' too (target "
        "leakage); they will be dropped."
    )


def test_error_only_copies_of_the_target():
    rows = [[i % 2, "yes" if i % 2 else "no", None, i % 2] for i in range(20)]
    msg = _error(_csv(rows, ["copy", "words", "blank", "y"]))
    assert msg.startswith("No feature columns are left besides the target: 'blank' is empty")
    assert "'copy', 'words' are copies of the target." in msg


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_built_in_datasets_raise_no_false_alarm(name):
    ds = load_dataset(DatasetRef(name))
    df = ds.X.assign(**{"the target": ds.y.to_numpy()})
    checked = dataset_from_frame(df, "the target", task=ds.task)
    assert _copy_notes(checked) == []
    constant = [c for c in ds.X.columns if ds.X[c].nunique() <= 1]  # digits' blank pixels
    assert list(checked.X.columns) == [c for c in ds.X.columns if c not in constant]


def test_error_missing_file_and_headerless_file(tmp_path):
    assert "There is no file at" in _error(str(tmp_path / "nope.csv"))
    assert "is a folder" in _error(tmp_path)
    assert "add a header row" in _error(b"1,2,3\n4,5,6\n")


def test_errors_are_user_errors():
    assert issubclass(DataError, UserError)


# --------------------------------------------------------------------------- split


def test_split_is_stratified_seeded_and_disjoint():
    ds = load_dataset(DatasetRef("breast_cancer"))
    s = split(ds, test_size=0.25, seed=3)
    assert len(s.X_test) == 143 and len(s.X_train) == 426
    assert set(s.X_train.index).isdisjoint(s.X_test.index)
    assert s.X_train.index.equals(s.y_train.index) and s.X_test.index.equals(s.y_test.index)
    full = ds.y.mean()
    assert abs(s.y_train.mean() - full) < 0.01 and abs(s.y_test.mean() - full) < 0.01
    again = split(ds, test_size=0.25, seed=3)
    assert again.X_test.index.equals(s.X_test.index)
    other = split(ds, test_size=0.25, seed=4)
    assert not other.X_test.index.equals(s.X_test.index)


def test_split_regression():
    s = split(load_dataset(DatasetRef("diabetes")), test_size=0.2, seed=0)
    assert len(s.y_test) == 89 and len(s.y_train) == 353


def test_split_errors():
    ds = load_dataset(DatasetRef("iris"))
    for bad in (0, 0.95, -0.1, "0.2", True):
        with pytest.raises(UserError, match="test size must be a fraction"):
            split(ds, test_size=bad)
    tiny = Dataset(
        name="t",
        task="classification",
        X=pd.DataFrame({"x": range(12)}),
        y=pd.Series(["a"] * 6 + ["b"] * 5 + ["c"]),
        description="",
    )
    with pytest.raises(DataError, match="Class 'c' has only 1 row"):
        split(tiny)
    three = Dataset(
        name="t",
        task="classification",
        X=pd.DataFrame({"x": range(20)}),
        y=pd.Series(["a", "b", "c", "d"] * 5),
        description="",
    )
    with pytest.raises(DataError, match="test part would have 2 rows, fewer than the 4 classes"):
        split(three, test_size=0.1)


# --------------------------------------------------------------------------- check_cv


def test_check_cv_classification():
    y = pd.Series(["a"] * 10 + ["x"] * 3)
    check_cv(y, "classification", 3)
    with pytest.raises(DataError) as e:
        check_cv(y, "classification", 5)
    assert str(e.value) == (
        "Class 'x' has only 3 rows in the training part, fewer than the 5 CV folds: "
        "choose at most 3 folds or add data."
    )
    with pytest.raises(DataError, match="Class 'z' has only 1 row"):
        check_cv(pd.Series(["a"] * 10 + ["z"]), "classification", 2)
    with pytest.raises(DataError, match="only one class"):
        check_cv(pd.Series(["a"] * 10), "classification", 2)


def test_check_cv_regression():
    check_cv(pd.Series(np.arange(10.0)), "regression", 5)
    with pytest.raises(DataError, match="only 9 rows, too few for 5 CV folds.*at most 4 folds"):
        check_cv(pd.Series(np.arange(9.0)), "regression", 5)
    with pytest.raises(DataError, match="too few for cross-validation: add data"):
        check_cv(pd.Series([1.0, 2.0, 3.0]), "regression", 2)


def test_check_cv_refuses_folds_left_without_feature_values():
    y = pd.Series([0, 1] * 20)
    X = pd.DataFrame({"a": [1.0] + [np.nan] * 39, "b": [np.nan] * 40})
    with pytest.raises(DataError) as e:
        check_cv(y, "classification", 5, X)
    assert str(e.value).startswith(
        "Only 1 of the 40 rows in the training part has a value in any feature column ('a', 'b')"
    )
    X["b"] = [np.nan] * 30 + [2.0] * 10  # 11 rows with a value: more than a fold's 8
    check_cv(y, "classification", 5, X)


def test_check_trainable_splits_as_a_run_would():
    rows = [[i % 7, i % 3, "yes" if i % 2 else "no"] for i in range(40)] + [[1, 2, "rare"]]
    ds = read_csv(_csv(rows, ["a", "b", "y"]), "y")
    with pytest.raises(DataError, match="Class 'rare' has only 1 row"):
        D.check_trainable(ds, 0.2, 5)
    rows[-1][2] = "yes"
    D.check_trainable(read_csv(_csv(rows, ["a", "b", "y"]), "y"), 0.2, 5)
    few = read_csv(_csv([[i % 5, i % 3, "yes" if i < 19 else "no"] for i in range(24)],
                        ["a", "b", "y"]), "y")  # fmt: skip
    D.check_trainable(few, 0.2, 3)  # 'no' has 5 rows, 4 of them in the training part
    with pytest.raises(DataError, match="Class 'no' has only 4 rows in the training part"):
        D.check_trainable(few, 0.2, 5)


def test_check_cv_bad_folds():
    for bad in (1, 0, 2.5, True):
        with pytest.raises(UserError, match="at least 2"):
            check_cv(pd.Series([0, 1] * 10), "classification", bad)
