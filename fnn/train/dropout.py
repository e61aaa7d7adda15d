"""Dropout masks as a pure function of ``(seed, epoch, step)``: reproducible, and off unless asked for.

Masks use inverted dropout: kept units are scaled by ``1 / (1 - drop_rate)`` during training so evaluation needs
no rescaling. ``drop_rate`` is the probability of *dropping* a unit (not of keeping it).

>>> spec = fnn.network([4, 8, 8, 2])
>>> masks = dropout_masks(spec, 3, 0.5, seed=0, epoch=0, step=0, dtype=np.float32)
>>> [m.shape for m in masks], sorted(set(masks[0].ravel().tolist()))
([(3, 8), (3, 8)], [0.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fnn.core.spec import NetworkSpec
from fnn.errors import bad_argument
from fnn.seeds import dropout_rng


def dropout_rates(spec: NetworkSpec, drop_rate: float | Sequence[float], function: str = "fit") -> tuple[float, ...]:
    """One rate per hidden layer from a single rate or a list; ``()`` when dropout is off."""
    hidden = len(spec.layers) - 1
    rates = [drop_rate] * hidden if isinstance(drop_rate, (int, float, np.number)) else list(drop_rate)
    if len(rates) != hidden:
        raise bad_argument(function, "drop_rate", f"one rate or a list of {hidden} (one per hidden layer)", drop_rate)
    for rate in rates:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise bad_argument(function, "drop_rate", "rates in [0, 1) (the probability of dropping a unit)", rate)
    return tuple(float(r) for r in rates) if any(rates) else ()


def dropout_masks(
    spec: NetworkSpec, n: int, drop_rate: float | Sequence[float], seed: int, epoch: int, step: int, dtype: npt.DTypeLike
) -> list[np.ndarray | None] | None:
    """Masks for the hidden layers of a batch of ``n`` samples: 0 for a dropped unit, ``1/(1-rate)`` otherwise.

    >>> masks = fnn.dropout_masks(fnn.network([2, 4, 1], loss="mse"), 3, 0.5, seed=0, epoch=0, step=0, dtype="float32")
    >>> masks[0].shape, sorted(set(masks[0].ravel().tolist())) <= [0.0, 2.0]
    ((3, 4), True)
    """
    rates = dropout_rates(spec, drop_rate, "dropout_masks")
    if not rates:
        return None
    rng = dropout_rng(seed, epoch, step)
    masks: list[np.ndarray | None] = []
    for rate, layer in zip(rates, spec.layers[:-1]):
        if rate == 0:
            masks.append(None)
            continue
        mask = (rng.random((n, layer.output_dim), dtype=np.float32) >= rate).astype(dtype)
        mask *= 1 / (1 - rate)
        masks.append(mask)
    return masks
