"""Plots of a run, drawn with matplotlib (the optional extra ``fnn[plots]``) and written as PNG files.

Each function draws one figure from plain values (a history, a confusion matrix, params and data) and writes it
to ``path``; none keeps state or shows a window.
"""

import numpy as np

from .metrics import predict, predict_classes

__all__ = ["learning_curves", "confusion_matrix_plot", "decision_boundary", "misclassified_grid"]


def _pyplot():
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise ModuleNotFoundError("Plots need matplotlib: pip install 'fnn[plots]'.") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def learning_curves(history, path):
    """Training and validation loss, and accuracy (or R^2), per epoch."""
    plt = _pyplot()
    epochs = history.column("epoch")
    metric = "accuracy" if any(v is not None for v in history.column("accuracy")) else "r2"
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, name in ((left, "loss"), (right, metric)):
        axis.plot(epochs, history.column(name), label=f"train {name}")
        validation = history.column(f"val_{name}")
        if any(v is not None for v in validation):
            axis.plot(epochs, validation, label=f"validation {name}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend()
    return _save(fig, path)


def confusion_matrix_plot(matrix, class_names, path):
    """A confusion matrix as a heat map with counts (rows: true class, columns: predicted)."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    size = max(4, 0.6 * len(matrix) + 2)
    fig, axis = plt.subplots(figsize=(size, size))
    axis.imshow(matrix, cmap="Blues")
    names = list(class_names) or [str(i) for i in range(len(matrix))]
    axis.set_xticks(range(len(matrix)), names, rotation=45, ha="right")
    axis.set_yticks(range(len(matrix)), names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        axis.text(j, i, str(count), ha="center", va="center", color="white" if count > threshold else "black", fontsize=8)
    return _save(fig, path)


def decision_boundary(params, features, labels, path, resolution=200):
    """The predicted class over the plane of a 2-D classifier, with the data on top."""
    plt = _pyplot()
    features = np.asarray(features)
    low, high = features.min(axis=0) - 0.5, features.max(axis=0) + 0.5
    xs, ys = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([xs.ravel(), ys.ravel()]).astype(params.dtype)
    outputs = predict(params, grid)
    surface = outputs[:, 0] if outputs.shape[1] == 1 else outputs.argmax(axis=1)
    fig, axis = plt.subplots(figsize=(6, 5))
    axis.contourf(xs, ys, surface.reshape(xs.shape), levels=20 if outputs.shape[1] == 1 else None, cmap="RdBu", alpha=0.6)
    axis.scatter(features[:, 0], features[:, 1], c=labels, cmap="RdBu", edgecolors="k", s=12)
    axis.set_title("decision boundary")
    return _save(fig, path)


def misclassified_grid(params, features, labels, class_names, path, image_shape, count=25):
    """Up to ``count`` misclassified images with their true and predicted classes."""
    plt = _pyplot()
    predicted = predict_classes(params, features)
    wrong = np.flatnonzero(predicted != labels)[:count]
    columns = 5
    rows = max(1, -(-len(wrong) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2.2 * rows), squeeze=False)
    names = list(class_names) or [str(i) for i in range(int(max(labels.max(), predicted.max())) + 1)]
    for axis in axes.ravel():
        axis.axis("off")
    for axis, index in zip(axes.ravel(), wrong):
        axis.imshow(np.asarray(features[index : index + 1]).reshape(image_shape), cmap="gray_r")
        axis.set_title(f"true {names[labels[index]]}\npred {names[predicted[index]]}", fontsize=8)
    if not len(wrong):
        axes[0, 0].set_title("no misclassified images")
    return _save(fig, path)
