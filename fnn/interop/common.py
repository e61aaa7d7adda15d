"""What the exporters share: the network an object holds, its activations by name, and writing a new file."""

from __future__ import annotations

import importlib
import inspect
import os
from types import ModuleType
from typing import Protocol, Union

from fnn.core.activations import ACTIVATIONS, Activation
from fnn.core.params import Params
from fnn.data.transforms import Standardizer
from fnn.errors import FnnInputError
from fnn.store.atomic import write_atomic
from fnn.store.model import in_target_units
from fnn.store.run_folder import beside_runs
from fnn.train.state import TrainState


class HoldsParams(Protocol):
    """What holds a network: a ``TrainState``, or a model from :func:`fnn.load` (with its standardiser and class
    names)."""

    @property
    def params(self) -> Params: ...


Exportable = Union[Params, HoldsParams]
"""What the exporters take: Params, a TrainState or a model from :func:`fnn.load`."""


def network_of(obj: Exportable, function: str) -> tuple[Params, Standardizer | None, tuple[str, ...]]:
    """``(params, standardizer, class_names)`` of Params, a TrainState, or a model (anything with ``.params``,
    such as :class:`fnn.store.Model` from :func:`fnn.load`; a regression trained on standardised targets with
    the inverse folded into its output layer, so the export answers in the targets' units)."""
    if isinstance(obj, Params):
        return obj, None, ()
    if isinstance(obj, TrainState):
        return obj.params, None, ()
    if isinstance(getattr(obj, "params", None), Params):
        return in_target_units(obj.params, getattr(obj, "targets", None)), getattr(obj, "standardizer", None), tuple(getattr(obj, "class_names", ()) or ())
    raise FnnInputError(
        f"The 'obj' argument of fnn.interop.{function} must be fnn.Params, a fnn.TrainState or a model with .params "
        f"(from fnn.load). Got {type(obj).__name__} instead."
    )


def activation_parts(activation: Activation) -> tuple[str, tuple[float, ...]] | None:
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


def write_new_file(path: str | os.PathLike[str], payload: bytes, overwrite: bool, function: str) -> str:
    """Write the bytes ``payload`` to ``path`` atomically, refusing an existing file (a link included) unless
    ``overwrite``, and a run's or a sweep's own files always; into a run folder as one of its writers
    (:func:`fnn.store.run_folder.beside_runs`)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise FnnInputError(f"The 'path' argument of fnn.interop.{function} is a folder ({path}); give a file name.")
    if os.path.lexists(path) and not overwrite:
        raise FnnInputError(f"{path} exists; fnn.interop.{function} does not overwrite it unless overwrite=True.")
    with beside_runs(path, f"fnn.interop.{function}"):
        write_atomic(path, payload, overwrite=overwrite)  # no-clobber at the rename too, not only in the check above
    return path


def require(module: str, extra: str, function: str) -> ModuleType:
    """Import the optional ``module``, or fail saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"fnn.interop.{function} needs the {module.split('.')[0]} package: pip install 'fnn[{extra}]'."
        ) from None
