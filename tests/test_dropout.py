import numpy as np
import pytest

import fnn
from fnn.core.gradients import loss_and_grad_unchecked
from fnn.core.network import forward_trace, loss_value


def test_drop_rate_is_the_probability_of_dropping():
    spec = fnn.network([4, 200, 200, 2])
    masks = fnn.dropout_masks(spec, 500, 0.3, seed=0, epoch=0, step=0, dtype=np.float32)
    for mask in masks:
        assert np.mean(mask == 0) == pytest.approx(0.3, abs=0.01)
        assert set(np.unique(mask).tolist()) == {0.0, np.float32(1 / 0.7)}
        assert mask.mean() == pytest.approx(1.0, abs=0.02)  # inverted dropout keeps the expectation


def test_masks_are_a_pure_function_of_seed_epoch_and_step():
    spec = fnn.network([4, 8, 2])
    draw = lambda **k: fnn.dropout_masks(spec, 16, 0.5, dtype=np.float32, **{"seed": 0, "epoch": 0, "step": 0, **k})[0]
    assert np.array_equal(draw(), draw())
    assert not np.array_equal(draw(), draw(step=1))
    assert not np.array_equal(draw(), draw(epoch=1))
    assert not np.array_equal(draw(), draw(seed=1))


def test_per_layer_rates_and_off_by_default():
    spec = fnn.network([4, 8, 8, 2])
    masks = fnn.dropout_masks(spec, 10, [0.0, 0.5], seed=0, epoch=0, step=0, dtype=np.float32)
    assert masks[0] is None and masks[1].shape == (10, 8)
    assert fnn.dropout_masks(spec, 10, 0.0, seed=0, epoch=0, step=0, dtype=np.float32) is None


def test_gradient_with_dropout_matches_finite_differences():
    spec = fnn.network([3, 6, 5, 2], activation="tanh")
    params = fnn.init_params(spec, seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3)), np.array([0, 1, 1, 0])
    masks = fnn.dropout_masks(spec, 4, 0.4, seed=0, epoch=0, step=0, dtype=np.float64)
    _, grads, _ = loss_and_grad_unchecked(params, x, y, masks)
    vector = fnn.flatten_params(params)
    numeric = np.zeros_like(vector)
    for i in range(len(vector)):
        for sign in (1, -1):
            shifted = vector.copy()
            shifted[i] += sign * 1e-6
            candidate = fnn.unflatten_params(shifted, params)
            numeric[i] += sign * loss_value(candidate, forward_trace(candidate, x, masks), y) / 2e-6
    np.testing.assert_allclose(fnn.flatten_params(grads), numeric, atol=1e-8)


def test_dropout_is_off_at_evaluation_and_changes_training():
    train, test = fnn.data.stratified_split(fnn.data.digits(), 0.2, seed=0)
    params = fnn.init_params(fnn.network([64, 32, 10]), seed=0)
    with_dropout = fnn.fit(params, train, epochs=1, lr=0.1, seed=0, drop_rate=0.5)
    without = fnn.fit(params, train, epochs=1, lr=0.1, seed=0)
    assert with_dropout.params != without.params
    x = test.features
    assert np.array_equal(fnn.forward(with_dropout.params, x), fnn.forward(with_dropout.params, x))
