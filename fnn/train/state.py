"""The records a training run folds: per-epoch metrics, the history of them, and the whole training state.

A :class:`TrainState` holds everything a run needs to continue: parameters, optimiser state, how many epochs and
steps are done, the seed and the history. ``fit`` takes one and returns the next, so a run stopped after any
epoch and continued from its state is bit-identical to one that never stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from attrs import asdict, field, frozen

from fnn.core.network import Trace
from fnn.core.params import Params
from fnn.train.diagnostics import EpochDiagnostics


def _diagnostics(value: EpochDiagnostics | dict | None) -> EpochDiagnostics | None:
    """An epoch's diagnostics as given, or read back from the dict a record or checkpoint stored."""
    return EpochDiagnostics.from_dict(value) if isinstance(value, dict) else value


@frozen(hash=False)
class StepOutcome:
    """What one training step gives: the batch's ``loss`` at the old parameters (no penalty term), the forward
    pass's ``trace`` (``trace.post[-1]`` is the output), the new ``params`` and ``opt_state``, and the gradient's
    per-layer norms when they were asked for (else None)."""

    loss: float
    trace: Trace
    params: Params
    opt_state: Any
    grad_norms: tuple[float, ...] | None = None


@frozen
class EpochRecord:
    """The metrics of one finished epoch; ``None`` where a metric does not apply (no validation data, or
    accuracy for a regression network). ``loss`` and ``accuracy`` are running means over the epoch's batches.
    ``diagnostics`` is the epoch's :class:`~fnn.train.diagnostics.EpochDiagnostics` when the run gathered them
    (``fit(..., diagnostics=True)``), else None; :meth:`to_dict` nests it as a dict and leaves it out when None,
    and a dict given here is read back, so records round-trip through JSON.

    >>> record = fnn.EpochRecord(epoch=1, step=10, lr=0.1, loss=0.5)
    >>> fnn.EpochRecord(**record.to_dict()) == record, record.to_dict()["accuracy"]
    (True, None)
    """

    epoch: int
    step: int
    lr: float | None
    loss: float
    accuracy: float | None = None
    r2: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    val_r2: float | None = None
    diagnostics: EpochDiagnostics | None = field(default=None, converter=_diagnostics)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self, filter=lambda attribute, _: attribute.name != "diagnostics")
        if self.diagnostics is not None:
            values["diagnostics"] = self.diagnostics.to_dict()
        return values


def _records(records: Iterable[EpochRecord]) -> tuple[EpochRecord, ...]:
    return tuple(records)


@frozen
class History:
    """The :class:`EpochRecord` of every epoch so far, oldest first.

    >>> h = History((EpochRecord(1, 10, 0.1, 0.9), EpochRecord(2, 20, 0.1, 0.5)))
    >>> h.column("loss"), len(h), h[-1].epoch
    ([0.9, 0.5], 2, 2)
    """

    records: tuple[EpochRecord, ...] = field(default=(), converter=_records)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[EpochRecord]:
        return iter(self.records)

    def __getitem__(self, index: int) -> EpochRecord:
        return self.records[index]

    def column(self, name: str) -> list[Any]:
        """One metric across epochs, e.g. ``history.column("val_loss")``."""
        return [getattr(record, name) for record in self.records]

    def append(self, record: EpochRecord) -> History:
        """A new history with ``record`` at the end (this one is unchanged)."""
        return History(self.records + (record,))

    def to_dicts(self) -> list[dict[str, Any]]:
        return [record.to_dict() for record in self.records]

    def best_epoch(self, metric: str = "val_loss") -> EpochRecord | None:
        """The record with the best value of ``metric`` (lowest for losses, highest otherwise), or None."""
        lower_is_better = metric.endswith("loss")
        scored = [r for r in self.records if getattr(r, metric) is not None and math.isfinite(getattr(r, metric))]
        if not scored:
            return None
        key = (lambda r: getattr(r, metric)) if lower_is_better else (lambda r: -getattr(r, metric))
        return min(scored, key=key)


@frozen(hash=False)
class TrainState:
    """Everything a run needs to continue: ``epoch`` and ``step`` count what is done.

    >>> data = (np.ones((4, 2), np.float32), np.array([0, 1, 0, 1]))
    >>> state = fnn.fit(fnn.init_params(fnn.network([2, 2]), seed=0), data, epochs=2, batch_size=2)
    >>> state.epoch, state.step, len(state.history), type(state.opt_state).__name__
    (2, 4, 2, 'SgdState')
    """

    params: Params
    opt_state: Any
    epoch: int = 0
    step: int = 0
    seed: int = 0
    history: History = History()
