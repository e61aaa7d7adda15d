"""A sweep's runs: their names (:func:`run_id`) and their stacks, the runs that train as one stacked computation
(:func:`stacks`, :func:`run_stack`; :func:`fnn.train.stacked.fit_stacked`), every run's record and hash those of
the run alone.

>>> run_id({"lr": 0.1, "seed": 0})
'0eb6a6c63f184494'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from typing import Any

from attrs import evolve, frozen
from threadpoolctl import threadpool_limits

from fnn.data.sources import LoadedSource
from fnn.errors import FnnInputError, TrainingDiverged
from fnn.optim import Optimizer
from fnn.run.build import Prepared, prepare_run
from fnn.run.engine import run
from fnn.run.record import data_fingerprints, run_record, test_metrics
from fnn.run.settings import RunConfig
from fnn.store.layout import LEDGER, RUNGS, SWEEP_RUNS
from fnn.store.record import MAX_RECORD_BYTES, parse_record
from fnn.store.run_folder import RECORD, RunFolder
from fnn.train.options import TrainOptions
from fnn.train.stacked import fit_stacked
from fnn.train.state import TrainState

_RUN_NAME = re.compile(r"^[0-9a-f]{16}(\.json)?$")  # what a sweep writes into its runs/: run_id's names


def run_id(config: RunConfig | dict[str, Any]) -> str:
    """A stable name for a run: the SHA-256 of its canonical configuration (seed included)."""
    settings = config.to_dict() if isinstance(config, RunConfig) else config
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def task_key(name: str, configs: Sequence[RunConfig]) -> str:
    """The name of the Dask task ``name`` of the runs ``configs``: stable, so a retried task keeps it."""
    return f"fnn-{name}-{run_id({'runs': [run_id(c) for c in configs]})}"


def run_one(config: RunConfig, source: LoadedSource = None) -> dict[str, Any]:
    """One run of a sweep: the record of :func:`fnn.run.run` (a pure function of ``config``), marked as run
    alone (``stacked``: 1)."""
    record = run(config, source=source).record
    record["run_id"] = run_id(config)
    record["stacked"] = 1
    return record


STACKED_SETTINGS = ("seed", "lr", "momentum", "weight_decay")
"""The settings in which the runs of one stack may differ: the seed and the optimiser's scalars
(:func:`fnn.train.stacked.fit_stacked` trains them as one computation); everything else is shared."""

_ALONE = ("sample_weight", "class_weight")
"""Settings that make a run train alone: weighted runs are not stacked."""


MAX_STACK = 16
"""The most runs one stack holds: its memory is that many runs' parameters, optimiser state and batch
activations, and the speed-up has levelled off well before."""


def stacks(configs: Sequence[RunConfig], stack: bool = True) -> list[list[RunConfig]]:
    """``configs`` in groups that train as one stacked computation each, in the order of their first member:
    the runs that differ only in :data:`STACKED_SETTINGS` (same network, data and training otherwise), at most
    :data:`MAX_STACK` in one; each run alone with ``stack=False`` or a setting of :data:`_ALONE`.

    >>> from fnn.run.sweep import expand_grid
    >>> configs = expand_grid({"data": "iris", "epochs": 2}, {"lr": [0.1, 0.05], "hidden": [[4], [8]]}, seeds=[0, 1])
    >>> [[(c.lr, c.hidden, c.seed) for c in group] for group in stacks(configs)][:1]
    [[(0.1, (4,), 0), (0.1, (4,), 1), (0.05, (4,), 0), (0.05, (4,), 1)]]
    >>> len(stacks(configs)), len(stacks(configs, stack=False))
    (2, 8)
    """
    groups: dict[str, list[RunConfig]] = {}
    for config in configs:
        settings = config.to_dict()
        alone = not stack or any(settings.get(name) for name in _ALONE)
        key = run_id(config) if alone else json.dumps({k: v for k, v in settings.items() if k not in STACKED_SETTINGS}, sort_keys=True)
        groups.setdefault(key, []).append(config)
    return [group[start : start + MAX_STACK] for group in groups.values() for start in range(0, len(group), MAX_STACK)]


def stack_options(prepared: Sequence[Prepared], starts: Sequence[TrainState | None], *, patience: bool) -> list[TrainOptions]:
    """Each run's training options as its run alone trains (its configuration's early stopping if ``patience``;
    a run continued from a state keeps that state's seed), the runs that differ only in their seed sharing one
    optimiser (so one kernel call updates them all)."""
    optimizers: dict[str, Optimizer] = {}
    return [evolve(own.options, seed=own.options.seed if start is None else None,
                   patience=(own.config.patience or None) if patience else None, monitor=own.config.monitor,
                   optimizer=optimizers.setdefault(run_id(own.config.replace(seed=0)), own.options.optimizer))
            for own, start in zip(prepared, starts)]


def run_stack(configs: Sequence[RunConfig], source: LoadedSource = None) -> list[dict[str, Any]]:
    """The records of a stack of :func:`stacks`, each that of its run alone (:func:`run_one`: the same
    ``params_sha256``, history and metrics), trained as one stacked computation; ``stacked`` says how many runs
    it held and ``wall_seconds`` is the whole stack's. Runs that cannot share one computation after all (another
    optimiser kind, another number of training rows) or one that diverges are run alone, each as :func:`run_one`."""
    if len(configs) < 2:
        return [run_one(config, source) for config in configs]
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        prepared = [prepare_run(config, source=source) for config in configs]
        options = stack_options(prepared, [None] * len(prepared), patience=True)
        try:  # a member that diverges raises as the run alone would
            finals = fit_stacked([own.params for own in prepared], [own.train for own in prepared], options,
                                 epochs=configs[0].epochs, diverge=True)
        except (FnnInputError, TrainingDiverged):
            return [run_one(config, source) for config in configs]
        seconds = time.perf_counter() - started
        records = []
        for config, own, (final, last) in zip(configs, prepared, finals):
            metrics = test_metrics(final.params, own.test, own.targets)
            record = run_record(own.config, final, metrics, seconds, last=last, threads=1, data=data_fingerprints(own))
            records.append({**record, "threads_from": "threads", "run_id": run_id(config), "stacked": len(configs)})
    return records

def sweep_entries(folder: RunFolder) -> list[str]:
    """The names in ``folder``'s ``runs/`` that a sweep writes: ``<run_id>.json`` (a run record) and ``<run_id>``
    (a halving sweep's run folder). Any other name there is the user's: no reader or remover of a sweep touches it."""
    return sorted(name for name in folder.listdir(SWEEP_RUNS) if _RUN_NAME.match(name))


def sweep_names(configs: Sequence[RunConfig], halving: bool) -> set[str]:
    """The names of ``configs``' runs in a sweep's ``runs/``: run folders ``<run_id>`` for a halving sweep, else
    records ``<run_id>.json``."""
    return {run_id(c) if halving else f"{run_id(c)}.json" for c in configs}


def remove_other_runs(folder: RunFolder, configs: Sequence[RunConfig], halving: bool) -> None:
    """What a replaced sweep left in ``folder`` that this one (of ``configs``; ``halving`` or not) does not have,
    removed: the other runs of ``runs/`` (records or run folders, :func:`sweep_entries`) and a halving sweep's
    ``rungs.json`` when this one is a grid sweep. The user's files stay."""
    kept = sweep_names(configs, halving)
    for name in sweep_entries(folder):
        if name not in kept:
            folder.remove(f"{SWEEP_RUNS}/{name}")
    if not halving and folder.exists(RUNGS):  # the ledger is both kinds': begun afresh by an overwrite, it names only this sweep's
        folder.remove(RUNGS)


@frozen
class Ledger:
    """A sweep's ledger (``ledger.json``): ``runs``, the SHA-256 of each record the sweep wrote, by its name in
    ``runs/`` (``<run_id>.json``, or a halving sweep's ``<run_id>/record.json``), and ``training``, the halving
    records the rung in progress is replacing (a record of theirs that is not the one named was written by a rung
    the sweep stopped before noting: resume runs it again)."""

    runs: dict[str, str]
    training: frozenset[str] = frozenset()


def ledger_name(name: str) -> str:
    """The ledger's name of the sweep entry ``name`` of ``runs/`` (:func:`sweep_entries`): a record is named as
    itself, a halving sweep's run folder by its record.

    >>> ledger_name("0eb6a6c63f184494.json"), ledger_name("0eb6a6c63f184494")
    ('0eb6a6c63f184494.json', '0eb6a6c63f184494/record.json')
    """
    return name if name.endswith(".json") else f"{name}/{RECORD}"


def read_ledger(folder: RunFolder) -> Ledger:
    """The ledger of the sweep in ``folder`` (empty when there is none yet)."""
    if not folder.exists(LEDGER):
        return Ledger({})
    raw = folder.read_bytes(LEDGER, what="a sweep's ledger")
    try:
        content = json.loads(raw)
        runs, training = content["runs"], content.get("training", [])
    except (ValueError, KeyError, TypeError, AttributeError):
        runs, training = None, None
    if not (isinstance(runs, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in runs.items())
            and isinstance(training, list) and all(isinstance(k, str) for k in training)):
        raise FnnInputError(f"{folder.file(LEDGER)}: not a sweep ledger fnn wrote (expected {{\"runs\": {{NAME: SHA-256}}}}); "
                            f"run the sweep again with overwrite (--overwrite).")
    return Ledger(runs, frozenset(training))


def write_ledger(folder: RunFolder, ledger: Ledger) -> None:
    """``ledger`` into ``folder``'s ``ledger.json`` (atomically, replacing it)."""
    content: dict[str, Any] = {"runs": ledger.runs, **({"training": sorted(ledger.training)} if ledger.training else {})}
    folder.write(LEDGER, json.dumps(content, indent=1, sort_keys=True).encode())


def sweep_record(folder: RunFolder, name: str, ledger: Ledger | None = None) -> dict[str, Any]:
    """The record of the entry ``name`` of the sweep in ``folder`` (``runs/<name>``, a run's record ``<run_id>.json``,
    or a halving sweep's run folder ``<run_id>`` by its ``record.json``), read through the one record check and bound
    to the sweep's ledger (:func:`read_ledger`, or ``ledger`` as read): refused, naming the file and both SHA-256,
    when its bytes are not those the sweep wrote, and when the ledger has no entry for it (no finished run or rung
    of the sweep wrote it). Every reader of a sweep's records (resume, ``fnn plot``, ``fnn verify``, ``fnn diff``,
    ``fnn replay``) reads here.

    >>> import tempfile
    >>> from fnn.run.sweep import sweep
    >>> out = tempfile.mkdtemp()
    >>> result = sweep({"data": "iris", "hidden": [4], "epochs": 1}, {"lr": [0.1]}, [0], engine="sequential", out=out)
    >>> sweep_record(RunFolder(out), result.records[0]["run_id"] + ".json")["params_sha256"] == result.records[0]["params_sha256"]
    True
    """
    key = ledger_name(name)
    path = f"{SWEEP_RUNS}/{key}"
    raw = folder.read_bytes(path, MAX_RECORD_BYTES, "a run record")
    ledger = read_ledger(folder) if ledger is None else ledger
    recorded = ledger.runs.get(key)
    actual = hashlib.sha256(raw).hexdigest()
    if recorded is None or (actual != recorded and key in ledger.training):
        raise FnnInputError(
            f"{folder.file(path)}: no finished {'rung' if key != name else 'run'} of the sweep in {folder.path} wrote it "
            f"(its sha256 {actual}; its ledger {LEDGER} has {'no entry for it' if recorded is None else f'sha256 {recorded}'}): "
            f"the sweep stopped before noting it; resume the sweep (--resume) to run it again, or delete it."
        )
    if actual != recorded:
        raise FnnInputError(
            f"{folder.file(path)} (sha256 {actual}) is not the record the sweep wrote (sha256 {recorded} in its "
            f"{LEDGER}): it was changed since. Delete {'it' if key == name else 'its run folder ' + folder.file(f'{SWEEP_RUNS}/{name}')} and resume the sweep (--resume) "
            f"to run it again, or run the whole sweep again with --overwrite."
        )
    record = parse_record(raw, folder.file(path))
    stem = name[: -len(".json")] if name.endswith(".json") else name
    if not (record.get("run_id") == stem == run_id(record["config"])):
        raise FnnInputError(
            f"{folder.file(path)}: its run (run_id {record.get('run_id')!r}, configuration id {run_id(record['config'])}) is "
            f"not the run of this name ({stem}): it was copied or renamed. Delete it and resume the sweep (--resume)."
        )
    return record


def sweep_run_record(run: str | os.PathLike[str], argument: str = "RUN") -> dict[str, Any] | None:
    """The record of a halving sweep's run when ``run`` (a folder) is one, ``SWEEP/runs/<run_id>/`` of a folder
    that holds a sweep, read through :func:`sweep_record` (bound to the sweep's ledger); None for any other folder.
    ``argument`` names the path in errors.

    >>> import tempfile
    >>> sweep_run_record(tempfile.mkdtemp()) is None
    True
    """
    runs, name = os.path.split(os.path.abspath(os.fspath(run)))
    folder = RunFolder(os.path.dirname(runs), argument)
    if not (os.path.basename(runs) == SWEEP_RUNS and _RUN_NAME.match(name) and not name.endswith(".json")
            and folder.exists(f"{SWEEP_RUNS}/{name}/{RECORD}") and folder.holds_sweep()):
        return None
    return sweep_record(folder, name)
