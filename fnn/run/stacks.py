"""A sweep's runs: their names (:func:`run_id`) and their stacks, the runs that train as one stacked computation
(:func:`stacks`, :func:`run_stack`; :func:`fnn.train.stacked.fit_stacked`), every run's record and hash those of
the run alone.

>>> run_id({"lr": 0.1, "seed": 0})
'0eb6a6c63f184494'
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from typing import Any

from attrs import evolve
from threadpoolctl import threadpool_limits

from fnn.data.sources import LoadedSource
from fnn.errors import FnnInputError, TrainingDiverged
from fnn.optim import Optimizer
from fnn.run.build import Prepared, prepare_run
from fnn.run.engine import run
from fnn.run.record import data_fingerprints, run_record, test_metrics
from fnn.run.settings import RunConfig
from fnn.store.layout import LEDGER, RUNGS, SWEEP_RUNS
from fnn.store.run_folder import RunFolder
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
    removed: the other runs of ``runs/`` (records or run folders, :func:`sweep_entries`) and the other kind of
    sweep's file (a halving sweep's ``rungs.json``, a grid sweep's ``ledger.json``). The user's files stay."""
    kept = sweep_names(configs, halving)
    for name in sweep_entries(folder):
        if name not in kept:
            folder.remove(f"{SWEEP_RUNS}/{name}")
    other = LEDGER if halving else RUNGS
    if folder.exists(other):
        folder.remove(other)
