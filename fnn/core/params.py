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

from functools import lru_cache

import numpy as np
from attrs import cmp_using, evolve, field, frozen

from fnn.arrays import arrays_equal, as_float_dtype, freeze_new, readonly, shape_str
from fnn.core.spec import NetworkSpec
from fnn.errors import FnnInputError, bad_argument
from fnn.seeds import init_rng

__all__ = [
    "Layer",
    "Params",
    "init_params",
    "map_arrays",
    "replace_layer",
    "flatten_params",
    "unflatten_params",
    "check_same_structure",
    "flat_layout",
    "params_from_flat",
    "flat_view",
]


def _array_field():
    return field(converter=readonly, eq=cmp_using(eq=arrays_equal))


# Arrays are unhashable, so records holding them are too (hash=False); equality compares values exactly.
@frozen(hash=False, repr=False)
class Layer:
    """The weight matrix ``w`` (inputs x outputs, since samples are rows: ``x @ w + b``) and bias ``b``."""

    w: np.ndarray = _array_field()
    b: np.ndarray = _array_field()

    def __attrs_post_init__(self):
        if self.w.ndim != 2 or self.b.shape != (self.w.shape[1],) or self.w.dtype != self.b.dtype:
            raise FnnInputError(
                f"A Layer needs a 2-D w and a 1-D b of w's column count and dtype; got w {shape_str(self.w)} "
                f"and b {shape_str(self.b)}."
            )

    def __repr__(self):
        return f"Layer(w={shape_str(self.w)}, b={shape_str(self.b)})"


@frozen(hash=False, repr=False)
class Params:
    """All layers of a network with its spec. Also the shape of gradients and optimiser moments."""

    spec: NetworkSpec
    layers: tuple = field(converter=tuple)
    # The flat vector the arrays are views of, when params_from_flat made them (private; see flat_view).
    _flat: object = field(default=None, eq=False, repr=False, alias="_flat")

    def __attrs_post_init__(self):
        expected = [(layer.input_dim, layer.output_dim) for layer in self.spec.layers]
        got = [layer.w.shape for layer in self.layers]
        if expected != got:
            raise FnnInputError(f"Params do not fit their spec: the spec needs weight shapes {expected}, got {got}.")

    @property
    def dtype(self):
        return self.layers[0].w.dtype

    def __repr__(self):
        return f"Params({self.spec!r}, {', '.join(map(repr, self.layers))})"

    def arrays(self):
        """Every array, in layer order, ``w`` before ``b``."""
        return [array for layer in self.layers for array in (layer.w, layer.b)]


def init_params(spec, seed, dtype=np.float32):
    """Draw the parameters of ``spec`` from ``seed``: each layer's ``w`` from its ``init``, ``b`` from its
    ``bias_init`` (zeros by default).

    >>> fnn.init_params(fnn.network([4, 6, 3], activation="relu"), seed=1, dtype="float64").layers[1]
    Layer(w=float64[6,3], b=float64[3])
    """
    if not isinstance(spec, NetworkSpec):
        raise bad_argument("init_params", "spec", "a NetworkSpec (from fnn.network)", spec)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise bad_argument("init_params", "seed", "a non-negative int", seed)
    dtype = as_float_dtype(dtype)
    layout, total = flat_layout(spec)
    flat = np.empty(total, dtype)
    for index, (layer, ((w_start, w_shape), (b_start, b_shape))) in enumerate(zip(spec.layers, layout)):
        rng = init_rng(int(seed), index)
        flat[w_start : w_start + layer.input_dim * layer.output_dim] = layer.init.draw(rng, w_shape, dtype).ravel()
        flat[b_start : b_start + layer.output_dim] = layer.bias_init.draw(
            rng, b_shape, dtype, fan_in=layer.input_dim, fan_out=layer.output_dim
        )
    return params_from_flat(spec, flat)


@lru_cache(maxsize=64)
def flat_layout(spec):
    """Where each array of ``spec``'s params sits in one flat vector: ``(((w_start, w_shape), (b_start, b_shape))
    per layer, total)``, layer by layer, ``w`` before ``b`` (the order of :func:`flatten_params`)."""
    layout, start = [], 0
    for layer in spec.layers:
        w_size = layer.input_dim * layer.output_dim
        layout.append(((start, (layer.input_dim, layer.output_dim)), (start + w_size, (layer.output_dim,))))
        start += w_size + layer.output_dim
    return tuple(layout), start


def params_from_flat(spec, flat):
    """``Params`` whose arrays are read-only views of the new 1-D array ``flat`` (made read-only in place).

    Params made this way let an optimiser work on all parameters with one array operation instead of one per
    array; see :func:`flat_view`.
    """
    layout, total = flat_layout(spec)
    if flat.shape != (total,) or flat.dtype.kind != "f":
        raise FnnInputError(f"params_from_flat needs a 1-D float array of {total} values for {spec!r}; got {shape_str(flat)}.")
    freeze_new(flat)
    # Views of a checked layout need none of the records' checks: built directly, as the training loop makes
    # three of these per step (params and two Adam moments), where validating 2 x depth arrays would show.
    layers = tuple(
        _checked_record(
            Layer, w=flat[w_start : w_start + w_shape[0] * w_shape[1]].reshape(w_shape), b=flat[b_start : b_start + b_shape[0]]
        )
        for (w_start, w_shape), (b_start, b_shape) in layout
    )
    return _checked_record(Params, spec=spec, layers=layers, _flat=flat)


def _checked_record(cls, **values):
    """An instance of the frozen record ``cls`` whose values are known to pass its converters and checks."""
    record = _new(cls)
    for name, value in values.items():
        _set(record, name, value)
    return record


_new, _set = object.__new__, object.__setattr__


def flat_view(params):
    """The read-only 1-D array that all of ``params``' arrays are views of, in :func:`flat_layout` order, or None."""
    recorded = params._flat
    if recorded is not None and all(array.base is recorded for array in params.arrays()):
        return recorded  # made by params_from_flat (evolve may have swapped a layer: then the check above fails)
    base = params.layers[0].w.base
    layout, total = flat_layout(params.spec)
    if base is None or base.ndim != 1 or base.size != total or base.flags.writeable:
        return None
    address, itemsize = base.__array_interface__["data"][0], base.itemsize
    for layer, ((w_start, _), (b_start, _)) in zip(params.layers, layout):
        for array, start in ((layer.w, w_start), (layer.b, b_start)):
            if array.base is not base or array.__array_interface__["data"][0] != address + start * itemsize:
                return None
    return base


def map_arrays(function, params, *others):
    """Apply ``function`` to matching arrays of ``params`` and ``others``, giving new ``Params`` of the results.

    The results are marked read-only in place (they are new arrays that nobody else holds).
    """
    layers = tuple(
        Layer(
            freeze_new(np.asarray(function(layer.w, *(other.layers[i].w for other in others)))),
            freeze_new(np.asarray(function(layer.b, *(other.layers[i].b for other in others)))),
        )
        for i, layer in enumerate(params.layers)
    )
    return Params(params.spec, layers)


def replace_layer(params, index, w=None, b=None):
    """New params with layer ``index``'s ``w`` and/or ``b`` replaced (e.g. a custom init for one layer)."""
    if not -len(params.layers) <= index < len(params.layers):
        raise bad_argument("replace_layer", "index", f"a layer index below {len(params.layers)}", index)
    layer = params.layers[index]
    changes = {key: readonly(value, layer.w.dtype) for key, value in (("w", w), ("b", b)) if value is not None}
    layers = list(params.layers)
    layers[index] = evolve(layer, **changes)
    return evolve(params, layers=layers)


def flatten_params(params):
    """All parameters as one 1-D vector (layer order, ``w`` then ``b``); :func:`unflatten_params` inverts it."""
    return np.concatenate([array.ravel() for array in params.arrays()])


def unflatten_params(vector, like):
    """Params shaped like ``like`` whose values come from the 1-D ``vector``."""
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


def check_same_structure(function, name, got, expected):
    """Refuse ``got`` unless its array shapes equal ``expected``'s, naming both."""
    got_shapes = [a.shape for a in got.arrays()] if isinstance(got, Params) else None
    expected_shapes = [a.shape for a in expected.arrays()]
    if got_shapes != expected_shapes:
        raise FnnInputError(
            f"The {name!r} argument of fnn.{function} must match the network's parameter shapes "
            f"{expected_shapes}; got {got_shapes if got_shapes is not None else type(got).__name__}."
        )
