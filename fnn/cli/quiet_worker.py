"""Preloaded into each Dask worker of ``fnn sweep``: Ctrl-C reaches every process of the terminal's group, and the
command itself answers it (closing the cluster and printing one line), so a worker ignores it rather than print a
traceback of its own."""

import signal


def dask_setup(worker: object) -> None:
    """Dask's preload hook, run in the worker process as it starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
