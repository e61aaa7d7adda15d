"""What a finished run leaves: its test metrics and a JSON-ready record anyone can rerun and compare.

The record holds the configuration, the SHA-256 fingerprints of the data as used (every part: train, validation,
test) and of the files they were read from, with the files' resolved location, versions, the BLAS in use (its
core type and thread count: :func:`fnn.run.provenance.environment`), the history, the test metrics (with the
confusion matrix of a classifier), the wall time and the SHA-256 of the final parameters: what a rerun needs, and
what changes bits (``fnn verify`` checks a rerun against it).

Its shape is checked where it is written and read, once, by :mod:`fnn.store.record` (through
:meth:`fnn.store.RunFolder.read_record`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from fnn.core.metrics import confusion_matrix, predict_classes
from fnn.core.params import Params
from fnn.data.dataset import Dataset
from fnn.data.transforms import Standardizer
from fnn.run.build import Prepared
from fnn.run.provenance import environment, fingerprints, source_fingerprint
from fnn.run.settings import RunConfig
from fnn.store.model import evaluate_in_target_units
from fnn.train.state import TrainState


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
