"""What a run's bits depend on beyond its configuration and seed: the data as used, and the machine's software.

:func:`data_fingerprint` is the SHA-256 of a data set's values as training sees them (features and labels, with
their dtypes and shapes), read in blocks of rows, so a memory-mapped or lazily scaled set is never loaded whole;
an eager array and a :class:`~fnn.data.lazy.ScaledRows` of the same values have the same fingerprint.
:func:`source_fingerprint` names where a run read its data (:func:`fnn.data.sources.resolve_data`) with the
SHA-256 of each file there (:func:`file_sha256`), and :func:`check_source` refuses files that changed since.
:func:`environment` names the package versions, the BLAS library numpy uses, its core type (the kernel it picked
for this CPU) and its thread count. Each can change the last bits of a float sum, so when a rerun's parameters
differ, :func:`explain_difference` says which of them changed.

>>> x, y = np.zeros((3, 2), np.float32), np.array([0, 1, 1])
>>> fingerprint = data_fingerprint(x, y)
>>> len(fingerprint), fingerprint == data_fingerprint(x.copy(), y), fingerprint == data_fingerprint(x, y[::-1])
(64, True, False)
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from importlib import metadata
from typing import Any, Union

import numpy as np

from fnn.arrays import shape_str
from fnn.data.dataset import Dataset
from fnn.data.lazy import ScaledRows
from fnn.data.sources import data_files
from fnn.errors import FnnInputError, bad_argument

_Features = Union[np.ndarray, ScaledRows]
_Data = Union[Dataset, tuple[_Features, np.ndarray]]

BLOCK_ROWS = 8192
"""Rows hashed at a time: a few MB of features, whatever the size of the set."""


def _update(digest, name, array, block_rows):
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "biuf":
        raise bad_argument("data_fingerprint", name, "an array of numbers (bool, int or float)", shape_str(np.asarray(array[:0])))
    digest.update(f"{name} {dtype.newbyteorder('<').str} {tuple(array.shape)}\n".encode())
    little = dtype.newbyteorder("<")  # the same values give the same bytes on any machine
    for start in range(0, len(array), block_rows):
        block = np.ascontiguousarray(array[start : start + block_rows], dtype=little)
        digest.update(block.data.cast("B"))


def data_fingerprint(features: _Features, labels: np.ndarray, block_rows: int = BLOCK_ROWS) -> str:
    """SHA-256 (hex) of ``features`` and ``labels``: their dtypes, shapes and values, row blocks at a time.

    ``features`` may be an array, a memory map or :class:`~fnn.data.lazy.ScaledRows` (hashed as the float rows it
    yields); ``labels`` an array.
    """
    if isinstance(block_rows, bool) or not isinstance(block_rows, (int, np.integer)) or block_rows < 1:
        raise bad_argument("data_fingerprint", "block_rows", "a positive int", block_rows)
    if not hasattr(features, "shape") or len(features.shape) != 2:
        raise bad_argument("data_fingerprint", "features", "a 2-D array (samples in rows)", getattr(features, "shape", type(features).__name__))
    labels = np.asarray(labels)
    if len(labels) != features.shape[0]:
        raise FnnInputError(f"data_fingerprint: {features.shape[0]} feature rows but {len(labels)} labels.")
    digest = hashlib.sha256()
    _update(digest, "features", features, int(block_rows))
    _update(digest, "labels", labels, int(block_rows))
    return digest.hexdigest()


def _pair(data, name):
    if isinstance(data, Dataset):
        return data.as_tuple()
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data
    raise bad_argument("dataset_fingerprint", name, "a fnn.Dataset or a pair (features, labels)", type(data).__name__)


def dataset_fingerprint(data: _Data, name: str = "data") -> dict[str, str]:
    """``{"sha256", "features", "labels"}`` of a ``Dataset`` or ``(features, labels)``: the fingerprint with the
    shapes it covers, e.g. ``"float32[60000,784]"``, so a reader sees what was hashed.

    >>> fingerprint = dataset_fingerprint((np.ones((2, 3), np.float32), np.array([0, 1])))
    >>> fingerprint["features"], fingerprint["labels"]
    ('float32[2,3]', 'int64[2]')
    """
    features, labels = _pair(data, name)
    labels = np.asarray(labels)
    return {
        "sha256": data_fingerprint(features, labels),
        "features": f"{np.dtype(features.dtype)}[{','.join(map(str, features.shape))}]",
        "labels": shape_str(labels),
    }


_SPLITS = ("train", "validation", "test")
"""The parts of a run's data a record fingerprints, in the order messages name them."""


def fingerprints(train: _Data, validation: _Data | None = None, test: _Data | None = None) -> dict[str, Any]:
    """The fingerprints of a run's data as used: training, validation and test parts (None where a run has none).

    >>> parts = fingerprints((np.ones((2, 1)), np.array([0, 1])), test=(np.zeros((1, 1)), np.array([1])))
    >>> parts["validation"], parts["test"]["features"]
    (None, 'float64[1,1]')
    """
    parts = {"train": train, "validation": validation, "test": test}
    return {name: None if part is None else dataset_fingerprint(part, name) for name, part in parts.items()}


_READ_BLOCK = 1 << 20


def file_sha256(path: str) -> str:
    """SHA-256 (hex) of the bytes of the file at ``path``, read a block at a time.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as handle:
    ...     _ = handle.write(b"abc")
    >>> file_sha256(handle.name)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def source_fingerprint(location: str) -> dict[str, Any]:
    """``{"location", "files"}``: a data set by the place it is read from (:func:`fnn.data.sources.resolve_data`)
    and the SHA-256 of each file read there (``files`` is empty for bundled and generated sets).

    >>> source_fingerprint("iris")
    {'location': 'iris', 'files': {}}
    """
    return {"location": location, "files": {path: file_sha256(path) for path in data_files(location)}}


def check_source(data: dict[str, Any] | None, where: str) -> None:
    """Refuse data files that are gone or changed since the run that recorded ``data`` (its record's ``data``
    entry) read them, naming the file with the recorded and the current SHA-256; ``where`` starts the message.

    >>> check_source({"source": {"location": "iris", "files": {}}}, "RUN runs/a")
    >>> check_source({"source": {"location": "csv:/no/x.csv", "files": {"/no/x.csv": "ab" * 32}}}, "RUN runs/a")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.errors.FnnInputError: RUN runs/a: the run's data file /no/x.csv is gone (recorded SHA-256 abab...
    """
    source = (data or {}).get("source") or {}
    for path, recorded in sorted((source.get("files") or {}).items()):
        if not os.path.isfile(path):
            raise FnnInputError(f"{where}: the run's data file {path} is gone (recorded SHA-256 {recorded}); put it back to use the run's data.")
        current = file_sha256(path)
        if current != recorded:
            raise FnnInputError(
                f"{where}: the run's data file {path} has changed since the run read it (SHA-256 {recorded} recorded, "
                f"{current} now); restore it, or give the data explicitly."
            )


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _numpy_blas(entries):
    """The BLAS entry of numpy's own library when several are loaded (torch, for one, brings another)."""
    home = os.path.dirname(os.path.abspath(np.__file__))
    for entry in entries:
        path = os.path.abspath(entry.get("filepath", ""))
        if path.startswith(home):  # numpy/ itself, or the numpy.libs/ beside it that wheels bundle BLAS in
            return entry
    return entries[0] if entries else None


def blas_info() -> dict[str, Any]:
    """``{"library", "version", "core_type", "threads", "threading_layer"}`` of the BLAS numpy uses right now
    (threads as currently limited), from threadpoolctl; values are None where it cannot tell."""
    unknown = {"library": None, "version": None, "core_type": None, "threads": None, "threading_layer": None}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return unknown
    entry = _numpy_blas([info for info in threadpool_info() if info.get("user_api") == "blas"])
    if entry is None:
        return unknown
    return {
        "library": entry.get("internal_api"),
        "version": entry.get("version"),
        "core_type": entry.get("architecture"),
        "threads": entry.get("num_threads"),
        "threading_layer": entry.get("threading_layer"),
    }


def environment() -> dict[str, Any]:
    """Versions, machine and BLAS: what a rerun must match for bit-identical results. Call it where the run's
    thread limit is in force, so ``blas.threads`` is the count the run used."""
    from fnn.version import __version__

    return {
        "python": sys.version.split()[0],
        "fnn": __version__,
        "numpy": np.__version__,
        "toolz": _version("toolz"),
        "attrs": _version("attrs"),
        "blas": blas_info(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def _blas(env):
    blas = (env or {}).get("blas")
    return blas if isinstance(blas, dict) else {}


_CHECKS = (
    ("fnn version", lambda env: env.get("fnn")),
    ("numpy version", lambda env: env.get("numpy")),
    ("python version", lambda env: env.get("python")),
    ("BLAS library", lambda env: " ".join(str(v) for v in (_blas(env).get("library"), _blas(env).get("version")) if v) or None),
    ("BLAS core type", lambda env: _blas(env).get("core_type")),
    ("BLAS thread count", lambda env: _blas(env).get("threads")),
    ("machine", lambda env: env.get("machine")),
)


def _data_reasons(recorded, current):
    reasons = []
    for part in _SPLITS:
        before, now = (recorded or {}).get(part), (current or {}).get(part)
        if before is None and now is None:
            continue
        if before is None or now is None:
            reasons.append(f"data: the run {'had no' if before is None else 'had'} {part} data, the rerun {'has' if before is None else 'has none'}")
        elif before.get("sha256") != now.get("sha256"):
            shapes = f"{before.get('features')} / {before.get('labels')} recorded, {now.get('features')} / {now.get('labels')} now"
            reasons.append(f"data: the {part} data differ (SHA-256 {str(before.get('sha256'))[:12]}... recorded, {str(now.get('sha256'))[:12]}... now; {shapes})")
    before, now = ((fingerprint or {}).get("source") or {} for fingerprint in (recorded, current))
    if before and now and before != now:
        reasons.append(f"data: read from {before.get('location')} (files {before.get('files')}) recorded, {now.get('location')} (files {now.get('files')}) now")
    if (recorded or {}).get("weights") != (current or {}).get("weights"):
        reasons.append(f"data: the sample or class weights differ ({(recorded or {}).get('weights')} recorded, {(current or {}).get('weights')} now)")
    return reasons


def explain_difference(recorded_env: dict[str, Any] | None, current_env: dict[str, Any] | None,
                       recorded_fingerprint: dict[str, Any] | None, current_fingerprint: dict[str, Any] | None) -> list[str]:
    """Why a rerun's parameters may differ from the recorded ones: one reason per thing that differs, each
    starting with what it is (``"data"``, ``"fnn version"``, ``"numpy version"``, ``"BLAS library"``, ``"BLAS core
    type"``, ``"BLAS thread count"``, ...). Something the record does not state is said so, as it cannot be ruled
    out. Empty when everything recorded matches.

    >>> env = {"fnn": "0.1.0", "numpy": "2.1.0", "blas": {"library": "openblas", "core_type": "Haswell", "threads": 1}}
    >>> explain_difference(env, {**env, "blas": {**env["blas"], "threads": 2}}, None, None)
    ['BLAS thread count: 1 recorded, 2 now']
    """
    reasons = _data_reasons(recorded_fingerprint, current_fingerprint)
    recorded_env, current_env = recorded_env or {}, current_env or {}
    for name, read in _CHECKS:
        before, now = read(recorded_env), read(current_env)
        if before is None and now is not None:
            reasons.append(f"{name}: not in the record (now {now}), so it may differ")
        elif before is not None and before != now:
            reasons.append(f"{name}: {before} recorded, {now} now")
    return reasons
