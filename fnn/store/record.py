"""The shape of a run's record (``record.json``): the one check every reader and the writer of a record go through.

What a run computes into its record is :mod:`fnn.run.record`'s; whether a JSON text is a record fnn wrote is
decided here, once: :func:`parse_record` (bytes as read) and :func:`check_record` (a parsed value) refuse anything
else in one line, ``PATH: not a run record fnn wrote (WHAT).``, naming the first part that is wrong. A
:class:`~fnn.store.run_folder.RunFolder` reads and writes its record through them, so ``fnn verify``, ``diff``,
``replay``, ``plot``, ``evaluate``, ``predict``, ``train --resume`` and :func:`fnn.load` refuse a malformed record
with the same line.

>>> check_record({"config": {}, "history": [], "final_metrics": {}, "params_sha256": "x"}, "runs/a/record.json")
Traceback (most recent call last):
fnn.errors.FnnInputError: runs/a/record.json: not a run record fnn wrote ('params_sha256' is 'x', expected a hex SHA-256).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from attrs import fields

from fnn.errors import FnnInputError
from fnn.train.diagnostics import EpochDiagnostics
from fnn.train.state import EpochRecord

MAX_DEPTH = 16
"""The deepest nesting of lists and objects a record may have (fnn writes six levels, the record included)."""
MAX_RECORD_BYTES = 32 * 2**20
"""The largest record read (a run of 10,000 epochs with diagnostics is a few MB)."""
KEPT = "kept_checkpoints"
"""The record's map of each kept per-epoch checkpoint (``epoch-0001.npz``) to the SHA-256 of its bytes."""

KEPT_NAME = re.compile(r"^epoch-(\d{4,})\.npz$")
"""The name of a kept checkpoint; its group is the epoch."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(value: Any) -> bool:
    """Whether ``value`` is a hex SHA-256 as fnn writes it (64 lowercase hex digits).

    >>> is_sha256("ab" * 32), is_sha256("AB" * 32)
    (True, False)
    """
    return isinstance(value, str) and _SHA256.match(value) is not None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:80])
    return {dict: "an object", list: "a list", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _nested_too_deep(value: Any) -> bool:
    pending = [(value, 0)]
    while pending:  # by hand, not recursion: a record nested 100,000 deep must not exhaust the stack
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return True
            pending.extend((inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item))
    return False


def _metrics_problem(name: str, metrics: Any) -> str | None:
    for key, value in metrics.items():
        if key == "confusion_matrix":
            if not isinstance(value, list) or not all(isinstance(row, list) and all(map(_is_int, row)) for row in value):
                return f"{name}.confusion_matrix is not a list of rows of counts"
        elif value is not None and not _is_number(value):
            return f"{name}.{key} is {_kind(value)}, expected a number"
    return None


_EPOCH_FIELDS = {field.name for field in fields(EpochRecord)}
_EPOCH_NEEDS = ("epoch", "step", "lr", "loss")


def _readable_diagnostics(value: Any) -> bool:
    try:
        EpochDiagnostics.from_dict(value)
    except (FnnInputError, ValueError, TypeError, AttributeError, KeyError):
        return False
    return True


def _epoch_problem(index: int, epoch: Any) -> str | None:
    where = f"history[{index}]"
    if not isinstance(epoch, dict):
        return f"{where} is {_kind(epoch)}, expected an object of one epoch's metrics"
    missing = [key for key in _EPOCH_NEEDS if key not in epoch]
    unknown = sorted(str(key) for key in epoch if key not in _EPOCH_FIELDS)
    if missing or unknown:
        return f"{where} " + (f"lacks {', '.join(missing)}" if missing else f"has unknown entries {', '.join(unknown)}")
    for key, value in epoch.items():
        if key in ("epoch", "step"):
            if not _is_int(value) or value < 0:
                return f"{where}.{key} is {_kind(value) if not _is_int(value) else value}, expected a count"
        elif key == "diagnostics":
            if value is not None and not _readable_diagnostics(value):
                return f"{where}.diagnostics is not an epoch's diagnostics as fnn writes them"
        elif key == "metrics":
            if not isinstance(value, dict) or not all(isinstance(k, str) and (v is None or _is_number(v)) for k, v in value.items()):
                return f"{where}.metrics is {_kind(value)}, expected an object of metric names and numbers"
        elif key == "weighted":
            if not isinstance(value, bool):
                return f"{where}.weighted is {_kind(value)}, expected true or false"
        elif value is not None and not _is_number(value):
            return f"{where}.{key} is {_kind(value)}, expected a number"
    return None


def _data_problem(data: dict[str, Any]) -> str | None:
    for key, part in data.items():
        if key == "source":
            if part is not None and not (isinstance(part, dict) and isinstance(part.get("location"), str) and isinstance(part.get("files"), dict)
                                         and all(isinstance(v, str) for v in part["files"].values())):
                return "data.source is not an object with a location and the files' SHA-256"
        elif key == "weights":
            if not isinstance(part, dict):
                return "data.weights is not an object of the run's class and sample weights"
        elif part is not None and not (isinstance(part, dict) and isinstance(part.get("sha256"), str)):
            return f"data.{key} is not a fingerprint (an object with its sha256)"
    return None


def _environment_problem(environment: dict[str, Any]) -> str | None:
    blas = environment.get("blas")
    if blas is not None and not isinstance(blas, dict):
        return f"environment.blas is {_kind(blas)}, expected an object"
    return None


def _kept_problem(kept: dict[str, Any]) -> str | None:
    for name, digest in kept.items():
        if not KEPT_NAME.match(name):
            return f"{KEPT} names {name[:80]!r}, expected epoch checkpoints (epoch-0001.npz, ...)"
        if not is_sha256(digest):
            return f"{KEPT}.{name} is {_kind(digest)}, expected a hex SHA-256"
    return None


_Check = Callable[[Any], bool]
_FIELDS: dict[str, tuple[bool, _Check, str]] = {
    "config": (True, lambda v: isinstance(v, dict), "an object of settings"),
    "history": (True, lambda v: isinstance(v, list), "a list of epochs"),
    "params_sha256": (True, is_sha256, "a hex SHA-256"),
    "final_metrics": (True, lambda v: isinstance(v, dict), "an object of test metrics"),
    "validation_metrics": (False, lambda v: isinstance(v, dict), "an object of metrics"),
    "environment": (False, lambda v: isinstance(v, dict), "an object"),
    "data": (False, lambda v: v is None or isinstance(v, dict), "an object of fingerprints"),
    "checkpoint_sha256": (False, lambda v: v is None or is_sha256(v), "a hex SHA-256 or null"),
    KEPT: (False, lambda v: isinstance(v, dict), "an object of epoch checkpoints and their SHA-256"),
    "network": (False, lambda v: isinstance(v, str), "a string"),
    "seed": (False, _is_int, "an int"),
    "threads": (False, lambda v: v is None or (_is_int(v) and v > 0), "a positive int or null"),
    "epochs_run": (False, lambda v: _is_int(v) and v >= 0, "a count"),
    "best_epoch": (False, lambda v: _is_int(v) and v >= 0, "a count"),
    "resumed_from_epoch": (False, lambda v: _is_int(v) and v >= 0, "a count"),
    "stopped_early": (False, lambda v: isinstance(v, bool), "true or false"),
    "wall_seconds": (False, _is_number, "a number"),
}


def _record_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return f"it is {_kind(record)}, expected an object"
    if _nested_too_deep(record):
        return f"it is nested more than {MAX_DEPTH} levels deep"
    for name, (required, check, expected) in _FIELDS.items():
        if name not in record:
            if required:
                return f"it has no {name!r}"
        elif not check(record[name]):
            return f"{name!r} is {_kind(record[name])}, expected {expected}"
    problems = (
        *(_epoch_problem(index, epoch) for index, epoch in enumerate(record["history"])),
        _metrics_problem("final_metrics", record["final_metrics"]),
        _metrics_problem("validation_metrics", record.get("validation_metrics") or {}),
        _data_problem(record.get("data") or {}),
        _environment_problem(record.get("environment") or {}),
        _kept_problem(record.get(KEPT) or {}),
    )
    return next((problem for problem in problems if problem is not None), None)


def _refusal(path: str, problem: str) -> FnnInputError:
    return FnnInputError(f"{path}: not a run record fnn wrote ({problem}).")


def check_record(record: Any, path: str) -> dict[str, Any]:
    """``record`` (a run's record as read from, or to be written to, ``path``) if it has the shape
    :func:`fnn.run.record.run_record` gives, else one :class:`~fnn.errors.FnnInputError` line naming the file and
    the first thing wrong.

    >>> check_record([1, 2], "runs/a/record.json")
    Traceback (most recent call last):
    fnn.errors.FnnInputError: runs/a/record.json: not a run record fnn wrote (it is a list, expected an object).
    """
    problem = _record_problem(record)
    if problem is not None:
        raise _refusal(path, problem)
    return record


def parse_record(raw: bytes, path: str) -> dict[str, Any]:
    """The record in ``raw`` (the bytes of the file ``path``), decoded and checked (:func:`check_record`); bytes
    that are not UTF-8 JSON are refused in the same one line.

    >>> parse_record(b'{"config": ', "record.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.errors.FnnInputError: record.json: not a run record fnn wrote (not valid JSON: Expecting value: ...).
    """
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _refusal(path, f"not valid JSON: {error}") from None
    except RecursionError:
        raise _refusal(path, f"it is nested more than {MAX_DEPTH} levels deep") from None
    return check_record(record, path)
