"""``fnn train`` as people run it: output in a pipe, --json and --quiet, run folders (overwrite, resume, the lock,
divergence), unique default folders, --data mnist never Fashion-MNIST, early stopping, threads."""

import json
import os
import subprocess
import sys

import pytest
from folder_state import folder_state

from fnn.cli.train import _default_folder
from fnn.run.settings import PYTHON, default_threads, resolve_config
from fnn.store.checkpoint import load_checkpoint
from fnn.store.run_folder import RunFolder

IRIS = ["--data", "iris", "--hidden", "4", "--epochs", "2"]
DIVERGES_IN_EPOCH_2 = ["--data", "moons", "--hidden", "32", "--lr", "500", "--schedule", "linear_warmup:20", "--epochs", "8"]


def fnn_cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "fnn", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300, check=False)


def one_line_error(result, *words):
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(word in result.stderr for word in words), result.stderr


def test_quiet_prints_only_the_run_folder(tmp_path):
    result = fnn_cli("train", *IRIS, "--quiet", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert line.startswith("runs/") and line.endswith("-iris") and (tmp_path / line / "record.json").is_file()


def test_json_lines_end_with_the_test_metrics_and_the_run_folder(tmp_path):
    result = fnn_cli("train", *IRIS, "--json", "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    *epochs, final = [json.loads(line) for line in result.stdout.splitlines()]  # stdout is JSON only
    assert [e["epoch"] for e in epochs] == [1, 2] and all("val_loss" in e and "seconds" in e for e in epochs)
    assert final["run_folder"] == str(tmp_path / "run") and final["epochs_run"] == 2 and not final["stopped_early"]
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert final["final_metrics"] == record["final_metrics"] and final["params_sha256"] == record["params_sha256"]
    assert "4-4-3 relu -> softmax, cross-entropy on iris (108 train, 12 validation, 30 test)" in result.stderr


def test_an_existing_run_is_refused_unless_overwritten_or_resumed(tmp_path):
    run = tmp_path / "run"
    assert fnn_cli("train", *IRIS, "--out", run, "--quiet").returncode == 0
    checkpoint = (run / "checkpoint.npz").read_bytes()
    refused = fnn_cli("train", *IRIS, "--out", run)
    one_line_error(refused, f"--out {run}: already holds a run", "--overwrite", f"--resume {run}")
    assert (run / "checkpoint.npz").read_bytes() == checkpoint
    assert fnn_cli("train", *IRIS, "--epochs", "3", "--out", run, "--overwrite", "--quiet").returncode == 0
    assert json.loads((run / "record.json").read_text())["epochs_run"] == 3
    assert fnn_cli("train", "--resume", run, "--epochs", "5", "--quiet").returncode == 0
    record = json.loads((run / "record.json").read_text())
    assert record["epochs_run"] == 5 and record["resumed_from_epoch"] == 3
    assert load_checkpoint(run / "checkpoint.npz").state.epoch == 5


def test_a_second_process_is_refused_by_the_lock_naming_its_holder(tmp_path):
    run = tmp_path / "run"
    assert fnn_cli("train", *IRIS, "--out", run, "--quiet").returncode == 0
    with RunFolder(run).acquire():  # this test process holds the folder, as a running fnn train would
        one_line_error(fnn_cli("train", "--resume", run, "--epochs", "4"), f"--resume {run}", f"pid {os.getpid()}")
        one_line_error(fnn_cli("train", *IRIS, "--out", run, "--overwrite"), f"--out {run}", f"pid {os.getpid()}")
    assert fnn_cli("train", "--resume", run, "--epochs", "4", "--quiet").returncode == 0


def test_a_diverging_run_keeps_the_last_good_checkpoint_and_writes_no_record(tmp_path):
    fresh = tmp_path / "fresh"
    result = fnn_cli("train", *DIVERGES_IN_EPOCH_2, "--out", fresh)
    assert result.returncode == 3 and "diverged" in result.stderr and "epoch 1's checkpoint is kept" in result.stderr
    assert "RuntimeWarning" not in result.stderr and "Traceback" not in result.stderr
    state = load_checkpoint(fresh / "checkpoint.npz").state
    assert state.epoch == 1 and all(bool(abs(a).max() < 1e30) for a in state.params.arrays())
    assert not (fresh / "record.json").exists() and not (fresh / "run.lock").exists()

    good = tmp_path / "good"
    assert fnn_cli("train", *IRIS, "--out", good, "--quiet").returncode == 0
    checkpoint, record = (good / "checkpoint.npz").read_bytes(), (good / "record.json").read_bytes()
    result = fnn_cli("train", "--data", "moons", "--hidden", "32", "--lr", "1e6", "--out", good, "--overwrite")
    assert result.returncode == 3 and "at epoch 1," in result.stderr
    assert (good / "checkpoint.npz").read_bytes() == checkpoint  # never replaced by the diverged run
    assert (good / "record.json").read_bytes() == record  # the replaced run is kept whole until a new one is
    assert sorted(os.listdir(good)) == ["checkpoint.npz", "record.json"]


def test_default_run_folders_never_collide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = resolve_config(({"data": "iris"}, PYTHON))
    first, second, third = (_default_folder(config) for _ in range(3))  # the same second
    assert len({first, second, third}) == 3 and all(os.path.isdir(f) for f in (first, second, third))
    assert second == first + "-2" and third == first + "-3"
    runs = [subprocess.Popen([sys.executable, "-m", "fnn", "train", *IRIS, "--quiet"], cwd=tmp_path / "runs", stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    folders = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert all(run.returncode == 0 for run in runs) and folders[0] != folders[1]


def test_mnist_never_trains_on_fashion_mnist(tmp_path):
    fashion = "/usr/share/datasets/fashion-mnist"
    if not os.path.isdir(fashion):
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    data = tmp_path / "data"
    (data / "mnist").mkdir(parents=True)
    for name in os.listdir(fashion):  # Fashion-MNIST under MNIST's name, where the search looks for MNIST
        os.symlink(os.path.join(fashion, name), data / "mnist" / name)
    env = {**os.environ, "FNN_DATA": str(data), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    searched = fnn_cli("train", "--data", "mnist", "--epochs", "1", cwd=tmp_path, env=env)
    one_line_error(searched, "--data mnist", "holds Fashion-MNIST", "never substitutes Fashion-MNIST")
    named = fnn_cli("train", "--data", f"mnist:{data / 'mnist'}", "--epochs", "1", cwd=tmp_path, env=env)
    one_line_error(named, "--data mnist:", "holds Fashion-MNIST, not MNIST")
    assert not (tmp_path / "runs").exists()


def test_early_stopping_is_reported_only_when_it_stopped_and_the_record_keeps_every_epoch(tmp_path):
    stopping = ["--data", "iris", "--hidden", "4", "--epochs", "60", "--lr", "0.5", "--validation", "0.3", "--patience", "2"]
    result = fnn_cli("train", *stopping, "--out", tmp_path / "stop")
    record = json.loads((tmp_path / "stop" / "record.json").read_text())
    assert record["stopped_early"] and record["epochs_run"] < 60 and record["best_epoch"] == record["epochs_run"] - 2
    assert len(record["history"]) == record["epochs_run"]  # the epochs after the best one too
    assert f"early stopping at epoch {record['epochs_run']} of 60" in result.stdout
    assert f"keeping epoch {record['best_epoch']}" in result.stdout
    assert load_checkpoint(tmp_path / "stop" / "checkpoint.npz").state.epoch == record["best_epoch"]
    result = fnn_cli("train", *IRIS, "--patience", "50", "--out", tmp_path / "full")
    assert "early stopping" not in result.stdout
    assert not json.loads((tmp_path / "full" / "record.json").read_text())["stopped_early"]


def test_threads_are_applied_and_recorded_and_the_same_count_gives_the_same_bytes(tmp_path):
    for name, threads in (("a", "2"), ("b", "2"), ("one", "1")):
        assert fnn_cli("train", "--threads", threads, "--out", tmp_path / name, "--quiet").returncode == 0
    a, b, one = (json.loads((tmp_path / name / "record.json").read_text()) for name in ("a", "b", "one"))
    assert a["params_sha256"] == b["params_sha256"] and a["threads"] == 2 and one["threads"] == 1
    assert one["environment"]["blas"]["threads"] == 1  # fnn.run.provenance.environment, read under the run's limit
    assert one["environment"]["blas"]["core_type"] not in (None, "", "unknown") and one["config"]["threads"] == 1
    assert fnn_cli("train", *IRIS, "--out", tmp_path / "default", "--quiet").returncode == 0
    assert json.loads((tmp_path / "default" / "record.json").read_text())["threads"] == default_threads()[0]


def test_a_resumed_run_stopped_midway_leaves_the_finished_run_as_it_was(tmp_path, monkeypatch, capsys):
    from fnn.cli import main

    run = tmp_path / "run"
    assert main(["train", *IRIS, "--out", str(run), "--quiet"]) == 0
    before = folder_state(run)
    save = RunFolder.save_checkpoint

    def save_then_interrupt(self, model):
        save(self, model)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "save_checkpoint", save_then_interrupt)
    assert main(["train", "--resume", str(run), "--epochs", "6"]) == 130
    assert folder_state(run) == before  # the record and checkpoint of epoch 2, untouched; the resume's epoch 3 dropped
    assert f"interrupted; {run} holds the run it held before, as it was" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--epochs", "6", "--quiet"]) == 0
    assert json.loads((run / "record.json").read_text())["epochs_run"] == 6 and not (run / "run.lock").exists()
