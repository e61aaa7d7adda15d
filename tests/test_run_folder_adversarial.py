"""Run and sweep folders under attack: links at every depth, swapped and edited checkpoints and records, malformed
records, FIFOs, other writers holding the lock, a full disk and failed resumes.

Every case is refused in one line (an FnnInputError from the API; exit code 2 and one stderr line from the command
line) and leaves every file inside and outside the folders byte-for-byte as it was. Then a resume failing (or
killed) at each of its writes in turn leaves a run that ``fnn.proof.verify_run`` still proves."""

import errno
import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
from folder_state import folder_state

import fnn
from fnn.cli import main
from fnn.proof import verify_run
from fnn.store import RunFolder, staging
from fnn.store.checkpoint import load_checkpoint, write_checkpoint
from fnn.store.lock import RunLock
from fnn.store.model import load_model

# The runs log to TensorBoard where tensorboardX is installed; only the cases about that log need it.
TENSORBOARD = importlib.util.find_spec("tensorboardX") is not None
NEEDS_TENSORBOARD = pytest.mark.skipif(not TENSORBOARD, reason="needs tensorboardX (the tensorboard extra), not installed")
TRAIN = ["--data", "iris", "--hidden", "4", "--epochs", "2", "--batch-size", "32", "--keep-checkpoints", "--quiet",
         *(["--tensorboard"] if TENSORBOARD else [])]
SWEEP = ["--data", "iris", "--epochs", "1", "--grid", "lr=[0.1]", "--sequential", "--quiet"]


def _quiet_main(args, capsys):
    capsys.readouterr()
    code = main([str(arg) for arg in args])
    return code, capsys.readouterr()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Run ``a`` and run ``b`` (the same network, another seed), a sweep ``s`` and an ``outside`` folder."""
    root = tmp_path_factory.mktemp("base")
    for name, seed in (("a", 0), ("b", 1)):
        assert main(["train", *TRAIN, "--seed", str(seed), "--out", str(root / name)]) == 0
    assert main(["sweep", *SWEEP, "--out", str(root / "s")]) == 0
    outside = root / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    (outside / "x.json").write_text('{"run_id": "x"}')
    shutil.copy(root / "b" / "checkpoints" / "epoch-0001.npz", outside / "epoch-0003.npz")
    return root


@pytest.fixture
def root(base, tmp_path):
    copy = tmp_path / "w"
    shutil.copytree(base, copy, symlinks=True)
    return copy


# -- setups ----------------------------------------------------------------------------------------------------


def _replace_with_link(path, target):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    os.symlink(target, path)


def link(relative, target):
    return lambda r: _replace_with_link(r / relative, r / target)


def swap_checkpoint(r):
    shutil.copy(r / "b" / "checkpoint.npz", r / "a" / "checkpoint.npz")


def resave_with_changed_weight(r):
    stored = load_checkpoint(r / "a" / "checkpoint.npz")
    changed = fnn.map_arrays(lambda array: array + np.float32(1e-3), stored.state.params)
    state = fnn.TrainState(changed, stored.state.opt_state, stored.state.epoch, stored.state.step, stored.state.seed,
                           stored.state.history)
    write_checkpoint(r / "a" / "checkpoint.npz", state, config=stored.config, extras=stored.extras)


def edit_record(change):
    def edit(r):
        path = r / "a" / "record.json"
        record = json.loads(path.read_text())
        path.write_text(json.dumps(change(record)))

    return edit


def record_text(text):
    def write(r):
        (r / "a" / "record.json").write_bytes(text if isinstance(text, bytes) else text.encode())

    return write


def huge_record(r):
    record = json.loads((r / "a" / "record.json").read_text())
    record["padding"] = "x" * (33 * 2**20)
    (r / "a" / "record.json").write_text(json.dumps(record))


def fifo(relative):
    def make(r):
        path = r / relative
        if path.exists():
            path.unlink()
        os.mkfifo(path)

    return make


def a_file_at(relative):
    def make(r):
        shutil.rmtree(r / relative)
        (r / relative).write_text("not a folder")

    return make


def deep_link(r):
    (r / "a" / "checkpoints" / "sub").mkdir()
    os.symlink(r / "outside", r / "a" / "checkpoints" / "sub" / "out")


def nothing(r):
    pass


# -- actions ---------------------------------------------------------------------------------------------------

RESUME = ["train", "--resume", "{a}", "--epochs", "3"]
OVERWRITE = ["train", *TRAIN, "--out", "{a}", "--overwrite"]
EVALUATE = ["evaluate", "{a}"]
PREDICT = ["predict", "{a}", "--values", "5.1,3.5,1.4,0.2"]
PLOT = ["plot", "{a}"]
EXPORT = ["export", "{a}", "--out", "{a}/model.onnx"]
VERIFY = ["verify", "{a}"]
DIFF = ["diff", "{a}", "{b}"]
REPLAY = ["replay", "{a}", "--epoch", "2"]
SWEEP_OVERWRITE = ["sweep", *SWEEP, "--out", "{s}", "--overwrite"]
SWEEP_RESUME = ["sweep", *SWEEP, "--out", "{s}", "--resume"]


def api(function, relative="a"):
    return lambda r: function(r / relative)


LINK = "symbolic link"
UNBOUND = r"is not the checkpoint .*record\.json names \(sha256 [0-9a-f]{64}\)"
NOT_REGULAR = "not a regular file"
HELD = rf"pid {os.getpid()}"

# (case, the link, what it points to, the action refused): links at every depth
LINKS = [
    ("checkpoints-link-resume", "a/checkpoints", "outside", RESUME),
    ("checkpoints-link-overwrite", "a/checkpoints", "outside", OVERWRITE),
    ("checkpoints-link-replay", "a/checkpoints", "b/checkpoints", REPLAY),
    ("checkpoints-dangling-link-resume", "a/checkpoints", "nowhere", RESUME),
    ("tensorboard-link-resume", "a/tensorboard", "outside", RESUME),
    ("tensorboard-link-overwrite", "a/tensorboard", "outside", OVERWRITE),
    ("link-inside-checkpoints-resume", "a/checkpoints/epoch-0003.npz", "outside/epoch-0003.npz", RESUME),
    ("link-inside-checkpoints-overwrite", "a/checkpoints/epoch-0001.npz", "outside/precious.txt", OVERWRITE),
    ("link-inside-checkpoints-replay", "a/checkpoints/epoch-0002.npz", "b/checkpoints/epoch-0002.npz", REPLAY),
    ("link-inside-tensorboard-overwrite", "a/tensorboard/evil", "outside", OVERWRITE),
    ("checkpoint-link-evaluate", "a/checkpoint.npz", "b/checkpoint.npz", EVALUATE),
    ("checkpoint-link-predict", "a/checkpoint.npz", "b/checkpoint.npz", PREDICT),
    ("checkpoint-link-verify", "a/checkpoint.npz", "b/checkpoint.npz", VERIFY),
    ("checkpoint-link-resume", "a/checkpoint.npz", "b/checkpoint.npz", RESUME),
    ("checkpoint-link-load", "a/checkpoint.npz", "b/checkpoint.npz", api(fnn.load)),
    ("record-link-evaluate", "a/record.json", "b/record.json", EVALUATE),
    ("record-link-verify", "a/record.json", "b/record.json", VERIFY),
    ("record-link-diff", "a/record.json", "b/record.json", DIFF),
    ("record-link-plot", "a/record.json", "b/record.json", PLOT),
    ("record-link-to-outside-file-overwrite", "a/record.json", "outside/precious.txt", OVERWRITE),
    ("lock-link-resume", "a/run.lock", "outside/precious.txt", RESUME),
    ("pending-link-resume", "a/.fnn-pending", "outside", RESUME),
    ("plot-file-link-plot", "a/learning_curves.png", "outside/precious.txt", PLOT),
    ("runs-link-sweep-overwrite", "s/runs", "outside", SWEEP_OVERWRITE),
    ("runs-link-sweep-resume", "s/runs", "outside", SWEEP_RESUME),
    ("link-inside-runs-sweep-overwrite", "s/runs/x.json", "outside/x.json", SWEEP_OVERWRITE),
    ("summary-link-sweep-overwrite", "s/summary.json", "outside/precious.txt", SWEEP_OVERWRITE),
]

CASES = [(name, link(where, target), action, LINK) for name, where, target, action in LINKS] + [
    ("link-deep-below-checkpoints", deep_link, OVERWRITE, LINK),
    # another run's checkpoint, or this one's re-saved with a changed weight (and a valid internal hash)
    ("swapped-evaluate", swap_checkpoint, EVALUATE, UNBOUND),
    ("swapped-predict", swap_checkpoint, PREDICT, UNBOUND),
    ("swapped-plot", swap_checkpoint, PLOT, UNBOUND),
    ("swapped-export", swap_checkpoint, EXPORT, UNBOUND),
    ("swapped-resume", swap_checkpoint, RESUME, UNBOUND),
    ("swapped-resume-further", swap_checkpoint, ["train", "--resume", "{a}", "--epochs", "4"], UNBOUND),
    ("swapped-verify", swap_checkpoint, VERIFY, UNBOUND),
    ("swapped-diff", swap_checkpoint, DIFF, UNBOUND),
    ("swapped-replay", swap_checkpoint, REPLAY, UNBOUND),
    ("swapped-load", swap_checkpoint, api(fnn.load), UNBOUND),
    ("swapped-load-model", swap_checkpoint, api(load_model), UNBOUND),
    ("resaved-evaluate", resave_with_changed_weight, EVALUATE, UNBOUND),
    ("resaved-verify", resave_with_changed_weight, VERIFY, UNBOUND),
    ("resaved-load", resave_with_changed_weight, api(fnn.load), UNBOUND),
    ("resaved-resume", resave_with_changed_weight, RESUME, UNBOUND),
    ("checkpoint-deleted-verify", lambda r: (r / "a" / "checkpoint.npz").unlink(), VERIFY, r"\(no file\) is not the checkpoint"),
    ("record-names-another-hash", edit_record(lambda rec: {**rec, "checkpoint_sha256": "0" * 64}), EVALUATE, UNBOUND),
    ("record-names-no-checkpoint", edit_record(lambda rec: {k: v for k, v in rec.items() if k != "checkpoint_sha256"}),
     api(fnn.load), "names no checkpoint"),
    ("record-hash-a-number", edit_record(lambda rec: {**rec, "checkpoint_sha256": 12}), VERIFY, r"'checkpoint_sha256' is a number, expected a hex SHA-256"),
    # malformed records
    ("record-a-list-evaluate", record_text("[1, 2, 3]"), EVALUATE, r"not a run record fnn wrote \(it is a list, expected an object\)"),
    ("record-a-list-verify", record_text("[1, 2, 3]"), VERIFY, "it is a list, expected an object"),
    ("record-a-list-diff", record_text("[]"), DIFF, "it is a list, expected an object"),
    ("record-deep-verify", record_text("[" * 100_000 + "]" * 100_000), VERIFY, "nested more than 16 levels deep"),
    ("record-deep-plot", record_text('{"a": ' * 100_000 + "1" + "}" * 100_000), PLOT, "nested more than 16 levels deep"),
    ("record-huge-verify", huge_record, VERIFY, "more than the 33554432 fnn reads"),
    ("record-strings-in-history-diff", edit_record(lambda rec: {**rec, "history": [{**rec["history"][0], "loss": "low"}]}),
     DIFF, r"history\[0\]\.loss is 'low', expected a number"),
    ("record-strings-in-history-plot", edit_record(lambda rec: {**rec, "history": [{**rec["history"][0], "epoch": "1"}]}),
     PLOT, r"history\[0\]\.epoch is '1', expected a count"),
    ("record-history-not-a-list", edit_record(lambda rec: {**rec, "history": {"epoch": 1}}), VERIFY, "'history' is an object, expected a list of epochs"),
    ("record-config-a-string", edit_record(lambda rec: {**rec, "config": "lr=0.1"}), VERIFY, "'config' is 'lr=0.1', expected an object of settings"),
    ("record-params-hash-a-number", edit_record(lambda rec: {**rec, "params_sha256": 5}), VERIFY, "'params_sha256' is a number, expected a hex SHA-256"),
    ("record-epochs-run-a-string", edit_record(lambda rec: {**rec, "epochs_run": "2"}), VERIFY, "'epochs_run' is '2', expected a count"),
    ("record-data-a-string", edit_record(lambda rec: {**rec, "data": {"train": "abc"}}), VERIFY, r"data\.train is not a fingerprint"),
    ("record-blas-a-string", edit_record(lambda rec: {**rec, "environment": {"blas": "openblas"}}), DIFF, r"environment\.blas is 'openblas', expected an object"),
    ("record-not-json", record_text("{not json"), EVALUATE, "not valid JSON"),
    ("record-not-utf8", record_text(b"\xff\xfe{}"), VERIFY, "not valid JSON"),
    # FIFOs and other special files
    ("fifo-checkpoint-evaluate", fifo("a/checkpoint.npz"), EVALUATE, NOT_REGULAR),
    ("fifo-checkpoint-load", fifo("a/checkpoint.npz"), api(fnn.load), NOT_REGULAR),
    ("fifo-checkpoint-resume", fifo("a/checkpoint.npz"), RESUME, NOT_REGULAR),
    ("fifo-record-verify", fifo("a/record.json"), VERIFY, NOT_REGULAR),
    ("fifo-record-evaluate", fifo("a/record.json"), EVALUATE, NOT_REGULAR),
    ("fifo-kept-checkpoint-replay", fifo("a/checkpoints/epoch-0002.npz"), REPLAY, NOT_REGULAR),
    ("fifo-file-load", fifo("outside/model.npz"), api(fnn.load, "outside/model.npz"), NOT_REGULAR),
    ("fifo-file-load-model", fifo("outside/model.npz"), api(load_model, "outside/model.npz"), NOT_REGULAR),
    ("fifo-file-predict", fifo("outside/model.npz"), ["predict", "{r}/outside/model.npz", "--values", "1,2,3,4"], NOT_REGULAR),
    ("fifo-input-predict", fifo("outside/rows.csv"), ["predict", "{a}", "{r}/outside/rows.csv"], NOT_REGULAR),
    # folders where files should be, and the reverse
    ("checkpoints-a-file-resume", a_file_at("a/checkpoints"), RESUME, "is not a folder"),
    ("runs-a-file-sweep-resume", a_file_at("s/runs"), SWEEP_RESUME, "is not a folder"),
    ("nothing-to-resume", nothing, ["train", "--resume", "{a}", "--epochs", "2"], "Nothing to train"),
    ("resume-changing-a-setting", nothing, ["train", "--resume", "{a}", "--lr", "0.5"], "only --epochs and --threads may change"),
]

# another writer holds the folder's lock (this process, through another open file: flock does not share it)
HELD_CASES = [
    ("train-vs-train-resume", "a", RESUME),
    ("train-vs-train-overwrite", "a", OVERWRITE),
    ("plot-vs-train", "a", PLOT),
    ("export-vs-train", "a", EXPORT),
    ("sweep-vs-train", "a", ["sweep", *SWEEP, "--out", "{a}", "--overwrite"]),
    ("sweep-vs-sweep-overwrite", "s", SWEEP_OVERWRITE),
    ("sweep-vs-sweep-resume", "s", SWEEP_RESUME),
    ("train-vs-sweep", "s", ["train", *TRAIN, "--out", "{s}", "--overwrite"]),
]

# the disk fails at the first durable write (fsync) of each writer
FULL = [
    ("enospc-resume", errno.ENOSPC, RESUME, "the disk is full"),
    ("efbig-resume", errno.EFBIG, RESUME, "too large for this file system"),
    ("enospc-overwrite", errno.ENOSPC, OVERWRITE, "the disk is full"),
    ("erofs-overwrite", errno.EROFS, OVERWRITE, "read-only"),
    ("enospc-plot", errno.ENOSPC, PLOT, "the disk is full"),
    ("enospc-export", errno.ENOSPC, EXPORT, "the disk is full"),
    ("enospc-sweep-overwrite", errno.ENOSPC, SWEEP_OVERWRITE, "the disk is full"),
    ("edquot-sweep-resume", errno.EDQUOT, ["sweep", *SWEEP, "--seeds", "0,5", "--out", "{s}", "--resume"], "quota"),
]


def _act(action, root, capsys):
    """Run ``action`` and return its one-line refusal."""
    if callable(action):
        with pytest.raises(fnn.FnnInputError) as refused:
            action(root)
        message = str(refused.value)
        assert "\n" not in message
        return message
    args = [arg.format(a=root / "a", b=root / "b", s=root / "s", r=root) for arg in action]
    code, output = _quiet_main(args, capsys)
    lines = output.err.strip().splitlines()
    assert code == 2 and len(lines) == 1, output.err
    return lines[0]


def _refused_unchanged(root, action, pattern, capsys):
    before = folder_state(root)
    message = _act(action, root, capsys)
    assert re.search(pattern, message), message
    assert "Traceback" not in message
    assert folder_state(root) == before


@pytest.mark.parametrize("setup, action, pattern", [pytest.param(*case[1:], id=case[0], marks=[NEEDS_TENSORBOARD] if "tensorboard" in case[0] else [])
                                                     for case in CASES])
def test_refused_in_one_line_and_nothing_changes(root, setup, action, pattern, capsys):
    setup(root)
    _refused_unchanged(root, action, pattern, capsys)


@pytest.mark.parametrize("held, action", [case[1:] for case in HELD_CASES], ids=[case[0] for case in HELD_CASES])
def test_a_folder_another_writer_holds_is_refused_naming_it(root, held, action, capsys):
    with RunFolder(root / held).acquire():
        _refused_unchanged(root, action, HELD, capsys)


@pytest.mark.parametrize("code, action, pattern", [case[1:] for case in FULL], ids=[case[0] for case in FULL])
def test_a_full_disk_is_one_line_naming_the_file_and_changes_nothing(root, code, action, pattern, capsys, monkeypatch):
    def failing(descriptor):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", failing)
    before = folder_state(root)
    message = _act(action, root, capsys)
    assert re.search(pattern, message) and str(root) in message, message
    monkeypatch.undo()
    assert folder_state(root) == before


def test_a_lock_held_by_another_process_is_refused_and_freed_by_its_death(root, capsys):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from fnn.store import RunFolder; "
                               "lock = RunFolder(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(60)",
                               str(root / "s")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        _refused_unchanged(root, SWEEP_OVERWRITE, rf"pid {holder.pid} on ", capsys)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert _quiet_main(["sweep", *SWEEP, "--out", root / "s", "--overwrite"], capsys)[0] == 0


# -- a resume failing, or killed, at each of its writes ----------------------------------------------------------


class _Injected(Exception):
    pass


def _fail_at(monkeypatch, write, exception):
    """Make the ``write``-th file made durable (a regular file's fsync) from now on raise ``exception``; returns the
    counter."""
    real, count = os.fsync, [0]

    def fsync(descriptor):
        if stat.S_ISREG(os.fstat(descriptor).st_mode):
            count[0] += 1
            if count[0] == write:
                raise exception
        real(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    return count


def _proven(folder):
    verdict = verify_run(folder)
    assert verdict.matches, verdict.reasons
    return verdict


@pytest.mark.parametrize("mode", ["failure", "kill"])
def test_a_resume_stopped_at_any_write_leaves_a_run_verify_proves(root, mode, monkeypatch, capsys):
    """``failure``: an OS error at write N (the process cleans up). ``kill``: the process stops dead at write N, no
    clean-up at all (no lock release, no temporaries removed), as under ``kill -9``."""
    run = root / "a"
    finished = folder_state(run)
    epochs_before = json.loads((run / "record.json").read_text())["epochs_run"]
    for write in range(1, 60):
        if mode == "kill":
            monkeypatch.setattr(RunLock, "release", lambda self: os.close(self._descriptor))
        count = _fail_at(monkeypatch, write, OSError(errno.ENOSPC, "No space left on device") if mode == "failure" else _Injected())
        try:
            code, output = _quiet_main(["train", "--resume", run, "--epochs", "3"], capsys)
        except _Injected:
            code = None
        monkeypatch.undo()
        record = json.loads((run / "record.json").read_text())
        _proven(run)
        assert load_model(run).state.epoch == record["epochs_run"]  # the checkpoint the record names, and no other
        if code == 0:
            assert count[0] == write - 1 and record["epochs_run"] == 3 and not (run / ".fnn-pending").exists()
            break
        if mode == "failure":
            assert code == 2 and "the disk is full" in output.err and folder_state(run) == finished
        elif record["epochs_run"] == epochs_before:
            assert all(folder_state(run)[path] == state for path, state in finished.items() if os.path.exists(path))
    else:
        pytest.fail("the resume never succeeded")
    assert write > 3  # each epoch's checkpoint, kept checkpoint and the record are separate durable writes


def test_a_killed_overwrite_is_finished_or_dropped_by_the_next_writer(root, monkeypatch, capsys):
    run = root / "a"
    monkeypatch.setattr(RunLock, "release", lambda self: os.close(self._descriptor))

    def killed(*args):
        raise _Injected

    monkeypatch.setattr(staging, "_move", killed)  # after the new record (the commit), before anything moves in
    with pytest.raises(_Injected):
        main([str(arg) for arg in ["train", *TRAIN, "--seed", "7", "--out", run, "--overwrite"]])
    monkeypatch.undo()
    record = json.loads((run / "record.json").read_text())
    assert record["config"]["seed"] == 7 and (run / ".fnn-pending").exists()
    assert load_model(run).state.epoch == 2 and _proven(run).matches  # read from .fnn-pending, where the record names it
    assert _quiet_main(["train", "--resume", run, "--epochs", "3"], capsys)[0] == 0  # finishes the move, then resumes
    assert not (run / ".fnn-pending").exists() and _proven(run).matches
    assert sorted(os.listdir(run / "checkpoints")) == ["epoch-0001.npz", "epoch-0002.npz", "epoch-0003.npz"]
    assert load_checkpoint(run / "checkpoints" / "epoch-0001.npz").state.seed == 7  # the old run's kept epochs are gone


def test_every_save_names_the_checkpoint_bytes_in_the_record(root, capsys):
    run = root / "a"
    for args in (["train", "--resume", run, "--epochs", "3"], ["train", *TRAIN, "--out", run, "--overwrite", "--seed", "3"]):
        assert _quiet_main(args, capsys)[0] == 0
        record = json.loads((run / "record.json").read_text())
        assert record["checkpoint_sha256"] == hashlib.sha256((run / "checkpoint.npz").read_bytes()).hexdigest()
        assert sorted(os.listdir(run)) == ["checkpoint.npz", "checkpoints", "record.json", *(["tensorboard"] if TENSORBOARD else [])]
    if TENSORBOARD:
        assert len(os.listdir(run / "tensorboard")) == 1  # the overwritten run's event files went with it
