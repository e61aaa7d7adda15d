"""Learning-rate schedules: pure functions of the step number (0 for the first update).

>>> fnn.optim.cosine(0.1, total_steps=100)(50)
0.05
>>> fnn.optim.get_schedule("step_decay:0.1,10,0.5")(25)
0.025
"""

import math

from attrs import field, frozen

from ..errors import bad_argument
from ..registry import frozen_registry, lookup, with_arguments
from .base import check_hyperparameter

__all__ = [
    "Schedule",
    "SCHEDULES",
    "get_schedule",
    "as_schedule",
    "constant",
    "step_decay",
    "exponential",
    "cosine",
    "linear_warmup",
]


@frozen
class Schedule:
    """A named function ``step -> learning rate``."""

    name: str
    fn: object = field(eq=False, repr=False)

    def __call__(self, step):
        return self.fn(step)


def _rate(function, lr):
    return check_hyperparameter(f"optim.{function}", "lr", lr, positive=True)


def _count(function, name, value):
    value = check_hyperparameter(f"optim.{function}", name, value, positive=True)
    if value != int(value):
        raise bad_argument(f"optim.{function}", name, "a whole number", value)
    return int(value)


def constant(lr):
    """The same rate at every step."""
    lr = _rate("constant", lr)
    return Schedule(with_arguments("constant", lr), lambda step: lr)


def step_decay(lr, every, factor=0.1):
    """``lr * factor ** (step // every)``: the rate drops by ``factor`` every ``every`` steps."""
    lr, every = _rate("step_decay", lr), _count("step_decay", "every", every)
    factor = check_hyperparameter("optim.step_decay", "factor", factor, positive=True)
    return Schedule(with_arguments("step_decay", lr, every, factor), lambda step: lr * factor ** (step // every))


def exponential(lr, decay_rate, decay_steps=1):
    """``lr * decay_rate ** (step / decay_steps)``: smooth exponential decay."""
    lr = _rate("exponential", lr)
    decay_rate = check_hyperparameter("optim.exponential", "decay_rate", decay_rate, positive=True)
    decay_steps = _count("exponential", "decay_steps", decay_steps)
    return Schedule(
        with_arguments("exponential", lr, decay_rate, decay_steps),
        lambda step: lr * decay_rate ** (step / decay_steps),
    )


def cosine(lr, total_steps, final_lr=0.0):
    """Cosine decay from ``lr`` to ``final_lr`` over ``total_steps``, then ``final_lr``."""
    lr, total = _rate("cosine", lr), _count("cosine", "total_steps", total_steps)
    final_lr = check_hyperparameter("optim.cosine", "final_lr", final_lr)

    def fn(step):
        progress = min(step, total) / total
        return final_lr + (lr - final_lr) * 0.5 * (1 + math.cos(math.pi * progress))

    return Schedule(with_arguments("cosine", lr, total, final_lr), fn)


def linear_warmup(lr, warmup_steps, then=None):
    """Rise linearly from ``lr / warmup_steps`` to ``lr`` over ``warmup_steps``, then follow ``then`` (a schedule
    whose step count starts after the warm-up) or stay at ``lr``."""
    lr, warmup = _rate("linear_warmup", lr), _count("linear_warmup", "warmup_steps", warmup_steps)
    after = as_schedule(then, "linear_warmup", "then") if then is not None else constant(lr)

    def fn(step):
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


def get_schedule(value, function="optim.get_schedule", argument="schedule"):
    """The :class:`Schedule` for a name with arguments such as ``"exponential:0.1,0.5,100"``."""
    return lookup(SCHEDULES, value, Schedule, kind="schedule", function=function, argument=argument)


def as_schedule(value, function, argument="lr"):
    """A schedule from a number (constant), a :class:`Schedule`, a name, or any callable of the step."""
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        return get_schedule(value, f"optim.{function}", argument)
    if callable(value):
        return Schedule(getattr(value, "__name__", "custom"), value)
    return constant(check_hyperparameter(f"optim.{function}", argument, value, positive=True))
