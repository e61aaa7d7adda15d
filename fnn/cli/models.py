"""``fnn evaluate``, ``fnn predict``, ``fnn plot`` and ``fnn datasets``: using saved models and finding data."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from attrs import evolve

from fnn.cli.common import Commands, add_command
from fnn.core.metrics import BATCH_SIZE, classes_from_outputs, confusion_matrix, predict_classes
from fnn.data.dataset import Dataset, for_task
from fnn.data.mnist import find_mnist_folder
from fnn.data.sources import DATA_KINDS, csv_header, data_error, data_kind, load_source, resolve_data, split_source
from fnn.errors import FnnInputError, shown_names
from fnn.observe import plots
from fnn.observe.run_plots import sweep_histories, sweep_run_curves, write_plots, write_sweep_plot
from fnn.run.provenance import check_source
from fnn.run.settings import FLAG, SETTINGS, check_value
from fnn.store.inputs import check_scale
from fnn.store.model import Model, in_target_units, load_model, probabilities
from fnn.store.run_folder import CHECKPOINT, RunFolder, beside_runs, write_in_folder
from fnn.train.state import EpochRecord, History, TrainState

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_OUTPUT_FORMATS = (".csv", ".json", ".npy")

_PREDICT_HELP = """examples:
  fnn predict runs/iris flowers.csv                    # a CSV table on stdout: index,class,class_index,p_setosa,...
  fnn predict runs/iris --values 5.1,3.5,1.4,0.2       # one sample
  fnn predict runs/iris flowers.csv --out predictions.json
  fnn predict runs/fm t10k-images-idx3-ubyte.gz --out classes.npy   # IDX images are divided by 255

Output by the extension of --out (default '-', stdout, as CSV):
  .csv   index, class (its name), class_index, then one probability column per class named p_<class>;
         a regression model gives index and prediction (or prediction_0, prediction_1, ... for several targets)
  .json  a list of objects with the same fields (probabilities as {"class": p})
  .npy   the predicted class indices (or the predicted values of a regression model)
An existing file is never replaced unless --overwrite is given.

Input: a .csv read as training read its table: the model's label column (the one --label names, else the one it
was trained with, else one named label, labels, class, target, species or y) is left out if the table has it, and
so are the columns it was trained without (--drop); a .npy array (a 1-D array is one sample); or an IDX file
(MNIST format)."""


def add_arguments(commands: Commands) -> None:
    evaluate_cmd = add_command(commands, "evaluate", "evaluate a saved model on a data set: accuracy, loss, confusion matrix",
                               "examples:\n  fnn evaluate runs/a                 # on the test part of the data it was trained on\n"
                               "  fnn evaluate runs/a --data csv:holdout.csv   # every row; columns matched by header name\n"
                               "  fnn evaluate runs/a --data mnist:/data/mnist --split test --json")
    evaluate_cmd.add_argument("model", help="run folder or checkpoint .npz")
    evaluate_cmd.add_argument("--data", help="data set name (default: the one the model was trained on); every row of it is scored unless --split says which part")
    evaluate_cmd.add_argument("--split", choices=("test", "train", "all"),
                              help="the part scored: test (default without --data: the run's test part), train (the rows the run's split trains on) or all (default with --data)")
    evaluate_cmd.add_argument("--label", metavar="COLUMN", help="csv:PATH only: the label column's header name (if not given: the model's own, as fnn train --label)")
    evaluate_cmd.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    _add_batch_size(evaluate_cmd)

    predict_cmd = add_command(commands, "predict", "predict classes (or values) for new inputs with a saved model", _PREDICT_HELP)
    predict_cmd.add_argument("model", help="run folder or checkpoint .npz")
    predict_cmd.add_argument("input", nargs="?", help="a .csv, .npy or IDX file of inputs (or give --values)")
    predict_cmd.add_argument("--values", metavar="X1,X2,...", help="one sample's inputs, comma-separated, instead of a file")
    predict_cmd.add_argument("--out", default="-", help="'-' for stdout (default, CSV), or a .csv, .json or .npy file")
    predict_cmd.add_argument("--overwrite", action="store_true", help="replace the --out file if it exists")
    predict_cmd.add_argument("--label", metavar="COLUMN", help="the input CSV's label column, left out of the inputs")
    predict_cmd.add_argument("--scale", type=float, default=None, help="divide inputs by this first (default: 255 for IDX, 1 otherwise)")
    _add_batch_size(predict_cmd)

    add_command(commands, "datasets", "list the data sets fnn knows and which are found on this machine", "example:\n  fnn datasets")
    plot_cmd = add_command(
        commands, "plot", "redraw a run's plots, compare runs' learning curves, or draw the activation functions",
        "examples:\n  fnn plot runs/a                     # learning curves and more, into runs/a\n"
        "  fnn plot runs/a runs/b runs/c       # their learning curves on one chart: compare.png\n"
        "  fnn plot runs/sweep                 # a sweep's curves, mean over seeds with a min-max band: learning_curves.png\n"
        "  fnn plot --activations              # the activations and their derivatives: activations.png",
    )
    plot_cmd.add_argument("folders", nargs="*", metavar="RUN", help="run folder(s)")
    plot_cmd.add_argument("--activations", action="store_true", help="draw the activation functions and their derivatives")
    plot_cmd.add_argument("--band", choices=plots.BANDS, default="minmax",
                          help="a sweep's band around the mean over seeds: min to max, or +- one std (default: minmax)")
    plot_cmd.add_argument("--out", help="the PNG file for a comparison or --activations (default: compare.png, activations.png)")
    plot_cmd.add_argument("--overwrite", action="store_true", help="replace the --out file if it exists")


def _add_batch_size(command: argparse.ArgumentParser) -> None:
    """``--batch-size``, read as training's flag reads it (:data:`fnn.run.settings.SETTINGS`), rows per forward pass."""
    setting = next(setting for setting in SETTINGS if setting.name == "batch_size")
    command.add_argument(setting.flag, dest=setting.name, default=BATCH_SIZE, metavar=setting.name.upper(),
                         help=f"rows per forward pass, which bounds memory (default: {BATCH_SIZE}; unit: {setting.unit})")


def load_run(path: str, argument: str) -> Model:
    """The model of a run folder or checkpoint file (any file fnn.save wrote), as ``fnn evaluate``, ``fnn predict``
    and ``fnn export`` read it; a path that is neither is refused naming ``argument``."""
    if not os.path.lexists(path):
        raise FnnInputError(f"{argument} {path}: does not exist; expected a run folder (with {CHECKPOINT}) or a checkpoint .npz file.")
    if os.path.isdir(path) and not RunFolder(path, argument).exists(CHECKPOINT):
        raise FnnInputError(f"{argument} {path}: not a run folder (no {CHECKPOINT} in it); expected a folder fnn train wrote, or a checkpoint .npz file.")
    if os.path.isfile(path) and path.lower().endswith(".json"):
        folder = os.path.dirname(path) or "."
        has_model = os.path.isfile(os.path.join(folder, CHECKPOINT))
        hint = (f"give its run folder {folder}" if has_model else
                f"a sweep's run record keeps no parameters (`fnn verify {path}` reruns the run and checks its hash)")
        raise FnnInputError(f"{argument} {path}: is a JSON record, not a model; expected a run folder (with {CHECKPOINT}) "
                            f"or a checkpoint .npz file: {hint}.")
    try:
        return load_model(path)
    except FnnInputError as error:
        raise FnnInputError(f"{argument} {path}: {str(error).removeprefix(f'{path}: ')}") from None
    except OSError as error:
        raise FnnInputError(f"{argument} {path}: cannot be read ({error.strerror or error}); expected a run folder or a checkpoint .npz file.") from None


def _model_data(model: Model, name: str | None, run: str, split: str = "test", label_flag: str | None = None) -> Dataset:
    """The ``split`` part (test or train) of ``name`` (``--data``), or of the data the model was trained on, with
    the model's label column (or ``--label``'s) and dropped columns when it is a CSV table. The run's own data are
    read where it read them; when ``run`` is a run folder (or its checkpoint) with a record, files there that
    changed since are refused."""
    config = model.config
    folder = run if os.path.isdir(run) else (os.path.dirname(run) or ".") if os.path.basename(run) == CHECKPOINT else None
    if name is None and folder is not None and RunFolder(folder).has_record():  # a file fnn.save wrote has no record
        check_source(RunFolder(folder).read_record().get("data"), f"the model's data {config.get('data')}")
    data = name or config.get("data")
    if not data:
        raise FnnInputError("--data: this checkpoint does not say what data it was trained on; give --data.")
    label: str | int | None = None
    drop: tuple[str, ...] = ()
    if str(data).partition(":")[0].strip().lower() == "csv":
        label, drop = label_flag or config.get("label"), model.drop
    elif label_flag is not None:
        raise FnnInputError(f"--label names a column of csv:PATH data; this data is {data!r}.")
    where = f"--data {data}" if name else f"the model's data {data} (give --data to choose other data)"
    try:
        source = load_source(data, model.params.dtype, label, drop)
        if isinstance(source, Dataset):  # one table: classes or a regression target as training decided, before its split
            source = for_task(source, source, str(config.get("task", "auto")))[0]
        train, test = split_source(source, data, config.get("seed", 0), config.get("test_fraction", 0.2), model.params.dtype)
    except (FnnInputError, OSError) as error:
        raise FnnInputError(data_error(where, data, error)) from None
    return _in_model_classes(model, train if split == "train" else test, where)


def _in_model_classes(model: Model, data: Dataset, where: str) -> Dataset:
    """``data`` with its labels as the model's class indices, matched by name (a table's own classes are those it
    holds, which may be fewer or in another order than the model's), after the split made on its own."""
    if not model.params.spec.is_classifier or not (model.class_names and data.class_names) or data.class_names == model.class_names:
        return data
    labels = model.read_labels(np.asarray(data.class_names)[np.asarray(data.labels)], f"{where}'s labels")
    return Dataset(data.features, labels, model.class_names, data.name)


def _whole_data(model: Model, name: str) -> Dataset | str:
    """All of ``--data``: a CSV table's path (read by the model, its columns by name), else the whole data set
    (a fixed train/test pair joined, generated data drawn from the model's seed)."""
    kind = data_kind(name)
    if kind is not None and kind.name == "csv":
        return resolve_data(name).partition(":")[2]  # a user's ~ expanded, as for training
    try:
        source = load_source(name, model.params.dtype)
    except (FnnInputError, OSError) as error:
        raise FnnInputError(data_error(f"--data {name}", name, error)) from None
    if isinstance(source, Dataset):
        return source
    if source is None and kind is not None and kind.make is not None:  # generated: the whole set the seed draws
        return cast(Dataset, kind.make(model.config.get("seed", 0), model.params.dtype))
    train, test = cast(tuple[Dataset, Dataset], source)
    features = np.concatenate([np.asarray(train.features), np.asarray(test.features)])
    return Dataset(features, np.concatenate([train.labels, test.labels]), train.class_names, name)


def evaluate_command(args: argparse.Namespace) -> int:
    batch_size = check_value("batch_size", args.batch_size, FLAG)
    model = load_run(args.model, "model")
    named = None if args.data is None else data_kind(args.data)
    if args.label is not None and named is not None and named.name != "csv":
        raise FnnInputError(f"--label names a column of csv:PATH data; this data is {args.data!r}.")
    if args.data is not None and args.split in (None, "all"):
        data: Dataset | str = _whole_data(model, args.data)
    elif args.split == "all":
        data = _whole_data(model, str(model.config.get("data") or ""))
    else:
        data = _model_data(model, args.data, args.model, args.split or "test", args.label)
    source = f"--data {args.data}" if args.data is not None else f"the model's data {model.config.get('data')}"
    try:
        metrics = model.evaluate(data, label=args.label if isinstance(data, str) else None, source=source, kind="csv", batch_size=batch_size)
    except FnnInputError as error:
        name = args.data if args.data is not None else str(model.config.get("data") or "")
        raise FnnInputError(str(error) if str(error).startswith(source) else data_error(source, name, error)) from None
    if args.json:
        print(json.dumps(metrics))
        return 0
    print(f"{data.name if isinstance(data, Dataset) else os.path.basename(data)}: {metrics['samples']} samples")
    if "accuracy" in metrics:
        print(f" accuracy: {metrics['accuracy']:.4f}  ({metrics['correct']} of {metrics['samples']} right)")
    if "r2" in metrics:
        print(f"      R^2: {metrics['r2']:.4f}")
    print(f"     loss: {metrics['loss']:.4f}")
    if "confusion_matrix" in metrics:
        names = model.class_names or tuple(str(i) for i in range(len(metrics["confusion_matrix"])))
        width = max(5, max(len(str(v)) for row in metrics["confusion_matrix"] for v in row) + 1)
        print("confusion matrix (rows: true, columns: predicted):")
        for name, row in zip(names, metrics["confusion_matrix"]):
            print(f"  {name[:12]:>12} " + "".join(f"{v:>{width}}" for v in row))
    return 0


# -- predict -----------------------------------------------------------------------------------------------------


def _raw_inputs(args: argparse.Namespace, n_inputs: int) -> tuple[Any, str]:
    """What the model reads (one sample's row, or a file's path) and how messages name it."""
    is_table = str(args.input).lower().endswith((".csv", ".csv.gz"))
    if args.label is not None and not is_table:
        given = "--values" if args.values is not None else args.input
        raise FnnInputError(f"--label {args.label}: names a column of a .csv input; expected one, got {given}.")
    if args.values is not None:
        if args.input is not None:
            raise FnnInputError("--values: give one sample with --values or an input file, not both.")
        try:
            row = [float(cell) for cell in args.values.split(",")]
        except ValueError:
            raise FnnInputError(f"--values: expected {n_inputs} comma-separated numbers; got {args.values!r}.") from None
        return np.array(row), "--values"  # one sample: its width is checked where every input's is
    path = args.input
    if path is None:
        raise FnnInputError("input: give a file of inputs (.csv, .npy or IDX) or one sample with --values.")
    if args.label is not None and args.label not in csv_header(path):
        raise FnnInputError(f"--label {args.label!r}: {path} has no column named {args.label!r}; expected one of its header's names {shown_names(csv_header(path))}.")
    return path, path  # named as typed, as the model names a file it reads


def _output_format(out: str) -> str:
    if out == "-":
        return ".csv"
    for extension in _OUTPUT_FORMATS:
        if out.lower().endswith(extension):
            return extension
    raise FnnInputError(f"--out {out}: unknown format; use a file ending in {', '.join(_OUTPUT_FORMATS)}, or '-' for stdout.")


def _prediction_table(model: Model, outputs: np.ndarray) -> tuple[list[str], list[list[Any]], np.ndarray]:
    """``(columns, rows, npy_array)``: the table predict writes."""
    if not model.params.spec.is_classifier:
        columns = ["index"] + (["prediction"] if outputs.shape[1] == 1 else [f"prediction_{j}" for j in range(outputs.shape[1])])
        rows = [[i, *map(float, row)] for i, row in enumerate(outputs)]
        return columns, rows, outputs[:, 0] if outputs.shape[1] == 1 else outputs
    classes, names = classes_from_outputs(outputs), model.output_names(outputs)
    columns = ["index", "class", "class_index"] + [f"p_{name}" for name in names]
    rows = [[i, names[c], int(c), *map(float, p)] for i, (c, p) in enumerate(zip(classes, probabilities(outputs, model.params.spec)))]
    return columns, rows, classes


def _render(extension: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], array: np.ndarray) -> bytes:
    if extension == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()
    if extension == ".json":
        if "class" in columns:
            records = [{"index": r[0], "class": r[1], "class_index": r[2],
                        "probabilities": {c[2:]: p for c, p in zip(columns[3:], r[3:])}} for r in rows]
        else:
            records = [dict(zip(columns, r)) for r in rows]
        return (json.dumps(records, indent=1) + "\n").encode()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[f"{v:.6g}" if isinstance(v, float) else v for v in row] for row in rows])
    return text.getvalue().encode()


def predict_command(args: argparse.Namespace) -> int:
    extension = _output_format(args.out)  # checked before any work
    if args.out != "-" and os.path.lexists(args.out) and not args.overwrite:
        raise FnnInputError(f"--out {args.out}: exists; fnn does not overwrite it unless you add --overwrite.")
    model = load_run(args.model, "model")
    check_scale(args.scale, "--scale")
    batch_size = check_value("batch_size", args.batch_size, FLAG)
    raw, source = _raw_inputs(args, model.params.spec.sizes[0])
    outputs = model.outputs(raw, label=args.label, source=source, scale=args.scale, batch_size=batch_size)
    columns, rows, array = _prediction_table(model, outputs)
    content = _render(extension, columns, rows, array)
    if args.out == "-":
        sys.stdout.write(content.decode())
        sys.stdout.flush()
        return 0
    folder, name = os.path.split(args.out)
    try:
        with beside_runs(args.out, "--out"):
            write_in_folder(folder or ".", name, lambda handle: handle.write(content), overwrite=args.overwrite)
    except FnnInputError as error:
        message = str(error)
        raise FnnInputError(message if message.startswith("--out") else f"--out {args.out}: {message}") from None
    print(f"{len(rows)} predictions written to {args.out}", file=sys.stderr)
    return 0


# -- datasets and plot -------------------------------------------------------------------------------------------


def datasets_command(args: argparse.Namespace) -> int:
    for kind in DATA_KINDS.values():
        if kind.origin == "bundled" and kind.make is not None:
            print(f"bundled    {kind.name:<14} {kind.make()!r}")
    for name in (kind.name for kind in DATA_KINDS.values() if kind.origin == "generated"):
        print(f"generated  {name}")
    for label, fashion in (("fashion-mnist", True), ("mnist", False)):
        try:
            print(f"found      {label:<14} {find_mnist_folder(None, fashion=fashion)}")
        except FnnInputError as error:
            print(f"missing    {label:<14} {error}")
    return 0


def _save_out(figure: Figure, out: str, overwrite: bool) -> str:
    try:
        return plots.save_plot(figure, out, overwrite=overwrite)  # beside runs (save_plot holds their lock)
    except FnnInputError as error:
        message = str(error).replace(f"save_plot {out}:", f"--out {out}:", 1)
        if message.startswith("--out"):
            raise FnnInputError(message) from None
        raise FnnInputError(f"--out {out}: {message}" + (" Add --overwrite to replace it." if "exists" in message else "")) from None


def _with_run_history(folder: str, state: TrainState) -> TrainState:
    """``state`` with the learning curve of every epoch the run trained, from its record: under early stopping the
    checkpoint holds the best epoch's state and history, the record every epoch up to the last. Without a record
    (a run still training), the checkpoint's history."""
    run = RunFolder(folder, "RUN")
    if not run.has_record():
        return state
    return evolve(state, history=History([EpochRecord(**epoch) for epoch in run.read_record()["history"]]))


def _is_sweep(folder: str) -> bool:
    """A folder fnn sweep wrote: its runs/ folder and no checkpoint of its own."""
    return os.path.isdir(os.path.join(folder, "runs")) and not os.path.lexists(os.path.join(folder, CHECKPOINT))


def plot_command(args: argparse.Namespace) -> int:
    plots.require_matplotlib()
    if args.activations:
        if args.folders:
            raise FnnInputError("--activations draws the activation functions alone; give no run folders with it.")
        out = args.out or "activations.png"
        print(f"plot: {_save_out(plots.activation_functions(), out, args.overwrite)}")
        return 0
    if not args.folders:
        raise FnnInputError("RUN: give a run folder (or several to compare them), or --activations.")
    curves = sweep_run_curves(args.folders[0]) if len(args.folders) == 1 else None
    if curves is not None:  # a sweep's run keeps its record only: its learning curves, drawn where --out says
        if not args.out:
            sweep = os.path.dirname(os.path.dirname(os.path.abspath(args.folders[0])))
            raise FnnInputError(f"RUN {args.folders[0]}: a sweep's run record, with no run folder to draw into; give --out FILE.png "
                                f"for its learning curves, or plot the whole sweep: fnn plot {sweep}")
        print(f"plot: {_save_out(curves, args.out, args.overwrite)}")
        return 0
    for folder in args.folders:
        if not os.path.isdir(folder):
            what = "does not exist" if not os.path.lexists(folder) else "is a file"
            raise FnnInputError(f"RUN {folder}: {what}; expected a run folder (with {CHECKPOINT}) that fnn train wrote.")
    if len(args.folders) == 1 and _is_sweep(args.folders[0]):
        if args.out:  # the sweep is only read; save_plot holds the lock of where --out goes
            print(f"plot: {_save_out(plots.sweep_curves(sweep_histories(args.folders[0]), args.band), args.out, args.overwrite)}")
            return 0
        with RunFolder(args.folders[0], "SWEEP").acquire():  # one writer at a time, as for a sweep
            print(f"plot: {write_sweep_plot(args.folders[0], args.band)}")
        return 0
    if len(args.folders) == 1:
        if args.out:
            raise FnnInputError("--out: a single run's plots are written into its folder; --out is for comparisons.")
        folder = args.folders[0]
        run = RunFolder(folder, "RUN")
        with run.acquire():  # one writer at a time, as for training
            model = load_run(folder, "RUN")
            test = _model_data(model, None, folder)
            features = model.prepare_features(np.asarray(test.features)) if model.standardizer is not None else test.features
            confusion = None
            if model.params.spec.is_classifier:
                confusion = confusion_matrix(test.labels, predict_classes(model.params, features), max(test.n_classes, 2))
            prepared = Dataset(features, test.labels, test.class_names, test.name)
            state = evolve(model.state, params=in_target_units(model.params, model.targets))  # outputs in the targets' units
            paths = write_plots(run, _with_run_history(folder, state), prepared, confusion, model.standardizer)
        for written in paths:
            print(f"plot: {written}")
        return 0
    labels = [os.path.basename(os.path.normpath(folder)) for folder in args.folders]
    if len(set(labels)) != len(labels):
        labels = [os.path.normpath(folder) for folder in args.folders]
    histories = {label: _with_run_history(folder, load_run(folder, "RUN").state).history for label, folder in zip(labels, args.folders)}
    out = args.out or "compare.png"
    print(f"plot: {_save_out(plots.compare_runs(histories), out, args.overwrite)}")
    return 0

