"""Weights other frameworks read: safetensors in PyTorch's ``nn.Linear`` layout, ONNX graphs, and scikit-learn
estimators around fnn's functional core.

``to_safetensors(obj, path)`` and ``from_safetensors(path)`` (the ``fnn[safetensors]`` extra), ``to_onnx(obj,
path)`` and ``onnx_model(obj)`` (the ``fnn[onnx]`` extra). ``obj`` is Params, a TrainState or a model from
:func:`fnn.load` (a run folder). The optional packages are imported when a function needs them;
``FNNClassifier`` and ``FNNRegressor`` (the ``fnn[sklearn]`` extra) load scikit-learn on first use, so
``import fnn.interop`` works without it.
"""

import importlib
from typing import Any

from fnn.interop.onnx import MIN_OPSET, onnx_model, to_onnx
from fnn.interop.safetensors import from_safetensors, to_safetensors, torch_module

# Names whose module imports scikit-learn: loaded on first use.
_ESTIMATORS = ("FNNClassifier", "FNNRegressor")


def __getattr__(name: str) -> Any:
    if name not in _ESTIMATORS:
        raise AttributeError(f"module 'fnn.interop' has no attribute {name!r}")
    try:
        module = importlib.import_module("fnn.interop.sklearn")
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("sklearn"):
            raise
        raise ModuleNotFoundError(f"fnn.interop.{name} needs scikit-learn: pip install 'fnn[sklearn]'.") from None
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ESTIMATORS))


__all__ = [
    "to_safetensors",
    "from_safetensors",
    "torch_module",
    "to_onnx",
    "onnx_model",
    "MIN_OPSET",
    "FNNClassifier",
    "FNNRegressor",
]
