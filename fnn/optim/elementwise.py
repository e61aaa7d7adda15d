"""Optimisers whose update is elementwise, written once as a kernel per array and run two ways.

``update(grads, state, params)`` is the public pure pair of the contract in :mod:`fnn.optim.base`;
``update_and_apply(grad_pairs, state, params)`` fuses it with :func:`~fnn.optim.base.apply_updates` for the
training loop, working in the gradient arrays that the loop hands over as scratch (so each array is touched once,
with no extra allocation). Both run the same kernel, so they give bit-identical parameters.

A kernel is ``kernel(g, moments, p, constants) -> (u, new_moments)``: ``g`` is a scratch copy of the gradient that
it may overwrite (and return as ``u``), ``moments`` the state's arrays for this parameter (never overwritten),
``p`` the parameter, ``constants`` what :func:`elementwise_optimizer`'s ``constants(count)`` computed for the step.
"""

from attrs import fields

from ..arrays import freeze_new
from ..errors import FnnInputError
from ..params import Layer, Params
from .base import Optimizer, check_state_fits, zeros_like_params

__all__ = ["elementwise_optimizer"]


def elementwise_optimizer(name, state_type, kernel, constants, learning_rate):
    """An :class:`Optimizer` from a kernel; ``state_type(count, *moments)`` holds one ``Params`` per moment."""
    moment_names = [f.name for f in fields(state_type)[1:]]
    function = f"optim.{name.split('(')[0]}"

    def init(params):
        zeros = zeros_like_params(params)
        return state_type(0, *([zeros] * len(moment_names)))

    def run(grad_pairs, state, params, add):
        if not isinstance(state, state_type):
            raise FnnInputError(
                f"fnn.{function} was given a {type(state).__name__} state; it needs the {state_type.__name__} from "
                f"its own init."
            )
        moments = [getattr(state, moment) for moment in moment_names]
        if moments:
            check_state_fits(function, moments[0], params)
        step_constants = constants(state.count)
        new_layers, new_moments = [], [[] for _ in moments]
        for i, (layer, pair) in enumerate(zip(params.layers, grad_pairs)):
            results = []
            for j, p in enumerate((layer.w, layer.b)):
                u, updated = kernel(pair[j], [m.layers[i].w if j == 0 else m.layers[i].b for m in moments], p, step_constants)
                if add:
                    u += p
                results.append((freeze_new(u), [freeze_new(a) for a in updated]))
            new_layers.append(Layer(results[0][0], results[1][0]))
            for k in range(len(moments)):
                new_moments[k].append(Layer(results[0][1][k], results[1][1][k]))
        spec = params.spec
        new_state = state_type(state.count + 1, *(Params(spec, layers) for layers in new_moments))
        return Params(spec, new_layers), new_state

    def update(grads, state, params):
        check_state_fits(function, grads, params)
        return run([[layer.w.copy(), layer.b.copy()] for layer in grads.layers], state, params, add=False)

    def update_and_apply(grad_pairs, state, params):
        return run(grad_pairs, state, params, add=True)

    return Optimizer(init, update, name, lambda state: learning_rate(state.count), update_and_apply=update_and_apply)
