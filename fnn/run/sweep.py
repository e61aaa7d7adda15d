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
the run alone; a record's ``stacked`` says how many runs its stack held.

Successive halving (``halving=``, a :class:`Halving`): every configuration (with each of its seeds) trains to the
first rung's epochs; the configurations are ranked on validation (the mean over their seeds of the validation
accuracy, else R^2, else loss) and the best ``1/factor`` go on to the next rung, until one configuration reaches
the budget, the configuration's ``epochs``. A survivor is not retrained: it continues its own run (in this
process from its state in memory, on Dask from its checkpoint in the sweep folder), and learning-rate schedules
are defined on the full budget, so each survivor ends with the bytes of the same configuration run alone: the same
``params_sha256``. Early stopping (``patience``) would end a run on its own and is refused by name, as is an
``epochs`` key in the grid. With ``out``, each run is a run folder ``runs/<run_id>/`` whose checkpoint and record
are replaced at each rung it reaches, ``rungs.json`` holds the finished rungs and ``summary.json`` the rungs and
the chosen configuration's test metrics; a killed halving sweep resumes (``resume=True``) at rung granularity,
each run of the rung in progress continuing from its own checkpoint.

>>> grid = expand_grid({"data": "iris", "epochs": 2}, {"lr": [0.1, 0.05]}, seeds=[0, 1])
>>> [(c.lr, c.seed) for c in grid]
[(0.1, 0), (0.1, 1), (0.05, 0), (0.05, 1)]
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, cast
from urllib.parse import urlparse

from attrs import evolve, field, fields, frozen
from threadpoolctl import threadpool_limits

from fnn.core.scores import greater_is_better
from fnn.data.sources import LoadedSource, load_source
from fnn.errors import FnnInputError, TrainingDiverged, unknown_name
from fnn.optim import Optimizer
from fnn.run.build import Prepared, prepare_run
from fnn.run.engine import run
from fnn.run.grid import Grid, read_grid, read_seeds, sweep_option
from fnn.run.record import data_fingerprints, run_record, test_metrics, validation_metrics
from fnn.run.settings import GRID, PYTHON, RunConfig, Source, check_value, resolve_config, setting_name
from fnn.store.layout import RUNGS, SUMMARY, SWEEP_RUNS
from fnn.store.model import Model
from fnn.store.run_folder import RECORD, RunFolder, refuse_inside_runs
from fnn.train.options import TrainOptions
from fnn.train.stacked import fit_stacked
from fnn.train.state import TrainState

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


SCHEDULER_SCHEMES = ("tcp", "tls")

_ARGUMENT = Source("argument", "sweep")


@frozen
class SweepResult:
    """Every run's record (in grid order), the summary rows (best validation first), how the sweep ran, the
    chosen configuration's test metrics (``chosen_test``: each metric's mean and std over its seeds), the runs
    kept from before (``skipped``) and the validation metric ranked on. A halving sweep adds its ``rungs``, the
    epochs it trained and those the full grid would have; its ``records`` are the chosen configuration's runs.

    >>> result = sweep({"data": "iris", "hidden": [4], "epochs": 2}, {"lr": [0.5, 0.05]}, [0, 1], engine="sequential")
    >>> len(result.records), [row["runs"] for row in result.summary], result.ranked_on, result.chosen_test["seeds"]
    (4, [2, 2], 'val_accuracy', [0, 1])
    """

    records: tuple[dict[str, Any], ...]
    summary: tuple[dict[str, Any], ...]
    engine: str
    chosen_test: dict[str, Any]
    skipped: int = 0
    ranked_on: str = "val_loss"
    rungs: tuple[Rung, ...] = ()
    epochs_trained: int = 0
    epochs_full_grid: int = 0

    @property
    def chosen(self) -> dict[str, Any]:
        """The chosen configuration: the grid's keys and their values."""
        return dict(self.chosen_test["config"])


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


_RUN_NAME = re.compile(r"^[0-9a-f]{16}(\.json)?$")  # what a sweep writes into its runs/: run_id's names


def run_id(config: RunConfig | dict[str, Any]) -> str:
    """A stable name for a run: the SHA-256 of its canonical configuration (seed included)."""
    settings = config.to_dict() if isinstance(config, RunConfig) else config
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


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


def _stack_options(prepared: Sequence[Prepared], starts: Sequence[TrainState | None], *, patience: bool) -> list[TrainOptions]:
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
        options = _stack_options(prepared, [None] * len(prepared), patience=True)
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


def _group_key(config: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True)


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


# Student's t at 0.975 for 1 to 30 degrees of freedom; beyond, the Cornish-Fisher expansion around the normal
# quantile is within 1e-4 of it. Tabulated so the library needs no scipy.
_T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
         2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
         2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)


def t975(degrees: int) -> float:
    """The 0.975 quantile of Student's t with ``degrees`` degrees of freedom (two-sided 95%).

    >>> t975(4), round(t975(100), 3)
    (2.776445, 1.984)
    """
    if degrees <= len(_T975):
        return _T975[degrees - 1]
    z, v = 1.959964, degrees
    return z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2) + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)


def spread(name: str, values: Sequence[float]) -> dict[str, float]:
    """``name``'s mean, sample standard deviation, min, max and the half-width of the 95% confidence interval of
    the mean over seeds (Student's t; 0 for one seed), keyed ``{name}_mean``, ``_std``, ``_min``, ``_max``, ``_ci95``.

    >>> row = spread("val_accuracy", [0.9, 0.8, 0.7])
    >>> round(row["val_accuracy_mean"], 6), round(row["val_accuracy_std"], 6), row["val_accuracy_max"], round(row["val_accuracy_ci95"], 4)
    (0.8, 0.1, 0.9, 0.2484)
    """
    mean, std = _mean_std(list(values))
    ci = t975(len(values) - 1) * std / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return {f"{name}_mean": mean, f"{name}_std": std, f"{name}_min": min(values), f"{name}_max": max(values), f"{name}_ci95": ci}


def _ranked_on(rows: Sequence[dict[str, Any]], monitor: str | None = None) -> tuple[str, bool]:
    if monitor is not None:
        if not (rows and all(f"{monitor}_mean" in row for row in rows)):
            raise FnnInputError(f"The sweep ranks on {monitor!r}, which not every run recorded (add it to metrics).")
        return monitor, greater_is_better(monitor)
    for metric, higher in (("val_accuracy", True), ("val_r2", True), ("val_loss", False)):
        if rows and all(f"{metric}_mean" in row for row in rows):
            return metric, higher
    raise FnnInputError("The sweep's records have no validation metrics to rank on (were they run with validation 0?).")


def _ranking_monitor(records: Sequence[dict[str, Any]]) -> str | None:
    """The validation metric the runs' ``monitor`` setting names when it is one they all share other than the
    default ``val_loss`` (``val_f1_macro``, ...): the sweep ranks on it. None: the default ranking.

    >>> _ranking_monitor([{"config": {"monitor": "val_f1_macro"}}]), _ranking_monitor([{"config": {"monitor": "val_loss"}}])
    ('val_f1_macro', None)
    """
    monitors = {record["config"].get("monitor", "val_loss") for record in records}
    monitor = monitors.pop() if len(monitors) == 1 else None
    return monitor if monitor is not None and monitor.startswith("val_") and monitor != "val_loss" else None


def summarize(records: Sequence[dict[str, Any]], varying: Sequence[str] | None = None) -> tuple[dict[str, Any], ...]:
    """One row per configuration (seeds pooled): the mean, sample standard deviation, min, max and 95% confidence
    half-width over seeds (see :func:`spread`) of each **validation** metric (``val_accuracy``, ``val_r2``,
    ``val_loss`` and the runs' chosen ``metrics``), best first: on the runs' ``monitor`` when it names another
    validation metric (``val_f1_macro``: highest first; see :func:`_ranking_monitor`), else highest validation
    accuracy or R^2, else lowest validation loss. Test metrics are left out; :func:`chosen_test` gives the chosen
    row's. ``varying`` names the keys shown per row."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(_group_key(record["config"]), []).append(record)
    rows = []
    for runs in groups.values():
        config = runs[0]["config"]
        row: dict[str, Any] = {"config": {k: config[k] for k in (varying or [])}, "runs": len(runs), "seeds": sorted(r["seed"] for r in runs)}
        for metric in ("accuracy", "r2", "loss", *config.get("metrics", ())):
            values = [r.get("validation_metrics", {}).get(metric) for r in runs]
            if values and all(v is not None for v in values):
                row.update(spread(f"val_{metric}", values))
        rows.append(row)
    metric, higher = _ranked_on(rows, _ranking_monitor(records))
    rows.sort(key=lambda r: -r[f"{metric}_mean"] if higher else r[f"{metric}_mean"])
    return tuple(rows)


def chosen_test(records: Sequence[dict[str, Any]], row: dict[str, Any]) -> dict[str, Any]:
    """The test metrics of the configuration of summary ``row`` (the chosen one): each metric's :func:`spread` over
    its seeds, and the seeds. The only place a sweep reports test metrics."""
    key = json.dumps({**row["config"]}, sort_keys=True)
    runs = [r for r in records if json.dumps({k: r["config"][k] for k in row["config"]}, sort_keys=True) == key]
    result: dict[str, Any] = {"config": row["config"], "seeds": sorted(r["seed"] for r in runs)}
    for metric in ("accuracy", "r2", "loss"):
        values = [r["final_metrics"][metric] for r in runs if metric in r["final_metrics"]]
        if values:
            result.update(spread(metric, values))
    return result


def _parse_address(address: str, argument: str) -> tuple[str, int]:
    text = str(address).strip()
    parsed = urlparse(text if "://" in text else f"tcp://{text}")
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if parsed.scheme not in SCHEDULER_SCHEMES or not parsed.hostname or port is None or not 0 < port < 65536 \
            or parsed.path not in ("", "/") or parsed.query or " " in text:
        raise FnnInputError(
            f"{argument} {address}: not a Dask scheduler address; expected {'|'.join(SCHEDULER_SCHEMES)}://HOST:PORT, "
            f"e.g. tcp://10.0.0.5:8786."
        )
    return parsed.hostname, port


async def _identity(address: str, seconds: float) -> Any:
    import asyncio

    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=seconds), seconds)
    try:
        await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), seconds)
        return await asyncio.wait_for(comm.read(), seconds)
    finally:
        comm.abort()


def check_scheduler(address: str, seconds: float = 4.0, argument: str = "scheduler") -> None:
    """Refuse, within about ``2 * seconds``, a scheduler address that is malformed, unreachable, silent or not a
    Dask scheduler: it must accept a connection and answer Dask's handshake and ``identity`` as a scheduler."""
    import asyncio

    if _dask() is None:
        raise FnnInputError(f"{argument} {address}: a Dask scheduler needs Dask, which is not installed: pip install 'fnn[sweep]'.")
    host, port = _parse_address(address, argument)
    try:
        with socket.create_connection((host, port), timeout=seconds):
            pass
    except (OSError, ValueError) as error:
        raise FnnInputError(f"{argument} {address}: cannot reach a Dask scheduler there ({error}).") from None
    text = str(address).strip()
    text = text if "://" in text else f"tcp://{text}"
    try:
        answer = asyncio.run(asyncio.wait_for(_identity(text, seconds), seconds + 1))
    except (asyncio.TimeoutError, TimeoutError):
        raise FnnInputError(f"{argument} {address}: accepts connections but did not answer as a Dask scheduler within {seconds:g} s.") from None
    except Exception as error:  # noqa: BLE001 - whatever the other end is, it is not a scheduler
        raise FnnInputError(f"{argument} {address}: not a Dask scheduler ({type(error).__name__}: {error}).") from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise FnnInputError(f"{argument} {address}: answered, but not as a Dask scheduler (it says it is {answer.get('type') if isinstance(answer, dict) else answer!r}).")


def _dask() -> ModuleType | None:
    try:
        import distributed
    except ModuleNotFoundError:
        return None
    return distributed


def _finished(folder: RunFolder) -> dict[str, dict[str, Any]]:
    """The run records already in the sweep's ``runs/``, each read through the one record check and bound to its
    name: ``runs/<run_id>.json`` whose ``run_id`` is that name and whose configuration has that id. Any other
    (unreadable, of the wrong shape, renamed, or with an edited configuration) is left out: its run is run again."""
    done = {}
    for name in folder.listdir(SWEEP_RUNS):
        if name.endswith(".json"):
            try:
                record = folder.read_record(f"{SWEEP_RUNS}/{name}")
            except FnnInputError:
                continue
            if record.get("run_id") == name[: -len(".json")] == run_id(record["config"]):
                done[record["run_id"]] = record
    return done


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

    ``halving`` (a :class:`Halving` or a dict of its fields) runs successive halving instead (module docstring):
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
    budget = _check_halving(configs, grid) if rungs is not None else 0
    distributed, address = _engine(engine, scheduler, workers)
    with locked_sweep_folder(out, resume=resume, overwrite=overwrite) as folder:
        if rungs is None:
            return _sweep(configs, grid, folder, distributed, address, workers, engine, resume, overwrite, on_result, stack)
        if distributed is not None and folder is None:
            if engine == "dask" or address:
                raise FnnInputError("halving on Dask continues each run from its checkpoint in the sweep folder; give out (a folder the workers can reach).")
            distributed = None
        return _halving(configs, grid, rungs.rungs(budget), rungs.factor, folder, _Engine(distributed, address, workers, engine),
                        resume, overwrite, on_rung, stack)


@contextmanager
def locked_sweep_folder(out: str | os.PathLike[str] | None, *, resume: bool, overwrite: bool) -> Iterator[RunFolder | None]:
    """The sweep folder ``out`` checked (:func:`check_sweep_folder`) and locked for this process while in use: one
    writer, no other sweep or train writes there meanwhile. None without ``out``."""
    folder = None if out is None else RunFolder(check_sweep_folder(out, resume=resume, overwrite=overwrite), "out")
    lock = None if folder is None else folder.acquire()
    try:
        yield folder
    finally:
        if lock is not None:
            lock.release()


def _engine(engine: str, scheduler: str | None, workers: int | None) -> tuple[ModuleType | None, str | None]:
    """``(distributed, address)``: the Dask module when the sweep runs on Dask (else None) and the scheduler's
    address (None: a local cluster), each choice checked (``engine`` and ``workers`` by :func:`sweep_option`)."""
    address = scheduler or (os.environ.get("DASK_SCHEDULER_ADDRESS") if engine != "sequential" else None)
    if scheduler and engine == "sequential":
        raise FnnInputError(f"scheduler {scheduler}: a sequential sweep runs in this process; give a scheduler or sequential, not both.")
    distributed = _dask() if engine in ("auto", "dask") else None
    if engine == "dask" and distributed is None:
        raise FnnInputError("engine='dask' needs Dask: pip install 'fnn[sweep]'.")
    if address and distributed is None:
        raise FnnInputError(f"A scheduler address ({address}) was given, but Dask is not installed: pip install 'fnn[sweep]'.")
    if address:
        check_scheduler(address, argument="scheduler" if scheduler else "DASK_SCHEDULER_ADDRESS")
    return distributed, address


@frozen
class _Engine:
    """Where a sweep's tasks run: on Dask (``distributed``, at ``address`` or on a local cluster of ``workers``)
    or, without it, in this process."""

    distributed: ModuleType | None
    address: str | None
    workers: int | None
    engine: str

    @contextmanager
    def pool(self) -> Iterator[_Pool]:
        if self.distributed is None:
            yield _Pool(None, None, "sequential (Dask not installed)" if self.engine == "auto" else "sequential", 1)
            return
        distributed, cluster = self.distributed, None
        if self.address:
            client = distributed.Client(self.address, timeout="5s")
            label = f"dask at {self.address}"
        else:
            count = self.workers or os.cpu_count() or 1
            cluster = distributed.LocalCluster(
                n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None, env=SINGLE_THREAD_ENV
            )
            client = distributed.Client(cluster)
            label = f"dask LocalCluster ({count} single-threaded workers)"
        try:
            yield _Pool(distributed, client, label, sum(client.nthreads().values()) or 1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


@frozen
class _Pool:
    """A running engine: ``client`` a Dask client (None: this process), ``slots`` its single-threaded workers."""

    distributed: ModuleType | None
    client: Any
    label: str
    slots: int

    def share(self, sources: dict[str, LoadedSource]) -> dict[str, Any]:
        """Each loaded data set as the tasks receive it: scattered once to every worker on Dask."""
        if self.client is None:
            return dict(sources)
        return {name: (self.client.scatter(source, broadcast=True) if source is not None else None) for name, source in sources.items()}

    def map(self, task: Callable[..., Any], calls: Sequence[tuple[Any, ...]], name: str) -> Iterator[Any]:
        """``task(*call)`` of every call, as each finishes (in order in this process); a Dask task that loses its
        worker is run again elsewhere."""
        if self.client is None or self.distributed is None:
            yield from (task(*call) for call in calls)
            return
        futures = [self.client.submit(task, *call, key=f"fnn-{name}-{run_id({'runs': [run_id(c) for c in call[0]]})}", pure=False, retries=2)
                   for call in calls]
        for future in self.distributed.as_completed(futures):
            yield future.result()


def _sweep(configs: list[RunConfig], grid: dict[str, list[Any]], folder: RunFolder | None, distributed: ModuleType | None,
           address: str | None, workers: int | None, engine: str, resume: bool, overwrite: bool,
           on_result: Callable[[dict[str, Any], int, int], Any] | None, stack: bool) -> SweepResult:
    done = _finished(folder) if (folder and resume) else {}
    todo = [c for c in configs if run_id(c) not in done]
    records = dict(done)

    def arrived(record: dict[str, Any]) -> None:
        records[record["run_id"]] = record
        if folder:
            folder.write(f"{SWEEP_RUNS}/{record['run_id']}.json", json.dumps(record, indent=1).encode())
        if on_result is not None:
            on_result(record, len(records), len(configs))

    sources = {name: load_source(name) for name in sorted({c.data for c in todo})}
    with (_Engine(distributed, address, workers, engine) if todo else _Engine(None, None, None, "sequential")).pool() as pool:
        shared = pool.share(sources)
        parts = _split(stacks(todo, stack), pool.slots) if pool.client is not None else stacks(todo, stack)
        for stacked in pool.map(run_stack, [(part, shared[part[0].data]) for part in parts], "stack"):
            for record in stacked:
                arrived(record)
        label = pool.label
    ordered = tuple(records[run_id(c)] for c in configs)
    summary = summarize(ordered, [setting_name(key) or key for key in grid])
    ranked_on = _ranked_on(summary, _ranking_monitor(ordered))[0]
    result = SweepResult(ordered, summary, label, skipped=len(configs) - len(todo), chosen_test=chosen_test(ordered, summary[0]), ranked_on=ranked_on)
    if folder:
        content = {"engine": label, "stacked": stack, "ranked_on": ranked_on, "summary": list(summary), "chosen": result.chosen_test}
        folder.write(SUMMARY, json.dumps(content, indent=1).encode())
        if overwrite:  # only now that the new sweep is whole: the replaced sweep's other records go
            _remove_others(folder, configs)
    return result


def _remove_others(folder: RunFolder, configs: Sequence[RunConfig]) -> None:
    """The runs (records or run folders) of ``out/runs`` that are not this sweep's, removed; what no sweep writes
    (a name that is no run id) is the user's and stays."""
    kept = {run_id(c) for c in configs} | {f"{run_id(c)}.json" for c in configs}
    for name in folder.listdir(SWEEP_RUNS):
        if name not in kept and _RUN_NAME.match(name):
            folder.remove(f"{SWEEP_RUNS}/{name}")


def _split(groups: list[list[RunConfig]], slots: int) -> list[list[RunConfig]]:
    """``groups`` cut into stacks of at most the runs' share of one of ``slots`` workers each, so that every
    worker has work (a stack's members give the same bytes however the stack is cut).

    >>> [len(part) for part in _split([[1, 2, 3, 4, 5, 6, 7, 8], [9]], 4)]
    [3, 3, 2, 1]
    """
    size = max(1, math.ceil(sum(len(group) for group in groups) / max(1, slots)))
    return [group[start : start + size] for group in groups for start in range(0, len(group), size)]


# -- successive halving ------------------------------------------------------------------------------------------

def _rung_setting(name: str, value: Any) -> int:
    return int(sweep_option(name, value, Source("argument", "Halving")))


@frozen
class Halving:
    """Successive halving's rungs: the first trains ``min_epochs`` epochs, each next one ``factor`` times longer,
    up to the configuration's ``epochs`` (the budget), and the best ``1/factor`` of a rung's configurations (at
    least one) go on.

    >>> Halving(min_epochs=1, factor=3).rungs(27), Halving(min_epochs=2).rungs(20)
    ([1, 3, 9, 27], [2, 6, 18, 20])
    """

    min_epochs: int = field(default=1, converter=lambda value: _rung_setting("min_epochs", value))
    factor: int = field(default=3, converter=lambda value: _rung_setting("factor", value))

    def rungs(self, budget: int) -> list[int]:
        """The epochs (in all) of each rung, up to ``budget``."""
        if self.min_epochs > budget:
            raise FnnInputError(f"halving: min_epochs ({self.min_epochs}) is more than the budget, epochs = {budget}.")
        rungs = []
        epochs = self.min_epochs
        while epochs < budget:
            rungs.append(epochs)
            epochs *= self.factor
        return rungs + [budget]


def halving_of(value: Halving | dict[str, Any] | None) -> Halving | None:
    """``value`` as a :class:`Halving` (a dict gives its fields; a mistyped key is named with the closest one),
    or None for none.

    >>> halving_of({"factor": 2})
    Halving(min_epochs=1, factor=2)
    """
    if value is None or isinstance(value, Halving):
        return value
    if not isinstance(value, dict):
        raise FnnInputError(f"halving must be a Halving, a dict of min_epochs and factor, or None; got {value!r}.")
    known = [f.name for f in fields(Halving)]
    for key in value:
        if key not in known:
            raise unknown_name("halving key", str(key), known)
    return Halving(**value)


@frozen
class Rung:
    """One rung: the epochs every configuration on it has trained (in all), the configurations ranked best first
    (``config``: the grid's keys; ``score``: the mean validation metric over seeds, None for one that diverged)
    and how many of them went on.

    >>> result = sweep({"data": "iris", "hidden": [4], "epochs": 2}, {"lr": [0.5, 1e-4]}, [0], engine="sequential", halving={"factor": 2})
    >>> first = result.rungs[0]
    >>> first.epochs, [row["config"] for row in first.ranked], first.promoted
    (1, [{'lr': 0.5}, {'lr': 0.0001}], 1)
    """

    epochs: int
    ranked: tuple[dict[str, Any], ...]
    promoted: int


@frozen(hash=False)
class _Reached:
    """A run after a rung: its id, its validation metrics (None: it diverged) and, when the rung ran in this
    process, its state (the next rung continues it)."""

    run_id: str
    metrics: dict[str, Any] | None
    state: TrainState | None


def _check_halving(configs: Sequence[RunConfig], grid: dict[str, Any]) -> int:
    """The budget (the configurations' ``epochs``), once what halving cannot continue exactly is refused."""
    if any(setting_name(key) == "epochs" for key in grid):
        raise FnnInputError("halving: 'epochs' is the full budget that halving shares out; give it in the base, not the grid.")
    for config in configs:
        if config.patience:
            raise FnnInputError(
                f"halving: patience {config.patience} would stop runs on their own, so survivors could not "
                f"continue to the budget exactly; leave early stopping out (halving is the stopping rule)."
            )
    return configs[0].epochs


def _checkpoint(folder: RunFolder, config: RunConfig, upto: int) -> TrainState | None:
    """The state of ``config``'s run folder in the sweep, if it has one bound to its record and not beyond
    ``upto`` epochs (a checkpoint beyond this rung belongs to a sweep of other rungs: this rung ranks at upto)."""
    if not folder.exists(f"{SWEEP_RUNS}/{run_id(config)}/{RECORD}"):
        return None
    try:
        state = RunFolder(folder.file(f"{SWEEP_RUNS}/{run_id(config)}"), "out").load_checkpoint().state
    except FnnInputError:
        return None  # a damaged or unbound checkpoint: the run starts again from its initial params
    return state if state.epoch <= upto else None


def _save(folder: RunFolder, config: RunConfig, state: TrainState, record: dict[str, Any]) -> None:
    """``state``'s checkpoint and ``record`` into the run folder ``runs/<run_id>/``, replacing the previous rung's."""
    own = RunFolder(folder.folder(f"{SWEEP_RUNS}/{run_id(config)}"), "out")
    with own.claim(overwrite=own.holds_run(), sweep_run=True):
        own.save_checkpoint(Model(state, config.to_dict()))
        own.write_record(record)


def _continued(prepared: Sequence[Prepared], starts: Sequence[TrainState | None], upto: int) -> list[TrainState | None]:
    """Each run continued from its start (None: its initial params) to ``upto`` epochs in all, the runs of one
    start epoch as one stacked computation; a run that diverges gives None (alone, so the others go on)."""
    reached: list[TrainState | None] = list(starts)
    by_epoch: dict[int, list[int]] = {}
    for index, start in enumerate(starts):
        by_epoch.setdefault(start.epoch if start is not None else 0, []).append(index)
    for epoch, members in by_epoch.items():
        if epoch == upto:
            continue
        chosen = [prepared[i] for i in members]
        begun = [starts[i] for i in members]
        try:
            finals = fit_stacked([b if b is not None else p.params for p, b in zip(chosen, begun)], [p.train for p in chosen],
                                 _stack_options(chosen, begun, patience=False), epochs=upto - epoch)
        except TrainingDiverged:
            if len(members) == 1:
                reached[members[0]] = None
                continue
            finals = None
        except FnnInputError:  # runs that cannot share one computation after all
            if len(members) == 1:
                raise
            finals = None
        for index, final in zip(members, finals or [None] * len(members)):
            reached[index] = final[1] if final is not None else _continued([prepared[index]], [starts[index]], upto)[0]
    return reached


def rung_record(config: RunConfig, prepared: Prepared, state: TrainState, upto: int) -> dict[str, Any]:
    """The record of a halving sweep's run trained to the rung of ``upto`` epochs (of its budget ``config.epochs``):
    a run's record, with its ``run_id`` and ``rung_epochs`` (what ``fnn verify`` reruns it to)."""
    record = run_record(config, state, {}, 0.0, threads=1, data=data_fingerprints(prepared))
    return {**record, "run_id": run_id(config), "rung_epochs": upto}


def train_to_rung(prepared: Prepared, upto: int) -> tuple[TrainState, dict[str, Any]]:
    """``(state, record)`` of ``prepared`` trained alone to the rung of ``upto`` epochs, as a halving sweep trains
    it (its schedule that of its full budget; one BLAS thread), for ``fnn verify`` of a run a rung stopped."""
    with threadpool_limits(limits=1, user_api="blas"):  # the record's environment too, as the sweep's rung records it
        state = _continued([prepared], [None], upto)[0]
        if state is None:
            raise TrainingDiverged(f"The rerun diverged before the rung of {upto} epochs.", epoch=0, step=0, last_good=prepared.params)
        return state, rung_record(prepared.config, prepared, state, upto)


def _rung_stack(configs: Sequence[RunConfig], source: LoadedSource, out: str | None, upto: int,
                starts: Sequence[TrainState | None] | None, load: bool, keep: bool) -> list[_Reached]:
    """One rung of a stack of runs (a task): each from ``starts`` (None: from its checkpoint in ``out`` if
    ``load``, else its initial params) to ``upto`` epochs, its checkpoint and record saved into ``out``; the
    states are returned only if ``keep`` (in this process; on Dask the next rung reads the checkpoints)."""
    folder = None if out is None else RunFolder(out, "out")
    with threadpool_limits(limits=1, user_api="blas"):
        prepared = [prepare_run(config, source=source) for config in configs]
        given = list(starts) if starts is not None else [None] * len(configs)
        begun = [_checkpoint(folder, config, upto) if start is None and load and folder is not None else start
                 for config, start in zip(configs, given)]
        reached = _continued(prepared, begun, upto)
        if folder is not None:
            for config, own, start, state in zip(configs, prepared, begun, reached):
                if state is not None and state is not start:
                    _save(folder, config, state, rung_record(config, own, state, upto))
    return [_Reached(run_id(c), validation_metrics(s) if s is not None else None, s if keep else None) for c, s in zip(configs, reached)]


def _halving(configs: list[RunConfig], grid: dict[str, list[Any]], rungs: list[int], factor: int, folder: RunFolder | None,
             engine: _Engine, resume: bool, overwrite: bool, on_rung: Callable[[Rung], Any] | None, stack: bool) -> SweepResult:
    varying = [setting_name(key) or key for key in grid]
    groups: dict[str, list[RunConfig]] = {}
    for config in configs:
        groups.setdefault(run_id(config.replace(seed=0)), []).append(config)
    started = time.perf_counter()
    everyone = {_key_of(own[0], varying) for own in groups.values()}
    seeds = sorted({config.seed for config in configs})
    done = _finished_rungs(folder, rungs, everyone, seeds) if (folder is not None and resume) else []
    alive = [key for key in groups if _key_of(groups[key][0], varying) in done[-1][1]] if done else list(groups)
    finished = [rung for rung, _ in done]
    reached: dict[str, _Reached] = {}
    out = None if folder is None else folder.path
    sources = {name: load_source(name) for name in sorted({c.data for c in configs})}
    with engine.pool() as pool:
        shared = pool.share(sources)
        local = pool.client is None
        for epochs in rungs[len(finished):]:
            todo = [config for key in alive for config in groups[key]
                    if run_id(config) not in reached or reached[run_id(config)].metrics is not None]  # a diverged run stays so
            parts = stacks(todo, stack) if local else _split(stacks(todo, stack), pool.slots)
            load = resume or len(finished) > len(done)  # a checkpoint of an earlier rung of this sweep, or of the killed one
            calls = [(part, shared[part[0].data], out, epochs, [reached[run_id(c)].state if run_id(c) in reached else None for c in part],
                      load, local) for part in parts]
            for outcomes in pool.map(_rung_stack, calls, "rung"):
                reached.update((one.run_id, one) for one in outcomes)
            scores = {key: _score([reached[run_id(c)].metrics for c in groups[key]]) for key in alive}
            metric = _metric([reached[run_id(c)].metrics for key in alive for c in groups[key]])
            ranked = sorted(alive, key=lambda k: (scores[k][metric] is None, -(scores[k][metric] or 0.0) if metric != "loss" else (scores[k][metric] or 0.0)))
            keep = 1 if epochs == rungs[-1] else max(1, len(ranked) // factor)
            finished.append(Rung(epochs, tuple({"config": _varying(groups[k][0], varying), "score": scores[k][metric]} for k in ranked), keep))
            for key in ranked[keep:]:
                for config in groups[key]:
                    reached.pop(run_id(config), None)  # a configuration that stops frees its runs
            alive = ranked[:keep]
            if folder is not None:
                folder.write(RUNGS, json.dumps({"seeds": seeds, "rungs": [_rung_dict(r) for r in finished]}, indent=1).encode())
            if on_rung is not None:
                on_rung(finished[-1])
        label = pool.label
    chosen = groups[alive[0]]
    with threadpool_limits(limits=1, user_api="blas"):
        states = [reached[run_id(c)].state if run_id(c) in reached and reached[run_id(c)].state is not None
                  else (_checkpoint(folder, c, rungs[-1]) if folder is not None else None) for c in chosen]
        if any(state is None or state.epoch != rungs[-1] for state in states):
            raise FnnInputError("halving: every configuration diverged; lower the learning rates of the grid.")
        records = tuple(_record(config, cast(TrainState, state), sources[config.data], time.perf_counter() - started)
                        for config, state in zip(chosen, states))
    pooled: dict[str, Any] = {"config": _varying(chosen[0], varying), "seeds": [c.seed for c in chosen]}
    for name in ("accuracy", "r2", "loss"):
        values = [r["final_metrics"][name] for r in records if name in r["final_metrics"]]
        if values:
            pooled.update(spread(name, values))
    trained = sum(len(rung.ranked) * len(chosen) * (rung.epochs - previous) for rung, previous in zip(finished, [0, *rungs]))
    ranked_on = f"val_{_metric([r['validation_metrics'] for r in records])}"
    result = SweepResult(records, summarize(records, varying), label, pooled, ranked_on=ranked_on, rungs=tuple(finished),
                         epochs_trained=trained, epochs_full_grid=len(configs) * rungs[-1])
    if folder is not None:
        for config, state, record in zip(chosen, states, records):
            _save(folder, config, cast(TrainState, state), record)
        summary = {"engine": label, "stacked": stack, "ranked_on": ranked_on, "rungs": [_rung_dict(r) for r in finished],
                   "chosen": pooled, "epochs_trained": trained, "epochs_full_grid": result.epochs_full_grid}
        folder.write(SUMMARY, json.dumps(summary, indent=1).encode())
        if overwrite:  # only now that the new sweep is whole: the replaced sweep's other runs go
            _remove_others(folder, configs)
    return result




def _rung_dict(rung: Rung) -> dict[str, Any]:
    return {"epochs": rung.epochs, "ranked": list(rung.ranked), "promoted": rung.promoted}


def _key_of(config: RunConfig, varying: Sequence[str]) -> str:
    return json.dumps(_varying(config, varying), sort_keys=True)


def _finished_rungs(folder: RunFolder, rungs: list[int], everyone: set[str], seeds: list[int]) -> list[tuple[Rung, set[str]]]:
    """The rungs a killed sweep finished (each with the keys of the configurations it promoted), if they are
    this sweep's rungs over this sweep's configurations (``everyone``: their keys) and seeds; else none (every rung runs
    again, each run from its own checkpoint)."""
    if not folder.exists(RUNGS):
        return []
    try:
        saved = json.loads(folder.read_bytes(RUNGS, what="a halving sweep's rungs"))
        done = [Rung(r["epochs"], tuple(r["ranked"]), r["promoted"]) for r in saved["rungs"]]
    except (FnnInputError, ValueError, KeyError, TypeError):
        return []
    if saved.get("seeds") != seeds or [rung.epochs for rung in done] != rungs[: len(done)] or (done and {json.dumps(row["config"], sort_keys=True) for row in done[0].ranked} != everyone):
        return []
    return [(rung, {json.dumps(row["config"], sort_keys=True) for row in rung.ranked[: rung.promoted]}) for rung in done]


def _score(metrics: Sequence[dict[str, Any] | None]) -> dict[str, float | None]:
    """Each validation metric's mean over a configuration's seeds (None if one of them diverged or has none)."""
    names = ("accuracy", "r2", "loss")
    if any(m is None for m in metrics):
        return dict.fromkeys(names)
    scores: dict[str, float | None] = {}
    for name in names:
        values = [cast(dict, m).get(name) for m in metrics]
        scores[name] = None if any(v is None or math.isnan(v) for v in values) else _mean_std([float(v) for v in values if v is not None])[0]
    return scores


def _metric(metrics: Sequence[dict[str, Any] | None]) -> str:
    """What a rung ranks on: validation accuracy, else R^2, else loss (as a sweep's summary)."""
    recorded = next((m for m in metrics if m is not None), {"loss": 0.0})
    return next(name for name in ("accuracy", "r2", "loss") if name in recorded)


def _varying(config: RunConfig, keys: Sequence[str]) -> dict[str, Any]:
    settings = config.to_dict()
    return {key: settings.get(key) for key in keys}


def _record(config: RunConfig, state: TrainState, source: LoadedSource, seconds: float) -> dict[str, Any]:
    """The record of a run chosen at the full budget, with its test metrics (the only ones a halving sweep computes)."""
    prepared = prepare_run(config, source=source)
    record = run_record(config, state, test_metrics(state.params, prepared.test, prepared.targets), seconds, threads=1, data=data_fingerprints(prepared))
    return {**record, "run_id": run_id(config)}
