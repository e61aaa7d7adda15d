"""Seeded experiment sweeps: every combination of a grid of configuration values and a list of seeds.

A run is a pure function of its configuration (seed included), so a sweep is a map, run on Dask distributed when it
is installed (a ``LocalCluster`` of one single-threaded worker process per core, or an existing cluster at
``scheduler``/``DASK_SCHEDULER_ADDRESS``) and sequentially in-process otherwise. Each data set is loaded once and
scattered to the workers; results stream back as they finish and are written one JSON file per run, so an
interrupted sweep keeps every finished run and ``resume=True`` skips them. A worker that dies costs only the runs it
held: the scheduler runs them again elsewhere.

Bit-identity: a run's parameters are byte-identical to the same configuration run alone in-process **at the same
BLAS thread count**; every sweep run uses one thread (``threads = 1`` in its configuration, and the workers are
pinned with ``OPENBLAS_NUM_THREADS=1`` and friends), whichever engine runs it.

Selection never looks at the test set: configurations are ranked on their validation metrics (so a sweep needs
``validation > 0``; the default holds out 0.1), and the test metrics are reported for the chosen configuration only.

Stacks: the runs that differ only in their seed and optimiser scalars (:data:`STACKED_SETTINGS`) train as one
stacked computation (:func:`fnn.train.stacked.fit_stacked`), one task each, every run's record and hash those of
the run alone; a record's ``stacked`` says how many runs its stack held (:mod:`fnn.run.stacks`). Where the tasks
run: :mod:`fnn.run.pool`; the summary and the result: :mod:`fnn.run.summary`; successive halving (``halving=``):
:mod:`fnn.run.halving`.

>>> grid = expand_grid({"data": "iris", "epochs": 2}, {"lr": [0.1, 0.05]}, seeds=[0, 1])
>>> [(c.lr, c.seed) for c in grid]
[(0.1, 0), (0.1, 1), (0.05, 0), (0.05, 1)]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from fnn.data.sources import load_source
from fnn.errors import FnnInputError
from fnn.run.grid import Grid, read_grid, read_seeds, sweep_option
from fnn.run.halving import Halving, check_halving, halving_of, run_halving
from fnn.run.pool import Engine, engine_of, split
from fnn.run.settings import GRID, PYTHON, RunConfig, Source, check_value, resolve_config, setting_name
from fnn.run.stacks import (
    Ledger,
    read_ledger,
    remove_other_runs,
    run_id,
    run_stack,
    stacks,
    sweep_entries,
    sweep_names,
    sweep_record,
    task_key,
    write_ledger,
)
from fnn.run.summary import Rung, SweepResult, chosen_test, ranking_metric, ranking_monitor, summarize
from fnn.store.layout import LEDGER, RUNGS, SUMMARY, SWEEP_RUNS
from fnn.store.run_folder import RECORD, RunFolder, refuse_inside_runs

_ARGUMENT = Source("argument", "sweep")



def _one_thread(values: Any, source: Source) -> None:
    """Refuse a ``threads`` other than 1 (or None): a sweep pins every run to one BLAS thread."""
    for value in values:
        if check_value("threads", value, source) not in (None, 1):
            raise FnnInputError(
                f"{source.label('threads')} must be 1 in a sweep: every run uses one BLAS thread, so that its bytes do "
                f"not depend on the engine or worker that ran it (leave it out); got {value!r}."
            )


def expand_grid(base: Mapping[str, Any], grid: Mapping[str, Any] | Grid, seeds: Any, *, base_source: Source = PYTHON,
                grid_source: Source = GRID, beneath: Sequence[tuple[Mapping[str, Any], Source]] = ()) -> list[RunConfig]:
    """The checked :class:`~fnn.run.settings.RunConfig` of every combination of ``grid`` (a dict of key -> a list of
    values or one value, or a :class:`~fnn.run.grid.Grid`; see :mod:`fnn.run.grid`) over ``base``, for each of
    ``seeds`` (a list of seeds or one). Everything is validated here, before any run starts; ``base_source`` and
    ``grid_source`` (:class:`~fnn.run.settings.Source`) say where the values came from, for the messages, and
    ``beneath`` gives further ``(values, source)`` layers under ``base`` (a TOML file under the flags). Each run's
    seed is one of ``seeds``, so a ``seed`` in the base (``RunConfig.to_dict()`` has one) is replaced.

    Every run holds out a validation part (``validation > 0``), on which the sweep ranks, and uses one BLAS thread.

    >>> [(c.optimizer, c.hidden) for c in expand_grid({"data": "iris"}, {"optimizer": "adam", "hidden": [[8], [8, 4]]}, 0)]
    [('adam', (8,)), ('adam', (8, 4))]
    """
    layers = [*beneath, (base, base_source)]
    for values, source in layers:
        if not isinstance(values, Mapping):
            raise FnnInputError(f"A sweep's base configuration must be a dict (a TOML table); got {type(values).__name__}.")
        for key, value in values.items():
            if setting_name(key) == "threads":
                _one_thread([value], source)
    grid = read_grid(grid, grid_source)
    seeds = read_seeds(seeds, Source("argument", "sweep"))
    for axis in grid.axes:
        if axis.name == "threads":
            _one_thread(axis.values, axis.source)
    if not grid.axes and len(seeds) < 2:
        raise FnnInputError("The grid is empty: give at least one key with values to sweep, or several seeds.")
    configs = [resolve_config(*layers, *combination, ({"seed": seed, "threads": 1}, PYTHON))
               for combination in grid.combinations() for seed in seeds]
    def given_as(name: str) -> str:
        """The setting ``name`` as the user wrote it where it was given last (a flag, a TOML key, a grid key)."""
        places = [source for values, source in layers if any(setting_name(key) == name for key in values)]
        places += [axis.source for axis in grid.axes if axis.name == name]
        return (places[-1] if places else Source("default")).label(name)

    for config in configs:
        for name in ("tensorboard", "keep_checkpoints"):  # refused here, before any run starts, not at the first run
            if getattr(config, name):
                raise FnnInputError(f"{given_as(name)} cannot apply in a sweep: its runs write one record each and no run folder; leave it out.")
        if not config.validation:
            raise FnnInputError(
                f"{given_as('validation')} must be > 0 in a sweep: it ranks its configurations on the validation part, never "
                f"on the test set (got {config.validation}; the default is 0.1)."
            )
    return configs


def sweep_record_file(path: str | os.PathLike[str], argument: str = "RUN") -> dict[str, Any] | None:
    """The record of a sweep's run when ``path`` names one, a file ``SWEEP/runs/<run_id>.json`` of a folder that
    holds a sweep, read through :func:`sweep_record` (bound to the sweep's ledger); None for any other path.
    ``argument`` names the path in errors.

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> result = sweep({"data": "iris", "hidden": [4], "epochs": 1}, {"lr": [0.1]}, [0], engine="sequential", out=out)
    >>> len(sweep_record_file(os.path.join(out, "runs", result.records[0]["run_id"] + ".json"))["history"]), sweep_record_file(out)
    (1, None)
    """
    runs, name = os.path.split(os.path.abspath(os.fspath(path)))
    folder = RunFolder(os.path.dirname(runs), argument)
    if not (os.path.basename(runs) == SWEEP_RUNS and name.endswith(".json") and os.path.isfile(path) and folder.holds_sweep()):
        return None
    return sweep_record(folder, name)


def _finished(folder: RunFolder, ledger: Ledger) -> dict[str, dict[str, Any]]:
    """The finished runs' records in the sweep's ``runs/``, by run id: each that its ``ledger`` names, read through
    :func:`sweep_record` (a record changed, copied or renamed since the sweep wrote it is refused, naming it). A
    record the ledger does not name (the sweep stopped before it noted it) is left out: its run is run again."""
    return {name[: -len(".json")]: sweep_record(folder, name, ledger) for name in sweep_entries(folder) if name in ledger.runs}


def check_resumed(folder: RunFolder, configs: Sequence[RunConfig], halving: bool) -> None:
    """Refuse to resume, into ``folder``, a sweep (of ``configs``; ``halving`` or not) other than the one it holds:
    a run there that this sweep does not have (another grid, other seeds or settings), or the other kind of sweep's
    files, would be mixed into its folder (its plot, its records) though not into its summary."""
    ours = sweep_names(configs, halving)
    others = [name for name in sweep_entries(folder) if name not in ours]
    if others:
        raise FnnInputError(
            f"out {folder.path}: holds {len(others)} run{'s' * (len(others) != 1)} that this sweep does not have "
            f"({folder.file(f'{SWEEP_RUNS}/{others[0]}')}{', ...' if len(others) > 1 else ''}: another grid, other seeds or "
            f"settings{', or a halving sweep' if not halving and not others[0].endswith('.json') else ''}{', or a grid sweep' if halving and others[0].endswith('.json') else ''}); "
            f"resume with the grid, seeds and settings that made them, or replace the sweep with overwrite (--overwrite)."
        )
    other = RUNGS if not halving else LEDGER
    if folder.exists(other) and (not halving or any("/" not in name for name in read_ledger(folder).runs)):
        raise FnnInputError(f"out {folder.path}: holds a {'halving' if not halving else 'grid'} sweep ({folder.file(other)}); "
                            f"resume it as it was run ({'with' if not halving else 'without'} halving), or replace it with overwrite (--overwrite).")


def check_sweep_folder(out: str | os.PathLike[str], *, resume: bool = False, overwrite: bool = False,
                       argument: str = "out", resume_hint: str = "resume=True",
                       overwrite_hint: str = "overwrite=True") -> str:
    """Refuse ``out`` as a sweep's folder when it is not a folder, has a symbolic link below it, is being written
    by another live fnn process, or already holds a sweep and neither ``resume`` (run only what is missing) nor
    ``overwrite`` (replace it) is asked, or both are; else create it (with its ``runs`` subfolder) if need be and
    return it as a string. Nothing is removed here. ``argument`` and the hints word the errors for the caller (the
    command line passes ``"--out"``, ``"--resume"`` and ``"--overwrite"``)."""
    folder = RunFolder(out, argument)
    if resume and overwrite:
        raise FnnInputError(f"{resume_hint} keeps the runs in {argument} and {overwrite_hint} replaces them; give one of them.")
    if os.path.lexists(folder.path) and not os.path.isdir(folder.path):
        raise FnnInputError(f"{argument} {folder.path}: exists and is not a folder.")
    refuse_inside_runs(folder.path, argument)
    links = folder.links()
    if links:
        raise FnnInputError(f"{argument} {folder.path}: {links[0]} is a symbolic link; fnn does not follow links in a sweep folder. Remove it.")
    if not (resume or overwrite) and (folder.holds_sweep() or any(folder.exists(f"{SWEEP_RUNS}/{name}/{RECORD}") for name in folder.listdir(SWEEP_RUNS))):
        raise FnnInputError(
            f"{argument} {folder.path}: already holds a sweep; run only the missing runs with {resume_hint} or replace it with "
            f"{overwrite_hint}."
        )
    holder = folder.holder()
    if holder is not None:
        raise FnnInputError(f"{argument} {folder.path}: another fnn process is writing into this folder (pid {holder.get('pid', '?')} "
                            f"on {holder.get('host', '?')}, started {holder.get('started', '?')}); wait for it or choose another folder.")
    if folder.holds_run():  # a run's own files; a sweep's overwrite would leave them mixed with the sweep's
        raise FnnInputError(f"{argument} {folder.path}: holds a run (its checkpoint or record), not a sweep; choose another folder.")
    try:
        os.makedirs(folder.path, exist_ok=True)
    except OSError as error:
        raise FnnInputError(f"{argument} {folder.path}: cannot create the folder ({error.strerror or error}).") from None
    folder.folder(SWEEP_RUNS)
    return folder.path


def sweep(base: dict[str, Any], grid: dict[str, list[Any]], seeds: Sequence[int], *, scheduler: str | None = None,
          out: str | os.PathLike[str] | None = None, resume: bool = False, overwrite: bool = False,
          workers: int | None = None, engine: str | None = "auto",
          on_result: Callable[[dict[str, Any], int, int], Any] | None = None,
          configs: list[RunConfig] | None = None, stack: bool = True,
          halving: Halving | dict[str, Any] | None = None, on_rung: Callable[[Rung], Any] | None = None) -> SweepResult:
    """Run every combination of ``grid`` and ``seeds`` over ``base``; returns a :class:`SweepResult`.

    ``engine`` is ``"auto"`` (Dask if installed, else sequential), ``"dask"`` or ``"sequential"``. With ``out``,
    each record is written to ``out/runs/<run_id>.json`` as it arrives and the summary to ``out/summary.json``; a
    folder that already holds a sweep is refused unless ``resume=True`` (keep its records, run only the missing
    ones) or ``overwrite=True`` (replace them: the old records of runs this sweep does not have are removed only
    once its summary is written). The folder is locked while the sweep writes into it. ``on_result(record, done, total)`` is told of each finished
    run (for a progress bar). ``configs``, if given, are the checked configurations of :func:`expand_grid`.

    The runs that differ only in their seed and optimiser scalars train as one stacked computation each
    (:func:`stacks`, :func:`run_stack`; one Dask task per stack), every run's record and ``params_sha256`` those of
    the run alone; ``stack=False`` runs each alone. A resumed sweep keeps the finished runs and trains the rest.

    ``halving`` (a :class:`Halving` or a dict of its fields) runs successive halving instead (:mod:`fnn.run.halving`):
    ``on_rung(rung)`` is told of each finished :class:`Rung`, and the result's ``records`` are the chosen
    configuration's runs at the full budget. On Dask it needs ``out``, through which survivors continue.

    >>> result = sweep({"data": "iris", "hidden": [4], "epochs": 3}, {"lr": [0.5, 0.05]}, [0, 1], engine="sequential",
    ...                halving={"min_epochs": 1, "factor": 2})
    >>> [(rung.epochs, rung.promoted) for rung in result.rungs], result.chosen, len(result.records)
    ([(1, 1), (2, 1), (3, 1)], {'lr': 0.5}, 2)
    """
    stack, resume, overwrite = (sweep_option(name, value, _ARGUMENT) for name, value in
                                (("stack", stack), ("resume", resume), ("overwrite", overwrite)))
    engine = sweep_option("engine", engine, _ARGUMENT) or "auto"
    workers = sweep_option("workers", workers, _ARGUMENT)
    rungs = halving_of(halving)
    configs = expand_grid(base, grid, seeds) if configs is None else configs
    budget = check_halving(configs, grid) if rungs is not None else 0
    distributed, address = engine_of(engine, scheduler, workers)
    with _locked_sweep_folder(out, resume=resume, overwrite=overwrite) as folder:
        if folder is not None and resume:
            check_resumed(folder, configs, rungs is not None)
        if rungs is None:
            return _sweep(configs, grid, folder, distributed, address, workers, engine, resume, overwrite, on_result, stack)
        if distributed is not None and folder is None:
            if engine == "dask" or address:
                raise FnnInputError("halving on Dask continues each run from its checkpoint in the sweep folder; give out (a folder the workers can reach).")
            distributed = None
        return run_halving(configs, grid, rungs.rungs(budget), rungs.factor, folder, Engine(distributed, address, workers, engine),
                        resume, overwrite, on_rung, stack)


@contextmanager
def _locked_sweep_folder(out: str | os.PathLike[str] | None, *, resume: bool, overwrite: bool) -> Iterator[RunFolder | None]:
    """The sweep folder ``out`` checked (:func:`check_sweep_folder`) and locked for this process while in use: one
    writer, no other sweep or train writes there meanwhile. None without ``out``."""
    folder = None if out is None else RunFolder(check_sweep_folder(out, resume=resume, overwrite=overwrite), "out")
    lock = None if folder is None else folder.acquire()
    try:
        yield folder
    finally:
        if lock is not None:
            lock.release()


def _sweep(configs: list[RunConfig], grid: dict[str, list[Any]], folder: RunFolder | None, distributed: ModuleType | None,
           address: str | None, workers: int | None, engine: str, resume: bool, overwrite: bool,
           on_result: Callable[[dict[str, Any], int, int], Any] | None, stack: bool) -> SweepResult:
    read = read_ledger(folder) if (folder and resume) else Ledger({})
    done = _finished(folder, read) if (folder and resume) else {}
    ledger = {f"{name}.json": read.runs[f"{name}.json"] for name in done}
    if folder and (resume or overwrite):  # no entry of a run about to run again may outlive a stop before its record
        write_ledger(folder, Ledger(ledger))
    todo = [c for c in configs if run_id(c) not in done]
    records = dict(done)

    def arrived(record: dict[str, Any]) -> None:
        records[record["run_id"]] = record
        if folder:
            name, raw = f"{record['run_id']}.json", json.dumps(record, indent=1).encode()
            folder.write(f"{SWEEP_RUNS}/{name}", raw)
            ledger[name] = hashlib.sha256(raw).hexdigest()  # noted once the record is whole: resume trusts it then
            write_ledger(folder, Ledger(ledger))
        if on_result is not None:
            on_result(record, len(records), len(configs))

    sources = {name: load_source(name) for name in sorted({c.data for c in todo})}
    with (Engine(distributed, address, workers, engine) if todo else Engine(None, None, None, "sequential")).pool() as pool:
        shared = pool.share(sources)
        parts = split(stacks(todo, stack), pool.slots) if pool.client is not None else stacks(todo, stack)
        for stacked in pool.map(run_stack, [(part, shared[part[0].data]) for part in parts], [task_key("stack", part) for part in parts]):
            for record in stacked:
                arrived(record)
        label = pool.label
    ordered = tuple(records[run_id(c)] for c in configs)
    summary = summarize(ordered, [setting_name(key) or key for key in grid])
    ranked_on = ranking_metric(summary, ranking_monitor(ordered))[0]
    result = SweepResult(ordered, summary, label, skipped=len(configs) - len(todo), chosen_test=chosen_test(ordered, summary[0]), ranked_on=ranked_on)
    if folder:
        content = {"engine": label, "stacked": stack, "ranked_on": ranked_on, "summary": list(summary), "chosen": result.chosen_test}
        folder.write(SUMMARY, json.dumps(content, indent=1).encode())
        if overwrite:  # only now that the new sweep is whole: the replaced sweep's other records go
            remove_other_runs(folder, configs, halving=False)
    return result

