"""What a finished run leaves: its test metrics and a JSON-ready record anyone can rerun and compare.

The record holds the configuration, the SHA-256 fingerprints of the data as used (every part: train, validation,
test) and of the files they were read from, with the files' resolved location, versions, the BLAS in use (its
core type and thread count: :func:`fnn.run.provenance.environment`), the history, the test metrics (with the
confusion matrix of a classifier), the wall time and the SHA-256 of the final parameters: what a rerun needs, and
what changes bits (``fnn verify`` checks a rerun against it).

Every reader of a record file goes through :func:`load_record`, whose :func:`check_record` refuses, in one line,
JSON of any other shape.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from attrs import fields

from fnn.core.metrics import confusion_matrix, predict_classes
from fnn.core.params import Params
from fnn.data.dataset import Dataset
from fnn.data.transforms import Standardizer
from fnn.errors import FnnInputError
from fnn.run.build import Prepared
from fnn.run.provenance import environment, fingerprints, source_fingerprint
from fnn.run.settings import RunConfig
from fnn.store.model import evaluate_in_target_units
from fnn.store.run_folder import RECORD, RunFolder
from fnn.train.diagnostics import EpochDiagnostics
from fnn.train.state import EpochRecord, TrainState


def test_metrics(params: Params, test: Dataset, targets: Standardizer | None = None) -> dict[str, Any]:
    """Metrics of ``params`` on the ``test`` Dataset, with the confusion matrix (as lists) for a classifier; a
    regression's (loss, r2, mse, mae) in the targets' own units, its outputs unscaled with ``targets``, the
    statistics of the standardised targets it trained on (see :func:`fnn.store.model.evaluate_in_target_units`)."""
    metrics = evaluate_in_target_units(params, *test.as_tuple(), targets)
    if params.spec.is_classifier:
        predicted = predict_classes(params, test.features)
        metrics["confusion_matrix"] = confusion_matrix(test.labels, predicted, max(test.n_classes, 2)).tolist()
    return metrics


setattr(test_metrics, "__test__", False)  # a function of the library, not a test for pytest to collect


def validation_metrics(state: TrainState) -> dict[str, float]:
    """The validation metrics of a state's last epoch (``loss``, ``accuracy`` or ``r2``, and the run's chosen
    ``metrics`` such as ``f1_macro``), or {} without a validation part: what a sweep ranks on."""
    if not len(state.history):
        return {}
    last = state.history[-1].to_dict()
    last.update(last.pop("metrics", {}))
    return {key[4:]: value for key, value in last.items() if key.startswith("val_") and value is not None}


def params_sha256(params: Params) -> str:
    """SHA-256 of a network's architecture and the exact bytes (with dtype and shape) of its parameters."""
    digest = hashlib.sha256(json.dumps(params.spec.to_config(), sort_keys=True).encode())
    for array in params.arrays():
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _weights_sha256(weights: np.ndarray | None) -> str | None:
    return None if weights is None else hashlib.sha256(np.ascontiguousarray(weights, dtype="<f8").tobytes()).hexdigest()


def data_fingerprints(prepared: Prepared) -> dict[str, Any]:
    """The record's ``data`` entry: SHA-256 fingerprints of the training, validation and test parts exactly as the
    run uses them (after the test split, the standardisation and the validation hold-out); ``source``: where they
    were read (:func:`fnn.run.provenance.source_fingerprint`; None for data given as arrays); and for a weighted
    run ``weights``: its class weights as set and the SHA-256 of its sample weights per part."""
    data = {**fingerprints(prepared.train, prepared.validation, prepared.test),
            "source": None if prepared.source is None else source_fingerprint(prepared.source)}
    if prepared.weights is not None or prepared.config.class_weight is not None:
        train_w, val_w = prepared.weights or (None, None)
        per_class = prepared.options.class_weight
        data["weights"] = {"class_weight": {str(k): v for k, v in per_class.items()} if isinstance(per_class, dict) else per_class, "sample_weight": prepared.config.sample_weight,
                           "train_sha256": _weights_sha256(train_w), "validation_sha256": _weights_sha256(val_w)}
    return data


def run_record(config: RunConfig, state: TrainState, metrics: dict[str, Any], seconds: float, last: TrainState | None = None,
               threads: int | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready record of a finished run of ``config`` (a :class:`~fnn.run.settings.RunConfig`).

    ``state`` is the final state (the best one under early stopping; its params are hashed and were tested),
    ``last`` the last one trained, whose history (every epoch run) the record keeps; ``threads`` the BLAS threads
    the run used; ``data`` the :func:`data_fingerprints` of the run. The environment is read here, so call it
    where the run's thread limit is in force.
    """
    last = state if last is None else last
    return {
        "config": config.to_dict(),
        "seed": config.seed,
        "network": state.params.spec.describe(),
        "threads": threads,
        "environment": environment(),
        "data": data,
        "history": last.history.to_dicts(),
        "epochs_run": last.epoch,
        "best_epoch": state.epoch,
        "stopped_early": last.epoch < config.epochs,  # only early stopping ends a run before its epochs
        "validation_metrics": validation_metrics(state),
        "final_metrics": metrics,
        "wall_seconds": seconds,
        "params_sha256": params_sha256(state.params),
    }


# -- reading a record back ---------------------------------------------------------------------------------------

MAX_DEPTH = 16
"""The deepest nesting of lists and objects a record may have (fnn writes six levels, the record included)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


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
    except (FnnInputError, ValueError, TypeError, AttributeError):
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
                return f"{where}.{key} is {value!r}, expected a count"
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


_Check = Callable[[Any], bool]
_FIELDS: dict[str, tuple[bool, _Check, str]] = {
    "config": (True, lambda v: isinstance(v, dict), "an object of settings"),
    "history": (True, lambda v: isinstance(v, list), "a list of epochs"),
    "params_sha256": (True, lambda v: isinstance(v, str), "a hex SHA-256 string"),
    "final_metrics": (True, lambda v: isinstance(v, dict), "an object of test metrics"),
    "validation_metrics": (False, lambda v: isinstance(v, dict), "an object of metrics"),
    "environment": (False, lambda v: isinstance(v, dict), "an object"),
    "data": (False, lambda v: v is None or isinstance(v, dict), "an object of fingerprints"),
    "checkpoint_sha256": (False, lambda v: isinstance(v, str), "a hex SHA-256 string"),
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
    )
    return next((problem for problem in problems if problem is not None), None)


def check_record(record: Any, path: str) -> dict[str, Any]:
    """``record`` (a run's ``record.json`` as read from ``path``) if it has the shape :func:`run_record` gives,
    else one :class:`~fnn.errors.FnnInputError` line naming the file and the first thing wrong.

    >>> check_record([1, 2], "runs/a/record.json")
    Traceback (most recent call last):
    fnn.errors.FnnInputError: runs/a/record.json: not a run record fnn wrote (it is a list, expected an object).
    """
    problem = _record_problem(record)
    if problem is not None:
        raise FnnInputError(f"{path}: not a run record fnn wrote ({problem}).")
    return record


def load_record(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The record of the run in ``folder``, read and checked (:func:`check_record`): what every reader of a
    record uses."""
    folder = os.fspath(folder)
    path = os.path.join(folder, RECORD)
    try:
        record = RunFolder(folder).read_record()  # no link followed, bounded size, a JSON object
    except RecursionError:
        raise FnnInputError(f"{path}: not a run record fnn wrote (it is nested too deeply to read).") from None
    except OSError as error:
        raise FnnInputError(f"{path}: cannot be read ({error.strerror or error}).") from None
    return check_record(record, path)
