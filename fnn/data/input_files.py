"""Opening the data files a user names, and reading them within stated bounds.

A path must name a regular file (not a directory, pipe or device); gzip is recognised by its magic bytes, not by
the file name; reads are bounded so that neither a lying header nor a gzip bomb can make fnn allocate more than a
stated maximum. Every problem becomes an :class:`~fnn.errors.FnnInputError` that names the file.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import zlib
from collections.abc import Iterator
from typing import IO, Protocol

from fnn.errors import Described, FnnInputError, bad_argument

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24
"""Bytes read at a time: a declared length is never allocated before the bytes are there."""


class Readable(Protocol):
    """A binary stream: a file opened ``"rb"`` or a gzip stream over one."""

    def read(self, n: int = -1, /) -> bytes: ...


def size_text(n: int) -> str:
    """``'512 MiB'``: a byte count for a message.

    >>> size_text(512 << 20), size_text(1536), size_text(7)
    ('512 MiB', '1.5 KiB', '7 bytes')
    """
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} bytes"


def as_path(path: object, function: str, name: str = "path") -> str:
    """``path`` as a ``str``, or the standard error naming the argument.

    >>> import pathlib
    >>> as_path(pathlib.Path("a") / "b.csv", "load_csv")
    'a/b.csv'
    """
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if isinstance(path, str) and path:
            return path
    raise bad_argument(function, name, "a file path (a non-empty str or os.PathLike)", Described(repr(path)))


@contextlib.contextmanager
def open_input(path: str, expected: str) -> Iterator[IO[bytes]]:
    """Open ``path`` for binary reading, after checking that it is a regular file; ``expected`` says what it should
    be (``"an IDX file"``) for the messages."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FnnInputError(f"{path}: no such file; expected {expected}.") from None
    except (OSError, ValueError) as error:
        raise FnnInputError(f"{path}: cannot be read ({_reason(error)}); expected {expected}.") from None
    if stat.S_ISDIR(mode):
        raise FnnInputError(f"{path}: is a directory; expected {expected}.")
    if not stat.S_ISREG(mode):
        raise FnnInputError(f"{path}: is not a regular file (a pipe, socket or device); expected {expected}.")
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise FnnInputError(f"{path}: cannot be opened ({_reason(error)}); expected {expected}.") from None
    with handle:
        yield handle


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def maybe_gunzip(handle: IO[bytes]) -> tuple[IO[bytes] | gzip.GzipFile, bool]:
    """``(stream, compressed)``: a gzip stream over ``handle`` if the file starts with gzip's magic bytes, else
    ``handle`` itself (rewound)."""
    start = handle.read(2)
    handle.seek(0)
    if start == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=handle, mode="rb"), True
    return handle, False


@contextlib.contextmanager
def decompression_errors(path: str, expected: str) -> Iterator[None]:
    """Turn the errors a damaged gzip stream raises while being read into fnn's error naming the file."""
    try:
        yield
    except (EOFError, zlib.error, OSError) as error:  # gzip.BadGzipFile is an OSError
        raise FnnInputError(
            f"{path}: cannot be decompressed ({type(error).__name__}: {error}); expected {expected} (gzip-compressed "
            f"or raw); the file is probably truncated or damaged."
        ) from None


def read_exactly(stream: Readable, n: int) -> bytes | bytearray:
    """Up to ``n`` bytes from ``stream``, fewer only at its end; read in chunks, so a length that a file merely
    declares is never allocated before its bytes have arrived."""
    if n <= _CHUNK:
        return stream.read(n)
    buffer = bytearray()
    while len(buffer) < n:
        chunk = stream.read(min(_CHUNK, n - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def read_bounded(stream: Readable, limit: int) -> bytes | bytearray | None:
    """All the rest of ``stream``, or None if it holds more than ``limit`` bytes (never reading more than
    ``limit + 1``)."""
    data = read_exactly(stream, limit + 1)
    return None if len(data) > limit else data
