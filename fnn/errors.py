"""The errors fnn raises, and the one helper that words them.

Every user mistake becomes an :class:`FnnInputError` naming the argument, what was expected and what came, so
``except ValueError`` and ``except TypeError`` both catch it. Training that stops on a non-finite loss raises
:class:`TrainingDiverged`, which carries the last parameters that were still finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class FnnInputError(ValueError, TypeError):
    """An argument of an fnn function has the wrong shape, dtype or value.

    >>> try:
    ...     fnn.network([2, 0])
    ... except ValueError as error:
    ...     print(type(error).__name__, isinstance(error, TypeError))
    FnnInputError True
    """


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite.

    ``last_good`` holds the params from just before the step that produced the bad loss (all finite), and
    ``epoch_start`` the training state at the start of that epoch, from which a run can be resumed.

    >>> error = TrainingDiverged("loss is nan", epoch=2, step=7, last_good=None)
    >>> error.epoch, error.step, str(error)
    (2, 7, 'loss is nan')
    """

    def __init__(self, message: str, *, epoch: int, step: int, last_good: Any, epoch_start: Any = None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.last_good = last_good
        self.epoch_start = epoch_start


def bad_argument(function: str, name: str, expected: str, got: object) -> FnnInputError:
    """Build the standard error: which argument of which function, what it should be and what it was.

    >>> print(bad_argument("fit", "batch_size", "a positive int", 0))
    The 'batch_size' argument of fnn.fit must be a positive int. Got 0 instead.
    """
    return FnnInputError(f"The {name!r} argument of fnn.{function} must be {expected}. Got {got!r} instead.")


def shown_names(names: Sequence[object], shown: int = 8) -> str:
    """The first ``shown`` of ``names`` and how many more, so a message stays one readable line for any length.

    >>> shown_names(["a", "b", "c"], 2), shown_names(["a"])
    ("['a', 'b', ...] (1 more)", "['a']")
    """
    if len(names) <= shown:
        return repr(list(names))
    return "[" + ", ".join(map(repr, names[:shown])) + f", ...] ({len(names) - shown} more)"


class Described(str):
    """A description that stands for a value in a message: shown as written, without quotes.

    >>> print(bad_argument("forward", "x", "a 2-D float array", Described("float32 array of shape (3,)")))
    The 'x' argument of fnn.forward must be a 2-D float array. Got float32 array of shape (3,) instead.
    """

    def __repr__(self) -> str:
        return str(self)
