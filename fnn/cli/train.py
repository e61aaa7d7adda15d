"""``fnn train``: train a network, checkpoint it every epoch, write its record; resume a run."""

import argparse
import json
import os
import sys
import time

from .. import __version__
from ..errors import FnnInputError
from ..experiment import DEFAULTS, check_config, epoch_states, finish_experiment, prepare_experiment
from ..run_folder import load_model, save_run_checkpoint, write_plots, write_record
from ..training import early_stopping
from .common import add_command, load_toml

__all__ = ["add_arguments", "run"]

TRAIN_EXAMPLES = """examples:
  fnn train                                     # bundled 8x8 digits, [64, 64, 10] ReLU net, a few seconds
  fnn train --data iris --hidden 6 --epochs 200 --lr 0.05 --batch-size 16
  fnn train --data moons --hidden 25,50,50,25 --optimizer adam --lr 0.005 --epochs 100 --plots
  fnn train --data fashion-mnist --hidden 256,128,64 --optimizer adam --lr 0.001 --batch-size 128 --epochs 10
  fnn train --config experiment.toml --seed 3   # a TOML file of the same keys; flags override it
  fnn train --out runs/a --epochs 5 && fnn train --resume runs/a --epochs 10   # continue bit-identically
  fnn train --json --quiet | jq .val_accuracy   # one JSON object per epoch for other programs
"""


def _hidden(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes such as 256,128,64; got {text!r}") from None


def _bool_or_auto(text):
    choices = {"auto": "auto", "true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
    if text.lower() not in choices:
        raise argparse.ArgumentTypeError(f"expected auto, true or false; got {text!r}")
    return choices[text.lower()]


TRAIN_FLAGS = {
    "data": (str, "data set: digits, iris, moons, circles, spirals, blobs, sine, fashion-mnist, mnist:DIR, csv:PATH"),
    "test_fraction": (float, "fraction held out for testing when the data has no test part"),
    "standardize": (_bool_or_auto, "standardise features with training statistics: auto, true, false"),
    "hidden": (_hidden, "hidden layer sizes, comma-separated, e.g. 256,128,64"),
    "activation": (str, "hidden activation, e.g. relu, tanh, sigmoid, leaky_relu:0.1, gelu"),
    "output": (str, "output activation (auto, softmax, sigmoid, identity)"),
    "loss": (str, "loss (auto, cross_entropy, binary_cross_entropy, mse, quadratic)"),
    "init": (str, "weight initialiser, e.g. he_uniform, glorot_uniform, normal:0.1"),
    "bias_init": (str, "bias initialiser (zeros, normal, ...)"),
    "optimizer": (str, "sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw"),
    "lr": (float, "learning rate"),
    "momentum": (float, "momentum for sgd/momentum/nesterov"),
    "weight_decay": (float, "decoupled weight decay for adamw"),
    "schedule": (str, "learning-rate schedule: constant, cosine, step_decay:EVERY,FACTOR, exponential:RATE"),
    "clip_norm": (float, "clip gradients to this global norm (0: off)"),
    "l2": (float, "L2 penalty on the weights (0: off)"),
    "epochs": (int, "number of epochs (with --resume: the total to reach)"),
    "batch_size": (int, "mini-batch size"),
    "validation": (float, "fraction of the training part held out for validation (0: none)"),
    "drop_rate": (float, "dropout probability on hidden layers (0: off)"),
    "patience": (int, "early stopping: epochs without improvement of --monitor (0: off)"),
    "monitor": (str, "metric early stopping watches, e.g. val_loss or val_accuracy"),
    "seed": (int, "seed every random draw derives from"),
    "dtype": (str, "float32 or float64"),
}


def add_arguments(commands):
    train = add_command(commands, "train", "train a network, checkpoint it every epoch and write its record", TRAIN_EXAMPLES)
    train.add_argument("--config", metavar="TOML", help="experiment file with the same keys as these flags")
    for key, (kind, text) in TRAIN_FLAGS.items():
        default = DEFAULTS[key]
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        train.add_argument("--" + key.replace("_", "-"), dest=key, type=kind, default=None, help=f"{text} (default: {shown})")
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


def _train_config(args):
    if args.resume:
        given = [key for key in TRAIN_FLAGS if getattr(args, key) is not None and key != "epochs"]
        if given or args.config:
            raise FnnInputError(f"--resume continues a run with its own configuration; only --epochs may change (got {given or ['--config']}).")
        model = load_model(args.resume)
        config = dict(model.config)
        if args.epochs is not None:
            config["epochs"] = args.epochs
        return check_config(config), model.state
    config = load_toml(args.config) if args.config else {}
    config.update({key: getattr(args, key) for key in TRAIN_FLAGS if getattr(args, key) is not None})
    return check_config(config), None


def _run_folder(args, config):
    if args.no_record:
        return None
    folder = args.resume or args.out or os.path.join(
        "runs", time.strftime("%Y%m%d-%H%M%S") + "-" + config["data"].replace(":", "_").replace("/", "_")
    )
    os.makedirs(folder, exist_ok=True)
    return folder


def run(args):
    config, start = _train_config(args)
    started = time.perf_counter()
    prepared = prepare_experiment(config)
    if start is not None and start.params.spec != prepared.params.spec:
        raise FnnInputError(f"{args.resume}: the checkpoint's network {start.params.spec!r} does not match its configuration.")
    folder = _run_folder(args, config)
    steps = -(-len(prepared.train) // config["batch_size"])
    progress = _Progress(args, config["epochs"], steps, start.epoch if start else 0)
    progress.say(
        f"fnn {__version__}: {prepared.params.spec!r} on {config['data']} ({len(prepared.train)} train, "
        f"{len(prepared.test)} test)" + (f", resuming after epoch {start.epoch}" if start else "")
    )

    def observe(state):
        progress.on_epoch(state)
        if folder is not None:
            save_run_checkpoint(folder, state, config, prepared.standardizer, prepared.train.class_names)
        return state

    try:
        states = map(observe, epoch_states(prepared, start, on_batch=progress.on_batch))
        if config["patience"]:
            final, last = early_stopping(states, config["patience"], config["monitor"])
            if folder is not None and last is not final:
                save_run_checkpoint(folder, final, config, prepared.standardizer, prepared.train.class_names)
            progress.say(f"early stopping at epoch {last.epoch}: best epoch {final.epoch} by {config['monitor']}")
        else:
            final = start
            for final in states:
                pass
    finally:
        progress.close()
    if final is None:
        raise FnnInputError(f"Nothing to train: the run already has {start.epoch if start else 0} epochs; raise --epochs.")
    record = finish_experiment(prepared, final, time.perf_counter() - started)
    if start is not None:
        record["resumed_from_epoch"] = start.epoch
    metrics = record["final_metrics"]
    score = f"test accuracy {metrics['accuracy']:.4f}" if "accuracy" in metrics else f"test R^2 {metrics['r2']:.4f}"
    progress.say(f"{score}  test loss {metrics['loss']:.4f}  ({record['wall_seconds']:.1f} s)")
    if folder is not None:
        path = write_record(folder, record)
        progress.say(f"run folder: {folder}  (record {os.path.basename(path)}, params sha256 {record['params_sha256'][:16]}...)")
        if args.plots:
            for written in write_plots(folder, final, prepared.test, metrics.get("confusion_matrix")):
                progress.say(f"plot: {written}")
    return 0
