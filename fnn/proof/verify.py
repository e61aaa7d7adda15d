"""Judging a rerun against its record: do the parameters match to the bit, and if not, what could explain it.

Rerunning is the caller's job (``fnn verify`` reruns the recorded configuration); this module holds the pure
judgement, so it is the same from the command line and from Python.

>>> env = {"fnn": "0.1.0", "numpy": "2.1.0", "blas": {"library": "openblas", "core_type": "Haswell", "threads": 1}}
>>> record = {"params_sha256": "ab" * 32, "environment": env}
>>> result = judge_rerun(record, "cd" * 32, {**env, "blas": {**env["blas"], "threads": 4}})
>>> result.matches, result.reasons
(False, ('BLAS thread count: 1 recorded, 4 now',))
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from fnn.errors import bad_argument
from fnn.run.provenance import explain_difference

UNEXPLAINED = (
    "nothing the record states differs (data, versions, BLAS and threads all match): the run is not reproducible "
    "here, which is a bug worth reporting with both records"
)


@frozen
class Verification:
    """``matches``: the rerun's params SHA-256 equals the recorded one. ``reasons``: what differs between the
    recorded run and the rerun (see :func:`fnn.run.provenance.explain_difference`); when the params differ and nothing
    recorded does, a single reason says so.

    >>> verdict = judge_rerun({"params_sha256": "ab" * 32, "environment": {"fnn": "0.1.0"}}, "ab" * 32, {"fnn": "0.1.0"})
    >>> verdict.matches, verdict.to_dict()["reasons"]
    (True, [])
    """

    matches: bool
    recorded_sha256: str
    rerun_sha256: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"matches": self.matches, "recorded_sha256": self.recorded_sha256, "rerun_sha256": self.rerun_sha256, "reasons": list(self.reasons)}


def judge_rerun(record: dict[str, Any], rerun_sha256: str, current_environment: dict[str, Any] | None,
                current_data: dict[str, Any] | None = None) -> Verification:
    """The :class:`Verification` of a rerun whose final params have SHA-256 ``rerun_sha256``, made in
    ``current_environment`` (:func:`fnn.run.provenance.environment`) on data with fingerprints ``current_data``
    (:func:`fnn.run.provenance.fingerprints`), against the run ``record`` (a ``record.json`` dict).

    >>> judge_rerun({"params_sha256": "ab" * 32, "environment": {"fnn": "0.1.0"}}, "cd" * 32, {"fnn": "0.1.0"}).reasons == (UNEXPLAINED,)
    True
    """
    if not isinstance(record, dict) or not isinstance(record.get("params_sha256"), str):
        raise bad_argument("judge_rerun", "record", "a run record with its 'params_sha256'", sorted(record) if isinstance(record, dict) else record)
    if not isinstance(rerun_sha256, str):
        raise bad_argument("judge_rerun", "rerun_sha256", "a hex SHA-256 string", rerun_sha256)
    reasons = explain_difference(record.get("environment"), current_environment, record.get("data"), current_data)
    matches = record["params_sha256"] == rerun_sha256
    if not matches and not reasons:
        reasons = [UNEXPLAINED]
    return Verification(matches, record["params_sha256"], rerun_sha256, tuple(reasons))
