"""The one run loop: a prepared run trained to its configured end or until early stopping, then its record.

``fnn train``, the Python API (:func:`run`) and sweeps all run through :func:`run_prepared`; what differs between
them is only what they observe: ``on_epoch(state)`` after each epoch (progress), ``on_checkpoint(state)`` with
each state worth saving (each epoch, and the best one again when early stopping ends on a worse one), and
``on_batch(index)`` before each mini-batch. Observers cannot change the run.

A run uses ``threads`` BLAS threads (the configuration's, else the environment's thread variables', else this
machine's cores; the record's ``threads_from`` says which), set with threadpoolctl for its duration only; the same
seed and thread count give the same bytes. An epoch that ends with non-finite parameters, or with a training loss
that exploded (the one rule of :func:`fnn.fit`: above :data:`fnn.train.loop.DIVERGENCE_FACTOR` times
``max(1, L0)``, ``L0`` the loss of the starting parameters on the training part), raises
:class:`~fnn.errors.TrainingDiverged` before any observer sees it, so no checkpoint ever holds them; its
``last_good`` is the state before.

An error about a setting's value that only the data reveal (a class weight for a class the data lack, a metric
the network cannot compute) names the setting as the user wrote it (``prepared.label``: its flag or TOML key).

>>> finished = run(resolve_config(({"data": "iris", "hidden": [6], "epochs": 3}, PYTHON)))
>>> finished.state.epoch, sorted(finished.record["final_metrics"])
(3, ['accuracy', 'confusion_matrix', 'loss'])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from attrs import evolve, frozen
from threadpoolctl import threadpool_limits

from fnn.data.dataset import Dataset
from fnn.data.sources import LoadedSource
from fnn.errors import Described, FnnInputError, bad_argument
from fnn.run.build import Prepared, prepare_run, setting_errors
from fnn.run.record import data_fingerprints, run_record, test_metrics
from fnn.run.settings import PYTHON, RunConfig, default_threads, resolve_config
from fnn.train.loop import early_stopping, iterate_epochs
from fnn.train.state import TrainState

_OnState = Callable[[TrainState], Any]
_OnBatch = Callable[[int], Any]


@frozen
class Finished:
    """A finished run: the final state (the best one under early stopping), the last one trained, the prepared
    run and its JSON-ready record.

    >>> finished = run({"data": "iris", "hidden": [4], "epochs": 2, "patience": 1, "monitor": "loss"})
    >>> finished.state.epoch, finished.last.epoch, len(finished.record["history"]), len(finished.prepared.train)
    (2, 2, 2, 108)
    """

    state: TrainState
    last: TrainState
    prepared: Prepared
    record: dict[str, Any]


def run_threads(config: RunConfig) -> int:
    """The BLAS threads a run of ``config`` uses: its ``threads``, else the environment's (see
    :func:`~fnn.run.settings.default_threads`), else this machine's cores."""
    return config.threads if config.threads is not None else default_threads()[0]


def _observed(states: Iterable[TrainState], observers: list[_OnState]) -> Iterator[TrainState]:
    for state in states:
        for observe in observers:
            observe(state)
        yield state


def run_prepared(prepared: Prepared, start: TrainState | None = None, *, on_epoch: _OnState | None = None,
                 on_batch: _OnBatch | None = None, on_checkpoint: _OnState | None = None, started: float | None = None) -> Finished:
    """Train ``prepared`` from its initial params, or continue the :class:`~fnn.TrainState` ``start``, up to
    the configured number of epochs **in all** (a resumed state at epoch 5 with ``epochs=12`` trains 7 more;
    ``fnn.fit(state, epochs=k)`` instead trains ``k`` more), stopping early when ``patience`` says so."""
    started = time.perf_counter() if started is None else started
    config = prepared.config
    if start is not None and start.params.spec != prepared.params.spec:
        raise FnnInputError(
            f"The checkpoint's network ({start.params.spec.describe()}) does not match its configuration's "
            f"({prepared.params.spec.describe()})."
        )
    threads = run_threads(config)
    with threadpool_limits(limits=threads, user_api="blas"), setting_errors(prepared.label):
        return _run(prepared, start, threads, on_epoch, on_batch, on_checkpoint, started)


def _last(states: Iterable[TrainState]) -> TrainState | None:
    state = None
    for state in states:
        pass
    return state


def _trained(state: TrainState | None, config: RunConfig, done: int) -> TrainState:
    if state is None:
        raise FnnInputError(f"train: the run trained no epoch (epochs {config.epochs}, already done {done}).")
    return state


def _run(prepared: Prepared, start: TrainState | None, threads: int, on_epoch: _OnState | None, on_batch: _OnBatch | None,
         on_checkpoint: _OnState | None, started: float) -> Finished:
    config = prepared.config
    done = start.epoch if start is not None else 0
    if done >= config.epochs:
        raise FnnInputError(f"Nothing to train: the run already has {done} epochs and asks for {config.epochs}; raise epochs (--epochs).")
    options = evolve(prepared.options, seed=None) if start is not None else prepared.options
    states = iterate_epochs(
        start if start is not None else prepared.params, prepared.train, options=options,
        epochs=config.epochs - done, on_batch=on_batch, function="train",
    )
    states = _observed(states, [o for o in (on_epoch, on_checkpoint) if o is not None])
    if config.patience:
        best, newest = early_stopping(states, config.patience, config.monitor)
        final, last = _trained(best, config, done), _trained(newest, config, done)
        if on_checkpoint is not None and last is not final:
            on_checkpoint(final)
    else:
        final = last = _trained(_last(states), config, done)
    metrics = test_metrics(final.params, prepared.test, prepared.targets)
    record = run_record(config, final, metrics, time.perf_counter() - started, last=last, threads=threads, data=data_fingerprints(prepared))
    record["threads_from"] = "threads" if config.threads is not None else default_threads()[1]  # which setting chose them
    if start is not None:
        record["resumed_from_epoch"] = start.epoch
    return Finished(final, last, prepared, record)


def run(config: RunConfig | dict[str, Any], data: tuple[Dataset, Dataset] | None = None, source: LoadedSource = None, *,
        start: TrainState | None = None, on_epoch: _OnState | None = None, on_batch: _OnBatch | None = None,
        on_checkpoint: _OnState | None = None) -> Finished:
    """Prepare and run a :class:`~fnn.run.settings.RunConfig`, or a dict of settings (see :func:`run_prepared`); ``data = (train, test)``
    or a loaded ``source`` replace loading the configured data set. ``tensorboard`` and ``keep_checkpoints`` write
    into a run folder, which only ``fnn train`` has; here they are refused (observe the run with
    :class:`fnn.observe.tensorboard.TensorBoardLog` as ``on_epoch`` instead).

    >>> finished = run({"data": "moons", "hidden": [8], "epochs": 3, "validation": 0})
    >>> finished.state.epoch, finished.prepared.validation, len(finished.prepared.train)
    (3, None, 800)
    """
    started = time.perf_counter()
    if not isinstance(config, RunConfig):
        config = resolve_config((config, PYTHON))
    for name in ("tensorboard", "keep_checkpoints"):
        if getattr(config, name):
            raise FnnInputError(f"The setting {name!r} writes into a run folder, which fnn train makes and this run has none; "
                                f"leave it out (for TensorBoard, pass on_epoch=fnn.observe.tensorboard.TensorBoardLog(folder)).")
    if data is not None and not (isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(part, Dataset) for part in data)):
        raise bad_argument("run.run", "data", "a (train, test) pair of fnn.Dataset, e.g. fnn.data.stratified_split(fnn.data.iris(), 0.2)",
                           Described(type(data).__name__ if not isinstance(data, (tuple, list)) else
                                     f"{type(data).__name__} of {', '.join(type(part).__name__ for part in data)}"))
    prepared = prepare_run(config, data, source)
    return run_prepared(prepared, start, on_epoch=on_epoch, on_batch=on_batch, on_checkpoint=on_checkpoint, started=started)
