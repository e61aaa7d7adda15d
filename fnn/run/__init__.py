"""A run of a configuration, by job: :mod:`.settings` (the table of settings, :class:`RunConfig`), :mod:`.build`
(data, network, optimiser from a configuration), :mod:`.engine` (the one run loop) and :mod:`.record` (metrics
and the run record)."""

from fnn.run.build import Prepared, build_optimizer, prepare_run
from fnn.run.engine import Finished, run, run_prepared, run_threads
from fnn.run.record import (
    data_fingerprints,
    environment,
    params_sha256,
    run_record,
    test_metrics,
    validation_metrics,
)
from fnn.run.settings import (
    DEFAULTS,
    FLAG,
    GRID,
    MAX_THREADS,
    PYTHON,
    RECORD,
    SETTINGS,
    RunConfig,
    Setting,
    Source,
    config_from_record,
    machine_threads,
    resolve_config,
    setting_name,
    toml_source,
)

__all__ = [
    "SETTINGS", "Setting", "RunConfig", "DEFAULTS", "Source", "PYTHON", "FLAG", "GRID", "RECORD", "toml_source",
    "setting_name", "resolve_config", "config_from_record", "machine_threads", "MAX_THREADS",
    "Prepared", "build_optimizer", "prepare_run",
    "Finished", "run", "run_prepared", "run_threads",
    "test_metrics", "validation_metrics", "params_sha256", "environment", "run_record",
    "data_fingerprints",
]
