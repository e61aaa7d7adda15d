"""The training step's fast path, the one user of the flat parameter vector: exactly the composed step, faster.

For an optimiser with an :class:`~fnn.optim.base.ElementwiseKernel`, the backward pass writes every gradient
straight into one new 1-D vector (in :func:`~fnn.core.params.flat_layout` order) and the kernel runs once over
the whole vector, with parameters and moments kept as views of one flat vector each, instead of once per array.
Elementwise arithmetic gives the same result however the arrays are cut, so this computes the very bytes of
:func:`fnn.train.step.composed_step` (the tests prove it for every built-in optimiser).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from attrs import frozen

from fnn.core.network import Trace, backward_into, forward_trace, loss_value, output_gradient
from fnn.core.params import Params, flat_pieces, flat_view, flatten_params, trusted_params_from_flat
from fnn.core.spec import NetworkSpec
from fnn.optim.base import ElementwiseKernel
from fnn.train.diagnostics import gradient_norms
from fnn.train.state import StepOutcome

Flats = tuple[np.ndarray, ...]
"""The flat vectors of a step's parameters and optimiser moments, in that order (see :func:`step_flats`)."""


def fused_step(
    kernel: ElementwiseKernel,
    params: Params,
    opt_state: Any,
    x: np.ndarray,
    y: np.ndarray,
    masks: Sequence[np.ndarray | None] | None = None,
    norms: bool = False,
    weights: np.ndarray | None = None,
) -> StepOutcome:
    """One step with ``kernel`` over the flat vectors; ``norms`` also gives the gradient's per-layer norms;
    ``weights`` weigh the batch's samples."""
    flats = step_flats(kernel, params, opt_state)
    done = flat_step(kernel, params, opt_state.count, flats, x, y, masks, norms, weights)
    return StepOutcome(done.loss, done.trace, done.params, flat_state(kernel, params.spec, opt_state.count + 1, done.flats), done.grad_norms)


def step_flats(kernel: ElementwiseKernel, params: Params, opt_state: Any, function: str = "train_step") -> Flats:
    """The flat vectors of ``params`` and of ``opt_state``'s moments (a state that is not ``kernel``'s is refused):
    the vectors they are views of, or new ones (once, for arrays fnn did not lay out flat)."""
    moments = kernel.moments_of(function, opt_state, params)
    return tuple(_flat(tree) for tree in (params, *moments))


@frozen
class FlatOutcome:
    """What :func:`flat_step` gives: the batch's ``loss`` at the old parameters, the forward pass's ``trace``, the
    new ``params`` (views of ``flats[0]``), the new ``flats`` (parameters, then the moments, kept as vectors) and
    the gradient's per-layer norms when they were asked for (else None)."""

    loss: float
    trace: Trace
    params: Params
    flats: Flats
    grad_norms: tuple[float, ...] | None = None


def flat_step(
    kernel: ElementwiseKernel,
    params: Params,
    count: int,
    flats: Flats,
    x: np.ndarray,
    y: np.ndarray,
    masks: Sequence[np.ndarray | None] | None = None,
    norms: bool = False,
    weights: np.ndarray | None = None,
) -> FlatOutcome:
    """Update number ``count`` given ``params``' and the moments' :func:`step_flats`. The new moments stay
    vectors: a fold of steps carries them and builds the state's records once, at its end (:func:`flat_state`).
    The new parameters are a record of views of the new vector, built without re-checking what this function
    just laid out."""
    trace = forward_trace(params, x, masks)
    value = loss_value(params, trace, y, weights)
    spec = params.spec
    gradient = np.empty(flats[0].shape, flats[0].dtype)
    backward_into(params, trace, output_gradient(params, trace, y, weights), flat_pieces(spec, gradient))
    grad_norms = gradient_norms(trusted_params_from_flat(spec, gradient.copy())) if norms else None
    new_params, new_moments = kernel.run(gradient, flats[1:], flats[0], count, add_params=True)
    return FlatOutcome(value, trace, trusted_params_from_flat(spec, new_params), (new_params, *new_moments), grad_norms)


def flat_state(kernel: ElementwiseKernel, spec: NetworkSpec, count: int, flats: Flats) -> Any:
    """``kernel``'s optimiser state after ``count`` updates, its moments read-only views of ``flats[1:]`` (new
    vectors a step made, which nobody else writes)."""
    return kernel.state_type(count, *(trusted_params_from_flat(spec, m) for m in flats[1:]))


def _flat(params: Params) -> np.ndarray:
    """The flat vector ``params`` are views of, or a new one (once, for params fnn did not lay out flat)."""
    flat = flat_view(params)
    return flat if flat is not None else flatten_params(params)
