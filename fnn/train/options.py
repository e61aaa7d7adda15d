"""How ``fit`` and ``iterate_epochs`` train, as one frozen record: the keyword arguments are written once, here.

``fnn.fit(start, data, epochs=5, lr=0.1, batch_size=16)`` and ``fnn.fit(start, data, epochs=5, options=opts)`` with
``opts = train_options(lr=0.1, batch_size=16)`` are the same call.

>>> opts = train_options(optimizer="adam", batch_size=64)
>>> opts.batch_size, opts.optimizer.name
(64, 'adam(lr=constant:0.001, b1=0.9, b2=0.999)')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from attrs import frozen

from fnn.errors import bad_argument
from fnn.limits import MAX_BATCH_SIZE
from fnn.optim import Optimizer, get_optimizer, sgd

MAX_EPOCHS = 10**7
"""The most epochs one call may ask for. Beyond it the number is a typo (``1e9`` for ``1e2``): even at a
millisecond an epoch it would run for months, so it is refused instead of looking like a hang."""


@frozen
class TrainOptions:
    """The settings of a training call; build it with :func:`train_options`, which checks them."""

    optimizer: Optimizer
    batch_size: int = 32
    seed: int | None = None
    validation: Any = None
    drop_rate: float | Sequence[float] = 0.0
    shuffle: bool = True
    patience: int | None = None
    monitor: str = "val_loss"
    diagnostics: bool = False


def resolve_optimizer(optimizer: str | Optimizer | None, lr: Any, function: str = "fit") -> Optimizer:
    """The optimiser to train with: ``optimizer`` (a record or a name), or SGD with ``lr`` (0.1 if neither)."""
    if optimizer is None:
        return sgd(0.1 if lr is None else lr)
    if lr is not None:
        if isinstance(optimizer, str):
            return get_optimizer(optimizer, lr=lr)
        raise bad_argument(function, "lr", "None when an optimizer object is given (set its own lr)", lr)
    if isinstance(optimizer, str):
        return get_optimizer(optimizer)
    if not isinstance(optimizer, Optimizer):
        raise bad_argument(function, "optimizer", "an optimizer name or a fnn.optim.Optimizer", optimizer)
    return optimizer


def train_options(
    function: str = "fit",
    *,
    optimizer: str | Optimizer | None = None,
    lr: Any = None,
    batch_size: int = 32,
    seed: int | None = None,
    validation: Any = None,
    drop_rate: float | Sequence[float] = 0.0,
    shuffle: bool = True,
    patience: int | None = None,
    monitor: str = "val_loss",
    diagnostics: bool = False,
) -> TrainOptions:
    """Checked :class:`TrainOptions`. ``optimizer`` is a :mod:`fnn.optim` optimiser or a name; with neither it is
    SGD with ``lr`` (0.1 by default). ``validation`` is a ``Dataset``, ``(x, y)`` or a fraction of the training
    data to hold out; ``drop_rate`` one rate or one per hidden layer; ``patience``/``monitor`` early stopping.
    ``diagnostics`` (a bool) records per-epoch diagnostics in the history. ``function`` names the caller in error
    messages."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 0 < batch_size <= MAX_BATCH_SIZE:
        raise bad_argument(function, "batch_size", f"a positive int up to {MAX_BATCH_SIZE}", batch_size)
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
        raise bad_argument(function, "patience", "None or a positive int", patience)
    if not isinstance(monitor, str):
        raise bad_argument(function, "monitor", "a metric name such as 'val_loss'", monitor)
    return TrainOptions(resolve_optimizer(optimizer, lr, function), int(batch_size), seed, validation, drop_rate,
                        bool(shuffle), patience, monitor, _flag(function, "diagnostics", diagnostics))


def _flag(function: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise bad_argument(function, name, "True or False", value)
    return bool(value)


def check_epochs(function: str, epochs: Any, allow_none: bool = False) -> int | None:
    """``epochs`` as an int in ``[0, MAX_EPOCHS]`` (or None when ``allow_none``)."""
    if epochs is None and allow_none:
        return None
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 0 <= epochs <= MAX_EPOCHS:
        raise bad_argument(function, "epochs", f"an int from 0 to {MAX_EPOCHS}", epochs)
    return int(epochs)
