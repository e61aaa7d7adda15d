"""Seeded experiment sweeps: every combination of a grid of configuration values and a list of seeds.

A run is a pure function of its configuration (seed included), so a sweep is a map, run on Dask distributed when it
is installed (a ``LocalCluster`` of one single-threaded worker process per core, or an existing cluster at
``scheduler``/``DASK_SCHEDULER_ADDRESS``) and sequentially in-process otherwise. Each data set is loaded once and
scattered to the workers; results stream back as they finish and are written one JSON file per run, so an
interrupted sweep keeps every finished run and ``resume=True`` skips them. A worker that dies costs only the runs it
held: the scheduler runs them again elsewhere.

Bit-identity: a run's parameters are byte-identical to the same configuration run alone in-process **at the same
BLAS thread count**; the workers pin theirs to one thread (``OPENBLAS_NUM_THREADS=1`` and friends).

>>> grid = expand_grid({"data": "iris", "epochs": 2}, {"lr": [0.1, 0.05]}, seeds=[0, 1])
>>> [(c.lr, c.seed) for c in grid]
[(0.1, 0), (0.1, 1), (0.05, 0), (0.05, 1)]
"""

import hashlib
import itertools
import json
import math
import os
import socket
from urllib.parse import urlparse

from attrs import frozen

from .checkpoint import atomic_write_bytes
from .data.sources import load_source
from .errors import FnnInputError
from .run import GRID, PYTHON, RunConfig, resolve_config, run, setting_name

__all__ = ["expand_grid", "run_id", "run_one", "sweep", "summarize", "SweepResult", "SINGLE_THREAD_ENV"]

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@frozen
class SweepResult:
    """Every run's record (in grid order), the summary rows (best first), and how the sweep ran."""

    records: tuple
    summary: tuple
    engine: str
    skipped: int = 0


def expand_grid(base, grid, seeds):
    """The checked :class:`~fnn.run.settings.RunConfig` of every combination: ``grid`` maps keys to lists of values,
    ``seeds`` is a list of ints. Everything is validated here, before any run starts."""
    if not isinstance(grid, dict) or not isinstance(base, dict):
        raise FnnInputError("A sweep needs a base configuration (dict) and a grid (dict of key -> list of values).")
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
    keys = list(grid)
    configs = []
    for values in itertools.product(*(grid[key] for key in keys)):
        for seed in seeds:
            configs.append(resolve_config((base, PYTHON), (dict(zip(keys, values)), GRID), ({"seed": seed}, PYTHON)))
    return configs


def run_id(config):
    """A stable name for a run: the SHA-256 of its canonical configuration (seed included)."""
    settings = config.to_dict() if isinstance(config, RunConfig) else config
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def run_one(config, source=None):
    """One run of a sweep: the record of :func:`fnn.run.run` (a pure function of ``config``)."""
    record = run(config, source=source).record
    record["run_id"] = run_id(config)
    return record


def _group_key(config):
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True)


def summarize(records, varying=None):
    """One row per configuration (seeds pooled): for each final metric its mean and sample standard deviation over
    seeds, best first (highest accuracy or R^2, else lowest loss). ``varying`` names the keys shown per row."""
    groups = {}
    for record in records:
        groups.setdefault(_group_key(record["config"]), []).append(record)
    rows = []
    for runs in groups.values():
        config = runs[0]["config"]
        row = {"config": {k: config[k] for k in (varying or [])}, "runs": len(runs), "seeds": sorted(r["seed"] for r in runs)}
        for metric in ("accuracy", "r2", "loss"):
            values = [r["final_metrics"][metric] for r in runs if metric in r["final_metrics"]]
            if values:
                mean = sum(values) / len(values)
                std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
                row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
        rows.append(row)
    if rows and "accuracy_mean" in rows[0]:
        rows.sort(key=lambda r: -r["accuracy_mean"])
    elif rows and "r2_mean" in rows[0]:
        rows.sort(key=lambda r: -r["r2_mean"])
    else:
        rows.sort(key=lambda r: r["loss_mean"])
    return tuple(rows)


def _check_reachable(address, seconds=3.0):
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 8786), timeout=seconds):
            return
    except (OSError, ValueError) as error:
        raise FnnInputError(f"Cannot reach the Dask scheduler at {address}: {error}.") from None


def _dask():
    try:
        import distributed
    except ModuleNotFoundError:
        return None
    return distributed


def _write(out, record):
    path = os.path.join(out, "runs", f"{record['run_id']}.json")
    atomic_write_bytes(path, lambda handle: handle.write(json.dumps(record, indent=1).encode()))


def _finished(out):
    folder = os.path.join(out, "runs")
    done = {}
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.endswith(".json"):
                try:
                    with open(os.path.join(folder, name)) as handle:
                        record = json.load(handle)
                    done[record["run_id"]] = record
                except (OSError, ValueError, KeyError):
                    continue  # an unreadable file is run again
    return done


def sweep(base, grid, seeds, *, scheduler=None, out=None, resume=False, workers=None, engine="auto", on_result=None):
    """Run every combination of ``grid`` and ``seeds`` over ``base``; returns a :class:`SweepResult`.

    ``engine`` is ``"auto"`` (Dask if installed, else sequential), ``"dask"`` or ``"sequential"``. With ``out``,
    each record is written to ``out/runs/<run_id>.json`` as it arrives and the summary to ``out/summary.json``;
    ``resume=True`` keeps the records already there and runs only the missing ones. ``on_result(record, done,
    total)`` is told of each finished run (for a progress bar).
    """
    configs = expand_grid(base, grid, seeds)
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    distributed = _dask() if engine in ("auto", "dask") else None
    if engine == "dask" and distributed is None:
        raise FnnInputError("engine='dask' needs Dask: pip install 'fnn[sweep]'.")
    if address and distributed is None:
        raise FnnInputError(f"A scheduler address ({address}) was given, but Dask is not installed: pip install 'fnn[sweep]'.")
    if address:
        _check_reachable(address)
    if out:
        os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    done = _finished(out) if (out and resume) else {}
    todo = [c for c in configs if run_id(c) not in done]
    records = {rid: r for rid, r in done.items()}

    def arrived(record):
        records[record["run_id"]] = record
        if out:
            _write(out, record)
        if on_result is not None:
            on_result(record, len(records), len(configs))

    sources = {name: load_source(name) for name in sorted({c.data for c in todo})}
    if distributed is not None and todo:
        label = _run_dask(distributed, todo, sources, address, workers, arrived)
    else:
        label = "sequential (Dask not installed)" if distributed is None and engine == "auto" else "sequential"
        for config in todo:
            arrived(run_one(config, sources[config.data]))
    ordered = tuple(records[run_id(c)] for c in configs)
    varying = [setting_name(key) or key for key in grid]
    result = SweepResult(ordered, summarize(ordered, varying), label, skipped=len(configs) - len(todo))
    if out:
        atomic_write_bytes(
            os.path.join(out, "summary.json"),
            lambda handle: handle.write(json.dumps({"engine": label, "summary": list(result.summary)}, indent=1).encode()),
        )
    return result


def _run_dask(distributed, todo, sources, address, workers, arrived):
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
        futures = [
            client.submit(run_one, config, scattered[config.data], key=f"fnn-run-{run_id(config)}", pure=False, retries=2)
            for config in todo
        ]
        for future in distributed.as_completed(futures):
            arrived(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return label
