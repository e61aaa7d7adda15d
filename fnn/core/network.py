"""The forward pass, and the backward pass that turns a gradient at the logits into parameter gradients.

Arrays are batch-major: samples are rows, a layer computes ``z = a_prev @ w + b`` then ``a = activation(z)``.
These functions trust their inputs (``fnn.forward`` and ``fnn.core.gradients`` check them first), so a training loop
pays for validation once per data set, not once per step.
"""

import numpy as np
from attrs import frozen

from fnn.core.params import flat_layout, params_from_flat

__all__ = ["Trace", "forward_unchecked", "forward_trace", "backward", "backward_flat", "output_gradient", "loss_value"]


@frozen
class Trace:
    """What the backward pass needs from the forward pass.

    ``inputs[l]`` is what layer ``l`` multiplied (the data for ``l = 0``, after dropout for hidden layers),
    ``pre[l]`` its pre-activation ``z`` and ``post[l]`` its activation before dropout (the same array as ``pre[l]``
    for an activation computed in place, whose derivative does not need ``z``). ``masks[l]`` scales the
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
        activation = layer_spec.activation
        a = activation.fn_inplace(z) if activation.fn_inplace is not None else activation.fn(z)
        pre.append(z)
        post.append(a)
        if masks is not None and index < last and masks[index] is not None:
            a = a * masks[index]
    return Trace(tuple(inputs), tuple(pre), tuple(post), tuple(masks) if masks is not None else ())


def backward(params, trace, grad_logits):
    """Parameter gradients from ``grad_logits = dL/dz`` of the last layer, as a read-only ``Params``.

    ``grad_logits`` is overwritten along the way; pass a scratch array.
    """
    return params_from_flat(params.spec, backward_flat(params, trace, grad_logits))


def backward_flat(params, trace, grad_logits):
    """The gradients as one new, writable 1-D array in :func:`~fnn.core.params.flat_layout` order.

    Each product writes straight into its place in the vector, and the bias gradients are products with a vector
    of ones (a BLAS matrix-vector product, not a separate pass), so a fused optimiser step can then treat all
    gradients as one array.
    """
    layout, total = flat_layout(params.spec)
    flat = np.empty(total, params.dtype)
    delta = grad_logits
    ones = np.ones(len(delta), params.dtype)
    for index in range(len(params.layers) - 1, -1, -1):
        (w_start, w_shape), (b_start, b_shape) = layout[index]
        np.matmul(trace.inputs[index].T, delta, out=flat[w_start : w_start + w_shape[0] * w_shape[1]].reshape(w_shape))
        np.matmul(ones, delta, out=flat[b_start : b_start + b_shape[0]])
        if index == 0:
            break
        g = delta @ params.layers[index].w.T
        if trace.masks and trace.masks[index - 1] is not None:
            g *= trace.masks[index - 1]
        delta = params.spec.layers[index - 1].activation.backward(trace.pre[index - 1], trace.post[index - 1], g)
    return flat


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
    if loss.value_from_both is not None:
        return float(loss.value_from_both(trace.pre[-1], trace.post[-1], y))
    if loss.fused:
        return float(loss.value_from_logits(trace.pre[-1], y))
    return float(loss.value(trace.post[-1], y))
