"""A trained model and one-call persistence: :class:`Model`, :func:`save`, :func:`load` and :func:`load_model`.

A :class:`Model` is a training state with what its inputs and outputs need: the run's configuration, input
standardiser, class names and, for a regression trained on standardised targets, the targets' statistics. It builds the checkpoint extras that carry them (:meth:`Model.extras`) and reads them back
(:meth:`Model.from_checkpoint`), so ``fnn train``'s run folders, its kept epochs and :func:`save` store a model the
same way, and ``fnn evaluate``, ``fnn predict`` and ``fnn export`` read any of them.

:func:`save` and :func:`load` take Params, a TrainState or a Model. The file is a checkpoint like any other
(:mod:`fnn.store.checkpoint`: an ``.npz`` archive with a JSON header, read without pickle, checked against a
SHA-256, written atomically); what was saved is recorded in it (an ``fnn_object`` extra, covered by the hash), and
:func:`load` returns the same kind of object. A run folder, or a checkpoint written another way, loads as a model.

>>> import os, tempfile
>>> params = fnn.init_params(fnn.network([4, 8, 3]), seed=0)
>>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
>>> fnn.save(path, params)
>>> fnn.load(path) == params
True
>>> fnn.save(path, params)  # doctest: +ELLIPSIS
Traceback (most recent call last):
fnn.errors.FnnInputError: ... exists; fnn.save does not overwrite it unless overwrite=True.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import numpy as np
from attrs import field, frozen

from fnn.arrays import all_finite, first_non_finite
from fnn.core.metrics import BATCH_SIZE, classes_from_outputs, confusion_matrix, evaluate, predict, predict_classes
from fnn.core.params import Params, replace_layer
from fnn.core.spec import NetworkSpec
from fnn.data.csv import is_number
from fnn.data.dataset import Dataset
from fnn.data.transforms import Standardizer, standardize
from fnn.errors import FnnInputError, bad_argument
from fnn.optim import EmptyState
from fnn.store.atomic import os_failure
from fnn.store.checkpoint import Checkpoint, load_checkpoint, write_checkpoint
from fnn.store.inputs import check_width, read_inputs, source_name
from fnn.store.layout import CHECKPOINT
from fnn.store.run_folder import RunFolder, beside_runs
from fnn.train.options import TRAINING_CHECKS
from fnn.train.state import TrainState
from fnn.values import read_argument

_KIND = "fnn_object"
_ZIP_MAGIC = b"PK\x03\x04"  # how every .npz archive, so every checkpoint, begins
_MEAN, _SCALE, _CLASS_NAMES, _COLUMNS = "mean", "scale", "class_names", "columns"
_TARGET_MEAN, _TARGET_SCALE = "target_mean", "target_scale"


def _strings(names: Any) -> tuple[str, ...]:
    return tuple(str(name) for name in names)


def in_target_units(params: Params, targets: Standardizer | None) -> Params:
    """``params`` of a regression trained on targets standardised with ``targets`` (a
    :class:`~fnn.data.Standardizer`), with the inverse folded into the identity output layer (``w * scale``,
    ``b * scale + mean``), so its outputs are in the targets' own units; ``params`` themselves without ``targets``.

    >>> params = fnn.init_params(fnn.network([1, 1], output="identity", loss="mse", init="ones"), seed=0)
    >>> targets = fnn.data.Standardizer(np.array([50_000.0], np.float32), np.array([2_000.0], np.float32))
    >>> fnn.predict(in_target_units(params, targets), np.array([[1.5]], np.float32)).tolist()
    [[53000.0]]
    """
    if targets is None:
        return params
    if params.spec.output_activation.name != "identity":
        raise bad_argument("in_target_units", "params", "a network with an identity output (what standardised targets train)",
                           params.spec.output_activation.name)
    last = params.layers[-1]
    scale, mean = targets.scale.astype(last.w.dtype), targets.mean.astype(last.w.dtype)
    return replace_layer(params, -1, w=last.w * scale, b=last.b * scale + mean)


def evaluate_in_target_units(params: Params, x: Any, y: Any, targets: Standardizer | None = None, counts: bool = False,
                             batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """:func:`fnn.evaluate` of ``params`` in the targets' own units (:func:`in_target_units`); a regression's also
    with ``mse`` and ``mae``: the test metrics of a run's record and of :meth:`Model.evaluate`.

    >>> params = fnn.init_params(fnn.network([1, 1], output="identity", loss="mse", init="ones"), seed=0)
    >>> targets = fnn.data.Standardizer(np.array([10.0], np.float32), np.array([2.0], np.float32))
    >>> evaluate_in_target_units(params, np.array([[0.0], [1.0]], np.float32), np.array([[11.0], [12.0]]), targets)
    {'loss': 0.5, 'r2': -1.0, 'mse': 0.5, 'mae': 0.5}
    """
    metrics = () if params.spec.is_classifier else ("mse", "mae")
    return evaluate(in_target_units(params, targets), x, y, batch_size, counts=counts, metrics=metrics)


@frozen
class Model:
    """A trained network with all of its run's preprocessing: configuration (its ``label`` and ``drop`` columns),
    standardiser (or None), class names, the feature ``columns`` by name in training order (empty when the data
    had no named columns) and a regression's ``targets`` statistics when it trained on standardised targets (its
    outputs, predictions and metrics are then in the targets' own units). :meth:`predict`, :meth:`predict_proba` and :meth:`evaluate` take RAW features, as
    ``fnn predict`` and ``fnn evaluate`` do: an array (columns in training order), a table with named columns (a
    mapping of name -> values, a pandas DataFrame, a CSV file read by its header) or a ``.npy`` or IDX file.

    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> stats = fnn.data.Standardizer(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    >>> model = Model(fnn.TrainState(params, None), {}, stats, ("cat", "dog"), columns=("w", "h"))
    >>> model.prepare_features({"h": [6.0], "w": [3.0]}), sorted(model.extras())
    (array([[1., 1.]], dtype=float32), ['class_names', 'columns', 'mean', 'scale'])
    >>> model.predict({"w": [3.0], "h": [6.0]}).tolist(), model.predict_proba([[3.0, 6.0]]).shape
    (['cat'], (1, 2))
    """

    state: TrainState
    config: dict[str, Any] = field(factory=dict)
    standardizer: Standardizer | None = None
    class_names: tuple[str, ...] = field(default=(), converter=_strings)
    columns: tuple[str, ...] = field(default=(), converter=_strings)
    targets: Standardizer | None = None

    @property
    def params(self) -> Params:
        """The network's parameters (``state.params``)."""
        return self.state.params

    @property
    def label(self) -> str | None:
        """The label column of the table the model was trained on (None without one)."""
        label = self.config.get("label")
        return None if label is None else str(label)

    @property
    def drop(self) -> tuple[str, ...]:
        """The columns training left out of its table: those dropped and the sample-weight column."""
        weight = self.config.get("sample_weight")
        return tuple(map(str, self.config.get("drop") or ())) + ((str(weight),) if weight else ())

    # -- raw inputs ---------------------------------------------------------------------------------------------

    def inputs(self, raw: Any, *, label: str | None = None, source: str = "x", scale: float | None = None,
               kind: str | None = None) -> np.ndarray:
        """Raw features as float64 rows in training column order (:func:`fnn.store.inputs.read_inputs`)."""
        return read_inputs(self, raw, label, source_name(raw, source), scale, kind)[0]

    def prepare_features(self, raw: Any, *, label: str | None = None, source: str = "x", scale: float | None = None,
                         kind: str | None = None) -> np.ndarray:
        """Features as the network was trained on them: :meth:`inputs` in the params' dtype, standardised with the
        training statistics if it was. Values beyond that dtype's range are refused, naming ``source``."""
        source = source_name(raw, source)
        return self._prepared(self.inputs(raw, label=label, source=source, scale=scale, kind=kind), source)

    def _prepared(self, features: np.ndarray, source: str) -> np.ndarray:
        dtype = self.params.dtype
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, naming the input
            cast = features.astype(dtype)
            prepared = cast if self.standardizer is None else standardize(cast, self.standardizer).astype(dtype)
        for values, what in ((features, "a number"), (cast, f"a number that fits {dtype}"), (prepared, f"a number that fits {dtype} once standardised")):
            bad = None if all_finite(values) else first_non_finite(values)
            if bad is not None:
                row, column = bad
                name = f" ({self.columns[column]!r})" if len(self.columns) == values.shape[1] else ""
                raise FnnInputError(f"{source}: row {row + 1}, column {column + 1}{name}: expected {what}; found {float(features[row, column])!r}.")
        return prepared

    # -- predictions and metrics --------------------------------------------------------------------------------

    def outputs(self, raw: Any, *, batch_size: int = BATCH_SIZE, label: str | None = None, source: str = "x",
                scale: float | None = None, kind: str | None = None) -> np.ndarray:
        """The network's output rows for raw inputs, ``batch_size`` rows per forward pass (``label``, ``source``,
        ``scale`` and ``kind`` as :meth:`inputs` reads them)."""
        batch_size = _batch_size(batch_size, "outputs")
        features = self.prepare_features(raw, label=label, source=source, scale=scale, kind=kind)
        return predict(in_target_units(self.params, self.targets), features, batch_size)

    def predict(self, raw: Any, *, batch_size: int = BATCH_SIZE, label: str | None = None, source: str = "x",
                scale: float | None = None, kind: str | None = None) -> np.ndarray:
        """Class names (class indices if the model has no names) for a classifier, values for a regression: one
        per row of raw inputs; what ``fnn predict`` writes."""
        outputs = self.outputs(raw, batch_size=_batch_size(batch_size, "predict"), label=label, source=source,
                               scale=scale, kind=kind)
        if not self.params.spec.is_classifier:
            return outputs[:, 0] if outputs.shape[1] == 1 else outputs
        classes = classes_from_outputs(outputs)
        names = self.output_names(outputs)
        return np.array(names)[classes] if self.class_names else classes

    def predict_proba(self, raw: Any, *, batch_size: int = BATCH_SIZE, label: str | None = None, source: str = "x",
                      scale: float | None = None, kind: str | None = None) -> np.ndarray:
        """A classifier's class probabilities (:func:`probabilities`), one row per row of raw inputs."""
        if not self.params.spec.is_classifier:
            raise FnnInputError("predict_proba: this model is a regression; it gives values (predict), not probabilities.")
        outputs = self.outputs(raw, batch_size=_batch_size(batch_size, "predict_proba"), label=label, source=source,
                               scale=scale, kind=kind)
        return probabilities(outputs, self.params.spec)

    def output_names(self, outputs: np.ndarray) -> list[str]:
        """The class names of a classifier's probability columns (``'0'``, ``'1'``, ... if it has none that fit)."""
        count = max(outputs.shape[1], 2)
        return list(self.class_names) if len(self.class_names) == count else [str(j) for j in range(count)]

    def evaluate(self, raw: Any, y: Any = None, *, label: str | None = None, source: str = "x", scale: float | None = None,
                 kind: str | None = None, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
        """What ``fnn evaluate --json`` gives (loss, accuracy or R^2, counts, a classifier's confusion matrix) on
        raw inputs and their labels ``y`` (class names or indices, or targets); ``y`` may be left out for a table
        holding the label column, or a :class:`fnn.data.Dataset` (its features raw, as loaded)."""
        source, batch_size = source_name(raw, source), _batch_size(batch_size, "evaluate")
        if isinstance(raw, Dataset):
            check_width(raw.features.shape, self.params.spec.sizes[0], source)
            features = raw.features  # lazy rows (IDX images) stay lazy: whole numbers, and nothing to standardise
            if self.standardizer is not None or isinstance(features, np.ndarray):
                features = self._prepared(np.asarray(features, np.float64), source)
            labels: Any = raw.labels
        else:
            found, values = read_inputs(self, raw, label, source, scale, kind)
            features = self._prepared(found, source)
            if y is None and values is None:
                column = f" {self.label!r}" if self.label is not None else ""
                # the command line names its data by the flag; it has no y, but --label names another column
                apart = "; or name the label column with --label COLUMN" if source.startswith("--") else ", or the labels given as y"
                raise FnnInputError(f"{source}: has no label column{column}; expected a table holding its labels{apart}.")
            labels = self.read_labels(values if y is None else y, "y" if y is not None else f"{source}'s labels")
        if not len(features):
            raise FnnInputError(f"{source}: has no rows; expected at least one sample to score.")
        metrics = evaluate_in_target_units(self.params, features, labels, self.targets, counts=True, batch_size=batch_size)
        if self.params.spec.is_classifier:
            predicted = predict_classes(self.params, features, batch_size)
            classes = max(len(self.class_names), self.params.spec.sizes[-1], 2)
            metrics["confusion_matrix"] = confusion_matrix(np.asarray(labels), predicted, classes).tolist()
        return metrics

    def read_labels(self, values: Any, source: str) -> np.ndarray:
        """Labels as the loss takes them: class names mapped to the model's class indices; numbers as they are.
        ``source`` names them in errors.

        >>> model = fnn.store.Model(fnn.TrainState(fnn.init_params(fnn.network([2, 2]), seed=0), None), {}, class_names=("cat", "dog"))
        >>> model.read_labels(["dog", "cat"], "y").tolist()
        [1, 0]
        """
        values = np.asarray(values)
        if not self.params.spec.is_classifier:
            if values.dtype.kind in "iuf":
                return values
            try:
                return np.array([float(v) for v in values.ravel()]).reshape(values.shape)
            except ValueError:
                raise FnnInputError(f"{source}: expected numbers (targets); got {values.ravel()[:3].tolist()}...") from None
        numbered = bool(self.class_names) and all(is_number(name) for name in self.class_names)
        if not numbered and (values.dtype.kind in "iub" or (values.dtype.kind == "f" and np.array_equal(values, np.round(values)))):
            return values.astype(np.int64)  # whole floats (0.0, as float64 arrays hold labels) are indices, as ints are
        if not numbered and values.dtype.kind == "f":
            flat = values.ravel()
            bad = float(flat[np.flatnonzero(flat != np.round(flat))[0]])
            classes = f"the model's classes {list(self.class_names)} or their" if self.class_names else "class"
            count = max(len(self.class_names), self.params.spec.sizes[-1], 2)
            raise FnnInputError(f"{source}: expected {classes} indices 0..{count - 1}; found {bad!r}, not a whole number.")
        lookup = {name: index for index, name in enumerate(self.class_names)}
        texts = [str(v).strip() for v in values.ravel()]
        if numbered:  # classes that were numbers in the table (grades 1, 2, 3): a label is a class by its value
            by_value = {float(name): name for name in self.class_names}
            texts = [by_value.get(float(text), text) if is_number(text) else text for text in texts]
        unknown = [text for text in texts if text not in lookup]
        if unknown:
            raise FnnInputError(f"{source}: the class {unknown[0]!r} is not one of the model's classes {list(self.class_names)}.")
        return np.array([lookup[text] for text in texts], dtype=np.int64)

    # -- checkpoints ----------------------------------------------------------------------------------------------

    def extras(self) -> dict[str, np.ndarray]:
        """The checkpoint extras that carry the standardiser's statistics, the class names, the feature columns and
        the targets' statistics (:meth:`from_checkpoint` reads them back)."""
        extras = {} if self.standardizer is None else {_MEAN: self.standardizer.mean, _SCALE: self.standardizer.scale}
        if self.targets is not None:
            extras[_TARGET_MEAN], extras[_TARGET_SCALE] = self.targets.mean, self.targets.scale
        if self.class_names:
            extras[_CLASS_NAMES] = np.array(self.class_names, dtype=str)
        if self.columns:
            extras[_COLUMNS] = np.array(self.columns, dtype=str)
        return extras

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> Model:
        """The model a checkpoint holds: its state and configuration, and the extras :meth:`extras` wrote.

        >>> params = fnn.init_params(fnn.network([1, 2]), seed=0)
        >>> extras = {"class_names": np.array(["a", "b"])}
        >>> Model.from_checkpoint(fnn.store.Checkpoint(fnn.TrainState(params, None), None, extras)).class_names
        ('a', 'b')
        """
        extras = checkpoint.extras
        standardizer = Standardizer(extras[_MEAN], extras[_SCALE]) if _MEAN in extras and _SCALE in extras else None
        targets = Standardizer(extras[_TARGET_MEAN], extras[_TARGET_SCALE]) if _TARGET_MEAN in extras and _TARGET_SCALE in extras else None
        return cls(checkpoint.state, checkpoint.config or {}, standardizer, extras.get(_CLASS_NAMES, ()), extras.get(_COLUMNS, ()), targets)

    def save_checkpoint(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> None:
        """Write this model as a checkpoint at ``path``, as ``fnn train`` writes one into a run folder (never over
        a run's or a sweep's own files: :func:`~fnn.store.run_folder.beside_runs`).

        >>> import os, tempfile
        >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
        >>> Model(fnn.TrainState(params, fnn.optim.sgd(0.1).init(params)), {"lr": 0.1}).save_checkpoint(path)
        >>> load_model(path).config
        {'lr': 0.1}
        """
        with beside_runs(path, "Model.save_checkpoint"):
            write_checkpoint(path, self.state, config=self.config, extras=self.extras(), overwrite=overwrite)


def _batch_size(value: Any, method: str) -> int:
    """``batch_size`` of ``Model.<method>`` read as ``fnn train --batch-size`` and ``fnn predict --batch-size`` read it."""
    return int(read_argument(f"store.Model.{method}", "batch_size", TRAINING_CHECKS["batch_size"], value))


def probabilities(outputs: np.ndarray, spec: NetworkSpec) -> np.ndarray:
    """A classifier's output rows (of a network of ``spec``) as class probabilities: softmax rows as they are, a
    sigmoid column ``p`` as ``[1 - p, p]``, several class scores of another output (a sigmoid each) scaled to sum
    to 1, as every door (``fnn predict``, :meth:`Model.predict_proba`, the estimators) gives them.

    >>> spec = fnn.network([2, 1], output="sigmoid", loss="binary_cross_entropy")
    >>> probabilities(np.array([[0.25]]), spec)
    array([[0.75, 0.25]])
    >>> probabilities(np.array([[0.5, 0.25, 0.25]]), fnn.network([2, 3], output="sigmoid", loss="mse"))
    array([[0.5 , 0.25, 0.25]])
    >>> probabilities(np.array([[0.5, 0.5, 1.0]]), fnn.network([2, 3], output="sigmoid", loss="mse"))
    array([[0.25, 0.25, 0.5 ]])
    """
    if outputs.shape[1] == 1:
        return np.column_stack([1 - outputs[:, 0], outputs[:, 0]])
    if spec.output_activation.name == "softmax":
        return outputs
    return outputs / np.maximum(outputs.sum(axis=1, keepdims=True), np.finfo(outputs.dtype).tiny)


def load_model(path: str | os.PathLike[str]) -> Model:
    """A :class:`Model` from a run folder (the checkpoint its record names, see :class:`~fnn.store.RunFolder`) or a
    checkpoint file.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> run = RunFolder(folder)
    >>> with run.claim():
    ...     _ = run.save_checkpoint(Model(fnn.TrainState(params, None), class_names=("a", "b")))
    >>> load_model(folder).class_names
    ('a', 'b')
    """
    path = _path(path, "load_model")
    if os.path.isdir(path):
        return Model.from_checkpoint(RunFolder(path).load_checkpoint())
    _regular_file(path)
    return Model.from_checkpoint(load_checkpoint(path))


def _regular_file(path: str) -> bytes:
    """The first bytes of the regular file ``path``; anything else (missing, a FIFO, a device) is refused before
    it is read, so nothing blocks."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FnnInputError(f"{path}: no such file or folder.") from None
    except OSError as error:
        raise os_failure(path, error, "read") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise FnnInputError(f"{path}: not a regular file (a FIFO, device or socket); expected a checkpoint .npz file.")
        return os.read(descriptor, len(_ZIP_MAGIC))
    finally:
        os.close(descriptor)


def _path(path: Any, function: str) -> str:
    try:
        return os.fspath(path)
    except TypeError:
        raise FnnInputError(
            f"The 'path' argument of fnn.{function} must be a file name (str or path). Got {path!r} instead."
        ) from None


def save(path: str | os.PathLike[str], obj: Params | TrainState | Model, *, overwrite: bool = False) -> None:
    """Write ``obj`` (:class:`fnn.Params`, :class:`fnn.TrainState` or :class:`Model`) to ``path``.

    An existing file is left alone (an error names it) unless ``overwrite=True``, even one that appears while
    this writes; the write is atomic either way. A run's or a sweep's own files are refused, and a write into a
    run folder holds its lock (:func:`~fnn.store.run_folder.beside_runs`).

    >>> import os, tempfile
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
    >>> save(path, fnn.TrainState(params, fnn.optim.sgd(0.1).init(params), epoch=2))
    >>> load(path).epoch
    2
    """
    path = _path(path, "save")
    if os.path.isdir(path):
        raise FnnInputError(
            f"The 'path' argument of fnn.save is a folder ({path}); give a file name such as model.npz."
        )
    if os.path.lexists(path) and not overwrite:
        raise FnnInputError(f"{path} exists; fnn.save does not overwrite it unless overwrite=True.")
    if not isinstance(obj, (Params, TrainState, Model)):
        raise FnnInputError(
            f"The 'obj' argument of fnn.save must be fnn.Params, a fnn.TrainState or a fnn.store.Model. "
            f"Got {type(obj).__name__} instead."
        )
    with beside_runs(path, "fnn.save"):
        if isinstance(obj, Params):
            write_checkpoint(path, TrainState(obj, EmptyState()), extras={_KIND: np.array("params")}, overwrite=overwrite)
        elif isinstance(obj, TrainState):
            write_checkpoint(path, obj, extras={_KIND: np.array("train_state")}, overwrite=overwrite)
        else:
            write_checkpoint(path, obj.state, config=obj.config, extras={_KIND: np.array("model"), **obj.extras()}, overwrite=overwrite)



def load(path: str | os.PathLike[str]) -> Params | TrainState | Model:
    """What :func:`save` wrote at ``path`` (Params, TrainState or Model); a run folder or any other checkpoint
    gives a :class:`Model` (its ``.params`` are the network).

    >>> import os, tempfile
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save(path, Model(fnn.TrainState(params, None), {"data": "iris"}))
    >>> loaded = load(path)
    >>> type(loaded).__name__, loaded.config, loaded.params == params
    ('Model', {'data': 'iris'}, True)
    """
    path = _path(path, "load")
    if os.path.isdir(path):
        if not RunFolder(path).exists(CHECKPOINT):
            raise FnnInputError(f"{path}: a folder without {CHECKPOINT}; fnn.load reads a run folder or a saved file.")
        return load_model(path)
    if _regular_file(path) != _ZIP_MAGIC:
        raise FnnInputError(
            f"{path}: not a file written by fnn.save or fnn train (those are .npz archives; this one is not)."
        )
    checkpoint = load_checkpoint(path)
    stored = checkpoint.extras.get(_KIND)
    kind = "model" if stored is None else str(stored)
    if kind == "params":
        return checkpoint.state.params
    if kind == "train_state":
        return checkpoint.state
    if kind != "model":
        raise FnnInputError(
            f"{path}: saved object of unknown kind {kind!r}; this fnn reads params, train_state and model."
        )
    return Model.from_checkpoint(checkpoint)
