"""Training as folds: a step folds a batch into the parameters, an epoch folds its batches, a run folds epochs.

``run_epoch`` is ``reduce(step, minibatches(...), start)``; :func:`iterate_epochs` is the lazy sequence of the
training states after each epoch, so progress, logging, early stopping and checkpoints are composed from outside
with toolz and itertools (``take``, ``takewhile``, ``last``) instead of hooks that mutate things; :func:`fit` takes a number of
them. How to train (optimiser, batch size, seed, validation, dropout, ...) is one :class:`~fnn.train.options.TrainOptions`
record, given as ``options=`` or as the same keyword arguments. Nothing is mutated and no global random state is used: the same seed gives bit-identical parameters, and a
run continued from any returned state is bit-identical to an uninterrupted one.

>>> data = fnn.data.moons(200, noise=0.1, seed=0)
>>> spec = fnn.network([2, 16, 1], loss="binary_cross_entropy", activation="tanh")
>>> state = fnn.fit(fnn.init_params(spec, seed=0), data, epochs=2, lr=0.5, batch_size=20, seed=0)
>>> more = fnn.fit(state, data, epochs=3, lr=0.5, batch_size=20)
>>> five = fnn.fit(fnn.init_params(spec, seed=0), data, epochs=5, lr=0.5, batch_size=20, seed=0)
>>> more.params == five.params, more.epoch, len(more.history)
(True, 5, 5)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

import numpy as np
from attrs import evolve, frozen
from threadpoolctl import ThreadpoolController
from toolz import last, reduce, take

from fnn.arrays import all_finite
from fnn.core.losses import class_weights, sample_weights
from fnn.core.metrics import classes_from_outputs, evaluate
from fnn.core.params import Params, map_arrays
from fnn.core.scores import Metric, greater_is_better
from fnn.core.validate import check_features, class_labels_of, prepare_targets
from fnn.data.dataset import Dataset
from fnn.data.lazy import take_rows
from fnn.data.transforms import stratified_split_indices
from fnn.errors import Described, FnnInputError, TrainingDiverged, bad_argument
from fnn.limits import require_memory, training_bytes
from fnn.optim.base import ElementwiseKernel, Optimizer
from fnn.train.batches import batch_count, minibatches
from fnn.train.diagnostics import DiagnosticsAccumulator, accumulate, finish, start_diagnostics, wants_norms
from fnn.train.dropout import dropout_masks, dropout_rates
from fnn.train.fused import Flats, flat_state, flat_step, step_flats
from fnn.train.options import TrainOptions, _checked, _validation, check_epochs, check_keywords, train_options
from fnn.train.state import EpochRecord, History, TrainState
from fnn.train.step import composed_step

Batch = tuple[Any, np.ndarray]
Weighted = tuple[Any, np.ndarray, np.ndarray | None]
"""A prepared batch or data set with its sample weights (None: unweighted)."""


def prepare_data(params: Params, data: Any, function: str = "fit", name: str = "data") -> tuple[Any, np.ndarray]:
    """Check a data set once and return ``(x, y)`` ready for the unchecked step functions."""
    if isinstance(data, Dataset):
        x, y = data.as_tuple()
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    elif isinstance(data, (str, os.PathLike)):
        raise bad_argument(function, name, "a fnn.Dataset or a pair (x, y), not a path (read the file first, e.g. with "
                           "fnn.data.load_csv or fnn.data.load_mnist)", os.fspath(data))
    else:
        raise bad_argument(function, name, "a fnn.Dataset or a pair (x, y)", type(data).__name__)
    x = check_features(params, x, function, f"{name} features")
    return x, prepare_targets(params, y, len(x), function, f"{name} labels")


def _state_kind(state: Any) -> str:
    """An optimiser state's kind, by its types: ``AdamState``, ``ChainState(EmptyState, SgdState)``."""
    inner = getattr(state, "states", None)
    parts = f"({', '.join(map(_state_kind, inner))})" if isinstance(inner, tuple) else ""
    return type(state).__name__ + parts


def start_state(start: Params | TrainState, optimizer: Optimizer, seed: int | None = None, function: str = "fit") -> TrainState:
    """A :class:`TrainState` to train from: ``start`` itself, or fresh around ``start``'s params.

    The state's ``step`` is the run's one step counter (dropout masks, the history, divergence reports); an
    optimiser's own ``count`` starts at 0 with it here and advances with it on every update, so the two agree.
    """
    if isinstance(start, TrainState):
        if seed is not None and seed != start.seed:
            raise bad_argument(function, "seed", f"None or the state's own seed {start.seed} when resuming", seed)
        if isinstance(start.params, Params) and _state_kind(optimizer.init(start.params)) != _state_kind(start.opt_state):
            raise bad_argument(function, "optimizer", f"the kind the state was trained with ({_state_kind(start.opt_state)}) "
                               "when resuming: give the optimizer, l2 and clip_norm it was trained with", Described(optimizer.name))
        return start
    if not isinstance(start, Params):
        raise bad_argument(function, "start", "fnn.Params or a fnn.TrainState", type(start).__name__)
    seed = 0 if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise bad_argument(function, "seed", "a non-negative int", seed)
    return TrainState(params=start, opt_state=optimizer.init(start), epoch=0, step=0, seed=int(seed), history=History())


@frozen(hash=False)
class RunningMetrics:
    """The sums an epoch's running metrics are made of: loss times samples, samples, hits (classifiers), and
    squared errors, target sums and target squares per output (regression); in a weighted run each sample
    counts its weight."""

    loss_sum: float = 0.0
    count: float = 0
    hits: float = 0
    sq_err: float | np.ndarray = 0.0
    y_sum: float | np.ndarray = 0.0
    y_sq: float | np.ndarray = 0.0

    def add(self, value: float, outputs: np.ndarray, y: np.ndarray, is_classifier: bool, weights: np.ndarray | None = None) -> RunningMetrics:
        """These sums with one more batch of ``outputs`` for targets ``y`` and mean loss ``value`` (weighted by
        ``weights`` if given)."""
        n = len(outputs) if weights is None else float(np.sum(weights))
        w = 1 if weights is None else weights[:, None]
        if is_classifier:
            right = classes_from_outputs(outputs) == class_labels_of(y)
            hits = self.hits + (int(np.count_nonzero(right)) if weights is None else float(np.sum(weights * right)))
            return RunningMetrics(self.loss_sum + value * n, self.count + n, hits, self.sq_err, self.y_sum, self.y_sq)
        targets = y.reshape(outputs.shape).astype(np.float64)
        return evolve(
            self,
            loss_sum=self.loss_sum + value * n,
            count=self.count + n,
            sq_err=self.sq_err + np.sum(w * (outputs - targets) ** 2, axis=0),
            y_sum=self.y_sum + np.sum(w * targets, axis=0),
            y_sq=self.y_sq + np.sum(w * targets**2, axis=0),
        )

    def metrics(self, is_classifier: bool) -> dict[str, Any]:
        """``loss`` and ``accuracy`` (classifiers) or ``r2`` (regression), as means over the epoch."""
        if is_classifier:
            return {"loss": self.loss_sum / self.count, "accuracy": self.hits / self.count}
        total = self.y_sq - self.y_sum**2 / self.count
        r2 = float(np.mean(1 - self.sq_err / np.maximum(total, np.finfo(np.float64).tiny)))
        return {"loss": self.loss_sum / self.count, "r2": r2}


Pending = tuple[tuple[float, np.ndarray, np.ndarray, np.ndarray | None], ...]
"""Steps whose running metrics are not yet summed: ``(loss, outputs, y, weights)`` each, in order."""
EpochCarry = tuple[Params, Any, int, RunningMetrics, Pending, DiagnosticsAccumulator | None, Flats | None]
"""What the epoch's fold carries from step to step, a plain tuple (a record a step costs more than its
fields): ``(params, opt_state, step, sums, pending, diagnostics, flats)``: the parameters and optimiser state,
the run's step counter, the running metric sums, the steps not yet in the sums (see :func:`_fold_pending`), and
the diagnostics accumulator (None when the run gathers none). On the fused path, after its first step, ``flats``
holds the flat vectors of the parameters and moments and ``opt_state`` is the number of updates made: the fold
builds the state's records once, at its end (:func:`_carried_state`), not on every step."""

_PENDING_OUTPUTS = 1 << 16
"""How many output numbers of an epoch's steps wait for one argmax (at most 64 steps): few NumPy calls a step,
bounded memory."""


def _pending_steps(batch_size: int, outputs: int) -> int:
    """How many steps' outputs :func:`_fold_pending` takes at once, for batches of ``batch_size`` rows."""
    return max(1, min(64, _PENDING_OUTPUTS // max(1, batch_size * outputs)))


def _fold_pending(sums: RunningMetrics, pending: Pending, is_classifier: bool) -> RunningMetrics:
    """``sums`` with the steps ``pending`` as ``(loss, outputs, y, weights)`` added, in their order: the same floats
    as one :meth:`RunningMetrics.add` a step; an unweighted classifier's hits are counted in one argmax."""
    if not pending:
        return sums
    if not is_classifier or any(weights is not None for *_, weights in pending):
        return reduce(lambda done, one: done.add(one[0], one[1], one[2], is_classifier, one[3]), pending, sums)
    loss_sum, count = sums.loss_sum, sums.count
    for value, outputs, _, _ in pending:
        loss_sum, count = loss_sum + value * len(outputs), count + len(outputs)
    outputs = np.concatenate([one[1] for one in pending])
    right = classes_from_outputs(outputs) == class_labels_of(np.concatenate([one[2] for one in pending]))
    return RunningMetrics(loss_sum, count, sums.hits + int(np.count_nonzero(right)), sums.sq_err, sums.y_sum, sums.y_sq)


def _carried_state(carry: EpochCarry, kernel: ElementwiseKernel | None) -> Any:
    """The optimiser state ``carry`` stands for."""
    params, opt_state, *_, flats = carry
    if flats is None or kernel is None:
        return opt_state
    return flat_state(kernel, params.spec, opt_state, flats)


def _epoch_step(
    optimizer: Optimizer, seed: int, epoch: int, drop_rates: Sequence[float], epoch_start: TrainState, batch_size: int
) -> Callable[[EpochCarry, Weighted], EpochCarry]:
    """The step of the epoch's fold: ``EpochCarry x batch -> EpochCarry``."""
    penalty, kernel, spec = optimizer.penalty, optimizer.kernel, epoch_start.params.spec
    is_classifier = spec.is_classifier
    flush = _pending_steps(batch_size, spec.sizes[-1])

    def step(carry: EpochCarry, batch: Weighted) -> EpochCarry:
        params, opt_state, step_number, sums, pending, observed, flats = carry
        x, y, weights = batch
        masks = dropout_masks(spec, len(x), drop_rates, seed, epoch, step_number, params.dtype) if drop_rates else None
        norms = observed is not None and wants_norms(observed)
        if kernel is not None:
            if flats is None:
                flats, count = step_flats(kernel, params, opt_state), opt_state.count
            else:
                count = opt_state
            fused = flat_step(kernel, params, count, flats, x, y, masks, norms, weights)
            value, trace, new_params, grad_norms = fused.loss, fused.trace, fused.params, fused.grad_norms
            new_state, new_flats = count + 1, fused.flats
        else:
            done = composed_step(optimizer, params, opt_state, x, y, masks, norms, weights)
            value, trace, new_params, grad_norms = done.loss, done.trace, done.params, done.grad_norms
            new_state, new_flats = done.opt_state, None
        if penalty is not None:
            value += penalty(params)
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"Training diverged: the loss became {value} at epoch {epoch + 1}, step {step_number + 1} "
                f"(batch {step_number - epoch_start.step + 1} of the epoch). "
                f"Lower the learning rate, scale the inputs, or clip gradients; the last finite params are in "
                f"the error's .last_good and the state at the start of the epoch in .epoch_start.",
                epoch=epoch + 1,
                step=step_number + 1,
                last_good=params,
                epoch_start=epoch_start,
            )
        if observed is not None:
            lr = optimizer.learning_rate(_carried_state(carry, kernel)) if optimizer.learning_rate is not None else None
            observed = accumulate(observed, trace.post, grad_norms, params, new_params, lr)
        pending = (*pending, (value, trace.post[-1], y, weights))
        if len(pending) >= flush:
            sums, pending = _fold_pending(sums, pending, is_classifier), ()
        return new_params, new_state, step_number + 1, sums, pending, observed, new_flats

    return step


def _weighted_batches(x: Any, y: np.ndarray, weights: np.ndarray | None, batch_size: int, seed: int, epoch: int, shuffle: bool) -> Iterator[Weighted]:
    """The epoch's batches with their weights: the weights are batched in the same order (it depends only on
    the number of rows, the seed and the epoch)."""
    batches = minibatches(x, y, batch_size, seed, epoch, shuffle)
    if weights is None:
        return ((xb, yb, None) for xb, yb in batches)
    return ((xb, yb, wb) for (xb, yb), (wb, _) in zip(batches, minibatches(weights, weights, batch_size, seed, epoch, shuffle)))


def _observed(batches: Iterable[Weighted], on_batch: Callable[[int], Any]) -> Iterator[Weighted]:
    for index, batch in enumerate(batches):
        on_batch(index)
        yield batch


def run_epoch(
    state: TrainState,
    x: Any,
    y: np.ndarray,
    optimizer: Optimizer,
    batch_size: int,
    drop_rates: Sequence[float] = (),
    shuffle: bool = True,
    on_batch: Callable[[int], Any] | None = None,
    diagnostics: bool = False,
    weights: np.ndarray | None = None,
) -> tuple[TrainState, dict[str, Any]]:
    """One epoch as ``reduce(step, minibatches, carry)``: the next state (history not yet extended) and the
    epoch's running training metrics. ``x`` and ``y`` must be prepared (see :func:`prepare_data`).
    ``on_batch(index)``, if given, is told of each batch before it is used (for a progress bar). With
    ``diagnostics``, the metrics also hold the epoch's :class:`~fnn.train.diagnostics.EpochDiagnostics` under
    ``"diagnostics"``, gathered inside the steps; they never change the parameters. ``weights`` (one per row,
    from :func:`fnn.core.losses.sample_weights`) weigh each batch's loss and the running metrics.

    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> x, y = prepare_data(params, (np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])))
    >>> state, metrics = fnn.run_epoch(start_state(params, fnn.optim.sgd(0.1)), x, y, fnn.optim.sgd(0.1), 2)
    >>> state.epoch, state.step, sorted(metrics)
    (1, 2, ['accuracy', 'loss'])
    """
    step = _epoch_step(optimizer, state.seed, state.epoch, drop_rates, state, batch_size)
    batches = _weighted_batches(x, y, weights, batch_size, state.seed, state.epoch, shuffle)
    if on_batch is not None:
        batches = _observed(batches, on_batch)
    observed = start_diagnostics(state.params.spec) if diagnostics else None
    start: EpochCarry = (state.params, state.opt_state, state.step, RunningMetrics(), (), observed, None)
    end = reduce(step, batches, start)
    params, _, step_count, sums, pending, observed, _ = end
    is_classifier = params.spec.is_classifier
    metrics: dict[str, Any] = _fold_pending(sums, pending, is_classifier).metrics(is_classifier)
    if observed is not None:
        metrics["diagnostics"] = finish(observed)
    opt_state = _carried_state(end, optimizer.kernel)
    return evolve(state, params=params, opt_state=opt_state, epoch=state.epoch + 1, step=step_count), metrics


def validation_split(params: Params, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train_index, validation_index)`` of prepared targets ``y``: by class for a classifier, from ``seed``.
    The run engine uses it too, to count the steps of an epoch on the real training part."""
    return stratified_split_indices(class_labels_of(y) if params.spec.is_classifier else y, fraction, seed, part="validation")


def _validation_data(params: Params, validation: Any, train: Weighted, seed: int, function: str) -> tuple[Weighted, Weighted | None]:
    """``(train, validation)`` as prepared arrays with their sample weights; a float ``validation`` splits
    ``train`` (and its weights) by class, seeded; validation data given apart may carry weights as ``(x, y, w)``."""
    if validation is None:
        return train, None
    x, y, weights = train
    if isinstance(validation, float):
        train_index, val_index = validation_split(params, y, validation, seed)
        part = (lambda index: None) if weights is None else (lambda index: weights[index])
        return (take_rows(x, train_index), y[train_index], part(train_index)), (take_rows(x, val_index), y[val_index], part(val_index))
    given = None
    if isinstance(validation, tuple) and len(validation) == 3:
        validation, given = validation[:2], validation[2]
    val_x, val_y = prepare_data(params, validation, function, "validation")
    return train, (val_x, val_y, sample_weights(None, len(val_y), given, function=function))


def _class_weighted(params: Params, data: Weighted, per_class: np.ndarray | None, function: str) -> Weighted:
    """``data`` with its sample weights times the weight of each row's class (None: all ones)."""
    if per_class is None:
        return data
    x, y, weights = data
    return x, y, sample_weights(class_labels_of(y), len(y), weights, per_class, len(per_class), function)


def weighted_parts(params: Params, data: Any, options: TrainOptions, seed: int, function: str = "fit") -> tuple[Weighted, Weighted | None]:
    """The training and validation parts a run of ``options`` uses, as prepared ``(x, y, weights)``: sample
    weights times class weights (``"balanced"`` counts the classes of the training part), None where all ones."""
    x, y = prepare_data(params, data, function)
    given = sample_weights(None, len(y), options.sample_weight, function=function)
    train, val = _validation_data(params, options.validation, (x, y, given), seed, function)
    per_class = None
    if options.class_weight is not None:
        per_class = class_weights(options.class_weight, class_labels_of(train[1]), max(params.spec.sizes[-1], 2), function)
    return _class_weighted(params, train, per_class, function), None if val is None else _class_weighted(params, val, per_class, function)


def _epoch_metrics(params: Params, data: Weighted, metrics: tuple[Metric, ...], prefix: str, keep_running: bool) -> dict[str, Any]:
    """``metrics`` of ``params`` on ``data``, named with ``prefix``; with ``keep_running`` the loss and accuracy
    (or r2), which the epoch's running means already give, are left out."""
    x, y, weights = data
    values = evaluate(params, x, y, sample_weight=weights, metrics=metrics)
    if keep_running:
        values = {name: values[name] for name in (m.name for m in metrics) if name not in ("loss", "accuracy", "r2")}
    return {f"{prefix}{name}": value for name, value in values.items()}


_RECORD_FIELDS = frozenset(("loss", "accuracy", "r2", "val_loss", "val_accuracy", "val_r2", "diagnostics"))


def _options(function: str, options: TrainOptions | None, keywords: dict[str, Any], start: Any = None, data: Any = None,
             epochs: int | None = None) -> TrainOptions:
    """``options``, or the checked keyword arguments; a schedule's epochs are counted in steps of ``data`` (if given)."""
    if options is None:
        check_keywords(function, keywords)
        timed = keywords.get("schedule") is not None and data is not None
        steps = _steps_per_epoch(start, data, keywords, function) if timed else None
        return train_options(function, **keywords, steps_per_epoch=steps, epochs=epochs)
    if keywords:
        raise bad_argument(function, "options", f"given alone, without the keyword arguments {sorted(keywords)}", options)
    return options


def _steps_per_epoch(start: Any, data: Any, keywords: dict[str, Any], function: str) -> int:
    """The steps of one epoch of a call with ``keywords``: batches of its training part (``data`` less the
    validation fraction it holds out), which a schedule's epochs are counted in."""
    params = start.params if isinstance(start, TrainState) else start
    if not isinstance(params, Params):
        return 1  # start_state names the mistake
    y = prepare_data(params, data, function)[1]
    rows, fraction = len(y), _validation(function, keywords.get("validation"))
    if isinstance(fraction, float):
        seed = start.seed if isinstance(start, TrainState) else _checked(function, "seed", keywords.get("seed") or 0)
        rows = len(validation_split(params, y, fraction, seed)[0])
    return batch_count(rows, _checked(function, "batch_size", keywords.get("batch_size", 32)))


def _in_dtype(start: Any, dtype: str | None, function: str) -> Any:
    """``start`` converted to ``dtype`` (None: as it is); a state to resume keeps its own."""
    params = start.params if isinstance(start, TrainState) else start
    if dtype is None or not isinstance(params, Params) or params.dtype == np.dtype(dtype):
        return start
    if isinstance(start, TrainState):
        raise bad_argument(function, "dtype", f"None or the state's own {params.dtype} when resuming", dtype)
    return map_arrays(lambda array: array.astype(dtype), params)


def _blas(threads: int | None) -> Callable[[], AbstractContextManager[Any]]:
    """A context in which BLAS uses ``threads`` threads (None: as it is), to enter around each epoch; the
    libraries are looked up once, here, not each time."""
    if threads is None:
        return nullcontext
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=threads, user_api="blas")


DIVERGENCE_FACTOR = 1e4
"""Training diverges when an epoch's training loss exceeds this many times ``max(1, L0)``, ``L0`` being the loss of
the parameters it started from on its training part (or when the loss or the parameters stop being finite)."""


def divergence_limit(params: Params, x: Any, y: np.ndarray) -> float:
    """The training loss above which training that starts from ``params`` has diverged (:data:`DIVERGENCE_FACTOR`)."""
    return DIVERGENCE_FACTOR * max(1.0, float(evaluate(params, x, y)["loss"]))


def stop_on_divergence(states: Iterable[TrainState], previous: TrainState, limit: float | Callable[[], float]) -> Iterator[TrainState]:
    """``states`` up to the first whose parameters are not finite or whose training loss exceeds ``limit``: then
    :class:`~fnn.errors.TrainingDiverged`, carrying the last good state.

    ``limit`` may be a function giving it (:func:`divergence_limit`, a forward pass over the training data): a limit
    is at least :data:`DIVERGENCE_FACTOR`, so it is called, once, only for a loss above that, and the decisions
    are the same as with the number."""
    for state in states:
        loss = state.history[-1].loss
        if callable(limit) and loss > DIVERGENCE_FACTOR:
            limit = limit()
        if (not callable(limit) and loss > limit) or not all(all_finite(array) for array in state.params.arrays()):
            limit = limit() if callable(limit) else limit  # non-finite params: the message shows the limit
            what = (f"the training loss grew to {loss:.4g}, more than {DIVERGENCE_FACTOR:g} times the starting loss "
                    f"(limit {limit:.4g}),") if loss > limit else "the parameters became NaN or infinite"
            raise TrainingDiverged(
                f"Training diverged: {what} in epoch {state.epoch}{'' if loss > limit else ' (the loss was still finite)'}. "
                f"Lower the learning rate, scale the inputs, or clip gradients; the last good params are in the "
                f"error's .last_good and the state before the epoch in .epoch_start.",
                epoch=state.epoch, step=state.step, last_good=previous.params, epoch_start=previous,
            )
        previous = state
        yield state


def _check_step_memory(start: Any, data: Any, batch_size: int, function: str) -> None:
    """Refuse, before anything of the run is allocated, a training step that would not fit in memory."""
    params = start.params if isinstance(start, TrainState) else start
    if not isinstance(params, Params):
        return  # start_state names the mistake
    rows = data[0] if isinstance(data, (tuple, list)) and len(data) == 2 else getattr(data, "features", ())
    shape = getattr(rows, "shape", None)  # a sparse matrix has a shape but no len
    count = shape[0] if shape else (len(rows) if hasattr(rows, "__len__") else batch_size)
    batch_rows = min(batch_size, count)
    sizes = params.spec.sizes
    require_memory(
        training_bytes(sizes, params.dtype.itemsize, batch_rows),
        f"{function}: training the network {'-'.join(map(str, sizes))} ({params.dtype}) with batch_size {batch_size}",
    )


def iterate_epochs(
    start: Params | TrainState,
    data: Any,
    /,
    *,
    options: TrainOptions | None = None,
    epochs: int | None = None,
    on_batch: Callable[[int], Any] | None = None,
    function: str = "iterate_epochs",
    **keywords: Any,
) -> Iterator[TrainState]:
    """The lazy sequence of training states after each epoch: endless, or ``epochs`` more of them.

    ``start`` is initial ``Params`` or a ``TrainState`` to continue; ``data`` a ``Dataset`` or ``(x, y)``; how to
    train is ``options`` (a :class:`~fnn.train.options.TrainOptions`) or :func:`fit`'s keyword arguments (the
    training settings by name; ``patience`` is :func:`early_stopping`'s here), with fit's rule for divergence.
    Compose it with toolz: ``last(take(10, iterate_epochs(...)))`` is :func:`fit` for 10 epochs.
    ``on_batch(index)`` observes each mini-batch (for progress display); it cannot change the run.

    Progress, in a terminal or a notebook, is one wrapper away (fnn itself prints nothing): :func:`fit` for
    ``n`` epochs with a bar is ``last(tqdm(iterate_epochs(..., epochs=n), total=n))``:

    >>> from toolz import last
    >>> from tqdm.auto import tqdm
    >>> data = fnn.data.moons(100, seed=0)
    >>> start = fnn.init_params(fnn.network([2, 8, 1], activation="tanh", loss="binary_cross_entropy"), seed=0)
    >>> state = last(tqdm(fnn.iterate_epochs(start, data, epochs=3, lr=0.5, seed=0), total=3))
    >>> state.params == fnn.fit(start, data, epochs=3, lr=0.5, seed=0).params
    True

    BLAS threads: these functions use the process's (``threadpoolctl.threadpool_limits(n)`` around a call sets
    them); the same seed and thread count give the same bytes, another count may change the last bits.
    """
    epochs = check_epochs(function, epochs, allow_none=True)
    options = _options(function, options, keywords, start, data, epochs)
    if options.patience is not None:
        raise bad_argument(function, "patience", "None here (early stopping is fit's, or early_stopping(...)'s)", options.patience)
    optimizer = options.optimizer
    start = _in_dtype(start, options.dtype, function)
    _check_step_memory(start, data, options.batch_size, function)
    state = start_state(start, optimizer, options.seed, function)
    check_options(state.params, options, function)
    train, val = weighted_parts(state.params, data, options, state.seed, function)
    is_weighted = train[2] is not None
    drop_rates = dropout_rates(state.params.spec, options.drop_rate, function)
    if len(train[0]) == 0:
        raise bad_argument(function, "data", "at least one sample", 0)

    def epoch(current: TrainState) -> TrainState:
        current, metrics = run_epoch(
            current, train[0], train[1], optimizer, options.batch_size, drop_rates, options.shuffle, on_batch,
            options.diagnostics, train[2],
        )
        if val is not None:
            metrics.update(_epoch_metrics(current.params, val, options.metrics, "val_", False))
        if options.train_metrics:
            metrics.update(_epoch_metrics(current.params, train, options.metrics, "", True))
        lr = optimizer.learning_rate(current.opt_state) if optimizer.learning_rate else None
        named = {name: metrics.pop(name) for name in list(metrics) if name not in _RECORD_FIELDS}
        record = EpochRecord(current.epoch, current.step, lr, **metrics, metrics=named, weighted=is_weighted)
        return evolve(current, history=current.history.append(record))

    blas = _blas(options.threads)

    def trained() -> Iterator[TrainState]:
        current = state
        while True:
            with blas():  # around each epoch only: the consumer keeps its own threads
                current = epoch(current)
            yield current

    def limit() -> float:
        with blas():
            return divergence_limit(state.params, train[0], train[1])

    def converging() -> Iterator[TrainState]:
        yield from stop_on_divergence(trained(), state, limit)

    return converging() if epochs is None else take(epochs, converging())


def check_options(params: Params, options: TrainOptions, function: str = "fit") -> None:
    """Refuse ``options`` the network of ``params`` cannot train with, before any data is read: metrics of the other
    task, class weights for a regression, dropout rates that do not fit its hidden layers (or any, without one),
    and early stopping on what it never records. The one check of ``fit``, ``iterate_epochs``, the run (before it
    says what it trains) and the estimators.

    >>> check_options(fnn.init_params(fnn.network([2, 3]), seed=0), fnn.train.options.train_options(drop_rate=0.5))
    Traceback (most recent call last):
    ...
    fnn.errors.FnnInputError: The 'drop_rate' argument of fnn.fit must be 0 for a network without hidden layers (dropout drops hidden units). Got 0.5 instead.
    """
    task = "classifier" if params.spec.is_classifier else "regression"
    for metric in options.metrics:  # refused now, with or without the validation data they would be computed on
        if metric.task not in ("any", task):
            raise bad_argument(function, "metrics", f"metrics for a {task} network", metric.name)
    if options.class_weight is not None and task == "regression":
        raise bad_argument(function, "class_weight", "None for a regression network (it has no classes)", options.class_weight)
    if not dropout_rates(params.spec, options.drop_rate, function) and len(params.spec.layers) == 1 and any(np.ravel(options.drop_rate)):
        raise bad_argument(function, "drop_rate", "0 for a network without hidden layers (dropout drops hidden units)", options.drop_rate)
    if options.patience is not None:
        check_monitor(params, options.monitor, function)


def check_monitor(params: Params, monitor: str, function: str = "fit") -> None:
    """Refuse, before training, early stopping on the accuracy of a regression or the R^2 of a classifier, which
    the history of ``params``' network never records.

    >>> check_monitor(fnn.init_params(fnn.network([2, 3]), seed=0), "val_r2")
    Traceback (most recent call last):
    ...
    fnn.errors.FnnInputError: The 'monitor' argument of fnn.fit must be loss, accuracy or a name of metrics, as val_NAME for the validation part, for a classifier network. Got 'val_r2' instead.
    """
    if not isinstance(params, Params):
        return  # start_state names the mistake
    own, other = ("accuracy", "r2") if params.spec.is_classifier else ("r2", "accuracy")
    if monitor.removeprefix("val_") == other:
        task = "classifier" if params.spec.is_classifier else "regression"
        raise bad_argument(function, "monitor", f"loss, {own} or a name of metrics, as val_NAME for the validation part, for a {task} network", monitor)


def early_stopping(
    states: Iterable[TrainState], patience: int, monitor: str = "val_loss", higher_is_better: bool | None = None
) -> tuple[TrainState | None, TrainState | None]:
    """Consume ``states`` until ``monitor`` has not improved for ``patience`` epochs: ``(best, last)`` states.

    ``monitor`` is any name of the history (``val_f1_macro`` for a run with ``metrics=["f1_macro"]``); which way
    is better is ``higher_is_better``, else inferred: lower for losses, mse and mae, higher for accuracy, R^2
    and the other built-in metrics (a metric of your own states its direction). ``states`` is any iterable of ``TrainState``
    (usually :func:`iterate_epochs`, limited with ``toolz.take`` to a maximum number of epochs).

    >>> from toolz import take
    >>> data = fnn.data.moons(60, noise=0.3, seed=0)
    >>> start = fnn.init_params(fnn.network([2, 8, 1], activation="tanh", loss="binary_cross_entropy"), seed=0)
    >>> best, last = fnn.early_stopping(take(30, fnn.iterate_epochs(start, data, lr=0.5, seed=0)), patience=2, monitor="loss")
    >>> best.history[-1].loss == min(last.history.column("loss")), best.epoch <= last.epoch
    (True, True)
    """
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise bad_argument("early_stopping", "patience", "a positive int", patience)
    lower_is_better = not (greater_is_better(monitor) if higher_is_better is None else higher_is_better)
    best: TrainState | None = None
    current: TrainState | None = None
    best_value: Any = None
    for current in states:
        value = current.history[-1].value(monitor)
        if value is None:
            raise FnnInputError(
                f"Early stopping monitors {monitor!r}, which this run does not record; give validation data "
                f"(validation=...) or monitor 'loss'."
            )
        best_value = best.history[-1].value(monitor) if best is not None else None
        if best is None or (value < best_value if lower_is_better else value > best_value):
            best = current
        elif current.epoch - best.epoch >= patience:
            break
    return best, current


def fit(start: Params | TrainState, data: Any, /, *, epochs: int, options: TrainOptions | None = None, **keywords: Any) -> TrainState:
    """Train for ``epochs`` **more** epochs and return the final :class:`TrainState` (``.params``, ``.history``).

    How to train is ``options`` (:func:`~fnn.train.options.train_options`) or the keyword arguments: every training
    setting of ``fnn train`` and of TOML (:data:`fnn.run.settings.SETTINGS`) by its name, checked by the same check
    (:data:`~fnn.train.options.TRAINING_CHECKS`, so ``lr="0.1"`` is 0.1 and ``class_weight="0:1,1:5"`` works):
    ``optimizer`` (a name, or a :mod:`fnn.optim` record given whole), ``lr``, ``momentum``, ``weight_decay``,
    ``schedule`` (its durations in epochs of this data: batches of the training part), ``clip_norm``, ``l2``,
    ``batch_size``, ``validation``, ``drop_rate``, ``patience`` and ``monitor`` (early stopping: the state of the
    best epoch is returned), ``class_weight``, ``metrics`` (each epoch's ``val_<name>``, and ``<name>`` with
    ``train_metrics``), ``diagnostics``, ``seed``, ``dtype``, ``threads``; and ``shuffle`` and
    ``sample_weight`` (the weights themselves). The loss is weighted as scikit-learn's MLP:
    ``sum(w * loss) / sum(w)`` per batch. A network or data setting (``hidden``, ``activation``, ``standardize``,
    ...) is refused naming where it goes (:func:`fnn.network`, the data), a mistyped keyword with a suggestion.

    Where fit differs from ``fnn train``: ``epochs`` counts what this call trains (``fit(state, data, epochs=5)``
    on a state at epoch 10 ends at epoch 15; a run's is the total) and may be 0; ``validation`` is none unless
    given (a run holds out 0.1; it may also be a ``Dataset`` or ``(x, y)``); ``lr`` is 0.1 for SGD but the optimiser's own
    for another named ``optimizer`` (a run's is 0.1); ``dtype`` is the start params' unless given
    (then they are converted; a state to resume keeps its own); ``threads`` is the process's unless given (then
    each epoch runs under ``threadpoolctl.threadpool_limits``); the initialisation is that of ``start``
    (:func:`fnn.network`'s glorot_uniform unless it says otherwise; a run's is he_uniform).

    Training stops with :class:`fnn.TrainingDiverged` (carrying the last good params and state) as a run does:
    when the loss turns NaN or infinite, or an epoch's training loss exceeds
    :data:`DIVERGENCE_FACTOR` times ``max(1, L0)``, ``L0`` the loss of the start params on the training part.
    Progress: see :func:`iterate_epochs` (``last(tqdm(iterate_epochs(..., epochs=n), total=n))``).

    >>> data = fnn.data.moons(100, noise=0.1, seed=0)
    >>> start = fnn.init_params(fnn.network([2, 8, 1], activation="tanh", loss="binary_cross_entropy"), seed=0)
    >>> state = fnn.fit(start, data, epochs=20, optimizer="adam", lr=0.05, batch_size=10, seed=0)
    >>> state.epoch, state.history[-1].accuracy > 0.8
    (20, True)
    >>> fnn.fit(start, data, epochs=2, lr="0.5", momentum=0.9, schedule="step_decay:1,0.5", dtype="float64").params.dtype
    dtype('float64')
    """
    count = check_epochs("fit", epochs) or 0
    options = _options("fit", options, keywords, start, data, count)
    states = iterate_epochs(start, data, options=evolve(options, patience=None), epochs=count, function="fit")
    if count == 0:
        return start_state(_in_dtype(start, options.dtype, "fit"), options.optimizer, options.seed)
    if options.patience is not None:
        check_options(start.params if isinstance(start, TrainState) else start, options, "fit")
        higher = greater_is_better(options.monitor, options.metrics)
        return cast(TrainState, early_stopping(states, options.patience, options.monitor, higher)[0])  # count > 0: never None
    return last(states)
