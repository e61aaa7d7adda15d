"""Per-epoch training diagnostics, gathered inside the epoch's fold from what each step already holds.

A step has the hidden activations of its forward pass, the gradients and the parameters before and after
its update; from them an epoch's :class:`DiagnosticsAccumulator` keeps only norms, a few per-unit counts and the
learning rate, so no second forward pass and no copy of an activation is ever made. The fold is

``acc = start_diagnostics(spec)``; per step, ``norms = gradient_norms(grads) if wants_norms(acc) else None``, then ``acc = accumulate(acc, hidden, norms, params,
new_params, lr)``; after the last batch ``finish(acc)``, a frozen, JSON-ready :class:`EpochDiagnostics`.

Work over every weight (a norm, a subtraction) is the one cost here that grows with the network, so it is done on
every ``sample_every``-th step of the epoch (the first included; 20 by default): these norms move slowly from step
to step, so a sample estimates their mean well. Units are watched on every step, as a unit is dead only if no
sample at all activates it. What each number means, per dense layer (``w`` only: biases start at zero and would
blur the ratios):

- ``grad_norm``: the mean of ``||dL/dw||`` over the sampled steps; ``grad_norm_max`` its largest value there.
- ``weight_norm``: ``||w||`` after the epoch's last step.
- ``update_ratio``: the mean of ``||w_after - w_before|| / ||w_before||`` over the sampled steps.
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
>>> grads = fnn.grad(params, (x, y))
>>> new = fnn.sgd_step(params, grads, lr=0.1)
>>> hidden = [np.maximum(x @ params.layers[0].w + params.layers[0].b, 0)]
>>> acc = accumulate(start_diagnostics(spec), hidden, gradient_norms(grads), params, new, lr=0.1)
>>> d = finish(acc)
>>> d.steps, d.samples, d.layers[0].activation, d.layers[1].dead_fraction is None
(1, 4, 'relu', True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from attrs import frozen

from fnn.core.params import Params
from fnn.core.spec import NetworkSpec
from fnn.errors import Described, FnnInputError, bad_argument

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
    dead_fraction: float | None = None
    saturated_fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _LAYER_FIELDS}


_LAYER_FIELDS = ("layer", "activation", "grad_norm", "grad_norm_max", "weight_norm", "update_ratio", "dead_fraction", "saturated_fraction")


@frozen
class EpochDiagnostics:
    """One epoch's diagnostics: the learning rate of its first and last step (None if not given), how many steps
    and samples it saw, on how many steps norms were measured, and a :class:`LayerDiagnostics` per layer, input
    side first."""

    lr_first: float | None
    lr_last: float | None
    steps: int
    samples: int
    sampled_steps: int
    layers: tuple[LayerDiagnostics, ...]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready dict; :meth:`from_dict` reads it back."""
        return {
            "lr_first": self.lr_first,
            "lr_last": self.lr_last,
            "steps": self.steps,
            "samples": self.samples,
            "sampled_steps": self.sampled_steps,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpochDiagnostics:
        """The record :meth:`to_dict` described (e.g. read back from a run's ``record.json``)."""
        try:
            layers = tuple(LayerDiagnostics(**{name: layer[name] for name in _LAYER_FIELDS}) for layer in data["layers"])
            return cls(data["lr_first"], data["lr_last"], int(data["steps"]), int(data["samples"]), int(data["sampled_steps"]), layers)
        except (KeyError, TypeError) as error:
            raise FnnInputError(f"Not an epoch's diagnostics (as EpochDiagnostics.to_dict writes them): missing or bad {error}.") from None

    def scalars(self) -> dict[str, Any]:
        """Every number as a flat ``{"layer1/grad_norm": value, ...}`` dict (None values left out), for logging
        and plotting."""
        out = {"lr_first": self.lr_first, "lr_last": self.lr_last}
        for layer in self.layers:
            for name in _LAYER_FIELDS[2:]:
                out[f"layer{layer.layer}/{name}"] = getattr(layer, name)
        return {key: value for key, value in out.items() if value is not None}


@frozen(hash=False)
class DiagnosticsAccumulator:
    """What an epoch's fold carries to build its :class:`EpochDiagnostics` (per layer, input side first).

    ``watch[l]`` says what is watched in hidden layer ``l``'s units: ``("relu",)`` or ``("dead",)`` for activity,
    ``("saturation", centre, half_width)``, or None. ``activity[l]``, per unit of a dead-family layer (None for
    other layers), is positive exactly when the unit has been active on some sample; ``saturated_counts[l]``
    counts, per unit, the samples on which a saturating layer's unit was saturated. Norm sums cover the ``sampled`` steps. The arrays are new at
    each step and never written after, except ``ones``, a read-only vector of ones of the batch size, kept for
    the column sums of the next step.
    """

    spec: NetworkSpec
    sample_every: int
    watch: tuple
    steps: int = 0
    samples: int = 0
    sampled: int = 0
    grad_norm_sums: tuple = ()
    grad_norm_maxima: tuple = ()
    ratio_sums: tuple = ()
    activity: tuple = ()
    saturated_counts: tuple = ()
    lr_first: float | None = None
    lr_last: float | None = None
    last_params: Params | None = None
    ones: np.ndarray | None = None


def _watch(activation_name):
    kind = _kind(activation_name)
    if kind == "dead":
        return ("relu",) if activation_name == "relu" else ("dead",)
    if kind == "saturation":
        return ("saturation", *SATURATING[activation_name.partition(":")[0]])
    return None


def start_diagnostics(spec: NetworkSpec, sample_every: int = 20) -> DiagnosticsAccumulator:
    """An empty accumulator for a network of ``spec``. Gradient norms and update ratios are measured on every
    ``sample_every``-th step, the first included (1: every step); units are watched on every step."""
    if isinstance(sample_every, bool) or not isinstance(sample_every, (int, np.integer)) or sample_every < 1:
        raise bad_argument("start_diagnostics", "sample_every", "a positive int", sample_every)
    watch = tuple(_watch(layer.activation.name) for layer in spec.layers[:-1]) + (None,)
    zeros = (0.0,) * len(spec.layers)
    return DiagnosticsAccumulator(
        spec,
        int(sample_every),
        watch,
        grad_norm_sums=zeros,
        grad_norm_maxima=zeros,
        ratio_sums=zeros,
        activity=tuple(_no_activity(w, layer.output_dim) for w, layer in zip(watch, spec.layers)),
        saturated_counts=tuple(np.zeros(layer.output_dim, np.int64) if w is not None and w[0] == "saturation" else None for w, layer in zip(watch, spec.layers)),
    )


def _no_activity(watch, units):
    if watch is None or watch[0] == "saturation":
        return None
    return np.zeros(units) if watch[0] == "relu" else np.full(units, -np.inf)


def wants_norms(acc: DiagnosticsAccumulator) -> bool:
    """Whether the next step accumulated is a sampled one, for which :func:`accumulate` needs the gradient norms
    (so the step computes them only then)."""
    return acc.steps % acc.sample_every == 0


def _norm(vector):
    vector = vector.ravel()
    return math.sqrt(float(np.dot(vector, vector)))


def gradient_norms(grads: Params) -> tuple[float, ...]:
    """``||dL/dw||`` of each layer.

    >>> params = fnn.init_params(fnn.network([1, 1], activation="identity", loss="mse"), seed=0)
    >>> gradient_norms(fnn.map_arrays(lambda a: np.full_like(a, -3.0), params))
    (3.0,)
    """
    if not isinstance(grads, Params):
        raise bad_argument("gradient_norms", "grads", "fnn.Params", grads)
    return tuple(_norm(layer.w) for layer in grads.layers)


def _activity(level, activations, watch, ones):
    """A dead-family layer's per-unit activity level after one more batch: positive exactly when some sample so
    far had a positive pre-activation (for these activations the output is positive exactly then). For ReLU, whose
    outputs are >= 0, it is the running sum of the outputs, a BLAS product with ones; otherwise their running
    maximum. Two array operations per layer, no boolean batch array."""
    if watch[0] == "relu":
        return level + ones @ activations
    return np.maximum(level, np.maximum.reduce(activations, axis=0))


def _saturated_per_unit(activations, watch, ones):
    _, centre, half_width = watch
    limit = activations.dtype.type(half_width * (1 - 2 * SATURATION_MARGIN))
    away = np.abs(activations - activations.dtype.type(centre)) if centre else np.abs(activations)
    # A product with ones counts down the columns with BLAS, several times faster than a boolean sum on axis 0.
    return (ones @ np.greater(away, limit).astype(activations.dtype)).astype(np.int64)


DISTANCE_BLOCK = 16384
"""Elements of ``w_after - w_before`` formed at a time: a block stays in cache and reuses its allocation, where the
whole difference of a large layer would be a fresh multi-MB array, page faults and an evicted cache for the next
step."""


def _distance(before, after):
    """``||after - before||`` a block of rows at a time (the same value as the whole difference's norm)."""
    before, after = before.reshape(len(before), -1), after.reshape(len(after), -1)
    rows = max(1, DISTANCE_BLOCK // max(1, before.shape[1]))
    total = 0.0
    for start in range(0, len(before), rows):
        block = np.subtract(after[start : start + rows], before[start : start + rows]).ravel()
        total += float(np.dot(block, block))
    return math.sqrt(total)


def _ratio(before, after):
    size = _norm(before)
    return _distance(before, after) / size if size else math.nan


def accumulate(
    acc: DiagnosticsAccumulator,
    hidden_activations: Sequence[np.ndarray],
    grad_norms: Sequence[float] | None,
    params_before: Params,
    params_after: Params,
    lr: float | None = None,
) -> DiagnosticsAccumulator:
    """The accumulator after one more step.

    ``hidden_activations`` are the outputs of the hidden layers in this step's forward pass, before dropout (one
    array per hidden layer; a sequence with the output layer's too is accepted and its last entry ignored);
    ``grad_norms`` comes from :func:`gradient_norms` on a sampled step (see :func:`wants_norms`) and may be None
    on the others; ``params_before`` and ``params_after`` are the parameters the step started from and produced;
    ``lr`` the learning rate the step used. Nothing given is modified.
    """
    watch = acc.watch
    if len(hidden_activations) not in (len(watch) - 1, len(watch)):
        raise bad_argument("accumulate", "hidden_activations", f"{len(watch) - 1} arrays (one per hidden layer)", Described(f"{len(hidden_activations)} arrays"))
    hidden = len(watch) - 1
    activity, saturated = acc.activity, acc.saturated_counts
    if hidden:
        first = hidden_activations[0]
        ones = acc.ones
        if ones is None or len(ones) != len(first) or ones.dtype != first.dtype:  # made once per batch size
            ones = np.ones(len(first), first.dtype)
            ones.flags.writeable = False
        activity = tuple(
            None if level is None else _activity(level, h, w, ones)
            for level, h, w in zip(activity[:hidden], hidden_activations[:hidden], watch)
        ) + (None,)
        saturated = tuple(
            None if counts is None else counts + _saturated_per_unit(h, w, ones)
            for counts, h, w in zip(saturated[:hidden], hidden_activations[:hidden], watch)
        ) + (None,)
    sums, maxima, ratio_sums, sampled = acc.grad_norm_sums, acc.grad_norm_maxima, acc.ratio_sums, acc.sampled
    if acc.steps % acc.sample_every == 0:
        if grad_norms is None or len(grad_norms) != len(watch):
            got = None if grad_norms is None else Described(f"{len(grad_norms)} norms")
            raise bad_argument("accumulate", "grad_norms", f"{len(watch)} gradient norms on a sampled step (see wants_norms)", got)
        sums = tuple(total + norm for total, norm in zip(sums, grad_norms))
        maxima = tuple(max(high, norm) for high, norm in zip(maxima, grad_norms))
        ratio_sums = tuple(
            total + _ratio(before.w, after.w) for total, before, after in zip(ratio_sums, params_before.layers, params_after.layers)
        )
        sampled += 1
    return DiagnosticsAccumulator(
        acc.spec,
        acc.sample_every,
        watch,
        acc.steps + 1,
        acc.samples + (len(hidden_activations[0]) if hidden else 0),
        sampled,
        sums,
        maxima,
        ratio_sums,
        activity,
        saturated,
        acc.lr_first if acc.steps else lr,
        lr,
        params_after,
        ones if hidden else acc.ones,
    )


def finish(acc: DiagnosticsAccumulator) -> EpochDiagnostics:
    """The :class:`EpochDiagnostics` of the steps accumulated."""
    last = acc.last_params
    if acc.steps == 0 or last is None:
        raise FnnInputError("finish needs an accumulator that has seen at least one step; this one saw none.")
    layers = []
    for index, layer in enumerate(acc.spec.layers):
        activity, saturated = acc.activity[index], acc.saturated_counts[index]
        layers.append(
            LayerDiagnostics(
                index + 1,
                layer.activation.name,
                acc.grad_norm_sums[index] / acc.sampled,
                acc.grad_norm_maxima[index],
                _norm(last.layers[index].w),
                acc.ratio_sums[index] / acc.sampled,
                None if activity is None else float(np.count_nonzero(activity <= 0)) / len(activity),
                None if saturated is None else float(np.count_nonzero(saturated > SATURATED_SHARE * acc.samples)) / len(saturated),
            )
        )
    return EpochDiagnostics(_number(acc.lr_first), _number(acc.lr_last), acc.steps, acc.samples, acc.sampled, tuple(layers))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
