"""Losses: a value and its gradient, computed from the last layer's pre-activation where that is the stable way.

Softmax cross-entropy and sigmoid binary cross-entropy are *fused* with their output activation: the loss is taken
from the logits ``z`` with log-sum-exp, and the gradient with respect to ``z`` is simply ``(a - y) / n``, with no
division by probabilities, so saturated outputs still give finite losses and gradients. Every loss is the mean over
the samples of the batch.

Your own loss is a :class:`Loss` with ``value(a, y)`` and ``derivative(a, y)`` (the gradient of the mean loss with
respect to the network's output ``a``):

>>> mae = Loss("mae", lambda a, y: np.mean(np.abs(a - y)), lambda a, y: np.sign(a - y) / a.size)
>>> float(mae.value(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]])))
2.0
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from attrs import field, frozen

from fnn.registry import Registry, frozen_registry, lookup

Array = np.ndarray
OfOutputs = Callable[[Array, Array], Array]
"""``f(a, y)`` of the outputs and the targets (or ``f(z, y)`` of the logits)."""
OfBoth = Callable[[Array, Array, Array], Array]
"""``f(z, a, y)`` of the logits, the outputs and the targets."""


@frozen
class Loss:
    """A loss ``value(a, y)`` with ``derivative(a, y) = d value / d a``.

    A fused loss also has ``value_from_logits(z, y)`` and ``grad_logits(z, a, y)`` and names the output activation
    it is fused with in ``output``; fnn then uses those instead of going through the activation's derivative.
    ``value_from_both(z, a, y)``, if given, is the same value computed more cheaply from the outputs ``a`` the
    forward pass already has, falling back to the logits where that would lose accuracy.
    ``class_labels`` says that integer class labels are accepted as targets (one-hot rows are accepted too).

    >>> half_sse = Loss("half_sse", lambda a, y: 0.5 * np.sum((a - y) ** 2), lambda a, y: a - y)
    >>> float(half_sse.value(np.array([[3.0]]), np.array([[1.0]]))), half_sse.fused
    (2.0, False)
    """

    name: str
    value: OfOutputs = field(eq=False, repr=False)
    derivative: OfOutputs = field(eq=False, repr=False)
    output: str | None = None
    value_from_logits: OfOutputs | None = field(default=None, eq=False, repr=False)
    grad_logits: OfBoth | None = field(default=None, eq=False, repr=False)
    class_labels: bool = False
    value_from_both: OfBoth | None = field(default=None, eq=False, repr=False)

    @property
    def fused(self) -> bool:
        """Whether the loss is taken from the logits together with its output activation.

        >>> get_loss("cross_entropy").fused, get_loss("mse").fused
        (True, False)
        """
        return self.grad_logits is not None


def logsumexp(z: Array) -> Array:
    """``log(sum(exp(z)))`` over the last axis, without overflow.

    >>> float(logsumexp(np.array([1000.0, 1000.0])) - 1000)  # doctest: +ELLIPSIS
    0.693...
    """
    peak = z.max(axis=-1, keepdims=True)
    return (peak + np.log(np.sum(np.exp(z - peak), axis=-1, keepdims=True)))[..., 0]


def _class_targets(y: Array, n_outputs: int, dtype: np.dtype | type) -> Array:
    """One-hot rows for integer class labels; float targets pass through as 2-D rows.

    >>> _class_targets(np.array([2, 0]), 3, np.float64)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    if y.ndim == 1 and y.dtype.kind in "iu" and n_outputs > 1:
        return np.eye(n_outputs, dtype=dtype)[y]
    return y.reshape(len(y), -1)


def _is_class_indices(y: Array) -> bool:
    return y.ndim == 1 and y.dtype.kind in "iu"


def _cross_entropy_from_logits(z, y):
    log_norm = logsumexp(z)
    if _is_class_indices(y):
        return np.mean(log_norm - z[np.arange(len(z)), y])
    # -sum(y * log softmax(z)) = sum(y * (logsumexp(z) - z)): right for any target row, soft ones included.
    return np.mean(np.sum(y * (log_norm[:, None] - z), axis=-1))


def _cross_entropy_from_both(z, a, y):
    # -log of the softmax probability of the true class: one log per sample instead of a log-sum-exp per row.
    # Where a probability is within 1e8 of underflow, its log would lose digits, so the logits decide.
    if _is_class_indices(y):
        picked = a[np.arange(len(a)), y]
        if np.minimum.reduce(picked) > _SAFE_PROBABILITY[a.dtype.char]:
            return -np.add.reduce(np.log(picked)) / len(picked)  # the mean, without np.mean's Python layers
    return _cross_entropy_from_logits(z, y)


_SAFE_PROBABILITY = {dtype.char: float(np.finfo(dtype).tiny) * 1e8 for dtype in map(np.dtype, ("float32", "float64"))}


def _cross_entropy_grad(z, a, y):
    n = len(z)
    if _is_class_indices(y):
        grad = a.copy()
        grad[np.arange(n), y] -= 1
        grad /= n
        return grad
    return (a - y) / n


def _cross_entropy_value(a, y):
    # -mean over rows of sum(y * log a): the probabilities are logged before the targets weigh them (the log of
    # sum(y * a) is another quantity unless y is one-hot); tiny keeps log(0) finite, and 0 * log(tiny) is 0.
    log_a = np.log(np.maximum(a if not _is_class_indices(y) else a[np.arange(len(a)), y], np.finfo(a.dtype).tiny))
    if _is_class_indices(y):
        return -np.mean(log_a)
    return -np.mean(np.sum(y.reshape(a.shape) * log_a, axis=-1))


def _binary_from_logits(z, y):
    y = y.reshape(z.shape)
    # max(z, 0) - z*y + log(1 + exp(-|z|)) is log(1 + exp(z)) - z*y without overflow.
    return np.mean(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=-1))


def _binary_grad(z, a, y):
    return (a - y.reshape(a.shape)) / len(a)


def _binary_value(a, y):
    eps = np.finfo(a.dtype).eps
    y = y.reshape(a.shape)
    a = np.clip(a, eps, 1 - eps)
    return -np.mean(np.sum(y * np.log(a) + (1 - y) * np.log1p(-a), axis=-1))


def _targets_like(a, y):
    return _class_targets(y, a.shape[-1], a.dtype).reshape(a.shape)


CROSS_ENTROPY = Loss(
    "cross_entropy",
    _cross_entropy_value,
    lambda a, y: -_targets_like(a, y) / np.maximum(a, np.finfo(a.dtype).tiny) / len(a),
    output="softmax",
    value_from_logits=_cross_entropy_from_logits,
    grad_logits=_cross_entropy_grad,
    class_labels=True,
    value_from_both=_cross_entropy_from_both,
)
BINARY_CROSS_ENTROPY = Loss(
    "binary_cross_entropy",
    _binary_value,
    lambda a, y: (a - _targets_like(a, y)) / np.maximum(a * (1 - a), np.finfo(a.dtype).tiny) / len(a),
    output="sigmoid",
    value_from_logits=_binary_from_logits,
    grad_logits=_binary_grad,
    class_labels=True,
)
MEAN_SQUARED_ERROR = Loss(
    "mse",
    lambda a, y: np.mean((a - _targets_like(a, y)) ** 2),
    lambda a, y: 2 * (a - _targets_like(a, y)) / a.size,
    class_labels=True,
)
QUADRATIC = Loss(
    "quadratic",
    lambda a, y: 0.5 * np.sum((a - _targets_like(a, y)) ** 2) / len(a),
    lambda a, y: (a - _targets_like(a, y)) / len(a),
    class_labels=True,
)

LOSSES: Registry[Loss] = frozen_registry(
    {
        "cross_entropy": lambda: CROSS_ENTROPY,
        "categorical_cross_entropy": lambda: CROSS_ENTROPY,
        "binary_cross_entropy": lambda: BINARY_CROSS_ENTROPY,
        "bce": lambda: BINARY_CROSS_ENTROPY,
        "mse": lambda: MEAN_SQUARED_ERROR,
        "mean_squared_error": lambda: MEAN_SQUARED_ERROR,
        "quadratic": lambda: QUADRATIC,
    }
)
"""Every built-in loss by name (read-only). ``mse`` averages over all outputs; ``quadratic`` is Nielsen's
``1/(2n) sum ||a - y||^2``.

>>> float(LOSSES["mse"]().value(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]])))
5.0
"""


def get_loss(value: Loss | str, function: str = "network", argument: str = "loss") -> Loss:
    """The :class:`Loss` for a name such as ``"cross_entropy"``, or ``value`` itself if it is a Loss.

    >>> get_loss("bce").name, get_loss("bce").output
    ('binary_cross_entropy', 'sigmoid')
    """
    return lookup(LOSSES, value, Loss, kind="loss", function=function, argument=argument)
