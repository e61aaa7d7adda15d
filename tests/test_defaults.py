"""Defaults that work: every classification data set trains with no settings but its name; whether a numeric label
is classes or a number is decided from the labels or said with ``task``; what cannot work is refused in one line
before training."""

import numpy as np
import pytest

import fnn
from fnn.data.dataset import Dataset, for_task
from fnn.run.build import prepare_run
from fnn.run.engine import run
from fnn.run.settings import PYTHON, resolve_config

# The figure each data set reaches with nothing but its name (the README's table; sine is regression, see there).
FLOORS = {"digits": 0.93, "iris": 0.9, "moons": 0.85, "circles": 0.95, "blobs": 0.97, "spirals": 0.5}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_each_data_set_reaches_its_floor_with_the_defaults(name):
    metrics = run({"data": name}).record["final_metrics"]
    assert metrics["accuracy"] >= FLOORS[name], metrics


def _csv(path, labels, columns="a,b,label"):
    rng = np.random.default_rng(0)
    rows = "".join(f"{rng.normal():.4f},{rng.normal():.4f},{label}\n" for label in labels)
    path.write_text(columns + "\n" + rows)
    return f"csv:{path}"


def test_whole_number_prices_are_a_regression_target_unless_told(tmp_path):
    data = _csv(tmp_path / "prices.csv", [50_000 + 37 * i for i in range(60)])
    prepared = prepare_run(resolve_config(({"data": data, "epochs": 1}, PYTHON)))
    assert prepared.train.n_classes == 0 and prepared.train.labels.shape[1] == 1
    assert len(prepared.test) == 12  # split as a regression, not one class per row
    with pytest.raises(fnn.FnnInputError, match=r"^task classification: 60 of the 60 classes of .prices.csv. have a single row.*say task regression.$"):
        run({"data": data, "task": "classification", "epochs": 1})


def test_few_whole_numbers_are_classes_and_can_be_said_to_be_numbers(tmp_path):
    data = _csv(tmp_path / "grades.csv", [1, 2, 3] * 20)
    prepared = prepare_run(resolve_config(({"data": data}, PYTHON)))
    assert prepared.train.class_names == ("1", "2", "3")  # labels 1..3: no empty class 0
    regression = prepare_run(resolve_config(({"data": data, "task": "regression"}, PYTHON)))
    assert regression.train.n_classes == 0 and set(regression.train.labels[:, 0]) == {1.0, 2.0, 3.0}
    assert regression.params.spec.sizes[-1] == 1 and not regression.params.spec.is_classifier


def test_for_task_converts_both_parts_alike():
    x = np.zeros((6, 1), np.float32)
    train = Dataset(x, np.array([[3.0], [5.0], [3.0], [5.0], [7.0], [7.0]]), (), "t")
    test = Dataset(x[:2], np.array([[7.0], [3.0]]), (), "t")
    classes = for_task(train, test, "classification")
    assert classes[0].class_names == ("3", "5", "7") and classes[1].labels.tolist() == [2, 0]
    assert for_task(*classes, "regression")[1].labels.tolist() == [[7.0], [3.0]]
    with pytest.raises(fnn.FnnInputError, match="task classification: the target of 't' is not one column of whole numbers"):
        for_task(Dataset(x[:1], np.array([[0.5]]), (), "t"), test, "classification")
    with pytest.raises(fnn.FnnInputError, match="task 'guess': expected one of auto, classification, regression"):
        for_task(train, test, "guess")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"data": "iris", "loss": "mse", "output": "identity"}, r"^output identity: 'iris\[train\]' has class labels \(3 classes\), which need an output of class scores"),
        ({"data": "iris", "task": "regression"}, r"^task regression: the labels of 'iris' are text \(setosa, versicolor, virginica, \.\.\.\), not numbers"),
        ({"data": "moons", "task": "maybe"}, "task"),
    ],
)
def test_impossible_combinations_are_refused_before_training(settings, message):
    with pytest.raises(fnn.FnnInputError, match=message) as refused:
        run(settings)
    assert "\n" not in str(refused.value)


def test_mse_on_class_labels_with_a_class_score_output_trains():
    metrics = run({"data": "iris", "loss": "mse", "epochs": 30}).record["final_metrics"]
    assert metrics["accuracy"] >= 0.9
