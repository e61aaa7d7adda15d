"""Stochastic gradient descent, with optional heavy-ball or Nesterov momentum (PyTorch's ``torch.optim.SGD``
rule, without dampening).

.. math::  b_t = \\mu b_{t-1} + g_t, \\qquad u_t = -\\eta_t\\, b_t \\quad(\\text{Nesterov: } u_t = -\\eta_t (g_t + \\mu b_t))

with :math:`b_0 = 0`; plain SGD is :math:`u_t = -\\eta_t g_t`.
"""

from attrs import frozen

from ..errors import FnnInputError, bad_argument
from ..params import Params, map_arrays, map_arrays_n
from .base import Optimizer, check_hyperparameter, check_state_fits, zeros_like_params
from .schedules import as_schedule

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


def _check_state(state, state_type, function):
    if not isinstance(state, state_type):
        raise FnnInputError(
            f"fnn.optim.{function} was given a {type(state).__name__} state; it needs the {state_type.__name__} "
            f"from its own init."
        )


def sgd(lr=0.01, momentum=0.0, nesterov=False):
    """SGD with learning rate ``lr`` (a number, schedule or schedule name) and optional ``momentum``."""
    schedule = as_schedule(lr, "sgd")
    mu = check_hyperparameter("optim.sgd", "momentum", momentum, at_most=1.0)
    if nesterov and mu == 0:
        raise bad_argument("optim.sgd", "momentum", "a positive number when nesterov=True", momentum)
    name = f"sgd(lr={schedule.name}" + (f", momentum={mu}" if mu else "") + (", nesterov" if nesterov else "") + ")"

    if mu == 0:

        def init(params):
            return SgdState(0)

        def update(grads, state, params):
            _check_state(state, SgdState, "sgd")
            rate = schedule(state.count)
            return map_arrays(lambda g: g * -rate, grads), SgdState(state.count + 1)

        return Optimizer(init, update, name, lambda state: schedule(state.count))

    def init(params):
        return MomentumState(0, zeros_like_params(params))

    def step(g, buffer, rate):
        velocity = buffer * mu
        velocity += g
        direction = g + mu * velocity if nesterov else velocity
        return direction * -rate, velocity

    def update(grads, state, params):
        _check_state(state, MomentumState, "sgd")
        check_state_fits("optim.sgd", state.velocity, grads)
        rate = schedule(state.count)
        updates, velocity = map_arrays_n(lambda g, b: step(g, b, rate), 2, grads, state.velocity)
        return updates, MomentumState(state.count + 1, velocity)

    return Optimizer(init, update, name, lambda state: schedule(state.count))


def momentum(lr=0.01, beta=0.9):
    """SGD with heavy-ball momentum ``beta``."""
    return sgd(lr, momentum=beta)


def nesterov(lr=0.01, beta=0.9):
    """SGD with Nesterov momentum ``beta``."""
    return sgd(lr, momentum=beta, nesterov=True)
