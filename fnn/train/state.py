"""The records a training run folds: per-epoch metrics, the history of them, and the whole training state.

A :class:`TrainState` holds everything a run needs to continue: parameters, optimiser state, how many epochs and
steps are done, the seed and the history. ``fit`` takes one and returns the next, so a run stopped after any
epoch and continued from its state is bit-identical to one that never stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from attrs import asdict, field, fields, frozen

from fnn.core.network import Trace
from fnn.core.params import Params
from fnn.core.scores import greater_is_better
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


def _pairs(values: Mapping[str, float | None] | Iterable[tuple[str, float | None]]) -> tuple[tuple[str, float | None], ...]:
    items = values.items() if isinstance(values, Mapping) else values
    return tuple(sorted((str(name), None if value is None else float(value)) for name, value in items))


@frozen(repr=False)
class Scores(Mapping[str, "float | None"]):
    """The metrics of one epoch chosen by the user (``val_f1_macro``, ``roc_auc``, ...): a read-only mapping.

    >>> Scores({"val_f1_macro": 0.5})["val_f1_macro"], Scores({"f1_macro": 1})
    (0.5, Scores({'f1_macro': 1.0}))
    """

    pairs: tuple[tuple[str, float | None], ...] = field(default=(), converter=_pairs)

    def __getitem__(self, name: str) -> float | None:
        for key, value in self.pairs:
            if key == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return f"Scores({dict(self.pairs)!r})"


def _scores(values: Scores | Mapping[str, float | None]) -> Scores:
    return values if isinstance(values, Scores) else Scores(values)


@frozen
class EpochRecord:
    """The metrics of one finished epoch; ``None`` where a metric does not apply (no validation data, or
    accuracy for a regression network). ``loss`` and ``accuracy`` are running means over the epoch's batches.
    ``diagnostics`` is the epoch's :class:`~fnn.train.diagnostics.EpochDiagnostics` when the run gathered them
    (``fit(..., diagnostics=True)``), else None; :meth:`to_dict` nests it as a dict and leaves it out when None,
    and a dict given here is read back, so records round-trip through JSON. ``metrics`` holds the metrics the
    run chose (``fit(..., metrics=["f1_macro"])``: ``val_f1_macro``, and ``f1_macro`` with ``train_metrics``),
    left out of :meth:`to_dict` when empty; ``weighted`` says the loss and metrics are sample-weighted means.
    :meth:`value` reads any of them by name.

    >>> record = fnn.EpochRecord(epoch=1, step=10, lr=0.1, loss=0.5, metrics={"val_f1_macro": 0.75})
    >>> fnn.EpochRecord(**record.to_dict()) == record, record.to_dict()["accuracy"], record.value("val_f1_macro")
    (True, None, 0.75)
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
    metrics: Scores = field(default=Scores(), converter=_scores)
    weighted: bool = False

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self, filter=lambda attribute, _: attribute.name not in ("diagnostics", "metrics", "weighted"))
        if self.diagnostics is not None:
            values["diagnostics"] = self.diagnostics.to_dict()
        if self.metrics:
            values["metrics"] = dict(self.metrics)
        if self.weighted:
            values["weighted"] = True
        return values

    def value(self, name: str) -> Any:
        """The metric ``name``: a field such as ``val_loss``, else one of ``metrics``; None where not recorded."""
        if name in _FIELDS:
            return getattr(self, name)
        return self.metrics.get(name)


_FIELDS = frozenset(a.name for a in fields(EpochRecord)) - {"diagnostics", "metrics", "weighted"}


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
        """One metric across epochs, e.g. ``history.column("val_loss")`` or ``history.column("val_f1_macro")``."""
        return [record.value(name) for record in self.records]

    def append(self, record: EpochRecord) -> History:
        """A new history with ``record`` at the end (this one is unchanged)."""
        return History(self.records + (record,))

    def to_dicts(self) -> list[dict[str, Any]]:
        return [record.to_dict() for record in self.records]

    def best_epoch(self, metric: str = "val_loss", higher_is_better: bool | None = None) -> EpochRecord | None:
        """The record with the best value of ``metric``, or None; which way is better is ``higher_is_better``,
        else inferred (:func:`fnn.core.scores.greater_is_better`: lowest for losses, mse and mae).

        >>> h = History((EpochRecord(1, 10, 0.1, 0.9, metrics={"val_mae": 0.2}), EpochRecord(2, 20, 0.1, 0.5, metrics={"val_mae": 0.3})))
        >>> h.best_epoch("loss").epoch, h.best_epoch("val_mae").epoch
        (2, 1)
        """
        higher = greater_is_better(metric) if higher_is_better is None else higher_is_better
        scored = [r for r in self.records if r.value(metric) is not None and math.isfinite(r.value(metric))]
        if not scored:
            return None
        return (max if higher else min)(scored, key=lambda r: r.value(metric))


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
