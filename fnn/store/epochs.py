"""One checkpoint per epoch in a run folder, kept beside the main one: ``checkpoints/epoch-0001.npz``, ...

``fnn train --keep-checkpoints`` writes them so that any epoch can be replayed alone (:mod:`fnn.proof.checks`).
Each is a whole checkpoint of the run's :class:`~fnn.store.model.Model` (its configuration, standardiser and class names),
written atomically through the run's :class:`~fnn.store.run_folder.RunFolder` (so never through a link, and staged
until the run's record commits it) and never over an existing file: a folder whose ``checkpoints/`` already holds
an epoch the run is about to write is refused before training starts (:func:`check_epochs_free`). The run's record
names the SHA-256 of each (``kept_checkpoints``), and a kept checkpoint of other bytes is refused when read.

>>> epoch_checkpoint_name(7)
'epoch-0007.npz'
"""

from __future__ import annotations

import os

from fnn.errors import FnnInputError
from fnn.store.checkpoint import Checkpoint, load_checkpoint, write_checkpoint
from fnn.store.layout import KEPT_FOLDER, PENDING
from fnn.store.record import KEPT_NAME
from fnn.store.run_folder import RunFolder, Saveable
from fnn.store.staging import OVERWRITE

FOLDER = KEPT_FOLDER


def epoch_checkpoint_name(epoch: int) -> str:
    """The file name of epoch ``epoch``'s checkpoint."""
    return f"epoch-{int(epoch):04d}.npz"


def epoch_checkpoint_path(folder: str | os.PathLike[str], epoch: int) -> str:
    """Where epoch ``epoch``'s checkpoint of the run in ``folder`` is kept."""
    return os.path.join(os.fspath(folder), FOLDER, epoch_checkpoint_name(epoch))


def _epochs(run: RunFolder, sub: str) -> list[int]:
    return sorted(int(match.group(1)) for match in map(KEPT_NAME.match, run.listdir(sub)) if match)


def kept_epochs(folder: str | os.PathLike[str]) -> list[int]:
    """The epochs whose checkpoints ``folder`` keeps, in order (empty when it keeps none)."""
    return _epochs(RunFolder(folder), FOLDER)


def check_epochs_free(run: RunFolder, after_epoch: int, flag: str = "--keep-checkpoints") -> None:
    """Refuse (naming ``flag``) a run that would write epochs after ``after_epoch`` where its ``checkpoints/``
    (as the run will leave it) already holds one of them, e.g. left by an earlier run in the same folder."""
    where = run.place(FOLDER)
    taken = [epoch for epoch in _epochs(run, where) if epoch > after_epoch]
    if where != FOLDER and not run.exists(f"{PENDING}/{OVERWRITE}"):  # a resumed run's epochs join the kept ones
        taken += [epoch for epoch in _epochs(run, FOLDER) if epoch > after_epoch]
    if taken:
        raise FnnInputError(
            f"{flag}: {run.file(FOLDER)} already holds {epoch_checkpoint_name(min(taken))}"
            f"{f' and {len(taken) - 1} more' if len(taken) > 1 else ''} from an earlier run, which fnn does not "
            f"overwrite; remove them or choose another run folder."
        )


def save_epoch_checkpoint(run: RunFolder, model: Saveable) -> str:
    """Keep ``model`` as the checkpoint of its state's epoch in the claimed ``run``; returns the path. An existing
    file (or link) at that path is refused, never replaced."""
    name = f"{run.folder(FOLDER)}{os.sep}{epoch_checkpoint_name(model.state.epoch)}"
    if os.path.lexists(name):
        raise FnnInputError(f"{name} exists; fnn does not overwrite a kept checkpoint.")
    write_checkpoint(name, model.state, config=model.config, extras=model.extras(), overwrite=False)
    run.bind_kept(os.path.basename(name))
    return name


def load_epoch_checkpoint(folder: str | os.PathLike[str], epoch: int, argument: str = "--epoch") -> Checkpoint:
    """The :class:`~fnn.store.checkpoint.Checkpoint` kept for ``epoch``; a missing one is an error naming the epochs
    that are kept (and ``argument``). A link or a file that is not regular is refused before it is read, and one
    that is not the one the run's record names (:meth:`~fnn.store.run_folder.RunFolder.kept_checkpoint`)."""
    run = RunFolder(folder)
    name = f"{FOLDER}/{epoch_checkpoint_name(epoch)}"
    if not run.exists(name):
        kept = kept_epochs(folder)
        what = f"epochs {kept[0]} to {kept[-1]}" if len(kept) > 1 else f"epoch {kept[0]}" if kept else "none"
        raise FnnInputError(
            f"{argument} {epoch}: {run.path} keeps no checkpoint of epoch {epoch} ({run.file(name)}); it keeps {what}. "
            f"Train with --keep-checkpoints to keep one per epoch."
        )
    return load_checkpoint(run.file(run.kept_checkpoint(epoch_checkpoint_name(epoch))))
