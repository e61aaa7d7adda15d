"""``fnn predict``, ``fnn evaluate``, ``fnn plot`` through the real command: output to stdout or by extension,
class-named probability columns, no overwriting, one-line errors naming the flag or file."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fnn


def fnn_cli(*args, cwd=None, check=True):
    result = subprocess.run([sys.executable, "-m", "fnn", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("iris") / "run"
    fnn_cli("train", "--data", "iris", "--hidden", "6", "--lr", "0.05", "--batch-size", "16", "--epochs", "100", "--out", folder, "--quiet")
    return folder


@pytest.fixture
def flowers(tmp_path):
    iris = fnn.data.iris()
    path = tmp_path / "flowers.csv"
    rows = [",".join(f"{v:g}" for v in row) + f",{iris.class_names[label]}" for row, label in zip(iris.features[::10], iris.labels[::10])]
    path.write_text("sepal_length,sepal_width,petal_length,petal_width,species\n" + "\n".join(rows) + "\n")
    return path, iris.labels[::10]


def test_predict_writes_a_csv_with_class_named_probabilities_to_stdout(iris_run, flowers):
    path, truth = flowers
    for extra in ([], ["--out", "-"]):
        out = fnn_cli("predict", iris_run, path, *extra).stdout
        header, *rows = out.splitlines()
        assert header == "index,class,class_index,p_setosa,p_versicolor,p_virginica"
        cells = [row.split(",") for row in rows]
        assert len(cells) == 15 and [int(c[0]) for c in cells] == list(range(15))
        indices = np.array([int(c[2]) for c in cells])
        assert np.mean(indices == truth) >= 0.9
        assert all(c[1] == ("setosa", "versicolor", "virginica")[int(c[2])] for c in cells)
        probabilities = np.array([[float(v) for v in c[3:]] for c in cells])
        assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4) and (probabilities.argmax(axis=1) == indices).all()


def test_predict_format_by_extension_and_one_sample(iris_run, flowers, tmp_path):
    path, _ = flowers
    result = fnn_cli("predict", iris_run, path, "--out", tmp_path / "p.json")
    assert result.stdout == "" and "15 predictions written" in result.stderr
    records = json.loads((tmp_path / "p.json").read_text())
    assert [r["class_index"] for r in records] == [int(np.argmax(list(r["probabilities"].values()))) for r in records]
    assert set(records[0]["probabilities"]) == {"setosa", "versicolor", "virginica"}
    fnn_cli("predict", iris_run, path, "--out", tmp_path / "p.npy")
    assert np.load(tmp_path / "p.npy").tolist() == [r["class_index"] for r in records]
    one = fnn_cli("predict", iris_run, "--values", "5.1,3.5,1.4,0.2").stdout.splitlines()
    assert len(one) == 2 and one[1].startswith("0,setosa,0,")
    np.save(tmp_path / "one.npy", np.array([6.7, 3.0, 5.2, 2.3]))  # a 1-D array is one sample
    assert fnn_cli("predict", iris_run, tmp_path / "one.npy").stdout.splitlines()[1].startswith("0,virginica,2,")


def test_predict_never_overwrites_unless_asked(iris_run, flowers, tmp_path):
    path, _ = flowers
    out = tmp_path / "mine.csv"
    out.write_text("my own work\n")
    one_line_error(fnn_cli("predict", iris_run, path, "--out", out, check=False), "--out", "--overwrite")
    assert out.read_text() == "my own work\n"
    fnn_cli("predict", iris_run, path, "--out", out, "--overwrite")
    assert out.read_text().startswith("index,class")


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["{flowers}", "--out", "p.txt"], ["--out p.txt", ".csv, .json, .npy"]),
        (["{wide}"], ["wide.csv", "6 columns", "4 inputs"]),
        (["{unnamed}"], ["unnamed.csv", "5 columns", "--label"]),
        (["{flowers}", "--label", "colour"], ["--label 'colour'"]),
        (["--values", "1,2,3"], ["--values", "4 inputs", "3 values"]),
        (["--values", "1,a,3,4"], ["--values", "comma-separated numbers"]),
        (["missing.csv"], ["error: missing.csv: no such file"]),
        ([], ["input", "--values"]),
        (["{flowers}", "--scale", "0"], ["--scale"]),
    ],
)
def test_predict_mistakes_are_one_line_naming_the_flag_or_file(iris_run, flowers, tmp_path, args, fragments):
    path, _ = flowers
    (tmp_path / "wide.csv").write_text("a,b,c,d,e,f\n1,2,3,4,5,6\n")
    (tmp_path / "unnamed.csv").write_text("a,b,c,d,e\n1,2,3,4,5\n")
    args = [a.format(flowers=path, wide=tmp_path / "wide.csv", unnamed=tmp_path / "unnamed.csv") for a in args]
    one_line_error(fnn_cli("predict", iris_run, *args, cwd=tmp_path, check=False), *fragments)
    assert not (tmp_path / "p.txt").exists()


def test_evaluate_reports_correct_answers_beside_the_fraction(iris_run):
    metrics = json.loads(fnn_cli("evaluate", iris_run, "--json").stdout)
    assert metrics["samples"] == 30 and metrics["correct"] == round(metrics["accuracy"] * 30)
    assert f"({metrics['correct']} of 30 right)" in fnn_cli("evaluate", iris_run).stdout


def test_plot_compares_runs_and_draws_activations(iris_run, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    other = tmp_path / "other"
    fnn_cli("train", "--data", "iris", "--hidden", "6", "--epochs", "5", "--out", other, "--quiet")
    fnn_cli("plot", iris_run, other, cwd=tmp_path)
    image = imread(tmp_path / "compare.png")
    assert image.shape[1] >= 800 and image[..., :3].std() > 0.05
    one_line_error(fnn_cli("plot", iris_run, other, cwd=tmp_path, check=False), "--out compare.png", "--overwrite")
    fnn_cli("plot", "--activations", "--out", tmp_path / "act.png")
    assert imread(tmp_path / "act.png").shape[0] >= 500
    one_line_error(fnn_cli("plot", tmp_path / "nowhere", check=False), "RUN", "nowhere")
    one_line_error(fnn_cli("plot", check=False), "RUN", "--activations")


def test_plot_redraws_a_run_into_its_folder(iris_run):
    pytest.importorskip("matplotlib")
    out = fnn_cli("plot", iris_run).stdout
    assert "learning_curves.png" in out and "confusion_matrix.png" in out
    assert os.path.getsize(iris_run / "learning_curves.png") > 10_000


def test_mnist_with_only_fashion_mnist_present_is_an_error_that_says_how_to_get_it(tmp_path):
    fashion = "/usr/share/datasets/fashion-mnist"
    env = {**os.environ, "FNN_DATA": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    if os.path.isdir(fashion):  # make it findable where MNIST would be looked for, too
        os.makedirs(tmp_path / "data" / "mnist")
        for name in os.listdir(fashion):
            os.symlink(os.path.join(fashion, name), tmp_path / "data" / "mnist" / name)
    result = subprocess.run([sys.executable, "-m", "fnn", "train", "--data", "mnist", "--epochs", "1", "--no-record"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    one_line_error(result, "No MNIST files found", "$FNN_DATA/mnist", "never substitutes Fashion-MNIST")
    if os.path.isdir(fashion):
        assert "holds Fashion-MNIST" in result.stderr


@pytest.fixture(scope="module")
def sweep_record(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep") / "sweep"
    fnn_cli("sweep", "--data", "iris", "--hidden", "4", "--epochs", "1", "--seeds", "0,1", "--out", folder, "--quiet")
    return sorted((folder / "runs").glob("*.json"))[0]


@pytest.mark.parametrize("command", [["evaluate"], ["predict", "--values", "1,2,3,4"], ["export", "--out", "model.onnx"]])
@pytest.mark.parametrize("kind", ["sweep record", "run record"])
def test_a_json_record_given_as_a_model_is_named_and_pointed_to_what_holds_one(command, kind, sweep_record, iris_run, tmp_path):
    record = sweep_record if kind == "sweep record" else iris_run / "record.json"
    result = fnn_cli(command[0], record, *command[1:], cwd=tmp_path, check=False)
    hint = f"fnn verify {record}" if kind == "sweep record" else f"give its run folder {iris_run}"
    one_line_error(result, f"model {record}: is a JSON record, not a model", hint)
    assert not (tmp_path / "model.onnx").exists()


def test_a_table_without_labels_is_refused_in_each_doors_words(iris_run, tmp_path):
    table = tmp_path / "unlabelled.csv"
    table.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n")
    result = fnn_cli("evaluate", iris_run, "--data", f"csv:{table}", check=False)
    one_line_error(result, f"--data csv:{table}: has no label column", "--label COLUMN")
    assert " y." not in result.stderr
    with pytest.raises(fnn.FnnInputError, match=r"has no label column; .*the labels given as y\.$"):
        fnn.load(iris_run).evaluate(str(table))
