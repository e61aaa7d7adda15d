"""CSV tables through the real command: train and predict agree on the label column and the dropped columns,
without guessing; plots show every epoch trained; run and data arguments refused in one line naming them."""

import json

import numpy as np
import pytest

import fnn
import fnn.cli.models
from fnn.cli import main
from fnn.store import load_model

KAGGLE_COLUMNS = ["Id", "SepalLengthCm", "SepalWidthCm", "PetalLengthCm", "PetalWidthCm", "Species"]


def run_cli(capsys, *args):
    """``(exit code, stdout, stderr)`` of ``fnn ARGS``."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(result, *fragments):
    code, _, err = result
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def write_kaggle_iris(path, rows=slice(None), columns=KAGGLE_COLUMNS, renamed=None):
    """Kaggle's Iris.csv layout: an Id that counts rows (and so leaks the label, the rows being sorted by
    species), four measurements in cm and the species' name; ``columns`` chooses and orders them (an unknown name
    is a column of zeros), ``renamed`` gives the header other names."""
    iris = fnn.data.iris()
    ids = np.arange(1, len(iris) + 1)[rows]
    lines = [",".join((renamed or {}).get(column, column) for column in columns)]
    for id_, row, label in zip(ids, iris.features[rows], iris.labels[rows]):
        cells = {"Id": str(id_), "Species": "Iris-" + iris.class_names[label]}
        cells.update(zip(KAGGLE_COLUMNS[1:5], (f"{v:g}" for v in row)))
        lines.append(",".join(cells.get(column, "0") for column in columns))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def kaggle_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kaggle")
    table = write_kaggle_iris(folder / "Iris.csv")
    run = folder / "run"
    code = main(["train", "--data", f"csv:{table}", "--drop", "Id", "--hidden", "8", "--lr", "0.05", "--batch-size", "16",
                 "--epochs", "80", "--out", str(run), "--quiet"])
    assert code == 0
    return table, run


def test_the_label_is_found_by_name_stored_and_training_learns(kaggle_run):
    _, run = kaggle_run
    record = json.loads((run / "record.json").read_text())
    assert record["config"]["label"] == "Species" and record["config"]["drop"] == ["Id"]
    assert record["final_metrics"]["accuracy"] >= 0.9
    model = load_model(run)
    assert model.params.spec.sizes[0] == 4  # Id left out, Species the label
    assert model.config["drop"] == ["Id"] and model.config["label"] in ("Species", None)
    assert model.class_names == ("Iris-setosa", "Iris-versicolor", "Iris-virginica")


def test_predict_reads_the_table_as_training_did(kaggle_run, capsys, tmp_path):
    _, run = kaggle_run
    table = write_kaggle_iris(tmp_path / "new.csv", rows=slice(3, None, 7))
    code, out, err = run_cli(capsys, "predict", run, table)
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header == "index,class,class_index,p_Iris-setosa,p_Iris-versicolor,p_Iris-virginica"
    cells = [row.split(",") for row in rows]
    iris = fnn.data.iris()
    features, truth = iris.features[3::7], iris.labels[3::7]
    assert len(cells) == len(features)
    model = load_model(run)
    expected = fnn.predict(model.params, model.prepare_features(np.array(features, dtype=np.float64)))
    assert [int(c[2]) for c in cells] == expected.argmax(axis=1).tolist()
    assert np.allclose([[float(v) for v in c[3:]] for c in cells], expected, atol=1e-5)
    assert np.mean(expected.argmax(axis=1) == truth) >= 0.85
    # the same table without its label column: the same four measurements, the same predictions
    features_only = write_kaggle_iris(tmp_path / "features.csv", rows=slice(3, None, 7), columns=["Id", *KAGGLE_COLUMNS[1:5]])
    code, out_features, err = run_cli(capsys, "predict", run, features_only)
    assert code == 0, err
    assert [row.split(",")[2] for row in out_features.splitlines()[1:]] == [c[2] for c in cells]


def test_predict_with_a_column_too_many_names_the_columns(kaggle_run, capsys, tmp_path):
    _, run = kaggle_run
    table = write_kaggle_iris(tmp_path / "extra.csv", columns=[*KAGGLE_COLUMNS, "Extra"])
    one_line_error(run_cli(capsys, "predict", run, table), "extra.csv", "has unknown column(s) 'Extra'", "'SepalLengthCm'", "label 'Species'", "in any order")
    one_line_error(run_cli(capsys, "predict", run, table, "--label", "nope"), "--label 'nope'", "'nope'", "SepalLengthCm")


def test_no_recognisable_label_column_is_an_error_naming_the_flag(capsys, tmp_path):
    table = write_kaggle_iris(tmp_path / "t.csv", renamed={"Species": "kind"})
    one_line_error(run_cli(capsys, "train", "--data", f"csv:{table}", "--no-record"),
                   f"--data csv:{table}", "no column is named as a label", "--label COLUMN", "'kind'")
    code, _, err = run_cli(capsys, "train", "--data", f"csv:{table}", "--label", "kind", "--drop", "Id", "--epochs", "2",
                           "--no-record", "--quiet")
    assert code == 0, err


def test_an_unknown_label_or_dropped_column_is_named_with_the_header(capsys, tmp_path):
    table = write_kaggle_iris(tmp_path / "t.csv")
    one_line_error(run_cli(capsys, "train", "--data", f"csv:{table}", "--label", "nope", "--no-record"),
                   "--label nope", "'nope'", "'SepalWidthCm'", "'Species'")
    one_line_error(run_cli(capsys, "train", "--data", f"csv:{table}", "--drop", "Id,Nope", "--no-record"),
                   "--drop Nope", "'Nope'", "'Id'")
    one_line_error(run_cli(capsys, "train", "--data", f"csv:{table}", "--drop", "Species", "--no-record"),
                   "cannot drop the label column 'Species'")


def test_label_and_drop_apply_only_to_csv_data(capsys, tmp_path):
    one_line_error(run_cli(capsys, "train", "--data", "iris", "--drop", "Id", "--no-record"), "--drop", "csv:PATH", "'iris'")
    one_line_error(run_cli(capsys, "train", "--data", "moons", "--label", "y", "--no-record"), "--label", "csv:PATH", "'moons'")
    config = tmp_path / "run.toml"
    config.write_text('data = "digits"\ndrop = ["Id"]\n')
    one_line_error(run_cli(capsys, "train", "--config", config, "--no-record"), "'drop'", str(config), "csv:PATH")
    with pytest.raises(fnn.FnnInputError, match="drop=.*csv:PATH"):
        fnn.data.load_train_test("iris", drop=["Id"])


def test_label_and_drop_from_toml(capsys, tmp_path):
    table = write_kaggle_iris(tmp_path / "t.csv", columns=["Id", *KAGGLE_COLUMNS[1:5], "Species"])
    config = tmp_path / "run.toml"
    config.write_text(f'data = "csv:{table}"\nlabel = "Species"\ndrop = ["Id"]\nepochs = 2\nhidden = [4]\n')
    code, _, err = run_cli(capsys, "train", "--config", config, "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["config"]["label"] == "Species" and record["config"]["drop"] == ["Id"]
    assert "label" not in json.loads(json.dumps(fnn.run.resolve_config(({"data": "iris"}, fnn.run.PYTHON)).to_dict()))


def test_plot_draws_every_epoch_of_an_early_stopped_run(capsys, tmp_path, monkeypatch):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", "iris", "--hidden", "6", "--lr", "0.3", "--epochs", "200",
                           "--patience", "2", "--out", run, "--quiet")
    assert code == 0, err
    record = json.loads((run / "record.json").read_text())
    assert record["stopped_early"] and record["best_epoch"] < record["epochs_run"]
    assert load_model(run).state.epoch == record["best_epoch"]
    drawn = []
    real = fnn.cli.models.write_plots

    def spy(folder, state, *args):
        drawn.append(state)
        return real(folder, state, *args)

    monkeypatch.setattr(fnn.cli.models, "write_plots", spy)
    code, out, err = run_cli(capsys, "plot", run)
    assert code == 0 and "learning_curves.png" in out, err
    (state,) = drawn
    assert state.history.column("epoch") == list(range(1, record["epochs_run"] + 1))
    assert state.history.column("val_loss") == [epoch["val_loss"] for epoch in record["history"]]
    assert state.epoch == record["best_epoch"]  # the kept params, drawn with every epoch's curve
    (run / "record.json").unlink()  # a run without a record: the checkpoint's own history
    drawn.clear()
    assert run_cli(capsys, "plot", run)[0] == 0
    assert drawn[0].history.column("epoch") == list(range(1, record["best_epoch"] + 1))


def test_run_and_data_arguments_are_refused_naming_them(kaggle_run, capsys, tmp_path):
    table, run = kaggle_run
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing"
    one_line_error(run_cli(capsys, "evaluate", run, "--data", "nope"), "--data nope", "Unknown data set")
    one_line_error(run_cli(capsys, "evaluate", run, "--data", f"csv:{missing}"), f"--data csv:{missing}", "no such file")
    for command, argument in (("evaluate", "model"), ("predict", "model"), ("plot", "RUN")):
        extra = [table] if command == "predict" else []
        one_line_error(run_cli(capsys, command, empty, *extra), f"{argument} {empty}", "not a run folder")
        one_line_error(run_cli(capsys, command, missing, *extra), f"{argument} {missing}", "does not exist")
        one_line_error(run_cli(capsys, command, table, *extra), f"{argument} {table}")
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0, err
    assert "accuracy" in out


def test_predict_takes_a_table_as_wide_as_the_inputs_whole_even_with_a_column_named_y(tmp_path, capsys):
    assert run_cli(capsys, "train", "--data", "moons", "--epochs", "3", "--out", tmp_path / "run", "--quiet")[0] == 0
    points = np.array([[0.0, 0.5], [1.0, -0.5], [2.0, 0.2]])
    table = tmp_path / "points.csv"
    table.write_text("x,y\n" + "\n".join(f"{a},{b}" for a, b in points))
    code, out, err = run_cli(capsys, "predict", tmp_path / "run", table, "--out", tmp_path / "p.json")
    assert code == 0, err
    model = fnn.load(tmp_path / "run")
    expected = fnn.predict(model.params, model.prepare_features(points.astype(np.float32)))
    rows = json.loads((tmp_path / "p.json").read_text())
    assert len(rows) == 3
    assert [r["class_index"] for r in rows] == [int(c) for c in fnn.core.metrics.classes_from_outputs(expected)]


@pytest.mark.parametrize("labels", [["x"] * 6, ["7"] * 6, ["dog"] * 5 + ["dog"]])
def test_a_table_of_one_class_is_refused_in_the_datas_words_at_every_training_door(labels, tmp_path, capsys):
    table = tmp_path / "one.csv"
    table.write_text("a,b,label\n" + "".join(f"{i},{i * 2},{label}\n" for i, label in enumerate(labels)))
    result = run_cli(capsys, "train", "--data", f"csv:{table}", "--epochs", "1", "--out", tmp_path / "run", "--quiet")
    one_line_error(result, "--data csv:", "hold one class", repr(labels[0]), "--task regression")
    assert not (tmp_path / "run").exists()
    with pytest.raises(fnn.FnnInputError, match=r"^data csv:.*hold one class.*task regression") as raised:
        fnn.run.run({"data": f"csv:{table}", "epochs": 1})
    assert "softmax" not in str(raised.value)
