"""``fnn train``: train a network, checkpoint it every epoch, write its record; resume a run."""

import json
import os
import sys
import time

from .. import __version__
from ..errors import FnnInputError
from ..run import FLAG, SETTINGS, config_from_record, prepare_run, resolve_config, run_prepared, toml_source
from ..run_folder import load_model, save_run_checkpoint, write_plots, write_record
from .common import add_command, load_toml
from .watch import RunWatch

__all__ = ["add_arguments", "run"]

SETTING_FLAGS = {setting.name: setting.flag for setting in SETTINGS}

TRAIN_EXAMPLES = """examples:
  fnn train                                     # bundled 8x8 digits, [64, 64, 10] ReLU net, a few seconds
  fnn train --data iris --hidden 6 --epochs 200 --lr 0.05 --batch-size 16
  fnn train --data moons --hidden 25,50,50,25 --optimizer adam --lr 0.005 --epochs 100 --plots
  fnn train --data fashion-mnist --hidden 256,128,64 --optimizer adam --lr 0.001 --batch-size 128 --epochs 10
  fnn train --config experiment.toml --seed 3   # a TOML file of the same keys; flags override it
  fnn train --optimizer adam --lr 0.01 --schedule linear_warmup:2+cosine   # warm up 2 epochs, then cosine
  fnn train --out runs/a --epochs 5 && fnn train --resume runs/a --epochs 10   # continue bit-identically
  fnn train --json --quiet | jq .val_accuracy   # one JSON object per epoch for other programs
  fnn train --diagnostics --tensorboard --keep-checkpoints --out runs/a   # see inside; fnn verify/diff/replay runs/a
"""


def _shown(setting):
    default = setting.default
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    notes = ([] if default is None else [f"default: {shown}"]) + ([f"unit: {setting.unit}"] if setting.unit else [])
    notes += [f"only with --optimizer {'/'.join(setting.optimizers)}"] if setting.optimizers else []
    return f"{setting.help} ({'; '.join(notes)})"


def add_arguments(commands):
    train = add_command(commands, "train", "train a network, checkpoint it every epoch and write its record", TRAIN_EXAMPLES)
    train.add_argument("--config", metavar="TOML", help="experiment file whose keys are these flags' names (batch_size or batch-size)")
    for setting in SETTINGS:  # every flag comes from the table of run settings
        if setting.switch:
            train.add_argument(setting.flag, dest=setting.name, action="store_const", const=True, default=None, help=setting.help)
            continue
        train.add_argument(setting.flag, dest=setting.name, default=None, metavar=setting.name.upper(), help=_shown(setting))
    train.add_argument("--out", metavar="DIR", help="run folder (default: runs/DATE-TIME-DATA)")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    train.add_argument("--no-record", action="store_true", help="write nothing to disk")
    train.add_argument("--plots", action="store_true", help="also draw PNG plots into the run folder (needs matplotlib)")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument("--json", action="store_true", help="print one JSON object per epoch on stdout")


def _format_epoch(record, epochs):
    parts = [f"epoch {record.epoch:>3}/{epochs}", f"loss {record.loss:.4f}"]
    for name in ("accuracy", "r2", "val_loss", "val_accuracy", "val_r2"):
        value = getattr(record, name)
        if value is not None:
            parts.append(f"{name} {value:.4f}")
    return "  ".join(parts)


class _Progress:
    """Where progress goes: on a terminal, a tqdm bar over epochs (and one over batches for long epochs) with a
    line per finished epoch above it; otherwise (a pipe, a log file) or with --quiet no per-epoch progress, only the
    opening and closing lines. --json prints one JSON object per epoch on stdout in any case."""

    def __init__(self, args, epochs, steps_per_epoch, start_epoch):
        self.quiet, self.json = args.quiet, args.json
        self.stream = sys.stderr if args.json else sys.stdout
        self.bar = self.batch_bar = None
        if not self.quiet and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, initial=start_epoch, desc="epochs", unit="epoch", file=self.stream, leave=True)
            if steps_per_epoch >= 500:  # long epochs get a bar of their own
                self.batch_bar = tqdm(total=steps_per_epoch, desc="batches", unit="batch", file=self.stream, leave=False)
        self.epochs = epochs

    def say(self, text):
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def on_batch(self, index):
        if self.batch_bar is not None:
            if index == 0:
                self.batch_bar.reset()
            self.batch_bar.update()

    def on_epoch(self, state):
        record = state.history[-1]
        if self.json:
            print(json.dumps(record.to_dict()), flush=True)
        if self.bar is not None:
            self.bar.update()
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in record.to_dict().items() if k in ("loss", "accuracy", "val_accuracy", "val_r2") and v is not None})
            self.say(_format_epoch(record, self.epochs))
        return state

    def close(self):
        for bar in (self.batch_bar, self.bar):
            if bar is not None:
                bar.close()


def _flags(args):
    return {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name) is not None}


def _train_config(args):
    """The run's configuration (TOML file under flags, or the resumed run's own) and the state to resume."""
    flags = _flags(args)
    if args.resume:
        given = [SETTING_FLAGS[name] for name in flags if name != "epochs"] + (["--config"] if args.config else [])
        if given:
            raise FnnInputError(f"--resume continues a run with its own configuration; only --epochs may change (got {', '.join(given)}).")
        model = load_model(args.resume)
        epochs = resolve_config(({"epochs": flags["epochs"]}, FLAG)).epochs if "epochs" in flags else None
        return config_from_record(model.config, epochs), model.state
    layers = [(load_toml(args.config), toml_source(args.config))] if args.config else []
    return resolve_config(*layers, (flags, FLAG)), None


def _run_folder(args, config):
    if args.no_record:
        return None
    folder = args.resume or args.out or os.path.join(
        "runs", time.strftime("%Y%m%d-%H%M%S") + "-" + config.data.replace(":", "_").replace("/", "_")
    )
    os.makedirs(folder, exist_ok=True)
    return folder


def run(args):
    started = time.perf_counter()
    config, start = _train_config(args)
    prepared = prepare_run(config)
    folder = _run_folder(args, config)
    watch = RunWatch(config, folder, prepared, start.epoch if start else 0)
    progress = _Progress(args, config.epochs, prepared.steps_per_epoch, start.epoch if start else 0)
    progress.say(
        f"fnn {__version__}: {prepared.params.spec!r} on {config.data} ({len(prepared.train)} train, "
        f"{len(prepared.test)} test)" + (f", resuming after epoch {start.epoch}" if start else "")
    )

    def save(state):
        save_run_checkpoint(folder, state, config.to_dict(), prepared.standardizer, prepared.train.class_names)

    try:
        finished = run_prepared(
            prepared, start, on_epoch=watch.observe(progress.on_epoch), on_batch=progress.on_batch,
            on_checkpoint=save if folder is not None else None, started=started,
        )
    finally:
        progress.close()
        watch.close()
    if config.patience:
        progress.say(f"early stopping at epoch {finished.last.epoch}: best epoch {finished.state.epoch} by {config.monitor}")
    record = finished.record
    metrics = record["final_metrics"]
    score = f"test accuracy {metrics['accuracy']:.4f}" if "accuracy" in metrics else f"test R^2 {metrics['r2']:.4f}"
    progress.say(f"{score}  test loss {metrics['loss']:.4f}  ({record['wall_seconds']:.1f} s)")
    if folder is not None:
        path = write_record(folder, record)
        progress.say(f"run folder: {folder}  (record {os.path.basename(path)}, params sha256 {record['params_sha256'][:16]}...)")
        if args.plots:
            for written in write_plots(folder, finished.state, prepared.test, metrics.get("confusion_matrix")):
                progress.say(f"plot: {written}")
    return 0
