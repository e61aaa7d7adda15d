"""The classic ``mnist.pkl.gz``: a pickled tuple of (train, validation, test) pairs of (images, labels) arrays.

Pickle can run arbitrary code, so this file is read with an unpickler that allows only what numpy arrays are
made of and refuses anything else before it runs. The widely shared file was written by Python 2, so it is read
with ``encoding="latin1"`` (which also reads Python 3 pickles of arrays).
"""

import gzip
import importlib
import io
import os
import pickle
import zlib

import numpy as np

from ..errors import FnnInputError
from .dataset import Dataset
from .transforms import check_finite_features

__all__ = ["load_mnist_pickle", "safe_unpickle", "ALLOWED_GLOBALS"]

ALLOWED_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)
"""The only (module, name) pairs a pickle may refer to: what ndarrays, dtypes and Python-3 bytes are built from."""


_NUMPY_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def __init__(self, file, source):
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise FnnInputError(
                f"{self._source}: refused to unpickle {module}.{name}: only numpy arrays are allowed in this file "
                f"(a pickle can run code; this one asks for something that is not an array)."
            )
        if module.startswith("numpy.core") and _NUMPY_2:  # numpy 2 moved numpy.core to numpy._core
            module = "numpy._core" + module[len("numpy.core") :]
        return getattr(importlib.import_module(module), name)


def safe_unpickle(data, source="<bytes>"):
    """Unpickle ``data`` allowing numpy arrays only."""
    try:
        return _ArraysOnlyUnpickler(io.BytesIO(data), source).load()
    except FnnInputError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
        raise FnnInputError(f"{source}: not a readable pickle of arrays ({type(error).__name__}: {error}).") from None


def _pair(pair, part, path):
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(a, np.ndarray) for a in pair)):
        raise FnnInputError(f"{path}: the {part} part must be a pair (images, labels) of arrays.")
    images, labels = pair
    if images.ndim != 2 or labels.ndim != 1 or len(images) != len(labels):
        raise FnnInputError(f"{path}: the {part} part must hold (n, d) images and n labels; got {images.shape} and {labels.shape}.")
    return images, labels


def load_mnist_pickle(path, dtype=np.float32):
    """``(train, validation, test)`` Datasets from ``mnist.pkl.gz`` (or an uncompressed ``.pkl``)."""
    path = os.fspath(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except FileNotFoundError:
        raise FnnInputError(f"{path}: no such file.") from None
    except (EOFError, OSError, zlib.error) as error:
        raise FnnInputError(f"{path}: cannot be decompressed ({error}); the file is probably truncated.") from None
    parts = safe_unpickle(data, path)
    if not (isinstance(parts, (tuple, list)) and len(parts) == 3):
        raise FnnInputError(f"{path}: expected a tuple (train, validation, test); got {type(parts).__name__}.")
    classes = tuple(str(i) for i in range(10))
    out = []
    for part, pair in zip(("train", "validation", "test"), parts):
        images, labels = _pair(pair, part, path)
        check_finite_features(images, f"{path} ({part} images)")
        out.append(Dataset(images.astype(dtype), labels.astype(np.int64), classes, f"mnist-pkl[{part}]"))
    return tuple(out)
