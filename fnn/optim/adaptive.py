"""Optimisers that scale each coordinate by its gradient history: Adagrad, RMSProp, Adam and AdamW.

Each follows its published rule and the defaults of ``torch.optim``, so the same hyper-parameters give the same
numbers (to float rounding):

- Adagrad (Duchi et al., 2011): :math:`s_t = s_{t-1} + g_t^2`, :math:`u_t = -\\eta\\, g_t / (\\sqrt{s_t} + \\epsilon)`.
- RMSProp (Tieleman & Hinton, 2012): :math:`v_t = \\alpha v_{t-1} + (1-\\alpha) g_t^2`,
  :math:`u_t = -\\eta\\, g_t / (\\sqrt{v_t} + \\epsilon)`.
- Adam (Kingma & Ba, 2015): :math:`m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t`,
  :math:`v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2`, with bias correction
  :math:`u_t = -\\eta\\, \\hat m_t / (\\sqrt{\\hat v_t} + \\epsilon)`, :math:`\\hat m_t = m_t / (1-\\beta_1^t)`,
  :math:`\\hat v_t = v_t / (1-\\beta_2^t)`.
- AdamW (Loshchilov & Hutter, 2019): Adam plus decoupled weight decay :math:`-\\eta \\lambda \\theta`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from attrs import frozen

from fnn.core.params import Params
from fnn.optim.base import Optimizer, check_hyperparameter
from fnn.optim.elementwise import elementwise_optimizer
from fnn.optim.schedules import LearningRate, as_schedule


@frozen(hash=False)
class AccumulatorState:
    """``count`` and one running sum of squared gradients (Adagrad) or mean of them (RMSProp).

    >>> fnn.optim.adagrad().init(fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)).accumulator.layers[0].b
    array([0.], dtype=float32)
    """

    count: int
    accumulator: Params


@frozen(hash=False)
class AdamState:
    """``count`` and the first and second moment estimates ``mu`` and ``nu``.

    >>> fnn.optim.adam().init(fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)).count
    0
    """

    count: int
    mu: Params
    nu: Params


def _accumulating(name: str, label: str, lr: LearningRate, eps: float, decay: float | None) -> Optimizer:
    """Adagrad (``decay=None``: a running sum) or RMSProp (a running mean with weight ``decay``)."""
    schedule = as_schedule(lr, name)

    def kernel(
        g: np.ndarray, moments: Sequence[np.ndarray], p: np.ndarray, lr: float, new: Sequence[np.ndarray], scratch: np.ndarray
    ) -> None:
        square = np.multiply(g, g, out=new[0])
        if decay is None:
            square += moments[0]
        else:
            square *= 1 - decay
            square += np.multiply(moments[0], decay, out=scratch)
        denominator = np.sqrt(square, out=scratch)
        denominator += eps
        g /= denominator
        g *= -lr

    return elementwise_optimizer(label.format(schedule=schedule.name), AccumulatorState, kernel, schedule, schedule)


def adagrad(lr: LearningRate = 0.01, eps: float = 1e-10) -> Optimizer:
    """Adagrad with ``torch.optim.Adagrad``'s defaults.

    >>> fnn.optim.adagrad(0.1).name
    'adagrad(lr=constant:0.1)'
    """
    eps = check_hyperparameter("optim.adagrad", "eps", eps)
    return _accumulating("adagrad", "adagrad(lr={schedule})", lr, eps, None)


def rmsprop(lr: LearningRate = 0.01, alpha: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """RMSProp with ``torch.optim.RMSprop``'s defaults (not centred, no momentum).

    >>> fnn.optim.rmsprop(0.01, alpha=0.9).name
    'rmsprop(lr=constant:0.01, alpha=0.9)'
    """
    alpha = check_hyperparameter("optim.rmsprop", "alpha", alpha, at_most=1.0)
    eps = check_hyperparameter("optim.rmsprop", "eps", eps)
    return _accumulating("rmsprop", f"rmsprop(lr={{schedule}}, alpha={alpha})", lr, eps, alpha)


def _adam(name: str, lr: LearningRate, b1: float, b2: float, eps: float, weight_decay: float) -> Optimizer:
    function = f"optim.{name}"
    schedule = as_schedule(lr, name)
    b1 = check_hyperparameter(function, "b1", b1, at_most=0.999999)
    b2 = check_hyperparameter(function, "b2", b2, at_most=0.999999999)
    eps = check_hyperparameter(function, "eps", eps)
    weight_decay = check_hyperparameter(function, "weight_decay", weight_decay)

    def constants(count: int) -> tuple[float, float, float]:
        t = count + 1
        lr = schedule(count)
        return lr, lr / (1 - b1**t), math.sqrt(1 - b2**t)

    def kernel(
        g: np.ndarray, moments: Sequence[np.ndarray], p: np.ndarray, constants: Any, new: Sequence[np.ndarray], scratch: np.ndarray
    ) -> None:
        m, v = moments
        m_new, v_new = new
        lr, step_size, root_correction2 = constants
        np.multiply(g, g, out=v_new)
        v_new *= 1 - b2
        v_new += np.multiply(v, b2, out=scratch)
        g *= 1 - b1
        np.multiply(m, b1, out=m_new)
        m_new += g
        # -step * m / (sqrt(v) / c2 + eps) written as -(step * c2) * m / (sqrt(v) + eps * c2): one pass fewer.
        update = np.sqrt(v_new, out=g)
        update += eps * root_correction2
        np.divide(m_new, update, out=update)
        update *= -(step_size * root_correction2)
        if weight_decay:
            update -= np.multiply(p, lr * weight_decay, out=scratch)

    label = f"{name}(lr={schedule.name}, b1={b1}, b2={b2}" + (f", weight_decay={weight_decay})" if name == "adamw" else ")")
    return elementwise_optimizer(label, AdamState, kernel, constants, schedule)


def adam(lr: LearningRate = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam with bias correction, ``torch.optim.Adam``'s defaults. Its first step moves each parameter by
    about ``lr`` against the gradient's sign:

    >>> opt, params = fnn.optim.adam(0.1), fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)
    >>> opt.update(fnn.map_arrays(np.ones_like, params), opt.init(params), params)[0].layers[0].b
    array([-0.09999999], dtype=float32)
    """
    return _adam("adam", lr, b1, b2, eps, 0.0)


def adamw(
    lr: LearningRate = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.01
) -> Optimizer:
    """AdamW: Adam with weight decay decoupled from the gradient, ``torch.optim.AdamW``'s defaults.

    >>> fnn.optim.adamw(weight_decay=0.1).name
    'adamw(lr=constant:0.001, b1=0.9, b2=0.999, weight_decay=0.1)'
    """
    return _adam("adamw", lr, b1, b2, eps, weight_decay)
