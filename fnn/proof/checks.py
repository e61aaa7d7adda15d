"""Proving a run from its folder: rerun it and compare the bits, compare two runs, replay one epoch alone.

A run is a pure function of its configuration, its data and its seed, so its record (``record.json``) is enough
to rerun it, and its kept per-epoch checkpoints (``fnn train --keep-checkpoints``) are enough to rerun any one
epoch. These are the library behind ``fnn verify``, ``fnn diff`` and ``fnn replay``:

- :func:`verify_run` reruns the recorded configuration with the recorded BLAS thread count and judges the
  rerun's parameters against the recorded SHA-256 (:func:`fnn.proof.verify.judge_rerun`);
- :func:`diff_runs` compares two records (:func:`fnn.proof.diff.diff_records`);
- :func:`replay_epoch` trains epoch ``E`` alone through the training fold (:func:`fnn.train.loop.run_epoch`) from
  the checkpoint of epoch ``E - 1``, on the data parts as :func:`fnn.run.build.prepare_run` holds them, compares
  the result with the kept checkpoint of epoch ``E`` and shows the epoch's batch order and dropout masks
  (:func:`fnn.proof.replay.epoch_plan`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from attrs import frozen
from threadpoolctl import threadpool_limits

from fnn.errors import FnnInputError, bad_argument
from fnn.proof.diff import RecordDiff, diff_records
from fnn.proof.replay import EpochPlan, epoch_plan
from fnn.proof.verify import Verification, judge_rerun
from fnn.run.build import Prepared, prepare_run
from fnn.run.engine import run_prepared, run_threads
from fnn.run.record import data_fingerprints, params_sha256
from fnn.run.settings import RunConfig, config_from_record
from fnn.store.epochs import load_epoch_checkpoint
from fnn.store.run_folder import CHECKPOINT, RECORD, RunFolder
from fnn.train.dropout import dropout_rates
from fnn.train.loop import prepare_data, run_epoch, start_state

_PathLike = str | os.PathLike[str]


def _record(run: _PathLike, argument: str) -> dict[str, Any]:
    """The record of a run folder (or of a ``record.json`` path), refused if the folder's checkpoint is not the one
    it names (:meth:`fnn.store.RunFolder.checkpoint_name`)."""
    run = os.fspath(run)
    if os.path.isfile(run):
        folder, name = os.path.split(run)
        if name != RECORD:
            raise FnnInputError(f"{argument} {run}: expected a run folder or its {RECORD}.")
        run = folder or "."
    if not os.path.isdir(run):
        raise FnnInputError(f"{argument} {run}: no such run folder.")
    bound = RunFolder(run, argument)
    record = bound.read_record()
    if record.get("checkpoint_sha256") is not None or bound.exists(CHECKPOINT):
        bound.checkpoint_name()
    return record


def _run_threads(record: dict[str, Any] | None, config: RunConfig) -> int:
    """The BLAS threads a run used, as its record states them, else as its configuration chooses them."""
    threads = record.get("threads") if record else None
    if isinstance(threads, int) and not isinstance(threads, bool) and threads > 0:
        return threads
    return run_threads(config)


def rerun_threads(run: _PathLike) -> int:
    """The BLAS thread count :func:`verify_run` reruns the run in folder ``run`` with: the recorded one.
    """
    record = _record(run, "RUN")
    return _run_threads(record, config_from_record(record.get("config") or {}))


def verify_run(run: _PathLike, threads: int | None = None) -> Verification:
    """Rerun the run in folder ``run`` from its record and judge it: a :class:`fnn.proof.verify.Verification`
    (``.matches``, and ``.reasons`` naming what differs: data, versions, BLAS core type, thread count).

    The rerun uses the recorded BLAS thread count unless ``threads`` is given (to test another); the recorded
    data are reloaded as the configuration names them (a ``csv:PATH`` relative to the current folder).

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
    record = _record(run, "RUN")
    if not isinstance(record.get("config"), dict) or not isinstance(record.get("params_sha256"), str):
        raise FnnInputError(f"RUN {run}: its {RECORD} has no configuration or no params_sha256 to verify against.")
    config = config_from_record(record["config"])
    config = config.replace(threads=int(threads) if threads is not None else _run_threads(record, config))
    rerun = run_prepared(prepare_run(config)).record  # the engine limits BLAS to config.threads
    return judge_rerun(record, rerun["params_sha256"], rerun["environment"], rerun["data"])


def diff_runs(run_a: _PathLike, run_b: _PathLike) -> RecordDiff:
    """The :class:`fnn.proof.diff.RecordDiff` between the runs in two folders (or their ``record.json`` files).

    >>> import contextlib, io, os, tempfile
    >>> folder = os.path.join(tempfile.mkdtemp(), "run")
    >>> with contextlib.redirect_stdout(io.StringIO()):  # fnn train --quiet prints the folder
    ...     code = fnn.cli.main(["train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--keep-checkpoints", "--out", folder, "--quiet"])
    >>> difference = diff_runs(folder, os.path.join(folder, "record.json"))
    >>> difference.identical, difference.epochs
    (True, (2, 2))
    """
    return diff_records(_record(run_a, "RUN_A"), _record(run_b, "RUN_B"))


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
    if not os.path.isdir(run):
        raise FnnInputError(f"RUN {run}: no such run folder.")
    stored = load_epoch_checkpoint(run, epoch)
    config = config_from_record(stored.config or {})
    prepared = prepare_run(config)
    if epoch == 1:
        start = start_state(prepared.params, prepared.optimizer, config.seed, "replay_epoch")
    else:
        start = load_epoch_checkpoint(run, epoch - 1).state
    x, y = prepare_data(start.params, prepared.train, "replay_epoch")
    plan = epoch_plan(len(x), config.batch_size, start.seed, epoch - 1, spec=start.params.spec, drop_rate=config.drop_rate,
                      first_step=start.step, dtype=start.params.dtype)
    record = _record(run, "RUN") if RunFolder(run).has_record() else None
    drop_rates = dropout_rates(start.params.spec, config.drop_rate, "replay_epoch")
    with threadpool_limits(limits=_run_threads(record, config), user_api="blas"):  # the run's sums, in its order
        replayed, _ = run_epoch(start, x, y, prepared.optimizer, config.batch_size, drop_rates)
    return Replay(epoch, plan, _keep_fraction(plan), params_sha256(replayed.params), params_sha256(stored.state.params),
                  _data_matches(record, prepared))
