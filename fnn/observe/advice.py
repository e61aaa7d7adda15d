"""Advice from a run's diagnostics: what each epoch's numbers say is wrong, in words, and the columns to plot.

:func:`warnings_for` turns an epoch's :class:`~fnn.train.diagnostics.EpochDiagnostics` into one sentence per
problem (dead or saturated units, update ratios far from the usual ~1e-3, a gradient that is not finite), each
with what to try; :func:`diagnostics_series` lays a history's diagnostics out as columns for a plot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from fnn.errors import bad_argument
from fnn.train.diagnostics import USUAL_UPDATE_RATIO, EpochDiagnostics, LayerDiagnostics  # noqa: F401  (the doctests')
from fnn.train.state import EpochRecord


def epoch_diagnostics(value: Any, function: str, argument: str) -> EpochDiagnostics | None:
    """An epoch's diagnostics as a record holds them (None, :class:`EpochDiagnostics` or its dict) as
    :class:`EpochDiagnostics` or None; anything else is refused naming ``function``'s ``argument``."""
    if isinstance(value, Mapping):
        return EpochDiagnostics.from_dict(value)
    if value is None or isinstance(value, EpochDiagnostics):
        return value
    raise bad_argument(function, argument, "epoch records whose diagnostics are EpochDiagnostics or their dicts", type(value).__name__)


def diagnostics_series(history: Iterable[EpochRecord | Mapping[str, Any]]) -> tuple[list[int], dict[str, list[float | None]]]:
    """``(epochs, {name: values})`` of every epoch in ``history`` that has diagnostics, ``name`` as in
    :meth:`EpochDiagnostics.scalars` (missing values None): the columns a plot draws. ``history`` is a ``History``
    whose records carry ``diagnostics``, or a run record's list of epoch dicts.

    >>> layer = {"layer": 1, "activation": "relu", "grad_norm": 0.5, "grad_norm_max": 0.7, "weight_norm": 3.0,
    ...          "update_ratio": 1e-3, "dead_fraction": 0.0, "saturated_fraction": None}
    >>> d = {"lr_first": 0.1, "lr_last": 0.1, "steps": 4, "samples": 90, "sampled_steps": 1, "layers": [layer]}
    >>> epochs, series = diagnostics_series([{"epoch": 1, "diagnostics": d}, {"epoch": 2, "diagnostics": None}])
    >>> epochs, series["layer1/grad_norm"]
    ([1], [0.5])
    """
    epochs: list[int] = []
    rows: list[dict[str, float]] = []
    for record in history:
        if isinstance(record, Mapping):
            epoch, given = record["epoch"], record.get("diagnostics")
        else:
            epoch, given = record.epoch, record.diagnostics
        diagnostics = epoch_diagnostics(given, "diagnostics_series", "history")
        if diagnostics is not None:
            epochs.append(epoch)
            rows.append(diagnostics.scalars())
    names = sorted({name for row in rows for name in row})
    return epochs, {name: [row.get(name) for row in rows] for name in names}


def problems(diagnostics: EpochDiagnostics, *, dead_limit: float = 0.25, saturated_limit: float = 0.25,
             ratio_range: tuple[float, float] = (1e-5, 1e-1), epoch: int | None = None) -> list[tuple[int, str, str]]:
    """``(layer, problem, advice)`` for each problem :func:`warnings_for` finds, ``problem`` one of ``"dead"``,
    ``"saturated"``, ``"not finite"``, ``"ratio high"``, ``"ratio low"``: a caller can say each (layer, problem)
    once per run. The arguments are :func:`warnings_for`'s."""
    when = f" in epoch {epoch}" if epoch is not None else ""
    low, high = ratio_range
    found: list[tuple[int, str, str]] = []
    for layer in diagnostics.layers:
        name = f"Layer {layer.layer} ({layer.activation})"
        if layer.dead_fraction is not None and layer.dead_fraction > dead_limit:
            found.append((layer.layer, "dead", (
                f"{name}: {layer.dead_fraction:.0%} of its units are dead (never active{when or ' this epoch'}). "
                f"Lower the learning rate, use He initialisation, or try leaky_relu or elu."
            )))
        if layer.saturated_fraction is not None and layer.saturated_fraction > saturated_limit:
            found.append((layer.layer, "saturated", (
                f"{name}: {layer.saturated_fraction:.0%} of its units are saturated on most samples{when}, so they "
                f"barely learn. Standardise the inputs, use Glorot (Xavier) initialisation, or lower the learning rate."
            )))
        if not (math.isfinite(layer.grad_norm) and math.isfinite(layer.grad_norm_max)):
            found.append((layer.layer, "not finite",
                f"{name}: the gradient norm is not finite{when}. Lower the learning rate or clip gradients (--clip-norm)."))
        elif layer.update_ratio > high:
            found.append((layer.layer, "ratio high", (
                f"{name}: each update changes the weights by {layer.update_ratio:.1e} of their norm{when}, orders of "
                f"magnitude above the usual ~{USUAL_UPDATE_RATIO:g}: the learning rate is probably too high."
            )))
        elif layer.update_ratio == 0:
            found.append((layer.layer, "ratio low", (
                f"{name}: its weights did not change at all{when}: no gradient reaches it (dead units in it or "
                f"after it, or a vanishing gradient). Lower the learning rate, or try leaky_relu or elu."
            )))
        elif layer.update_ratio < low:
            found.append((layer.layer, "ratio low", (
                f"{name}: each update changes the weights by {layer.update_ratio:.1e} of their norm{when}, orders of "
                f"magnitude below the usual ~{USUAL_UPDATE_RATIO:g}: the learning rate is probably too low (or "
                f"a schedule has decayed it)."
            )))
    return found


def warnings_for(diagnostics: EpochDiagnostics, *, dead_limit: float = 0.25, saturated_limit: float = 0.25,
                 ratio_range: tuple[float, float] = (1e-5, 1e-1), epoch: int | None = None) -> list[str]:
    """Advice, one string per problem, for an epoch's :class:`EpochDiagnostics`.

    A layer warns when more than ``dead_limit`` of its units are dead or more than ``saturated_limit`` saturated,
    when its update ratio lies outside ``ratio_range`` (by default two orders of magnitude either side of the
    usual 1e-3), or when a gradient norm is not finite. ``epoch``, if given, is named in the messages.

    >>> layer = LayerDiagnostics(1, "relu", 0.5, 0.9, 4.0, 2e-3, dead_fraction=0.6)
    >>> print(warnings_for(EpochDiagnostics(0.1, 0.1, 10, 320, 1, (layer,)))[0])  # doctest: +ELLIPSIS
    Layer 1 (relu): 60% of its units are dead (never active this epoch). Lower the learning rate, ...
    """
    found = problems(diagnostics, dead_limit=dead_limit, saturated_limit=saturated_limit, ratio_range=ratio_range, epoch=epoch)
    return [advice for _, _, advice in found]
