import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnn
from fnn.core.activations import ACTIVATIONS

NAMES = sorted(ACTIVATIONS)
EXPECTED = {
    "identity": lambda z: z,
    "linear": lambda z: z,
    "binary_step": lambda z: (z >= 0).astype(float),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "arctan": np.arctan,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "prelu": lambda z: np.where(z > 0, z, 0.25 * z),
    "elu": lambda z: np.where(z > 0, z, np.exp(z) - 1),
    "softplus": lambda z: np.log(1 + np.exp(z)),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "swish": lambda z: z / (1 + np.exp(-z)),
    "gelu": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
    "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True),
}


def test_every_registered_activation_has_a_reference():
    assert set(EXPECTED) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_values_match_textbook_formula_on_moderate_inputs(name):
    z = np.linspace(-4, 4, 24).reshape(3, 8)
    np.testing.assert_allclose(fnn.get_activation(name)(z), EXPECTED[name](z), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(z=hnp.arrays(np.float64, (3, 4), elements=st.floats(-5, 5)))
def test_derivative_matches_finite_differences(name, z):
    z = np.where(np.abs(z) < 1e-3, 0.5, z)  # keep away from the kinks of relu, leaky relu, elu, binary step
    result = fnn.check_activation(name, z)
    assert result.ok, result


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_extreme_inputs(name, dtype):
    big = np.finfo(dtype).max / 10
    z = np.array([[-big, -1e4, -80.0, 0.0, 80.0, 1e4, big]], dtype=dtype)
    act = fnn.get_activation(name)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = act(z)
        g = act.backward(z, a, np.ones_like(z))
    assert a.dtype == dtype and g.dtype == dtype
    assert np.isfinite(a).all() and np.isfinite(g).all()


def test_sigmoid_saturates_exactly_without_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = fnn.get_activation("sigmoid")(np.array([-1000.0, 1000.0]))
    assert a.tolist() == [0.0, 1.0]


def test_softmax_rows_sum_to_one_for_huge_logits():
    a = fnn.get_activation("softmax")(np.array([[1e30, 1e30, -1e30]], dtype=np.float32))
    np.testing.assert_allclose(a, [[0.5, 0.5, 0.0]])


def test_leaky_relu_slope_is_configurable_by_name_and_argument():
    z = np.array([-2.0, 3.0])
    assert fnn.get_activation("leaky_relu:0.2")(z).tolist() == [-0.4, 3.0]
    assert fnn.ACTIVATIONS["leaky_relu"](0.3)(z).tolist() == [-0.6, 3.0]
    assert fnn.get_activation("leaky_relu:0.2").name == "leaky_relu:0.2"
    assert fnn.get_activation("leaky_relu").name == "leaky_relu"


def test_custom_activation_object_is_accepted_without_touching_the_registry():
    cube = fnn.Activation("cube", lambda z: z**3, lambda z, a: 3 * z**2)
    spec = fnn.network([2, 3, 1], activation=cube, output="sigmoid")
    assert spec.layers[0].activation is cube
    assert "cube" not in fnn.ACTIVATIONS
    assert fnn.check_activation(cube).ok
    wrong = fnn.Activation("bad_cube", lambda z: z**3, lambda z, a: 2 * z**2)
    assert not fnn.check_activation(wrong).ok


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        fnn.ACTIVATIONS["mine"] = lambda: None


def test_unknown_name_lists_known_ones():
    with pytest.raises(fnn.FnnInputError, match="Known activations: .*relu.*tanh"):
        fnn.get_activation("rleu")


def test_bad_argument_in_name_is_reported():
    with pytest.raises(fnn.FnnInputError, match="leaky_relu:abc"):
        fnn.get_activation("leaky_relu:abc")


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu_derivative_is_accurate_far_in_the_negative_tail(alpha):
    z = -np.array([30.0, 50.0, 100.0, 300.0, 500.0, 700.0])
    elu = fnn.get_activation("elu" if alpha == 1.0 else f"elu:{alpha}")
    derivative = elu.derivative(z, elu(z))
    np.testing.assert_allclose(derivative, alpha * np.exp(z), rtol=1e-14)  # a + alpha would give 0 from z = -37
    assert (derivative > 0).all()
    z32 = np.array([-30.0, -60.0, -80.0], np.float32)
    got = elu.derivative(z32, elu(z32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, alpha * np.exp(z32.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "silu", "gelu", "elu", "arctan", "softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_overflow_or_invalid_value_at_extreme_inputs(name, dtype):
    z = np.array([[-1e30, -1e4, -700.0, -100.0, -30.0, 0.0, 30.0, 100.0, 700.0, 1e4, 1e30]], dtype)
    activation = fnn.get_activation(name)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        a = activation(z.copy())
        g = activation.backward(z, a, np.ones_like(z))
    assert np.isfinite(a).all() and np.isfinite(g).all()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("leaky_relu:abc", "'leaky_relu' followed by at most 1 number"),
        ("leaky_relu:0.1,2", "'leaky_relu' followed by at most 1 number"),
        ("relu:0.5", "'relu' without arguments"),
        ("elu:nan", "elu's alpha must be a finite positive number"),
        ("elu:-1", "elu's alpha must be a finite positive number"),
        ("leaky_relu:inf", "leaky_relu's slope must be a finite number"),
        ("sigmoidd", "Unknown activation 'sigmoidd'"),
        (np.tanh, "wrap a function as fnn.Activation"),
        (3, "an activation name such as 'relu'"),
    ],
)
def test_unusable_activations_name_the_layer(value, expected):
    with pytest.raises(fnn.FnnInputError, match=expected) as error:
        fnn.network([2, 3, 4, 2], activation=["relu", value, "softmax"])
    assert "activation[1]" in str(error.value)


def test_an_activation_record_needs_callables():
    with pytest.raises(fnn.FnnInputError, match="needs a callable fn"):
        fnn.Activation("broken", 3, lambda z, a: z)
    with pytest.raises(fnn.FnnInputError, match="needs a callable derivative"):
        fnn.Activation("broken", np.tanh, "1 - a**2")


def test_softmax_in_a_hidden_layer_backpropagates_correctly():
    params = fnn.init_params(fnn.network([3, 4, 2], activation=["softmax", "softmax"]), seed=0, dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 3))
    assert fnn.check_grad(params, (x, np.array([0, 1, 1, 0, 1]))).ok


_SPECIAL32 = np.array(
    [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FC12345,
     0xFFC12345, 0x7FFFFFFF, 0xFFFFFFFF, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000, 0x80800000,
     0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000, 0xBF800000],
    np.uint32,
)
_SPECIAL64 = np.array(
    [0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001,
     0xFFF8000000ABCDEF, 0x0000000000000001, 0x8000000000000001, 0x000FFFFFFFFFFFFF, 0x800FFFFFFFFFFFFF,
     0x3FF0000000000000, 0xBFF0000000000000],
    np.uint64,
)


def _relu_bits_agree(z: np.ndarray) -> None:
    """The in-place ReLU of training gives np.maximum(z, 0)'s very bits (NaN payloads and signs, -0.0, subnormals)."""
    expected = np.maximum(z, 0)
    got = ACTIVATIONS["relu"]().fn_inplace(z.copy())
    unsigned = np.uint32 if z.dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(got.view(unsigned), expected.view(unsigned))


@pytest.mark.parametrize("dtype, bits", [(np.float32, _SPECIAL32), (np.float64, _SPECIAL64)])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (128, 256), (2, 5, 33)])
def test_inplace_relu_is_bit_identical_to_maximum_on_every_special_value(dtype, bits, shape):
    # Every special value at every position of vector bodies and tails: the pattern tiled over the whole array.
    size = int(np.prod(shape))
    for offset in range(len(bits)):
        z = np.roll(np.resize(bits, size), offset).view(dtype).reshape(shape)
        _relu_bits_agree(z)
    assert np.signbit(ACTIVATIONS["relu"]().fn_inplace(np.array([[-0.0, -1.0, -np.inf]], dtype))).tolist() == [[False] * 3]


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(min_dims=1, max_dims=3, max_side=70),
                  elements=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True, width=32)))
def test_inplace_relu_is_bit_identical_to_maximum_on_any_floats(z):
    _relu_bits_agree(z)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=300))
def test_inplace_relu_is_bit_identical_to_maximum_on_any_float32_bits(words):
    _relu_bits_agree(np.array(words, np.uint32).view(np.float32))
