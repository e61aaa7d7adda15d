"""Checks of user data against a network, each failing with a message that names the argument.

Run once per call of a public function (or once per data set in ``fit``), never inside the per-step hot path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fnn.arrays import all_finite, describe, first_non_finite, is_sparse, real_array
from fnn.core.params import Params
from fnn.data.lazy import ScaledRows
from fnn.errors import Described, bad_argument


def check_params(params: object, function: str) -> Params:
    """``params`` itself if it is a :class:`fnn.Params`; the error naming ``function`` otherwise."""
    if not isinstance(params, Params):
        raise bad_argument(function, "params", "fnn.Params (from fnn.init_params)", describe(params))
    return params


def check_features(
    params: Params, x: object, function: str, name: str = "x", check_finite: bool = True
) -> np.ndarray | ScaledRows:
    """``x`` as a 2-D array of the params' float dtype with one column per network input.

    Any real array-like (lists, int or float arrays, pandas frames) is converted once to that dtype; a SciPy sparse
    matrix becomes :class:`ScaledRows`, densified one batch at a time.
    """
    n_inputs = params.spec.sizes[0]
    if is_sparse(x):
        return _sparse_rows(params, x, function, name)
    if not isinstance(x, ScaledRows):
        x = real_array(x, function, name, params.dtype)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise bad_argument(function, name, f"a 2-D array of shape (n, {n_inputs}) (samples in rows)", describe(x))
    if x.dtype != params.dtype:  # ScaledRows of another dtype
        raise bad_argument(function, name, f"rows of the params' dtype {params.dtype}", Described(repr(x)))
    if check_finite and isinstance(x, np.ndarray) and not all_finite(x):
        bad = first_non_finite(x)
        raise bad_argument(function, name, "finite values", Described(f"{x[bad]} at index {bad}"))
    return x


def _sparse_rows(params: Params, x: Any, function: str, name: str) -> ScaledRows:
    n_inputs = params.spec.sizes[0]
    if len(x.shape) != 2 or x.shape[1] != n_inputs:
        raise bad_argument(function, name, f"a 2-D array of shape (n, {n_inputs}) (samples in rows)", Described(f"a sparse matrix of shape {x.shape}"))
    x = x.tocsr()
    stored = real_array(x.data, function, name)
    if not all_finite(stored):
        raise bad_argument(function, name, "finite values", Described("a sparse matrix holding NaN or infinity"))
    return ScaledRows(x, 1, params.dtype)


def prepare_targets(params: Params, y: object, n: int, function: str, name: str = "y") -> np.ndarray:
    """Check ``y`` for ``n`` samples and put it in the form the loss computes with.

    Integer class labels stay integers (no dense one-hot) when the network has several outputs; a single output
    gets a float column of the params' dtype (labels 0/1 for a classifier, any integers for a regression); float
    targets must have one column per output, rows of probabilities for cross-entropy, values in [0, 1] for binary
    cross-entropy.
    """
    spec = params.spec
    n_outputs = spec.sizes[-1]
    y = real_array(y, function, name)
    if len(y) != n:
        raise bad_argument(function, name, f"{n} labels or targets (one per row of x)", describe(y))
    if y.dtype.kind in "iu" and n_outputs == 1 and not spec.is_classifier and y.ndim == 1:
        return y.astype(params.dtype).reshape(n, 1)  # a regression's integer targets are numbers, not classes
    if y.dtype.kind in "iub":
        if y.ndim != 1:
            raise bad_argument(function, name, "a 1-D array of integer class labels", describe(y))
        if not spec.loss.class_labels:
            raise bad_argument(function, name, f"float targets for the loss {spec.loss.name!r}", describe(y))
        n_classes = max(n_outputs, 2)
        if n and (y.min() < 0 or y.max() >= n_classes):
            raise bad_argument(
                function, name, f"class labels in 0..{n_classes - 1}", Described(f"labels in {y.min()}..{y.max()}")
            )
        return y.astype(np.int64, copy=False) if n_outputs > 1 else y.astype(params.dtype).reshape(n, 1)
    if y.dtype.kind != "f":
        raise bad_argument(function, name, "integer labels or float targets", describe(y))
    if y.ndim == 1 and n_outputs == 1:
        y = y.reshape(n, 1)
    if y.ndim != 2 or y.shape[1] != n_outputs:
        hint = " (or a 1-D array of integer class labels)" if spec.loss.class_labels and n_outputs > 1 else ""
        raise bad_argument(function, name, f"float targets of shape ({n}, {n_outputs}){hint}", describe(y))
    if not all_finite(y):
        bad = first_non_finite(y)
        raise bad_argument(function, name, "finite targets", Described(f"{y[bad]} at index {bad}"))
    _check_target_values(spec.loss.name, y, function, name)
    return y.astype(params.dtype, copy=False)


# How far a cross-entropy target row may sum from 1: generous for float32 rounding and label smoothing, far below
# any real mistake (percentages, unnormalised scores, an all-zero row).
_PROBABILITY_SUM_TOLERANCE = 1e-3


def _refuse_first(wrong: np.ndarray, y: np.ndarray, function: str, name: str, expected: str) -> None:
    """Refuse ``y`` where ``wrong`` marks a value, naming the first such value and its index."""
    if wrong.any():
        bad = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise bad_argument(function, name, expected, Described(f"{y[bad]} at index {bad}"))


def _check_target_values(loss_name: str, y: np.ndarray, function: str, name: str) -> None:
    """Cross-entropy targets are probability distributions; binary cross-entropy targets lie in [0, 1]."""
    if loss_name == "binary_cross_entropy":
        _refuse_first((y < 0) | (y > 1), y, function, name, "binary cross-entropy targets in [0, 1] (0/1 labels or probabilities)")
    elif loss_name == "cross_entropy":
        _refuse_first(y < 0, y, function, name, "cross-entropy target rows that are probability distributions (no negative entry)")
        sums = y.sum(axis=1, dtype=np.float64)
        off = np.abs(sums - 1) > _PROBABILITY_SUM_TOLERANCE
        if off.any():
            row = int(np.argmax(off))
            raise bad_argument(
                function,
                name,
                f"cross-entropy target rows that are probability distributions (each summing to 1 within "
                f"{_PROBABILITY_SUM_TOLERANCE})",
                Described(f"row {row} summing to {sums[row]:.6g}"),
            )


def check_batch(params: object, batch: Any, function: str) -> tuple[np.ndarray | ScaledRows, np.ndarray]:
    """Unpack and check ``batch = (x, y)``; returns ``(x, y)`` with ``y`` prepared for the loss."""
    params = check_params(params, function)
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise bad_argument(function, "batch", "a pair (x, y)", describe(batch))
    x, y = batch
    x = check_features(params, x, function, "batch[0] (x)")
    return x, prepare_targets(params, y, len(x), function, "batch[1] (y)")


def class_labels_of(y: np.ndarray) -> np.ndarray:
    """Class indices from prepared targets: labels as they are, argmax of one-hot rows, 0/1 of a single column."""
    if y.ndim == 1:
        return y
    if y.shape[1] == 1:
        return (y[:, 0] > 0.5).astype(np.int64)
    return y.argmax(axis=1)
