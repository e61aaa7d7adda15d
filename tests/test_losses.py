import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.core.losses import logsumexp


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), k=st.integers(2, 5), seed=st.integers(0, 10_000), one_hot=st.booleans())
def test_cross_entropy_value_and_fused_gradient(n, k, seed, one_hot):
    rng = np.random.default_rng(seed)
    z = 3 * rng.standard_normal((n, k))
    labels = rng.integers(0, k, n)
    y = np.eye(k)[labels] if one_hot else labels
    loss = fnn.get_loss("cross_entropy")
    expected = -np.mean(np.log(softmax(z)[np.arange(n), labels]))
    assert loss.value_from_logits(z, y) == pytest.approx(expected, rel=1e-12)
    assert loss.value(softmax(z), y) == pytest.approx(expected, rel=1e-10)
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = 1e-6
        numeric[index] = (loss.value_from_logits(z + step, y) - loss.value_from_logits(z - step, y)) / 2e-6
    np.testing.assert_allclose(loss.grad_logits(z, softmax(z), y), numeric, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), k=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_binary_cross_entropy_value_and_fused_gradient(n, k, seed):
    rng = np.random.default_rng(seed)
    z = 3 * rng.standard_normal((n, k))
    y = rng.integers(0, 2, (n, k)).astype(float)
    loss = fnn.get_loss("binary_cross_entropy")
    p = sigmoid(z)
    expected = -np.mean(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1))
    assert loss.value_from_logits(z, y) == pytest.approx(expected, rel=1e-10)
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = 1e-6
        numeric[index] = (loss.value_from_logits(z + step, y) - loss.value_from_logits(z - step, y)) / 2e-6
    np.testing.assert_allclose(loss.grad_logits(z, p, y), numeric, atol=1e-8)


@pytest.mark.parametrize("name", ["mse", "quadratic", "cross_entropy", "binary_cross_entropy"])
def test_output_derivatives_match_finite_differences(name, rng):
    a = rng.uniform(0.1, 0.9, (4, 3))
    a = a / a.sum(axis=1, keepdims=True) if name == "cross_entropy" else a
    y = rng.integers(0, 2, (4, 3)).astype(float) if name != "cross_entropy" else np.eye(3)[[0, 2, 1, 1]]
    assert fnn.check_loss(name, a, y).ok


def test_mse_and_quadratic_conventions():
    a, y = np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])
    assert fnn.get_loss("mse").value(a, y) == pytest.approx(2.5)  # mean over all entries
    assert fnn.get_loss("quadratic").value(a, y) == pytest.approx(2.5)  # 1/(2n) * sum of squares, n = 1
    a2, y2 = np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]])
    assert fnn.get_loss("quadratic").value(a2, y2) == pytest.approx(2.5)
    assert fnn.get_loss("mse").value(a2, y2) == pytest.approx(5.0)


def test_mse_accepts_integer_class_labels_as_one_hot_targets():
    a = np.array([[0.9, 0.1], [0.2, 0.8]], np.float32)
    mse = fnn.get_loss("mse")
    assert mse.value(a, np.array([0, 1])) == pytest.approx(mse.value(a, np.eye(2, dtype=np.float32)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_stay_finite_for_saturated_outputs(dtype):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype)
    wrong = np.array([1, 0])
    ce = fnn.get_loss("cross_entropy")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = ce.value_from_logits(z, wrong)
        grad = ce.grad_logits(z, softmax(z.astype(np.float64)).astype(dtype), wrong)
    assert value == pytest.approx(2e4) and np.isfinite(grad).all()
    bce = fnn.get_loss("binary_cross_entropy")
    zb = np.array([[1e4], [-1e4]], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert bce.value_from_logits(zb, np.array([[0.0], [1.0]], dtype)) == pytest.approx(1e4)
        assert bce.value(np.array([[1.0], [0.0]], dtype), np.array([[0.0], [1.0]], dtype)) < 100


def test_logsumexp_is_stable():
    assert logsumexp(np.array([[1e4, 1e4]])) == pytest.approx(1e4 + np.log(2))


def test_unknown_loss_lists_known_ones():
    with pytest.raises(fnn.FnnInputError, match="Known losss|Known losses|cross_entropy"):
        fnn.get_loss("hinge")


def test_custom_loss_object_trains_a_network():
    mae = fnn.Loss("mae", lambda a, y: np.mean(np.abs(a - y)), lambda a, y: np.sign(a - y) / a.size)
    spec = fnn.network([1, 8, 1], activation="tanh", output="identity", loss=mae)
    assert spec.loss is mae
    params = fnn.init_params(spec, seed=0, dtype="float64")
    x = np.linspace(-1, 1, 32).reshape(-1, 1)
    y = 0.5 * x
    before = fnn.loss(params, (x, y))
    after = fnn.fit(params, (x, y), epochs=50, lr=0.05, batch_size=8, seed=0).params
    assert fnn.loss(after, (x, y)) < before / 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_from_outputs_equals_the_logits_formula_and_falls_back_when_saturated(dtype, rng):
    ce = fnn.get_loss("cross_entropy")
    z = (3 * rng.standard_normal((50, 7))).astype(dtype)
    y = rng.integers(0, 7, 50)
    a = fnn.get_activation("softmax")(z)
    assert ce.value_from_both(z, a, y) == pytest.approx(ce.value_from_logits(z, y), rel=1e-5 if dtype == np.float32 else 1e-12)
    saturated = np.array([[200.0, -200.0]], dtype)  # the true class's probability underflows to 0
    value = ce.value_from_both(saturated, fnn.get_activation("softmax")(saturated), np.array([1]))
    assert np.isfinite(value) and value == pytest.approx(400.0)


def test_cross_entropy_with_soft_targets_is_minus_sum_y_log_a():
    z = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    a = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = np.array([[0.2, 0.3, 0.5], [0.7, 0.1, 0.2]])
    by_hand = -(
        (0.2 * np.log(a[0, 0]) + 0.3 * np.log(a[0, 1]) + 0.5 * np.log(a[0, 2]))
        + (0.7 * np.log(a[1, 0]) + 0.1 * np.log(a[1, 1]) + 0.2 * np.log(a[1, 2]))
    ) / 2
    loss = fnn.get_loss("cross_entropy")
    assert loss.value(a, y) == pytest.approx(by_hand, rel=1e-14)
    assert loss.value_from_logits(z, y) == pytest.approx(by_hand, rel=1e-14)
    assert fnn.check_loss("cross_entropy", a, y).ok  # derivative -y / a / n against differences of the value
    params = fnn.init_params(fnn.network([2, 3], activation="softmax"), seed=0, dtype="float64")
    x = np.array([[0.3, -1.0], [2.0, 0.5]])
    result = fnn.check_grad(params, (x, y))
    assert result.ok, result
    probabilities = fnn.predict(params, x)
    assert fnn.loss(params, (x, y)) == pytest.approx(-np.mean(np.sum(y * np.log(probabilities), axis=1)), rel=1e-12)


def test_one_hot_float_targets_give_the_same_loss_as_labels():
    z = np.random.default_rng(1).normal(size=(6, 4))
    labels = np.array([0, 3, 1, 2, 2, 0])
    loss = fnn.get_loss("cross_entropy")
    assert loss.value_from_logits(z, np.eye(4)[labels]) == loss.value_from_logits(z, labels)


@pytest.mark.parametrize(
    "y, expected",
    [
        (np.array([[0.5, 0.6], [0.5, 0.5]]), r"summing to 1 within 0.001\)\. Got row 0 summing to 1.1"),
        (np.array([[1.5, -0.5], [0.5, 0.5]]), r"no negative entry\)\. Got -0.5 at index \(0, 1\)"),
        (np.array([[0.0, 0.0], [0.5, 0.5]]), "row 0 summing to 0"),
        (np.array([[50.0, 50.0], [0.5, 0.5]]), "row 0 summing to 100"),
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), "finite targets"),
    ],
)
def test_cross_entropy_targets_must_be_distributions(y, expected):
    params = fnn.init_params(fnn.network([2, 2], activation="softmax"), seed=0, dtype="float64")
    with pytest.raises(fnn.FnnInputError, match=expected) as error:
        fnn.loss(params, (np.ones((2, 2)), y))
    assert "'batch[1] (y)'" in str(error.value)


@pytest.mark.parametrize("bad", [-0.1, 1.5, 2.0])
def test_binary_cross_entropy_targets_must_lie_in_0_1(bad):
    params = fnn.init_params(fnn.network([2, 1], loss="binary_cross_entropy"), seed=0, dtype="float64")
    y = np.array([0.0, bad, 1.0])
    with pytest.raises(fnn.FnnInputError, match=r"targets in \[0, 1\].*Got .* at index \(1, 0\)"):
        fnn.fit(params, (np.ones((3, 2)), y), epochs=1)
    assert fnn.loss(params, (np.ones((3, 2)), np.array([0.0, 0.25, 1.0]))) > 0  # probabilities are fine


def test_a_regression_takes_integer_targets_as_numbers():
    params = fnn.init_params(fnn.network([3, 1], output="identity"), seed=0, dtype="float64")
    x = np.ones((3, 3))
    assert fnn.loss(params, (x, np.array([3, 5, 7]))) == fnn.loss(params, (x, np.array([3.0, 5.0, 7.0])))
