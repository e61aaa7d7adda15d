"""Read-only arrays, their short descriptions and equality: the leaves that fnn's records hold."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from fnn.errors import Described, bad_argument

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def readonly(value: Any, dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """Return ``value`` as a read-only ndarray, copying unless nobody can write it through another name.

    An array that is read-only, of ``dtype`` (if given), and whose bases are all read-only comes back as is, so
    rebuilding a record with ``attrs.evolve`` costs nothing; a writable array, or a read-only view of one, is
    copied, so what the caller keeps writing stays theirs.

    >>> a = readonly([1.0, 2.0])
    >>> a.flags.writeable, readonly(a) is a
    (False, True)
    >>> base = np.zeros(2); view = base.view(); view.flags.writeable = False
    >>> kept = readonly(view); base[0] = 42.0
    >>> kept.tolist(), kept is view
    ([0.0, 0.0], False)
    """
    if isinstance(value, np.ndarray) and _unwritable(value) and (dtype is None or value.dtype == dtype):
        return value
    array = np.array(value, dtype=dtype, copy=True)
    array.flags.writeable = False
    return array


def _unwritable(array: np.ndarray) -> bool:
    """Whether no one can change ``array``'s values: it and every array or buffer it views are read-only."""
    current: Any = array
    while isinstance(current, np.ndarray):
        if current.flags.writeable:
            return False
        current = current.base
    return current is None or isinstance(current, bytes) or (isinstance(current, memoryview) and current.readonly)


def freeze_new(array: np.ndarray) -> np.ndarray:
    """Mark an array this process just created (and nobody else holds) read-only, without a copy."""
    array.flags.writeable = False
    return array


def arrays_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Exact equality of two arrays: same shape, same dtype, same values (NaN equal to NaN)."""
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def shape_str(array: np.ndarray) -> str:
    """``float32[784,256]``: dtype and shape, the way a record shows an array.

    >>> shape_str(np.zeros((2, 3), np.float32))
    'float32[2,3]'
    """
    return f"{array.dtype}[{','.join(map(str, array.shape))}]"


def describe(value: Any) -> Described:
    """Say what a value is, for an error message: shape and dtype for arrays, the type otherwise."""
    if isinstance(value, np.ndarray):
        return Described(f"an array of dtype {value.dtype} and shape {value.shape}")
    return Described(f"a {type(value).__name__}")


def is_sparse(value: Any) -> bool:
    """Whether ``value`` is a SciPy sparse matrix or array (told without importing SciPy)."""
    return type(value).__module__.startswith("scipy.sparse") and hasattr(value, "tocsr")


def real_array(value: Any, function: str, name: str, dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """``value`` as an ndarray of real numbers, converted once to ``dtype`` if given: the one door every public
    function's data goes through. Arrays of any int, bool or float dtype, nested lists and pandas frames and series
    are accepted; text, complex numbers, objects, ragged lists and sparse matrices are refused, naming ``name``.

    >>> real_array([[1, 2], [3, 4]], "predict", "x", np.float32)
    array([[1., 2.],
           [3., 4.]], dtype=float32)
    >>> real_array(["a", "b"], "fit", "y")
    Traceback (most recent call last):
    fnn.errors.FnnInputError: The 'y' argument of fnn.fit must be real numbers (ints or floats). Got an array of dtype <U1 and shape (2,) instead.
    """
    if is_sparse(value):
        raise bad_argument(function, name, "a dense array (sparse input: call .toarray())", describe(value))
    array = value
    if not isinstance(value, np.ndarray):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            raise bad_argument(
                function, name, "a rectangular array of real numbers (every row of the same length)", describe(value)
            ) from None
    if array.dtype.kind not in "biuf":
        raise bad_argument(function, name, "real numbers (ints or floats)", describe(array))
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def as_float_dtype(dtype: npt.DTypeLike, function: str = "init_params", name: str = "dtype") -> np.dtype:
    """Normalise a dtype argument to float32 or float64, the two fnn computes in."""
    try:  # a name in any case, as the run setting reads it: "Float64" is float64
        resolved = np.dtype(dtype.strip().lower() if isinstance(dtype, str) else dtype)
    except TypeError:
        raise bad_argument(function, name, "float32 or float64", dtype) from None
    if resolved not in FLOAT_DTYPES:
        raise bad_argument(function, name, "float32 or float64", dtype)
    return resolved


def all_finite(array: np.ndarray) -> bool:
    """Whether every value of a float array is finite, without a boolean temporary the size of the array.

    ``min`` and ``max`` propagate NaN and show an infinity, so two passes in place answer it (``np.isfinite(x).all()``
    would allocate 47 MB for the Fashion-MNIST training images).

    >>> all_finite(np.array([1.0, 2.0])), all_finite(np.array([1.0, np.nan])), all_finite(np.zeros((0, 3)))
    (True, False, True)
    """
    if array.dtype.kind != "f" or array.size == 0:
        return True
    return bool(np.isfinite(array.min()) and np.isfinite(array.max()))


def first_non_finite(array: np.ndarray, rows: int = 4096) -> tuple[int, ...] | None:
    """The index tuple of the first NaN or infinity in ``array`` (None if all are finite), scanning in blocks of
    rows so that no full-size temporary is made."""
    for start in range(0, len(array), rows):
        block = array[start : start + rows]
        bad = np.argwhere(~np.isfinite(block))
        if len(bad):
            return (start + int(bad[0][0]), *(int(i) for i in bad[0][1:]))
    return None
