"""Stream a run's epoch metrics (and diagnostics, when recorded) to TensorBoard, as scalars in an event file.

Optional: it needs tensorboardX (``pip install 'fnn[tensorboard]'``), imported only when a log is opened. Each
epoch's record becomes scalars at step ``epoch``: every metric under its history name (``loss``, ``accuracy``,
``val_loss``, ``lr``, ...) and each diagnostic under ``diagnostics/`` (``diagnostics/layer1/grad_norm``, ...).
A log is an ``on_epoch`` observer, so it composes with any run:

    with TensorBoardLog("runs/tb") as log:
        fnn.experiment.run_experiment(config, on_epoch=log)

and :func:`write_history` exports a finished run's history (a ``History`` or ``record.json``'s list) the same way.

>>> epoch_scalars({"epoch": 2, "step": 20, "lr": 0.1, "loss": 0.5, "accuracy": 0.75, "val_loss": None})
(2, {'lr': 0.1, 'loss': 0.5, 'accuracy': 0.75})
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from fnn.errors import bad_argument
from fnn.observe.advice import epoch_diagnostics
from fnn.store.atomic import os_failure
from fnn.store.layout import LOCK
from fnn.store.lock import RunLock
from fnn.store.run_folder import RunFolder, refuse_inside_runs
from fnn.train.state import EpochRecord, TrainState

_Record = EpochRecord | Mapping[str, Any]


def require_tensorboardx() -> tuple[Any, Any, Any, Any]:
    """tensorboardX's parts that a log writes with; without tensorboardX, an error naming the extra to install."""
    try:
        from tensorboardX.proto import event_pb2, summary_pb2
        from tensorboardX.record_writer import masked_crc32c
        from tensorboardX.summary import scalar
    except ImportError:
        raise ModuleNotFoundError("TensorBoard logging needs tensorboardX: pip install 'fnn[tensorboard]'.") from None
    return masked_crc32c, event_pb2, summary_pb2, scalar


def _as_dict(record: _Record) -> Mapping[str, Any]:
    if isinstance(record, Mapping):
        return record
    if isinstance(record, EpochRecord):
        return record.to_dict()
    raise bad_argument("epoch_scalars", "record", "an fnn.EpochRecord or its dict", type(record).__name__)


def epoch_scalars(record: _Record) -> tuple[int, dict[str, float]]:
    """``(epoch, {tag: value})`` for one epoch's record (an ``EpochRecord`` or its dict): every number it holds,
    the chosen ``metrics`` by name, diagnostics under ``diagnostics/``; metrics that are None are left out.

    >>> epoch_scalars({"epoch": 1, "step": 5, "loss": 0.5, "metrics": {"val_f1_macro": 0.75}})
    (1, {'loss': 0.5, 'val_f1_macro': 0.75})
    """
    values = _as_dict(record)
    if not isinstance(values.get("epoch"), int):
        raise bad_argument("epoch_scalars", "record", "an epoch record with an int 'epoch'", values.get("epoch"))
    scalars = {
        name: float(value)
        for name, value in values.items()
        if name not in ("epoch", "step", "diagnostics") and isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    chosen = values.get("metrics") or {}  # the run's chosen metrics, under their history names (val_f1_macro)
    scalars.update({name: float(value) for name, value in chosen.items() if value is not None})
    diagnostics = epoch_diagnostics(values.get("diagnostics"), "epoch_scalars", "record")
    if diagnostics is not None:
        scalars.update({f"diagnostics/{name}": float(value) for name, value in diagnostics.scalars().items()})
    return values["epoch"], scalars


class TensorBoardLog:
    """An event file in ``folder`` (a path, created if needed, or a :class:`~fnn.store.run_folder.RunFolder`), or
    in its subfolder ``sub``, that each call adds the latest epoch of a ``TrainState`` to: ``log(state)`` writes
    ``state.history[-1]``, on disk when it returns, and returns ``state`` (so it can be an ``on_epoch`` observer).
    ``path`` is the event file; files already there are left alone. The file is created through the folder's
    descriptors, never through a link and never over a file; in a claimed run folder, where its run writes
    (:meth:`~fnn.store.run_folder.RunFolder.place`), so the run's record commits it. Close it, or use ``with``.

    >>> import tempfile
    >>> with TensorBoardLog(tempfile.mkdtemp(), "tb") as log:
    ...     log.write({"epoch": 1, "step": 10, "loss": 0.5})
    >>> os.path.basename(log.path).startswith("events.out.tfevents."), os.path.getsize(log.path) > 0
    (True, True)
    """

    def __init__(self, folder: str | os.PathLike[str] | RunFolder, sub: str = "") -> None:
        self._crc, self._event_pb2, self._summary_pb2, self._scalar = require_tensorboardx()
        self._lock: RunLock | None = None
        if not isinstance(folder, RunFolder):
            path = os.fspath(folder)
            for target in (path, os.path.join(path, sub)) if sub else (path,):
                refuse_inside_runs(target, "TensorBoardLog folder")  # a run's tensorboard/ is its run's, through its RunFolder
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as error:
                raise os_failure(path, error, "create the folder") from None
            folder = RunFolder(path, "TensorBoard folder")
            if folder.holds_run() or folder.holds_sweep() or folder.exists(LOCK):
                self._lock = folder.acquire()  # beside a run, as one of its writers, until closed
        where = folder.place(sub) if sub else ""
        # TensorBoard's own naming (second, host), with a unique suffix so that two logs never share a file.
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{time.monotonic_ns()}"
        self.path = folder.file(f"{where}/{name}" if where else name)
        self.folder = os.path.dirname(self.path)
        try:
            self._descriptor: int | None = folder.create(f"{where}/{name}" if where else name)
            self._write_event(self._event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))
        except BaseException:
            self.close()
            raise

    def _write_event(self, event: Any) -> None:
        """Append one record (length, its CRC, the event, its CRC) and make it durable."""
        if self._descriptor is None:
            raise ValueError(f"{self.path}: the TensorBoard log is closed.")
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        framed = memoryview(header + struct.pack("<I", self._crc(header)) + data + struct.pack("<I", self._crc(data)))
        try:
            while framed:
                framed = framed[os.write(self._descriptor, framed):]
            os.fsync(self._descriptor)
        except OSError as error:
            raise os_failure(self.path, error) from None

    def write(self, record: _Record) -> None:
        """Add one epoch's record (an ``EpochRecord`` or its dict), on disk when this returns."""
        epoch, scalars = epoch_scalars(record)
        values = [value for tag, number in scalars.items() for value in self._scalar(tag, number).value]
        summary = self._summary_pb2.Summary(value=values)
        self._write_event(self._event_pb2.Event(wall_time=time.time(), step=epoch, summary=summary))

    def __call__(self, state: TrainState) -> TrainState:
        if len(state.history):
            self.write(state.history[-1])
        return state

    def close(self) -> None:
        """Close the event file; what was written stays (idempotent)."""
        descriptor, self._descriptor = getattr(self, "_descriptor", None), None
        if descriptor is not None:
            os.close(descriptor)
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def __enter__(self) -> TensorBoardLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()


def write_history(folder: str | os.PathLike[str], history: Iterable[_Record]) -> str:
    """Write every epoch of ``history`` (a ``History`` or a list of record dicts) to a new event file in
    ``folder``; returns its path.

    >>> import tempfile
    >>> path = write_history(tempfile.mkdtemp(), fnn.History([fnn.EpochRecord(1, 10, 0.1, 0.9)]))
    >>> os.path.basename(path).startswith("events.out.tfevents.")
    True
    """
    with TensorBoardLog(folder) as log:
        for record in history:
            log.write(record)
        return log.path
