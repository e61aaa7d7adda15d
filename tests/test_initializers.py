import numpy as np
import pytest

import fnn
from fnn.core.initializers import INITIALIZERS


def draw(name, shape=(400, 300), seed=0):
    return fnn.get_initializer(name).draw(np.random.default_rng(seed), shape, np.float64)


@pytest.mark.parametrize(
    "name, bound",
    [
        ("glorot_uniform", np.sqrt(6 / 700)),
        ("he_uniform", np.sqrt(6 / 400)),
        ("lecun_uniform", np.sqrt(3 / 400)),
        ("uniform", 1.0),
    ],
)
def test_uniform_initializers_fill_their_range(name, bound):
    w = draw(name)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)


@pytest.mark.parametrize(
    "name, std",
    [("glorot_normal", np.sqrt(2 / 700)), ("he_normal", np.sqrt(2 / 400)), ("lecun_normal", np.sqrt(1 / 400)),
     ("normal:0.1", 0.1), ("normal", 1.0)],
)
def test_normal_initializers_have_their_standard_deviation(name, std):
    w = draw(name)
    assert w.std() == pytest.approx(std, rel=0.02)
    assert abs(w.mean()) < 0.02 * std * 10


def test_constants():
    assert (draw("zeros") == 0).all() and (draw("ones") == 1).all() and (draw("constant:0.5") == 0.5).all()


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_same_seed_same_values_other_seed_other_values(name):
    assert np.array_equal(draw(name, seed=3), draw(name, seed=3))
    if name not in ("zeros", "ones", "constant"):
        assert not np.array_equal(draw(name, seed=3), draw(name, seed=4))


def test_float32_and_float64_agree_to_rounding():
    spec = fnn.network([5, 4, 3])
    p32, p64 = fnn.init_params(spec, 7, "float32"), fnn.init_params(spec, 7, "float64")
    np.testing.assert_allclose(p32.layers[0].w, p64.layers[0].w, rtol=1e-7)
    assert p32.dtype == np.float32 and p64.dtype == np.float64


def test_biases_are_zero_by_default_and_configurable():
    params = fnn.init_params(fnn.network([3, 4, 2]), seed=0)
    assert all((layer.b == 0).all() for layer in params.layers)
    nielsen = fnn.init_params(fnn.network([3, 4, 2], init="normal", bias_init="normal"), seed=0)
    assert (nielsen.layers[0].b != 0).all()


def test_each_layer_has_its_own_stream():
    a = fnn.init_params(fnn.network([3, 4, 2]), seed=0)
    b = fnn.init_params(fnn.network([3, 4, 5, 2]), seed=0)
    assert np.array_equal(a.layers[0].w, b.layers[0].w)


def test_unknown_initializer_lists_known_ones():
    with pytest.raises(fnn.FnnInputError, match="Known initializers: .*glorot_uniform"):
        fnn.network([2, 2], init="glorot")
