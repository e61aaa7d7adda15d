"""ONNX graphs of fnn networks, for onnxruntime and every other ONNX runtime.

The graph takes ``input`` (float32 or float64 as the params, shape ``(batch, n_inputs)``) and gives ``output``,
exactly what :func:`fnn.forward` gives: probabilities for a softmax or sigmoid output. Each layer is a ``Gemm``
(``x @ w + b``, fnn's ``w`` as it is) and its activation's nodes; a model's standardiser becomes a ``Sub`` and a
``Div`` in front, so the graph takes raw features as ``fnn predict`` does. The default opset is 17; gelu (the tanh
approximation, as in fnn) is built from ``Tanh`` and arithmetic below opset 20 and is the ``Gelu`` operator from
there. A float64 graph builds gelu, leaky_relu, prelu, elu and softplus from arithmetic at every opset: the
operators' ``alpha`` attributes are float32, and onnxruntime has no float64 ``Elu``, ``Softplus`` or exact ``Gelu``
(nor ``Atan``: a float64 arctan graph is valid ONNX that onnxruntime cannot run). The spec (JSON) and class
names are in the model's metadata (``fnn.core.spec``, ``fnn.class_names``).

>>> import os, tempfile
>>> params = fnn.init_params(fnn.network([4, 8, 3], activation="gelu"), seed=0)
>>> path = to_onnx(params, os.path.join(tempfile.mkdtemp(), "net.onnx"))
>>> import onnxruntime
>>> session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
>>> x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
>>> bool(np.allclose(session.run(None, {"input": x})[0], fnn.forward(params, x), atol=1e-6))
True
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from fnn.core.activations import GELU_C, GELU_K, Activation  # one definition of fnn's tanh-approximated gelu
from fnn.errors import FnnInputError
from fnn.interop.common import Exportable, activation_parts, network_of, require, write_new_file
from fnn.version import __version__

if TYPE_CHECKING:
    from onnx import ModelProto

MIN_OPSET = 17


class _Graph:
    """Nodes and initialisers under construction, with fresh names."""

    def __init__(self, helper: Any, numpy_helper: Any, dtype: np.dtype, opset: int) -> None:
        self.helper, self.numpy_helper, self.dtype, self.opset = helper, numpy_helper, dtype, opset
        self.double = np.dtype(dtype) == np.float64
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def constant(self, stem: str, value: float | np.ndarray) -> str:
        name = self.name(stem)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value, dtype=self.dtype), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attributes: Any) -> str:
        output = output or self.name(op.lower())
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=self.name(op), **attributes))
        return output


def _gelu(graph: _Graph, z: str, out: str | None) -> str:
    if graph.opset >= 20 and not graph.double:
        return graph.node("Gelu", [z], out, approximate="tanh")
    cube = graph.node("Mul", [graph.node("Mul", [z, z]), z])
    inner = graph.node("Add", [z, graph.node("Mul", [cube, graph.constant("gelu_k", GELU_K)])])
    t = graph.node("Tanh", [graph.node("Mul", [inner, graph.constant("gelu_c", GELU_C)])])
    half_z = graph.node("Mul", [z, graph.constant("half", 0.5)])
    return graph.node("Mul", [half_z, graph.node("Add", [t, graph.constant("one", 1.0)])], out)


def _binary_step(graph: _Graph, z: str, out: str | None) -> str:
    at_least_zero = graph.node("GreaterOrEqual", [z, graph.constant("zero", 0.0)])
    return graph.node("Cast", [at_least_zero], out, to=graph.helper.np_dtype_to_tensor_dtype(np.dtype(graph.dtype)))


def _sloped_relu(graph: _Graph, z: str, out: str | None, slope: float) -> str:
    if not graph.double:
        return graph.node("LeakyRelu", [z], out, alpha=slope)
    negative_part = graph.node("Mul", [z, graph.constant("slope", slope)])
    return graph.node("Where", [graph.node("Greater", [z, graph.constant("zero", 0.0)]), z, negative_part], out)


def _elu(graph: _Graph, z: str, out: str | None, alpha: float) -> str:
    if not graph.double:
        return graph.node("Elu", [z], out, alpha=alpha)
    zero, one = graph.constant("zero", 0.0), graph.constant("one", 1.0)
    below = graph.node("Sub", [graph.node("Exp", [graph.node("Min", [z, zero])]), one])
    negative_part = graph.node("Mul", [below, graph.constant("alpha", alpha)])
    return graph.node("Where", [graph.node("Greater", [z, zero]), z, negative_part], out)


def _softplus(graph: _Graph, z: str, out: str | None) -> str:
    if not graph.double:
        return graph.node("Softplus", [z], out)
    # max(z, 0) + log(1 + exp(-|z|)), which never overflows
    tail = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
    log_term = graph.node("Log", [graph.node("Add", [tail, graph.constant("one", 1.0)])])
    return graph.node("Add", [graph.node("Relu", [z]), log_term], out)


_ACTIVATION_NODES: dict[str, Callable[..., str]] = {
    "identity": lambda g, z, out: g.node("Identity", [z], out),
    "relu": lambda g, z, out: g.node("Relu", [z], out),
    "tanh": lambda g, z, out: g.node("Tanh", [z], out),
    "sigmoid": lambda g, z, out: g.node("Sigmoid", [z], out),
    "arctan": lambda g, z, out: g.node("Atan", [z], out),
    "softplus": _softplus,
    "softmax": lambda g, z, out: g.node("Softmax", [z], out, axis=-1),
    "silu": lambda g, z, out: g.node("Mul", [z, g.node("Sigmoid", [z])], out),
    "gelu": _gelu,
    "binary_step": _binary_step,
    "leaky_relu": _sloped_relu,
    "prelu": _sloped_relu,  # fnn's prelu has a fixed slope
    "elu": _elu,
}


def _activation(graph: _Graph, activation: Activation, z: str, out: str | None, layer: int) -> str:
    parts = activation_parts(activation)  # an alias ("logistic") already has its canonical name ("sigmoid")
    if parts is None or parts[0] not in _ACTIVATION_NODES:
        raise FnnInputError(
            f"fnn.interop.to_onnx cannot express the activation {activation.name!r} of layer {layer} in ONNX: it knows "
            f"fnn's built-in activations ({', '.join(sorted(_ACTIVATION_NODES))}) only."
        )
    return _ACTIVATION_NODES[parts[0]](graph, z, out, *parts[1])


def supported_opsets() -> range:
    """The opsets :func:`onnx_model` writes: :data:`MIN_OPSET` to the newest the installed onnx knows."""
    return range(MIN_OPSET, require("onnx", "onnx", "onnx_model").defs.onnx_opset_version() + 1)


def onnx_model(obj: Exportable, *, opset: int = MIN_OPSET) -> ModelProto:
    """The ONNX ``ModelProto`` of ``obj``'s network (Params, a TrainState or a model from :func:`fnn.load`),
    checked with ``onnx.checker``.

    >>> model = onnx_model(fnn.init_params(fnn.network([2, 3, 2], activation="tanh"), seed=0))
    >>> [node.op_type for node in model.graph.node], model.opset_import[0].version
    (['Gemm', 'Tanh', 'Gemm', 'Softmax'], 17)
    """
    onnx = require("onnx", "onnx", "onnx_model")
    opsets = supported_opsets()
    if isinstance(opset, bool) or not isinstance(opset, numbers.Integral) or opset not in opsets:
        raise FnnInputError(
            f"The 'opset' argument of fnn.interop.onnx_model must be an int from {opsets[0]} to {opsets[-1]} (the "
            f"newest this onnx knows). Got {opset!r} instead."
        )
    opset = int(opset)
    params, standardizer, class_names = network_of(obj, "onnx_model")
    dtype = params.dtype
    graph = _Graph(onnx.helper, onnx.numpy_helper, dtype, opset)
    current = "input"
    if standardizer is not None:
        centred = graph.node("Sub", [current, graph.constant("input_mean", standardizer.mean)])
        current = graph.node("Div", [centred, graph.constant("input_scale", standardizer.scale)])
    last = len(params.layers) - 1
    for index, (layer, layer_spec) in enumerate(zip(params.layers, params.spec.layers)):
        weight, bias = graph.constant(f"layer{index}_weight", layer.w), graph.constant(f"layer{index}_bias", layer.b)
        z = graph.node("Gemm", [current, weight, bias])
        current = _activation(graph, layer_spec.activation, z, "output" if index == last else None, index)
    element = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    sizes = params.spec.sizes
    body = onnx.helper.make_graph(
        graph.nodes,
        "fnn_network",
        [onnx.helper.make_tensor_value_info("input", element, ["batch", sizes[0]])],
        [onnx.helper.make_tensor_value_info("output", element, ["batch", sizes[-1]])],
        graph.initializers,
    )
    model = onnx.helper.make_model(
        body, opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="fnn", producer_version=__version__
    )
    # The oldest IR version the opset allows, so runtimes of that opset's time read the file.
    model.ir_version = onnx.helper.find_min_ir_version_for(list(model.opset_import))
    metadata = {"fnn.spec": json.dumps(params.spec.to_config())}
    if class_names:
        metadata["fnn.class_names"] = json.dumps(list(class_names))
    onnx.helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model


def to_onnx(obj: Exportable, path: str | os.PathLike[str], *, opset: int = MIN_OPSET, overwrite: bool = False) -> str:
    """Write :func:`onnx_model` of ``obj`` to ``path`` (atomically, refusing an existing file unless
    ``overwrite``); returns the path.

    >>> import onnx, tempfile
    >>> params = fnn.init_params(fnn.network([2, 3, 1], activation="relu", output="identity"), seed=0)
    >>> path = to_onnx(params, os.path.join(tempfile.mkdtemp(), "net.onnx"))
    >>> [node.op_type for node in onnx.load(path).graph.node]
    ['Gemm', 'Relu', 'Gemm', 'Identity']
    """
    return write_new_file(path, onnx_model(obj, opset=opset).SerializeToString(), overwrite, "to_onnx")
