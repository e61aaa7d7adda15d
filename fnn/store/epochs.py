"""One checkpoint per epoch in a run folder, kept beside the main one: ``checkpoints/epoch-0001.npz``, ...

``fnn train --keep-checkpoints`` writes them so that any epoch can be replayed alone (:mod:`fnn.proof.checks`).
Each is a whole checkpoint (:func:`fnn.store.checkpoint.save_checkpoint`, with the run's configuration and standardiser),
written atomically and never over an existing file: a folder whose ``checkpoints/`` already holds an epoch the
run is about to write is refused before training starts (:func:`check_epochs_free`).

>>> epoch_checkpoint_name(7)
'epoch-0007.npz'
"""

import os
import re

import numpy as np

from fnn.errors import FnnInputError
from fnn.store.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["FOLDER", "epoch_checkpoint_name", "epoch_checkpoint_path", "kept_epochs", "check_epochs_free",
           "save_epoch_checkpoint", "load_epoch_checkpoint"]

FOLDER = "checkpoints"
"""The subfolder of a run folder that holds the per-epoch checkpoints."""

_NAME = re.compile(r"^epoch-(\d{4,})\.npz$")


def epoch_checkpoint_name(epoch):
    return f"epoch-{int(epoch):04d}.npz"


def epoch_checkpoint_path(folder, epoch):
    """Where epoch ``epoch``'s checkpoint of the run in ``folder`` is kept."""
    return os.path.join(os.fspath(folder), FOLDER, epoch_checkpoint_name(epoch))


def kept_epochs(folder):
    """The epochs whose checkpoints ``folder`` keeps, in order (empty when it keeps none)."""
    try:
        names = os.listdir(os.path.join(os.fspath(folder), FOLDER))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(match.group(1)) for match in map(_NAME.match, names) if match)


def check_epochs_free(folder, after_epoch, flag="--keep-checkpoints"):
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


def save_epoch_checkpoint(folder, state, config=None, standardizer=None, class_names=()):
    """Keep ``state`` as the checkpoint of its epoch in ``folder``; returns the path. An existing file (or link)
    at that path is refused, never replaced."""
    path = epoch_checkpoint_path(folder, state.epoch)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        raise FnnInputError(f"{path} exists; fnn does not overwrite a kept checkpoint.")
    extras = {} if standardizer is None else {"mean": standardizer.mean, "scale": standardizer.scale}
    if class_names:
        extras["class_names"] = np.array(class_names, dtype=str)
    save_checkpoint(path, state, config=config, extras=extras)
    return path


def load_epoch_checkpoint(folder, epoch, argument="--epoch"):
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
