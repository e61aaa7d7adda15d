"""The one lock of a run (or sweep) folder that every writer takes (train, resume, sweep, plot, export): an advisory
``flock`` on ``run.lock`` naming its holder (pid, host, start); the kernel frees it when the holder dies in any way.

>>> import tempfile
>>> folder = Folder(tempfile.mkdtemp())
>>> with acquire_lock(folder) as lock:
...     lock_holder(folder)["pid"] == os.getpid()  # while we hold it, the holder is us
True
>>> lock_holder(folder) is None, os.path.exists(folder.file(LOCK))
(True, False)
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from fnn.errors import FnnInputError
from fnn.store.atomic import os_failure
from fnn.store.folder import Folder, _link, _Missing
from fnn.store.layout import LOCK

fcntl: ModuleType | None
try:  # POSIX advisory locks; the kernel drops them when their holder dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


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


class RunLock:
    """The lock on a folder held by this process; release it with :meth:`release` or a ``with`` block.

    >>> import tempfile
    >>> lock = acquire_lock(Folder(tempfile.mkdtemp()))
    >>> lock.held, lock.holder["pid"] == os.getpid()
    (True, True)
    >>> lock.release(); lock.held
    False
    """

    def __init__(self, folder: Folder, descriptor: int | None, holder: dict[str, Any], finish: Callable[[], None] | None = None) -> None:
        self.folder, self.holder = folder, holder
        self._descriptor = descriptor
        self._finish = finish

    @property
    def held(self) -> bool:
        return self._descriptor is not None

    def release(self) -> None:
        """Call ``finish`` (a run folder finishes a committed run's move into place or drops an uncommitted one, so
        a writer that failed leaves the folder as it found it), remove the lock file and let go of the lock
        (idempotent)."""
        if self._descriptor is None:
            return
        try:
            if self._finish is not None:
                self._finish()
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


def lock_holder(target: Folder) -> dict[str, Any] | None:
    """The holder of ``target``'s lock (``pid``, ``host``, ``started``), or None when no live process holds
    it (no lock file, or the file of a process that has died)."""
    try:
        with target._directory() as folder:
            descriptor = os.open(LOCK, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), dir_fd=folder)
    except (_Missing, FileNotFoundError):
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _link(target.file(LOCK)) from None
        raise os_failure(target.file(LOCK), error, "open the lock file") from None
    try:
        return _live_holder(descriptor)  # None: a stale file of a process that died
    finally:
        os.close(descriptor)


def acquire_lock(target: Folder, finish: Callable[[], None] | None = None) -> RunLock:
    """Lock the folder ``target`` for this process: a :class:`RunLock` (whose release calls ``finish`` first), or
    :class:`FnnInputError` naming the live holder.

    The lock is an advisory ``flock`` on ``run.lock``, whose content names the holder. The kernel releases it
    when its process ends in any way (even ``kill -9``), so a lock file left by a dead process holds no lock
    and is simply taken over: no pid liveness guess, which a reused pid or another host would fool."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(5):  # retried only when the file was replaced between open and lock
        with target._directory() as folder:
            try:
                descriptor = os.open(LOCK, flags, 0o644, dir_fd=folder)
            except OSError as error:
                if error.errno == errno.ELOOP:
                    raise target._refuse(LOCK, error, folder) from None
                raise FnnInputError(f"{target._where()}: cannot create the lock file {LOCK} ({error.strerror}).") from None
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a FIFO or device planted as the lock file
                os.close(descriptor)
                raise FnnInputError(f"{target.file(LOCK)}: not a regular file (a FIFO, device or socket); fnn keeps its lock "
                                    f"there. Remove it and try again.")
            try:
                other = _live_holder(descriptor)
                if other is not None:
                    raise FnnInputError(
                        f"{target._where()}: another fnn process is writing into this folder ({_describe_holder(other)}); "
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
                return RunLock(target, descriptor, holder, finish)
            except BaseException:
                try:
                    os.close(descriptor)
                except OSError:
                    pass
                raise
    raise FnnInputError(f"{target._where()}: the lock file keeps changing; another process is starting a run here.")
