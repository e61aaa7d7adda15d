import numpy as np
import pytest
from hypothesis import given, settings

import fnn
from conftest import networks


@settings(max_examples=60, deadline=None)
@given(case=networks())
def test_grad_of_whole_networks_matches_finite_differences(case):
    spec, seed, batch = case
    params = fnn.init_params(spec, seed=seed, dtype="float64")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        result = fnn.check_grad(params, batch)
    assert result.ok, result


def test_check_grad_catches_a_wrong_derivative():
    wrong = fnn.Activation("tanh_wrong", np.tanh, lambda z, a: 1 - a)  # should be 1 - a**2
    params = fnn.init_params(fnn.network([3, 4, 2], activation=wrong), seed=0, dtype="float64")
    batch = (np.random.default_rng(0).standard_normal((6, 3)), np.array([0, 1, 1, 0, 1, 0]))
    result = fnn.check_grad(params, batch)
    assert not result.ok and result.where.startswith("layer 0")


def test_worked_sgd_step_by_hand():
    # One sigmoid unit, squared error (quadratic cost): z = 0.5*1 + 0.1 = 0.6, a = sigmoid(0.6) = 0.645656,
    # dC/dz = (a - y) * a * (1 - a) = (0.645656 - 1) * 0.228784 = -0.0810680, so w -> 0.5 + 0.1 * 0.0810680.
    spec = fnn.network([1, 1], activation="sigmoid", loss="quadratic")
    params = fnn.Params(spec, [fnn.Layer(np.array([[0.5]]), np.array([0.1]))])
    new = fnn.sgd_step(params, fnn.grad(params, (np.array([[1.0]]), np.array([[1.0]]))), lr=0.1)
    assert new.layers[0].w[0, 0] == pytest.approx(0.5 + 0.1 * 0.0810680, abs=1e-7)
    assert new.layers[0].b[0] == pytest.approx(0.1 + 0.1 * 0.0810680, abs=1e-7)


def test_forward_gives_probabilities_and_loss_and_grad_agree():
    params = fnn.init_params(fnn.network([3, 5, 4]), seed=0)
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 0, 1, 2])
    out = fnn.forward(params, x)
    assert out.shape == (7, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)
    value, grads = fnn.loss_and_grad(params, (x, y))
    assert value == fnn.loss(params, (x, y))
    assert grads == fnn.grad(params, (x, y))
    assert grads.spec == params.spec and [a.shape for a in grads.arrays()] == [a.shape for a in params.arrays()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_silent_upcast(dtype):
    params = fnn.init_params(fnn.network([3, 5, 4, 1], activation=["gelu", "silu", "sigmoid"]), seed=0, dtype=dtype)
    x = np.ones((4, 3), dtype)
    y = np.array([0, 1, 1, 0])
    grads = fnn.grad(params, (x, y))
    assert all(a.dtype == dtype for a in grads.arrays())
    assert all(a.dtype == dtype for a in fnn.sgd_step(params, grads, 0.1).arrays())
    assert fnn.forward(params, x).dtype == dtype


@pytest.mark.parametrize(
    "batch, message",
    [
        ((np.ones((4, 2), np.float32), np.array([0, 1, 2, 0])), r"shape \(n, 3\)"),
        ((np.ones(3, np.float32), np.array([0])), r"shape \(n, 3\)"),
        ((np.ones((4, 3), np.complex64), np.array([0, 1, 2, 0])), r"real numbers \(ints or floats\). Got an array of dtype complex64"),
        ((np.full((4, 3), "1"), np.array([0, 1, 2, 0])), r"real numbers .* dtype <U1"),
        ((np.ones((4, 3), np.float32), np.array([0, 1, 2])), "4 labels"),
        ((np.ones((4, 3), np.float32), np.array([0, 1, 2, 3])), r"class labels in 0..2.*0..3"),
        ((np.ones((4, 3), np.float32), np.array([0, -1, 2, 1])), r"class labels in 0..2"),
        ((np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)), r"shape \(4, 3\)"),
        ((np.array([[np.nan, 0, 0]] * 4, np.float32), np.array([0, 1, 2, 0])), "finite values.*nan"),
        ((np.ones((4, 3), np.float32),), "a pair"),
        ([[1.0, 2.0, 3.0]], "a pair"),
        (([[1.0, 2.0, 3.0]] * 3 + [[1.0]], np.array([0, 1, 2, 0])), "rectangular array of real numbers"),
    ],
)
def test_bad_batches_name_the_argument(batch, message):
    params = fnn.init_params(fnn.network([3, 4, 3]), seed=0)
    with pytest.raises(fnn.FnnInputError, match=message):
        fnn.loss(params, batch)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), "0.1", True])
def test_sgd_step_refuses_bad_learning_rates(lr):
    params = fnn.init_params(fnn.network([2, 2]), seed=0)
    with pytest.raises(fnn.FnnInputError, match="'lr'"):
        fnn.sgd_step(params, params, lr)


def test_params_argument_is_checked():
    with pytest.raises(fnn.FnnInputError, match="'params'"):
        fnn.forward([np.ones((2, 2))], np.ones((1, 2)))


def test_forward_loss_and_grad_take_scaled_rows_as_their_dense_rows():
    raw = np.array([[0, 255, 17], [51, 102, 3], [200, 1, 90], [7, 8, 9]], np.uint8)
    rows = fnn.data.ScaledRows(raw, 255)
    dense = np.asarray(rows)
    params = fnn.init_params(fnn.network([3, 5, 2]), seed=0)
    labels = np.array([0, 1, 1, 0])
    np.testing.assert_array_equal(fnn.forward(params, rows), fnn.forward(params, dense))
    assert fnn.loss(params, (rows, labels)) == fnn.loss(params, (dense, labels))
    value, grads = fnn.loss_and_grad(params, (rows, labels))
    dense_value, dense_grads = fnn.loss_and_grad(params, (dense, labels))
    assert value == dense_value and grads == dense_grads
    assert grads.layers[0].w.any()
