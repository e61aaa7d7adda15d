"""Atomic file writing: every file fnn writes appears whole or not at all, never through a planted link.

Use :func:`atomic_write` for every file fnn writes (checkpoints, run records, plots, predictions)::

    atomic_write(path, write, *, overwrite=True) -> str

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
   ``fsync``-ed so the new name survives a power cut.
5. If anything fails (including ``write`` raising, or Ctrl-C), the temporary is removed and ``path`` is as it
   was.

Stale temporaries: each writer holds an exclusive ``flock`` on its temporary while it exists. A lock is released by
the kernel when its process dies, however it dies (``kill -9`` included), so a temporary whose lock can be taken
belongs to no live writer. Such a temporary is removed only once it is also at least ``STALE_AGE`` seconds old,
which covers the instant between a live writer's creating its file and locking it (the writer keeps its lock until
after the rename). Process ids are not used: they are reused, and meaningless for a writer on another machine
sharing the folder. Where ``flock`` does not exist (Windows), only temporaries a day old are removed. A file
system that cannot lock only delays the clean-up; it never removes a live writer's file.

User mistakes become :class:`~fnn.errors.FnnInputError` naming the path: a missing or unwritable folder, a
directory at ``path``, and with ``overwrite=False`` an existing ``path``.

>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> path = atomic_write(os.path.join(folder, "note.txt"), b"hello")
>>> try:
...     atomic_write(path, b"again", overwrite=False)
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


def atomic_write(path: str | os.PathLike[str], write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *,
                 overwrite: bool = True) -> str:
    """Write a whole file at ``path`` atomically (see the module docstring); returns ``path`` as a string.

    ``write`` is bytes or a function of a binary file handle. With ``overwrite=False``, an existing ``path``
    (file, folder or link) is refused with :class:`~fnn.errors.FnnInputError` and left untouched.

    >>> import os, tempfile
    >>> path = atomic_write(os.path.join(tempfile.mkdtemp(), "n.txt"), lambda handle: handle.write(b"hi"))
    >>> open(path).read()
    'hi'
    """
    try:
        target = os.fspath(path)
    except TypeError:
        raise FnnInputError(
            f"atomic_write needs a file path (str or os.PathLike); got {type(path).__name__}."
        ) from None
    if not isinstance(target, str) or not target:
        raise FnnInputError(f"atomic_write needs a file path; got {target!r}.")
    path = target
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FnnInputError(f"Cannot write {path}: its folder {folder} does not exist (or is not a folder).")
    if os.path.isdir(path) and not os.path.islink(path):
        raise FnnInputError(f"Cannot write {path}: it is a folder; expected a file path.")
    if not overwrite and os.path.lexists(path):
        raise _exists(path)
    writer: Callable[[IO[bytes]], Any]
    if isinstance(write, (bytes, bytearray, memoryview)):
        data = bytes(write)
        writer = lambda handle: handle.write(data)  # noqa: E731
    elif callable(write):
        writer = write
    else:
        raise FnnInputError(f"atomic_write({path!r}, write) needs bytes or a function of a file handle as write.")
    remove_stale_temporaries(folder)
    descriptor, temporary = _create_temporary(folder, path)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
            if fcntl is not None:
                _publish(temporary, path, overwrite)  # still locked, so no cleaner can take it
        if fcntl is None:  # Windows cannot rename an open file
            _publish(temporary, path, overwrite)
    except BaseException:
        _remove_quietly(temporary)
        raise
    _fsync_folder(folder)
    return path


def _exists(path):
    return FnnInputError(f"Refusing to overwrite {path} (it already exists; pass overwrite=True to replace it).")


def _create_temporary(folder, path):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    for _ in range(100):
        temporary = os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue  # something (perhaps a planted link) holds this name: draw another
        except PermissionError:
            raise FnnInputError(f"Cannot write {path}: no permission to create files in {folder}.") from None
        except OSError as error:  # e.g. /proc, a read-only or full file system: name the target, not our temporary
            raise FnnInputError(f"Cannot write {path}: {folder} does not accept new files ({error.strerror}).") from None
    raise FileExistsError(errno.EEXIST, "could not create a unique temporary file", folder)


def _publish(temporary, path, overwrite):
    if overwrite:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path, follow_symlinks=False)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # A file system without hard links: reserve the name exclusively, then rename over our own reservation.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666))
        except FileExistsError:
            raise _exists(path) from None
        os.replace(temporary, path)
        return
    os.remove(temporary)


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _fsync_folder(folder):
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a folder
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def remove_stale_temporaries(folder: str, now: float | None = None) -> list[str]:
    """Remove the temporaries of writers that died in ``folder``; returns the names removed."""
    now = time.time() if now is None else now
    try:
        names = [name for name in os.listdir(folder) if name.startswith(TEMP_PREFIX)]
    except OSError:
        return []
    removed = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not _is_regular(info) or now - info.st_mtime < STALE_AGE or not _writer_gone(path, info, now):
            continue
        try:
            os.remove(path)
            removed.append(name)
        except OSError:
            pass
    return removed


def _is_regular(info):
    return stat.S_ISREG(info.st_mode)


def _writer_gone(path, info, now):
    if fcntl is None:
        return now - info.st_mtime >= _STALE_AGE_WITHOUT_LOCKS
    try:
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)  # closing releases the lock we may have taken
