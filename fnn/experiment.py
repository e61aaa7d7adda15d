"""An experiment is one plain configuration dict; running it is a pure function of that dict (and its seed).

:func:`check_config` fills defaults and refuses unknown keys and values of the wrong type before anything runs;
:func:`prepare_experiment` builds data, network and optimiser from it; :func:`run_record` describes a finished run
(configuration, versions, BLAS, history, metrics, wall time and the SHA-256 of the final parameters) so anyone can
rerun it and compare the hash.

>>> config = check_config({"data": "iris", "hidden": [6], "epochs": 5})
>>> config["optimizer"], config["batch_size"]
('sgd', 32)
"""

import hashlib
import json
import platform
import sys
import time

import numpy as np
from attrs import frozen
from toolz import take

from .data.dataset import Dataset
from .data.lazy import ScaledRows
from .data.sources import load_train_test, split_source
from .data.transforms import fit_standardizer, standardize
from .errors import FnnInputError
from .metrics import confusion_matrix, evaluate, predict_classes
from .optim import add_l2, chain, clip_by_global_norm, cosine, exponential, get_optimizer, step_decay
from .params import init_params
from .spec import network
from .training import early_stopping, iterate_epochs

__all__ = [
    "DEFAULTS",
    "check_config",
    "build_spec",
    "build_optimizer",
    "Prepared",
    "prepare_experiment",
    "epoch_states",
    "finish_experiment",
    "run_experiment",
    "params_sha256",
    "environment",
    "run_record",
]

DEFAULTS = {
    "data": "digits",
    "test_fraction": 0.2,
    "standardize": "auto",
    "hidden": [64],
    "activation": "relu",
    "output": "auto",
    "loss": "auto",
    "init": "he_uniform",
    "bias_init": "zeros",
    "optimizer": "sgd",
    "lr": 0.1,
    "momentum": 0.0,
    "weight_decay": 0.01,
    "schedule": "constant",
    "clip_norm": 0.0,
    "l2": 0.0,
    "epochs": 20,
    "batch_size": 32,
    "validation": 0.0,
    "drop_rate": 0.0,
    "patience": 0,
    "monitor": "val_loss",
    "seed": 0,
    "dtype": "float32",
}
"""Every configuration key with its default. ``hidden`` lists the hidden layer sizes; the input and output sizes
come from the data. ``output``/``loss`` ``"auto"``: softmax with cross-entropy for several classes, a sigmoid unit
with binary cross-entropy for two, identity with mean squared error for regression targets. ``standardize``
``"auto"`` standardises (with training statistics) unless every feature already lies in [0, 1]. ``schedule`` is a
schedule name whose learning rate comes from ``lr``: ``"constant"``, ``"cosine"`` (over the whole run),
``"step_decay:<every>,<factor>"`` or ``"exponential:<rate>"`` per epoch. ``validation`` is a held-out fraction
of the training part (0 for none); ``patience`` > 0 turns on early stopping on ``monitor``."""

_TYPES = {
    "data": str,
    "test_fraction": float,
    "standardize": (bool, str),
    "hidden": list,
    "activation": (str, list),
    "output": str,
    "loss": str,
    "init": str,
    "bias_init": str,
    "optimizer": str,
    "lr": float,
    "momentum": float,
    "weight_decay": float,
    "schedule": str,
    "clip_norm": float,
    "l2": float,
    "epochs": int,
    "batch_size": int,
    "validation": float,
    "drop_rate": float,
    "patience": int,
    "monitor": str,
    "seed": int,
    "dtype": str,
}


def _type_name(kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({int: "an int", float: "a number", str: "a string", bool: "true/false", list: "a list"}[k] for k in kinds)


def check_config(config):
    """The full configuration: ``config`` over :data:`DEFAULTS`, every key known and every value of its type."""
    if not isinstance(config, dict):
        raise FnnInputError(f"An experiment configuration must be a dict (a TOML table); got {type(config).__name__}.")
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise FnnInputError(f"Unknown configuration key(s) {unknown}. Known keys: {', '.join(sorted(DEFAULTS))}.")
    full = {**DEFAULTS, **config}
    for key, value in config.items():
        kind = _TYPES[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            full[key], ok = float(value), True
        if not ok:
            raise FnnInputError(
                f"The configuration key {key!r} must be {_type_name(kind)}; got {value!r} ({type(value).__name__})."
            )
    if not all(isinstance(size, int) and not isinstance(size, bool) and size > 0 for size in full["hidden"]):
        raise FnnInputError(f"The configuration key 'hidden' must list positive ints; got {full['hidden']!r}.")
    for key in ("epochs", "batch_size", "seed", "patience"):
        if full[key] < (1 if key in ("epochs", "batch_size") else 0):
            raise FnnInputError(f"The configuration key {key!r} must be at least {1 if key in ('epochs', 'batch_size') else 0}; got {full[key]}.")
    return full


def build_spec(config, n_features, n_classes, n_targets=1):
    """The :class:`NetworkSpec` of a configuration for data with ``n_features`` inputs and ``n_classes`` classes
    (0 for regression with ``n_targets`` target columns)."""
    if n_classes == 0:
        n_outputs, output, loss = n_targets, "identity", "mse"
    elif n_classes == 2 and config["output"] in ("auto", "sigmoid"):
        n_outputs, output, loss = 1, "sigmoid", "binary_cross_entropy"
    else:
        n_outputs, output, loss = n_classes, "softmax", "cross_entropy"
    output = output if config["output"] == "auto" else config["output"]
    loss = loss if config["loss"] == "auto" else config["loss"]
    if n_classes and loss in ("mse", "quadratic") and config["output"] == "auto":
        output = "sigmoid"
    sizes = [n_features, *config["hidden"], n_outputs]
    activation = config["activation"]
    activations = list(activation) if isinstance(activation, list) else [activation] * (len(sizes) - 2) + [output]
    if isinstance(activation, list) and len(activations) == len(sizes) - 2:
        activations.append(output)
    return network(sizes, activation=activations, loss=loss, init=config["init"], bias_init=config["bias_init"])


def build_optimizer(config, steps_per_epoch):
    """The optimiser chain of a configuration: optional L2 penalty and clipping, then the optimiser itself."""
    name, lr = config["optimizer"], _learning_rate(config, steps_per_epoch)
    hyper = {"lr": lr}
    if name == "sgd" and config["momentum"]:
        hyper["momentum"] = config["momentum"]
    if name in ("momentum", "nesterov") and config["momentum"]:
        hyper["beta"] = config["momentum"]
    if name == "adamw":
        hyper["weight_decay"] = config["weight_decay"]
    parts = []
    if config["l2"]:
        parts.append(add_l2(config["l2"]))
    if config["clip_norm"]:
        parts.append(clip_by_global_norm(config["clip_norm"]))
    parts.append(get_optimizer(name, **hyper))
    return parts[0] if len(parts) == 1 else chain(*parts)


def _learning_rate(config, steps_per_epoch):
    lr, name = config["lr"], config["schedule"]
    kind, _, arguments = name.partition(":")
    numbers = [float(a) for a in arguments.split(",")] if arguments else []
    if kind == "constant":
        return lr
    if kind == "cosine":
        return cosine(lr, total_steps=config["epochs"] * steps_per_epoch)
    if kind == "step_decay":
        every, factor = (numbers + [10, 0.1][len(numbers):])[:2]
        return step_decay(lr, every=int(every) * steps_per_epoch, factor=factor)
    if kind == "exponential":
        rate = numbers[0] if numbers else 0.9
        return exponential(lr, decay_rate=rate, decay_steps=steps_per_epoch)
    raise FnnInputError(
        f"Unknown schedule {name!r} in the configuration. Known schedules: constant, cosine, step_decay, exponential."
    )


@frozen
class Prepared:
    """What a configuration resolves to before training: data parts, network, optimiser, initial params."""

    config: dict
    train: Dataset
    test: Dataset
    optimizer: object
    params: object
    standardizer: object = None


def _needs_standardizing(config, features):
    if isinstance(features, ScaledRows):  # images scaled to [0, 1] batch by batch
        return bool(config["standardize"] is True)
    if isinstance(config["standardize"], bool):
        return config["standardize"]
    if config["standardize"] != "auto":
        raise FnnInputError(f"The configuration key 'standardize' must be true, false or 'auto'; got {config['standardize']!r}.")
    return bool(features.min() < 0 or features.max() > 1)


def prepare_experiment(config, data=None, source=None):
    """Resolve a configuration: load the data (or split a ``source`` from :func:`fnn.data.sources.load_source`,
    or take ``data = (train, test)``), standardise, build network and optimiser."""
    config = check_config(config)
    if data is not None:
        train, test = data
    elif source is not None:
        train, test = split_source(source, config["data"], config["seed"], config["test_fraction"], config["dtype"])
    else:
        train, test = load_train_test(config["data"], config["seed"], config["test_fraction"], config["dtype"])
    stats = None
    if _needs_standardizing(config, train.features):
        stats = fit_standardizer(train.features)
        train = Dataset(standardize(train.features, stats), train.labels, train.class_names, train.name)
        test = Dataset(standardize(test.features, stats), test.labels, test.class_names, test.name)
    n_targets = 1 if train.labels.ndim == 1 else train.labels.shape[1]
    spec = build_spec(config, train.n_features, train.n_classes, n_targets)
    params = init_params(spec, seed=config["seed"], dtype=config["dtype"])
    steps = -(-len(train) * (1 - config["validation"]) // config["batch_size"])
    return Prepared(config, train, test, build_optimizer(config, int(steps)), params, stats)


def epoch_states(prepared, start=None, on_batch=None):
    """The lazy training states of the run, up to its configured number of epochs (fewer left when resuming
    from ``start``)."""
    config = prepared.config
    states = iterate_epochs(
        start if start is not None else prepared.params,
        prepared.train,
        optimizer=prepared.optimizer,
        batch_size=config["batch_size"],
        seed=None if start is not None else config["seed"],
        validation=config["validation"] or None,
        drop_rate=config["drop_rate"],
        on_batch=on_batch,
    )
    done = start.epoch if start is not None else 0
    return take(max(config["epochs"] - done, 0), states)


def finish_experiment(prepared, state, seconds):
    """Test metrics (and confusion matrix for a classifier) of the final state, and the run record."""
    metrics = evaluate(state.params, *prepared.test.as_tuple())
    if state.params.spec.is_classifier:
        predicted = predict_classes(state.params, prepared.test.features)
        classes = max(prepared.test.n_classes, 2)
        metrics["confusion_matrix"] = confusion_matrix(prepared.test.labels, predicted, classes).tolist()
    return run_record(prepared.config, state, metrics, seconds)


def run_experiment(config, data=None, on_epoch=None, source=None):
    """Run a configuration from start to end: ``(final_state, record)``. ``on_epoch(state)`` sees each epoch.

    With ``patience`` > 0 the run stops early and the best epoch's state is the final one.
    """
    started = time.perf_counter()
    prepared = prepare_experiment(config, data, source)
    states = epoch_states(prepared)
    if on_epoch is not None:
        states = (on_epoch(s) or s for s in states)
    if prepared.config["patience"]:
        state = early_stopping(states, prepared.config["patience"], prepared.config["monitor"])[0]
    else:
        state = None
        for state in states:
            pass
    return state, finish_experiment(prepared, state, time.perf_counter() - started)


def params_sha256(params):
    """SHA-256 of a network's architecture and the exact bytes (with dtype and shape) of its parameters."""
    digest = hashlib.sha256(json.dumps(params.spec.to_config(), sort_keys=True).encode())
    for array in params.arrays():
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def environment():
    """Versions and the BLAS numpy uses: what a rerun must match for bit-identical results."""
    from . import __version__

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
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def run_record(config, state, metrics, seconds):
    """The JSON-ready record of a finished run."""
    return {
        "config": config,
        "seed": config["seed"],
        "environment": environment(),
        "history": state.history.to_dicts(),
        "epochs_run": state.epoch,
        "final_metrics": metrics,
        "wall_seconds": seconds,
        "params_sha256": params_sha256(state.params),
    }
