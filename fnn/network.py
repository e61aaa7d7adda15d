"""The forward pass, and the backward pass that turns a gradient at the logits into parameter gradients.

Arrays are batch-major: samples are rows, a layer computes ``z = a_prev @ w + b`` then ``a = activation(z)``.
These functions trust their inputs (``fnn.forward`` and ``fnn.gradients`` check them first), so a training loop
pays for validation once per data set, not once per step.
"""

import numpy as np
from attrs import frozen

from .arrays import freeze_new
from .params import Layer, Params

__all__ = ["Trace", "forward_unchecked", "forward_trace", "backward", "backward_pairs", "output_gradient", "loss_value"]


@frozen
class Trace:
    """What the backward pass needs from the forward pass.

    ``inputs[l]`` is what layer ``l`` multiplied (the data for ``l = 0``, after dropout for hidden layers),
    ``pre[l]`` its pre-activation ``z`` and ``post[l]`` its activation before dropout. ``masks[l]`` scales the
    activation of hidden layer ``l`` (already divided by the keep probability), or is None.
    """

    inputs: tuple
    pre: tuple
    post: tuple
    masks: tuple


def forward_unchecked(params, x):
    """The network's output (probabilities for a softmax or sigmoid output) for a trusted batch ``x``."""
    a = x
    for layer, layer_spec in zip(params.layers, params.spec.layers):
        z = a @ layer.w
        z += layer.b
        a = layer_spec.activation.fn(z)
    return a


def forward_trace(params, x, masks=None):
    """Run the forward pass and keep what backprop needs; ``masks`` (one per hidden layer) applies dropout."""
    inputs, pre, post = [], [], []
    a = x
    last = len(params.layers) - 1
    for index, (layer, layer_spec) in enumerate(zip(params.layers, params.spec.layers)):
        inputs.append(a)
        z = a @ layer.w
        z += layer.b
        a = layer_spec.activation.fn(z)
        pre.append(z)
        post.append(a)
        if masks is not None and index < last and masks[index] is not None:
            a = a * masks[index]
    return Trace(tuple(inputs), tuple(pre), tuple(post), tuple(masks) if masks is not None else ())


def backward(params, trace, grad_logits):
    """Parameter gradients from ``grad_logits = dL/dz`` of the last layer, as a read-only ``Params``.

    ``grad_logits`` is overwritten along the way; pass a scratch array.
    """
    pairs = backward_pairs(params, trace, grad_logits)
    return Params(params.spec, [Layer(freeze_new(w), freeze_new(b)) for w, b in pairs])


def backward_pairs(params, trace, grad_logits):
    """The gradients as a list of new, writable ``[w, b]`` arrays per layer: scratch for a fused optimiser step."""
    grads = [None] * len(params.layers)
    delta = grad_logits
    for index in range(len(params.layers) - 1, -1, -1):
        grads[index] = [trace.inputs[index].T @ delta, delta.sum(axis=0)]
        if index == 0:
            break
        g = delta @ params.layers[index].w.T
        if trace.masks and trace.masks[index - 1] is not None:
            g *= trace.masks[index - 1]
        delta = params.spec.layers[index - 1].activation.backward(trace.pre[index - 1], trace.post[index - 1], g)
    return grads


def output_gradient(params, trace, y):
    """``dL/dz`` of the last layer: fused for softmax/sigmoid cross-entropy, chained through the output's
    activation otherwise. Returns a new array the caller may overwrite."""
    loss = params.spec.loss
    z, a = trace.pre[-1], trace.post[-1]
    if loss.fused:
        return loss.grad_logits(z, a, y)
    grad_output = np.array(loss.derivative(a, y), dtype=a.dtype, copy=True)
    return params.spec.output_activation.backward(z, a, grad_output)


def loss_value(params, trace, y):
    """The batch's mean loss, from the logits where the loss is fused (finite even for saturated outputs)."""
    loss = params.spec.loss
    if loss.fused:
        return float(loss.value_from_logits(trace.pre[-1], y))
    return float(loss.value(trace.post[-1], y))
