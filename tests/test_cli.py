"""The command line, run end to end in subprocesses on bundled data."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from fnn.store.checkpoint import load_checkpoint


def fnn_cli(*args, cwd=None, check=True):
    result = subprocess.run([sys.executable, "-m", "fnn", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"fnn {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def test_default_train_on_bundled_digits(tmp_path):
    result = fnn_cli("train", "--out", tmp_path / "run")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fnn ") and "64-64-10 relu -> softmax, cross-entropy on digits" in lines[0]
    assert re.search(r"\((\d+) train, (\d+) validation, (\d+) test\)", lines[0])
    epochs = [line for line in lines if line.startswith("epoch")]  # not a terminal: one plain line per epoch
    assert len(epochs) == 20 and epochs[-1].startswith("epoch  20/20  train loss ")
    assert all(re.search(r"train accuracy 0\.\d{4}  val loss \d\.\d{4}  val accuracy 0\.\d{4}  \d+\.\d\d s$", e) for e in epochs)
    assert not any("early stopping" in line for line in lines)
    folder = str(tmp_path / "run")
    assert f"fnn evaluate {folder}" in lines[-1] and f"fnn plot {folder}" in lines[-1] and f"fnn predict {folder} FILE" in lines[-1]
    accuracy = float(next(line for line in lines if line.startswith("test accuracy")).split()[2])
    assert accuracy >= 0.95
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["final_metrics"]["accuracy"] == pytest.approx(accuracy, abs=1e-4)
    for key in ("config", "seed", "environment", "history", "wall_seconds", "params_sha256"):
        assert key in record
    assert set(record["environment"]) >= {"python", "numpy", "fnn", "blas"}
    assert len(record["history"]) == 20 and len(record["params_sha256"]) == 64


def test_progress_on_a_terminal_shows_a_bar_and_every_epoch(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real terminal has a size
    child = subprocess.Popen([sys.executable, "-m", "fnn", "train", "--data", "iris", "--epochs", "3", "--no-record"],
                             stdout=follower, stderr=follower, cwd=tmp_path)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    child.wait(timeout=60)
    text = output.decode(errors="replace")
    assert child.returncode == 0
    assert "epochs: 100%" in text and all(f"epoch   {i}/3" in text for i in (1, 2, 3))
    assert "test accuracy" in text


def test_resumed_run_has_the_hash_of_an_uninterrupted_one(tmp_path):
    common = ["--data", "iris", "--hidden", "8", "--optimizer", "adam", "--lr", "0.01", "--drop-rate", "0.1", "--validation", "0.2", "--quiet"]
    fnn_cli("train", *common, "--epochs", "12", "--out", tmp_path / "straight")
    fnn_cli("train", *common, "--epochs", "5", "--out", tmp_path / "split")
    assert load_checkpoint(tmp_path / "split" / "checkpoint.npz").state.epoch == 5
    fnn_cli("train", "--resume", tmp_path / "split", "--epochs", "12", "--quiet")
    straight = json.loads((tmp_path / "straight" / "record.json").read_text())
    resumed = json.loads((tmp_path / "split" / "record.json").read_text())
    assert resumed["params_sha256"] == straight["params_sha256"]
    assert resumed["history"] == straight["history"] and resumed["resumed_from_epoch"] == 5


def test_evaluate_and_predict(tmp_path):
    fnn_cli("train", "--data", "iris", "--hidden", "6", "--lr", "0.05", "--batch-size", "16", "--epochs", "100", "--out", tmp_path / "run", "--quiet")
    evaluated = json.loads(fnn_cli("evaluate", tmp_path / "run", "--json").stdout)
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert evaluated["accuracy"] == pytest.approx(record["final_metrics"]["accuracy"])
    assert np.array(evaluated["confusion_matrix"]).sum() == 30
    text = fnn_cli("evaluate", tmp_path / "run").stdout
    assert "confusion matrix" in text and "setosa" in text

    import fnn

    iris = fnn.data.iris()
    inputs = tmp_path / "inputs.csv"
    inputs.write_text("a,b,c,d\n" + "\n".join(",".join(map(str, row)) for row in iris.features[::10].tolist()))
    fnn_cli("predict", tmp_path / "run", inputs, "--out", tmp_path / "p.csv")
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "index,class,class_index,p_setosa,p_versicolor,p_virginica" and len(rows) == 16
    predicted = [int(row.split(",")[2]) for row in rows[1:]]
    assert np.mean(np.array(predicted) == iris.labels[::10]) >= 0.9
    assert rows[1].split(",")[1] in ("setosa", "versicolor", "virginica")
    np.save(tmp_path / "x.npy", iris.features[::10])
    fnn_cli("predict", tmp_path / "run", tmp_path / "x.npy", "--out", tmp_path / "p.npy")
    assert np.load(tmp_path / "p.npy").tolist() == predicted


def test_predict_on_idx_images(tmp_path):
    import fnn

    fnn_cli("train", "--data", "digits", "--epochs", "5", "--out", tmp_path / "run", "--quiet")
    digits = fnn.data.digits(scale=False)
    images = digits.features[:20].reshape(20, 8, 8).astype(np.uint8)
    fnn.data.write_idx(tmp_path / "images-idx3-ubyte", images)
    fnn_cli("predict", tmp_path / "run", tmp_path / "images-idx3-ubyte", "--scale", "16", "--out", tmp_path / "p.npy")
    assert np.mean(np.load(tmp_path / "p.npy") == digits.labels[:20]) >= 0.8


def test_toml_experiment_file_and_json_lines(tmp_path):
    (tmp_path / "exp.toml").write_text('data = "moons"\nhidden = [16, 16]\noptimizer = "adam"\nlr = 0.01\nepochs = 4\n')
    result = fnn_cli("train", "--config", tmp_path / "exp.toml", "--json", "--no-record")
    *epochs, final = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4] and all(0 <= e["accuracy"] <= 1 for e in epochs)
    assert all(0 <= e["val_accuracy"] <= 1 and e["seconds"] >= 0 for e in epochs)
    assert final["run_folder"] is None and 0.5 <= final["final_metrics"]["accuracy"] <= 1 and final["epochs_run"] == 4
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--data", "nope"], "--data must be one of digits, iris"),
        (["train", "--activation", "relux", "--no-record"], "Known activations"),
        (["train", "--optimizer", "adamx", "--no-record"], "--optimizer must be one of sgd, momentum"),
        (["train", "--lr", "-1", "--no-record"], "--lr must be a number > 0; got '-1'"),
        (["train", "--config", "missing.toml"], "--config missing.toml: the experiment file does not exist"),
        (["evaluate", "nowhere"], "model nowhere: does not exist"),
        (["train", "--resume", "nowhere"], "--resume nowhere: does not exist"),
    ],
)
def test_user_mistakes_are_one_line_errors_with_exit_code_2(tmp_path, args, message):
    result = fnn_cli(*args, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_tampered_checkpoint_is_refused_by_the_cli(tmp_path):
    fnn_cli("train", "--data", "iris", "--epochs", "2", "--out", tmp_path / "run", "--quiet")
    path = tmp_path / "run" / "checkpoint.npz"
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    result = fnn_cli("evaluate", tmp_path / "run", check=False)
    assert result.returncode == 2 and "not a readable fnn checkpoint" in result.stderr


def test_help_has_examples():
    for command in ("train", "evaluate", "predict", "plot", "datasets"):
        assert "example" in fnn_cli(command, "--help").stdout


def test_plots_are_valid_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    fnn_cli("train", "--data", "moons", "--hidden", "16,16", "--optimizer", "adam", "--lr", "0.01", "--epochs", "5",
            "--validation", "0.1", "--out", tmp_path / "run", "--plots", "--quiet")
    names = {"learning_curves.png", "confusion_matrix.png", "decision_boundary.png"}
    for name in names:
        data = (tmp_path / "run" / name).read_bytes()
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
        assert width >= 300 and height >= 300 and 3_000 < len(data) < 2_000_000
        os.remove(tmp_path / "run" / name)
    fnn_cli("plot", tmp_path / "run")
    assert names <= set(os.listdir(tmp_path / "run"))


def test_datasets_lists_bundled_and_generated():
    out = fnn_cli("datasets").stdout
    assert "bundled    iris" in out and "generated  moons" in out and "fashion-mnist" in out
