"""``fnn sweep``: every combination of a grid of settings and seeds, on Dask when it is installed."""

import json
import os
import sys
import time

from ..errors import FnnInputError
from ..run import resolve_config, setting_name, toml_source
from ..sweep import expand_grid, sweep
from .common import add_command, load_toml

__all__ = ["add_arguments", "run"]


def add_arguments(commands):
    sweep_cmd = add_command(
        commands,
        "sweep",
        "run every combination of a grid of settings and seeds, on Dask when installed",
        "examples:\n"
        "  fnn sweep --grid 'lr=[0.1,0.05]' --grid 'hidden=[[32],[64]]' --seeds 0,1,2 --epochs 10 --out runs/sweep\n"
        "  fnn sweep --config sweep.toml --out runs/sweep --resume     # TOML: base keys, plus a [grid] table (seeds = [...])\n"
        "  fnn sweep --config sweep.toml --scheduler tcp://10.0.0.5:8786   # an existing Dask cluster\n"
        "Runs are bit-identical to the same configuration run alone at the same BLAS thread count (workers use 1).",
    )
    sweep_cmd.add_argument("--config", metavar="TOML", help="base configuration, with an optional [grid] table")
    sweep_cmd.add_argument("--grid", action="append", default=[], metavar="KEY=JSON", help="a key and a JSON list of values")
    sweep_cmd.add_argument("--seeds", help="comma-separated seeds (default: 0)")
    sweep_cmd.add_argument("--epochs", type=int, help="epochs of every run (overrides the base)")
    sweep_cmd.add_argument("--data", help="data set of every run (overrides the base)")
    sweep_cmd.add_argument("--scheduler", help="Dask scheduler address (default: $DASK_SCHEDULER_ADDRESS, else a local cluster)")
    sweep_cmd.add_argument("--workers", type=int, help="local cluster size (default: one per core)")
    sweep_cmd.add_argument("--sequential", action="store_true", help="run in this process, one after another")
    sweep_cmd.add_argument("--out", metavar="DIR", help="folder for one record per run and summary.json (default: runs/sweep-DATE-TIME)")
    sweep_cmd.add_argument("--resume", action="store_true", help="keep the runs already in --out and run only the missing ones")
    sweep_cmd.add_argument("--quiet", action="store_true", help="no progress output")


def _sweep_inputs(args):
    base = load_toml(args.config) if args.config else {}
    grid = base.pop("grid", {})
    if args.config:
        resolve_config((base, toml_source(args.config)))  # its mistakes named as keys of that file
    if not isinstance(grid, dict):
        raise FnnInputError(f"The [grid] of {args.config} must be a table of key = [values].")
    seeds = grid.pop("seeds", [0])
    for item in args.grid:
        key, separator, text = item.partition("=")
        if not separator:
            raise FnnInputError(f"--grid takes KEY=JSON_LIST, e.g. 'lr=[0.1,0.05]'; got {item!r}.")
        try:
            grid[key.strip()] = json.loads(text)
        except json.JSONDecodeError as error:
            raise FnnInputError(f"--grid {key.strip()}: {text!r} is not a JSON list ({error}).") from None
    if args.seeds:
        try:
            seeds = [int(part) for part in args.seeds.split(",")]
        except ValueError:
            raise FnnInputError(f"--seeds takes comma-separated ints; got {args.seeds!r}.") from None
    for key in ("epochs", "data"):
        if getattr(args, key) is not None:
            base[key] = getattr(args, key)
    return base, grid, seeds


def run(args):
    base, grid, seeds = _sweep_inputs(args)
    total = len(expand_grid(base, grid, seeds))  # validates everything before any run
    out = args.out or os.path.join("runs", time.strftime("sweep-%Y%m%d-%H%M%S"))
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="runs", unit="run", file=sys.stderr, disable=not sys.stderr.isatty())
        print(f"fnn sweep: {total} runs -> {out}", file=sys.stderr)

    def on_result(record, done, count):
        if bar is not None:
            bar.n = done
            bar.refresh()

    started = time.perf_counter()
    try:
        result = sweep(base, grid, seeds, scheduler=args.scheduler, out=out, resume=args.resume, workers=args.workers,
                       engine="sequential" if args.sequential else "auto", on_result=on_result)
    finally:
        if bar is not None:
            bar.close()
    print(f"engine: {result.engine}; {len(result.records) - result.skipped} runs in {time.perf_counter() - started:.1f} s"
          + (f", {result.skipped} kept from before" if result.skipped else ""))
    keys = [setting_name(key) or key for key in grid]
    header = "  ".join([f"{k:>14}" for k in keys] + [f"{'runs':>4}", f"{'accuracy/R^2 (mean +- std)':>28}", f"{'loss':>18}"])
    print(header)
    for row in result.summary:
        score = ("accuracy", row.get("accuracy_mean")) if "accuracy_mean" in row else ("r2", row.get("r2_mean"))
        cells = [f"{json.dumps(row['config'][k]):>14}" for k in keys]
        metric = f"{score[1]:.4f} +- {row[score[0] + '_std']:.4f}" if score[1] is not None else "-"
        cells += [f"{row['runs']:>4}", f"{metric:>28}", f"{row['loss_mean']:.4f} +- {row['loss_std']:.4f}"]
        print("  ".join(cells))
    print(f"records: {os.path.join(out, 'runs')}  summary: {os.path.join(out, 'summary.json')}")
    return 0
