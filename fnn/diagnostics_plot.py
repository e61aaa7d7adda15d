"""The per-epoch diagnostics of a run drawn as one figure (matplotlib, the optional extra ``fnn[plots]``).

Four panels over the epochs, one line per layer: the gradient norm, the update-to-weight ratio (with the usual
~1e-3 marked), the dead or saturated fraction of each hidden layer's units, and the learning rate. Like every
figure of :mod:`fnn.plots` it is a ``Figure`` built without pyplot; :func:`fnn.plots.save_plot` writes it.
"""

from .diagnostics import USUAL_UPDATE_RATIO, diagnostics_series
from .errors import FnnInputError
from .plots import _figure

__all__ = ["diagnostics_plot", "has_diagnostics"]


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
    figure = _figure(figsize=(11, 7))
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
