"""A sweep's grid and seeds, read one way at every door: a TOML ``[grid]`` table, a Python dict and ``--grid``.

The rule, everywhere: a key is a setting's name (``batch-size`` or ``batch_size``); its value is a list of values
or one value (a list of one), and a string is one value, never its characters. Each value is checked by its
setting's check and kept in its canonical form, the message naming where it was given (``--grid lr``, ``The grid
key 'lr' in sweep.toml``); a value given twice, an empty list and the key ``seed`` (a sweep's seeds are its own
list, read by the same rule and checked as ``seed``) are refused.

``--grid KEY=VALUES`` text is comma-separated (``lr=0.1,0.05``) or a bracket list as in TOML, quotes optional
(``lr=[1e-3,.5]``, ``optimizer=[sgd,adam]``); each item is the text the setting's flag takes (``--lr 1e-3``).

For a setting whose one value may itself be a comma list (hidden, activation, metrics, drop, class_weight,
schedule) the outer list separates values on every door; one value with commas is a nested list or a quoted
string (in ``--grid`` a nested list is its items joined by commas: the flag's text). ``--grid`` first, then the
same in a TOML ``[grid]`` or a Python grid:

- ``hidden=32,64``, ``hidden=[32,64]``; ``hidden = [32, 64]``: two one-layer networks, of 32 and of 64;
- ``hidden=[[32],[64,32]]``; ``hidden = [[32], [64, 32]]``: one layer of 32, and layers of 64 and 32;
- ``metrics=[[f1_macro,roc_auc]]``; ``metrics = [["f1_macro", "roc_auc"]]``: one run computing both;
- ``schedule=[constant,"cosine:5,0"]``; ``schedule = ["constant", "cosine:5,0"]``: two schedules;
- ``class_weight=[balanced,[0:1,1:5]]``; ``class_weight = ["balanced", "0:1,1:5"]``: two weightings.

>>> grid = read_grid({"optimizer": "adam", "hidden": [[32], [64, 32]]})
>>> [(axis.name, axis.values) for axis in grid.axes]
[('optimizer', ('adam',)), ('hidden', ((32,), (64, 32)))]
>>> grid_option("lr=[1e-3,.5]").values, grid_option("hidden=[[8],[8,4]]").values
((0.001, 0.5), ((8,), (8, 4)))
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from attrs import frozen

from fnn.errors import FnnInputError
from fnn.run.settings import GRID, Source, check_value, setting_name, unknown_key
from fnn.train.options import SEEDS_CHECK
from fnn.values import BadValue, bool_check, choice_check, from_numpy, listed, number_check, optional_check

GRID_OPTION = Source("grid", "--grid")
"""Where ``--grid KEY=VALUES`` values come from: their messages say ``--grid KEY``."""


@frozen
class Axis:
    """One swept setting: its name, its values (checked, canonical, each once, in the order given) and where they
    were given.

    >>> grid_option("optimizer=sgd,adam")
    Axis(name='optimizer', values=('sgd', 'adam'), source=Source(kind='grid', path='--grid'))
    """

    name: str
    values: tuple[Any, ...]
    source: Source


@frozen
class Grid:
    """A sweep's grid: its axes in the order given; every combination of their values is one configuration.

    >>> grid = read_grid({"lr": [0.1, 0.05]}).updated(read_grid({"lr": 0.5, "epochs": [2, 4]}))
    >>> grid.as_dict(), len(list(grid.combinations()))
    ({'lr': [0.5], 'epochs': [2, 4]}, 2)
    """

    axes: tuple[Axis, ...] = ()

    def as_dict(self) -> dict[str, list[Any]]:
        """Setting name -> its values, as ``sweep`` takes a grid (halving too)."""
        return {axis.name: list(axis.values) for axis in self.axes}

    def updated(self, other: Grid) -> Grid:
        """This grid with ``other``'s axes: one of the same setting replaces this one's, in its place."""
        replaced = {axis.name: axis for axis in other.axes}
        kept = tuple(replaced.pop(axis.name, axis) for axis in self.axes)
        return Grid(kept + tuple(replaced.values()))

    def combinations(self) -> Iterator[tuple[tuple[dict[str, Any], Source], ...]]:
        """Every combination of values, as :func:`~fnn.run.settings.resolve_config` layers (one per axis, so a
        message names where that axis was given)."""
        for values in itertools.product(*(axis.values for axis in self.axes)):
            yield tuple(({axis.name: value}, axis.source) for axis, value in zip(self.axes, values))


def _several_hint(name: str, value: Any, source: Source) -> str:
    """For one string value with commas that its setting refuses but whose parts it takes: how to give several."""
    if not isinstance(value, str) or "," not in value:
        return ""
    parts = [part.strip() for part in value.split(",")]
    try:
        for part in parts:
            check_value(name, part, source)
    except FnnInputError:
        return ""
    several = f"{name}=[{','.join(parts)}]" if source.path.startswith("--") else f"{name} = {parts!r}"
    return f" (one value; several values are a list: {several})"


def _axis(key: Any, values: list[Any], source: Source, shown: Any) -> Axis:
    name = setting_name(key)
    if name is None:
        raise unknown_key(key, source)
    if name == "seed":
        raise FnnInputError(f"{source.label(name)} is not a grid key: a sweep's seeds are its own list (--seeds 0,1,2; "
                            f"seeds = [0, 1, 2] in its TOML file; sweep(base, grid, seeds=[0, 1, 2])).")
    if not values:
        raise FnnInputError(f"{source.label(name)} needs a value or a non-empty list of values; got {shown!r}.")
    checked: list[Any] = []
    for value in values:
        try:
            canonical = check_value(name, value, source)
        except FnnInputError as error:
            raise FnnInputError(str(error)[:-1] + _several_hint(name, value, source) + ".") from None
        if canonical in checked:
            raise FnnInputError(f"{source.label(name)} gives the value {canonical!r} twice; give each value once.")
        checked.append(canonical)
    return Axis(name, tuple(checked), source)


def read_grid(grid: Mapping[str, Any] | Grid, source: Source = GRID) -> Grid:
    """The :class:`Grid` of a TOML ``[grid]`` table or a Python dict (a :class:`Grid` is returned as it is):
    each key a setting, each value a list of values or one value; see the module's rule.

    >>> read_grid({"batchsize": [16, 32]}, Source("grid", "sweep.toml"))
    Traceback (most recent call last):
    ...
    fnn.errors.FnnInputError: Unknown grid key 'batchsize' in sweep.toml. Did you mean 'batch_size'? Known: ['data', 'label', 'drop', 'test_fraction', 'task', 'standardize', 'hidden', 'activation', ...] (27 more).
    """
    if isinstance(grid, Grid):
        return grid
    if not isinstance(grid, Mapping):
        raise FnnInputError(f"A sweep's grid must be a dict (a TOML table) of key -> values; got {type(grid).__name__}.")
    axes = [_axis(key, listed(value), source, value) for key, value in grid.items()]
    names = [axis.name for axis in axes]
    for name in names:
        if names.count(name) > 1:
            spelled = [key for key in grid if setting_name(key) == name]
            raise FnnInputError(f"{source.label(name)} is given twice ({' and '.join(map(repr, spelled))}); give it once.")
    return Grid(tuple(axes))


def _tokens(body: str, where: str) -> list[str]:
    """``[``, ``]``, ``,`` and words (quoted or not, spaces around dropped) of bracket-list text; a word is kept
    behind a ``"w`` prefix so that a quoted ``[`` stays a word."""
    tokens, index = [], 0
    while index < len(body):
        char = body[index]
        if char in "[],":
            tokens.append(char)
            index += 1
        elif char.isspace():
            index += 1
        elif char in "\"'":
            close = body.find(char, index + 1)
            if close < 0:
                raise FnnInputError(f"{where}: {body!r} has a quote that is not closed.")
            tokens.append("w" + body[index + 1:close])
            index = close + 1
        else:
            stop = min([body.find(c, index) for c in "[]," if body.find(c, index) >= 0] or [len(body)])
            tokens.append("w" + body[index:stop].strip())
            index = stop
    return tokens


def _items(text: str, where: str) -> list[str]:
    """The items of ``--grid`` VALUES text: comma-separated, or a bracket list whose items are words, numbers,
    quoted strings or bracket lists of those (such an item is its words joined by commas: its flag's text)."""
    body = text.strip()
    if not body.startswith("["):
        items = [part.strip() for part in body.split(",")]
        if not all(items):
            raise FnnInputError(f"{where}: {text!r} has an empty value; separate values by single commas, e.g. a,b.")
        return items
    tokens, items, index = _tokens(body, where), [], 1
    bad = FnnInputError(f"{where}: {text!r} is not a list of values such as [a,b] or [[1,2],[3]] (lists nest one "
                        f"level, values are separated by single commas, brackets are closed once).")
    if tokens[1:2] == ["]"] and len(tokens) == 2:
        raise FnnInputError(f"{where}: needs a value or a non-empty list of values, e.g. [a,b] or a,b; got {text!r}.")
    try:
        while True:
            if tokens[index] == "[":
                words, index = [], index + 1
                while tokens[index].startswith("w") and tokens[index + 1] in (",", "]"):
                    words.append(tokens[index][1:])
                    index += 2
                    if tokens[index - 1] == "]":
                        break
                else:
                    raise bad
                items.append(",".join(words))
            elif tokens[index].startswith("w"):
                items.append(tokens[index][1:])
                index += 1
            else:
                raise bad
            index += 1
            if tokens[index - 1] == "]":
                break
            if tokens[index - 1] != ",":
                raise bad
    except IndexError:
        raise bad from None
    if index != len(tokens):
        raise bad
    return items


def grid_option(item: str) -> Axis:
    """The :class:`Axis` of one ``--grid KEY=VALUES`` (see the module's dialect), each value checked as its flag's
    text is and named ``--grid KEY`` in messages.

    >>> grid_option("hidden=32,64").values, grid_option("class_weight=[balanced,[0:1,1:5]]").values
    (((32,), (64,)), ('balanced', '0:1.0,1:5.0'))
    """
    key, separator, text = item.partition("=")
    key = key.strip()
    if not separator or not key:
        raise FnnInputError(f"--grid takes KEY=VALUES, e.g. 'lr=[0.1,0.05]' or lr=0.1,0.05; got {item!r}.")
    name = setting_name(key)
    if name is None:
        raise unknown_key(key, GRID_OPTION)
    try:
        return _axis(key, _items(text, f"--grid {name}"), GRID_OPTION, text)
    except FnnInputError as error:
        raise FnnInputError(str(error)[:-1] + _one_hint(name, text) + ".") from None


def _one_hint(name: str, text: str) -> str:
    """For comma-separated ``--grid`` text refused as several values but taken whole as one: how to give that one."""
    if text.strip().startswith("[") or "," not in text:
        return ""
    try:
        check_value(name, text.strip(), GRID_OPTION)
    except FnnInputError:
        return ""
    return f" (commas separate values here; the one value {text.strip()!r} is written {name}=[[{text.strip()}]])"


def read_seeds(seeds: Any, source: Source, name: str = "seeds") -> tuple[int, ...]:
    """A sweep's seeds by the grid's rule: a list of seeds or one seed, each checked as ``seed`` and given once;
    command-line text (a :class:`~fnn.run.settings.Source` of kind ``flag``) in ``--grid``'s dialect. ``name``
    is how the user spelled them (``seeds``, or ``seed`` for one).

    >>> read_seeds("0,1,2", Source("flag")), read_seeds(3, Source("argument", "sweep"))
    ((0, 1, 2), (3,))
    """
    label = source.label(name)
    values = _items(seeds, label) if isinstance(seeds, str) and source.kind == "flag" and seeds.strip() else seeds
    try:
        return SEEDS_CHECK([] if isinstance(seeds, str) and source.kind == "flag" and not seeds.strip() else values)
    except BadValue as expected:
        raise FnnInputError(f"{label} must be {expected}; got {seeds!r}.") from None


ENGINES = ("auto", "dask", "sequential")
"""Where a sweep runs: ``auto`` (Dask if installed, else sequential), ``dask`` or ``sequential``."""

SWEEP_OPTIONS = {
    "engine": optional_check(choice_check(ENGINES)),
    "workers": optional_check(from_numpy(number_check(low=1, high=1024, whole=True))),
    "stack": from_numpy(bool_check),
    "resume": from_numpy(bool_check),
    "overwrite": from_numpy(bool_check),
    "min_epochs": from_numpy(number_check(low=1, whole=True)),
    "factor": from_numpy(number_check(low=2, whole=True)),
}


def sweep_option(name: str, value: Any, source: Source) -> Any:
    """A sweep's own option (not a run setting), checked one way at every door: ``sweep()``'s argument, ``fnn
    sweep``'s flag (``--workers``, ``--min-epochs``) and :class:`~fnn.run.halving.Halving`'s field; the message
    names it as ``source`` spells it. None is kept for ``engine`` (``auto``) and ``workers`` (one per core).

    >>> sweep_option("workers", np.int64(2), Source("argument", "sweep")), sweep_option("factor", "3", Source("flag"))
    (2, 3)
    >>> sweep_option("engine", " Sequential", Source("argument", "sweep")), sweep_option("stack", np.True_, Source("argument", "sweep"))
    ('sequential', True)
    """
    try:
        return SWEEP_OPTIONS[name](value)
    except BadValue as expected:
        raise FnnInputError(f"{source.label(name)} must be {expected}; got {value!r}.") from None
