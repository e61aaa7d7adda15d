"""Rows scaled on demand: a data set kept as its raw integers (in memory or memory-mapped from disk) and turned
into float rows one mini-batch at a time, so a data set larger than memory still trains and no float copy of the
whole set is ever made.

>>> raw = np.array([[0, 255], [51, 102]], np.uint8)
>>> rows = ScaledRows(raw, 255, np.float32)
>>> rows.shape, rows.dtype, rows[np.array([1])].tolist()
((2, 2), dtype('float32'), [[0.20000000298023224, 0.4000000059604645]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike


class ScaledRows:
    """A read-only 2-D view of ``raw`` (n, ...) as float rows ``raw / divisor``, gathered lazily by index;
    ``raw`` may be a SciPy CSR matrix, whose rows are made dense only as they are gathered.

    Indexing with an int array or a slice gives an ordinary ndarray of just those rows; :meth:`rows` gives another
    lazy view. Values equal ``raw.reshape(n, -1).astype(dtype) / divisor`` exactly.

    >>> rows = fnn.data.ScaledRows(np.arange(6, dtype=np.uint8).reshape(3, 2), 5)
    >>> rows[1:], rows.rows([2, 0])[0]
    (array([[0.4, 0.6],
           [0.8, 1. ]], dtype=float32), array([[0.8, 1. ]], dtype=float32))
    """

    __slots__ = ("raw", "divisor", "dtype", "index", "shape")

    def __init__(
        self, raw: np.ndarray, divisor: float, dtype: DTypeLike = np.float32, index: np.ndarray | None = None
    ) -> None:
        self.raw = raw
        self.divisor = divisor
        self.dtype: np.dtype[Any] = np.dtype(dtype)
        self.index = index
        n = raw.shape[0] if index is None else len(index)
        self.shape = (n, int(np.prod(raw.shape[1:], dtype=np.int64)))

    ndim = 2
    finite = True  # integers scaled by a positive number are always finite

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"ScaledRows({self.raw.dtype}{list(self.raw.shape)} / {self.divisor} -> {self.dtype}[{self.shape[0]},{self.shape[1]}])"

    def _source_index(self, key: Any) -> Any:
        if self.index is None:
            return key
        return self.index[key]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            raise TypeError("ScaledRows supports row indexing only: rows[index] or rows[start:stop]")
        picked = self.raw[self._source_index(key)]
        if hasattr(picked, "toarray"):  # a SciPy sparse matrix: only these rows are made dense
            picked = picked.toarray()
        picked = picked.reshape(len(picked), -1) if picked.ndim > 1 else picked.reshape(1, -1)
        out = picked.astype(self.dtype)
        out /= self.dtype.type(self.divisor)
        return out

    def rows(self, index: Any) -> ScaledRows:
        """A lazy view of the rows at ``index``.

        >>> fnn.data.ScaledRows(np.array([[2], [4], [8]], np.uint8), 8).rows([2, 1])
        ScaledRows(uint8[3, 1] / 8 -> float32[2,1])
        """
        index = np.asarray(index)
        return ScaledRows(self.raw, self.divisor, self.dtype, index if self.index is None else self.index[index])

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        out = self[slice(None)]
        return out if dtype is None else out.astype(dtype)


def take_rows(x: np.ndarray | ScaledRows, index: Any) -> np.ndarray | ScaledRows:
    """Rows of ``x`` at ``index``: a lazy view for :class:`ScaledRows`, an ordinary gather for arrays."""
    return x.rows(index) if isinstance(x, ScaledRows) else x[index]
