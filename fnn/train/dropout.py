"""Dropout masks as a pure function of ``(seed, epoch, step)``: reproducible, and off unless asked for.

Masks use inverted dropout: kept units are scaled by ``1 / (1 - drop_rate)`` during training so evaluation needs
no rescaling. ``drop_rate`` is the probability of *dropping* a unit (not of keeping it).

>>> spec = fnn.network([4, 8, 8, 2])
>>> masks = dropout_masks(spec, 3, 0.5, seed=0, epoch=0, step=0, dtype=np.float32)
>>> [m.shape for m in masks], sorted(set(masks[0].ravel().tolist()))
([(3, 8), (3, 8)], [0.0, 2.0])
"""

import numpy as np

from fnn.errors import bad_argument
from fnn.seeds import dropout_rng

__all__ = ["dropout_rates", "dropout_masks"]


def dropout_rates(spec, drop_rate, function="fit"):
    """One rate per hidden layer from a single rate or a list; ``()`` when dropout is off."""
    hidden = len(spec.layers) - 1
    rates = [drop_rate] * hidden if np.isscalar(drop_rate) else list(drop_rate)
    if len(rates) != hidden:
        raise bad_argument(function, "drop_rate", f"one rate or a list of {hidden} (one per hidden layer)", drop_rate)
    for rate in rates:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise bad_argument(function, "drop_rate", "rates in [0, 1) (the probability of dropping a unit)", rate)
    return tuple(float(r) for r in rates) if any(rates) else ()


def dropout_masks(spec, n, drop_rate, seed, epoch, step, dtype):
    """Masks for the hidden layers of a batch of ``n`` samples: 0 for a dropped unit, ``1/(1-rate)`` otherwise."""
    rates = dropout_rates(spec, drop_rate, "dropout_masks")
    if not rates:
        return None
    rng = dropout_rng(seed, epoch, step)
    masks = []
    for rate, layer in zip(rates, spec.layers[:-1]):
        if rate == 0:
            masks.append(None)
            continue
        mask = (rng.random((n, layer.output_dim), dtype=np.float32) >= rate).astype(dtype)
        mask *= 1 / (1 - rate)
        masks.append(mask)
    return masks
