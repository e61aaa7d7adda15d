"""Name lookup shared by activations, losses, initialisers, optimisers and schedules.

A registry maps a name to a factory. A name may carry numeric arguments after a colon, so a configuration stays a
plain string that survives JSON, TOML and the command line: ``"leaky_relu:0.1"`` calls ``leaky_relu(0.1)``. Users
never edit a registry; they pass their own record wherever a name is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from fnn.errors import FnnInputError, bad_argument

R = TypeVar("R")
Registry = Mapping[str, Callable[..., R]]
"""A read-only map from a name to the factory of its record."""


def frozen_registry(entries: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view of ``entries``, so no caller can patch a name in for everyone.

    >>> sorted(frozen_registry({"b": int, "a": float}))
    ['a', 'b']
    """
    return MappingProxyType(dict(entries))


def with_arguments(name: str, *arguments: float, defaults: tuple[float, ...] = ()) -> str:
    """The canonical name of a parameterised entry: ``with_arguments("elu", 0.5) == "elu:0.5"``.

    Arguments equal to ``defaults`` are left out, so the default entry keeps its bare name.

    >>> with_arguments("leaky_relu", 0.01, defaults=(0.01,)), with_arguments("leaky_relu", 0.2, defaults=(0.01,))
    ('leaky_relu', 'leaky_relu:0.2')
    """
    if tuple(arguments) == tuple(defaults):
        return name
    return name + ":" + ",".join(repr(float(a)) if not isinstance(a, int) else str(a) for a in arguments)


def lookup(
    registry: Mapping[str, Any], value: object, record_type: type[R], *, kind: str, function: str, argument: str
) -> R:
    """Resolve ``value`` (a record, a name, or ``"name:arg,arg"``) to a record of ``record_type``.

    >>> lookup(frozen_registry({"half": lambda: 0.5}), "half", float, kind="number", function="f", argument="x")
    0.5
    """
    if isinstance(value, record_type):
        return value
    if not isinstance(value, str):
        raise bad_argument(function, argument, f"a {kind} name or a fnn.{record_type.__name__}", value)
    name, _, argument_text = value.partition(":")
    factory = registry.get(name.strip().lower())
    if factory is None:
        raise FnnInputError(
            f"Unknown {kind} {value!r} for the {argument!r} argument of fnn.{function}. "
            f"Known {kind}s: {', '.join(sorted(registry))}."
        )
    if not argument_text:
        return factory()
    try:
        numbers = [float(part) for part in argument_text.split(",")]
        return factory(*numbers)
    except (TypeError, ValueError) as error:
        raise FnnInputError(
            f"The {kind} {value!r} given as {argument!r} to fnn.{function} has arguments that do not fit: {error}"
        ) from None
