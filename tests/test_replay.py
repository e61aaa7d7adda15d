"""An epoch's batch indices and dropout masks, recreated alone, are the ones training used."""

import numpy as np
import pytest

import fnn
from fnn.proof.replay import epoch_batches, epoch_plan


def _data():
    data = fnn.data.moons(90, noise=0.2, seed=3)
    return data.features.astype(np.float64), data.labels


def _sgd_epoch_by_hand(params, x, y, plan, lr):
    """One epoch of plain SGD on a relu-dropout-softmax network, written out in NumPy from the plan alone."""
    (w1, b1), (w2, b2) = [(layer.w.copy(), layer.b.copy()) for layer in params.layers]
    for index, rows in enumerate(plan.batches):
        xb, yb = x[rows], y[rows]
        mask = plan.masks(index)[0]
        z1 = xb @ w1 + b1
        h = np.maximum(z1, 0) * mask
        z2 = h @ w2 + b2
        p = np.exp(z2 - z2.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        delta2 = (p - np.eye(2)[yb]) / len(rows)
        dz1 = (delta2 @ w2.T) * mask * (z1 > 0)
        w2, b2 = w2 - lr * (h.T @ delta2), b2 - lr * delta2.sum(axis=0)
        w1, b1 = w1 - lr * (xb.T @ dz1), b1 - lr * dz1.sum(axis=0)
    return [w1, b1, w2, b2]


def test_a_middle_epoch_recreated_from_its_plan_equals_training():
    x, y = _data()
    spec = fnn.network([2, 12, 2], activation="relu")
    start = fnn.init_params(spec, seed=1, dtype="float64")
    options = {"lr": 0.3, "batch_size": 16, "drop_rate": 0.4}
    after_1 = fnn.fit(start, (x, y), epochs=1, seed=7, **options)
    after_3 = fnn.fit(start, (x, y), epochs=3, seed=7, **options)
    after_2 = fnn.fit(after_1, (x, y), epochs=1, **options)
    plan = epoch_plan(len(x), 16, seed=7, epoch=1, spec=spec, drop_rate=0.4, dtype="float64")
    assert plan.first_step == after_1.step == 6
    by_hand = _sgd_epoch_by_hand(after_1.params, x, y, plan, 0.3)
    for got, want in zip(by_hand, after_2.params.arrays()):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # The run continued alone is the run itself, and a wrong plan (next epoch's draws) is far off.
    assert fnn.fit(after_2, (x, y), epochs=1, **options).params == after_3.params
    wrong = _sgd_epoch_by_hand(after_1.params, x, y, epoch_plan(len(x), 16, 7, 2, spec=spec, drop_rate=0.4, first_step=6), 0.3)
    assert max(np.max(np.abs(a - b)) for a, b in zip(wrong, after_2.params.arrays())) > 1e-3


def test_batches_are_sorted_chunks_of_the_epochs_permutation():
    order = fnn.epoch_permutation(23, seed=5, epoch=4)
    batches = epoch_batches(23, 5, seed=5, epoch=4)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    expected = [np.sort(order[i : i + 5]) for i in range(0, 23, 5)]
    assert all(np.array_equal(got, want) for got, want in zip(batches, expected))
    assert [b.tolist() for b in epoch_batches(5, 2, seed=5, epoch=4, shuffle=False)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in epoch_batches(4, 8, seed=0, epoch=0)] == [[0, 1, 2, 3]]


def test_masks_are_those_of_the_global_step_and_absent_without_dropout():
    spec = fnn.network([3, 4, 5, 2])
    plan = epoch_plan(10, 4, seed=2, epoch=3, spec=spec, drop_rate=[0.5, 0.0])
    assert plan.first_step == 9
    masks = plan.masks(2)
    direct = fnn.dropout_masks(spec, 2, [0.5, 0.0], seed=2, epoch=3, step=11, dtype=np.float32)
    assert masks[0].shape == (2, 4) and np.array_equal(masks[0], direct[0]) and masks[1] is None
    assert np.array_equal(plan.masks(-1)[0], masks[0])
    assert epoch_plan(10, 4, seed=2, epoch=3, spec=spec).masks(0) is None


def test_bad_arguments_are_refused_by_name():
    spec = fnn.network([3, 4, 2])
    with pytest.raises(fnn.FnnInputError, match="'epoch'"):
        epoch_batches(10, 4, seed=0, epoch=-1)
    with pytest.raises(fnn.FnnInputError, match="'batch_size'"):
        epoch_batches(10, 0, seed=0, epoch=0)
    with pytest.raises(fnn.FnnInputError, match="'spec'"):
        epoch_plan(10, 4, 0, 0, drop_rate=0.5)
    with pytest.raises(fnn.FnnInputError, match="'first_step'"):
        epoch_plan(10, 4, 0, 0, first_step=-2)
    with pytest.raises(fnn.FnnInputError, match="'drop_rate'"):
        epoch_plan(10, 4, 0, 0, spec=spec, drop_rate=1.5)
    with pytest.raises(fnn.FnnInputError, match="'index'"):
        epoch_plan(10, 4, 0, 0, spec=spec, drop_rate=0.5).masks(3)
