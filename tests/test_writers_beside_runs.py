"""Writers that are not training (export, predict --out, plot --out, a sweep's --out) meet a run folder: they write
beside its files as one of its writers, never over its own files, and never into a folder another process holds;
a lock file that is not a regular file is refused in one line. Every refusal leaves every file as it was."""

import os
import shutil

import numpy as np
import pytest
from folder_state import folder_state

from fnn.cli import main
from fnn.store import RunFolder


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    root = tmp_path_factory.mktemp("beside")
    assert main(["train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--out", str(root / "done"), "--quiet"]) == 0
    np.savetxt(root / "x.csv", np.ones((3, 4)), delimiter=",")
    return root


def _refused(args, capsys):
    capsys.readouterr()
    code = main([str(arg) for arg in args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


_EXPORT = lambda root, target: ["export", root / "done", "--format", "onnx", "--out", target, "--overwrite"]  # noqa: E731
_PREDICT = lambda root, target: ["predict", root / "done", root / "x.csv", "--out", target, "--overwrite"]  # noqa: E731


@pytest.mark.parametrize("command, own", [(_EXPORT, "checkpoint.npz"), (_EXPORT, "record.json"), (_EXPORT, "run.lock"),
                                          (_PREDICT, "record.json")], ids=["export-checkpoint", "export-record", "export-lock", "predict-record"])
def test_a_run_folders_own_files_are_never_an_output_even_with_overwrite(done, tmp_path, capsys, command, own):
    run = shutil.copytree(done / "done", tmp_path / "run")
    before = folder_state(tmp_path)
    err = _refused(command(done, run / own), capsys)
    assert "a run folder's own file name" in err and own in err
    assert folder_state(tmp_path) == before


@pytest.mark.parametrize("out", ["p.csv", "m.onnx"])
def test_outputs_into_a_folder_another_writer_holds_are_refused(done, tmp_path, capsys, out):
    run = shutil.copytree(done / "done", tmp_path / "run")
    holder = RunFolder(run).acquire()  # another open file description: flock treats it as another process
    try:
        before = folder_state(tmp_path)
        args = (["predict", done / "done", done / "x.csv", "--out", run / out] if out.endswith(".csv")
                else ["export", done / "done", "--format", "onnx", "--out", run / out])
        assert "another fnn process is writing into this folder" in _refused(args, capsys)
        assert folder_state(tmp_path) == before
    finally:
        holder.release()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
@pytest.mark.parametrize("args", [["train", "--resume", "{run}", "--epochs", "3"], ["plot", "{run}"]], ids=["resume", "plot"])
def test_a_lock_file_that_is_a_fifo_is_refused_in_one_line(done, tmp_path, capsys, args):
    run = shutil.copytree(done / "done", tmp_path / "run")
    os.mkfifo(run / "run.lock")
    before = folder_state(tmp_path)
    err = _refused([a.format(run=run) for a in args], capsys)
    assert "run.lock: not a regular file" in err
    assert folder_state(tmp_path) == before


def test_a_sweep_is_not_written_into_a_run_folder(done, tmp_path, capsys):
    run = shutil.copytree(done / "done", tmp_path / "run")
    before = folder_state(tmp_path)
    for extra in ([], ["--overwrite"]):
        err = _refused(["sweep", "--data", "iris", "--grid", "lr=[0.1]", "--epochs", "1", "--out", run, *extra], capsys)
        assert "holds a run" in err
    assert folder_state(tmp_path) == before
