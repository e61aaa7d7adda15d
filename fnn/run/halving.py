"""Successive halving over a sweep's grid, whose survivors continue their own runs exactly.

Every configuration of the grid (with each of its seeds) trains to the first rung's epochs; the configurations
are ranked on validation (the mean over their seeds of the validation accuracy, else R^2, else loss: never the
test set) and the best ``1/factor`` go on to the next rung, until one configuration reaches the full budget,
the configuration's ``epochs``. A survivor is not retrained: it continues the very run it started (its lazy
sequence of training states, :func:`fnn.iterate_epochs`, kept in memory), and learning-rate schedules are
defined on the full budget (as :func:`fnn.run.run` builds them), so each survivor's final parameters are the
bytes of the same configuration run alone to its full budget: the same ``params_sha256``. Every schedule is a
pure function of the step and so continues exactly; early stopping (``patience``) would end a run on its own
and is refused by name, as is an ``epochs`` key in the grid (the budget is what halving shares out). Test
metrics are computed for the chosen configuration only. Runs use one BLAS thread, as a sweep's do.

With ``out``, the sweep folder is written as a sweep's: each run is a run folder ``runs/<run_id>/`` (through
:class:`~fnn.store.run_folder.RunFolder`) whose checkpoint and record are replaced at each rung it reaches (the
chosen configuration's final records carry its test metrics), ``rungs.json`` holds the rungs finished so far and
``summary.json`` the rungs, the chosen configuration and its test metrics. A killed sweep resumes
(``resume=True``) at rung granularity: finished rungs are kept, and each run of the rung in progress continues
from its own checkpoint at the last rung it reached, so the final hashes are those of an uninterrupted sweep.

>>> base, grid = {"data": "iris", "hidden": [8], "epochs": 4}, {"lr": [0.5, 0.1, 0.01]}
>>> result = successive_halving(base, grid, [0], min_epochs=1, factor=3)
>>> [(rung.epochs, rung.promoted) for rung in result.rungs], result.epochs_trained, result.epochs_full_grid
([(1, 1), (3, 1), (4, 1)], 6, 12)
>>> alone = fnn.run.run({**base, **result.chosen, "seed": 0, "threads": 1})
>>> alone.record["params_sha256"] == result.records[0]["params_sha256"]
True
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from attrs import evolve, frozen
from threadpoolctl import threadpool_limits

from fnn.data.sources import LoadedSource, load_source
from fnn.errors import FnnInputError, TrainingDiverged
from fnn.run.build import Prepared, prepare_run
from fnn.run.record import data_fingerprints, run_record, test_metrics, validation_metrics
from fnn.run.settings import RunConfig, setting_name
from fnn.run.sweep import _mean_std, expand_grid, locked_sweep_folder, run_id, spread
from fnn.store.model import Model
from fnn.store.run_folder import RECORD, RunFolder
from fnn.train.loop import iterate_epochs
from fnn.train.state import TrainState


@frozen
class Rung:
    """One rung: the epochs every configuration on it has trained (in all), the configurations ranked best first
    (``config``: the grid's keys; ``score``: the mean validation metric over seeds, None for one that diverged)
    and how many of them went on."""

    epochs: int
    ranked: tuple[dict[str, Any], ...]
    promoted: int


@frozen
class HalvingResult:
    """The rungs, the chosen configuration (the grid's keys), its runs' records at the full budget (one per seed,
    with test metrics, as a sweep's records), their test metrics pooled (mean, std, min, max and 95% interval over seeds), the metric
    ranked on, and the epochs trained against those a full grid would train.

    >>> result = successive_halving({"data": "iris", "hidden": [4], "epochs": 2}, {"lr": [0.5, 0.05]}, [0, 1], min_epochs=1, factor=2)
    >>> result.ranked_on, len(result.records), result.chosen_test["seeds"], result.epochs_trained < result.epochs_full_grid
    ('val_accuracy', 2, [0, 1], True)
    """

    rungs: tuple[Rung, ...]
    chosen: dict[str, Any]
    records: tuple[dict[str, Any], ...]
    chosen_test: dict[str, Any]
    ranked_on: str
    epochs_trained: int
    epochs_full_grid: int


@frozen(hash=False)
class _Run:
    """A run in progress: what it was prepared from, its states still to come and the last one reached."""

    config: RunConfig
    prepared: Prepared
    states: Iterator[TrainState]
    state: TrainState | None


def rung_epochs(budget: int, min_epochs: int, factor: int) -> list[int]:
    """The epochs of each rung: ``min_epochs``, times ``factor`` each rung, ending at ``budget``.

    >>> rung_epochs(27, 1, 3), rung_epochs(20, 2, 3)
    ([1, 3, 9, 27], [2, 6, 18, 20])
    """
    for name, value, low in (("min_epochs", min_epochs, 1), ("factor", factor, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise FnnInputError(f"successive_halving: {name} must be an int of at least {low}; got {value!r}.")
    if min_epochs > budget:
        raise FnnInputError(f"successive_halving: min_epochs ({min_epochs}) is more than the budget, epochs = {budget}.")
    rungs = []
    epochs = min_epochs
    while epochs < budget:
        rungs.append(epochs)
        epochs *= factor
    return rungs + [budget]


def _check(configs: Sequence[RunConfig], grid: dict[str, Any]) -> int:
    if any(setting_name(key) == "epochs" for key in grid):
        raise FnnInputError("successive_halving: 'epochs' is the full budget that halving shares out; give it in the base, not the grid.")
    for config in configs:
        if config.patience:
            raise FnnInputError(
                f"successive_halving: patience {config.patience} would stop runs on their own, so survivors could not "
                f"continue to the budget exactly; leave early stopping out (halving is the stopping rule)."
            )
    return configs[0].epochs


def _advance(run: _Run, epochs: int) -> _Run:
    """``run`` continued to ``epochs`` in all (``state`` None if it diverged)."""
    done = run.state.epoch if run.state is not None else 0
    state = run.state
    try:
        for state in (next(run.states) for _ in range(epochs - done)):
            pass
    except TrainingDiverged:
        return _Run(run.config, run.prepared, iter(()), None)
    return _Run(run.config, run.prepared, run.states, state)


def _score(runs: Sequence[_Run], metric: str) -> float | None:
    values = [validation_metrics(r.state).get(metric) if r.state is not None else None for r in runs]
    if any(v is None or math.isnan(v) for v in values):
        return None
    return _mean_std([float(v) for v in values if v is not None])[0]


def successive_halving(
    base: dict[str, Any], grid: dict[str, list[Any]], seeds: Sequence[int] = (0,), *, min_epochs: int = 1,
    factor: int = 3, sources: dict[str, LoadedSource] | None = None, out: str | os.PathLike[str] | None = None,
    resume: bool = False, overwrite: bool = False, on_rung: Callable[[Rung], Any] | None = None,
) -> HalvingResult:
    """Successive halving over every combination of ``grid`` (and ``seeds``) on ``base``: rungs from
    ``min_epochs``, ``factor`` times longer each, up to the base's ``epochs``; the best ``1/factor`` (at least
    one) of the configurations on a rung go on. ``sources`` maps data names to loaded sources (loaded here if
    missing). ``out``, ``resume`` and ``overwrite`` are a sweep's folder and its choices (see the module
    docstring); ``on_rung(rung)`` is told of each finished rung. Returns a :class:`HalvingResult`.

    >>> result = successive_halving({"data": "iris", "hidden": [4], "epochs": 3}, {"lr": [0.5, 0.05]}, [0], min_epochs=1)
    >>> [rung.epochs for rung in result.rungs], result.records[0]["epochs_run"]
    ([1, 3], 3)
    """
    configs = expand_grid(base, grid, list(seeds))
    rungs = rung_epochs(_check(configs, grid), min_epochs, factor)
    with locked_sweep_folder(out, resume=resume, overwrite=overwrite) as folder:
        return _halving(configs, grid, rungs, factor, sources, folder, resume, overwrite, on_rung)


def _halving(configs: list[RunConfig], grid: dict[str, list[Any]], rungs: list[int], factor: int,
             sources: dict[str, LoadedSource] | None, folder: RunFolder | None, resume: bool, overwrite: bool,
             on_rung: Callable[[Rung], Any] | None) -> HalvingResult:
    varying = [setting_name(key) or key for key in grid]
    loaded = dict(sources or {})
    for name in sorted({c.data for c in configs} - set(loaded)):
        loaded[name] = load_source(name)
    groups: dict[str, list[RunConfig]] = {}
    for config in configs:
        groups.setdefault(run_id(config.replace(seed=0)), []).append(config)
    started = time.perf_counter()
    everyone = {_key_of(own[0], varying) for own in groups.values()}
    seeds = sorted({config.seed for config in configs})
    done = _finished_rungs(folder, rungs, everyone, seeds) if (folder is not None and resume) else []
    alive = [key for key in groups if _key_of(groups[key][0], varying) in done[-1][1]] if done else list(groups)
    finished = [rung for rung, _ in done]
    runs: dict[str, _Run] = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for epochs in rungs[len(finished):]:
            for key in alive:
                for config in groups[key]:
                    if run_id(config) not in runs:
                        runs[run_id(config)] = _start(config, loaded[config.data], folder if resume else None, epochs)
                    before = runs[run_id(config)].state
                    runs[run_id(config)] = _advance(runs[run_id(config)], epochs)
                    after = runs[run_id(config)].state
                    if folder is not None and after is not None and after is not before:
                        _save(folder, runs[run_id(config)], {})
            members = {key: [runs[run_id(c)] for c in groups[key]] for key in alive}
            metric = _metric(members)
            scores = {key: _score(own, metric) for key, own in members.items()}
            higher = metric != "loss"
            ranked = sorted(alive, key=lambda k: (scores[k] is None, -(scores[k] or 0.0) if higher else (scores[k] or 0.0)))
            keep = 1 if epochs == rungs[-1] else max(1, len(ranked) // factor)
            finished.append(Rung(epochs, tuple({"config": _varying(groups[k][0], varying), "score": scores[k]} for k in ranked), keep))
            for key in ranked[keep:]:
                for config in groups[key]:
                    runs.pop(run_id(config), None)  # a configuration that stops frees its runs
            alive = ranked[:keep]
            if folder is not None:
                folder.write(_RUNGS, json.dumps({"seeds": seeds, "rungs": [_rung_dict(r) for r in finished]}, indent=1).encode())
            if on_rung is not None:
                on_rung(finished[-1])
        chosen = [runs.get(run_id(c)) or _start(c, loaded[c.data], folder, rungs[-1]) for c in groups[alive[0]]]
        if any(r.state is None for r in chosen):
            raise FnnInputError("successive_halving: every configuration diverged; lower the learning rates of the grid.")
        records = tuple(_record(r, time.perf_counter() - started) for r in chosen)
    metric = _metric({alive[0]: chosen})
    pooled: dict[str, Any] = {"config": _varying(chosen[0].config, varying), "seeds": [r.config.seed for r in chosen]}
    for name in ("accuracy", "r2", "loss"):
        values = [r["final_metrics"][name] for r in records if name in r["final_metrics"]]
        if values:
            pooled.update(spread(name, values))
    trained = sum(len(rung.ranked) * len(chosen) * (rung.epochs - previous) for rung, previous in zip(finished, [0, *rungs]))
    result = HalvingResult(tuple(finished), pooled["config"], records, pooled, f"val_{metric}", trained, len(configs) * rungs[-1])
    if folder is not None:
        for run, record in zip(chosen, records):
            _save(folder, run, record)
        summary = {"engine": "sequential (halving)", "ranked_on": result.ranked_on, "rungs": [_rung_dict(r) for r in finished],
                   "chosen": pooled, "epochs_trained": trained, "epochs_full_grid": result.epochs_full_grid}
        folder.write(_SUMMARY, json.dumps(summary, indent=1).encode())
        if overwrite:  # only now that the new sweep is whole: the replaced sweep's other runs go
            kept = {run_id(c) for c in configs} | {f"{run_id(c)}.json" for c in configs}
            for name in folder.listdir(_RUNS):
                if name not in kept:
                    folder.remove(f"{_RUNS}/{name}")
    return result


_RUNS, _RUNGS, _SUMMARY = "runs", "rungs.json", "summary.json"


def _rung_dict(rung: Rung) -> dict[str, Any]:
    return {"epochs": rung.epochs, "ranked": list(rung.ranked), "promoted": rung.promoted}


def _key_of(config: RunConfig, varying: Sequence[str]) -> str:
    return json.dumps(_varying(config, varying), sort_keys=True)


def _finished_rungs(folder: RunFolder, rungs: list[int], everyone: set[str], seeds: list[int]) -> list[tuple[Rung, set[str]]]:
    """The rungs a killed sweep finished (each with the keys of the configurations it promoted), if they are
    this sweep's rungs over this sweep's configurations (``everyone``: their keys) and seeds; else none (every rung runs
    again, each run from its own checkpoint)."""
    if not folder.exists(_RUNGS):
        return []
    try:
        saved = json.loads(folder.read_bytes(_RUNGS, what="a halving sweep's rungs"))
        done = [Rung(r["epochs"], tuple(r["ranked"]), r["promoted"]) for r in saved["rungs"]]
    except (FnnInputError, ValueError, KeyError, TypeError):
        return []
    if saved.get("seeds") != seeds or [rung.epochs for rung in done] != rungs[: len(done)] or (done and {json.dumps(row["config"], sort_keys=True) for row in done[0].ranked} != everyone):
        return []
    return [(rung, {json.dumps(row["config"], sort_keys=True) for row in rung.ranked[: rung.promoted]}) for rung in done]


def _start(config: RunConfig, source: LoadedSource, folder: RunFolder | None, upto: int) -> _Run:
    """A run of ``config`` from its initial params, or (from ``folder``) from its checkpoint at the last rung it
    reached, if not beyond ``upto`` epochs: continuing a loaded state is continuing the run (its seed is in the
    state)."""
    prepared = prepare_run(config, source=source)
    start = None
    if folder is not None and folder.exists(f"{_RUNS}/{run_id(config)}/{RECORD}"):
        try:
            start = RunFolder(folder.file(f"{_RUNS}/{run_id(config)}"), "out").load_checkpoint().state
        except FnnInputError:
            start = None  # a damaged or unbound checkpoint: the run starts again from its initial params
    if start is not None and start.epoch > upto:
        start = None  # a checkpoint beyond this rung (the sweep had other rungs): this rung ranks the run at upto
    if start is None:
        states = iterate_epochs(prepared.params, prepared.train, options=prepared.options, epochs=config.epochs, function="train")
        return _Run(config, prepared, states, None)
    states = iterate_epochs(start, prepared.train, options=evolve(prepared.options, seed=None), epochs=config.epochs - start.epoch, function="train")
    return _Run(config, prepared, states, start)


def _save(folder: RunFolder, run: _Run, record: dict[str, Any]) -> None:
    """``run``'s checkpoint and record into its run folder ``runs/<run_id>/``, replacing the previous rung's."""
    assert run.state is not None  # only a run that reached its rung is saved
    own = RunFolder(folder.folder(f"{_RUNS}/{run_id(run.config)}"), "out")
    with own.claim(overwrite=own.holds_run()):
        own.save_checkpoint(Model(run.state, run.config.to_dict()))
        own.write_record(record or {**run_record(run.config, run.state, {}, 0.0, threads=1, data=data_fingerprints(run.prepared)),
                                    "run_id": run_id(run.config)})


def _metric(members: dict[str, list[_Run]]) -> str:
    """What a rung ranks on: validation accuracy, else R^2, else loss (as a sweep's summary)."""
    states = [r.state for own in members.values() for r in own if r.state is not None]
    recorded = validation_metrics(states[0]) if states else {"loss": 0.0}
    return next(name for name in ("accuracy", "r2", "loss") if name in recorded)


def _varying(config: RunConfig, keys: Sequence[str]) -> dict[str, Any]:
    settings = config.to_dict()
    return {key: settings.get(key) for key in keys}


def _record(run: _Run, seconds: float) -> dict[str, Any]:
    state = run.state
    assert state is not None  # the caller refuses a chosen run that diverged
    record = run_record(run.config, state, test_metrics(state.params, run.prepared.test, run.prepared.targets), seconds, threads=1, data=data_fingerprints(run.prepared))
    record["run_id"] = run_id(run.config)
    return record
