"""Data sets by name, as a configuration or the command line names them, split into train and test parts.

``digits`` and ``iris`` are bundled; ``moons``, ``circles``, ``spirals``, ``blobs`` and ``sine`` are generated from
the seed; image folders in MNIST's IDX format and CSV files are read from disk.

>>> train, test = load_train_test("iris", seed=0)
>>> len(train), len(test)
(120, 30)
"""

import numpy as np

from ..errors import FnnInputError
from . import synthetic
from .bundled import digits, iris
from .transforms import stratified_split

__all__ = ["GENERATED", "load_source", "split_source", "load_train_test", "known_names"]

GENERATED = {
    "moons": lambda seed, dtype: synthetic.moons(1000, noise=0.2, seed=seed, dtype=dtype),
    "circles": lambda seed, dtype: synthetic.circles(1000, noise=0.05, seed=seed, dtype=dtype),
    "spirals": lambda seed, dtype: synthetic.spirals(1000, noise=0.05, seed=seed, dtype=dtype),
    "blobs": lambda seed, dtype: synthetic.blobs(1000, seed=seed, dtype=dtype),
    "sine": lambda seed, dtype: synthetic.noisy_sine(1000, noise=0.1, seed=seed, dtype=dtype),
}

_BUNDLED = {"digits": digits, "iris": iris}


def known_names():
    return sorted(_BUNDLED) + sorted(GENERATED) + ["fashion-mnist", "mnist[:DIR]", "idx:DIR", "csv:PATH"]


def load_source(name, dtype=np.float32):
    """What ``name`` reads from disk or the package, before any seeded split: a whole ``Dataset`` to be split,
    a fixed ``(train, test)`` pair (MNIST-style files), or None for generated data (made from the seed).

    A sweep loads each source once and sends it to every worker; :func:`split_source` does the per-run rest.
    """
    kind, _, argument = name.partition(":")
    kind = kind.strip().lower()
    if kind in _BUNDLED:
        return _BUNDLED[kind](dtype=dtype)
    if kind in GENERATED:
        return None
    if kind in ("mnist", "fashion-mnist", "idx"):
        from .mnist import load_mnist

        fashion = {"mnist": False, "fashion-mnist": True, "idx": None}[kind]  # idx: any four IDX files, either set
        return load_mnist(argument or None, dtype=dtype, fashion=fashion)
    if kind == "csv":
        from .csv import load_csv

        return load_csv(argument, dtype=dtype)
    raise FnnInputError(f"Unknown data set {name!r}. Known: {', '.join(known_names())}.")


def split_source(source, name, seed=0, test_fraction=0.2, dtype=np.float32):
    """``(train, test)`` from :func:`load_source`'s result: generated from ``seed``, split by class from ``seed``,
    or the fixed pair as it is."""
    if source is None:
        kind = name.partition(":")[0].strip().lower()
        return stratified_split(GENERATED[kind](seed, dtype), test_fraction, seed)
    if isinstance(source, tuple):
        return source
    return stratified_split(source, test_fraction, seed)


def load_train_test(name, seed=0, test_fraction=0.2, dtype=np.float32):
    """``(train, test)`` Datasets for ``name``; data without a fixed test part is split by class from ``seed``."""
    return split_source(load_source(name, dtype), name, seed, test_fraction, dtype)
