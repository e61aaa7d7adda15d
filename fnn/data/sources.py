"""Data sets by name, as a configuration or the command line names them, split into train and test parts.

:data:`DATA_KINDS` is the one list of them: ``digits`` and ``iris`` are bundled; ``moons``, ``circles``,
``spirals``, ``blobs`` and ``sine`` are generated from the seed; image folders in MNIST's IDX format and CSV files
are read from disk.

>>> train, test = load_train_test("iris", seed=0)
>>> len(train), len(test)
(120, 30)
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Union

import numpy as np
from attrs import frozen
from numpy.typing import DTypeLike

from fnn.data import synthetic
from fnn.data.bundled import digits, iris
from fnn.data.dataset import Dataset
from fnn.data.input_files import decompression_errors, maybe_gunzip, open_input
from fnn.data.transforms import stratified_split
from fnn.errors import FnnInputError, closest_name


@frozen
class DataKind:
    """One kind of data set a configuration may name: ``origin`` is ``"bundled"`` (``make(dtype=...)`` reads it),
    ``"generated"`` (``make(seed, dtype)`` draws it) or ``"files"`` (read from disk); ``argument`` is what may follow
    the name (``"[:DIR]"`` optional, ``":DIR"`` or ``":PATH"`` required, ``""`` nothing).

    >>> DATA_KINDS["csv"].usage, DATA_KINDS["mnist"].usage, DATA_KINDS["iris"].origin
    ('csv:PATH', 'mnist[:DIR]', 'bundled')
    """

    name: str
    origin: str
    argument: str = ""
    make: Callable[..., Any] | None = None

    @property
    def usage(self) -> str:
        """How a configuration writes it: the name with its argument (``idx:DIR``)."""
        return self.name + self.argument

    @property
    def needs_argument(self) -> bool:
        return self.argument.startswith(":")


DATA_KINDS: Mapping[str, DataKind] = MappingProxyType({kind.name: kind for kind in (
    DataKind("digits", "bundled", make=digits),
    DataKind("iris", "bundled", make=iris),
    DataKind("moons", "generated", make=lambda seed, dtype: synthetic.moons(1000, noise=0.2, seed=seed, dtype=dtype)),
    DataKind("circles", "generated", make=lambda seed, dtype: synthetic.circles(1000, noise=0.05, seed=seed, dtype=dtype)),
    DataKind("spirals", "generated", make=lambda seed, dtype: synthetic.spirals(1000, noise=0.05, seed=seed, dtype=dtype)),
    DataKind("blobs", "generated", make=lambda seed, dtype: synthetic.blobs(1000, seed=seed, dtype=dtype)),
    DataKind("sine", "generated", make=lambda seed, dtype: synthetic.noisy_sine(1000, noise=0.1, seed=seed, dtype=dtype)),
    DataKind("fashion-mnist", "files", "[:DIR]"),
    DataKind("mnist", "files", "[:DIR]"),
    DataKind("idx", "files", ":DIR"),
    DataKind("csv", "files", ":PATH"),
)})
"""Every kind of data set by name, in the order help and messages list them (read-only)."""


def data_kind(name: str) -> DataKind | None:
    """The :class:`DataKind` of a data set's name (``csv:PATH`` is of kind csv; any case), or None if unknown.

    >>> data_kind("CSV:train.csv").name, data_kind("nope")
    ('csv', None)
    """
    return DATA_KINDS.get(str(name).partition(":")[0].strip().lower())


def known_names() -> list[str]:
    """The data set names a configuration may give, as it writes them.

    >>> known_names()[-2:]
    ['idx:DIR', 'csv:PATH']
    """
    return [kind.usage for kind in DATA_KINDS.values()]


def resolve_data(name: str) -> str:
    """The data set ``name`` by the location it reads, as a record keeps it: a file kind's path or folder made
    absolute (a user's ``~`` expanded, a relative path taken from the current folder, a bare ``mnist`` or
    ``fashion-mnist`` the folder it is found in); bundled and generated sets keep their names.

    >>> resolve_data("csv:~/x.csv") == "csv:" + os.path.join(os.path.expanduser("~"), "x.csv"), resolve_data("IRIS")
    (True, 'IRIS')
    """
    kind = data_kind(name)
    if kind is None or kind.origin != "files":
        return name
    argument = name.partition(":")[2].strip()
    if not argument:
        from fnn.data.mnist import find_mnist_folder

        argument = find_mnist_folder(None, fashion=kind.name == "fashion-mnist")
    return f"{kind.name}:{os.path.abspath(os.path.expanduser(argument))}"


def data_files(name: str) -> tuple[str, ...]:
    """The files a file kind of data set reads (after :func:`resolve_data`), those that exist; () for bundled and
    generated sets.

    >>> data_files("moons"), data_files("csv:/no/such.csv")
    ((), ())
    """
    kind = data_kind(name)
    if kind is None or kind.origin != "files":
        return ()
    place = resolve_data(name).partition(":")[2]
    if kind.name == "csv":
        return (place,) if os.path.isfile(place) else ()
    from fnn.data.mnist import MNIST_FILES, _file_in

    return tuple(path for path in (_file_in(place, stem) for stem in MNIST_FILES.values()) if path is not None)


LoadedSource = Union[Dataset, tuple[Dataset, Dataset], None]
"""What :func:`load_source` returns: a whole set to split, a fixed ``(train, test)`` pair, or None (generated)."""


def load_source(name: str, dtype: DTypeLike = np.float32, label: str | int | None = None, drop: Sequence[str] = ()) -> LoadedSource:
    """What ``name`` reads from disk or the package, before any seeded split: a whole ``Dataset`` to be split,
    a fixed ``(train, test)`` pair (MNIST-style files), or None for generated data (made from the seed).
    ``label`` and ``drop`` name a CSV table's label column and the columns left out (see :func:`~fnn.data.load_csv`);
    other data has no columns to name.

    A sweep loads each source once and sends it to every worker; :func:`split_source` does the per-run rest.
    """
    kind = data_kind(name)
    if (kind is None or kind.name != "csv") and (label is not None or drop):
        given = "label=" if label is not None else "drop="
        raise FnnInputError(f"{given} names a CSV table's columns; expected it only with csv:PATH data, not {name!r}.")
    if kind is None:
        close = closest_name(str(name), [known.split("[")[0].split(":")[0] for known in known_names()])
        hint = f" Did you mean {close!r}?" if close else ""
        raise FnnInputError(f"Unknown data set {name!r}.{hint} Known: {', '.join(known_names())}.")
    if kind.origin == "bundled" and kind.make is not None:
        return kind.make(dtype=dtype)
    if kind.origin == "generated":
        return None
    argument = resolve_data(name).partition(":")[2]
    if kind.name == "csv":
        from fnn.data.csv import load_csv

        return load_csv(argument, label=label, dtype=dtype, drop=drop)
    from fnn.data.mnist import load_mnist

    fashion = {"mnist": False, "fashion-mnist": True, "idx": None}[kind.name]  # idx: any four IDX files, either set
    return load_mnist(argument, dtype=dtype, fashion=fashion)


def data_error(where: str, name: str, error: FnnInputError | OSError) -> str:
    """The message of ``error``, raised loading the data ``name``, told by a caller that names the data as
    ``where`` (``--data csv:PATH``): the loader's messages begin with the path they read, which ``where`` names
    already, so it is said once.

    >>> data_error("--data csv:/t/x.csv", "csv:/t/x.csv", FnnInputError("/t/x.csv, line 3: expected 2 cells; found 1."))
    '--data csv:/t/x.csv, line 3: expected 2 cells; found 1.'
    >>> data_error("--data csv:/t/x.csv", "csv:/t/x.csv", FileNotFoundError(2, "No such file or directory", "/t/x.csv"))
    '--data csv:/t/x.csv: No such file or directory'
    """
    try:
        path = resolve_data(name).partition(":")[2]
    except (FnnInputError, OSError):
        path = ""
    if isinstance(error, OSError):
        named = f"{error.filename}: " if error.filename is not None and os.fspath(error.filename) != path else ""
        return f"{where}: {named}{error.strerror or error}"
    message = str(error)
    if path and message.startswith(path) and message[len(path) : len(path) + 1] in (":", ","):
        return f"{where}{message[len(path):]}"
    return f"{where}: {message}"


def split_source(source: LoadedSource, name: str, seed: int = 0, test_fraction: float = 0.2,
                 dtype: DTypeLike = np.float32) -> tuple[Dataset, Dataset]:
    """``(train, test)`` from :func:`load_source`'s result: generated from ``seed``, split by class from ``seed``,
    or the fixed pair as it is."""
    if source is None:
        kind = data_kind(name)
        if kind is None or kind.make is None or kind.origin != "generated":
            raise FnnInputError(f"Data set {name!r} is not generated from a seed; expected its loaded source, got None.")
        return stratified_split(kind.make(seed, dtype), test_fraction, seed)
    if isinstance(source, tuple):
        return source
    return stratified_split(source, test_fraction, seed)


def load_train_test(name: str, seed: int = 0, test_fraction: float = 0.2, dtype: DTypeLike = np.float32,
                    label: str | int | None = None, drop: Sequence[str] = ()) -> tuple[Dataset, Dataset]:
    """``(train, test)`` Datasets for ``name``; data without a fixed test part is split by class from ``seed``.
    ``label`` and ``drop`` name a CSV table's columns, as for :func:`load_source`.

    >>> train, test = load_train_test("moons", seed=3, test_fraction=0.25)
    >>> len(train), len(test), train.features.dtype
    (750, 250, dtype('float32'))
    """
    return split_source(load_source(name, dtype, label, drop), name, seed, test_fraction, dtype)


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    """The lines of ``text``, each read with a bound one past the longest line a table may have."""
    from fnn.data.csv import MAX_LINE_CHARS

    while line := text.readline(MAX_LINE_CHARS + 1):
        yield line


def csv_header(path: str) -> list[str]:
    """The cells of a CSV file's first row (plain or gzip-compressed, UTF-8), stripped: its header's names when it
    has a header row. Only that row is read."""
    with open_input(path, "a CSV table (UTF-8, comma-separated)") as handle:
        stream, _ = maybe_gunzip(handle)
        with decompression_errors(path, "a CSV table"):
            from fnn.data.csv import bounded_lines, not_utf8

            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            try:
                return [cell.strip() for cell in next(csv.reader(bounded_lines(_lines(text), path), strict=True), [])]
            except UnicodeDecodeError as error:
                raise not_utf8(path, error) from None
            except csv.Error as error:
                raise FnnInputError(f"{path}, line 1: malformed CSV ({error}); expected comma-separated cells.") from None
