"""The former home of the run configuration and loop, kept so old imports work; the jobs now live in
:mod:`fnn.run` (settings, build, engine, record).

>>> config = check_config({"data": "iris", "hidden": [6], "epochs": 5})
>>> config.optimizer, config.batch_size
('sgd', 32)
"""

from types import MappingProxyType

from .run import (
    PYTHON,
    SETTINGS,
    Prepared,
    RunConfig,
    build_optimizer,
    build_spec,
    environment,
    params_sha256,
    prepare_run,
    resolve_config,
    run,
    run_record,
)

__all__ = [
    "DEFAULTS",
    "check_config",
    "build_spec",
    "build_optimizer",
    "Prepared",
    "prepare_experiment",
    "run_experiment",
    "params_sha256",
    "environment",
    "run_record",
]

DEFAULTS = MappingProxyType({setting.name: setting.default for setting in SETTINGS})
"""Every setting's default by name (read-only); the table itself is :data:`fnn.run.settings.SETTINGS`."""


def check_config(config):
    """The checked :class:`~fnn.run.settings.RunConfig` of a dict (or the config itself)."""
    return config if isinstance(config, RunConfig) else resolve_config((config, PYTHON))


def prepare_experiment(config, data=None, source=None):
    """:func:`fnn.run.prepare_run` of a dict or a :class:`~fnn.run.settings.RunConfig`."""
    return prepare_run(check_config(config), data, source)


def run_experiment(config, data=None, on_epoch=None, source=None):
    """Run a configuration from start to end: ``(final_state, record)``; ``on_epoch(state)`` sees each epoch."""
    finished = run(check_config(config), data, source, on_epoch=on_epoch)
    return finished.state, finished.record
