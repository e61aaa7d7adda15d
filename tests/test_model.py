"""A loaded model is one object: ``fnn.load(run)`` predicts and evaluates on RAW features exactly as ``fnn predict``
and ``fnn evaluate`` do, for every bundled and generated data set and for CSV tables, whose columns are matched by
header name."""

import json

import numpy as np
import pytest

import fnn
from fnn.cli import main
from fnn.data.sources import DATA_KINDS
from fnn.store import Model

SPECIES = ("setosa", "versicolor", "virginica")
IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def train(capsys, folder, data, *extra):
    code, _, err = run_cli(capsys, "train", "--data", data, "--hidden", "8", "--epochs", "2", "--out", folder, "--quiet", *extra)
    assert code == 0, err
    return fnn.load(folder)


def cli_predictions(capsys, run, inputs, out):
    code, _, err = run_cli(capsys, "predict", run, inputs, "--out", out)
    assert code == 0, err
    return json.loads(out.read_text())


def assert_same_as_cli(model, records, raw):
    """``model``'s predictions on ``raw`` are exactly the records ``fnn predict --out x.json`` wrote."""
    if model.params.spec.is_classifier:
        assert model.predict(raw).tolist() == [r["class"] for r in records]
        probabilities = np.array([list(r["probabilities"].values()) for r in records])
        assert np.array_equal(model.predict_proba(raw).astype(np.float64), probabilities)
    else:
        assert np.array_equal(model.predict(raw).astype(np.float64), np.array([r["prediction"] for r in records]))


def iris_table(path, columns, rows=slice(None)):
    iris = fnn.data.iris()
    cells = {name: [f"{v:g}" for v in iris.features[rows, j]] for j, name in enumerate(IRIS_COLUMNS)}
    cells["species"] = [SPECIES[i] for i in iris.labels[rows]]
    lines = [",".join(columns)] + [",".join(cells[c][i] for c in columns) for i in range(len(cells["species"]))]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("name", [k.name for k in DATA_KINDS.values() if k.origin in ("bundled", "generated")])
def test_the_loaded_model_predicts_raw_features_as_fnn_predict_does(capsys, tmp_path, name):
    model = train(capsys, tmp_path / "run", name)
    kind = DATA_KINDS[name]
    data = kind.make(dtype=np.float32) if kind.origin == "bundled" else kind.make(0, np.float32)
    raw = np.asarray(data.features[:25], dtype=np.float64)
    np.save(tmp_path / "raw.npy", raw)
    records = cli_predictions(capsys, tmp_path / "run", tmp_path / "raw.npy", tmp_path / "p.json")
    assert len(records) == 25
    assert_same_as_cli(model, records, raw)
    assert_same_as_cli(model, records, str(tmp_path / "raw.npy"))
    if model.standardizer is not None:  # the raw path is not the network's: the model's preprocessing matters
        assert not np.array_equal(fnn.predict(model.params, raw.astype(np.float32)), model.outputs(raw))


def test_csv_columns_are_matched_by_header_name(capsys, tmp_path):
    table = iris_table(tmp_path / "flowers.csv", [*IRIS_COLUMNS, "species"])
    model = train(capsys, tmp_path / "run", f"csv:{table}", "--lr", "0.05", "--epochs", "20")
    assert model.columns == tuple(IRIS_COLUMNS) and model.label == "species" and model.class_names == SPECIES
    shuffled = iris_table(tmp_path / "shuffled.csv", ["petal_width", "species", "sepal_length", "petal_length", "sepal_width"])
    records = cli_predictions(capsys, tmp_path / "run", shuffled, tmp_path / "shuffled.json")
    assert records == cli_predictions(capsys, tmp_path / "run", table, tmp_path / "in_order.json")
    for raw in (shuffled, str(table), np.asarray(fnn.data.iris().features, np.float64)):
        assert_same_as_cli(model, records, raw)
    iris = fnn.data.iris()
    mapping = {name: iris.features[:, j].astype(np.float64) for j, name in reversed(list(enumerate(IRIS_COLUMNS)))}
    assert_same_as_cli(model, records, mapping)
    setosa = {"petal_width": [0.2], "sepal_length": [5.1], "petal_length": [1.4], "sepal_width": [3.5]}
    assert model.predict(setosa).tolist() == ["setosa"]


def test_a_dataframe_is_a_table_read_by_column_name(capsys, tmp_path):
    pandas = pytest.importorskip("pandas")
    table = iris_table(tmp_path / "flowers.csv", [*IRIS_COLUMNS, "species"])
    model = train(capsys, tmp_path / "run", f"csv:{table}")
    frame = pandas.read_csv(table)[["species", "petal_width", "sepal_width", "petal_length", "sepal_length"]]
    assert np.array_equal(model.predict_proba(frame), model.predict_proba(str(table)))
    assert model.evaluate(frame) == model.evaluate(str(table))


@pytest.mark.parametrize(
    "columns, fragments",
    [
        (IRIS_COLUMNS[:3] + ["species"], ["has no column(s) 'petal_width'"]),
        ([*IRIS_COLUMNS, "colour"], ["has unknown column(s) 'colour'"]),
        (IRIS_COLUMNS[:3] + ["colour"], ["has no column(s) 'petal_width'", "unknown column(s) 'colour'"]),
        ([*IRIS_COLUMNS, "sepal_width"], ["repeats the column(s) 'sepal_width'"]),
    ],
)
def test_missing_unknown_and_repeated_columns_are_refused_by_name(capsys, tmp_path, columns, fragments):
    table = iris_table(tmp_path / "flowers.csv", [*IRIS_COLUMNS, "species"])
    model = train(capsys, tmp_path / "run", f"csv:{table}")
    header = ",".join(columns)
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "\n" + ",".join(["1"] * len(columns)) + "\n")
    code, out, err = run_cli(capsys, "predict", tmp_path / "run", bad)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "bad.csv" in err
    assert all(fragment in err for fragment in fragments), err
    with pytest.raises(fnn.FnnInputError, match="expected the model's columns"):
        model.predict({name: [1.0] for name in dict.fromkeys(columns)} if len(set(columns)) == len(columns) else str(bad))


def test_evaluate_with_data_scores_every_row_unless_a_split_is_asked(capsys, tmp_path):
    table = iris_table(tmp_path / "flowers.csv", [*IRIS_COLUMNS, "species"])
    train(capsys, tmp_path / "run", f"csv:{table}")
    holdout = iris_table(tmp_path / "holdout.csv", ["species", *reversed(IRIS_COLUMNS)], rows=slice(0, 100))
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "run", "--data", f"csv:{holdout}", "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["samples"] == 100 and metrics == fnn.load(tmp_path / "run").evaluate(str(holdout))
    assert sum(map(sum, metrics["confusion_matrix"])) == 100 and sum(metrics["confusion_matrix"][2]) == 0  # no virginica
    code, out, _ = run_cli(capsys, "evaluate", tmp_path / "run", "--json")
    assert json.loads(out)["samples"] == 30  # the run's own data: its test part
    code, out, _ = run_cli(capsys, "evaluate", tmp_path / "run", "--data", f"csv:{holdout}", "--split", "test", "--json")
    assert json.loads(out)["samples"] == 20
    code, out, _ = run_cli(capsys, "evaluate", tmp_path / "run", "--split", "all", "--json")
    assert json.loads(out)["samples"] == 150


def test_evaluate_takes_labels_as_names_or_indices_and_refuses_unknown_classes(capsys, tmp_path):
    model = train(capsys, tmp_path / "run", "iris")
    iris = fnn.data.iris()
    by_index = model.evaluate(iris.features, iris.labels)
    assert by_index == model.evaluate(iris.features, np.array(SPECIES)[iris.labels]) == model.evaluate(iris)
    assert by_index["samples"] == 150 and by_index["correct"] == round(by_index["accuracy"] * 150)
    with pytest.raises(fnn.FnnInputError, match=r"^y: the class 'rose' is not one of the model's classes"):
        model.evaluate(iris.features[:2], ["setosa", "rose"])


def test_the_columns_travel_in_the_checkpoint(tmp_path):
    params = fnn.init_params(fnn.network([2, 3]), seed=0)
    model = Model(fnn.TrainState(params, None), {"label": "y", "drop": ["id"]}, None, ("a", "b", "c"), columns=("u", "v"))
    fnn.save(tmp_path / "m.npz", model)
    loaded = fnn.load(tmp_path / "m.npz")
    assert (loaded.columns, loaded.label, loaded.drop, loaded.class_names) == (("u", "v"), "y", ("id",), ("a", "b", "c"))
    assert np.array_equal(loaded.predict_proba({"v": [1.0], "id": [7], "u": [2.0]}), loaded.predict_proba([[2.0, 1.0]]))
