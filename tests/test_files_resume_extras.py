"""A resume commits by its record and then moves its new kept checkpoints and TensorBoard files into the run's own
subfolders; one of them that is not a folder (a file, a FIFO) is refused before anything is written, for every
subfolder a run writes, so the run is never left half-moved with a failure reported after its commit. A sweep's
--overwrite removes only what a sweep writes into runs/, never the user's files beside them."""

import os
import shutil

import pytest
from folder_state import folder_state

from fnn.cli import main
from fnn.run.sweep import sweep
from fnn.store.layout import EXTRA_FOLDERS, SWEEP_RUNS


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("resume") / "run"
    assert main(["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--keep-checkpoints", "--tensorboard",
                 "--quiet", "--out", str(out)]) == 0
    return out


KINDS = {"a file": lambda path: path.write_bytes(b"mine"), "a FIFO": lambda path: os.mkfifo(path)}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("sub", EXTRA_FOLDERS)
def test_a_resume_refuses_a_run_subfolder_that_is_not_a_folder_before_writing(run, tmp_path, capsys, sub, kind):
    copy = shutil.copytree(run, tmp_path / "run")
    shutil.rmtree(copy / sub)
    KINDS[kind](copy / sub)
    before = folder_state(tmp_path)
    capsys.readouterr()
    assert main(["train", "--resume", str(copy), "--epochs", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{copy / sub} is not a folder" in err, err
    assert folder_state(tmp_path) == before  # no .fnn-pending, no record naming a checkpoint that did not move in


def test_a_sweeps_overwrite_keeps_what_the_user_put_beside_its_runs(tmp_path):
    base, out = {"data": "iris", "hidden": [4], "epochs": 1}, tmp_path / "s"
    old = sweep(base, {"lr": [0.1, 0.2]}, [0], engine="sequential", out=out)
    (out / SWEEP_RUNS / "notes.txt").write_text("mine")
    (out / SWEEP_RUNS / "mine").mkdir()
    (out / SWEEP_RUNS / "mine" / "a.json").write_text("{}")
    new = sweep(base, {"lr": [0.3, 0.4]}, [0], engine="sequential", out=out, overwrite=True)
    names = sorted(os.listdir(out / SWEEP_RUNS))
    assert names == sorted(["mine", "notes.txt", *(f"{r['run_id']}.json" for r in new.records)])
    assert not {f"{r['run_id']}.json" for r in old.records} & set(names)
