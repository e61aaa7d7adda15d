"""The forward pass, and the backward pass that turns a gradient at the logits into parameter gradients.

Arrays are batch-major: samples are rows, a layer computes ``z = a_prev @ w + b`` then ``a = activation(z)``.
These functions trust their inputs (``fnn.forward`` and ``fnn.core.gradients`` check them first), so a training loop
pays for validation once per data set, not once per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from attrs import frozen
from toolz import reduce

from fnn.arrays import freeze_new
from fnn.core.losses import rescaled_rows, weighted_gradient, weighted_value
from fnn.core.params import Layer, Params


@frozen
class Trace:
    """What the backward pass needs from the forward pass.

    ``inputs[l]`` is what layer ``l`` multiplied (the data for ``l = 0``, after dropout for hidden layers),
    ``pre[l]`` its pre-activation ``z`` and ``post[l]`` its activation before dropout (the same array as ``pre[l]``
    for an activation computed in place, whose derivative does not need ``z``). ``masks[l]`` scales the
    activation of hidden layer ``l`` (already divided by the keep probability), or is None.
    """

    inputs: tuple[np.ndarray, ...]
    pre: tuple[np.ndarray, ...]
    post: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray | None, ...]


def forward_unchecked(params: Params, x: np.ndarray) -> np.ndarray:
    """The network's output (probabilities for a softmax or sigmoid output) for a trusted batch ``x``: a fold of
    the layers over ``x``."""

    def layer_output(a: np.ndarray, layer_and_spec: tuple) -> np.ndarray:
        layer, layer_spec = layer_and_spec
        z = a @ layer.w
        z += layer.b
        return layer_spec.activation.fn(z)

    return reduce(layer_output, zip(params.layers, params.spec.layers), x)


def forward_trace(params: Params, x: np.ndarray, masks: Sequence[np.ndarray | None] | None = None) -> Trace:
    """Run the forward pass and keep what backprop needs; ``masks`` (one per hidden layer) applies dropout."""
    inputs, pre, post = [], [], []
    a = x
    last = len(params.layers) - 1
    product = _product(params, len(x))
    for index, (layer, layer_spec) in enumerate(zip(params.layers, params.spec.layers)):
        inputs.append(a)
        z = product(a, layer.w)
        z += layer.b
        activation = layer_spec.activation
        a = activation.fn_inplace(z) if activation.fn_inplace is not None else activation.fn(z)
        pre.append(z)
        post.append(a)
        if masks is not None and index < last and masks[index] is not None:
            a = a * masks[index]
    return Trace(tuple(inputs), tuple(pre), tuple(post), tuple(masks) if masks is not None else ())


def backward(params: Params, trace: Trace, grad_logits: np.ndarray) -> Params:
    """Parameter gradients from ``grad_logits = dL/dz`` of the last layer, as a read-only ``Params``.

    ``grad_logits`` is overwritten along the way; pass a scratch array.
    """
    out = [(np.empty_like(layer.w), np.empty_like(layer.b)) for layer in params.layers]
    backward_into(params, trace, grad_logits, out)
    return Params(params.spec, tuple(Layer(freeze_new(w), freeze_new(b)) for w, b in out))


def backward_into(params: Params, trace: Trace, grad_logits: np.ndarray, out: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    """Write the gradients of each layer's ``(w, b)`` into the caller's new arrays ``out`` (one pair per layer).

    Each product writes straight into its place, and the bias gradients are products with a vector of ones (a
    BLAS matrix-vector product, not a separate pass). ``grad_logits`` is overwritten; pass a scratch array.
    Only the last two axes are a layer's, so stacked members (``fnn.train.stacked``) run through the same code.
    """
    delta = grad_logits
    ones = np.ones(delta.shape[-2], params.dtype)
    product = _product(params, delta.shape[-2])
    for index in range(len(params.layers) - 1, -1, -1):
        w_out, b_out = out[index]
        product(trace.inputs[index].swapaxes(-1, -2), delta, out=w_out)
        product(ones, delta, out=b_out)
        if index == 0:
            break
        g = product(delta, params.layers[index].w.swapaxes(-1, -2))
        mask = trace.masks[index - 1] if trace.masks else None
        if mask is not None:
            g *= mask
        delta = params.spec.layers[index - 1].activation.backward(trace.pre[index - 1], trace.post[index - 1], g)


def _product(params: Params, rows: int) -> Any:
    """The matrix product for ``params``' layers and a batch of ``rows``: ``np.dot`` for one network's 2-D weights
    (the same BLAS call as ``np.matmul``, with less overhead per call); ``np.matmul`` for stacked members' 3-D ones
    (``np.dot`` would pair every member with every other) and for one row, where a product of two one-element
    arrays would give ``-0.0`` by ``np.dot`` and ``0.0`` by ``np.matmul``."""
    return np.dot if rows > 1 and params.layers[0].w.ndim == 2 else np.matmul


def output_gradient(params: Params, trace: Trace, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``dL/dz`` of the last layer: fused for softmax/sigmoid cross-entropy, chained through the output's
    activation otherwise; of the ``weights``-weighted mean loss if given. Returns a new array the caller may
    overwrite."""
    loss: Any = params.spec.loss
    z, a = trace.pre[-1], trace.post[-1]
    if loss.fused:
        return loss.grad_logits(z, a, y) if weights is None else weighted_gradient(loss, z, a, y, weights)
    grad_output = np.array(loss.derivative(a, y), dtype=a.dtype, copy=True)
    if weights is not None:
        grad_output = rescaled_rows(grad_output, weights)
    output: Any = params.spec.output_activation
    return output.backward(z, a, grad_output)


def loss_value(params: Params, trace: Trace, y: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The batch's mean loss, from the logits where the loss is fused (finite even for saturated outputs);
    the ``weights``-weighted mean if given."""
    loss: Any = params.spec.loss
    if weights is not None:
        return weighted_value(loss, trace.pre[-1], trace.post[-1], y, weights)
    if loss.value_from_both is not None:
        return float(loss.value_from_both(trace.pre[-1], trace.post[-1], y))
    if loss.fused:
        return float(loss.value_from_logits(trace.pre[-1], y))
    return float(loss.value(trace.post[-1], y))
