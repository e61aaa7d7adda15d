"""Proving a run from its folder: rerun it and compare the bits, compare two runs, replay one epoch alone.

A run is a pure function of its configuration, its data and its seed, so its record (``record.json``) is enough
to rerun it, and its kept per-epoch checkpoints (``fnn train --keep-checkpoints``) are enough to rerun any one
epoch. These are the library behind ``fnn verify``, ``fnn diff`` and ``fnn replay``:

- :func:`verify_run` reruns the recorded configuration with the recorded BLAS thread count and judges the
  rerun's parameters against the recorded SHA-256 (:func:`fnn.proof.verify.judge_rerun`);
- :func:`diff_runs` compares two records (:func:`fnn.proof.diff.diff_records`);
- :func:`replay_epoch` recreates epoch ``E``'s batch order and dropout masks alone (:func:`fnn.proof.replay.epoch_plan`),
  trains that one epoch from the checkpoint of epoch ``E - 1`` and compares the result with the kept checkpoint
  of epoch ``E``.
"""

import os

import numpy as np
from attrs import frozen
from threadpoolctl import threadpool_limits

from fnn.errors import FnnInputError, bad_argument
from fnn.proof.diff import diff_records
from fnn.proof.replay import epoch_plan
from fnn.proof.verify import judge_rerun
from fnn.run import config_from_record, data_fingerprints, params_sha256, prepare_run, run_prepared, run_threads
from fnn.store.epochs import load_epoch_checkpoint
from fnn.store.run_folder import RECORD, read_record
from fnn.train.loop import prepare_data, start_state, validation_split
from fnn.train.step import train_step

__all__ = ["recorded_threads", "rerun_threads", "verify_run", "diff_runs", "Replay", "replay_epoch"]


def _record(run, argument):
    """The record of a run folder (or of a ``record.json`` path)."""
    run = os.fspath(run)
    if os.path.isfile(run):
        folder, name = os.path.split(run)
        if name != RECORD:
            raise FnnInputError(f"{argument} {run}: expected a run folder or its {RECORD}.")
        run = folder or "."
    if not os.path.isdir(run):
        raise FnnInputError(f"{argument} {run}: no such run folder.")
    return read_record(run)


def recorded_threads(record):
    """The BLAS thread count a record states, or None (older records, or a BLAS threadpoolctl cannot see)."""
    blas = (record.get("environment") or {}).get("blas")
    threads = blas.get("threads") if isinstance(blas, dict) else None
    return threads if isinstance(threads, int) and not isinstance(threads, bool) and threads > 0 else None


def _run_threads(record, config):
    """The BLAS threads a run used: as its record states them (``threads``, else its environment's BLAS), else
    as its configuration would choose them now."""
    threads = record.get("threads") if record else None
    if isinstance(threads, int) and not isinstance(threads, bool) and threads > 0:
        return threads
    return (recorded_threads(record) if record else None) or run_threads(config)


def rerun_threads(run):
    """The BLAS thread count :func:`verify_run` reruns the run in folder ``run`` with: the recorded one."""
    record = _record(run, "RUN")
    return _run_threads(record, config_from_record(record.get("config") or {}))


def verify_run(run, threads=None):
    """Rerun the run in folder ``run`` from its record and judge it: a :class:`fnn.proof.verify.Verification`
    (``.matches``, and ``.reasons`` naming what differs: data, versions, BLAS core type, thread count).

    The rerun uses the recorded BLAS thread count unless ``threads`` is given (to test another); the recorded
    data are reloaded as the configuration names them (a ``csv:PATH`` relative to the current folder).
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
        raise bad_argument("verify_run", "threads", "None or a positive int", threads)
    record = _record(run, "RUN")
    if not isinstance(record.get("config"), dict) or not isinstance(record.get("params_sha256"), str):
        raise FnnInputError(f"RUN {run}: its {RECORD} has no configuration or no params_sha256 to verify against.")
    config = config_from_record(record["config"])
    config = config.replace(threads=threads if threads is not None else _run_threads(record, config))
    rerun = run_prepared(prepare_run(config)).record  # the engine limits BLAS to config.threads
    return judge_rerun(record, rerun["params_sha256"], rerun["environment"], rerun["data"])


def diff_runs(run_a, run_b):
    """The :class:`fnn.proof.diff.RecordDiff` between the runs in two folders (or their ``record.json`` files)."""
    return diff_records(_record(run_a, "RUN_A"), _record(run_b, "RUN_B"))


@frozen(hash=False)
class Replay:
    """A replayed epoch: its :class:`~fnn.proof.replay.EpochPlan` (batch indices, masks on demand), the fraction of
    hidden units the dropout masks kept (None without dropout), the SHA-256 of the replayed and of the kept
    parameters after the epoch, and whether the training data as used still have the recorded fingerprint
    (None if the folder has no record stating it)."""

    epoch: int
    plan: object
    keep_fraction: object
    replayed_sha256: str
    stored_sha256: str
    data_matches: object

    @property
    def matches(self):
        return self.replayed_sha256 == self.stored_sha256


def _training_rows(prepared, params):
    """The training part exactly as the run trains on it (after its validation hold-out)."""
    x, y = prepare_data(params, prepared.train, "replay_epoch")
    if not prepared.options.validation:
        return x, y
    train_index, _ = validation_split(params, y, prepared.options.validation, prepared.config.seed)
    return x[train_index], y[train_index]


def replay_epoch(run, epoch):
    """Rerun epoch ``epoch`` (counting from 1) of the run in folder ``run`` alone and compare it with the kept
    checkpoint of that epoch: a :class:`Replay`. Needs the run's per-epoch checkpoints (``--keep-checkpoints``);
    epoch 1 starts from the configuration's initial parameters, any other from the checkpoint of the epoch before.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 1:
        raise bad_argument("replay_epoch", "epoch", "a positive int (epochs count from 1)", epoch)
    run = os.fspath(run)
    if not os.path.isdir(run):
        raise FnnInputError(f"RUN {run}: no such run folder.")
    stored = load_epoch_checkpoint(run, epoch)
    config = config_from_record(stored.config or {})
    prepared = prepare_run(config)
    if epoch == 1:
        start = start_state(prepared.params, prepared.optimizer, config.seed, "replay_epoch")
    else:
        start = load_epoch_checkpoint(run, epoch - 1).state
    x, y = _training_rows(prepared, start.params)
    plan = epoch_plan(len(x), config.batch_size, start.seed, epoch - 1, spec=start.params.spec, drop_rate=config.drop_rate,
                      first_step=start.step, dtype=start.params.dtype)
    record = read_record(run) if os.path.isfile(os.path.join(run, RECORD)) else None
    params, opt_state, kept, total = start.params, start.opt_state, 0, 0
    with threadpool_limits(limits=_run_threads(record, config), user_api="blas"):  # the run's sums, in its order
        for index, rows in enumerate(plan.batches):
            masks = plan.masks(index)
            if masks is not None:
                kept += sum(int(np.count_nonzero(mask)) for mask in masks if mask is not None)
                total += sum(mask.size for mask in masks if mask is not None)
            _, _, params, opt_state = train_step(prepared.optimizer, params, opt_state, x[rows], y[rows], masks)
    data_matches = None
    if record is not None and isinstance(record.get("data"), dict) and record["data"].get("train"):
        data_matches = record["data"] == data_fingerprints(prepared)
    return Replay(epoch, plan, kept / total if total else None, params_sha256(params), params_sha256(stored.state.params), data_matches)
