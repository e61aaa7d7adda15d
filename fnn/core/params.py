"""Parameters: frozen records of read-only arrays, and the structure-wise maps over them.

``Params(layers, spec)`` keeps the arrays (one :class:`Layer` of ``w`` and ``b`` per dense layer) apart from the
static :class:`~fnn.core.spec.NetworkSpec`. Gradients and optimiser moments are ``Params`` too, so an update is a map:

>>> params = fnn.init_params(fnn.network([2, 3, 1], loss="binary_cross_entropy"), seed=0)
>>> params
Params(NetworkSpec(2-3-1, relu/sigmoid, loss=binary_cross_entropy), Layer(w=float32[2,3], b=float32[3]), Layer(w=float32[3,1], b=float32[1]))
>>> halved = fnn.map_arrays(lambda a: a / 2, params)
>>> bool(halved.layers[0].w[0, 0] == params.layers[0].w[0, 0] / 2)
True
>>> params.layers[0].w[0, 0] = 1.0
Traceback (most recent call last):
ValueError: assignment destination is read-only
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from attrs import cmp_using, evolve, field, frozen

from fnn.arrays import arrays_equal, as_float_dtype, freeze_new, readonly, shape_str
from fnn.core.spec import NetworkSpec
from fnn.errors import FnnInputError, bad_argument
from fnn.limits import require_memory
from fnn.seeds import init_rng
from fnn.values import BadValue, from_numpy, number_check

FlatLayout = tuple[tuple[tuple[tuple[int, tuple[int, int]], tuple[int, tuple[int]]], ...], int]


def _array_field() -> Any:
    return field(converter=readonly, eq=cmp_using(eq=arrays_equal))


# Arrays are unhashable, so records holding them are too (hash=False); equality compares values exactly.
@frozen(hash=False, repr=False)
class Layer:
    """The weight matrix ``w`` (inputs x outputs, since samples are rows: ``x @ w + b``) and bias ``b``.

    >>> fnn.Layer(np.ones((2, 3)), np.zeros(3))
    Layer(w=float64[2,3], b=float64[3])
    """

    w: np.ndarray = _array_field()
    b: np.ndarray = _array_field()

    def __attrs_post_init__(self) -> None:
        if self.w.ndim != 2 or self.b.shape != (self.w.shape[1],) or self.w.dtype != self.b.dtype:
            raise FnnInputError(
                f"A Layer needs a 2-D w and a 1-D b of w's column count and dtype; got w {shape_str(self.w)} "
                f"and b {shape_str(self.b)}."
            )

    def __repr__(self) -> str:
        return f"Layer(w={shape_str(self.w)}, b={shape_str(self.b)})"


def _layer_tuple(layers: Iterable[Layer]) -> tuple[Layer, ...]:
    return tuple(layers)


@frozen(hash=False, repr=False)
class Params:
    """All layers of a network with its spec. Also the shape of gradients and optimiser moments.

    >>> params = fnn.init_params(fnn.network([2, 1], loss="mse"), seed=0)
    >>> [a.shape for a in params.arrays()], params.dtype
    ([(2, 1), (1,)], dtype('float32'))
    """

    spec: NetworkSpec
    layers: tuple[Layer, ...] = field(converter=_layer_tuple)

    def __attrs_post_init__(self) -> None:
        expected = [(layer.input_dim, layer.output_dim) for layer in self.spec.layers]
        got = [layer.w.shape for layer in self.layers]
        if expected != got:
            raise FnnInputError(f"Params do not fit their spec: the spec needs weight shapes {expected}, got {got}.")

    @property
    def dtype(self) -> np.dtype:
        return self.layers[0].w.dtype

    def __repr__(self) -> str:
        return f"Params({self.spec!r}, {', '.join(map(repr, self.layers))})"

    def arrays(self) -> list[np.ndarray]:
        """Every array, in layer order, ``w`` before ``b``."""
        return [array for layer in self.layers for array in (layer.w, layer.b)]


def init_params(spec: NetworkSpec, seed: int, dtype: npt.DTypeLike = np.float32) -> Params:
    """Draw the parameters of ``spec`` from ``seed``: each layer's ``w`` from its ``init``, ``b`` from its
    ``bias_init`` (zeros by default).

    >>> fnn.init_params(fnn.network([4, 6, 3], activation="relu"), seed=1, dtype="float64").layers[1]
    Layer(w=float64[6,3], b=float64[3])
    """
    if not isinstance(spec, NetworkSpec):
        raise bad_argument("init_params", "spec", "a NetworkSpec (from fnn.network)", spec)
    try:  # the run setting's reading of a seed: 3, np.int64(3) and "3" are 3
        seed = from_numpy(number_check(low=0, whole=True))(seed)
    except BadValue:
        raise bad_argument("init_params", "seed", "a non-negative int", seed) from None
    resolved = as_float_dtype(dtype)
    layout, total = flat_layout(spec)
    require_memory(
        total * resolved.itemsize,
        f"The 'spec' argument of fnn.init_params: the network {'-'.join(map(str, spec.sizes))} has {total:,} "
        f"parameters ({resolved})",
    )
    flat = np.empty(total, resolved)
    for index, (layer, ((w_start, w_shape), (b_start, b_shape))) in enumerate(zip(spec.layers, layout)):
        rng = init_rng(int(seed), index)
        flat[w_start : w_start + layer.input_dim * layer.output_dim] = layer.init.draw(rng, w_shape, resolved).ravel()
        flat[b_start : b_start + layer.output_dim] = layer.bias_init.draw(
            rng, b_shape, resolved, fan_in=layer.input_dim, fan_out=layer.output_dim
        )
    return params_from_flat(spec, flat)


@lru_cache(maxsize=64)
def flat_layout(spec: NetworkSpec) -> FlatLayout:
    """Where each array of ``spec``'s params sits in one flat vector: ``(((w_start, w_shape), (b_start, b_shape))
    per layer, total)``, layer by layer, ``w`` before ``b`` (the order of :func:`flatten_params`)."""
    layout, start = [], 0
    for layer in spec.layers:
        w_size = layer.input_dim * layer.output_dim
        layout.append(((start, (layer.input_dim, layer.output_dim)), (start + w_size, (layer.output_dim,))))
        start += w_size + layer.output_dim
    return tuple(layout), start


def flat_pieces(spec: NetworkSpec, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(w, b)`` views of the 1-D ``flat`` per layer, in :func:`flat_layout` order (writable if ``flat`` is)."""
    return [(flat[w_slice].reshape(w_shape), flat[b_slice]) for w_slice, w_shape, b_slice in _flat_slices(spec)]


def params_from_flat(spec: NetworkSpec, flat: np.ndarray) -> Params:
    """``Params`` whose arrays are read-only views of the new 1-D array ``flat`` (made read-only in place).

    Params made this way let an optimiser work on all parameters with one array operation instead of one per
    array; see :func:`flat_view`. The records' checks cost O(1) per array here: the views' one base is read-only.
    """
    _, total = flat_layout(spec)
    if flat.shape != (total,) or flat.dtype.kind != "f":
        raise FnnInputError(f"params_from_flat needs a 1-D float array of {total} values for {spec!r}; got {shape_str(flat)}.")
    freeze_new(flat)
    return Params(spec, tuple(Layer(w, b) for w, b in flat_pieces(spec, flat)))


def trusted_params_from_flat(spec: NetworkSpec, flat: np.ndarray) -> Params:
    """``Params`` of read-only views of ``flat``, built without the records' checks: for the training step only,
    where ``flat`` is a new 1-D float vector of ``spec``'s size that the step made and nobody else holds (it is
    made read-only in place). The same record :func:`params_from_flat` gives, for a fraction of the Python."""
    freeze_new(flat)
    layers = []
    for w_slice, w_shape, b_slice in _flat_slices(spec):
        layer = _new_record(Layer)
        _set_field(layer, "w", flat[w_slice].reshape(w_shape))
        _set_field(layer, "b", flat[b_slice])
        layers.append(layer)
    params = _new_record(Params)
    _set_field(params, "spec", spec)
    _set_field(params, "layers", tuple(layers))
    return params


@lru_cache(maxsize=64)
def _flat_slices(spec: NetworkSpec) -> tuple[tuple[slice, tuple[int, int], slice], ...]:
    """:func:`flat_layout` as ``(w_slice, w_shape, b_slice)`` per layer, made once per spec."""
    return tuple(
        (slice(w_start, w_start + w_shape[0] * w_shape[1]), w_shape, slice(b_start, b_start + b_shape[0]))
        for (w_start, w_shape), (b_start, b_shape) in flat_layout(spec)[0]
    )


# The frozen records' own __setattr__ refuses every assignment; object's, on a record not yet handed out, is how
# attrs itself fills slots in its generated __init__.
_new_record = object.__new__
_set_field = object.__setattr__


def flat_view(params: Params) -> np.ndarray | None:
    """The read-only 1-D array that all of ``params``' arrays are views of, in :func:`flat_layout` order, or None."""
    base = params.layers[0].w.base
    layout, total = flat_layout(params.spec)
    if not isinstance(base, np.ndarray) or base.ndim != 1 or base.size != total or base.flags.writeable:
        return None
    address, itemsize = base.__array_interface__["data"][0], base.itemsize
    for layer, ((w_start, _), (b_start, _)) in zip(params.layers, layout):
        for array, start in ((layer.w, w_start), (layer.b, b_start)):
            if array.base is not base or array.__array_interface__["data"][0] != address + start * itemsize:
                return None
    return base


def map_arrays(function: Callable[..., Any], params: Params, *others: Params) -> Params:
    """Apply ``function`` to matching arrays of ``params`` and ``others``, giving new ``Params`` of the results.

    A result that ``function`` made is marked read-only in place; one that somebody else also holds (an argument
    returned as is, an array kept elsewhere) is copied, so nobody's array is frozen or shared writable.

    >>> params = fnn.init_params(fnn.network([2, 1], loss="mse"), seed=0)
    >>> doubled = fnn.map_arrays(lambda a, b: a + b, params, params)
    >>> bool(np.array_equal(doubled.layers[0].b, 2 * params.layers[0].b)), doubled.layers[0].w.flags.writeable
    (True, False)
    """
    layers = tuple(
        Layer(
            _owned(function(layer.w, *(other.layers[i].w for other in others))),
            _owned(function(layer.b, *(other.layers[i].b for other in others))),
        )
        for i, layer in enumerate(params.layers)
    )
    return Params(params.spec, layers)


def _references(value: Any) -> int:
    return sys.getrefcount(value)


# How many references a result that nobody else holds has inside _owned: measured, not assumed, since it
# depends on the interpreter's calling convention.
_ALONE = _references(np.empty(0))


def _owned(value: Any) -> np.ndarray:
    """``value`` as a read-only array: frozen in place when it is a new array only this call holds, else copied."""
    if (
        type(value) is np.ndarray
        and value.base is None
        and value.flags.writeable
        and value.flags.owndata
        and sys.getrefcount(value) <= _ALONE
    ):
        return freeze_new(value)
    return readonly(value)


def replace_layer(params: Params, index: int, w: npt.ArrayLike | None = None, b: npt.ArrayLike | None = None) -> Params:
    """New params with layer ``index``'s ``w`` and/or ``b`` replaced (e.g. a custom init for one layer).

    >>> params = fnn.init_params(fnn.network([2, 1], loss="mse"), seed=0)
    >>> fnn.replace_layer(params, 0, b=[0.5]).layers[0].b.tolist()
    [0.5]
    """
    if not -len(params.layers) <= index < len(params.layers):
        raise bad_argument("replace_layer", "index", f"a layer index below {len(params.layers)}", index)
    layer = params.layers[index]
    changes = {key: readonly(value, layer.w.dtype) for key, value in (("w", w), ("b", b)) if value is not None}
    layers = list(params.layers)
    layers[index] = evolve(layer, **changes)
    return evolve(params, layers=layers)


def flatten_params(params: Params) -> np.ndarray:
    """All parameters as one new 1-D vector (layer order, ``w`` then ``b``); :func:`unflatten_params` inverts it.

    >>> fnn.flatten_params(fnn.init_params(fnn.network([2, 1], loss="mse"), seed=0)).shape
    (3,)
    """
    return np.concatenate([array.ravel() for array in params.arrays()])


def unflatten_params(vector: npt.ArrayLike, like: Params) -> Params:
    """Params shaped like ``like`` whose values come from the 1-D ``vector``.

    >>> like = fnn.init_params(fnn.network([2, 1], loss="mse"), seed=0)
    >>> fnn.unflatten_params(np.array([1.0, 2.0, 3.0], np.float32), like).layers[0].w.ravel().tolist()
    [1.0, 2.0]
    """
    vector = np.asarray(vector)
    sizes = [array.size for array in like.arrays()]
    if vector.shape != (sum(sizes),):
        raise bad_argument("unflatten_params", "vector", f"a 1-D array of {sum(sizes)} values", vector.shape)
    pieces = np.split(vector, np.cumsum(sizes)[:-1])
    layers = [
        Layer(pieces[2 * i].reshape(layer.w.shape), pieces[2 * i + 1].reshape(layer.b.shape))
        for i, layer in enumerate(like.layers)
    ]
    return Params(like.spec, layers)


def check_same_structure(function: str, name: str, got: Any, expected: Params) -> None:
    """Refuse ``got`` unless its array shapes equal ``expected``'s, naming both."""
    got_shapes = [a.shape for a in got.arrays()] if isinstance(got, Params) else None
    expected_shapes = [a.shape for a in expected.arrays()]
    if got_shapes != expected_shapes:
        raise FnnInputError(
            f"The {name!r} argument of fnn.{function} must match the network's parameter shapes "
            f"{expected_shapes}; got {got_shapes if got_shapes is not None else type(got).__name__}."
        )
