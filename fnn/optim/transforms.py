"""Gradient transformations that chain before any optimiser: clipping, an L2 penalty, freezing layers.

>>> opt = fnn.optim.chain(fnn.optim.add_l2(1e-4), fnn.optim.clip_by_global_norm(5.0), fnn.optim.sgd(0.1))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from fnn.arrays import freeze_new
from fnn.core.params import Layer, Params, map_arrays
from fnn.errors import bad_argument
from fnn.optim.base import EmptyState, Optimizer, check_hyperparameter


def _stateless(name: str, transform: Callable[[Params, Params], Params], penalty: Callable[[Params], float] | None = None) -> Optimizer:
    def update(updates: Params, state: Any, params: Params) -> tuple[Params, Any]:
        return transform(updates, params), state

    return Optimizer(lambda params: EmptyState(), update, name, penalty=penalty)


def global_norm(tree: Params) -> float:
    """The Euclidean norm of all arrays of ``tree`` together.

    >>> fnn.optim.global_norm(fnn.map_arrays(lambda a: np.full_like(a, 2.0), fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)))
    2.8284271247461903
    """
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in tree.arrays())))


def clip_by_global_norm(max_norm: float) -> Optimizer:
    """Scale the gradient down so that its global norm is at most ``max_norm`` (unchanged if it already is).

    >>> clip, params = fnn.optim.clip_by_global_norm(1.0), fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)
    >>> clip.update(fnn.map_arrays(lambda a: np.full_like(a, 3.0), params), clip.init(params), params)[0].layers[0].b
    array([0.70710677], dtype=float32)
    """
    max_norm = check_hyperparameter("optim.clip_by_global_norm", "max_norm", max_norm, positive=True)

    def transform(updates: Params, params: Params) -> Params:
        norm = global_norm(updates)
        if norm <= max_norm:
            return updates
        scale = max_norm / norm
        return map_arrays(lambda u: u * scale, updates)

    return _stateless(f"clip_by_global_norm({max_norm})", transform)


def add_l2(l2: float) -> Optimizer:
    """An L2 penalty ``l2/2 * sum(w**2)`` on the weights (not the biases): adds ``l2 * w`` to the gradient, and
    the penalty itself to the loss that training reports.

    >>> l2, params = fnn.optim.add_l2(0.5), fnn.map_arrays(lambda a: np.full_like(a, 2.0), fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0))
    >>> l2.penalty(params), l2.update(fnn.map_arrays(np.zeros_like, params), l2.init(params), params)[0].layers[0].w
    (1.0, array([[1.]], dtype=float32))
    """
    l2 = check_hyperparameter("optim.add_l2", "l2", l2)

    def transform(updates: Params, params: Params) -> Params:
        if not l2:
            return updates
        layers = [Layer(freeze_new(u.w + l2 * p.w), u.b) for u, p in zip(updates.layers, params.layers)]
        return Params(updates.spec, layers)

    def penalty(params: Params) -> float:
        return 0.5 * l2 * sum(float(np.vdot(layer.w, layer.w)) for layer in params.layers)

    return _stateless(f"add_l2({l2})", transform, penalty)


def freeze(layers: Iterable[int]) -> Optimizer:
    """Zero the updates of the given layer indices, so those layers keep their values (e.g. fine-tuning).

    >>> frozen, params = fnn.optim.freeze([0]), fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)
    >>> frozen.update(fnn.map_arrays(np.ones_like, params), frozen.init(params), params)[0].layers[0].b
    array([0.], dtype=float32)
    """
    frozen_layers = tuple(layers)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in frozen_layers):
        raise bad_argument("optim.freeze", "layers", "a list of layer indices", layers)

    def transform(updates: Params, params: Params) -> Params:
        count = len(updates.layers)
        if any(not -count <= i < count for i in frozen_layers):
            raise bad_argument("optim.freeze", "layers", f"layer indices below {count}", list(frozen_layers))
        chosen = {i % count for i in frozen_layers}
        layers = [
            Layer(np.zeros_like(layer.w), np.zeros_like(layer.b)) if i in chosen else layer
            for i, layer in enumerate(updates.layers)
        ]
        return Params(updates.spec, layers)

    return _stateless(f"freeze({list(frozen_layers)})", transform)
