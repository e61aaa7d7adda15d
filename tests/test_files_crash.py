"""Crash consistency as a property: every writer (train, resume, overwrite, sweep, sweep --resume, halving, export,
predict --out, plot --out, fnn.save) is stopped at its k-th file-system step (a replace, rename, link, unlink,
rmdir, fsync or rmtree raising ENOSPC or KeyboardInterrupt) for every k until it finishes untouched. Afterwards the
folder is exactly as before or a whole new result (a run ``verify_run`` proves, a file equal to an unhindered
write's), no temporary is left, and the writer run again finishes."""

import errno
import json
import os
import shutil

import numpy as np
import pytest
from folder_state import folder_state

import fnn
from fnn.cli import main
from fnn.proof import verify_run
from fnn.store.atomic import TEMP_PREFIX

TRAIN = ["--data", "iris", "--hidden", "4", "--epochs", "2", "--batch-size", "64", "--keep-checkpoints", "--quiet"]
SWEEP = ["--data", "iris", "--hidden", "4", "--epochs", "1", "--grid", "lr=[0.1,0.2]", "--sequential", "--quiet"]
HALVING = ["--data", "iris", "--hidden", "4", "--epochs", "3", "--grid", "lr=[0.3,0.1,0.03]", "--halving",
           "--min-epochs", "1", "--factor", "3", "--sequential", "--quiet"]
_STEPS = (("os", "replace"), ("os", "rename"), ("os", "link"), ("os", "unlink"), ("os", "rmdir"), ("os", "fsync"),
          ("shutil", "rmtree"))
_STOPS = {"ENOSPC": lambda: OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "interrupt": KeyboardInterrupt}


def _run(args):
    return main([str(arg) for arg in args])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A finished run ``run``, a finished sweep ``sweep``, a half-finished sweep ``half`` and a CSV of features."""
    root = tmp_path_factory.mktemp("crash")
    assert _run(["train", *TRAIN, "--out", root / "run"]) == 0
    assert _run(["train", *TRAIN, "--seed", "1", "--out", root / "other"]) == 0
    assert _run(["sweep", *SWEEP, "--out", root / "sweep"]) == 0
    assert _run(["sweep", *SWEEP, "--out", root / "half"]) == 0
    os.unlink(root / "half" / "summary.json")
    os.unlink(root / "half" / "runs" / sorted(os.listdir(root / "half" / "runs"))[0])
    np.savetxt(root / "x.csv", fnn.data.iris().features[:5], delimiter=",")
    (root / "out").mkdir()
    for name in ("p.csv", "m.onnx", "m.npz", "c.png"):
        (root / "out" / name).write_bytes(b"the user's own file")
    return root


def _save(root):
    try:
        fnn.save(root / "out" / "m.npz", fnn.load(root / "run").params, overwrite=True)
    except fnn.FnnInputError:
        return 2
    return 0


def _again(args):
    """A writer whose next writer is itself."""
    return lambda r: _run(args(r)), lambda r: _run(args(r))


def _then(args, again):
    """A writer whose next writer is ``again`` (a stopped new run is overwritten, a stopped sweep resumed)."""
    return lambda r: _run(args(r)), lambda r: _run(args(r) + again)


# name -> (what it writes into, the writer and the next writer, how a whole result is recognised)
WRITERS = {
    "train-new": ("new", _then(lambda r: ["train", *TRAIN, "--out", r / "new"], ["--overwrite"]), "run"),
    "train-overwrite": ("run", _again(lambda r: ["train", *TRAIN, "--seed", "5", "--out", r / "run", "--overwrite"]), "run"),
    "resume": ("run", (lambda r: _run(["train", "--resume", r / "run", "--epochs", "3", "--quiet"]),
                       lambda r: _run(["train", "--resume", r / "run", "--epochs", "4", "--quiet"])), "run"),
    "plot": ("run", _again(lambda r: ["plot", r / "run"]), "run"),
    "sweep-new": ("new", _then(lambda r: ["sweep", *SWEEP, "--out", r / "new"], ["--resume"]), "sweep"),
    "sweep-overwrite": ("sweep", _again(lambda r: ["sweep", *SWEEP, "--seeds", "3", "--out", r / "sweep", "--overwrite"]), "sweep"),
    "sweep-resume": ("half", _again(lambda r: ["sweep", *SWEEP, "--out", r / "half", "--resume"]), "sweep"),
    "halving": ("new", _then(lambda r: ["sweep", *HALVING, "--out", r / "new"], ["--resume"]), "sweep"),
    "export": ("out", _again(lambda r: ["export", r / "run", "--format", "onnx", "--out", r / "out" / "m.onnx", "--overwrite"]), "m.onnx"),
    "predict-out": ("out", _again(lambda r: ["predict", r / "run", r / "x.csv", "--out", r / "out" / "p.csv", "--overwrite"]), "p.csv"),
    "plot-out": ("out", _again(lambda r: ["plot", r / "run", r / "other", "--out", r / "out" / "c.png", "--overwrite"]), "c.png"),
    "fnn.save": ("out", (_save, _save), "m.npz"),
}


def _stop_at(monkeypatch, k, stop):
    """Make the ``k``-th file-system step from now on raise ``stop()``; returns the count of steps taken."""
    count = [0]
    for module_name, name in _STEPS:
        module = os if module_name == "os" else shutil
        real = getattr(module, name)

        def step(*args, _real=real, **kwargs):
            count[0] += 1
            if count[0] == k:
                raise stop()
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, step)
    return count


def _temporaries(root):
    return [os.path.join(where, name) for where, _, names in os.walk(root) for name in names if name.startswith(TEMP_PREFIX)]


def _files(folder):
    """Every regular file under ``folder`` but the lock, by path relative to it: its bytes' state."""
    if not os.path.isdir(folder):
        return {}
    return {os.path.relpath(path, folder): state for path, state in folder_state(folder).items()
            if state[0] == "file" and os.path.basename(path) != "run.lock"}


def _whole_sweep(folder):
    """A sweep's summary and its runs' records (a halving sweep's runs are run folders) are whole JSON."""
    records = [path / "record.json" if path.is_dir() else path for path in (folder / "runs").iterdir()]
    assert json.loads((folder / "summary.json").read_text()) and records
    assert all(json.loads(path.read_text()) for path in records)


def _check_whole(folder, kind, unhindered):
    if kind == "run":
        verdict = verify_run(folder)
        assert verdict.matches, verdict.reasons
    elif kind == "sweep":
        _whole_sweep(folder)
    else:
        got = (folder / kind).read_bytes()
        if kind.endswith(".png"):
            assert got.startswith(b"\x89PNG") and got.endswith(b"IEND\xaeB`\x82")
        else:
            assert got == unhindered


@pytest.mark.parametrize("stop", sorted(_STOPS))
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_writer_stopped_at_any_step_leaves_the_folder_as_before_or_whole(base, tmp_path, monkeypatch, capsys, writer, stop):
    where, (write, again), kind = WRITERS[writer]
    clean = shutil.copytree(base, tmp_path / "clean")
    assert write(clean) == 0
    unhindered = (clean / where / kind).read_bytes() if "." in kind else None
    for k in range(1, 400):
        root = tmp_path / f"k{k}"
        shutil.copytree(base, root)
        folder = root / where
        before = _files(folder)
        count = _stop_at(monkeypatch, k, _STOPS[stop])
        try:
            code = write(root)
        except KeyboardInterrupt:
            code = 130
        monkeypatch.undo()
        capsys.readouterr()
        assert not _temporaries(root), (k, _temporaries(root))
        if count[0] < k:  # finished without meeting step k: every step has been stopped once
            assert code == 0
            _check_whole(folder, kind, unhindered)
            break
        after = _files(folder)
        if after != before and "." in kind:  # a file writer's file is replaced whole, and nothing else
            assert {name for name in set(before) | set(after) if before.get(name) != after.get(name)} == {kind}, k
            _check_whole(folder, kind, unhindered)
        elif after != before and (folder / ("record.json" if kind == "run" else "summary.json")).exists():
            _check_whole(folder, kind, unhindered)
        lost = {name for name in before if name not in after}
        if kind in ("run", "sweep") and after != before and lost:
            assert writer.endswith("overwrite"), (k, sorted(lost))  # only an overwrite discards what was there
        assert again(root) == 0, k  # the next writer finishes, or drops, what the stopped one left
        capsys.readouterr()
        _check_whole(folder, kind, unhindered)
        shutil.rmtree(root)
    else:
        pytest.fail("the writer never finished")
    assert k > 2
