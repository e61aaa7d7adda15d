"""Optimisers and gradient transformations as pure ``(init, update)`` pairs; see :mod:`fnn.optim.base`.

>>> fnn.optim.get_optimizer("adam", lr=0.01).name
'adam(lr=constant:0.01, b1=0.9, b2=0.999)'
"""

from __future__ import annotations

from typing import Any

from fnn.errors import FnnInputError
from fnn.optim.adaptive import AccumulatorState, AdamState, adagrad, adam, adamw, rmsprop
from fnn.optim.base import ChainState, EmptyState, Optimizer, apply_updates, chain, check_hyperparameter
from fnn.optim.schedules import (
    DURATIONS,
    SCHEDULES,
    Schedule,
    as_schedule,
    constant,
    cosine,
    exponential,
    get_schedule,
    linear_warmup,
    step_decay,
)
from fnn.optim.sgd import MomentumState, SgdState, momentum, nesterov, sgd
from fnn.optim.transforms import add_l2, clip_by_global_norm, freeze, global_norm
from fnn.registry import frozen_registry

OPTIMIZERS = frozen_registry(
    {
        "sgd": sgd,
        "momentum": momentum,
        "nesterov": nesterov,
        "adagrad": adagrad,
        "rmsprop": rmsprop,
        "adam": adam,
        "adamw": adamw,
    }
)
"""Every built-in optimiser factory by name (read-only)."""


def get_optimizer(name: str | Optimizer, **hyperparameters: Any) -> Optimizer:
    """The optimiser ``name`` built with ``hyperparameters`` (e.g. ``lr=0.1, momentum=0.9``).

    >>> fnn.optim.get_optimizer("momentum", lr=0.1, beta=0.5).name
    'sgd(lr=constant:0.1, momentum=0.5)'
    """
    if isinstance(name, Optimizer):
        return name
    factory = OPTIMIZERS.get(str(name).strip().lower())
    if factory is None:
        raise FnnInputError(f"Unknown optimizer {name!r}. Known optimizers: {', '.join(sorted(OPTIMIZERS))}.")
    try:
        return factory(**hyperparameters)
    except TypeError as error:
        if isinstance(error, FnnInputError):
            raise
        raise FnnInputError(f"The optimizer {name!r} does not take these hyper-parameters: {error}") from None


__all__ = [
    "Optimizer",
    "EmptyState",
    "ChainState",
    "SgdState",
    "MomentumState",
    "AccumulatorState",
    "AdamState",
    "OPTIMIZERS",
    "get_optimizer",
    "chain",
    "apply_updates",
    "check_hyperparameter",
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "clip_by_global_norm",
    "add_l2",
    "freeze",
    "global_norm",
    "Schedule",
    "SCHEDULES",
    "DURATIONS",
    "get_schedule",
    "as_schedule",
    "constant",
    "step_decay",
    "exponential",
    "cosine",
    "linear_warmup",
]
