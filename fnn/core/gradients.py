"""The public pure functions of a network: ``forward``, ``loss``, ``grad`` and ``loss_and_grad``.

Each takes parameters and a batch ``(x, y)`` with samples in rows and returns new values; nothing is mutated.

>>> spec = fnn.network([2, 3, 2], activation="tanh")
>>> params = fnn.init_params(spec, seed=0)
>>> x, y = np.array([[0.5, -1.0], [1.0, 2.0]], np.float32), np.array([0, 1])
>>> value, grads = fnn.loss_and_grad(params, (x, y))
>>> grads.layers[0].w.shape, round(value, 4) == round(fnn.loss(params, (x, y)), 4)
((2, 3), True)
"""


from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fnn.core.network import backward, forward_trace, forward_unchecked, loss_value, output_gradient
from fnn.core.params import Params
from fnn.core.validate import check_batch, check_features, check_params

Batch = tuple[npt.ArrayLike, npt.ArrayLike]


def forward(params: Params, x: npt.ArrayLike) -> np.ndarray:
    """The network's output for the batch ``x`` (shape ``(n, inputs)``): probabilities for a softmax or sigmoid
    output, raw values for an identity output.

    >>> params = fnn.init_params(fnn.network([2, 3, 2]), seed=0)
    >>> fnn.forward(params, np.zeros((1, 2), np.float32)).sum().round(6)
    np.float32(1.0)
    """
    check_params(params, "forward")
    return forward_unchecked(params, np.asarray(check_features(params, x, "forward")))


def loss(params: Params, batch: Batch) -> float:
    """The mean loss of ``batch = (x, y)``; ``y`` holds integer class labels, one-hot rows or float targets.

    >>> params = fnn.init_params(fnn.network([2, 1], activation="identity", loss="mse"), seed=0)
    >>> fnn.loss(params, (np.zeros((1, 2), np.float32), np.array([[3.0]], np.float32)))
    9.0
    """
    x, y = check_batch(params, batch, "loss")
    return loss_value(params, forward_trace(params, np.asarray(x)), y)


def grad(params: Params, batch: Batch) -> Params:
    """Gradients of :func:`loss`, as ``Params`` shaped like ``params``.

    >>> params = fnn.init_params(fnn.network([2, 1], activation="identity", loss="mse"), seed=0)
    >>> fnn.grad(params, (np.zeros((1, 2), np.float32), np.array([[3.0]], np.float32))).layers[0].b
    array([-6.], dtype=float32)
    """
    return loss_and_grad(params, batch)[1]


def loss_and_grad(params: Params, batch: Batch) -> tuple[float, Params]:
    """``(loss, grads)`` from one forward and one backward pass.

    >>> params = fnn.init_params(fnn.network([2, 1], activation="identity", loss="mse"), seed=0)
    >>> value, grads = fnn.loss_and_grad(params, (np.zeros((1, 2), np.float32), np.array([[3.0]], np.float32)))
    >>> value, grads.layers[0].b
    (9.0, array([-6.], dtype=float32))
    """
    x, y = check_batch(params, batch, "loss_and_grad")
    value, grads, _ = loss_and_grad_unchecked(params, np.asarray(x), y)
    return value, grads


def loss_and_grad_unchecked(
    params: Params, x: np.ndarray, y: np.ndarray, masks: Sequence[np.ndarray | None] | None = None
) -> tuple[float, Params, np.ndarray]:
    """:func:`loss_and_grad` for trusted, prepared arrays (``y`` as :func:`fnn.core.validate.prepare_targets` gives it);
    ``masks`` applies dropout to the hidden layers. Also returns the output, for running metrics."""
    trace = forward_trace(params, x, masks)
    return loss_value(params, trace, y), backward(params, trace, output_gradient(params, trace, y)), trace.post[-1]
