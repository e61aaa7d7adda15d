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

import math
import numbers
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from attrs import field, frozen

from fnn.core.scores import METRICS, Metric, get_metrics, greater_is_better
from fnn.errors import bad_argument
from fnn.limits import MAX_BATCH_SIZE
from fnn.optim import OPTIMIZERS, Optimizer, get_optimizer, sgd

MAX_EPOCHS = 10**7
"""The most epochs one call may ask for. Beyond it the number is a typo (``1e9`` for ``1e2``): even at a
millisecond an epoch it would run for months, so it is refused instead of looking like a hang."""

MONITORS = ("loss", "accuracy", "r2", "val_loss", "val_accuracy", "val_r2")
"""The metrics every run records, which early stopping can watch (and ``val_NAME``/``NAME`` of a chosen metric)."""


class BadValue(Exception):
    """A value that does not fit a setting; its text is what was expected (``"an int >= 1"``)."""


def _number(value: Any, *, low: float | None, high: float | None, low_open: bool, high_open: bool, whole: bool) -> Any:
    kind = "an int" if whole else "a number"
    if isinstance(value, str):
        try:
            value = int(value) if whole else float(value)
        except ValueError:
            raise BadValue(kind) from None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral if whole else numbers.Real):
        raise BadValue(kind)
    value = operator.index(value) if isinstance(value, numbers.Integral) else float(value)
    if not math.isfinite(value):
        raise BadValue("a finite number")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "" if low is None else f"{'>' if low_open else '>='} {low}"
        right = "" if high is None else f"{'<' if high_open else '<='} {high}"
        raise BadValue(f"{kind} {' and '.join(p for p in (left, right) if p)}")
    return value if whole else float(value)


def number_check(*, low: float | None = None, high: float | None = None, low_open: bool = False,
                 high_open: bool = False, whole: bool = False) -> Callable[[Any], Any]:
    """A check of a number (an int when ``whole``) within bounds, given as a number or as command-line text;
    it returns the number as an int or a float and raises :class:`BadValue` naming what was expected.

    >>> number_check(low=1, whole=True)("16"), number_check(low=0, high=1, high_open=True)(0.5)
    (16, 0.5)
    """
    def check(value: Any) -> Any:
        return _number(value, low=low, high=high, low_open=low_open, high_open=high_open, whole=whole)
    return check


def bool_check(value: Any) -> bool:
    """True or False, also written as true/yes/on or false/no/off (any case)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    words = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    raise BadValue("true or false")


def choice_check(choices: Sequence[str]) -> Callable[[Any], str]:
    """A check of one name of ``choices`` (any case, spaces around ignored), returned in lower case."""
    def check(value: Any) -> str:
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise BadValue("one of " + ", ".join(choices))
        return value.strip().lower()
    return check


def _monitor_check(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower().removeprefix("val_") in METRICS:
        return value.strip().lower()
    try:
        return choice_check(MONITORS)(value)
    except BadValue:
        raise BadValue("one of " + ", ".join(MONITORS) + ", or val_NAME of a metric: " + ", ".join(METRICS)) from None


TRAINING_CHECKS: dict[str, Callable[[Any], Any]] = {
    "optimizer": choice_check(tuple(OPTIMIZERS)),
    "lr": number_check(low=0, low_open=True),
    "batch_size": number_check(low=1, high=MAX_BATCH_SIZE, whole=True),
    "epochs": number_check(low=1, high=MAX_EPOCHS, whole=True),
    "seed": number_check(low=0, whole=True),
    "drop_rate": number_check(low=0, high=1, high_open=True),
    "patience": number_check(low=0, whole=True),
    "monitor": _monitor_check,
    "diagnostics": bool_check,
    "train_metrics": bool_check,
}
"""The one check of each training setting that ``fit`` and ``fnn train`` share, by the setting's name. Where
``fit`` takes more, it says so: its ``epochs`` counts the epochs of one call and may be 0 (``fnn train --epochs``
is the run's total); its ``lr`` may also be a schedule or a schedule's name (a run's is the setting
``schedule``); its ``drop_rate`` may be one rate per hidden layer."""


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


def resolve_optimizer(optimizer: str | Optimizer | None, lr: Any, function: str = "fit") -> Optimizer:
    """The optimiser to train with: ``optimizer`` (a record or a name), or SGD with ``lr`` (0.1 if neither)."""
    if lr is not None and not callable(lr) and not isinstance(lr, str):  # a schedule (or its name) checks itself
        lr = _checked(function, "lr", lr)
    if optimizer is None:
        return sgd(0.1 if lr is None else lr)
    if not isinstance(optimizer, Optimizer):
        optimizer = _checked(function, "optimizer", optimizer)
    if lr is not None:
        if isinstance(optimizer, str):
            return get_optimizer(optimizer, lr=lr)
        raise bad_argument(function, "lr", "None when an optimizer object is given (set its own lr)", lr)
    if isinstance(optimizer, str):
        return get_optimizer(optimizer)
    return optimizer


def train_options(
    function: str = "fit",
    *,
    optimizer: str | Optimizer | None = None,
    lr: Any = None,
    batch_size: int = 32,
    seed: int | None = None,
    validation: Any = None,
    drop_rate: float | Sequence[float] = 0.0,
    shuffle: bool = True,
    patience: int | None = None,
    monitor: str = "val_loss",
    diagnostics: bool = False,
    sample_weight: Any = None,
    class_weight: str | Mapping[int, float] | None = None,
    metrics: Iterable[Metric | str] | str | None = None,
    train_metrics: bool = False,
) -> TrainOptions:
    """Checked :class:`TrainOptions`. ``optimizer`` is a :mod:`fnn.optim` optimiser or a name; with neither it is
    SGD with ``lr`` (0.1 by default). ``validation`` is a ``Dataset``, ``(x, y)`` or a fraction of the training
    data to hold out (none by default, where ``fnn train`` holds out 0.1); ``drop_rate`` one rate or one per hidden
    layer; ``patience`` (None or 0: off) and ``monitor`` early stopping; ``seed`` (None: 0, or a resumed state's
    own). ``diagnostics`` (a bool) records per-epoch diagnostics in the history. ``sample_weight`` (one number per
    training sample) and ``class_weight`` (``"balanced"`` or a mapping class -> weight) weigh the loss;
    ``metrics`` (names or :class:`~fnn.core.scores.Metric` records) are computed on the validation data each
    epoch, and on the training data too with ``train_metrics``. Each value is checked as the run setting of its
    name is (:data:`TRAINING_CHECKS`). ``function`` names the caller in error messages."""
    batch = _checked(function, "batch_size", batch_size)
    stop = None if patience is None else _checked(function, "patience", patience) or None  # 0: off
    if seed is not None:
        seed = _checked(function, "seed", seed)
    if isinstance(drop_rate, (list, tuple)):  # one rate per hidden layer: each a rate
        drop_rate = tuple(_checked(function, "drop_rate", rate) for rate in drop_rate)
    else:
        drop_rate = _checked(function, "drop_rate", drop_rate)
    chosen = get_metrics(metrics, function)
    own = isinstance(monitor, str) and monitor.removeprefix("val_") in {metric.name for metric in chosen}
    watched = monitor if own else _checked(function, "monitor", monitor)  # a user's metric keeps its own name
    greater_is_better(watched, chosen)  # a name it cannot rank on is refused now, not after the first epoch
    if class_weight is not None and not isinstance(class_weight, (str, Mapping)):
        raise bad_argument(function, "class_weight", "None, 'balanced' or a mapping class -> weight", class_weight)
    return TrainOptions(resolve_optimizer(optimizer, lr, function), batch, seed, validation, drop_rate,
                        bool(shuffle), stop, watched, _checked(function, "diagnostics", diagnostics),
                        None if sample_weight is None else np.asarray(sample_weight), class_weight, chosen,
                        _checked(function, "train_metrics", train_metrics))


def check_epochs(function: str, epochs: Any, allow_none: bool = False) -> int | None:
    """``epochs`` as an int in ``[0, MAX_EPOCHS]`` (or None when ``allow_none``)."""
    if epochs is None and allow_none:
        return None
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 0 <= epochs <= MAX_EPOCHS:
        raise bad_argument(function, "epochs", f"an int from 0 to {MAX_EPOCHS}", epochs)
    return int(epochs)
