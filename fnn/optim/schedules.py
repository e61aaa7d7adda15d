"""Learning-rate schedules: pure functions of the step number (0 for the first update).

One grammar everywhere (library, TOML ``schedule``, ``--schedule``): ``name:arg,arg,...``, the arguments being the
factory's own in order, with ``a+b`` for ``linear_warmup`` followed by ``b``. The library's
:func:`get_schedule` counts durations in steps and reads the learning rate as the first argument; a run
configuration gives ``lr`` separately and counts durations in epochs, which :func:`get_schedule` converts once
(``steps_per_unit``). The duration arguments of each schedule are listed in :data:`DURATIONS`.

>>> fnn.optim.cosine(0.1, total_steps=100)(50)
0.05
>>> fnn.optim.get_schedule("step_decay:0.1,10,0.5")(25)
0.025
>>> fnn.optim.get_schedule("step_decay:10,0.5", lr=0.1)(25) == fnn.optim.step_decay(0.1, 10, 0.5)(25)
True
>>> fnn.optim.get_schedule("step_decay:2,0.5", lr=0.1, steps_per_unit=5).name  # every 2 epochs of 5 steps
'step_decay:0.1,10,0.5'
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Union

from attrs import field, frozen

from fnn.errors import FnnInputError, bad_argument
from fnn.optim.base import check_hyperparameter
from fnn.registry import frozen_registry, lookup, with_arguments


@frozen
class Schedule:
    """A named function ``step -> learning rate``.

    >>> half = fnn.optim.Schedule("half", lambda step: 0.5)
    >>> half(3), fnn.optim.sgd(half).name
    (0.5, 'sgd(lr=half)')
    """

    name: str
    fn: Callable[[int], float] = field(eq=False, repr=False)

    def __call__(self, step: int) -> float:
        return self.fn(step)


LearningRate = Union[float, str, Schedule, Callable[[int], float]]
"""What an optimiser's ``lr`` may be: a number, a schedule, a schedule's name with arguments, or a function of the
step."""


def _rate(function, lr):
    return check_hyperparameter(f"optim.{function}", "lr", lr, positive=True)


def _count(function, name, value):
    value = check_hyperparameter(f"optim.{function}", name, value, positive=True)
    if value != int(value):
        raise bad_argument(f"optim.{function}", name, "a whole number", value)
    return int(value)


def constant(lr: float) -> Schedule:
    """The same rate at every step.

    >>> fnn.optim.constant(0.1)(1000)
    0.1
    """
    lr = _rate("constant", lr)
    return Schedule(with_arguments("constant", lr), lambda step: lr)


def step_decay(lr: float, every: int, factor: float = 0.1) -> Schedule:
    """``lr * factor ** (step // every)``: the rate drops by ``factor`` every ``every`` steps.

    >>> [fnn.optim.step_decay(1.0, every=2, factor=0.5)(step) for step in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    lr, every = _rate("step_decay", lr), _count("step_decay", "every", every)
    factor = check_hyperparameter("optim.step_decay", "factor", factor, positive=True)
    return Schedule(with_arguments("step_decay", lr, every, factor), lambda step: lr * factor ** (step // every))


def exponential(lr: float, decay_rate: float, decay_steps: int = 1) -> Schedule:
    """``lr * decay_rate ** (step / decay_steps)``: smooth exponential decay.

    >>> fnn.optim.exponential(1.0, 0.5, decay_steps=10)(20)
    0.25
    """
    lr = _rate("exponential", lr)
    decay_rate = check_hyperparameter("optim.exponential", "decay_rate", decay_rate, positive=True)
    decay_steps = _count("exponential", "decay_steps", decay_steps)
    return Schedule(
        with_arguments("exponential", lr, decay_rate, decay_steps),
        lambda step: lr * decay_rate ** (step / decay_steps),
    )


def cosine(lr: float, total_steps: int, final_lr: float = 0.0) -> Schedule:
    """Cosine decay from ``lr`` to ``final_lr`` over ``total_steps``, then ``final_lr``.

    >>> fnn.optim.cosine(0.1, total_steps=10)(0), fnn.optim.cosine(0.1, total_steps=10)(99)
    (0.1, 0.0)
    """
    lr, total = _rate("cosine", lr), _count("cosine", "total_steps", total_steps)
    final_lr = check_hyperparameter("optim.cosine", "final_lr", final_lr)

    def fn(step: int) -> float:
        progress = min(step, total) / total
        return final_lr + (lr - final_lr) * 0.5 * (1 + math.cos(math.pi * progress))

    return Schedule(with_arguments("cosine", lr, total, final_lr), fn)


def linear_warmup(lr: float, warmup_steps: int, then: LearningRate | None = None) -> Schedule:
    """Rise linearly from ``lr / warmup_steps`` to ``lr`` over ``warmup_steps``, then follow ``then`` (a schedule
    whose step count starts after the warm-up) or stay at ``lr``.

    >>> [fnn.optim.linear_warmup(1.0, warmup_steps=4)(step) for step in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    lr, warmup = _rate("linear_warmup", lr), _count("linear_warmup", "warmup_steps", warmup_steps)
    after = as_schedule(then, "linear_warmup", "then") if then is not None else constant(lr)

    def fn(step: int) -> float:
        return lr * (step + 1) / warmup if step < warmup else after(step - warmup)

    name = with_arguments("linear_warmup", lr, warmup) + ("" if then is None else f"+{after.name}")
    return Schedule(name, fn)


SCHEDULES = frozen_registry(
    {
        "constant": constant,
        "step_decay": step_decay,
        "exponential": exponential,
        "cosine": cosine,
        "linear_warmup": linear_warmup,
    }
)
"""Every built-in schedule by name (read-only); arguments follow a colon: ``"cosine:0.1,1000"``."""


DURATIONS = frozen_registry(
    {
        "constant": (),
        "step_decay": ("every",),
        "exponential": ("decay_steps",),
        "cosine": ("total_steps",),
        "linear_warmup": ("warmup_steps",),
    }
)
"""The arguments of each schedule that are durations: steps in the library, converted from epochs for a run."""


def get_schedule(
    value: str | Schedule,
    function: str = "optim.get_schedule",
    argument: str = "schedule",
    *,
    lr: float | None = None,
    steps_per_unit: int = 1,
    total_units: int | None = None,
) -> Schedule:
    """The :class:`Schedule` for a name with arguments such as ``"exponential:0.1,0.5,100"``.

    With ``lr`` given the text leaves the learning rate out (``"exponential:0.5,100"``). Durations (see
    :data:`DURATIONS`) are counted in units of ``steps_per_unit`` steps, defaults included; ``total_units``, the
    length of the run in those units, is what ``cosine`` decays over when its ``total_steps`` is left out.

    >>> fnn.optim.get_schedule("exponential:0.1,0.5,100")(200)
    0.025
    """
    if not isinstance(value, str):
        return lookup(SCHEDULES, value, Schedule, kind="schedule", function=function, argument=argument)
    first, plus, rest = value.partition("+")
    key, bound = _bound(first, value, function, argument, lr, steps_per_unit, total_units)
    if not plus:
        return _built(key, bound, value, function, argument)
    if key != "linear_warmup":
        raise FnnInputError(
            f"The schedule {value!r} given as {argument!r} to fnn.{function} joins schedules with '+', which only "
            f"linear_warmup takes (linear_warmup:WARMUP+then)."
        )
    warmup_units = bound.get("warmup_steps", 0) / steps_per_unit
    remaining = None if total_units is None else (total_units - warmup_units if total_units > warmup_units else None)
    then = get_schedule(rest, function, argument, lr=lr, steps_per_unit=steps_per_unit, total_units=remaining)
    return _built(key, {**bound, "then": then}, value, function, argument)


def _failed(whole, function, argument, error):
    return FnnInputError(f"The schedule {whole!r} given as {argument!r} to fnn.{function} has arguments that do not fit: {error}")


def _bound(text, whole, function, argument, lr, steps_per_unit, total_units):
    """``(name, keyword arguments)`` of one ``name:args`` term, its durations converted to steps."""
    name, _, argument_text = text.partition(":")
    key = name.strip().lower()
    factory = SCHEDULES.get(key)
    if factory is None:
        raise FnnInputError(
            f"Unknown schedule {whole!r} for the {argument!r} argument of fnn.{function}. "
            f"Known schedules: {', '.join(sorted(SCHEDULES))}."
        )
    try:
        numbers = [float(part) for part in argument_text.split(",")] if argument_text.strip() else []
    except ValueError as error:
        raise _failed(whole, function, argument, error) from None
    parameters = {n: p.default for n, p in inspect.signature(factory).parameters.items() if n != "then"}
    names = list(parameters)
    if lr is not None:
        numbers = [lr, *numbers]
    if len(numbers) > len(names):
        taken = ", ".join(names[lr is not None :])
        raise _failed(whole, function, argument, f"{key} takes at most {len(names) - (lr is not None)} ({taken})")
    bound = dict(zip(names, numbers))
    for duration in DURATIONS[key]:
        given = bound.get(duration, parameters[duration])
        if given is inspect.Parameter.empty and key == "cosine" and total_units is not None:
            given = total_units  # a cosine over the whole run
        if given is not inspect.Parameter.empty:
            steps = given * steps_per_unit
            bound[duration] = round(steps) if math.isclose(steps, round(steps), rel_tol=1e-12) else steps
    return key, bound


def _built(key, bound, whole, function, argument):
    try:
        return SCHEDULES[key](**bound)
    except TypeError as error:
        if isinstance(error, FnnInputError):
            raise
        raise _failed(whole, function, argument, error) from None


def as_schedule(value: LearningRate, function: str, argument: str = "lr") -> Schedule:
    """A schedule from a number (constant), a :class:`Schedule`, a name, or any callable of the step.

    >>> fnn.optim.as_schedule(0.1, "optim.sgd").name, fnn.optim.as_schedule("cosine:0.1,10", "optim.sgd")(10)
    ('constant:0.1', 0.0)
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        return get_schedule(value, f"optim.{function}", argument)
    if callable(value):
        return Schedule(getattr(value, "__name__", "custom"), value)
    return constant(check_hyperparameter(f"optim.{function}", argument, value, positive=True))
