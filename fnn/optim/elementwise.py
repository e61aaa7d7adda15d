"""Optimisers whose update is elementwise, written once as a kernel (an :class:`~fnn.optim.base.ElementwiseKernel`).

``update(grads, state, params)`` runs the kernel on each array in turn, the public pure pair of the contract in
:mod:`fnn.optim.base`. The training step may run the same kernel once on all parameters as one vector instead;
elementwise arithmetic gives the same result however the arrays are cut, so both give bit-identical parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fnn.arrays import freeze_new
from fnn.core.params import Layer, Params, map_arrays
from fnn.core.spec import NetworkSpec
from fnn.optim.base import ElementwiseKernel, Kernel, Optimizer, check_state_fits, state_fields


def elementwise_optimizer(
    name: str, state_type: type, kernel: Kernel, constants: Callable[[int], Any], learning_rate: Callable[[int], float]
) -> Optimizer:
    """An :class:`Optimizer` from a kernel; ``state_type(count, *moments)`` holds one ``Params`` per moment."""
    rule = ElementwiseKernel(kernel, constants, state_type, state_fields(state_type))
    function = f"optim.{name.split('(')[0]}"

    def init(params: Params) -> Any:
        zeros = map_arrays(np.zeros_like, params)
        return state_type(0, *([zeros] * len(rule.moments)))

    def update(grads: Params, state: Any, params: Params) -> tuple[Params, Any]:
        check_state_fits(function, grads, params)
        moments = rule.moments_of(function, state, params)
        moment_arrays = [m.arrays() for m in moments]
        results = [
            rule.run(np.copy(g), [arrays[i] for arrays in moment_arrays], p, state.count)
            for i, (g, p) in enumerate(zip(grads.arrays(), params.arrays()))
        ]
        updates = _params_of(params.spec, [u for u, _ in results])
        new_moments = [_params_of(params.spec, [new[k] for _, new in results]) for k in range(len(moments))]
        return updates, state_type(state.count + 1, *new_moments)

    return Optimizer(init, update, name, lambda state: learning_rate(state.count), kernel=rule)


def _params_of(spec: NetworkSpec, arrays: list[np.ndarray]) -> Params:
    """Params of new arrays given in :meth:`Params.arrays` order (``w``, ``b`` per layer), frozen in place."""
    return Params(spec, tuple(Layer(freeze_new(w), freeze_new(b)) for w, b in zip(arrays[::2], arrays[1::2])))
