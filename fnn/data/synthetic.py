"""Generated data sets, each a pure function of its size, noise and seed.

>>> d = moons(100, noise=0.2, seed=0)
>>> d, np.bincount(d.labels).tolist()
(Dataset('moons', features=float32[100,2], labels=int64[100], classes=('0', '1')), [50, 50])
"""

import numpy as np

from fnn.data.dataset import Dataset
from fnn.errors import bad_argument
from fnn.seeds import data_rng

__all__ = ["moons", "circles", "spirals", "blobs", "noisy_sine"]


def _check(function, n, noise, minimum=2):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise bad_argument(function, "n", f"an int of at least {minimum}", n)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not np.isfinite(noise) or noise < 0:
        raise bad_argument(function, "noise", "a finite non-negative number", noise)


def _split_counts(n, parts):
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def _finish(points, labels, rng, noise, name, class_names, dtype):
    points = points + noise * rng.standard_normal(points.shape)
    order = rng.permutation(len(points))
    return Dataset(points[order].astype(dtype), labels[order].astype(np.int64), class_names, name)


def moons(n=1000, noise=0.2, seed=0, dtype=np.float32):
    """Two interleaving half circles (two classes), with Gaussian ``noise``."""
    _check("data.moons", n, noise)
    rng = data_rng(seed)
    n_outer, n_inner = _split_counts(n, 2)
    outer = np.linspace(0, np.pi, n_outer)
    inner = np.linspace(0, np.pi, n_inner)
    points = np.concatenate(
        [np.column_stack([np.cos(outer), np.sin(outer)]), np.column_stack([1 - np.cos(inner), 0.5 - np.sin(inner)])]
    )
    labels = np.repeat([0, 1], [n_outer, n_inner])
    return _finish(points, labels, rng, noise, "moons", ("0", "1"), dtype)


def circles(n=1000, noise=0.05, factor=0.5, seed=0, dtype=np.float32):
    """A small circle (class 1) inside a large one (class 0); ``factor`` is the ratio of their radii."""
    _check("data.circles", n, noise)
    rng = data_rng(seed)
    n_outer, n_inner = _split_counts(n, 2)
    angles = [np.linspace(0, 2 * np.pi, k, endpoint=False) for k in (n_outer, n_inner)]
    points = np.concatenate(
        [np.column_stack([np.cos(angles[0]), np.sin(angles[0])]), factor * np.column_stack([np.cos(angles[1]), np.sin(angles[1])])]
    )
    labels = np.repeat([0, 1], [n_outer, n_inner])
    return _finish(points, labels, rng, noise, "circles", ("outer", "inner"), dtype)


def spirals(n=1000, noise=0.1, turns=1.5, seed=0, dtype=np.float32):
    """Two interleaved arms of a spiral, one class each."""
    _check("data.spirals", n, noise)
    rng = data_rng(seed)
    counts = _split_counts(n, 2)
    arms = []
    for arm, count in enumerate(counts):
        t = np.linspace(0.05, 1, count)
        angle = 2 * np.pi * turns * t + arm * np.pi
        arms.append(np.column_stack([t * np.cos(angle), t * np.sin(angle)]))
    return _finish(np.concatenate(arms), np.repeat([0, 1], counts), rng, noise, "spirals", ("0", "1"), dtype)


def blobs(n=1000, centers=3, n_features=2, spread=1.0, seed=0, dtype=np.float32):
    """Gaussian blobs of standard deviation ``spread`` around ``centers`` random centres in a 10-wide box."""
    _check("data.blobs", n, spread, minimum=centers)
    rng = data_rng(seed)
    middles = rng.uniform(-5, 5, (centers, n_features))
    labels = np.repeat(np.arange(centers), _split_counts(n, centers))
    names = tuple(str(i) for i in range(centers))
    return _finish(middles[labels], labels, rng, spread, "blobs", names, dtype)


def noisy_sine(n=500, noise=0.1, seed=0, dtype=np.float32):
    """Regression: ``y = sin(x) + noise`` for ``x`` uniform in ``[-pi, pi]``; targets are an (n, 1) column."""
    _check("data.noisy_sine", n, noise)
    rng = data_rng(seed)
    x = rng.uniform(-np.pi, np.pi, (n, 1))
    y = np.sin(x) + noise * rng.standard_normal((n, 1))
    return Dataset(x.astype(dtype), y.astype(dtype), (), "noisy_sine")
