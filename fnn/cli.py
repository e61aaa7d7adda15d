"""The ``fnn`` command: the only module that prints. Everything it does is a library call.

Errors from user input are one line on stderr and exit code 2; a diverged run exits with 3.
"""

import argparse
import json
import os
import sys
import time

from . import __version__
from .errors import FnnInputError, TrainingDiverged
from .experiment import DEFAULTS, check_config, epoch_states, finish_experiment, prepare_experiment
from .training import early_stopping

__all__ = ["main"]

TRAIN_EXAMPLES = """examples:
  fnn train                                     # bundled 8x8 digits, [64, 64, 10] ReLU net, a few seconds
  fnn train --data iris --hidden 6 --epochs 200 --lr 0.05 --batch-size 16
  fnn train --data moons --hidden 25,50,50,25 --optimizer adam --lr 0.005 --epochs 100
  fnn train --data fashion-mnist --hidden 256,128,64 --optimizer adam --lr 0.001 --epochs 10 --batch-size 128
  fnn train --config experiment.toml --seed 3   # a TOML file of the same keys; flags override it
  fnn train --json --quiet | jq .val_accuracy   # one JSON object per epoch for other programs
"""


def _float_or_int(text):
    return float(text)


def _hidden(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes such as 256,128,64; got {text!r}") from None


def _bool_or_auto(text):
    lowered = text.lower()
    if lowered in ("auto",):
        return "auto"
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected auto, true or false; got {text!r}")


_TRAIN_FLAGS = {
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
    "epochs": (int, "number of epochs"),
    "batch_size": (int, "mini-batch size"),
    "validation": (float, "fraction of the training part held out for validation (0: none)"),
    "drop_rate": (float, "dropout probability on hidden layers (0: off)"),
    "patience": (int, "early stopping: epochs without improvement of --monitor (0: off)"),
    "monitor": (str, "metric early stopping watches, e.g. val_loss or val_accuracy"),
    "seed": (int, "seed every random draw derives from"),
    "dtype": (str, "float32 or float64"),
}


def _parser():
    parser = argparse.ArgumentParser(
        prog="fnn",
        description="Functional neural networks in pure NumPy: train, evaluate and inspect multilayer perceptrons.",
        epilog="Run 'fnn COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"fnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a network and write its record",
        description="Train a multilayer perceptron. Defaults train on the bundled digits in seconds.",
        epilog=TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--config", metavar="TOML", help="experiment file with the same keys as these flags")
    for key, (kind, text) in _TRAIN_FLAGS.items():
        default = DEFAULTS[key]
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        train.add_argument("--" + key.replace("_", "-"), dest=key, type=kind, default=None, help=f"{text} (default: {shown})")
    train.add_argument("--out", metavar="DIR", help="folder for the run record (default: runs/DATE-TIME-DATA)")
    train.add_argument("--no-record", action="store_true", help="write nothing to disk")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument("--json", action="store_true", help="print one JSON object per epoch on stdout")

    commands.add_parser("datasets", help="list the data sets fnn knows and which are found on this machine")
    return parser


def _load_toml(path):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise FnnInputError(f"Experiment file {path!r} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise FnnInputError(f"Experiment file {path!r} is not valid TOML: {error}") from None


def _train_config(args):
    config = _load_toml(args.config) if args.config else {}
    config.update({key: getattr(args, key) for key in _TRAIN_FLAGS if getattr(args, key) is not None})
    return check_config(config)


def _format_epoch(record, epochs):
    parts = [f"epoch {record.epoch:>3}/{epochs}", f"loss {record.loss:.4f}"]
    for name in ("accuracy", "r2", "val_loss", "val_accuracy", "val_r2"):
        value = getattr(record, name)
        if value is not None:
            parts.append(f"{name} {value:.4f}")
    return "  ".join(parts)


def _write_json(path, document):
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _train(args):
    config = _train_config(args)
    started = time.perf_counter()
    prepared = prepare_experiment(config)
    states = epoch_states(prepared)
    say = (lambda text: print(text, file=sys.stderr if args.json else sys.stdout)) if not args.quiet else (lambda text: None)
    say(f"fnn {__version__}: {prepared.params.spec!r} on {config['data']} ({len(prepared.train)} train, {len(prepared.test)} test)")

    def report(state):
        record = state.history[-1]
        if args.json:
            print(json.dumps(record.to_dict()), flush=True)
        say(_format_epoch(record, config["epochs"]))
        return state

    states = map(report, states)
    if config["patience"]:
        final = early_stopping(states, config["patience"], config["monitor"])[0]
        say(f"early stopping: best epoch {final.epoch} by {config['monitor']}")
    else:
        final = None
        for final in states:
            pass
    run = finish_experiment(prepared, final, time.perf_counter() - started)
    metrics = run["final_metrics"]
    score = f"test accuracy {metrics['accuracy']:.4f}" if "accuracy" in metrics else f"test R^2 {metrics['r2']:.4f}"
    say(f"{score}  test loss {metrics['loss']:.4f}  ({run['wall_seconds']:.1f} s)")
    if not args.no_record:
        out = args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S") + "-" + config["data"].replace(":", "_").replace("/", "_"))
        os.makedirs(out, exist_ok=True)
        _write_json(os.path.join(out, "record.json"), run)
        say(f"record: {os.path.join(out, 'record.json')}  params sha256 {run['params_sha256'][:16]}...")
    return 0


def _datasets(args):
    from .data.bundled import BUNDLED
    from .data.sources import GENERATED

    for name, load in BUNDLED.items():
        print(f"bundled    {name:<14} {load()!r}")
    for name in GENERATED:
        print(f"generated  {name}")
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    try:
        return {"train": _train, "datasets": _datasets}[args.command](args)
    except FnnInputError as error:
        print(f"fnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"fnn {args.command}: {error}", file=sys.stderr)
        return 3
    except BrokenPipeError:  # e.g. piped into `head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print(f"fnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
