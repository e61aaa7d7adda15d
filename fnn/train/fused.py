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
from fnn.core.params import Params, flat_layout, flat_pieces, flat_view, flatten_params, params_from_flat
from fnn.optim.base import ElementwiseKernel
from fnn.train.diagnostics import gradient_norms
from fnn.train.state import StepOutcome


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
    moments = kernel.moments_of("train_step", opt_state, params)
    trace = forward_trace(params, x, masks)
    value = loss_value(params, trace, y, weights)
    spec = params.spec
    gradient = np.empty(flat_layout(spec)[1], params.dtype)
    backward_into(params, trace, output_gradient(params, trace, y, weights), flat_pieces(spec, gradient))
    grad_norms = gradient_norms(params_from_flat(spec, gradient.copy())) if norms else None
    flats = [_flat(tree) for tree in (params, *moments)]
    new_params, new_moments = kernel.run(gradient, flats[1:], flats[0], opt_state.count, add_params=True)
    new_state = kernel.state_type(opt_state.count + 1, *(params_from_flat(spec, m) for m in new_moments))
    return StepOutcome(value, trace, params_from_flat(spec, new_params), new_state, grad_norms)


def _flat(params: Params) -> np.ndarray:
    """The flat vector ``params`` are views of, or a new one (once, for params fnn did not lay out flat)."""
    flat = flat_view(params)
    return flat if flat is not None else flatten_params(params)
