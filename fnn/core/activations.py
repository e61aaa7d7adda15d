"""Activation functions, each bound to its derivative in one record so the two cannot drift apart.

An :class:`Activation` holds ``fn(z)`` and ``derivative(z, a)``, where ``z`` is the pre-activation and ``a = fn(z)``
(both are given so a derivative can reuse whichever is cheaper: ``a * (1 - a)`` for the sigmoid, ``z > 0`` for ReLU).
Everything is stable at extreme inputs: no overflow warnings, no NaN, for ``|z|`` up to the dtype's range.

Your own activation goes wherever a name is accepted; nothing global is touched:

>>> cube = Activation("cube", lambda z: z ** 3, lambda z, a: 3 * z ** 2)
>>> cube.backward(np.array([2.0]), np.array([8.0]), np.array([1.0]))
array([12.])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
from attrs import field, frozen

from fnn.errors import FnnInputError, bad_argument
from fnn.registry import Registry, frozen_registry, lookup, with_arguments

Array = np.ndarray
Elementwise = Callable[[Array], Array]
Derivative = Callable[[Array, Array], Array]
VectorJacobian = Callable[[Array, Array, Array], Array]


@frozen
class Activation:
    """An elementwise activation ``fn`` with ``derivative(z, a)``; or, for a non-elementwise one such as softmax,
    a vector-Jacobian product ``vjp(z, a, g)`` (which may overwrite ``g``, a scratch array of the caller's).

    Two activations are equal when their names are, so give your own a name of its own.

    >>> halve = Activation("halve", lambda z: z / 2, lambda z, a: np.full_like(z, 0.5))
    >>> halve(np.array([4.0, -2.0])), halve == Activation("halve", abs, abs)
    (array([ 2., -1.]), True)
    """

    name: str
    fn: Elementwise = field(eq=False, repr=False)
    derivative: Derivative | None = field(default=None, eq=False, repr=False)
    vjp: VectorJacobian | None = field(default=None, eq=False, repr=False)
    # fn computed in place of z (z is then the output too); only for activations whose derivative reads z and a
    # in a way that stays right when z is overwritten by a (relu: z > 0 is a > 0; tanh: 1 - a**2).
    fn_inplace: Elementwise | None = field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise FnnInputError(f"An Activation needs a non-empty name; got {self.name!r}.")
        if not callable(self.fn) or (self.derivative is None and self.vjp is None):
            raise FnnInputError(f"Activation {self.name!r} needs a callable fn and a derivative (or a vjp).")
        for part in ("derivative", "vjp", "fn_inplace"):
            if getattr(self, part) is not None and not callable(getattr(self, part)):
                raise FnnInputError(f"Activation {self.name!r} needs a callable {part} (or None); got {getattr(self, part)!r}.")

    def __call__(self, z: Array) -> Array:
        return self.fn(z)

    def backward(self, z: Array, a: Array, g: Array) -> Array:
        """Carry the gradient ``g = dL/da`` back to ``dL/dz``; ``g`` may be overwritten.

        >>> SIGMOID.backward(np.array([0.0]), np.array([0.5]), np.array([2.0]))
        array([0.5])
        """
        if self.vjp is not None:
            return self.vjp(z, a, g)
        assert self.derivative is not None  # __attrs_post_init__ requires a derivative or a vjp
        return g * self.derivative(z, a)


def _sigmoid(z):
    # exp(-log(1 + exp(-z))) never overflows, unlike 1 / (1 + exp(-z)) for very negative z.
    return np.exp(-np.logaddexp(0, -z))


def _softmax(z):
    exp = z - np.maximum.reduce(z, axis=-1, keepdims=True)
    np.exp(exp, out=exp)
    exp /= np.add.reduce(exp, axis=-1, keepdims=True)
    return exp


def _softmax_vjp(z, a, g):
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))


def _relu_inplace(z):
    # np.maximum against an array of zeros runs NumPy's vector loop; against the scalar 0 it is 3-5x slower (NumPy
    # 2.4) for the very same bits. Multiplying by z > 0 would give -0.0 for negatives and NaN for -inf.
    return np.maximum(z, np.zeros(z.shape, z.dtype), out=z)


def _relu_vjp(z, a, g):
    np.multiply(g, z > 0, out=g)
    return g


def _arctan_derivative(z, a):
    # Clipping keeps z*z finite in float32; the derivative there is ~1e-36 either way.
    clipped = np.clip(z, -1e18, 1e18)
    return 1 / (1 + clipped * clipped)


GELU_C = float(np.sqrt(2 / np.pi))  # a Python float, so float32 stays float32
GELU_K = 0.044715


def _gelu_tanh(z):
    # Beyond |z| = 20 the tanh is exactly +-1, so clipping only keeps z**3 from overflowing.
    zc = np.clip(z, -20, 20)
    return 0.5 * z * (1 + np.tanh(GELU_C * (zc + GELU_K * zc**3)))


def _gelu_tanh_derivative(z, a):
    zc = np.clip(z, -20, 20)
    t = np.tanh(GELU_C * (zc + GELU_K * zc**3))
    return 0.5 * (1 + t) + 0.5 * zc * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * zc * zc)


def _silu_derivative(z, a):
    s = _sigmoid(z)
    return s * (1 + z * (1 - s))


def _leaky_relu(slope: float = 0.01) -> Activation:
    """ReLU with ``slope * z`` for negative ``z``; named ``"leaky_relu:<slope>"`` for a non-default slope.

    >>> get_activation("leaky_relu:0.1")(np.array([-2.0, 3.0]))
    array([-0.2,  3. ])
    """
    return _sloped_relu("leaky_relu", slope, 0.01)


def _prelu(slope: float = 0.25) -> Activation:
    """Parametric ReLU with a fixed (not learned) negative slope, He et al.'s initial value 0.25 by default.

    >>> get_activation("prelu").name, get_activation("prelu:0.5").name
    ('prelu', 'prelu:0.5')
    """
    return _sloped_relu("prelu", slope, 0.25)


def _finite(name: str, what: str, value: float, positive: bool = False) -> float:
    """A hyper-parameter of a named activation as a float; a ValueError (worded for the user) otherwise."""
    number = float(value)
    if not np.isfinite(number) or (positive and number <= 0):
        raise ValueError(f"{name}'s {what} must be a finite{' positive' if positive else ''} number, got {value!r}")
    return number


def _sloped_relu(name: str, slope: float, default: float) -> Activation:
    slope = _finite(name, "slope", slope)
    return Activation(
        with_arguments(name, slope, defaults=(default,)),
        lambda z: np.where(z > 0, z, slope * z),
        lambda z, a: np.where(z > 0, 1, slope).astype(z.dtype),
    )


def _elu(alpha: float = 1.0) -> Activation:
    """Exponential linear unit: ``z`` for ``z > 0``, ``alpha * (exp(z) - 1)`` otherwise.

    >>> get_activation("elu:2")(np.array([1.0, -np.inf]))
    array([ 1., -2.])
    """
    alpha = _finite("elu", "alpha", alpha, positive=True)
    return Activation(
        with_arguments("elu", alpha, defaults=(1.0,)),
        lambda z: np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0))),
        # alpha * exp(z), not a + alpha: far in the negative tail a + alpha cancels to nothing (0 below z = -37).
        lambda z, a: np.where(z > 0, 1, alpha * np.exp(np.minimum(z, 0))).astype(z.dtype),
    )


IDENTITY = Activation("identity", lambda z: z, vjp=lambda z, a, g: g)
BINARY_STEP = Activation("binary_step", lambda z: (z >= 0).astype(z.dtype), lambda z, a: np.zeros_like(z))
SIGMOID = Activation("sigmoid", _sigmoid, lambda z, a: a * (1 - a))
TANH = Activation("tanh", np.tanh, lambda z, a: 1 - a * a, fn_inplace=lambda z: np.tanh(z, out=z))
ARCTAN = Activation("arctan", np.arctan, _arctan_derivative)
RELU = Activation(
    "relu",
    lambda z: np.maximum(z, 0),
    lambda z, a: (z > 0).astype(z.dtype),
    _relu_vjp,
    fn_inplace=_relu_inplace,
)
SOFTPLUS = Activation("softplus", lambda z: np.logaddexp(0, z), lambda z, a: _sigmoid(z))
SILU = Activation("silu", lambda z: z * _sigmoid(z), _silu_derivative)
GELU = Activation("gelu", _gelu_tanh, _gelu_tanh_derivative)
SOFTMAX = Activation("softmax", _softmax, vjp=_softmax_vjp)

ACTIVATIONS: Registry[Activation] = frozen_registry(
    {
        "identity": lambda: IDENTITY,
        "linear": lambda: IDENTITY,
        "binary_step": lambda: BINARY_STEP,
        "sigmoid": lambda: SIGMOID,
        "logistic": lambda: SIGMOID,
        "tanh": lambda: TANH,
        "arctan": lambda: ARCTAN,
        "relu": lambda: RELU,
        "leaky_relu": _leaky_relu,
        "prelu": _prelu,
        "elu": _elu,
        "softplus": lambda: SOFTPLUS,
        "silu": lambda: SILU,
        "swish": lambda: SILU,
        "gelu": lambda: GELU,
        "softmax": lambda: SOFTMAX,
    }
)
"""Every built-in activation by name (read-only). ``gelu`` is the tanh approximation of Hendrycks & Gimpel.

>>> ACTIVATIONS["relu"]()(np.array([-1.0, 2.0]))
array([0., 2.])
"""


def get_activation(value: Activation | str, function: str = "network", argument: str = "activation") -> Activation:
    """The :class:`Activation` for a name such as ``"relu"`` or ``"leaky_relu:0.2"``, or ``value`` itself.

    >>> get_activation("leaky_relu:0.2").name
    'leaky_relu:0.2'
    """
    if isinstance(value, Activation):
        return value
    if not isinstance(value, str):
        hint = " (wrap a function as fnn.Activation(name, fn, derivative))" if callable(value) else ""
        raise bad_argument(
            function, argument, f"an activation name such as 'relu' or 'leaky_relu:0.2', or a fnn.Activation{hint}", value
        )
    name, colon, arguments = value.partition(":")
    key = name.strip().lower()
    if colon and key in ACTIVATIONS:
        parts = arguments.split(",")
        allowed = len(inspect.signature(ACTIVATIONS[key]).parameters)
        if not allowed:
            raise bad_argument(function, argument, f"'{key}' without arguments (it takes none)", value)
        if len(parts) > allowed or not all(_is_number(part) for part in parts):
            raise bad_argument(
                function, argument, f"'{key}' followed by at most {allowed} number(s) after the colon, e.g. '{key}:0.2'", value
            )
    return lookup(ACTIVATIONS, value, Activation, kind="activation", function=function, argument=argument)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
