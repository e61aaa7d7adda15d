"""The optimiser contract: a pair of pure functions, in the manner of optax.

``init(params) -> state`` and ``update(grads, state, params) -> (updates, new_state)``. Updates are ``Params``
shaped like the parameters, added by :func:`apply_updates`, the one place where new parameters appear. States are
frozen attrs records whose arrays are read-only. Transformations compose with :func:`chain`:

>>> opt = fnn.optim.chain(fnn.optim.clip_by_global_norm(1.0), fnn.optim.adam(1e-3))
>>> params = fnn.init_params(fnn.network([2, 3, 2]), seed=0)
>>> state = opt.init(params)
>>> grads = fnn.grad(params, (np.ones((4, 2), np.float32), np.array([0, 1, 1, 0])))
>>> updates, state = opt.update(grads, state, params)
>>> params = fnn.optim.apply_updates(params, updates)
"""

import numpy as np
from attrs import field, frozen

from fnn.arrays import freeze_new
from fnn.core.params import Layer, Params, check_same_structure, flat_layout, flatten_params, params_from_flat
from fnn.errors import FnnInputError, bad_argument

__all__ = [
    "Optimizer",
    "EmptyState",
    "ChainState",
    "chain",
    "apply_updates",
    "apply_gradients",
    "gradient_scale",
    "check_hyperparameter",
    "check_state_fits",
    "zeros_like_params",
]


@frozen
class Optimizer:
    """``init(params) -> state``, ``update(grads, state, params) -> (updates, state)``.

    ``learning_rate(state)`` gives the rate the next update will use (for the history), ``penalty(params)`` the
    term a transform adds to the loss (an L2 penalty), and ``name`` says what it is. ``update_and_apply``, where
    present, is ``update`` fused with :func:`apply_updates` for the training loop: it takes the gradients as one
    1-D scratch array in :func:`~fnn.core.params.flat_layout` order, which it may overwrite, and returns
    ``(new_params, new_state)``; see :func:`apply_gradients`. ``gradient_scale(state)``, where present, is a
    number that ``update_and_apply`` wants its gradient multiplied by (``-lr`` for plain SGD, ``1 - b1`` for Adam):
    the training step multiplies ``dL/dlogits``, a batch-by-outputs array, by it before the backward pass, which
    is linear in it, so the scaling costs nothing instead of a pass over every parameter.
    """

    init: object = field(repr=False)
    update: object = field(repr=False)
    name: str = "optimizer"
    learning_rate: object = field(default=None, repr=False)
    penalty: object = field(default=None, repr=False)
    update_and_apply: object = field(default=None, repr=False)
    gradient_scale: object = field(default=None, repr=False)


@frozen
class EmptyState:
    """The state of a stateless transformation."""


@frozen(hash=False)
class ChainState:
    """The states of a chain's transformations, in order."""

    states: tuple = field(converter=tuple)


def chain(*optimizers):
    """Apply ``optimizers`` in order, each transforming the updates of the one before.

    ``chain(clip_by_global_norm(1.0), sgd(0.1))`` clips the gradient and then takes an SGD step.
    """
    if not optimizers or not all(isinstance(o, Optimizer) for o in optimizers):
        raise bad_argument("optim.chain", "optimizers", "one or more fnn.optim.Optimizer", optimizers)

    def init(params):
        return ChainState(tuple(o.init(params) for o in optimizers))

    def check(state):
        if not isinstance(state, ChainState) or len(state.states) != len(optimizers):
            raise FnnInputError(
                f"The state given to a chain of {len(optimizers)} optimizers does not belong to it "
                f"(got {type(state).__name__}); build it with the chain's own init."
            )

    def update(updates, state, params):
        check(state)
        new_states = []
        for optimizer, inner in zip(optimizers, state.states):
            updates, inner = optimizer.update(updates, inner, params)
            new_states.append(inner)
        return updates, ChainState(tuple(new_states))

    def learning_rate(state):
        for optimizer, inner in zip(optimizers, state.states):
            if optimizer.learning_rate is not None:
                return optimizer.learning_rate(inner)
        return None

    penalties = [o.penalty for o in optimizers if o.penalty is not None]

    def penalty(params):
        return sum(p(params) for p in penalties)

    *transforms, final = optimizers

    def update_and_apply(grad_flat, state, params):
        check(state)
        grads = params_from_flat(params.spec, grad_flat)
        new_states = []
        for optimizer, inner in zip(transforms, state.states):
            grads, inner = optimizer.update(grads, inner, params)
            new_states.append(inner)
        new_params, inner = apply_gradients(final, flatten_params(grads), state.states[-1], params)
        return new_params, ChainState(tuple(new_states) + (inner,))

    return Optimizer(
        init,
        update,
        "chain(" + ", ".join(o.name for o in optimizers) + ")",
        learning_rate,
        penalty if penalties else None,
        update_and_apply if final.update_and_apply is not None else None,
    )


def apply_updates(params, updates):
    """``params + updates``, as new read-only ``Params``."""
    check_same_structure("optim.apply_updates", "updates", updates, params)
    return Params(
        params.spec,
        [Layer(freeze_new(p.w + u.w), freeze_new(p.b + u.b)) for p, u in zip(params.layers, updates.layers)],
    )


def gradient_scale(optimizer, state):
    """The number the gradient handed to :func:`apply_gradients` with ``scaled=True`` must be multiplied by."""
    return 1.0 if optimizer.gradient_scale is None else optimizer.gradient_scale(state)


def apply_gradients(optimizer, grad_flat, state, params, scaled=False):
    """New ``(params, state)`` from gradients given as one 1-D scratch array (overwritten) in
    :func:`~fnn.core.params.flat_layout` order.

    ``scaled=True`` says the gradient is already multiplied by :func:`gradient_scale` (as the training step
    computes it); otherwise that multiplication is done here. Uses the optimiser's fused ``update_and_apply`` when
    it has one, else ``update`` then :func:`apply_updates`; both give the same numbers.
    """
    if optimizer.update_and_apply is not None:
        if not scaled and optimizer.gradient_scale is not None:
            grad_flat *= optimizer.gradient_scale(state)
        return optimizer.update_and_apply(grad_flat, state, params)
    grads = params_from_flat(params.spec, grad_flat)
    updates, state = optimizer.update(grads, state, params)
    return apply_updates(params, updates), state


def check_hyperparameter(function, name, value, *, positive=False, at_most=None):
    """Refuse a hyper-parameter that is not a finite number, negative (or zero, if ``positive``) or too large."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise bad_argument(function, name, "a finite number", value)
    value = float(value)
    if not np.isfinite(value) or value < 0 or (positive and value == 0) or (at_most is not None and value > at_most):
        bounds = "positive" if positive else "non-negative"
        limit = f" and at most {at_most}" if at_most is not None else ""
        raise bad_argument(function, name, f"a finite {bounds} number{limit}", value)
    return value


def check_state_fits(function, moments, grads):
    """Refuse a state built for another network, naming both sets of shapes."""
    check_same_structure(function, "state", moments, grads)


def zeros_like_params(params):
    """Params of zeros shaped like ``params`` (the starting optimiser moments), backed by one flat array."""
    return params_from_flat(params.spec, np.zeros(flat_layout(params.spec)[1], params.dtype))
