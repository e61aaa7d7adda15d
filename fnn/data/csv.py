"""CSV tables: general tables with a named label column, and the Kaggle MNIST layout.

What is loaded is exactly what the file says, or an error naming the file, line and column:

- UTF-8 text (a leading byte-order mark is dropped), comma-separated, quoting as in RFC 4180; every row has as many
  cells as the first; blank lines only at the end. There is no comment character: ``#`` is data.
- A header row is recognised when none of its cells is a number.
- A number is decimal text such as ``3``, ``-0.5``, ``.5`` or ``1e-3`` (spaces or tabs around it allowed); ``nan``,
  ``inf``, ``1_000``, hex and empty cells are not numbers, and a value too large for the float type is refused.
- The label column is the one the caller names (``label=`` a header name or a column index), else the one column
  named as in :data:`LABEL_NAMES` (any case); :func:`label_column` decides it, for training and prediction alike.
  Labels that are all whole numbers, or text, are classes: each label becomes its index among the sorted distinct
  labels, which name the classes (labels 1..3 give classes '1', '2', '3'); numbers that are not all whole
  (``1.5``, ``3.0``) are a regression target.
- ``drop=`` names columns (or indices) left out, such as an ``Id`` column that would leak the label.

Well-formed numeric files are parsed by numpy's C reader (without its comment character); anything else by a
cell-by-cell reader that applies the rules above, so both give the same result.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
>>> _ = open(path, "w").write("Id,a,b,kind\\n1,1,2,cat\\n2,3,4,C#\\n3,5,6,cat\\n")
>>> d = load_csv(path, label="kind", drop=["Id"])
>>> d.class_names, d.labels.tolist(), d.features.tolist()
(('C#', 'cat'), [1, 0, 1], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
"""

from __future__ import annotations

import csv as _csv
import io
import operator
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, overload

import numpy as np
from numpy.typing import DTypeLike

from fnn.arrays import all_finite, as_float_dtype, first_non_finite, freeze_new
from fnn.data.dataset import Dataset, class_indices
from fnn.data.input_files import as_path, decompression_errors, maybe_gunzip, open_input, read_bounded, size_text
from fnn.errors import FnnInputError, shown_names
from fnn.limits import require_memory

LABEL_NAMES = ("label", "labels", "class", "target", "species", "y")
"""Header names (compared without regard to case) that make a column the label column when none is named."""

MAX_TABLE_BYTES = 1 << 30
"""The largest table read (decompressed); it is read into memory whole."""

MAX_LINE_CHARS = 1 << 22
"""The longest line read (about 4 million characters: 400,000 columns of numbers); a longer one is refused before
it is split into cells, whose Python strings would take many times its size."""

_EXPECTED = "a CSV table (UTF-8, comma-separated)"
_NUMBER = re.compile(r"[ \t]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*")
_INTEGER = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")
_MISSING = {"nan", "-nan", "+nan", "na", "n/a", "null", "none", "inf", "-inf", "+inf", "infinity", "-infinity", "?"}
_FAST_BYTES = b"0123456789.eE+-, \t\r\n"
_BOM = b"\xef\xbb\xbf"

Drop = str | int | Iterable[str | int] | None
"""Columns left out: a header name, an index, or several."""


def is_number(cell: str) -> bool:
    """Whether a CSV cell's text is a number by this module's rules (decimal text, no ``nan``, ``inf`` or ``1_000``).

    >>> is_number(" -1.5e3"), is_number("nan"), is_number("species")
    (True, False, False)
    """
    return _NUMBER.fullmatch(cell) is not None


class _Table:
    """What :func:`_read` found: the header (made-up names ``column0``... without one), the feature columns as
    float64, the label cells' text, the file line each row starts on."""

    def __init__(self, path, header, has_header, features, feature_columns, label_index, label_cells, lines):
        self.path, self.header, self.has_header = path, header, has_header
        self.features, self.feature_columns = features, feature_columns
        self.label_index, self.label_cells, self.lines = label_index, label_cells, lines

    def where(self, row: int, column: int) -> str:
        """``'file, line L, column C ('name')'`` for a row and a column of the file (0-based)."""
        return f"{self.path}, line {self.lines[row]}, column {column + 1} ({self.header[column]!r})"


@overload
def label_column(
    header: Sequence[str] | None, label: str | int | None = None, *, width: int | None = None, source: str = "the table",
    required: Literal[True] = True,
) -> int: ...


@overload
def label_column(
    header: Sequence[str] | None, label: str | int | None = None, *, width: int | None = None, source: str = "the table",
    required: bool,
) -> int | None: ...


def label_column(
    header: Sequence[str] | None, label: str | int | None = None, *, width: int | None = None, source: str = "the table",
    required: bool = True,
) -> int | None:
    """The index of the label column of a table whose header row holds the names ``header`` (``None`` for a table
    without a header row, then give its ``width``): the column ``label`` names (a header name, or an index,
    negative from the end), else the one column named as in :data:`LABEL_NAMES` in any case. When none is
    recognisable: an error explaining how to name it, or None if not ``required`` (prediction inputs need none).

    >>> label_column(["sepal", "petal", "Species"]), label_column(["a", "b"], "a"), label_column(None, -1, width=3)
    (2, 0, 2)
    >>> print(label_column(["a", "b"], required=False))
    None
    """
    names = None if header is None else [str(name).strip() for name in header]
    width = len(names) if names is not None else (width or 0)
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        if not -width <= label < width:
            raise FnnInputError(f"{source}: the label column index {label} is out of range: expected -{width}..{width - 1} for {width} columns.")
        return int(label) % width
    if isinstance(label, str):
        if names is None:
            raise FnnInputError(f"{source}: has no header row, so no column is named {label!r}; give the label column by index (label=0 for the first).")
        matches = [i for i, name in enumerate(names) if name == label]
        if len(matches) != 1:
            problem = f"{len(matches)} columns are named {label!r}" if matches else f"no column is named {label!r}"
            raise FnnInputError(f"{source}: {problem}; expected exactly one. The columns are {shown_names(names)}; name another or give an index.")
        return matches[0]
    if label is not None:
        raise FnnInputError(f"{source}: the label column must be given as a header name (str) or an index (int); got {label!r}.")
    if names is None:
        if not required:
            return None
        raise FnnInputError(
            f"{source}: has no header row, so no label column can be recognised by name; expected a header with a column "
            f"named one of {', '.join(LABEL_NAMES)}, or the label column given by index (label=0 for the first)."
        )
    matches = [i for i, name in enumerate(names) if name.lower() in LABEL_NAMES]
    if len(matches) == 1:
        return matches[0]
    if not matches and not required:
        return None
    problem = f"several columns could be the label ({', '.join(repr(names[i]) for i in matches)})" if matches else "no column is named as a label"
    raise FnnInputError(
        f"{source}: {problem}; expected exactly one column named one of {', '.join(LABEL_NAMES)} (any case), or the "
        f"label column named explicitly (label='NAME' or an index). The header is {shown_names(names)}."
    )


def _drop_indices(
    header: list[str], has_header: bool, drop: Drop, width: int, path: str, label_index: int | None
) -> set[int]:
    if drop is None:
        return set()
    if isinstance(drop, (str, int, np.integer)):
        drop = [drop]
    indices = set()
    for column in drop:
        if isinstance(column, str):
            matches = [i for i, name in enumerate(header) if name == column] if has_header else []
            if len(matches) != 1:
                problem = "no header row" if not has_header else f"{len(matches)} columns named {column!r}"
                raise FnnInputError(f"{path}: cannot drop column {column!r}: expected one column of that name; found {problem}. The columns are {header}.")
            indices.add(matches[0])
        elif isinstance(column, (int, np.integer)) and not isinstance(column, bool) and -width <= column < width:
            indices.add(int(column) % width)
        else:
            raise FnnInputError(f"{path}: cannot drop {column!r}: expected a column name or an index in -{width}..{width - 1}.")
    if label_index in indices:
        raise FnnInputError(f"{path}: cannot drop the label column {header[label_index]!r}; expected drop= to name other columns.")
    return indices


def _read_text(path: str) -> tuple[bytes | bytearray, str]:
    """The file's bytes (after a byte-order mark) and its text."""
    with open_input(path, _EXPECTED) as handle:
        stream, _ = maybe_gunzip(handle)
        with decompression_errors(path, _EXPECTED):
            data = read_bounded(stream, MAX_TABLE_BYTES)
    if data is None:
        raise FnnInputError(f"{path}: holds more than {size_text(MAX_TABLE_BYTES)} (decompressed); expected a table of at most that size.")
    # its text, cells and float64 values: up to about six times the bytes (two per number), refused before parsing
    require_memory(6 * len(data), f"{path} ({size_text(len(data))} of text to parse)")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise not_utf8(path, error) from None
    return data, text


def not_utf8(path: str, error: UnicodeDecodeError) -> FnnInputError:
    """The error for a table that is not UTF-8 text, naming its line and the first byte that is not, whichever
    reader (the whole table's or its header's) decoded it."""
    before = error.object[: error.start]
    line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
    return FnnInputError(
        f"{path}, line {line}: expected UTF-8 text; found the byte 0x{error.object[error.start]:02x}, which is not UTF-8 "
        f"here (save the file as UTF-8)."
    )


def bounded_lines(lines: Iterable[str], path: str) -> Iterator[str]:
    """``lines`` as they are, refusing one longer than :data:`MAX_LINE_CHARS` before it is split into cells."""
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_CHARS:
            raise FnnInputError(
                f"{path}, line {number}: longer than {MAX_LINE_CHARS:,} characters; expected a table's "
                f"rows, one per line (is this a file of another kind, or a table without line breaks?)."
            )
        yield line


def _records(text: str, path: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` for each record, ``line`` being where it starts."""
    reader = _csv.reader(bounded_lines(io.StringIO(text, newline=""), path), strict=True)
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except _csv.Error as error:
        raise FnnInputError(
            f"{path}, line {reader.line_num}: malformed CSV ({error}); expected comma-separated cells, quoted as in "
            f"RFC 4180 (a quoted cell starts and ends with \", inner quotes doubled)."
        ) from None


def _blank(cells: list[str]) -> bool:
    return not cells or (len(cells) == 1 and not cells[0].strip(" \t"))


def _read(
    path: object, function: str, label: str | int | None, drop: Drop, required: bool, recognise: bool = False,
    rows: bool = True,
) -> _Table:
    """The table; without a ``label`` it has a label column if ``required`` (then recognised by name, or an error)
    or if ``recognise`` and one is named as a label. A table without data rows is refused if ``rows`` (training
    needs rows; inputs to predict may be none)."""
    path = as_path(path, function)
    data, text = _read_text(path)
    newline = text.find("\n")
    head = text if newline < 0 or '"' in text[:newline] else text[: newline + 1]  # the header, read on its own
    _, first = next(_records(head, path), (1, None))
    if first is None or _blank(first):
        raise FnnInputError(f"{path}: expected {_EXPECTED} starting with a header or a row; found {'an empty file' if not text.strip() else 'an empty first line'}.")
    if len(first) == 1 and (";" in first[0] or "\t" in first[0]):
        raise FnnInputError(
            f"{path}, line 1: expected comma-separated cells; found one cell {first[0][:60]!r} (is the file separated "
            f"by ';' or tabs? fnn reads comma-separated files)."
        )
    has_header = not any(map(is_number, first))
    width = len(first)
    header = [cell.strip() for cell in first] if has_header else [f"column{i}" for i in range(width)]
    label_index = None
    if label is not None or required or recognise:
        label_index = label_column(header if has_header else None, label, width=width, source=path, required=required)
    dropped = _drop_indices(header, has_header, drop, width, path, label_index)
    feature_columns = [i for i in range(width) if i != label_index and i not in dropped]
    kept = [header[i] for i in (*feature_columns, *([] if label_index is None else [label_index]))]
    repeated = sorted({name for name in kept if kept.count(name) > 1}) if has_header else []
    if repeated:
        raise FnnInputError(
            f"{path}, line 1: the header repeats the column name(s) {shown_names(repeated)}; expected distinct names, "
            f"since a model's inputs are matched by name (rename the repeats)."
        )
    if not feature_columns:
        raise FnnInputError(f"{path}: expected at least one feature column besides the label and dropped ones; the columns are {header}.")
    fast = _parse_fast(data, has_header, width, feature_columns, label_index)
    if fast is not None:
        features, label_cells = fast
        start = 2 if has_header else 1
        lines = np.arange(start, start + len(features))
    else:
        records = _records(text, path)
        if has_header:
            next(records)
        features, label_cells, lines = _parse_strict(records, path, header, width, feature_columns, label_index)
    if rows and len(features) == 0:
        raise FnnInputError(f"{path}: expected data rows after the {'header' if has_header else 'first line'}; found none.")
    return _Table(path, header, has_header, features, feature_columns, label_index, label_cells, lines)


def _parse_fast(
    data: bytes | bytearray, has_header: bool, width: int, feature_columns: list[int], label_index: int | None
) -> tuple[np.ndarray, list[str] | None] | None:
    """numpy's C reader on a plain numeric file (digits, signs, points, exponents, commas, spaces; no quotes, no
    blank lines, no lone carriage returns); None when the file is anything else or numpy objects,
    and the cell-by-cell reader decides."""
    if b'"' in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    if has_header:
        newline = data.find(b"\n")
        if newline < 0:
            return None
        data = data[newline + 1 :]
    body = data.rstrip(b" \t\r\n")
    if not body or body.translate(None, _FAST_BYTES):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.loadtxt(io.BytesIO(body), delimiter=",", comments=None, quotechar=None, dtype=np.float64, ndmin=2, encoding="ascii")
    except ValueError:
        return None
    # numpy skips blank lines: a row count short of the line count sends the file to the strict reader.
    if table.shape != (body.count(b"\n") + 1, width) or not all_finite(table):
        return None
    label_cells = None
    if label_index is not None:
        label_cells = [line.split(b",", label_index + 1)[label_index].decode("ascii").strip(" \t\r") for line in body.split(b"\n")]
    if feature_columns == list(range(feature_columns[0], feature_columns[-1] + 1)):
        return table[:, feature_columns[0] : feature_columns[-1] + 1], label_cells
    return table[:, feature_columns], label_cells


def _parse_strict(
    records: Iterator[tuple[int, list[str]]], path: str, header: list[str], width: int, feature_columns: list[int],
    label_index: int | None,
) -> tuple[np.ndarray, list[str] | None, np.ndarray]:
    """Every record checked: its width, blank lines, each feature cell a number, each label cell non-empty."""
    cells: list[str] = []
    label_cells: list[str] = []
    starts: list[int] = []
    pick = operator.itemgetter(*feature_columns)
    blank_at = None
    for line, record in records:
        if _blank(record):
            blank_at = blank_at or line
            continue
        if blank_at is not None:
            raise FnnInputError(f"{path}, line {blank_at}: expected {width} cells; found a blank line (blank lines are allowed only at the end).")
        if len(record) != width:
            raise FnnInputError(f"{path}, line {line}: expected {width} cells, as in the first line; found {len(record)}.")
        picked = pick(record)
        cells.extend(picked if len(feature_columns) > 1 else (picked,))
        if label_index is not None:
            label_cells.append(record[label_index].strip(" \t"))
        starts.append(line)
    lines = np.array(starts, dtype=np.int64)
    table = _Table(path, header, True, None, feature_columns, label_index, label_cells, lines)
    if not all(map(is_number, cells)):
        position = next(i for i, cell in enumerate(cells) if not is_number(cell))
        row, column = divmod(position, len(feature_columns))
        raise FnnInputError(f"{table.where(row, feature_columns[column])}: expected a number; found {_shown(cells[position])}.")
    features = np.fromiter(map(float, cells), dtype=np.float64, count=len(cells)).reshape(len(lines), len(feature_columns))
    bad = None if all_finite(features) else first_non_finite(features)
    if bad is not None:
        row, column = bad
        raise FnnInputError(f"{table.where(row, feature_columns[column])}: expected a finite number; found {cells[row * len(feature_columns) + column].strip()!r}, too large for float64.")
    if label_index is not None:
        for row, cell in enumerate(label_cells):
            if not cell:
                raise FnnInputError(f"{table.where(row, label_index)}: expected a label; found an empty cell.")
    return features, (label_cells if label_index is not None else None), lines


def _shown(cell: str) -> str:
    hint = ""
    if ";" in cell or "\t" in cell.strip():
        hint = " (is the file separated by ';' or tabs? fnn reads comma-separated files)"
    elif cell.strip(" \t").lower() in _MISSING or not cell.strip(" \t"):
        hint = " (missing and non-finite values are refused)"
    return f"{cell!r}{hint}"


def _labels(table: _Table) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(labels, class_names)`` from the label cells' text."""
    cells = table.label_cells
    if all(_INTEGER.fullmatch(cell) for cell in cells):
        return class_indices(int(cell) for cell in cells)
    numeric = [is_number(cell) for cell in cells]
    if all(numeric):
        targets = np.array([float(cell) for cell in cells], dtype=np.float64)
        bad = None if all_finite(targets) else first_non_finite(targets)
        if bad is not None:
            row = bad[0]
            raise FnnInputError(f"{table.where(row, table.label_index)}: expected a finite number; found {cells[row]!r}, too large for float64.")
        return targets.reshape(-1, 1), ()
    if any(numeric):
        for row, cell in enumerate(cells):
            if cell.lower() in _MISSING:
                raise FnnInputError(f"{table.where(row, table.label_index)}: expected a label; found {cell!r} in a column of numbers (missing and non-finite labels are refused).")
    names = tuple(sorted(set(cells)))
    lookup = {name: index for index, name in enumerate(names)}
    return np.array([lookup[cell] for cell in cells], dtype=np.int64), names


def _as_dtype(table: _Table, dtype: np.dtype) -> np.ndarray:
    with np.errstate(over="ignore"):  # an overflow is reported below, with its line and column
        features = table.features.astype(dtype)  # a new array: nobody else holds it
    bad = None if all_finite(features) else first_non_finite(features)
    if bad is not None:
        row, column = bad
        raise FnnInputError(
            f"{table.where(row, table.feature_columns[column])}: expected a number that fits {dtype.name}; found "
            f"{float(table.features[row, column])!r}, beyond its range (±{np.finfo(dtype).max:.4g})."
        )
    return freeze_new(features)


def read_table(
    path: str | os.PathLike[str], label_column: str | int | None = None, drop: Drop = (), recognise_label: bool = False
) -> tuple[list[str], np.ndarray, list[str] | None, int]:
    """``(header, features, label_cells, first_data_line)``: the header's names (``column0``... without one), the
    feature columns as float64 (all but the label column and ``drop``), the label column's cells as text (``None``
    without a label column) and the line of the first data row. A header-only table has zero rows, as inputs to
    predict may (:func:`load_csv`, which is for training, refuses it).

    ``label_column`` is a header name or an index; without it there is no label column, unless
    ``recognise_label``: then a column named as in :data:`LABEL_NAMES` is the label column if there is one (as
    :func:`label_column` decides with ``required=False``), which is how prediction inputs that still hold their
    labels are read like the training table. See the module's description for the rules.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("x,y\\n1,a\\n2,b\\n")
    >>> read_table(path, "y")
    (['x', 'y'], array([[1.],
           [2.]]), ['a', 'b'], 2)
    """
    table = _read(path, "read_table", label_column, drop, required=label_column is not None, recognise=recognise_label, rows=False)
    return table.header, table.features, table.label_cells, 2 if table.has_header else 1


def load_csv(
    path: str | os.PathLike[str], label: str | int | None = None, dtype: DTypeLike = np.float32, name: str | None = None,
    drop: Drop = (),
) -> Dataset:
    """A :class:`Dataset` from a CSV table. ``label`` names the label column (a header name or an index); by
    default the one column named label, labels, class, target, species or y (any case), and without one the file
    is refused. ``drop`` names columns to leave out. See the module's description for the rules.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "houses.csv")
    >>> _ = open(path, "w").write("rooms,area,price\\n3,70,1.5\\n5,120,2.25\\n")
    >>> d = fnn.data.load_csv(path, label="price")
    >>> d, d.labels.ravel().tolist()
    (Dataset('houses.csv', features=float32[2,2], labels=float64[2,1], classes=()), [1.5, 2.25])
    """
    float_type = as_float_dtype(dtype, "load_csv")
    table = _read(path, "load_csv", label, drop, required=True)
    labels, class_names = _labels(table)
    return Dataset(_as_dtype(table, float_type), freeze_new(labels), class_names, name or os.path.basename(table.path))


def _whole(values: np.ndarray, rows: int = 4096) -> bool:
    """Whether every value is a whole number, a block of rows at a time (no full-size temporaries)."""
    buffer = np.empty((min(rows, len(values)), values.shape[1]))
    for start in range(0, len(values), rows):
        block = values[start : start + rows]
        if not np.array_equal(np.floor(block, out=buffer[: len(block)]), block):
            return False
    return True


def load_kaggle_mnist_csv(path: str | os.PathLike[str], dtype: DTypeLike = np.float32) -> Dataset:
    """Kaggle's MNIST CSV: a header ``label,pixel0,...,pixel783``, then rows of a digit 0..9 and 784 whole-number
    pixels 0..255, which are scaled to [0, 1].

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
    >>> header = "label," + ",".join(f"pixel{i}" for i in range(784))
    >>> _ = open(path, "w").write(header + "\\n7," + ",".join(["0"] * 783 + ["255"]) + "\\n")
    >>> d = fnn.data.load_kaggle_mnist_csv(path)
    >>> d.labels.tolist(), d.features[0, -2:].tolist()
    ([7], [0.0, 1.0])
    """
    float_type = as_float_dtype(dtype, "load_kaggle_mnist_csv")
    table = _read(path, "load_kaggle_mnist_csv", 0, (), required=True)
    expected = "Kaggle's MNIST layout: a header 'label,pixel0,...,pixel783' and rows of a digit and 784 pixels 0..255"
    if not table.has_header or table.header[0].lower() != "label" or len(table.header) != 785:
        found = f"the columns {table.header[:3]}... ({len(table.header)} of them)" if table.has_header else "no header row"
        raise FnnInputError(f"{table.path}: expected {expected}; found {found}.")
    for row, cell in enumerate(table.label_cells):
        if not (_INTEGER.fullmatch(cell) and 0 <= int(cell) <= 9):
            raise FnnInputError(f"{table.where(row, 0)}: expected a digit label 0..9 (a whole number); found {cell!r}.")
    pixels = table.features
    if pixels.min() < 0 or pixels.max() > 255 or not _whole(pixels):
        bad = np.argwhere((pixels < 0) | (pixels > 255) | (pixels != np.floor(pixels)))[0]
        row, column = int(bad[0]), int(bad[1])
        raise FnnInputError(f"{table.where(row, column + 1)}: expected a whole-number pixel 0..255; found {float(pixels[row, column])!r}.")
    labels = np.array([int(cell) for cell in table.label_cells], dtype=np.int64)
    features = pixels.astype(float_type)
    features /= float_type.type(255)
    return Dataset(freeze_new(features), freeze_new(labels), tuple(str(i) for i in range(10)), "mnist-csv")
