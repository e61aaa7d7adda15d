"""The classic ``mnist.pkl.gz``: a pickled tuple of (train, validation, test) pairs of (images, labels) arrays.

Pickle can run code, and even numpy's own array and dtype reconstructors crash the interpreter on crafted state.
So this file is not given to :mod:`pickle` at all: :func:`_read_array_pickle` reads the pickle opcodes itself and
understands only what a pickle of plain numpy arrays inside tuples and lists is made of (as written by Python 2's
cPickle, which the shared file was, and by Python 3 with protocols 0 to 5). The references a pickle may make to
numpy are not looked up: they are checked to be the few that array pickles use and their arguments are recorded;
the dtype must be one of :data:`ARRAY_DTYPES` and the declared shape must account for exactly the bytes given, before
any array exists (it is then a view of those bytes, made by ``np.frombuffer``). Nothing named in the file is
imported or called. The stream read is bounded by :data:`MAX_PICKLE_BYTES` (decompressed), and the number of
opcodes by :data:`MAX_OPCODES`, so no file can exhaust memory.

>>> import io
>>> parts = _read_array_pickle(io.BytesIO(__import__("pickle").dumps((np.arange(3), [np.eye(2)]), protocol=2)))
>>> parts[0].tolist(), type(parts[1]).__name__, parts[1][0].shape
([0, 1, 2], 'list', (2, 2))
"""

from __future__ import annotations

import codecs
import math
import os
import struct
import zlib
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from fnn.arrays import as_float_dtype, first_non_finite
from fnn.data.dataset import Dataset
from fnn.data.input_files import as_path, decompression_errors, maybe_gunzip, open_input, read_exactly, size_text
from fnn.errors import FnnInputError

MAX_PICKLE_BYTES = 512 << 20
"""The most (decompressed) bytes a pickle may hold: MNIST's 70,000 images in float64 are 440 MB."""

MAX_OPCODES = 100_000
"""The most pickle opcodes read: the classic file has about 150."""

ARRAY_DTYPES = ("f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8")
"""The array element types accepted (numpy's short names; either byte order)."""

_PIXELS = 784
_EXPECTED = "the classic mnist.pkl.gz: a pickle of ((x, y), (x, y), (x, y)) numpy arrays"


class _Refused(Exception):
    """Why the pickle cannot be read (the message, without the file name)."""


# The globals an array pickle refers to, by what they stand for here (nothing is imported).
_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "encode",
    ("numpy.core.numeric", "_frombuffer"): "frombuffer",
    ("numpy._core.numeric", "_frombuffer"): "frombuffer",
}


class _Global:
    __slots__ = ("role",)

    def __init__(self, role):
        self.role = role


class _Mark:
    __slots__ = ()


_MARK = _Mark()


class _Dtype:
    """A ``numpy.dtype(code, False, True)`` call; ``resolved`` once its state (the byte order) is set."""

    __slots__ = ("code", "resolved")

    def __init__(self, code):
        self.code = code
        self.resolved = None


class _PendingArray:
    """``_reconstruct(ndarray, (0,), b'b')``: an empty array whose state is still to come; ``array`` after BUILD."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None


def _describe(value):
    if isinstance(value, _Global):
        return f"a reference to {value.role}"
    if value is None:
        return "None"
    name = type(value).__name__.lstrip("_").lower()
    size = f" of {len(value)}" if isinstance(value, (tuple, list, bytes, bytearray, str)) else ""
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}{size}"


def _name(value, what):
    """A short name given as str (Python 3) or bytes (Python 2's str)."""
    if isinstance(value, (bytes, bytearray)) and len(value) <= 64:
        value = bytes(value).decode("latin1")
    if not isinstance(value, str) or len(value) > 64:
        raise _Refused(f"{what} must be a short string; got {_describe(value)}")
    return value


def _int(value, what, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = value if isinstance(value, int) and abs(value) < 1 << 64 else _describe(value)
        raise _Refused(f"{what} must be an integer in {low}..{high}; got {shown}")
    return value


def _flag(value, what):
    if isinstance(value, int) and value in (0, 1):  # bools included: Python 2 wrote 0/1
        return bool(value)
    raise _Refused(f"{what} must be a boolean; got {_describe(value)}")


def _shape(value):
    if not isinstance(value, tuple) or not 1 <= len(value) <= 8:
        raise _Refused(f"an array shape must be a tuple of 1 to 8 sizes; got {_describe(value)}")
    return tuple(_int(size, "an array size", 0, MAX_PICKLE_BYTES) for size in value)


def _resolved_dtype(value):
    if not isinstance(value, _Dtype) or value.resolved is None:
        raise _Refused(f"an array's dtype must be a numpy dtype with its state; got {_describe(value)}")
    return value.resolved


def _set_dtype_state(target, state):
    # numpy writes (3, byteorder, None, None, None, -1, -1, 0), with a 9th item (metadata, None) in version 4.
    if target.resolved is not None:
        raise _Refused("a dtype's state is set twice")
    if not (isinstance(state, tuple) and len(state) in (8, 9)):
        raise _Refused(f"a dtype state must be a tuple of 8 or 9 items; got {_describe(state)}")
    version, order = _int(state[0], "the dtype state version", 3, 4), _name(state[1], "a byte order")
    plain = all(item is None for item in state[2:5]) and all(
        isinstance(item, int) and not isinstance(item, bool) and item == want for item, want in zip(state[5:8], (-1, -1, 0))
    )
    if not plain or (len(state) == 9 and state[8] is not None) or (version == 3) != (len(state) == 8):
        raise _Refused(f"the dtype {target.code!r} has a structured, sized or flagged state; only plain numbers are allowed")
    if order not in ("<", ">", "|", "="):
        raise _Refused(f"a dtype byte order must be '<', '>', '|' or '='; got {order!r}")
    if order == "|" and target.code[1] != "1":
        raise _Refused(f"the byte order '|' is only for 1-byte types; got it for {target.code!r}")
    target.resolved = np.dtype(("<" if order == "|" else order) + target.code)


def _array_from(data, dtype, shape, fortran):
    """The array: only after the shape is checked to account for exactly the bytes given."""
    if not isinstance(data, (bytes, bytearray)):
        raise _Refused(f"an array's data must be bytes; got {_describe(data)}")
    needed = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
    if needed != len(data):
        raise _Refused(
            f"an array declares shape {shape} of {dtype.name} ({size_text(needed)}) but holds {size_text(len(data))}"
        )
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    array.flags.writeable = False
    return array


def _set_array_state(target, state):
    # numpy writes (1, shape, dtype, is_fortran, data); very old versions left out the leading 1.
    if target.array is not None:
        raise _Refused("an array's state is set twice")
    if not (isinstance(state, tuple) and len(state) in (4, 5)):
        raise _Refused(f"an array state must be a tuple of 4 or 5 items; got {_describe(state)}")
    if len(state) == 5:
        _int(state[0], "the array state version", 1, 1)
        state = state[1:]
    shape, dtype, fortran, data = state
    target.array = _array_from(data, _resolved_dtype(dtype), _shape(shape), _flag(fortran, "the Fortran-order flag"))


def _call(function, args):
    """REDUCE: one of the recorded globals, on arguments it is checked to accept."""
    if not isinstance(function, _Global) or not isinstance(args, tuple):
        raise _Refused(f"a call of {_describe(function)} (only numpy's array reconstructors may be called)")
    role = function.role
    if role == "reconstruct" and len(args) == 3:
        kind, shape, code = args
        if isinstance(kind, _Global) and kind.role == "ndarray" and shape == (0,) and bytes(code if isinstance(code, (bytes, bytearray)) else b"?") == b"b":
            return _PendingArray()
    elif role == "dtype" and len(args) == 3:
        code = _name(args[0], "a dtype code")
        if code not in ARRAY_DTYPES:
            raise _Refused(f"the dtype {code!r} is not one of {', '.join(ARRAY_DTYPES)}")
        if not _flag(args[1], "the dtype align flag") and _flag(args[2], "the dtype copy flag"):
            return _Dtype(code)
    elif role == "encode" and len(args) == 2:
        text, encoding = args
        if isinstance(text, str) and _name(encoding, "an encoding") in ("latin1", "latin-1"):
            try:
                return text.encode("latin1")
            except UnicodeEncodeError:
                raise _Refused("bytes encoded as latin1 text hold a character above 255") from None
    elif role == "frombuffer" and len(args) == 4:
        data, dtype, shape, order = args
        order = _name(order, "an array order")
        if order in ("C", "F"):
            return _array_from(data, _resolved_dtype(dtype), _shape(shape), order == "F")
    raise _Refused(f"a call of numpy's {role} with arguments it never gets from an array pickle")


class _Reader:
    """The pickle opcodes of a byte stream, read within the size and opcode budgets."""

    def __init__(self, stream):
        self.stream = stream
        self.position = 0

    def read(self, n):
        if n > MAX_PICKLE_BYTES - self.position:
            raise _Refused(f"an item declares {size_text(n)}, more than the {size_text(MAX_PICKLE_BYTES)} a pickle may hold")
        data = read_exactly(self.stream, n)
        self.position += len(data)
        if self.position == 0:
            raise _Refused("the file holds no pickle (0 bytes)")
        if len(data) < n:
            raise _Refused(f"the pickle ends after {self.position} bytes, inside an item that declares {size_text(n)} (truncated)")
        return data

    def line(self, limit=256):
        """A newline-terminated argument of a text opcode, without the newline."""
        limit = min(limit, MAX_PICKLE_BYTES - self.position)
        data = self.stream.readline(limit + 1)
        self.position += len(data)
        if not data.endswith(b"\n"):
            raise _Refused(f"a text argument at byte {self.position - len(data)} is unterminated or longer than {size_text(limit)}")
        return data[:-1]

    def unsigned(self, size):
        return int.from_bytes(self.read(size), "little")


def _text_int(line):
    text = line.decode("ascii", "replace").rstrip("L")
    if text in ("00", "01"):  # protocol 0's False and True
        return text == "01"
    try:
        return int(text, 10)
    except ValueError:
        raise _Refused(f"{line[:40]!r} is not an integer") from None


def _quoted(line):
    if len(line) >= 2 and line[:1] in (b"'", b'"') and line[-1:] == line[:1]:
        return codecs.escape_decode(line[1:-1])[0]
    raise _Refused("a protocol-0 string is not quoted")


class _Machine:
    """The pickle virtual machine, restricted to the opcodes that tuples, lists and numpy arrays need."""

    def __init__(self, stream):
        self.reader = _Reader(stream)
        self.stack = []
        self.marks = []
        self.memo = {}

    def pop_mark(self):
        if not self.marks:
            raise _Refused("a MARK is missing")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def pop(self, n=1):
        floor = self.marks[-1] if self.marks else 0
        if len(self.stack) - n < floor:
            raise _Refused("the pickle's stack underflows")
        items = self.stack[len(self.stack) - n :]
        del self.stack[len(self.stack) - n :]
        return items

    def push(self, value):
        self.stack.append(value)

    def put(self, index):
        if len(self.memo) >= MAX_OPCODES and index not in self.memo:
            raise _Refused("too many memo entries")
        if not self.stack or (self.marks and len(self.stack) == self.marks[-1]):
            raise _Refused("a memo store with nothing to store")
        self.memo[index] = self.stack[-1]

    def get(self, index):
        if index not in self.memo:
            raise _Refused(f"a memo lookup of entry {index}, which was never stored")
        self.push(self.memo[index])

    def run(self):
        read = self.reader.read
        for _ in range(MAX_OPCODES):
            op = read(1)
            handler = _OPCODES.get(op)
            if handler is None:
                raise _Refused(f"opcode {op!r} at byte {self.reader.position - 1} is not one that a pickle of arrays uses")
            if handler is _stop:
                if len(self.stack) != 1 or self.marks:
                    raise _Refused("the pickle stops with an unbalanced stack")
                return self.stack[0]
            handler(self)
        raise _Refused(f"more than {MAX_OPCODES} opcodes (the classic file has about 150)")


def _stop(machine):  # handled in run
    pass


def _global(machine, module, name):
    role = _GLOBALS.get((module, name))
    if role is None:
        shown = f"{module}.{name}"
        shown = shown if shown.isascii() and shown.isprintable() and len(shown) <= 120 else repr(shown[:120])
        raise _Refused(f"refused to unpickle {shown}: only numpy arrays are allowed in this file (a pickle can run code)")
    machine.push(_Global(role))


def _stack_global(m):
    module, name = m.pop(2)
    if not (isinstance(module, str) and isinstance(name, str)):
        raise _Refused("STACK_GLOBAL needs two strings")
    _global(m, module, name)


def _text_global(m):
    _global(m, m.reader.line().decode("latin1"), m.reader.line().decode("latin1"))


def _reduce(m):
    function, args = m.pop(2)
    m.push(_call(function, args))


def _build(m):
    target, state = m.pop(2)
    if isinstance(target, _Dtype):
        _set_dtype_state(target, state)
    elif isinstance(target, _PendingArray):
        _set_array_state(target, state)
    else:
        raise _Refused(f"a state set on {_describe(target)}")
    m.push(target)


def _append(m):
    (item,) = m.pop(1)
    if not m.stack or not isinstance(m.stack[-1], list) or (m.marks and len(m.stack) == m.marks[-1]):
        raise _Refused("APPEND to something that is not a list")
    m.stack[-1].append(item)


def _appends(m):
    items = m.pop_mark()
    if not m.stack or not isinstance(m.stack[-1], list):
        raise _Refused("APPENDS to something that is not a list")
    m.stack[-1].extend(items)


def _proto(m):
    _int(m.reader.unsigned(1), "the pickle protocol", 2, 5)


def _unicode(data):
    try:
        return bytes(data).decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as error:
        raise _Refused(f"a string is not valid UTF-8 ({error.reason})") from None


def _long(data):
    if len(data) > 16:
        raise _Refused(f"an integer of {len(data)} bytes")
    return int.from_bytes(data, "little", signed=True)


def _raw_unicode(line):
    try:
        return line.decode("raw-unicode-escape")
    except UnicodeDecodeError as error:
        raise _Refused(f"a protocol-0 unicode string is malformed ({error.reason})") from None


_OPCODES = {
    b".": _stop,
    b"\x80": _proto,
    b"\x95": lambda m: m.reader.unsigned(8),  # FRAME: framing only groups the opcodes that follow
    b"(": lambda m: m.marks.append(len(m.stack)),
    b"0": lambda m: m.pop(1),
    b"1": lambda m: m.pop_mark(),
    b"N": lambda m: m.push(None),
    b"\x88": lambda m: m.push(True),
    b"\x89": lambda m: m.push(False),
    b"I": lambda m: m.push(_text_int(m.reader.line())),
    b"L": lambda m: m.push(_text_int(m.reader.line())),
    b"J": lambda m: m.push(struct.unpack("<i", m.reader.read(4))[0]),
    b"K": lambda m: m.push(m.reader.unsigned(1)),
    b"M": lambda m: m.push(m.reader.unsigned(2)),
    b"\x8a": lambda m: m.push(_long(m.reader.read(m.reader.unsigned(1)))),
    b"S": lambda m: m.push(_quoted(m.reader.line(MAX_PICKLE_BYTES))),
    b"T": lambda m: m.push(m.reader.read(_int(struct.unpack("<i", m.reader.read(4))[0], "a string length", 0, MAX_PICKLE_BYTES))),
    b"U": lambda m: m.push(m.reader.read(m.reader.unsigned(1))),
    b"B": lambda m: m.push(m.reader.read(m.reader.unsigned(4))),
    b"C": lambda m: m.push(m.reader.read(m.reader.unsigned(1))),
    b"\x8e": lambda m: m.push(m.reader.read(m.reader.unsigned(8))),
    b"\x96": lambda m: m.push(m.reader.read(m.reader.unsigned(8))),
    b"V": lambda m: m.push(_raw_unicode(m.reader.line(MAX_PICKLE_BYTES))),
    b"X": lambda m: m.push(_unicode(m.reader.read(m.reader.unsigned(4)))),
    b"\x8c": lambda m: m.push(_unicode(m.reader.read(m.reader.unsigned(1)))),
    b"\x8d": lambda m: m.push(_unicode(m.reader.read(m.reader.unsigned(8)))),
    b")": lambda m: m.push(()),
    b"t": lambda m: m.push(tuple(m.pop_mark())),
    b"\x85": lambda m: m.push(tuple(m.pop(1))),
    b"\x86": lambda m: m.push(tuple(m.pop(2))),
    b"\x87": lambda m: m.push(tuple(m.pop(3))),
    b"]": lambda m: m.push([]),
    b"l": lambda m: m.push(m.pop_mark()),
    b"a": _append,
    b"e": _appends,
    b"c": _text_global,
    b"\x93": _stack_global,
    b"R": _reduce,
    b"b": _build,
    b"p": lambda m: m.put(_text_int(m.reader.line())),
    b"q": lambda m: m.put(m.reader.unsigned(1)),
    b"r": lambda m: m.put(m.reader.unsigned(4)),
    b"\x94": lambda m: m.put(len(m.memo)),
    b"g": lambda m: m.get(_text_int(m.reader.line())),
    b"h": lambda m: m.get(m.reader.unsigned(1)),
    b"j": lambda m: m.get(m.reader.unsigned(4)),
}


def _finished(value, depth=0):
    """Tuples and lists of arrays as built (pending arrays replaced by theirs); anything else is refused."""
    if isinstance(value, _PendingArray):
        if value.array is None:
            raise _Refused("an array was reconstructed but never given its state")
        return value.array
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (tuple, list)) and depth < 3:
        items = [_finished(item, depth + 1) for item in value]
        return items if isinstance(value, list) else tuple(items)
    raise _Refused(f"found {_describe(value)} where tuples, lists and arrays are expected")


def _read_array_pickle(stream: Any) -> Any:
    """What a pickle of numpy arrays nested (at most three deep) in tuples and lists holds, read from the binary
    ``stream`` without :mod:`pickle` (see the module's description). Raises ``ValueError`` saying why a stream is
    refused; the stream must end where the pickle ends."""
    machine = _Machine(stream)
    try:
        result = _finished(machine.run())
        if stream.read(1):
            raise _Refused(f"bytes follow the pickle's end (at byte {machine.reader.position})")
    except _Refused as refusal:
        raise ValueError(str(refusal)) from None
    except (EOFError, OSError, zlib.error):
        raise  # the stream's own errors (a damaged gzip file), for the caller to word
    except Exception as error:  # hostile input: whatever goes wrong in the reader is the file's fault, said as such
        raise ValueError(f"{type(error).__name__}: {error}") from None
    return result


def _split(value, what, count):
    if not (isinstance(value, (tuple, list)) and len(value) == count):
        found = f"a {type(value).__name__} of {len(value)}" if isinstance(value, (tuple, list)) else f"a {type(value).__name__}"
        raise _Refused(f"the {what} must be a tuple of {count}; found {found}")
    return value


def _checked_pair(pair, part):
    images, labels = _split(pair, f"{part} part (images, labels)", 2)
    if not (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)):
        raise _Refused(f"the {part} part must hold two arrays")
    if images.dtype.kind != "f" or images.ndim != 2 or images.shape[1] != _PIXELS or len(images) == 0:
        raise _Refused(f"the {part} images must be a float array of shape (n, {_PIXELS}) with n >= 1; found {images.dtype} {images.shape}")
    if labels.dtype.kind not in "iu" or labels.shape != (len(images),):
        raise _Refused(
            f"the {part} labels must be whole numbers (an integer array) of shape ({len(images)},); found "
            f"{labels.dtype} {labels.shape}" + (" (float labels are refused, not truncated)" if labels.dtype.kind == "f" else "")
        )
    low, high = images.min(), images.max()
    bad = None if np.isfinite(low) and np.isfinite(high) else first_non_finite(images)
    if bad is not None:
        row, column = bad
        raise _Refused(f"the {part} images must be finite; found {images[row, column]} at row {row}, column {column}")
    if low < 0 or high > 1:
        raise _Refused(f"the {part} images must be pixel intensities in [0, 1]; found values in [{low}, {high}]")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high > 9:
        raise _Refused(f"the {part} labels must be digits 0..9; found labels in {low}..{high}")
    return images, labels


def load_mnist_pickle(path: str | os.PathLike[str], dtype: DTypeLike = np.float32) -> tuple[Dataset, ...]:
    """``(train, validation, test)`` Datasets from ``mnist.pkl.gz`` (gzip-compressed or not), read safely: see the
    module's description. Images are float rows of 784 in [0, 1]; labels whole numbers 0..9.

    >>> import gzip, os, pickle, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "mnist.pkl.gz")
    >>> part = (np.full((2, 784), 0.5, np.float32), np.array([7, 1]))
    >>> with gzip.open(path, "wb") as file:
    ...     pickle.dump((part, part, part), file)
    >>> train, validation, test = fnn.data.load_mnist_pickle(path)
    >>> test, test.labels.tolist()
    (Dataset('mnist-pkl[test]', features=float32[2,784], labels=int64[2], classes=('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')), [7, 1])
    """
    path = as_path(path, "load_mnist_pickle")
    float_type = as_float_dtype(dtype, "load_mnist_pickle")
    with open_input(path, _EXPECTED) as handle:
        with decompression_errors(path, _EXPECTED):
            stream, _ = maybe_gunzip(handle)
            try:
                parts = _read_array_pickle(stream)
                pairs = [_checked_pair(pair, part) for part, pair in zip(("train", "validation", "test"), _split(parts, "file", 3))]
            except (ValueError, _Refused) as refusal:
                raise FnnInputError(f"{path}: cannot be read as {_EXPECTED}: {refusal}.") from None
    classes = tuple(str(i) for i in range(10))
    return tuple(
        Dataset(_frozen(images.astype(float_type, copy=False)), _frozen(labels.astype(np.int64, copy=False)), classes, f"mnist-pkl[{part}]")
        for part, (images, labels) in zip(("train", "validation", "test"), pairs)
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False  # a view of bytes this call read, or a fresh conversion: nobody else holds it
    return array
