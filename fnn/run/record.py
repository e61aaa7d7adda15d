"""What a finished run leaves: its test metrics and a JSON-ready record anyone can rerun and compare.

The record holds the configuration, the SHA-256 fingerprints of the data as used, versions, the BLAS in use (its
core type and thread count: :func:`fnn.run.provenance.environment`), the history, the test metrics (with the confusion
matrix of a classifier), the wall time and the SHA-256 of the final parameters: what a rerun needs, and what
changes bits (``fnn verify`` checks a rerun against it).
"""

import hashlib
import json

import numpy as np

from fnn.core.metrics import confusion_matrix, evaluate, predict_classes
from fnn.core.validate import prepare_targets
from fnn.data.lazy import take_rows
from fnn.run.provenance import environment, fingerprints
from fnn.train.loop import validation_split

__all__ = ["test_metrics", "validation_metrics", "params_sha256", "describe_network", "environment", "data_fingerprints", "run_record"]


def describe_network(spec):
    """``spec.describe()``: e.g. ``'64-64-10 relu -> softmax, cross-entropy'`` (kept as a function for callers)."""
    return spec.describe()


def test_metrics(params, test):
    """Metrics of ``params`` on the ``test`` Dataset, with the confusion matrix (as lists) for a classifier."""
    metrics = evaluate(params, *test.as_tuple())
    if params.spec.is_classifier:
        predicted = predict_classes(params, test.features)
        metrics["confusion_matrix"] = confusion_matrix(test.labels, predicted, max(test.n_classes, 2)).tolist()
    return metrics


test_metrics.__test__ = False  # a function of the library, not a test for pytest to collect


def validation_metrics(state):
    """The validation metrics of a state's last epoch (``loss``, ``accuracy`` or ``r2``), or {} without a
    validation part: what a sweep ranks on."""
    if not len(state.history):
        return {}
    last = state.history[-1].to_dict()
    return {key[4:]: value for key, value in last.items() if key.startswith("val_") and value is not None}


def params_sha256(params):
    """SHA-256 of a network's architecture and the exact bytes (with dtype and shape) of its parameters."""
    digest = hashlib.sha256(json.dumps(params.spec.to_config(), sort_keys=True).encode())
    for array in params.arrays():
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def data_fingerprints(prepared):
    """The record's ``data`` entry: SHA-256 fingerprints of the training and validation data exactly as the run
    trains and validates on them (after the test split, the standardisation and the validation hold-out, which
    is split here as :func:`fnn.train.loop.iterate_epochs` splits it)."""
    train = prepared.train
    if not prepared.options.validation:
        return fingerprints(train)
    labels = prepare_targets(prepared.params, train.labels, len(train), "train", "labels")
    train_index, val_index = validation_split(prepared.params, labels, prepared.options.validation, prepared.config.seed)
    return fingerprints(
        (take_rows(train.features, train_index), train.labels[train_index]),
        (take_rows(train.features, val_index), train.labels[val_index]),
    )


def run_record(config, state, metrics, seconds, last=None, threads=None, data=None):
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
        "network": describe_network(state.params.spec),
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
