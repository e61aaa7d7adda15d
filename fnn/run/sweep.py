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

>>> grid = expand_grid({"data": "iris", "epochs": 2}, {"lr": [0.1, 0.05]}, seeds=[0, 1])
>>> [(c.lr, c.seed) for c in grid]
[(0.1, 0), (0.1, 1), (0.05, 0), (0.05, 1)]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

from attrs import evolve, frozen
from threadpoolctl import threadpool_limits

from fnn.core.scores import greater_is_better
from fnn.data.sources import LoadedSource, load_source
from fnn.errors import FnnInputError, TrainingDiverged
from fnn.optim import Optimizer
from fnn.run.build import prepare_run
from fnn.run.engine import _converging, _loss_limit, run
from fnn.run.record import data_fingerprints, run_record, test_metrics
from fnn.run.settings import GRID, PYTHON, RunConfig, Source, resolve_config, setting_name
from fnn.store.run_folder import RunFolder
from fnn.train.stacked import fit_stacked
from fnn.train.state import TrainState

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


SCHEDULER_SCHEMES = ("tcp", "tls")


@frozen
class SweepResult:
    """Every run's record (in grid order), the summary rows (best validation first), how the sweep ran, and the
    chosen configuration's test metrics (``chosen_test``: each metric's mean and std over its seeds)."""

    records: tuple[dict[str, Any], ...]
    summary: tuple[dict[str, Any], ...]
    engine: str
    chosen_test: dict[str, Any]
    skipped: int = 0


def expand_grid(base: dict[str, Any], grid: dict[str, list[Any]], seeds: Sequence[int], *, base_source: Source = PYTHON,
                grid_source: Source = GRID) -> list[RunConfig]:
    """The checked :class:`~fnn.run.settings.RunConfig` of every combination: ``grid`` maps keys to lists of values,
    ``seeds`` is a list of ints. Everything is validated here, before any run starts; ``base_source`` and
    ``grid_source`` (:class:`~fnn.run.settings.Source`) say where the values came from, for the messages.

    Every run holds out a validation part (``validation > 0``), on which the sweep ranks, and uses one BLAS thread.
    """
    if not isinstance(grid, dict) or not isinstance(base, dict):
        raise FnnInputError("A sweep needs a base configuration (dict) and a grid (dict of key -> list of values).")
    if not isinstance(seeds, (list, tuple, range)):
        raise FnnInputError(f"A sweep needs a non-empty list of non-negative int seeds; got {seeds!r}.")
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise FnnInputError(f"A sweep needs a non-empty list of non-negative int seeds; got {seeds!r}.")
    if "seed" in grid:
        raise FnnInputError("Give seeds with seeds=[...] (--seeds), not as a grid key.")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise FnnInputError(f"The grid key {key!r} needs a non-empty list of values; got {values!r}.")
    if not grid and len(seeds) < 2:
        raise FnnInputError("The grid is empty: give at least one key with values to sweep, or several seeds.")
    for key, values in [(k, [v]) for k, v in base.items()] + list(grid.items()):
        if setting_name(key) == "threads" and any(value not in (None, 1) for value in values):
            raise FnnInputError(
                f"A sweep runs every run at one BLAS thread (its workers are pinned to one, so results do not depend "
                f"on the engine); leave 'threads' out (got {key} = {values!r})."
            )
    keys = list(grid)
    configs = []
    for combination in itertools.product(*(grid[key] for key in keys)):
        for seed in seeds:
            layers = [(base, base_source), (dict(zip(keys, combination)), grid_source), ({"seed": seed, "threads": 1}, PYTHON)]
            configs.append(resolve_config(*layers))
    for config in configs:
        for name in ("tensorboard", "keep_checkpoints"):  # refused here, before any run starts, not at the first run
            if getattr(config, name):
                raise FnnInputError(f"A sweep's runs write one record each and no run folder, so {name!r} cannot apply; leave it out.")
        if not config.validation:
            raise FnnInputError(
                "A sweep ranks its configurations on the validation part, never on the test set, so 'validation' must "
                f"be > 0 (got {config.validation}; the default is 0.1)."
            )
    return configs


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

_ALONE = ("metrics", "sample_weight", "class_weight", "train_metrics")
"""Settings that make a run train alone: weighted runs and chosen metrics are not stacked."""


def stacks(configs: Sequence[RunConfig], stack: bool = True) -> list[list[RunConfig]]:
    """``configs`` in groups that train as one stacked computation each, in the order of their first member:
    the runs that differ only in :data:`STACKED_SETTINGS` (same network, data and training otherwise); each run
    alone with ``stack=False`` or a setting of :data:`_ALONE`.

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
    return list(groups.values())


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
        optimizers: dict[str, Optimizer] = {}  # runs that differ only in their seed share one optimiser (and its kernel)
        options = [evolve(own.options, patience=own.config.patience or None, monitor=own.config.monitor,
                          optimizer=optimizers.setdefault(run_id(own.config.replace(seed=0)), own.options.optimizer))
                   for own in prepared]
        limits = [_loss_limit(own.params, own.train) for own in prepared]

        def converging(index: int, state: TrainState) -> None:
            for _ in _converging([state], state, limits[index]):  # raises as the run alone would
                pass

        try:
            finals = fit_stacked([own.params for own in prepared], [own.train for own in prepared], options,
                                 epochs=configs[0].epochs, check=converging)
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


_RUNS, _SUMMARY = "runs", "summary.json"


def _finished(folder: RunFolder) -> dict[str, dict[str, Any]]:
    """The records already in the sweep's ``runs/``; an unreadable one is left out (its run is run again)."""
    done = {}
    for name in folder.listdir(_RUNS):
        if name.endswith(".json"):
            try:
                record = json.loads(folder.read_bytes(f"{_RUNS}/{name}", what="a sweep's run record"))
                done[record["run_id"]] = record
            except (FnnInputError, ValueError, RecursionError, KeyError, TypeError):
                continue
    return done


def _holds_sweep(folder: RunFolder) -> bool:
    """Whether the folder already holds a sweep's results (its summary or run records, or a halving sweep's run
    folders)."""
    return folder.exists(_SUMMARY) or any(name.endswith(".json") or folder.exists(f"{_RUNS}/{name}/record.json")
                                          for name in folder.listdir(_RUNS))


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
    links = folder.links()
    if links:
        raise FnnInputError(f"{argument} {folder.path}: {links[0]} is a symbolic link; fnn does not follow links in a sweep folder. Remove it.")
    if _holds_sweep(folder) and not (resume or overwrite):
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
    folder.folder(_RUNS)
    return folder.path


def sweep(base: dict[str, Any], grid: dict[str, list[Any]], seeds: Sequence[int], *, scheduler: str | None = None,
          out: str | os.PathLike[str] | None = None, resume: bool = False, overwrite: bool = False,
          workers: int | None = None, engine: str = "auto",
          on_result: Callable[[dict[str, Any], int, int], Any] | None = None,
          configs: list[RunConfig] | None = None, stack: bool = True) -> SweepResult:
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
    """
    if not isinstance(stack, bool):
        raise FnnInputError(f"stack must be True or False; got {stack!r}.")
    configs = expand_grid(base, grid, seeds) if configs is None else configs
    with locked_sweep_folder(out, resume=resume, overwrite=overwrite) as folder:
        return _sweep(configs, grid, folder, scheduler, resume, overwrite, workers, engine, on_result, stack)


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


def _sweep(configs: list[RunConfig], grid: dict[str, list[Any]], folder: RunFolder | None, scheduler: str | None,
           resume: bool, overwrite: bool, workers: int | None, engine: str,
           on_result: Callable[[dict[str, Any], int, int], Any] | None, stack: bool) -> SweepResult:
    address = scheduler or (os.environ.get("DASK_SCHEDULER_ADDRESS") if engine != "sequential" else None)
    if scheduler and engine == "sequential":
        raise FnnInputError(f"scheduler {scheduler}: a sequential sweep runs in this process; give a scheduler or sequential, not both.")
    distributed = _dask() if engine in ("auto", "dask") else None
    if engine == "dask" and distributed is None:
        raise FnnInputError("engine='dask' needs Dask: pip install 'fnn[sweep]'.")
    if address and distributed is None:
        raise FnnInputError(f"A scheduler address ({address}) was given, but Dask is not installed: pip install 'fnn[sweep]'.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024):
        raise FnnInputError(f"workers must be an int from 1 to 1024; got {workers!r}.")
    if address:
        check_scheduler(address, argument="scheduler" if scheduler else "DASK_SCHEDULER_ADDRESS")
    done = _finished(folder) if (folder and resume) else {}
    todo = [c for c in configs if run_id(c) not in done]
    records = dict(done)

    def arrived(record: dict[str, Any]) -> None:
        records[record["run_id"]] = record
        if folder:
            folder.write(f"{_RUNS}/{record['run_id']}.json", json.dumps(record, indent=1).encode())
        if on_result is not None:
            on_result(record, len(records), len(configs))

    sources = {name: load_source(name) for name in sorted({c.data for c in todo})}
    groups = stacks(todo, stack)
    if distributed is not None and todo:
        label = _run_dask(distributed, groups, sources, address, workers, arrived)
    else:
        label = "sequential (Dask not installed)" if distributed is None and engine == "auto" else "sequential"
        for group in groups:
            for record in run_stack(group, sources[group[0].data]):
                arrived(record)
    ordered = tuple(records[run_id(c)] for c in configs)
    summary = summarize(ordered, [setting_name(key) or key for key in grid])
    result = SweepResult(ordered, summary, label, skipped=len(configs) - len(todo), chosen_test=chosen_test(ordered, summary[0]))
    if folder:
        content = {"engine": label, "stacked": stack, "ranked_on": _ranked_on(summary, _ranking_monitor(ordered))[0], "summary": list(summary), "chosen": result.chosen_test}
        folder.write(_SUMMARY, json.dumps(content, indent=1).encode())
        if overwrite:  # only now that the new sweep is whole: the replaced sweep's other records go
            kept = {f"{run_id(c)}.json" for c in configs}
            for name in folder.listdir(_RUNS):
                if name.endswith(".json") and name not in kept:
                    folder.remove(f"{_RUNS}/{name}")
    return result


def _split(groups: list[list[RunConfig]], slots: int) -> list[list[RunConfig]]:
    """``groups`` cut into stacks of at most the runs' share of one of ``slots`` workers each, so that every
    worker has work (a stack's members give the same bytes however the stack is cut).

    >>> [len(part) for part in _split([[1, 2, 3, 4, 5, 6, 7, 8], [9]], 4)]
    [3, 3, 2, 1]
    """
    size = max(1, math.ceil(sum(len(group) for group in groups) / max(1, slots)))
    return [group[start : start + size] for group in groups for start in range(0, len(group), size)]


def _run_dask(distributed: ModuleType, groups: list[list[RunConfig]], sources: dict[str, LoadedSource], address: str | None,
              workers: int | None, arrived: Callable[[dict[str, Any]], None]) -> str:
    if address:
        client = distributed.Client(address, timeout="5s")
        cluster = None
        label = f"dask at {address}"
    else:
        count = workers or os.cpu_count() or 1
        cluster = distributed.LocalCluster(
            n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None, env=SINGLE_THREAD_ENV
        )
        client = distributed.Client(cluster)
        label = f"dask LocalCluster ({count} single-threaded workers)"
    try:
        scattered = {name: (client.scatter(source, broadcast=True) if source is not None else None) for name, source in sources.items()}
        parts = _split(groups, sum(client.nthreads().values()) or 1)
        futures = [
            client.submit(run_stack, part, scattered[part[0].data], key=f"fnn-stack-{run_id({'runs': [run_id(c) for c in part]})}",
                          pure=False, retries=2)
            for part in parts
        ]
        for future in distributed.as_completed(futures):
            for record in future.result():
                arrived(record)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return label
