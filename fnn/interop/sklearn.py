"""scikit-learn estimators around fnn's functional core: :class:`FNNClassifier` and :class:`FNNRegressor`.

They hold hyper-parameters only; ``fit`` builds a spec with :func:`fnn.network`, draws it with
:func:`fnn.init_params` and trains with :func:`fnn.fit`, keeping the resulting :class:`fnn.TrainState` in
``state_`` (its ``params`` in ``params_``, its per-epoch :class:`fnn.History` in ``history_``). So they go where
scikit-learn estimators go: a ``Pipeline``, ``GridSearchCV``, ``cross_val_score``, joblib's process or Dask
backends. Needs the ``fnn[sklearn]`` extra.

>>> from fnn.interop.sklearn import FNNClassifier
>>> x, y = fnn.data.iris().as_tuple()
>>> names = np.array(["setosa", "versicolor", "virginica"])[y]
>>> clf = FNNClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=50, random_state=0).fit(x, names)
>>> clf.classes_.tolist(), clf.score(x, names) > 0.9, len(clf.history_)
(['setosa', 'versicolor', 'virginica'], True, 50)

``random_state`` follows scikit-learn: an int makes a fit reproducible (the same int gives byte-identical
predictions), a ``np.random.RandomState`` or ``Generator`` gives one seed drawn from it, and None a fresh seed each
fit. Whatever it was, the seed used is kept in ``seed_``, so any fit can be repeated exactly with
``random_state=est.seed_``.

Computation happens in ``dtype`` (float32 by default, as everywhere in fnn); inputs of any numeric dtype, lists and
DataFrames are converted to it, and ``predict`` (regressor) and ``predict_proba`` return float64, as
scikit-learn's estimators do (the cast from float32 is exact).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from fnn.arrays import as_float_dtype
from fnn.core.activations import Activation, get_activation
from fnn.core.metrics import predict as network_outputs
from fnn.core.params import Params, init_params
from fnn.core.spec import network, spec_from_config
from fnn.core.validate import prepare_targets
from fnn.errors import FnnInputError
from fnn.limits import require_memory, training_bytes
from fnn.optim import Optimizer, add_l2, chain, get_optimizer
from fnn.run.settings import SETTINGS, Setting
from fnn.store.codec import decode, encode
from fnn.train.loop import fit as fit_network
from fnn.train.loop import validation_split
from fnn.train.options import BadValue
from fnn.train.state import History, TrainState

PARAMETERS: dict[str, Setting] = {setting.sklearn: setting for setting in SETTINGS if setting.sklearn}
"""The estimators' parameters that are run settings, by parameter name: each is checked by its setting's check,
with the same words as ``fnn train`` and ``fnn.fit``. Where scikit-learn's ``MLPClassifier`` has the parameter it
has its name (``hidden_layer_sizes`` is ``hidden``, ``learning_rate_init`` ``lr``, ``alpha`` ``l2``, ``max_iter``
``epochs``, ``validation_fraction`` ``validation``, ``n_iter_no_change`` ``patience``, ``random_state`` ``seed``),
elsewhere the setting's own (``optimizer``, ``drop_rate``, ``dtype``).

>>> PARAMETERS["learning_rate_init"].name, PARAMETERS["max_iter"].name, PARAMETERS["n_iter_no_change"].name
('lr', 'epochs', 'patience')
"""


class _FNNEstimator(BaseEstimator):
    """What both estimators share: hyper-parameters, seeding, the training call and pickling."""

    state_: TrainState  # set by fitting

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (100,),
        activation: Any = "relu",
        optimizer: str | Optimizer = "adam",
        learning_rate_init: float | None = 0.001,
        alpha: float = 0.0,
        batch_size: int = 32,
        max_iter: int = 100,
        drop_rate: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        shuffle: bool = True,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        dtype: Any = "float32",
        class_weight: str | dict[Any, float] | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.drop_rate = drop_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.random_state = random_state
        self.dtype = dtype
        self.class_weight = class_weight

    # --- what the two estimators fill in -------------------------------------------------------------------------
    def _output(self):
        """``(n_outputs, output activation)`` for the fitted targets."""
        raise NotImplementedError

    # --- checking hyper-parameters (at fit time, as scikit-learn does) -----------------------------------------
    def _bad(self, name, expected):
        return FnnInputError(
            f"The {name!r} parameter of {type(self).__name__} must be {expected}. Got {getattr(self, name)!r} instead."
        )

    def _checked(self, name):
        """The parameter ``name`` checked by its run setting's check (:data:`PARAMETERS`)."""
        try:
            return PARAMETERS[name].convert(getattr(self, name))
        except BadValue as expected:
            raise self._bad(name, str(expected)) from None

    def _check_hyperparameters(self):
        sizes = self._checked("hidden_layer_sizes")
        for name in ("max_iter", "batch_size", "n_iter_no_change", "alpha", "validation_fraction"):
            self._checked(name)
        given = self.activation if isinstance(self.activation, (list, tuple)) else [self.activation]
        if not any(isinstance(item, Activation) for item in given):  # by name (an fnn.Activation checks itself)
            self._checked("activation")
        if self._checked("drop_rate") and not sizes:
            raise self._bad("drop_rate", "0 for a network without hidden layers (hidden_layer_sizes=())")
        if self.early_stopping and not self.validation_fraction:
            raise self._bad("validation_fraction", "a number > 0 and < 1 when early_stopping is on")
        if self.early_stopping and not self.n_iter_no_change:
            raise self._bad("n_iter_no_change", "an int >= 1 when early_stopping is on")
        return sizes, self._dtype()

    def _dtype(self):
        if not isinstance(self.dtype, (type, np.dtype)):  # by name (np.float32 and the like check themselves)
            self._checked("dtype")
        return as_float_dtype(self.dtype, type(self).__name__, "dtype")

    def _optimizer(self):
        penalty = [add_l2(float(self.alpha))] if self.alpha else []
        if isinstance(self.optimizer, Optimizer):
            if self.learning_rate_init is not None:
                raise self._bad("learning_rate_init", "None when optimizer is a fnn.optim optimiser (give it its own lr)")
            return chain(*penalty, self.optimizer) if penalty else self.optimizer
        name = self._checked("optimizer")
        chosen = get_optimizer(name) if self.learning_rate_init is None else get_optimizer(name, lr=self._checked("learning_rate_init"))
        return chain(*penalty, chosen) if penalty else chosen

    def _hidden_activations(self, n_hidden):
        """One :class:`fnn.Activation` per hidden layer, from ``activation`` (one, or a list with one per layer)."""
        given = self.activation
        many = isinstance(given, (list, tuple))
        if many and len(given) != n_hidden:
            raise self._bad("activation", f"one activation or a list of {n_hidden} (one per hidden layer)")
        function = f"interop.sklearn.{type(self).__name__}"
        return [get_activation(item, function, "activation") for item in (given if many else [given] * n_hidden)]

    def _draw_seed(self):
        state = self.random_state
        if state is None:
            return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        if isinstance(state, np.random.RandomState):
            return int(state.randint(np.iinfo(np.int32).max))
        if isinstance(state, np.random.Generator):
            return int(state.integers(np.iinfo(np.int32).max))
        return self._checked("random_state")  # an int, as the run setting seed (or None, above)

    # --- training ------------------------------------------------------------------------------------------------
    def _class_weight(self):
        """``class_weight`` as :func:`fnn.fit` takes it: ``"balanced"``, or a mapping class index -> weight."""
        return None

    def _train(self, x, y, epochs, incremental, stop_early, sample_weight=None):
        """Train ``epochs`` epochs on prepared ``(x, y)``: on from ``state_`` when ``incremental``, else afresh;
        ``sample_weight`` (any array-like, checked as scikit-learn does) weighs the samples."""
        sizes, dtype = self._check_hyperparameters()
        options = dict(optimizer=self._optimizer(), batch_size=int(self.batch_size), shuffle=bool(self.shuffle))
        if sample_weight is not None:
            options["sample_weight"] = _check_sample_weight(sample_weight, x, dtype=np.float64, ensure_non_negative=True)
        options["class_weight"] = self._class_weight()
        options["drop_rate"] = float(self.drop_rate)
        if stop_early:
            options.update(validation=float(self.validation_fraction), patience=int(self.n_iter_no_change), monitor="val_loss")
        n_outputs, output = self._output()
        spec = network([x.shape[1], *sizes, n_outputs], activation=[*self._hidden_activations(len(sizes)), output])
        require_memory(  # before anything is allocated, naming the estimator's own settings
            training_bytes(spec.sizes, np.dtype(dtype).itemsize, min(int(self.batch_size), x.shape[0])),
            f"hidden_layer_sizes={self.hidden_layer_sizes!r}, batch_size={self.batch_size!r}: training the network "
            f"{'-'.join(map(str, spec.sizes))} ({np.dtype(dtype)})",
        )
        start: Params | TrainState
        if incremental:
            start = self.state_
            if start.params.spec != spec or start.params.dtype != dtype:
                raise FnnInputError(
                    f"{type(self).__name__} cannot go on training its {start.params.spec!r} ({start.params.dtype}) "
                    f"as {spec!r} ({dtype}): hidden_layer_sizes, activation and dtype must stay as they were for "
                    f"warm_start and partial_fit (or set warm_start=False to start afresh)."
                )
        else:
            self.seed_ = self._draw_seed()
            start = init_params(spec, seed=self.seed_, dtype=dtype)
            options["seed"] = self.seed_
        trained_rows = self._trained_rows(start, x, y) if stop_early else x.shape[0]
        before = start.epoch if isinstance(start, TrainState) else 0
        self.state_ = fit_network(start, (x, y), epochs=int(epochs), **options)
        self.n_iter_ = len(self.state_.history)
        self.t_ = (getattr(self, "t_", 0) if incremental else 0) + (self.state_.epoch - before) * trained_rows
        return self

    def _trained_rows(self, start: Params | TrainState, x: Any, y: np.ndarray) -> int:
        """The rows trained on beside the held-out validation part, refusing data too small for both (as
        scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` do, with a ValueError)."""
        params = start.params if isinstance(start, TrainState) else start
        prepared = prepare_targets(params, y, x.shape[0], "fit", "y")
        train, validation = validation_split(params, prepared, float(self.validation_fraction), self.seed_)
        if not len(train) or not len(validation):
            raise FnnInputError(
                f"{type(self).__name__} with early_stopping=True holds out validation_fraction="
                f"{self.validation_fraction} of the data, but with n_samples={x.shape[0]} the training part has "
                f"{len(train)} and the validation set {len(validation)} rows: the validation set is too small. "
                f"Increase validation_fraction or the size of the data set, or set early_stopping=False."
            )
        return len(train)

    def _features(self, X, reset):
        return validate_data(self, X, reset=reset, dtype=self._dtype(), accept_sparse="csr", order="C")

    @property
    def params_(self) -> Params:
        """The fitted :class:`fnn.Params` (``state_.params``)."""
        check_is_fitted(self, "state_")
        return self.state_.params

    @property
    def history_(self) -> History:
        """The per-epoch :class:`fnn.History` of every fit so far (``state_.history``)."""
        check_is_fitted(self, "state_")
        return self.state_.history

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrix of each layer, ``(inputs, outputs)``, as ``MLPClassifier.coefs_``."""
        return [layer.w for layer in self.params_.layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vector of each layer, as ``MLPClassifier.intercepts_``."""
        return [layer.b for layer in self.params_.layers]

    @property
    def n_layers_(self) -> int:
        """Layers counted as scikit-learn counts them: input, hidden and output."""
        return len(self.params_.layers) + 1

    @property
    def out_activation_(self) -> str:
        """The output activation by scikit-learn's name: ``'logistic'``, ``'softmax'`` or ``'identity'``."""
        name = self.params_.spec.output_activation.name
        return "logistic" if name == "sigmoid" else name

    @property
    def loss_curve_(self) -> list[float]:
        """The training loss of each epoch in ``history_`` (the mean over its mini-batches)."""
        return [record.loss for record in self.history_]

    @property
    def best_loss_(self) -> float | None:
        """The least training loss, or None with early stopping (which keeps the best validation epoch instead)."""
        return None if self.early_stopping else min(self.loss_curve_, default=None)

    @property
    def validation_scores_(self) -> list[float] | None:
        """With early stopping, the score of each epoch on the held-out part (accuracy, or R^2 for a regressor)."""
        if not self.early_stopping:
            return None
        scores = (record.val_accuracy if record.val_accuracy is not None else record.val_r2 for record in self.history_)
        return [float(score) for score in scores if score is not None]

    @property
    def best_validation_score_(self) -> float | None:
        """The best of ``validation_scores_``, or None without early stopping."""
        scores = self.validation_scores_
        return None if scores is None else max(scores, default=None)

    def _outputs(self, X):
        check_is_fitted(self, "state_")
        return network_outputs(self.state_.params, self._features(X, reset=False))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.sparse = True
        return tags

    # A fitted state holds activation functions, which pickle cannot carry (lambdas): a pickle (joblib's processes,
    # Dask) carries it as the codec's description and arrays, with the spec's config, and rebuilds it on arrival.
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if "state_" in state:
            fitted = state["state_"]
            spec = fitted.params.spec
            tree, arrays = encode(fitted, spec, f"pickling {type(self).__name__}", what="the fitted state")
            state = dict(state, state_={"spec": spec.to_config(), "tree": tree, "arrays": arrays})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "state_" in state:
            stored, where = state["state_"], f"unpickling {type(self).__name__}"
            fitted = decode(stored["tree"], stored["arrays"], spec_from_config(stored["spec"]), where, what="the fitted state")
            state = dict(state, state_=fitted)
        super().__setstate__(state)


class FNNClassifier(ClassifierMixin, _FNNEstimator):
    """A multilayer perceptron classifier trained by :func:`fnn.fit`.

    Labels may be of any type (ints, strings...); ``classes_`` holds them sorted. Two classes give one sigmoid
    output (binary cross-entropy), more a softmax (cross-entropy). Multilabel targets (a 0/1 indicator matrix, one
    column per label, as ``MLPClassifier`` takes them) give one sigmoid output per label; ``classes_`` is then
    ``arange(n_labels)``, and ``predict`` returns the indicator matrix of the outputs above 0.5.

    Parameters: the run settings of ``fnn train`` (:data:`PARAMETERS` maps them), by scikit-learn's ``MLPClassifier``
    names where it has them, checked by the same checks: ``hidden_layer_sizes`` (``--hidden``) units per hidden
    layer; ``activation`` of the hidden layers (an fnn activation name or :class:`fnn.Activation`, or a list with
    one per hidden layer); ``optimizer`` a :mod:`fnn.optim` name (or optimiser, with ``learning_rate_init=None``);
    ``learning_rate_init`` (``--lr``) its step size; ``alpha`` (``--l2``) the L2 penalty on the weights;
    ``batch_size``; ``max_iter`` (``--epochs``) passes over the data per ``fit``; ``drop_rate`` the rate of
    dropping hidden units in training; ``early_stopping`` holds out ``validation_fraction`` (``--validation``) of
    the data (stratified) and stops once its loss has not improved for ``n_iter_no_change`` (``--patience``)
    epochs, keeping the best epoch's parameters; ``shuffle`` the batches each epoch; ``warm_start`` makes ``fit``
    go on from the last fit; ``random_state`` (``--seed``; see the module); ``dtype`` float32 or float64.
    Defaults are ``MLPClassifier``'s where ``fnn train``'s differ: hidden_layer_sizes=(100,), optimizer='adam',
    learning_rate_init=0.001, n_iter_no_change=10, random_state=None; and max_iter=100.

    Fitted: ``classes_``, ``n_features_in_``, ``feature_names_in_`` (from a DataFrame), ``state_`` (the
    :class:`fnn.TrainState`), ``params_``, ``history_``, ``n_iter_`` (the epochs in ``history_``: with early
    stopping, up to the best epoch, whose parameters are kept) and ``seed_``; and ``MLPClassifier``'s names for
    what fnn has: ``coefs_``, ``intercepts_``, ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``, ``n_layers_``, ``n_outputs_``, ``out_activation_`` and ``t_`` (training rows seen).

    ``X`` may be any real array-like, a DataFrame, or a SciPy sparse matrix (made dense one mini-batch at a time,
    never whole). With ``early_stopping``, data too small to hold out a validation part is refused with a
    ``ValueError``, as ``MLPClassifier`` refuses it.

    Given by name, every parameter pickles (joblib's processes, Dask); a :mod:`fnn.optim` optimiser or an
    :class:`fnn.Activation` object holds functions pickle cannot carry, so an estimator given one stays in one
    process (``n_jobs=1``).

    >>> x, y = fnn.data.moons(100, seed=0).as_tuple()
    >>> clf = FNNClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=20, random_state=0).fit(x, y)
    >>> clf.classes_.tolist(), clf.predict_proba(x[:2]).shape
    ([0, 1], (2, 2))
    """

    def _output(self):
        if self._multilabel:
            return len(self.classes_), "sigmoid"
        return (1, "sigmoid") if len(self.classes_) == 2 else (len(self.classes_), "softmax")

    def _labels(self, y):
        """``y`` as indices into ``classes_`` (a multilabel indicator matrix as floats), refusing labels the fitted
        classifier does not know."""
        if self._multilabel:
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise FnnInputError(
                    f"y has {type_of_target(y)} targets, but FNNClassifier was fitted on {len(self.classes_)} labels "
                    f"(an indicator matrix of {len(self.classes_)} columns)."
                )
            return y.astype(self._dtype())
        if y.ndim != 1:
            raise FnnInputError("y is a multilabel indicator matrix, but FNNClassifier was fitted on one label per sample.")
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise FnnInputError(
                f"y has labels {np.unique(y[unknown]).tolist()[:5]} that are not among classes_ "
                f"{self.classes_.tolist()}."
            )
        return index.astype(np.int64)

    def _targets(self, X, y, reset):
        x, y = validate_data(self, X, y, reset=reset, dtype=self._dtype(), accept_sparse="csr", order="C", multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise FnnInputError(
                f"FNNClassifier needs one label per sample (binary or multiclass) or a multilabel indicator matrix; "
                f"got {kind} targets."
            )
        return x, y

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FNNClassifier:
        """Train on ``X`` (n_samples, n_features) and labels ``y``, weighing the samples by ``sample_weight``;
        returns self.

        >>> x, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array(["a", "a", "a", "b"])
        >>> clf = FNNClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0, class_weight="balanced")
        >>> clf.fit(x, y, sample_weight=[1, 1, 2, 1]).history_[-1].weighted
        True
        """
        continues = bool(self.warm_start) and hasattr(self, "state_")
        x, y = self._targets(X, y, reset=not continues)
        if not continues:
            self._multilabel = y.ndim == 2
            self._set_classes(np.arange(y.shape[1]) if self._multilabel else np.unique(y))
        return self._train(x, self._labels(y), self.max_iter, continues, bool(self.early_stopping), sample_weight)

    def _class_weight(self):
        weights = self.class_weight
        if weights is None or isinstance(weights, str):
            return weights
        if not isinstance(weights, dict):
            raise self._bad("class_weight", "None, 'balanced' or a dict label -> weight")
        unknown = [label for label in weights if label not in self.classes_]
        if unknown:
            raise self._bad("class_weight", f"a dict whose keys are among classes_ {self.classes_.tolist()}")
        return {int(np.searchsorted(self.classes_, label)): weight for label, weight in weights.items()}

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> FNNClassifier:
        """Train one more epoch on ``X, y`` (the first call needs ``classes``, every label there will be)."""
        first = not hasattr(self, "state_")
        if first and classes is None:
            raise FnnInputError("FNNClassifier.partial_fit needs classes= (all labels) on its first call.")
        if classes is not None and not first and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise FnnInputError(
                f"classes={list(classes)} differs from classes_ {self.classes_.tolist()} of the first call."
            )
        x, y = self._targets(X, y, reset=first)
        if y.ndim != 1:
            raise FnnInputError("FNNClassifier.partial_fit takes one label per sample; train on multilabel targets with fit.")
        if first:
            self._multilabel = False
            self._set_classes(np.unique(np.asarray(classes)))
        return self._train(x, self._labels(y), 1, incremental=not first, stop_early=False, sample_weight=sample_weight)

    def _set_classes(self, classes):
        if len(classes) < 2:
            raise FnnInputError(f"FNNClassifier needs at least 2 classes to learn from; got 1 class ({classes[0]!r}).")
        self.classes_ = classes

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_`` (float64)."""
        outputs = self._outputs(X).astype(np.float64)
        return np.hstack([1 - outputs, outputs]) if len(self.classes_) == 2 and not self._multilabel else outputs

    @property
    def n_outputs_(self) -> int:
        """The network's output units: 1 for two classes (one sigmoid), else one per class or label."""
        return self.params_.spec.sizes[-1]

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The natural logarithm of :meth:`predict_proba` (float64; ``-inf`` where a probability is 0).

        >>> clf = FNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit([[0.0], [1.0]], ["a", "b"])
        >>> np.allclose(np.exp(clf.predict_log_proba([[0.5]])), clf.predict_proba([[0.5]]))
        True
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, as a label from ``classes_`` (multilabel: the indicator matrix)."""
        probabilities = self.predict_proba(X)
        if self._multilabel:
            return (probabilities > 0.5).astype(np.int64)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class FNNRegressor(RegressorMixin, _FNNEstimator):
    """A multilayer perceptron regressor (identity output, mean squared error) trained by :func:`fnn.fit`.

    ``y`` is one target per sample or one row of targets; ``predict`` returns the same shape, in float64.
    Parameters and fitted attributes are :class:`FNNClassifier`'s, less ``classes_`` and ``class_weight``
    (which must stay None).

    >>> x = np.linspace(-1, 1, 40).reshape(-1, 1)
    >>> reg = FNNRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=20, random_state=0).fit(x, x[:, 0] ** 2)
    >>> reg.predict(x[:2]).dtype, reg.n_iter_
    (dtype('float64'), 20)
    """

    def _output(self):
        return self.n_outputs_, "identity"

    def _targets(self, X, y, reset):
        x, y = validate_data(
            self, X, y, reset=reset, dtype=self._dtype(), accept_sparse="csr", order="C", multi_output=True, y_numeric=True
        )
        y = np.asarray(y, dtype=self._dtype())
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if reset:
            self._y_ndim, self.n_outputs_ = y.ndim, n_outputs
        elif n_outputs != self.n_outputs_:
            raise FnnInputError(
                f"y has {n_outputs} target{'s' * (n_outputs != 1)} per sample, but {type(self).__name__} was fitted "
                f"on {self.n_outputs_}: warm_start and partial_fit go on with the same targets (or set "
                f"warm_start=False to start afresh)."
            )
        return x, y.reshape(len(y), n_outputs)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FNNRegressor:
        """Train on ``X`` (n_samples, n_features) and targets ``y``, weighing the samples by ``sample_weight``;
        returns self."""
        continues = bool(self.warm_start) and hasattr(self, "state_")
        x, y = self._targets(X, y, reset=not continues)
        return self._train(x, y, self.max_iter, continues, bool(self.early_stopping), sample_weight)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> FNNRegressor:
        """Train one more epoch on ``X, y``."""
        first = not hasattr(self, "state_")
        x, y = self._targets(X, y, reset=first)
        return self._train(x, y, 1, incremental=not first, stop_early=False, sample_weight=sample_weight)

    def _class_weight(self):
        if self.class_weight is not None:
            raise self._bad("class_weight", "None for a regressor (it has no classes)")
        return None

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets (float64), shaped like the ``y`` the model was fitted on."""
        outputs = self._outputs(X).astype(np.float64)
        return outputs.ravel() if self._y_ndim == 1 else outputs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
