"""Save and load in one call: :func:`save` and :func:`load` for Params, a TrainState or a whole model.

Both go through :mod:`fnn.store.checkpoint`, so the file is a checkpoint like any other (an ``.npz`` archive with a JSON
header, read without pickle, checked against a SHA-256 of its arrays, written atomically). What was saved is
recorded in the file (an ``fnn_object`` entry, covered by the hash like the arrays), and :func:`load` returns the
same kind of object. A model is a :class:`fnn.store.run_folder.Model`: its training state with the run's configuration,
input standardiser and class names, saved the way ``fnn train`` saves a run, so ``fnn evaluate``, ``fnn predict``
and ``fnn export`` read it too. A run folder, or a checkpoint written another way, loads as a model.

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

import os

import numpy as np

from fnn.core.params import Params
from fnn.errors import FnnInputError
from fnn.optim import EmptyState
from fnn.store.checkpoint import load_checkpoint, save_checkpoint
from fnn.store.run_folder import CHECKPOINT, Model, load_model, model_extras
from fnn.train.state import TrainState

__all__ = ["save", "load"]

_KIND = "fnn_object"
_ZIP_MAGIC = b"PK\x03\x04"  # how every .npz archive, so every checkpoint, begins


def _path(path, function):
    try:
        return os.fspath(path)
    except TypeError:
        raise FnnInputError(
            f"The 'path' argument of fnn.{function} must be a file name (str or path). Got {path!r} instead."
        ) from None


def save(path, obj, *, overwrite=False):
    """Write ``obj`` (:class:`fnn.Params`, :class:`fnn.TrainState` or :class:`fnn.store.run_folder.Model`) to ``path``.

    An existing file is left alone (an error names it) unless ``overwrite=True``, even one that appears while
    this writes; the write is atomic either way.
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
        extras = {_KIND: np.array("model"), **model_extras(obj.standardizer, obj.class_names)}
        save_checkpoint(path, obj.state, config=obj.config, extras=extras, overwrite=overwrite)
    else:
        raise FnnInputError(
            f"The 'obj' argument of fnn.save must be fnn.Params, a fnn.TrainState or a fnn.store.run_folder.Model. "
            f"Got {type(obj).__name__} instead."
        )


def load(path):
    """What :func:`save` wrote at ``path`` (Params, TrainState or Model); a run folder or any other checkpoint
    gives a :class:`fnn.store.run_folder.Model` (its ``.params`` are the network)."""
    path = _path(path, "load")
    if os.path.isdir(path):
        if not os.path.exists(os.path.join(path, CHECKPOINT)):
            raise FnnInputError(f"{path}: a folder without {CHECKPOINT}; fnn.load reads a run folder or a saved file.")
        return load_model(path)
    if not os.path.exists(path):
        raise FnnInputError(f"{path}: no such file or folder.")
    with open(path, "rb") as handle:
        if handle.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
            raise FnnInputError(
                f"{path}: not a file written by fnn.save or fnn train (those are .npz archives; this one is not)."
            )
    checkpoint = load_checkpoint(path)
    kind = checkpoint.extras.get(_KIND)
    kind = str(kind) if kind is not None else "model"
    if kind == "params":
        return checkpoint.state.params
    if kind == "train_state":
        return checkpoint.state
    if kind != "model":
        raise FnnInputError(
            f"{path}: saved object of unknown kind {kind!r}; this fnn reads params, train_state and model."
        )
    return load_model(path)  # reads the file again, so a model is always read the way run folders are
