import numpy as np
import pytest

import fnn


def test_an_epoch_visits_every_sample_once_in_batches():
    x = np.arange(23, dtype=np.float32).reshape(-1, 1)
    y = np.arange(23)
    batches = list(fnn.minibatches(x, y, batch_size=5, seed=1, epoch=0))
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate([b[1] for b in batches]).tolist()) == list(range(23))
    assert all((bx[:, 0] == by).all() for bx, by in batches)
    assert fnn.batch_count(23, 5) == 5


def test_order_is_a_pure_function_of_seed_and_epoch():
    assert np.array_equal(fnn.epoch_permutation(100, 3, 7), fnn.epoch_permutation(100, 3, 7))
    assert not np.array_equal(fnn.epoch_permutation(100, 3, 7), fnn.epoch_permutation(100, 3, 8))
    assert not np.array_equal(fnn.epoch_permutation(100, 3, 7), fnn.epoch_permutation(100, 4, 7))


def test_batches_are_lazy_and_copy_only_the_batch():
    x = np.zeros((1000, 4), np.float32)
    x.flags.writeable = False
    gen = fnn.minibatches(x, np.zeros(1000, np.int64), batch_size=10, seed=0, epoch=0)
    first_x, _ = next(gen)
    assert first_x.shape == (10, 4) and not np.shares_memory(first_x, x)


def test_unshuffled_batches_keep_the_order():
    y = np.arange(6)
    assert [b.tolist() for _, b in fnn.minibatches(y.reshape(-1, 1), y, 4, 0, 0, shuffle=False)] == [[0, 1, 2, 3], [4, 5]]


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_bad_batch_size(size):
    with pytest.raises(fnn.FnnInputError, match="'batch_size'"):
        next(fnn.minibatches(np.zeros((4, 1)), np.zeros(4), size, 0, 0))


def test_consecutive_batches_are_views_not_copies():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    batches = list(fnn.minibatches(x, np.arange(10), batch_size=4, seed=0, epoch=0, shuffle=False))
    assert all(np.shares_memory(bx, x) for bx, _ in batches)
    full = next(fnn.minibatches(x, np.arange(10), batch_size=10, seed=3, epoch=2))  # a shuffled full batch
    assert np.shares_memory(full[0], x) and np.array_equal(full[0], x)


@pytest.mark.parametrize("n, batch_size", [(23, 5), (20, 5), (3, 8), (1, 1)])
def test_batch_i_is_slice_i_of_the_epoch_permutation_sorted(n, batch_size):
    y = np.arange(n) * 10
    order = fnn.epoch_permutation(n, 4, 2)
    expected = [np.sort(order[i : i + batch_size]) * 10 for i in range(0, n, batch_size)]
    got = [by for _, by in fnn.minibatches(y.reshape(-1, 1), y, batch_size, seed=4, epoch=2)]
    assert [g.tolist() for g in got] == [e.tolist() for e in expected]


def test_x_and_y_of_different_lengths_are_refused_at_the_call():
    with pytest.raises(fnn.FnnInputError, match="'x' and 'y' .* x with 5 rows and y with 4"):
        fnn.minibatches(np.zeros((5, 2)), np.zeros(4), 2, seed=0, epoch=0)


@pytest.mark.parametrize("name, value", [("seed", -1), ("seed", 1.5), ("epoch", -2), ("epoch", "0")])
def test_seed_and_epoch_must_be_non_negative_ints(name, value):
    arguments = {"seed": 0, "epoch": 0, name: value}
    with pytest.raises(fnn.FnnInputError, match=f"'{name}' argument of fnn.minibatches must be a non-negative int"):
        fnn.minibatches(np.zeros((4, 1)), np.zeros(4), 2, **arguments)


def test_shuffled_batches_of_a_plain_array_and_of_any_indexable_rows_are_the_same():
    # A plain array is gathered with np.take, anything else by its own indexing: the same rows either way.
    class Rows:
        def __init__(self, array):
            self.array = array

        def __len__(self):
            return len(self.array)

        def __getitem__(self, index):
            return self.array[index] * 1

    x = np.arange(70.0, dtype=np.float32).reshape(35, 2)
    plain = list(fnn.minibatches(x, np.arange(35), 4, seed=1, epoch=2))
    wrapped = list(fnn.minibatches(Rows(x), np.arange(35), 4, seed=1, epoch=2))
    assert len(plain) == 9 and sorted(np.concatenate([yb for _, yb in plain]).tolist()) == list(range(35))
    for (xa, ya), (xb, yb) in zip(plain, wrapped):
        assert xa.dtype == np.float32 and type(xa) is np.ndarray
        np.testing.assert_array_equal(xa, x[ya])
        np.testing.assert_array_equal(xb, xa)
        np.testing.assert_array_equal(ya, yb)
