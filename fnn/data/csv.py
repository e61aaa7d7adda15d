"""CSV tables: the Kaggle MNIST layout and general tables with a label column chosen by name or index.

A header row is recognised when its cells are not all numbers. Labels that are text become class indices with the
names kept (sorted); whole-number labels are classes ``0..max``; other numbers make a regression target. Problems
are reported with the file, line and column, never as a bare parser traceback.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
>>> _ = open(path, "w").write("a,b,kind\\n1,2,cat\\n3,4,dog\\n5,6,cat\\n")
>>> d = load_csv(path, label="kind")
>>> d.class_names, d.labels.tolist(), d.features.tolist()
(('cat', 'dog'), [0, 1, 0], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
"""

import csv as _csv
import gzip
import io
import os
import warnings

import numpy as np

from ..errors import FnnInputError
from .dataset import Dataset
from .transforms import check_finite_features

__all__ = ["read_table", "load_csv", "load_kaggle_mnist_csv", "LABEL_NAMES"]

LABEL_NAMES = ("label", "labels", "class", "target", "y", "species")


def _open_text(path):
    if os.fspath(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _is_header(row):
    # A header names columns: none of its cells is a number (a data row has at most a text label).
    return not any(_is_number(cell) for cell in row)


def _first_row(path):
    try:
        with _open_text(path) as handle:
            first = next(_csv.reader(handle), None)
    except FileNotFoundError:
        raise FnnInputError(f"{path}: no such file.") from None
    except (UnicodeDecodeError, _csv.Error, EOFError, OSError) as error:
        raise FnnInputError(f"{path}: cannot be read as CSV text ({error}).") from None
    if not first:
        raise FnnInputError(f"{path}: the file is empty.")
    return first


def read_table(path, label_column=None):
    """``(header, features, labels_text, first_data_line)``: the numeric columns as float64 and the label column's
    cells as strings (``None`` when ``label_column`` is None). ``label_column`` is an index into the header.

    Well-formed files are parsed by numpy's C reader; when it objects, a cell-by-cell scan finds the line and
    column to report.
    """
    path = os.fspath(path)
    first = _first_row(path)
    has_header = _is_header(first)
    header = [cell.strip() for cell in first] if has_header else [f"column{i}" for i in range(len(first))]
    first_line = 2 if has_header else 1
    try:
        features, labels = _parse_fast(path, len(header), has_header, label_column)
    except ValueError:
        features, labels = _parse_scanning(path, header, has_header, label_column)
    if features.size == 0:
        raise FnnInputError(f"{path}: no data rows.")
    return header, features, labels, first_line


def _parse_fast(path, width, has_header, label_column):
    columns = [i for i in range(width) if i != label_column]
    options = {"delimiter": ",", "skiprows": int(has_header), "ndmin": 2, "encoding": "utf-8", "quotechar": '"'}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below, by name
        features = np.loadtxt(path, usecols=columns, dtype=np.float64, **options)
        if features.shape[1] != len(columns):
            raise ValueError("column count")
        if label_column is None:
            return features, None
        labels = np.loadtxt(path, usecols=[label_column], dtype=str, **options)[:, 0]
    return features, [cell.strip() for cell in labels.tolist()]


def _parse_scanning(path, header, has_header, label_column):
    try:
        with _open_text(path) as handle:
            records = list(_csv.reader(handle))[int(has_header) :]
    except (UnicodeDecodeError, _csv.Error, EOFError, OSError) as error:
        raise FnnInputError(f"{path}: cannot be read as CSV text ({error}).") from None
    first_line = 2 if has_header else 1
    width = len(header)
    features, labels = [], []
    for offset, row in enumerate(records):
        line = first_line + offset
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            raise FnnInputError(f"{path}, line {line}: {len(row)} cells where the {'header' if has_header else 'first line'} has {width}.")
        values = []
        for column, cell in enumerate(row):
            if column == label_column:
                labels.append(cell.strip())
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise FnnInputError(
                    f"{path}, line {line}, column {column + 1} ({header[column]!r}): {cell!r} is not a number."
                ) from None
        features.append(values)
    return np.array(features, dtype=np.float64).reshape(len(features), width - (label_column is not None)), (
        labels if label_column is not None else None
    )


def _label_index(header, label, path):
    if label is None:
        lowered = [name.lower() for name in header]
        for name in LABEL_NAMES:
            if name in lowered:
                return lowered.index(name)
        return 0
    if isinstance(label, str):
        if label not in header:
            raise FnnInputError(f"{path}: no column named {label!r}; the columns are {header}.")
        return header.index(label)
    if not -len(header) <= label < len(header):
        raise FnnInputError(f"{path}: label column index {label} is out of range for {len(header)} columns.")
    return label % len(header)


def _labels_from_text(cells, path, column_name):
    if all(_is_number(cell) for cell in cells):
        values = np.array([float(cell) for cell in cells])
        if np.all(values == np.round(values)) and values.min() >= 0:
            labels = values.astype(np.int64)
            return labels, tuple(str(i) for i in range(int(labels.max()) + 1))
        return values.reshape(-1, 1), ()
    names = tuple(sorted(set(cells)))
    lookup = {name: index for index, name in enumerate(names)}
    return np.array([lookup[cell] for cell in cells], dtype=np.int64), names


def load_csv(path, label=None, dtype=np.float32, name=None):
    """A :class:`Dataset` from a CSV table. ``label`` is a column name or index; by default a column named
    label/class/target/y/species, else the first column (the Kaggle layout)."""
    path = os.fspath(path)
    first = _first_row(path)
    names = [cell.strip() for cell in first] if _is_header(first) else [f"column{i}" for i in range(len(first))]
    index = _label_index(names, label, path)
    header, features, cells, first_line = read_table(path, index)
    check_finite_features(features, f"{path} (line {first_line} is row 0)")
    labels, class_names = _labels_from_text(cells, path, header[index])
    return Dataset(features.astype(dtype), labels, class_names, name or os.path.basename(path))


def load_kaggle_mnist_csv(path, dtype=np.float32):
    """Kaggle's MNIST CSV (header, ``label`` first, then 784 pixel columns 0..255) with pixels scaled to [0, 1]."""
    data = load_csv(path, label=0, dtype=dtype, name="mnist-csv")
    if data.n_features != 784:
        raise FnnInputError(f"{path}: the Kaggle MNIST layout has a label and 784 pixel columns; found {data.n_features} feature columns.")
    classes = tuple(str(i) for i in range(10))
    if data.labels.dtype.kind != "i" or data.labels.max() > 9:
        raise FnnInputError(f"{path}: MNIST labels must be whole numbers 0..9.")
    return Dataset(data.features / dtype(255), data.labels, classes, "mnist-csv")
