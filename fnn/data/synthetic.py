"""Generated data sets, each a pure function of its size, noise and seed.

>>> d = moons(100, noise=0.2, seed=0)
>>> d, np.bincount(d.labels).tolist()
(Dataset('moons', features=float32[100,2], labels=int64[100], classes=('0', '1')), [50, 50])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from fnn.data.dataset import Dataset
from fnn.seeds import data_rng
from fnn.values import from_numpy, number_check, read_argument


def _read(function: str, n: Any, noise: Any, seed: Any, minimum: int = 2, noise_name: str = "noise") -> tuple[int, float, int]:
    """``n`` (at least ``minimum``), the noise (>= 0) and the seed read as every door reads a number
    (:mod:`fnn.values`)."""
    return (read_argument(function, "n", from_numpy(number_check(low=minimum, whole=True)), n),
            read_argument(function, noise_name, from_numpy(number_check(low=0)), noise),
            read_argument(function, "seed", from_numpy(number_check(low=0, whole=True)), seed))


def _split_counts(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def _finish(
    points: np.ndarray, labels: np.ndarray, rng: np.random.Generator, noise: float, name: str,
    class_names: tuple[str, ...], dtype: DTypeLike,
) -> Dataset:
    points = points + noise * rng.standard_normal(points.shape)
    order = rng.permutation(len(points))
    return Dataset(points[order].astype(dtype), labels[order].astype(np.int64), class_names, name)


def moons(n: int = 1000, noise: float = 0.2, seed: int = 0, dtype: DTypeLike = np.float32) -> Dataset:
    """Two interleaving half circles (two classes), with Gaussian ``noise``.

    >>> fnn.data.moons(4, noise=0.0).features.round(2).tolist()
    [[1.0, 0.0], [0.0, 0.5], [-1.0, 0.0], [2.0, 0.5]]
    """
    n, noise, seed = _read("data.moons", n, noise, seed)
    rng = data_rng(seed)
    n_outer, n_inner = _split_counts(n, 2)
    outer = np.linspace(0, np.pi, n_outer)
    inner = np.linspace(0, np.pi, n_inner)
    points = np.concatenate(
        [np.column_stack([np.cos(outer), np.sin(outer)]), np.column_stack([1 - np.cos(inner), 0.5 - np.sin(inner)])]
    )
    labels = np.repeat([0, 1], [n_outer, n_inner])
    return _finish(points, labels, rng, noise, "moons", ("0", "1"), dtype)


def circles(
    n: int = 1000, noise: float = 0.05, factor: float = 0.5, seed: int = 0, dtype: DTypeLike = np.float32
) -> Dataset:
    """A small circle (class 1) inside a large one (class 0); ``factor`` is the ratio of their radii.

    >>> d = fnn.data.circles(8, noise=0.0, factor=0.25)
    >>> np.hypot(*d.features.T).round(2).tolist(), d.labels.tolist()
    ([1.0, 0.25, 0.25, 0.25, 1.0, 1.0, 1.0, 0.25], [0, 1, 1, 1, 0, 0, 0, 1])
    """
    n, noise, seed = _read("data.circles", n, noise, seed)
    factor = read_argument("data.circles", "factor", from_numpy(number_check(low=0)), factor)
    rng = data_rng(seed)
    n_outer, n_inner = _split_counts(n, 2)
    angles = [np.linspace(0, 2 * np.pi, k, endpoint=False) for k in (n_outer, n_inner)]
    points = np.concatenate(
        [np.column_stack([np.cos(angles[0]), np.sin(angles[0])]), factor * np.column_stack([np.cos(angles[1]), np.sin(angles[1])])]
    )
    labels = np.repeat([0, 1], [n_outer, n_inner])
    return _finish(points, labels, rng, noise, "circles", ("outer", "inner"), dtype)


def spirals(
    n: int = 1000, noise: float = 0.1, turns: float = 1.5, seed: int = 0, dtype: DTypeLike = np.float32
) -> Dataset:
    """Two interleaved arms of a spiral, one class each.

    >>> d = fnn.data.spirals(200, seed=1)
    >>> d, d.class_names
    (Dataset('spirals', features=float32[200,2], labels=int64[200], classes=('0', '1')), ('0', '1'))
    """
    n, noise, seed = _read("data.spirals", n, noise, seed)
    turns = read_argument("data.spirals", "turns", from_numpy(number_check(low=0)), turns)
    rng = data_rng(seed)
    counts = _split_counts(n, 2)
    arms = []
    for arm, count in enumerate(counts):
        t = np.linspace(0.05, 1, count)
        angle = 2 * np.pi * turns * t + arm * np.pi
        arms.append(np.column_stack([t * np.cos(angle), t * np.sin(angle)]))
    return _finish(np.concatenate(arms), np.repeat([0, 1], counts), rng, noise, "spirals", ("0", "1"), dtype)


def blobs(
    n: int = 1000, centers: int = 3, n_features: int = 2, spread: float = 1.0, seed: int = 0,
    dtype: DTypeLike = np.float32,
) -> Dataset:
    """Gaussian blobs of standard deviation ``spread`` around ``centers`` random centres in a 10-wide box.

    >>> d = fnn.data.blobs(90, centers=3, n_features=5)
    >>> d.features.shape, np.bincount(d.labels).tolist()
    ((90, 5), [30, 30, 30])
    """
    centers = read_argument("data.blobs", "centers", from_numpy(number_check(low=1, whole=True)), centers)
    n_features = read_argument("data.blobs", "n_features", from_numpy(number_check(low=1, whole=True)), n_features)
    n, spread, seed = _read("data.blobs", n, spread, seed, minimum=centers, noise_name="spread")
    rng = data_rng(seed)
    middles = rng.uniform(-5, 5, (centers, n_features))
    labels = np.repeat(np.arange(centers), _split_counts(n, centers))
    names = tuple(str(i) for i in range(centers))
    return _finish(middles[labels], labels, rng, spread, "blobs", names, dtype)


def noisy_sine(n: int = 500, noise: float = 0.1, seed: int = 0, dtype: DTypeLike = np.float32) -> Dataset:
    """Regression: ``y = sin(x) + noise`` for ``x`` uniform in ``[-pi, pi]``; targets are an (n, 1) column.

    >>> d = fnn.data.noisy_sine(3, noise=0.0)
    >>> bool(np.allclose(np.sin(d.features), d.labels)), d.labels.shape
    (True, (3, 1))
    """
    n, noise, seed = _read("data.noisy_sine", n, noise, seed)
    rng = data_rng(seed)
    x = rng.uniform(-np.pi, np.pi, (n, 1))
    y = np.sin(x) + noise * rng.standard_normal((n, 1))
    return Dataset(x.astype(dtype), y.astype(dtype), (), "noisy_sine")
