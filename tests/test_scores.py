"""Every built-in metric of fnn.core.scores against scikit-learn's on random data: shapes, class counts (a class
absent from the truth or the predictions), ties for AUC, sample weights."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

import fnn
from fnn.core import scores

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def classes(draw, proba=False):
    """``(y_true, y_pred or probabilities, weights or None, k)`` with ``k`` classes, some possibly absent."""
    k = draw(st.integers(2, 5))
    n = draw(st.integers(2, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    present = draw(st.integers(1, k))  # the truth may use only some of the classes
    y_true = rng.integers(0, present, n)
    weights = rng.integers(0, 4, n).astype(float) if draw(st.booleans()) else None
    if weights is not None and weights.sum() == 0:
        weights[0] = 1.0
    if proba:
        raw = rng.random((n, k))
        if draw(st.booleans()):  # ties: scores on a coarse grid
            raw = np.round(raw * 3) + 0.01
        return y_true, raw / raw.sum(axis=1, keepdims=True), weights, k
    return y_true, rng.integers(0, k, n), weights, k


LABEL_SCORES = [
    (scores.accuracy_score, lambda t, p, w: sk.accuracy_score(t, p, sample_weight=w)),
    (scores.balanced_accuracy_score, lambda t, p, w: sk.balanced_accuracy_score(t, p, sample_weight=w)),
    (scores.f1_macro, lambda t, p, w: sk.f1_score(t, p, average="macro", sample_weight=w, zero_division=0)),
    (scores.f1_weighted, lambda t, p, w: sk.f1_score(t, p, average="weighted", sample_weight=w, zero_division=0)),
    (scores.precision_score, lambda t, p, w: sk.precision_score(t, p, average="macro", sample_weight=w, zero_division=0)),
    (scores.recall_score, lambda t, p, w: sk.recall_score(t, p, average="macro", sample_weight=w, zero_division=0)),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # sklearn warns of a class predicted but absent from the truth
@pytest.mark.parametrize("ours, theirs", LABEL_SCORES, ids=[f.__name__ for f, _ in LABEL_SCORES])
@SETTINGS
@given(data=classes())
def test_label_scores_match_sklearn(ours, theirs, data):
    y_true, y_pred, weights, _ = data
    assert ours(y_true, y_pred, weights) == pytest.approx(theirs(y_true, y_pred, weights), abs=1e-12)


@SETTINGS
@given(data=classes(proba=True))
def test_log_loss_matches_sklearn(data):
    y_true, proba, weights, k = data
    expected = sk.log_loss(y_true, proba, sample_weight=weights, labels=list(range(k)))
    assert scores.log_loss(y_true, proba, weights) == pytest.approx(expected, rel=1e-12)


@SETTINGS
@given(data=classes(proba=True))
def test_binary_log_loss_from_the_positive_column(data):
    y_true, proba, weights, _ = data
    y_true, positive = (y_true > 0).astype(int), proba[:, 1]
    expected = sk.log_loss(y_true, positive, sample_weight=weights, labels=[0, 1])
    assert scores.log_loss(y_true, positive, weights) == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")  # a class of weight 0: nan
@SETTINGS
@given(data=classes(proba=True))
def test_roc_auc_matches_sklearn_binary_and_one_vs_rest(data):
    y_true, proba, weights, k = data
    present = np.unique(y_true)
    if len(present) < 2:  # undefined with one class: nan, where sklearn raises
        assert np.isnan(scores.roc_auc_score(y_true, proba, weights))
        return
    binary = (y_true == present[-1]).astype(int)
    assert scores.roc_auc_score(binary, proba[:, 1], weights) == pytest.approx(sk.roc_auc_score(binary, proba[:, 1], sample_weight=weights), abs=1e-12, nan_ok=True)
    w = np.ones(len(y_true)) if weights is None else weights
    defined = all(0 < w[y_true == c].sum() < w.sum() for c in range(k))
    if k > 2 and len(present) == k and defined:  # sklearn's one-vs-rest needs every class, each with weight in and out
        expected = sk.roc_auc_score(y_true, proba, multi_class="ovr", sample_weight=weights, labels=list(range(k)))
        assert scores.roc_auc_score(y_true, proba, weights) == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_roc_auc_ties_count_half():
    assert scores.roc_auc_score([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert scores.roc_auc_score([0, 1], [0.2, 0.9], sample_weight=[0, 1]) != scores.roc_auc_score([0, 1], [0.2, 0.9])  # nan: no negative


@st.composite
def targets(draw):
    n = draw(st.integers(2, 40))
    columns = draw(st.sampled_from([None, 1, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    shape = (n,) if columns is None else (n, columns)
    weights = rng.random(n) if draw(st.booleans()) else None
    return rng.normal(size=shape), rng.normal(size=shape), weights


REGRESSION_SCORES = [
    (scores.mean_squared_error, sk.mean_squared_error),
    (scores.mean_absolute_error, sk.mean_absolute_error),
    (scores.r2_score, sk.r2_score),
]


@pytest.mark.parametrize("ours, theirs", REGRESSION_SCORES, ids=[f.__name__ for f, _ in REGRESSION_SCORES])
@SETTINGS
@given(data=targets())
def test_regression_scores_match_sklearn(ours, theirs, data):
    y_true, y_pred, weights = data
    assert ours(y_true, y_pred, weights) == pytest.approx(theirs(y_true, y_pred, sample_weight=weights), rel=1e-10, abs=1e-12)


def test_r2_of_a_constant_target_is_sklearns():
    assert scores.r2_score([1.0, 1.0], [1.0, 1.0]) == sk.r2_score([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert scores.r2_score([1.0, 1.0], [1.0, 2.0]) == sk.r2_score([1.0, 1.0], [1.0, 2.0]) == 0.0


def test_every_built_in_metric_is_checked_here():
    checked = {f for f, _ in LABEL_SCORES + REGRESSION_SCORES} | {scores.log_loss, scores.roc_auc_score}
    assert {scores.METRICS[name]().function for name in scores.METRICS} == checked


def test_metric_lookup_and_direction():
    assert [m.name for m in scores.get_metrics(["f1_macro", "roc_auc"])] == ["f1_macro", "roc_auc"]
    mine = scores.Metric("miss_rate", lambda t, p: float(np.mean(t != p)), greater_is_better=False)
    assert scores.greater_is_better("val_miss_rate", [mine]) is False
    assert [scores.greater_is_better(n) for n in ("val_loss", "log_loss", "val_mse", "r2", "val_accuracy", "roc_auc")] == [False, False, False, True, True, True]
    with pytest.raises(fnn.FnnInputError, match="Unknown metric 'f2'"):
        scores.get_metric("f2")
    with pytest.raises(fnn.FnnInputError, match="does not say which way is better"):
        scores.get_metric(lambda t, p: 0.0)
    with pytest.raises(fnn.FnnInputError, match="each metric once"):
        scores.get_metrics("f1_macro,f1_macro")
    with pytest.raises(fnn.FnnInputError, match="neither a loss"):
        scores.greater_is_better("val_miss_rate")
