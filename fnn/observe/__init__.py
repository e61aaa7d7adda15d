"""Seeing a run: advice from its diagnostics, figures (the ``plots`` extra) and TensorBoard logs.

Importing it needs neither matplotlib nor tensorboardX: a figure function imports matplotlib when it draws, a
:class:`TensorBoardLog` imports tensorboardX when it opens.
"""

from fnn.observe.advice import diagnostics_series, warnings_for
from fnn.observe.plots import (
    activation_functions,
    compare_runs,
    confusion_matrix_plot,
    decision_boundary,
    fitted_curve,
    learning_curves,
    misclassified_grid,
    save_plot,
)
from fnn.observe.run_plots import diagnostics_plot, write_plots
from fnn.observe.tensorboard import TensorBoardLog, write_history

__all__ = [
    "warnings_for",
    "diagnostics_series",
    "learning_curves",
    "compare_runs",
    "confusion_matrix_plot",
    "decision_boundary",
    "fitted_curve",
    "misclassified_grid",
    "activation_functions",
    "diagnostics_plot",
    "write_plots",
    "save_plot",
    "TensorBoardLog",
    "write_history",
]
