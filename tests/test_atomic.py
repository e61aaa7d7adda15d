import fcntl
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import fnn
from fnn.store import atomic
from fnn.store.atomic import STALE_AGE, TEMP_PREFIX, remove_stale_temporaries, write_atomic


def test_bytes_or_a_writer_function_make_the_whole_file(tmp_path):
    path = tmp_path / "f.txt"
    assert write_atomic(path, b"first") == str(path)
    write_atomic(path, lambda handle: handle.write(b"second"))
    assert path.read_bytes() == b"second" and os.listdir(tmp_path) == ["f.txt"]


def test_overwrite_false_refuses_an_existing_file_and_leaves_it(tmp_path):
    path = tmp_path / "f.txt"
    write_atomic(path, b"mine", overwrite=False)
    with pytest.raises(fnn.FnnInputError, match=f"Refusing to overwrite {path} .it already exists; pass overwrite=True"):
        write_atomic(path, b"theirs", overwrite=False)
    assert path.read_bytes() == b"mine" and os.listdir(tmp_path) == ["f.txt"]


def test_overwrite_false_loses_a_race_without_clobbering(tmp_path, monkeypatch):
    """The file appears after the first check (another writer): the hard-link publish still refuses."""
    path = tmp_path / "f.txt"
    real_fsync = os.fsync

    def racing_fsync(descriptor):
        real_fsync(descriptor)
        if not path.exists():
            path.write_bytes(b"the other writer's")

    monkeypatch.setattr(os, "fsync", racing_fsync)
    with pytest.raises(fnn.FnnInputError, match="Refusing to overwrite"):
        write_atomic(path, b"mine", overwrite=False)
    assert path.read_bytes() == b"the other writer's" and os.listdir(tmp_path) == ["f.txt"]


def test_a_link_planted_at_the_path_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "record.json"
    link.symlink_to(victim)
    write_atomic(link, b"{}")
    assert victim.read_text() == "precious" and not link.is_symlink() and link.read_bytes() == b"{}"


def test_overwrite_false_treats_even_a_dangling_link_as_taken(tmp_path):
    link = tmp_path / "plot.png"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(fnn.FnnInputError, match="Refusing to overwrite"):
        write_atomic(link, b"png", overwrite=False)
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


def test_a_link_planted_at_the_temporary_name_is_never_written_through(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    names = iter(["a" * 16, "b" * 16])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(names))
    planted = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-{'a' * 16}"
    planted.symlink_to(victim)
    write_atomic(tmp_path / "f.txt", b"data")
    assert victim.read_text() == "precious" and (tmp_path / "f.txt").read_bytes() == b"data"
    assert planted.is_symlink()  # not ours: left alone


def test_temporary_names_are_unpredictable(tmp_path, monkeypatch):
    seen = []
    real_open = os.open

    def spy(path, flags, mode=0o777, **kwargs):
        if os.path.basename(path).startswith(TEMP_PREFIX):
            seen.append(os.path.basename(path))
            assert flags & os.O_EXCL and flags & os.O_CREAT and flags & os.O_NOFOLLOW
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    for _ in range(3):
        write_atomic(tmp_path / "f.txt", b"x")
    assert len(set(seen)) == 3 and all(len(name.rsplit("-", 1)[1]) == 16 for name in seen)


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.txt"
    write_atomic(path, b"old")

    def fail(handle):
        handle.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_atomic(path, fail)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.txt"]


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda tmp: tmp / "missing" / "f.txt", "its folder .* does not exist"),
        (lambda tmp: (tmp / "d").mkdir() or tmp / "d", "it is a folder; expected a file path"),
        (lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "f.txt", "does not exist .or is not a folder"),
        (lambda tmp: 3, "needs a file path"),
    ],
)
def test_user_mistakes_name_the_path(tmp_path, make, expected):
    path = make(tmp_path)
    with pytest.raises(fnn.FnnInputError, match=expected):
        write_atomic(path, b"x")


def test_an_unwritable_folder_is_named(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.geteuid() == 0:  # root may write anywhere a permission bit says no; /sys still refuses it
            folder = pathlib.Path("/sys")
        with pytest.raises(fnn.FnnInputError, match=f"Cannot write {folder}/f.txt: no permission to create files in"):
            write_atomic(folder / "f.txt", b"x")
    finally:
        (tmp_path / "ro").chmod(0o700)


def test_a_folder_that_takes_no_new_files_is_named_not_the_temporary():
    with pytest.raises(fnn.FnnInputError, match=r"^Cannot write /proc/f.txt: .*\(No such file or directory\); check the path\.$") as caught:
        write_atomic("/proc/f.txt", b"x")
    assert TEMP_PREFIX not in str(caught.value)


def age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_only_stale_temporaries_of_dead_writers_are_cleaned(tmp_path):
    dead_old = tmp_path / f"{TEMP_PREFIX}1-{'0' * 16}"
    dead_new = tmp_path / f"{TEMP_PREFIX}2-{'1' * 16}"
    live_old = tmp_path / f"{TEMP_PREFIX}3-{'2' * 16}"
    other = tmp_path / "notes.txt"
    for path in (dead_old, dead_new, live_old, other):
        path.write_bytes(b"x")
    for path in (dead_old, live_old, other):
        age(path, STALE_AGE * 10)
    with open(live_old, "rb") as held:  # a live writer holds its lock
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        write_atomic(tmp_path / "f.txt", b"x")
        assert sorted(os.listdir(tmp_path)) == sorted(["f.txt", dead_new.name, live_old.name, "notes.txt"])
    assert remove_stale_temporaries(tmp_path) == [live_old.name]


def test_the_temporary_of_a_killed_writer_is_cleaned_by_the_next_write(tmp_path):
    writer = textwrap.dedent(
        f"""
        import time
        from fnn.store.atomic import write_atomic

        def slow(handle):
            handle.write(b"partial")
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)

        write_atomic({str(tmp_path / "f.txt")!r}, slow)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        (temporary,) = [name for name in os.listdir(tmp_path) if name.startswith(TEMP_PREFIX)]
        age(tmp_path / temporary, STALE_AGE * 2)
        assert remove_stale_temporaries(tmp_path) == []  # alive: its lock is held
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert os.listdir(tmp_path) == [temporary]
    write_atomic(tmp_path / "f.txt", b"done")
    assert os.listdir(tmp_path) == ["f.txt"]
