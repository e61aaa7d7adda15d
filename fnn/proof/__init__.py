"""Proof of runs: verify a run by retraining it, diff two runs, replay one epoch from a kept checkpoint."""
