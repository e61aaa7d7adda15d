"""Weight and bias initialisers, each a pure function of an explicit ``numpy.random.Generator``.

An :class:`Initializer` draws an array of a given ``shape`` for a layer with ``fan_in`` inputs and ``fan_out``
outputs. Values are drawn in float64 and then cast, so float32 and float64 networks from one seed agree to rounding.

>>> rng = np.random.default_rng(0)
>>> w = get_initializer("glorot_uniform").draw(rng, (784, 10), np.float32)
>>> bool(np.abs(w).max() <= np.sqrt(6 / (784 + 10))), w.dtype
(True, dtype('float32'))
"""

import numpy as np
from attrs import field, frozen

from fnn.registry import frozen_registry, lookup, with_arguments

__all__ = ["Initializer", "INITIALIZERS", "get_initializer", "scaled_normal", "uniform", "constant"]


@frozen
class Initializer:
    """``fn(rng, fan_in, fan_out, shape)`` returns float64 values of ``shape``; :meth:`draw` casts them."""

    name: str
    fn: object = field(eq=False, repr=False)

    def draw(self, rng, shape, dtype, fan_in=None, fan_out=None):
        """Draw an array of ``shape``; fans default to the weight matrix's ``(shape[0], shape[-1])``."""
        fan_in = shape[0] if fan_in is None else fan_in
        fan_out = shape[-1] if fan_out is None else fan_out
        return np.asarray(self.fn(rng, fan_in, fan_out, shape), dtype=dtype)


def _uniform_limit(limit_of_fans):
    return lambda rng, fan_in, fan_out, shape: rng.uniform(
        -limit_of_fans(fan_in, fan_out), limit_of_fans(fan_in, fan_out), shape
    )


def _normal_std(std_of_fans):
    return lambda rng, fan_in, fan_out, shape: std_of_fans(fan_in, fan_out) * rng.standard_normal(shape)


def scaled_normal(scale=1.0):
    """``scale * N(0, 1)``, e.g. ``"normal:0.1"`` for the small random weights of the classic tutorials."""
    scale = float(scale)
    return Initializer(
        with_arguments("normal", scale, defaults=(1.0,)),
        lambda rng, fan_in, fan_out, shape: scale * rng.standard_normal(shape),
    )


def uniform(limit=1.0):
    """``U(-limit, limit)``; ``"uniform"`` is U(-1, 1)."""
    limit = float(limit)
    return Initializer(
        with_arguments("uniform", limit, defaults=(1.0,)),
        lambda rng, fan_in, fan_out, shape: rng.uniform(-limit, limit, shape),
    )


def constant(value=0.0):
    """Every entry ``value``; ``"zeros"`` is the default for biases."""
    value = float(value)
    name = "zeros" if value == 0 else ("ones" if value == 1 else f"constant:{value!r}")
    return Initializer(name, lambda rng, fan_in, fan_out, shape: np.full(shape, value))


INITIALIZERS = frozen_registry(
    {
        "glorot_uniform": lambda: Initializer("glorot_uniform", _uniform_limit(lambda i, o: np.sqrt(6 / (i + o)))),
        "xavier_uniform": lambda: Initializer("glorot_uniform", _uniform_limit(lambda i, o: np.sqrt(6 / (i + o)))),
        "glorot_normal": lambda: Initializer("glorot_normal", _normal_std(lambda i, o: np.sqrt(2 / (i + o)))),
        "xavier_normal": lambda: Initializer("glorot_normal", _normal_std(lambda i, o: np.sqrt(2 / (i + o)))),
        "he_uniform": lambda: Initializer("he_uniform", _uniform_limit(lambda i, o: np.sqrt(6 / i))),
        "he_normal": lambda: Initializer("he_normal", _normal_std(lambda i, o: np.sqrt(2 / i))),
        "lecun_normal": lambda: Initializer("lecun_normal", _normal_std(lambda i, o: np.sqrt(1 / i))),
        "lecun_uniform": lambda: Initializer("lecun_uniform", _uniform_limit(lambda i, o: np.sqrt(3 / i))),
        "normal": scaled_normal,
        "uniform": uniform,
        "zeros": lambda: constant(0.0),
        "ones": lambda: constant(1.0),
        "constant": constant,
    }
)
"""Every built-in initialiser by name (read-only)."""


def get_initializer(value, function="network", argument="init"):
    """The :class:`Initializer` for a name such as ``"he_normal"`` or ``"normal:0.1"``, or ``value`` itself."""
    return lookup(INITIALIZERS, value, Initializer, kind="initializer", function=function, argument=argument)
