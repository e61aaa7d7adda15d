"""Weights other frameworks read: safetensors in PyTorch's ``nn.Linear`` layout, and ONNX graphs.

``to_safetensors(obj, path)`` and ``from_safetensors(path)`` (the ``fnn[safetensors]`` extra), ``to_onnx(obj,
path)`` and ``onnx_model(obj)`` (the ``fnn[onnx]`` extra). ``obj`` is Params, a TrainState or a model from
:func:`fnn.load` (a run folder). The optional packages are imported when a function needs them.
"""

from fnn.interop.onnx import MIN_OPSET, onnx_model, to_onnx
from fnn.interop.safetensors import from_safetensors, to_safetensors, torch_module

__all__ = ["to_safetensors", "from_safetensors", "torch_module", "to_onnx", "onnx_model", "MIN_OPSET"]
