"""The static description of a network: layer sizes, activations, initialisers and loss.

Written as the classic tutorials write it, either as a list of layer sizes:

>>> spec = fnn.network([784, 256, 128, 64, 10], activation="relu", output="softmax")
>>> spec
NetworkSpec(784-256-128-64-10, relu/relu/relu/softmax, loss=cross_entropy)

or as a list of layer dictionaries:

>>> fnn.network_from_layers([{"input_dim": 2, "output_dim": 4, "activation": "tanh"},
...                      {"input_dim": 4, "output_dim": 1, "activation": "sigmoid"}])
NetworkSpec(2-4-1, tanh/sigmoid, loss=binary_cross_entropy)

A spec holds no arrays; it is checked once, here, so every later step can trust it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from attrs import frozen

from fnn.core.activations import Activation, get_activation
from fnn.core.initializers import Initializer, get_initializer
from fnn.core.losses import Loss, get_loss
from fnn.errors import FnnInputError, bad_argument
from fnn.values import BadValue, from_numpy, number_check

_DEFAULT_LOSS_FOR_OUTPUT = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}


@frozen
class LayerSpec:
    """One dense layer: ``input_dim -> output_dim``, its activation and initialisers.

    >>> layer = fnn.network([3, 4, 2]).layers[0]
    >>> layer.input_dim, layer.output_dim, layer.activation.name, layer.init.name
    (3, 4, 'relu', 'glorot_uniform')
    """

    input_dim: int
    output_dim: int
    activation: Activation
    init: Initializer
    bias_init: Initializer


@frozen(cache_hash=True)  # hashed on every flat-layout lookup in the training loop
class NetworkSpec:
    """A checked, immutable network description; build it with :func:`network` or :func:`network_from_layers`.

    >>> spec = fnn.network([4, 3], output="sigmoid")
    >>> len(spec.layers), spec.loss.name
    (1, 'binary_cross_entropy')
    """

    layers: tuple[LayerSpec, ...]
    loss: Loss

    @property
    def sizes(self) -> tuple[int, ...]:
        """The layer sizes, input first.

        >>> fnn.network([784, 256, 10]).sizes
        (784, 256, 10)
        """
        return (self.layers[0].input_dim,) + tuple(layer.output_dim for layer in self.layers)

    @property
    def output_activation(self) -> Activation:
        """The last layer's activation.

        >>> fnn.network([2, 3, 1], loss="bce").output_activation.name
        'sigmoid'
        """
        return self.layers[-1].activation

    @property
    def is_classifier(self) -> bool:
        """True when outputs are class scores (softmax or sigmoid output); False for regression.

        >>> fnn.network([2, 3]).is_classifier, fnn.network([2, 1], output="identity").is_classifier
        (True, False)
        """
        return self.output_activation.name in ("softmax", "sigmoid")

    def describe(self) -> str:
        """The network as people write it: sizes, hidden activation(s) -> output activation, loss.

        >>> fnn.network([64, 64, 10], activation="relu", loss="cross_entropy").describe()
        '64-64-10 relu -> softmax, cross-entropy'
        >>> fnn.network([2, 8, 4, 1], activation=["tanh", "relu", "identity"], loss="mse").describe()
        '2-8-4-1 tanh, relu -> identity, mse'
        """
        hidden = [layer.activation.name for layer in self.layers[:-1]]
        shown = hidden[:1] if len(set(hidden)) == 1 else hidden
        head = f"{', '.join(shown)} -> " if shown else ""
        return f"{'-'.join(map(str, self.sizes))} {head}{self.output_activation.name}, {self.loss.name.replace('_', '-')}"

    __str__ = describe

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.sizes))
        activations = "/".join(layer.activation.name for layer in self.layers)
        return f"NetworkSpec({sizes}, {activations}, loss={self.loss.name})"

    def to_config(self) -> dict[str, Any]:
        """A plain dict (JSON/TOML-ready) from which :func:`spec_from_config` rebuilds this spec.

        >>> fnn.network([2, 1], output="identity").to_config()["layers"][0]["activation"]
        'identity'
        """
        return {
            "layers": [
                {
                    "input_dim": layer.input_dim,
                    "output_dim": layer.output_dim,
                    "activation": layer.activation.name,
                    "init": layer.init.name,
                    "bias_init": layer.bias_init.name,
                }
                for layer in self.layers
            ],
            "loss": self.loss.name,
        }


def _per_layer(value: Any, count: int, name: str, function: str) -> list[Any]:
    """One value per layer: a single value is repeated, a list must have exactly ``count`` entries."""
    if isinstance(value, (str, Activation, Initializer)) or not isinstance(value, Sequence):
        return [value] * count
    if len(value) != count:
        raise bad_argument(function, name, f"one entry or a list of {count} (one per layer)", list(value))
    return list(value)


def network(
    sizes: Sequence[int],
    activation: str | Activation | Sequence[str | Activation] = "relu",
    output: str | Activation | None = None,
    loss: str | Loss | None = None,
    init: str | Initializer | Sequence[str | Initializer] = "glorot_uniform",
    bias_init: str | Initializer | Sequence[str | Initializer] = "zeros",
) -> NetworkSpec:
    """A :class:`NetworkSpec` from a list of layer sizes, input first.

    If ``sizes`` is ``[2, 3, 1]``, the network has 2 inputs, one hidden layer of 3 units and 1 output.
    ``activation`` is one activation for every hidden layer or a list with one per layer (the last one being the
    output's); ``output`` overrides the output activation. With one activation and no ``output``, the output is
    what the loss needs (softmax for cross-entropy, sigmoid for binary cross-entropy), the same activation for a
    loss such as ``"quadratic"``, and softmax when no loss is named; for regression say ``output="identity"``.
    A single output with neither ``loss`` nor ``output`` is refused: it could be a binary classifier
    (``loss="binary_cross_entropy"``) or a regression (``output="identity"``), and fnn does not guess. The loss
    follows the output unless given: softmax -> cross-entropy, sigmoid -> binary cross-entropy, anything else ->
    mean squared error. ``init`` and ``bias_init`` are one initialiser for all layers or one per layer.

    >>> fnn.network([3, 8, 1], loss="binary_cross_entropy")
    NetworkSpec(3-8-1, relu/sigmoid, loss=binary_cross_entropy)
    >>> fnn.network([3, 8, 1], output="identity")
    NetworkSpec(3-8-1, relu/identity, loss=mse)
    """
    if isinstance(sizes, np.ndarray) and sizes.ndim == 1:  # numpy's form of the list, as a shape computes it
        sizes = sizes.tolist()
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise bad_argument("network", "sizes", "a list of at least two layer sizes, input first", sizes)
    try:  # each size as a run setting reads a number: 3 and np.int64(3) are 3
        sizes = [from_numpy(number_check(low=1, whole=True))(size) for size in sizes]
    except BadValue:
        raise bad_argument("network", "sizes", "a list of positive ints", list(sizes)) from None
    count = len(sizes) - 1
    if isinstance(activation, (str, Activation)):
        if output is None and loss is None and sizes[-1] == 1:
            raise FnnInputError(
                f"fnn.network({list(sizes)}) has one output and no loss, so it cannot tell a binary classifier from a "
                "regression. For a classifier of 0/1 labels pass loss='binary_cross_entropy' (sigmoid output); for "
                "regression pass output='identity' (the loss is then 'mse')."
            )
        activation = get_activation(activation, "network", "activation")
        activations = [activation] * count
        if output is None:
            output = _default_output(loss, activation)
    else:
        activations = [
            get_activation(value, "network", f"activation[{index}]")
            for index, value in enumerate(_per_layer(activation, count, "activation", "network"))
        ]
    if output is not None:
        activations[-1] = get_activation(output, "network", "output")
    layers = [
        {"input_dim": i, "output_dim": o, "activation": act, "init": w_init, "bias_init": b_init}
        for i, o, act, w_init, b_init in zip(
            sizes[:-1],
            sizes[1:],
            activations,
            _per_layer(init, count, "init", "network"),
            _per_layer(bias_init, count, "bias_init", "network"),
        )
    ]
    return network_from_layers(layers, loss=loss, function="network")


def _default_output(loss: str | Loss | None, activation: Activation) -> str | Activation:
    """The output activation when only one activation is named: the one a fused loss needs; the named one for
    another loss (as in Nielsen's all-sigmoid network with the quadratic cost); softmax otherwise (several
    outputs: one output without a loss is refused before this)."""
    if loss is not None:
        return get_loss(loss, "network").output or activation
    return "softmax"


def network_from_layers(
    layers: Sequence[Mapping[str, Any]],
    loss: str | Loss | None = None,
    init: str | Initializer = "glorot_uniform",
    bias_init: str | Initializer = "zeros",
    function: str = "network_from_layers",
) -> NetworkSpec:
    """A :class:`NetworkSpec` from layer dicts with ``input_dim``, ``output_dim``, ``activation`` and optionally
    ``init`` and ``bias_init`` (defaulting to the arguments of the same names).

    >>> fnn.network_from_layers([{"input_dim": 2, "output_dim": 3, "activation": "identity"}], loss="mse")
    NetworkSpec(2-3, identity, loss=mse)
    """
    if isinstance(layers, Mapping) or not isinstance(layers, Sequence) or not layers:
        raise bad_argument(function, "layers", "a non-empty list of layer dicts", layers)
    specs: list[LayerSpec] = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, Mapping):
            raise bad_argument(function, f"layers[{index}]", "a dict with input_dim, output_dim, activation", layer)
        missing = {"input_dim", "output_dim", "activation"} - set(layer)
        if missing:
            raise bad_argument(function, f"layers[{index}]", f"a dict that also has {sorted(missing)}", dict(layer))
        for key in ("input_dim", "output_dim"):
            size = layer[key]
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                raise bad_argument(function, f"layers[{index}]['{key}']", "a positive int", size)
        if specs and layer["input_dim"] != specs[-1].output_dim:
            raise FnnInputError(
                f"Inconsistent layer sizes in fnn.{function}: layer {index} has input_dim {layer['input_dim']} "
                f"but layer {index - 1} has output_dim {specs[-1].output_dim}; they must be equal."
            )
        specs.append(
            LayerSpec(
                layer["input_dim"],
                layer["output_dim"],
                get_activation(layer["activation"], function, f"layers[{index}]['activation']"),
                get_initializer(layer.get("init", init), function, f"layers[{index}]['init']"),
                get_initializer(layer.get("bias_init", bias_init), function, f"layers[{index}]['bias_init']"),
            )
        )
    output = specs[-1].activation
    resolved_loss = get_loss(loss if loss is not None else _DEFAULT_LOSS_FOR_OUTPUT.get(output.name, "mse"), function)
    if resolved_loss.output is not None and resolved_loss.output != output.name:
        raise FnnInputError(
            f"The loss {resolved_loss.name!r} in fnn.{function} is computed from {resolved_loss.output} outputs, "
            f"but the output layer's activation is {output.name!r}. Use activation {resolved_loss.output!r} on the "
            f"last layer, or another loss (e.g. 'mse')."
        )
    if output.name == "softmax" and specs[-1].output_dim < 2:
        raise FnnInputError(f"A softmax output needs at least 2 units in fnn.{function}; use sigmoid for 1 output.")
    return NetworkSpec(tuple(specs), resolved_loss)


def spec_from_config(config: Mapping[str, Any]) -> NetworkSpec:
    """Rebuild a :class:`NetworkSpec` from :meth:`NetworkSpec.to_config`'s dict.

    >>> spec = fnn.network([4, 8, 3], activation="tanh")
    >>> fnn.spec_from_config(spec.to_config()) == spec
    True
    """
    if not isinstance(config, Mapping) or "layers" not in config:
        raise bad_argument("spec_from_config", "config", "a dict with 'layers' and 'loss'", config)
    return network_from_layers(config["layers"], loss=config.get("loss"), function="spec_from_config")
