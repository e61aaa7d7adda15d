"""``fnn sweep``: every combination of a grid of settings and seeds, on Dask when it is installed.

Configurations are ranked on their validation metrics; the test metrics are shown for the chosen one only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import time
import warnings
from concurrent.futures import CancelledError
from typing import Any

from fnn.cli.common import Interrupted, add_command, add_setting_flags, given_settings, load_toml
from fnn.errors import FnnInputError
from fnn.run.grid import Grid, grid_option, read_grid, read_seeds, sweep_option
from fnn.run.halving import Halving
from fnn.run.pool import check_scheduler
from fnn.run.settings import FLAG, RunConfig, Source, setting_name, toml_source
from fnn.run.summary import Rung, SweepResult
from fnn.run.sweep import check_sweep_folder, expand_grid, sweep


def add_arguments(commands: Any) -> None:
    sweep_cmd = add_command(
        commands,
        "sweep",
        "run every combination of a grid of settings and seeds, on Dask when installed",
        "examples:\n"
        "  fnn sweep --grid 'lr=[0.1,0.05]' --grid 'hidden=[[32],[64]]' --seeds 0,1,2 --epochs 10 --out runs/sweep\n"
        "  fnn sweep --data iris --lr 0.05 --grid hidden=6,8 --grid optimizer=sgd,adam   # any fnn train flag is a base setting\n"
        "  fnn sweep --config sweep.toml --out runs/sweep --resume     # TOML: base keys, plus a [grid] table (seeds = [...])\n"
        "  fnn sweep --config sweep.toml --scheduler tcp://10.0.0.5:8786   # an existing Dask cluster\n"
        "  fnn sweep --data iris --epochs 27 --grid lr=0.3,0.1,0.03 --halving --min-epochs 1 --factor 3 --out runs/halving\n"
        "Configurations are ranked on validation metrics (every run holds out --validation, 0.1 by default); the test\n"
        "metrics are reported for the chosen configuration only. Every run uses one BLAS thread, so its parameters are\n"
        "bit-identical to the same configuration run alone with --threads 1. With --halving, every configuration\n"
        "trains --min-epochs epochs, the best 1/--factor go on, --factor times longer each rung, up to --epochs; a\n"
        "survivor continues its own run (its checkpoint), so it ends with the bytes of the configuration run alone.",
    )
    sweep_cmd.add_argument("--config", metavar="TOML", help="base configuration: fnn train's keys, out (the sweep's folder) and seeds, with an optional [grid] table (seeds may go there instead)")
    sweep_cmd.add_argument("--grid", action="append", default=[], metavar="KEY=VALUES",
                           help="a setting (any fnn train flag's name) and its values, each its flag's text: comma-separated "
                                "(lr=0.1,0.05; hidden=6,8: two one-layer networks) or a list, as in TOML without the quotes "
                                "(optimizer=[sgd,adam], lr=[1e-3,.5]); one value with commas is a nested list or quoted "
                                "(hidden=[[32],[64,32]], schedule=[constant,\"cosine:5,0\"]); overrides the --config file's [grid] key")
    sweep_cmd.add_argument("--seeds", help="seeds of every configuration, comma-separated or a list (if not given: --seed, else the --config file's seeds, else 0)")
    groups = add_setting_flags(sweep_cmd)  # every fnn train setting, as the base of every run
    halving = sweep_cmd.add_argument_group("successive halving")
    halving.add_argument("--halving", action="store_true", help="successive halving: rungs in epochs, the best 1/FACTOR of each rung go on (on Dask as a sweep runs, survivors continuing from their checkpoints in --out)")
    halving.add_argument("--min-epochs", dest="min_epochs", metavar="MIN_EPOCHS", help="with --halving: the first rung's epochs (default: 1)")
    halving.add_argument("--factor", metavar="FACTOR", help="with --halving: how many times longer each rung is, and how many fewer go on (default: 3)")
    engine = sweep_cmd.add_argument_group("engine")
    engine.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT (if not given: $DASK_SCHEDULER_ADDRESS, else a local cluster)")
    engine.add_argument("--workers", help="local cluster size (if not given: one per core)")
    engine.add_argument("--sequential", action="store_true", help="run in this process, one after another")
    engine.add_argument("--no-stack", dest="no_stack", action="store_true",
                        help="train every run alone (else the runs that differ only in seed, lr, momentum or weight decay "
                             "train as one stacked computation, each with its solo run's bytes)")
    groups["output"].add_argument("--out", metavar="DIR", help="folder for one record per run (with --halving: one run folder per run) and summary.json (if not given: runs/sweep-DATE-TIME)")
    groups["output"].add_argument("--resume", action="store_true", help="keep the runs already in --out and run only the missing ones; unlike fnn train --resume DIR it takes no folder: the sweep's is --out DIR")
    groups["output"].add_argument("--overwrite", action="store_true", help="replace the sweep already in --out")
    groups["output"].add_argument("--quiet", action="store_true", help="no progress output")


def _toml_seeds(table: dict[str, Any], grid: dict[str, Any], path: str) -> tuple[int, ...] | None:
    """The seeds a sweep's TOML file gives (taken out of ``table`` or ``grid``): ``seeds`` at its top level or in its
    ``[grid]``, or one ``seed``; None if it gives none."""
    found = [(name, values, source) for name, values, source in (
        ("seeds", table, toml_source(path)), ("seeds", grid, Source("grid", path)), ("seed", table, toml_source(path)))
        if name in values]
    if len(found) > 1:
        raise FnnInputError(f"--config {path}: gives seeds twice ({' and '.join(source.label(name) for name, _, source in found)}); "
                            f"keep one: seeds = [0, 1, 2] at the top level or in [grid].")
    if not found:
        return None
    name, values, source = found[0]
    return read_seeds(values.pop(name), source, name)


def _sweep_inputs(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, list[Any]], tuple[int, ...], list[RunConfig]]:
    """``(base, grid, seeds, configs)``: every value checked where it was given, each mistake named there."""
    table = dict(load_toml(args.config)) if args.config is not None else {}
    table.pop("out", None)  # the sweep's folder: see _out
    toml_grid = table.pop("grid", {})
    if not isinstance(toml_grid, dict):
        raise FnnInputError(f"--config {args.config}: its [grid] must be a table of key = [values]; got {toml_grid!r}.")
    toml_grid = dict(toml_grid)
    seeds = _toml_seeds(table, toml_grid, str(args.config)) if args.config is not None else None
    grid = read_grid(toml_grid, Source("grid", str(args.config)))
    given: list[str] = []
    for item in args.grid:  # --grid overrides the file's [grid], key by key
        axis = grid_option(item)
        if axis.name in given:
            raise FnnInputError(f"--grid {axis.name} is given twice; give its values once, e.g. {axis.name}=a,b.")
        given.append(axis.name)
        grid = grid.updated(Grid((axis,)))
    flags = given_settings(args)
    if args.seeds is not None and "seed" in flags:
        raise FnnInputError("--seed and --seeds both name the seeds; give --seeds 0,1,2 (or one --seed).")
    if args.seeds is not None:
        seeds = read_seeds(args.seeds, FLAG)
    elif "seed" in flags:
        seeds = read_seeds(flags.pop("seed"), FLAG, "seed")
    seeds = (0,) if seeds is None else seeds
    beneath = [(table, toml_source(args.config))] if args.config is not None else []
    configs = expand_grid(flags, grid, seeds, base_source=FLAG, beneath=beneath)
    return {**table, **flags}, grid.as_dict(), seeds, configs


def _engine_options(args: argparse.Namespace) -> tuple[str | None, int | None]:
    if args.scheduler is not None and args.sequential:
        raise FnnInputError("--scheduler runs on a Dask cluster and --sequential in this process; give one of them.")
    workers = None
    if args.workers is not None:
        if args.scheduler is not None or args.sequential:
            raise FnnInputError("--workers sizes the local cluster; it cannot go with --scheduler or --sequential.")
        workers = sweep_option("workers", args.workers, FLAG)
    address = args.scheduler
    if address is None and not args.sequential and os.environ.get("DASK_SCHEDULER_ADDRESS"):
        address = os.environ["DASK_SCHEDULER_ADDRESS"]
        check_scheduler(address, argument="$DASK_SCHEDULER_ADDRESS")
    elif address is not None:
        check_scheduler(address, argument="--scheduler")
    return address, workers


def _out(args: argparse.Namespace) -> str:
    given = args.out
    if given is None and args.config is not None:
        given = load_toml(args.config).get("out")
        if given is not None and (not isinstance(given, str) or not given.strip()):
            raise FnnInputError(f"The key 'out' in {args.config} must be a folder name; got {given!r}.")
    if (args.resume or args.overwrite) and not given and not (args.resume and args.overwrite):
        raise FnnInputError(f"{'--resume' if args.resume else '--overwrite'} needs --out DIR, the folder of the sweep.")
    out = given or os.path.join("runs", time.strftime("sweep-%Y%m%d-%H%M%S"))
    return check_sweep_folder(out, resume=args.resume, overwrite=args.overwrite, argument="--out",
                              resume_hint="--resume", overwrite_hint="--overwrite")


def _halving_options(args: argparse.Namespace) -> Halving | None:
    """The :class:`~fnn.run.halving.Halving` of --halving (None without it), each flag checked where it was given."""
    if not args.halving:
        for flag, value in (("--min-epochs", args.min_epochs), ("--factor", args.factor)):
            if value is not None:
                raise FnnInputError(f"{flag} sets a rung of successive halving; it needs --halving.")
        return None
    given = (("min_epochs", args.min_epochs), ("factor", args.factor))
    return Halving(**{name: sweep_option(name, text, FLAG) for name, text in given if text is not None})


def _resume_command(args: argparse.Namespace, out: str) -> str:
    """The command as typed, with --out OUT and --resume (not --overwrite): it runs only the missing runs."""
    words, skip = [], False
    for word in getattr(args, "argv", ["sweep"]):
        if skip or word in ("--overwrite", "--resume", "--out") or word.startswith("--out="):
            skip = word == "--out"
            continue
        words.append(word)
    return shlex.join(["fnn", *words, "--out", out, "--resume"])


def _cell(value: Any, width: int) -> str:
    return f"{json.dumps(value):>{width}}"


def run(args: argparse.Namespace) -> int:
    base, grid, seeds, configs = _sweep_inputs(args)
    halving = _halving_options(args)
    if halving is not None:
        if any(setting_name(key) == "epochs" for key in grid):
            raise FnnInputError("--halving shares out --epochs (the full budget) over its rungs; leave 'epochs' out of --grid.")
        if base.get("patience"):
            raise FnnInputError(f"--halving is the stopping rule; leave out --patience (got {base['patience']}): early stopping "
                                "would end runs on their own, so survivors could not continue to --epochs exactly.")
    address, workers = _engine_options(args)
    out = _out(args)
    total = len(configs)
    bar = None
    if not args.quiet:
        print(f"fnn sweep{' --halving' if halving else ''}: {total} runs -> {out}", file=sys.stderr)
        if halving is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="runs", unit="run", file=sys.stderr, disable=not sys.stderr.isatty())

    def on_result(record: dict[str, Any], done: int, count: int) -> None:
        if bar is not None:
            bar.n = done
            bar.refresh()

    def on_rung(rung: Rung) -> None:
        if not args.quiet:
            print(f"rung {rung.epochs} epochs: {len(rung.ranked)} configurations, {rung.promoted} go on", file=sys.stderr)

    started = time.perf_counter()
    disabled = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # Dask's reconnection tracebacks: a lost scheduler is reported below, once
    # Ctrl-C: this command's one line, not the cluster's shutdown log or the workers' tracebacks
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PRELOAD", '["fnn.cli.quiet_worker"]')
    kept = "the finished rungs and each run's checkpoint are" if halving else "the finished runs are"
    try:
        with warnings.catch_warnings():  # a busy dashboard port is Dask's business: it takes another by itself
            warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
            result = sweep(base, grid, seeds, scheduler=address, out=out, resume=args.resume, overwrite=args.overwrite,
                           workers=workers, engine="sequential" if args.sequential else "auto", on_result=on_result,
                           configs=configs, stack=not args.no_stack, halving=halving, on_rung=on_rung)
    except KeyboardInterrupt:
        raise Interrupted(f"{kept} kept in {out}; continue with: {_resume_command(args, out)}") from None
    except (OSError, TimeoutError, CancelledError) as error:  # Dask's lost connections and cancelled futures
        if isinstance(error, OSError) and error.filename is not None:
            raise  # a file of the sweep's: reported with its name
        where = f"the Dask scheduler at {address}" if address else "the local Dask cluster"
        raise FnnInputError(
            f"{where} was lost mid-sweep ({type(error).__name__}); {kept} kept in {out}. Finish the rest with: "
            f"{_resume_command(args, out)}"
        ) from None
    finally:
        logging.disable(disabled)
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - started
    if halving is not None:
        _print_halving(result, [setting_name(key) or key for key in grid], seconds)
    else:
        _print_grid(result, [setting_name(key) or key for key in grid], seconds)
    _print_chosen(result.chosen_test)
    print(f"{'runs' if halving else 'records'}: {os.path.join(out, 'runs')}  summary: {os.path.join(out, 'summary.json')}")
    return 0


def _print_grid(result: SweepResult, keys: list[str], seconds: float) -> None:
    """A grid sweep's engine line and its summary table, best validation first."""
    stacked = sum(1 for record in result.records if record.get("stacked", 1) > 1)
    print(f"engine: {result.engine}; {len(result.records) - result.skipped} runs in {seconds:.1f} s"
          + (f", {result.skipped} kept from before" if result.skipped else "")
          + (f"; {stacked} trained in stacks (each with its solo run's bytes)" if stacked else ""))
    classifier = "val_accuracy_mean" in result.summary[0]
    metric = "val_accuracy" if classifier else ("val_r2" if "val_r2_mean" in result.summary[0] else None)
    title = {"val_accuracy": "val accuracy (mean +- std)", "val_r2": "val R^2 (mean +- std)"}.get(metric or "")
    header = [f"{k:>14}" for k in keys] + [f"{'runs':>4}"] + ([f"{title:>28}"] if title else []) + [f"{'val loss':>18}"]
    print("ranked on validation, best first")
    print("  ".join(header))
    for row in result.summary:
        cells = [_cell(row["config"][k], 14) for k in keys] + [f"{row['runs']:>4}"]
        if metric:
            cells.append(f"{row[metric + '_mean']:.4f} +- {row[metric + '_std']:.4f}".rjust(28))
        cells.append(f"{row['val_loss_mean']:.4f} +- {row['val_loss_std']:.4f}")
        print("  ".join(cells))


def _print_halving(result: SweepResult, keys: list[str], seconds: float) -> None:
    """A halving sweep's rungs, each with its best configuration."""
    print(f"successive halving on {result.engine}: {len(result.rungs)} rungs in {seconds:.1f} s; "
          f"{result.epochs_trained} of the full grid's {result.epochs_full_grid} epochs; ranked on {result.ranked_on}")
    for rung in result.rungs:
        best = rung.ranked[0]
        shown = ", ".join(f"{k}={json.dumps(best['config'][k])}" for k in keys) or "the base configuration"
        print(f"rung {rung.epochs:>4} epochs: {len(rung.ranked)} ranked; best {shown} at {_score(best['score'])}; {rung.promoted} go on")


def _print_chosen(chosen: dict[str, Any]) -> None:
    """The chosen configuration and its test metrics (the only test metrics a sweep shows)."""
    shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in chosen["config"].items()) or "the base configuration"
    score = ("accuracy", "test accuracy") if "accuracy_mean" in chosen else ("r2", "test R^2")
    print(f"chosen: {shown}; on the test set (this configuration only, {len(chosen['seeds'])} seed{'s' * (len(chosen['seeds']) != 1)}): "
          f"{score[1]} {chosen[score[0] + '_mean']:.4f} +- {chosen[score[0] + '_std']:.4f}, "
          f"test loss {chosen['loss_mean']:.4f} +- {chosen['loss_std']:.4f}")


def _score(value: float | None) -> str:
    return "diverged" if value is None else f"{value:.4f}"
