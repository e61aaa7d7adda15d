"""``fnn train``: train a network, checkpoint it every epoch, write its record; resume a run.

What it prints, wherever it runs: on a terminal a tqdm bar with a line per finished epoch above it; anywhere else
(a pipe, a CI log, ``!fnn train`` in a notebook) one plain line per epoch; ``--json`` one JSON object per epoch on
stdout and a last one with the test metrics and the run folder; ``--quiet`` only the run folder.
"""

import argparse
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from attrs import evolve

from fnn.cli.common import Commands, Interrupted, add_command, add_setting_flags, given_settings, load_toml
from fnn.cli.watch import RunWatch
from fnn.errors import FnnInputError, TrainingDiverged
from fnn.observe.plots import require_matplotlib
from fnn.observe.run_plots import write_plots
from fnn.observe.tensorboard import require_tensorboardx
from fnn.run.build import Prepared, prepare_run
from fnn.run.engine import Finished, run_prepared, run_threads
from fnn.run.provenance import check_source
from fnn.run.settings import FLAG, SETTINGS, config_from_record, resolve_config, toml_source
from fnn.store.model import Model, in_target_units, load_model
from fnn.store.run_folder import CHECKPOINT, RECORD, RunFolder, RunLock
from fnn.train.state import EpochRecord, TrainState
from fnn.version import __version__

# RunConfig, made by attrs.make_class from the table of settings, is a value mypy cannot use as a type.
_Config = Any

_SETTING_FLAGS = {setting.name: setting.flag for setting in SETTINGS}
_RESUME_MAY_CHANGE = ("epochs", "threads")

_TRAIN_EXAMPLES = """examples:
  fnn train                                     # bundled 8x8 digits, [64, 64, 10] ReLU net, a few seconds
  fnn train --data iris --hidden 6 --epochs 200 --lr 0.05 --batch-size 16
  fnn train --data moons --hidden 25,50,50,25 --optimizer adam --lr 0.005 --epochs 100 --plots
  fnn train --data fashion-mnist --hidden 256,128,64 --optimizer adam --lr 0.001 --batch-size 128 --epochs 10
  fnn train --config experiment.toml --seed 3   # a TOML file of the same keys; flags override it
  fnn train --optimizer adam --lr 0.01 --schedule linear_warmup:2+cosine   # warm up 2 epochs, then cosine
  fnn train --out runs/a --epochs 5 && fnn train --resume runs/a --epochs 10   # 5 more, up to 10 in all
  fnn train --out runs/a --overwrite            # replace the run in runs/a
  fnn train --json --quiet | jq .val_accuracy   # one JSON object per epoch for other programs
  fnn train --diagnostics --tensorboard --keep-checkpoints --out runs/a   # see inside; fnn verify/diff/replay runs/a

output: on a terminal a progress bar; elsewhere (a pipe, a log, a notebook) one line per epoch with the train
and validation metrics and the epoch's time; --json: JSON lines instead; --quiet: only the run folder.
epochs: --epochs is the number of epochs in all, also with --resume (a run at epoch 5 resumed with --epochs 10
trains 5 more); in Python, fnn.fit(state, epochs=k) trains k more.
threads: --threads sets the BLAS threads (if not given: $OPENBLAS_NUM_THREADS, $OMP_NUM_THREADS or $MKL_NUM_THREADS,
else this machine's cores); the same seed and thread count give the same bytes, another count sums floats in
another order and changes the last bits.
the Python API: fnn.fit takes the same settings by the same names and checks them alike; it holds out no
validation part unless given one and trains on the data as given (no standardising), and fnn.network's
initialiser is glorot_uniform where a run's is he_uniform.
"""


def add_arguments(commands: Commands) -> None:
    train = add_command(commands, "train", "train a network, checkpoint it every epoch and write its record", _TRAIN_EXAMPLES)
    train.add_argument("--config", metavar="TOML", help="experiment file whose keys are these flags' names (batch_size or batch-size; out too)")
    output = add_setting_flags(train)["output"]  # every setting's flag comes from the table of run settings
    output.add_argument("--out", metavar="DIR", help="run folder (if not given: a new runs/DATE-TIME-DATA); an existing run is refused unless --overwrite")
    output.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    output.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint, up to --epochs in all (only --epochs and --threads may change)")
    output.add_argument("--no-record", action="store_true", help="write nothing to disk")
    output.add_argument("--plots", action="store_true", help="also draw PNG plots into the run folder (needs matplotlib: pip install 'fnn[plots]')")
    output.add_argument("--quiet", action="store_true", help="print only the run folder")
    output.add_argument("--json", action="store_true", help="print one JSON object per epoch on stdout, then one with the test metrics (final_metrics, as in record.json) and the run folder")


# -- what it prints ----------------------------------------------------------------------------------------------


def _format_epoch(record: EpochRecord, epochs: int, seconds: float) -> str:
    """One epoch as a plain line: train metrics labelled as train, validation ones as val, and the epoch's time."""
    parts = [f"epoch {record.epoch:>3}/{epochs}", f"train loss {record.loss:.4f}"]
    for name, label in (("accuracy", "train accuracy"), ("r2", "train R^2"), ("val_loss", "val loss"),
                        ("val_accuracy", "val accuracy"), ("val_r2", "val R^2")):
        value = getattr(record, name)
        if value is not None:
            parts.append(f"{label} {value:.4f}")
    for name, value in record.metrics.items():  # the run's chosen metrics: val_f1_macro as "val f1_macro"
        if value is not None:
            parts.append(f"{'val ' + name[4:] if name.startswith('val_') else 'train ' + name} {value:.4f}")
    if record.weighted:
        parts.append("(weighted)")
    parts.append(f"{seconds:.2f} s")
    return "  ".join(parts)


class _Progress:
    """Where progress goes. Human lines go to stdout (to stderr with --json, whose stdout is JSON only); on a
    terminal a tqdm bar over epochs (and one over batches for long epochs) with a line per finished epoch above
    it, elsewhere one plain line per epoch. --quiet silences the human lines."""

    def __init__(self, args: argparse.Namespace, epochs: int, steps_per_epoch: int, start_epoch: int) -> None:
        self.quiet, self.json, self.epochs = args.quiet, args.json, epochs
        self.stream = sys.stderr if args.json else sys.stdout
        self.per_epoch = not self.quiet and not self.json
        self.bar: Any = None
        self.batch_bar: Any = None
        if not self.quiet and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, initial=start_epoch, desc="epochs", unit="epoch", file=self.stream, leave=True)
            if steps_per_epoch >= 500:  # long epochs get a bar of their own
                self.batch_bar = tqdm(total=steps_per_epoch, desc="batches", unit="batch", file=self.stream, leave=False)
        self.epoch_started = time.perf_counter()

    def say(self, text: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def on_batch(self, index: int) -> None:
        if self.batch_bar is not None:
            if index == 0:
                self.batch_bar.reset()
            self.batch_bar.update()

    def on_epoch(self, state: TrainState) -> None:
        now = time.perf_counter()
        seconds, self.epoch_started = now - self.epoch_started, now
        record = state.history[-1]
        if self.json:
            print(json.dumps({**record.to_dict(), "seconds": round(seconds, 4)}), flush=True)
        if self.bar is not None:
            self.bar.update()
            shown = ("loss", "accuracy", "val_accuracy", "val_r2")
            chosen = {k: v for k, v in record.metrics.items() if k.startswith("val_")}
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in {**record.to_dict(), **chosen}.items() if (k in shown or k in chosen) and v is not None})
        if self.per_epoch or (self.bar is not None and not self.quiet):
            self.say(_format_epoch(record, self.epochs, seconds))

    def close(self) -> None:
        for bar in (self.batch_bar, self.bar):
            if bar is not None:
                bar.close()


# -- configuration and run folder ----------------------------------------------------------------------------------


def _labeller(args: argparse.Namespace, flags: dict[str, Any]) -> Callable[[str], str]:
    """How an error names a setting: its flag when given as one (or by default), else where it came from."""

    def label(name: str) -> str:
        if args.resume and name not in flags:
            return f"--resume {args.resume}: the run's {name}"
        if name in flags or not args.config:
            return _SETTING_FLAGS.get(name, name)
        return f"The key {name!r} in {args.config}"

    return label


def _check_combinations(args: argparse.Namespace) -> None:
    if args.no_record:
        given = [flag for flag, on in (("--out", args.out), ("--resume", args.resume), ("--overwrite", args.overwrite), ("--plots", args.plots)) if on]
        if given:
            raise FnnInputError(f"--no-record writes nothing to disk; it cannot go with {', '.join(given)}.")
    if args.resume and args.out:
        raise FnnInputError(f"--resume {args.resume} continues the run in that folder; give no --out with it.")
    if args.resume and args.overwrite:
        raise FnnInputError("--overwrite replaces a run and --resume continues one; give one of them.")
    if args.plots:
        try:
            require_matplotlib()
        except ModuleNotFoundError:
            raise FnnInputError("--plots needs matplotlib, the extra fnn[plots]: pip install 'fnn[plots]' (or leave out --plots).") from None


def _train_config(args: argparse.Namespace) -> tuple[_Config, Model | None]:
    """The run's configuration (TOML file under flags, or the resumed run's own) and the state to resume."""
    flags = given_settings(args)
    if args.resume:
        given = [_SETTING_FLAGS[name] for name in flags if name not in _RESUME_MAY_CHANGE] + (["--config"] if args.config is not None else [])
        if given:
            raise FnnInputError(
                f"--resume continues a run with its own configuration; only --epochs and --threads may change (got {', '.join(given)})."
            )
        changes = resolve_config(({name: flags[name] for name in _RESUME_MAY_CHANGE if name in flags}, FLAG))
        model = _load_resumed(args.resume)
        try:
            config = config_from_record(model.config)
        except FnnInputError as error:
            raise FnnInputError(f"--resume {args.resume}: its saved configuration is not usable: {error}") from None
        config = config.replace(**{name: getattr(changes, name) for name in _RESUME_MAY_CHANGE if name in flags})
        return config, model
    layers = [(_experiment(args)[0], toml_source(args.config))] if args.config is not None else []
    return resolve_config(*layers, (flags, FLAG)), None


def _experiment(args: argparse.Namespace) -> tuple[dict[str, Any], str | None]:
    """The TOML file's run settings and its ``out`` (the run folder, which a flag overrides)."""
    table = dict(load_toml(args.config))
    out = table.pop("out", None)
    if out is not None and (not isinstance(out, str) or not out.strip()):
        raise FnnInputError(f"The key 'out' in {args.config} must be a folder name; got {out!r}.")
    return table, out


def _load_resumed(folder: str) -> Model:
    if not os.path.isdir(folder):
        what = "does not exist" if not os.path.lexists(folder) else "is not a folder"
        raise FnnInputError(f"--resume {folder}: {what}; give the run folder of an earlier fnn train.")
    run = RunFolder(folder, "--resume")
    if not run.exists(CHECKPOINT):
        raise FnnInputError(f"--resume {folder}: not a run folder (no {CHECKPOINT} in it); give the folder an earlier fnn train wrote.")
    holder = run.holder()
    if holder is not None:
        raise FnnInputError(f"--resume {folder}: another fnn process is training into this folder (pid {holder.get('pid', '?')} "
                            f"on {holder.get('host', '?')}, started {holder.get('started', '?')}); wait for it.")
    if run.has_record():  # the run's data, where it read them, must be as it read them
        check_source(run.read_record().get("data"), f"--resume {folder}")
    try:
        return load_model(folder)
    except FnnInputError as error:
        raise FnnInputError(f"--resume {folder}: {error}") from None


def _default_folder(config: _Config) -> str:
    """A new folder runs/DATE-TIME-DATA that no other run has: created here, exclusively (-2, -3, ... when two runs
    start in the same second)."""
    stem = os.path.join("runs", time.strftime("%Y%m%d-%H%M%S") + "-" + config.data.replace(":", "_").replace("/", "_").replace(os.sep, "_"))
    try:
        os.makedirs("runs", exist_ok=True)
    except OSError as error:
        raise FnnInputError(f"--out: cannot create the default folder 'runs' here ({error.strerror}); give --out DIR.") from None
    for number in range(1, 1000):
        folder = stem if number == 1 else f"{stem}-{number}"
        try:
            os.mkdir(folder)
            return folder
        except FileExistsError:
            continue
        except OSError as error:
            raise FnnInputError(f"--out: cannot create {folder} ({error.strerror}); give --out DIR.") from None
    raise FnnInputError(f"--out: {stem} and 998 numbered folders beside it exist; give --out DIR.")


def _precheck_out(args: argparse.Namespace) -> None:
    """Refuse an --out that cannot take a run before any data is loaded (claiming it later re-checks, locked)."""
    out = args.out
    if os.path.lexists(out) and not os.path.isdir(out):
        raise FnnInputError(f"--out {out}: exists and is not a folder; give a folder for the run.")
    if os.path.isdir(out) and RunFolder(out, "--out").holds_run() and not args.overwrite:
        raise FnnInputError(
            f"--out {out}: already holds a run; choose another folder, continue it with --resume {out} or replace it with --overwrite."
        )


def _claim(args: argparse.Namespace, config: _Config) -> tuple[RunFolder | None, RunLock | None]:
    if args.no_record:
        return None, None
    if args.resume:
        folder = RunFolder(args.resume, "--resume")
        return folder, folder.claim(resume=True)
    folder = RunFolder(args.out or _default_folder(config), "--out")
    lock = folder.claim(overwrite=args.overwrite, overwrite_hint="--overwrite", resume_hint=f"--resume {folder.path}")
    return folder, lock


# -- the command ---------------------------------------------------------------------------------------------------


def _opening(prepared: Prepared, config: _Config, start: TrainState | None, threads: int) -> str:
    parts = [f"{len(prepared.train)} train", f"{len(prepared.validation)} validation" if prepared.validation is not None else "no validation",
             f"{len(prepared.test)} test"]
    resumed = f"; resuming after epoch {start.epoch} of {config.epochs}" if start else ""
    return (f"fnn {__version__}: {prepared.params.spec.describe()} on {config.data} ({', '.join(parts)}); "
            f"{config.optimizer} lr {config.lr:g}, batch {config.batch_size}, {config.epochs} epoch{'s' if config.epochs != 1 else ''}, {threads} "
            f"thread{'s' if threads != 1 else ''}{resumed}")


def _closing(progress: _Progress, finished: Finished, config: _Config, folder: str | None) -> None:
    record = finished.record
    if record["stopped_early"]:
        progress.say(f"early stopping at epoch {finished.last.epoch} of {config.epochs}: {config.monitor} did not improve "
                     f"for {config.patience} epochs; keeping epoch {finished.state.epoch}")
    metrics = record["final_metrics"]
    score = f"test accuracy {metrics['accuracy']:.4f}" if "accuracy" in metrics else f"test R^2 {metrics['r2']:.4f}"
    progress.say(f"{score}  test loss {metrics['loss']:.4f}  ({record['wall_seconds']:.1f} s)")
    if folder is None:
        return
    quoted = shlex.quote(folder)
    progress.say(f"run folder: {folder}  ({RECORD}, {CHECKPOINT}; params sha256 {record['params_sha256'][:16]}...)")
    progress.say(f"next: fnn evaluate {quoted}  |  fnn plot {quoted}  |  fnn predict {quoted} FILE")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.config is not None and args.out is None and not args.resume:
        args = argparse.Namespace(**{**vars(args), "out": _experiment(args)[1]})
    _check_combinations(args)
    if args.out and not args.no_record:
        _precheck_out(args)
    config, model = _train_config(args)
    if config.tensorboard:
        require_tensorboardx()  # before the run folder is claimed: a refused run leaves nothing behind
    start = model.state if model is not None else None
    prepared = prepare_run(config, label=_labeller(args, given_settings(args)))
    threads = run_threads(config)
    folder, lock = _claim(args, config)
    try:
        return _train(args, config, prepared, start, folder, threads, started)
    finally:
        if lock is not None:
            lock.release()


def _train(
    args: argparse.Namespace,
    config: _Config,
    prepared: Prepared,
    start: TrainState | None,
    folder: RunFolder | None,
    threads: int,
    started: float,
) -> int:
    watch = RunWatch(config, folder, prepared, start.epoch if start else 0)
    progress = _Progress(args, config.epochs, prepared.steps_per_epoch, start.epoch if start else 0)
    progress.say(_opening(prepared, config, start, threads))
    saved: list[int] = []

    def save(state: TrainState) -> None:
        assert folder is not None  # the on_checkpoint of a run with a folder only
        folder.save_checkpoint(prepared.model(state))
        saved.append(state.epoch)

    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a diverging run is reported once, below
            finished = run_prepared(
                prepared, start, on_epoch=watch.observe(progress.on_epoch), on_batch=progress.on_batch,
                on_checkpoint=watch.checkpointed(save) if folder is not None else None, started=started,
            )
    except TrainingDiverged as error:
        progress.close()
        watch.close()
        if folder is not None:
            kept = f"epoch {saved[-1]}'s checkpoint is kept" if saved else "its earlier checkpoint, if any, is kept"
            kept = "the run that was there is kept as it was" if folder.place(CHECKPOINT) != CHECKPOINT else kept
            raise TrainingDiverged(f"{error} In {folder.path}, {kept}; no record was written.", epoch=error.epoch,
                                   step=error.step, last_good=error.last_good, epoch_start=error.epoch_start) from None
        raise
    except KeyboardInterrupt:
        progress.close()
        watch.close()
        if folder is not None and folder.place(CHECKPOINT) != CHECKPOINT:
            raise Interrupted(f"interrupted; {folder.path} holds the run it held before, as it was") from None
        if folder is not None and folder.exists(CHECKPOINT):
            raise Interrupted(f"the last finished epoch is checkpointed; continue with: fnn train --resume {shlex.quote(folder.path)}") from None
        raise
    progress.close()
    watch.close()
    record = finished.record
    written = []
    if folder is not None:
        if args.plots:  # staged with the run: its record commits them, and a resume without --plots removes the old
            # the kept params (outputs in the targets' units), every epoch's curve
            plotted = evolve(finished.state, params=in_target_units(finished.state.params, prepared.targets), history=finished.last.history)
            written = write_plots(folder, plotted, prepared.test, record["final_metrics"].get("confusion_matrix"), prepared.standardizer)
        folder.write_record(record)
    if args.json:
        final = {"final_metrics": record["final_metrics"], "run_folder": None if folder is None else folder.path, "epochs_run": record["epochs_run"],
                 "best_epoch": record["best_epoch"], "stopped_early": record["stopped_early"],
                 "params_sha256": record["params_sha256"], "wall_seconds": round(record["wall_seconds"], 4)}
        print(json.dumps(final), flush=True)
    _closing(progress, finished, config, None if folder is None else folder.path)
    for path in written:
        progress.say(f"plot: {path}")
    if args.quiet and not args.json and folder is not None:
        print(folder.path, flush=True)
    return 0
