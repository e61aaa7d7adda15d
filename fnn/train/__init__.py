"""Training as folds: mini-batches, dropout, the step, the epoch fold, the training state and its options, and the
diagnostics gathered inside a step. Re-exported by the face, :mod:`fnn`."""
