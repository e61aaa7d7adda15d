"""One checkpoint per epoch in a run folder, kept beside the main one: ``checkpoints/epoch-0001.npz``, ...

``fnn train --keep-checkpoints`` writes them so that any epoch can be replayed alone (:mod:`fnn.proof.checks`).
Each is a whole checkpoint of the run's :class:`~fnn.store.model.Model` (its configuration, standardiser and class names),
written atomically and never over an existing file: a folder whose ``checkpoints/`` already holds an epoch the
run is about to write is refused before training starts (:func:`check_epochs_free`).

>>> epoch_checkpoint_name(7)
'epoch-0007.npz'
"""

from __future__ import annotations

import os
import re

from fnn.errors import FnnInputError
from fnn.store.checkpoint import Checkpoint, load_checkpoint
from fnn.store.model import Model

FOLDER = "checkpoints"
"""The subfolder of a run folder that holds the per-epoch checkpoints."""

_NAME = re.compile(r"^epoch-(\d{4,})\.npz$")


def epoch_checkpoint_name(epoch: int) -> str:
    """The file name of epoch ``epoch``'s checkpoint."""
    return f"epoch-{int(epoch):04d}.npz"


def epoch_checkpoint_path(folder: str | os.PathLike[str], epoch: int) -> str:
    """Where epoch ``epoch``'s checkpoint of the run in ``folder`` is kept."""
    return os.path.join(os.fspath(folder), FOLDER, epoch_checkpoint_name(epoch))


def kept_epochs(folder: str | os.PathLike[str]) -> list[int]:
    """The epochs whose checkpoints ``folder`` keeps, in order (empty when it keeps none)."""
    try:
        names = os.listdir(os.path.join(os.fspath(folder), FOLDER))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(match.group(1)) for match in map(_NAME.match, names) if match)


def check_epochs_free(folder: str | os.PathLike[str], after_epoch: int, flag: str = "--keep-checkpoints") -> None:
    """Refuse (naming ``flag``) a run that would write epochs after ``after_epoch`` into a ``checkpoints/`` that
    already holds one of them, e.g. left by an earlier run in the same folder."""
    taken = [epoch for epoch in kept_epochs(folder) if epoch > after_epoch]
    if taken:
        path = os.path.join(os.fspath(folder), FOLDER)
        raise FnnInputError(
            f"{flag}: {path} already holds {epoch_checkpoint_name(taken[0])}"
            f"{f' and {len(taken) - 1} more' if len(taken) > 1 else ''} from an earlier run, which fnn does not "
            f"overwrite; remove them or choose another run folder."
        )


def save_epoch_checkpoint(folder: str | os.PathLike[str], model: Model) -> str:
    """Keep ``model`` as the checkpoint of its state's epoch in ``folder``; returns the path. An existing file (or
    link) at that path is refused, never replaced."""
    path = epoch_checkpoint_path(folder, model.state.epoch)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        raise FnnInputError(f"{path} exists; fnn does not overwrite a kept checkpoint.")
    model.save_checkpoint(path, overwrite=False)
    return path


def load_epoch_checkpoint(folder: str | os.PathLike[str], epoch: int, argument: str = "--epoch") -> Checkpoint:
    """The :class:`~fnn.store.checkpoint.Checkpoint` kept for ``epoch``; a missing one is an error naming the epochs
    that are kept (and ``argument``)."""
    path = epoch_checkpoint_path(folder, epoch)
    if not os.path.isfile(path):
        kept = kept_epochs(folder)
        what = f"epochs {kept[0]} to {kept[-1]}" if len(kept) > 1 else f"epoch {kept[0]}" if kept else "none"
        raise FnnInputError(
            f"{argument} {epoch}: {folder} keeps no checkpoint of epoch {epoch} ({path}); it keeps {what}. "
            f"Train with --keep-checkpoints to keep one per epoch."
        )
    return load_checkpoint(path)
