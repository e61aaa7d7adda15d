"""Successive halving (``fnn.sweep(..., halving=Halving(...))``): every configuration (with each of its seeds) trains
to the first rung's epochs; the configurations are ranked on validation (the mean over their seeds of the
validation accuracy, else R^2, else loss) and the best ``1/factor`` go on to the next rung, until one configuration
reaches the budget, the configuration's ``epochs``. A survivor is not retrained: it continues its own run (in this
process from its state in memory, on Dask from its checkpoint in the sweep folder), and learning-rate schedules
are defined on the full budget, so each survivor ends with the bytes of the same configuration run alone: the same
``params_sha256``. Early stopping (``patience``) would end a run on its own and is refused by name, as is an
``epochs`` key in the grid. With ``out``, each run is a run folder ``runs/<run_id>/`` whose checkpoint and record
are replaced at each rung it reaches (its record bound to the sweep's ``ledger.json``, noted by this process as
each task's results arrive: :func:`fnn.run.stacks.sweep_record`), ``rungs.json`` holds the finished rungs and ``summary.json`` the rungs and
the chosen configuration's test metrics; a killed halving sweep resumes (``resume=True``) at rung granularity,
each run of the rung in progress continuing from its own checkpoint.

>>> Halving(min_epochs=2, factor=2).rungs(10)
[2, 4, 8, 10]
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from attrs import field, fields, frozen
from threadpoolctl import threadpool_limits

from fnn.data.sources import LoadedSource, load_source
from fnn.errors import FnnInputError, TrainingDiverged, unknown_name
from fnn.run.build import Prepared, prepare_run
from fnn.run.grid import sweep_option
from fnn.run.pool import Engine, Pool, split
from fnn.run.record import data_fingerprints, run_record, test_metrics, validation_metrics
from fnn.run.settings import RunConfig, Source, setting_name
from fnn.run.stacks import (
    Ledger,
    ledger_name,
    read_ledger,
    remove_other_runs,
    run_id,
    stack_options,
    stacks,
    sweep_entries,
    sweep_record,
    task_key,
    write_ledger,
)
from fnn.run.summary import Rung, SweepResult, mean_std, spread, summarize
from fnn.store.layout import RUNGS, SUMMARY, SWEEP_RUNS
from fnn.store.model import Model
from fnn.store.run_folder import RECORD, RunFolder
from fnn.train.stacked import fit_stacked
from fnn.train.state import TrainState


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

@frozen(hash=False)
class _Reached:
    """A run after a rung: its id, its validation metrics (None: it diverged), when the rung ran in this
    process, its state (the next rung continues it), and the SHA-256 of the record the rung wrote (None: none)."""

    run_id: str
    metrics: dict[str, Any] | None
    state: TrainState | None
    record_sha256: str | None


def check_halving(configs: Sequence[RunConfig], grid: dict[str, Any]) -> int:
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


def _checkpoint(folder: RunFolder, config: RunConfig, upto: int, ledger: dict[str, str]) -> TrainState | None:
    """The state of ``config``'s run folder in the sweep, if it has one bound to its record, the record bound to
    the sweep's ``ledger`` (its ``runs``), and not beyond ``upto`` epochs (a checkpoint beyond this rung belongs to
    a sweep of other rungs: this rung ranks at upto)."""
    own = RunFolder(folder.file(f"{SWEEP_RUNS}/{run_id(config)}"), "out")
    named = ledger.get(ledger_name(run_id(config)))
    if named is None or own.sha256(RECORD) != named:
        return None
    try:
        state = own.load_checkpoint().state
    except FnnInputError:
        return None  # a damaged or unbound checkpoint: the run starts again from its initial params
    return state if state.epoch <= upto else None


def _save(folder: RunFolder, config: RunConfig, state: TrainState, record: dict[str, Any]) -> str:
    """``state``'s checkpoint and ``record`` into the run folder ``runs/<run_id>/``, replacing the previous rung's;
    returns the SHA-256 of the record written (the main process notes it in the sweep's ledger)."""
    own = RunFolder(folder.folder(f"{SWEEP_RUNS}/{run_id(config)}"), "out")
    with own.claim(overwrite=own.holds_run(), sweep_run=True):
        own.save_checkpoint(Model(state, config.to_dict()))
        own.write_record(record)
    return cast(str, own.sha256(RECORD))


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
                                 stack_options(chosen, begun, patience=False), epochs=upto - epoch)
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


def _rung_record(config: RunConfig, prepared: Prepared, state: TrainState, upto: int) -> dict[str, Any]:
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
        return state, _rung_record(prepared.config, prepared, state, upto)


def _rung_stack(configs: Sequence[RunConfig], source: LoadedSource, out: str | None, upto: int,
                starts: Sequence[TrainState | None] | None, ledger: dict[str, str], keep: bool) -> list[_Reached]:
    """One rung of a stack of runs (a task): each from ``starts`` (None: from its checkpoint in ``out`` if its
    record is the one the sweep's ``ledger`` names, else its initial params) to ``upto`` epochs, its checkpoint and
    record saved into ``out``; the states are returned only if ``keep`` (in this process; on Dask the next rung
    reads the checkpoints)."""
    folder = None if out is None else RunFolder(out, "out")
    with threadpool_limits(limits=1, user_api="blas"):
        prepared = [prepare_run(config, source=source) for config in configs]
        given = list(starts) if starts is not None else [None] * len(configs)
        begun = [_checkpoint(folder, config, upto, ledger) if start is None and folder is not None else start
                 for config, start in zip(configs, given)]
        reached = _continued(prepared, begun, upto)
        saved = [_save(folder, config, state, _rung_record(config, own, state, upto))
                 if folder is not None and state is not None and state is not start else None
                 for config, own, start, state in zip(configs, prepared, begun, reached)]
    return [_Reached(run_id(c), validation_metrics(s) if s is not None else None, s if keep else None, sha)
            for c, s, sha in zip(configs, reached, saved)]


def run_halving(configs: list[RunConfig], grid: dict[str, list[Any]], rungs: list[int], factor: int, folder: RunFolder | None,
             engine: Engine, resume: bool, overwrite: bool, on_rung: Callable[[Rung], Any] | None, stack: bool) -> SweepResult:
    varying = [setting_name(key) or key for key in grid]
    groups: dict[str, list[RunConfig]] = {}
    for config in configs:
        groups.setdefault(run_id(config.replace(seed=0)), []).append(config)
    started = time.perf_counter()
    everyone = {_key_of(own[0], varying) for own in groups.values()}
    seeds = sorted({config.seed for config in configs})
    done = _finished_rungs(folder, rungs, everyone, seeds) if (folder is not None and resume) else []
    ledger = _bound_runs(folder, resume) if folder is not None else {}
    alive = [key for key in groups if _key_of(groups[key][0], varying) in done[-1][1]] if done else list(groups)
    finished = [rung for rung, _ in done]
    reached: dict[str, _Reached] = {}
    sources = {name: load_source(name) for name in sorted({c.data for c in configs})}
    with engine.pool() as pool:
        shared = pool.share(sources)
        by_key = {_key_of(own[0], varying): own for own in groups.values()}
        deleted = [(rung.epochs, c) for rung, _ in done for row in rung.ranked[rung.promoted:]
                   for c in by_key.get(json.dumps(row["config"], sort_keys=True), []) if ledger_name(run_id(c)) not in ledger]
        for epochs in sorted({e for e, _ in deleted}):  # a stopped run's folder removed since: trained again to its rung
            _train_rung(pool, shared, folder, [c for e, c in deleted if e == epochs], epochs, {}, ledger, stack)
        for epochs in rungs[len(finished):]:
            todo = [config for key in alive for config in groups[key]
                    if run_id(config) not in reached or reached[run_id(config)].metrics is not None]  # a diverged run stays so
            reached.update((one.run_id, one) for one in _train_rung(pool, shared, folder, todo, epochs, reached, ledger, stack))
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
                  else (_checkpoint(folder, c, rungs[-1], ledger) if folder is not None else None) for c in chosen]
        lost = [i for i, c in enumerate(chosen) if states[i] is None and run_id(c) not in reached]  # deleted since: run again
        for i, state in zip(lost, _continued([prepare_run(chosen[i], source=sources[chosen[i].data]) for i in lost], [None] * len(lost), rungs[-1])):
            states[i] = state
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
        training = {ledger_name(run_id(c)) for c in chosen}
        write_ledger(folder, Ledger(ledger, frozenset(training)))
        for config, state, record in zip(chosen, states, records):
            sha = _save(folder, config, cast(TrainState, state), record)
            _note(folder, ledger, training, [_Reached(run_id(config), None, None, sha)])
        summary = {"engine": label, "stacked": stack, "ranked_on": ranked_on, "rungs": [_rung_dict(r) for r in finished],
                   "chosen": pooled, "epochs_trained": trained, "epochs_full_grid": result.epochs_full_grid}
        folder.write(SUMMARY, json.dumps(summary, indent=1).encode())
        if overwrite:  # only now that the new sweep is whole: the replaced sweep's other runs go
            remove_other_runs(folder, configs, halving=True)
    return result




def _train_rung(pool: Pool, shared: dict[str, Any], folder: RunFolder | None, todo: list[RunConfig], epochs: int,
                reached: dict[str, _Reached], ledger: dict[str, str], stack: bool) -> list[_Reached]:
    """The runs ``todo`` trained to the rung of ``epochs`` on ``pool`` (each from its state in ``reached``, else
    its checkpoint bound to ``ledger``, else its initial params), each task's records noted in ``ledger`` as its
    results arrive (:func:`_note`)."""
    local = pool.client is None
    parts = stacks(todo, stack) if local else split(stacks(todo, stack), pool.slots)
    training = {ledger_name(run_id(c)) for c in todo}
    if folder is not None:
        write_ledger(folder, Ledger(ledger, frozenset(training)))
    calls = [(part, shared[part[0].data], None if folder is None else folder.path, epochs,
              [reached[run_id(c)].state if run_id(c) in reached else None for c in part], dict(ledger), local) for part in parts]
    arrived: list[_Reached] = []
    for outcomes in pool.map(_rung_stack, calls, [task_key("rung", part) for part in parts]):
        arrived += outcomes
        if folder is not None:
            _note(folder, ledger, training, outcomes)
    return arrived


def _bound_runs(folder: RunFolder, resume: bool) -> dict[str, str]:
    """The ledger's runs a halving sweep starts from, noted anew in ``folder``: none unless it ``resume``s (an
    overwrite's replaced sweep binds nothing); else those whose record is the one noted. A record a rung replaced
    before the sweep stopped (the ledger marks it training) loses its entry, so its run starts again; any other
    record changed since the sweep wrote it is refused, naming it (:func:`~fnn.run.stacks.sweep_record`)."""
    read = read_ledger(folder) if resume else Ledger({})
    runs = {name: read.runs[name] for name in map(ledger_name, sweep_entries(folder)) if name in read.runs}
    for name in sweep_entries(folder):
        key = ledger_name(name)
        if key in runs and not (key in read.training and RunFolder(folder.file(SWEEP_RUNS), "out").sha256(key) != runs[key]):
            sweep_record(folder, name, read)
        else:
            runs.pop(key, None)
    write_ledger(folder, Ledger(runs))
    return runs


def _note(folder: RunFolder, ledger: dict[str, str], training: set[str], outcomes: Sequence[_Reached]) -> None:
    """The records a task wrote (``outcomes``) noted in ``ledger`` and, no longer training, in ``folder``'s
    ``ledger.json``, by the main process once the task's results arrived: from now on resume trusts them."""
    for one in outcomes:
        key = ledger_name(one.run_id)
        training.discard(key)
        if one.record_sha256 is not None:
            ledger[key] = one.record_sha256
    write_ledger(folder, Ledger(ledger, frozenset(training)))


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
        scores[name] = None if any(v is None or math.isnan(v) for v in values) else mean_std([float(v) for v in values if v is not None])[0]
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

