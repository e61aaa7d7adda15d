"""Stochastic gradient descent, with optional heavy-ball or Nesterov momentum (PyTorch's ``torch.optim.SGD``
rule, without dampening).

.. math::  b_t = \\mu b_{t-1} + g_t, \\qquad u_t = -\\eta_t\\, b_t \\quad(\\text{Nesterov: } u_t = -\\eta_t (g_t + \\mu b_t))

with :math:`b_0 = 0`; plain SGD is :math:`u_t = -\\eta_t g_t`.
"""

from attrs import frozen

from fnn.core.params import Params
from fnn.errors import bad_argument
from fnn.optim.base import check_hyperparameter
from fnn.optim.elementwise import elementwise_optimizer
from fnn.optim.schedules import as_schedule

__all__ = ["SgdState", "MomentumState", "sgd", "momentum", "nesterov"]


@frozen
class SgdState:
    """``count``: updates taken so far (the schedule's step)."""

    count: int = 0


@frozen(hash=False)
class MomentumState:
    """``count`` and the momentum buffer ``velocity``, shaped like the params."""

    count: int
    velocity: Params


def sgd(lr=0.01, momentum=0.0, nesterov=False):
    """SGD with learning rate ``lr`` (a number, schedule or schedule name) and optional ``momentum``."""
    schedule = as_schedule(lr, "sgd")
    mu = check_hyperparameter("optim.sgd", "momentum", momentum, at_most=1.0)
    if nesterov and mu == 0:
        raise bad_argument("optim.sgd", "momentum", "a positive number when nesterov=True", momentum)
    name = f"sgd(lr={schedule.name}" + (f", momentum={mu}" if mu else "") + (", nesterov" if nesterov else "") + ")"

    def plain(g, moments, p, lr):
        g *= -lr
        return g, []

    def heavy_ball(g, moments, p, lr):
        velocity = moments[0] * mu
        velocity += g
        if nesterov:
            g += mu * velocity
            g *= -lr
        else:
            g = velocity * -lr
        return g, [velocity]

    if mu == 0:
        return elementwise_optimizer(name, SgdState, plain, schedule, schedule)
    return elementwise_optimizer(name, MomentumState, heavy_ball, schedule, schedule)


def momentum(lr=0.01, beta=0.9):
    """SGD with heavy-ball momentum ``beta``."""
    return sgd(lr, momentum=beta)


def nesterov(lr=0.01, beta=0.9):
    """SGD with Nesterov momentum ``beta``."""
    return sgd(lr, momentum=beta, nesterov=True)
