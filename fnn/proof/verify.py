"""Judging a rerun against its record: do the parameters match to the bit, and if not, what could explain it.

Rerunning is the caller's job (``fnn verify`` reruns the recorded configuration); this module holds the pure
judgement, so it is the same from the command line and from Python.

>>> env = {"fnn": "0.1.0", "numpy": "2.1.0", "blas": {"library": "openblas", "core_type": "Haswell", "threads": 1}}
>>> record = {"params_sha256": "ab" * 32, "environment": env}
>>> result = judge_rerun(record, "cd" * 32, {**env, "blas": {**env["blas"], "threads": 4}})
>>> result.matches, result.reasons
(False, ('BLAS thread count: 1 recorded, 4 now',))
"""

from attrs import frozen

from fnn.errors import bad_argument
from fnn.run.provenance import explain_difference

__all__ = ["Verification", "judge_rerun"]

UNEXPLAINED = (
    "nothing the record states differs (data, versions, BLAS and threads all match): the run is not reproducible "
    "here, which is a bug worth reporting with both records"
)


@frozen
class Verification:
    """``matches``: the rerun's params SHA-256 equals the recorded one. ``reasons``: what differs between the
    recorded run and the rerun (see :func:`fnn.run.provenance.explain_difference`); when the params differ and nothing
    recorded does, a single reason says so."""

    matches: bool
    recorded_sha256: str
    rerun_sha256: str
    reasons: tuple

    def to_dict(self):
        return {"matches": self.matches, "recorded_sha256": self.recorded_sha256, "rerun_sha256": self.rerun_sha256, "reasons": list(self.reasons)}


def judge_rerun(record, rerun_sha256, current_environment, current_data=None):
    """The :class:`Verification` of a rerun whose final params have SHA-256 ``rerun_sha256``, made in
    ``current_environment`` (:func:`fnn.run.provenance.environment`) on data with fingerprints ``current_data``
    (:func:`fnn.run.provenance.fingerprints`), against the run ``record`` (a ``record.json`` dict)."""
    if not isinstance(record, dict) or not isinstance(record.get("params_sha256"), str):
        raise bad_argument("judge_rerun", "record", "a run record with its 'params_sha256'", sorted(record) if isinstance(record, dict) else record)
    if not isinstance(rerun_sha256, str):
        raise bad_argument("judge_rerun", "rerun_sha256", "a hex SHA-256 string", rerun_sha256)
    reasons = explain_difference(record.get("environment"), current_environment, record.get("data"), current_data)
    matches = record["params_sha256"] == rerun_sha256
    if not matches and not reasons:
        reasons = [UNEXPLAINED]
    return Verification(matches, record["params_sha256"], rerun_sha256, tuple(reasons))
