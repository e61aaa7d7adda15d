"""Where a sweep's tasks run: on Dask distributed when it is installed (a ``LocalCluster`` of one single-threaded
worker process per core, or an existing cluster at ``scheduler``/``DASK_SCHEDULER_ADDRESS``), else in this process.
Data sets are scattered once to every worker; results stream back as they finish; a task that loses its worker
runs again elsewhere.

>>> Engine(None, None, None, "sequential").engine
'sequential'
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import urlparse

from attrs import frozen

from fnn.data.sources import LoadedSource
from fnn.errors import FnnInputError

_SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


_SCHEDULER_SCHEMES = ("tcp", "tls")

_T = TypeVar("_T")


def _parse_address(address: str, argument: str) -> tuple[str, int]:
    text = str(address).strip()
    parsed = urlparse(text if "://" in text else f"tcp://{text}")
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if parsed.scheme not in _SCHEDULER_SCHEMES or not parsed.hostname or port is None or not 0 < port < 65536 \
            or parsed.path not in ("", "/") or parsed.query or " " in text:
        raise FnnInputError(
            f"{argument} {address}: not a Dask scheduler address; expected {'|'.join(_SCHEDULER_SCHEMES)}://HOST:PORT, "
            f"e.g. tcp://10.0.0.5:8786."
        )
    return parsed.hostname, port


async def _identity(address: str, seconds: float) -> Any:
    import asyncio

    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=seconds), seconds)
    try:
        await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), seconds)
        return await asyncio.wait_for(comm.read(), seconds)
    finally:
        comm.abort()


def check_scheduler(address: str, seconds: float = 4.0, argument: str = "scheduler") -> None:
    """Refuse, within about ``2 * seconds``, a scheduler address that is malformed, unreachable, silent or not a
    Dask scheduler: it must accept a connection and answer Dask's handshake and ``identity`` as a scheduler."""
    import asyncio

    if _dask() is None:
        raise FnnInputError(f"{argument} {address}: a Dask scheduler needs Dask, which is not installed: pip install 'fnn[sweep]'.")
    host, port = _parse_address(address, argument)
    try:
        with socket.create_connection((host, port), timeout=seconds):
            pass
    except (OSError, ValueError) as error:
        raise FnnInputError(f"{argument} {address}: cannot reach a Dask scheduler there ({error}).") from None
    text = str(address).strip()
    text = text if "://" in text else f"tcp://{text}"
    try:
        answer = asyncio.run(asyncio.wait_for(_identity(text, seconds), seconds + 1))
    except (asyncio.TimeoutError, TimeoutError):
        raise FnnInputError(f"{argument} {address}: accepts connections but did not answer as a Dask scheduler within {seconds:g} s.") from None
    except Exception as error:  # noqa: BLE001 - whatever the other end is, it is not a scheduler
        raise FnnInputError(f"{argument} {address}: not a Dask scheduler ({type(error).__name__}: {error}).") from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise FnnInputError(f"{argument} {address}: answered, but not as a Dask scheduler (it says it is {answer.get('type') if isinstance(answer, dict) else answer!r}).")


def _dask() -> ModuleType | None:
    try:
        import distributed
    except ModuleNotFoundError:
        return None
    return distributed


def engine_of(engine: str, scheduler: str | None, workers: int | None) -> tuple[ModuleType | None, str | None]:
    """``(distributed, address)``: the Dask module when the sweep runs on Dask (else None) and the scheduler's
    address (None: a local cluster), each choice checked (``engine`` and ``workers`` by :func:`sweep_option`)."""
    address = scheduler or (os.environ.get("DASK_SCHEDULER_ADDRESS") if engine != "sequential" else None)
    if scheduler and engine == "sequential":
        raise FnnInputError(f"scheduler {scheduler}: a sequential sweep runs in this process; give a scheduler or sequential, not both.")
    distributed = _dask() if engine in ("auto", "dask") else None
    if engine == "dask" and distributed is None:
        raise FnnInputError("engine='dask' needs Dask: pip install 'fnn[sweep]'.")
    if address and distributed is None:
        raise FnnInputError(f"A scheduler address ({address}) was given, but Dask is not installed: pip install 'fnn[sweep]'.")
    if address:
        check_scheduler(address, argument="scheduler" if scheduler else "DASK_SCHEDULER_ADDRESS")
    return distributed, address


@frozen
class Engine:
    """Where a sweep's tasks run: on Dask (``distributed``, at ``address`` or on a local cluster of ``workers``)
    or, without it, in this process."""

    distributed: ModuleType | None
    address: str | None
    workers: int | None
    engine: str

    @contextmanager
    def pool(self) -> Iterator[Pool]:
        if self.distributed is None:
            yield Pool(None, None, "sequential (Dask not installed)" if self.engine == "auto" else "sequential", 1)
            return
        distributed, cluster = self.distributed, None
        if self.address:
            client = distributed.Client(self.address, timeout="5s")
            label = f"dask at {self.address}"
        else:
            count = self.workers or os.cpu_count() or 1
            cluster = distributed.LocalCluster(
                n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None, env=_SINGLE_THREAD_ENV
            )
            client = distributed.Client(cluster)
            label = f"dask LocalCluster ({count} single-threaded workers)"
        try:
            yield Pool(distributed, client, label, sum(client.nthreads().values()) or 1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


@frozen
class Pool:
    """A running engine: ``client`` a Dask client (None: this process), ``slots`` its single-threaded workers."""

    distributed: ModuleType | None
    client: Any
    label: str
    slots: int

    def share(self, sources: dict[str, LoadedSource]) -> dict[str, Any]:
        """Each loaded data set as the tasks receive it: scattered once to every worker on Dask."""
        if self.client is None:
            return dict(sources)
        return {name: (self.client.scatter(source, broadcast=True) if source is not None else None) for name, source in sources.items()}

    def map(self, task: Callable[..., Any], calls: Sequence[tuple[Any, ...]], keys: Sequence[str]) -> Iterator[Any]:
        """``task(*call)`` of every call, as each finishes (in order in this process); a Dask task that loses its
        worker is run again elsewhere."""
        if self.client is None or self.distributed is None:
            yield from (task(*call) for call in calls)
            return
        futures = [self.client.submit(task, *call, key=key, pure=False, retries=2) for call, key in zip(calls, keys)]
        for future in self.distributed.as_completed(futures):
            yield future.result()


def split(groups: list[list[_T]], slots: int) -> list[list[_T]]:
    """``groups`` cut into stacks of at most the runs' share of one of ``slots`` workers each, so that every
    worker has work (a stack's members give the same bytes however the stack is cut).

    >>> [len(part) for part in split([[1, 2, 3, 4, 5, 6, 7, 8], [9]], 4)]
    [3, 3, 2, 1]
    """
    size = max(1, math.ceil(sum(len(group) for group in groups) / max(1, slots)))
    return [group[start : start + size] for group in groups for start in range(0, len(group), size)]

