"""TensorBoard event files, read back with TensorBoard's own reader, written through the run folder (never
through a link, staged until the run's record commits them)."""

import contextlib
import io
import os
import sys

import numpy as np
import pytest

import fnn
from fnn.observe.tensorboard import TensorBoardLog, epoch_scalars, write_history
from fnn.store import Model, RunFolder

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
pytest.importorskip("tensorboardX")


def _read(path):
    events = event_accumulator.EventAccumulator(str(path))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_each_epoch_of_a_run_is_streamed_and_reads_back_equal(tmp_path):
    data = fnn.data.moons(120, noise=0.2, seed=0)
    params = fnn.init_params(fnn.network([2, 8, 1], loss="binary_cross_entropy", activation="tanh"), seed=0)
    with TensorBoardLog(tmp_path / "tb") as log:
        states = fnn.iterate_epochs(params, data, lr=0.5, batch_size=16, seed=0, validation=0.25)
        final = [log(state) for _, state in zip(range(3), states)][-1]
        scalars = _read(log.path)
    assert log.path.startswith(str(tmp_path / "tb"))
    assert sorted(scalars) == ["accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    for name, points in scalars.items():
        expected = [(record.epoch, np.float32(getattr(record, name))) for record in final.history]
        assert [(step, np.float32(value)) for step, value in points] == expected


def test_a_finished_history_with_diagnostics_is_exported(tmp_path):
    layer = {"layer": 1, "activation": "relu", "grad_norm": 0.5, "grad_norm_max": 0.75, "weight_norm": 3.0,
             "update_ratio": 2e-3, "dead_fraction": 0.25, "saturated_fraction": None}
    diagnostics = {"lr_first": 0.1, "lr_last": 0.05, "steps": 4, "samples": 100, "sampled_steps": 1, "layers": [layer]}
    history = [
        {"epoch": 1, "step": 4, "lr": 0.1, "loss": 0.9, "accuracy": 0.5, "val_loss": None, "diagnostics": diagnostics},
        {"epoch": 2, "step": 8, "lr": 0.05, "loss": 0.4, "accuracy": 0.8, "val_loss": None, "diagnostics": diagnostics},
    ]
    scalars = _read(write_history(tmp_path, history))
    assert scalars["loss"] == [(1, pytest.approx(0.9)), (2, pytest.approx(0.4))]
    assert scalars["diagnostics/layer1/dead_fraction"] == [(1, 0.25), (2, 0.25)]
    assert scalars["diagnostics/layer1/update_ratio"][0][1] == pytest.approx(2e-3)
    assert scalars["diagnostics/lr_last"][1][1] == pytest.approx(0.05)
    assert "val_loss" not in scalars and "diagnostics/layer1/saturated_fraction" not in scalars


def test_two_logs_in_one_folder_keep_their_own_files(tmp_path):
    first = write_history(tmp_path, [{"epoch": 1, "step": 1, "lr": 0.1, "loss": 1.0}])
    second = write_history(tmp_path, [{"epoch": 1, "step": 1, "lr": 0.1, "loss": 2.0}])
    assert first != second
    assert _read(first)["loss"] == [(1, 1.0)] and _read(second)["loss"] == [(1, 2.0)]


def test_epoch_scalars_refuses_what_is_not_an_epoch_record():
    with pytest.raises(fnn.FnnInputError, match="record"):
        epoch_scalars(3)
    with pytest.raises(fnn.FnnInputError, match="epoch"):
        epoch_scalars({"loss": 1.0})


def test_without_tensorboardx_the_error_says_what_to_install(monkeypatch, tmp_path):
    for name in [name for name in sys.modules if name.split(".")[0] == "tensorboardX"] + ["tensorboardX"]:
        monkeypatch.setitem(sys.modules, name, None)  # an import of it, or of any part, now fails
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'fnn\[tensorboard\]'"):
        TensorBoardLog(tmp_path)


# -- through the run folder: its descriptors, its lock and its commit ----------------------------------------------


def _trained(folder):
    with contextlib.redirect_stdout(io.StringIO()):
        assert fnn.cli.main(["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--tensorboard", "--out", str(folder), "--quiet"]) == 0
    return folder


@pytest.mark.parametrize("resume", [False, True], ids=["new run", "resumed run"])
@pytest.mark.parametrize("target", ["folder", "dangling"])
def test_a_link_planted_where_the_log_goes_is_refused_and_nothing_is_written_through_it(tmp_path, resume, target):
    outside = tmp_path / "outside"
    outside.mkdir()
    run = tmp_path / "run"
    if resume:
        _trained(run)
    folder = RunFolder(run)
    with folder.claim(resume=resume):
        link = run / folder.place("tensorboard")
        if link.exists():
            link.rename(run / "moved")
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(outside if target == "folder" else tmp_path / "nowhere", link)
        with pytest.raises(fnn.FnnInputError, match=f"{link} is a symbolic link; fnn does not follow links"):
            TensorBoardLog(folder, "tensorboard")
    assert list(outside.iterdir()) == [] and not (tmp_path / "nowhere").exists()


def test_a_resumed_runs_log_is_staged_and_committed_with_its_record(tmp_path):
    run = _trained(tmp_path / "run")
    old = sorted(os.listdir(run / "tensorboard"))
    folder = RunFolder(run)
    for commit in (False, True):
        with folder.claim(resume=True):
            with TensorBoardLog(folder, "tensorboard") as log:
                log.write({"epoch": 2, "step": 8, "lr": 0.1, "loss": 0.25})
            assert os.path.dirname(log.path) == str(run / ".fnn-pending" / "tensorboard")
            assert sorted(os.listdir(run / "tensorboard")) == old  # the old run's logs only, until the commit
            if commit:
                folder.save_checkpoint(Model.from_checkpoint(folder.load_checkpoint()))
                folder.write_record(folder.read_record())
        committed = sorted(os.listdir(run / "tensorboard"))
        assert committed == (sorted([*old, os.path.basename(log.path)]) if commit else old)
    assert _read(run / "tensorboard" / os.path.basename(log.path))["loss"] == [(2, 0.25)]


def test_a_log_never_writes_over_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr("time.monotonic_ns", lambda: 7)
    monkeypatch.setattr("time.time", lambda: 1_000_000_000.0)
    TensorBoardLog(tmp_path).close()
    with pytest.raises(fnn.FnnInputError, match="exists; fnn does not write over it"):
        TensorBoardLog(tmp_path)
