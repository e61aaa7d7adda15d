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

The parameters are the run settings of ``fnn train`` (:data:`fnn.run.settings.SETTINGS`; a setting's ``sklearn``
names its parameter, :data:`PARAMETERS` maps back), each checked by the setting's own check with its words. Where
``MLPClassifier`` has the parameter it has its name, elsewhere the setting's own:

=================  ====================  ================================================================
setting            parameter             default, where it is not ``fnn train``'s
=================  ====================  ================================================================
hidden             hidden_layer_sizes    hidden_layer_sizes=(100,), MLPClassifier's
activation         activation            also an :class:`fnn.Activation`, or a list with one per layer
output             output                auto: sigmoid (two classes, or multilabel), softmax, identity
loss               loss                  auto: from the output; mse for the regressor
init               init                  init='glorot_uniform', MLPClassifier's initialisation
bias_init          bias_init
optimizer          optimizer             optimizer='adam', MLPClassifier's ``solver`` (which has
                                         lbfgs and no other fnn optimiser, hence fnn's name)
lr                 learning_rate_init    learning_rate_init=0.001, MLPClassifier's; None with an
                                         :mod:`fnn.optim` optimiser, which has its own
momentum           momentum              only used by sgd, momentum and nesterov (None: the optimiser's
                                         own, none for sgd); MLPClassifier's 0.9 is for its sgd, which
                                         is Nesterov's: optimizer='nesterov' is that
weight_decay       weight_decay          only used by adamw
schedule           learning_rate         the schedule, as MLPClassifier names it; fnn's schedules
clip_norm          clip_norm
l2                 alpha                 0, the table's: MLPClassifier's 0.0001 is divided by the batch's
                                         size, about 5e-7 in fnn's terms
epochs             max_iter              max_iter=100: every epoch is trained (no ``tol``)
batch_size         batch_size            32, the table's (MLPClassifier's 'auto' is min(200, n_samples))
validation         validation_fraction   only used with early_stopping=True, as MLPClassifier's
drop_rate          drop_rate
patience           n_iter_no_change      n_iter_no_change=10, MLPClassifier's; with early_stopping=True
monitor            monitor               what early_stopping watches
class_weight       class_weight          keys are class labels (``{"cat": 2}`` or ``"cat:2"``), as in
                                         scikit-learn; the regressor's stays None
metrics            metrics               with early_stopping=True (val_NAME) or train_metrics=True
train_metrics      train_metrics
diagnostics        diagnostics
seed               random_state          random_state=None, scikit-learn's: a seed drawn each fit
dtype              dtype                 also np.float32 or np.float64
threads            threads               None: the process's BLAS threads as they are
data, label        (none)                the data are ``fit``'s ``X`` and ``y``
drop               (none)                choose columns before the estimator (a ``ColumnTransformer``)
test_fraction      (none)                scikit-learn holds test data out (``train_test_split``, ``cv``)
task               (none)                implied: FNNClassifier classifies, FNNRegressor regresses
standardize        (none)                a ``StandardScaler`` in the ``Pipeline`` (and a
                                         ``TransformedTargetRegressor`` for targets), as for MLPClassifier
sample_weight      (none)                ``fit``'s ``sample_weight`` argument
tensorboard        (none)                a run folder's; ``history_`` holds every epoch
keep_checkpoints   (none)                a run folder's; ``state_`` is kept (and pickled) and
                                         ``warm_start`` and ``partial_fit`` go on from it
=================  ====================  ================================================================

``early_stopping``, ``shuffle`` and ``warm_start`` are scikit-learn's own switches. A parameter that applies to
some optimisers only (``momentum``, ``weight_decay``) is ignored by the others, as scikit-learn ignores it, so a
grid may sweep optimisers beside it; given another value than its default, it is ignored with a ``UserWarning``
that names it (``fnn train`` and ``fnn.fit`` refuse it instead).

``random_state`` follows scikit-learn: an int makes a fit reproducible (the same int gives byte-identical
predictions), a ``np.random.RandomState`` or ``Generator`` gives one seed drawn from it, and None a fresh seed each
fit. Whatever it was, the seed used is kept in ``seed_``, so any fit can be repeated exactly with
``random_state=est.seed_``.

Computation happens in ``dtype`` (float32 by default, as everywhere in fnn); inputs of any numeric dtype, lists and
DataFrames are converted to it, and ``predict`` (regressor) and ``predict_proba`` return float64, as
scikit-learn's estimators do (the cast from float32 is exact).
"""

from __future__ import annotations

import warnings
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
from attrs import evolve
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data
from threadpoolctl import threadpool_limits

from fnn.core.activations import Activation, get_activation
from fnn.core.losses import get_loss
from fnn.core.metrics import predict as network_outputs
from fnn.core.params import Params, init_params
from fnn.core.scores import METRICS
from fnn.core.spec import NetworkSpec, network, spec_from_config
from fnn.core.validate import prepare_targets
from fnn.errors import FnnInputError
from fnn.limits import require_memory, training_bytes
from fnn.optim import Optimizer, add_l2, chain, clip_by_global_norm, get_schedule
from fnn.run.build import build_optimizer
from fnn.run.settings import DEFAULTS, SETTINGS, Setting
from fnn.store.codec import decode, encode
from fnn.store.model import probabilities
from fnn.train.batches import batch_count
from fnn.train.loop import fit as fit_network
from fnn.train.loop import validation_split
from fnn.train.options import BadValue, bool_check, class_weight_of, unwatched
from fnn.train.state import History, TrainState

PARAMETERS: dict[str, Setting] = {setting.sklearn: setting for setting in SETTINGS if setting.sklearn}
"""The estimators' parameters that are run settings, by parameter name (the module's table): each is checked by its
setting's check, with the same words as ``fnn train`` and ``fnn.fit``.

>>> PARAMETERS["learning_rate_init"].name, PARAMETERS["max_iter"].name, PARAMETERS["learning_rate"].name
('lr', 'epochs', 'schedule')
"""

NOT_PARAMETERS: dict[str, str] = {
    "data": "the data are fit's X and y",
    "label": "the labels or targets are fit's y",
    "drop": "X holds the features to train on: choose columns before the estimator (a ColumnTransformer)",
    "test_fraction": "scikit-learn holds test data out itself (train_test_split, cross-validation)",
    "task": "implied by the estimator: FNNClassifier classifies, FNNRegressor regresses",
    "standardize": "a StandardScaler in the Pipeline, fitted per fold (a TransformedTargetRegressor for a "
    "regression's targets): the estimators train on X as given, as MLPClassifier does",
    "sample_weight": "fit's sample_weight argument, as scikit-learn's estimators take it",
    "tensorboard": "it streams into a run folder, which an estimator has not; history_ holds every epoch",
    "keep_checkpoints": "checkpoints are a run folder's; the fitted state is kept in state_ (and pickled), and "
    "warm_start and partial_fit go on from it",
}
"""Why a run setting has no estimator parameter, by the setting's name.

>>> NOT_PARAMETERS["task"]
'implied by the estimator: FNNClassifier classifies, FNNRegressor regresses'
"""

SKLEARN_DEFAULTS: dict[str, Any] = {
    "hidden_layer_sizes": (100,), "init": "glorot_uniform", "optimizer": "adam", "learning_rate_init": 0.001,
    "max_iter": 100, "n_iter_no_change": 10, "random_state": None,
}
"""The parameters whose default is not their setting's (the module's table says why): scikit-learn's, mostly.

>>> SKLEARN_DEFAULTS["learning_rate_init"]
0.001
"""

_PARAMETER_OF = {setting.name: name for name, setting in PARAMETERS.items()}  # a setting's parameter, by its name
_FOR_SOME_OPTIMIZERS = tuple(name for name, setting in PARAMETERS.items() if setting.optimizers)  # momentum, weight_decay
_SQUARED_LOSSES = ("mse", "quadratic")
_PAIRS = "balanced, or class:weight pairs such as 0:1,1:5"  # the class_weight setting's words for what it reads


def _threads(count: int | None) -> AbstractContextManager[Any]:
    """BLAS limited to ``count`` threads for a ``with`` block (None: as they are)."""
    return nullcontext() if count is None else threadpool_limits(limits=count, user_api="blas")


class _FNNEstimator(BaseEstimator):
    """What both estimators share: hyper-parameters, seeding, the training call and pickling."""

    state_: TrainState  # set by fitting
    _score = "accuracy"  # what each epoch records beside the loss: accuracy, or r2 for a regressor

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] | str = (100,),
        activation: str | Activation | tuple[str | Activation, ...] | list[str | Activation] = "relu",
        *,
        output: str = "auto",
        loss: str = "auto",
        init: str = "glorot_uniform",
        bias_init: str = "zeros",
        optimizer: str | Optimizer = "adam",
        learning_rate_init: float | None = 0.001,
        momentum: float | None = None,
        weight_decay: float = 0.01,
        learning_rate: str = "constant",
        clip_norm: float = 0.0,
        alpha: float = 0.0,
        batch_size: int = 32,
        max_iter: int = 100,
        validation_fraction: float = 0.1,
        drop_rate: float = 0.0,
        early_stopping: bool = False,
        n_iter_no_change: int = 10,
        monitor: str = "val_loss",
        class_weight: str | dict[Any, float] | None = None,
        metrics: str | tuple[str, ...] = (),
        train_metrics: bool = False,
        diagnostics: bool = False,
        shuffle: bool = True,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        dtype: str | type[np.floating[Any]] | np.dtype[Any] = "float32",
        threads: int | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output = output
        self.loss = loss
        self.init = init
        self.bias_init = bias_init
        self.optimizer = optimizer
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate = learning_rate
        self.clip_norm = clip_norm
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.validation_fraction = validation_fraction
        self.drop_rate = drop_rate
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.monitor = monitor
        self.class_weight = class_weight
        self.metrics = metrics
        self.train_metrics = train_metrics
        self.diagnostics = diagnostics
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.random_state = random_state
        self.dtype = dtype
        self.threads = threads

    # --- what the two estimators fill in -------------------------------------------------------------------------
    def _head(self, values: dict[str, Any]) -> tuple[int, str, str | None]:
        """``(n_outputs, output activation, loss or None for the output's)`` for the fitted targets."""
        raise NotImplementedError

    def _class_weight(self) -> str | dict[int, float] | None:
        """``class_weight`` as :func:`fnn.fit` takes it: ``"balanced"``, or a mapping class index -> weight."""
        raise NotImplementedError

    # --- checking hyper-parameters (at fit time, as scikit-learn does) -----------------------------------------
    def _bad(self, name: str, expected: str) -> FnnInputError:
        return FnnInputError(
            f"The {name!r} parameter of {type(self).__name__} must be {expected}. Got {getattr(self, name)!r} instead."
        )

    def _checked(self, name: str, value: Any) -> Any:
        """``value``, given as (or for) parameter ``name``, checked by its run setting's check."""
        try:
            return PARAMETERS[name].convert(value)
        except BadValue as expected:
            raise self._bad(name, str(expected)) from None

    def _switch(self, name: str) -> bool:
        """scikit-learn's switch ``name`` (``early_stopping``, ``shuffle``, ``warm_start``) by the check of the
        settings' switches: ``"no"`` is off, as ``--diagnostics`` and TOML's ``diagnostics = "no"`` are."""
        try:
            return bool_check(getattr(self, name))
        except BadValue as expected:
            raise self._bad(name, str(expected)) from None

    def _beside_the_table(self, name: str) -> bool:
        """Whether parameter ``name`` holds what only the estimators take (checked where it is used)."""
        value = getattr(self, name)
        if name == "activation":  # an fnn.Activation checks itself
            return any(isinstance(item, Activation) for item in (value if isinstance(value, (list, tuple)) else [value]))
        if name == "learning_rate_init":  # an optimiser object has its own learning rate
            return value is None and isinstance(self.optimizer, Optimizer)
        if name == "optimizer":
            return isinstance(value, Optimizer)
        if name == "random_state":
            return value is None or isinstance(value, (np.random.RandomState, np.random.Generator))
        return name in ("dtype", "class_weight")  # checked by _dtype and _class_weight, with the setting's check

    def _settings(self) -> dict[str, Any]:
        """Every parameter of :data:`PARAMETERS` checked, alone (by its setting's check) and together; by name."""
        values = {name: getattr(self, name) if self._beside_the_table(name) else self._checked(name, getattr(self, name)) for name in PARAMETERS}
        values.update(dtype=self._dtype(), class_weight=self._class_weight())
        early = self._switch("early_stopping")
        if early and not values["validation_fraction"]:
            raise self._bad("validation_fraction", "a number > 0 and < 1 when early_stopping is on")
        if early and not values["n_iter_no_change"]:
            raise self._bad("n_iter_no_change", "an int >= 1 when early_stopping is on")
        if values["metrics"] and not (early or values["train_metrics"]):
            raise self._bad("metrics", "() unless early_stopping=True (scored on the held-out part) or train_metrics=True")
        self._check_metrics(values)
        self._check_schedule(values)
        return values

    def _check_metrics(self, values: dict[str, Any]) -> None:
        """Metrics this estimator's network can score, and a ``monitor`` among what it records."""
        task = "classifier" if self._score == "accuracy" else "regression"
        unfit = [name for name in values["metrics"] if METRICS[name]().task not in ("any", task)]
        if unfit:
            known = ", ".join(name for name in METRICS if METRICS[name]().task in ("any", task))
            raise self._bad("metrics", f"metrics of a {task} ({known})")
        monitor, other = values["monitor"], "r2" if self._score == "accuracy" else "accuracy"
        why = unwatched(monitor, values["metrics"], values["train_metrics"])  # the one check of every door
        if why is None and monitor.removeprefix("val_") == other:
            why = f"watches {other}, which a {task} does not record; watch loss, {self._score} or a name of metrics"
        if why is not None:
            raise FnnInputError(f"The 'monitor' parameter of {type(self).__name__} {monitor!r} {why}.")

    def _check_schedule(self, values: dict[str, Any]) -> None:
        if isinstance(self.optimizer, Optimizer):
            if self.learning_rate_init is not None:
                raise self._bad("learning_rate_init", "None when optimizer is a fnn.optim optimiser (give it its own lr)")
            for name in ("learning_rate", *_FOR_SOME_OPTIMIZERS):
                if values[name] != PARAMETERS[name].default:
                    raise self._bad(name, f"{PARAMETERS[name].default!r} when optimizer is a fnn.optim optimiser (give it its own)")
            return
        try:
            get_schedule(values["learning_rate"], lr=values["learning_rate_init"], total_units=values["max_iter"])
        except FnnInputError:
            raise self._bad("learning_rate", "a " + PARAMETERS["learning_rate"].help) from None

    def _dtype(self) -> np.dtype[Any]:
        """``dtype`` by the setting's check (any case, or a numpy type such as np.float64)."""
        return np.dtype(self._checked("dtype", self.dtype))

    def _optimizer(self, values: dict[str, Any], steps_per_epoch: int) -> Optimizer:
        """The optimiser chain: ``fnn train``'s (:func:`fnn.run.build.build_optimizer`) for a name, else the given
        optimiser behind the L2 penalty and clipping asked for."""
        if isinstance(self.optimizer, Optimizer):
            parts = [add_l2(values["alpha"])] if values["alpha"] else []
            parts += [clip_by_global_norm(values["clip_norm"])] if values["clip_norm"] else []
            return chain(*parts, self.optimizer) if parts else self.optimizer
        name = values["optimizer"]
        for parameter in _FOR_SOME_OPTIMIZERS:  # ignored, as scikit-learn ignores them, but never silently
            setting = PARAMETERS[parameter]
            if not setting.applies_to(name) and values[parameter] != setting.default:
                warnings.warn(
                    f"{type(self).__name__}: {parameter}={getattr(self, parameter)!r} is not used by optimizer={name!r} "
                    f"(only by {', '.join(setting.optimizers)}) and is ignored; fnn train and fnn.fit refuse it.",
                    UserWarning, stacklevel=4,
                )
        config = evolve(
            DEFAULTS, optimizer=name, lr=values["learning_rate_init"], schedule=values["learning_rate"],
            momentum=values["momentum"] if PARAMETERS["momentum"].applies_to(name) else None,
            weight_decay=values["weight_decay"], clip_norm=values["clip_norm"], l2=values["alpha"], epochs=values["max_iter"],
        )
        return build_optimizer(config, steps_per_epoch)

    def _spec(self, values: dict[str, Any], n_features: int) -> NetworkSpec:
        n_outputs, output, loss = self._head(values)
        sizes = values["hidden_layer_sizes"]
        activations: list[str | Activation] = [*self._hidden_activations(values["activation"], len(sizes)), output]
        return network([n_features, *sizes, n_outputs], activation=activations, loss=loss, init=values["init"], bias_init=values["bias_init"])

    def _hidden_activations(self, given: Any, n_hidden: int) -> list[Activation]:
        """One :class:`fnn.Activation` per hidden layer, from ``activation`` (one, or a list with one per layer)."""
        many = isinstance(given, (list, tuple))
        if many and len(given) != n_hidden:
            raise self._bad("activation", f"one activation or a list of {n_hidden} (one per hidden layer)")
        function = f"interop.sklearn.{type(self).__name__}"
        return [get_activation(item, function, "activation") for item in (given if many else [given] * n_hidden)]

    def _draw_seed(self) -> int:
        state = self.random_state
        if state is None:
            return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        if isinstance(state, np.random.RandomState):
            return int(state.randint(np.iinfo(np.int32).max))
        if isinstance(state, np.random.Generator):
            return int(state.integers(np.iinfo(np.int32).max))
        return int(self._checked("random_state", state))  # an int, as the run setting seed

    # --- training ------------------------------------------------------------------------------------------------
    def _train(self, x: Any, y: np.ndarray, epochs: int, incremental: bool, stop_early: bool, sample_weight: Any = None) -> Any:
        """Train ``epochs`` epochs on prepared ``(x, y)``: on from ``state_`` when ``incremental``, else afresh;
        ``sample_weight`` (any array-like, checked as scikit-learn does) weighs the samples."""
        values = self._settings()
        dtype = values["dtype"]
        spec = self._spec(values, x.shape[1])
        require_memory(  # before anything is allocated, naming the estimator's own settings
            training_bytes(spec.sizes, dtype.itemsize, min(values["batch_size"], x.shape[0])),
            f"hidden_layer_sizes={self.hidden_layer_sizes!r}, batch_size={self.batch_size!r}: training the network "
            f"{'-'.join(map(str, spec.sizes))} ({dtype})",
        )
        start: Params | TrainState
        if incremental:
            start = self.state_
            if start.params.spec != spec or start.params.dtype != dtype:
                raise FnnInputError(
                    f"{type(self).__name__} cannot go on training its {start.params.spec!r} ({start.params.dtype}) "
                    f"as {spec!r} ({dtype}): hidden_layer_sizes, activation, output, loss, init, bias_init and dtype "
                    f"must stay as they were for warm_start and partial_fit (or set warm_start=False to start afresh)."
                )
        else:
            self.seed_ = self._draw_seed()
            start = init_params(spec, seed=self.seed_, dtype=dtype)
        trained_rows = self._trained_rows(start, x, y) if stop_early else x.shape[0]
        options: dict[str, Any] = dict(
            optimizer=self._optimizer(values, batch_count(trained_rows, values["batch_size"])),
            batch_size=values["batch_size"], shuffle=self._switch("shuffle"), class_weight=values["class_weight"],
            drop_rate=values["drop_rate"], metrics=values["metrics"], train_metrics=values["train_metrics"],
            diagnostics=values["diagnostics"],
        )
        if not incremental:
            options["seed"] = self.seed_
        if sample_weight is not None:
            options["sample_weight"] = _check_sample_weight(sample_weight, x, dtype=np.float64, ensure_non_negative=True)
        if stop_early:
            options.update(validation=values["validation_fraction"], patience=values["n_iter_no_change"], monitor=values["monitor"])
        before = start.epoch if isinstance(start, TrainState) else 0
        try:
            with _threads(values["threads"]):
                self.state_ = fit_network(start, (x, y), epochs=int(epochs), **options)
        except FnnInputError as error:  # what fit finds about a setting's value names the parameter it came from
            if error.argument not in _PARAMETER_OF:
                raise
            raise FnnInputError(f"The {_PARAMETER_OF[error.argument]!r} parameter of {type(self).__name__} must be "
                                f"{error.expected}. Got {getattr(self, _PARAMETER_OF[error.argument])!r} instead.") from None
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
        return None if self._switch("early_stopping") else min(self.loss_curve_, default=None)

    @property
    def validation_scores_(self) -> list[float] | None:
        """With early stopping, the score of each epoch on the held-out part (accuracy, or R^2 for a regressor)."""
        if not self._switch("early_stopping"):
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

    Parameters: the run settings of ``fnn train``, by ``MLPClassifier``'s names where it has them, checked by the
    settings' checks (the module's table maps them and says which defaults differ): the network
    (``hidden_layer_sizes``, ``activation``, one or one per hidden layer, ``output``, ``loss``, ``init``,
    ``bias_init``), its optimiser (``optimizer``, a :mod:`fnn.optim` name or optimiser, ``learning_rate_init``,
    ``momentum``, ``weight_decay``, ``learning_rate``, the schedule, ``clip_norm``, ``alpha``, the L2 penalty),
    training (``batch_size``, ``max_iter`` epochs per ``fit``, ``drop_rate``, ``class_weight``, ``shuffle``,
    ``warm_start`` to go on from the last fit), early stopping (``early_stopping`` holds out
    ``validation_fraction`` of the data, stratified, and stops once ``monitor`` has not improved for
    ``n_iter_no_change`` epochs, keeping the best epoch's parameters), what each epoch records (``metrics``,
    ``train_metrics``, ``diagnostics``) and ``random_state``, ``dtype`` and ``threads``.

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

    def _head(self, values: dict[str, Any]) -> tuple[int, str, str | None]:
        output, loss = values["output"], None if values["loss"] == "auto" else values["loss"]
        if output not in ("auto", "softmax", "sigmoid") or (self._multilabel and output == "softmax"):
            raise self._bad("output", "auto or sigmoid (one sigmoid output per label)" if self._multilabel else
                            "auto, softmax or sigmoid (its outputs are class scores)")
        n_classes = len(self.classes_)
        if self._multilabel or (n_classes == 2 and output in ("auto", "sigmoid")):
            n_outputs, chosen = (n_classes if self._multilabel else 1), "sigmoid"
        else:
            n_outputs, chosen = n_classes, "softmax"
        if output == "auto" and loss is not None and get_loss(loss).name in _SQUARED_LOSSES:
            chosen = "sigmoid"  # class scores in [0, 1] for a squared error, as fnn train's auto chooses
        return n_outputs, chosen if output == "auto" else output, loss

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
        continues = self._switch("warm_start") and hasattr(self, "state_")
        x, y = self._targets(X, y, reset=not continues)
        if not continues:
            self._multilabel = y.ndim == 2
            self._set_classes(np.arange(y.shape[1]) if self._multilabel else np.unique(y))
        return self._train(x, self._labels(y), self.max_iter, continues, self._switch("early_stopping"), sample_weight)

    def _class_weight(self) -> str | dict[int, float] | None:
        """``class_weight`` by the setting's check, its classes being labels of ``classes_`` (as text in
        ``"cat:2,dog:1"``, or a mapping's keys): ``"balanced"`` or a mapping class index -> weight."""
        given = self.class_weight
        if given is None or (isinstance(given, str) and given.strip().lower() == "balanced"):
            return self._checked("class_weight", given)
        try:
            pairs = dict(part.split(":") for part in given.split(",")) if isinstance(given, str) else dict(given)
        except (TypeError, ValueError):
            return self._checked("class_weight", given)  # refused, in the setting's words
        text = [str(label) for label in self.classes_.tolist()]
        by_index = {}
        for key, weight in pairs.items():
            known = [i for i, label in enumerate(self.classes_.tolist()) if key == label or str(key).strip() == text[i]]
            if not known:
                raise self._bad("class_weight", f"{_PAIRS}, the classes being among classes_ {self.classes_.tolist()}")
            by_index[known[0]] = weight
        return class_weight_of(self._checked("class_weight", by_index))

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
        return outputs if self._multilabel else probabilities(outputs, self.params_.spec)  # as every door gives them

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
    (which must stay None); ``output`` is auto (identity) or another activation that is not a class score's, and
    ``loss`` auto (mse), mse or quadratic.

    >>> x = np.linspace(-1, 1, 40).reshape(-1, 1)
    >>> reg = FNNRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=20, random_state=0).fit(x, x[:, 0] ** 2)
    >>> reg.predict(x[:2]).dtype, reg.n_iter_
    (dtype('float64'), 20)
    """

    _score = "r2"

    def _head(self, values: dict[str, Any]) -> tuple[int, str, str | None]:
        output, loss = values["output"], values["loss"]
        if not isinstance(output, str) or output in ("softmax", "sigmoid"):
            raise self._bad("output", "auto or an activation other than softmax and sigmoid (they give class scores)")
        if loss != "auto" and get_loss(loss).name not in _SQUARED_LOSSES:
            raise self._bad("loss", "auto, mse or quadratic (a regression's loss)")
        return self.n_outputs_, "identity" if output == "auto" else output, None if loss == "auto" else loss

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
        continues = self._switch("warm_start") and hasattr(self, "state_")
        x, y = self._targets(X, y, reset=not continues)
        return self._train(x, y, self.max_iter, continues, self._switch("early_stopping"), sample_weight)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> FNNRegressor:
        """Train one more epoch on ``X, y``."""
        first = not hasattr(self, "state_")
        x, y = self._targets(X, y, reset=first)
        return self._train(x, y, 1, incremental=not first, stop_early=False, sample_weight=sample_weight)

    def _class_weight(self) -> None:
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
