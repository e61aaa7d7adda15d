"""Seeing a run: advice from its diagnostics, figures (the ``plots`` extra) and TensorBoard logs."""
