"""Losses: a value and its gradient, computed from the last layer's pre-activation where that is the stable way.

Softmax cross-entropy and sigmoid binary cross-entropy are *fused* with their output activation: the loss is taken
from the logits ``z`` with log-sum-exp, and the gradient with respect to ``z`` is simply ``(a - y) / n``, with no
division by probabilities, so saturated outputs still give finite losses and gradients. Every loss is the mean over
the samples of the batch.

Sample weights (``fit(..., sample_weight=w, class_weight=...)``) make it a weighted mean, as scikit-learn's MLP
defines it: ``sum(w_i * loss_i) / sum(w_i)`` over each batch, so the gradient row of sample ``i`` is scaled by
``w_i / sum(w)`` where it is ``1 / n`` without weights (the fused losses fold that factor in; other losses have
their rows rescaled). Weights that are all ones are no weights: :func:`sample_weights` drops them, so such a run
is the very bytes of one without.

Your own loss is a :class:`Loss` with ``value(a, y)`` and ``derivative(a, y)`` (the gradient of the mean loss with
respect to the network's output ``a``):

>>> mae = Loss("mae", lambda a, y: np.mean(np.abs(a - y)), lambda a, y: np.sign(a - y) / a.size)
>>> float(mae.value(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]])))
2.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from attrs import field, frozen

from fnn.arrays import describe
from fnn.errors import bad_argument
from fnn.registry import Registry, frozen_registry, lookup

Array = np.ndarray
OfOutputs = Callable[[Array, Array], Array]
"""``f(a, y)`` of the outputs and the targets (or ``f(z, y)`` of the logits)."""
OfBoth = Callable[[Array, Array, Array], Array]
"""``f(z, a, y)`` of the logits, the outputs and the targets."""
Scaled = Callable[[Array, Array, Array, Array], Array]
"""``f(z, a, y, scale)``: the gradient at the logits with row ``i`` scaled by ``scale[i]`` instead of ``1 / n``."""


@frozen
class Loss:
    """A loss ``value(a, y)`` with ``derivative(a, y) = d value / d a``.

    A fused loss also has ``value_from_logits(z, y)`` and ``grad_logits(z, a, y)`` and names the output activation
    it is fused with in ``output``; fnn then uses those instead of going through the activation's derivative.
    ``value_from_both(z, a, y)``, if given, is the same value computed more cheaply from the outputs ``a`` the
    forward pass already has, falling back to the logits where that would lose accuracy.
    ``class_labels`` says that integer class labels are accepted as targets (one-hot rows are accepted too).
    ``per_sample(z, a, y)`` gives each sample's loss (their mean is the value): weighted training needs it.
    ``scaled_grad_logits(z, a, y, scale)`` is ``grad_logits`` with row ``i`` scaled by ``scale[i]`` (weights).
    ``stacks`` says that every function also takes S stacked batches ``(S, n, k)`` (targets ``(S, n)`` or
    ``(S, n, k)``) and gives each member's value (shape ``(S,)``) or gradient with the bytes of its own batch's.

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
    per_sample: OfBoth | None = field(default=None, eq=False, repr=False)
    scaled_grad_logits: Scaled | None = field(default=None, eq=False, repr=False)
    stacks: bool = False

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


def _class_targets(y: Array, n_outputs: int, dtype: np.dtype | type, ndim: int = 2) -> Array:
    """One-hot rows for integer class labels (of a batch, or of S stacked batches when ``ndim`` is 3); float
    targets pass through.

    >>> _class_targets(np.array([2, 0]), 3, np.float64)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    if y.ndim == ndim - 1 and y.dtype.kind in "iu" and n_outputs > 1:
        return np.eye(n_outputs, dtype=dtype)[y]
    return y.reshape(len(y), -1) if ndim == 2 else y


# Every built-in loss takes one batch (n, k) or S stacked batches (S, n, k): what sums over a member's batch
# reduces its own contiguous last axes, one member at a time in the solo order, so a stacked member's value and
# gradient are the bytes of its solo batch's (fnn.fit_seeds relies on it).


def _is_class_indices(y: Array, a: Array) -> bool:
    return y.ndim == a.ndim - 1 and y.dtype.kind in "iu"


def _at_classes(y: Array) -> tuple[Array, ...]:
    """The index of each sample's class entry: ``(arange(n), y)``, with the member's row first if stacked."""
    if y.ndim == 1:
        return np.arange(len(y)), y
    return np.arange(len(y))[:, None], np.arange(y.shape[1]), y


def _picked(values: Array, y: Array) -> Array:
    """Each sample's entry at its class index: ``values[i, y[i]]`` (of every member, if stacked)."""
    return values[_at_classes(y)]


def _batch_mean(values: Array) -> Array:
    """The mean over each batch's samples (the last axis): a scalar for one batch, one per member if stacked."""
    return np.mean(values, axis=-1)


def _cross_entropy_from_logits(z, y):
    log_norm = logsumexp(z)
    if _is_class_indices(y, z):
        return _batch_mean(log_norm - _picked(z, y))
    # -sum(y * log softmax(z)) = sum(y * (logsumexp(z) - z)): right for any target row, soft ones included.
    return _batch_mean(np.sum(y.reshape(z.shape) * (log_norm[..., None] - z), axis=-1))


def _cross_entropy_from_both(z, a, y):
    # -log of the softmax probability of the true class: one log per sample instead of a log-sum-exp per row.
    # Where a probability is within 1e8 of underflow, its log would lose digits, so the logits decide.
    if not _is_class_indices(y, a):
        return _cross_entropy_from_logits(z, y)
    picked = _picked(a, y)
    smallest = np.minimum.reduce(picked, axis=-1)
    if picked.ndim == 1:
        if smallest > _SAFE_PROBABILITY[a.dtype.char]:
            return -np.add.reduce(np.log(picked)) / len(picked)  # the mean, without np.mean's Python layers
        return _cross_entropy_from_logits(z, y)
    safe = smallest > _SAFE_PROBABILITY[a.dtype.char]
    if safe.all():
        return -np.add.reduce(np.log(picked), axis=-1) / picked.shape[-1]
    quick = -np.add.reduce(np.log(np.where(safe[:, None], picked, 1)), axis=-1) / picked.shape[-1]
    return np.where(safe, quick, _cross_entropy_from_logits(z, y))  # each member by its own test, as alone


_SAFE_PROBABILITY = {dtype.char: float(np.finfo(dtype).tiny) * 1e8 for dtype in map(np.dtype, ("float32", "float64"))}


def _cross_entropy_grad(z, a, y):
    n = z.shape[-2]
    if _is_class_indices(y, a):
        grad = a.copy()
        grad[_at_classes(y)] -= 1
        grad /= n
        return grad
    return (a - y.reshape(a.shape)) / n


def _cross_entropy_per_sample(z, a, y):
    log_norm = logsumexp(z)
    if _is_class_indices(y, z):
        return log_norm - _picked(z, y)
    return np.sum(y.reshape(z.shape) * (log_norm[..., None] - z), axis=-1)


def _cross_entropy_scaled_grad(z, a, y, scale):
    if _is_class_indices(y, a):
        grad = a.copy()
        grad[_at_classes(y)] -= 1
        grad *= scale[..., None]
        return grad
    return (a - y.reshape(a.shape)) * scale[..., None]


def _cross_entropy_value(a, y):
    # -mean over rows of sum(y * log a): the probabilities are logged before the targets weigh them (the log of
    # sum(y * a) is another quantity unless y is one-hot); tiny keeps log(0) finite, and 0 * log(tiny) is 0.
    classes = _is_class_indices(y, a)
    log_a = np.log(np.maximum(_picked(a, y) if classes else a, np.finfo(a.dtype).tiny))
    if classes:
        return -_batch_mean(log_a)
    return -_batch_mean(np.sum(y.reshape(a.shape) * log_a, axis=-1))


def _binary_from_logits(z, y):
    y = y.reshape(z.shape)
    # max(z, 0) - z*y + log(1 + exp(-|z|)) is log(1 + exp(z)) - z*y without overflow.
    return _batch_mean(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=-1))


def _binary_grad(z, a, y):
    return (a - y.reshape(a.shape)) / a.shape[-2]


def _binary_per_sample(z, a, y):
    y = y.reshape(z.shape)
    return np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=-1)


def _binary_scaled_grad(z, a, y, scale):
    return (a - y.reshape(a.shape)) * scale[..., None]


def _binary_value(a, y):
    eps = np.finfo(a.dtype).eps
    y = y.reshape(a.shape)
    a = np.clip(a, eps, 1 - eps)
    return -_batch_mean(np.sum(y * np.log(a) + (1 - y) * np.log1p(-a), axis=-1))


def _targets_like(a, y):
    return _class_targets(y, a.shape[-1], a.dtype, a.ndim).reshape(a.shape)


def _per_batch(values: Array) -> Array:
    """Each batch's (n, k) values as one row of ``n * k`` (the order a whole-array reduction of it takes)."""
    return values.reshape(*values.shape[:-2], -1)


def _mse_value(a, y):
    return _batch_mean(_per_batch((a - _targets_like(a, y)) ** 2))


def _quadratic_value(a, y):
    return 0.5 * np.sum(_per_batch((a - _targets_like(a, y)) ** 2), axis=-1) / a.shape[-2]


CROSS_ENTROPY = Loss(
    "cross_entropy",
    _cross_entropy_value,
    lambda a, y: -_targets_like(a, y) / np.maximum(a, np.finfo(a.dtype).tiny) / a.shape[-2],
    output="softmax",
    value_from_logits=_cross_entropy_from_logits,
    grad_logits=_cross_entropy_grad,
    class_labels=True,
    value_from_both=_cross_entropy_from_both,
    per_sample=_cross_entropy_per_sample,
    scaled_grad_logits=_cross_entropy_scaled_grad,
    stacks=True,
)
BINARY_CROSS_ENTROPY = Loss(
    "binary_cross_entropy",
    _binary_value,
    lambda a, y: (a - _targets_like(a, y)) / np.maximum(a * (1 - a), np.finfo(a.dtype).tiny) / a.shape[-2],
    output="sigmoid",
    value_from_logits=_binary_from_logits,
    grad_logits=_binary_grad,
    class_labels=True,
    per_sample=_binary_per_sample,
    scaled_grad_logits=_binary_scaled_grad,
    stacks=True,
)
MEAN_SQUARED_ERROR = Loss(
    "mse",
    _mse_value,
    lambda a, y: 2 * (a - _targets_like(a, y)) / (a.shape[-2] * a.shape[-1]),
    class_labels=True,
    per_sample=lambda z, a, y: np.mean((a - _targets_like(a, y)) ** 2, axis=-1),
    stacks=True,
)
QUADRATIC = Loss(
    "quadratic",
    _quadratic_value,
    lambda a, y: (a - _targets_like(a, y)) / a.shape[-2],
    class_labels=True,
    per_sample=lambda z, a, y: 0.5 * np.sum((a - _targets_like(a, y)) ** 2, axis=-1),
    stacks=True,
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


def weighted_value(loss: Loss, z: Array, a: Array, y: Array, weights: Array) -> float:
    """The batch's weighted mean loss ``sum(w * loss_i) / sum(w)``.

    >>> z = np.array([[0.0], [0.0]]); a = 1 / (1 + np.exp(-z))
    >>> round(weighted_value(BINARY_CROSS_ENTROPY, z, a, np.array([[1.0], [0.0]]), np.array([3.0, 1.0])), 4)
    0.6931
    """
    if loss.per_sample is None:
        raise bad_argument("fit", "sample_weight", f"None for the loss {loss.name!r}, which has no per_sample losses to weigh", describe(weights))
    total = np.sum(weights)
    return float(np.sum(weights * loss.per_sample(z, a, y)) / total) if total > 0 else 0.0


def _scale(weights: Array, dtype: np.dtype) -> Array:
    """``w / sum(w)``: zeros for a batch whose weights are all 0 (it teaches nothing)."""
    total = np.sum(weights)
    return (weights / total).astype(dtype) if total > 0 else np.zeros(len(weights), dtype)


def rescaled_rows(grad: Array, weights: Array) -> Array:
    """A ``1/n`` gradient of a mean loss (a scratch array, overwritten) made that of the weighted mean: row ``i``
    times ``n * w_i / sum(w)``.

    >>> rescaled_rows(np.array([[0.5], [0.5]]), np.array([3.0, 1.0]))
    array([[0.75],
           [0.25]])
    """
    grad *= (_scale(weights, grad.dtype) * len(grad))[:, None]
    return grad


def weighted_gradient(loss: Loss, z: Array, a: Array, y: Array, weights: Array) -> Array:
    """A fused loss's gradient at the logits with row ``i`` scaled by ``w_i / sum(w)`` in place of ``1/n``.

    >>> z = np.zeros((2, 1)); a = np.full((2, 1), 0.5)
    >>> weighted_gradient(BINARY_CROSS_ENTROPY, z, a, np.array([[1.0], [0.0]]), np.array([3.0, 1.0]))
    array([[-0.375],
           [ 0.125]])
    """
    if loss.scaled_grad_logits is not None:
        return loss.scaled_grad_logits(z, a, y, _scale(weights, a.dtype))
    grad_logits: Any = loss.grad_logits
    return rescaled_rows(np.array(grad_logits(z, a, y), dtype=a.dtype, copy=True), weights)


def class_weights(class_weight: Any, labels: Array, n_classes: int, function: str = "fit") -> Array:
    """One weight per class: ``"balanced"`` is ``n / (classes present * count)`` over ``labels`` (scikit-learn's),
    a mapping gives its classes' weights (1 for the rest); an array of ``n_classes`` weights is taken as it is.

    >>> class_weights("balanced", np.array([0, 0, 0, 1]), 2), class_weights({1: 5}, np.array([0, 1]), 3)
    (array([0.66666667, 2.        ]), array([1., 5., 1.]))
    """
    if isinstance(class_weight, np.ndarray) and class_weight.shape == (n_classes,):
        return class_weight
    if isinstance(class_weight, str):
        if class_weight.strip().lower() != "balanced":
            raise bad_argument(function, "class_weight", "'balanced' or a mapping class -> weight", class_weight)
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        present = np.count_nonzero(counts)
        return np.divide(len(labels), present * counts, out=np.ones(n_classes), where=counts > 0)
    if not isinstance(class_weight, Mapping):
        raise bad_argument(function, "class_weight", "None, 'balanced' or a mapping class -> weight", class_weight)
    weights = np.ones(n_classes)
    for key, weight in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or not 0 <= key < n_classes:
            raise bad_argument(function, "class_weight", f"classes 0..{n_classes - 1} as keys", key)
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) or not np.isfinite(weight) or weight < 0:
            raise bad_argument(function, "class_weight", "finite non-negative weights", weight)
        weights[int(key)] = float(weight)
    return weights


def sample_weights(labels: Array | None, n: int, sample_weight: Any = None, class_weight: Any = None,
                   n_classes: int = 0, function: str = "fit") -> Array | None:
    """The per-sample weights of ``n`` samples as float64: ``sample_weight`` times the class weight of each
    sample's label (``labels``, class indices, needed for ``class_weight``; see :func:`class_weights`), or None
    when they are all ones.

    >>> sample_weights(np.array([0, 0, 0, 1]), 4, class_weight="balanced", n_classes=2)
    array([0.66666667, 0.66666667, 0.66666667, 2.        ])
    >>> sample_weights(None, 3, sample_weight=[1, 1, 1]) is None  # all ones: no weights
    True
    """
    weights = np.ones(n)
    if sample_weight is not None:
        given = np.asarray(sample_weight)
        if given.dtype.kind not in "iuf" or given.shape != (n,):
            raise bad_argument(function, "sample_weight", f"an array of {n} numbers (one per sample)", describe(given))
        if not np.all(np.isfinite(given)) or np.any(given < 0):
            raise bad_argument(function, "sample_weight", "finite non-negative weights", describe(given))
        weights = given.astype(np.float64)
    if class_weight is not None:
        if labels is None:
            raise bad_argument(function, "class_weight", "None for a regression network (it has no classes)", class_weight)
        weights = weights * class_weights(class_weight, labels, max(n_classes, 2), function)[labels]
    if n and not np.sum(weights) > 0:
        raise bad_argument(function, "sample_weight", "weights with a positive sum", describe(weights))
    return None if np.all(weights == 1) else weights
