"""Weights other frameworks read: safetensors in PyTorch's ``nn.Linear`` layout, ONNX graphs, and scikit-learn
estimators around fnn's functional core.

``to_safetensors(obj, path)``, ``from_safetensors(path)`` and ``model_from_safetensors(path)`` (the
``fnn[safetensors]`` extra), ``to_onnx(obj,
path)`` and ``onnx_model(obj)`` (the ``fnn[onnx]`` extra). ``obj`` is Params, a TrainState or a model from
:func:`fnn.load` (a run folder). The optional packages are imported when a function needs them;
``FNNClassifier`` and ``FNNRegressor`` (the ``fnn[sklearn]`` extra) load scikit-learn on first use, so
``import fnn.interop`` works without it.
"""

from typing import TYPE_CHECKING

from fnn.interop.onnx import MIN_OPSET, onnx_model, to_onnx
from fnn.interop.safetensors import from_safetensors, model_from_safetensors, to_safetensors, torch_module
from fnn.lazy import lazy_loader

# The estimators' module imports scikit-learn: loaded on first use.
__getattr__, __dir__ = lazy_loader(
    "fnn.interop",
    {name: ("fnn.interop.sklearn", name) for name in ("FNNClassifier", "FNNRegressor")},
    globals(),
    {"sklearn": ("scikit-learn", "fnn[sklearn]")},
)

if TYPE_CHECKING:
    from fnn.interop.sklearn import FNNClassifier, FNNRegressor

__all__ = [
    "to_safetensors",
    "from_safetensors",
    "model_from_safetensors",
    "torch_module",
    "to_onnx",
    "onnx_model",
    "MIN_OPSET",
    "FNNClassifier",
    "FNNRegressor",
]
