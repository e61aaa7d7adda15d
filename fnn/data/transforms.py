"""Pure transforms of data: scaling, standardising (fitted on the training part only), one-hot, splits.

>>> x = np.array([[0.0, 10.0], [2.0, 30.0]], np.float32)
>>> stats = fit_standardizer(x)
>>> standardize(x, stats).tolist()
[[-1.0, -1.0], [1.0, 1.0]]
>>> one_hot(np.array([0, 2]), 3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from attrs import frozen
from numpy.typing import ArrayLike, DTypeLike

from fnn.arrays import readonly
from fnn.data.dataset import Dataset
from fnn.errors import bad_argument
from fnn.seeds import train_test_split_rng, validation_split_rng
from fnn.values import from_numpy, number_check, read_argument

_SPLIT_STREAMS = {"test": train_test_split_rng, "validation": validation_split_rng}


def scale_unit(x: ArrayLike, maximum: float = 255, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Pixel values ``0..maximum`` to floats in ``[0, 1]`` (a new array of ``dtype``).

    >>> fnn.data.scale_unit(np.array([0, 51, 255], np.uint8))
    array([0. , 0.2, 1. ], dtype=float32)
    """
    float_type: np.dtype[Any] = np.dtype(dtype)
    return np.asarray(x, dtype=float_type) / float_type.type(maximum)


@frozen(hash=False)
class Standardizer:
    """Per-feature ``mean`` and ``scale`` fitted on training data; apply with :func:`standardize`.

    >>> fnn.data.fit_standardizer(np.array([[1.0, 5.0], [3.0, 5.0]]))
    Standardizer(mean=array([2., 5.]), scale=array([1., 1.]))
    """

    mean: np.ndarray
    scale: np.ndarray


def fit_standardizer(x: ArrayLike) -> Standardizer:
    """The per-column mean and standard deviation of ``x`` (columns with no spread get scale 1).

    >>> fnn.data.fit_standardizer(np.array([[0.0], [4.0]], np.float32)).scale
    array([2.], dtype=float32)
    """
    x = np.asarray(x)
    mean = x.mean(axis=0, dtype=np.float64)
    std = x.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return Standardizer(readonly(mean.astype(x.dtype)), readonly(std.astype(x.dtype)))


def standardize(x: ArrayLike, stats: Standardizer) -> np.ndarray:
    """``(x - mean) / scale`` with statistics from :func:`fit_standardizer` (fitted on the training part).

    >>> stats = fnn.data.fit_standardizer(np.array([[0.0], [4.0]]))
    >>> fnn.data.standardize(np.array([[6.0]]), stats)
    array([[2.]])
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != stats.mean.shape[0]:
        raise bad_argument("standardize", "x", f"an array with {stats.mean.shape[0]} columns", x.shape)
    return (x - stats.mean) / stats.scale


def one_hot(labels: ArrayLike, n_classes: int, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Rows of zeros with a one at each label's column.

    >>> fnn.data.one_hot([1, 0], 2)
    array([[0., 1.],
           [1., 0.]], dtype=float32)
    """
    n_classes = read_argument("one_hot", "n_classes", from_numpy(number_check(low=1, whole=True)), n_classes)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise bad_argument("one_hot", "labels", "a 1-D array of integer labels", labels.dtype)
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise bad_argument("one_hot", "labels", f"labels in 0..{n_classes - 1}", (labels.min(), labels.max()))
    return np.eye(n_classes, dtype=dtype)[labels]


def flatten_images(images: ArrayLike) -> np.ndarray:
    """``(n, h, w)`` images to ``(n, h * w)`` rows (a view when possible).

    >>> fnn.data.flatten_images(np.arange(8).reshape(2, 2, 2))
    array([[0, 1, 2, 3],
           [4, 5, 6, 7]])
    """
    images = np.asarray(images)
    return images.reshape(len(images), -1)


def stratified_split_indices(
    labels: ArrayLike, test_fraction: float, seed: int, part: Literal["test", "validation"] = "test"
) -> tuple[np.ndarray, np.ndarray]:
    """``(train_index, test_index)``: each class split in the same proportion, drawn from ``seed``.

    Every class with at least two samples keeps one on each side; the indices come back sorted. ``part`` names
    the stream of :mod:`fnn.seeds` the draw comes from: ``"test"`` for a train/test split, ``"validation"`` for
    the part of the training data held out for validation, so the two never share random numbers.

    >>> stratified_split_indices(np.array([0, 0, 0, 1, 1, 1]), 1 / 3, seed=0)[1].tolist()
    [2, 4]
    """
    test_fraction = read_argument("stratified_split", "test_fraction",
                                  from_numpy(number_check(low=0, high=1, low_open=True, high_open=True)), test_fraction)
    seed = read_argument("stratified_split", "seed", from_numpy(number_check(low=0, whole=True)), seed)
    labels = np.asarray(labels)
    keys = labels if labels.ndim == 1 else labels.argmax(axis=1)
    if keys.dtype.kind == "f":
        # Regression targets: stratify by quantile bins so both parts span the range.
        edges = np.quantile(keys, np.linspace(0, 1, 11)[1:-1])
        keys = np.searchsorted(edges, keys)
    if part not in _SPLIT_STREAMS:
        raise bad_argument("stratified_split_indices", "part", f"one of {sorted(_SPLIT_STREAMS)}", part)
    rng = _SPLIT_STREAMS[part](seed)
    # One stable sort groups the rows by class, each class's rows ascending, classes in sorted order: the
    # groups np.unique and a comparison per class would give, without their hashing (a seed's split is
    # paid by every run and every stacked member).
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1]))) if len(keys) else np.array([], np.int64)
    in_test = np.zeros(len(keys), dtype=bool)
    for members in np.split(order, starts[1:]) if len(keys) else ():
        members = members[rng.permutation(len(members))]
        count = int(round(len(members) * test_fraction))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        in_test[members[:count]] = True
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def stratified_split(data: Dataset, test_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split a :class:`Dataset` into ``(train, test)`` with class proportions kept.

    >>> train, test = fnn.data.stratified_split(fnn.data.iris(), 0.2, seed=0)
    >>> len(train), np.bincount(test.labels).tolist()
    (120, [10, 10, 10])
    """
    if not isinstance(data, Dataset):
        raise bad_argument("stratified_split", "data", "a fnn.Dataset", type(data).__name__)
    train, test = stratified_split_indices(data.labels, test_fraction, seed)
    return data.subset(train, f"{data.name}[train]"), data.subset(test, f"{data.name}[test]")
