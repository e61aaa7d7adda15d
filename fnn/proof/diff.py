"""What differs between two runs, from their records: settings, environment, data, history, results and
parameters.

Records are the JSON dicts a run folder's ``record.json`` holds (``config``, ``environment``, ``history``,
``final_metrics``, ``params_sha256``, and ``data`` fingerprints where recorded). Nested settings are named by
dotted paths. Histories and results are compared exactly (every float to the last bit), as two runs of one
configuration give identical ones. Here the parameters are compared by the records' hashes;
:func:`fnn.proof.checks.diff_runs` compares the checkpoints on disk instead.

>>> a = {"config": {"lr": 0.1, "seed": 0}, "history": [{"epoch": 1, "loss": 0.5}], "params_sha256": "ab"}
>>> b = {"config": {"lr": 0.1, "seed": 1}, "history": [{"epoch": 1, "loss": 0.4}], "params_sha256": "cd"}
>>> difference = diff_records(a, b)
>>> difference.settings, difference.first_divergent_epoch, difference.params_equal
((('seed', 0, 1),), 1, False)
"""

from __future__ import annotations

import math
from typing import Any

from attrs import frozen

from fnn.errors import bad_argument

_Entry = tuple[str, Any, Any]

ABSENT = "<absent>"
"""Stands for a setting one record has and the other does not."""

RESULTS = ("final_metrics", "validation_metrics", "epochs_run", "best_epoch", "stopped_early")
"""The record's results besides the history, compared entry by entry."""

OBSERVING = ("diagnostics", "tensorboard", "keep_checkpoints")
"""Settings that watch a run without changing a bit of it: listed apart, never making two runs differ. (Their
per-epoch diagnostics are left out of the history comparison for the same reason.)"""


@frozen
class RecordDiff:
    """``settings``, ``environment`` and ``data``: ``(name, value_a, value_b)`` for each entry that differs, sorted
    by name. ``first_divergent_epoch``: the first epoch whose history records differ (or that only one run has),
    None if the histories are equal; ``divergent_metrics`` what differs there. ``epochs``: how many each run
    recorded. ``results``: the :data:`RESULTS` entries that differ (``final_metrics.accuracy``, ...).
    ``params_equal``: whether the final parameters are equal (None if unknown); ``state_equal``: whether the
    optimiser states are too (None if not compared). ``observing``: the :data:`OBSERVING` settings that differ,
    which do not make the runs differ. ``not_compared``: what could not be compared, and why (a sweep's run record
    keeps no checkpoint).

    >>> a = {"config": {"lr": 0.1, "diagnostics": False}, "history": [{"epoch": 1, "loss": 0.5}], "params_sha256": "ab"}
    >>> difference = diff_records(a, {**a, "config": {"lr": 0.1, "diagnostics": True}})
    >>> difference.identical, difference.observing, difference.lines()[0]
    (True, (('diagnostics', False, True),), 'settings: the same')
    """

    settings: tuple[_Entry, ...]
    environment: tuple[_Entry, ...]
    data: tuple[_Entry, ...]
    first_divergent_epoch: int | None
    divergent_metrics: tuple[str, ...]
    epochs: tuple[int, int]
    params_equal: bool | None
    observing: tuple[_Entry, ...] = ()
    results: tuple[_Entry, ...] = ()
    state_equal: bool | None = None
    not_compared: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        """Same settings, data, history and results, equal parameters (and optimiser states, where compared)."""
        return (not self.settings and not self.data and self.first_divergent_epoch is None and not self.results
                and self.params_equal is True and self.state_equal is not False)

    def to_dict(self) -> dict[str, Any]:
        def rows(entries: tuple[_Entry, ...]) -> list[dict[str, Any]]:
            return [{"name": name, "a": a, "b": b} for name, a, b in entries]

        return {
            "settings": rows(self.settings),
            "environment": rows(self.environment),
            "data": rows(self.data),
            "first_divergent_epoch": self.first_divergent_epoch,
            "divergent_metrics": list(self.divergent_metrics),
            "epochs": list(self.epochs),
            "results": rows(self.results),
            "params_equal": self.params_equal,
            "state_equal": self.state_equal,
            "observing": rows(self.observing),
            "not_compared": list(self.not_compared),
        }

    def lines(self) -> list[str]:
        """The difference in words, one line per fact, for the command line."""
        out = [f"setting {name}: {a!r} -> {b!r}" for name, a, b in self.settings] or ["settings: the same"]
        out += [f"observing {name}: {a!r} -> {b!r} (does not change the run)" for name, a, b in self.observing]
        out += [f"data {name}: {a} -> {b}" for name, a, b in self.data]
        out += [f"environment {name}: {a} -> {b}" for name, a, b in self.environment]
        if self.first_divergent_epoch is None:
            out.append(f"history: identical over {self.epochs[0]} epochs")
        else:
            what = ", ".join(self.divergent_metrics)
            out.append(f"history: first differs at epoch {self.first_divergent_epoch} ({what}); epochs run {self.epochs[0]} and {self.epochs[1]}")
        out += [f"result {name}: {a!r} -> {b!r}" for name, a, b in self.results]
        params = {True: "equal", False: "different", None: "unknown (a run has no checkpoint or no params_sha256)"}[self.params_equal]
        out.append(f"params: {params}")
        if self.state_equal is not None:
            out.append(f"optimiser state: {'equal' if self.state_equal else 'different'}")
        out += [f"not compared: {what}" for what in self.not_compared]
        return out


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        flat = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: value}


def _same(a, b):
    """Exact equality of JSON values; NaN equals NaN and -0.0 differs from 0.0, as their bits do."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _differences(a, b):
    flat_a, flat_b = _flatten(a or {}), _flatten(b or {})
    return tuple(
        (name, flat_a.get(name, ABSENT), flat_b.get(name, ABSENT))
        for name in sorted(set(flat_a) | set(flat_b))
        if not (name in flat_a and name in flat_b and _same(flat_a[name], flat_b[name]))
    )


def _check(record, name):
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict) or not isinstance(record.get("history"), list):
        got = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise bad_argument("diff_records", name, "a run record (a dict with 'config' and a 'history' list)", got)


def _without_diagnostics(history):
    return [{key: value for key, value in epoch.items() if key != "diagnostics"} if isinstance(epoch, dict) else epoch for epoch in history]


def _divergence(history_a, history_b):
    history_a, history_b = _without_diagnostics(history_a), _without_diagnostics(history_b)
    for index, (a, b) in enumerate(zip(history_a, history_b)):
        if not _same(a, b):
            names = sorted(key for key in set(a) | set(b) if key not in a or key not in b or not _same(a[key], b[key]))
            return a.get("epoch", index + 1), tuple(names)
    if len(history_a) != len(history_b):
        longer = history_a if len(history_a) > len(history_b) else history_b
        index = min(len(history_a), len(history_b))
        return longer[index].get("epoch", index + 1), ("only one run has this epoch",)
    return None, ()


def diff_records(record_a: dict[str, Any], record_b: dict[str, Any]) -> RecordDiff:
    """The :class:`RecordDiff` between two run records (``record.json`` dicts).

    >>> a = {"config": {"lr": 0.1}, "history": [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}]}
    >>> b = {"config": {"lr": 0.1}, "history": [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.3}]}
    >>> difference = diff_records(a, b)
    >>> difference.first_divergent_epoch, difference.divergent_metrics, difference.params_equal
    (2, ('loss',), None)
    """
    _check(record_a, "record_a")
    _check(record_b, "record_b")
    epoch, metrics = _divergence(record_a["history"], record_b["history"])
    hash_a, hash_b = record_a.get("params_sha256"), record_b.get("params_sha256")
    settings = _differences(record_a["config"], record_b["config"])
    return RecordDiff(
        settings=tuple(entry for entry in settings if entry[0] not in OBSERVING),
        environment=_differences(record_a.get("environment"), record_b.get("environment")),
        data=_differences(record_a.get("data"), record_b.get("data")),
        first_divergent_epoch=epoch,
        divergent_metrics=metrics,
        epochs=(len(record_a["history"]), len(record_b["history"])),
        params_equal=None if hash_a is None or hash_b is None else hash_a == hash_b,
        observing=tuple(entry for entry in settings if entry[0] in OBSERVING),
        results=_differences({name: record_a[name] for name in RESULTS if name in record_a},
                             {name: record_b[name] for name in RESULTS if name in record_b}),
    )
