"""Every public function of fnn's faces that writes a file by path writes beside runs: never over a run's or a
sweep's parts, even with overwrite, and never into a folder another writer holds. The table below is checked
against the faces, so a new writer must join it (or be named a reader)."""

import importlib
import inspect
import os
import shutil

import pytest
from folder_state import folder_state

import fnn
from fnn.cli import main
from fnn.store import RunFolder

_FACES = ("fnn", "fnn.data", "fnn.optim", "fnn.run", "fnn.store", "fnn.observe", "fnn.proof", "fnn.interop")
_PATH_ARGUMENTS = ("path", "folder")
_READERS = {"load", "load_model", "load_checkpoint", "read_idx", "load_mnist", "find_mnist_folder", "load_csv",
            "load_kaggle_mnist_csv", "load_mnist_pickle", "from_safetensors", "model_from_safetensors", "RunFolder", "RunLock"}
_KNOWN_UNGUARDED = {"write_idx"}  # fnn.data comes before fnn.store (no run lock): it refuses any file already there unless overwrite=True


def _state():
    params = fnn.init_params(fnn.network([2, 3, 2]), seed=0)
    return fnn.TrainState(params, fnn.optim.sgd(0.1).init(params))


def _figure():
    plt = pytest.importorskip("matplotlib.pyplot")
    return plt.figure()


def _onnx(path):
    pytest.importorskip("onnx")
    fnn.interop.to_onnx(_state().params, path, overwrite=True)


def _safetensors(path):
    pytest.importorskip("safetensors")
    fnn.interop.to_safetensors(_state().params, path, overwrite=True)


WRITERS = {
    "save": lambda path: fnn.save(path, _state().params, overwrite=True),
    "save_checkpoint": lambda path: fnn.store.save_checkpoint(path, _state()),
    "atomic_write": lambda path: fnn.store.atomic_write(path, b"x"),
    "write_run_file": lambda path: fnn.store.write_run_file(os.path.dirname(path), os.path.basename(path), b"x"),
    "save_plot": lambda path: fnn.observe.save_plot(_figure(), path, overwrite=True),
    "to_onnx": _onnx,
    "to_safetensors": _safetensors,
    "write_history": lambda path: fnn.observe.write_history(path, fnn.History([fnn.EpochRecord(1, 10, 0.1, 0.9)])),
    "TensorBoardLog": lambda path: fnn.observe.TensorBoardLog(path).close(),
    "write_plots": lambda path: fnn.observe.write_plots(path, fnn.fit(_state().params, fnn.data.moons(20, seed=0), epochs=1),
                                                        fnn.data.moons(20, seed=0)),
}
"""Each writer called with the file (or, for the folder writers, the folder) it would write."""

_FOLDER_WRITERS = {"write_history", "TensorBoardLog", "write_plots"}


def _public_writers():
    found = set()
    for face in _FACES:
        module = importlib.import_module(face)
        for name in module.__all__:
            obj = getattr(module, name)
            try:
                parameters = inspect.signature(obj).parameters
            except (TypeError, ValueError):
                continue
            if callable(obj) and any(argument in parameters for argument in _PATH_ARGUMENTS):
                found.add(name)
    return found - _READERS - _KNOWN_UNGUARDED


def test_the_table_names_every_public_writer_by_path():
    assert _public_writers() == set(WRITERS)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("guarded")
    assert main(["train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--keep-checkpoints", "--tensorboard",
                 "--out", str(root / "run"), "--quiet"]) == 0
    assert main(["sweep", "--data", "iris", "--hidden", "4", "--epochs", "1", "--grid", "lr=[0.1,0.2]",
                 "--out", str(root / "sweep"), "--quiet"]) == 0
    return root


def _targets(root, folder_writer):
    """The parts of a run and of a sweep a writer could be aimed at, as the writer takes its target."""
    run, sweep = root / "run", root / "sweep"
    record = sorted(os.listdir(sweep / "runs"))[0]
    if folder_writer:
        return [run / "checkpoints", run / "tensorboard", run / ".fnn-pending", sweep / "runs"]
    return [run / "checkpoint.npz", run / "record.json", run / "run.lock", run / "learning_curves.png",
            run / ".fnn-pending", run / "checkpoints" / "epoch-0001.npz", run / "tensorboard" / "x.bin", sweep / "summary.json",
            sweep / "runs" / record, sweep / "learning_curves.png", sweep / "runs" / "new.json"]


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_no_public_writer_writes_over_a_part_of_a_run_or_a_sweep(folders, tmp_path, writer):
    root = shutil.copytree(folders, tmp_path / "copy")
    write = WRITERS[writer]
    for target in _targets(root, writer in _FOLDER_WRITERS):
        before = folder_state(root)
        with pytest.raises(fnn.FnnInputError) as refused:
            write(os.fspath(target))
        assert os.path.basename(os.fspath(target)) in str(refused.value) or os.fspath(target.parent) in str(refused.value)
        assert folder_state(root) == before, (writer, target)


@pytest.mark.parametrize("writer", sorted(set(WRITERS) - {"write_plots"}))  # a run's figures are its own
@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_no_public_writer_writes_beside_a_run_or_sweep_another_writer_holds(folders, tmp_path, writer, kind):
    folder = shutil.copytree(folders / kind, tmp_path / kind)
    holder = RunFolder(folder).acquire()  # another open file description: flock treats it as another process
    try:
        before = folder_state(tmp_path)
        with pytest.raises(fnn.FnnInputError, match="another fnn process is writing into this folder"):
            WRITERS[writer](os.fspath(folder if writer in _FOLDER_WRITERS else folder / "mine.bin"))
        assert folder_state(tmp_path) == before
    finally:
        holder.release()


@pytest.mark.parametrize("writer", sorted(set(WRITERS) - _FOLDER_WRITERS))
def test_every_public_writer_still_writes_beside_a_run(folders, tmp_path, writer):
    run = shutil.copytree(folders / "run", tmp_path / "run")
    before = folder_state(run)
    WRITERS[writer](os.fspath(run / "mine.bin"))
    after = folder_state(run)
    assert set(after) - set(before) == {os.fspath(run / "mine.bin")} and all(after[name] == before[name] for name in before)
    assert os.path.getsize(run / "mine.bin") > 0
