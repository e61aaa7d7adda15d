"""The errors fnn raises, and the one helper that words them.

Every user mistake becomes an :class:`FnnInputError` naming the argument, what was expected and what came, so
``except ValueError`` and ``except TypeError`` both catch it. Training that stops on a non-finite loss raises
:class:`TrainingDiverged`, which carries the last parameters that were still finite.
"""

from __future__ import annotations

import difflib
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

    argument: str | None = None
    """The argument the error is about (for a training argument, the run setting of that name), if one."""
    expected: str = ""
    got: Any = None

    def worded(self, label: str) -> FnnInputError:
        """The same error about the argument as ``label`` names it (a flag such as ``--class-weight``, a TOML key).

        >>> print(bad_argument("train", "class_weight", "classes 0..2 as keys", 7).worded("--class-weight"))
        --class-weight must be classes 0..2 as keys; got 7.
        """
        return FnnInputError(f"{label} must be {self.expected}; got {self.got!r}.")


class TrainingDiverged(FloatingPointError):
    """Training diverged: the loss became NaN or infinite, or an epoch's loss exploded (see ``fnn.fit``).

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
    """Build the standard error: which argument of which function, what it should be and what it was. The error
    keeps the parts as ``argument``, ``expected`` and ``got`` (see :meth:`FnnInputError.worded`).

    >>> print(bad_argument("fit", "batch_size", "a positive int", 0))
    The 'batch_size' argument of fnn.fit must be a positive int. Got 0 instead.
    """
    error = FnnInputError(f"The {name!r} argument of fnn.{function} must be {expected}. Got {got!r} instead.")
    error.argument, error.expected, error.got = name, expected, got
    return error


def shown_names(names: Sequence[object], shown: int = 8) -> str:
    """The first ``shown`` of ``names`` and how many more, so a message stays one readable line for any length.

    >>> shown_names(["a", "b", "c"], 2), shown_names(["a"])
    ("['a', 'b', ...] (1 more)", "['a']")
    """
    if len(names) <= shown:
        return repr(list(names))
    return "[" + ", ".join(map(repr, names[:shown])) + f", ...] ({len(names) - shown} more)"


OTHER_WORDS = {"force": "overwrite", "output_dir": "out", "dir": "out", "max_iter": "epochs",
               "learning_rate_init": "lr", "learning_rate": "lr", "alpha": "l2", "random_state": "seed",
               "dropout": "drop_rate", "hidden_layer_sizes": "hidden", "n_iter_no_change": "patience",
               "validation_fraction": "validation", "solver": "optimizer", "eta": "lr", "lrate": "lr",
               "mini_batch_size": "batch_size", "minibatch_size": "batch_size", "n_epochs": "epochs",
               "num_epochs": "epochs", "weight_init": "init", "optim": "optimizer"}
"""Other tools' words for fnn's settings (scikit-learn's, mostly), suggested when one is used by mistake."""


def closest_name(word: str, known: Sequence[str]) -> str | None:
    """The name of ``known`` a mistyped ``word`` most likely means, or None: another tool's word for it
    (:data:`OTHER_WORDS`), its initials (``learning-rate`` for ``lr``), else the closest spelling. ``-`` and ``_``
    are the same, and the answer is spelled as in ``known``.

    >>> closest_name("batchsize", ["batch_size", "epochs"]), closest_name("--learning-rate", ["--lr", "--seed"])
    ('batch_size', '--lr')
    >>> closest_name("zzz", ["lr"]) is None
    True
    """
    def plain(name: str) -> str:
        return str(name).strip().lstrip("-").replace("-", "_").lower()

    by_plain = {plain(name): name for name in known}
    typed = plain(word)
    alias = OTHER_WORDS.get(typed)
    if alias in by_plain:
        return by_plain[alias]
    initials = "".join(part[0] for part in typed.split("_") if part)
    if len(initials) > 1 and initials in by_plain and "_" in typed:
        return by_plain[initials]
    close = difflib.get_close_matches(typed, list(by_plain), n=1, cutoff=0.6)
    return by_plain[close[0]] if close else None


def unknown_name(what: str, word: str, known: Sequence[str]) -> FnnInputError:
    """The one-line error for a name nothing knows: what it was, the closest known name, a short list of the rest.

    >>> print(unknown_name("setting", "batchsize", ["batch_size", "epochs", "lr"]))
    Unknown setting 'batchsize'. Did you mean 'batch_size'? Known: ['batch_size', 'epochs', 'lr'].
    """
    close = closest_name(word, known)
    hint = f" Did you mean {close!r}?" if close else ""
    return FnnInputError(f"Unknown {what} {word!r}.{hint} Known: {shown_names(list(known))}.")


class Described(str):
    """A description that stands for a value in a message: shown as written, without quotes.

    >>> print(bad_argument("forward", "x", "a 2-D float array", Described("float32 array of shape (3,)")))
    The 'x' argument of fnn.forward must be a 2-D float array. Got float32 array of shape (3,) instead.
    """

    def __repr__(self) -> str:
        return str(self)
