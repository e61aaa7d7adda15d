"""One epoch's randomness, recreated alone: the rows of each mini-batch and each step's dropout masks.

Both are pure functions of the seed (see :mod:`fnn.seeds`): the batch order of epoch ``e`` comes from
``(seed, e)`` and the masks of global step ``s`` from ``(seed, e, s)``, so an epoch can be shown, checked or rerun
without the epochs before it. Indices are positions in the training rows as the run used them (after any
validation split), which is what :func:`fnn.minibatches` gathers from.

>>> plan = epoch_plan(5, batch_size=2, seed=0, epoch=0)
>>> [batch.tolist() for batch in plan.batches], plan.first_step
([[1, 4], [0, 3], [2]], 0)
>>> spec = fnn.network([2, 3, 2])
>>> masks = epoch_plan(5, 2, seed=0, epoch=1, spec=spec, drop_rate=0.5).masks(0)
>>> masks[0].shape, epoch_plan(5, 2, seed=0, epoch=1).first_step
((2, 3), 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import field, frozen
from numpy.typing import DTypeLike

from fnn.arrays import as_float_dtype
from fnn.core.spec import NetworkSpec
from fnn.errors import bad_argument
from fnn.train.batches import batch_count, minibatches
from fnn.train.dropout import dropout_masks, dropout_rates


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, shuffle: bool = True) -> tuple[np.ndarray, ...]:
    """The row indices of each mini-batch of epoch ``epoch`` (counting from 0) over ``n`` training rows, in the
    order training takes them."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise bad_argument("epoch_batches", "n", "a non-negative int (the number of training rows)", n)
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise bad_argument("epoch_batches", "epoch", "a non-negative int (epochs count from 0)", epoch)
    rows = np.arange(n)
    # minibatches itself, over the row numbers: the indices are what training gathers, by construction.
    return tuple(np.array(index) for index, _ in minibatches(rows, rows, batch_size, seed, int(epoch), shuffle))


@frozen(hash=False)
class EpochPlan:
    """What epoch ``epoch`` of a run draws: ``batches`` (row indices per step) and, through :meth:`masks`, each
    step's dropout masks. ``first_step`` is the run's global step number of the epoch's first batch.

    >>> plan = epoch_plan(7, 3, seed=1, epoch=2)
    >>> plan.first_step, [len(rows) for rows in plan.batches], plan.masks(0)
    (6, [3, 3, 1], None)
    """

    epoch: int
    first_step: int
    seed: int
    batches: tuple[np.ndarray, ...] = field(repr=False)
    spec: NetworkSpec | None = field(default=None, repr=False)
    drop_rates: tuple[float, ...] = ()
    dtype: np.dtype = np.dtype(np.float32)

    def masks(self, index: int) -> list[np.ndarray | None] | None:
        """The dropout masks of the epoch's batch ``index`` (one per hidden layer, None where a layer has no
        dropout), or None when the run has no dropout. Made on demand: an epoch's masks together can be large."""
        if not -len(self.batches) <= index < len(self.batches):
            raise bad_argument("EpochPlan.masks", "index", f"a batch index below {len(self.batches)}", index)
        if not self.drop_rates or self.spec is None:
            return None
        index %= len(self.batches)
        size = len(self.batches[index])
        return dropout_masks(self.spec, size, self.drop_rates, self.seed, self.epoch, self.first_step + index, self.dtype)


def epoch_plan(n: int, batch_size: int, seed: int, epoch: int, *, spec: NetworkSpec | None = None,
               drop_rate: float | Sequence[float] = 0.0, first_step: int | None = None, shuffle: bool = True,
               dtype: DTypeLike = np.float32) -> EpochPlan:
    """The :class:`EpochPlan` of epoch ``epoch`` (from 0) of a run over ``n`` training rows.

    ``spec`` and ``drop_rate`` (one rate or one per hidden layer) are needed for masks; ``first_step`` defaults to
    ``epoch * batch_count(n, batch_size)``, the step count a run has reached then (a checkpoint's ``step`` says it
    too); ``dtype`` is the params' dtype.

    >>> plan = epoch_plan(4, 2, seed=0, epoch=0, spec=fnn.network([2, 8, 2]), drop_rate=0.5)
    >>> [rows.tolist() for rows in plan.batches], plan.masks(1)[0].shape
    ([[0, 3], [1, 2]], (2, 8))
    """
    batches = epoch_batches(n, batch_size, seed, epoch, shuffle)
    if first_step is None:
        first_step = int(epoch) * batch_count(n, batch_size)
    elif isinstance(first_step, bool) or not isinstance(first_step, (int, np.integer)) or first_step < 0:
        raise bad_argument("epoch_plan", "first_step", "a non-negative int", first_step)
    rates: tuple[float, ...] = ()
    if spec is not None:
        rates = dropout_rates(spec, drop_rate, "epoch_plan")
    elif drop_rate:
        raise bad_argument("epoch_plan", "spec", "the network's spec when drop_rate is given", spec)
    return EpochPlan(int(epoch), int(first_step), int(seed), batches, spec, rates, as_float_dtype(dtype, "epoch_plan"))
