"""Tests for the scikit-learn compatible PyTorch MLP (tuning.models.mlp)."""

from __future__ import annotations

import copy
import io
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.metrics import get_scorer
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from tuning.core.errors import ConfigError, DataError
from tuning.models.mlp import MLPClassifier, MLPEstimator, MLPRegressor

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def binary_data():
    X, y = make_classification(
        n_samples=300, n_features=10, n_informative=5, class_sep=2.0, random_state=0
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    return train_test_split(X, y, test_size=0.3, random_state=0)


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_importing_module_does_not_import_torch():
    code = "import sys, tuning.models.mlp; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_classifier_learns_easy_problem(binary_data, torch):
    X_tr, X_te, y_tr, y_te = binary_data
    est = MLPEstimator(epochs=30).fit(X_tr, y_tr)
    assert est.score(X_te, y_te) > 0.85
    assert est.epochs_trained_ == 30 and len(est.loss_curve_) == 30
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert est.device_ == expected
    assert is_classifier(est) and not is_regressor(est)


def test_multiclass_string_labels_and_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = MLPEstimator(epochs=40, batch_size=16).fit(frame, labels)
    _same(est.classes_, ["setosa", "versicolor", "virginica"])
    proba = est.predict_proba(frame)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = est.predict(frame)
    assert set(pred) <= set(est.classes_)
    assert est.score(frame, labels) > 0.85


def test_regression_r2(regression_data):
    X_tr, X_te, y_tr, y_te = regression_data
    model = make_pipeline(StandardScaler(), MLPEstimator(task="regression", epochs=60))
    model.fit(X_tr, y_tr)
    assert model.score(X_te, y_te) > 0.5
    assert model.predict(X_te).shape == (len(X_te),)
    est = model[-1]
    assert is_regressor(est) and not is_classifier(est)
    assert not hasattr(est, "predict_proba") and not hasattr(model, "predict_proba")
    assert not hasattr(est, "classes_")


def test_same_seed_same_result_different_seed_differs(binary_data):
    X_tr, X_te, y_tr, _ = binary_data
    a = MLPEstimator(epochs=5, random_state=1).fit(X_tr, y_tr).predict_proba(X_te)
    b = MLPEstimator(epochs=5, random_state=1).fit(X_tr, y_tr).predict_proba(X_te)
    c = MLPEstimator(epochs=5, random_state=2).fit(X_tr, y_tr).predict_proba(X_te)
    _same(a, b)
    assert not np.allclose(a, c)


def test_lockstep_epochs_match_fit_and_leave_global_rng_alone(binary_data, regression_data, torch):
    X_tr, X_te, y_tr, _ = binary_data
    Xr_tr, Xr_te, yr_tr, _ = regression_data
    params = {"epochs": 6, "dropout": 0.3, "batch_size": 32}

    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    clf_fit = MLPEstimator(random_state=3, **params).fit(X_tr, y_tr)
    reg_fit = MLPEstimator(task="regression", random_state=4, **params).fit(Xr_tr, yr_tr)
    _same(torch.rand(3), expected_draw)  # the global torch generator was not used

    # Two models trained interleaved, epoch by epoch, like CV folds in the tuning objective.
    clf = MLPEstimator(random_state=3, **params).begin(X_tr, y_tr)
    reg = MLPEstimator(task="regression", random_state=4, **params).begin(Xr_tr, yr_tr)
    assert clf.epochs_trained_ == 0
    for _ in range(6):
        assert isinstance(clf.train_epoch(), float)
        torch.rand(5)  # unrelated use of the global generator between epochs
        reg.train_epoch()
    assert clf.epochs_trained_ == 6
    _same(clf.predict_proba(X_te), clf_fit.predict_proba(X_te))
    _same(reg.predict(Xr_te), reg_fit.predict(Xr_te))
    assert clf.loss_curve_ == clf_fit.loss_curve_


def test_early_stopping_restores_best_epoch(torch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    y = rng.randint(0, 2, size=200)  # pure noise: validation loss soon stops improving
    est = MLPEstimator(epochs=200, patience=3, learning_rate=1e-2, width=128).fit(X, y)
    assert 1 <= est.best_epoch_ <= est.epochs_trained_ < 200
    curve = est.validation_loss_curve_
    assert len(curve) == est.epochs_trained_
    assert est.epochs_trained_ - est.best_epoch_ == 3
    assert curve[est.best_epoch_ - 1] == min(curve)
    # The restored weights are those of the best epoch: rebuild the same split and check.
    tr, va = est._validation_split(y)
    assert len(va) == 20 and len(set(tr) | set(va)) == 200
    assert est._loss_on(X[va], y[va]) == pytest.approx(min(curve), rel=1e-5)


def test_state_round_trip_through_torch_save(binary_data, regression_data, torch):
    X_tr, X_te, y_tr, _ = binary_data
    clf = MLPEstimator(epochs=3, n_layers=1).fit(X_tr, np.where(y_tr == 1, "yes", "no"))
    Xr_tr, Xr_te, yr_tr, _ = regression_data
    reg = MLPEstimator(task="regression", epochs=3, n_layers=3, width=16).fit(Xr_tr, yr_tr)
    for est, X in ((clf, X_te), (reg, Xr_te)):
        state = est.state()
        assert set(state) >= {"config", "state_dict", "classes", "n_features"}
        assert state["config"] == est.get_params()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=True)
        restored = MLPEstimator.from_state(loaded)
        assert restored.get_params() == est.get_params()
        _same(restored.predict(X), est.predict(X))
        assert restored.score(X, est.predict(X)) == pytest.approx(1.0)
        assert restored.epochs_trained_ == 3
    _same(MLPEstimator.from_state(clf.state()).predict_proba(X_te), clf.predict_proba(X_te))
    restored = MLPEstimator.from_state(clf.state(), device="cpu")
    assert restored.device_ == "cpu"
    with pytest.raises(DataError, match="begin"):
        restored.train_epoch()


def test_set_live_params_keeps_weights(binary_data, torch):
    X_tr, _, y_tr, _ = binary_data
    est = MLPEstimator(epochs=2, learning_rate=1e-3, dropout=0.1).fit(X_tr, y_tr)
    before = {k: v.clone() for k, v in est.model_.state_dict().items()}
    est.set_live_params(learning_rate=0.05, dropout=0.4, weight_decay=1e-3)
    assert all(g["lr"] == 0.05 for g in est.optimizer_.param_groups)
    assert all(g["weight_decay"] == 1e-3 for g in est.optimizer_.param_groups)
    drops = [m for m in est.model_.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 2 and all(m.p == 0.4 for m in drops)
    assert est.get_live_params() == {"learning_rate": 0.05, "dropout": 0.4, "weight_decay": 1e-3}
    assert est.get_params()["learning_rate"] == 0.05
    for key, value in est.model_.state_dict().items():
        _same(value, before[key])
    est.train_epoch()  # training goes on with the new settings
    assert est.epochs_trained_ == 3
    with pytest.raises(ConfigError, match="width"):
        est.set_live_params(width=3)
    with pytest.raises(ValueError, match="dropout"):
        est.set_live_params(dropout=1.5)


def test_scorers_through_pipeline(binary_data, regression_data):
    X_tr, X_te, y_tr, y_te = binary_data
    pipe = make_pipeline(StandardScaler(), MLPEstimator(epochs=10))
    assert is_classifier(pipe)
    # Scorers work right after begin() on the final step (before any training) ...
    pipe[0].fit(X_tr)
    pipe[-1].begin(pipe[0].transform(X_tr), y_tr)
    assert 0.0 <= get_scorer("roc_auc")(pipe, X_te, y_te) <= 1.0
    # ... and after fitting.
    pipe.fit(X_tr, y_tr)
    assert get_scorer("accuracy")(pipe, X_te, y_te) > 0.85
    assert get_scorer("roc_auc")(pipe, X_te, y_te) > 0.9
    assert -1.0 < get_scorer("neg_log_loss")(pipe, X_te, y_te) < 0
    assert get_scorer("balanced_accuracy")(pipe, X_te, y_te) > 0.85

    Xr_tr, Xr_te, yr_tr, yr_te = regression_data
    reg = make_pipeline(StandardScaler(), MLPEstimator(task="regression", epochs=20))
    assert is_regressor(reg)
    reg.fit(Xr_tr, yr_tr)
    assert get_scorer("neg_root_mean_squared_error")(reg, Xr_te, yr_te) < 0
    assert get_scorer("r2")(reg, Xr_te, yr_te) > 0.0


def test_multiclass_scorers_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPEstimator(epochs=30, batch_size=16))
    scores = cross_val_score(pipe, X, y, cv=3, scoring="accuracy")
    assert scores.mean() > 0.8
    pipe.fit(X, y)
    assert get_scorer("roc_auc_ovr")(pipe, X, y) > 0.9
    assert get_scorer("neg_log_loss")(pipe, X, y) < 0


def test_clone_and_copies(binary_data):
    X_tr, X_te, y_tr, _ = binary_data
    est = MLPEstimator(epochs=2, width=8, random_state=5).fit(X_tr, y_tr)
    fresh = clone(est)
    assert fresh.get_params() == est.get_params()
    assert not hasattr(fresh, "model_")
    with pytest.raises(NotFittedError):
        fresh.predict(X_te)
    pipe = clone(make_pipeline(StandardScaler(), MLPEstimator(task="regression", width=8)))
    assert pipe[-1].task == "regression"
    for other in (copy.deepcopy(est), pickle.loads(pickle.dumps(est))):
        _same(other.predict_proba(X_te), est.predict_proba(X_te))
        other.train_epoch()
        est_copy = copy.deepcopy(est)
        est_copy.train_epoch()
        _same(other.predict_proba(X_te), est_copy.predict_proba(X_te))


def test_small_data_sparse_input_and_batch_clamp():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = make_classification(n_samples=40, n_features=6, random_state=1)
    dense = MLPEstimator(epochs=3, batch_size=1000).fit(X, y)
    assert dense.epochs_trained_ == 3
    from_sparse = MLPEstimator(epochs=3, batch_size=1000).fit(sparse.csr_matrix(X), y)
    _same(dense.predict_proba(X), from_sparse.predict_proba(sparse.csr_matrix(X)))
    linear = MLPEstimator(epochs=2, n_layers=0).fit(X, y)
    assert linear.predict(X).shape == (40,)
    assert MLPEstimator(epochs=0).fit(X, y).epochs_trained_ == 0


def test_bad_input_gives_clear_errors(binary_data):
    X_tr, _, y_tr, _ = binary_data
    with pytest.raises(ConfigError, match="task"):
        MLPEstimator(task="ranking").fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="batch_size"):
        MLPEstimator(batch_size=0).fit(X_tr, y_tr)
    with pytest.raises(ConfigError, match="learning_rate"):
        MLPEstimator(learning_rate=0).fit(X_tr, y_tr)
    X_nan = X_tr.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(DataError, match="impute"):
        MLPEstimator(epochs=1).fit(X_nan, y_tr)
    with pytest.raises(DataError, match="two classes"):
        MLPEstimator(epochs=1).fit(X_tr, np.zeros(len(X_tr)))
    with pytest.raises(NotFittedError):
        MLPEstimator().predict(X_tr)
    est = MLPEstimator(epochs=1).fit(X_tr, y_tr)
    with pytest.raises(DataError, match="features"):
        est.predict(X_tr[:, :3])


# scikit-learn's own estimator checks (all of them: none is skipped), on few small epochs so
# that they take seconds; the learning rate is raised so that 20 epochs learn the checks' data.
_SMALL = {"epochs": 20, "width": 16, "learning_rate": 1e-2, "device": "cpu"}


@parametrize_with_checks(
    [
        MLPClassifier(**_SMALL),
        MLPRegressor(**_SMALL),
        MLPEstimator(task="classification", **_SMALL),
        MLPEstimator(task="regression", **_SMALL),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_classifier_and_regressor_classes(binary_data, regression_data):
    X_tr, X_te, y_tr, y_te = binary_data
    clf = MLPClassifier(epochs=10, random_state=3).fit(X_tr, y_tr)
    assert is_classifier(clf) and "task" not in clf.get_params()
    same = MLPEstimator(task="classification", epochs=10, random_state=3).fit(X_tr, y_tr)
    _same(clf.predict_proba(X_te), same.predict_proba(X_te))
    assert clf.score(X_te, y_te) > 0.85
    Xr_tr, Xr_te, yr_tr, yr_te = regression_data
    reg = make_pipeline(StandardScaler(), MLPRegressor(epochs=40, learning_rate=1e-2))
    reg.fit(Xr_tr, yr_tr)
    assert is_regressor(reg) and reg.score(Xr_te, yr_te) > 0.8
    # A row's prediction does not depend on the rows predicted with it (to float64 rounding).
    net = reg[-1]
    rows = reg[:-1].transform(Xr_te)
    one_by_one = np.concatenate([net.predict(rows[i : i + 1]) for i in range(7)])
    np.testing.assert_allclose(net.predict(rows)[:7], one_by_one, rtol=1e-12)


def test_data_errors_say_what_to_do(binary_data):
    X_tr, _, y_tr, _ = binary_data
    est = MLPClassifier(epochs=1).fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="Reshape your data"):
        est.predict(X_tr[0])
    with pytest.raises(ValueError, match="10 features"):
        est.predict(X_tr[:, :3])
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(epochs=1).fit(X_tr, np.linspace(0, 1, len(X_tr)))
    with pytest.raises(ValueError, match="encoder"):
        MLPClassifier(epochs=1).fit(np.array([["a", "b"]] * 10), [0, 1] * 5)
