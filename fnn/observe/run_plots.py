"""The per-epoch diagnostics of a run drawn as one figure (matplotlib, the optional extra ``fnn[plots]``).

Four panels over the epochs, one line per layer: the gradient norm, the update-to-weight ratio (with the usual
~1e-3 marked), the dead or saturated fraction of each hidden layer's units, and the learning rate. Like every
figure of :mod:`fnn.observe.plots` it is a ``Figure`` built without pyplot; :func:`fnn.observe.plots.save_plot` writes it.
"""

import numpy as np

from fnn.errors import FnnInputError
from fnn.observe import plots
from fnn.observe.advice import diagnostics_series
from fnn.store.run_folder import write_run_file
from fnn.train.diagnostics import USUAL_UPDATE_RATIO

__all__ = ["diagnostics_plot", "has_diagnostics", "write_plots", "unstandardize"]


def _layers(series, quantity):
    return sorted(
        (int(name.split("/")[0][len("layer") :]), values)
        for name, values in series.items()
        if name.endswith("/" + quantity) and any(v is not None for v in values)
    )


def has_diagnostics(history):
    """Whether some epoch of ``history`` (a ``History`` or a run record's epoch dicts) carries diagnostics."""
    return bool(diagnostics_series(history)[0])


def diagnostics_plot(history):
    """The figure of the diagnostics of ``history`` (a ``History`` or a run record's epoch dicts)."""
    epochs, series = diagnostics_series(history)
    if not epochs:
        raise FnnInputError("This run recorded no diagnostics to plot; train with diagnostics on (fnn train --diagnostics).")
    figure = plots.new_figure(figsize=(11, 7))
    axes = figure.subplots(2, 2)
    (grads, ratios), (units, rates) = axes
    for layer, values in _layers(series, "grad_norm"):
        grads.plot(epochs, values, marker=".", label=f"layer {layer}")
    grads.set(title="gradient norm ||dL/dw|| (mean over sampled steps)", yscale="log")
    for layer, values in _layers(series, "update_ratio"):
        ratios.plot(epochs, values, marker=".", label=f"layer {layer}")
    ratios.axhline(USUAL_UPDATE_RATIO, color="grey", linestyle="--", label=f"usual ~{USUAL_UPDATE_RATIO:g}")
    ratios.set(title="update ratio ||dw|| / ||w|| per step", yscale="log")
    for quantity, style in (("dead_fraction", "-"), ("saturated_fraction", ":")):
        for layer, values in _layers(series, quantity):
            units.plot(epochs, values, style, marker=".", label=f"layer {layer} {quantity.split('_')[0]}")
    units.set(title="dead (ReLU family) / saturated (sigmoid, tanh) units", ylim=(-0.02, 1.02))
    for name, label in (("lr_first", "first step"), ("lr_last", "last step")):
        if name in series:
            rates.plot(epochs, series[name], marker=".", label=label)
    rates.set(title="learning rate")
    for axis in axes.ravel():
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    return figure


def _image_shape(n_features):
    side = round(np.sqrt(n_features))
    return (side, side) if side * side == n_features and side >= 8 else None


def unstandardize(features, standardizer):
    """Features back in the data's own units: ``x * scale + mean`` (``features`` itself without a standardiser)."""
    features = np.asarray(features)
    return features if standardizer is None else features * standardizer.scale + standardizer.mean


def write_plots(folder, state, test, confusion=None, standardizer=None):
    """Learning curves (and the diagnostics, when the run recorded them); for a classifier its confusion matrix, plus a decision boundary for 2-D data or a grid of
    misclassified images for image data; for a regression network of one input, the fitted curve. Returns the
    paths written.

    ``test`` holds the features as the network takes them; with the run's ``standardizer`` the boundary and the
    curve are drawn in the data's own units.
    """
    plots.require_matplotlib()

    def save(figure, name):
        return write_run_file(folder, name, lambda handle: plots.save_figure(figure, handle))

    params = state.params
    written = [save(plots.learning_curves(state.history), "learning_curves.png")]
    if has_diagnostics(state.history):
        written.append(save(diagnostics_plot(state.history), "diagnostics.png"))
    raw = unstandardize(test.features, standardizer) if test.n_features <= 2 else None
    if params.spec.is_classifier:
        if confusion is not None:
            written.append(save(plots.confusion_matrix_plot(confusion, test.class_names), "confusion_matrix.png"))
        if test.n_features == 2:
            figure = plots.decision_boundary(params, raw, test.labels, test.class_names, standardizer)
            written.append(save(figure, "decision_boundary.png"))
        shape = _image_shape(test.n_features)
        if shape is not None:
            figure = plots.misclassified_grid(params, test.features, test.labels, test.class_names, shape)
            written.append(save(figure, "misclassified.png"))
    elif test.n_features == 1:
        written.append(save(plots.fitted_curve(params, raw, test.labels, standardizer), "fitted_curve.png"))
    return written
