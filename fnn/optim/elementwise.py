"""Optimisers whose update is elementwise, written once as a kernel and run two ways.

``update(grads, state, params)`` is the public pure pair of the contract in :mod:`fnn.optim.base`;
``update_and_apply(grad_flat, state, params)`` fuses it with :func:`~fnn.optim.base.apply_updates` for the
training loop, working in the gradient vector that the loop hands over as scratch. When the parameters and moments
are views of one flat array each (as fnn makes them), the kernel runs once on the whole vector instead of once
per array, so each number is touched by a handful of array operations in total. Elementwise arithmetic gives the
same result however the arrays are cut, so every path gives bit-identical parameters.

A kernel is ``kernel(g, moments, p, constants) -> (u, new_moments)``: ``g`` is scratch gradient that it may
overwrite (and return as ``u``), ``moments`` the state's arrays (never overwritten), ``p`` the parameters and
``constants`` what ``constants(count)`` computed for the step.
"""

from attrs import fields

from fnn.arrays import freeze_new
from fnn.core.params import Layer, Params, flat_layout, flat_view, flatten_params, params_from_flat
from fnn.errors import FnnInputError
from fnn.optim.base import Optimizer, check_state_fits, zeros_like_params

__all__ = ["elementwise_optimizer"]


def elementwise_optimizer(name, state_type, kernel, constants, learning_rate):
    """An :class:`Optimizer` from a kernel; ``state_type(count, *moments)`` holds one ``Params`` per moment."""
    moment_names = [f.name for f in fields(state_type)[1:]]
    function = f"optim.{name.split('(')[0]}"

    def init(params):
        zeros = zeros_like_params(params)
        return state_type(0, *([zeros] * len(moment_names)))

    def run(grad_flat, state, params, add):
        if not isinstance(state, state_type):
            raise FnnInputError(
                f"fnn.{function} was given a {type(state).__name__} state; it needs the {state_type.__name__} from "
                f"its own init."
            )
        moments = [getattr(state, moment) for moment in moment_names]
        if moments and not (isinstance(moments[0], Params) and moments[0].spec is params.spec):
            check_state_fits(function, moments[0], params)  # the same spec object means the same shapes
        step_constants = constants(state.count)
        flats = [flat_view(tree) for tree in [params, *moments]]
        if all(flat is not None for flat in flats):
            new_params, new_moments = _whole(grad_flat, flats, params.spec, step_constants, add)
        else:
            new_params, new_moments = _per_array(grad_flat, moments, params, step_constants, add)
        return new_params, state_type(state.count + 1, *new_moments)

    def _whole(grad_flat, flats, spec, step_constants, add):
        update, updated = kernel(grad_flat, flats[1:], flats[0], step_constants)
        if add:
            update += flats[0]
        return params_from_flat(spec, update), [params_from_flat(spec, m) for m in updated]

    def _per_array(grad_flat, moments, params, step_constants, add):
        layout, _ = flat_layout(params.spec)
        new_layers, moment_layers = [], [[] for _ in moments]
        for i, (layer, places) in enumerate(zip(params.layers, layout)):
            results = []
            for j, (p, (start, shape)) in enumerate(zip((layer.w, layer.b), places)):
                g = grad_flat[start : start + p.size].reshape(shape)
                u, updated = kernel(g, [m.layers[i].w if j == 0 else m.layers[i].b for m in moments], p, step_constants)
                if add:
                    u += p
                results.append((freeze_new(u), [freeze_new(a) for a in updated]))
            new_layers.append(Layer(results[0][0], results[1][0]))
            for k in range(len(moments)):
                moment_layers[k].append(Layer(results[0][1][k], results[1][1][k]))
        freeze_new(grad_flat)  # some results may be views of it
        spec = params.spec
        return Params(spec, new_layers), [Params(spec, layers) for layers in moment_layers]

    def update(grads, state, params):
        check_state_fits(function, grads, params)
        grad_flat = flatten_params(grads)
        return run(grad_flat, state, params, add=False)

    def update_and_apply(grad_flat, state, params):
        return run(grad_flat, state, params, add=True)

    return Optimizer(
        init,
        update,
        name,
        lambda state: learning_rate(state.count),
        update_and_apply=update_and_apply,
    )
