"""Pure transforms of data: scaling, standardising (fitted on the training part only), one-hot, splits.

>>> x = np.array([[0.0, 10.0], [2.0, 30.0]], np.float32)
>>> stats = fit_standardizer(x)
>>> standardize(x, stats).tolist()
[[-1.0, -1.0], [1.0, 1.0]]
>>> one_hot(np.array([0, 2]), 3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

import numpy as np
from attrs import frozen

from fnn.arrays import all_finite, first_non_finite, readonly
from fnn.data.dataset import Dataset
from fnn.errors import FnnInputError, bad_argument
from fnn.seeds import train_test_split_rng, validation_split_rng

SPLIT_STREAMS = {"test": train_test_split_rng, "validation": validation_split_rng}

__all__ = [
    "scale_unit",
    "Standardizer",
    "fit_standardizer",
    "standardize",
    "one_hot",
    "flatten_images",
    "stratified_split_indices",
    "stratified_split",
    "check_finite_features",
]


def scale_unit(x, maximum=255, dtype=np.float32):
    """Pixel values ``0..maximum`` to floats in ``[0, 1]`` (a new array of ``dtype``)."""
    dtype = np.dtype(dtype)
    return np.asarray(x, dtype=dtype) / dtype.type(maximum)


@frozen(hash=False)
class Standardizer:
    """Per-feature ``mean`` and ``scale`` fitted on training data; apply with :func:`standardize`."""

    mean: np.ndarray
    scale: np.ndarray


def fit_standardizer(x):
    """The per-column mean and standard deviation of ``x`` (columns with no spread get scale 1)."""
    x = np.asarray(x)
    mean = x.mean(axis=0, dtype=np.float64)
    std = x.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return Standardizer(readonly(mean.astype(x.dtype)), readonly(std.astype(x.dtype)))


def standardize(x, stats):
    """``(x - mean) / scale`` with statistics from :func:`fit_standardizer` (fitted on the training part)."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != stats.mean.shape[0]:
        raise bad_argument("standardize", "x", f"an array with {stats.mean.shape[0]} columns", x.shape)
    return (x - stats.mean) / stats.scale


def one_hot(labels, n_classes, dtype=np.float32):
    """Rows of zeros with a one at each label's column."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise bad_argument("one_hot", "labels", "a 1-D array of integer labels", labels.dtype)
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise bad_argument("one_hot", "labels", f"labels in 0..{n_classes - 1}", (labels.min(), labels.max()))
    return np.eye(n_classes, dtype=dtype)[labels]


def flatten_images(images):
    """``(n, h, w)`` images to ``(n, h * w)`` rows (a view when possible)."""
    images = np.asarray(images)
    return images.reshape(len(images), -1)


def stratified_split_indices(labels, test_fraction, seed, part="test"):
    """``(train_index, test_index)``: each class split in the same proportion, drawn from ``seed``.

    Every class with at least two samples keeps one on each side; the indices come back sorted. ``part`` names
    the stream of :mod:`fnn.seeds` the draw comes from: ``"test"`` for a train/test split, ``"validation"`` for
    the part of the training data held out for validation, so the two never share random numbers.

    >>> stratified_split_indices(np.array([0, 0, 0, 1, 1, 1]), 1 / 3, seed=0)[1].tolist()
    [2, 4]
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, float) or not 0 < test_fraction < 1:
        raise bad_argument("stratified_split", "test_fraction", "a float strictly between 0 and 1", test_fraction)
    labels = np.asarray(labels)
    keys = labels if labels.ndim == 1 else labels.argmax(axis=1)
    if keys.dtype.kind == "f":
        # Regression targets: stratify by quantile bins so both parts span the range.
        edges = np.quantile(keys, np.linspace(0, 1, 11)[1:-1])
        keys = np.searchsorted(edges, keys)
    if part not in SPLIT_STREAMS:
        raise bad_argument("stratified_split_indices", "part", f"one of {sorted(SPLIT_STREAMS)}", part)
    rng = SPLIT_STREAMS[part](seed)
    test = []
    for value in np.unique(keys):
        members = np.flatnonzero(keys == value)
        members = members[rng.permutation(len(members))]
        count = int(round(len(members) * test_fraction))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        test.append(members[:count])
    test = np.sort(np.concatenate(test)) if test else np.array([], dtype=np.int64)
    train = np.setdiff1d(np.arange(len(keys)), test)
    return train, test


def stratified_split(data, test_fraction=0.2, seed=0):
    """Split a :class:`Dataset` into ``(train, test)`` with class proportions kept."""
    if not isinstance(data, Dataset):
        raise bad_argument("stratified_split", "data", "a fnn.Dataset", type(data).__name__)
    train, test = stratified_split_indices(data.labels, test_fraction, seed)
    return data.subset(train, f"{data.name}[train]"), data.subset(test, f"{data.name}[test]")


def check_finite_features(x, source):
    """Refuse NaN or infinite features, naming where they came from and the first bad position."""
    if not all_finite(x):
        row, column = first_non_finite(x)
        raise FnnInputError(f"{source}: features must be finite; found {x[row, column]} at row {row}, column {column}.")
    return x
