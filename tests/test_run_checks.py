"""Proving runs end to end: fnn verify, fnn diff, fnn replay (and their Python counterparts), and what fnn train
adds when asked (--diagnostics advice, --tensorboard, --keep-checkpoints)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fnn
from fnn.run.provenance import file_sha256
from fnn.store.epochs import epoch_checkpoint_path, kept_epochs


def fnn_cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "fnn", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=300, env=env)


def _ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _csv(path, rows=120, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).round(3)
    labels = (x[:, 0] + x[:, 1] > 0).astype(int)
    lines = [",".join([f"x{i}" for i in range(features)] + ["label"])]
    lines += [",".join([*map(str, row), str(label)]) for row, label in zip(x, labels)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _record(folder):
    return json.loads((folder / "record.json").read_text())


def test_the_record_holds_what_a_rerun_needs_and_a_fresh_run_verifies(tmp_path):
    data = _csv(tmp_path / "table.csv")
    _ok(fnn_cli("train", "--data", f"csv:{data}", "--hidden", "8", "--epochs", "3", "--validation", "0.25", "--out", tmp_path / "a", "--quiet"))
    record = _record(tmp_path / "a")
    assert set(record["data"]) == {"train", "validation", "test", "source"}
    assert record["data"]["train"]["features"] == "float32[72,4]" and record["data"]["validation"]["features"] == "float32[24,4]"
    assert record["data"]["test"]["features"] == "float32[24,4]" and record["data"]["test"]["labels"] == "int64[24]"
    assert len(record["data"]["train"]["sha256"]) == 64 and len(record["data"]["test"]["sha256"]) == 64
    assert record["data"]["source"] == {"location": f"csv:{data}", "files": {str(data): fnn.run.provenance.file_sha256(str(data))}}
    blas = record["environment"]["blas"]
    assert set(blas) >= {"library", "core_type", "threads"} and record["environment"]["numpy"] == np.__version__
    result = _ok(fnn_cli("verify", tmp_path / "a"))
    assert "verified: the rerun's params are bit-identical to the record's" in result.stdout.splitlines()
    assert f"params sha256: {record['params_sha256']}" in result.stdout.splitlines()
    verdict = fnn.verify_run(tmp_path / "a")
    assert verdict.matches and verdict.reasons == () and verdict.differences == () and verdict.rerun_sha256 == record["params_sha256"]


def test_verify_refuses_a_changed_csv_naming_the_file_and_both_fingerprints(tmp_path):
    data = _csv(tmp_path / "table.csv")
    _ok(fnn_cli("train", "--data", f"csv:{data}", "--hidden", "8", "--epochs", "2", "--out", tmp_path / "a", "--quiet"))
    lines = data.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[0], str(float(lines[5].split(",")[0]) + 1.0), 1)
    data.write_text("\n".join(lines) + "\n")
    recorded = _record(tmp_path / "a")["data"]["source"]["files"][str(data)]
    for flags in ((), ("--json",)):
        result = fnn_cli("verify", tmp_path / "a", *flags)
        assert result.returncode == 2, result.stdout + result.stderr
        message = result.stderr.strip().splitlines()[-1]
        assert f"{data} has changed" in message and recorded in message and fnn.run.provenance.file_sha256(str(data)) in message


def _threads_change_bits():
    """Whether this BLAS sums (128 x 784) @ (784 x 64) differently on 1 and 2 threads (OpenBLAS does)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(128, 784)).astype(np.float32), rng.normal(size=(784, 64)).astype(np.float32)
    with threadpool_limits(1, "blas"):
        one = a.T @ (a @ b)
    with threadpool_limits(2, "blas"):
        two = a.T @ (a @ b)
    return one.tobytes() != two.tobytes()


def test_verify_reruns_with_the_recorded_thread_count_and_names_a_different_one(tmp_path):
    data = _csv(tmp_path / "wide.csv", rows=256, features=784)
    _ok(fnn_cli("train", "--data", f"csv:{data}", "--hidden", "64", "--epochs", "1", "--batch-size", "128",
                "--threads", "1", "--out", tmp_path / "a", "--quiet"))
    record = _record(tmp_path / "a")
    assert record["environment"]["blas"]["threads"] == 1 and record["threads"] == 1
    # The environment is read under the run's limit; verify reruns with the recorded 1 thread.
    result = _ok(fnn_cli("verify", tmp_path / "a"))
    assert "with 1 BLAS thread..." in result.stdout and result.stdout.splitlines()[1].startswith("verified: ")
    if not _threads_change_bits():
        pytest.skip("this BLAS gives the same bits on 1 and 2 threads, so a thread change cannot be seen")
    result = fnn_cli("verify", tmp_path / "a", "--threads", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT verified" in result.stdout and "BLAS thread count: 1 recorded, 2 now" in result.stdout
    assert "data:" not in result.stdout  # the data did not change


def test_diff_names_a_changed_seed_and_learning_rate(tmp_path):
    common = ("--data", "iris", "--hidden", "6", "--epochs", "3", "--quiet")
    _ok(fnn_cli("train", *common, "--out", tmp_path / "a"))
    _ok(fnn_cli("train", *common, "--out", tmp_path / "b", "--seed", "4", "--lr", "0.05"))
    _ok(fnn_cli("train", *common, "--out", tmp_path / "c"))
    result = fnn_cli("diff", tmp_path / "a", tmp_path / "b")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "setting lr: 0.1 -> 0.05" in lines and "setting seed: 0 -> 4" in lines
    assert [line for line in lines if line.startswith("setting")] == ["setting lr: 0.1 -> 0.05", "setting seed: 0 -> 4"]
    assert any(line.startswith("history: first differs at epoch 1") for line in lines) and "params: different" in lines
    same = fnn_cli("diff", tmp_path / "a", tmp_path / "c")
    assert same.returncode == 0 and "params: equal" in same.stdout and "history: identical over 3 epochs" in same.stdout
    difference = fnn.diff_runs(tmp_path / "a", tmp_path / "b" / "record.json")
    assert [name for name, _, _ in difference.settings] == ["lr", "seed"] and difference.params_equal is False


def test_replay_of_a_middle_epoch_equals_its_kept_checkpoint(tmp_path):
    run = tmp_path / "a"
    _ok(fnn_cli("train", "--data", "digits", "--hidden", "32", "--epochs", "4", "--drop-rate", "0.3", "--validation", "0.2",
                "--optimizer", "adam", "--lr", "0.003", "--keep-checkpoints", "--out", run, "--quiet"))
    assert kept_epochs(run) == [1, 2, 3, 4]
    final = fnn.store.checkpoint.load_checkpoint(run / "checkpoint.npz").state
    assert fnn.store.checkpoint.load_checkpoint(epoch_checkpoint_path(run, 4)).state.params == final.params
    result = _ok(fnn_cli("replay", run, "--epoch", "3"))
    assert "epoch 3: 36 batches of 32" in result.stdout and "replayed: the params after epoch 3 equal the kept" in result.stdout
    keep = float(result.stdout.split("keep ")[1].split("%")[0]) / 100
    assert abs(keep - 0.7) < 0.02
    replay = fnn.replay_epoch(run, 3)
    assert replay.matches and replay.data_matches is True and replay.plan.first_step == 2 * 36
    rows = int(_record(run)["data"]["train"]["features"].split("[")[1].split(",")[0])
    assert sorted(np.concatenate(replay.plan.batches).tolist()) == list(range(rows))  # every training row once
    assert fnn.replay_epoch(run, 1).matches  # the first epoch starts from the configuration's initial params
    as_json = json.loads(_ok(fnn_cli("replay", run, "--epoch", "2", "--json")).stdout)
    assert as_json["matches"] and len(as_json["batches"]) == 36 and as_json["first_step"] == 36
    missing = fnn_cli("replay", run, "--epoch", "9")
    assert missing.returncode == 2 and "--epoch 9" in missing.stderr and "epochs 1 to 4" in missing.stderr


def test_replay_says_different_when_a_kept_checkpoint_is_not_what_training_gave(tmp_path):
    run = tmp_path / "a"
    _ok(fnn_cli("train", "--data", "iris", "--hidden", "6", "--epochs", "3", "--keep-checkpoints", "--out", run, "--quiet"))
    os.replace(epoch_checkpoint_path(run, 3), epoch_checkpoint_path(run, 2).replace("0002", "0002-real"))
    os.replace(epoch_checkpoint_path(run, 1), epoch_checkpoint_path(run, 3))  # epoch 3's file now holds epoch 1
    refused = fnn_cli("replay", run, "--epoch", "3")  # the record binds each kept checkpoint: this one is refused
    named = json.loads((run / "record.json").read_text())["kept_checkpoints"]
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and named["epoch-0003.npz"] in refused.stderr
    record = json.loads((run / "record.json").read_text())  # a record naming bytes that training does not give
    record["kept_checkpoints"]["epoch-0003.npz"] = file_sha256(epoch_checkpoint_path(run, 3))
    (run / "record.json").write_text(json.dumps(record))
    result = fnn_cli("replay", run, "--epoch", "3")
    assert result.returncode == 1 and "NOT replayed" in result.stdout and "DIFFER" in result.stdout


def test_keep_checkpoints_never_overwrites_and_needs_a_run_folder(tmp_path):
    run = tmp_path / "a"
    _ok(fnn_cli("train", "--data", "iris", "--hidden", "6", "--epochs", "2", "--keep-checkpoints", "--out", run, "--quiet"))
    os.remove(run / "checkpoint.npz")
    os.remove(run / "record.json")
    kept = (run / "checkpoints" / "epoch-0001.npz").read_bytes()
    again = fnn_cli("train", "--data", "iris", "--hidden", "6", "--epochs", "2", "--keep-checkpoints", "--out", run, "--quiet")
    # the leftover checkpoints/ folder is another run's work: refused before anything is written
    assert again.returncode == 2 and "--out" in again.stderr and "checkpoints" in again.stderr
    assert (run / "checkpoints" / "epoch-0001.npz").read_bytes() == kept
    for flag in ("--keep-checkpoints", "--tensorboard"):
        refused = fnn_cli("train", "--data", "iris", "--epochs", "1", flag, "--no-record")
        assert refused.returncode == 2 and flag in refused.stderr and "--no-record" in refused.stderr


def test_resume_keeps_checkpoints_on_and_replays_across_the_resume(tmp_path):
    run = tmp_path / "a"
    common = ("--data", "iris", "--hidden", "6", "--quiet")
    _ok(fnn_cli("train", *common, "--epochs", "2", "--keep-checkpoints", "--diagnostics", "--out", run))
    _ok(fnn_cli("train", "--resume", run, "--epochs", "4", "--quiet"))
    assert kept_epochs(run) == [1, 2, 3, 4]
    assert fnn.replay_epoch(run, 3).matches
    assert all(epoch["diagnostics"]["steps"] == 4 for epoch in _record(run)["history"])


def test_diagnostics_advice_once_per_layer_and_problem_and_a_plot(tmp_path):
    pytest.importorskip("matplotlib")
    result = _ok(fnn_cli("train", "--data", "digits", "--hidden", "32,32", "--epochs", "4", "--lr", "3", "--diagnostics",
                         "--out", tmp_path / "a", "--quiet"))
    warnings = [line for line in result.stderr.splitlines() if line.startswith("fnn train: warning:")]
    assert any("units are dead" in line for line in warnings)
    kinds = ("units are dead", "saturated", "not finite", "magnitude above", "magnitude below", "did not change")
    keys = [(line.split("Layer ")[1].split(" ")[0], next(kind for kind in kinds if kind in line)) for line in warnings]
    assert len(set(keys)) == len(keys)  # each (layer, problem) once, though the run has 4 epochs
    history = _record(tmp_path / "a")["history"]
    assert all(epoch["diagnostics"]["layers"][0]["activation"] == "relu" for epoch in history)
    plotted = _ok(fnn_cli("plot", tmp_path / "a"))
    assert "diagnostics.png" in plotted.stdout and (tmp_path / "a" / "diagnostics.png").stat().st_size > 10_000
    quiet = _ok(fnn_cli("train", "--data", "iris", "--epochs", "2", "--no-record", "--quiet"))
    assert "warning" not in quiet.stderr  # no diagnostics, no advice


def test_tensorboard_stream_from_the_command_line_reads_back(tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    pytest.importorskip("tensorboardX")
    run = tmp_path / "a"
    _ok(fnn_cli("train", "--data", "iris", "--hidden", "6", "--epochs", "3", "--validation", "0.2", "--diagnostics",
                "--tensorboard", "--out", run, "--quiet"))
    files = os.listdir(run / "tensorboard")
    assert len(files) == 1
    events = event_accumulator.EventAccumulator(str(run / "tensorboard" / files[0]))
    events.Reload()
    tags = events.Tags()["scalars"]
    history = _record(run)["history"]
    for tag, read in (("val_accuracy", lambda e: e["val_accuracy"]), ("diagnostics/layer1/grad_norm", lambda e: e["diagnostics"]["layers"][0]["grad_norm"])):
        assert tag in tags
        assert [(p.step, np.float32(p.value)) for p in events.Scalars(tag)] == [(e["epoch"], np.float32(read(e))) for e in history]


def test_the_switches_come_from_toml_too_and_only_fnn_train_has_a_folder_for_them(tmp_path):
    (tmp_path / "run.toml").write_text('data = "iris"\nhidden = [6]\nepochs = 2\ndiagnostics = true\nkeep-checkpoints = true\n')
    _ok(fnn_cli("train", "--config", tmp_path / "run.toml", "--out", tmp_path / "a", "--quiet"))
    record = _record(tmp_path / "a")
    assert record["config"]["diagnostics"] is True and record["config"]["tensorboard"] is False
    assert kept_epochs(tmp_path / "a") == [1, 2] and record["history"][0]["diagnostics"]["steps"] == 4  # 120 rows, batches of 32
    (tmp_path / "bad.toml").write_text('diagnostics = "sometimes"\n')
    bad = fnn_cli("train", "--config", tmp_path / "bad.toml", "--no-record")
    assert bad.returncode == 2 and "'diagnostics'" in bad.stderr and "true or false" in bad.stderr
    config = fnn.run.resolve_config(({"data": "iris", "epochs": 1, "tensorboard": True}, fnn.run.PYTHON))
    with pytest.raises(fnn.FnnInputError, match="run folder"):
        fnn.run.run(config)


def test_early_stopping_keeps_each_trained_epoch_once(tmp_path):
    run = tmp_path / "a"
    _ok(fnn_cli("train", "--data", "iris", "--hidden", "6", "--epochs", "60", "--lr", "0.5", "--patience", "2",
                "--validation", "0.3", "--keep-checkpoints", "--out", run, "--quiet"))
    record = _record(run)
    assert record["stopped_early"] and kept_epochs(run) == list(range(1, record["epochs_run"] + 1))
    assert fnn.replay_epoch(run, record["epochs_run"]).matches
