"""Files the loader tests write: valid IDX, CSV and mnist.pkl.gz contents, and pickles as Python 2 wrote them."""

import gzip
import io
import pickle
import struct

import numpy as np


def idx_bytes(array):
    """The IDX encoding of ``array`` (uint8, int8, int16, int32, float32 or float64)."""
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    array = np.asarray(array)
    code = codes[array.dtype.str[1:]]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def idx_header(code, dims):
    return struct.pack(">HBB", 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


class Python2Pickler(pickle._Pickler):
    """Writes bytes the way Python 2 wrote its ``str`` (SHORT_BINSTRING/BINSTRING), and strings as Python 2's
    numpy wrote a dtype's code and byte order, so the result is laid out as the classic ``mnist.pkl.gz``."""

    dispatch = pickle._Pickler.dispatch.copy()

    def write_py2_str(self, data):
        if self.proto == 0:  # a quoted, escaped STRING line, as Python 2 wrote its str in protocol 0
            self.write(b"S" + repr(data)[1:].encode("ascii") + b"\n")
        elif len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)

    def save_py2_str(self, obj):
        self.write_py2_str(obj)
        self.memoize(obj)

    def save_ascii_as_py2_str(self, obj):
        if len(obj) <= 3 and obj.isascii():  # dtype codes ('f4') and byte orders ('<'): Python 2 str
            self.write_py2_str(obj.encode("ascii"))
        else:
            pickle._Pickler.save_str(self, obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_ascii_as_py2_str


def python2_pickle(obj, protocol=2):
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=protocol).dump(obj)
    # Python 2's numpy lived in numpy.core; GLOBAL opcodes are newline-terminated text, so renaming is safe.
    return buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def mnist_parts(sizes=(30, 10, 10), seed=0):
    rng = np.random.default_rng(seed)
    return tuple(
        ((rng.integers(0, 256, (n, 784)) / 256).astype(np.float32), rng.integers(0, 10, n).astype(np.int64)) for n in sizes
    )


def mnist_pickle_gz(parts=None, protocol=2):
    return gzip.compress(python2_pickle(parts if parts is not None else mnist_parts(), protocol), mtime=0)


def kaggle_csv(pixels, labels):
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    return "\n".join([header] + [",".join(map(str, [label, *row])) for label, row in zip(labels, pixels)]) + "\n"
