"""Stochastic gradient descent, with optional heavy-ball or Nesterov momentum (PyTorch's ``torch.optim.SGD``
rule, without dampening).

.. math::  b_t = \\mu b_{t-1} + g_t, \\qquad u_t = -\\eta_t\\, b_t \\quad(\\text{Nesterov: } u_t = -\\eta_t (g_t + \\mu b_t))

with :math:`b_0 = 0`; plain SGD is :math:`u_t = -\\eta_t g_t`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import frozen

from fnn.core.params import Params
from fnn.errors import bad_argument
from fnn.optim.base import Optimizer, check_hyperparameter
from fnn.optim.elementwise import elementwise_optimizer
from fnn.optim.schedules import LearningRate, as_schedule


@frozen
class SgdState:
    """``count``: updates taken so far (the schedule's step).

    >>> fnn.optim.sgd(0.1).init(fnn.init_params(fnn.network([1, 1], loss="mse"), seed=0))
    SgdState(count=0)
    """

    count: int = 0


@frozen(hash=False)
class MomentumState:
    """``count`` and the momentum buffer ``velocity``, shaped like the params.

    >>> state = fnn.optim.momentum(0.1).init(fnn.init_params(fnn.network([1, 1], loss="mse"), seed=0))
    >>> state.count, state.velocity.layers[0].w.tolist()
    (0, [[0.0]])
    """

    count: int
    velocity: Params


def sgd(lr: LearningRate = 0.01, momentum: float = 0.0, nesterov: bool = False) -> Optimizer:
    """SGD with learning rate ``lr`` (a number, schedule or schedule name) and optional ``momentum``.

    >>> opt = fnn.optim.sgd(0.5)
    >>> params = fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)
    >>> opt.update(fnn.map_arrays(np.ones_like, params), opt.init(params), params)[0].layers[0].b
    array([-0.5], dtype=float32)
    """
    schedule = as_schedule(lr, "sgd")
    mu = check_hyperparameter("optim.sgd", "momentum", momentum, at_most=1.0)
    if nesterov and mu == 0:
        raise bad_argument("optim.sgd", "momentum", "a positive number when nesterov=True", momentum)
    name = f"sgd(lr={schedule.name}" + (f", momentum={mu}" if mu else "") + (", nesterov" if nesterov else "") + ")"

    def plain(
        g: np.ndarray, moments: Sequence[np.ndarray], p: np.ndarray, lr: float, new: Sequence[np.ndarray], scratch: np.ndarray
    ) -> None:
        g *= -lr

    def heavy_ball(
        g: np.ndarray, moments: Sequence[np.ndarray], p: np.ndarray, lr: float, new: Sequence[np.ndarray], scratch: np.ndarray
    ) -> None:
        velocity = np.multiply(moments[0], mu, out=new[0])
        velocity += g
        if nesterov:
            g += np.multiply(velocity, mu, out=scratch)
            g *= -lr
        else:
            np.multiply(velocity, -lr, out=g)

    if mu == 0:
        return elementwise_optimizer(name, SgdState, plain, schedule, schedule)
    return elementwise_optimizer(name, MomentumState, heavy_ball, schedule, schedule)


def momentum(lr: LearningRate = 0.01, beta: float = 0.9) -> Optimizer:
    """SGD with heavy-ball momentum ``beta``.

    >>> fnn.optim.momentum(0.1).name
    'sgd(lr=constant:0.1, momentum=0.9)'
    """
    return sgd(lr, momentum=beta)


def nesterov(lr: LearningRate = 0.01, beta: float = 0.9) -> Optimizer:
    """SGD with Nesterov momentum ``beta``.

    >>> fnn.optim.nesterov(0.1, beta=0.5).name
    'sgd(lr=constant:0.1, momentum=0.5, nesterov)'
    """
    return sgd(lr, momentum=beta, nesterov=True)
