"""Mini-batches of an epoch, gathered lazily in the order :func:`fnn.seeds.shuffle_rng` draws.

>>> x = np.arange(10.0).reshape(5, 2); y = np.arange(5)
>>> [yb.tolist() for _, yb in minibatches(x, y, batch_size=2, seed=0, epoch=0)]
[[1, 4], [0, 3], [2]]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from fnn.arrays import describe
from fnn.errors import FnnInputError, bad_argument
from fnn.limits import MAX_BATCH_SIZE
from fnn.seeds import shuffle_rng


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``n`` samples: a pure function of ``(seed, epoch)``.

    >>> sorted(fnn.epoch_permutation(5, seed=0, epoch=0).tolist())
    [0, 1, 2, 3, 4]
    """
    return shuffle_rng(seed, epoch).permutation(n)


def batch_count(n: int, batch_size: int) -> int:
    """How many mini-batches an epoch of ``n`` samples has (the last one may be smaller).

    >>> fnn.batch_count(10, 4)
    3
    """
    return -(-n // batch_size)


def minibatches(
    x: Any, y: Any, batch_size: int, seed: int, epoch: int, shuffle: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the ``(x_batch, y_batch)`` pairs of one epoch, lazily.

    Each batch is gathered from ``x`` and ``y`` by index when it is needed, so the data set is never copied whole
    (and a memory-mapped or :class:`~fnn.data.lazy.ScaledRows` ``x`` is read batch by batch). The last batch holds the remainder.
    The arguments are checked at the call, not at the first batch.

    >>> [y.tolist() for _, y in fnn.minibatches(np.zeros((5, 1)), np.arange(5), 2, seed=0, epoch=0, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 0 < batch_size <= MAX_BATCH_SIZE:
        raise bad_argument("minibatches", "batch_size", f"a positive int up to {MAX_BATCH_SIZE}", batch_size)
    for name, value in (("seed", seed), ("epoch", epoch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise bad_argument("minibatches", name, "a non-negative int", value)
    lengths = []
    for name, value in (("x", x), ("y", y)):
        try:
            lengths.append(len(value))
        except TypeError:
            raise bad_argument("minibatches", name, "an array of samples in rows", describe(value)) from None
    if lengths[0] != lengths[1]:
        raise FnnInputError(
            f"The 'x' and 'y' arguments of fnn.minibatches must have one row per sample each, the same number; got "
            f"x with {lengths[0]} rows and y with {lengths[1]}."
        )
    return _batches(x, y, int(batch_size), int(seed), int(epoch), shuffle)


def _batches(x: Any, y: Any, batch_size: int, seed: int, epoch: int, shuffle: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    n = len(x)
    if not shuffle:  # consecutive rows: views, no copies
        for start in range(0, n, batch_size):
            yield x[start : start + batch_size], y[start : start + batch_size]
        return
    order = epoch_permutation(n, seed, epoch)
    full = n - n % batch_size
    # Sorted within each batch (one sort call for the epoch): the same samples, read in file order, which is
    # kinder to a memory map and the cache.
    batches = list(np.sort(order[:full].reshape(-1, batch_size), axis=1)) + (
        [np.sort(order[full:])] if full < n else []
    )
    # np.take gathers rows of a plain array faster than x[index] (Fashion-MNIST's batch of 128 rows: 33 us
    # against 38); a memory map or ScaledRows keeps its own indexing.
    rows = (lambda index: np.take(x, index, axis=0)) if type(x) is np.ndarray else x.__getitem__
    for index in batches:
        if index[-1] - index[0] == len(index) - 1:  # consecutive rows (a batch of the whole set): a view
            index = slice(int(index[0]), int(index[-1]) + 1)
            yield x[index], y[index]
        else:
            yield rows(index), y[index]
