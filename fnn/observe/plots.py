"""Figures of networks and runs, drawn with matplotlib (the optional extra ``fnn[plots]``).

Each function returns a ``matplotlib.figure.Figure`` built without pyplot (no global figure state, no window), so
a notebook shows it, a test reads its axes, and :func:`save_plot` writes it as a PNG atomically. Data are drawn
in their own units: give the run's standardiser and the network sees standardised inputs while the axes show the
original ones.

>>> figure = activation_functions(["relu", "tanh"])
>>> [axis.get_title() for axis in figure.axes]
['relu', 'tanh']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from fnn.core.activations import get_activation
from fnn.core.metrics import classes_from_outputs, predict
from fnn.core.params import Params
from fnn.data.lazy import ScaledRows
from fnn.data.transforms import Standardizer, standardize
from fnn.errors import FnnInputError
from fnn.store.run_folder import beside_runs, write_in_folder
from fnn.train.state import History

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
"""One clearly different colour per class (matplotlib's tab10), reused cyclically beyond ten classes."""

_TUTORIAL_ACTIVATIONS = ("identity", "binary_step", "sigmoid", "tanh", "arctan", "relu", "prelu", "elu", "softplus")
"""The activations the seed tutorials tabulate with their derivatives (PReLU with slope 0.25)."""


def require_matplotlib() -> None:
    """Raise ``ModuleNotFoundError`` naming the extra to install when matplotlib is missing; call it before any
    long work whose end is a plot."""
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        raise ModuleNotFoundError("plots need matplotlib, the extra fnn[plots]: pip install 'fnn[plots]'") from None


def new_figure(**options: Any) -> Figure:
    """A constrained-layout ``Figure`` made without pyplot; ``options`` are ``Figure``'s (e.g. ``figsize``)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **options)


def _colour(index: int) -> str:
    return CLASS_COLOURS[int(index) % len(CLASS_COLOURS)]


def _names(class_names: Sequence[str], count: int) -> list[str]:
    return list(class_names) if class_names else [str(i) for i in range(count)]


def _chosen_metrics(history: History) -> list[str]:
    """The names of the metrics the run chose (``f1_macro`` for ``val_f1_macro``), in the order first recorded."""
    names: dict[str, None] = {}
    for record in history:
        names.update((name.removeprefix("val_"), None) for name in record.metrics)
    return list(names)


def learning_curves(history: History) -> Figure:
    """Loss and accuracy (or R^2) per epoch, training and validation (when recorded), first to last epoch, and
    one panel more per metric the run chose (``fit(..., metrics=[...])``).

    >>> history = fnn.History([fnn.EpochRecord(1, 10, 0.1, 0.9, accuracy=0.6), fnn.EpochRecord(2, 20, 0.1, 0.5, accuracy=0.8)])
    >>> [axis.get_ylabel() for axis in learning_curves(history).axes]
    ['loss', 'accuracy']
    >>> chosen = fnn.History([fnn.EpochRecord(1, 10, 0.1, 0.9, accuracy=0.6, metrics={"val_roc_auc": 0.7})])
    >>> [axis.get_ylabel() for axis in learning_curves(chosen).axes]
    ['loss', 'accuracy', 'roc_auc']
    """
    epochs = history.column("epoch")
    metric = "accuracy" if any(v is not None for v in history.column("accuracy")) else "r2"
    panels = ["loss", metric, *_chosen_metrics(history)]
    figure = new_figure(figsize=(5 * len(panels), 4))
    axes = figure.subplots(1, len(panels))
    for axis, name in zip(axes, panels):
        train = history.column(name)
        if any(v is not None for v in train):
            axis.plot(epochs, train, marker="." if len(epochs) < 30 else None, label=f"train {name}")
        validation = history.column(f"val_{name}")
        if any(v is not None for v in validation):
            axis.plot(epochs, validation, marker="." if len(epochs) < 30 else None, label=f"validation {name}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        if epochs:
            axis.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        axis.grid(alpha=0.3)
        axis.legend()
    has_validation = any(v is not None for v in history.column("val_loss"))
    figure.suptitle(f"{len(epochs)} epochs" + ("" if has_validation else " (no validation data recorded)"))
    return figure


def compare_runs(histories: Mapping[str, History], metric: str | None = None) -> Figure:
    """Several runs' learning curves on one chart: ``histories`` maps a label (e.g. the run folder's name) to a
    history. Validation curves are solid, training curves dashed, one colour per run; ``metric`` is the right
    panel's metric (default: accuracy, or R^2 for regression runs).

    >>> history = fnn.History([fnn.EpochRecord(1, 10, 0.1, 0.9, r2=0.2), fnn.EpochRecord(2, 20, 0.1, 0.5, r2=0.6)])
    >>> figure = compare_runs({"a": history, "b": history})
    >>> figure.axes[1].get_ylabel(), figure.axes[0].get_legend_handles_labels()[1]
    ('r2', ['a train', 'b train'])
    """
    figure = new_figure(figsize=(11, 4.5))
    axes = figure.subplots(1, 2)
    histories = dict(histories)
    if metric is None:
        metric = "accuracy" if all(any(v is not None for v in h.column("accuracy")) for h in histories.values()) else "r2"
    for index, (label, history) in enumerate(histories.items()):
        epochs = history.column("epoch")
        for axis, name in zip(axes, ("loss", metric)):
            axis.plot(epochs, history.column(name), linestyle="--", color=_colour(index), label=f"{label} train")
            validation = history.column(f"val_{name}")
            if any(v is not None for v in validation):
                axis.plot(epochs, validation, color=_colour(index), label=f"{label} validation")
    for axis, name in zip(axes, ("loss", metric)):
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"{len(histories)} runs compared (dashed: train, solid: validation)")
    return figure


BANDS = ("minmax", "std")
"""The bands :func:`sweep_curves` draws around the mean over seeds: min to max, or the mean +- one sample std."""


def _mean_band(rows: np.ndarray, band: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds (the rows) per epoch, and the band's low and high edges."""
    mean = rows.mean(axis=0)
    if band == "minmax":
        return mean, rows.min(axis=0), rows.max(axis=0)
    std = rows.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros_like(mean)
    return mean, mean - std, mean + std


def sweep_curves(groups: Mapping[str, Sequence[History]], band: str = "minmax") -> Figure:
    """A sweep's learning curves, one colour per configuration: ``groups`` maps a configuration's label to its
    seeds' histories. The validation loss and accuracy (or R^2) are drawn as the mean over seeds with a shaded
    band (``band``: ``"minmax"``, min to max over seeds, or ``"std"``, the mean +- one sample standard
    deviation), the training loss's mean dashed; epochs run to the shortest of a configuration's seeds.

    >>> a = fnn.History([fnn.EpochRecord(1, 9, 0.1, 0.8, val_loss=0.9, val_accuracy=0.5), fnn.EpochRecord(2, 18, 0.1, 0.6, val_loss=0.7, val_accuracy=0.7)])
    >>> b = fnn.History([fnn.EpochRecord(1, 9, 0.1, 0.6, val_loss=0.5, val_accuracy=0.6), fnn.EpochRecord(2, 18, 0.1, 0.4, val_loss=0.3, val_accuracy=0.9)])
    >>> figure = sweep_curves({"lr=0.1": [a, b]})
    >>> figure.axes[0].lines[0].get_ydata().tolist(), figure.axes[1].get_ylabel()
    ([0.7, 0.5], 'val accuracy')
    """
    if band not in BANDS:
        raise FnnInputError(f"band must be one of {', '.join(BANDS)}; got {band!r}.")
    histories = [h for own in groups.values() for h in own]
    metric = "accuracy" if histories and all(any(v is not None for v in h.column("val_accuracy")) for h in histories) else "r2"
    figure = new_figure(figsize=(11, 4.5))
    axes = figure.subplots(1, 2)
    for index, (label, own) in enumerate(groups.items()):
        length = min(len(h.column("epoch")) for h in own)
        epochs = np.asarray(own[0].column("epoch")[:length])
        for axis, name in zip(axes, ("loss", metric)):
            validation = [h.column(f"val_{name}")[:length] for h in own]
            if any(v is None for row in validation for v in row):
                continue
            mean, low, high = _mean_band(np.asarray(validation, dtype=np.float64), band)
            axis.plot(epochs, mean, color=_colour(index), marker="." if length < 30 else None, label=f"{label} ({len(own)} seeds)")
            axis.fill_between(epochs, low, high, color=_colour(index), alpha=0.2, linewidth=0)
        train = np.asarray([h.column("loss")[:length] for h in own], dtype=np.float64)
        axes[0].plot(epochs, train.mean(axis=0), linestyle="--", color=_colour(index))
    for axis, name in zip(axes, ("loss", metric)):
        axis.set_xlabel("epoch")
        axis.set_ylabel(f"val {name}")
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    shown = "min to max" if band == "minmax" else "mean +- std"
    figure.suptitle(f"{len(groups)} configurations: validation mean over seeds, band {shown} (dashed: train loss mean)")
    return figure


def confusion_matrix_plot(matrix: np.ndarray | Sequence[Sequence[int]], class_names: Sequence[str] = ()) -> Figure:
    """A confusion matrix as a heat map with counts (rows: true class, columns: predicted).

    >>> confusion_matrix_plot([[5, 1], [0, 4]], ("cat", "dog")).axes[0].get_title()
    'confusion matrix: 9 of 10 right'
    """
    matrix = np.asarray(matrix)
    size = max(4, 0.6 * len(matrix) + 2)
    figure = new_figure(figsize=(size, size))
    axis = figure.subplots()
    axis.imshow(matrix, cmap="Blues")
    names = _names(class_names, len(matrix))
    axis.set_xticks(range(len(matrix)), names, rotation=45, ha="right")
    axis.set_yticks(range(len(matrix)), names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        axis.text(j, i, str(count), ha="center", va="center", color="white" if count > threshold else "black", fontsize=8)
    axis.set_title(f"confusion matrix: {int(np.trace(matrix))} of {int(matrix.sum())} right")
    return figure


def _network_inputs(params: Params, features: np.ndarray, standardizer: Standardizer | None) -> np.ndarray:
    features = np.asarray(features, dtype=params.dtype)
    return standardize(features, standardizer).astype(params.dtype) if standardizer is not None else features


def decision_boundary(
    params: Params,
    features: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str] = (),
    standardizer: Standardizer | None = None,
    feature_names: tuple[str, str] | None = None,
    resolution: int = 250,
) -> Figure:
    """The predicted class over the plane of a 2-input classifier, the points coloured by their true class and
    the misclassified ones crossed out. ``features`` are in the data's own units; ``standardizer`` (the run's)
    is applied to what the network sees, so the axes keep those units.

    >>> params = fnn.init_params(fnn.network([2, 4, 2], activation="tanh"), seed=0)
    >>> x, y = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]]), np.array([0, 1, 1])
    >>> decision_boundary(params, x, y, resolution=20).axes[0].get_title()
    'decision boundary: 1 of 3 right'
    """
    features = np.asarray(features)
    labels = np.asarray(labels).reshape(len(features), -1)
    true = labels[:, 0].astype(np.int64) if labels.shape[1] == 1 else labels.argmax(axis=1)
    low, high = features.min(axis=0), features.max(axis=0)
    margin = 0.08 * np.maximum(high - low, 1e-6)
    xs, ys = np.meshgrid(np.linspace(low[0] - margin[0], high[0] + margin[0], resolution),
                         np.linspace(low[1] - margin[1], high[1] + margin[1], resolution))
    grid = np.column_stack([xs.ravel(), ys.ravel()])
    outputs = predict(params, _network_inputs(params, grid, standardizer))
    surface = classes_from_outputs(outputs).reshape(xs.shape)
    predicted = classes_from_outputs(predict(params, _network_inputs(params, features, standardizer)))
    n_classes = max(outputs.shape[1], 2)
    names = _names(class_names, n_classes)

    from matplotlib.colors import ListedColormap

    figure = new_figure(figsize=(6.5, 5.5))
    axis = figure.subplots()
    regions = ListedColormap([_colour(k) for k in range(n_classes)])
    axis.contourf(xs, ys, surface, levels=np.arange(n_classes + 1) - 0.5, cmap=regions, alpha=0.22)
    axis.contour(xs, ys, surface, levels=np.arange(n_classes) + 0.5, colors="k", linewidths=0.8)
    for k in range(n_classes):
        mine = true == k
        axis.scatter(features[mine, 0], features[mine, 1], s=16, color=_colour(k), edgecolors="white", linewidths=0.4,
                     label=f"{names[k]} ({int(mine.sum())})")
    wrong = predicted != true
    axis.scatter(features[wrong, 0], features[wrong, 1], s=48, marker="x", color="black", linewidths=1.2,
                 label=f"misclassified ({int(wrong.sum())})")
    first, second = feature_names or ("feature 1", "feature 2")
    axis.set_xlabel(first)
    axis.set_ylabel(second)
    axis.set_title(f"decision boundary: {int((~wrong).sum())} of {len(true)} right")
    axis.legend(loc="best", fontsize=8, framealpha=0.8)
    return figure


def fitted_curve(
    params: Params,
    features: np.ndarray,
    targets: np.ndarray,
    standardizer: Standardizer | None = None,
    feature_name: str = "x",
    target_name: str = "y",
    points: int = 400,
) -> Figure:
    """A regression network of one input: the data and the network's curve over the data's range, in the data's
    own units.

    >>> params = fnn.init_params(fnn.network([1, 4, 1], activation="tanh", output="identity"), seed=0)
    >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> fitted_curve(params, x, np.sin(3 * x), points=50).axes[0].get_xlabel()
    'x'
    """
    features = np.asarray(features).reshape(len(features), -1)
    targets = np.asarray(targets, dtype=np.float64).reshape(len(features), -1)[:, 0]
    xs = np.linspace(features.min(), features.max(), points).reshape(-1, 1)
    curve = predict(params, _network_inputs(params, xs, standardizer))[:, 0]
    fitted = predict(params, _network_inputs(params, features, standardizer))[:, 0].astype(np.float64)
    r2 = 1 - np.sum((targets - fitted) ** 2) / max(np.sum((targets - targets.mean()) ** 2), np.finfo(np.float64).tiny)
    figure = new_figure(figsize=(7, 4.5))
    axis = figure.subplots()
    axis.scatter(features[:, 0], targets, s=10, color="#7f7f7f", alpha=0.7, label=f"data ({len(targets)})")
    axis.plot(xs[:, 0], curve, color="#d62728", linewidth=2, label="network")
    axis.set_xlabel(feature_name)
    axis.set_ylabel(target_name)
    axis.set_title(f"fitted curve: R^2 {r2:.3f}")
    axis.grid(alpha=0.3)
    axis.legend()
    return figure


def misclassified_grid(
    params: Params,
    features: np.ndarray | ScaledRows,
    labels: np.ndarray,
    class_names: Sequence[str],
    image_shape: tuple[int, int],
    count: int = 25,
) -> Figure:
    """Up to ``count`` misclassified images with their true and predicted classes.

    >>> digits = fnn.data.digits()
    >>> params = fnn.init_params(fnn.network([64, 10]), seed=0)
    >>> figure = misclassified_grid(params, digits.features, digits.labels, (), (8, 8), count=3)
    >>> print(figure.axes[0].get_title())
    true 0
    pred 2
    """
    labels = np.asarray(labels)
    predicted = classes_from_outputs(predict(params, features))
    wrong = np.flatnonzero(predicted != labels)[:count]
    columns = 5
    rows = max(1, -(-len(wrong) // columns))
    figure = new_figure(figsize=(2 * columns, 2.2 * rows))
    axes = np.atleast_2d(figure.subplots(rows, columns, squeeze=False))
    names = _names(class_names, int(max(labels.max(), predicted.max())) + 1)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, index in zip(axes.ravel(), wrong):
        axis.imshow(np.asarray(features[index : index + 1]).reshape(image_shape), cmap="gray_r")
        axis.set_title(f"true {names[labels[index]]}\npred {names[predicted[index]]}", fontsize=8)
    if not len(wrong):
        axes[0, 0].set_title("no misclassified images")
    return figure


def activation_functions(names: Sequence[str] = _TUTORIAL_ACTIVATIONS, low: float = -5.0, high: float = 5.0) -> Figure:
    """Each activation (solid) and its derivative (dashed) over ``[low, high]``, one panel per activation, as the
    tutorials tabulate them. The derivative is fnn's own: ReLU's is 0 at 0, the binary step's 0 everywhere.

    >>> [axis.get_title() for axis in activation_functions(["sigmoid", "elu"]).axes]
    ['sigmoid', 'elu']
    """
    activations = [get_activation("prelu:0.25" if name == "prelu" else name, "activation_functions", "names") for name in names]
    columns = min(3, len(activations))
    rows = -(-len(activations) // columns)
    figure = new_figure(figsize=(3.6 * columns, 2.8 * rows))
    axes = np.asarray(figure.subplots(rows, columns, squeeze=False)).ravel()
    z = np.linspace(low, high, 1001)
    for axis, activation in zip(axes, activations):
        a = activation(z.reshape(1, -1))
        derivative = activation.backward(z.reshape(1, -1), a, np.ones((1, len(z))))
        axis.plot(z, a[0], color="#1f77b4", label="f(z)")
        axis.plot(z, derivative[0], color="#ff7f0e", linestyle="--", label="f'(z)")
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.axvline(0, color="grey", linewidth=0.5)
        axis.set_title(activation.name)
        axis.set_xlabel("z")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    for axis in axes[len(activations):]:
        figure.delaxes(axis)
    return figure


def save_figure(figure: Figure, target: str | os.PathLike[str] | IO[bytes], dpi: int = 100) -> None:
    """Write ``figure`` as PNG to ``target``, a path or an open binary file."""
    figure.savefig(target, format="png", dpi=dpi)


def save_plot(figure: Figure, path: str | os.PathLike[str], overwrite: bool = False, dpi: int = 100) -> str:
    """Write ``figure`` to ``path`` as PNG atomically, never through a symbolic link, and over an existing file
    only with ``overwrite=True``; into a run folder as one of its writers, never over a run's or a sweep's own
    files (:func:`fnn.store.run_folder.beside_runs`). Returns the path.

    >>> import tempfile
    >>> path = save_plot(activation_functions(["relu"]), os.path.join(tempfile.mkdtemp(), "relu.png"))
    >>> open(path, "rb").read(4)[1:]
    b'PNG'
    """
    path = os.fspath(path)
    with beside_runs(path, "save_plot"):
        return write_in_folder(os.path.dirname(path) or ".", os.path.basename(path), lambda handle: save_figure(figure, handle, dpi), overwrite=overwrite)
