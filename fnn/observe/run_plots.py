"""The per-epoch diagnostics of a run drawn as one figure (matplotlib, the optional extra ``fnn[plots]``), the
plots written into a run folder, and a sweep folder's learning curves (:func:`sweep_histories`).

Four panels over the epochs, one line per layer: the gradient norm, the update-to-weight ratio (with the usual
~1e-3 marked), the dead or saturated fraction of each hidden layer's units, and the learning rate. Like every
figure of :mod:`fnn.observe.plots` it is a ``Figure`` built without pyplot; :func:`fnn.observe.plots.save_plot` writes it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fnn.data.dataset import Dataset
from fnn.data.lazy import ScaledRows
from fnn.data.transforms import Standardizer
from fnn.errors import FnnInputError
from fnn.observe import plots
from fnn.observe.advice import diagnostics_series
from fnn.run.stacks import read_ledger, sweep_entries, sweep_record
from fnn.run.sweep import sweep_record_file
from fnn.store.layout import RECORD
from fnn.store.run_folder import RunFolder, beside_runs, write_in_folder
from fnn.train.diagnostics import USUAL_UPDATE_RATIO
from fnn.train.state import EpochRecord, History, TrainState

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_Epochs = Iterable[EpochRecord | Mapping[str, Any]]


def _layers(series: dict[str, list[float | None]], quantity: str) -> list[tuple[int, list[float | None]]]:
    return sorted(
        (int(name.split("/")[0][len("layer") :]), values)
        for name, values in series.items()
        if name.endswith("/" + quantity) and any(v is not None for v in values)
    )


def has_diagnostics(history: _Epochs) -> bool:
    """Whether some epoch of ``history`` (a ``History`` or a run record's epoch dicts) carries diagnostics."""
    return bool(diagnostics_series(history)[0])


def diagnostics_plot(history: _Epochs) -> Figure:
    """The figure of the diagnostics of ``history`` (a ``History`` or a run record's epoch dicts).

    >>> layer = {"layer": 1, "activation": "relu", "grad_norm": 0.5, "grad_norm_max": 0.7, "weight_norm": 3.0,
    ...          "update_ratio": 1e-3, "dead_fraction": 0.1, "saturated_fraction": None}
    >>> d = {"lr_first": 0.1, "lr_last": 0.1, "steps": 4, "samples": 90, "sampled_steps": 1, "layers": [layer]}
    >>> figure = diagnostics_plot([{"epoch": 1, "diagnostics": d}, {"epoch": 2, "diagnostics": d}])
    >>> [axis.get_title() for axis in figure.axes][3]
    'learning rate'
    """
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


def _image_shape(n_features: int) -> tuple[int, int] | None:
    side = round(np.sqrt(n_features))
    return (side, side) if side * side == n_features and side >= 8 else None


def _unstandardize(features: np.ndarray | ScaledRows, standardizer: Standardizer | None) -> np.ndarray:
    """Features back in the data's own units: ``x * scale + mean`` (``features`` itself without a standardiser)."""
    features = np.asarray(features)
    return features if standardizer is None else features * standardizer.scale + standardizer.mean


def write_plots(
    folder: str | os.PathLike[str] | RunFolder,
    state: TrainState,
    test: Dataset,
    confusion: np.ndarray | None = None,
    standardizer: Standardizer | None = None,
) -> list[str]:
    """Learning curves (and the diagnostics, when the run recorded them); for a classifier its confusion matrix,
    plus a decision boundary for 2-D data or a grid of misclassified images for image data; for a regression
    network of one input, the fitted curve. Returns the paths written. Into a claimed :class:`RunFolder` they are
    written where its run writes (:meth:`RunFolder.place`), so the run's record commits them: a resumed or
    overwritten run's figures replace the old ones in its commit, and a run that never commits leaves the old ones.

    Into a folder given by its path, a run's or a sweep's figures are refused (:func:`~fnn.store.run_folder.beside_runs`):
    give its claimed or acquired :class:`RunFolder`.

    ``test`` holds the features as the network takes them; with the run's ``standardizer`` the boundary and the
    curve are drawn in the data's own units.

    >>> import os, tempfile
    >>> data = fnn.data.moons(60, seed=0)
    >>> state = fnn.fit(fnn.init_params(fnn.network([2, 4, 2]), seed=0), data, epochs=2, lr=0.1, batch_size=20, seed=0)
    >>> confusion = fnn.confusion_matrix(data.labels, fnn.predict_classes(state.params, data.features), 2)
    >>> [os.path.basename(path) for path in write_plots(tempfile.mkdtemp(), state, data, confusion)]
    ['learning_curves.png', 'confusion_matrix.png', 'decision_boundary.png']
    """
    plots.require_matplotlib()

    def save(figure: Figure, name: str) -> str:
        if isinstance(folder, RunFolder):
            folder.write(folder.place(name), lambda handle: plots.save_figure(figure, handle))
            return folder.file(name)
        with beside_runs(os.path.join(folder, name), "write_plots"):
            return write_in_folder(folder, name, lambda handle: plots.save_figure(figure, handle))

    params = state.params
    written = [save(plots.learning_curves(state.history), "learning_curves.png")]
    if has_diagnostics(state.history):
        written.append(save(diagnostics_plot(state.history), "diagnostics.png"))
    if params.spec.is_classifier:
        if confusion is not None:
            written.append(save(plots.confusion_matrix_plot(confusion, test.class_names), "confusion_matrix.png"))
        if test.n_features == 2:
            figure = plots.decision_boundary(params, _unstandardize(test.features, standardizer), test.labels, test.class_names, standardizer)
            written.append(save(figure, "decision_boundary.png"))
        shape = _image_shape(test.n_features)
        if shape is not None:
            figure = plots.misclassified_grid(params, test.features, test.labels, test.class_names, shape)
            written.append(save(figure, "misclassified.png"))
    elif test.n_features == 1:
        curve = plots.fitted_curve(params, _unstandardize(test.features, standardizer), test.labels, standardizer)
        written.append(save(curve, "fitted_curve.png"))
    return written


def _sweep_records(folder: RunFolder) -> list[dict[str, Any]]:
    """The run records of a sweep folder (:func:`~fnn.run.stacks.sweep_entries`; the user's files in its ``runs/``
    are left alone): ``runs/<run_id>.json`` (a sweep's, bound to its ledger) and ``runs/<run_id>/record.json`` (a
    halving sweep's run folders)."""
    ledger = read_ledger(folder)  # each record bound to the sweep's ledger: one changed since is refused, naming it
    records = [sweep_record(folder, name, ledger) for name in sweep_entries(folder)
               if name.endswith(".json") or folder.exists(f"runs/{name}/{RECORD}")]
    if not records:
        raise FnnInputError(f"{folder.argument} {folder.path}: no run records in its runs/ folder (expected a folder fnn sweep wrote).")
    return records


def sweep_run_curves(path: str | os.PathLike[str], argument: str = "RUN") -> Figure | None:
    """The learning curves of the sweep's run whose record is ``path`` (``SWEEP/runs/<run_id>.json``, bound to the
    sweep's ledger), or None when ``path`` is no sweep's run record.

    >>> import tempfile
    >>> from fnn.run.sweep import sweep
    >>> out = tempfile.mkdtemp()
    >>> result = sweep({"data": "iris", "hidden": [4], "epochs": 2}, {"lr": [0.1]}, [0], engine="sequential", out=out)
    >>> figure = sweep_run_curves(os.path.join(out, "runs", result.records[0]["run_id"] + ".json"))
    >>> [len(line.get_xdata()) for line in figure.axes[0].lines][:1], sweep_run_curves(out)
    ([2], None)
    """
    record = sweep_record_file(path, argument)
    if record is None:
        return None
    plots.require_matplotlib()
    return plots.learning_curves(History([EpochRecord(**epoch) for epoch in record["history"]]))


def sweep_histories(path: str | os.PathLike[str], argument: str = "SWEEP") -> dict[str, list[History]]:
    """A sweep folder's histories grouped by configuration (seeds pooled), each labelled by the settings that vary
    over the sweep (``lr=0.1, hidden=[16]``), in the order of the runs' ids. ``argument`` names the folder in
    errors.

    >>> import tempfile
    >>> from fnn.run.sweep import sweep
    >>> out = tempfile.mkdtemp()
    >>> _ = sweep({"data": "iris", "hidden": [4], "epochs": 2}, {"lr": [0.1, 0.05]}, [0, 1], engine="sequential", out=out)
    >>> sorted((label, [len(h) for h in own]) for label, own in sweep_histories(out).items())
    [('lr=0.05', [2, 2]), ('lr=0.1', [2, 2])]
    """
    folder = RunFolder(path, argument)
    records = _sweep_records(folder)
    configs = [{k: v for k, v in record.get("config", {}).items() if k != "seed"} for record in records]
    keys = [k for k in configs[0] if any(c.get(k) != configs[0][k] for c in configs)]
    groups: dict[str, list[History]] = {}
    for record, config in zip(records, configs):
        label = ", ".join(f"{k}={json.dumps(config.get(k))}" for k in keys) or "the base configuration"
        groups.setdefault(label, []).append(History([EpochRecord(**epoch) for epoch in record["history"]]))
    return groups


def write_sweep_plot(path: str | os.PathLike[str], band: str = "minmax") -> str:
    """Draw :func:`fnn.observe.plots.sweep_curves` of the sweep folder ``path`` into its ``learning_curves.png``
    (the caller holds the sweep's lock); returns the path written."""
    figure = plots.sweep_curves(sweep_histories(path), band)
    return write_in_folder(path, "learning_curves.png", lambda handle: plots.save_figure(figure, handle))
