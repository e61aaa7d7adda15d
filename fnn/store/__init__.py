"""Persistence: atomic writes, reading untrusted archives, checkpoints, run folders, models and kept epochs."""
