"""A scikit-learn compatible PyTorch multilayer perceptron.

``MLPEstimator`` is a classifier or a regressor (chosen by ``task``) that fits in a scikit-learn
``Pipeline`` and works with scikit-learn's scorers, ``clone`` and cross-validation. Besides the
usual ``fit`` it offers an epoch-wise API for the tuning objective, which trains the CV folds in
lockstep and prunes between epochs::

    est.begin(X, y)            # classes, network, optimizer, data on the device; no training yet
    for epoch in range(n):
        est.train_epoch()      # one shuffled pass over the data; returns the mean train loss
        est.score(X_val, y_val)

Torch is imported lazily (see ``import_torch``): importing this module does not import torch.

Determinism: every estimator keeps its own random number generator state (weight
initialisation, dropout masks and minibatch order all come from ``random_state``), so the same
``random_state`` gives identical results on CPU even when several estimators are trained
interleaved, epoch by epoch, and the process-wide torch generator is left untouched.
"""

from __future__ import annotations

import numbers
import os
import threading
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from tuning.core.enums import TASKS, Task
from tuning.core.errors import ConfigError, DataError

LIVE_PARAMS = ("learning_rate", "dropout", "weight_decay")
_PREDICT_CHUNK = 8192
_VALIDATION_FRACTION = 0.1


class MLPConfigError(ConfigError, ValueError):
    """An MLPEstimator hyperparameter is invalid (also a ValueError, as scikit-learn expects)."""


class MLPDataError(DataError, ValueError):
    """Data given to an MLPEstimator cannot be used (also a ValueError)."""


# Dropout draws from torch's process-wide generator, which each estimator swaps in and out around
# its own state (fork_rng). Two estimators training on different threads (PBT members, parallel
# experiments) would swap it under each other and lose determinism; this lock serializes the swap.
_RNG_LOCK = threading.Lock()

THREADS_ENV = "TUNING_STUDIO_TORCH_THREADS"
_threads_set = False


def import_torch():
    """Import torch on first use (importing it costs about a second and lots of memory).

    On the CPU, torch's intra-op threads are capped (default 1, $TUNING_STUDIO_TORCH_THREADS):
    for the small nets tuned here, several threads spin against each other and against
    concurrent trials; one thread trained an epoch 26x faster on a busy 2-core machine.
    """
    global _threads_set
    import torch

    if not _threads_set:
        _threads_set = True
        torch.set_num_threads(max(1, int(os.environ.get(THREADS_ENV) or 1)))
    return torch


def _is_classification(est) -> bool:
    return getattr(est, "task", None) == Task.CLASSIFICATION


class MLPEstimator(BaseEstimator):
    """Multilayer perceptron: ``n_layers`` blocks of Linear(width) + ReLU + Dropout, then a
    linear output layer, trained with AdamW on minibatches.

    Classification uses cross-entropy on one output per class (binary included) and softmax
    probabilities; regression uses mean squared error on the standardized target.

    Parameters
    ----------
    task : "classification" or "regression"
    learning_rate, weight_decay : AdamW's learning rate and (decoupled) weight decay.
    batch_size : minibatch size, clamped to the number of training rows.
    n_layers, width : number of hidden layers and units per hidden layer (0 layers: linear model).
    dropout : dropout probability after each hidden layer, in [0, 1).
    epochs : number of passes over the training data that ``fit`` makes (at most).
    patience : 0 trains all ``epochs``; > 0 holds out 10% of the rows, stops after ``patience``
        epochs without a lower validation loss and restores the best weights.
    random_state : int seed (or None / a RandomState, drawn from once in ``begin``).
    device : "auto" (CUDA if available, else CPU), "cpu", "cuda", "cuda:1", ...

    Fitted attributes: ``classes_`` (classification), ``n_features_in_``, ``device_``,
    ``epochs_trained_``, ``best_epoch_`` (the epoch whose weights the model holds),
    ``loss_curve_`` (mean train loss per epoch), ``validation_loss_curve_`` (``fit`` with
    patience > 0), ``model_`` (the torch module), ``optimizer_``.
    """

    def __init__(
        self,
        task="classification",
        learning_rate=1e-3,
        batch_size=64,
        n_layers=2,
        width=64,
        dropout=0.1,
        weight_decay=1e-5,
        epochs=50,
        patience=0,
        random_state=0,
        device="auto",
    ):
        self.task = task
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_layers = n_layers
        self.width = width
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.patience = patience
        self.random_state = random_state
        self.device = device

    # ------------------------------------------------------------------ scikit-learn glue

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.sparse = True  # made dense (a one-hot encoder's output fits in memory)
        if self.task == Task.REGRESSION:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
            tags.target_tags.multi_output = True  # one output unit per target column
        else:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    # ------------------------------------------------------------------ validation

    def _check_params(self) -> None:
        def _int(name, low):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise MLPConfigError(
                    f"MLP {name} must be a whole number >= {low}, got {value!r}. Change {name}."
                )

        if self.task not in TASKS:
            raise MLPConfigError(
                f"MLP task must be one of {TASKS}, got {self.task!r}. Pick a supported task."
            )
        _int("batch_size", 1)
        _int("n_layers", 0)
        _int("width", 1)
        _int("epochs", 0)
        _int("patience", 0)
        self._check_live("learning_rate", self.learning_rate)
        self._check_live("dropout", self.dropout)
        self._check_live("weight_decay", self.weight_decay)

    @staticmethod
    def _check_live(name: str, value) -> float:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise MLPConfigError(f"MLP {name} must be a number, got {value!r}.") from None
        if name == "learning_rate" and not (np.isfinite(value) and value > 0):
            raise MLPConfigError(f"MLP learning_rate must be > 0, got {value!r}.")
        if name == "dropout" and not 0.0 <= value < 1.0:
            raise MLPConfigError(f"MLP dropout must be in [0, 1), got {value!r}.")
        if name == "weight_decay" and not (np.isfinite(value) and value >= 0):
            raise MLPConfigError(f"MLP weight_decay must be >= 0, got {value!r}.")
        return value

    def _resolve_device(self):
        torch = import_torch()
        device = "auto" if self.device is None else str(self.device)
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            resolved = torch.device(device)
        except (RuntimeError, ValueError):
            raise MLPConfigError(
                f"MLP device {device!r} is not a device name; use 'auto', 'cpu' or 'cuda'."
            ) from None
        if resolved.type == "cuda" and not torch.cuda.is_available():
            raise MLPConfigError(
                f"MLP device {device!r} was asked for but no CUDA GPU is available; "
                "use device='auto' or 'cpu'."
            )
        return resolved

    def _seed(self) -> int:
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs) % (2**63)
        return int(check_random_state(rs).randint(0, 2**31 - 1))

    @staticmethod
    def _as_features(X) -> np.ndarray:
        """Dense float32 rows of an array already validated (internal use)."""
        if sparse.issparse(X):  # e.g. the output of a one-hot encoder
            X = X.toarray()
        return np.asarray(X, dtype=np.float32)

    def _validated(self, X, y=None, reset: bool = True):
        """scikit-learn's own checks of X (and y when fitting): 2-D, numeric, finite, not empty,
        the feature count (and names) seen in fit; sparse input is made dense. Their messages
        are kept, with what to do added where the cause is the data."""
        kw = {"accept_sparse": True, "dtype": np.float32, "reset": reset}
        try:
            if y is None and not reset:
                X = validate_data(self, X, **kw)
            else:
                multi = self.task == Task.REGRESSION
                X, y = validate_data(self, X, y, multi_output=multi, y_numeric=multi, **kw)
                if self.task == Task.CLASSIFICATION:
                    check_classification_targets(y)
        except ValueError as exc:
            text = str(exc)
            if "NaN" in text or "infinity" in text:
                text += " Impute the missing values first (put an imputer before the MLP)."
            elif "could not convert" in text:
                text += " The MLP needs numeric features: put an encoder before it."
            raise MLPDataError(text) from None
        X = self._as_features(X)
        return X if y is None and not reset else (X, y)

    # ------------------------------------------------------------------ network

    def _build(self, n_features: int, n_outputs: int) -> None:
        """Create the network and optimizer (under this estimator's own RNG state)."""
        torch = import_torch()
        nn = torch.nn
        self.device_ = str(self._resolve_device())
        device = torch.device(self.device_)
        seed = self._seed()
        with _RNG_LOCK, torch.random.fork_rng(devices=self._rng_devices(device)):
            torch.manual_seed(seed)  # weight initialisation draws from this seed
            layers: list[Any] = []
            n_in = n_features
            for _ in range(int(self.n_layers)):
                width = int(self.width)
                layers += [nn.Linear(n_in, width), nn.ReLU(), nn.Dropout(float(self.dropout))]
                n_in = width
            layers.append(nn.Linear(n_in, n_outputs))
            self.model_ = nn.Sequential(*layers).to(device)
            self._rng_state = self._get_rng_state(device)
        self.optimizer_ = torch.optim.AdamW(
            self.model_.parameters(),
            lr=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
        )
        self._shuffle_gen = torch.Generator().manual_seed(seed)
        self.n_features_in_ = n_features
        self.n_outputs_ = n_outputs

    @staticmethod
    def _rng_devices(device) -> list:
        if device.type == "cuda":
            return [
                device.index if device.index is not None else import_torch().cuda.current_device()
            ]
        return []

    def _get_rng_state(self, device) -> dict:
        torch = import_torch()
        state = {"cpu": torch.get_rng_state()}
        if device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(device)
        return state

    def _set_rng_state(self, device) -> None:
        torch = import_torch()
        torch.set_rng_state(self._rng_state["cpu"])
        if device.type == "cuda" and "cuda" in self._rng_state:
            torch.cuda.set_rng_state(self._rng_state["cuda"], device)

    # ------------------------------------------------------------------ epoch-wise API

    def begin(self, X, y):
        """Set up classes, network, optimizer and the training data on the device.

        No training happens; afterwards ``predict``/``predict_proba``/``score`` work (on the
        untrained network) and ``train_epoch`` trains one epoch at a time.
        """
        self._check_params()
        X, y = self._validated(X, y)
        return self._begin(X, y, classes=None)

    def _begin(self, X, y, classes):
        """`X`, `y` validated by `_validated`."""
        torch = import_torch()
        n = X.shape[0]
        if n < 1:
            raise MLPDataError("The MLP needs at least one training row.")
        y = np.asarray(y)
        if y.shape[0] != n:
            raise MLPDataError(f"X has {n} rows but y has {y.shape[0]}; they must match.")

        for attr in ("classes_", "y_mean_", "y_std_", "best_epoch_", "validation_loss_curve_"):
            if hasattr(self, attr):
                delattr(self, attr)

        if self.task == Task.CLASSIFICATION:
            y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
            if y.ndim != 1:
                raise MLPDataError("MLP classification needs a single target column.")
            self.classes_ = np.unique(y) if classes is None else np.asarray(classes)
            if len(self.classes_) < 2:
                raise MLPDataError(
                    "MLP classification needs at least two classes in the target; found only "
                    f"one class: {self.classes_.tolist()}."
                )
            y_enc = np.searchsorted(self.classes_, y)
            target = torch.as_tensor(y_enc, dtype=torch.long)
            n_outputs = len(self.classes_)
            self._loss_fn = torch.nn.CrossEntropyLoss()
        else:
            try:
                y = np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError):
                raise MLPDataError(
                    "MLP regression needs a numeric target; pick a numeric column or "
                    "switch the task to classification."
                ) from None
            y2 = y.reshape(n, -1)
            if not np.isfinite(y2).all():
                raise MLPDataError("The regression target has missing or infinite values.")
            self.y_mean_ = y2.mean(axis=0)
            std = y2.std(axis=0)
            self.y_std_ = np.where(std > 0, std, 1.0)
            self._y_1d = y.ndim == 1
            target = torch.as_tensor((y2 - self.y_mean_) / self.y_std_, dtype=torch.float32)
            n_outputs = y2.shape[1]
            self._loss_fn = torch.nn.MSELoss()

        self._build(X.shape[1], n_outputs)
        device = torch.device(self.device_)
        self._X_train = torch.as_tensor(X).to(device)
        self._y_train = target.to(device)
        self.epochs_trained_ = 0
        self.best_epoch_ = 0
        self.loss_curve_ = []
        return self

    def train_epoch(self) -> float:
        """One pass over the training data in shuffled minibatches; returns the mean loss."""
        torch = import_torch()
        check_is_fitted(self)
        if getattr(self, "_X_train", None) is None:
            raise MLPDataError(
                "This MLP has no training data (it was loaded from a saved state); "
                "call begin(X, y) before train_epoch()."
            )
        X, y = self._X_train, self._y_train
        n = X.shape[0]
        batch = min(int(self.batch_size), n)
        device = torch.device(self.device_)
        model, opt, loss_fn = self.model_, self.optimizer_, self._loss_fn
        perm = torch.randperm(n, generator=self._shuffle_gen).to(device)
        total = torch.zeros((), device=device)
        model.train()
        with _RNG_LOCK, torch.random.fork_rng(devices=self._rng_devices(device)):
            self._set_rng_state(device)
            for start in range(0, n, batch):
                idx = perm[start : start + batch]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(X[idx]), y[idx])
                loss.backward()
                opt.step()
                total += loss.detach() * idx.shape[0]
            self._rng_state = self._get_rng_state(device)
        mean_loss = float(total.item()) / n
        self.epochs_trained_ += 1
        self.best_epoch_ = self.epochs_trained_
        self.loss_curve_.append(mean_loss)
        return mean_loss

    # ------------------------------------------------------------------ fit

    def fit(self, X, y):
        """Train for ``epochs`` epochs (early stopping with best-weight restore if patience > 0)."""
        self._check_params()
        X_arr, y_arr = self._validated(X, y)
        n = X_arr.shape[0]
        if self.patience <= 0 or n < 2:
            self._begin(X_arr, y_arr, classes=None)
            for _ in range(int(self.epochs)):
                self.train_epoch()
            return self

        classes = np.unique(y_arr) if self.task == Task.CLASSIFICATION else None
        tr, va = self._validation_split(y_arr)
        self._begin(X_arr[tr], y_arr[tr], classes=classes)
        X_val = X_arr[va]
        y_val = y_arr[va]
        best_loss, best_state, best_epoch, since_best = np.inf, None, 0, 0
        self.validation_loss_curve_ = []
        for _ in range(int(self.epochs)):
            self.train_epoch()
            val_loss = self._loss_on(X_val, y_val)
            self.validation_loss_curve_.append(val_loss)
            if val_loss < best_loss:
                best_loss, best_epoch, since_best = val_loss, self.epochs_trained_, 0
                best_state = {k: v.detach().clone() for k, v in self.model_.state_dict().items()}
            else:
                since_best += 1
                if since_best >= self.patience:
                    break
        if best_state is not None:
            self.model_.load_state_dict(best_state)
        self.best_epoch_ = best_epoch
        return self

    def _validation_split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(y)
        n_val = min(n - 1, max(1, int(round(_VALIDATION_FRACTION * n))))
        rng = np.random.RandomState(self._seed() % (2**32))
        if self.task == Task.CLASSIFICATION:
            from sklearn.model_selection import train_test_split

            try:
                tr, va = train_test_split(
                    np.arange(n), test_size=n_val, stratify=y, random_state=rng
                )
                return np.sort(tr), np.sort(va)
            except ValueError:  # a class too rare to stratify: fall back to a plain split
                pass
        perm = rng.permutation(n)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])

    def _loss_on(self, X, y) -> float:
        """Loss of the current network on (X, y), in eval mode, on the training scale."""
        torch = import_torch()
        out = torch.as_tensor(self._forward(self._as_features(X)))
        if self.task == Task.CLASSIFICATION:
            y_enc = np.searchsorted(self.classes_, np.asarray(y).ravel())
            target = torch.as_tensor(y_enc, dtype=torch.long)
        else:
            y2 = np.asarray(y, dtype=np.float64).reshape(len(out), -1)
            target = torch.as_tensor((y2 - self.y_mean_) / self.y_std_, dtype=torch.float32)
        return float(self._loss_fn(out.float(), target).item())

    # ------------------------------------------------------------------ prediction

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """Raw network outputs (logits / standardized values) for a float32 array."""
        torch = import_torch()
        check_is_fitted(self)
        if X.shape[1] != self.n_features_in_:
            raise MLPDataError(
                f"X has {X.shape[1]} features, but the MLP was trained on "
                f"{self.n_features_in_}; use the same columns."
            )
        model = self.model_
        was_training = model.training
        model.eval()
        device = torch.device(self.device_)
        outs = []
        # On the CPU the forward pass runs in float64: float32 kernels round differently with
        # the batch size, so a row's prediction depended on the rows predicted with it
        # (scikit-learn's check_methods_subset_invariance). GPUs keep float32 (fp64 is slow).
        exact = device.type == "cpu"
        with torch.inference_mode():
            weights = {k: v.double() for k, v in model.state_dict().items()} if exact else None
            for start in range(0, X.shape[0], _PREDICT_CHUNK):
                chunk = torch.as_tensor(X[start : start + _PREDICT_CHUNK]).to(device)
                if exact:
                    out = torch.func.functional_call(model, weights, (chunk.double(),))
                else:
                    out = model(chunk)
                outs.append(out.double().cpu().numpy())
        if was_training:
            model.train()
        if not outs:
            return np.zeros((0, self.n_outputs_))
        return np.concatenate(outs, axis=0)

    @available_if(_is_classification)
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (columns in the order of ``classes_``)."""
        check_is_fitted(self)
        logits = self._forward(self._validated(X, reset=False))
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        out = self._forward(self._validated(X, reset=False))
        if self.task == Task.CLASSIFICATION:
            return self.classes_[np.argmax(out, axis=1)]
        pred = out * self.y_std_ + self.y_mean_
        return pred.ravel() if getattr(self, "_y_1d", True) and pred.shape[1] == 1 else pred

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy for classification, R^2 for regression."""
        from sklearn.metrics import accuracy_score, r2_score

        if self.task == Task.CLASSIFICATION:
            return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))
        return float(r2_score(y, self.predict(X), sample_weight=sample_weight))

    # ------------------------------------------------------------------ live hyperparameters

    def get_live_params(self) -> dict:
        """Current learning rate, dropout and weight decay of the live (begun) model."""
        check_is_fitted(self)
        group = self.optimizer_.param_groups[0]
        drop = self._dropout_modules()
        return {
            "learning_rate": float(group["lr"]),
            "dropout": float(drop[0].p) if drop else float(self.dropout),
            "weight_decay": float(group["weight_decay"]),
        }

    def set_live_params(self, **params):
        """Change learning_rate / dropout / weight_decay of the live model, keeping its weights
        and optimizer state. The estimator's parameters are updated too, so ``get_params``
        and ``clone`` see the new values."""
        check_is_fitted(self)
        unknown = sorted(set(params) - set(LIVE_PARAMS))
        if unknown:
            raise MLPConfigError(
                f"set_live_params cannot change {unknown}; only {list(LIVE_PARAMS)} can change "
                "while a model trains."
            )
        values = {name: self._check_live(name, value) for name, value in params.items()}
        for name, value in values.items():
            setattr(self, name, value)
            if name == "learning_rate":
                for group in self.optimizer_.param_groups:
                    group["lr"] = value
            elif name == "weight_decay":
                for group in self.optimizer_.param_groups:
                    group["weight_decay"] = value
            else:
                for module in self._dropout_modules():
                    module.p = value
        return self

    def _dropout_modules(self) -> list:
        torch = import_torch()
        return [m for m in self.model_.modules() if isinstance(m, torch.nn.Dropout)]

    # ------------------------------------------------------------------ saving

    def state(self) -> dict:
        """Everything needed to rebuild the trained network, as plain Python values and tensors
        (safe for ``torch.save`` and ``torch.load(weights_only=True)``; nothing is pickled)."""
        check_is_fitted(self)
        state = {
            "config": self.get_params(),
            "state_dict": {
                k: v.detach().cpu().clone() for k, v in self.model_.state_dict().items()
            },
            "classes": self.classes_.tolist() if hasattr(self, "classes_") else None,
            "n_features": int(self.n_features_in_),
            "n_outputs": int(self.n_outputs_),
            "epochs_trained": int(self.epochs_trained_),
            "best_epoch": int(getattr(self, "best_epoch_", self.epochs_trained_)),
        }
        if hasattr(self, "y_mean_"):
            state["target"] = {
                "mean": self.y_mean_.tolist(),
                "std": self.y_std_.tolist(),
                "one_dimensional": bool(getattr(self, "_y_1d", True)),
            }
        return state

    @classmethod
    def from_state(cls, state: dict, device: str | None = None) -> MLPEstimator:
        """Rebuild an estimator from ``state()``; ``device`` overrides the saved device."""
        config = dict(state["config"])
        if device is not None:
            config["device"] = device
        est = cls(**config)
        est._check_params()
        if state.get("classes") is not None:
            est.classes_ = np.asarray(state["classes"])
        if state.get("target") is not None:
            est.y_mean_ = np.asarray(state["target"]["mean"], dtype=np.float64)
            est.y_std_ = np.asarray(state["target"]["std"], dtype=np.float64)
            est._y_1d = bool(state["target"].get("one_dimensional", True))
        est._build(int(state["n_features"]), int(state["n_outputs"]))
        est.model_.load_state_dict(state["state_dict"])
        est._X_train = est._y_train = None
        est.epochs_trained_ = int(state.get("epochs_trained", 0))
        est.best_epoch_ = int(state.get("best_epoch", est.epochs_trained_))
        est.loss_curve_ = []
        torch = import_torch()
        est._loss_fn = (
            torch.nn.CrossEntropyLoss() if est.task == Task.CLASSIFICATION else torch.nn.MSELoss()
        )
        return est


class _OneTask(MLPEstimator):
    """The network with its task fixed by the class: scikit-learn reads an estimator's
    parameters from its __init__ signature, so this one lists them all, without ``task``."""

    def __init__(
        self,
        learning_rate=1e-3,
        batch_size=64,
        n_layers=2,
        width=64,
        dropout=0.1,
        weight_decay=1e-5,
        epochs=50,
        patience=0,
        random_state=0,
        device="auto",
    ):
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_layers = n_layers
        self.width = width
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.patience = patience
        self.random_state = random_state
        self.device = device


class MLPClassifier(ClassifierMixin, _OneTask):
    """The studio's network as a scikit-learn classifier, for your own pipelines and searches
    (``MLPEstimator(task="classification")`` with ClassifierMixin; no ``task`` parameter)."""

    task = Task.CLASSIFICATION.value


class MLPRegressor(RegressorMixin, _OneTask):
    """The studio's network as a scikit-learn regressor (one or several targets), for your own
    pipelines and searches (``MLPEstimator(task="regression")`` with RegressorMixin)."""

    task = Task.REGRESSION.value
