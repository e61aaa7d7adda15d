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
"""

from . import data, optim
from .activations import ACTIVATIONS, Activation, get_activation
from .batches import batch_count, epoch_permutation, minibatches
from .dropout import dropout_masks
from .errors import FnnInputError, TrainingDiverged
from .gradcheck import GradCheckResult, check_activation, check_grad, check_loss
from .fused_step import sgd_step
from .gradients import forward, grad, loss, loss_and_grad
from .initializers import INITIALIZERS, Initializer, get_initializer
from .losses import LOSSES, Loss, get_loss
from .metrics import accuracy, confusion_matrix, evaluate, mean_loss, predict, predict_classes, r2_score
from .params import Layer, Params, flatten_params, init_params, map_arrays, replace_layer, unflatten_params
from .saving import load, save
from .spec import LayerSpec, NetworkSpec, network, network_from_layers, spec_from_config
from .state import EpochRecord, History, TrainState
from .training import early_stopping, fit, iterate_epochs, run_epoch
from .run_checks import diff_runs, replay_epoch, verify_run

__version__ = "0.1.0"

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
    "GradCheckResult",
    "check_grad",
    "check_activation",
    "check_loss",
    "FnnInputError",
    "TrainingDiverged",
    "__version__",
]
