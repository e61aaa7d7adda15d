"""Run-folder rules: an existing run is never replaced unless asked, one process per folder (a lock naming its
holder, a dead holder's lock taken over), and no write follows a symbolic link planted in the folder."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import fnn
from fnn.store import Model
from fnn.store.run_folder import CHECKPOINT, LOCK, RECORD, RunFolder, write_run_file


def _state():
    params = fnn.init_params(fnn.network([2, 3, 2]), seed=0)
    return fnn.fit(params, fnn.data.moons(40, seed=0), epochs=1, batch_size=8, seed=0)


def claim_run_folder(folder, argument="folder", **options):
    return RunFolder(folder, argument).claim(**options)


def lock_holder(folder):
    return RunFolder(folder).holder()


def _finished_run(folder):
    run = RunFolder(folder)
    with run.claim():
        run.save_checkpoint(Model(_state(), {"data": "moons"}))
        run.write_record({"config": {"data": "moons"}, "history": [], "final_metrics": {}, "params_sha256": "0" * 64, "seed": 0})


def test_a_new_folder_is_created_locked_and_unlocked(tmp_path):
    folder = tmp_path / "a" / "b"
    with claim_run_folder(folder) as lock:
        assert lock.held and (folder / LOCK).exists()
        holder = lock_holder(folder)
        assert holder["pid"] == os.getpid() and holder["host"] and holder["started"]
    assert not lock.held and not (folder / LOCK).exists() and lock_holder(folder) is None


def test_an_existing_run_is_refused_unless_overwrite_or_resume(tmp_path):
    folder = tmp_path / "run"
    _finished_run(folder)
    before = {name: (folder / name).read_bytes() for name in (CHECKPOINT, RECORD)}
    with pytest.raises(fnn.FnnInputError, match=r"--out .*already holds a run \(checkpoint.npz, record.json\).*--overwrite"):
        claim_run_folder(folder, argument="--out", overwrite_hint="--overwrite", resume_hint="--resume DIR")
    assert {name: (folder / name).read_bytes() for name in before} == before  # nothing touched
    assert not (folder / LOCK).exists()  # and the refused claim left no lock behind
    with claim_run_folder(folder, resume=True):
        assert (folder / RECORD).exists()  # resuming keeps everything
    (folder / "learning_curves.png").write_bytes(b"old plot")
    with claim_run_folder(folder, overwrite=True):
        # the old run stays whole (record, checkpoint, plots) until the new record commits the new one
        assert (folder / RECORD).exists() and (folder / "learning_curves.png").exists()
        assert (folder / CHECKPOINT).read_bytes() == before[CHECKPOINT]
    assert not (folder / ".fnn-pending").exists()  # an overwrite that wrote nothing leaves the old run as it was
    with pytest.raises(fnn.FnnInputError, match="not both"):
        claim_run_folder(folder, overwrite=True, resume=True)


def test_resume_needs_a_checkpoint_and_a_file_is_not_a_folder(tmp_path):
    with pytest.raises(fnn.FnnInputError, match="nothing to resume"):
        claim_run_folder(tmp_path / "empty", resume=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(fnn.FnnInputError, match="not a folder"):
        claim_run_folder(tmp_path / "file")
    assert not RunFolder(tmp_path / "empty").holds_run()


def test_a_second_claim_is_refused_naming_the_holder(tmp_path):
    folder = tmp_path / "run"
    with claim_run_folder(folder):
        with pytest.raises(fnn.FnnInputError, match=rf"another fnn process is writing into this folder \(pid {os.getpid()} on .+, started 20"):
            claim_run_folder(folder)
        with pytest.raises(fnn.FnnInputError, match=f"pid {os.getpid()}"):
            RunFolder(folder).acquire()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from fnn.store.run_folder import RunFolder
    lock = RunFolder(sys.argv[1]).claim()
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_another_process_holding_the_lock_is_refused_and_its_death_frees_the_folder(tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert lock_holder(folder)["pid"] == holder.pid
        with pytest.raises(fnn.FnnInputError, match=f"pid {holder.pid}"):
            claim_run_folder(folder)
    finally:
        holder.kill()  # SIGKILL: no clean-up runs; its lock file stays behind
        holder.wait()
    assert json.loads((folder / LOCK).read_text())["pid"] == holder.pid
    assert lock_holder(folder) is None  # the file of a dead process holds no lock
    with claim_run_folder(folder) as lock:  # taken over
        assert lock.holder["pid"] == os.getpid() and json.loads((folder / LOCK).read_text())["pid"] == os.getpid()


def test_a_stale_lock_file_with_a_dead_pid_is_taken_over(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / LOCK).write_text(json.dumps({"pid": 999999999, "host": "elsewhere", "started": "2020-01-01T00:00:00"}))
    with claim_run_folder(folder) as lock:
        assert lock.holder["pid"] == os.getpid()


def test_writes_never_follow_a_planted_symlink(tmp_path):
    folder, outside = tmp_path / "run", tmp_path / "precious.txt"
    folder.mkdir()
    outside.write_text("keep me")
    for name in (RECORD, "learning_curves.png", CHECKPOINT):
        os.symlink(outside, folder / name)
        with pytest.raises(fnn.FnnInputError, match="symbolic link"):
            if name == "learning_curves.png":
                write_run_file(folder, name, lambda handle: handle.write(b"png"))
            else:
                claim_run_folder(folder, overwrite=True)
        assert outside.read_text() == "keep me" and os.path.islink(folder / name)
        os.remove(folder / name)
    os.symlink(outside, folder / LOCK)
    with pytest.raises(fnn.FnnInputError, match="symbolic link"):
        claim_run_folder(folder)
    assert outside.read_text() == "keep me"


def test_write_run_file_is_atomic_and_refuses_to_overwrite_when_told(tmp_path):
    path = write_run_file(tmp_path, "a.txt", lambda handle: handle.write(b"one"))
    assert open(path, "rb").read() == b"one"
    with pytest.raises(fnn.FnnInputError, match="exists"):
        write_run_file(tmp_path, "a.txt", lambda handle: handle.write(b"two"), overwrite=False)

    def fail(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_run_file(tmp_path, "a.txt", fail)
    assert open(path, "rb").read() == b"one" and sorted(os.listdir(tmp_path)) == ["a.txt"]
    with pytest.raises(fnn.FnnInputError, match="plain file name"):
        write_run_file(tmp_path, "../escape.txt", lambda handle: handle.write(b"x"))


def test_a_folder_holding_other_files_is_not_a_run_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(fnn.FnnInputError, match=r"holds other files \(notes.txt\) and no run"):
        claim_run_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # not even a lock file left behind
    with claim_run_folder(tmp_path, overwrite=True):  # asked: the run goes beside them
        pass
    assert (tmp_path / "notes.txt").read_text() == "mine"
