"""What a finished run leaves: its test metrics and a JSON-ready record anyone can rerun and compare.

The record holds the configuration, versions, the BLAS in use, the history, the test metrics (with the confusion
matrix of a classifier), the wall time and the SHA-256 of the final parameters.
"""

import hashlib
import json
import platform
import sys

import numpy as np

from ..metrics import confusion_matrix, evaluate, predict_classes

__all__ = ["test_metrics", "params_sha256", "environment", "run_record"]


def test_metrics(params, test):
    """Metrics of ``params`` on the ``test`` Dataset, with the confusion matrix (as lists) for a classifier."""
    metrics = evaluate(params, *test.as_tuple())
    if params.spec.is_classifier:
        predicted = predict_classes(params, test.features)
        metrics["confusion_matrix"] = confusion_matrix(test.labels, predicted, max(test.n_classes, 2)).tolist()
    return metrics


test_metrics.__test__ = False  # a function of the library, not a test for pytest to collect


def params_sha256(params):
    """SHA-256 of a network's architecture and the exact bytes (with dtype and shape) of its parameters."""
    digest = hashlib.sha256(json.dumps(params.spec.to_config(), sort_keys=True).encode())
    for array in params.arrays():
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ModuleNotFoundError:
        return []
    return [
        {key: pool.get(key) for key in ("internal_api", "version", "architecture", "num_threads")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]


def environment():
    """Versions and the BLAS numpy uses (its kernel and thread count): what a rerun must match for bit-identical
    results."""
    from .. import __version__

    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        info = config.get("Build Dependencies", {}).get("blas", {})
        blas = f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except (TypeError, AttributeError):  # numpy < 1.25 has no dict mode
        pass
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "fnn": __version__,
        "blas": blas,
        "blas_threads": _blas_threads(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def run_record(config, state, metrics, seconds):
    """The JSON-ready record of a finished run of ``config`` (a :class:`~fnn.run.settings.RunConfig`)."""
    return {
        "config": config.to_dict(),
        "seed": config.seed,
        "environment": environment(),
        "history": state.history.to_dicts(),
        "epochs_run": state.epoch,
        "final_metrics": metrics,
        "wall_seconds": seconds,
        "params_sha256": params_sha256(state.params),
    }
