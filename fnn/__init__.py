"""fnn: functional neural networks in pure NumPy.

Parameters, gradients, optimiser states and histories are frozen records of read-only arrays; ``forward``,
``loss``, ``grad`` and ``sgd_step`` are pure functions; an epoch is a fold over mini-batches and ``fit`` a fold
over epochs, all randomness derived from an explicit seed.

>>> spec = fnn.network([64, 32, 10], activation="relu")
>>> params = fnn.init_params(spec, seed=0)
>>> train, test = fnn.data.stratified_split(fnn.data.digits(), 0.2, seed=0)
>>> state = fnn.fit(params, train, epochs=3, optimizer=fnn.optim.adam(1e-2), batch_size=32, seed=0)
>>> fnn.accuracy(state.params, *test.as_tuple()) > 0.9
True

The network and its training load with ``import fnn``; persistence (``save``, ``load``), the proof of runs
(``verify_run``, ``diff_runs``, ``replay_epoch``) and the folders ``run``, ``store``, ``observe``, ``proof``,
``interop`` and ``cli`` load on first use.
"""

from typing import TYPE_CHECKING

from fnn import data, optim
from fnn.core.activations import ACTIVATIONS, Activation, get_activation
from fnn.core.gradcheck import GradCheckResult, check_activation, check_grad, check_loss
from fnn.core.gradients import forward, grad, loss, loss_and_grad
from fnn.core.initializers import INITIALIZERS, Initializer, get_initializer
from fnn.core.losses import LOSSES, Loss, get_loss
from fnn.core.metrics import accuracy, confusion_matrix, evaluate, mean_loss, predict, predict_classes, r2_score
from fnn.core.params import Layer, Params, flatten_params, init_params, map_arrays, replace_layer, unflatten_params
from fnn.core.scores import METRICS, Metric, get_metric
from fnn.core.spec import LayerSpec, NetworkSpec, network, network_from_layers, spec_from_config
from fnn.errors import FnnInputError, TrainingDiverged
from fnn.lazy import lazy_loader
from fnn.train.batches import batch_count, epoch_permutation, minibatches
from fnn.train.dropout import dropout_masks
from fnn.train.loop import early_stopping, fit, iterate_epochs, run_epoch
from fnn.train.stacked import fit_seeds
from fnn.train.state import EpochRecord, History, TrainState
from fnn.train.step import sgd_step
from fnn.version import __version__

# Names whose modules load on first use: (module, attribute), or (module, None) for a folder itself.
_LAZY = {
    "save": ("fnn.store.model", "save"),
    "load": ("fnn.store.model", "load"),
    "verify_run": ("fnn.proof.checks", "verify_run"),
    "diff_runs": ("fnn.proof.checks", "diff_runs"),
    "replay_epoch": ("fnn.proof.checks", "replay_epoch"),
    "sweep": ("fnn.run.sweep", "sweep"),
    **{folder: (f"fnn.{folder}", None) for folder in ("run", "store", "observe", "proof", "interop", "cli", "core", "train")},
}


__getattr__, __dir__ = lazy_loader("fnn", _LAZY, globals())

if TYPE_CHECKING:  # what a type checker and an editor see of the names above
    from fnn import cli as cli
    from fnn import interop as interop
    from fnn import observe as observe
    from fnn import proof as proof
    from fnn import run as run
    from fnn import store as store
    from fnn.proof.checks import diff_runs, replay_epoch, verify_run
    from fnn.run.sweep import sweep
    from fnn.store.model import load, save


__all__ = [
    "data",
    "optim",
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "Loss",
    "LOSSES",
    "get_loss",
    "Initializer",
    "INITIALIZERS",
    "get_initializer",
    "LayerSpec",
    "NetworkSpec",
    "network",
    "network_from_layers",
    "spec_from_config",
    "Layer",
    "Params",
    "init_params",
    "map_arrays",
    "replace_layer",
    "flatten_params",
    "unflatten_params",
    "save",
    "load",
    "forward",
    "loss",
    "grad",
    "loss_and_grad",
    "sgd_step",
    "minibatches",
    "epoch_permutation",
    "batch_count",
    "dropout_masks",
    "EpochRecord",
    "History",
    "TrainState",
    "run_epoch",
    "iterate_epochs",
    "fit",
    "fit_seeds",
    "sweep",
    "early_stopping",
    "verify_run",
    "diff_runs",
    "replay_epoch",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "mean_loss",
    "predict",
    "predict_classes",
    "r2_score",
    "Metric",
    "METRICS",
    "get_metric",
    "GradCheckResult",
    "check_grad",
    "check_activation",
    "check_loss",
    "FnnInputError",
    "TrainingDiverged",
    "__version__",
]
