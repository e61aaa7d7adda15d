"""A folder opened one level at a time, :class:`Folder`: paths below it, descriptors, and every read, write and delete
through them, never through a link and never of a special file.

- **No link is followed below the folder**, at any depth: folders are opened one level at a time with
  ``O_NOFOLLOW | O_DIRECTORY`` and files through those descriptors, so a planted link is refused, naming it, and
  never redirects a read, write or delete outside. (The folder's own path is the caller's and is taken as given.)
- **Every file is written atomically** (:func:`fnn.store.atomic.write_atomic`) and OS faults (a full disk, a
  read-only file system, ...) become one :class:`~fnn.errors.FnnInputError` naming the file and what to do.
- **Non-regular files are refused before they are read** (opened with ``O_NONBLOCK``, then ``fstat``), and a read
  is bounded in size.

:class:`fnn.store.run_folder.RunFolder` is a :class:`Folder` with a lock, a staged commit and a record.

>>> import tempfile
>>> folder = Folder(tempfile.mkdtemp())
>>> os.path.basename(folder.write("notes/a.txt", b"hello")), folder.read_bytes("notes/a.txt"), folder.listdir("notes")
('a.txt', b'hello', ['a.txt'])
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from fnn.errors import FnnInputError
from fnn.store.atomic import os_failure, write_atomic
from fnn.store.record import MAX_RECORD_BYTES

_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _link(path: str) -> FnnInputError:
    return FnnInputError(f"{path} is a symbolic link; fnn does not follow links in a run folder. Remove it.")


class _Missing(FnnInputError):
    """Nothing at a path inside the folder (a level of it missing)."""


class Folder:
    """A folder: every read, write and delete below it, through descriptors (see the module docstring).
    ``argument`` names the folder in errors (``"--out"``, ``"RUN"``, ...).

    >>> import tempfile
    >>> folder = Folder(tempfile.mkdtemp(), "--out")
    >>> folder.exists("a.txt"), folder.sha256("a.txt")
    (False, None)
    """

    def __init__(self, path: str | os.PathLike[str], argument: str = "folder") -> None:
        try:
            self.path: str = os.fspath(path)
        except TypeError:
            raise FnnInputError(f"{argument}: expected a folder path (str or os.PathLike); got {type(path).__name__}.") from None
        if not isinstance(self.path, str) or not self.path:
            raise FnnInputError(f"{argument}: expected a folder path; got {self.path!r}.")
        self.argument = argument

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    def file(self, name: str) -> str:
        """The path of ``name`` (``a/b`` for below a subfolder) in this folder."""
        return os.path.join(self.path, *name.split("/"))

    def _where(self) -> str:
        return f"{self.argument} {self.path}"

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

    def write(self, name: str, write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *, overwrite: bool = True) -> str:
        """Write ``name`` (``sub/name`` for a file in a subfolder, made if missing) atomically; returns its path. A
        symbolic link at ``name`` is refused, not replaced."""
        sub, base = os.path.split(name)
        if not base or base in (".", "..") or ".." in sub.split("/"):
            raise FnnInputError(f"A run file name must be a plain file name; got {name!r}.")
        with self._directory(sub, create=True) as folder:
            try:
                planted = stat.S_ISLNK(os.lstat(base, dir_fd=folder).st_mode)
            except FileNotFoundError:
                planted = False
            if planted:  # replacing it would not follow it, but a link below the folder is refused everywhere
                raise _link(self.file(name))
            return write_atomic(self.file(name), write, overwrite=overwrite, folder_fd=folder)

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

    def remove(self, name: str) -> None:
        """Remove the file, link or folder tree at ``name`` (a link itself, never what it points to)."""
        sub, base = os.path.split(name)
        try:
            with self._directory(sub) as folder:
                _remove_entry(folder, base, self.file(name))
        except _Missing:
            return


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
