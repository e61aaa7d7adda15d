"""Rows scaled on demand: a data set kept as its raw integers (in memory or memory-mapped from disk) and turned
into float rows one mini-batch at a time, so a data set larger than memory still trains and no float copy of the
whole set is ever made.

>>> raw = np.array([[0, 255], [51, 102]], np.uint8)
>>> rows = ScaledRows(raw, 255, np.float32)
>>> rows.shape, rows.dtype, rows[np.array([1])].tolist()
((2, 2), dtype('float32'), [[0.20000000298023224, 0.4000000059604645]])
"""

import numpy as np

__all__ = ["ScaledRows", "take_rows"]


class ScaledRows:
    """A read-only 2-D view of ``raw`` (n, ...) as float rows ``raw / divisor``, gathered lazily by index.

    Indexing with an int array or a slice gives an ordinary ndarray of just those rows; :meth:`rows` gives another
    lazy view. Values equal ``raw.reshape(n, -1).astype(dtype) / divisor`` exactly.
    """

    __slots__ = ("raw", "divisor", "dtype", "index", "shape")

    def __init__(self, raw, divisor, dtype=np.float32, index=None):
        self.raw = raw
        self.divisor = divisor
        self.dtype = np.dtype(dtype)
        self.index = index
        n = len(raw) if index is None else len(index)
        self.shape = (n, int(np.prod(raw.shape[1:], dtype=np.int64)))

    ndim = 2
    finite = True  # integers scaled by a positive number are always finite

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"ScaledRows({self.raw.dtype}{list(self.raw.shape)} / {self.divisor} -> {self.dtype}[{self.shape[0]},{self.shape[1]}])"

    def _source_index(self, key):
        if self.index is None:
            return key
        return self.index[key]

    def __getitem__(self, key):
        if isinstance(key, tuple):
            raise TypeError("ScaledRows supports row indexing only: rows[index] or rows[start:stop]")
        picked = self.raw[self._source_index(key)]
        picked = picked.reshape(len(picked), -1) if picked.ndim > 1 else picked.reshape(1, -1)
        out = picked.astype(self.dtype)
        out /= self.dtype.type(self.divisor)
        return out

    def rows(self, index):
        """A lazy view of the rows at ``index``."""
        index = np.asarray(index)
        return ScaledRows(self.raw, self.divisor, self.dtype, index if self.index is None else self.index[index])

    def __array__(self, dtype=None, copy=None):
        out = self[slice(None)]
        return out if dtype is None else out.astype(dtype)


def take_rows(x, index):
    """Rows of ``x`` at ``index``: a lazy view for :class:`ScaledRows`, an ordinary gather for arrays."""
    return x.rows(index) if isinstance(x, ScaledRows) else x[index]
