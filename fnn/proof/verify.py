"""Judging a rerun against its record: does every number the record states come out again, to the bit, and if
not, which ones differ and what could explain it.

Rerunning is the caller's job (``fnn verify`` reruns the recorded configuration); this module holds the pure
judgement, so it is the same from the command line and from Python. What is proven (:data:`PROVEN`): the
configuration, the network, the final parameters' SHA-256, every metric of every epoch of the history, the
validation and test metrics, the epochs run and the data fingerprints of every part. The wall time, the thread
count and the environment are not results: a changed environment is given as a reason, not a difference.

>>> env = {"fnn": "0.1.0", "numpy": "2.1.0", "blas": {"library": "openblas", "core_type": "Haswell", "threads": 1}}
>>> record = {"params_sha256": "ab12", "environment": env, "history": [{"epoch": 1, "loss": 0.5}]}
>>> rerun = {**record, "params_sha256": "cd34", "environment": {**env, "blas": {**env["blas"], "threads": 4}}}
>>> result = judge_rerun(record, rerun)
>>> result.matches, result.differences, result.reasons
(False, ("params_sha256: 'ab12' recorded, 'cd34' rerun",), ('BLAS thread count: 1 recorded, 4 now',))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import frozen

from fnn.errors import bad_argument
from fnn.proof.diff import ABSENT, _differences, _same
from fnn.run.provenance import explain_difference

UNEXPLAINED = (
    "nothing the record states differs (data, versions, BLAS and threads all match): the run is not reproducible "
    "here, which is a bug worth reporting with both records"
)

PROVEN = ("config", "network", "seed", "params_sha256", "epochs_run", "best_epoch", "stopped_early", "history",
          "validation_metrics", "final_metrics", "data")
"""The record's fields a rerun must give again, in the order differences are listed."""

_NOT_RESULTS = ("threads",)
"""Settings a rerun may change on purpose (``fnn verify --threads``): the run's bits say whether they mattered."""


@frozen
class Verification:
    """``matches``: every proven field of the record (:data:`PROVEN`) and the checkpoint on disk equal the rerun's.
    ``differences``: each that does not, named (``"history epoch 2 loss: 0.5 recorded, 0.49 rerun"``).
    ``reasons``: what differs between the recorded run's circumstances and the rerun's (see
    :func:`fnn.run.provenance.explain_difference`); when the params differ and nothing recorded does, a single
    reason says so.

    >>> record = {"params_sha256": "ab" * 32, "environment": {"fnn": "0.1.0"}}
    >>> verdict = judge_rerun(record, record)
    >>> verdict.matches, verdict.to_dict()["differences"]
    (True, [])
    """

    matches: bool
    recorded_sha256: str
    rerun_sha256: str
    reasons: tuple[str, ...]
    differences: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"matches": self.matches, "recorded_sha256": self.recorded_sha256, "rerun_sha256": self.rerun_sha256,
                "differences": list(self.differences), "reasons": list(self.reasons)}


def _named(prefix: str, entries: Sequence[tuple[str, Any, Any]]) -> list[str]:
    return [f"{prefix}{name}: {a!r} recorded, {b!r} rerun" for name, a, b in entries]


def _history_differences(recorded: list[Any], rerun: list[Any]) -> list[str]:
    out = []
    for index in range(max(len(recorded), len(rerun))):
        if index >= len(recorded) or index >= len(rerun):
            out.append(f"history epoch {index + 1}: only the {'rerun' if index >= len(recorded) else 'record'} has it")
        else:  # named by position: an edited "epoch" entry must not rename its own line
            out += _named(f"history epoch {index + 1} ", _differences(recorded[index], rerun[index]))
    return out


def _record_differences(record: dict[str, Any], rerun: dict[str, Any]) -> tuple[str, ...]:
    """Each proven field (:data:`PROVEN`) where the rerun's record differs from ``record``, as one line naming it
    (nested entries by dotted path, history entries by epoch) with the recorded and the rerun value.

    >>> record = {"final_metrics": {"accuracy": 0.9, "loss": 0.3}, "history": [{"epoch": 1, "loss": 0.5}]}
    >>> _record_differences(record, {"final_metrics": {"accuracy": 0.9, "loss": 0.25}, "history": [{"epoch": 1, "loss": 0.5}]})
    ('final_metrics.loss: 0.3 recorded, 0.25 rerun',)
    """
    out: list[str] = []
    for name in PROVEN:
        if name not in record and name not in rerun:
            continue
        mine, theirs = record.get(name, ABSENT), rerun.get(name, ABSENT)
        if name == "history" and isinstance(mine, list) and isinstance(theirs, list):
            out += _history_differences(mine, theirs)
        elif isinstance(mine, dict) and isinstance(theirs, dict):
            if name == "config":
                mine, theirs = ({k: v for k, v in c.items() if k not in _NOT_RESULTS} for c in (mine, theirs))
            out += _named(f"{name}.", _differences(mine, theirs))
        elif not _same(mine, theirs):
            out.append(f"{name}: {mine!r} recorded, {theirs!r} rerun")
    return tuple(out)


def _sha256(record: Any, name: str) -> str:
    if not isinstance(record, dict) or not isinstance(record.get("params_sha256"), str):
        raise bad_argument("judge_rerun", name, "a run record with its 'params_sha256'", sorted(record) if isinstance(record, dict) else record)
    return record["params_sha256"]


def judge_rerun(record: dict[str, Any], rerun: dict[str, Any], on_disk: Sequence[str] = ()) -> Verification:
    """The :class:`Verification` of a rerun whose record (made in the current environment, with its data
    fingerprints) is ``rerun``, against the run ``record`` (a ``record.json`` dict); ``on_disk`` lists what the
    caller found different in the run's files (the checkpoint), each a line naming it.

    >>> record = {"params_sha256": "ab" * 32, "environment": {"fnn": "0.1.0"}}
    >>> judge_rerun(record, {**record, "params_sha256": "cd" * 32}).reasons == (UNEXPLAINED,)
    True
    """
    recorded_sha256, rerun_sha256 = _sha256(record, "record"), _sha256(rerun, "rerun")
    differences = (*_record_differences(record, rerun), *on_disk)
    reasons = explain_difference(record.get("environment"), rerun.get("environment"), record.get("data"), rerun.get("data"))
    if recorded_sha256 != rerun_sha256 and not reasons:
        reasons = [UNEXPLAINED]
    return Verification(not differences, recorded_sha256, rerun_sha256, tuple(reasons), tuple(differences))
