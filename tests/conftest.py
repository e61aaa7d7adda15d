"""Shared fixtures and hypothesis strategies: small networks of random depth, width, activations and loss."""

import os

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

import fnn

# In CI the examples are derived from the test names, so a run is repeatable; locally they are drawn afresh.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")

# Activations smooth enough for finite differences everywhere they are sampled (kinks are avoided separately).
SMOOTH_HIDDEN = ["sigmoid", "tanh", "arctan", "softplus", "silu", "gelu", "elu", "identity", "leaky_relu:0.1", "relu"]


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@st.composite
def networks(draw, max_layers=4, max_width=6):
    """A (spec, batch) pair in float64: random sizes, hidden activations and one of the losses."""
    depth = draw(st.integers(1, max_layers))
    sizes = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
    head = draw(st.sampled_from(["softmax_ce", "sigmoid_bce", "identity_mse", "sigmoid_quadratic", "tanh_mse"]))
    if head == "softmax_ce":
        sizes[-1] = max(sizes[-1], 2)
    if head == "sigmoid_bce":
        sizes[-1] = 1
    hidden = draw(st.lists(st.sampled_from(SMOOTH_HIDDEN), min_size=depth - 1, max_size=depth - 1))
    output, loss = {
        "softmax_ce": ("softmax", "cross_entropy"),
        "sigmoid_bce": ("sigmoid", "binary_cross_entropy"),
        "identity_mse": ("identity", "mse"),
        "sigmoid_quadratic": ("sigmoid", "quadratic"),
        "tanh_mse": ("tanh", "mse"),
    }[head]
    # Random biases keep pre-activations off the kinks of relu and leaky relu, where differences mislead.
    spec = fnn.network(sizes, activation=hidden + [output], loss=loss, bias_init="normal:0.5")
    n = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, sizes[0]))
    if head == "softmax_ce":
        y = rng.integers(0, sizes[-1], n) if draw(st.booleans()) else np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    elif head in ("sigmoid_bce", "sigmoid_quadratic"):
        y = rng.integers(0, 2, (n, sizes[-1])).astype(np.float64)
    else:
        y = rng.standard_normal((n, sizes[-1]))
    return spec, seed, (x, y)
