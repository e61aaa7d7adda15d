"""What ``fnn train`` adds around a run when its settings ask: diagnostics advice on stderr, a TensorBoard stream
into the run folder's ``tensorboard/``, and one kept checkpoint per epoch in its ``checkpoints/``.

All of it observes the run (an ``on_epoch`` observer) and none of it changes the run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from fnn.errors import FnnInputError
from fnn.observe.advice import problems
from fnn.observe.tensorboard import TensorBoardLog
from fnn.run.build import Prepared
from fnn.store.epochs import check_epochs_free, save_epoch_checkpoint
from fnn.store.run_folder import RunFolder
from fnn.train.state import TrainState

_Observer = Callable[[TrainState], TrainState]


class WatchedConfig(Protocol):
    """What :class:`RunWatch` reads of a run's :class:`~fnn.run.RunConfig`."""

    @property
    def tensorboard(self) -> bool: ...

    @property
    def keep_checkpoints(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


_TENSORBOARD_FOLDER = "tensorboard"
"""The subfolder of a run folder that ``--tensorboard`` writes its event files into."""


class RunWatch:
    """The extras of one ``fnn train`` run: build it before training (it refuses what cannot work at once), pass
    :meth:`observe` as ``on_epoch`` and :meth:`checkpointed` as ``on_checkpoint``, and :meth:`close` it at the
    end. ``folder`` is the run's claimed :class:`~fnn.store.run_folder.RunFolder`, through which its extras are
    written."""

    def __init__(
        self, config: WatchedConfig, folder: RunFolder | None, prepared: Prepared, start_epoch: int = 0, stream: TextIO | None = None
    ) -> None:
        self.config, self.folder, self.prepared = config, folder, prepared
        self.stream = stream if stream is not None else sys.stderr
        self.warned: set[tuple[int, str]] = set()
        self.kept: set[int] = set()
        self.log: TensorBoardLog | None = None
        for wanted, flag in ((config.tensorboard, "--tensorboard"), (config.keep_checkpoints, "--keep-checkpoints")):
            if wanted and folder is None:
                raise FnnInputError(f"{flag} writes into the run folder, and --no-record asks for none; drop one of them.")
        if config.keep_checkpoints and folder is not None:
            check_epochs_free(folder, start_epoch)
        if config.tensorboard and folder is not None:
            self.log = TensorBoardLog(folder, _TENSORBOARD_FOLDER)

    def observe(self, then: Callable[[TrainState], object] | None = None) -> _Observer:
        """The ``on_epoch`` observer: these extras, then ``then(state)`` if given."""

        def on_epoch(state: TrainState) -> TrainState:
            self(state)
            if then is not None:
                then(state)
            return state

        return on_epoch

    def checkpointed(self, save: Callable[[TrainState], None]) -> _Observer:
        """The ``on_checkpoint`` observer: ``save(state)`` (the run's main checkpoint), then this epoch's kept
        checkpoint, once per epoch (early stopping hands the best state in again). After the main one, so a run
        interrupted in between resumes from an epoch whose kept checkpoint is not there yet."""

        def on_checkpoint(state: TrainState) -> TrainState:
            save(state)
            if self.config.keep_checkpoints and self.folder is not None and state.epoch not in self.kept:
                model = self.prepared.model(state)
                save_epoch_checkpoint(self.folder, model)
                self.kept.add(state.epoch)
            return state

        return on_checkpoint

    def __call__(self, state: TrainState) -> TrainState:
        record = state.history[-1]
        if record.diagnostics is not None:
            for layer, problem, advice in problems(record.diagnostics, epoch=record.epoch):
                if (layer, problem) not in self.warned:  # each problem of a layer once per run
                    self.warned.add((layer, problem))
                    print(f"fnn train: warning: {advice}", file=self.stream, flush=True)
        if self.log is not None:
            self.log(state)
        return state

    def close(self) -> None:
        """Close the TensorBoard log, if one is open."""
        if self.log is not None:
            self.log.close()
            self.log = None
