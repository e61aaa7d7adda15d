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

from fnn.core.network import backward_into, forward_trace, loss_value, output_gradient
from fnn.core.params import Params, flat_pieces, flat_view, flatten_params, trusted_params_from_flat
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
    return flat_step(kernel, params, opt_state, flats, x, y, masks, norms, weights)[0]


def step_flats(kernel: ElementwiseKernel, params: Params, opt_state: Any, function: str = "train_step") -> Flats:
    """The flat vectors of ``params`` and of ``opt_state``'s moments (a state that is not ``kernel``'s is refused):
    the vectors they are views of, or new ones (once, for arrays fnn did not lay out flat)."""
    moments = kernel.moments_of(function, opt_state, params)
    return tuple(_flat(tree) for tree in (params, *moments))


def flat_step(
    kernel: ElementwiseKernel,
    params: Params,
    opt_state: Any,
    flats: Flats,
    x: np.ndarray,
    y: np.ndarray,
    masks: Sequence[np.ndarray | None] | None = None,
    norms: bool = False,
    weights: np.ndarray | None = None,
) -> tuple[StepOutcome, Flats]:
    """:func:`fused_step` given ``params``' and ``opt_state``'s :func:`step_flats`; also gives the new outcome's
    flats, so a fold of steps finds them once, not on every step. The new records are views of the new vectors,
    built without re-checking what this function just laid out."""
    trace = forward_trace(params, x, masks)
    value = loss_value(params, trace, y, weights)
    spec = params.spec
    gradient = np.empty(flats[0].shape, flats[0].dtype)
    backward_into(params, trace, output_gradient(params, trace, y, weights), flat_pieces(spec, gradient))
    grad_norms = gradient_norms(trusted_params_from_flat(spec, gradient.copy())) if norms else None
    count = opt_state.count
    new_params, new_moments = kernel.run(gradient, flats[1:], flats[0], count, add_params=True)
    new_state = kernel.state_type(count + 1, *(trusted_params_from_flat(spec, m) for m in new_moments))
    outcome = StepOutcome(value, trace, trusted_params_from_flat(spec, new_params), new_state, grad_norms)
    return outcome, (new_params, *new_moments)


def _flat(params: Params) -> np.ndarray:
    """The flat vector ``params`` are views of, or a new one (once, for params fnn did not lay out flat)."""
    flat = flat_view(params)
    return flat if flat is not None else flatten_params(params)
