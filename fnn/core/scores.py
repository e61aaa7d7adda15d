"""Scores of predictions against the truth, pure NumPy and vectorised, each weighed by ``sample_weight`` if given.

Every score is ``score(y_true, y_pred, sample_weight=None) -> float`` on plain arrays and agrees with scikit-learn's
function of the same name (the tests check it on random data). A :class:`Metric` names a score for training:
whether a higher value is better (so early stopping and sweeps know the direction) and whether it is given
probabilities or predicted classes. :data:`METRICS` holds the built-in ones by name; a function of your own is a
``Metric`` too:

>>> share_of_ones = Metric("share_of_ones", lambda y_true, y_pred: float(np.mean(y_pred == 1)))
>>> get_metric("f1_macro").greater_is_better, get_metric("log_loss").needs_proba, share_of_ones.needs_proba
(True, True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from attrs import field, frozen

from fnn.errors import FnnInputError, bad_argument
from fnn.registry import Registry, frozen_registry, lookup

Array = np.ndarray


def _weights(sample_weight: Any, n: int) -> Array:
    if sample_weight is None:
        return np.ones(n)
    return np.asarray(sample_weight, dtype=np.float64).reshape(n)


def _confusion(y_true: Any, y_pred: Any, sample_weight: Any) -> Array:
    """The weighted confusion matrix over the classes seen in ``y_true`` or ``y_pred`` (sorted)."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    classes = np.union1d(y_true, y_pred)
    k = len(classes)
    t, p = np.searchsorted(classes, y_true), np.searchsorted(classes, y_pred)
    return np.bincount(t * k + p, weights=_weights(sample_weight, len(t)), minlength=k * k).reshape(k, k)


def _ratio(top: Array, bottom: Array) -> Array:
    """``top / bottom``, 0 where ``bottom`` is 0 (scikit-learn's ``zero_division`` default, without its warning)."""
    return np.divide(top, bottom, out=np.zeros_like(top, dtype=np.float64), where=bottom != 0)


def accuracy_score(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """The (weighted) fraction of predictions that are right.

    >>> accuracy_score([0, 1, 1, 0], [0, 1, 0, 0]), accuracy_score([0, 1], [0, 0], sample_weight=[3, 1])
    (0.75, 0.75)
    """
    right = np.asarray(y_true).ravel() == np.asarray(y_pred).ravel()
    return float(np.average(right, weights=_weights(sample_weight, len(right))))


def balanced_accuracy_score(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """The mean recall over the classes present in ``y_true``: accuracy that each class weighs equally.

    >>> balanced_accuracy_score([0, 0, 0, 1], [0, 0, 0, 0])  # right on every 0, never on the 1
    0.5
    """
    counts = _confusion(y_true, y_pred, sample_weight)
    support = counts.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(counts)[present] / support[present]))


def _per_class(y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[Array, Array, Array, Array]:
    """Per-class precision, recall, F1 and (weighted) support."""
    counts = _confusion(y_true, y_pred, sample_weight)
    hits, predicted, support = np.diag(counts), counts.sum(axis=0), counts.sum(axis=1)
    return _ratio(hits, predicted), _ratio(hits, support), _ratio(2 * hits, predicted + support), support


def precision_score(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """Precision averaged over the classes (macro): of the samples predicted as a class, the share that are.

    >>> precision_score([0, 1, 1], [1, 1, 1])  # class 0: never predicted (0); class 1: 2 of 3
    0.3333333333333333
    """
    return float(np.mean(_per_class(y_true, y_pred, sample_weight)[0]))


def recall_score(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """Recall averaged over the classes (macro): of the samples of a class, the share predicted as it.

    >>> recall_score([0, 1, 1], [1, 1, 1])
    0.5
    """
    return float(np.mean(_per_class(y_true, y_pred, sample_weight)[1]))


def f1_macro(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """The F1 score of each class (harmonic mean of its precision and recall), averaged over the classes.

    >>> round(f1_macro([0, 1, 1], [1, 1, 1]), 4)  # class 0: 0; class 1: 2*2/(3+2)
    0.4
    """
    return float(np.mean(_per_class(y_true, y_pred, sample_weight)[2]))


def f1_weighted(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """The F1 score of each class, averaged with the classes' (weighted) support as weights.

    >>> round(f1_weighted([0, 1, 1], [1, 1, 1]), 4)  # (1*0 + 2*0.8) / 3
    0.5333
    """
    _, _, f1, support = _per_class(y_true, y_pred, sample_weight)
    return float(np.sum(f1 * support) / support.sum()) if support.sum() else 0.0


def _probability_columns(y_score: Any) -> Array:
    """Class probabilities as ``(n, k)`` columns; a 1-D score is the positive class's probability of two."""
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.ndim == 1 or scores.shape[1] == 1:
        positive = scores.reshape(-1)
        return np.stack([1 - positive, positive], axis=1)
    return scores


def log_loss(y_true: Any, y_score: Any, sample_weight: Any = None) -> float:
    """The (weighted) mean of ``-log p`` of each sample's true class; ``y_score`` is ``(n, classes)``
    probabilities, or for two classes the probability of class 1. Probabilities are clipped to ``[eps, 1 - eps]``.

    >>> round(log_loss([0, 1], [[0.5, 0.5], [0.2, 0.8]]), 4)  # (log 2 + log 1.25) / 2
    0.4581
    """
    proba = _probability_columns(y_score)
    eps = np.finfo(np.asarray(y_score).dtype if np.asarray(y_score).dtype.kind == "f" else np.float64).eps
    labels = np.asarray(y_true).ravel().astype(np.int64)
    picked = np.clip(proba[np.arange(len(labels)), labels], eps, 1 - eps)
    return float(np.average(-np.log(picked), weights=_weights(sample_weight, len(labels))))


def _binary_auc(positive: Array, scores: Array, weights: Array) -> float:
    """The area under the ROC curve: the weighted chance that a positive outscores a negative, ties counting half."""
    order = np.argsort(scores, kind="stable")
    scores, positive, weights = scores[order], positive[order], weights[order]
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])  # one group per distinct score
    pos = np.add.reduceat(weights * positive, starts)
    neg = np.add.reduceat(weights * ~positive, starts)
    if pos.sum() == 0 or neg.sum() == 0:
        return float("nan")
    below = np.cumsum(neg) - neg  # negative weight scored lower than each group
    return float(np.sum(pos * (below + neg / 2)) / (pos.sum() * neg.sum()))


def roc_auc_score(y_true: Any, y_score: Any, sample_weight: Any = None) -> float:
    """The area under the ROC curve: binary from the score of class 1 (a 1-D ``y_score`` or its second column),
    else one-vs-rest averaged over the classes present in ``y_true``. A class whose area is undefined (no weight
    on its side or on the rest) is left out of the mean, where scikit-learn's mean is nan.

    >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    labels = np.asarray(y_true).ravel()
    weights = _weights(sample_weight, len(labels))
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.ndim == 1 or scores.shape[1] <= 2:
        return _binary_auc(labels == 1, scores.reshape(len(labels), -1)[:, -1], weights)
    areas = [_binary_auc(labels == c, scores[:, c], weights) for c in np.unique(labels)]
    return float(np.nanmean(areas)) if not np.all(np.isnan(areas)) else float("nan")


def _regression(y_true: Any, y_pred: Any) -> tuple[Array, Array]:
    truth = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    return truth, np.asarray(y_pred, dtype=np.float64).reshape(truth.shape)


def mean_squared_error(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """The (weighted) mean over samples of the squared error, averaged over output columns.

    >>> mean_squared_error([1.0, 2.0], [1.0, 4.0])
    2.0
    """
    truth, pred = _regression(y_true, y_pred)
    return float(np.mean(np.average((truth - pred) ** 2, axis=0, weights=_weights(sample_weight, len(truth)))))


def mean_absolute_error(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """The (weighted) mean over samples of the absolute error, averaged over output columns.

    >>> mean_absolute_error([1.0, 2.0], [1.0, 4.0], sample_weight=[1, 3])
    1.5
    """
    truth, pred = _regression(y_true, y_pred)
    return float(np.mean(np.average(np.abs(truth - pred), axis=0, weights=_weights(sample_weight, len(truth)))))


def r2_score(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """The coefficient of determination ``1 - SS_res / SS_tot`` (averaged over output columns); a constant
    column scores 1 when predicted exactly, else 0 (as scikit-learn's).

    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    truth, pred = _regression(y_true, y_pred)
    if sample_weight is None:
        residual = np.sum((truth - pred) ** 2, axis=0)
        total = np.sum((truth - truth.mean(axis=0)) ** 2, axis=0)
    else:
        w = _weights(sample_weight, len(truth))[:, None]
        residual = np.sum(w * (truth - pred) ** 2, axis=0)
        total = np.sum(w * (truth - np.average(truth, axis=0, weights=w[:, 0])) ** 2, axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1.0), np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(scores))


@frozen
class Metric:
    """A score to compute each epoch: ``function(y_true, y_pred)`` returns a float.

    ``greater_is_better`` is its direction (early stopping and sweeps keep the best value); with
    ``needs_proba`` it is given the network's probabilities (``(n, classes)``, or for one sigmoid output the
    probability of class 1), else predicted classes (regression: the outputs). ``task`` is ``"classifier"``,
    ``"regression"`` or ``"any"``. A weighted run calls ``function(y_true, y_pred, sample_weight=w)``.

    >>> hits = Metric("hits", lambda y_true, y_pred, sample_weight=None: float(np.sum(y_true == y_pred)))
    >>> hits.function(np.array([0, 1, 1]), np.array([0, 1, 0])), hits.greater_is_better
    (2.0, True)
    """

    name: str
    function: Callable[..., float] = field(eq=False, repr=False)
    greater_is_better: bool = True
    needs_proba: bool = False
    task: str = "any"


def _metric(name: str, function: Callable[..., float], greater_is_better: bool, needs_proba: bool, task: str) -> Callable[[], Metric]:
    return lambda: Metric(name, function, greater_is_better, needs_proba, task)


METRICS: Registry[Metric] = frozen_registry(
    {
        "accuracy": _metric("accuracy", accuracy_score, True, False, "classifier"),
        "balanced_accuracy": _metric("balanced_accuracy", balanced_accuracy_score, True, False, "classifier"),
        "f1_macro": _metric("f1_macro", f1_macro, True, False, "classifier"),
        "f1_weighted": _metric("f1_weighted", f1_weighted, True, False, "classifier"),
        "precision": _metric("precision", precision_score, True, False, "classifier"),
        "recall": _metric("recall", recall_score, True, False, "classifier"),
        "log_loss": _metric("log_loss", log_loss, False, True, "classifier"),
        "roc_auc": _metric("roc_auc", roc_auc_score, True, True, "classifier"),
        "mse": _metric("mse", mean_squared_error, False, False, "regression"),
        "mae": _metric("mae", mean_absolute_error, False, False, "regression"),
        "r2": _metric("r2", r2_score, True, False, "regression"),
    }
)
"""The built-in metrics by name (read-only); ``precision`` and ``recall`` are macro averages over the classes.

>>> [name for name in METRICS if METRICS[name]().task == "regression"]
['mse', 'mae', 'r2']
"""


def get_metric(value: Metric | str, function: str = "fit", argument: str = "metrics") -> Metric:
    """The :class:`Metric` for a built-in name such as ``"f1_macro"``, or ``value`` itself if it is a Metric.

    >>> get_metric("roc_auc").needs_proba, get_metric("MAE").greater_is_better
    (True, False)
    """
    if callable(value) and not isinstance(value, Metric):
        raise bad_argument(
            function, argument, "a metric name or fnn.Metric(name, function, greater_is_better, needs_proba) "
            "(a bare function does not say which way is better)", value
        )
    return lookup(METRICS, value, Metric, kind="metric", function=function, argument=argument)


def get_metrics(values: Iterable[Metric | str] | str | None, function: str = "fit", argument: str = "metrics") -> tuple[Metric, ...]:
    """Metrics from names (a list, or one string with commas such as ``"f1_macro,roc_auc"``) or records, each once.

    >>> [m.name for m in get_metrics("f1_macro, roc_auc")]
    ['f1_macro', 'roc_auc']
    """
    if values is None:
        return ()
    given: Any = values
    if isinstance(given, str):
        given = [part.strip() for part in given.split(",") if part.strip()]
    elif isinstance(given, Metric) or callable(given):
        given = [given]
    if not isinstance(given, (list, tuple)):
        raise bad_argument(function, argument, "a metric name, a list of names or fnn.Metric records", given)
    metrics = tuple(get_metric(value, function, argument) for value in given)
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise bad_argument(function, argument, "each metric once", names)
    return metrics


_LOWER_IS_BETTER = ("loss", "mse", "mae")


def greater_is_better(monitor: str, metrics: Iterable[Metric] = ()) -> bool:
    """Which way ``monitor`` improves: a history name such as ``val_f1_macro``, ``loss`` or ``r2``. Losses are
    lower-better; a metric's own direction is taken from ``metrics`` (the run's) or the built-ins.

    >>> greater_is_better("val_loss"), greater_is_better("val_f1_macro"), greater_is_better("mae")
    (False, True, False)
    """
    name = monitor[4:] if monitor.startswith("val_") else monitor
    for metric in metrics:
        if metric.name == name:
            return metric.greater_is_better
    if name.endswith("loss") or name in _LOWER_IS_BETTER:
        return False
    if name in METRICS:
        return METRICS[name]().greater_is_better
    raise FnnInputError(
        f"The metric {monitor!r} is neither a loss, accuracy, r2 nor a metric of this run ({', '.join(m.name for m in metrics) or 'none'}); "
        f"known built-in metrics: {', '.join(METRICS)}."
    )
