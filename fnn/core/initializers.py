"""Weight and bias initialisers, each a pure function of an explicit ``numpy.random.Generator``.

An :class:`Initializer` draws an array of a given ``shape`` for a layer with ``fan_in`` inputs and ``fan_out``
outputs. Values are drawn in float64 and then cast, so float32 and float64 networks from one seed agree to rounding.

>>> rng = np.random.default_rng(0)
>>> w = get_initializer("glorot_uniform").draw(rng, (784, 10), np.float32)
>>> bool(np.abs(w).max() <= np.sqrt(6 / (784 + 10))), w.dtype
(True, dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from attrs import field, frozen

from fnn.registry import Registry, frozen_registry, lookup, with_arguments

Draw = Callable[[np.random.Generator, int, int, tuple[int, ...]], np.ndarray]
"""``fn(rng, fan_in, fan_out, shape)``: float64 values of ``shape``."""


@frozen
class Initializer:
    """``fn(rng, fan_in, fan_out, shape)`` returns float64 values of ``shape``; :meth:`draw` casts them.

    >>> twos = Initializer("twos", lambda rng, fan_in, fan_out, shape: np.full(shape, 2.0))
    >>> twos.draw(np.random.default_rng(0), (1, 2), np.float32)
    array([[2., 2.]], dtype=float32)
    """

    name: str
    fn: Draw = field(eq=False, repr=False)

    def draw(
        self, rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype | type,
        fan_in: int | None = None, fan_out: int | None = None,
    ) -> np.ndarray:
        """Draw an array of ``shape``; fans default to the weight matrix's ``(shape[0], shape[-1])``.

        >>> get_initializer("constant:3").draw(np.random.default_rng(0), (2,), np.float64)
        array([3., 3.])
        """
        fan_in = shape[0] if fan_in is None else fan_in
        fan_out = shape[-1] if fan_out is None else fan_out
        return np.asarray(self.fn(rng, fan_in, fan_out, shape), dtype=dtype)


def _uniform_limit(limit_of_fans: Callable[[int, int], float]) -> Draw:
    return lambda rng, fan_in, fan_out, shape: rng.uniform(
        -limit_of_fans(fan_in, fan_out), limit_of_fans(fan_in, fan_out), shape
    )


def _normal_std(std_of_fans: Callable[[int, int], float]) -> Draw:
    return lambda rng, fan_in, fan_out, shape: std_of_fans(fan_in, fan_out) * rng.standard_normal(shape)


def _scaled_normal(scale: float = 1.0) -> Initializer:
    """``scale * N(0, 1)``, e.g. ``"normal:0.1"`` for the small random weights of the classic tutorials.

    >>> get_initializer("normal:0.1").name, float(get_initializer("normal:0").draw(np.random.default_rng(0), (3,), np.float64).max())
    ('normal:0.1', 0.0)
    """
    scale = float(scale)
    return Initializer(
        with_arguments("normal", scale, defaults=(1.0,)),
        lambda rng, fan_in, fan_out, shape: scale * rng.standard_normal(shape),
    )


def _uniform(limit: float = 1.0) -> Initializer:
    """``U(-limit, limit)``; ``"uniform"`` is U(-1, 1).

    >>> bool(np.abs(get_initializer("uniform:0.5").draw(np.random.default_rng(0), (100,), np.float64)).max() <= 0.5)
    True
    """
    limit = float(limit)
    return Initializer(
        with_arguments("uniform", limit, defaults=(1.0,)),
        lambda rng, fan_in, fan_out, shape: rng.uniform(-limit, limit, shape),
    )


def _constant(value: float = 0.0) -> Initializer:
    """Every entry ``value``; ``"zeros"`` is the default for biases.

    >>> [get_initializer(name).name for name in ("constant", "constant:1", "constant:0.5")]
    ['zeros', 'ones', 'constant:0.5']
    """
    value = float(value)
    name = "zeros" if value == 0 else ("ones" if value == 1 else f"constant:{value!r}")
    return Initializer(name, lambda rng, fan_in, fan_out, shape: np.full(shape, value))


INITIALIZERS: Registry[Initializer] = frozen_registry(
    {
        "glorot_uniform": lambda: Initializer("glorot_uniform", _uniform_limit(lambda i, o: np.sqrt(6 / (i + o)))),
        "xavier_uniform": lambda: Initializer("glorot_uniform", _uniform_limit(lambda i, o: np.sqrt(6 / (i + o)))),
        "glorot_normal": lambda: Initializer("glorot_normal", _normal_std(lambda i, o: np.sqrt(2 / (i + o)))),
        "xavier_normal": lambda: Initializer("glorot_normal", _normal_std(lambda i, o: np.sqrt(2 / (i + o)))),
        "he_uniform": lambda: Initializer("he_uniform", _uniform_limit(lambda i, o: np.sqrt(6 / i))),
        "he_normal": lambda: Initializer("he_normal", _normal_std(lambda i, o: np.sqrt(2 / i))),
        "lecun_normal": lambda: Initializer("lecun_normal", _normal_std(lambda i, o: np.sqrt(1 / i))),
        "lecun_uniform": lambda: Initializer("lecun_uniform", _uniform_limit(lambda i, o: np.sqrt(3 / i))),
        "normal": _scaled_normal,
        "uniform": _uniform,
        "zeros": lambda: _constant(0.0),
        "ones": lambda: _constant(1.0),
        "constant": _constant,
    }
)
"""Every built-in initialiser by name (read-only).

>>> INITIALIZERS["ones"]().draw(np.random.default_rng(0), (2,), np.float64)
array([1., 1.])
"""


def get_initializer(value: Initializer | str, function: str = "network", argument: str = "init") -> Initializer:
    """The :class:`Initializer` for a name such as ``"he_normal"`` or ``"normal:0.1"``, or ``value`` itself.

    >>> get_initializer("xavier_uniform").name
    'glorot_uniform'
    """
    return lookup(INITIALIZERS, value, Initializer, kind="initializer", function=function, argument=argument)
