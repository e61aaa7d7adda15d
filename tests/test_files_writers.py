"""Every writer that takes a path from the user (fnn predict --out, fnn plot --out, fnn export onnx and safetensors,
fnn.save, Model.save_checkpoint, fnn.observe.save_plot, fnn.interop.to_onnx and to_safetensors) meets every part of a run folder and of a sweep folder: its own files, its
figures, every subfolder a run writes (checkpoints/, tensorboard/, .fnn-pending/) and a sweep's runs/. Each is
refused in one line, with every file byte-for-byte unchanged; beside a run is accepted. Generated from the store's
layout, so a new own file or subfolder is covered too."""

import json
import os
import shutil

import numpy as np
import pytest
from folder_state import folder_state
from refusals import cli_refusal, python_refusal

import fnn
from fnn.cli import main
from fnn.errors import FnnInputError
from fnn.interop import to_onnx, to_safetensors
from fnn.observe import TensorBoardLog, activation_functions, save_plot, write_plots
from fnn.store import RunFolder
from fnn.store.layout import CHECKPOINT, EXTRA_FOLDERS, LOCK, PENDING, PLOT_FILES, RECORD, RUNGS, SUMMARY, SWEEP_RUNS


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("writers")
    train = ["train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--quiet"]
    assert main([*train, "--keep-checkpoints", "--tensorboard", "--plots", "--out", str(root / "run")]) == 0
    assert main(["sweep", "--data", "iris", "--hidden", "4", "--epochs", "1", "--grid", "lr=[0.1,0.2]", "--seeds", "0",
                 "--quiet", "--out", str(root / "sweep")]) == 0
    np.savetxt(root / "x.csv", np.ones((3, 4)), delimiter=",")
    return root


def _model(made):
    return fnn.load(made / "run")


WRITERS = {  # name: (extensions it writes, call returning the refusal or None)
    "predict": ((".csv", ".json", ".npy"), cli_refusal(lambda m, t: ["predict", m / "run", m / "x.csv", "--out", t, "--overwrite"])),
    "plot": ((".png",), cli_refusal(lambda m, t: ["plot", m / "run", m / "run", "--out", t, "--overwrite"])),
    "export-onnx": ((".onnx",), cli_refusal(lambda m, t: ["export", m / "run", "--format", "onnx", "--out", t, "--overwrite"])),
    "export-safetensors": ((".safetensors",), cli_refusal(lambda m, t: ["export", m / "run", "--format", "safetensors", "--out", t, "--overwrite"])),
    "fnn.save": ((), python_refusal(lambda m, t: fnn.save(t, _model(m).params, overwrite=True))),
    "Model.save_checkpoint": ((), python_refusal(lambda m, t: _model(m).save_checkpoint(t))),
    "fnn.observe.save_plot": ((), python_refusal(lambda m, t: save_plot(activation_functions(["relu"]), t, overwrite=True))),
    "fnn.interop.to_onnx": ((), python_refusal(lambda m, t: to_onnx(_model(m), t, overwrite=True))),
    "fnn.interop.to_safetensors": ((), python_refusal(lambda m, t: to_safetensors(_model(m), t, overwrite=True))),
}


def _places(made):
    """(where, path below the test's copy) of every part of a run and a sweep; ``{e}`` is the writer's extension."""
    sweep_record = next(name for name in os.listdir(made / "sweep" / SWEEP_RUNS) if name.endswith(".json"))
    places = [("run", name) for name in (CHECKPOINT, RECORD, LOCK, *PLOT_FILES)]
    places += [("run", f"{sub}/new{{e}}") for sub in (*EXTRA_FOLDERS, PENDING)]
    places += [("run", f"{EXTRA_FOLDERS[0]}/epoch-0001.npz"), ("run", f"{EXTRA_FOLDERS[0]}/deeper/new{{e}}")]
    places += [("sweep", name) for name in (SUMMARY, RUNGS, *PLOT_FILES)]
    places += [("sweep", f"{SWEEP_RUNS}/new{{e}}"), ("sweep", f"{SWEEP_RUNS}/{sweep_record}")]
    return places


def _target(tmp_path, made, where, place, extensions):
    """The place for a writer of ``extensions`` (None when the writer cannot name it: another extension)."""
    extension = extensions[0] if extensions else ".npz"
    path = place.replace("{e}", extension)
    if extensions and "{e}" not in place and not path.endswith(extensions):
        return None
    target = tmp_path / where / path
    os.makedirs(target.parent, exist_ok=True)  # a level a writer would need (.fnn-pending/, checkpoints/deeper/)
    return target


@pytest.fixture
def copies(made, tmp_path):
    for where in ("run", "sweep"):
        shutil.copytree(made / where, tmp_path / where, symlinks=True)
    return tmp_path


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_writer_refuses_every_part_of_a_run_and_a_sweep(made, copies, capsys, writer):
    extensions, call = WRITERS[writer]
    tried = 0
    for where, place in _places(made):
        target = _target(copies, made, where, place, extensions)
        if target is None:
            continue
        before = folder_state(copies)
        refusal = call(made, target, capsys)
        assert refusal is not None, f"{writer} wrote {target}"
        assert "fnn writes nothing else" in refusal and os.path.basename(str(target)) in refusal, refusal
        assert folder_state(copies) == before, f"{writer} into {target} changed the folders"
        tried += 1
    assert tried >= 5  # every writer meets its own files' names and every subfolder


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_writer_writes_beside_a_run_and_a_sweep_and_into_plain_folders(made, copies, capsys, writer):
    extensions, call = WRITERS[writer]
    extension = extensions[0] if extensions else ".npz"
    for target in (copies / "run" / f"beside{extension}", copies / "sweep" / f"beside{extension}",
                   copies / "plain" / SWEEP_RUNS / f"a{extension}", copies / "plain" / "checkpoints" / f"a{extension}"):
        os.makedirs(target.parent, exist_ok=True)
        before = folder_state(copies)
        assert call(made, target, capsys) is None, f"{writer} refused {target}"
        after = folder_state(copies)
        assert set(after) - set(before) == {str(target)} and all(after[p] == before[p] for p in before if "beside" not in p)


def test_a_writer_through_a_link_to_a_runs_subfolder_is_refused(made, copies):
    os.symlink(copies / "run" / "checkpoints", copies / "kept")
    before = folder_state(copies)
    with pytest.raises(FnnInputError, match="a subfolder the run in .* writes"):
        fnn.save(copies / "kept" / "p.npz", _model(made).params)
    assert folder_state(copies) == before


def test_a_folder_of_runs_trained_without_out_is_no_sweep(made, tmp_path, capsys):
    """fnn train's default folders (runs/DATE-DATA) are run folders in a runs/ that is no sweep's: writing beside
    them is fine."""
    shutil.copytree(made / "run", tmp_path / "project" / "runs" / "20260101-iris")
    assert json.loads((tmp_path / "project" / "runs" / "20260101-iris" / RECORD).read_text())["config"]
    assert WRITERS["export-onnx"][1](made, tmp_path / "project" / "runs" / "m.onnx", capsys) is None


def _claim(made, target, capsys):
    try:
        with RunFolder(target, "folder").claim(overwrite=True):
            pass
    except FnnInputError as error:
        return str(error)
    return None


CLAIMERS = {  # what makes a run or a sweep folder: the command line's train and sweep, and RunFolder.claim
    "train": cli_refusal(lambda m, t: ["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--quiet", "--out", t, "--overwrite"]),
    "sweep": cli_refusal(lambda m, t: ["sweep", "--data", "iris", "--hidden", "4", "--epochs", "1", "--seeds", "0,1", "--quiet", "--out", t, "--overwrite"]),
    "RunFolder.claim": _claim,
}


@pytest.mark.parametrize("claimer", sorted(CLAIMERS))
def test_no_run_or_sweep_is_made_inside_a_run_or_a_sweep(made, copies, capsys, claimer):
    places = [("run", f"{sub}/new") for sub in (*EXTRA_FOLDERS, PENDING)] + [("run", sub) for sub in EXTRA_FOLDERS]
    places += [("run", f"{EXTRA_FOLDERS[0]}/deeper/new"), ("sweep", f"{SWEEP_RUNS}/new"), ("sweep", SWEEP_RUNS)]
    for where, place in places:
        target = copies / where / place
        os.makedirs(target.parent, exist_ok=True)
        before = folder_state(copies)
        refusal = CLAIMERS[claimer](made, target, capsys)
        assert refusal is not None and "fnn writes nothing else there" in refusal, (target, refusal)
        assert folder_state(copies) == before, f"{claimer} into {target} changed the folders"


def test_a_runs_figures_and_tensorboard_are_written_only_through_its_run_folder(made, copies):
    """write_plots given a run's path, and a TensorBoard log into a run's tensorboard/, are refused: the run's own
    writers reach them through its claimed RunFolder, which stages them for the record's commit."""
    model = _model(made)
    before = folder_state(copies)
    with pytest.raises(FnnInputError, match="part of the run in"):
        write_plots(copies / "run", model.state, fnn.data.moons(20, seed=0))
    for folder in (copies / "run" / "tensorboard", copies / "run" / "checkpoints" / "tb"):
        with pytest.raises(FnnInputError, match="fnn writes nothing else there"):
            TensorBoardLog(folder)
    assert folder_state(copies) == before
