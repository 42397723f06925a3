"""scikit-learn estimators around numnet networks: NumnetClassifier and NumnetRegressor.

They follow scikit-learn's conventions (parameters stored as given and checked in ``fit``, fitted
attributes ending in ``_``, ``clone``, ``get_params``/``set_params``), so a numnet network works in
``Pipeline``, ``GridSearchCV``, ``cross_val_score``, and on a Dask cluster through joblib. The fitted
network ``model_`` is an ordinary numnet ``Sequential``: save it, explain it, serve it.

Needs scikit-learn (the ``sklearn`` extra); ``import numnet`` does not import this module.

Example:
    >>> from numnet.sklearn import NumnetClassifier
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = NumnetClassifier(hidden_layer_sizes=(64,), epochs=20, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
"""

from __future__ import annotations

import copy
import inspect
import numbers
from typing import Any, Dict, List, Optional

import numpy as np

#: what the sklearn extra installs (pyproject.toml)
REQUIREMENT = "scikit-learn==1.9.1"
try:
    import sklearn  # noqa: F401
except ImportError as error:
    raise ImportError(f"numnet.sklearn needs scikit-learn: pip install 'numnet[sklearn]' (or pip install {REQUIREMENT})") from error
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import validation
from .callbacks import EarlyStopping
from .functional import softmax
from .layers import Dense, Dropout, Layer, ReLU, Sigmoid, Tanh
from .losses import MSE, CrossEntropy
from .model import Sequential
from .optimizers import SGD, Adagrad, Adam, Optimizer, RMSprop

#: hidden-layer activations by scikit-learn's names ("identity": none)
ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "logistic": Sigmoid, "identity": None}
#: optimizers by name; each is called as Optimizer(learning_rate, weight_decay=...)
OPTIMIZERS = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad}
#: batch_size="auto" takes min(AUTO_BATCH_SIZE, training samples), as scikit-learn's MLP does
AUTO_BATCH_SIZE = 200
#: what a model builder may ask for by name, besides the input and output sizes
BUILDER_EXTRAS = ("input_shape", "rng", "dtype")


class _NumnetEstimator(BaseEstimator):
    """What NumnetClassifier and NumnetRegressor share: the parameters, the network, the training."""

    def __init__(
        self, model=None, *, hidden_layer_sizes=(100,), activation="relu", optimizer="adam", learning_rate=0.001,
        batch_size="auto", epochs=100, alpha=0.0001, dropout=0.0, early_stopping=False, validation_fraction=0.1,
        n_iter_no_change=10, tol=1e-4, random_state=None, verbose=0, warm_start=False,
    ):
        self.model = model
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.alpha = alpha
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # -- fitting (each subclass defines _targets(y, first, classes), _n_outputs() and _loss(y)) -------- ----------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train a network on X (N, features) and y for ``epochs`` epochs; returns self.

        A new network is built unless warm_start=True and one was fitted before (then training goes on
        from its weights and its optimizer state). sample_weight (N,): each batch's loss is the weighted
        mean Σ wₙ ℓₙ / Σ wₙ.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental: bool, classes: Any = None):
        self._check_params()
        first = not hasattr(self, "model_") or not (self.warm_start or incremental)
        X, y = validate_data(
            self, X, y, reset=first, allow_nd=self.model is not None, dtype=(np.float64, np.float32),
            multi_output=isinstance(self, RegressorMixin), y_numeric=isinstance(self, RegressorMixin),
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        targets = self._targets(y, first, classes)
        if first:
            self._seeds = _seed_sequence(self.random_state)
            self.model_ = self._build(X, targets)
            self.optimizer_ = self._make_optimizer()
            self.loss_curve_: List[float] = []
            self.n_iter_ = 0
        self.loss_ = self._loss(y)
        epochs = 1 if incremental else self.epochs
        X_train, y_train, weight_train = X, targets, sample_weight
        callbacks, validation_data = [], None
        if self.early_stopping and not incremental:  # partial_fit trains on all it is given
            X_train, X_val, y_train, y_val, weight_train, weight_val = self._split(X, targets, sample_weight)
            validation_data = (X_val, y_val, weight_val)
            callbacks.append(_EarlyStopping(verbose=bool(self.verbose), monitor="val_loss", patience=self.n_iter_no_change,
                                            min_delta=self.tol, restore_best_weights=True))
        seed = int(self._seeds.spawn(1)[0].generate_state(1)[0])  # a new shuffling order for every call
        self.history_ = self.model_.fit(
            X_train, y_train, loss=self.loss_, optimizer=self.optimizer_, epochs=epochs,
            batch_size=self._batch_size(len(X_train)), seed=seed, validation_data=validation_data, metrics=[],
            callbacks=callbacks, verbose=min(int(self.verbose), 2), sample_weight=weight_train,
        )
        self.loss_curve_ = list(self.loss_curve_) + self.history_.history.get("loss", [])
        self.n_iter_ += len(self.history_.epoch)
        return self

    def _check_params(self) -> None:
        owner = type(self).__name__
        if self.model is not None and not (isinstance(self.model, Sequential) or callable(self.model)):
            raise TypeError(
                f"{owner}: model must be a numnet Sequential or a function (n_features_in, n_outputs) -> Sequential. "
                f"Received: {self.model!r}"
            )
        for size in self._hidden_sizes():
            validation.positive_int("hidden_layer_sizes", size, owner=owner)
        validation.one_of("activation", self.activation, ACTIVATIONS, owner=owner)
        if not (isinstance(self.optimizer, type) and issubclass(self.optimizer, Optimizer)):
            validation.one_of("optimizer", self.optimizer, OPTIMIZERS, owner=owner)
        validation.number("learning_rate", self.learning_rate, 0, low_inclusive=False, owner=owner)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            validation.positive_int("batch_size", self.batch_size, owner=owner)
        validation.positive_int("epochs", self.epochs, owner=owner)
        validation.number("alpha", self.alpha, 0, owner=owner)
        validation.number("dropout", self.dropout, 0, 1, high_inclusive=False, owner=owner)
        validation.boolean("early_stopping", self.early_stopping, owner=owner)
        validation.number("validation_fraction", self.validation_fraction, 0, 1, low_inclusive=False,
                          high_inclusive=False, owner=owner)
        validation.positive_int("n_iter_no_change", self.n_iter_no_change, owner=owner)
        validation.number("tol", self.tol, 0, owner=owner)
        if not isinstance(self.verbose, bool):
            validation.non_negative_int("verbose", self.verbose, owner=owner)
        validation.boolean("warm_start", self.warm_start, owner=owner)

    def _hidden_sizes(self) -> tuple:
        sizes = self.hidden_layer_sizes
        return (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)

    def _batch_size(self, samples: int) -> int:
        return min(AUTO_BATCH_SIZE, samples) if self.batch_size == "auto" else self.batch_size

    def _build(self, X: np.ndarray, targets: np.ndarray) -> Sequential:
        """A new network for inputs like X and ``n_outputs`` outputs (checked against what it gives)."""
        n_outputs = self._n_outputs()
        rng = np.random.default_rng(self._seeds.spawn(1)[0])
        if self.model is None:
            network = self._default_network(X.shape[1], n_outputs, rng, X.dtype)
        elif isinstance(self.model, Sequential):
            network = copy.deepcopy(self.model)  # the parameter stays as given; each fit starts from it
        else:
            extras = {"input_shape": X.shape[1:], "rng": rng, "dtype": X.dtype}
            network = self.model(X.shape[1], n_outputs, **_asked_for(self.model, extras))
        if not isinstance(network, Sequential):
            raise TypeError(f"{type(self).__name__}: model must build a numnet Sequential. It returned: {network!r}")
        outputs = network.forward(X[:1], training=False).shape[1:]
        if outputs != (n_outputs,):
            raise ValueError(
                f"{type(self).__name__}: the network gives outputs of shape (N, {', '.join(map(str, outputs))}), "
                f"but the targets need (N, {n_outputs}); make its last layer Dense(..., {n_outputs})"
            )
        return network

    def _default_network(self, n_features: int, n_outputs: int, rng: np.random.Generator, dtype: np.dtype) -> Sequential:
        """Dense layers of hidden_layer_sizes, each followed by the activation (and Dropout), then Dense to the outputs."""
        layers: List[Layer] = []
        width = n_features
        activation = ACTIVATIONS[self.activation]
        for units in self._hidden_sizes():
            layers.append(Dense(width, units, rng=rng, dtype=dtype))
            if activation is not None:
                layers.append(activation())
            if self.dropout:
                layers.append(Dropout(self.dropout, rng=rng))
            width = units
        layers.append(Dense(width, n_outputs, rng=rng, dtype=dtype))
        return Sequential(layers)

    def _make_optimizer(self) -> Optimizer:
        kind = self.optimizer if isinstance(self.optimizer, type) else OPTIMIZERS[self.optimizer]
        return kind(self.learning_rate, weight_decay=self.alpha)

    def _split(self, X, y, sample_weight):
        """The held-out validation part for early stopping: a random (for classes, stratified) fraction."""
        stratify = y if isinstance(self, ClassifierMixin) else None
        weights = np.ones(len(X)) if sample_weight is None else sample_weight
        X_train, X_val, y_train, y_val, w_train, w_val = train_test_split(
            X, y, weights, test_size=self.validation_fraction, stratify=stratify,
            random_state=int(self._seeds.spawn(1)[0].generate_state(1)[0]),
        )
        if sample_weight is None:
            w_train = w_val = None
        return X_train, X_val, y_train, y_val, w_train, w_val

    # -- predicting -------------------------------------------------------------------------------

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, allow_nd=self.model is not None, dtype=(np.float64, np.float32))
        return self.model_.predict(X)


class NumnetClassifier(ClassifierMixin, _NumnetEstimator):
    """A numnet network as a scikit-learn classifier: softmax cross-entropy on one output per class.

    Loss:     L = Σ ωₙ ℓₙ / Σ ωₙ,  ℓₙ = log Σ exp zₙ − zₙ,yₙ,  ωₙ = sample_weight[n] · class_weight[yₙ]
    Network:  Dense(features, h₁), activation, [Dropout], …, Dense(hₖ, classes), unless ``model`` builds one.

    Args:
        model: None for the network above, a numnet Sequential (copied at every new fit), or a function
            called as model(n_features_in, n_classes) -> Sequential; it is also given ``input_shape``
            (one sample's shape), ``rng`` (a numpy Generator from random_state) and ``dtype`` when its
            signature names them. With a model, X may have more axes, as images (N, C, H, W) for a CNN.
        hidden_layer_sizes: units of each hidden layer (default (100,)); () for a linear model.
        activation: "relu" (default), "tanh", "logistic" or "identity".
        optimizer: "adam" (default), "sgd", "rmsprop", "adagrad", or a numnet Optimizer class.
        learning_rate: the optimizer's step size (default 0.001).
        batch_size: samples per step, or "auto" (default): min(200, training samples).
        epochs: passes over the data in fit (default 100); partial_fit runs one.
        alpha: L2 penalty (default 0.0001): the optimizer's weight decay, g ← ∂L/∂w + α w for every
            parameter, i.e. (α/2)‖w‖² added to each batch's mean loss. scikit-learn's MLP divides its
            alpha by the batch size and spares the biases: its alpha=0.0001 with 200-sample batches
            is about alpha=5e-7 here.
        dropout: dropout rate after each hidden activation (default 0: none).
        early_stopping: in fit, hold out validation_fraction of the data (stratified), stop when its
            loss has not improved by tol for n_iter_no_change epochs, and keep the best epoch's weights.
        validation_fraction, n_iter_no_change, tol: see early_stopping (defaults 0.1, 10, 1e-4).
        class_weight: None, "balanced" (n_samples / (n_classes · count of the class)) or {class: weight}.
        random_state: None, an int or a numpy RandomState/Generator: initial weights, dropout masks,
            shuffling and the early-stopping split.
        verbose: 0 silent (default), 1 a progress bar per epoch, 2 one line per epoch.
        warm_start: fit continues from the fitted network instead of building a new one.

    Attributes:
        classes_, n_features_in_, feature_names_in_ (for DataFrames with string column names),
        model_ (the numnet Sequential), optimizer_, loss_ (the numnet loss), history_ (of the last
        fit), loss_curve_ (the training loss of every epoch so far), n_iter_ (epochs so far).

    predict returns the class of the largest output, predict_proba the softmax of the outputs.
    """

    def __init__(
        self, model=None, *, hidden_layer_sizes=(100,), activation="relu", optimizer="adam", learning_rate=0.001,
        batch_size="auto", epochs=100, alpha=0.0001, dropout=0.0, early_stopping=False, validation_fraction=0.1,
        n_iter_no_change=10, tol=1e-4, class_weight=None, random_state=None, verbose=0, warm_start=False,
    ):
        super().__init__(
            model, hidden_layer_sizes=hidden_layer_sizes, activation=activation, optimizer=optimizer,
            learning_rate=learning_rate, batch_size=batch_size, epochs=epochs, alpha=alpha, dropout=dropout,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, random_state=random_state, verbose=verbose,
            warm_start=warm_start,
        )
        self.class_weight = class_weight

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over X, y, continuing from the fitted network (building it on the first call,
        which needs ``classes``, every class that will ever be seen); returns self."""
        if not hasattr(self, "model_") and classes is None:
            raise ValueError(f"{type(self).__name__}: the first call to partial_fit needs classes= (every class label)")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _targets(self, y, first, classes=None):
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if classes is not None and not np.isin(np.unique(y), self.classes_).all():
                raise ValueError(f"{type(self).__name__}: y holds labels outside classes={self.classes_.tolist()}: "
                                 f"{np.setdiff1d(np.unique(y), self.classes_).tolist()}")
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"{type(self).__name__}: y holds labels the fitted network has no output for: {unknown.tolist()}; "
                f"its classes are {self.classes_.tolist()}"
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _build(self, X, targets):
        network = super()._build(X, targets)
        network.metadata["class_names"] = [str(name) for name in self.classes_]
        return network

    def _loss(self, y) -> CrossEntropy:
        return CrossEntropy(class_weight=self._class_weights(y))

    def _class_weights(self, y) -> Optional[np.ndarray]:
        """One weight per entry of classes_ from class_weight (None: all 1)."""
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, str):
            validation.one_of("class_weight", self.class_weight, ("balanced",), owner=type(self).__name__)
            present = np.unique(y)
            weights = np.ones(len(self.classes_))  # classes absent from this y: 1 (no samples to weigh)
            weights[np.searchsorted(self.classes_, present)] = compute_class_weight("balanced", classes=present, y=y)
            return weights
        if not isinstance(self.class_weight, dict):
            raise TypeError(f"{type(self).__name__}: class_weight must be None, 'balanced' or a dict {{class: weight}}. "
                            f"Received: {self.class_weight!r}")
        unknown = [label for label in self.class_weight if label not in set(self.classes_.tolist())]
        if unknown:
            raise ValueError(f"{type(self).__name__}: class_weight names classes that are not in the data: {unknown}")
        return np.array([self.class_weight.get(label, 1.0) for label in self.classes_.tolist()], dtype=np.float64)

    def predict(self, X):
        """The class of each row: classes_[argmax of the outputs]."""
        outputs = self._outputs(X)
        return self.classes_[outputs.argmax(axis=1)]

    def predict_proba(self, X):
        """The probability of each class (N, n_classes): the softmax of the outputs (the logits)."""
        return softmax(self._outputs(X))

    def predict_log_proba(self, X):
        """log predict_proba: z − log Σ exp z of the outputs z."""
        z = self._outputs(X)
        shifted = z - z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class NumnetRegressor(RegressorMixin, _NumnetEstimator):
    """A numnet network as a scikit-learn regressor: mean squared error on one output per target.

    Loss:     L = Σ wₙ ℓₙ / Σ wₙ,  ℓₙ = mean over the outputs of (ŷₙ − yₙ)²
    Network:  Dense(features, h₁), activation, [Dropout], …, Dense(hₖ, targets), unless ``model`` builds one.

    Takes the parameters of NumnetClassifier except class_weight (``model`` is called as
    model(n_features_in, n_targets)). y may be (N,) or (N, targets); predict returns the same shape.
    score is R².

    Attributes:
        n_outputs_, n_features_in_, feature_names_in_, model_, optimizer_, loss_, history_,
        loss_curve_, n_iter_ (as NumnetClassifier's).
    """

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y, continuing from the fitted network (building it on the first call); returns self."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _targets(self, y, first, classes=None):
        if first:
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self._target_ndim = y.ndim
        columns = 1 if y.ndim == 1 else y.shape[1]
        if columns != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: y has {columns} targets per sample; the fitted network predicts {self.n_outputs_}")
        return y.reshape(len(y), self.n_outputs_)

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def _loss(self, y) -> MSE:
        return MSE()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """The network's outputs: (N,) when fitted on y of shape (N,), else (N, targets)."""
        out = self._outputs(X)
        return out.reshape(len(out)) if self._target_ndim == 1 else out


class _EarlyStopping(EarlyStopping):
    """EarlyStopping whose closing message shows only when the estimator is verbose."""

    def __init__(self, verbose: bool, **options: Any) -> None:
        super().__init__(**options)
        self.verbose = verbose

    def on_train_end(self, logs=None):
        if self.verbose:
            super().on_train_end(logs)
        elif self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def _seed_sequence(random_state: Any) -> np.random.SeedSequence:
    """The root of every random stream of one fit: from an int, a numpy RandomState or Generator (a number
    drawn from it), or fresh entropy for None."""
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.SeedSequence(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(np.iinfo(np.int32).max)))
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    raise ValueError(f"random_state must be None, an int or a numpy RandomState or Generator. Received: {random_state!r}")


def _asked_for(function: Any, extras: Dict[str, Any]) -> Dict[str, Any]:
    """The entries of ``extras`` that ``function`` takes by name."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin or C callable: give it only the sizes
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(extras)
    return {name: value for name, value in extras.items() if name in parameters}
