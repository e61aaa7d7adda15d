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

>>> base, grid = {"data": "iris", "hidden": [8], "epochs": 4}, {"lr": [0.5, 0.1, 0.01]}
>>> result = successive_halving(base, grid, [0], min_epochs=1, factor=3)
>>> [(rung.epochs, rung.promoted) for rung in result.rungs], result.epochs_trained, result.epochs_full_grid
([(1, 1), (3, 1), (4, 1)], 6, 12)
>>> alone = fnn.run.run({**base, **result.chosen, "seed": 0, "threads": 1})
>>> alone.record["params_sha256"] == result.records[0]["params_sha256"]
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

from attrs import frozen
from threadpoolctl import threadpool_limits

from fnn.data.sources import LoadedSource, load_source
from fnn.errors import FnnInputError, TrainingDiverged
from fnn.run.build import Prepared, prepare_run
from fnn.run.record import data_fingerprints, run_record, test_metrics, validation_metrics
from fnn.run.settings import RunConfig, setting_name
from fnn.run.sweep import _mean_std, expand_grid, run_id, spread
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


def _advance(run: _Run, epochs: int) -> tuple[_Run, int]:
    """``run`` continued to ``epochs`` in all (``state`` None if it diverged) and the epochs it trained."""
    done = run.state.epoch if run.state is not None else 0
    state = run.state
    try:
        for state in (next(run.states) for _ in range(epochs - done)):
            pass
    except TrainingDiverged:
        return _Run(run.config, run.prepared, iter(()), None), epochs - done
    return _Run(run.config, run.prepared, run.states, state), epochs - done


def _score(runs: Sequence[_Run], metric: str) -> float | None:
    values = [validation_metrics(r.state).get(metric) if r.state is not None else None for r in runs]
    if any(v is None or math.isnan(v) for v in values):
        return None
    return _mean_std([float(v) for v in values if v is not None])[0]


def successive_halving(
    base: dict[str, Any], grid: dict[str, list[Any]], seeds: Sequence[int] = (0,), *, min_epochs: int = 1,
    factor: int = 3, sources: dict[str, LoadedSource] | None = None,
) -> HalvingResult:
    """Successive halving over every combination of ``grid`` (and ``seeds``) on ``base``: rungs from
    ``min_epochs``, ``factor`` times longer each, up to the base's ``epochs``; the best ``1/factor`` (at least
    one) of the configurations on a rung go on. ``sources`` maps data names to loaded sources (loaded here if
    missing). Returns a :class:`HalvingResult`.

    >>> result = successive_halving({"data": "iris", "hidden": [4], "epochs": 3}, {"lr": [0.5, 0.05]}, [0], min_epochs=1)
    >>> [rung.epochs for rung in result.rungs], result.records[0]["epochs_run"]
    ([1, 3], 3)
    """
    configs = expand_grid(base, grid, list(seeds))
    rungs = rung_epochs(_check(configs, grid), min_epochs, factor)
    varying = [setting_name(key) or key for key in grid]
    loaded = dict(sources or {})
    for name in sorted({c.data for c in configs} - set(loaded)):
        loaded[name] = load_source(name)
    groups: dict[str, list[RunConfig]] = {}
    for config in configs:
        groups.setdefault(run_id(config.replace(seed=0)), []).append(config)
    started = time.perf_counter()
    alive, runs, trained, done = list(groups), {}, 0, []
    with threadpool_limits(limits=1, user_api="blas"):
        for epochs in rungs:
            for key in alive:
                for config in groups[key]:
                    if run_id(config) not in runs:
                        prepared = prepare_run(config, source=loaded[config.data])
                        states = iterate_epochs(prepared.params, prepared.train, options=prepared.options, epochs=config.epochs, function="train")
                        runs[run_id(config)] = _Run(config, prepared, states, None)
                    runs[run_id(config)], count = _advance(runs[run_id(config)], epochs)
                    trained += count
            members = {key: [runs[run_id(c)] for c in groups[key]] for key in alive}
            metric = _metric(members)
            scores = {key: _score(own, metric) for key, own in members.items()}
            higher = metric != "loss"
            ranked = sorted(alive, key=lambda k: (scores[k] is None, -(scores[k] or 0.0) if higher else (scores[k] or 0.0)))
            keep = 1 if epochs == rungs[-1] else max(1, len(ranked) // factor)
            done.append(Rung(epochs, tuple({"config": _varying(groups[k][0], varying), "score": scores[k]} for k in ranked), keep))
            for key in ranked[keep:]:
                for config in groups[key]:
                    runs.pop(run_id(config), None)  # a configuration that stops frees its runs
            alive = ranked[:keep]
        chosen = [runs[run_id(c)] for c in groups[alive[0]]]
        if any(r.state is None for r in chosen):
            raise FnnInputError("successive_halving: every configuration diverged; lower the learning rates of the grid.")
        records = tuple(_record(r, time.perf_counter() - started) for r in chosen)
    pooled: dict[str, Any] = {"config": _varying(chosen[0].config, varying), "seeds": [r.config.seed for r in chosen]}
    for name in ("accuracy", "r2", "loss"):
        values = [r["final_metrics"][name] for r in records if name in r["final_metrics"]]
        if values:
            pooled.update(spread(name, values))
    return HalvingResult(
        tuple(done), pooled["config"], records, pooled, f"val_{metric}", trained, len(configs) * rungs[-1]
    )


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
