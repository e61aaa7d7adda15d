"""Staging and committing a run into a folder that already holds one (``--resume``, ``--overwrite``).

**Nothing is removed until what replaces it is durable.** Such a run writes its checkpoints, kept epochs,
TensorBoard files and figures under ``.fnn-pending/`` (:func:`staged_name`). Writing the new record, naming the
pending checkpoint, is the commit; then what an overwrite discards (the old kept epochs and TensorBoard files) and
the old figures (which describe the old record) are removed, and the pending files move into place
(:func:`finish_commit`). Until the commit the old run is exactly as it was; after it, a reader finds the
checkpoint the record names in ``.fnn-pending/`` if the move was interrupted, and the next writer to claim the
folder finishes it.

>>> staged_name("checkpoint.npz"), staged_name("learning_curves.png")
('.fnn-pending/checkpoint.npz', '.fnn-pending/figures/learning_curves.png')
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fnn.store.atomic import os_failure, sync_folder, write_atomic
from fnn.store.folder import Folder
from fnn.store.layout import CHECKPOINT, EXTRA_FOLDERS, PENDING, PLOT_FILES

OVERWRITE = "overwrite"
"""A mark in PENDING: the commit discards the old run's extras."""
_STALE_FIGURES = "figures-stale"  # a mark in PENDING: the commit removes the old run's figures
_FIGURES = "figures"  # the subfolder of PENDING holding the figures of the run it commits


def stage(folder: Folder, overwrite: bool) -> None:
    """Make ``folder``'s PENDING, marked for what its commit replaces: the old figures, and with ``overwrite`` the
    old extras."""
    with folder._directory(PENDING, create=True) as pending:
        for mark in (OVERWRITE, _STALE_FIGURES) if overwrite else (_STALE_FIGURES,):
            write_atomic(folder.file(f"{PENDING}/{mark}"), b"", folder_fd=pending)


def staged_name(name: str) -> str:
    """Where a staged run writes ``name``: under PENDING (a figure, one of PLOT_FILES, under ``PENDING/figures/``)."""
    return f"{PENDING}/{_FIGURES}/{name}" if name in PLOT_FILES else f"{PENDING}/{name}"


def finish_commit(folder: Folder, named: Callable[[], str | None]) -> None:
    """Finish (or, if the record does not name its checkpoint, drop) what a staged run left under PENDING in
    ``folder``; ``named()`` is the SHA-256 the folder's record names (None without a record)."""
    if folder._info(PENDING) is None:
        return
    pending = f"{PENDING}/{CHECKPOINT}"
    staged = folder.sha256(pending)
    if staged is None or named() != staged:
        folder.remove(PENDING)  # an attempt that never committed (or a finished move): the old run stays
        return
    for mark, discarded in ((OVERWRITE, EXTRA_FOLDERS), (_STALE_FIGURES, PLOT_FILES)):
        if folder.exists(f"{PENDING}/{mark}"):  # once: the mark goes before anything moves in
            for name in discarded:
                folder.remove(name)
            folder.remove(f"{PENDING}/{mark}")
    for sub, into in [*((sub, sub) for sub in EXTRA_FOLDERS), (_FIGURES, "")]:
        for name in folder.listdir(f"{PENDING}/{sub}"):
            _move(folder, f"{PENDING}/{sub}", into, name)
    _move(folder, PENDING, "", CHECKPOINT)
    folder.remove(PENDING)


def _move(folder: Folder, source: str, target: str, name: str) -> None:
    with folder._directory(source) as origin, folder._directory(target, create=True) as destination:
        try:
            os.replace(name, name, src_dir_fd=origin, dst_dir_fd=destination)
        except OSError as error:
            raise os_failure(folder.file(f"{target}/{name}" if target else name), error, "move into place") from None
        sync_folder(destination)
