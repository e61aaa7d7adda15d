"""The public pure functions of a network: ``forward``, ``loss``, ``grad`` and ``loss_and_grad``.

Each takes parameters and a batch ``(x, y)`` with samples in rows and returns new values; nothing is mutated.

>>> spec = fnn.network([2, 3, 2], activation="tanh")
>>> params = fnn.init_params(spec, seed=0)
>>> x, y = np.array([[0.5, -1.0], [1.0, 2.0]], np.float32), np.array([0, 1])
>>> value, grads = fnn.loss_and_grad(params, (x, y))
>>> grads.layers[0].w.shape, round(value, 4) == round(fnn.loss(params, (x, y)), 4)
((2, 3), True)
"""


from fnn.core.network import backward_flat, forward_trace, forward_unchecked, loss_value, output_gradient
from fnn.core.params import params_from_flat
from fnn.core.validate import check_batch, check_features, check_params

__all__ = ["forward", "loss", "grad", "loss_and_grad", "loss_and_grad_unchecked"]


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
    """:func:`loss_and_grad` for trusted, prepared arrays (``y`` as :func:`fnn.core.validate.prepare_targets` gives it);
    ``masks`` applies dropout to the hidden layers. Also returns the output, for running metrics."""
    trace = forward_trace(params, x, masks)
    flat = backward_flat(params, trace, output_gradient(params, trace, y))
    return loss_value(params, trace, y), params_from_flat(params.spec, flat), trace.post[-1]
