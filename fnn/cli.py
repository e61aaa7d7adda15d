"""The ``fnn`` command: the only module that prints. Everything it does is a library call.

User mistakes are one line on stderr and exit code 2; a diverged run exits with 3.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from . import __version__
from .data.sources import load_train_test
from .errors import FnnInputError, TrainingDiverged
from .experiment import DEFAULTS, check_config, epoch_states, finish_experiment, prepare_experiment
from .metrics import evaluate, predict
from .run_folder import load_model, read_record, save_run_checkpoint, write_plots, write_record
from .training import early_stopping

__all__ = ["main"]

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
    "epochs": (int, "number of epochs (with --resume: the total to reach)"),
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

    def command(name, help, epilog):
        return commands.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".", epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    train = command("train", "train a network, checkpoint it every epoch and write its record", TRAIN_EXAMPLES)
    train.add_argument("--config", metavar="TOML", help="experiment file with the same keys as these flags")
    for key, (kind, text) in _TRAIN_FLAGS.items():
        default = DEFAULTS[key]
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        train.add_argument("--" + key.replace("_", "-"), dest=key, type=kind, default=None, help=f"{text} (default: {shown})")
    train.add_argument("--out", metavar="DIR", help="run folder (default: runs/DATE-TIME-DATA)")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    train.add_argument("--no-record", action="store_true", help="write nothing to disk")
    train.add_argument("--plots", action="store_true", help="also draw PNG plots into the run folder (needs matplotlib)")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument("--json", action="store_true", help="print one JSON object per epoch on stdout")

    evaluate_cmd = command("evaluate", "evaluate a saved model on a data set: accuracy, loss, confusion matrix",
                           "examples:\n  fnn evaluate runs/a                 # on the test part of the data it was trained on\n"
                           "  fnn evaluate runs/a --data mnist:/data/mnist --json")
    evaluate_cmd.add_argument("model", help="run folder or checkpoint .npz")
    evaluate_cmd.add_argument("--data", help="data set name (default: the one the model was trained on)")
    evaluate_cmd.add_argument("--json", action="store_true", help="print the metrics as one JSON object")

    predict_cmd = command("predict", "predict classes (or values) for new inputs with a saved model",
                          "examples:\n  fnn predict runs/a inputs.csv --out predictions.csv\n"
                          "  fnn predict runs/fm t10k-images-idx3-ubyte.gz --out classes.npy   # IDX images are scaled by 1/255\n"
                          "  fnn predict runs/a batch.npy --scale 16")
    predict_cmd.add_argument("model", help="run folder or checkpoint .npz")
    predict_cmd.add_argument("input", help="a .csv (numeric columns; a 'label' column is ignored), .npy, or IDX file")
    predict_cmd.add_argument("--out", default="predictions.csv", help="a .csv (index, prediction, name, outputs) or .npy file")
    predict_cmd.add_argument("--scale", type=float, default=None, help="divide inputs by this first (default: 255 for IDX, 1 otherwise)")

    sweep_cmd = command(
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

    command("datasets", "list the data sets fnn knows and which are found on this machine", "example:\n  fnn datasets")
    plot_cmd = command("plot", "redraw the plots of a finished run folder", "example:\n  fnn plot runs/a")
    plot_cmd.add_argument("folder", help="run folder")
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


def _format_epoch(record, epochs):
    parts = [f"epoch {record.epoch:>3}/{epochs}", f"loss {record.loss:.4f}"]
    for name in ("accuracy", "r2", "val_loss", "val_accuracy", "val_r2"):
        value = getattr(record, name)
        if value is not None:
            parts.append(f"{name} {value:.4f}")
    return "  ".join(parts)


class _Progress:
    """Where progress goes: a tqdm bar on a terminal, plain lines otherwise, nothing with --quiet."""

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
        elif not self.quiet:
            self.say(_format_epoch(record, self.epochs))
        return state

    def close(self):
        for bar in (self.batch_bar, self.bar):
            if bar is not None:
                bar.close()


def _train_config(args):
    if args.resume:
        given = [key for key in _TRAIN_FLAGS if getattr(args, key) is not None and key != "epochs"]
        if given or args.config:
            raise FnnInputError(f"--resume continues a run with its own configuration; only --epochs may change (got {given or ['--config']}).")
        model = load_model(args.resume)
        config = dict(model.config)
        if args.epochs is not None:
            config["epochs"] = args.epochs
        return check_config(config), model.state
    config = _load_toml(args.config) if args.config else {}
    config.update({key: getattr(args, key) for key in _TRAIN_FLAGS if getattr(args, key) is not None})
    return check_config(config), None


def _run_folder(args, config):
    if args.no_record:
        return None
    folder = args.resume or args.out or os.path.join(
        "runs", time.strftime("%Y%m%d-%H%M%S") + "-" + config["data"].replace(":", "_").replace("/", "_")
    )
    os.makedirs(folder, exist_ok=True)
    return folder


def _train(args):
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


def _model_data(model, name):
    config = model.config
    data = name or config.get("data")
    if not data:
        raise FnnInputError("This checkpoint does not say what data it was trained on; pass --data.")
    _, test = load_train_test(data, config.get("seed", 0), config.get("test_fraction", 0.2), model.params.dtype)
    return test


def _evaluate(args):
    model = load_model(args.model)
    test = _model_data(model, args.data)
    features = test.features if model.standardizer is None else model.prepare_features(np.asarray(test.features))
    metrics = evaluate(model.params, features, test.labels)
    if model.params.spec.is_classifier:
        from .metrics import confusion_matrix, predict_classes

        predicted = predict_classes(model.params, features)
        metrics["confusion_matrix"] = confusion_matrix(test.labels, predicted, max(test.n_classes, 2)).tolist()
    if args.json:
        print(json.dumps(metrics))
        return 0
    print(f"{test.name}: {len(test)} samples")
    for key in ("accuracy", "r2", "loss"):
        if key in metrics:
            print(f"{key:>9}: {metrics[key]:.4f}")
    if "confusion_matrix" in metrics:
        names = test.class_names or tuple(str(i) for i in range(len(metrics["confusion_matrix"])))
        width = max(5, max(len(str(v)) for row in metrics["confusion_matrix"] for v in row) + 1)
        print("confusion matrix (rows: true, columns: predicted):")
        for name, row in zip(names, metrics["confusion_matrix"]):
            print(f"  {name[:12]:>12} " + "".join(f"{v:>{width}}" for v in row))
    return 0


def _read_inputs(path, n_features):
    """Inputs as rows of floats, and the default divisor for their format."""
    from .data.csv import read_table
    from .data.idx import read_idx

    lowered = path.lower()
    if lowered.endswith(".npy"):
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise FnnInputError(f"{path}: not a readable .npy file ({error}).") from None
        return array.reshape(len(array), -1), 1.0
    if lowered.endswith((".csv", ".csv.gz")):
        header, features, _, _ = read_table(path)
        lowered_header = [name.lower() for name in header]
        if features.shape[1] == n_features + 1 and "label" in lowered_header:
            features = np.delete(features, lowered_header.index("label"), axis=1)
        return features, 1.0
    array = read_idx(path)
    return np.asarray(array).reshape(len(array), -1), 255.0


def _predict(args):
    model = load_model(args.model)
    n_features = model.params.spec.sizes[0]
    features, divisor = _read_inputs(args.input, n_features)
    if features.shape[1] != n_features:
        raise FnnInputError(f"{args.input}: {features.shape[1]} input columns, but the model takes {n_features}.")
    features = features / (args.scale if args.scale is not None else divisor)
    outputs = predict(model.params, model.prepare_features(features))
    classifier = model.params.spec.is_classifier
    from .metrics import classes_from_outputs

    predictions = classes_from_outputs(outputs) if classifier else outputs[:, 0]
    if args.out.endswith(".npy"):
        np.save(args.out, predictions)
    else:
        names = list(model.class_names)
        lines = ["index,prediction,name," + ",".join(f"output{j}" for j in range(outputs.shape[1]))]
        for i, (prediction, row) in enumerate(zip(predictions, outputs)):
            name = names[prediction] if classifier and prediction < len(names) else ""
            lines.append(f"{i},{prediction},{name}," + ",".join(f"{v:.6g}" for v in row))
        with open(args.out, "w") as handle:
            handle.write("\n".join(lines) + "\n")
    print(f"{len(predictions)} predictions written to {args.out}")
    return 0


def _sweep_inputs(args):
    base = _load_toml(args.config) if args.config else {}
    grid = base.pop("grid", {})
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


def _sweep(args):
    from .sweep import expand_grid, sweep

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
    keys = list(grid)
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


def _datasets(args):
    from .data.bundled import BUNDLED
    from .data.mnist import find_mnist_folder
    from .data.sources import GENERATED

    for name, load in BUNDLED.items():
        print(f"bundled    {name:<14} {load()!r}")
    for name in GENERATED:
        print(f"generated  {name}")
    for label, fashion in (("fashion-mnist", True), ("mnist", False)):
        try:
            print(f"found      {label:<14} {find_mnist_folder(None, fashion=fashion)}")
        except FnnInputError as error:
            print(f"missing    {label:<14} {str(error).splitlines()[0]}")
    return 0


def _plot(args):
    model = load_model(args.folder)
    record = read_record(args.folder)
    test = _model_data(model, None)
    if model.standardizer is not None:
        from .data.dataset import Dataset

        test = Dataset(model.prepare_features(np.asarray(test.features)), test.labels, test.class_names, test.name)
    for written in write_plots(args.folder, model.state, test, record["final_metrics"].get("confusion_matrix")):
        print(f"plot: {written}")
    return 0


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        commands = {"train": _train, "evaluate": _evaluate, "predict": _predict, "sweep": _sweep, "datasets": _datasets, "plot": _plot}
        return commands[args.command](args)
    except FnnInputError as error:
        print(f"fnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"fnn {args.command}: {error}", file=sys.stderr)
        return 3
    except ModuleNotFoundError as error:
        print(f"fnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"fnn {args.command}: error: {error.filename}: no such file", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print(f"fnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
