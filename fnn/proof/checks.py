"""Proving a run from its folder: rerun it and compare the bits, compare two runs, replay one epoch alone.

A run is a pure function of its configuration, its data and its seed, so its record (``record.json``) is enough
to rerun it, and its kept per-epoch checkpoints (``fnn train --keep-checkpoints``) are enough to rerun any one
epoch. These are the library behind ``fnn verify``, ``fnn diff`` and ``fnn replay``:

- :func:`verify_run` reruns the recorded configuration with the recorded BLAS thread count and judges the whole
  rerun against the record (params, history, validation and test metrics, data fingerprints) and the checkpoint
  on disk (:func:`fnn.proof.verify.judge_rerun`);
- :func:`diff_runs` compares two records (:func:`fnn.proof.diff.diff_records`) and the two checkpoints on disk;
- :func:`replay_epoch` trains epoch ``E`` alone through the training fold (:func:`fnn.train.loop.run_epoch`) from
  the checkpoint of epoch ``E - 1``, on the data parts as :func:`fnn.run.build.prepare_run` holds them, compares
  the result with the kept checkpoint of epoch ``E`` and shows the epoch's batch order and dropout masks
  (:func:`fnn.proof.replay.epoch_plan`).

Each reads the record through :meth:`fnn.store.RunFolder.read_record` (a sweep's run record ``SWEEP/runs/ID.json``
and a halving sweep's run folder ``SWEEP/runs/ID/`` through :func:`fnn.run.stacks.sweep_record`, bound to the sweep's
ledger), and the data from the location the record
keeps, refusing files that no longer have the recorded SHA-256 (:func:`fnn.run.provenance.check_source`). A sweep's
run record keeps no checkpoint: verify reruns it, diff compares its record, replay says so.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from attrs import evolve, frozen
from threadpoolctl import threadpool_limits

from fnn.errors import FnnInputError, bad_argument
from fnn.proof.diff import RecordDiff, _differences, diff_records
from fnn.proof.replay import EpochPlan, epoch_plan
from fnn.proof.verify import Verification, judge_rerun
from fnn.run.build import Prepared, prepare_run
from fnn.run.engine import run_prepared, run_threads
from fnn.run.halving import train_to_rung
from fnn.run.provenance import check_source, file_sha256
from fnn.run.record import data_fingerprints, params_sha256
from fnn.run.settings import RunConfig, config_from_record
from fnn.run.stacks import sweep_run_record
from fnn.run.sweep import sweep_record_file
from fnn.store.checkpoint import load_checkpoint
from fnn.store.codec import encode
from fnn.store.epochs import load_epoch_checkpoint
from fnn.store.layout import CHECKPOINT, KEPT_FOLDER, RECORD, SWEEP_RUNS
from fnn.store.run_folder import RunFolder
from fnn.train.dropout import dropout_rates
from fnn.train.loop import run_epoch, start_state, weighted_parts
from fnn.train.state import TrainState

_PathLike = str | os.PathLike[str]


def _folder(run: _PathLike, argument: str) -> str:
    """The run folder ``run`` names (itself, or the folder of its ``record.json`` or ``checkpoint.npz``)."""
    run = os.fspath(run)
    if os.path.isfile(run):
        folder, name = os.path.split(run)
        if name not in (RECORD, CHECKPOINT):
            raise FnnInputError(f"{argument} {run}: expected a run folder (or its {RECORD} or {CHECKPOINT}), or a sweep's "
                                f"run record SWEEP/{SWEEP_RUNS}/ID.json.")
        run = folder or "."
    if not os.path.isdir(run):
        raise FnnInputError(f"{argument} {run}: no such run folder.")
    if RunFolder(run).holds_sweep() and not RunFolder(run).holds_run():
        raise FnnInputError(f"{argument} {run}: holds a sweep, not a run; name one of its runs: its record "
                            f"{os.path.join(run, SWEEP_RUNS, 'ID.json')} (a halving sweep's: its folder {os.path.join(run, SWEEP_RUNS, 'ID')}).")
    sweep_run_record(run, argument)  # a halving sweep's run: its record bound to the sweep's ledger, or refused
    return run


def _record(run: _PathLike, argument: str) -> dict[str, Any]:
    """The checked record of a run folder (or of a ``record.json`` path), refused if the folder's checkpoint is not
    the one it names (:meth:`fnn.store.RunFolder.checkpoint_name`)."""
    folder = _folder(run, argument)
    bound = RunFolder(folder, argument)
    record = bound.read_record()
    if record.get("checkpoint_sha256") is not None or bound.exists(CHECKPOINT):
        bound.checkpoint_name()
    return record


def _config(settings: Any, where: str) -> RunConfig:
    try:
        return config_from_record(settings)
    except FnnInputError as error:
        raise FnnInputError(f"{where}: its configuration is not usable: {error}") from None


def _opt_arrays(state: TrainState) -> tuple[Any, dict[str, np.ndarray]]:
    return encode(state.opt_state, state.params.spec, "checkpoint", prefix="opt", what="the optimiser state")


def _same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Equal to the bit: the same names, dtypes, shapes and bytes."""
    return a.keys() == b.keys() and all(
        a[name].dtype == b[name].dtype and a[name].shape == b[name].shape
        and np.ascontiguousarray(a[name]).tobytes() == np.ascontiguousarray(b[name]).tobytes() for name in a
    )


def _same_opt_state(a: TrainState, b: TrainState) -> bool:
    (tree_a, arrays_a), (tree_b, arrays_b) = _opt_arrays(a), _opt_arrays(b)
    return bool(tree_a == tree_b and _same_arrays(arrays_a, arrays_b))


def _checkpoint_state(folder: str) -> TrainState | None:
    """The training state of the checkpoint in ``folder`` as it is on disk, or None when there is none."""
    bound = RunFolder(folder)
    return bound.load_checkpoint().state if bound.exists(CHECKPOINT) else None


def _checkpoint_differences(folder: str, record: dict[str, Any], rerun: TrainState) -> list[str]:
    """What of the checkpoint on disk differs from the record (the file's SHA-256 where recorded, the
    configuration, the params' SHA-256) and from the rerun's final state (optimiser state, epoch and step), each a
    line naming it."""
    bound = RunFolder(folder)
    try:  # the checkpoint the record names (it may be in the folder's pending commit); else the one in its place
        path = bound.file(bound.checkpoint_name())
    except FnnInputError:
        path = bound.file(CHECKPOINT)
    if not os.path.isfile(path):
        return [f"checkpoint: {path} is missing"]
    out = []
    recorded = record.get("checkpoint_sha256")
    current = None if recorded is None else file_sha256(path)
    if current != recorded:
        out.append(f"checkpoint_sha256: {recorded} recorded, {current} on disk ({path})")
    try:
        checkpoint = load_checkpoint(path)
    except FnnInputError as error:
        return [*out, f"checkpoint: {error}"]
    stored = checkpoint.state
    out += [f"checkpoint config.{name}: {a!r} recorded, {b!r} on disk ({path})"
            for name, a, b in _differences(record["config"], checkpoint.config or {})]
    on_disk = params_sha256(stored.params)
    if on_disk != record["params_sha256"]:
        out.append(f"checkpoint params: SHA-256 {record['params_sha256']} recorded, {on_disk} on disk ({path})")
    if not _same_opt_state(stored, rerun):
        out.append(f"checkpoint optimiser state: differs from the rerun's ({path})")
    for name in ("epoch", "step"):
        if getattr(stored, name) != getattr(rerun, name):
            out.append(f"checkpoint {name}: {getattr(stored, name)} on disk, {getattr(rerun, name)} rerun ({path})")
    return out


def _run_threads(record: dict[str, Any] | None, config: RunConfig) -> int:
    """The BLAS threads a run used, as its record states them, else as its configuration chooses them."""
    threads = record.get("threads") if record else None
    if isinstance(threads, int) and not isinstance(threads, bool) and threads > 0:
        return threads
    return run_threads(config)


def _verified(run: _PathLike) -> tuple[str | None, dict[str, Any]]:
    """The run folder (None for a sweep's run record) and the checked record :func:`verify_run` proves."""
    record = sweep_record_file(run)
    if record is not None:
        return None, record
    folder = _folder(run, "RUN")
    bound = RunFolder(folder, "RUN")
    record = bound.read_record()
    bound.check_kept_checkpoints()  # each kept epoch's checkpoint is the one the record names, or refused
    return folder, record


def rerun_threads(run: _PathLike) -> int:
    """The BLAS thread count :func:`verify_run` reruns the run in folder ``run`` with: the recorded one.
    """
    record = sweep_record_file(run) or _record(run, "RUN")
    return _run_threads(record, _config(record["config"], f"RUN {os.fspath(run)}"))


def verify_run(run: _PathLike, threads: int | None = None) -> Verification:
    """Rerun the run in folder ``run`` (or a sweep's run, by its record ``SWEEP/runs/ID.json``: stacked members
    rerun alone, to the same bits) from its record and judge it: a :class:`fnn.proof.verify.Verification`
    (``.matches``; ``.differences`` naming each field of the record or of the checkpoint on disk that the rerun
    does not give again; ``.reasons`` naming what differs around it: data, versions, BLAS core type, threads).

    The rerun uses the recorded BLAS thread count unless ``threads`` is given (to test another); the data are
    read from the location the record keeps, and files there that changed since are refused, naming them; so is a
    kept per-epoch checkpoint that is not the one the record names.

    >>> import contextlib, io, os, tempfile
    >>> folder = os.path.join(tempfile.mkdtemp(), "run")
    >>> with contextlib.redirect_stdout(io.StringIO()):  # fnn train --quiet prints the folder
    ...     code = fnn.cli.main(["train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--keep-checkpoints", "--out", folder, "--quiet"])
    >>> verdict = verify_run(folder)
    >>> verdict.matches, verdict.reasons
    (True, ())
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
        raise bad_argument("verify_run", "threads", "None or a positive int", threads)
    folder, record = _verified(run)
    where = f"RUN {os.fspath(run)}"
    config = _config(record["config"], where)
    check_source(record.get("data"), where)
    config = config.replace(threads=int(threads) if threads is not None else _run_threads(record, config))
    prepared = prepare_run(config)
    if isinstance(record.get("rung_epochs"), int):  # a halving sweep's run, stopped at a rung of its budget
        state, rerun = train_to_rung(prepared, record["rung_epochs"])
    else:
        finished = run_prepared(prepared)  # the engine limits BLAS to config.threads
        state, rerun = finished.state, finished.record
    return judge_rerun(record, rerun, _checkpoint_differences(folder, record, state) if folder is not None else ())


def _compared(run: _PathLike, argument: str) -> tuple[dict[str, Any], TrainState | None, str | None]:
    """``(record, checkpoint state, why there is no state)`` of one side of :func:`diff_runs`."""
    record = sweep_record_file(run, argument)
    if record is not None:
        return record, None, f"{argument} {os.fspath(run)} is a sweep's run record, which keeps no checkpoint"
    folder = _folder(run, argument)
    state = _checkpoint_state(folder)
    return RunFolder(folder, argument).read_record(), state, None if state is not None else f"{argument} {folder} has no {CHECKPOINT}"


def diff_runs(run_a: _PathLike, run_b: _PathLike) -> RecordDiff:
    """The :class:`fnn.proof.diff.RecordDiff` between two runs, each a run folder (or its ``record.json``) or a
    sweep's run record (``SWEEP/runs/ID.json``): their records compared (configuration, history, metrics, params
    hash, data and environment), and their checkpoints as they are on disk (``params_equal`` and ``state_equal``
    compare the arrays). Where a side has no checkpoint, the params are compared by the recorded
    ``params_sha256`` and the optimiser state not at all; ``not_compared`` says so.

    >>> import contextlib, io, os, tempfile
    >>> folder = os.path.join(tempfile.mkdtemp(), "run")
    >>> with contextlib.redirect_stdout(io.StringIO()):  # fnn train --quiet prints the folder
    ...     code = fnn.cli.main(["train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--keep-checkpoints", "--out", folder, "--quiet"])
    >>> difference = diff_runs(folder, os.path.join(folder, "record.json"))
    >>> difference.identical, difference.epochs
    (True, (2, 2))
    """
    (record_a, state_a, why_a), (record_b, state_b, why_b) = _compared(run_a, "RUN_A"), _compared(run_b, "RUN_B")
    difference = diff_records(record_a, record_b)
    if state_a is None or state_b is None:
        why = "; ".join(w for w in (why_a, why_b) if w)
        return evolve(difference, state_equal=None, not_compared=(
            f"the parameter arrays and the optimiser state ({why}): params are compared by their recorded params_sha256",
        ))
    same_params = params_sha256(state_a.params) == params_sha256(state_b.params)  # of the arrays as loaded
    return evolve(difference, params_equal=same_params, state_equal=same_params and _same_opt_state(state_a, state_b))


@frozen(hash=False)
class Replay:
    """A replayed epoch: its :class:`~fnn.proof.replay.EpochPlan` (batch indices, masks on demand), the fraction of
    hidden units the dropout masks kept (None without dropout), the SHA-256 of the replayed and of the kept
    parameters after the epoch, and whether the training data as used still have the recorded fingerprint
    (None if the folder has no record stating it).

    >>> plan = epoch_plan(5, 2, seed=0, epoch=0)
    >>> Replay(1, plan, None, "ab" * 32, "ab" * 32, None).matches
    True
    """

    epoch: int
    plan: EpochPlan
    keep_fraction: float | None
    replayed_sha256: str
    stored_sha256: str
    data_matches: bool | None

    @property
    def matches(self) -> bool:
        return self.replayed_sha256 == self.stored_sha256


def _keep_fraction(plan: EpochPlan) -> float | None:
    """The fraction of hidden units an epoch's dropout masks keep (None without dropout)."""
    masks = [mask for index in range(len(plan.batches)) for mask in (plan.masks(index) or ()) if mask is not None]
    total = sum(mask.size for mask in masks)
    return sum(int(np.count_nonzero(mask)) for mask in masks) / total if total else None


def _data_matches(record: dict[str, Any] | None, prepared: Prepared) -> bool | None:
    if record is None or not isinstance(record.get("data"), dict) or not record["data"].get("train"):
        return None
    return bool(record["data"] == data_fingerprints(prepared))


def replay_epoch(run: _PathLike, epoch: int) -> Replay:
    """Rerun epoch ``epoch`` (counting from 1) of the run in folder ``run`` alone, through the training fold
    itself (:func:`fnn.train.loop.run_epoch`), and compare it with the kept checkpoint of that epoch: a
    :class:`Replay`. Needs the run's per-epoch checkpoints (``--keep-checkpoints``); epoch 1 starts from the
    configuration's initial parameters, any other from the checkpoint of the epoch before.

    >>> import contextlib, io, os, tempfile
    >>> folder = os.path.join(tempfile.mkdtemp(), "run")
    >>> with contextlib.redirect_stdout(io.StringIO()):  # fnn train --quiet prints the folder
    ...     code = fnn.cli.main(["train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--keep-checkpoints", "--out", folder, "--quiet"])
    >>> replay = replay_epoch(folder, 2)
    >>> replay.matches, replay.plan.first_step, len(replay.plan.batches), replay.keep_fraction
    (True, 4, 4, None)
    """
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 1:
        raise bad_argument("replay_epoch", "epoch", "a positive int (epochs count from 1)", epoch)
    epoch, run = int(epoch), os.fspath(run)
    if sweep_record_file(run) is not None:
        raise FnnInputError(f"RUN {run}: a sweep's run record keeps no checkpoint, so none of its epochs can be replayed; "
                            f"fnn verify {run} reruns the whole run and proves its record to the bit.")
    run = _folder(run, "RUN")
    runs = os.path.dirname(os.path.abspath(run))
    if os.path.basename(runs) == SWEEP_RUNS and RunFolder(os.path.dirname(runs)).holds_sweep() and not RunFolder(run).exists(KEPT_FOLDER):
        raise FnnInputError(f"RUN {run}: a halving sweep's run keeps only the checkpoint of the last rung it reached, no "
                            f"checkpoint per epoch, so none of its epochs can be replayed; fnn verify {run} reruns it and proves "
                            f"its record to the bit.")
    record = _record(run, "RUN") if RunFolder(run).has_record() else None
    stored = load_epoch_checkpoint(run, epoch)
    config = _config(stored.config or {}, f"RUN {run}")
    if record is not None:
        check_source(record.get("data"), f"RUN {run}")
    prepared = prepare_run(config)
    if epoch == 1:
        start = start_state(prepared.params, prepared.optimizer, config.seed, "replay_epoch")
    else:
        start = load_epoch_checkpoint(run, epoch - 1).state
    (x, y, weights), _ = weighted_parts(start.params, prepared.train, prepared.options, start.seed, "replay_epoch")
    plan = epoch_plan(len(x), config.batch_size, start.seed, epoch - 1, spec=start.params.spec, drop_rate=config.drop_rate,
                      first_step=start.step, dtype=start.params.dtype)
    drop_rates = dropout_rates(start.params.spec, config.drop_rate, "replay_epoch")
    with threadpool_limits(limits=_run_threads(record, config), user_api="blas"):  # the run's sums, in its order
        replayed, _ = run_epoch(start, x, y, prepared.optimizer, config.batch_size, drop_rates, weights=weights)
    return Replay(epoch, plan, _keep_fraction(plan), params_sha256(replayed.params), params_sha256(stored.state.params),
                  _data_matches(record, prepared))
