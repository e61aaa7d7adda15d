"""safetensors files in PyTorch's layout, for PyTorch, JAX and Hugging Face users; and back into fnn.

A network of ``L`` dense layers is stored as the ``state_dict`` of ``torch.nn.Sequential(Linear, act, Linear,
act, ...)``: layer ``i`` is module ``2 * i``, so its tensors are ``"{2i}.weight"``, of shape ``(outputs, inputs)``
(``nn.Linear``'s convention, fnn's ``w`` transposed) and ``"{2i}.bias"``; the activation after it is module
``2i + 1`` and has no tensors. Tensors keep the params' dtype: float64 params give F64 tensors, which
``load_state_dict`` casts into a float32 module, and a ``.double()`` module keeps exactly. The metadata (strings, as safetensors requires) says the rest:

- ``format``: ``"pt"``, as files saved from PyTorch say;
- ``fnn.core.spec``: the network spec as JSON (:meth:`fnn.NetworkSpec.to_config`), from which fnn rebuilds it;
- ``fnn.torch_modules``: JSON list of the ``nn.Sequential``'s modules, e.g.
  ``["Linear(4, 8)", "Tanh()", "Linear(8, 3)", "Softmax(dim=-1)"]`` (null for an activation torch has no
  module for: ``arctan``, ``binary_step``);
- ``fnn.class_names``, ``fnn.columns`` (the feature columns by name) and ``fnn.standardizer`` (``{"mean": [...],
  "scale": [...], "dtype": "float32"}``, to apply to inputs first) when the model has them.

:func:`from_safetensors` reads the network back as :class:`fnn.Params`; :func:`model_from_safetensors` reads
it with the rest as a :class:`fnn.store.Model`, which predicts on raw inputs as the exported model did.

>>> import os, tempfile
>>> params = fnn.init_params(fnn.network([4, 8, 3], activation="tanh"), seed=0)
>>> path = to_safetensors(params, os.path.join(tempfile.mkdtemp(), "net.safetensors"))
>>> from_safetensors(path) == params
True
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from fnn.core.activations import Activation
from fnn.core.losses import Loss
from fnn.core.params import Layer, Params
from fnn.core.spec import network, spec_from_config
from fnn.data.input_files import open_input
from fnn.data.transforms import Standardizer
from fnn.errors import FnnInputError
from fnn.interop.common import Exportable, activation_parts, network_of, require, write_new_file
from fnn.store.model import Model
from fnn.train.state import TrainState

_TORCH_MODULES: dict[str, Callable[..., str]] = {  # by canonical name: an alias ("logistic") is named as what it is ("sigmoid")
    "identity": lambda: "Identity()",
    "relu": lambda: "ReLU()",
    "tanh": lambda: "Tanh()",
    "sigmoid": lambda: "Sigmoid()",
    "softplus": lambda: "Softplus()",
    "silu": lambda: "SiLU()",
    "gelu": lambda: "GELU(approximate='tanh')",  # fnn's gelu is the tanh approximation
    "softmax": lambda: "Softmax(dim=-1)",
    "leaky_relu": lambda slope: f"LeakyReLU({slope!r})",
    "prelu": lambda slope: f"LeakyReLU({slope!r})",  # fnn's prelu has a fixed slope: a LeakyReLU in torch
    "elu": lambda alpha: f"ELU({alpha!r})",
}


def torch_module(activation: Activation) -> str | None:
    """The ``torch.nn`` module (as source text) computing fnn's ``activation``, or None if torch has none.

    >>> torch_module(fnn.get_activation("leaky_relu:0.2")), torch_module(fnn.get_activation("arctan"))
    ('LeakyReLU(0.2)', None)
    """
    parts = activation_parts(activation)
    if parts is None or parts[0] not in _TORCH_MODULES:
        return None
    base, arguments = parts
    return _TORCH_MODULES[base](*arguments)


def _metadata(params: Params, standardizer: Standardizer | None, class_names: Sequence[str], columns: Sequence[str]) -> dict[str, str]:
    modules: list[str | None] = []
    for layer in params.spec.layers:
        modules += [f"Linear({layer.input_dim}, {layer.output_dim})", torch_module(layer.activation)]
    metadata = {
        "format": "pt",
        "fnn.spec": json.dumps(params.spec.to_config()),
        "fnn.torch_modules": json.dumps(modules),
    }
    if class_names:
        metadata["fnn.class_names"] = json.dumps(list(class_names))
    if columns:
        metadata["fnn.columns"] = json.dumps(list(columns))
    if standardizer is not None:
        mean, scale = np.asarray(standardizer.mean), np.asarray(standardizer.scale)
        metadata["fnn.standardizer"] = json.dumps({"mean": mean.tolist(), "scale": scale.tolist(), "dtype": str(mean.dtype)})
    return metadata


def to_safetensors(obj: Exportable, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
    """Write the network of ``obj`` (Params, a TrainState or a model from :func:`fnn.load`) to ``path`` as a
    safetensors file in ``nn.Sequential`` layout (see the module); returns the path.

    The spec must be nameable (built-in activations, loss and initialisers) so it can go in the metadata.

    >>> import tempfile
    >>> from safetensors.numpy import load_file
    >>> params = fnn.init_params(fnn.network([2, 3, 1], loss="binary_cross_entropy"), seed=0)
    >>> path = to_safetensors(params, os.path.join(tempfile.mkdtemp(), "net.safetensors"))
    >>> {key: tensor.shape for key, tensor in sorted(load_file(path).items())}
    {'0.bias': (3,), '0.weight': (3, 2), '2.bias': (1,), '2.weight': (1, 3)}
    """
    numpy_io = require("safetensors.numpy", "safetensors", "to_safetensors")
    params, standardizer, class_names = network_of(obj, "to_safetensors")
    try:
        spec_from_config(params.spec.to_config())
    except FnnInputError as error:
        raise FnnInputError(
            f"fnn.interop.to_safetensors cannot name this network's parts (a custom one?): {error}"
        ) from None
    tensors = {}
    for index, layer in enumerate(params.layers):
        tensors[f"{2 * index}.weight"] = np.ascontiguousarray(layer.w.T)
        tensors[f"{2 * index}.bias"] = np.ascontiguousarray(layer.b)
    columns = tuple(getattr(obj, "columns", ()) or ())
    payload = numpy_io.save(tensors, metadata=_metadata(params, standardizer, class_names, columns))
    return write_new_file(path, payload, overwrite, "to_safetensors")


_KEY = re.compile(r"^(?P<prefix>(?:.+\.)?)(?P<index>\d+)\.(?P<kind>weight|bias)$")


def _linear_stack(tensors: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``(weight, bias)`` pairs of the ``nn.Linear`` modules of a Sequential, in order."""
    modules: dict[int, dict[str, np.ndarray]] = {}
    prefixes = set()
    for key, tensor in tensors.items():
        match = _KEY.match(key)
        if match is None:
            raise FnnInputError(
                f"{path}: the tensor {key!r} is not the weight or bias of a Linear module in an nn.Sequential "
                f"('<index>.weight', '<index>.bias'); fnn imports stacks of Linear and activation modules only."
            )
        prefixes.add(match["prefix"])
        modules.setdefault(int(match["index"]), {})[match["kind"]] = tensor
    if len(prefixes) > 1:
        raise FnnInputError(f"{path}: tensors of several modules ({sorted(prefixes)}); fnn imports one nn.Sequential.")
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    for index in sorted(modules):
        weight, bias = modules[index].get("weight"), modules[index].get("bias")
        if weight is None:
            raise FnnInputError(f"{path}: module {index} has a bias but no weight.")
        if weight.ndim != 2 or weight.dtype not in (np.float32, np.float64):
            raise FnnInputError(
                f"{path}: module {index}'s weight is {weight.dtype}{list(weight.shape)}; fnn needs a 2-D float32 or "
                f"float64 Linear weight (convert with .float() in PyTorch)."
            )
        if bias is None:  # nn.Linear(..., bias=False)
            bias = np.zeros(weight.shape[0], weight.dtype)
        if bias.shape != (weight.shape[0],) or bias.dtype != weight.dtype:
            raise FnnInputError(
                f"{path}: module {index}'s bias is {bias.dtype}{list(bias.shape)}; its weight needs "
                f"{weight.dtype}[{weight.shape[0]}]."
            )
        if layers and layers[-1][0].shape[0] != weight.shape[1]:
            raise FnnInputError(
                f"{path}: module {index} takes {weight.shape[1]} inputs but the Linear before it gives "
                f"{layers[-1][0].shape[0]}."
            )
        layers.append((weight, bias))
    if not layers:
        raise FnnInputError(f"{path}: no Linear weights in this file.")
    return layers


def from_safetensors(
    path: str | os.PathLike[str],
    activation: str | Activation | Sequence[str | Activation] | None = None,
    output: str | Activation | None = None,
    loss: str | Loss | None = None,
) -> Params:
    """:class:`fnn.Params` from a safetensors file of an ``nn.Sequential`` of ``Linear`` and activation modules.

    A file written by :func:`to_safetensors` carries its spec. For any other (e.g. ``safetensors.torch.save_file(
    model.state_dict(), path)``), say what the activations are as :func:`fnn.network` takes them: ``activation``
    one name for the hidden layers with ``output`` the last layer's (a state_dict does not say whether logits
    went on through a softmax, so it is not guessed), or a list with one per layer; and ``loss`` if not the
    output's own.
    Keys may carry a module prefix (``"net.0.weight"``); a Linear without bias gets zeros.

    >>> import tempfile
    >>> from safetensors.numpy import save_file
    >>> path = os.path.join(tempfile.mkdtemp(), "torch.safetensors")
    >>> save_file({"0.weight": np.ones((3, 2), np.float32), "2.weight": np.ones((1, 3), np.float32)}, path)
    >>> params = from_safetensors(path, activation="relu", output="identity")
    >>> params.spec.sizes, fnn.forward(params, np.array([[1.0, 2.0]], np.float32))
    ((2, 3, 1), array([[9.]], dtype=float32))
    """
    return _read(path, activation, output, loss, "from_safetensors")[0]


def model_from_safetensors(path: str | os.PathLike[str]) -> Model:
    """The :class:`fnn.store.Model` a file of :func:`to_safetensors` holds: its network with the standardiser,
    class names and feature columns of its metadata, so it predicts on raw inputs as the exported model did.

    >>> import tempfile
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> stats = fnn.data.Standardizer(np.array([1.0, 2.0], np.float32), np.array([2.0, 4.0], np.float32))
    >>> model = fnn.store.Model(fnn.TrainState(params, None), {}, stats, ("cat", "dog"), columns=("w", "h"))
    >>> path = to_safetensors(model, os.path.join(tempfile.mkdtemp(), "net.safetensors"))
    >>> model_from_safetensors(path).predict({"h": [6.0], "w": [3.0]}).tolist()
    ['cat']
    """
    params, metadata = _read(path, None, None, None, "model_from_safetensors")
    try:
        names, columns = (json.loads(metadata.get(key, "[]")) for key in ("fnn.class_names", "fnn.columns"))
        stats = json.loads(metadata["fnn.standardizer"]) if "fnn.standardizer" in metadata else None
        dtype = np.dtype(params.dtype if stats is None else stats.get("dtype", params.dtype))
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"a standardiser of {dtype}")
        standardizer = None if stats is None else Standardizer(*(np.array(stats[key], dtype) for key in ("mean", "scale")))
        return Model(TrainState(params, None), {}, standardizer, tuple(map(str, names)), tuple(map(str, columns)))
    except (ValueError, TypeError, KeyError) as error:
        raise FnnInputError(f"{path}: its metadata is not what fnn writes ({type(error).__name__}: {str(error)[:200]}).") from None


def _read(
    path: str | os.PathLike[str], activation: str | Activation | Sequence[str | Activation] | None,
    output: str | Activation | None, loss: str | Loss | None, function: str,
) -> tuple[Params, dict[str, str]]:
    """The network of the safetensors file ``path`` (see :func:`from_safetensors`) and the file's metadata."""
    numpy_io = require("safetensors", "safetensors", function)
    if os.path.isdir(path):
        raise FnnInputError(f"{path} is a folder; fnn.interop.{function} reads a .safetensors file.")
    with open_input(os.fspath(path), "a .safetensors file"):  # a regular file: a FIFO would block forever
        pass
    try:
        with numpy_io.safe_open(str(path), framework="np") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except FileNotFoundError:
        raise FnnInputError(f"{path}: no such file.") from None
    except (numpy_io.SafetensorError, OSError, TypeError, ValueError) as error:
        raise FnnInputError(f"{path}: not a readable safetensors file of float32/float64 tensors ({error}).") from None
    layers = _linear_stack(tensors, path)
    sizes = [layers[0][0].shape[1]] + [weight.shape[0] for weight, _ in layers]
    if activation is not None:
        if output is None and isinstance(activation, (str, Activation)):
            raise FnnInputError(
                f"fnn.interop.from_safetensors was given one activation for {path} but no output=: say what follows "
                f"the last Linear ('identity' to keep its logits or for regression, 'softmax', 'sigmoid'), or give "
                f"activation as a list with one per layer."
            )
        spec = network(sizes, activation=activation, output=output, loss=loss)
    elif "fnn.spec" in metadata:
        try:
            spec = spec_from_config(json.loads(metadata["fnn.spec"]))
        except (ValueError, RecursionError, TypeError, KeyError, AttributeError) as error:
            raise FnnInputError(f"{path}: its metadata fnn.spec is not a network fnn wrote ({type(error).__name__}: {str(error)[:200]}).") from None
    else:
        raise FnnInputError(
            f"{path} does not say its activations (it was not written by fnn): pass activation= (e.g. 'relu', or "
            f"one per layer) and output= (e.g. 'softmax' or 'identity') to fnn.interop.from_safetensors."
        )
    if spec.sizes != tuple(sizes):
        raise FnnInputError(f"{path}: the tensors have layer sizes {sizes} but the spec says {list(spec.sizes)}.")
    return Params(spec, [Layer(np.ascontiguousarray(weight.T), bias) for weight, bias in layers]), metadata
