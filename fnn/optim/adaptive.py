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

import math

import numpy as np
from attrs import frozen

from ..params import Params, map_arrays_n
from .base import Optimizer, check_hyperparameter, check_state_fits, zeros_like_params
from .schedules import as_schedule
from .sgd import _check_state

__all__ = ["AccumulatorState", "AdamState", "adagrad", "rmsprop", "adam", "adamw"]


@frozen(hash=False)
class AccumulatorState:
    """``count`` and one running sum of squared gradients (Adagrad) or mean of them (RMSProp)."""

    count: int
    accumulator: Params


@frozen(hash=False)
class AdamState:
    """``count`` and the first and second moment estimates ``mu`` and ``nu``."""

    count: int
    mu: Params
    nu: Params


def _accumulating(name, lr, eps, decay):
    """Adagrad (``decay=None``: a running sum) or RMSProp (a running mean with weight ``decay``)."""
    schedule = as_schedule(lr, name)

    def init(params):
        return AccumulatorState(0, zeros_like_params(params))

    def step(g, acc, rate):
        square = g * g
        if decay is None:
            square += acc
        else:
            square *= 1 - decay
            square += decay * acc
        denominator = np.sqrt(square)
        denominator += eps
        update = g / denominator
        update *= -rate
        return update, square

    def update(grads, state, params):
        _check_state(state, AccumulatorState, name)
        check_state_fits(f"optim.{name}", state.accumulator, grads)
        rate = schedule(state.count)
        updates, accumulator = map_arrays_n(lambda g, a: step(g, a, rate), 2, grads, state.accumulator)
        return updates, AccumulatorState(state.count + 1, accumulator)

    return init, update, lambda state: schedule(state.count), schedule


def adagrad(lr=0.01, eps=1e-10):
    """Adagrad with ``torch.optim.Adagrad``'s defaults."""
    eps = check_hyperparameter("optim.adagrad", "eps", eps)
    init, update, rate, schedule = _accumulating("adagrad", lr, eps, None)
    return Optimizer(init, update, f"adagrad(lr={schedule.name})", rate)


def rmsprop(lr=0.01, alpha=0.99, eps=1e-8):
    """RMSProp with ``torch.optim.RMSprop``'s defaults (not centred, no momentum)."""
    alpha = check_hyperparameter("optim.rmsprop", "alpha", alpha, at_most=1.0)
    eps = check_hyperparameter("optim.rmsprop", "eps", eps)
    init, update, rate, schedule = _accumulating("rmsprop", lr, eps, alpha)
    return Optimizer(init, update, f"rmsprop(lr={schedule.name}, alpha={alpha})", rate)


def _adam(name, lr, b1, b2, eps, weight_decay):
    function = f"optim.{name}"
    schedule = as_schedule(lr, name)
    b1 = check_hyperparameter(function, "b1", b1, at_most=0.999999)
    b2 = check_hyperparameter(function, "b2", b2, at_most=0.999999999)
    eps = check_hyperparameter(function, "eps", eps)
    weight_decay = check_hyperparameter(function, "weight_decay", weight_decay)

    def init(params):
        zeros = zeros_like_params(params)
        return AdamState(0, zeros, zeros)

    def step(g, m, v, p, rate, step_size, root_correction2):
        # m + (1 - b1)(g - m) is b1 m + (1 - b1) g with one temporary (torch's lerp).
        m_new = g - m
        m_new *= 1 - b1
        m_new += m
        v_new = g * g
        v_new *= 1 - b2
        v_new += b2 * v
        denominator = np.sqrt(v_new)
        denominator /= root_correction2
        denominator += eps
        update = m_new / denominator
        update *= -step_size
        if weight_decay:
            update -= (rate * weight_decay) * p
        return update, m_new, v_new

    def update(grads, state, params):
        _check_state(state, AdamState, name)
        check_state_fits(function, state.mu, grads)
        t = state.count + 1
        rate = schedule(state.count)
        step_size = rate / (1 - b1**t)
        root_correction2 = math.sqrt(1 - b2**t)
        updates, mu, nu = map_arrays_n(
            lambda g, m, v, p: step(g, m, v, p, rate, step_size, root_correction2), 3, grads, state.mu, state.nu, params
        )
        return updates, AdamState(t, mu, nu)

    label = f"{name}(lr={schedule.name}, b1={b1}, b2={b2}" + (f", weight_decay={weight_decay})" if name == "adamw" else ")")
    return Optimizer(init, update, label, lambda state: schedule(state.count))


def adam(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam with bias correction, ``torch.optim.Adam``'s defaults."""
    return _adam("adam", lr, b1, b2, eps, 0.0)


def adamw(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01):
    """AdamW: Adam with weight decay decoupled from the gradient, ``torch.optim.AdamW``'s defaults."""
    return _adam("adamw", lr, b1, b2, eps, weight_decay)
