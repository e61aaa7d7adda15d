"""One codec for frozen state trees: a tree <-> a JSON-ready description and a dict of arrays, never pickle.

A tree is built of frozen attrs records, tuples, :class:`~fnn.core.params.Params` of one network, arrays, numpy
scalars, and ``None``, bools, ints, floats and strings. :func:`encode` describes it (records by their class's name,
``module:qualname``, ``fnn.optim:AdamState`` for fnn's own states) and puts every array in a dict under a path-like
name; :func:`decode` rebuilds it, resolving classes only from modules *already imported* (a module a description
names is never imported) and only as frozen attrs records, checking each field against its plain annotation.
Checkpoints store optimiser states with it, and the scikit-learn estimators pickle their fitted state with it.

Errors are :class:`~fnn.errors.FnnInputError` starting with ``where`` (the caller's name, or the file read).

>>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
>>> description, arrays = encode(fnn.optim.adam(0.1).init(params), params.spec, "demo")
>>> description["record"], description["fields"]["count"], sorted(arrays)
('fnn.optim:AdamState', {'value': 0}, ['tree/mu/0/b', 'tree/mu/0/w', 'tree/nu/0/b', 'tree/nu/0/w'])
>>> decode(description, arrays, params.spec, "demo") == fnn.optim.adam(0.1).init(params)
True
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
from attrs import field, fields, frozen, has

from fnn import optim
from fnn.core.params import Layer, Params
from fnn.core.spec import NetworkSpec
from fnn.errors import FnnInputError
from fnn.store.archive import ARRAY_KINDS

_MAX_DEPTH = 64  # nesting of records and tuples in a tree
_FROZEN_SETATTR = frozen(type("_Probe", (), {})).__setattr__
_PLAIN_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool, "Params": Params}


# ---------------------------------------------------------------------------------------------------- encoding


def encode(value: Any, spec: NetworkSpec, where: str, *, prefix: str = "tree", what: str = "the state"
           ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(description, arrays)`` of the tree ``value``, whose Params must be of ``spec``; array names start
    ``prefix``; errors start ``where`` and call the tree ``what``."""
    arrays: dict[str, np.ndarray] = {}
    return _encode(value, prefix, arrays, _Site(spec, where, what), 0), arrays


def storable_array(value: Any, what: str, where: str) -> np.ndarray:
    """``value`` as an array of numbers, booleans or text (what is stored without pickle), else an error naming it."""
    array = np.asarray(value)
    if array.dtype.kind not in ARRAY_KINDS or array.dtype.names is not None or array.dtype.hasobject:
        raise FnnInputError(
            f"{where}: {what} must be an array of numbers, booleans or text (stored without pickle); "
            f"got dtype {array.dtype}."
        )
    return array


@frozen
class _Site:
    """What every step of a walk needs: the network its Params belong to, and the words of its errors."""

    spec: NetworkSpec
    where: str
    what: str
    used: set[str] = field(factory=set)


def _encode(value: Any, prefix: str, arrays: dict[str, np.ndarray], site: _Site, depth: int) -> Any:
    where, what = site.where, site.what
    if depth > _MAX_DEPTH:
        raise FnnInputError(f"{where}: {what} nests deeper than {_MAX_DEPTH} levels ({prefix}).")
    if isinstance(value, Params):
        if value.spec != site.spec:
            raise FnnInputError(
                f"{where}: {what} holds Params of {value.spec!r} at {prefix}, but the network is {site.spec!r}; it "
                "stores moments of its own network only."
            )
        for i, layer in enumerate(value.layers):
            arrays[f"{prefix}/{i}/w"], arrays[f"{prefix}/{i}/b"] = layer.w, layer.b
        return {"params": prefix}
    if isinstance(value, (np.ndarray, np.generic)):
        arrays[prefix] = storable_array(value, prefix, where)
        return {"array": prefix, "scalar": isinstance(value, np.generic)}
    if type(value) is tuple:
        return {"tuple": [_encode(item, f"{prefix}/{i}", arrays, site, depth + 1) for i, item in enumerate(value)]}
    if value is None or type(value) in (bool, int, float, str):
        return {"value": value}
    cls = type(value)
    if has(cls):
        name = _class_name(cls, prefix, site)
        described = {}
        for attribute in fields(cls):
            if not attribute.init:
                raise FnnInputError(
                    f"{where}: {cls.__qualname__}.{attribute.name} (at {prefix}) is not set by the constructor "
                    "(init=False), so it could not be rebuilt; make it an ordinary field."
                )
            described[attribute.alias or attribute.name] = _encode(
                getattr(value, attribute.name), f"{prefix}/{attribute.name}", arrays, site, depth + 1
            )
        return {"record": name, "fields": described}
    raise FnnInputError(
        f"{where}: {what} holds a {cls.__module__}.{cls.__qualname__} at {prefix}; it can hold frozen attrs records "
        "of arrays, numbers, strings, None, tuples and Params (stored without pickle)."
    )


def _class_name(cls: type, prefix: str, site: _Site) -> str:
    """``fnn.optim:Name`` for fnn's exported states (stable if fnn moves them), else ``module:qualname``."""
    if vars(optim).get(cls.__name__) is cls:
        name = f"fnn.optim:{cls.__name__}"
    else:
        name = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__setattr__ is not _FROZEN_SETATTR:
        raise FnnInputError(
            f"{site.where}: {site.what}'s {cls.__qualname__} (at {prefix}) must be a frozen attrs record "
            "(@attrs.frozen), as fnn's states are."
        )
    try:
        found: type | None = resolve_class(name, site.where, site.what)
    except FnnInputError:
        found = None
    if found is not cls:
        raise FnnInputError(
            f"{site.where}: {site.what}'s class {cls.__qualname__} (at {prefix}) cannot be found again by its name "
            f"{name!r}; define it at the top level of a module (not inside a function)."
        )
    return name


# ---------------------------------------------------------------------------------------------------- decoding


def decode(description: Any, arrays: Mapping[str, np.ndarray], spec: NetworkSpec, where: str, *,
           what: str = "the state", used: set[str] | None = None) -> Any:
    """The tree ``description`` and ``arrays`` describe (as :func:`encode` made them), its Params of ``spec``; the
    names of the arrays it took are added to ``used``, so a caller can refuse arrays nothing described."""
    return _decode(description, arrays, _Site(spec, where, what, set() if used is None else used), 0)


def _decode(description: Any, arrays: Mapping[str, np.ndarray], site: _Site, depth: int) -> Any:
    where, what = site.where, site.what
    if depth > _MAX_DEPTH:
        raise FnnInputError(f"{where}: {what} nests deeper than {_MAX_DEPTH} levels.")
    if not isinstance(description, dict) or len(description) not in (1, 2):
        raise FnnInputError(f"{where}: a malformed entry of {what}: {str(description)[:80]!r}.")
    if "params" in description:
        return params_from(arrays, description["params"], site.spec, where, site.used)
    if "array" in description:
        name = description["array"]
        if not isinstance(name, str) or name not in arrays:
            raise FnnInputError(f"{where}: lacks the array {name!r} {what} names.")
        site.used.add(name)
        array = arrays[name]
        return array[()] if description.get("scalar") is True and array.ndim == 0 else array
    if "tuple" in description and isinstance(description["tuple"], list):
        return tuple(_decode(item, arrays, site, depth + 1) for item in description["tuple"])
    if "value" in description:
        value = description["value"]
        if value is not None and type(value) not in (bool, int, float, str):
            raise FnnInputError(f"{where}: a value of {what} must be a number, text or null; got {value!r}.")
        return value
    if "record" in description:
        name = description["record"]
        return _build(resolve_class(name, where, what), name, description.get("fields"), arrays, site, depth)
    raise FnnInputError(f"{where}: a malformed entry of {what}: {str(description)[:80]!r}.")


def params_from(arrays: Mapping[str, np.ndarray], prefix: Any, spec: NetworkSpec, where: str, used: set[str]) -> Params:
    """The :class:`~fnn.core.params.Params` of ``spec`` stored under ``prefix`` in ``arrays``, shapes checked; their
    array names are added to ``used``."""
    if not isinstance(prefix, str):
        raise FnnInputError(f"{where}: a Params entry must name its arrays; got {prefix!r}.")
    layers: list[Layer] = []
    for i, layer_spec in enumerate(spec.layers):
        names = (f"{prefix}/{i}/w", f"{prefix}/{i}/b")
        missing = [name for name in names if name not in arrays]
        if missing:
            raise FnnInputError(f"{where}: lacks the array {missing[0]!r}.")
        w, b = (arrays[name] for name in names)
        used.update(names)
        expected = (layer_spec.input_dim, layer_spec.output_dim)
        if w.shape != expected or b.shape != (expected[1],) or w.dtype.kind != "f" or w.dtype != b.dtype:
            raise FnnInputError(
                f"{where}: {prefix} layer {i} has w {w.dtype}{w.shape} and b {b.dtype}{b.shape}; the spec needs "
                f"float w{expected} and b({expected[1]},) of one dtype."
            )
        layers.append(Layer(w, b))
    # Not gathered into one flat vector: that would copy every array once more, and the first step of a resumed
    # run makes the flat vector anyway.
    return Params(spec, layers)


def _build(cls: type, name: str, described: Any, arrays: Mapping[str, np.ndarray], site: _Site, depth: int) -> Any:
    where, what = site.where, site.what
    expected = sorted(attribute.alias or attribute.name for attribute in fields(cls) if attribute.init)
    if not isinstance(described, dict) or sorted(described) != expected:
        got = sorted(described) if isinstance(described, dict) else described
        raise FnnInputError(f"{where}: {what} {name} needs the fields {expected}; got {got!r}.")
    values = {key: _decode(value, arrays, site, depth + 1) for key, value in described.items()}
    for attribute in fields(cls):
        key = attribute.alias or attribute.name
        if key in values and not _fits_annotation(values[key], attribute.type):
            raise FnnInputError(
                f"{where}: {what} {name} field {key!r} is declared {_type_name(attribute.type)}; got "
                f"{type(values[key]).__name__} {str(values[key])[:40]!r}."
            )
    try:
        return cls(**values)
    except Exception as error:  # noqa: BLE001 - a user's record may check its fields in any way
        raise FnnInputError(f"{where}: could not rebuild {what} {name}: {type(error).__name__}: {error}") from None


def _fits_annotation(value: Any, annotation: Any) -> bool:
    """Whether ``value`` fits a field's plain annotation (``int``, ``float``, ``str``, ``bool``, ``Params``, an array
    type or a record class); other annotations (``Any``, unions, generics, none) are not checked."""
    expected = _PLAIN_TYPES.get(annotation) if isinstance(annotation, str) else annotation
    if not isinstance(expected, type) or expected is object:
        return True
    if expected is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if expected is float:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    try:
        return isinstance(value, expected)
    except TypeError:  # typing.Any (a class since Python 3.11), generic aliases: nothing to check
        return True


def _type_name(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))


def resolve_class(name: Any, where: str, what: str = "the state") -> type:
    """The frozen attrs class called ``module:qualname``, from modules already imported (never importing one)."""
    module_name, colon, qualname = name.partition(":") if isinstance(name, str) else ("", "", "")
    parts = qualname.split(".")
    if (
        not colon
        or not all(part.isidentifier() for part in module_name.split("."))
        or not all(part.isidentifier() and not part.startswith("__") for part in parts)
    ):
        raise FnnInputError(f"{where}: {name!r} is not a class name of the form 'module:Class'.")
    module = sys.modules.get(module_name)
    if module is None:
        raise FnnInputError(
            f"{where}: {what} is a {qualname} from the module {module_name!r}, which is not imported. "
            f"Import {module_name} (the module that defines it) first: fnn never imports a module that stored data "
            "names."
        )
    found: Any = module
    for part in parts:  # plain dictionary look-ups: no __getattr__ hook of a module or class runs
        found = vars(found).get(part) if hasattr(found, "__dict__") else None
    if not (isinstance(found, type) and has(found) and found.__setattr__ is _FROZEN_SETATTR):
        raise FnnInputError(
            f"{where}: {name!r} is not a frozen attrs record class of the imported module {module_name}; {what} can "
            "only be rebuilt of such records."
        )
    return found
