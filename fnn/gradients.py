"""The public pure functions of a network: ``forward``, ``loss``, ``grad``, ``loss_and_grad`` and ``sgd_step``.

Each takes parameters and a batch ``(x, y)`` with samples in rows and returns new values; nothing is mutated.

>>> spec = fnn.network([2, 3, 2], activation="tanh")
>>> params = fnn.init_params(spec, seed=0)
>>> x, y = np.array([[0.5, -1.0], [1.0, 2.0]], np.float32), np.array([0, 1])
>>> value, grads = fnn.loss_and_grad(params, (x, y))
>>> grads.layers[0].w.shape, round(value, 4) == round(fnn.loss(params, (x, y)), 4)
((2, 3), True)
>>> new = fnn.sgd_step(params, (x, y), lr=0.5)
>>> fnn.loss(new, (x, y)) < value
True
"""

import numpy as np

from .errors import bad_argument
from .network import backward_flat, forward_trace, forward_unchecked, loss_value, output_gradient
from .optim import sgd
from .optim.base import apply_gradients, gradient_scale
from .params import params_from_flat
from .validate import check_batch, check_features, check_params

__all__ = ["forward", "loss", "grad", "loss_and_grad", "sgd_step", "loss_and_grad_unchecked", "loss_and_grad_flat"]


def forward(params, x):
    """The network's output for the batch ``x`` (shape ``(n, inputs)``): probabilities for a softmax or sigmoid
    output, raw values for an identity output."""
    check_params(params, "forward")
    return forward_unchecked(params, check_features(params, x, "forward"))


def loss(params, batch):
    """The mean loss of ``batch = (x, y)``; ``y`` holds integer class labels, one-hot rows or float targets."""
    x, y = check_batch(params, batch, "loss")
    return loss_value(params, forward_trace(params, x), y)


def grad(params, batch):
    """Gradients of :func:`loss`, as ``Params`` shaped like ``params``."""
    return loss_and_grad(params, batch)[1]


def loss_and_grad(params, batch):
    """``(loss, grads)`` from one forward and one backward pass."""
    x, y = check_batch(params, batch, "loss_and_grad")
    value, grads, _ = loss_and_grad_unchecked(params, x, y)
    return value, grads


def loss_and_grad_unchecked(params, x, y, masks=None):
    """:func:`loss_and_grad` for trusted, prepared arrays (``y`` as :func:`fnn.validate.prepare_targets` gives it);
    ``masks`` applies dropout to the hidden layers. Also returns the output, for running metrics."""
    value, flat, outputs = loss_and_grad_flat(params, x, y, masks)
    return value, params_from_flat(params.spec, flat), outputs


def loss_and_grad_flat(params, x, y, masks=None, scale=1.0):
    """Like :func:`loss_and_grad_unchecked`, with the gradients (times ``scale``) as one writable 1-D scratch
    array for a fused optimiser step (see :func:`fnn.optim.base.apply_gradients`)."""
    trace = forward_trace(params, x, masks)
    grad_logits = output_gradient(params, trace, y)
    if scale != 1.0:
        grad_logits *= scale  # backprop is linear in it: scaling here is scaling every gradient, nearly free
    flat = backward_flat(params, trace, grad_logits)
    return loss_value(params, trace, y), flat, trace.post[-1]


def sgd_step(params, batch, lr):
    """One step of gradient descent on ``batch``: new params ``params - lr * grad(params, batch)``.

    With ``lr`` bound it is the step of a fold over mini-batches:
    ``toolz.reduce(toolz.curry(sgd_step)(lr=0.1), batches, params)``.
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not np.isfinite(lr) or lr <= 0:
        raise bad_argument("sgd_step", "lr", "a positive finite number", lr)
    x, y = check_batch(params, batch, "sgd_step")
    # The same kernel as fit's SGD, so a fold of sgd_step and fit(lr=...) give the same bytes.
    optimizer = sgd(lr)
    state = optimizer.init(params)
    grad_flat = loss_and_grad_flat(params, x, y, scale=gradient_scale(optimizer, state))[1]
    return apply_gradients(optimizer, grad_flat, state, params, scaled=True)[0]
