"""A run's folder: its checkpoint (model, optimiser and training state), its JSON record and its plots, and the
rules that keep one run from destroying another.

``checkpoint.npz`` holds the configuration and the standardiser's statistics with the state, so a folder alone is
enough to evaluate, predict with, resume, or redraw the plots of a run.

The rules, for whoever starts a run in a folder (:func:`claim_run_folder`):

- a folder that already holds a run (a checkpoint or a record) is refused unless the caller asks to overwrite it
  or to resume it;
- only one process trains into a folder at a time: a lock file names the holder (pid, host, start time);
- files are written atomically, and never through a symbolic link planted in the folder (:func:`write_run_file`).

>>> import tempfile
>>> folder = os.path.join(tempfile.mkdtemp(), "run")
>>> with claim_run_folder(folder) as lock:
...     path = write_run_file(folder, "notes.txt", lambda handle: handle.write(b"hello"))
>>> open(path).read(), lock_holder(folder)
('hello', None)
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from types import ModuleType
from typing import IO, Any

from fnn.errors import FnnInputError
from fnn.store.atomic import TEMP_PREFIX, atomic_write
from fnn.store.model import CHECKPOINT, Model

fcntl: ModuleType | None
try:  # POSIX advisory locks; the kernel drops them when their holder dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

RECORD = "record.json"
LOCK = "run.lock"
PLOT_FILES = ("learning_curves.png", "confusion_matrix.png", "decision_boundary.png", "fitted_curve.png", "misclassified.png", "diagnostics.png")
"""The plot files :func:`fnn.observe.run_plots.write_plots` may write into a run folder."""


# -- where a run may go ------------------------------------------------------------------------------------------


def _files_of_no_run(folder):
    """What an existing folder holds besides a run's own files, sorted (empty for a run folder or a new one)."""
    if not os.path.isdir(folder) or holds_run(folder):
        return []
    ours = {LOCK, *PLOT_FILES}
    return sorted(name for name in os.listdir(folder) if name not in ours and not name.startswith(TEMP_PREFIX))


def holds_run(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` already holds a run: a checkpoint or a record in it."""
    return any(os.path.lexists(os.path.join(folder, name)) for name in (CHECKPOINT, RECORD))


def _describe_holder(holder):
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"started {holder.get('started', '?')}"
    )


def lock_holder(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The holder of ``folder``'s lock as a dict (``pid``, ``host``, ``started``), or None when no live process
    holds it (no lock file, or the file of a process that has died).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with claim_run_folder(folder):
    ...     lock_holder(folder)["pid"] == os.getpid()
    True
    >>> lock_holder(folder) is None
    True
    """
    path = os.path.join(folder, LOCK)
    try:
        descriptor = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise FnnInputError(f"{path}: the run folder's lock file cannot be opened ({error.strerror}).") from None
    try:
        if fcntl is not None:
            return _live_holder(descriptor)  # None: a stale file of a process that died
        return _read_holder(descriptor)
    finally:
        os.close(descriptor)


def _live_holder(descriptor: int) -> dict[str, Any] | None:
    """Take the lock on the open lock file: None once it is ours, else what the live process holding it wrote."""
    assert fcntl is not None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(descriptor)
    return None


def _read_holder(descriptor: int) -> dict[str, Any]:
    os.lseek(descriptor, 0, os.SEEK_SET)
    try:
        return json.loads(os.read(descriptor, 4096).decode() or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}


def _same_file(descriptor, path):
    try:
        return os.path.samestat(os.fstat(descriptor), os.lstat(path))
    except FileNotFoundError:
        return False


class RunLock:
    """The lock on a run folder held by this process; release it with :meth:`release` or a ``with`` block.

    >>> import tempfile
    >>> lock = acquire_run_lock(tempfile.mkdtemp())
    >>> lock.held, lock.holder["pid"] == os.getpid()
    (True, True)
    >>> lock.release(); lock.held
    False
    """

    def __init__(self, folder: str, descriptor: int | None, holder: dict[str, Any]) -> None:
        self.folder, self.holder = folder, holder
        self._descriptor = descriptor

    @property
    def held(self) -> bool:
        return self._descriptor is not None

    def release(self) -> None:
        """Remove the lock file and let go of the lock (idempotent)."""
        if self._descriptor is None:
            return
        try:
            path = os.path.join(self.folder, LOCK)
            if _same_file(self._descriptor, path):  # remove only our own file: the inode we locked
                os.remove(path)
        finally:
            os.close(self._descriptor)
            self._descriptor = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"RunLock({self.folder!r}, {_describe_holder(self.holder)}{'' if self.held else ', released'})"


def acquire_run_lock(folder: str | os.PathLike[str], argument: str = "folder") -> RunLock:
    """Lock ``folder`` for this process: a :class:`RunLock`, or :class:`FnnInputError` naming the live holder.

    The lock is an advisory ``flock`` on ``folder/run.lock``, whose content names the holder. The kernel releases
    such a lock when its process ends in any way (even ``kill -9``), so a lock file left by a dead process holds
    no lock and is simply taken over: no pid liveness guess, which a reused pid or another host would fool.
    """
    folder = os.fspath(folder)
    path = os.path.join(folder, LOCK)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(5):  # retried only when the file was replaced between open and lock
        try:
            descriptor = os.open(path, flags, 0o644)
        except OSError as error:
            if os.path.islink(path):
                raise FnnInputError(f"{argument} {folder}: {LOCK} is a symbolic link; fnn does not follow links in a run folder. Remove it.") from None
            raise FnnInputError(f"{argument} {folder}: cannot create the lock file {LOCK} ({error.strerror}).") from None
        try:
            if fcntl is not None:
                other = _live_holder(descriptor)
                if other is not None:
                    raise FnnInputError(
                        f"{argument} {folder}: another fnn process is training into this folder "
                        f"({_describe_holder(other)}); wait for it or choose another folder."
                    )
            elif os.fstat(descriptor).st_size:  # pragma: no cover - no flock: an existing file is a holder
                raise FnnInputError(f"{argument} {folder}: locked by {_describe_holder(_read_holder(descriptor))} (remove {path} if that run is over).")
            if not _same_file(descriptor, path):
                os.close(descriptor)  # the file we locked was removed by its releasing holder: lock the new one
                continue
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, json.dumps(holder).encode(), 0)
            return RunLock(folder, descriptor, holder)
        except BaseException:
            try:
                os.close(descriptor)
            except OSError:
                pass
            raise
    raise FnnInputError(f"{argument} {folder}: the lock file keeps changing; another process is starting a run here.")


def claim_run_folder(folder: str | os.PathLike[str], *, overwrite: bool = False, resume: bool = False,
                     argument: str = "folder", overwrite_hint: str = "overwrite=True",
                     resume_hint: str = "resume=True") -> RunLock:
    """Make ``folder`` this process's run folder and return its :class:`RunLock` (use it in a ``with`` block, or
    call ``release()`` when the run is over).

    - A new or empty folder is created if needed and locked; an existing folder holding other files and no run
      is refused unless ``overwrite`` (the run is then written beside them).
    - A folder that holds a run is refused unless ``resume`` (it must then hold a checkpoint, kept as it is) or
      ``overwrite`` (its record and plots are removed at once, so they never describe the new run; the old
      checkpoint stays until the new run's first checkpoint replaces it atomically).
    - A folder another live process is training into is refused, naming that process.

    ``argument``, ``overwrite_hint`` and ``resume_hint`` word the errors for the caller (the command line passes
    ``"--out"``, ``"--overwrite"`` and ``"--resume DIR"``).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> write_record(folder, {"epochs": 1}).endswith("record.json")
    True
    >>> claim_run_folder(folder, argument="--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.errors.FnnInputError: --out ...: already holds a run (record.json); ...
    """
    folder = os.fspath(folder)
    if overwrite and resume:
        raise FnnInputError(f"{argument} {folder}: ask to overwrite the run or to resume it, not both.")
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise FnnInputError(f"{argument} {folder}: exists and is not a folder.")
    others = _files_of_no_run(folder)
    if others and not overwrite:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise FnnInputError(
            f"{argument} {folder}: holds other files ({shown}) and no run; a run goes into a new or empty folder. "
            f"Choose another folder, or write the run beside them with {overwrite_hint}."
        )
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise FnnInputError(f"{argument} {folder}: cannot create the folder ({error.strerror}).") from None
    lock = acquire_run_lock(folder, argument)
    try:
        if resume and not os.path.isfile(os.path.join(folder, CHECKPOINT)):
            raise FnnInputError(f"{argument} {folder}: nothing to resume, no {CHECKPOINT} here.")
        if holds_run(folder) and not (overwrite or resume):
            held = [name for name in (CHECKPOINT, RECORD) if os.path.lexists(os.path.join(folder, name))]
            raise FnnInputError(
                f"{argument} {folder}: already holds a run ({', '.join(held)}); choose another folder, continue it "
                f"with {resume_hint} or replace it with {overwrite_hint}."
            )
        if overwrite:
            for name in (RECORD, *PLOT_FILES):
                try:
                    os.remove(os.path.join(folder, name))  # removes a link itself, never its target
                except FileNotFoundError:
                    pass
    except BaseException:
        lock.release()
        raise
    return lock


# -- writing into a run folder -----------------------------------------------------------------------------------


def _target(folder, name):
    if not name or os.path.basename(name) != name or name in (".", ".."):
        raise FnnInputError(f"A run file name must be a plain file name; got {name!r}.")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FnnInputError(f"{folder}: no such folder to write {name} into.")
    path = os.path.join(folder, name)
    if os.path.islink(path):
        raise FnnInputError(f"{path} is a symbolic link; fnn never writes through a link in a run folder. Remove it.")
    if os.path.isdir(path):
        raise FnnInputError(f"{path} is a folder; fnn expected to write a file there.")
    return path


def write_run_file(folder: str | os.PathLike[str], name: str,
                   write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *, overwrite: bool = True) -> str:
    """Write ``folder/name`` atomically with ``write(handle)`` (binary) and return its path.

    A symbolic link at that name is refused (never followed, never replaced); with ``overwrite=False`` an
    existing file is refused too.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.path.basename(write_run_file(folder, "a.txt", b"1"))
    'a.txt'
    >>> os.symlink("a.txt", os.path.join(folder, "b.txt"))
    >>> write_run_file(folder, "b.txt", b"2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.errors.FnnInputError: ...b.txt is a symbolic link; fnn never writes through a link in a run folder. Remove it.
    """
    path = _target(folder, name)
    if not overwrite and os.path.lexists(path):
        raise FnnInputError(f"{path} exists; fnn does not overwrite it unless asked.")
    atomic_write(path, write, overwrite=overwrite)  # no-clobber again at the rename: another writer may have won
    return path


def save_run_checkpoint(folder: str | os.PathLike[str], model: Model) -> str:
    """Write ``model`` as ``folder``'s checkpoint (never through a link planted there); returns its path."""
    path = _target(folder, CHECKPOINT)
    model.save_checkpoint(path)
    return path


def write_record(folder: str | os.PathLike[str], record: dict[str, Any]) -> str:
    """Write the run's JSON ``record`` into ``folder`` atomically; returns its path."""
    return write_run_file(folder, RECORD, lambda handle: handle.write(json.dumps(record, indent=2).encode()))


def read_record(folder: str | os.PathLike[str]) -> Any:
    """The JSON record of the run in ``folder``; a missing or broken one is an error naming it."""
    path = os.path.join(folder, RECORD)
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise FnnInputError(f"{folder}: no {RECORD} (is this a finished fnn run folder?).") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FnnInputError(f"{path}: not valid JSON ({error}).") from None
    except IsADirectoryError:
        raise FnnInputError(f"{path}: is a folder, not a record file.") from None
