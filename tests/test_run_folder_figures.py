"""A run folder's figures describe its record: ``fnn train --resume`` (or ``--overwrite``) redraws them with
``--plots`` and removes the old ones without, in the commit of its new record, and a resume that stops before or
during its commit never leaves old and new figures mixed."""

import contextlib
import io
import json
import shutil

import pytest

import fnn
from fnn.store import staging
from fnn.store.layout import PLOT_FILES
from fnn.store.run_folder import RunFolder

pytest.importorskip("matplotlib")

_TRAIN = ["--data", "moons", "--hidden", "4", "--epochs", "2", "--batch-size", "64", "--quiet"]


def _train(*args):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fnn.cli.main(["train", *map(str, args)])


def _figures(run):
    return {path.name: path.read_bytes() for path in run.iterdir() if path.name in PLOT_FILES}


@pytest.fixture(scope="module")
def plotted(tmp_path_factory):
    run = tmp_path_factory.mktemp("figures") / "run"
    assert _train(*_TRAIN, "--plots", "--out", run) == 0
    assert sorted(_figures(run)) == ["confusion_matrix.png", "decision_boundary.png", "learning_curves.png"]
    return run


def _copy(plotted, tmp_path):
    return shutil.copytree(plotted, tmp_path / "run")


@pytest.mark.parametrize("again", [["--resume", "{run}", "--epochs", "3"], [*_TRAIN, "--overwrite", "--out", "{run}"]],
                         ids=["resume", "overwrite"])
@pytest.mark.parametrize("plots", [True, False], ids=["--plots", "no --plots"])
def test_a_new_record_comes_with_its_own_figures_or_none(plotted, tmp_path, again, plots):
    run = _copy(plotted, tmp_path)
    before = _figures(run)
    assert _train(*[arg.format(run=run) for arg in again], *(["--plots"] if plots else [])) == 0
    after = _figures(run)
    assert not (run / ".fnn-pending").exists()
    if plots:
        assert sorted(after) == sorted(before)
        if "--resume" in again:  # three epochs drawn now, not two
            assert after["learning_curves.png"] != before["learning_curves.png"]
    else:
        assert after == {}  # figures of epochs the record no longer describes are gone with the old record


@pytest.mark.parametrize("plots", [True, False], ids=["--plots", "no --plots"])
def test_a_resume_failing_before_its_commit_leaves_the_old_figures(plotted, tmp_path, monkeypatch, plots):
    run = _copy(plotted, tmp_path)
    before, record = _figures(run), (run / "record.json").read_bytes()

    def fail(self, record):
        raise fnn.FnnInputError("disk full (simulated)")

    monkeypatch.setattr(RunFolder, "write_record", fail)
    assert _train("--resume", run, "--epochs", "3", *(["--plots"] if plots else [])) == 2
    assert _figures(run) == before and (run / "record.json").read_bytes() == record
    assert not (run / ".fnn-pending").exists()


@pytest.mark.parametrize("plots", [True, False], ids=["--plots", "no --plots"])
def test_a_resume_stopped_inside_its_commit_is_finished_by_the_next_writer(plotted, tmp_path, monkeypatch, plots):
    run = _copy(plotted, tmp_path)
    before = _figures(run)
    moves = []
    real_move = staging._move

    def stop_after_one_move(self, source, target, name):
        if moves:
            raise fnn.FnnInputError("killed (simulated)")
        moves.append(name)
        real_move(self, source, target, name)

    monkeypatch.setattr(staging, "_move", stop_after_one_move)
    _train("--resume", run, "--epochs", "3", *(["--plots"] if plots else []))
    assert json.loads((run / "record.json").read_text())["epochs_run"] == 3  # committed
    stopped = _figures(run)
    assert all(stopped.get(name) != before[name] for name in before)  # no old figure with the new record
    monkeypatch.undo()
    with RunFolder(run).claim(resume=True):  # the next writer finishes the commit first
        pass
    finished = _figures(run)
    assert not (run / ".fnn-pending").exists()
    assert (sorted(finished) == sorted(before)) if plots else finished == {}
    assert all(finished[name] != before[name] for name in finished if name == "learning_curves.png")
    assert fnn.proof.verify_run(run).matches
