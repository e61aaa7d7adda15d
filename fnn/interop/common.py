"""What the exporters share: the network an object holds, its activations by name, and writing a new file."""

import importlib
import inspect
import os

from fnn.core.activations import ACTIVATIONS
from fnn.core.params import Params
from fnn.errors import FnnInputError
from fnn.store.atomic import atomic_write
from fnn.train.state import TrainState

__all__ = ["network_of", "activation_parts", "write_new_file", "require"]


def network_of(obj, function):
    """``(params, standardizer, class_names)`` of Params, a TrainState, or a model (anything with ``.params``,
    such as :class:`fnn.store.Model` from :func:`fnn.load`)."""
    if isinstance(obj, Params):
        return obj, None, ()
    if isinstance(obj, TrainState):
        return obj.params, None, ()
    if isinstance(getattr(obj, "params", None), Params):
        return obj.params, getattr(obj, "standardizer", None), tuple(getattr(obj, "class_names", ()) or ())
    raise FnnInputError(
        f"The 'obj' argument of fnn.interop.{function} must be fnn.Params, a fnn.TrainState or a model with .params "
        f"(from fnn.load). Got {type(obj).__name__} instead."
    )


def activation_parts(activation):
    """A built-in activation's base name and numeric arguments, defaults filled in: ``("leaky_relu", (0.01,))``.

    Returns None for an activation that is not one of fnn's (a user's own, by its name).
    """
    base, _, text = activation.name.partition(":")
    factory = ACTIVATIONS.get(base)
    if factory is None:
        return None
    given = [float(part) for part in text.split(",")] if text else []
    defaults = [p.default for p in inspect.signature(factory).parameters.values()]
    return base, tuple(given + [float(d) for d in defaults[len(given) :]])


def write_new_file(path, payload, overwrite, function):
    """Write the bytes ``payload`` to ``path`` atomically, refusing an existing file unless ``overwrite``."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise FnnInputError(f"The 'path' argument of fnn.interop.{function} is a folder ({path}); give a file name.")
    if os.path.exists(path) and not overwrite:
        raise FnnInputError(f"{path} exists; fnn.interop.{function} does not overwrite it unless overwrite=True.")
    atomic_write(path, payload, overwrite=overwrite)  # no-clobber at the rename too, not only in the check above
    return path


def require(module, extra, function):
    """Import the optional ``module``, or fail saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"fnn.interop.{function} needs the {module.split('.')[0]} package: pip install 'fnn[{extra}]'."
        ) from None
