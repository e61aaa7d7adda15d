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

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from attrs import field, fields, frozen

from fnn.arrays import freeze_new
from fnn.core.params import Layer, Params, check_same_structure
from fnn.errors import FnnInputError, bad_argument

Kernel = Callable[[np.ndarray, Sequence[np.ndarray], np.ndarray, Any, Sequence[np.ndarray], np.ndarray], None]
"""``kernel(g, moments, p, constants, new_moments, scratch)``: one elementwise update rule (see
:class:`ElementwiseKernel`)."""

FLUSH_EVERY = 16
"""Every this many updates, :meth:`ElementwiseKernel.run` sets the subnormal numbers of the new moments to zero."""

_EXPONENT_BITS = {4: (np.int32, 0x7F800000), 8: (np.int64, 0x7FF0000000000000)}


@frozen
class ElementwiseKernel:
    """An update rule that treats every number alone, so it can run on any cut of the arrays: one array each or
    all parameters as one vector (the training step's fast path does the latter).

    ``apply(g, moments, p, constants, new_moments, scratch)`` overwrites ``g`` (a gradient the step owns) with
    the update, writes the new moments into ``new_moments`` and may use ``scratch`` as working space (new arrays
    the step owns, shaped like ``g``; a rule without moments gets no scratch), in as few passes as NumPy allows; ``moments`` (the state's matching
    arrays) and the parameters ``p`` are only read. ``constants`` is what ``constants(count)`` gives for the step.
    The state is ``state_type(count, *moments)`` with one ``Params`` per name in ``moments``.

    >>> kernel = fnn.optim.sgd(0.5).kernel
    >>> kernel.run(np.array([2.0]), [], np.array([1.0]), count=0)[0]
    array([-1.])
    """

    apply: Kernel = field(repr=False)
    constants: Callable[[int], Any] = field(repr=False)
    state_type: type
    moments: tuple[str, ...]

    def run(
        self, g: np.ndarray, moments: Sequence[np.ndarray], p: np.ndarray, count: int, add_params: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Update number ``count``'s ``(u, new_moments)`` for ``g`` (overwritten: ``u`` is ``g``), ``moments``
        and ``p`` of one shape; with ``add_params``, ``u`` holds the new parameters ``p + u`` instead.

        Where the gradient stays zero (a dead unit, a blank pixel) a moment decays geometrically into the
        subnormal range and stays there (``0.9 * x`` rounds back to ``x`` for the smallest numbers), and every
        division or square root of a subnormal takes a slow path. So after every ``FLUSH_EVERY``-th update the
        subnormal entries of the new moments become zero; normal numbers are never touched.
        """
        new_moments = [np.empty_like(m) for m in moments]
        scratch = np.empty_like(g) if moments else g[:0]  # the rules without moments need none
        self.apply(g, moments, p, self.constants(count), new_moments, scratch)
        if moments and (count + 1) % FLUSH_EVERY == 0:
            for m in new_moments:
                _flush_subnormals(m, scratch)
        if add_params:
            g += p
        return g, new_moments

    def moments_of(self, function: str, state: Any, params: Params) -> list[Params]:
        """The moment ``Params`` of ``state``, refused with a clear error unless it is this rule's state and fits
        ``params``."""
        if not isinstance(state, self.state_type):
            raise FnnInputError(
                f"fnn.{function} was given a {type(state).__name__} state; it needs the {self.state_type.__name__} "
                f"from its own init."
            )
        moments = [getattr(state, name) for name in self.moments]
        if moments and not (isinstance(moments[0], Params) and moments[0].spec is params.spec):
            check_state_fits(function, moments[0], params)  # the same spec object means the same shapes
        return moments


def _flush_subnormals(x: np.ndarray, scratch: np.ndarray) -> None:
    """Set the subnormal numbers of the contiguous ``x`` to +0 in place: its bits times the sign of its exponent
    bits, three integer passes (a masked write's time grows with the share of numbers it writes)."""
    integer, exponent = _EXPONENT_BITS[x.itemsize]
    bits, mask = x.view(integer), scratch.view(integer)
    np.bitwise_and(bits, exponent, out=mask)
    np.sign(mask, out=mask)
    np.multiply(bits, mask, out=bits)


@frozen
class Optimizer:
    """``init(params) -> state``, ``update(grads, state, params) -> (updates, state)``.

    The rest describes it for a run: ``name`` says what it is, ``learning_rate(state)`` gives the rate the next
    update will use (for the history) and ``penalty(params)`` the term a transform adds to the loss (an L2
    penalty). ``kernel``, on the built-in elementwise optimisers, is their rule as an :class:`ElementwiseKernel`,
    which the training step may run once over all parameters; it computes exactly what ``update`` does.

    >>> halve = fnn.optim.Optimizer(lambda params: None, lambda g, s, p: (fnn.map_arrays(lambda a: -a / 2, g), s))
    >>> params = fnn.init_params(fnn.network([1, 1], loss="mse"), seed=0)
    >>> updates, _ = halve.update(params, halve.init(params), params)
    >>> bool(fnn.optim.apply_updates(params, updates) == fnn.map_arrays(lambda a: a / 2, params))
    True
    """

    init: Callable[[Params], Any] = field(repr=False)
    update: Callable[[Params, Any, Params], tuple[Params, Any]] = field(repr=False)
    name: str = "optimizer"
    learning_rate: Callable[[Any], float | None] | None = field(default=None, repr=False)
    penalty: Callable[[Params], float] | None = field(default=None, repr=False)
    kernel: ElementwiseKernel | None = field(default=None, repr=False)


@frozen
class EmptyState:
    """The state of a stateless transformation.

    >>> fnn.optim.clip_by_global_norm(1.0).init(fnn.init_params(fnn.network([1, 1], loss="mse"), seed=0))
    EmptyState()
    """


@frozen(hash=False)
class ChainState:
    """The states of a chain's transformations, in order.

    >>> fnn.optim.chain(fnn.optim.add_l2(0.1), fnn.optim.sgd(0.1)).init(fnn.init_params(fnn.network([1, 1], loss="mse"), seed=0))
    ChainState(states=(EmptyState(), SgdState(count=0)))
    """

    states: tuple[Any, ...] = field(converter=tuple)


def chain(*optimizers: Optimizer) -> Optimizer:
    """Apply ``optimizers`` in order, each transforming the updates of the one before.

    ``chain(clip_by_global_norm(1.0), sgd(0.1))`` clips the gradient and then takes an SGD step.

    >>> fnn.optim.chain(fnn.optim.clip_by_global_norm(1.0), fnn.optim.sgd(0.1)).name
    'chain(clip_by_global_norm(1.0), sgd(lr=constant:0.1))'
    """
    if not optimizers or not all(isinstance(o, Optimizer) for o in optimizers):
        raise bad_argument("optim.chain", "optimizers", "one or more fnn.optim.Optimizer", optimizers)

    def init(params: Params) -> ChainState:
        return ChainState(tuple(o.init(params) for o in optimizers))

    def update(updates: Params, state: Any, params: Params) -> tuple[Params, ChainState]:
        if not isinstance(state, ChainState) or len(state.states) != len(optimizers):
            raise FnnInputError(
                f"The state given to a chain of {len(optimizers)} optimizers does not belong to it "
                f"(got {type(state).__name__}); build it with the chain's own init."
            )
        new_states = []
        for optimizer, inner in zip(optimizers, state.states):
            updates, inner = optimizer.update(updates, inner, params)
            new_states.append(inner)
        return updates, ChainState(tuple(new_states))

    def learning_rate(state: ChainState) -> float | None:
        for optimizer, inner in zip(optimizers, state.states):
            if optimizer.learning_rate is not None:
                return optimizer.learning_rate(inner)
        return None

    penalties = [o.penalty for o in optimizers if o.penalty is not None]

    def penalty(params: Params) -> float:
        return sum(p(params) for p in penalties)

    name = "chain(" + ", ".join(o.name for o in optimizers) + ")"
    return Optimizer(init, update, name, learning_rate, penalty if penalties else None)


def apply_updates(params: Params, updates: Params) -> Params:
    """``params + updates``, as new read-only ``Params``.

    >>> params = fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)
    >>> fnn.optim.apply_updates(params, fnn.map_arrays(np.ones_like, params)).layers[0].b
    array([1.], dtype=float32)
    """
    check_same_structure("optim.apply_updates", "updates", updates, params)
    return Params(
        params.spec,
        tuple(Layer(freeze_new(p.w + u.w), freeze_new(p.b + u.b)) for p, u in zip(params.layers, updates.layers)),
    )


def check_hyperparameter(function: str, name: str, value: Any, *, positive: bool = False, at_most: float | None = None) -> float:
    """Refuse a hyper-parameter that is not a finite number, negative (or zero, if ``positive``) or too large.

    >>> fnn.optim.check_hyperparameter("optim.sgd", "momentum", 0.9, at_most=1.0)
    0.9
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise bad_argument(function, name, "a finite number", value)
    value = float(value)
    if not np.isfinite(value) or value < 0 or (positive and value == 0) or (at_most is not None and value > at_most):
        bounds = "positive" if positive else "non-negative"
        limit = f" and at most {at_most}" if at_most is not None else ""
        raise bad_argument(function, name, f"a finite {bounds} number{limit}", value)
    return value


def check_state_fits(function: str, moments: Any, grads: Params) -> None:
    """Refuse a state built for another network, naming both sets of shapes."""
    check_same_structure(function, "state", moments, grads)


def state_fields(state_type: type) -> tuple[str, ...]:
    """The names of a state record's moment fields: every field after ``count``."""
    return tuple(f.name for f in fields(state_type)[1:])
