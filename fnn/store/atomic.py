"""Atomic file writing: every file fnn writes appears whole or not at all, never through a planted link.

Use :func:`write_atomic` for every file fnn writes (checkpoints, run records, plots, predictions)::

    write_atomic(path, write, *, overwrite=True, folder_fd=None) -> str

``write`` is either the bytes to store or a function called with a binary file handle (``np.save(handle, a)``,
``fig.savefig(handle, format="png")``, ``handle.write(text.encode())``). What happens:

1. Stale temporaries of killed writers in the target folder are removed (see below).
2. A temporary file ``.fnn-tmp-<pid>-<16 random hex digits>`` is created in the target's folder with
   ``O_CREAT | O_EXCL | O_NOFOLLOW``: its name cannot be predicted, and a file or symbolic link planted at that name
   makes the creation fail (then another name is drawn) instead of being written through.
3. ``write`` fills it; it is flushed and ``fsync``-ed.
4. It is published under ``path``: with ``overwrite=True`` by ``os.replace``, which swaps the directory entry
   itself, so a symbolic link planted at ``path`` is replaced by the new file and its target is left untouched;
   with ``overwrite=False`` by ``os.link``, which fails if anything (a file, a link, even a dangling one) is already
   at ``path``, so no other writer's file can be clobbered between a check and the rename. The folder is then
   ``fsync``-ed (best effort: the file is in place by then) so the new name survives a power cut.
5. If anything fails (including ``write`` raising, or Ctrl-C), the temporary is removed and ``path`` is as it
   was.

Stale temporaries: each writer holds an exclusive ``flock`` on its temporary while it exists. A lock is released by
the kernel when its process dies, however it dies (``kill -9`` included), so a temporary whose lock can be taken
belongs to no live writer. Such a temporary is removed only once it is also at least ``STALE_AGE`` seconds old,
which covers the instant between a live writer's creating its file and locking it (the writer keeps its lock until
after the rename). Process ids are not used: they are reused, and meaningless for a writer on another machine
sharing the folder. Where ``flock`` does not exist (Windows), only temporaries a day old are removed. A file
system that cannot lock only delays the clean-up; it never removes a live writer's file.

User mistakes and OS faults become one-line :class:`~fnn.errors.FnnInputError` naming the path and what to do
(:func:`os_failure`): a missing or unwritable folder, a directory at ``path``, with ``overwrite=False`` an existing
``path``, a full disk, a file too large, a read-only file system. Everything happens relative to an open descriptor
of the target's folder (``folder_fd``, which :class:`fnn.store.RunFolder` opens without following links), so the
folder cannot be swapped for another between the steps.

>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> path = write_atomic(os.path.join(folder, "note.txt"), b"hello")
>>> try:
...     write_atomic(path, b"again", overwrite=False)
... except fnn.FnnInputError:
...     print("refused")
refused
>>> with open(path, "rb") as handle:
...     handle.read()
b'hello'
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
from collections.abc import Callable
from types import ModuleType
from typing import IO, Any

from fnn.errors import FnnInputError

fcntl: ModuleType | None
try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

TEMP_PREFIX = ".fnn-tmp-"
STALE_AGE = 10.0  # seconds
_STALE_AGE_WITHOUT_LOCKS = 86400.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def write_atomic(path: str | os.PathLike[str], write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *,
                 overwrite: bool = True, folder_fd: int | None = None) -> str:
    """Write a whole file at ``path`` atomically (see the module docstring); returns ``path`` as a string.

    ``write`` is bytes or a function of a binary file handle. With ``overwrite=False``, an existing ``path``
    (file, folder or link) is refused with :class:`~fnn.errors.FnnInputError` and left untouched. With
    ``folder_fd``, an open descriptor of the target's folder, the file is made in that very folder (``path``'s
    base name; ``path`` itself only names it in errors), whatever its path has become meanwhile. An OS failure
    (a full disk, a read-only file system, ...) is an :class:`~fnn.errors.FnnInputError` naming ``path``.

    >>> import os, tempfile
    >>> path = write_atomic(os.path.join(tempfile.mkdtemp(), "n.txt"), lambda handle: handle.write(b"hi"))
    >>> open(path).read()
    'hi'
    """
    try:
        target = os.fspath(path)
    except TypeError:
        raise FnnInputError(
            f"write_atomic needs a file path (str or os.PathLike); got {type(path).__name__}."
        ) from None
    if not isinstance(target, str) or not target:
        raise FnnInputError(f"write_atomic needs a file path; got {target!r}.")
    path = target
    writer: Callable[[IO[bytes]], Any]
    if isinstance(write, (bytes, bytearray, memoryview)):
        data = bytes(write)
        writer = lambda handle: handle.write(data)  # noqa: E731
    elif callable(write):
        writer = write
    else:
        raise FnnInputError(f"write_atomic({path!r}, write) needs bytes or a function of a file handle as write.")
    if folder_fd is not None:
        _write_in(folder_fd, path, writer, overwrite)
        return path
    folder = os.path.dirname(os.path.abspath(path))
    try:
        descriptor = os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError:
        raise FnnInputError(f"Cannot write {path}: its folder {folder} does not exist (or is not a folder).") from None
    try:
        _write_in(descriptor, path, writer, overwrite)
    finally:
        os.close(descriptor)
    return path


def os_failure(path: str, error: OSError, doing: str = "write") -> FnnInputError:
    """The one-line :class:`~fnn.errors.FnnInputError` for an OS ``error`` met while ``doing`` ``path``: what
    happened and what to do.

    >>> import errno
    >>> str(os_failure("run/record.json", OSError(errno.ENOSPC, "No space left on device")))
    'Cannot write run/record.json: the disk is full (No space left on device); free some space and run again.'
    """
    advice = {
        errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
        errno.EFBIG: "the file is too large for this file system",
        errno.EACCES: "no permission", errno.EPERM: "not permitted", errno.EROFS: "the file system is read-only",
        errno.EISDIR: "a folder is in the way", errno.ENOTDIR: "a file is where a folder should be",
        errno.ELOOP: "a symbolic link is in the way (fnn does not follow links in its folders)",
        errno.ENOENT: "it does not exist", errno.EIO: "an input/output error of the device",
    }
    remedy = {
        errno.ENOSPC: "free some space and run again", errno.EDQUOT: "free some space and run again",
        errno.EFBIG: "choose a folder on a file system that takes large files",
        errno.EACCES: "check the permissions or choose another folder",
        errno.EPERM: "check the permissions or choose another folder",
        errno.EROFS: "choose a writable folder", errno.EISDIR: "remove or rename that folder",
        errno.ENOTDIR: "remove or rename that file", errno.ELOOP: "remove the link",
        errno.ENOENT: "check the path", errno.EIO: "check the device",
    }
    what = advice.get(error.errno or 0, "an OS error")
    why = error.strerror or str(error)
    return FnnInputError(f"Cannot {doing} {path}: {what} ({why}); {remedy.get(error.errno or 0, 'check the path and the disk')}.")


def _write_in(folder_fd: int, path: str, writer: Callable[[IO[bytes]], Any], overwrite: bool) -> None:
    name = os.path.basename(path)
    if not name or name in (".", ".."):
        raise FnnInputError(f"Cannot write {path}: expected a file path, not a folder.")
    try:
        info = os.lstat(name, dir_fd=folder_fd)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise os_failure(path, error) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise FnnInputError(f"Cannot write {path}: it is a folder; expected a file path.")
    if info is not None and not overwrite:
        raise _exists(path)
    remove_stale_temporaries(folder_fd)
    descriptor, temporary = _create_temporary(folder_fd, path)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
            _publish(folder_fd, temporary, name, path, overwrite)  # still locked, so no cleaner can take it
    except OSError as error:
        _remove_quietly(folder_fd, temporary)
        raise os_failure(path, error) from None
    except BaseException:
        _remove_quietly(folder_fd, temporary)
        raise
    sync_folder(folder_fd)


def sync_folder(folder_fd: int) -> None:
    """``fsync`` an open folder so its new names survive a power cut; best effort, as the file is already in place
    (and some systems cannot sync a folder)."""
    try:
        os.fsync(folder_fd)
    except OSError:
        pass


def _exists(path):
    return FnnInputError(f"Refusing to overwrite {path} (it already exists; pass overwrite=True to replace it).")


def _create_temporary(folder_fd, path):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    for _ in range(100):
        temporary = f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
        try:
            return os.open(temporary, flags, 0o666, dir_fd=folder_fd), temporary
        except FileExistsError:
            continue  # something (perhaps a planted link) holds this name: draw another
        except PermissionError:
            raise FnnInputError(f"Cannot write {path}: no permission to create files in its folder.") from None
        except OSError as error:  # e.g. /proc, a read-only or full file system: name the target, not our temporary
            raise os_failure(path, error) from None
    raise FileExistsError(errno.EEXIST, "could not create a unique temporary file", path)


def _publish(folder_fd, temporary, name, path, overwrite):
    if overwrite:
        os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
        return
    try:
        os.link(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd, follow_symlinks=False)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # A file system without hard links: reserve the name exclusively, then rename over our own reservation.
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666, dir_fd=folder_fd))
        except FileExistsError:
            raise _exists(path) from None
        os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
        return
    os.remove(temporary, dir_fd=folder_fd)


def _remove_quietly(folder_fd, name):
    try:
        os.remove(name, dir_fd=folder_fd)
    except OSError:
        pass


def remove_stale_temporaries(folder: str | os.PathLike[str] | int, now: float | None = None) -> list[str]:
    """Remove the temporaries of writers that died in ``folder`` (a path, or an open folder descriptor); returns
    the names removed."""
    now = time.time() if now is None else now
    if isinstance(folder, int):
        return _remove_stale(folder, now)
    try:
        descriptor = os.open(os.fspath(folder), os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError:
        return []
    try:
        return _remove_stale(descriptor, now)
    finally:
        os.close(descriptor)


def _remove_stale(folder_fd, now):
    try:
        names = [name for name in os.listdir(folder_fd) if name.startswith(TEMP_PREFIX)]
    except OSError:
        return []
    removed = []
    for name in names:
        try:
            info = os.lstat(name, dir_fd=folder_fd)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < STALE_AGE or not _writer_gone(folder_fd, name, info, now):
            continue
        try:
            os.remove(name, dir_fd=folder_fd)
            removed.append(name)
        except OSError:
            pass
    return removed


def _writer_gone(folder_fd, name, info, now):
    if fcntl is None:
        return now - info.st_mtime >= _STALE_AGE_WITHOUT_LOCKS
    try:
        descriptor = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)  # closing releases the lock we may have taken
