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

import gzip
import os
import struct
import zlib

import numpy as np

from ..arrays import all_finite, first_non_finite
from ..errors import FnnInputError

__all__ = ["read_idx", "read_idx_scaled", "write_idx", "IDX_TYPES"]

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}


def _parse_header(head, path):
    if len(head) < 4:
        raise FnnInputError(f"{path}: not an IDX file: only {len(head)} bytes, too short for the 4-byte magic number.")
    zero, code, ndim = struct.unpack(">HBB", head[:4])
    if zero != 0 or code not in IDX_TYPES or ndim == 0:
        raise FnnInputError(
            f"{path}: not an IDX file: magic number 0x{head[:4].hex()} (expected 0x0000 then a type code in "
            f"{[hex(c) for c in IDX_TYPES]} and a dimension count; MNIST images are 0x00000803, labels 0x00000801)."
        )
    header_size = 4 + 4 * ndim
    if len(head) < header_size:
        raise FnnInputError(f"{path}: truncated IDX header: {ndim} dimensions need {header_size} bytes, the file has {len(head)}.")
    dims = struct.unpack(f">{ndim}I", head[4:header_size])
    return np.dtype(IDX_TYPES[code]), dims, header_size


def _check_size(path, dtype, dims, header_size, total):
    expected = header_size + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if expected != total:
        raise FnnInputError(
            f"{path}: the IDX header says {'x'.join(map(str, dims))} values of {dtype.name} "
            f"({expected - header_size} bytes of data) but the file holds {total - header_size}; it is truncated or "
            f"not what its header claims."
        )


def _finite(array, path):
    """Float data must be finite; integers always are."""
    if not all_finite(array):
        where = first_non_finite(array)
        raise FnnInputError(f"{path}: values must be finite; found {array[where]} at index {where}.")
    return array


def read_idx(path, mmap=True):
    """The array in an IDX file. A raw file is memory-mapped read-only (unless ``mmap=False``); a ``.gz`` file is
    decompressed into memory. Multi-byte types are converted to native byte order; float data must be finite."""
    path = os.fspath(path)
    if path.endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                content = handle.read()
        except FileNotFoundError:
            raise
        except (EOFError, OSError, zlib.error) as error:
            raise FnnInputError(f"{path}: cannot be decompressed ({error}); the download is probably truncated.") from None
        dtype, dims, header_size = _parse_header(content[:4 + 4 * 255], path)
        _check_size(path, dtype, dims, header_size, len(content))
        array = np.frombuffer(content, dtype=dtype, offset=header_size).reshape(dims)
        array = array.astype(dtype.newbyteorder("="), copy=False)
        array.flags.writeable = False
        return _finite(array, path)
    with open(path, "rb") as handle:
        head = handle.read(4 + 4 * 255)
    dtype, dims, header_size = _parse_header(head, path)
    _check_size(path, dtype, dims, header_size, os.path.getsize(path))
    if mmap and dtype.itemsize == 1:
        return np.memmap(path, dtype=dtype, mode="r", offset=header_size, shape=dims)
    with open(path, "rb") as handle:
        handle.seek(header_size)
        array = np.fromfile(handle, dtype=dtype).reshape(dims)
    array = array.astype(dtype.newbyteorder("="), copy=False)
    array.flags.writeable = False
    return _finite(array, path)


def read_idx_scaled(path, divisor=255, dtype=np.float32, chunk_bytes=1 << 22):
    """The array in an IDX file as flat float rows ``values / divisor``, converted a few MB at a time, so the
    integers are never all in memory beside the floats (a gzip file is decompressed as a stream)."""
    path = os.fspath(path)
    dtype = np.dtype(dtype)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            head = handle.read(4 + 4 * 255)
            source, dims, header_size = _parse_header(head, path)
            rows, width = dims[0], int(np.prod(dims[1:], dtype=np.int64))
            out = np.empty((rows, width), dtype)
            flat = out.reshape(-1)
            pending = head[header_size:]
            filled = 0
            step = max(chunk_bytes // source.itemsize, 1) * source.itemsize
            while filled < flat.size:
                block = pending + handle.read(step)
                pending = b""
                usable = len(block) - len(block) % source.itemsize
                if usable == 0:
                    break
                values = np.frombuffer(block[:usable], dtype=source)
                count = min(len(values), flat.size - filled)
                flat[filled : filled + count] = values[:count]
                filled += count
                pending = block[usable:]
            if filled != flat.size or handle.read(1):
                raise FnnInputError(
                    f"{path}: the IDX header says {'x'.join(map(str, dims))} values of {source.name} but the file "
                    f"holds {'fewer' if filled != flat.size else 'more'}; it is truncated or not what its header claims."
                )
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise FnnInputError(f"{path}: cannot be decompressed ({error}); the download is probably truncated.") from None
    out /= dtype.type(divisor)
    out.flags.writeable = False
    return _finite(out, path)


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``), atomically."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise FnnInputError(f"write_idx: IDX has no type for dtype {array.dtype}; use one of uint8, int8, int16, int32, float32, float64.")
    payload = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += array.astype(IDX_TYPES[code], copy=False).tobytes()
    path = os.fspath(path)
    temporary = f"{path}.tmp-{os.getpid()}"
    with (gzip.open(temporary, "wb") if path.endswith(".gz") else open(temporary, "wb")) as handle:
        handle.write(payload)
    os.replace(temporary, path)
