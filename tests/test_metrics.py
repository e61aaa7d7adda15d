import numpy as np
import pytest

import fnn


def test_accuracy_and_confusion_matrix_on_known_predictions():
    spec = fnn.network([2, 2], activation="identity", output="softmax")
    # Identity weights: the predicted class is the larger input column.
    params = fnn.Params(spec, [fnn.Layer(np.eye(2, dtype=np.float32), np.zeros(2, np.float32))])
    x = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [0, 1]], np.float32)
    y = np.array([0, 1, 1, 1, 0])
    assert fnn.accuracy(params, x, y, batch_size=2) == pytest.approx(3 / 5)
    pred = fnn.predict_classes(params, x)
    assert fnn.confusion_matrix(y, pred, 2).tolist() == [[1, 1], [1, 2]]


def test_mean_loss_in_batches_equals_whole_batch_loss():
    params = fnn.init_params(fnn.network([3, 4, 3]), seed=0, dtype="float64")
    x = np.random.default_rng(0).standard_normal((10, 3))
    y = np.random.default_rng(1).integers(0, 3, 10)
    assert fnn.mean_loss(params, x, y, batch_size=3) == pytest.approx(fnn.loss(params, (x, y)), rel=1e-12)


def test_r2_score():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert fnn.r2_score(y, y) == 1.0
    assert fnn.r2_score(y, np.full(4, 2.5)) == pytest.approx(0.0)
    assert fnn.r2_score(y, y + 0.5) == pytest.approx(1 - 1.0 / 5.0)


def test_regression_networks_report_r2_not_accuracy():
    params = fnn.init_params(fnn.network([1, 4, 1], activation="tanh", loss="mse"), seed=0)
    metrics = fnn.evaluate(params, np.zeros((3, 1), np.float32), np.zeros((3, 1), np.float32) + [[0.0], [1.0], [2.0]])
    assert set(metrics) == {"loss", "r2"}


def test_predict_takes_one_sample_as_a_1d_array():
    params = fnn.init_params(fnn.network([4, 5, 3]), seed=0)
    rows = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    single = fnn.predict(params, rows[2])
    assert single.shape == (3,) and np.array_equal(single, fnn.predict(params, rows)[2])
    assert fnn.predict_classes(params, rows[2]) == int(fnn.predict_classes(params, rows)[2])
    assert isinstance(fnn.predict_classes(params, rows[2]), int)
    with pytest.raises(fnn.FnnInputError, match=r"one sample of 4 values.*Got an array of dtype float32 and shape \(3,\)"):
        fnn.predict(params, rows[2, :3])
    regression = fnn.init_params(fnn.network([1, 4, 1], activation="tanh", loss="mse"), seed=0)
    assert fnn.predict(regression, np.array([0.5], np.float32)).shape == (1,)
    with pytest.raises(fnn.FnnInputError, match=r"x.reshape\(-1, 1\)"):
        fnn.predict(regression, np.zeros(5, np.float32))  # five samples of one input must be a column


def test_evaluate_counts_correct_answers_as_nielsen_does():
    spec = fnn.network([2, 2], activation="identity", output="softmax")
    params = fnn.Params(spec, [fnn.Layer(np.eye(2, dtype=np.float32), np.zeros(2, np.float32))])
    x = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [0, 1]], np.float32)
    y = np.array([0, 1, 1, 1, 0])
    counted = fnn.evaluate(params, x, y, batch_size=2, counts=True)
    assert counted["correct"] == 3 and counted["samples"] == 5 and counted["accuracy"] == 3 / 5
    assert "correct" not in fnn.evaluate(params, x, y)  # by default the same keys the training records use
    regression = fnn.init_params(fnn.network([1, 4, 1], activation="tanh", loss="mse"), seed=0)
    counted = fnn.evaluate(regression, np.zeros((3, 1), np.float32), np.zeros((3, 1), np.float32), counts=True)
    assert set(counted) == {"loss", "r2", "samples"}
