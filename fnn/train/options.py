"""How ``fit`` and ``iterate_epochs`` train, as one frozen record: the keyword arguments are written once, here,
and each is checked by the same check as the run setting of its name (:data:`TRAINING_CHECKS`, which
:mod:`fnn.run.settings` uses for ``fnn train``'s flags, TOML keys, sweep grids and the estimators' parameters).

``fnn.fit(start, data, epochs=5, lr=0.1, batch_size=16)`` and ``fnn.fit(start, data, epochs=5, options=opts)`` with
``opts = train_options(lr=0.1, batch_size=16)`` are the same call.

>>> opts = train_options(optimizer="adam", batch_size=64)
>>> opts.batch_size, opts.optimizer.name
(64, 'adam(lr=constant:0.001, b1=0.9, b2=0.999)')
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from attrs import field, frozen

from fnn.core.scores import METRICS, Metric, get_metrics, greater_is_better
from fnn.data.dataset import Dataset
from fnn.errors import FnnInputError, bad_argument, unknown_name
from fnn.limits import MAX_BATCH_SIZE
from fnn.optim import (
    DURATIONS,
    OPTIMIZERS,
    Optimizer,
    add_l2,
    chain,
    clip_by_global_norm,
    get_optimizer,
    get_schedule,
)
from fnn.values import BadValue, bool_check, choice_check, from_numpy, number_check, optional_check, seeds_check

MAX_EPOCHS = 10**7
"""The most epochs one call may ask for. Beyond it the number is a typo (``1e9`` for ``1e2``): even at a
millisecond an epoch it would run for months, so it is refused instead of looking like a hang."""

MONITORS = ("loss", "accuracy", "r2", "val_loss", "val_accuracy", "val_r2")
"""The metrics every run records, which early stopping can watch (and ``val_NAME``/``NAME`` of a chosen metric)."""


def _monitor_check(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower().removeprefix("val_") in METRICS:
        return value.strip().lower()
    try:
        return choice_check(MONITORS)(value)
    except BadValue:
        raise BadValue("one of " + ", ".join(MONITORS) + ", or val_NAME of a metric: " + ", ".join(METRICS)) from None


MAX_THREADS = 1024
"""The most BLAS threads a run may ask for (more is a typo, not a machine)."""

SCHEDULE_WORDS = ("a schedule NAME:ARGS, durations in whole epochs: constant, step_decay:EVERY,FACTOR, "
                  "exponential:RATE[,EVERY], cosine[:EPOCHS,FINAL_LR], linear_warmup:EPOCHS[+SCHEDULE]")


def _schedule_check(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadValue(SCHEDULE_WORDS)
    try:  # the grammar and its arguments; the run's length and steps apply when the optimiser is built
        get_schedule(value, "fit", "schedule", lr=1.0, total_units=MAX_EPOCHS)
    except FnnInputError as error:
        text = str(error)
        detail = (f"; its {error.argument!r} must be {error.expected}" if error.argument is not None
                  else "; " + text.partition("do not fit: ")[2] if "do not fit: " in text else "")
        raise BadValue(SCHEDULE_WORDS + detail) from None
    return value


def _class_weight_check(value: Any) -> str:
    """``balanced``, or class weights as ``0:1,1:5`` or a mapping (keys ints or their text): that canonical text."""
    if isinstance(value, str) and value.strip().lower() == "balanced":
        return "balanced"
    try:
        pairs = dict(part.split(":") for part in value.split(",")) if isinstance(value, str) else dict(value)
        weights = {int(str(k).strip()): float(v) for k, v in pairs.items()}
    except (TypeError, ValueError):
        raise BadValue("balanced, or class:weight pairs such as 0:1,1:5") from None
    if not weights or any(k < 0 or not math.isfinite(w) or w < 0 for k, w in weights.items()):
        raise BadValue("balanced, or class:weight pairs with classes >= 0 and finite weights >= 0, such as 0:1,1:5")
    return ",".join(f"{k}:{weights[k]!r}" for k in sorted(weights))


def class_weight_of(text: str | None) -> str | dict[int, float] | None:
    """A checked ``class_weight`` text as training weighs by it: ``"balanced"`` or a mapping class -> weight.

    >>> class_weight_of("0:1.0,1:5.0"), class_weight_of("balanced")
    ({0: 1.0, 1: 5.0}, 'balanced')
    """
    if text is None or text == "balanced":
        return text
    return {int(k): float(v) for k, v in (part.split(":") for part in text.split(","))}


def _metric_names(value: Any) -> tuple[str, ...]:
    names = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
    if (not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n.strip().lower() in METRICS for n in names)
            or len({n.strip().lower() for n in names}) != len(names)):
        raise BadValue("metric names, each once, comma-separated such as f1_macro,roc_auc (known: " + ", ".join(METRICS) + ")")
    return tuple(n.strip().lower() for n in names)


def _dtype_check(value: Any) -> str:
    """float32 or float64, by name (any case) or as numpy spells it in code (``np.float64``, ``np.dtype("f4")``)."""
    if isinstance(value, (type, np.dtype)):
        try:
            value = np.dtype(value).name
        except TypeError:
            pass  # refused below, as any other value
    return choice_check(("float32", "float64"))(value)


TRAINING_CHECKS: dict[str, Callable[[Any], Any]] = {name: from_numpy(check) for name, check in {
    "optimizer": choice_check(tuple(OPTIMIZERS)),
    "lr": number_check(low=0, low_open=True),
    "momentum": optional_check(number_check(low=0, high=1)),
    "weight_decay": number_check(low=0),
    "schedule": _schedule_check,
    "clip_norm": number_check(low=0),
    "l2": number_check(low=0),
    "epochs": number_check(low=1, high=MAX_EPOCHS, whole=True),
    "batch_size": number_check(low=1, high=MAX_BATCH_SIZE, whole=True),
    "validation": number_check(low=0, high=1, high_open=True),
    "drop_rate": number_check(low=0, high=1, high_open=True),
    "patience": number_check(low=0, whole=True),
    "monitor": _monitor_check,
    "class_weight": optional_check(_class_weight_check),
    "metrics": _metric_names,
    "train_metrics": bool_check,
    "diagnostics": bool_check,
    "seed": number_check(low=0, whole=True),
    "dtype": _dtype_check,
    "threads": optional_check(number_check(low=1, high=MAX_THREADS, whole=True)),
}.items()}
"""The one check of each training setting, by the setting's name: :mod:`fnn.run.settings` uses it for ``fnn
train``'s flags, TOML keys, sweep grids and the estimators' parameters, and :func:`~fnn.train.loop.fit` for its
keyword of that name. Where ``fit`` takes more, it says so: its ``epochs`` counts the epochs of one call and may be
0 (``fnn train --epochs`` is the run's total); its ``lr`` may also be a :mod:`fnn.optim` schedule record, its
``drop_rate`` one rate per hidden layer, its ``validation`` data, its ``metrics`` :class:`~fnn.core.scores.Metric`
records."""

SEEDS_CHECK = seeds_check(TRAINING_CHECKS["seed"])
"""The one check of a list of seeds, each a ``seed``: ``fnn.fit_seeds``' ``seeds``, a sweep's (argument, flag, TOML)."""

ELSEWHERE: dict[str, str] = {
    "data": "its second argument (a fnn.Dataset or (x, y), e.g. fnn.data.iris())",
    "label": "the data (fnn.data.load_csv(path, label=...))",
    "drop": "the data (fnn.data.load_csv(path, drop=...))",
    "test_fraction": "the data (split it with fnn.data.stratified_split)",
    "task": "the network (fnn.network(..., output='identity') for a regression)",
    "standardize": "the data (fnn.data.fit_standardizer and fnn.data.standardize)",
    "hidden": "fnn.network(sizes), the network of the params fit starts from",
    "activation": "fnn.network(sizes, activation=...)",
    "output": "fnn.network(sizes, output=...)",
    "loss": "fnn.network(sizes, loss=...)",
    "init": "fnn.network(sizes, init=...)",
    "bias_init": "fnn.network(sizes, bias_init=...)",
    "tensorboard": "an observer of fnn.iterate_epochs' states (fnn.observe.tensorboard.TensorBoardLog)",
    "keep_checkpoints": "an observer of fnn.iterate_epochs' states (fnn.save_checkpoint)",
}
"""Where each run setting that is not about training goes in Python: ``fit`` refuses it naming the place."""

FIT_KEYWORDS = tuple(name for name in TRAINING_CHECKS if name != "epochs") + ("shuffle", "sample_weight")
"""The keyword arguments that say how ``fit`` trains: every training setting of the run's table by its name
(``epochs`` is fit's own argument), ``shuffle``, and ``sample_weight`` (the weights themselves, where a run's
``sample_weight`` names a CSV column)."""


def check_keywords(function: str, keywords: Iterable[str]) -> None:
    """Refuse a keyword that is not one of :data:`FIT_KEYWORDS`: a run setting that belongs elsewhere names its
    place, any other word gets the closest keyword.

    >>> check_keywords("fit", ["lr", "hidden"])
    Traceback (most recent call last):
    ...
    fnn.errors.FnnInputError: hidden is not a keyword of fnn.fit: it goes to fnn.network(sizes), the network of the params fit starts from.
    """
    for key in keywords:
        if key in ELSEWHERE:
            raise FnnInputError(f"{key} is not a keyword of fnn.{function}: it goes to {ELSEWHERE[key]}.")
        if key not in FIT_KEYWORDS:
            raise unknown_name(f"keyword of fnn.{function}", key, ("epochs", *FIT_KEYWORDS))


def _checked(function: str, name: str, value: Any) -> Any:
    try:
        return TRAINING_CHECKS[name](value)
    except BadValue as expected:
        raise bad_argument(function, name, str(expected), value) from None


@frozen
class TrainOptions:
    """The settings of a training call; build it with :func:`train_options`, which checks them."""

    optimizer: Optimizer
    batch_size: int = 32
    seed: int | None = None
    validation: Any = None
    drop_rate: float | Sequence[float] = 0.0
    shuffle: bool = True
    patience: int | None = None
    monitor: str = "val_loss"
    diagnostics: bool = False
    sample_weight: np.ndarray | None = field(default=None, eq=False, repr=False)
    class_weight: str | Mapping[int, float] | None = None
    metrics: tuple[Metric, ...] = ()
    train_metrics: bool = False
    dtype: str | None = None
    """What training computes in: the start params are converted to it (None: the start params' own dtype)."""
    threads: int | None = None
    """BLAS threads while training (None: the process's)."""


_SGD_FAMILY = ("sgd", "momentum", "nesterov")


def _own_lr(name: str) -> float:
    """The learning rate of optimiser ``name`` when given none."""
    return float(inspect.signature(OPTIMIZERS[name]).parameters["lr"].default)


def resolve_optimizer(
    optimizer: str | Optimizer | None = None,
    lr: Any = None,
    function: str = "fit",
    *,
    momentum: Any = None,
    weight_decay: Any = None,
    schedule: Any = None,
    clip_norm: Any = None,
    l2: Any = None,
    steps_per_epoch: int | None = None,
    epochs: int | None = None,
) -> Optimizer:
    """The optimiser of a run and of ``fit``, from the settings of those names: an L2 penalty and gradient clipping
    (0 or None: off) chained before ``optimizer`` (a name, or a :mod:`fnn.optim` record given whole; None:
    SGD), its learning rate ``lr`` (if None: 0.1 for SGD, as a run's, else the optimiser's own) scheduled by ``schedule``, whose durations
    in epochs become steps of ``steps_per_epoch`` per epoch (``cosine`` decays over ``epochs``); ``momentum`` for
    the SGD family, ``weight_decay`` for adamw. Each value is checked as the run setting of its name.

    >>> resolve_optimizer("momentum", 0.1, momentum=0.5, clip_norm=1.0).name
    'chain(clip_by_global_norm(1.0), sgd(lr=constant:0.1, momentum=0.5))'
    >>> resolve_optimizer(lr="0.5", schedule="step_decay:2,0.1", steps_per_epoch=10).name  # every 2 epochs of 10 steps
    'sgd(lr=step_decay:0.5,20,0.1)'
    """
    given = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "schedule": schedule, "clip_norm": clip_norm, "l2": l2}
    if isinstance(optimizer, Optimizer):
        for name, value in given.items():
            if value is not None:
                raise bad_argument(function, name, "None when an optimizer record is given (build the record with it)", value)
        return optimizer
    name = "sgd" if optimizer is None else _checked(function, "optimizer", optimizer)
    if callable(lr):  # a schedule record, or any function of the step
        if schedule is not None:
            raise bad_argument(function, "schedule", "None when lr is a schedule", schedule)
        hyper: dict[str, Any] = {"lr": lr}
    else:
        rate = _checked(function, "lr", lr) if lr is not None else 0.1 if name == "sgd" else None  # a run's default
        hyper = {} if rate is None else {"lr": rate}  # None: the optimiser's own
    if schedule is not None:
        timed = any(DURATIONS.get(term.partition(":")[0].strip().lower()) for term in str(schedule).split("+"))
        if steps_per_epoch is None and timed:
            raise bad_argument(function, "schedule", "given with steps_per_epoch (fnn.fit counts them from its data)", schedule)
        hyper["lr"] = get_schedule(_checked(function, "schedule", schedule), function, "schedule",
                                   lr=hyper.get("lr", _own_lr(name)), steps_per_unit=steps_per_epoch or 1, total_units=epochs)
    for setting, value, applies in (("momentum", momentum, _SGD_FAMILY), ("weight_decay", weight_decay, ("adamw",))):
        if value is None:
            continue
        checked = _checked(function, setting, value)
        if name not in applies:
            raise bad_argument(function, setting, f"None for the optimizer {name!r} (it applies to {', '.join(applies)})", value)
        hyper["beta" if setting == "momentum" and name != "sgd" else setting] = checked
    parts = []
    if l2 is not None and _checked(function, "l2", l2):
        parts.append(add_l2(_checked(function, "l2", l2)))
    if clip_norm is not None and _checked(function, "clip_norm", clip_norm):
        parts.append(clip_by_global_norm(_checked(function, "clip_norm", clip_norm)))
    parts.append(get_optimizer(name, **hyper))
    return parts[0] if len(parts) == 1 else chain(*parts)


def _validation(function: str, validation: Any) -> Any:
    """Validation data as given, or a checked fraction (0: none)."""
    if validation is None or isinstance(validation, (Dataset, tuple, list)):
        return validation
    return _checked(function, "validation", validation) or None


def _metrics(function: str, metrics: Any) -> tuple[Metric, ...]:
    """Metric names checked as the run setting ``metrics``; records (or a list holding one) as they are."""
    if metrics is None:
        return ()
    records = metrics if isinstance(metrics, (list, tuple)) else [metrics]
    if any(isinstance(m, Metric) or callable(m) for m in records):
        return get_metrics(metrics, function)
    return get_metrics(_checked(function, "metrics", metrics), function)


def unwatched(monitor: str, metrics: Sequence[str], train_metrics: bool, validated: bool = True) -> str | None:
    """Why early stopping cannot watch ``monitor`` in a run computing ``metrics`` (also on the training data with
    ``train_metrics``; a validation part held out when ``validated``), or None if it can. The one check of every
    door: ``fit``, the run's settings and the estimators.

    >>> unwatched("val_f1_macro", (), False)
    "watches the metric 'f1_macro', which this run does not compute; add it to metrics"
    >>> unwatched("val_loss", (), False, validated=False)
    "watches a validation metric, but this run holds out no validation part; give validation > 0 or monitor 'loss'"
    """
    watched = monitor.removeprefix("val_")
    if watched not in ("loss", "accuracy", "r2") and watched not in metrics:
        return f"watches the metric {watched!r}, which this run does not compute; add it to metrics"
    if watched in metrics and watched == monitor and not train_metrics:
        return f"watches a training metric, which this run computes only with train_metrics; or watch 'val_{watched}'"
    if monitor.startswith("val_") and not validated:
        return "watches a validation metric, but this run holds out no validation part; give validation > 0 or monitor 'loss'"
    return None


def train_options(
    function: str = "fit",
    *,
    optimizer: str | Optimizer | None = None,
    lr: Any = None,
    momentum: Any = None,
    weight_decay: Any = None,
    schedule: Any = None,
    clip_norm: Any = None,
    l2: Any = None,
    batch_size: Any = 32,
    seed: Any = None,
    validation: Any = None,
    drop_rate: Any = 0.0,
    shuffle: bool = True,
    patience: Any = None,
    monitor: Any = "val_loss",
    diagnostics: Any = False,
    sample_weight: Any = None,
    class_weight: Any = None,
    metrics: Iterable[Metric | str] | str | None = None,
    train_metrics: Any = False,
    dtype: Any = None,
    threads: Any = None,
    steps_per_epoch: int | None = None,
    epochs: int | None = None,
) -> TrainOptions:
    """Checked :class:`TrainOptions`, each value checked as the run setting of its name (:data:`TRAINING_CHECKS`;
    text such as ``"0.1"`` is that number, as on the command line). The optimiser is :func:`resolve_optimizer`'s
    of ``optimizer``, ``lr``, ``momentum``, ``weight_decay``, ``schedule`` (durations in epochs of
    ``steps_per_epoch`` steps, which ``fit`` counts from its data; ``cosine`` lasts ``epochs``), ``clip_norm`` and
    ``l2``. ``validation`` is a ``Dataset``, ``(x, y)`` or a fraction of the training data to hold out (none by
    default, where ``fnn train`` holds out 0.1); ``drop_rate`` one rate or one per hidden layer; ``patience``
    (None or 0: off) and ``monitor`` early stopping; ``seed`` (None: 0, or a resumed state's own).
    ``diagnostics`` records per-epoch diagnostics in the history. ``sample_weight`` (one number per training
    sample) and ``class_weight`` (``"balanced"``, ``"0:1,1:5"`` or a mapping class -> weight) weigh the loss;
    ``metrics`` (names or :class:`~fnn.core.scores.Metric` records) are computed on the validation data each
    epoch, and on the training data too with ``train_metrics``. ``dtype`` is what training computes in (None: the
    start params' own); ``threads`` the BLAS threads while training (None: the process's). ``function`` names the
    caller in error messages."""
    batch = _checked(function, "batch_size", batch_size)
    stop = None if patience is None else _checked(function, "patience", patience) or None  # 0: off
    if seed is not None:
        seed = _checked(function, "seed", seed)
    if isinstance(drop_rate, (list, tuple)) or np.ndim(drop_rate) == 1:  # one rate per hidden layer: each a rate
        drop_rate = tuple(_checked(function, "drop_rate", rate) for rate in drop_rate)
    else:
        drop_rate = _checked(function, "drop_rate", drop_rate)
    chosen = _metrics(function, metrics)
    own = isinstance(monitor, str) and monitor.removeprefix("val_") in {metric.name for metric in chosen}
    watched = monitor if own else _checked(function, "monitor", monitor)  # a user's metric keeps its own name
    greater_is_better(watched, chosen)  # a name it cannot rank on is refused now, not after the first epoch
    validation = _validation(function, validation)
    learn = _checked(function, "train_metrics", train_metrics)
    # what it watches is checked whether early stopping is on or not, as at every door; the hold-out only when on
    why = unwatched(watched, [metric.name for metric in chosen], learn, validated=stop is None or validation is not None)
    if why is not None:
        raise FnnInputError(f"The 'monitor' argument of fnn.{function} {watched!r} {why}.")
    optimizer = resolve_optimizer(optimizer, lr, function, momentum=momentum, weight_decay=weight_decay, schedule=schedule,
                                  clip_norm=clip_norm, l2=l2, steps_per_epoch=steps_per_epoch, epochs=epochs)
    weights = class_weight_of(_checked(function, "class_weight", class_weight))
    try:  # a switch of fit's own, checked as the settings' switches are ("no" is off)
        shuffled = bool_check(shuffle)
    except BadValue as expected:
        raise bad_argument(function, "shuffle", str(expected), shuffle) from None
    return TrainOptions(optimizer, batch, seed, validation, drop_rate, shuffled, stop, watched,
                        _checked(function, "diagnostics", diagnostics),
                        None if sample_weight is None else np.asarray(sample_weight), weights, chosen, learn,
                        None if dtype is None else _checked(function, "dtype", dtype), _checked(function, "threads", threads))


def check_epochs(function: str, epochs: Any, allow_none: bool = False) -> int | None:
    """``epochs`` as an int in ``[0, MAX_EPOCHS]`` (or None when ``allow_none``), given as the run setting
    ``epochs`` may be (an int, a numpy int or 0-d array, or its text).

    >>> check_epochs("fit", "5"), check_epochs("fit", np.int64(0)), check_epochs("fit", np.array(2))
    (5, 0, 2)
    """
    if epochs is None and allow_none:
        return None
    try:  # the run setting's check ("5" and np.int64(5) are 5, as for every other setting), from 0
        return int(from_numpy(number_check(low=0, high=MAX_EPOCHS, whole=True))(epochs))
    except BadValue:
        raise bad_argument(function, "epochs", f"an int from 0 to {MAX_EPOCHS}", epochs) from None
