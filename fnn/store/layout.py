"""The names of a run folder's own files and subfolders, which every module of :mod:`fnn.store` that reads or writes
one shares.

>>> CHECKPOINT, RECORD, KEPT_FOLDER
('checkpoint.npz', 'record.json', 'checkpoints')
"""

CHECKPOINT = "checkpoint.npz"
"""The file of a run folder that holds its model."""
RECORD = "record.json"
"""The file of a run folder that holds what its run did (:mod:`fnn.store.record`)."""
LOCK = "run.lock"
"""The file every writer of a run folder locks (:mod:`fnn.store.lock`)."""
PENDING = ".fnn-pending"
"""Where a run into a folder that already holds one writes, until its record commits it (:mod:`fnn.store.staging`)."""
KEPT_FOLDER = "checkpoints"
"""The subfolder of a run folder that holds its kept per-epoch checkpoints (``epoch-0001.npz``, ...)."""
EXTRA_FOLDERS = (KEPT_FOLDER, "tensorboard")
"""The subfolders a run writes beside its checkpoint when asked."""
SWEEP_RUNS = "runs"
"""The subfolder of a sweep's folder that holds its runs' records (``<run_id>.json``) or, halving, run folders."""
SUMMARY = "summary.json"
"""The file of a sweep's folder that holds its summary."""
RUNGS = "rungs.json"
"""The file of a halving sweep's folder that holds its finished rungs."""
LEDGER = "ledger.json"
"""The file of a sweep's folder that holds the SHA-256 of each finished run's record, as the sweep wrote it."""
PLOT_FILES = ("learning_curves.png", "confusion_matrix.png", "decision_boundary.png", "fitted_curve.png", "misclassified.png", "diagnostics.png")
"""The plot files :func:`fnn.observe.run_plots.write_plots` may write into a run folder."""
