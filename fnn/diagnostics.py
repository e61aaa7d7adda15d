"""Per-epoch training diagnostics, gathered inside the epoch's fold from what each step already holds.

A step has the hidden activations of its forward pass, the gradient vector and the parameters before and after
its update; from them an epoch's :class:`DiagnosticsAccumulator` keeps only norms, a few per-unit counts and the
learning rate, so no second forward pass and no copy of an activation is ever made. The fold is

``acc = start_diagnostics(spec)``, per step ``norms = gradient_norms(spec, grad, scale)`` (before a fused update
overwrites the gradient), then ``acc = accumulate(acc, hidden, norms, params, new_params, lr)``, and after the
last batch ``finish(acc)``, a frozen, JSON-ready :class:`EpochDiagnostics`.

What each number means, per dense layer (``w`` only: biases start at zero and would blur the ratios):

- ``grad_norm``: the mean over the epoch's steps of ``||dL/dw||``; ``grad_norm_max`` its largest value.
- ``weight_norm``: ``||w||`` after the epoch's last step.
- ``update_ratio``: the mean of ``||w_after - w_before|| / ||w_before||`` over every ``ratio_every``-th step of
  the epoch (the first one included). A subtraction over every weight is the one cost here that grows with the
  network, so it is sampled; the ratio moves slowly, so a sample of steps estimates its mean well.
- ``dead_fraction`` (ReLU-family hidden layers): the fraction of units whose pre-activation was not positive for
  any sample of the epoch. Such a unit passes no gradient through its linear branch (none at all for ReLU).
- ``saturated_fraction`` (sigmoid and tanh hidden layers): the fraction of units saturated on more than half of
  the epoch's samples, a unit being saturated on a sample when its output lies within 1% of the activation's
  range from either bound: a sigmoid outside [0.01, 0.99], a tanh with ``|a| > 0.98``. As
  ``tanh(z) = 2 sigmoid(2z) - 1`` these are the same rule; the local derivative there is under 4% of its peak, so
  such a unit barely learns (Glorot & Bengio, 2010, saw whole sigmoid layers pinned at 0 this way). Occasional
  saturation is normal; a unit saturated on most inputs has stopped learning.

>>> spec = fnn.network([2, 3, 2], activation="relu")
>>> params = fnn.init_params(spec, seed=0)
>>> x, y = np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])
>>> new = fnn.sgd_step(params, (x, y), lr=0.1)
>>> grads = fnn.grad(params, (x, y))
>>> hidden = [np.maximum(x @ params.layers[0].w + params.layers[0].b, 0)]
>>> acc = accumulate(start_diagnostics(spec), hidden, gradient_norms(spec, grads), params, new, lr=0.1)
>>> d = finish(acc)
>>> d.steps, d.samples, d.layers[0].activation, d.layers[1].dead_fraction is None
(1, 4, 'relu', True)
"""

import math

import numpy as np
from attrs import frozen

from .errors import FnnInputError, bad_argument
from .params import Params, flat_layout

__all__ = [
    "DEAD_FAMILY",
    "SATURATING",
    "DiagnosticsAccumulator",
    "EpochDiagnostics",
    "LayerDiagnostics",
    "accumulate",
    "finish",
    "gradient_norms",
    "start_diagnostics",
    "warnings_for",
]

DEAD_FAMILY = ("relu", "leaky_relu", "prelu", "elu")
"""Activations (by name before any ``:argument``) whose units can die: linear for ``z > 0``, flat or nearly so below."""

SATURATING = {"sigmoid": (0.5, 0.5), "tanh": (0.0, 1.0)}
"""Saturating activations as ``(centre, half-width)`` of their output range."""

SATURATION_MARGIN = 0.01
"""A unit is saturated on a sample when its output is within this fraction of the range from a bound."""

SATURATED_SHARE = 0.5
"""...and a saturated unit is one saturated on more than this share of the epoch's samples."""

USUAL_UPDATE_RATIO = 1e-3
"""The rule of thumb for ``update_ratio`` (CS231n, "Neural Networks Part 3": around 1e-3 per step)."""


def _kind(activation_name):
    base = activation_name.partition(":")[0]
    if base in DEAD_FAMILY:
        return "dead"
    if base in SATURATING:
        return "saturation"
    return None


@frozen
class LayerDiagnostics:
    """The diagnostics of one dense layer over one epoch (see the module for each definition); ``layer`` counts
    from 1. ``dead_fraction`` and ``saturated_fraction`` are None where they do not apply."""

    layer: int
    activation: str
    grad_norm: float
    grad_norm_max: float
    weight_norm: float
    update_ratio: float
    dead_fraction: object = None
    saturated_fraction: object = None

    def to_dict(self):
        return {name: getattr(self, name) for name in _LAYER_FIELDS}


_LAYER_FIELDS = ("layer", "activation", "grad_norm", "grad_norm_max", "weight_norm", "update_ratio", "dead_fraction", "saturated_fraction")


@frozen
class EpochDiagnostics:
    """One epoch's diagnostics: the learning rate of its first and last step (None if not given), how many steps
    and samples it saw, and a :class:`LayerDiagnostics` per layer, input side first."""

    lr_first: object
    lr_last: object
    steps: int
    samples: int
    layers: tuple

    def to_dict(self):
        """A plain, JSON-ready dict; :meth:`from_dict` reads it back."""
        return {
            "lr_first": self.lr_first,
            "lr_last": self.lr_last,
            "steps": self.steps,
            "samples": self.samples,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, data):
        """The record :meth:`to_dict` described (e.g. read back from a run's ``record.json``)."""
        try:
            layers = tuple(LayerDiagnostics(**{name: layer[name] for name in _LAYER_FIELDS}) for layer in data["layers"])
            return cls(data["lr_first"], data["lr_last"], int(data["steps"]), int(data["samples"]), layers)
        except (KeyError, TypeError) as error:
            raise FnnInputError(f"Not an epoch's diagnostics (as EpochDiagnostics.to_dict writes them): missing or bad {error}.") from None

    def scalars(self):
        """Every number as a flat ``{"layer1/grad_norm": value, ...}`` dict (None values left out), for logging
        and plotting."""
        out = {"lr_first": self.lr_first, "lr_last": self.lr_last}
        for layer in self.layers:
            for name in _LAYER_FIELDS[2:]:
                out[f"layer{layer.layer}/{name}"] = getattr(layer, name)
        return {key: value for key, value in out.items() if value is not None}


@frozen(hash=False)
class DiagnosticsAccumulator:
    """What an epoch's fold carries to build its :class:`EpochDiagnostics` (all per layer, input side first).

    ``ever_active[l]`` says, per unit, whether a dead-family layer's unit was ever positive (None for other
    layers); ``saturated_counts[l]`` counts, per unit, the samples on which a saturating layer's unit was
    saturated. The arrays are new at each step and never written after.
    """

    spec: object
    ratio_every: int
    steps: int = 0
    samples: int = 0
    grad_norm_sums: tuple = ()
    grad_norm_maxima: tuple = ()
    ratio_sums: tuple = ()
    ratio_count: int = 0
    ever_active: tuple = ()
    saturated_counts: tuple = ()
    lr_first: object = None
    lr_last: object = None
    last_params: object = None


def start_diagnostics(spec, ratio_every=10):
    """An empty accumulator for a network of ``spec``; the update ratio is measured on every ``ratio_every``-th
    step (1: every step)."""
    if isinstance(ratio_every, bool) or not isinstance(ratio_every, (int, np.integer)) or ratio_every < 1:
        raise bad_argument("start_diagnostics", "ratio_every", "a positive int", ratio_every)
    count = len(spec.layers)
    zeros = (0.0,) * count
    hidden = [_kind(layer.activation.name) for layer in spec.layers[:-1]] + [None]
    return DiagnosticsAccumulator(
        spec,
        int(ratio_every),
        grad_norm_sums=zeros,
        grad_norm_maxima=zeros,
        ratio_sums=zeros,
        ever_active=tuple(np.zeros(layer.output_dim, bool) if kind == "dead" else None for kind, layer in zip(hidden, spec.layers)),
        saturated_counts=tuple(np.zeros(layer.output_dim, np.int64) if kind == "saturation" else None for kind, layer in zip(hidden, spec.layers)),
    )


def _norm(vector):
    vector = vector.ravel()
    return math.sqrt(float(np.dot(vector, vector)))


def gradient_norms(spec, grads, scale=1.0):
    """``||dL/dw||`` of each layer, from ``grads`` as ``Params`` or as the flat gradient vector of the training
    step (in :func:`~fnn.params.flat_layout` order) multiplied by ``scale``. Call it before a fused update
    overwrites that vector. A ``scale`` of 0 leaves the gradient unknown: NaN."""
    if isinstance(grads, Params):
        return tuple(_norm(layer.w) for layer in grads.layers)
    layout, total = flat_layout(spec)
    if not isinstance(grads, np.ndarray) or grads.shape != (total,):
        raise bad_argument("gradient_norms", "grads", f"fnn.Params or a 1-D array of {total} values", getattr(grads, "shape", grads))
    factor = abs(float(scale))
    if factor == 0:
        return (math.nan,) * len(layout)
    return tuple(_norm(grads[start : start + shape[0] * shape[1]]) / factor for (start, shape), _ in layout)


def _active_units(activations, activation_name):
    """Per unit, whether any sample of the batch has a positive pre-activation (for every dead-family activation
    the output is positive exactly then), with one reduction and no boolean batch array."""
    if activation_name == "relu":  # outputs are >= 0, so their sum is positive exactly when one is: a BLAS product
        return np.ones(len(activations), activations.dtype) @ activations > 0
    return np.maximum.reduce(activations, axis=0) > 0


def _saturated_per_unit(activations, centre, half_width):
    limit = activations.dtype.type(half_width * (1 - 2 * SATURATION_MARGIN))
    away = np.abs(activations - activations.dtype.type(centre)) if centre else np.abs(activations)
    saturated = np.greater(away, limit).astype(activations.dtype)
    # A product with ones counts down the columns with BLAS, several times faster than a boolean sum on axis 0.
    return (np.ones(len(activations), activations.dtype) @ saturated).astype(np.int64)


def accumulate(acc, hidden_activations, grad_norms, params_before, params_after, lr=None):
    """The accumulator after one more step.

    ``hidden_activations`` are the outputs of the hidden layers in this step's forward pass, before dropout (one
    array per hidden layer; a sequence with the output layer's too is accepted and its last entry ignored);
    ``grad_norms`` comes from :func:`gradient_norms`; ``params_before`` and ``params_after`` are the parameters
    the step started from and produced; ``lr`` the learning rate the step used. Nothing given is modified.
    """
    count = len(acc.grad_norm_sums)
    if len(grad_norms) != count or len(hidden_activations) not in (count - 1, count):
        raise FnnInputError(
            f"accumulate needs {count} gradient norms and {count - 1} hidden activations for this network; got "
            f"{len(grad_norms)} and {len(hidden_activations)}."
        )
    samples = len(hidden_activations[0]) if count > 1 else 0
    ever_active, saturated = list(acc.ever_active), list(acc.saturated_counts)
    for index, layer in enumerate(acc.spec.layers[:-1]):
        if ever_active[index] is not None:
            ever_active[index] = ever_active[index] | _active_units(hidden_activations[index], layer.activation.name)
        elif saturated[index] is not None:
            centre, half_width = SATURATING[layer.activation.name.partition(":")[0]]
            saturated[index] = saturated[index] + _saturated_per_unit(hidden_activations[index], centre, half_width)
    ratio_sums, ratio_count = acc.ratio_sums, acc.ratio_count
    if acc.steps % acc.ratio_every == 0:
        ratios = tuple(_ratio(before.w, after.w) for before, after in zip(params_before.layers, params_after.layers))
        ratio_sums, ratio_count = tuple(map(float.__add__, ratio_sums, ratios)), ratio_count + 1
    return DiagnosticsAccumulator(
        acc.spec,
        acc.ratio_every,
        acc.steps + 1,
        acc.samples + samples,
        tuple(total + norm for total, norm in zip(acc.grad_norm_sums, grad_norms)),
        tuple(max(high, norm) for high, norm in zip(acc.grad_norm_maxima, grad_norms)),
        ratio_sums,
        ratio_count,
        tuple(ever_active),
        tuple(saturated),
        acc.lr_first if acc.steps else lr,
        lr,
        params_after,
    )


def _ratio(before, after):
    size = _norm(before)
    return _norm(np.subtract(after, before)) / size if size else math.nan


def finish(acc):
    """The :class:`EpochDiagnostics` of the steps accumulated."""
    if acc.steps == 0:
        raise FnnInputError("finish needs an accumulator that has seen at least one step; this one saw none.")
    layers = []
    for index, layer in enumerate(acc.spec.layers):
        active, saturated = acc.ever_active[index], acc.saturated_counts[index]
        layers.append(
            LayerDiagnostics(
                index + 1,
                layer.activation.name,
                acc.grad_norm_sums[index] / acc.steps,
                acc.grad_norm_maxima[index],
                _norm(acc.last_params.layers[index].w),
                acc.ratio_sums[index] / acc.ratio_count,
                None if active is None else 1 - float(np.count_nonzero(active)) / len(active),
                None if saturated is None else float(np.count_nonzero(saturated > SATURATED_SHARE * acc.samples)) / len(saturated),
            )
        )
    return EpochDiagnostics(_number(acc.lr_first), _number(acc.lr_last), acc.steps, acc.samples, tuple(layers))


def _number(value):
    return None if value is None else float(value)


def warnings_for(diagnostics, *, dead_limit=0.25, saturated_limit=0.25, ratio_range=(1e-5, 1e-1), epoch=None):
    """Advice, one string per problem, for an epoch's :class:`EpochDiagnostics`.

    A layer warns when more than ``dead_limit`` of its units are dead or more than ``saturated_limit`` saturated,
    when its update ratio lies outside ``ratio_range`` (by default two orders of magnitude either side of the
    usual 1e-3), or when a gradient norm is not finite. ``epoch``, if given, is named in the messages.

    >>> layer = LayerDiagnostics(1, "relu", 0.5, 0.9, 4.0, 2e-3, dead_fraction=0.6)
    >>> print(warnings_for(EpochDiagnostics(0.1, 0.1, 10, 320, (layer,)))[0])  # doctest: +ELLIPSIS
    Layer 1 (relu): 60% of its units are dead (never active this epoch). Lower the learning rate, ...
    """
    when = f" in epoch {epoch}" if epoch is not None else ""
    low, high = ratio_range
    advice = []
    for layer in diagnostics.layers:
        name = f"Layer {layer.layer} ({layer.activation})"
        if layer.dead_fraction is not None and layer.dead_fraction > dead_limit:
            advice.append(
                f"{name}: {layer.dead_fraction:.0%} of its units are dead (never active{when or ' this epoch'}). "
                f"Lower the learning rate, use He initialisation, or try leaky_relu or elu."
            )
        if layer.saturated_fraction is not None and layer.saturated_fraction > saturated_limit:
            advice.append(
                f"{name}: {layer.saturated_fraction:.0%} of its units are saturated on most samples{when}, so they "
                f"barely learn. Standardise the inputs, use Glorot (Xavier) initialisation, or lower the learning rate."
            )
        if not (math.isfinite(layer.grad_norm) and math.isfinite(layer.grad_norm_max)):
            advice.append(f"{name}: the gradient norm is not finite{when}. Lower the learning rate or clip gradients (--clip-norm).")
        elif layer.update_ratio > high:
            advice.append(
                f"{name}: each update changes the weights by {layer.update_ratio:.1e} of their norm{when}, orders of "
                f"magnitude above the usual ~{USUAL_UPDATE_RATIO:g}: the learning rate is probably too high."
            )
        elif layer.update_ratio < low:
            advice.append(
                f"{name}: each update changes the weights by {layer.update_ratio:.1e} of their norm{when}, orders of "
                f"magnitude below the usual ~{USUAL_UPDATE_RATIO:g}: the learning rate is probably too low (or "
                f"a schedule has decayed it)."
            )
    return advice
