"""The training step's products are ``np.dot`` for one network's batch of two rows or more and ``np.matmul`` for
stacked members and one row: they must give the very same bytes for every shape the step makes, layers of one
unit and signed zeros (a ReLU's) included, so a run's bytes do not depend on which of the two computed them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.core.network import backward_into, forward_trace, output_gradient
from fnn.core.params import flat_pieces, flatten_params

_sizes = st.integers(1, 70)


def _with_zeros(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    values = rng.standard_normal(shape).astype(dtype)
    values[rng.random(shape) < 0.3] = -0.0
    values[rng.random(shape) < 0.2] = 0.0
    return values


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 70), fan_in=_sizes, fan_out=_sizes, dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2**16))
def test_dot_and_matmul_give_the_same_bytes_for_each_product_of_a_step(n, fan_in, fan_out, dtype, seed):
    rng = np.random.default_rng(seed)
    a, w, delta = (_with_zeros(rng, shape, dtype) for shape in ((n, fan_in), (fan_in, fan_out), (n, fan_out)))
    ones = np.ones(n, dtype)
    pairs = [
        (np.dot(a, w), a @ w),
        (np.dot(delta, w.swapaxes(-1, -2)), delta @ w.swapaxes(-1, -2)),
        (np.dot(a.swapaxes(-1, -2), delta, out=np.empty_like(w)), np.matmul(a.swapaxes(-1, -2), delta, out=np.empty_like(w))),
        (np.dot(ones, delta, out=np.empty(fan_out, dtype)), np.matmul(ones, delta, out=np.empty(fan_out, dtype))),
    ]
    for got, expected in pairs:
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


def _as_stacked(params: fnn.Params) -> fnn.Params:
    """``params`` as a stack of one member: 3-D weights, which take ``np.matmul``."""
    layers = tuple(fnn.Layer.__new__(fnn.Layer) for _ in params.layers)
    for layer, original in zip(layers, params.layers):
        object.__setattr__(layer, "w", original.w[None])
        object.__setattr__(layer, "b", original.b[None, None])
    stacked = fnn.Params.__new__(fnn.Params)
    object.__setattr__(stacked, "spec", params.spec)
    object.__setattr__(stacked, "layers", layers)
    return stacked


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=2, max_size=5),
    n=st.integers(1, 12),
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "identity"]),
    seed=st.integers(0, 2**16),
)
def test_a_network_step_and_the_same_network_stacked_give_the_same_gradient_bytes(sizes, n, activation, seed):
    sizes = [*sizes, 3]
    params = fnn.init_params(fnn.network(sizes, activation=activation), seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, 3, n)
    trace = forward_trace(params, x)
    gradient = np.empty_like(flatten_params(params))
    backward_into(params, trace, output_gradient(params, trace, y), flat_pieces(params.spec, gradient))
    stacked = _as_stacked(params)
    stacked_trace = forward_trace(stacked, x[None])
    stacked_gradient = np.empty_like(gradient)
    pieces = [(w[None], b[None]) for w, b in flat_pieces(params.spec, stacked_gradient)]
    backward_into(stacked, stacked_trace, output_gradient(params, trace, y), pieces)
    assert [a.tobytes() for a in trace.post] == [a[0].tobytes() for a in stacked_trace.post]
    assert gradient.tobytes() == stacked_gradient.tobytes()
