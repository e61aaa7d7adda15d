"""Memory limits: what a network, a training step or a file needs, estimated before anything is allocated.

Every door (``fnn.init_params``, ``fnn.fit``, the estimators, ``fnn train`` and the file loaders) asks
:func:`require_memory`, the one check, which refuses in one line naming the setting or file and the amount needed
against the memory available (``MemAvailable`` of ``/proc/meminfo``, else the machine's physical memory; on a
platform that tells neither, nothing is refused). The estimates:

- a network: its parameters (:func:`network_bytes`);
- a training step (:func:`training_bytes`): the parameters, their gradients, the new parameters, the optimiser's
  state (counted as two more copies, Adam's two moments, the most any fnn optimiser keeps), and per row of a
  mini-batch four values per unit of every layer (pre-activation, activation, their gradient, dropout mask).

>>> network_bytes((4, 8, 3), 4), training_bytes((4, 8, 3), 4, batch_rows=10)
(268, 3740)
>>> require_memory(10 ** 18, "hidden 1000000000,1000000")  # doctest: +ELLIPSIS
Traceback (most recent call last):
fnn.errors.FnnInputError: hidden 1000000000,1000000: needs 888.2 PiB, more than the ... of memory available here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from fnn.errors import FnnInputError

MAX_BATCH_SIZE = 2**31 - 1
"""The largest mini-batch size accepted (a larger one is a typo: no memory holds such a batch)."""

_OPTIMIZER_COPIES = 2  # Adam's two moments: the largest state of fnn's optimisers
_STEP_COPIES = 3 + _OPTIMIZER_COPIES  # params, gradients, new params, optimiser state
_VALUES_PER_UNIT = 4  # per row and unit: pre-activation, activation, its gradient, a dropout mask


def available_memory() -> int | None:
    """The bytes of memory available to a new allocation: Linux's ``MemAvailable``, else the physical memory,
    else None (unknown: nothing is refused)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not POSIX
        return None


def bytes_text(n: int) -> str:
    """``'1.5 GiB'``: a byte count for a message, in the largest unit that keeps it at least 1.

    >>> bytes_text(3 << 30), bytes_text(1536), bytes_text(7)
    ('3 GiB', '1.5 KiB', '7 bytes')
    """
    for unit, shift in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} bytes"


def network_bytes(sizes: Sequence[int], itemsize: int) -> int:
    """The bytes of the parameters (weights and biases) of a network of layer ``sizes``, ``itemsize`` bytes each."""
    return itemsize * sum(int(a) * int(b) + int(b) for a, b in zip(sizes[:-1], sizes[1:]))


def training_bytes(sizes: Sequence[int], itemsize: int, batch_rows: int) -> int:
    """The bytes one training step of a network of layer ``sizes`` needs for mini-batches of ``batch_rows`` rows
    (see the module's description of what is counted)."""
    return _STEP_COPIES * network_bytes(sizes, itemsize) + itemsize * _VALUES_PER_UNIT * int(batch_rows) * sum(map(int, sizes))


def require_memory(needed: int, what: str) -> None:
    """Refuse, in one line beginning with ``what`` (the setting or file), a need of ``needed`` bytes that is more
    than the memory available.

    >>> require_memory(1024, "batch_size 4")  # a kibibyte is always there
    """
    available = available_memory()
    if available is not None and needed > available:
        raise FnnInputError(f"{what}: needs {bytes_text(needed)}, more than the {bytes_text(available)} of memory available here.")
