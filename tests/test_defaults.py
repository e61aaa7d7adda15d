"""Defaults that work: every data set trains with no settings but its name (a regression on standardised targets,
its test metrics in the targets' own units); whether a numeric label is classes or a number is decided from the
labels or said with ``task``; what cannot work is refused in one line before training."""

import numpy as np
import pytest

import fnn
from fnn.data.dataset import Dataset, for_task
from fnn.run.build import prepare_run
from fnn.run.engine import run
from fnn.run.settings import PYTHON, resolve_config

# The figure each data set reaches with nothing but its name (the README's table), checked at one BLAS thread
# under OPENBLAS_CORETYPE Haswell and SkylakeX: test accuracy, or R^2 for the regression sine.
FLOORS = {"digits": 0.93, "iris": 0.9, "moons": 0.85, "circles": 0.95, "blobs": 0.97, "spirals": 0.5, "sine": 0.95}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_each_data_set_reaches_its_floor_with_the_defaults(name):
    metrics = run({"data": name}).record["final_metrics"]
    assert metrics["r2" if name == "sine" else "accuracy"] >= FLOORS[name], metrics


def test_spirals_learns_with_the_deeper_longer_run_the_readme_gives():
    # its defaults stay near chance (the floor above); the README names the settings that learn it
    metrics = run({"data": "spirals", "hidden": [64, 64], "epochs": 300}).record["final_metrics"]
    assert metrics["accuracy"] >= 0.95, metrics


def _prices(path, rows=500):
    """A regression table with targets near 50,000 (prices): linear and quadratic in its features, with noise."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    y = 50_000 + 8_000 * x[:, 0] - 3_000 * x[:, 1] ** 2 + 1_000 * rng.normal(size=rows)
    path.write_text("a,b,c,target\n" + "".join(f"{a:.4f},{b:.4f},{c:.4f},{v:.0f}\n" for (a, b, c), v in zip(x, y)))
    return f"csv:{path}", y


def test_large_regression_targets_train_with_the_defaults_and_report_in_their_own_units(tmp_path):
    data, y = _prices(tmp_path / "prices.csv")
    finished = run({"data": data})
    metrics, targets = finished.record["final_metrics"], finished.prepared.targets
    assert metrics["r2"] >= 0.9, metrics
    assert 500 < metrics["mae"] < 3_000 and metrics["mse"] > 1e5  # in the targets' units, not standardised ones
    assert abs(float(targets.mean[0]) - y.mean()) < 1_000 and abs(float(targets.scale[0]) - y.std()) < 1_000
    assert abs(float(np.mean(finished.prepared.train.labels))) < 0.1  # trained on standardised targets
    assert finished.prepared.test.labels.min() > 10_000  # tested against the targets as given
    with pytest.raises(fnn.TrainingDiverged), np.errstate(over="ignore", invalid="ignore"):  # the targets as given
        run({"data": data, "standardize": False, "epochs": 2})


def test_standardize_false_keeps_the_targets_as_given(tmp_path):
    data, _ = _prices(tmp_path / "prices.csv", rows=60)
    prepared = prepare_run(resolve_config(({"data": data, "standardize": False}, PYTHON)))
    assert prepared.targets is None and prepared.train.labels.min() > 10_000
    bounded = prepare_run(resolve_config(({"data": data, "output": "sigmoid", "task": "regression"}, PYTHON)))
    assert bounded.targets is None  # a bounded output keeps the targets as given


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
    assert regression.train.n_classes == 0 and set(regression.test.labels[:, 0]) == {1.0, 2.0, 3.0}
    targets = regression.targets  # trained on the grades standardised
    assert set(np.round(regression.train.labels[:, 0] * targets.scale + targets.mean, 6)) == {1.0, 2.0, 3.0}
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
