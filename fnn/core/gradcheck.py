"""Gradient checking by central finite differences in float64: the test every pure function deserves.

>>> params = fnn.init_params(fnn.network([3, 4, 2], activation="tanh"), seed=0, dtype="float64")
>>> batch = (np.random.default_rng(0).standard_normal((5, 3)), np.array([0, 1, 1, 0, 1]))
>>> result = fnn.check_grad(params, batch)
>>> result.ok, result.max_relative_error < 1e-6
(True, True)
>>> fnn.check_activation("gelu").ok
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from attrs import frozen

from fnn.core.activations import Activation, get_activation
from fnn.core.gradients import loss_and_grad
from fnn.core.losses import Loss, get_loss
from fnn.core.network import forward_trace, loss_value
from fnn.core.params import Params, flatten_params, map_arrays, unflatten_params
from fnn.core.validate import check_batch


@frozen
class GradCheckResult:
    """The worst relative error between analytic and numeric gradients, where it occurred, and both values.

    >>> result = fnn.GradCheckResult(2e-7, "layer 0 w[1, 2]", 0.5, 0.5000001, tolerance=1e-5)
    >>> result.ok
    True
    """

    max_relative_error: float
    where: str
    analytic: float
    numeric: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """Whether the worst relative error is within the tolerance.

        >>> fnn.check_loss("mse", [[0.2, 0.8]], [[0.0, 1.0]]).ok
        True
        """
        return self.max_relative_error <= self.tolerance


def _relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float | None = None) -> np.ndarray:
    """``|a - n| / max(|a|, |n|, floor)`` elementwise: relative where values are large, absolute near zero.

    ``floor`` defaults to a thousandth of the largest numeric value (and at least 1e-6), so entries far below the
    gradient's scale, where finite differences only see round-off, are judged by absolute error.
    """
    if floor is None:
        floor = max(1e-6, 1e-3 * float(np.max(np.abs(numeric), initial=0)))
    return np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)


def _index(flat_index: int, shape: tuple[int, ...]) -> list[int]:
    return [int(i) for i in np.unravel_index(flat_index, shape)]


def _worst(
    analytic: np.ndarray, numeric: np.ndarray, names: Callable[[int], str], tolerance: float, floor: float | None = None
) -> GradCheckResult:
    errors = _relative_error(analytic, numeric, floor)
    worst = int(np.argmax(errors))
    return GradCheckResult(float(errors[worst]), names(worst), float(analytic[worst]), float(numeric[worst]), tolerance)


def _central_differences(function: Callable[[np.ndarray], float], vector: np.ndarray, eps: float) -> np.ndarray:
    numeric = np.empty_like(vector)
    for i in range(len(vector)):
        shifted = vector.copy()
        shifted[i] = vector[i] + eps
        plus = function(shifted)
        shifted[i] = vector[i] - eps
        numeric[i] = (plus - function(shifted)) / (2 * eps)
    return numeric


def check_grad(params: Params, batch: tuple[Any, Any], eps: float = 1e-6, tolerance: float = 1e-5) -> GradCheckResult:
    """Compare :func:`fnn.grad` with central differences of :func:`fnn.loss`, all in float64.

    Returns a :class:`GradCheckResult` naming the worst parameter, e.g. ``"layer 1 w[2, 0]"``.

    >>> params = fnn.init_params(fnn.network([2, 3], activation="tanh"), seed=0)
    >>> fnn.check_grad(params, (np.ones((2, 2), np.float32), np.array([0, 2]))).ok
    True
    """
    params64 = map_arrays(lambda a: a.astype(np.float64), params)
    x, y = batch
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    y = y.astype(np.float64) if y.dtype.kind == "f" else y
    _, y = check_batch(params64, (x, y), "check_grad")
    analytic = flatten_params(loss_and_grad(params64, (x, y))[1])
    vector = flatten_params(params64)

    def loss_at(v: np.ndarray) -> float:
        candidate = unflatten_params(v, params64)
        return loss_value(candidate, forward_trace(candidate, x), y)

    numeric = _central_differences(loss_at, vector, eps)
    # A central difference cannot resolve less than the loss's own round-off divided by the step; where the whole
    # gradient is that small (a saturated net), errors at that level are judged against it, not as relative ones.
    round_off = np.finfo(np.float64).eps * max(abs(loss_at(vector)), 1.0) / eps
    floor = max(1e-6, 1e-3 * float(np.max(np.abs(numeric), initial=0)), round_off / tolerance)
    return _worst(analytic, numeric, lambda i: _parameter_name(params64, i), tolerance, floor)


def _parameter_name(params: Params, flat_index: int) -> str:
    for layer_index, layer in enumerate(params.layers):
        for name, array in (("w", layer.w), ("b", layer.b)):
            if flat_index < array.size:
                return f"layer {layer_index} {name}{_index(flat_index, array.shape)}"
            flat_index -= array.size
    return "?"


def check_activation(
    activation: Activation | str, z: Any = None, eps: float = 1e-5, tolerance: float = 1e-5, seed: int = 0
) -> GradCheckResult:
    """Check an activation's derivative (or vector-Jacobian product) against central differences in float64.

    ``z`` defaults to a (4, 5) standard normal sample scaled by 3, kept away from kinks at 0.

    >>> wrong = fnn.Activation("square", lambda z: z * z, lambda z, a: z)  # the derivative is 2z
    >>> fnn.check_activation(wrong, z=[[1.0, 2.0]]).ok, fnn.check_activation("softmax").ok
    (False, True)
    """
    act = get_activation(activation, "check_activation")
    rng = np.random.default_rng(seed)
    if z is None:
        z = 3 * rng.standard_normal((4, 5))
        z[np.abs(z) < 10 * eps] += 0.1
    z = np.asarray(z, dtype=np.float64)
    g = rng.standard_normal(z.shape)
    analytic = act.backward(z, act.fn(z), g.copy()).ravel()
    numeric = _central_differences(lambda v: float(np.sum(g.ravel() * act.fn(v.reshape(z.shape)).ravel())), z.ravel(), eps)
    return _worst(analytic, numeric, lambda i: f"z{_index(i, z.shape)} = {z.ravel()[i]:.4g}", tolerance)


def check_loss(
    loss: Loss | str, outputs: Any, targets: Any, eps: float = 1e-5, tolerance: float = 1e-5
) -> GradCheckResult:
    """Check a loss's ``derivative(a, y)`` against central differences of ``value(a, y)`` in float64.

    >>> fnn.check_loss("cross_entropy", [[0.2, 0.8]], np.array([1])).max_relative_error < 1e-6
    True
    """
    loss = get_loss(loss, "check_loss")
    a = np.asarray(outputs, dtype=np.float64)
    y = np.asarray(targets)
    analytic = np.asarray(loss.derivative(a, y), dtype=np.float64).ravel()
    numeric = _central_differences(lambda v: float(loss.value(v.reshape(a.shape), y)), a.ravel(), eps)
    return _worst(analytic, numeric, lambda i: f"output{_index(i, a.shape)}", tolerance)
