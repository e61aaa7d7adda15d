"""A run's folder as one object, :class:`RunFolder`, through which every read, write and delete under it goes.

A run folder holds ``checkpoint.npz`` (the model, optimiser and training state, configuration and preprocessing),
``record.json`` (what the run did) and, when asked, ``checkpoints/`` (one per epoch), ``tensorboard/`` and plots.
A sweep's folder holds ``runs/`` and ``summary.json`` and is guarded the same way. The rules:

- **No link is followed below the folder**, at any depth: folders are opened one level at a time with
  ``O_NOFOLLOW | O_DIRECTORY`` and files through those descriptors, so a planted link is refused, naming it, and
  never redirects a read, write or delete outside. (The folder's own path is the caller's and is taken as given.)
- **Every file is written atomically** (:func:`fnn.store.atomic.atomic_write`) and OS faults (a full disk, a
  read-only file system, ...) become one :class:`~fnn.errors.FnnInputError` naming the file and what to do.
- **One lock for every writer** (train, resume, sweep, plot, export): an advisory lock on ``run.lock`` naming its
  holder (pid, host, start); the kernel frees it when the holder dies in any way.
- **Non-regular files are refused before they are read** (opened with ``O_NONBLOCK``, then ``fstat``), and a
  record is read with a bounded size and must be a JSON object of the expected shape.
- **The record names its checkpoint**: ``record.json``'s ``checkpoint_sha256`` is the SHA-256 of the bytes of
  ``checkpoint.npz`` as written (:meth:`RunFolder.write_record` adds it; no caller does). Every reader goes through
  :meth:`RunFolder.load_checkpoint`, which refuses a checkpoint the record does not name, naming both files and
  both hashes. A folder with a checkpoint and no record (a run in progress, a file of ``fnn.save``) loads as is.
  Likewise its ``kept_checkpoints`` names the SHA-256 of each kept per-epoch checkpoint (:meth:`RunFolder.bind_kept`),
  and :meth:`RunFolder.kept_checkpoint` refuses one of other bytes, or one it does not name.
- **One check of a record's shape**, :mod:`fnn.store.record`, when it is written and whenever it is read.
- **Nothing is removed until what replaces it is durable.** A run into a folder that already holds one (``--resume``,
  ``--overwrite``) writes its checkpoints, kept epochs and TensorBoard files under ``.fnn-pending/``. Writing the new
  record, naming the pending checkpoint, is the commit; then what an overwrite discards (the old kept epochs and
  TensorBoard files) and the old figures (which describe the old record) are removed, and the pending files (with
  the new run's figures, when it draws them) move into place. Until the commit the old run is
  exactly as it was; after it, a reader finds the checkpoint the record names in ``.fnn-pending/`` if the move was
  interrupted, and the next writer to claim the folder finishes it. So a record never names a checkpoint fnn has not
  made durable: a mismatch means the files were changed by hand, and is refused (restore the checkpoint the record
  names, or train the run again with ``--overwrite``).

>>> import tempfile
>>> folder = RunFolder(os.path.join(tempfile.mkdtemp(), "run"))
>>> with folder.claim():
...     path = folder.write("notes.txt", b"hello")
>>> folder.read_bytes("notes.txt"), folder.holder()
(b'hello', None)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import IO, Any, Protocol

import numpy as np

from fnn.errors import FnnInputError
from fnn.store.atomic import TEMP_PREFIX, atomic_write, os_failure, sync_folder
from fnn.store.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from fnn.store.record import KEPT, KEPT_NAME, MAX_RECORD_BYTES, check_record, parse_record
from fnn.train.state import TrainState

fcntl: ModuleType | None
try:  # POSIX advisory locks; the kernel drops them when their holder dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

CHECKPOINT = "checkpoint.npz"
"""The file of a run folder that holds its model."""
RECORD = "record.json"
LOCK = "run.lock"
PENDING = ".fnn-pending"
"""Where a run into a folder that already holds one writes, until its record commits it."""
KEPT_FOLDER = "checkpoints"
"""The subfolder of a run folder that holds its kept per-epoch checkpoints (``epoch-0001.npz``, ...)."""
EXTRA_FOLDERS = (KEPT_FOLDER, "tensorboard")
PLOT_FILES = ("learning_curves.png", "confusion_matrix.png", "decision_boundary.png", "fitted_curve.png", "misclassified.png", "diagnostics.png")
"""The plot files :func:`fnn.observe.run_plots.write_plots` may write into a run folder."""

_OVERWRITE = "overwrite"  # a mark in PENDING: the commit discards the old run's extras
_STALE_FIGURES = "figures-stale"  # a mark in PENDING: the commit removes the old run's figures
_FIGURES = "figures"  # the subfolder of PENDING holding the figures of the run it commits
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class Saveable(Protocol):
    """What :meth:`RunFolder.save_checkpoint` writes: a state, its configuration and its extra arrays (a
    :class:`fnn.store.Model`)."""

    @property
    def state(self) -> TrainState: ...

    @property
    def config(self) -> dict[str, Any]: ...

    def extras(self) -> dict[str, np.ndarray]: ...


def _describe_holder(holder: dict[str, Any]) -> str:
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}"


def _read_holder(descriptor: int) -> dict[str, Any]:
    os.lseek(descriptor, 0, os.SEEK_SET)
    try:
        holder = json.loads(os.read(descriptor, 4096).decode() or "{}")
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _live_holder(descriptor: int) -> dict[str, Any] | None:
    """Take the lock on the open lock file: None once it is ours, else what the live process holding it wrote."""
    if fcntl is None:  # pragma: no cover - no flock: an existing file is a holder
        return _read_holder(descriptor) if os.fstat(descriptor).st_size else None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(descriptor)
    return None


def _link(path: str) -> FnnInputError:
    return FnnInputError(f"{path} is a symbolic link; fnn does not follow links in a run folder. Remove it.")


class _Unbound(FnnInputError):
    """The checkpoint is not the one the record names."""


class _Missing(FnnInputError):
    """Nothing at a path inside the folder (a level of it missing)."""


class RunLock:
    """The lock on a folder held by this process; release it with :meth:`release` or a ``with`` block.

    >>> import tempfile
    >>> lock = RunFolder(tempfile.mkdtemp()).acquire()
    >>> lock.held, lock.holder["pid"] == os.getpid()
    (True, True)
    >>> lock.release(); lock.held
    False
    """

    def __init__(self, folder: RunFolder, descriptor: int | None, holder: dict[str, Any]) -> None:
        self.folder, self.holder = folder, holder
        self._descriptor = descriptor

    @property
    def held(self) -> bool:
        return self._descriptor is not None

    def release(self) -> None:
        """Finish a committed run's move into place or drop an uncommitted one (so a writer that failed leaves
        the folder as it found it), remove the lock file and let go of the lock (idempotent)."""
        if self._descriptor is None:
            return
        try:
            if self.folder._staged:
                self.folder._staged = False
                self.folder._finish_commit()
        except (FnnInputError, OSError):
            pass  # left for the next writer, which finishes or drops it before anything else
        try:
            with self.folder._directory() as folder:
                try:
                    if os.path.samestat(os.fstat(self._descriptor), os.lstat(LOCK, dir_fd=folder)):
                        os.remove(LOCK, dir_fd=folder)  # only our own file: the inode we locked
                except FileNotFoundError:
                    pass
        except FnnInputError:
            pass  # the folder went away: nothing of ours is left in it
        finally:
            os.close(self._descriptor)
            self._descriptor = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"RunLock({self.folder.path!r}, {_describe_holder(self.holder)}{'' if self.held else ', released'})"


class RunFolder:
    """A run (or sweep) folder: every read, write and delete under it, its lock, and its record bound to its
    checkpoint (see the module docstring). ``argument`` names the folder in errors (``"--out"``, ``"RUN"``, ...).

    >>> import tempfile
    >>> run = RunFolder(tempfile.mkdtemp(), "--out")
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> with run.claim():
    ...     _ = run.save_checkpoint(fnn.store.Model(fnn.TrainState(params, None)))
    ...     _ = run.write_record({"config": {}, "history": [], "final_metrics": {}, "params_sha256": "0" * 64})
    >>> run.read_record()["checkpoint_sha256"] == run.sha256(CHECKPOINT)
    True
    >>> run.load_checkpoint().state.params == params
    True
    """

    def __init__(self, path: str | os.PathLike[str], argument: str = "RUN") -> None:
        try:
            self.path: str = os.fspath(path)
        except TypeError:
            raise FnnInputError(f"{argument}: expected a folder path (str or os.PathLike); got {type(path).__name__}.") from None
        if not isinstance(self.path, str) or not self.path:
            raise FnnInputError(f"{argument}: expected a folder path; got {self.path!r}.")
        self.argument = argument
        self.lock: RunLock | None = None
        self._staged = False
        self._saved: str | None = None
        self._kept: dict[str, str] = {}  # the kept checkpoints this claim wrote, with their SHA-256
        self._inherited: dict[str, str] | None = None  # those the record at the claim named (None: no record)
        self._overwriting = False

    def __repr__(self) -> str:
        return f"RunFolder({self.path!r})"

    def file(self, name: str) -> str:
        """The path of ``name`` (``a/b`` for below a subfolder) in this folder."""
        return os.path.join(self.path, *name.split("/"))

    def _where(self) -> str:
        return f"{self.argument} {self.path}"

    # -- descriptors: one level at a time, never through a link -------------------------------------------------

    def _refuse(self, name: str, error: OSError, parent: int) -> FnnInputError:
        try:
            link = stat.S_ISLNK(os.lstat(os.path.basename(name), dir_fd=parent).st_mode)
        except OSError:
            link = False
        if link or error.errno == errno.ELOOP:
            return _link(self.file(name))
        if error.errno == errno.ENOTDIR:
            return FnnInputError(f"{self.file(name)} is not a folder; fnn expected one there. Remove or rename it.")
        return os_failure(self.file(name), error, "open")

    @contextmanager
    def _directory(self, sub: str = "", create: bool = False) -> Iterator[int]:
        """An open descriptor of ``sub`` (``""``: the folder itself), each level opened without following a link;
        ``create`` makes missing levels."""
        try:
            descriptor = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise _Missing(f"{self._where()}: no such folder.") from None
        except NotADirectoryError:
            raise FnnInputError(f"{self._where()}: exists and is not a folder.") from None
        except OSError as error:
            raise os_failure(self.path, error, "open") from None
        try:
            walked = []
            for part in [part for part in sub.split("/") if part]:
                walked.append(part)
                if create:
                    try:
                        os.mkdir(part, dir_fd=descriptor)
                    except FileExistsError:
                        pass
                    except OSError as error:
                        raise os_failure(self.file("/".join(walked)), error, "create the folder") from None
                try:
                    inner = os.open(part, _DIRECTORY_FLAGS, dir_fd=descriptor)
                except FileNotFoundError:
                    raise _Missing(f"{self.file('/'.join(walked))}: no such folder.") from None
                except OSError as error:
                    raise self._refuse("/".join(walked), error, descriptor) from None
                os.close(descriptor)
                descriptor = inner
            yield descriptor
        finally:
            os.close(descriptor)

    def _info(self, name: str) -> os.stat_result | None:
        sub, base = os.path.split(name)
        try:
            with self._directory(sub) as folder:
                return os.lstat(base, dir_fd=folder)
        except (FileNotFoundError, _Missing):
            return None

    def exists(self, name: str) -> bool:
        """Whether anything (a file, a folder, a link) is at ``name`` in this folder; a link on the way is refused."""
        return self._info(name) is not None

    def listdir(self, sub: str = "") -> list[str]:
        """The names in subfolder ``sub``, sorted (empty when there is none); a link on the way is refused."""
        try:
            with self._directory(sub) as folder:
                return sorted(os.listdir(folder))
        except _Missing:
            return []

    def links(self) -> list[str]:
        """Every symbolic link below the folder, at any depth (paths), sorted."""
        found: list[str] = []

        def walk(folder: int, prefix: str) -> None:
            for name in sorted(os.listdir(folder)):
                info = os.lstat(name, dir_fd=folder)
                if stat.S_ISLNK(info.st_mode):
                    found.append(self.file(prefix + name))
                elif stat.S_ISDIR(info.st_mode):
                    inner = os.open(name, _DIRECTORY_FLAGS, dir_fd=folder)
                    try:
                        walk(inner, f"{prefix}{name}/")
                    finally:
                        os.close(inner)

        if os.path.isdir(self.path):
            with self._directory() as top:
                walk(top, "")
        return found

    # -- reading ----------------------------------------------------------------------------------------------

    @contextmanager
    def _opened(self, name: str, what: str) -> Iterator[tuple[int, os.stat_result]]:
        sub, base = os.path.split(name)
        with self._directory(sub) as folder:
            try:
                descriptor = os.open(base, _READ_FLAGS, dir_fd=folder)
            except FileNotFoundError:
                raise FnnInputError(f"{self.file(name)}: no such file; expected {what}.") from None
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.EISDIR, errno.ENOTDIR):
                    raise self._refuse(name, error, folder) from None
                raise os_failure(self.file(name), error, "read") from None
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, device or socket)"
                raise FnnInputError(f"{self.file(name)} is {kind}; expected {what}. Remove it.")
            yield descriptor, info
        finally:
            os.close(descriptor)

    def read_bytes(self, name: str, limit: int = MAX_RECORD_BYTES, what: str = "a file fnn wrote") -> bytes:
        """The bytes of the regular file ``name``; a link, a FIFO or a file over ``limit`` bytes is refused."""
        with self._opened(name, what) as (descriptor, info):
            if info.st_size > limit:
                raise FnnInputError(f"{self.file(name)} is {info.st_size} bytes, more than the {limit} fnn reads; expected {what}.")
            chunks, size = [], 0
            try:
                while chunk := os.read(descriptor, 1 << 20):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        raise FnnInputError(f"{self.file(name)} grew past the {limit} bytes fnn reads; expected {what}.")
            except OSError as error:
                raise os_failure(self.file(name), error, "read") from None
            return b"".join(chunks)

    def sha256(self, name: str) -> str | None:
        """The hex SHA-256 of the regular file ``name``'s bytes, or None when nothing is there."""
        if self._info(name) is None:
            return None
        digest = hashlib.sha256()
        with self._opened(name, "a checkpoint") as (descriptor, _):
            try:
                while chunk := os.read(descriptor, 1 << 20):
                    digest.update(chunk)
            except OSError as error:
                raise os_failure(self.file(name), error, "read") from None
        return digest.hexdigest()

    def has_record(self) -> bool:
        return self.exists(RECORD)

    def read_record(self, name: str = RECORD) -> dict[str, Any]:
        """The run's record (or the record file ``name`` of a sweep's run): at most :data:`MAX_RECORD_BYTES` of
        JSON of the shape fnn writes, else refused in one line naming the file (:mod:`fnn.store.record`)."""
        if self._info(name) is None:
            raise FnnInputError(f"{self._where()}: no {name} (is this a finished fnn run folder?).")
        return parse_record(self.read_bytes(name, MAX_RECORD_BYTES, "a run record"), self.file(name))

    def _named_checkpoint(self) -> str | None:
        """The SHA-256 the record names, None without a record; a record naming none while a checkpoint is here
        is refused."""
        if not self.has_record():
            return None
        named = self.read_record().get("checkpoint_sha256")
        if named is None and self.exists(CHECKPOINT):
            raise FnnInputError(
                f"{self.file(RECORD)} names no checkpoint (no checkpoint_sha256), so {self.file(CHECKPOINT)} cannot be "
                f"proven to be its run's; train the run again (fnn train --out {self.path} --overwrite)."
            )
        return named

    def checkpoint_name(self) -> str:
        """Where the checkpoint the record names is (``checkpoint.npz``, or under ``.fnn-pending/`` while a commit
        is being finished); without a record, ``checkpoint.npz``. A checkpoint that is not the one the record
        names is refused, naming both files and both hashes."""
        named = self._named_checkpoint()
        if named is None:
            if self._info(CHECKPOINT) is None:
                raise FnnInputError(f"{self._where()}: no {CHECKPOINT} here (expected a run folder fnn train wrote).")
            return CHECKPOINT
        pending = f"{PENDING}/{CHECKPOINT}"
        for name in (CHECKPOINT, pending, CHECKPOINT):  # again: a commit may have moved it meanwhile
            if self.sha256(name) == named:
                return name
        actual = self.sha256(CHECKPOINT)
        shown = "no file" if actual is None else f"sha256 {actual}"
        raise _Unbound(
            f"{self.file(CHECKPOINT)} ({shown}) is not the checkpoint {self.file(RECORD)} names (sha256 {named}): "
            f"they are from different runs or one was changed; restore the run's checkpoint, or train it again "
            f"(fnn train --out {self.path} --overwrite)."
        )

    def load_checkpoint(self, *, opt_state: bool = True) -> Checkpoint:
        """The :class:`~fnn.store.checkpoint.Checkpoint` the record names (see :meth:`checkpoint_name`)."""
        try:
            name = self.checkpoint_name()
        except _Unbound as refusal:
            if self.exists(CHECKPOINT):
                load_checkpoint(self.file(CHECKPOINT), opt_state=False)  # a damaged file is named as damaged first
            raise refusal from None
        return load_checkpoint(self.file(name), opt_state=opt_state)

    # -- the lock and claiming the folder ------------------------------------------------------------------------

    def holder(self) -> dict[str, Any] | None:
        """The holder of the folder's lock (``pid``, ``host``, ``started``), or None when no live process holds
        it (no lock file, or the file of a process that has died)."""
        try:
            with self._directory() as folder:
                descriptor = os.open(LOCK, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), dir_fd=folder)
        except (_Missing, FileNotFoundError):
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise _link(self.file(LOCK)) from None
            raise os_failure(self.file(LOCK), error, "open the lock file") from None
        try:
            return _live_holder(descriptor)  # None: a stale file of a process that died
        finally:
            os.close(descriptor)

    def acquire(self) -> RunLock:
        """Lock the folder for this process: a :class:`RunLock`, or :class:`FnnInputError` naming the live holder.

        The lock is an advisory ``flock`` on ``run.lock``, whose content names the holder. The kernel releases it
        when its process ends in any way (even ``kill -9``), so a lock file left by a dead process holds no lock
        and is simply taken over: no pid liveness guess, which a reused pid or another host would fool."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for _ in range(5):  # retried only when the file was replaced between open and lock
            with self._directory() as folder:
                try:
                    descriptor = os.open(LOCK, flags, 0o644, dir_fd=folder)
                except OSError as error:
                    if error.errno == errno.ELOOP:
                        raise self._refuse(LOCK, error, folder) from None
                    raise FnnInputError(f"{self._where()}: cannot create the lock file {LOCK} ({error.strerror}).") from None
                if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a FIFO or device planted as the lock file
                    os.close(descriptor)
                    raise FnnInputError(f"{self.file(LOCK)}: not a regular file (a FIFO, device or socket); fnn keeps its lock "
                                        f"there. Remove it and try again.")
                try:
                    other = _live_holder(descriptor)
                    if other is not None:
                        raise FnnInputError(
                            f"{self._where()}: another fnn process is writing into this folder ({_describe_holder(other)}); "
                            f"wait for it or choose another folder."
                        )
                    try:
                        same = os.path.samestat(os.fstat(descriptor), os.lstat(LOCK, dir_fd=folder))
                    except FileNotFoundError:
                        same = False
                    if not same:
                        os.close(descriptor)  # the file we locked was removed by its releasing holder: lock the new one
                        continue
                    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
                    os.ftruncate(descriptor, 0)
                    os.pwrite(descriptor, json.dumps(holder).encode(), 0)
                    self.lock = RunLock(self, descriptor, holder)
                    return self.lock
                except BaseException:
                    try:
                        os.close(descriptor)
                    except OSError:
                        pass
                    raise
        raise FnnInputError(f"{self._where()}: the lock file keeps changing; another process is starting a run here.")

    def holds_run(self) -> bool:
        """Whether the folder already holds a run: a checkpoint or a record in it."""
        return self.exists(CHECKPOINT) or self.exists(RECORD)

    def _others(self) -> list[str]:
        ours = {LOCK, PENDING, *PLOT_FILES}
        return [name for name in self.listdir() if name not in ours and not name.startswith(TEMP_PREFIX)]

    def claim(self, *, overwrite: bool = False, resume: bool = False, overwrite_hint: str = "overwrite=True",
              resume_hint: str = "resume=True") -> RunLock:
        """Make the folder this process's run folder and return its :class:`RunLock` (use it in a ``with`` block).

        - A new or empty folder is created if needed and locked; one holding other files and no run is refused
          unless ``overwrite`` (the run is then written beside them).
        - One holding a run is refused unless ``resume`` (it must hold a checkpoint) or ``overwrite``; either
          way the run in it stays whole until the new record commits the new one (module docstring).
        - A folder another live process writes into, or with a symbolic link anywhere below it, is refused.

        ``overwrite_hint`` and ``resume_hint`` word the errors (the command line passes ``"--overwrite"`` and
        ``"--resume DIR"``).

        >>> import tempfile
        >>> folder = RunFolder(tempfile.mkdtemp(), "--out")
        >>> folder.write(RECORD, b"{}").endswith("record.json")
        True
        >>> folder.claim()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        fnn.errors.FnnInputError: --out ...: already holds a run (record.json); ...
        """
        if overwrite and resume:
            raise FnnInputError(f"{self._where()}: ask to overwrite the run or to resume it, not both.")
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise FnnInputError(f"{self._where()}: exists and is not a folder.")
        others = [] if self.holds_run() else self._others()
        if others and not overwrite:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise FnnInputError(
                f"{self._where()}: holds other files ({shown}) and no run; a run goes into a new or empty folder. "
                f"Choose another folder, or write the run beside them with {overwrite_hint}."
            )
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as error:
            raise FnnInputError(f"{self._where()}: cannot create the folder ({error.strerror}).") from None
        self._refuse_links()
        lock = self.acquire()
        try:
            self._finish_commit()
            if resume and self._info(CHECKPOINT) is None:
                raise FnnInputError(f"{self._where()}: nothing to resume, no {CHECKPOINT} here.")
            if self.holds_run() and not (overwrite or resume):
                held = [name for name in (CHECKPOINT, RECORD) if self.exists(name)]
                raise FnnInputError(
                    f"{self._where()}: already holds a run ({', '.join(held)}); choose another folder, continue it "
                    f"with {resume_hint} or replace it with {overwrite_hint}."
                )
            self._staged = self.has_record() or (overwrite and self.holds_run())
            self._kept = {}
            self._inherited = None if overwrite or not self.has_record() else self.read_record().get(KEPT, {})
            self._overwriting = overwrite
            if self._staged:
                with self._directory(PENDING, create=True) as pending:
                    for mark in (_OVERWRITE, _STALE_FIGURES) if overwrite else (_STALE_FIGURES,):
                        atomic_write(self.file(f"{PENDING}/{mark}"), b"", folder_fd=pending)
        except BaseException:
            lock.release()
            raise
        return lock

    def _refuse_links(self) -> None:
        links = self.links()
        if links:
            more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
            raise FnnInputError(f"{self._where()}: {links[0]}{more} is a symbolic link; fnn does not follow links in a run folder. Remove it.")

    def _held(self) -> None:
        if self.lock is None or not self.lock.held:
            raise FnnInputError(f"{self._where()}: write into a run folder only while holding its lock (claim() or acquire()).")

    # -- writing ----------------------------------------------------------------------------------------------

    def write(self, name: str, write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *, overwrite: bool = True) -> str:
        """Write ``name`` (``sub/name`` for a file in a subfolder, made if missing) atomically; returns its path."""
        sub, base = os.path.split(name)
        if not base or base in (".", "..") or ".." in sub.split("/"):
            raise FnnInputError(f"A run file name must be a plain file name; got {name!r}.")
        with self._directory(sub, create=True) as folder:
            return atomic_write(self.file(name), write, overwrite=overwrite, folder_fd=folder)

    def create(self, name: str) -> int:
        """A new file ``name`` (``sub/name``: the subfolder made if missing) opened for writing through the
        folder's descriptors, never through a link and never over anything already there; its descriptor, which
        the caller closes. For files written as they grow (a TensorBoard log), not replaced whole (:meth:`write`)."""
        sub, base = os.path.split(name)
        if not base or base in (".", "..") or ".." in sub.split("/"):
            raise FnnInputError(f"A run file name must be a plain file name; got {name!r}.")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        with self._directory(sub, create=True) as folder:
            try:
                return os.open(base, flags, 0o644, dir_fd=folder)
            except FileExistsError:
                if stat.S_ISLNK(os.lstat(base, dir_fd=folder).st_mode):
                    raise _link(self.file(name)) from None
                raise FnnInputError(f"{self.file(name)} exists; fnn does not write over it.") from None
            except OSError as error:
                raise os_failure(self.file(name), error, "create") from None

    def place(self, name: str) -> str:
        """Where a writer of this claim puts ``name``: under ``.fnn-pending/`` until its record commits it (a
        figure, one of :data:`PLOT_FILES`, under ``.fnn-pending/figures/``)."""
        if not self._staged:
            return name
        return f"{PENDING}/{_FIGURES}/{name}" if name in PLOT_FILES else f"{PENDING}/{name}"

    def folder(self, sub: str) -> str:
        """The path of subfolder ``sub`` of :meth:`place`, made if missing (never through a link)."""
        name = self.place(sub)
        with self._directory(name, create=True):
            return self.file(name)

    def save_checkpoint(self, model: Saveable) -> str:
        """Write ``model`` as the run's checkpoint; returns the SHA-256 of its bytes (the record will name it)."""
        self._held()
        name = self.place(CHECKPOINT)
        with self._directory(os.path.dirname(name)):  # no link on the way, checked before the write
            pass
        save_checkpoint(self.file(name), model.state, config=model.config, extras=model.extras())
        self._saved = self.sha256(name)
        assert self._saved is not None
        return self._saved

    def write_record(self, record: dict[str, Any]) -> str:
        """Write the run's record, naming the checkpoint this claim saved (else the one in the folder), and commit
        a staged run (module docstring); returns the record's path."""
        self._held()
        named = self._saved if self._saved is not None else self.sha256(CHECKPOINT)
        kept = self._kept_checkpoints()
        content = check_record({**record, "checkpoint_sha256": named, **({KEPT: kept} if kept else {})}, self.file(RECORD))
        try:
            text = json.dumps(content, indent=2, allow_nan=True)
        except (TypeError, ValueError) as error:
            raise FnnInputError(f"{self.file(RECORD)}: the record is not JSON-ready ({error}).") from None
        path = self.write(RECORD, text.encode())
        if self._staged:
            self._finish_commit()
            self._staged = False
        return path

    def bind_kept(self, name: str) -> str:
        """Bind the kept checkpoint ``name`` (``epoch-0001.npz``) this claim wrote into :meth:`place` of
        ``checkpoints/``: the record will name the SHA-256 of its bytes, returned."""
        self._held()
        digest = self.sha256(f"{self.place(KEPT_FOLDER)}/{name}")
        if digest is None:
            raise FnnInputError(f"{self.file(self.place(KEPT_FOLDER) + '/' + name)}: no such kept checkpoint to bind.")
        self._kept[name] = digest
        return digest

    def _kept_checkpoints(self) -> dict[str, str]:
        """What the record names of the kept checkpoints the committed run will hold: those this claim wrote, those
        the record before named, and those of a run that was stopped before its first record (its own, unbound)."""
        kept = dict(self._kept)
        if not self._overwriting:
            for name in self.listdir(KEPT_FOLDER):
                if name in kept or not KEPT_NAME.match(name):
                    continue
                digest = self.sha256(f"{KEPT_FOLDER}/{name}") if self._inherited is None else None
                if digest is not None:
                    kept[name] = digest
                elif self._inherited is not None and name in self._inherited:
                    kept[name] = self._inherited[name]
        return dict(sorted(kept.items()))

    def kept_checkpoint(self, name: str) -> str:
        """Where the kept checkpoint ``name`` (``epoch-0001.npz``) the record names is (under ``checkpoints/``, or
        under ``.fnn-pending/`` while a commit is being finished); without a record, ``checkpoints/name``. One
        the record does not name, or of other bytes, is refused naming the file and both hashes."""
        where = f"{KEPT_FOLDER}/{name}"
        if not self.has_record():
            return where
        named = self.read_record().get(KEPT, {}).get(name)
        for place in (where, f"{PENDING}/{where}", where):  # again: a commit may have moved it meanwhile
            if named is not None and self.sha256(place) == named:
                return place
        actual = self.sha256(where)
        shown = "no file" if actual is None else f"sha256 {actual}"
        bound = f"sha256 {named}" if named is not None else "no sha256: it names no such kept checkpoint"
        raise _Unbound(
            f"{self.file(where)} ({shown}) is not the kept checkpoint {self.file(RECORD)} names ({bound}): it is from "
            f"another run or was changed; restore the run's checkpoint, or train it again (fnn train --out {self.path} --overwrite)."
        )

    def check_kept_checkpoints(self) -> list[str]:
        """The names of the kept checkpoints, each proven the one the record names (:meth:`kept_checkpoint`): every
        one the record names and every epoch checkpoint in ``checkpoints/``."""
        named = self.read_record().get(KEPT, {}) if self.has_record() else {}
        names = sorted({*named, *(name for name in self.listdir(KEPT_FOLDER) if KEPT_NAME.match(name))})
        for name in names:
            self.kept_checkpoint(name)
        return names

    def remove(self, name: str) -> None:
        """Remove the file, link or folder tree at ``name`` (a link itself, never what it points to)."""
        sub, base = os.path.split(name)
        try:
            with self._directory(sub) as folder:
                _remove_entry(folder, base, self.file(name))
        except _Missing:
            return

    def _finish_commit(self) -> None:
        """Finish (or, if the record does not name its checkpoint, drop) what a staged run left under PENDING."""
        if self._info(PENDING) is None:
            return
        pending = f"{PENDING}/{CHECKPOINT}"
        staged = self.sha256(pending)
        if staged is None or (self.read_record().get("checkpoint_sha256") if self.has_record() else None) != staged:
            self.remove(PENDING)  # an attempt that never committed (or a finished move): the old run stays
            return
        for mark, discarded in ((_OVERWRITE, EXTRA_FOLDERS), (_STALE_FIGURES, PLOT_FILES)):
            if self.exists(f"{PENDING}/{mark}"):  # once: the mark goes before anything moves in
                for name in discarded:
                    self.remove(name)
                self.remove(f"{PENDING}/{mark}")
        for sub, target in [*((sub, sub) for sub in EXTRA_FOLDERS), (_FIGURES, "")]:
            for name in self.listdir(f"{PENDING}/{sub}"):
                self._move(f"{PENDING}/{sub}", target, name)
        self._move(PENDING, "", CHECKPOINT)
        self.remove(PENDING)

    def _move(self, source: str, target: str, name: str) -> None:
        with self._directory(source) as origin, self._directory(target, create=True) as destination:
            try:
                os.replace(name, name, src_dir_fd=origin, dst_dir_fd=destination)
            except OSError as error:
                raise os_failure(self.file(f"{target}/{name}" if target else name), error, "move into place") from None
            sync_folder(destination)


def _remove_entry(folder: int, name: str, shown: str) -> None:
    try:
        info = os.lstat(name, dir_fd=folder)
    except FileNotFoundError:
        return
    try:
        if stat.S_ISDIR(info.st_mode):
            inner = os.open(name, _DIRECTORY_FLAGS, dir_fd=folder)
            try:
                for entry in os.listdir(inner):
                    _remove_entry(inner, entry, os.path.join(shown, entry))
            finally:
                os.close(inner)
            os.rmdir(name, dir_fd=folder)
        else:
            os.remove(name, dir_fd=folder)
    except FileNotFoundError:
        return
    except OSError as error:
        raise os_failure(shown, error, "remove") from None


@contextlib.contextmanager
def beside_runs(path: str | os.PathLike[str], flag: str) -> Iterator[None]:
    """Hold the lock of the run folder ``path`` would be written into, if it is one, while the caller writes there
    (``fnn export``, ``fnn predict --out`` and ``fnn plot --out`` write as one of its writers); a run folder's own
    files (its checkpoint, record, lock and pending commit) are refused as targets, even with ``--overwrite``.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with beside_runs(os.path.join(folder, "p.csv"), "--out"):
    ...     pass
    >>> with beside_runs(os.path.join(folder, "record.json"), "--out"):  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    fnn.errors.FnnInputError: --out ...record.json: a run folder's own file name; fnn writes nothing else in its place. Choose another name.
    """
    path = os.fspath(path)
    if os.path.basename(path) in (CHECKPOINT, RECORD, LOCK, PENDING):
        raise FnnInputError(f"{flag} {path}: a run folder's own file name; fnn writes nothing else in its place. Choose another name.")
    parent = os.path.dirname(os.path.abspath(path))
    target = RunFolder(parent, flag) if os.path.isdir(parent) else None
    lock = target.acquire() if target is not None and (target.holds_run() or target.exists(LOCK)) else None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def write_run_file(folder: str | os.PathLike[str], name: str,
                   write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *, overwrite: bool = True) -> str:
    """Write ``folder/name`` atomically with ``write`` (bytes, or a function of a binary handle) and return its
    path; a symbolic link or a folder at that name is refused (never followed, never replaced), and with
    ``overwrite=False`` an existing file too.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.path.basename(write_run_file(folder, "a.txt", b"1"))
    'a.txt'
    >>> os.symlink("a.txt", os.path.join(folder, "b.txt"))
    >>> write_run_file(folder, "b.txt", b"2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.errors.FnnInputError: ...b.txt is a symbolic link; fnn never writes through a link in a run folder. Remove it.
    """
    if not name or os.path.basename(name) != name or name in (".", ".."):
        raise FnnInputError(f"A run file name must be a plain file name; got {name!r}.")
    folder = os.fspath(folder)
    path = os.path.join(folder, name)
    if not os.path.isdir(folder):
        raise FnnInputError(f"{folder}: no such folder to write {name} into.")
    if os.path.islink(path):
        raise FnnInputError(f"{path} is a symbolic link; fnn never writes through a link in a run folder. Remove it.")
    if os.path.isdir(path):
        raise FnnInputError(f"{path} is a folder; fnn expected to write a file there.")
    if not overwrite and os.path.lexists(path):
        raise FnnInputError(f"{path} exists; fnn does not overwrite it unless asked.")
    return atomic_write(path, write, overwrite=overwrite)  # no-clobber again at the rename: another writer may have won
