"""The one run loop: a prepared run trained to its configured end or until early stopping, then its record.

``fnn train``, the Python API (:func:`run`) and sweeps all run through :func:`run_prepared`; what differs between
them is only what they observe: ``on_epoch(state)`` after each epoch (progress), ``on_checkpoint(state)`` with
each state worth saving (each epoch, and the best one again when early stopping ends on a worse one), and
``on_batch(index)`` before each mini-batch. Observers cannot change the run.

>>> finished = run(resolve_config(({"data": "iris", "hidden": [6], "epochs": 3}, PYTHON)))
>>> finished.state.epoch, sorted(finished.record["final_metrics"])
(3, ['accuracy', 'confusion_matrix', 'loss'])
"""

import time

from attrs import evolve, frozen

from ..errors import FnnInputError
from ..training import early_stopping, iterate_epochs
from .build import Prepared, prepare_run
from .record import data_fingerprints, run_record, test_metrics
from .settings import PYTHON, resolve_config  # noqa: F401  (the doctest's namespace)

__all__ = ["Finished", "run_prepared", "run"]


@frozen
class Finished:
    """A finished run: the final state (the best one under early stopping), the last one trained, the prepared
    run and its JSON-ready record."""

    state: object
    last: object
    prepared: Prepared
    record: dict


def _observed(states, observers):
    for state in states:
        for observe in observers:
            observe(state)
        yield state


def run_prepared(prepared, start=None, *, on_epoch=None, on_batch=None, on_checkpoint=None, started=None):
    """Train ``prepared`` from its initial params, or continue the :class:`~fnn.TrainState` ``start``, up to
    the configured number of epochs (in total), stopping early when ``patience`` says so."""
    started = time.perf_counter() if started is None else started
    config = prepared.config
    if start is not None and start.params.spec != prepared.params.spec:
        raise FnnInputError(f"The checkpoint's network {start.params.spec!r} does not match its configuration's {prepared.params.spec!r}.")
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
        final, last = early_stopping(states, config.patience, config.monitor)
        if on_checkpoint is not None and last is not final:
            on_checkpoint(final)
    else:
        for final in states:
            pass
        last = final
    record = run_record(config, final, test_metrics(final.params, prepared.test), time.perf_counter() - started, data_fingerprints(prepared))
    if start is not None:
        record["resumed_from_epoch"] = start.epoch
    return Finished(final, last, prepared, record)


def run(config, data=None, source=None, *, start=None, on_epoch=None, on_batch=None, on_checkpoint=None):
    """Prepare and run a :class:`~fnn.run.settings.RunConfig` (see :func:`run_prepared`); ``data = (train, test)``
    or a loaded ``source`` replace loading the configured data set. ``tensorboard`` and ``keep_checkpoints`` write
    into a run folder, which only ``fnn train`` has; here they are refused (observe the run with
    :class:`fnn.tensorboard.TensorBoardLog` as ``on_epoch`` instead)."""
    started = time.perf_counter()
    for name in ("tensorboard", "keep_checkpoints"):
        if getattr(config, name):
            raise FnnInputError(f"The setting {name!r} writes into a run folder, which fnn train makes and this run has none; "
                                f"leave it out (for TensorBoard, pass on_epoch=fnn.tensorboard.TensorBoardLog(folder)).")
    prepared = prepare_run(config, data, source)
    return run_prepared(prepared, start, on_epoch=on_epoch, on_batch=on_batch, on_checkpoint=on_checkpoint, started=started)
