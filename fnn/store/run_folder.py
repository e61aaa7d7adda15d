"""A run's folder as one object, :class:`RunFolder`, through which every read, write and delete under it goes.

A run folder holds ``checkpoint.npz`` (the model, optimiser and training state, configuration and preprocessing),
``record.json`` (what the run did) and, when asked, ``checkpoints/`` (one per epoch), ``tensorboard/`` and plots.
A sweep's folder holds ``runs/`` and ``summary.json`` and is guarded the same way. The rules:

- **No link is followed below the folder, every file is written atomically, special files are refused**: it is a
  :class:`~fnn.store.folder.Folder`, whose files are read and written through descriptors (:mod:`fnn.store.folder`).
- **One lock for every writer** (train, resume, sweep, plot, export): :mod:`fnn.store.lock`.
- **The record names its checkpoint**: ``record.json``'s ``checkpoint_sha256`` is the SHA-256 of the bytes of
  ``checkpoint.npz`` as written (:meth:`RunFolder.write_record` adds it; no caller does). Every reader goes through
  :meth:`RunFolder.load_checkpoint`, which refuses a checkpoint the record does not name, naming both files and
  both hashes. A folder with a checkpoint and no record (a run in progress, a file of ``fnn.save``) loads as is.
  Likewise its ``kept_checkpoints`` names the SHA-256 of each kept per-epoch checkpoint (:meth:`RunFolder.bind_kept`),
  and :meth:`RunFolder.kept_checkpoint` refuses one of other bytes, or one it does not name.
- **One check of a record's shape**, :mod:`fnn.store.record`, when it is written and whenever it is read.
- **Nothing is removed until what replaces it is durable**: a run into a folder that already holds one is staged
  and committed by its record (:mod:`fnn.store.staging`). So a record never names a checkpoint fnn has not made
  durable: a mismatch means the files were changed by hand, and is refused (restore the checkpoint the record
  names, or train the run again with ``--overwrite``).

>>> import tempfile
>>> folder = RunFolder(os.path.join(tempfile.mkdtemp(), "run"))
>>> with folder.claim():
...     path = folder.write("notes.txt", b"hello")
>>> folder.read_bytes("notes.txt"), folder.holder()
(b'hello', None)
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, Protocol

import numpy as np

from fnn.errors import FnnInputError
from fnn.store.atomic import TEMP_PREFIX, write_atomic
from fnn.store.checkpoint import Checkpoint, load_checkpoint, write_checkpoint
from fnn.store.folder import Folder
from fnn.store.layout import (
    CHECKPOINT,
    EXTRA_FOLDERS,
    KEPT_FOLDER,
    LEDGER,
    LOCK,
    PENDING,
    PLOT_FILES,
    RECORD,
    RUNGS,
    SUMMARY,
    SWEEP_RUNS,
)
from fnn.store.lock import RunLock, acquire_lock, lock_holder
from fnn.store.record import KEPT, KEPT_NAME, MAX_RECORD_BYTES, check_record, parse_record
from fnn.store.staging import finish_commit, stage, staged_name
from fnn.train.state import TrainState


class Saveable(Protocol):
    """What :meth:`RunFolder.save_checkpoint` writes: a state, its configuration and its extra arrays (a
    :class:`fnn.store.Model`)."""

    @property
    def state(self) -> TrainState: ...

    @property
    def config(self) -> dict[str, Any]: ...

    def extras(self) -> dict[str, np.ndarray]: ...


class _Unbound(FnnInputError):
    """The checkpoint is not the one the record names."""


class RunFolder(Folder):
    """A run (or sweep) folder: a :class:`~fnn.store.folder.Folder` with its lock, its staged commit, and its
    record bound to its checkpoints (see the module docstring). ``argument`` names the folder in errors
    (``"--out"``, ``"RUN"``, ...).

    >>> import tempfile
    >>> run = RunFolder(tempfile.mkdtemp(), "--out")
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> with run.claim():
    ...     _ = run.save_checkpoint(fnn.store.Model(fnn.TrainState(params, None)))
    ...     _ = run.write_record({"config": {}, "history": [], "final_metrics": {}, "params_sha256": "0" * 64})
    >>> run.read_record()["checkpoint_sha256"] == run.sha256(CHECKPOINT)
    True
    >>> run.load_checkpoint().state.params == params
    True
    """

    def __init__(self, path: str | os.PathLike[str], argument: str = "RUN") -> None:
        super().__init__(path, argument)
        self.lock: RunLock | None = None
        self._staged = False
        self._saved: str | None = None
        self._kept: dict[str, str] = {}  # the kept checkpoints this claim wrote, with their SHA-256
        self._inherited: dict[str, str] | None = None  # those the record at the claim named (None: no record)
        self._overwriting = False

    # -- the record and the checkpoints it names ------------------------------------------------------------------

    def has_record(self) -> bool:
        return self.exists(RECORD)

    def read_record(self, name: str = RECORD) -> dict[str, Any]:
        """The run's record (or the record file ``name`` of a sweep's run): at most :data:`MAX_RECORD_BYTES` of
        JSON of the shape fnn writes, else refused in one line naming the file (:mod:`fnn.store.record`)."""
        if self._info(name) is None:
            raise FnnInputError(f"{self._where()}: no {name} (is this a finished fnn run folder?).")
        return parse_record(self.read_bytes(name, MAX_RECORD_BYTES, "a run record"), self.file(name))

    def _named_checkpoint(self) -> str | None:
        """The SHA-256 the record names, None without a record; a record naming none while a checkpoint is here
        is refused."""
        if not self.has_record():
            return None
        named = self.read_record().get("checkpoint_sha256")
        if named is None and self.exists(CHECKPOINT):
            raise FnnInputError(
                f"{self.file(RECORD)} names no checkpoint (no checkpoint_sha256), so {self.file(CHECKPOINT)} cannot be "
                f"proven to be its run's; train the run again (fnn train --out {self.path} --overwrite)."
            )
        return named

    def checkpoint_name(self) -> str:
        """Where the checkpoint the record names is (``checkpoint.npz``, or under ``.fnn-pending/`` while a commit
        is being finished); without a record, ``checkpoint.npz``. A checkpoint that is not the one the record
        names is refused, naming both files and both hashes."""
        named = self._named_checkpoint()
        if named is None:
            if self._info(CHECKPOINT) is None:
                raise FnnInputError(f"{self._where()}: no {CHECKPOINT} here (expected a run folder fnn train wrote).")
            return CHECKPOINT
        pending = f"{PENDING}/{CHECKPOINT}"
        for name in (CHECKPOINT, pending, CHECKPOINT):  # again: a commit may have moved it meanwhile
            if self.sha256(name) == named:
                return name
        actual = self.sha256(CHECKPOINT)
        shown = "no file" if actual is None else f"sha256 {actual}"
        raise _Unbound(
            f"{self.file(CHECKPOINT)} ({shown}) is not the checkpoint {self.file(RECORD)} names (sha256 {named}): "
            f"they are from different runs or one was changed; restore the run's checkpoint, or train it again "
            f"(fnn train --out {self.path} --overwrite)."
        )

    def load_checkpoint(self, *, opt_state: bool = True) -> Checkpoint:
        """The :class:`~fnn.store.checkpoint.Checkpoint` the record names (see :meth:`checkpoint_name`)."""
        try:
            name = self.checkpoint_name()
        except _Unbound as refusal:
            if self.exists(CHECKPOINT):
                load_checkpoint(self.file(CHECKPOINT), opt_state=False)  # a damaged file is named as damaged first
            raise refusal from None
        return load_checkpoint(self.file(name), opt_state=opt_state)

    # -- the lock and claiming the folder ------------------------------------------------------------------------

    def holder(self) -> dict[str, Any] | None:
        """The holder of the folder's lock (``pid``, ``host``, ``started``), or None when no live process holds
        it (:func:`fnn.store.lock.lock_holder`)."""
        return lock_holder(self)

    def acquire(self) -> RunLock:
        """Lock the folder for this process (:func:`fnn.store.lock.acquire_lock`): a :class:`RunLock` whose release
        finishes a committed run's move into place or drops an uncommitted one."""
        self.lock = acquire_lock(self, self._finish_staged)
        return self.lock

    def _finish_staged(self) -> None:
        if self._staged:
            self._staged = False
            self._finish_commit()

    def holds_run(self) -> bool:
        """Whether the folder already holds a run: a checkpoint or a record in it."""
        return self.exists(CHECKPOINT) or self.exists(RECORD)

    def holds_sweep(self) -> bool:
        """Whether the folder holds a sweep's own files: its summary, its rungs, or run records in its ``runs/``
        (``runs/<run_id>.json``)."""
        return self.exists(SUMMARY) or self.exists(RUNGS) or self.exists(LEDGER) or any(name.endswith(".json") for name in self.listdir(SWEEP_RUNS))

    def _others(self) -> list[str]:
        ours = {LOCK, PENDING, *PLOT_FILES}
        return [name for name in self.listdir() if name not in ours and not name.startswith(TEMP_PREFIX)]

    def claim(self, *, overwrite: bool = False, resume: bool = False, overwrite_hint: str = "overwrite=True",
              resume_hint: str = "resume=True", sweep_run: bool = False) -> RunLock:
        """Make the folder this process's run folder and return its :class:`RunLock` (use it in a ``with`` block).

        - A new or empty folder is created if needed and locked; one holding other files and no run is refused
          unless ``overwrite`` (the run is then written beside them).
        - One holding a run is refused unless ``resume`` (it must hold a checkpoint) or ``overwrite``; either
          way the run in it stays whole until the new record commits the new one (module docstring).
        - A folder another live process writes into, or with a symbolic link anywhere below it, is refused.

        - A folder inside a run's or a sweep's own subfolders is refused (:func:`refuse_inside_runs`), except
          ``sweep_run``: a halving sweep's run folder in its ``runs/``, written under the sweep's lock.

        ``overwrite_hint`` and ``resume_hint`` word the errors (the command line passes ``"--overwrite"`` and
        ``"--resume DIR"``).

        >>> import tempfile
        >>> folder = RunFolder(tempfile.mkdtemp(), "--out")
        >>> folder.write(RECORD, b"{}").endswith("record.json")
        True
        >>> folder.claim()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        fnn.errors.FnnInputError: --out ...: already holds a run (record.json); ...
        """
        if overwrite and resume:
            raise FnnInputError(f"{self._where()}: ask to overwrite the run or to resume it, not both.")
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise FnnInputError(f"{self._where()}: exists and is not a folder.")
        if not sweep_run:
            refuse_inside_runs(self.path, self.argument)
        others = [] if self.holds_run() else self._others()
        if others and not overwrite:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise FnnInputError(
                f"{self._where()}: holds other files ({shown}) and no run; a run goes into a new or empty folder. "
                f"Choose another folder, or write the run beside them with {overwrite_hint}."
            )
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as error:
            raise FnnInputError(f"{self._where()}: cannot create the folder ({error.strerror}).") from None
        self._refuse_links()
        lock = self.acquire()
        try:
            self._finish_commit()
            if resume and self._info(CHECKPOINT) is None:
                raise FnnInputError(f"{self._where()}: nothing to resume, no {CHECKPOINT} here.")
            if self.holds_run() and not (overwrite or resume):
                held = [name for name in (CHECKPOINT, RECORD) if self.exists(name)]
                raise FnnInputError(
                    f"{self._where()}: already holds a run ({', '.join(held)}); choose another folder, continue it "
                    f"with {resume_hint} or replace it with {overwrite_hint}."
                )
            self._staged = self.has_record() or (overwrite and self.holds_run())
            self._kept = {}
            self._inherited = None if overwrite or not self.has_record() else self.read_record().get(KEPT, {})
            self._overwriting = overwrite
            if self._staged and not overwrite:  # the commit moves the new extras into these: refuse before, not after it
                self._refuse_non_folders(EXTRA_FOLDERS)
            if self._staged:
                stage(self, overwrite)
        except BaseException:
            lock.release()
            raise
        return lock

    def _refuse_links(self) -> None:
        links = self.links()
        if links:
            more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
            raise FnnInputError(f"{self._where()}: {links[0]}{more} is a symbolic link; fnn does not follow links in a run folder. Remove it.")

    def _refuse_non_folders(self, names: tuple[str, ...]) -> None:
        for name in names:
            info = self._info(name)
            if info is not None and not stat.S_ISDIR(info.st_mode):
                raise FnnInputError(f"{self.file(name)} is not a folder; the run keeps its {name} there. Remove or rename it.")

    def _held(self) -> None:
        if self.lock is None or not self.lock.held:
            raise FnnInputError(f"{self._where()}: write into a run folder only while holding its lock (claim() or acquire()).")

    # -- writing the run ----------------------------------------------------------------------------------------

    def place(self, name: str) -> str:
        """Where a writer of this claim puts ``name``: under ``.fnn-pending/`` until its record commits it (a
        figure, one of :data:`PLOT_FILES`, under ``.fnn-pending/figures/``)."""
        return staged_name(name) if self._staged else name

    def folder(self, sub: str) -> str:
        """The path of subfolder ``sub`` of :meth:`place`, made if missing (never through a link)."""
        name = self.place(sub)
        with self._directory(name, create=True):
            return self.file(name)

    def save_checkpoint(self, model: Saveable) -> str:
        """Write ``model`` as the run's checkpoint; returns the SHA-256 of its bytes (the record will name it)."""
        self._held()
        name = self.place(CHECKPOINT)
        with self._directory(os.path.dirname(name)):  # no link on the way, checked before the write
            pass
        write_checkpoint(self.file(name), model.state, config=model.config, extras=model.extras())
        self._saved = self.sha256(name)
        assert self._saved is not None
        return self._saved

    def write_record(self, record: dict[str, Any]) -> str:
        """Write the run's record, naming the checkpoint this claim saved (else the one in the folder), and commit
        a staged run (module docstring); returns the record's path."""
        self._held()
        named = self._saved if self._saved is not None else self.sha256(CHECKPOINT)
        kept = self._kept_checkpoints()
        content = check_record({**record, "checkpoint_sha256": named, **({KEPT: kept} if kept else {})}, self.file(RECORD))
        try:
            text = json.dumps(content, indent=2, allow_nan=True)
        except (TypeError, ValueError) as error:
            raise FnnInputError(f"{self.file(RECORD)}: the record is not JSON-ready ({error}).") from None
        path = self.write(RECORD, text.encode())
        if self._staged:
            self._finish_commit()
            self._staged = False
        return path

    def bind_kept(self, name: str) -> str:
        """Bind the kept checkpoint ``name`` (``epoch-0001.npz``) this claim wrote into :meth:`place` of
        ``checkpoints/``: the record will name the SHA-256 of its bytes, returned."""
        self._held()
        digest = self.sha256(f"{self.place(KEPT_FOLDER)}/{name}")
        if digest is None:
            raise FnnInputError(f"{self.file(self.place(KEPT_FOLDER) + '/' + name)}: no such kept checkpoint to bind.")
        self._kept[name] = digest
        return digest

    def _kept_checkpoints(self) -> dict[str, str]:
        """What the record names of the kept checkpoints the committed run will hold: those this claim wrote, those
        the record before named, and those of a run that was stopped before its first record (its own, unbound)."""
        kept = dict(self._kept)
        if not self._overwriting:
            for name in self.listdir(KEPT_FOLDER):
                if name in kept or not KEPT_NAME.match(name):
                    continue
                digest = self.sha256(f"{KEPT_FOLDER}/{name}") if self._inherited is None else None
                if digest is not None:
                    kept[name] = digest
                elif self._inherited is not None and name in self._inherited:
                    kept[name] = self._inherited[name]
        return dict(sorted(kept.items()))

    def kept_checkpoint(self, name: str) -> str:
        """Where the kept checkpoint ``name`` (``epoch-0001.npz``) the record names is (under ``checkpoints/``, or
        under ``.fnn-pending/`` while a commit is being finished); without a record, ``checkpoints/name``. One
        the record does not name, or of other bytes, is refused naming the file and both hashes."""
        where = f"{KEPT_FOLDER}/{name}"
        if not self.has_record():
            return where
        named = self.read_record().get(KEPT, {}).get(name)
        for place in (where, f"{PENDING}/{where}", where):  # again: a commit may have moved it meanwhile
            if named is not None and self.sha256(place) == named:
                return place
        actual = self.sha256(where)
        shown = "no file" if actual is None else f"sha256 {actual}"
        bound = f"sha256 {named}" if named is not None else "no sha256: it names no such kept checkpoint"
        raise _Unbound(
            f"{self.file(where)} ({shown}) is not the kept checkpoint {self.file(RECORD)} names ({bound}): it is from "
            f"another run or was changed; restore the run's checkpoint, or train it again (fnn train --out {self.path} --overwrite)."
        )

    def check_kept_checkpoints(self) -> list[str]:
        """The names of the kept checkpoints, each proven the one the record names (:meth:`kept_checkpoint`): every
        one the record names and every epoch checkpoint in ``checkpoints/``."""
        named = self.read_record().get(KEPT, {}) if self.has_record() else {}
        names = sorted({*named, *(name for name in self.listdir(KEPT_FOLDER) if KEPT_NAME.match(name))})
        for name in names:
            self.kept_checkpoint(name)
        return names

    def _finish_commit(self) -> None:
        """Finish (or drop) what a staged run left under PENDING (:func:`fnn.store.staging.finish_commit`)."""
        finish_commit(self, lambda: self.read_record().get("checkpoint_sha256") if self.has_record() else None)


_OWN = (CHECKPOINT, RECORD, LOCK, PENDING)
"""Names no writer beside runs takes, in any folder: a run folder's own files."""


@contextlib.contextmanager
def beside_runs(path: str | os.PathLike[str], flag: str) -> Iterator[None]:
    """Hold the lock of the run or sweep folder ``path`` would be written into, if it is one, while the caller
    writes there (``fnn export``, ``fnn predict --out``, ``fnn plot --out`` and ``fnn.save`` write as one of its
    writers). What a run or sweep folder is made of is refused as a target, even with ``--overwrite``: a run's
    checkpoint, record, lock, pending commit and figures, a sweep's summary, rungs and run records, and anything
    inside a run's ``checkpoints/``, ``tensorboard/`` or ``.fnn-pending/`` or directly in a sweep's ``runs/``
    (the folder is taken where its links lead).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with beside_runs(os.path.join(folder, "p.csv"), "--out"):
    ...     pass
    >>> with beside_runs(os.path.join(folder, "record.json"), "--out"):  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    fnn.errors.FnnInputError: --out ...record.json: a run folder's own file name; fnn writes nothing else in its place. Choose another name.
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    if name in _OWN:
        raise FnnInputError(f"{flag} {path}: a run folder's own file name; fnn writes nothing else in its place. Choose another name.")
    refuse_inside_runs(path, flag)
    parent = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    target = RunFolder(parent, flag) if os.path.isdir(parent) else None
    owned = target is not None and (target.holds_run() or target.holds_sweep() or target.exists(LOCK))
    lock = target.acquire() if target is not None and owned else None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def refuse_inside_runs(path: str | os.PathLike[str], flag: str) -> None:
    """Refuse ``path``, a file or folder to be made, where it would be part of a run or a sweep: a run's figures
    or subfolders, a sweep's summary, rungs or ``runs/``, or anything inside a run's ``checkpoints/``,
    ``tensorboard/`` or ``.fnn-pending/`` (at any depth) or directly in a sweep's ``runs/``; the folder is taken
    where its links lead. ``flag`` names ``path`` in the error.

    >>> import tempfile
    >>> run = RunFolder(tempfile.mkdtemp())
    >>> with run.claim():
    ...     _ = run.write(RECORD, b"{}")
    >>> refuse_inside_runs(os.path.join(run.path, "checkpoints", "mine"), "--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.errors.FnnInputError: --out ...mine: inside .../checkpoints, a subfolder the run in ... writes; fnn writes nothing else there. Choose a path outside it.
    """
    path = os.fspath(path)
    name = os.path.basename(os.path.normpath(path))
    parent = os.path.realpath(os.path.dirname(os.path.abspath(path)))

    def run_in(folder: str) -> bool:
        return os.path.isdir(folder) and RunFolder(folder).holds_run()

    def sweep_in(folder: str) -> bool:
        return os.path.isdir(folder) and RunFolder(folder).holds_sweep()

    whose = None
    if name in (*PLOT_FILES, *EXTRA_FOLDERS, PENDING) and run_in(parent):
        whose = f"part of the run in {parent}"
    elif name in (SUMMARY, RUNGS, LEDGER, SWEEP_RUNS, *PLOT_FILES) and sweep_in(parent):
        whose = f"part of the sweep in {parent}"
    elif os.path.basename(parent) == SWEEP_RUNS and sweep_in(os.path.dirname(parent)):
        whose = f"inside {parent}, where the sweep in {os.path.dirname(parent)} keeps its runs"
    child, above = parent, os.path.dirname(parent)
    while whose is None and above != child:
        if os.path.basename(child) in (*EXTRA_FOLDERS, PENDING) and run_in(above):
            whose = f"inside {child}, a subfolder the run in {above} writes"
        child, above = above, os.path.dirname(above)
    if whose is not None:
        raise FnnInputError(f"{flag} {path}: {whose}; fnn writes nothing else there. Choose a path outside it.")


def write_run_file(folder: str | os.PathLike[str], name: str,
                   write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *, overwrite: bool = True) -> str:
    """Write ``folder/name`` atomically with ``write`` (bytes, or a function of a binary handle) and return its
    path; a symbolic link or a folder at that name is refused (never followed, never replaced), and with
    ``overwrite=False`` an existing file too. Into a run or sweep folder it writes as one of its writers, and
    never over its parts (:func:`beside_runs`).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.path.basename(write_run_file(folder, "a.txt", b"1"))
    'a.txt'
    >>> os.symlink("a.txt", os.path.join(folder, "b.txt"))
    >>> write_run_file(folder, "b.txt", b"2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.errors.FnnInputError: ...b.txt is a symbolic link; fnn never writes through a link in a run folder. Remove it.
    """
    with beside_runs(os.path.join(os.fspath(folder), name), "write_run_file"):
        return write_in_folder(folder, name, write, overwrite=overwrite)


def atomic_write(path: str | os.PathLike[str], write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *,
                 overwrite: bool = True) -> str:
    """Write ``path`` atomically (:func:`fnn.store.atomic.write_atomic`: whole or not at all, never through a
    planted link) and return it; into a run or sweep folder as one of its writers, never over its parts
    (:func:`beside_runs`).

    >>> import tempfile
    >>> path = atomic_write(os.path.join(tempfile.mkdtemp(), "note.txt"), b"hello")
    >>> with open(path, "rb") as handle:
    ...     handle.read()
    b'hello'
    """
    with beside_runs(path, "atomic_write"):
        return write_atomic(path, write, overwrite=overwrite)


def save_checkpoint(path: str | os.PathLike[str], state: TrainState, config: Any = None,
                    extras: Mapping[str, Any] | None = None, *, overwrite: bool = True) -> None:
    """Write ``state`` (and a JSON-ready ``config`` and ``extras``, a dict of arrays) to ``path`` atomically
    (:func:`fnn.store.checkpoint.write_checkpoint`); into a run or sweep folder as one of its writers, never over
    its parts (:func:`beside_runs`): a run's checkpoint is its :class:`RunFolder`'s.

    >>> import tempfile
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "c.npz")
    >>> save_checkpoint(path, fnn.TrainState(params, fnn.optim.sgd(0.1).init(params), epoch=3))
    >>> load_checkpoint(path).state.epoch
    3
    """
    with beside_runs(path, "save_checkpoint"):
        write_checkpoint(path, state, config, extras, overwrite=overwrite)


def write_in_folder(folder: str | os.PathLike[str], name: str,
                   write: bytes | bytearray | memoryview | Callable[[IO[bytes]], Any], *, overwrite: bool = True) -> str:
    """Write ``folder/name`` atomically with ``write`` (bytes, or a function of a binary handle) and return its
    path, for a caller already beside runs (:func:`beside_runs`) or holding the folder's lock; a symbolic link or a
    folder at that name is refused (never followed, never replaced), and with ``overwrite=False`` an existing file
    too."""
    if not name or os.path.basename(name) != name or name in (".", ".."):
        raise FnnInputError(f"A run file name must be a plain file name; got {name!r}.")
    if name in _OWN:
        raise FnnInputError(f"{name}: a run folder's own file name; fnn writes nothing else in its place. Choose another name.")
    folder = os.fspath(folder)
    path = os.path.join(folder, name)
    if not os.path.isdir(folder):
        raise FnnInputError(f"{folder}: no such folder to write {name} into.")
    if os.path.islink(path):
        raise FnnInputError(f"{path} is a symbolic link; fnn never writes through a link in a run folder. Remove it.")
    if os.path.isdir(path):
        raise FnnInputError(f"{path} is a folder; fnn expected to write a file there.")
    if not overwrite and os.path.lexists(path):
        raise FnnInputError(f"{path} exists; fnn does not overwrite it unless asked.")
    return write_atomic(path, write, overwrite=overwrite)  # no-clobber again at the rename: another writer may have won
