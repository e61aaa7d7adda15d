"""Data sets by name, as a configuration or the command line names them, split into train and test parts.

``digits`` and ``iris`` are bundled; ``moons``, ``circles``, ``spirals``, ``blobs`` and ``sine`` are generated from
the seed; image folders in MNIST's IDX format and CSV files are read from disk.

>>> train, test = load_train_test("iris", seed=0)
>>> len(train), len(test)
(120, 30)
"""

import csv
import io

import numpy as np

from fnn.data import synthetic
from fnn.data.bundled import digits, iris
from fnn.data.input_files import decompression_errors, maybe_gunzip, open_input
from fnn.data.transforms import stratified_split
from fnn.errors import FnnInputError

__all__ = ["GENERATED", "load_source", "split_source", "load_train_test", "known_names", "csv_header"]

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


def load_source(name, dtype=np.float32, label=None, drop=()):
    """What ``name`` reads from disk or the package, before any seeded split: a whole ``Dataset`` to be split,
    a fixed ``(train, test)`` pair (MNIST-style files), or None for generated data (made from the seed).
    ``label`` and ``drop`` name a CSV table's label column and the columns left out (see :func:`~fnn.data.load_csv`);
    other data has no columns to name.

    A sweep loads each source once and sends it to every worker; :func:`split_source` does the per-run rest.
    """
    kind, _, argument = name.partition(":")
    kind = kind.strip().lower()
    if kind != "csv" and (label is not None or drop):
        given = "label=" if label is not None else "drop="
        raise FnnInputError(f"{given} names a CSV table's columns; expected it only with csv:PATH data, not {name!r}.")
    if kind in _BUNDLED:
        return _BUNDLED[kind](dtype=dtype)
    if kind in GENERATED:
        return None
    if kind in ("mnist", "fashion-mnist", "idx"):
        from fnn.data.mnist import load_mnist

        fashion = {"mnist": False, "fashion-mnist": True, "idx": None}[kind]  # idx: any four IDX files, either set
        return load_mnist(argument or None, dtype=dtype, fashion=fashion)
    if kind == "csv":
        from fnn.data.csv import load_csv

        return load_csv(argument, label=label, dtype=dtype, drop=drop)
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


def load_train_test(name, seed=0, test_fraction=0.2, dtype=np.float32, label=None, drop=()):
    """``(train, test)`` Datasets for ``name``; data without a fixed test part is split by class from ``seed``.
    ``label`` and ``drop`` name a CSV table's columns, as for :func:`load_source`."""
    return split_source(load_source(name, dtype, label, drop), name, seed, test_fraction, dtype)


def csv_header(path):
    """The cells of a CSV file's first row (plain or gzip-compressed, UTF-8), stripped: its header's names when it
    has a header row. Only that row is read."""
    with open_input(path, "a CSV table (UTF-8, comma-separated)") as handle:
        stream, _ = maybe_gunzip(handle)
        with decompression_errors(path, "a CSV table"):
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            try:
                return [cell.strip() for cell in next(csv.reader(text, strict=True), [])]
            except csv.Error as error:
                raise FnnInputError(f"{path}, line 1: malformed CSV ({error}); expected comma-separated cells.") from None
