"""Reading a checkpoint's ``.npz`` archive without trusting it: every check made before anything is allocated.

The path must be a regular file; the archive a zip whose members are all stored (uncompressed) ``.npy`` arrays of
plain numeric, boolean or text dtypes (never objects, so never pickle), whose declared sizes equal their real sizes,
so a crafted file cannot make fnn allocate more than its own length and no zip bomb can inflate. Each failure is an
:class:`~fnn.errors.FnnInputError` naming the file. :mod:`fnn.store.checkpoint` then checks the header and the hash.
"""

from __future__ import annotations

import math
import os
import stat
import zipfile

import numpy as np

from fnn.errors import FnnInputError

ARRAY_KINDS = "biufcUS"  # bool, ints, floats, complex, text: never objects, records or dates
_MAX_MEMBERS = 100_000  # arrays in one file: a 1000-layer network with Adam has 6000


def read_archive(path: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``, checked before any allocation; errors name the file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FnnInputError(f"{path}: no such checkpoint file.") from None
    except IsADirectoryError:
        raise FnnInputError(
            f"{path}: is a folder; expected a checkpoint file (.npz written by fnn.save_checkpoint)."
        ) from None
    except OSError as error:
        raise FnnInputError(f"{path}: cannot open the checkpoint file ({error.strerror}).") from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        what = "is a folder" if stat.S_ISDIR(info.st_mode) else "is not a regular file"
        raise FnnInputError(f"{path}: {what}; expected a checkpoint file (.npz written by fnn.save_checkpoint).")
    with os.fdopen(descriptor, "rb") as handle:
        if info.st_size == 0:
            raise FnnInputError(
                f"{path}: the file is empty; expected a checkpoint (.npz written by fnn.save_checkpoint)."
            )
        start = handle.read(6)
        handle.seek(0)
        if start == b"\x93NUMPY":
            raise FnnInputError(
                f"{path}: a single-array .npy file, not a checkpoint; expected an .npz written by fnn.save_checkpoint."
            )
        try:
            _check_entry_count(path, handle)
            with zipfile.ZipFile(handle) as archive:
                return _read_members(path, archive, info.st_size)
        except FnnInputError:
            raise
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
            OverflowError,
        ) as error:
            raise FnnInputError(
                f"{path}: not a readable fnn checkpoint (expected an .npz zip archive written by fnn.save_checkpoint; "
                f"it is truncated, corrupted or another kind of file: {error})."
            ) from None


def _check_entry_count(path, handle):
    """Refuse a zip whose directory lists more members than any checkpoint has, before zipfile builds a record
    for each (millions of tiny entries would cost far more memory than the file's size)."""
    end_record = getattr(zipfile, "_EndRecData", None)
    entries = getattr(zipfile, "_ECD_ENTRIES_TOTAL", None)
    if end_record is None or entries is None:  # a future zipfile without it: the size checks of each member still apply
        return
    record = end_record(handle)
    handle.seek(0)
    if record is not None and record[entries] > _MAX_MEMBERS:
        raise FnnInputError(
            f"{path}: the archive lists {record[entries]} members; an fnn checkpoint has at most "
            f"{_MAX_MEMBERS}."
        )


def _read_members(path, archive, file_size):
    members = archive.infolist()
    names = [member.filename for member in members]
    if len(set(names)) != len(names):
        raise FnnInputError(f"{path}: the archive repeats a member name; not a checkpoint written by fnn.")
    arrays = {}
    for member in members:
        if not member.filename.endswith(".npy"):
            raise FnnInputError(
                f"{path}: the archive holds {member.filename!r}, which is not an .npy array; not an fnn checkpoint."
            )
        name = member.filename[: -len(".npy")]
        if member.compress_type != zipfile.ZIP_STORED or member.compress_size != member.file_size:
            raise FnnInputError(
                f"{path}: the member {member.filename!r} is compressed; fnn writes checkpoints uncompressed and "
                "refuses compressed members (so no small file can inflate into a huge one)."
            )
        if member.header_offset + member.file_size > file_size:
            raise FnnInputError(
                f"{path}: the member {member.filename!r} claims more bytes than the file holds (truncated?)."
            )
        arrays[name] = _read_member(path, archive, member)
    return arrays


def _read_member(path, archive, member):
    from numpy.lib import format as npy

    with archive.open(member) as stream:
        try:
            version = npy.read_magic(stream)
            if version == (1, 0):
                shape, fortran_order, dtype = npy.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran_order, dtype = npy.read_array_header_2_0(stream)
            else:
                raise ValueError(f"npy format version {version} is not one numpy writes for such arrays")
        except (ValueError, SyntaxError, TypeError) as error:
            raise FnnInputError(
                f"{path}: the member {member.filename!r} is not a valid .npy array ({error})."
            ) from None
        if (
            dtype.kind not in ARRAY_KINDS
            or dtype.hasobject
            or dtype.names is not None
            or dtype.shape != ()
            or dtype.itemsize == 0
        ):
            raise FnnInputError(
                f"{path}: the array {member.filename!r} has dtype {dtype}; checkpoints hold only numbers, booleans "
                "and text (no objects, no pickle)."
            )
        header_length = stream.tell()
        count = math.prod(int(d) for d in shape)
        nbytes = count * dtype.itemsize
        if header_length + nbytes != member.file_size:
            raise FnnInputError(
                f"{path}: the array {member.filename!r} declares shape {shape} of {dtype} ({nbytes} bytes) but the "
                f"member holds {member.file_size - header_length} bytes of data."
            )
        data = stream.read(nbytes)
    if len(data) != nbytes:
        raise FnnInputError(f"{path}: the array {member.filename!r} is truncated.")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)
