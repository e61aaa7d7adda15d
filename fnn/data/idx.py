"""IDX files, the format of MNIST and Fashion-MNIST: read (gzip or raw, raw memory-mapped) and written.

The header is two zero bytes, a type code and the number of dimensions, then one big-endian 4-byte size per
dimension; the data follows, big-endian. Everything is checked against the file: the magic number, the type
code, and that the sizes account for exactly the bytes that follow.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte")
>>> write_idx(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
>>> read_idx(path).shape
(2, 3, 4)
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import tempfile
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from fnn.arrays import all_finite, first_non_finite
from fnn.data.input_files import (
    Readable,
    as_path,
    decompression_errors,
    maybe_gunzip,
    open_input,
    read_exactly,
    size_text,
)
from fnn.errors import FnnInputError
from fnn.limits import require_memory

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}

MAX_DIMENSIONS = 32
"""The most dimensions an IDX file may declare (MNIST's have 1 or 3; numpy's own limit is 64)."""

MAX_GZIP_IDX_BYTES = 1 << 30
"""The most data a gzip-compressed IDX file may declare: it is decompressed into memory (raw files are
memory-mapped and have no such limit; their sizes are checked against the file's length)."""

_EXPECTED = "an IDX file (MNIST's format: 2 zero bytes, a type code, a dimension count, 4-byte sizes, then the data)"
_MAGIC = (
    f"two zero bytes, a type code ({', '.join(f'0x{c:02X} {np.dtype(t).name}' for c, t in IDX_TYPES.items())}) and a "
    f"dimension count 1..{MAX_DIMENSIONS}: MNIST images are 0x00000803, labels 0x00000801"
)


def _exactly(stream: Readable, n: int, path: str, what: str) -> bytes | bytearray:
    data = read_exactly(stream, n)
    if len(data) < n:
        found = "the file is empty (0 bytes)" if what == "magic number" and not data else f"only {len(data)} bytes"
        raise FnnInputError(f"{path}: not an IDX file: expected a {n}-byte {what}; found {found}.")
    return data


def _read_header(stream: Readable, path: str) -> tuple[np.dtype, tuple[int, ...], int, int]:
    """``(dtype, dims, header_size, data_bytes)`` from the start of ``stream``, every size checked."""
    head = _exactly(stream, 4, path, "magic number")
    zero, code, ndim = struct.unpack(">HBB", head)
    if zero != 0 or code not in IDX_TYPES or not 1 <= ndim <= MAX_DIMENSIONS:
        raise FnnInputError(f"{path}: not an IDX file: expected a magic number of {_MAGIC}; found 0x{head.hex()}.")
    dims = struct.unpack(f">{ndim}I", _exactly(stream, 4 * ndim, path, f"header of {ndim} dimension sizes"))
    if 0 in dims:
        raise FnnInputError(
            f"{path}: the IDX header declares sizes {_shape_text(dims)}: expected every size to be at least 1 (an IDX "
            f"file with no values holds no data); found 0 in dimension {dims.index(0) + 1}."
        )
    dtype = np.dtype(IDX_TYPES[code])
    return dtype, dims, 4 + 4 * ndim, math.prod(dims) * dtype.itemsize  # Python integers: no overflow


def _shape_text(dims: tuple[int, ...]) -> str:
    return "x".join(map(str, dims))


def _size_error(
    path: str, dtype: np.dtype, dims: tuple[int, ...], expected: int, found: int | None, compressed: bool
) -> FnnInputError:
    where = "the decompressed file holds" if compressed else "the file holds"
    held = f"more than {expected} bytes" if found is None else f"{found} bytes"
    return FnnInputError(
        f"{path}: the IDX header declares {_shape_text(dims)} values of {dtype.name}, so expected {expected} bytes "
        f"of data, but {where} {held}; it is truncated or not what its header claims."
    )


def _check_gzip_size(path: str, dtype: np.dtype, dims: tuple[int, ...], data_bytes: int) -> None:
    if data_bytes > MAX_GZIP_IDX_BYTES:
        raise FnnInputError(
            f"{path}: the IDX header declares {_shape_text(dims)} values of {dtype.name} ({size_text(data_bytes)}): "
            f"expected at most {size_text(MAX_GZIP_IDX_BYTES)} in a gzip-compressed file, which is decompressed into "
            f"memory; decompress it (gunzip) and fnn memory-maps the raw file."
        )


def _finite(array: np.ndarray, path: str, how: str = "") -> np.ndarray:
    """Float data must be finite; integers always are."""
    if not all_finite(array):
        where = first_non_finite(array)
        raise FnnInputError(f"{path}: values must be finite{how}; found {array[where]} at index {where}.")
    return array


def _sized_header(handle: Any, stream: Readable, compressed: bool, path: str) -> tuple[np.dtype, tuple[int, ...], int, int]:
    """The header's ``(dtype, dims, header_size, data_bytes)``, once the sizes it declares are checked against the
    file: a gzip file's stated length, a raw file's real one."""
    dtype, dims, header_size, data_bytes = _read_header(stream, path)
    if compressed:
        _check_gzip_size(path, dtype, dims, data_bytes)
    else:
        file_bytes = os.fstat(handle.fileno()).st_size
        if header_size + data_bytes != file_bytes:
            raise _size_error(path, dtype, dims, data_bytes, file_bytes - header_size, False)
    return dtype, dims, header_size, data_bytes


def _native(array: np.ndarray) -> np.ndarray:
    array = array.astype(array.dtype.newbyteorder("="), copy=False)
    array.flags.writeable = False
    return array


def read_idx(path: str | os.PathLike[str], mmap: bool = True) -> np.ndarray:
    """The array in an IDX file. A raw file is memory-mapped read-only (unless ``mmap=False``); a gzip-compressed
    one (recognised by its content) is decompressed into memory. The header's sizes are checked against the file's
    real (decompressed) length before anything is allocated. Multi-byte types are converted to native byte order;
    float data must be finite.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> fnn.data.write_idx(path, np.array([7, 2, 1], np.uint8))
    >>> fnn.data.read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = as_path(path, "read_idx")
    with open_input(path, _EXPECTED) as handle:
        stream, compressed = maybe_gunzip(handle)
        with decompression_errors(path, _EXPECTED):
            dtype, dims, header_size, data_bytes = _sized_header(handle, stream, compressed, path)
            if compressed:
                data = read_exactly(stream, data_bytes + 1)
                if len(data) != data_bytes:
                    raise _size_error(path, dtype, dims, data_bytes, None if len(data) > data_bytes else len(data), True)
                return _finite(_native(np.frombuffer(data, dtype=dtype).reshape(dims)), path)
        if mmap and dtype.itemsize == 1:
            return np.memmap(path, dtype=dtype, mode="r", offset=header_size, shape=dims)
        handle.seek(header_size)
        array = np.fromfile(handle, dtype=dtype, count=math.prod(dims))
        if array.size != math.prod(dims):  # the file shrank after it was measured
            raise _size_error(path, dtype, dims, data_bytes, array.nbytes, False)
        return _finite(_native(array.reshape(dims)), path)


def read_idx_scaled(
    path: str | os.PathLike[str], divisor: float = 255, dtype: DTypeLike = np.float32, chunk_bytes: int = 1 << 22
) -> np.ndarray:
    """The array in an IDX file as flat float rows ``values / divisor``, converted a few MB at a time, so the
    integers are never all in memory beside the floats (a gzip file is decompressed as a stream). The header's
    sizes are checked (against the file's length for a raw file) before the rows are allocated.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "images-idx3-ubyte")
    >>> write_idx(path, np.array([[[0, 51], [102, 255]]], np.uint8))
    >>> read_idx_scaled(path)
    array([[0. , 0.2, 0.4, 1. ]], dtype=float32)
    """
    path = as_path(path, "read_idx_scaled")
    float_type: np.dtype[Any] = np.dtype(dtype)
    with open_input(path, _EXPECTED) as handle:
        stream, compressed = maybe_gunzip(handle)
        with decompression_errors(path, _EXPECTED):
            source, dims, _, data_bytes = _sized_header(handle, stream, compressed, path)
            rows, width = dims[0], math.prod(dims[1:])
            require_memory(rows * width * float_type.itemsize, f"{path} ({_shape_text(dims)} as {float_type.name})")
            out = np.empty((rows, width), float_type)
            flat = out.reshape(-1)
            step = max(chunk_bytes // source.itemsize, 1) * source.itemsize
            filled = got = 0
            while got < data_bytes:
                wanted = min(step, data_bytes - got)
                block = read_exactly(stream, wanted)
                got += len(block)
                values = np.frombuffer(block, dtype=source, count=len(block) // source.itemsize)
                with np.errstate(over="ignore", invalid="ignore"):  # a value out of range is reported below
                    flat[filled : filled + len(values)] = values
                filled += len(values)
                if len(block) < wanted:
                    break
            if got != data_bytes or stream.read(1):
                raise _size_error(path, source, dims, data_bytes, got if got != data_bytes else None, compressed)
    with np.errstate(over="ignore", invalid="ignore"):
        out /= float_type.type(divisor)
    out.flags.writeable = False
    return _finite(out, path, f" as {float_type.name} after dividing by {divisor}")


def write_idx(path: str | os.PathLike[str], array: ArrayLike, overwrite: bool = False) -> None:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``), atomically; a file already at
    ``path`` is refused unless ``overwrite``.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx2-int")
    >>> fnn.data.write_idx(path, np.array([[1, -2]], np.int16))
    >>> open(path, "rb").read().hex()  # magic 0x00000B02 (int16, 2 dims), sizes 1 and 2, then the values
    '00000b0200000001000000020001fffe'
    """
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise FnnInputError(f"write_idx: IDX has no type for dtype {array.dtype}; use one of uint8, int8, int16, int32, float32, float64.")
    payload = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += array.astype(IDX_TYPES[code], copy=False).tobytes()
    path = os.fspath(path)
    if not overwrite and os.path.lexists(path):
        raise FnnInputError(f"write_idx: {path} already exists; pass overwrite=True to replace it.")
    descriptor, temporary = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=os.path.dirname(path) or ".")
    try:
        with open(descriptor, "wb") as raw, (gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.endswith(".gz") else raw) as handle:
            handle.write(payload)
        if overwrite:
            os.replace(temporary, path)
        else:  # a link is made only where nothing is, so a file that appeared meanwhile is not replaced either
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: the check above stands
                os.replace(temporary, path)
            else:
                os.unlink(temporary)
    except FileExistsError:
        os.unlink(temporary)
        raise FnnInputError(f"write_idx: {path} already exists; pass overwrite=True to replace it.") from None
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
