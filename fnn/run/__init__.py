"""A run of a configuration: :func:`run` trains what a :class:`RunConfig` (or a dict of settings) describes and
returns a :class:`Finished` run with its record.

By job: :mod:`.settings` (the table of settings, :class:`RunConfig`), :mod:`.build` (data parts, network,
optimiser from a configuration, computed once), :mod:`.engine` (the one run loop), :mod:`.record` (metrics and
the run record), :mod:`.provenance` (data fingerprints and the environment), :mod:`.sweep` (grids of runs: ``fnn.sweep(base, grid,
seeds)``, the one door, also of successive halving with ``halving=Halving(...)``), :mod:`.stacks` (run ids, stacked
runs), :mod:`.pool` (where a sweep's tasks run), :mod:`.summary` (a sweep's summary and result) and :mod:`.halving`.

>>> finished = fnn.run.run({"data": "iris", "hidden": [4], "epochs": 2})
>>> finished.record["epochs_run"], finished.record["network"]
(2, '4-4-3 relu -> softmax, cross-entropy')
"""

from fnn.run.engine import Finished, run
from fnn.run.halving import Halving
from fnn.run.settings import DEFAULTS, PYTHON, SETTINGS, RunConfig, resolve_config
from fnn.run.summary import Rung, SweepResult

__all__ = ["run", "Finished", "RunConfig", "resolve_config", "PYTHON", "SETTINGS", "DEFAULTS", "Halving", "Rung", "SweepResult"]
