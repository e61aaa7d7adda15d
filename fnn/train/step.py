"""One training step: the network's functions and an optimiser's ``(init, update)`` pair, composed.

A step is ``forward`` (keeping what the backward pass needs), the batch's ``loss``, its gradient by the backward
pass, the optimiser's ``update`` and :func:`~fnn.optim.apply_updates`; :func:`composed_step` is exactly that. The
built-in optimisers carry an elementwise kernel, which :func:`~fnn.train.fused.fused_step` runs once over all
parameters as one vector: the same bytes, faster. :func:`train_step` picks the path; the choice never changes a
bit. The textbook step is :func:`sgd_step`:

>>> spec = fnn.network([2, 3, 2], activation="tanh")
>>> params = fnn.init_params(spec, seed=0)
>>> batch = (np.array([[0.5, -1.0], [1.0, 2.0]], np.float32), np.array([0, 1]))
>>> new = sgd_step(params, fnn.grad(params, batch), lr=0.5)
>>> fnn.loss(new, batch) < fnn.loss(params, batch)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fnn.core.network import backward, forward_trace, loss_value, output_gradient
from fnn.core.params import Params, check_same_structure, map_arrays
from fnn.errors import bad_argument
from fnn.optim.base import Optimizer, apply_updates
from fnn.train.diagnostics import gradient_norms
from fnn.train.fused import fused_step
from fnn.train.state import StepOutcome

Masks = Sequence[np.ndarray | None] | None


def composed_step(
    optimizer: Optimizer, params: Params, opt_state: Any, x: np.ndarray, y: np.ndarray, masks: Masks = None, norms: bool = False,
    weights: np.ndarray | None = None,
) -> StepOutcome:
    """forward -> loss -> grad -> ``optimizer.update`` -> ``apply_updates`` on a prepared batch (its loss the
    ``weights``-weighted mean if given)."""
    trace = forward_trace(params, x, masks)
    value = loss_value(params, trace, y, weights)
    grads = backward(params, trace, output_gradient(params, trace, y, weights))
    updates, new_state = optimizer.update(grads, opt_state, params)
    return StepOutcome(value, trace, apply_updates(params, updates), new_state, gradient_norms(grads) if norms else None)


def step_outcome(
    optimizer: Optimizer, params: Params, opt_state: Any, x: np.ndarray, y: np.ndarray, masks: Masks = None, norms: bool = False,
    weights: np.ndarray | None = None,
) -> StepOutcome:
    """The step on a prepared batch: fused when the optimiser has a kernel, composed otherwise (the same bytes)."""
    if optimizer.kernel is not None:
        return fused_step(optimizer.kernel, params, opt_state, x, y, masks, norms, weights)
    return composed_step(optimizer, params, opt_state, x, y, masks, norms, weights)


def train_step(
    optimizer: Optimizer, params: Params, opt_state: Any, x: np.ndarray, y: np.ndarray, masks: Masks = None
) -> tuple[float, np.ndarray, Params, Any]:
    """One update on a prepared batch: ``(loss, outputs, new_params, new_opt_state)``; ``loss`` is the batch's
    loss at ``params`` (before the update, without any penalty term)."""
    done = step_outcome(optimizer, params, opt_state, x, y, masks)
    return done.loss, done.trace.post[-1], done.params, done.opt_state


def sgd_step(params: Params, grads: Params, lr: float) -> Params:
    """The textbook step of gradient descent: ``params - lr * grads``, array by array.

    With ``lr`` bound it folds over mini-batches: ``reduce(lambda p, batch: sgd_step(p, fnn.grad(p, batch), 0.1),
    batches, params)`` gives the very bytes of ``fit(lr=0.1)`` with the same batches.

    >>> params = fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)
    >>> grads = fnn.map_arrays(np.ones_like, params)
    >>> fnn.sgd_step(params, grads, lr=0.5).layers[0].b
    array([-0.5], dtype=float32)
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not np.isfinite(lr) or lr <= 0:
        raise bad_argument("sgd_step", "lr", "a positive finite number", lr)
    if not isinstance(params, Params):
        raise bad_argument("sgd_step", "params", "fnn.Params", params)
    check_same_structure("sgd_step", "grads", grads, params)
    rate = float(lr)  # a Python float keeps each array's dtype, as the optimisers' kernels do
    return map_arrays(lambda p, g: p - rate * g, params, grads)
