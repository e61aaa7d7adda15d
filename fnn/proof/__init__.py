"""Proof of runs: verify a run by retraining it, diff two runs, replay one epoch from a kept checkpoint.

>>> difference = fnn.proof.diff_records({"config": {"lr": 0.1}, "history": []}, {"config": {"lr": 0.2}, "history": []})
>>> difference.settings
(('lr', 0.1, 0.2),)
"""

from fnn.proof.checks import Replay, diff_runs, replay_epoch, verify_run
from fnn.proof.diff import RecordDiff, diff_records
from fnn.proof.replay import EpochPlan, epoch_plan
from fnn.proof.verify import Verification, judge_rerun

__all__ = [
    "verify_run", "diff_runs", "replay_epoch", "Verification", "RecordDiff", "Replay", "judge_rerun", "diff_records",
    "EpochPlan", "epoch_plan",
]
