"""A trained model and one-call persistence: :class:`Model`, :func:`save`, :func:`load` and :func:`load_model`.

A :class:`Model` is a training state with what its inputs need: the run's configuration, input standardiser and
class names. It builds the checkpoint extras that carry them (:meth:`Model.extras`) and reads them back
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

from fnn.core.params import Params
from fnn.data.transforms import Standardizer, standardize
from fnn.errors import FnnInputError
from fnn.optim import EmptyState
from fnn.store.atomic import os_failure
from fnn.store.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from fnn.store.run_folder import CHECKPOINT, RunFolder
from fnn.train.state import TrainState

_KIND = "fnn_object"
_ZIP_MAGIC = b"PK\x03\x04"  # how every .npz archive, so every checkpoint, begins
_MEAN, _SCALE, _CLASS_NAMES = "mean", "scale", "class_names"


def _class_names(names: Any) -> tuple[str, ...]:
    return tuple(str(name) for name in names)


@frozen
class Model:
    """A trained network with what its inputs need: the run's configuration, standardiser (or None) and class names.

    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> stats = fnn.data.Standardizer(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    >>> model = Model(fnn.TrainState(params, None), {}, stats, ("cat", "dog"))
    >>> model.prepare_features([[3.0, 6.0]]), sorted(model.extras())
    (array([[1., 1.]], dtype=float32), ['class_names', 'mean', 'scale'])
    """

    state: TrainState
    config: dict[str, Any] = field(factory=dict)
    standardizer: Standardizer | None = None
    class_names: tuple[str, ...] = field(default=(), converter=_class_names)

    @property
    def params(self) -> Params:
        """The network's parameters (``state.params``)."""
        return self.state.params

    def prepare_features(self, features: Any) -> np.ndarray:
        """Features as the network was trained on them: standardised with the training statistics if it was."""
        features = np.asarray(features, dtype=self.params.dtype)
        if self.standardizer is None:
            return features
        return standardize(features, self.standardizer).astype(self.params.dtype)

    def extras(self) -> dict[str, np.ndarray]:
        """The checkpoint extras that carry the standardiser's statistics and the class names
        (:meth:`from_checkpoint` reads them back)."""
        extras = {} if self.standardizer is None else {_MEAN: self.standardizer.mean, _SCALE: self.standardizer.scale}
        if self.class_names:
            extras[_CLASS_NAMES] = np.array(self.class_names, dtype=str)
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
        return cls(checkpoint.state, checkpoint.config or {}, standardizer, extras.get(_CLASS_NAMES, ()))

    def save_checkpoint(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> None:
        """Write this model as a checkpoint at ``path`` (what ``fnn train`` writes into a run folder).

        >>> import os, tempfile
        >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
        >>> Model(fnn.TrainState(params, fnn.optim.sgd(0.1).init(params)), {"lr": 0.1}).save_checkpoint(path)
        >>> load_model(path).config
        {'lr': 0.1}
        """
        save_checkpoint(path, self.state, config=self.config, extras=self.extras(), overwrite=overwrite)


def load_model(path: str | os.PathLike[str]) -> Model:
    """A :class:`Model` from a run folder (the checkpoint its record names, see :class:`~fnn.store.RunFolder`) or a
    checkpoint file.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> Model(fnn.TrainState(params, None), class_names=("a", "b")).save_checkpoint(os.path.join(folder, CHECKPOINT))
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
    this writes; the write is atomic either way.

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
    if os.path.exists(path) and not overwrite:
        raise FnnInputError(f"{path} exists; fnn.save does not overwrite it unless overwrite=True.")
    if isinstance(obj, Params):
        save_checkpoint(path, TrainState(obj, EmptyState()), extras={_KIND: np.array("params")}, overwrite=overwrite)
    elif isinstance(obj, TrainState):
        save_checkpoint(path, obj, extras={_KIND: np.array("train_state")}, overwrite=overwrite)
    elif isinstance(obj, Model):
        extras = {_KIND: np.array("model"), **obj.extras()}
        save_checkpoint(path, obj.state, config=obj.config, extras=extras, overwrite=overwrite)
    else:
        raise FnnInputError(
            f"The 'obj' argument of fnn.save must be fnn.Params, a fnn.TrainState or a fnn.store.Model. "
            f"Got {type(obj).__name__} instead."
        )


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
