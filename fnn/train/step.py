"""The training step's fast path, confined here: gradients computed into one flat vector and fused with the update.

The contract (:func:`train_step`): given an optimiser, parameters, its state and a prepared batch, return the
loss, the network's outputs and the new parameters and state. Everything else in fnn sees gradients as ``Params``
(:mod:`fnn.core.gradients`) and optimisers through their public ``(init, update)`` pair (:mod:`fnn.optim.base`).

Inside, two tricks that never change a number's value in a way the public path would not:

- the gradient is written by the backward pass straight into one 1-D vector in
  :func:`~fnn.core.params.flat_layout` order, which the optimiser's ``update_and_apply`` may overwrite, so an elementwise
  optimiser runs once on the whole vector instead of once per array;
- an optimiser that wants its gradient pre-multiplied (``Optimizer.gradient_scale``: ``-lr`` for plain SGD,
  ``1 - b1`` for Adam) gets that factor applied to ``dL/dlogits``, a batch-by-outputs array, before the backward
  pass, which is linear in it: the scaling is nearly free instead of a pass over every parameter.

The flat vector stays this module's fast path rather than ``Params``' representation: the parameters handed back
are already views of one flat vector, and building and checking those layer views costs 3-5% of a training step
(cProfile, 784-256-128-64-10, batch 128, 1 thread), which the forward and backward passes need anyway.

>>> spec = fnn.network([2, 3, 2], activation="tanh")
>>> params = fnn.init_params(spec, seed=0)
>>> x, y = np.array([[0.5, -1.0], [1.0, 2.0]], np.float32), np.array([0, 1])
>>> new = sgd_step(params, (x, y), lr=0.5)
>>> fnn.loss(new, (x, y)) < fnn.loss(params, (x, y))
True
"""

import numpy as np

from fnn.core.network import backward_flat, forward_trace, loss_value, output_gradient
from fnn.core.validate import check_batch
from fnn.errors import bad_argument
from fnn.optim.base import apply_gradients, gradient_scale
from fnn.optim.sgd import sgd
from fnn.train.diagnostics import accumulate, gradient_norms, wants_norms

__all__ = ["train_step", "train_step_observed", "sgd_step"]


def _loss_and_scaled_gradient(params, x, y, masks, scale):
    """``(loss, scale * gradient as one writable flat vector, trace)``; ``trace.post[-1]`` is the output."""
    trace = forward_trace(params, x, masks)
    grad_logits = output_gradient(params, trace, y)
    if scale != 1.0:
        grad_logits *= scale
    return loss_value(params, trace, y), backward_flat(params, trace, grad_logits), trace


def train_step(optimizer, params, opt_state, x, y, masks=None):
    """One update on a prepared batch: ``(loss, outputs, new_params, new_opt_state)``; ``loss`` is the batch's
    loss at ``params`` (before the update, without any penalty term)."""
    value, gradient, trace = _loss_and_scaled_gradient(params, x, y, masks, gradient_scale(optimizer, opt_state))
    new_params, new_state = apply_gradients(optimizer, gradient, opt_state, params, scaled=True)
    return value, trace.post[-1], new_params, new_state


def train_step_observed(optimizer, params, opt_state, x, y, masks, diagnostics):
    """:func:`train_step` that also folds the step into ``diagnostics`` (a
    :class:`~fnn.train.diagnostics.DiagnosticsAccumulator`): ``(loss, outputs, new_params, new_opt_state,
    new_diagnostics)``, the same numbers as :func:`train_step`.

    It reuses the forward pass's hidden activations (before dropout) and reads the gradient norms on a sampled
    step before the update, which may overwrite the gradient vector (Adam does); the learning rate recorded is
    the one this update uses.
    """
    scale = gradient_scale(optimizer, opt_state)
    value, gradient, trace = _loss_and_scaled_gradient(params, x, y, masks, scale)
    norms = gradient_norms(params.spec, gradient, scale) if wants_norms(diagnostics) else None
    lr = optimizer.learning_rate(opt_state) if optimizer.learning_rate is not None else None
    new_params, new_state = apply_gradients(optimizer, gradient, opt_state, params, scaled=True)
    diagnostics = accumulate(diagnostics, trace.post, norms, params, new_params, lr)
    return value, trace.post[-1], new_params, new_state, diagnostics


def sgd_step(params, batch, lr):
    """One step of gradient descent on ``batch``: new params ``params - lr * grad(params, batch)``.

    With ``lr`` bound it is the step of a fold over mini-batches:
    ``toolz.reduce(toolz.curry(sgd_step)(lr=0.1), batches, params)``. It is the very step ``fit`` takes with
    SGD, so a fold of it and ``fit(lr=...)`` give the same bytes.
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not np.isfinite(lr) or lr <= 0:
        raise bad_argument("sgd_step", "lr", "a positive finite number", lr)
    x, y = check_batch(params, batch, "sgd_step")
    optimizer = sgd(lr)
    return train_step(optimizer, params, optimizer.init(params), x, y)[2]
