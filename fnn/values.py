"""The checks of a value given at any door (a flag's text, a TOML value, a keyword, an estimator's parameter): each
returns the value in its one canonical form or raises :class:`BadValue` saying what was expected, and takes numpy's
form of a value (:func:`from_numpy`). The settings table (:mod:`fnn.run.settings`), ``fit``'s keywords
(:mod:`fnn.train.options`) and the network's own arguments (``fnn.network``, ``fnn.init_params``) use them, so one
value is read alike everywhere.

>>> number_check(low=1, whole=True)("16"), bool_check("yes"), from_numpy(number_check(whole=True))(np.int64(3))
(16, True, 3)
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fnn.errors import bad_argument


class BadValue(Exception):
    """A value that does not fit a setting; its text is what was expected (``"an int >= 1"``)."""


def _number(value: Any, *, low: float | None, high: float | None, low_open: bool, high_open: bool, whole: bool) -> Any:
    kind = "an int" if whole else "a number"
    if isinstance(value, str):
        try:
            value = int(value) if whole else float(value)
        except ValueError:
            raise BadValue(kind) from None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral if whole else numbers.Real):
        raise BadValue(kind)
    value = operator.index(value) if isinstance(value, numbers.Integral) else float(value)
    if not math.isfinite(value):
        raise BadValue("a finite number")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "" if low is None else f"{'>' if low_open else '>='} {low}"
        right = "" if high is None else f"{'<' if high_open else '<='} {high}"
        raise BadValue(f"{kind} {' and '.join(p for p in (left, right) if p)}")
    return value if whole else float(value)


def number_check(*, low: float | None = None, high: float | None = None, low_open: bool = False,
                 high_open: bool = False, whole: bool = False) -> Callable[[Any], Any]:
    """A check of a number (an int when ``whole``) within bounds, given as a number or as command-line text;
    it returns the number as an int or a float and raises :class:`BadValue` naming what was expected.

    >>> number_check(low=1, whole=True)("16"), number_check(low=0, high=1, high_open=True)(0.5)
    (16, 0.5)
    """
    def check(value: Any) -> Any:
        return _number(value, low=low, high=high, low_open=low_open, high_open=high_open, whole=whole)
    return check


def bool_check(value: Any) -> bool:
    """True or False, also written as true/yes/on or false/no/off (any case)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    words = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    raise BadValue("true or false")


def choice_check(choices: Sequence[str]) -> Callable[[Any], str]:
    """A check of one name of ``choices`` (any case, spaces around ignored), returned in lower case."""
    def check(value: Any) -> str:
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise BadValue("one of " + ", ".join(choices))
        return value.strip().lower()
    return check


def optional_check(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``check``, also taking None (kept as None).

    >>> optional_check(bool_check)(None), optional_check(bool_check)("yes")
    (None, True)
    """
    def optional(value: Any) -> Any:
        return None if value is None else check(value)
    return optional


def from_numpy(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``check``, also taking numpy's form of a value: a 0-d or 1-D array as its item or its list of items (as
    scikit-learn users hold ``hidden_layer_sizes`` and grids hold values); numpy scalars every check takes.

    >>> from_numpy(number_check(whole=True))(np.array(3)), from_numpy(list)(np.array([4, 2]))
    (3, [4, 2])
    """
    def convert(value: Any) -> Any:
        return check(value.tolist() if isinstance(value, np.ndarray) and value.ndim <= 1 else value)
    return convert


def listed(value: Any) -> list[Any]:
    """The scalar-or-list rule of every door: a list, tuple, range or 1-D array is the values; anything else (a
    string, a number, a 0-d array, a mapping) is one value.

    >>> listed(np.arange(2)), listed(np.array(3)), listed("ab")
    ([0, 1], [3], ['ab'])
    """
    if isinstance(value, np.ndarray):
        value = value.tolist() if value.ndim else value.item()
    return list(value) if isinstance(value, (list, tuple, range)) else [value]


def seeds_check(seed: Callable[[Any], int]) -> Callable[[Any], tuple[int, ...]]:
    """A check of a list of seeds (``fnn.fit_seeds``'s, a sweep's) by :func:`listed`'s rule: one seed or distinct
    seeds, each checked by ``seed``.

    >>> check = seeds_check(number_check(low=0, whole=True))
    >>> check(np.arange(3)), check("4")
    ((0, 1, 2), (4,))
    """
    def check(value: Any) -> tuple[int, ...]:
        try:
            seeds = [seed(item) for item in listed(value)]
        except BadValue:
            seeds = []
        if not seeds or len(set(seeds)) < len(seeds):
            raise BadValue("a seed or a list of distinct seeds, each an int >= 0 (e.g. 0,1,2)")
        return tuple(seeds)
    return check


def read_argument(function: str, name: str, check: Callable[[Any], Any], value: Any) -> Any:
    """``value`` of the argument ``name`` of ``fnn.<function>`` read by ``check``, or the error naming both.

    >>> read_argument("predict", "batch_size", from_numpy(number_check(low=1, whole=True)), np.array(8))
    8
    """
    try:
        return check(value)
    except BadValue as expected:
        raise bad_argument(function, name, str(expected), value) from None
