"""``fnn evaluate``, ``fnn predict``, ``fnn plot`` and ``fnn datasets``: using saved models and finding data."""

import json

import numpy as np

from ..data.bundled import BUNDLED
from ..data.csv import read_table
from ..data.dataset import Dataset
from ..data.idx import read_idx
from ..data.mnist import find_mnist_folder
from ..data.sources import GENERATED, load_train_test
from ..errors import FnnInputError
from ..metrics import classes_from_outputs, confusion_matrix, evaluate, predict, predict_classes
from ..run_folder import load_model, read_record, write_plots
from .common import add_command

__all__ = ["add_arguments", "evaluate_command", "predict_command", "datasets_command", "plot_command"]


def add_arguments(commands):
    evaluate_cmd = add_command(commands, "evaluate", "evaluate a saved model on a data set: accuracy, loss, confusion matrix",
                           "examples:\n  fnn evaluate runs/a                 # on the test part of the data it was trained on\n"
                           "  fnn evaluate runs/a --data mnist:/data/mnist --json")
    evaluate_cmd.add_argument("model", help="run folder or checkpoint .npz")
    evaluate_cmd.add_argument("--data", help="data set name (default: the one the model was trained on)")
    evaluate_cmd.add_argument("--json", action="store_true", help="print the metrics as one JSON object")

    predict_cmd = add_command(commands, "predict", "predict classes (or values) for new inputs with a saved model",
                          "examples:\n  fnn predict runs/a inputs.csv --out predictions.csv\n"
                          "  fnn predict runs/fm t10k-images-idx3-ubyte.gz --out classes.npy   # IDX images are scaled by 1/255\n"
                          "  fnn predict runs/a batch.npy --scale 16")
    predict_cmd.add_argument("model", help="run folder or checkpoint .npz")
    predict_cmd.add_argument("input", help="a .csv (numeric columns; a 'label' column is ignored), .npy, or IDX file")
    predict_cmd.add_argument("--out", default="predictions.csv", help="a .csv (index, prediction, name, outputs) or .npy file")
    predict_cmd.add_argument("--scale", type=float, default=None, help="divide inputs by this first (default: 255 for IDX, 1 otherwise)")

    add_command(commands, "datasets", "list the data sets fnn knows and which are found on this machine", "example:\n  fnn datasets")
    plot_cmd = add_command(commands, "plot", "redraw the plots of a finished run folder", "example:\n  fnn plot runs/a")
    plot_cmd.add_argument("folder", help="run folder")


def _model_data(model, name):
    config = model.config
    data = name or config.get("data")
    if not data:
        raise FnnInputError("This checkpoint does not say what data it was trained on; pass --data.")
    _, test = load_train_test(data, config.get("seed", 0), config.get("test_fraction", 0.2), model.params.dtype)
    return test


def evaluate_command(args):
    model = load_model(args.model)
    test = _model_data(model, args.data)
    features = test.features if model.standardizer is None else model.prepare_features(np.asarray(test.features))
    metrics = evaluate(model.params, features, test.labels)
    if model.params.spec.is_classifier:
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


def predict_command(args):
    model = load_model(args.model)
    n_features = model.params.spec.sizes[0]
    features, divisor = _read_inputs(args.input, n_features)
    if features.shape[1] != n_features:
        raise FnnInputError(f"{args.input}: {features.shape[1]} input columns, but the model takes {n_features}.")
    features = features / (args.scale if args.scale is not None else divisor)
    outputs = predict(model.params, model.prepare_features(features))
    classifier = model.params.spec.is_classifier
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


def datasets_command(args):
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


def plot_command(args):
    model = load_model(args.folder)
    record = read_record(args.folder)
    test = _model_data(model, None)
    if model.standardizer is not None:
        test = Dataset(model.prepare_features(np.asarray(test.features)), test.labels, test.class_names, test.name)
    for written in write_plots(args.folder, model.state, test, record["final_metrics"].get("confusion_matrix")):
        print(f"plot: {written}")
    return 0
