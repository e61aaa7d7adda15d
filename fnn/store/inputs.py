"""Raw inputs for a trained model, read as its network takes them: an array (columns in training order), a table with
named columns (a mapping of name -> values, a pandas DataFrame, a CSV file read by its header) or a ``.npy`` or
IDX file, as ``fnn predict`` and ``fnn evaluate`` (and :meth:`fnn.store.Model.predict`) take them.

>>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
>>> model = fnn.store.Model(fnn.TrainState(params, None), {"label": "y"}, columns=("w", "h"))
>>> read_inputs(model, {"h": [6.0], "y": ["cat"], "w": [3.0]}, None, "x", None, None)
(array([[3., 6.]]), array(['cat'], dtype='<U3'))
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from fnn.arrays import describe
from fnn.core.params import Params
from fnn.data.csv import is_number, label_column, read_table
from fnn.data.idx import read_idx
from fnn.data.input_files import open_input
from fnn.data.sources import csv_header
from fnn.errors import FnnInputError
from fnn.limits import bytes_text, require_memory

_TABLES = (".csv", ".csv.gz")
_NOT_IDX = (".npz", ".json", ".txt", ".tsv", ".xlsx", ".xls", ".parquet", ".pkl", ".pickle")
"""File names read as no input format: without this their bytes would be read as IDX and refused as a bad IDX file."""
Table = Mapping[str, Any]
"""A table with named columns: column name -> values (a pandas DataFrame is read the same way)."""


class ColumnsOf(Protocol):
    """What reading inputs needs of a model (a :class:`fnn.store.Model`): its network, feature columns by name (empty
    when it trained on none), label column and the columns training left out."""

    @property
    def params(self) -> Params: ...

    @property
    def columns(self) -> tuple[str, ...]: ...

    @property
    def label(self) -> str | None: ...

    @property
    def drop(self) -> tuple[str, ...]: ...


def read_inputs(model: ColumnsOf, raw: Any, label: str | None, source: str, scale: float | None, kind: str | None) -> tuple[np.ndarray, Any]:
    """``(features, label values or None)`` of ``raw`` for ``model``: float64 rows in training column order (see
    the module docstring for what ``raw`` may be), a table's columns matched by name (its label column, ``label``
    or the model's, and dropped columns ignored), divided by ``scale`` (default 255 for an IDX file, else 1). A
    file's format is ``kind`` (``"csv"``, ``"npy"`` or ``"idx"``), by default what its name ends in (IDX for any
    other). ``source`` names the input in errors (:func:`source_name`)."""
    check_scale(scale, "scale")
    divisor, values = 1.0, None
    if isinstance(raw, (str, os.PathLike)):
        path = os.fspath(raw)
        if os.path.isdir(path):
            raise FnnInputError(f"{source}: is a folder; expected a .csv, .npy or IDX file.")
        other = next((end for end in _NOT_IDX if path.lower().endswith(end)), None)
        if kind is None and other is not None:
            raise FnnInputError(f"{source}: is a {other} file; expected a .csv, .npy or IDX file of inputs (save an array with np.save as .npy).")
        kind = kind or ("csv" if path.lower().endswith(_TABLES) else "npy" if path.lower().endswith(".npy") else "idx")
        if label is not None and kind != "csv":
            raise FnnInputError(f"label {label!r}: names a column of a CSV table; {path} is not one.")
        if kind == "csv":
            features, values = _csv(model, path, label, source)
        elif kind == "npy":
            features = _npy(path, source)
        else:
            images = read_idx(path)  # memory-mapped: nothing read yet
            require_memory(8 * images.size, f"{source} ({images.size:,} values as float64)")
            features, divisor = images.astype(np.float64), 255.0
    else:
        table = _named_columns(raw)
        if table is not None:
            features, values = _table(model, table, label, source)
        else:
            features = _numbers(raw, source)
    n_inputs = model.params.spec.sizes[0]
    if features.ndim == 1 and len(features) in (0, n_inputs):
        features = features.reshape(-1, n_inputs)  # one sample, or no rows (an empty list)
    features = features.reshape(len(features), -1) if features.ndim > 2 else features
    check_width(features.shape, n_inputs, source)
    features = features / (scale if scale is not None else divisor)
    return features, values


def check_width(shape: tuple[int, ...], n_inputs: int, source: str) -> None:
    """Refuse features of ``shape`` that are not rows of ``n_inputs`` values, naming them as ``source``: the one
    width check of every door.

    >>> check_width((2,), 3, "--values")
    Traceback (most recent call last):
    fnn.errors.FnnInputError: --values: expected rows of 3 inputs (the model's); got 2 values.
    """
    if len(shape) != 2 or shape[1] != n_inputs:
        got = f"{shape[0]} values" if len(shape) == 1 else f"an array of shape {shape}"
        raise FnnInputError(f"{source}: expected rows of {n_inputs} inputs (the model's); got {got}.")


def check_scale(scale: float | None, name: str) -> None:
    """Refuse a ``scale`` (the divisor of raw inputs) that is not a positive number, naming it as ``name``.

    >>> check_scale(0.0, "--scale")
    Traceback (most recent call last):
    fnn.errors.FnnInputError: --scale: expected a positive number; got 0.0.
    """
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise FnnInputError(f"{name}: expected a positive number; got {scale}.")


def _names(model: ColumnsOf, names: Sequence[str], label: str | None, source: str) -> str | None:
    """The label column among ``names`` (or None), after refusing names that are missing, unknown or repeated."""
    label = label if label is not None else model.label
    if label is not None and label not in names and label != model.label:
        raise FnnInputError(f"label {label!r}: {source} has no column named {label!r}; its columns are {list(names)}.")
    repeated = sorted({name for name in names if list(names).count(name) > 1})
    ignored = {*model.drop, *([label] if label is not None else [])}
    unknown = [name for name in names if name not in model.columns and name not in ignored]
    missing = [name for name in model.columns if name not in names]
    problems = [f"{what} {_listed(names)}" for what, names in (("repeats the column(s)", repeated),
                ("has no column(s)", missing), ("has unknown column(s)", unknown)) if names]
    if problems:
        problem = " and ".join(problems)
        ignoring = f"; its label {label!r} and dropped columns are ignored" if label is not None else ""
        raise FnnInputError(f"{source}: {problem}; expected the model's columns {list(model.columns)} by name, in any order{ignoring}.")
    return label if label in names else None


def _table(model: ColumnsOf, table: Table, label: str | None, source: str) -> tuple[np.ndarray, Any]:
    names = list(table)
    if not model.columns:
        label = label if label is not None else model.label
        if label is None:
            found = label_column(names, source=source, required=False)
            label = None if found is None else names[found]
        keep = [name for name in names if name != label and name not in model.drop]
        columns = [np.asarray(table[name]) for name in keep]
    else:
        label = _names(model, names, label, source)
        keep, columns = list(model.columns), [np.asarray(table[name]) for name in model.columns]
    for name, column in zip(keep, columns):  # numbers, as an array's are: text is read from a CSV file, not here
        if column.dtype.kind not in "biuf" or column.ndim > 1:
            got = f"{column.dtype} values" if column.ndim <= 1 else f"an array of shape {column.shape}"
            raise FnnInputError(f"{source}: column {name!r}: expected numbers, one per row; got {got}.")
    lengths = {name: column.size for name, column in zip(keep, columns)}
    if len(set(lengths.values())) > 1:
        raise FnnInputError(f"{source}: its columns differ in length ({', '.join(f'{n!r}: {k}' for n, k in lengths.items())}); expected one value per row in each.")
    features = np.column_stack([column.astype(np.float64) for column in columns]) if columns else np.empty((0, 0))
    return features, (None if label is None or label not in table else np.asarray(table[label]))


def _csv(model: ColumnsOf, path: str, label: str | None, source: str) -> tuple[np.ndarray, Any]:
    """A CSV table's feature columns: by name when the model knows its columns and the table has a header row,
    else as training chose them (the label column, ``label``, the model's or one named as in LABEL_NAMES, and
    the dropped columns left out)."""
    header = csv_header(path)
    named = bool(header) and not any(is_number(cell) for cell in header)
    if model.columns and named:
        label = _names(model, header, label, path)
        drop = [name for name in header if name not in model.columns and name != label]
        names, features, cells, _ = read_table(path, label, drop=drop)
        kept = [name for name in names if name in model.columns]
        return features[:, [kept.index(name) for name in model.columns]], cells
    if label is not None and label not in header:
        raise FnnInputError(f"label {label!r}: {path} has no column named {label!r}; expected one of its header's names {header}.")
    label = label if label is not None else (model.label if model.label in header else None)
    drop = [column for column in model.drop if column in header]
    n_inputs = model.params.spec.sizes[0]
    # A table exactly as wide as the model's inputs is all features (a moons model given columns x,y); a wider
    # one has its label column found by the loader's own name rule, as training applied it.
    recognise = label is None and model.label is None and len(header) - len(drop) != n_inputs
    header, features, cells, _ = read_table(path, label, drop=drop, recognise_label=recognise)
    if features.shape[1] != n_inputs:
        left_out = [*([label] if label is not None else []), *drop]
        if recognise and cells is not None:
            left_out.append(header[label_column(header, source=path)])
        without = f" after leaving out {_listed(left_out)}" if left_out else ""
        raise FnnInputError(
            f"{source}: {len(header)} columns give {features.shape[1]} inputs{without}, but the model takes "
            f"{n_inputs} inputs; its columns are {header} (name the label column with --label COLUMN)."
        )
    return features, cells


def source_name(raw: Any, source: str) -> str:
    """How messages name an input: ``source``, or a file's path when ``source`` is the default ``"x"``.

    >>> source_name("data/new.csv", "x"), source_name([[1.0]], "x")
    ('data/new.csv', 'x')
    """
    return os.fspath(raw) if source == "x" and isinstance(raw, (str, os.PathLike)) else source


def _listed(names: Sequence[str]) -> str:
    return ", ".join(map(repr, names))


def _named_columns(raw: Any) -> Table | None:
    """``raw`` as a mapping of column name -> values if it is a table with named columns (a mapping, or a pandas
    DataFrame whose column names are all text, as scikit-learn reads feature names), else None."""
    if isinstance(raw, Mapping):
        return {str(name): values for name, values in raw.items()}
    if hasattr(raw, "columns") and hasattr(raw, "to_numpy") and not isinstance(raw, np.ndarray):
        if not all(isinstance(name, str) for name in raw.columns):
            return None  # numbered columns (a frame made from an array) are read in order, as the array
        return {name: raw[name].to_numpy() for name in raw.columns}
    return None


def _numbers(raw: Any, source: str) -> np.ndarray:
    try:
        array = np.asarray(raw)
    except ValueError as error:
        raise FnnInputError(f"{source}: expected rows of numbers; got {type(raw).__name__} ({error}).") from None
    if array.dtype.kind not in "biuf" or array.ndim == 0:
        raise FnnInputError(f"{source}: expected rows of numbers; got {describe(raw)}.")
    return array.astype(np.float64)


def _npy(path: str, source: str) -> np.ndarray:
    """A ``.npy`` file's numeric array, its header's size checked against the file and memory before it is read."""
    with open_input(path, "a .npy array") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(handle)
            held = os.fstat(handle.fileno()).st_size - handle.tell()
            if dtype.kind not in "biuf" or not shape:
                raise FnnInputError(f"{source}: expected a numeric array of samples in rows; got {dtype} {shape}.")
            declared = math.prod(shape) * dtype.itemsize
            if declared != held:
                raise FnnInputError(f"{source}: its header declares {dtype} {shape} ({bytes_text(declared)}), but the file holds {bytes_text(held)} of data.")
            require_memory(declared + 8 * math.prod(shape), source)  # the array and its float64 copy
            handle.seek(0)
            return np.lib.format.read_array(handle, allow_pickle=False).astype(np.float64)
        except (OSError, ValueError) as error:
            if isinstance(error, FnnInputError):
                raise
            raise FnnInputError(f"{source}: not a readable .npy file ({error}).") from None
