"""Many seeds trained as one stacked computation, each member byte-identical to its solo run.

:func:`fit_seeds` trains S seeds of one network at once. Each layer's parameters are stacked to ``(S, in, out)``
and ``(S, out)``, every member draws its own shuffles and dropout masks from the seed table (:mod:`fnn.seeds`)
exactly as :func:`fnn.fit` does, and one step is one pass of the network's own forward and backward functions
(:func:`~fnn.core.network.forward_trace`, :func:`~fnn.core.network.backward_into`, which read only a layer's
last two axes) over the stacked arrays: ``np.matmul`` on ``(S, n, k) @ (S, k, m)`` runs the same BLAS call per
member as the solo 2-D product, and elementwise work gives the same numbers however the arrays are cut, so the
optimiser's own elementwise kernel runs once over all members' parameters. The built-in losses take the stacked
batch whole (``Loss.stacks``): each member's loss and gradient at the logits reduce that member's own last axes,
in the solo order; so do the validation loss and accuracy at an epoch's end, from one stacked forward pass. The
epoch's running loss sums are kept per step and added in the solo order at its end. What else sums across a
member's arrays or its batch (a loss of one's own, a regression's running sums, the update of an optimiser
without a kernel such as a chain with clipping, which takes a global norm) is computed member by member on that
member's contiguous slice, in the solo run's order. Each epoch's batch order is computed once for all members,
and the layer views of the two parameter buffers (the current rows, and the spare one the next gradient and then
the next parameters are written into) are laid out once. The tests prove the bytes equal for every optimiser,
schedule and built-in loss, with dropout, early stopping and both float types.

>>> spec = fnn.network([2, 8, 1], activation="tanh", loss="binary_cross_entropy")
>>> data = fnn.data.moons(100, noise=0.1, seed=0)
>>> states = fnn.fit_seeds(spec, data, seeds=[0, 1, 2], epochs=3, lr=0.5, batch_size=10)
>>> solo = fnn.fit(fnn.init_params(spec, seed=1), data, epochs=3, lr=0.5, batch_size=10, seed=1)
>>> states[1].params == solo.params, states[1].history == solo.history, [s.seed for s in states]
(True, True, [0, 1, 2])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from attrs import evolve, frozen

from fnn.core.metrics import BATCH_SIZE, classes_from_outputs
from fnn.core.network import Trace, backward_into, forward_trace, loss_value, output_gradient
from fnn.core.params import Params, flat_layout, flatten_params, init_params, params_from_flat
from fnn.core.scores import greater_is_better, r2_score
from fnn.core.spec import NetworkSpec
from fnn.core.validate import class_labels_of
from fnn.data.lazy import take_rows
from fnn.errors import FnnInputError, TrainingDiverged, bad_argument
from fnn.limits import require_memory, training_bytes
from fnn.optim.base import ElementwiseKernel, Optimizer, apply_updates
from fnn.train.batches import epoch_permutation
from fnn.train.diagnostics import (
    DiagnosticsAccumulator,
    accumulate,
    finish,
    gradient_norms,
    start_diagnostics,
    wants_norms,
)
from fnn.train.dropout import dropout_masks, dropout_rates
from fnn.train.loop import (
    _RECORD_FIELDS,
    RunningMetrics,
    _blas,
    _epoch_metrics,
    _in_dtype,
    _options,
    _validation_data,
    check_monitor,
    divergence_limit,
    prepare_data,
    start_state,
    stop_on_divergence,
)
from fnn.train.options import (
    FIT_KEYWORDS,
    SEEDS_CHECK,
    BadValue,
    TrainOptions,
    check_epochs,
    resolve_optimizer,
)
from fnn.train.state import EpochRecord, TrainState


@frozen
class _StackedLayer:
    """A layer of S members: ``w`` of shape ``(S, in, out)``, ``b`` of ``(S, 1, out)`` (one row per member,
    broadcast over that member's batch)."""

    w: np.ndarray
    b: np.ndarray


@frozen
class _Stacked:
    """What the forward and backward passes read of ``Params`` (``spec``, ``layers``, ``dtype``), for S members."""

    spec: NetworkSpec
    layers: tuple[_StackedLayer, ...]
    dtype: np.dtype


@frozen(hash=False)
class _Member:
    """What one member trains on and with: its seed, the rows of the data that are its training part, its
    validation part and its training part (prepared; the latter only where it is measured: ``train_metrics``)
    and its optimiser."""

    seed: int
    rows: np.ndarray
    val: tuple[Any, np.ndarray] | None
    train: tuple[Any, np.ndarray] | None
    optimizer: Optimizer


@frozen(hash=False)
class _Moments:
    """The optimiser states of members whose optimisers have kernels of one state type: the shared update
    count and one ``(S, P)`` array per moment."""

    count: int
    moments: tuple[np.ndarray, ...]


@frozen(hash=False)
class _Carry:
    """The stacked run between steps: ``flat`` holds one row of parameters per active member (in
    :func:`~fnn.core.params.flat_layout` order); ``opt`` is :class:`_Moments` when every member's optimiser has
    an elementwise kernel, else one optimiser state per member."""

    flat: np.ndarray
    opt: Any
    step: int


@frozen(hash=False)
class _Views:
    """One ``(S, P)`` buffer of stacked rows and its layer views: ``params`` as the forward and backward passes
    read them, ``pieces`` the ``(w, b)`` pairs the backward pass writes into (laid out once, reused every step)."""

    flat: np.ndarray
    params: Params
    pieces: list[tuple[np.ndarray, np.ndarray]]


def _views(spec: NetworkSpec, flat: np.ndarray) -> _Views:
    pieces = _pieces(spec, flat)
    # Not a Params (whose layers are 2-D), but it has all that forward_trace and backward_into read of one.
    layers = tuple(_StackedLayer(w, b[:, None, :]) for w, b in pieces)
    return _Views(flat, cast(Params, _Stacked(spec, layers, flat.dtype)), pieces)


def _pieces(spec: NetworkSpec, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(w, b)`` views of the stacked rows ``flat``, shaped ``(S, in, out)`` and ``(S, out)``, per layer."""
    layout, _ = flat_layout(spec)
    count = len(flat)
    return [
        (flat[:, w_start : w_start + w_shape[0] * w_shape[1]].reshape(count, *w_shape), flat[:, b_start : b_start + b_shape[0]])
        for (w_start, w_shape), (b_start, b_shape) in layout
    ]


def _row(spec: NetworkSpec, flat: np.ndarray, member: int) -> Params:
    return params_from_flat(spec, flat[member].copy())


def _kernels(members: Sequence[_Member]) -> list[ElementwiseKernel] | None:
    """The members' elementwise kernels (of one state type, checked at the start), or None if one has none."""
    kernels = [m.optimizer.kernel for m in members]
    return None if any(k is None for k in kernels) else cast(list[ElementwiseKernel], kernels)


def _member_state(member: _Member, spec: NetworkSpec, opt: Any, row: int) -> Any:
    """The optimiser state of the member at ``row``, as its solo run holds it."""
    kernel = member.optimizer.kernel
    if not isinstance(opt, _Moments):
        return opt[row]
    assert kernel is not None  # moments are stacked only when every member has a kernel
    return kernel.state_type(opt.count, *(_row(spec, moment, row) for moment in opt.moments))


def _masks(spec: NetworkSpec, n: int, rates: Sequence[float], seeds: Sequence[int], epoch: int, step: int, dtype: np.dtype) -> list[np.ndarray | None] | None:
    """Each member's own dropout masks (drawn as :func:`fnn.fit` draws them), stacked per hidden layer."""
    if not rates:
        return None
    drawn = [cast(list, dropout_masks(spec, n, rates, seed, epoch, step, dtype)) for seed in seeds]
    return [None if layer[0] is None else np.stack(layer) for layer in zip(*drawn)]


CHUNK = 1 << 17
"""The most numbers one call of an optimiser's kernel takes: members whose parameters outgrow the cache are
updated a few rows at a time (elementwise work gives the same bytes however it is cut)."""


def _apply_kernels(
    kernels: Sequence[ElementwiseKernel], gradient: np.ndarray, moments: Sequence[np.ndarray], flat: np.ndarray, count: int
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The new parameters and moments by each member's kernel (``gradient`` is overwritten), as the solo fused
    step computes them: one call for members that share one kernel, else one call per member (its own constants)."""
    shared = all(k is kernels[0] for k in kernels)
    rows = max(1, CHUNK // flat.shape[1]) if shared else 1
    if rows >= len(flat):
        update, new_moments = kernels[0].run(gradient, list(moments), flat, count, add_params=True)
        return update, tuple(new_moments)
    stacked_moments = tuple(np.empty_like(m) for m in moments)
    for start in range(0, len(flat), rows):
        part, kernel = slice(start, start + rows), kernels[start]
        # the gradient's part is used up: it becomes the parameters
        _, new_moments = kernel.run(gradient[part], [m[part] for m in moments], flat[part], count, add_params=True)
        for whole, new in zip(stacked_moments, new_moments):
            whole[part] = new
    return gradient, stacked_moments


def _losses(template: Params, trace: Trace, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each member's batch loss (float64, the solo run's float) and the stacked gradient at the logits: in one
    pass over the stack for a loss that stacks (every built-in one: its sums run over each member's own last
    axes, in the solo order), else member by member through the solo functions."""
    loss: Any = template.spec.loss
    z, a = trace.pre[-1], trace.post[-1]
    if not loss.stacks:
        outputs = [Trace((), (z_s,), (a_s,), ()) for z_s, a_s in zip(z, a)]
        values = [loss_value(template, member, y) for member, y in zip(outputs, ys)]
        return np.array(values), np.stack([output_gradient(template, member, y) for member, y in zip(outputs, ys)])
    if loss.fused:
        grad = loss.grad_logits(z, a, ys)
    else:
        output: Any = template.spec.output_activation
        grad = output.backward(z, a, np.array(loss.derivative(a, ys), dtype=a.dtype, copy=True))
    return _stacked_values(loss, z, a, ys), grad


def _stacked_values(loss: Any, z: np.ndarray, a: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Each member's mean loss by a loss that stacks, as float64 (float32 to float64 is exact, as float() is)."""
    if loss.value_from_both is not None:
        stacked = loss.value_from_both(z, a, ys)
    else:
        stacked = loss.value_from_logits(z, ys) if loss.fused else loss.value(a, ys)
    return np.asarray(stacked, dtype=np.float64)


def _step(
    members: Sequence[_Member], kernels: list[ElementwiseKernel] | None, template: Params, carry: _Carry, views: _Views,
    spare: _Views, x: np.ndarray, ys: np.ndarray, masks: list[np.ndarray | None] | None, norms: Sequence[bool] | None,
) -> tuple[np.ndarray, Trace, _Carry, list[tuple[float, ...] | None] | None]:
    """One step of every member: the batches' losses, the stacked trace, the next carry and the gradient norms
    of the members in ``norms`` (None: of none). ``views`` are the layer views of ``carry.flat``; the gradient
    is written into ``spare`` (a buffer nothing else reads), which the elementwise kernels (the members', when
    their moments are stacked) turn into the next parameters in place. ``template`` is any member's params
    (only its spec is read)."""
    spec = template.spec
    trace = forward_trace(views.params, x, masks)
    values, grad_logits = _losses(template, trace, ys)
    gradient = spare.flat
    backward_into(views.params, trace, grad_logits, spare.pieces)
    grad_norms = None if norms is None else [gradient_norms(_row(spec, gradient, s)) if wanted else None for s, wanted in enumerate(norms)]
    if isinstance(carry.opt, _Moments):
        assert kernels is not None  # moments are stacked only when every member has a kernel
        update, new_moments = _apply_kernels(kernels, gradient, carry.opt.moments, carry.flat, carry.opt.count)
        return values, trace, _Carry(update, _Moments(carry.opt.count + 1, new_moments), carry.step + 1), grad_norms
    rows, states = [], []
    for s, (member, state) in enumerate(zip(members, carry.opt)):
        params = _row(spec, carry.flat, s)
        updates, state = member.optimizer.update(_row(spec, gradient, s), state, params)
        rows.append(flatten_params(apply_updates(params, updates)))
        states.append(state)
    return values, trace, _Carry(np.stack(rows), tuple(states), carry.step + 1), grad_norms


def _gather(data: Sequence[tuple[Any, np.ndarray]], rows: np.ndarray, shared: bool) -> np.ndarray:
    """The stacked batch ``x`` of the members' rows (``rows[s]`` indexes member ``s``'s own data; one gather
    when every member trains on the same data, ``shared``)."""
    if shared:
        x = data[0][0]
        if isinstance(x, np.ndarray):
            return x.take(rows, axis=0)
        return np.asarray(take_rows(x, rows.ravel())).reshape(*rows.shape, -1)
    return np.stack([np.asarray(take_rows(x, own)) for (x, _), own in zip(data, rows)])


def _targets(data: Sequence[tuple[Any, np.ndarray]], order: np.ndarray, shared: bool) -> np.ndarray:
    """The members' targets of the epoch, in the order of ``order`` (see :func:`_gather`): each step reads its
    batch's columns."""
    if shared:
        return data[0][1].take(order, axis=0)
    return np.stack([y[own] for (_, y), own in zip(data, order)])


def _epoch_order(members: Sequence[_Member], batch_size: int, epoch: int, shuffle: bool) -> np.ndarray:
    """``(S, n)``: each member's training rows in the order its solo run's batches take them, batch after batch
    (the rows :func:`~fnn.train.batches.minibatches` gives: the epoch's permutation, sorted within each batch)."""
    n = len(members[0].rows)
    if not shuffle:
        return np.stack([m.rows for m in members])
    order = np.stack([epoch_permutation(n, m.seed, epoch) for m in members])
    full = n - n % batch_size
    order[:, :full] = np.sort(order[:, :full].reshape(len(members), -1, batch_size), axis=-1).reshape(len(members), full)
    order[:, full:] = np.sort(order[:, full:], axis=-1)
    return np.stack([m.rows[own] for m, own in zip(members, order)])


def _classes(values: np.ndarray) -> np.ndarray:
    """The classes of stacked outputs or one-hot targets (a label array is its own), as the solo running
    metrics read them."""
    if values.ndim == 2:
        return values
    return values.argmax(axis=-1) if values.shape[-1] > 1 else values[..., 0] > 0.5


def _epoch(
    template: Params, data: Sequence[tuple[Any, np.ndarray]], members: Sequence[_Member],
    starts: Sequence[TrainState], carry: _Carry, options: TrainOptions, drop_rates: Sequence[float],
) -> tuple[_Carry, list[dict[str, Any]]]:
    """One epoch of every member: the carry after it and each member's running metrics (and diagnostics)."""
    spec, epoch = template.spec, starts[0].epoch
    seeds = [m.seed for m in members]
    count = len(members)
    sums = [RunningMetrics()] * count  # regression members' sums (per output), one by one
    observed: list[DiagnosticsAccumulator] | None = [start_diagnostics(spec)] * count if options.diagnostics else None
    # Each member's batches as rows of the data (the very rows its solo run gathers), gathered for all at once.
    order = _epoch_order(members, options.batch_size, epoch, options.shuffle)
    classifier = spec.is_classifier
    losses: list[np.ndarray] = []  # per step: each member's loss times its batch's samples
    predicted: list[np.ndarray] = []  # per step: the classes, compared with the true ones at the epoch's end
    penalised = any(m.optimizer.penalty is not None for m in members)
    shared = all(own is data[0] for own in data)
    targets = _targets(data, order, shared)
    kernels = _kernels(members) if isinstance(carry.opt, _Moments) else None
    views, spare = _views(spec, carry.flat), _views(spec, np.empty_like(carry.flat))
    for start in range(0, order.shape[1], options.batch_size):
        rows = order[:, start : start + options.batch_size]
        x, y = _gather(data, rows, shared), targets[:, start : start + options.batch_size]
        n = y.shape[1]
        masks = _masks(spec, n, drop_rates, seeds, epoch, carry.step, template.dtype)
        norms = [wants_norms(acc) for acc in observed] if observed is not None else None
        values, trace, done, grad_norms = _step(members, kernels, template, carry, views, spare, x, y, masks, norms)
        if penalised:
            values = np.array([_penalised(m.optimizer, float(value), spec, carry.flat, s) for s, (m, value) in enumerate(zip(members, values))])
        if not np.isfinite(values).all():
            s = int(np.flatnonzero(~np.isfinite(values))[0])
            raise TrainingDiverged(
                f"Training diverged for seed {members[s].seed}: the loss became {values[s]} at epoch {epoch + 1}, step "
                f"{carry.step + 1}. Lower the learning rate, scale the inputs, or clip gradients; that seed's last "
                f"finite params are in the error's .last_good and its state at the start of the epoch in .epoch_start.",
                epoch=epoch + 1, step=carry.step + 1, last_good=_row(spec, carry.flat, s), epoch_start=starts[s],
            )
        if classifier:
            losses.append(values * n)
            predicted.append(_classes(trace.post[-1]))
        else:
            sums = [total.add(float(value), outputs, targets, False) for total, value, outputs, targets in zip(sums, values, trace.post[-1], y)]
        if observed is not None:
            for s, member in enumerate(members):
                state = _member_state(member, spec, carry.opt, s)
                lr = member.optimizer.learning_rate(state) if member.optimizer.learning_rate is not None else None
                hidden = [post[s] for post in trace.post]
                observed[s] = accumulate(observed[s], hidden, cast(list, grad_norms)[s], _row(spec, carry.flat, s), _row(spec, done.flat, s), lr)
        # The old parameters' buffer is free: the next gradient goes there (a new carry's rows get new views).
        views, spare = (spare, views) if done.flat is spare.flat else (_views(spec, done.flat), views)
        carry = done
    if classifier:
        loss_sums = np.zeros(count)
        for step_sums in losses:  # in the order RunningMetrics.add sums them
            loss_sums = loss_sums + step_sums
        hits = np.count_nonzero(np.concatenate(predicted, axis=1) == _classes(targets), axis=-1)
        sums = [RunningMetrics(float(loss_sums[s]), order.shape[1], int(hits[s])) for s in range(count)]
    metrics = [total.metrics(classifier) for total in sums]
    if observed is not None:
        for s, acc in enumerate(observed):
            metrics[s]["diagnostics"] = finish(acc)
    return carry, metrics


def _penalised(optimizer: Optimizer, value: float, spec: NetworkSpec, flat: np.ndarray, row: int) -> float:
    return value + optimizer.penalty(_row(spec, flat, row)) if optimizer.penalty is not None else value


def _starts(start: Any, seeds: Sequence[int]) -> list[Params | TrainState]:
    """Each member's start: its own initial params from the spec, one ``Params`` for all, or the ones given."""
    if isinstance(start, NetworkSpec):
        return [init_params(start, seed) for seed in seeds]
    if isinstance(start, Params):
        return [start] * len(seeds)
    if not isinstance(start, (list, tuple)) or len(start) != len(seeds):
        raise bad_argument("fit_seeds", "start", f"a NetworkSpec, Params, or a list of {len(seeds)} Params or TrainStates (one per seed)", type(start).__name__)
    given = [one.seed for one in start if isinstance(one, TrainState)]
    if given and given != [seed for one, seed in zip(start, seeds) if isinstance(one, TrainState)]:
        raise bad_argument("fit_seeds", "seeds", f"the seeds of the states given ({given})", list(seeds))
    return list(start)


def _one_network(states: Sequence[TrainState], function: str) -> None:
    first = states[0]
    for state in states[1:]:
        if state.params.spec != first.params.spec or state.params.dtype != first.params.dtype or (state.epoch, state.step) != (first.epoch, first.step):
            raise bad_argument(
                function, "start", "members of one network, dtype, epoch and step",
                f"{state.params.spec!r} {state.params.dtype} at epoch {state.epoch}, step {state.step} beside "
                f"{first.params.spec!r} {first.params.dtype} at epoch {first.epoch}, step {first.step}",
            )


def _check_seeds(seeds: Any) -> list[int]:
    """The seeds as ints by the one rule of seeds (:data:`~fnn.train.options.SEEDS_CHECK`, a sweep's too)."""
    try:
        return list(SEEDS_CHECK(seeds))
    except BadValue as expected:
        raise bad_argument("fit_seeds", "seeds", str(expected), seeds) from None


def _first_carry(members: Sequence[_Member], states: Sequence[TrainState], function: str) -> _Carry:
    flat = np.stack([flatten_params(state.params) for state in states])
    kernels = _kernels(members)
    if kernels is None:
        return _Carry(flat, tuple(state.opt_state for state in states), states[0].step)
    kinds = {(k.state_type, k.moments) for k in kernels}
    if len(kinds) != 1:
        raise bad_argument(function, "optimizers", "optimisers of one kind (one state type), differing in settings only",
                           [m.optimizer.name for m in members])
    moments = [k.moments_of(function, state.opt_state, state.params) for k, state in zip(kernels, states)]
    counts = {state.opt_state.count for state in states}
    if len(counts) != 1:
        raise bad_argument(function, "start", "optimiser states at one update count", sorted(counts))
    stacked = tuple(np.stack([flatten_params(own[k]) for own in moments]) for k in range(len(kernels[0].moments)))
    return _Carry(flat, _Moments(counts.pop(), stacked), states[0].step)


def _keep(carry: _Carry, rows: list[int]) -> _Carry:
    """The carry of the members at ``rows`` only (the others have stopped)."""
    if isinstance(carry.opt, _Moments):
        return _Carry(carry.flat[rows], _Moments(carry.opt.count, tuple(m[rows] for m in carry.opt.moments)), carry.step)
    return _Carry(carry.flat[rows], tuple(carry.opt[r] for r in rows), carry.step)


def _improved(state: TrainState, best: TrainState | None, options: TrainOptions) -> bool:
    """Whether ``state`` is better than ``best`` on ``monitor``, by the rule of :func:`fnn.early_stopping`."""
    monitor = options.monitor
    value = state.history[-1].value(monitor)
    if value is None:
        raise FnnInputError(
            f"Early stopping monitors {monitor!r}, which this run does not record; give validation data "
            f"(validation=...) or monitor 'loss'."
        )
    if best is None:
        return True
    best_value = best.history[-1].value(monitor)
    return bool(value > best_value if greater_is_better(monitor, options.metrics) else value < best_value)


_ONE_KIND = "options that differ in optimizer (of one kind), seed and validation only"


def _check_options(options: Sequence[TrainOptions], function: str) -> TrainOptions:
    """The options every member shares (the first's), once each member's own optimiser, seed and validation are
    set aside; refused unless all agree and leave out what trains one run at a time."""
    first = options[0]
    for name in ("sample_weight", "class_weight"):
        value = getattr(first, name)
        if value is not None:  # a weighted loss is computed one run at a time
            shown = f"an array of shape {np.shape(value)}" if isinstance(value, np.ndarray) else value
            raise bad_argument(function, name, f"None ({function} trains unweighted runs; use fnn.fit per seed)", shown)
    shared = evolve(first, seed=None, validation=None)
    for own in options[1:]:
        if evolve(own, optimizer=first.optimizer, seed=None, validation=None) != shared or own.sample_weight is not None:
            raise bad_argument(function, "options", _ONE_KIND, own)
    return first


def fit_stacked(
    starts: Sequence[Params | TrainState], data: Sequence[Any], options: Sequence[TrainOptions], *, epochs: int,
    check: Callable[[int, TrainState], Any] | None = None, diverge: bool = False,
) -> tuple[tuple[TrainState, TrainState], ...]:
    """Member ``i`` is ``fnn.fit(starts[i], data[i], epochs=epochs, options=options[i])``, all trained as one
    stacked computation: per member ``(final, last)``, the best state under early stopping (``patience``) and the
    last one trained, the bytes of the solo run's. With ``diverge``, a member stops the call with
    :class:`fnn.TrainingDiverged` where its solo ``fnn.fit`` would (the rule of
    :func:`~fnn.train.loop.stop_on_divergence`, its limit from its own start).

    The members share one network (shapes, activations, loss, dtype), epoch and step, as many training rows each,
    and options that differ only in ``optimizer`` (of one kind), ``seed`` and ``validation``; their data may
    differ (each its own split or standardisation). ``check(i, state)`` sees member ``i``'s state after each
    epoch it trains (to refuse a diverging run: what it raises ends the call).

    >>> spec = fnn.network([2, 4, 1], activation="tanh", loss="binary_cross_entropy")
    >>> parts = [fnn.data.moons(40, seed=seed) for seed in (0, 1)]
    >>> from fnn.train.options import train_options
    >>> opts = [train_options(lr=lr, seed=seed, batch_size=8) for lr, seed in ((0.5, 0), (0.1, 1))]
    >>> runs = fit_stacked([fnn.init_params(spec, seed=0)] * 2, parts, opts, epochs=2)
    >>> runs[1][0].params == fnn.fit(fnn.init_params(spec, seed=0), parts[1], epochs=2, options=opts[1]).params
    True
    """
    if not isinstance(starts, (list, tuple)) or not starts or not isinstance(data, (list, tuple)) or not isinstance(options, (list, tuple)) \
            or not len(starts) == len(data) == len(options):
        raise bad_argument("fit_stacked", "starts", "non-empty lists of starts, data and options, one of each per member",
                           [type(part).__name__ for part in (starts, data, options)])
    return _fit(starts, data, options, epochs, check, diverge, "fit_stacked")


def _fit(starts: Sequence[Params | TrainState], data: Sequence[Any], options: Sequence[TrainOptions], epochs: int,
         check: Callable[[int, TrainState], Any] | None, diverge: bool, function: str) -> tuple[tuple[TrainState, TrainState], ...]:
    count = check_epochs(function, epochs) or 0
    shared = _check_options(options, function)
    starts = [_in_dtype(start, shared.dtype, function) for start in starts]
    states = [start_state(start, own.optimizer, own.seed, function) for start, own in zip(starts, options)]
    _one_network(states, function)
    if count == 0:
        return tuple((state, state) for state in states)
    template = states[0].params
    if shared.patience is not None:
        check_monitor(template, shared.monitor, function)
    with _blas(shared.threads)():  # the whole call, as fit's every epoch and its divergence limit
        return _prepared(template, states, data, options, shared, count, check, diverge, function)


def _prepared(template: Params, states: list[TrainState], data: Sequence[Any], options: Sequence[TrainOptions], shared: TrainOptions,
              count: int, check: Callable[[int, TrainState], Any] | None, diverge: bool, function: str) -> tuple[tuple[TrainState, TrainState], ...]:
    """:func:`_fit` once the members' states are made: their data prepared and split, then trained."""
    prepared: dict[int, tuple[Any, np.ndarray]] = {}
    members, own_data, trained_on = [], [], []
    for state, part, own in zip(states, data, options):
        if id(part) not in prepared:
            prepared[id(part)] = prepare_data(template, part, function)
        x, y = own_part = prepared[id(part)]
        # The split of the row numbers is the split fit makes of the data (take_rows of an index is its rows).
        (rows, _, _), split = _validation_data(template, own.validation, (np.arange(len(y)), y, None), state.seed, function)
        val = None if split is None else split[:2]
        if val is not None and isinstance(own.validation, float):
            val = (take_rows(x, val[0]), val[1])
        held_out = isinstance(own.validation, float)  # fit trains on the rows it keeps, else on the data whole
        members.append(_Member(state.seed, rows, val, _training_part(own_part, rows, held_out) if shared.train_metrics else None, own.optimizer))
        trained_on.append((own_part, rows, held_out))
        own_data.append(own_part)  # the very object for members of one data set: one gather serves them all
    sizes = {len(m.rows) for m in members}
    if 0 in sizes:
        raise bad_argument(function, "data", "at least one sample", 0)
    if len(sizes) != 1:  # a stratified split holds out the same count for every seed; this guards the assumption
        raise bad_argument(function, "data", "as many training samples for every member", sorted(sizes))
    sizes_text = "-".join(map(str, template.spec.sizes))
    require_memory(len(members) * training_bytes(template.spec.sizes, template.dtype.itemsize, min(shared.batch_size, sizes.pop())),
                   f"{function}: training {len(members)} members of the network {sizes_text} ({template.dtype}) with batch_size {shared.batch_size}")
    return _train(template, own_data, members, states, shared, count, _diverging(check, states, trained_on) if diverge else check, function)


def _train(
    template: Params, data: Sequence[tuple[Any, np.ndarray]], members: Sequence[_Member], states: list[TrainState],
    options: TrainOptions, count: int, check: Callable[[int, TrainState], Any] | None, function: str,
) -> tuple[tuple[TrainState, TrainState], ...]:
    """``count`` epochs of every member (each stopping on its own under ``options.patience``): ``(final, last)``."""
    drop_rates = dropout_rates(template.spec, options.drop_rate, function)
    carry = _first_carry(members, states, function)
    active = list(range(len(members)))
    best: list[TrainState | None] = [None] * len(members)
    val = _stacked_validation(template, members, options)
    for _ in range(count):
        carry, metrics = _epoch(template, [data[i] for i in active], [members[i] for i in active], [states[i] for i in active],
                                carry, options, drop_rates)
        if val is not None:
            own_val = val if len(active) == len(members) else (val[0][active], val[1][active])
            for own, scores in zip(metrics, _validation_metrics(template, own_val, carry.flat)):
                own.update(scores)
        going = []
        for row, (index, own) in enumerate(zip(active, metrics)):
            states[index] = state = _epoch_end(members[index], states[index], carry, row, own, options, val is None)
            if check is not None:
                check(index, state)
            if options.patience is not None:
                if _improved(state, best[index], options):
                    best[index] = state
                elif state.epoch - cast(TrainState, best[index]).epoch >= options.patience:
                    continue
            going.append(row)
        if not going:
            break
        if len(going) < len(active):
            carry = _keep(carry, going)
            active = [active[row] for row in going]
    return tuple((cast(TrainState, b) if options.patience is not None else s, s) for b, s in zip(best, states))


def fit_seeds(
    start: NetworkSpec | Params | Sequence[Params | TrainState],
    data: Any,
    *,
    seeds: Sequence[int],
    epochs: int,
    optimizers: Sequence[Optimizer | str] | None = None,
    options: TrainOptions | None = None,
    **keywords: Any,
) -> tuple[TrainState, ...]:
    """Train one network from each of ``seeds`` as one stacked computation: one :class:`TrainState` per seed,
    in order, whose params, optimiser state and history are the bytes of ``fnn.fit(..., seed=s)`` (same BLAS
    kernel and thread count).

    ``start`` is a spec (member ``s`` starts from ``init_params(spec, seed=s)``), one ``Params`` for every
    member, or one ``Params`` or ``TrainState`` per seed (of one network, epoch and step). The options are
    :func:`fnn.fit`'s, each with fit's meaning (a schedule's epochs, ``dtype``, ``threads``, ``metrics``, ...),
    but for ``seed`` (each member's is in ``seeds``) and the weighted losses ``sample_weight`` and ``class_weight``
    (fit trains those one seed at a time); with ``patience`` each member stops on its own and returns its best
    state while the others go on; a float ``validation`` splits each member's part by its own seed.
    ``optimizers``, one per seed, gives each member its own optimiser (of one kind: e.g. SGD with another learning
    rate or momentum, AdamW with another weight decay) in place of the keywords that build one (``optimizer``,
    ``lr``, ``momentum``, ``weight_decay``, ``schedule``, ``clip_norm``, ``l2``). A member that diverges by fit's
    rule (its loss not finite, or an epoch's above :data:`~fnn.train.loop.DIVERGENCE_FACTOR` times its start's)
    raises :class:`fnn.TrainingDiverged` for the call, naming its seed. Members with data of their own:
    :func:`fit_stacked`.

    Memory: the parameters, the gradient, the update and each optimiser moment take S times one run's (Adam: 5 x S
    x parameters x itemsize); the forward pass keeps each layer's input, pre- and post-activation for S x batch
    rows; a float ``validation`` gives each member its own copy of its validation part. S times one run's step
    is estimated first and refused, before anything is allocated, if it is more than the memory available.

    >>> spec = fnn.network([2, 4, 1], activation="tanh", loss="binary_cross_entropy")
    >>> states = fnn.fit_seeds(spec, fnn.data.moons(40, seed=0), seeds=[3, 4], epochs=2, optimizer="adam", lr=0.01)
    >>> [(s.seed, s.epoch, s.step) for s in states]
    [(3, 2, 4), (4, 2, 4)]
    """
    seed_list = _check_seeds(seeds)
    if keywords.get("seed") is not None or (options is not None and options.seed is not None):
        raise bad_argument("fit_seeds", "seed", "None (each member's seed is in seeds=[...])", keywords.get("seed", options and options.seed))
    own_optimizers = _optimizers(optimizers, keywords, len(seed_list))
    starts = _starts(start, seed_list)
    # a schedule's epochs are steps of the first member's training part: every member's has as many rows
    options = _options("fit_seeds", options, keywords, starts[0], data, check_epochs("fit_seeds", epochs))
    member_options = [evolve(options, optimizer=optimizer, seed=None if isinstance(one, TrainState) else seed)
                      for one, optimizer, seed in zip(starts, own_optimizers or [options.optimizer] * len(starts), seed_list)]
    return tuple(final for final, _ in _fit(starts, [data] * len(starts), member_options, epochs, None, True, "fit_seeds"))


_OPTIMIZER_KEYWORDS = tuple(name for name in inspect.signature(resolve_optimizer).parameters if name in FIT_KEYWORDS)
"""fit's keywords that build its optimiser, which ``optimizers=[...]`` gives whole."""


def _optimizers(optimizers: Any, keywords: dict[str, Any], count: int) -> list[Optimizer] | None:
    if optimizers is None:
        return None
    if not isinstance(optimizers, (list, tuple)) or len(optimizers) != count:
        raise bad_argument("fit_seeds", "optimizers", f"a list of {count} optimisers (one per seed)", optimizers)
    for name in _OPTIMIZER_KEYWORDS:
        if keywords.get(name) is not None:
            raise bad_argument("fit_seeds", name, "left out when optimizers=[...] gives each member its own (build each with it)", keywords[name])
    return [resolve_optimizer(optimizer, None, "fit_seeds") for optimizer in optimizers]


def _training_part(data: tuple[Any, np.ndarray], rows: np.ndarray, held_out: bool) -> tuple[Any, np.ndarray]:
    """The ``rows`` of the prepared ``data`` that fit trains on: those it keeps after holding out validation,
    else the data whole."""
    x, y = data
    return (take_rows(x, rows), y[rows]) if held_out else data


def _diverging(check: Callable[[int, TrainState], Any] | None, starts: Sequence[TrainState],
               data: Sequence[tuple[tuple[Any, np.ndarray], np.ndarray, bool]]) -> Callable[[int, TrainState], Any]:
    """``check`` after fit's divergence rule for member ``i`` from ``starts[i]`` trained on its training part of
    ``data[i]`` (the arguments of :func:`_training_part`); its error names the member's seed and carries its
    state before the epoch.

    The limit is computed only when a loss could exceed it, as fit's is (:func:`~fnn.train.loop.stop_on_divergence`)."""
    begun, previous = list(starts), list(starts)  # the states it started from, and each one's last good one
    limits: dict[int, float] = {}  # each member's, once computed (its training part is gathered only then)

    def checked(member: int, state: TrainState) -> None:
        def limit() -> float:
            if member not in limits:
                limits[member] = divergence_limit(begun[member].params, *_training_part(*data[member]))
            return limits[member]

        try:
            for _ in stop_on_divergence([state], previous[member], limit):
                previous[member] = state
        except TrainingDiverged as error:
            raise TrainingDiverged(f"Seed {state.seed}: {error}", epoch=error.epoch, step=error.step,
                                   last_good=error.last_good, epoch_start=error.epoch_start) from None
        if check is not None:
            check(member, state)

    return checked


def _stacked_validation(template: Params, members: Sequence[_Member], options: TrainOptions) -> tuple[np.ndarray, np.ndarray] | None:
    """The members' validation parts stacked to ``(S, n, ...)``, where fit's validation metrics of all members
    can be had in one stacked pass: a loss that stacks, no ``metrics`` of one's own, parts of one size that
    :func:`fnn.evaluate` scores in one pass (its sums are then those of one batch); else None."""
    parts = [m.val for m in members]
    if options.metrics or not template.spec.loss.stacks:
        return None
    if any(part is None or not isinstance(part[0], np.ndarray) for part in parts):
        return None
    own = cast(list[tuple[np.ndarray, np.ndarray]], parts)
    sizes = {len(y) for _, y in own}
    if len(sizes) != 1 or not 0 < sizes.pop() <= BATCH_SIZE:
        return None
    return np.stack([x for x, _ in own]), np.stack([y for _, y in own])


def _validation_metrics(template: Params, val: tuple[np.ndarray, np.ndarray], flat: np.ndarray) -> list[dict[str, float]]:
    """Each member row of ``flat``'s ``val_loss`` and ``val_accuracy`` (or ``val_r2``) on its part of the
    stacked ``val``: the floats :func:`fnn.evaluate` gives for one batch, from one stacked forward pass."""
    x, y = val
    spec, n = template.spec, x.shape[1]
    trace = forward_trace(_views(spec, flat).params, x)
    values = _stacked_values(spec.loss, trace.pre[-1], trace.post[-1], y)
    scores = []
    for value, outputs, targets in zip(values, trace.post[-1], y):
        loss = (0.0 + float(value) * n) / n  # evaluate's running total of one batch, then its mean
        if spec.is_classifier:
            scores.append({"val_loss": loss, "val_accuracy": int(np.count_nonzero(classes_from_outputs(outputs) == class_labels_of(targets))) / n})
        else:
            scores.append({"val_loss": loss, "val_r2": r2_score(targets, outputs)})
    return scores


def _epoch_end(member: _Member, previous: TrainState, carry: _Carry, row: int, metrics: dict[str, Any], options: TrainOptions,
               validate: bool) -> TrainState:
    """The member's state after the epoch, its record (with validation metrics, computed here if ``validate``,
    and the chosen ``metrics``, as fit computes them) added to its history."""
    spec = previous.params.spec
    params = _row(spec, carry.flat, row)
    if validate and member.val is not None:
        metrics.update(_epoch_metrics(params, (*member.val, None), options.metrics, "val_", False))
    if member.train is not None:
        metrics.update(_epoch_metrics(params, (*member.train, None), options.metrics, "", True))
    opt_state = _member_state(member, spec, carry.opt, row)
    lr = member.optimizer.learning_rate(opt_state) if member.optimizer.learning_rate else None
    named = {name: metrics.pop(name) for name in list(metrics) if name not in _RECORD_FIELDS}
    record = EpochRecord(previous.epoch + 1, carry.step, lr, **metrics, metrics=named)
    return TrainState(params, opt_state, previous.epoch + 1, carry.step, member.seed, previous.history.append(record))
