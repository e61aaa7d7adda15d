"""Metrics over whole data sets, evaluated in batches so memory stays bounded: accuracy, loss, confusion, R^2.

Data may be any real array-like (lists, int or float arrays, pandas frames and series, SciPy sparse matrices); it is
converted once to the params' dtype (:func:`fnn.arrays.real_array`), a sparse matrix one batch at a time.

>>> params = fnn.init_params(fnn.network([2, 4, 3]), seed=0)
>>> x, y = np.zeros((5, 2), np.float32), np.array([0, 1, 2, 1, 0])
>>> m = fnn.evaluate(params, x, y)
>>> sorted(m), 0 <= m["accuracy"] <= 1
(['accuracy', 'loss'], True)
>>> counted = fnn.evaluate(params, x, y, counts=True)             # Nielsen's evaluate: how many are right
>>> counted["correct"] == round(counted["accuracy"] * 5), counted["samples"]
(True, 5)
>>> fnn.predict(params, np.zeros(2, np.float32)).shape           # one sample as a 1-D array: one row back
(3,)
>>> fnn.confusion_matrix([0, 1, 1], [0, 1, 0], n_classes=2).tolist()
[[1, 0], [1, 1]]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from fnn.arrays import describe, is_sparse, real_array
from fnn.core.losses import sample_weights
from fnn.core.network import forward_trace, forward_unchecked, loss_value
from fnn.core.params import Params
from fnn.core.scores import Metric, get_metrics, r2_score
from fnn.core.validate import check_features, check_params, class_labels_of, prepare_targets
from fnn.data.lazy import ScaledRows
from fnn.errors import bad_argument
from fnn.values import bool_check, from_numpy, number_check, optional_check, read_argument

_BATCH_SIZE, _COUNTS, _N_CLASSES = (from_numpy(check) for check in (number_check(low=1, whole=True), bool_check,
                                                                     optional_check(number_check(low=1, whole=True))))


def _outputs(params: Params, x: Any, batch_size: int) -> np.ndarray:
    # max(.., 1): zero rows give the network's (0, outputs), as one empty batch
    return np.concatenate(
        [forward_unchecked(params, x[start : start + batch_size]) for start in range(0, max(len(x), 1), batch_size)]
    )


def _one_sample(params: Params, x: Any, function: str) -> tuple[Any, bool]:
    """``x`` as rows, and whether it was one sample given as a 1-D array (of one value per network input)."""
    if not isinstance(x, ScaledRows) and not is_sparse(x):
        x = real_array(x, function, "x", params.dtype)
    if isinstance(x, np.ndarray) and x.ndim == 1:
        n_inputs = params.spec.sizes[0]
        if len(x) != n_inputs:
            raise bad_argument(
                function, "x", f"one sample of {n_inputs} values as a 1-D array, or samples in the rows of a 2-D "
                f"array (n, {n_inputs}); for {len(x)} samples of one value use x.reshape(-1, 1)", describe(x)
            )
        return x.reshape(1, -1), True
    return x, False


BATCH_SIZE = 1024
"""Rows per forward pass when a network predicts or scores (``fnn predict --batch-size``): memory stays bounded."""


def predict(params: Params, x: Any, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The network's outputs for every row of ``x``, computed ``batch_size`` rows at a time: an array
    ``(n, outputs)``. One sample given as a 1-D array of the network's input size gives its one output row,
    ``(outputs,)``, as the tutorials' ``predict(x)`` does.

    >>> params = fnn.init_params(fnn.network([2, 3]), seed=0)
    >>> fnn.predict(params, np.zeros((4, 2), np.float32)).sum(axis=1)  # softmax rows
    array([1., 1., 1., 1.], dtype=float32)
    """
    return _predict(params, x, batch_size, "predict")


def _predict(params: Params, x: Any, batch_size: int, function: str) -> np.ndarray:
    params = check_params(params, function)
    batch_size = read_argument(function, "batch_size", _BATCH_SIZE, batch_size)
    x, single = _one_sample(params, x, function)
    outputs = _outputs(params, check_features(params, x, function), batch_size)
    return outputs[0] if single else outputs


def classes_from_outputs(outputs: np.ndarray) -> np.ndarray:
    """Predicted class per row: the argmax, or ``output > 0.5`` for a single sigmoid output."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > 0.5).astype(np.int64)
    return outputs.argmax(axis=1)


def predict_classes(params: Params, x: Any, batch_size: int = BATCH_SIZE) -> np.ndarray | int:
    """The predicted class of every row of ``x`` (an int array); of one sample given as a 1-D array, one int.

    >>> params = fnn.init_params(fnn.network([1, 1], output="sigmoid", init="ones"), seed=0)
    >>> fnn.predict_classes(params, np.array([[-2.0], [3.0]], np.float32))
    array([0, 1])
    >>> fnn.predict_classes(params, np.ones(1, np.float32))  # one sample
    1
    """
    outputs = _predict(params, x, batch_size, "predict_classes")
    if outputs.ndim == 1:
        return int(classes_from_outputs(outputs.reshape(1, -1))[0])
    return classes_from_outputs(outputs)


def accuracy(params: Params, x: Any, y: Any, batch_size: int = BATCH_SIZE) -> float:
    """The fraction of rows of ``x`` whose predicted class is ``y``'s (labels, one-hot rows or 0/1 targets).

    >>> params = fnn.init_params(fnn.network([1, 1], output="sigmoid", init="ones"), seed=0)
    >>> fnn.accuracy(params, np.array([[-2.0], [3.0]], np.float32), np.array([0, 0]))
    0.5
    """
    return _evaluate(params, x, y, batch_size, function="accuracy")["accuracy"]


def mean_loss(params: Params, x: Any, y: Any, batch_size: int = BATCH_SIZE) -> float:
    """The loss over the whole data set (the batch losses weighted by batch size).

    >>> params = fnn.init_params(fnn.network([1, 1], output="identity", init="zeros"), seed=0)
    >>> fnn.mean_loss(params, np.ones((3, 1), np.float32), np.array([1.0, 2.0, 2.0], np.float32))  # mse of 0 against y
    3.0
    """
    return _evaluate(params, x, y, batch_size, function="mean_loss")["loss"]


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """``counts[i, j]``: how many samples of true class ``i`` were predicted as class ``j``.

    >>> fnn.confusion_matrix([0, 2, 2], [0, 2, 1])
    array([[1, 0, 0],
           [0, 0, 0],
           [0, 1, 1]])
    """
    y_true, y_pred = (_labels(labels, name) for labels, name in ((y_true, "y_true"), (y_pred, "y_pred")))
    if y_true.shape != y_pred.shape:
        raise bad_argument("confusion_matrix", "y_pred", f"a 1-D array like y_true {y_true.shape}", y_pred.shape)
    highest = int(max(y_true.max(initial=0), y_pred.max(initial=0)))
    n_classes = read_argument("confusion_matrix", "n_classes", _N_CLASSES, n_classes)
    if n_classes is None:
        n_classes = highest + 1
    elif highest >= n_classes:
        raise bad_argument("confusion_matrix", "n_classes", f"more than the highest label, {highest}", n_classes)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _labels(labels: Any, name: str) -> np.ndarray:
    """Class labels as a 1-D int array: whole numbers >= 0 (``0.0`` as 0), else the error naming ``name``."""
    labels = real_array(labels, "confusion_matrix", name)
    if labels.ndim != 1 or (labels.size and (labels.min() < 0 or not np.array_equal(labels, np.round(labels)))):
        raise bad_argument("confusion_matrix", name, "a 1-D array of class labels (whole numbers >= 0)", describe(labels))
    return labels.astype(np.int64)


def _metric_value(metric: Metric, outputs: np.ndarray, y: np.ndarray, weights: np.ndarray | None, is_classifier: bool,
                  function: str) -> float:
    """``metric`` of a network's ``outputs`` against prepared targets ``y``: a classifier's metric gets the class
    labels and the predicted classes, or with ``needs_proba`` the probabilities (of class 1 for one sigmoid
    output); a regression's gets the targets and the outputs (one column as a 1-D array)."""
    task = "classifier" if is_classifier else "regression"
    if metric.task not in ("any", task):
        raise bad_argument(function, "metrics", f"metrics for a {task} network", metric.name)
    if is_classifier:
        truth = class_labels_of(y)
        predicted = (outputs[:, 0] if outputs.shape[1] == 1 else outputs) if metric.needs_proba else classes_from_outputs(outputs)
    else:
        truth, predicted = (y[:, 0], outputs[:, 0]) if outputs.shape[1] == 1 else (y, outputs)
    return float(metric.function(truth, predicted) if weights is None else metric.function(truth, predicted, sample_weight=weights))


def evaluate(
    params: Params, x: Any, y: Any, batch_size: int = BATCH_SIZE, counts: bool = False, sample_weight: Any = None,
    metrics: Iterable[Metric | str] | str = (),
) -> dict[str, Any]:
    """``{"loss", "accuracy"}`` for a classifier, ``{"loss", "r2"}`` for a regression network, over all of
    ``(x, y)`` in batches. ``counts=True`` adds ``"samples"`` and, for a classifier, ``"correct"``: how many
    predictions were right (the figure Nielsen's ``evaluate`` returns). ``sample_weight`` weighs the samples
    (loss, accuracy, r2 and ``metrics`` are then weighted means); ``metrics`` adds those :mod:`fnn.core.scores`
    metrics by name.

    >>> params = fnn.init_params(fnn.network([1, 2], init="ones"), seed=0)
    >>> x, y = np.array([[-2.0], [3.0], [1.0]], np.float32), np.array([0, 1, 1])
    >>> fnn.evaluate(params, x, y, metrics=["balanced_accuracy"])["balanced_accuracy"]
    0.5

    >>> params = fnn.init_params(fnn.network([1, 1], output="sigmoid", init="ones"), seed=0)
    >>> fnn.evaluate(params, np.array([[-2.0], [3.0]], np.float32), np.array([0, 1]), counts=True)["correct"]
    2
    """
    return _evaluate(params, x, y, batch_size, counts, sample_weight, metrics, "evaluate")


def _evaluate(params: Params, x: Any, y: Any, batch_size: int, counts: bool = False, sample_weight: Any = None,
              metrics: Iterable[Metric | str] | str = (), function: str = "evaluate") -> dict[str, Any]:
    """:func:`evaluate`, its messages naming ``function``, the one the user called."""
    params = check_params(params, function)
    batch_size = read_argument(function, "batch_size", _BATCH_SIZE, batch_size)
    counts = read_argument(function, "counts", _COUNTS, counts)
    x = check_features(params, x, function)
    if not len(x):
        raise bad_argument(function, "x", "at least one sample (a row) to score", describe(x))
    y = prepare_targets(params, y, len(x), function)
    weights = sample_weights(None, len(x), sample_weight, function=function)
    chosen = get_metrics(metrics, function)
    total, batches = 0.0, []
    for start in range(0, len(x), batch_size):
        trace = forward_trace(params, x[start : start + batch_size])
        if weights is None:
            total += loss_value(params, trace, y[start : start + batch_size]) * len(trace.pre[-1])
        else:
            part = weights[start : start + batch_size]
            total += loss_value(params, trace, y[start : start + batch_size], part) * np.sum(part)
        batches.append(trace.post[-1])
    outputs = np.concatenate(batches)
    results: dict[str, Any] = {"loss": total / (len(x) if weights is None else float(np.sum(weights)))}
    if params.spec.is_classifier:
        hits = classes_from_outputs(outputs) == class_labels_of(y)
        correct = int(np.count_nonzero(hits))
        results["accuracy"] = correct / len(x) if weights is None else float(np.average(hits, weights=weights))
        if counts:
            results["correct"] = correct
    else:
        results["r2"] = r2_score(y, outputs, weights)
    for metric in chosen:
        results.setdefault(metric.name, _metric_value(metric, outputs, y, weights, params.spec.is_classifier, function))
    if counts:
        results["samples"] = len(x)
    return results
