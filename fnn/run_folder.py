"""A run's folder: its checkpoint (model, optimiser and training state), its JSON record and its plots.

``checkpoint.npz`` holds the configuration and the standardiser's statistics with the state, so a folder alone is
enough to evaluate, predict with, resume, or redraw the plots of a run.
"""

import json
import os

import numpy as np
from attrs import frozen

from .checkpoint import atomic_write_bytes, load_checkpoint, save_checkpoint
from .data.transforms import Standardizer, standardize
from .errors import FnnInputError

__all__ = ["CHECKPOINT", "RECORD", "Model", "save_run_checkpoint", "write_record", "read_record", "load_model", "write_plots"]

CHECKPOINT = "checkpoint.npz"
RECORD = "record.json"


@frozen
class Model:
    """A trained network with what its inputs need: the run's configuration and standardiser (or None)."""

    state: object
    config: dict
    standardizer: object
    class_names: tuple = ()

    @property
    def params(self):
        return self.state.params

    def prepare_features(self, features):
        """Features as the network was trained on them: standardised with the training statistics if it was."""
        features = np.asarray(features, dtype=self.params.dtype)
        return standardize(features, self.standardizer).astype(self.params.dtype) if self.standardizer else features


def save_run_checkpoint(folder, state, config, standardizer=None, class_names=()):
    extras = {} if standardizer is None else {"mean": standardizer.mean, "scale": standardizer.scale}
    if class_names:
        extras["class_names"] = np.array(class_names, dtype=str)
    path = os.path.join(folder, CHECKPOINT)
    save_checkpoint(path, state, config=config, extras=extras)
    return path


def write_record(folder, record):
    path = os.path.join(folder, RECORD)
    atomic_write_bytes(path, lambda handle: handle.write(json.dumps(record, indent=2).encode()))
    return path


def read_record(folder):
    path = os.path.join(folder, RECORD)
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise FnnInputError(f"{folder}: no {RECORD} (is this a finished fnn run folder?).") from None
    except json.JSONDecodeError as error:
        raise FnnInputError(f"{path}: not valid JSON ({error}).") from None


def load_model(path):
    """A :class:`Model` from a run folder or a checkpoint file."""
    path = os.fspath(path)
    file = os.path.join(path, CHECKPOINT) if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise FnnInputError(f"{path}: no checkpoint here (expected a run folder with {CHECKPOINT}, or a .npz file).")
    checkpoint = load_checkpoint(file)
    extras = checkpoint.extras
    standardizer = Standardizer(extras["mean"], extras["scale"]) if "mean" in extras and "scale" in extras else None
    names = tuple(str(name) for name in extras.get("class_names", ()))
    return Model(checkpoint.state, checkpoint.config or {}, standardizer, names)


def _image_shape(n_features):
    side = int(round(np.sqrt(n_features)))
    return (side, side) if side * side == n_features and side >= 8 else None


def write_plots(folder, state, test, confusion=None):
    """Learning curves, and for a classifier its confusion matrix, plus a decision boundary for 2-D data or a grid
    of misclassified images for image data. Returns the paths written."""
    from . import plots

    written = [plots.learning_curves(state.history, os.path.join(folder, "learning_curves.png"))]
    if state.params.spec.is_classifier:
        if confusion is not None:
            written.append(plots.confusion_matrix_plot(confusion, test.class_names, os.path.join(folder, "confusion_matrix.png")))
        if test.n_features == 2:
            written.append(plots.decision_boundary(state.params, test.features, test.labels, os.path.join(folder, "decision_boundary.png")))
        shape = _image_shape(test.n_features)
        if shape is not None:
            written.append(
                plots.misclassified_grid(state.params, test.features, test.labels, test.class_names, os.path.join(folder, "misclassified.png"), shape)
            )
    return written
