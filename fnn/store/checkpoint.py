"""Checkpoints: a whole training state in one ``.npz`` file, written atomically and read without pickle.

The file (format version 2) is an uncompressed zip of ``.npy`` arrays: the parameters, the optimiser state's
arrays, optional extra arrays (e.g. the standardiser's statistics), a JSON header ``__meta__`` (format version,
network spec, the optimiser state's structure, epoch, step, seed, history, the caller's configuration, the extras'
names) and ``__sha256__``, a SHA-256 over the header's exact bytes and every array's name, dtype, shape and data.

Any optimiser state that is a frozen attrs record can be saved, a user's own included: its fields may hold arrays,
numbers, strings, None, tuples, :class:`~fnn.core.params.Params` and further such records. A record is stored by its
class's name (``module:qualname``; ``fnn.optim:AdamState`` for fnn's own) and its fields. Loading rebuilds it only
from a frozen attrs class of a module that is *already imported*: fnn never imports a module a file names, never
unpickles, and refuses anything else with a message saying which module to import first.

Loading checks everything before building anything: the path is a regular file, it is a zip whose members are all
stored (uncompressed) ``.npy`` arrays of plain numeric, boolean or string dtypes whose declared sizes match their
real sizes (so a crafted file cannot make fnn allocate more than its own length, and no zip bomb can inflate), the
hash, the header's keys and types, and every array's shape against the spec. Each failure is a
:class:`~fnn.errors.FnnInputError` naming the file and what was expected. The hash detects damage and edits; it is
not a signature (whoever can write the file can recompute it), so load checkpoints you trust. Version 1 files
(whose hash covered the arrays only) are still read.

Files are written with :func:`fnn.store.atomic.atomic_write`: a crash at any moment leaves the old checkpoint or the new
one, never half of one, and a symbolic link planted at the path is replaced, not followed.

>>> import tempfile, os
>>> params = fnn.init_params(fnn.network([3, 4, 2]), seed=0)
>>> state = fnn.fit(params, (np.ones((8, 3), np.float32), np.arange(8) % 2), epochs=1, optimizer="adam")
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> save_checkpoint(path, state, config={"note": "demo"})
>>> loaded = load_checkpoint(path)
>>> loaded.state.params == state.params, loaded.config, type(loaded.state.opt_state).__name__
(True, {'note': 'demo'}, 'AdamState')
"""

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
from attrs import fields, frozen, has

from fnn import optim
from fnn.core.params import Layer, Params
from fnn.core.spec import spec_from_config
from fnn.errors import FnnInputError
from fnn.store.archive import ARRAY_KINDS, read_archive
from fnn.store.atomic import atomic_write, atomic_write_bytes
from fnn.train.state import EpochRecord, History, TrainState

__all__ = ["FORMAT_VERSION", "Checkpoint", "atomic_write", "atomic_write_bytes", "load_checkpoint", "save_checkpoint"]

FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_FORMAT = "fnn-checkpoint"
_META, _HASH = "__meta__", "__sha256__"
_HEADER_KEYS = {
    1: ("spec", "opt_state", "epoch", "step", "seed", "history", "config", "arrays_sha256"),
    2: ("spec", "opt_state", "epoch", "step", "seed", "history", "config", "extras"),
}
_V1_STATE_NAMES = ("SgdState", "MomentumState", "AccumulatorState", "AdamState", "ChainState", "EmptyState")
_MAX_DEPTH = 64  # nesting of records and tuples in an optimiser state
_FROZEN_SETATTR = frozen(type("_Probe", (), {})).__setattr__


@frozen
class Checkpoint:
    """What a checkpoint file holds: the training state, the caller's configuration and extra arrays."""

    state: TrainState
    config: object
    extras: dict


# ---------------------------------------------------------------------------------------------------- saving


def save_checkpoint(path, state, config=None, extras=None, *, overwrite=True):
    """Write ``state`` (and a JSON-ready ``config`` and ``extras``, a dict of arrays) to ``path`` atomically.

    Everything is checked before anything is written, so a refused call leaves the disk as it was. With
    ``overwrite=False`` an existing ``path`` is refused.
    """
    if not isinstance(state, TrainState):
        raise FnnInputError(f"save_checkpoint needs a fnn.TrainState as state; got {type(state).__name__}.")
    if not isinstance(state.params, Params):
        raise FnnInputError(f"save_checkpoint: state.params must be fnn.Params; got {type(state.params).__name__}.")
    spec = state.params.spec
    _check_spec_saves_by_name(spec)
    for name in ("epoch", "step", "seed"):
        value = getattr(state, name)
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise FnnInputError(f"save_checkpoint: state.{name} must be a non-negative int; got {value!r}.")
    arrays = {}
    _encode_params(state.params, "params", arrays)
    opt_state = _encode(state.opt_state, "opt_state", arrays, spec, depth=0)
    extras_names = []
    if extras is not None and not isinstance(extras, Mapping):
        raise FnnInputError(f"save_checkpoint: extras must be a dict of arrays; got {type(extras).__name__}.")
    for name, value in (extras or {}).items():
        if not isinstance(name, str) or not name:
            raise FnnInputError(f"save_checkpoint: extras keys must be non-empty strings; got {name!r}.")
        arrays[f"extras/{name}"] = _storable_array(value, f"extras[{name!r}]")
        extras_names.append(name)
    header = {
        "format": _FORMAT,
        "version": FORMAT_VERSION,
        "spec": spec.to_config(),
        "opt_state": opt_state,
        "epoch": int(state.epoch),
        "step": int(state.step),
        "seed": int(state.seed),
        "history": state.history.to_dicts(),
        "config": config,
        "extras": extras_names,
    }
    try:
        header_bytes = json.dumps(header, sort_keys=True).encode()
    except (TypeError, ValueError) as error:
        raise FnnInputError(
            f"save_checkpoint: config must be JSON-ready (dicts, lists, numbers, text); {error}."
        ) from None
    payload = dict(arrays)
    payload[_META] = np.frombuffer(header_bytes, dtype=np.uint8)
    payload[_HASH] = np.frombuffer(_hash_v2(header_bytes, arrays).encode(), dtype=np.uint8)
    atomic_write(path, lambda handle: np.savez(handle, **payload), overwrite=overwrite)


def _check_spec_saves_by_name(spec):
    """The spec is stored by names: each name must rebuild the very same functions, or the file would lie."""
    try:
        rebuilt = spec_from_config(spec.to_config())
    except FnnInputError as error:
        raise FnnInputError(
            f"This network cannot be saved by name (a custom activation, loss or initialiser?): {error}"
        ) from None
    pairs: list[tuple[str, Any, Any]] = [
        (f"layer {i} activation", a.activation, b.activation)
        for i, (a, b) in enumerate(zip(spec.layers, rebuilt.layers))
    ]
    pairs += [(f"layer {i} init", a.init, b.init) for i, (a, b) in enumerate(zip(spec.layers, rebuilt.layers))]
    pairs += [
        (f"layer {i} bias_init", a.bias_init, b.bias_init) for i, (a, b) in enumerate(zip(spec.layers, rebuilt.layers))
    ]
    pairs.append(("loss", spec.loss, rebuilt.loss))
    for what, mine, builtin in pairs:
        if not _same_functions(mine, builtin):
            raise FnnInputError(
                f"This network cannot be saved by name: its {what} is called {mine.name!r} but is not fnn's "
                f"built-in {mine.name!r} (a custom record with a built-in's name); give it a name of its own."
            )


def _same_functions(mine, builtin):
    if mine is builtin:
        return True
    for attribute in ("fn", "derivative", "vjp", "fn_inplace", "value", "grad_logits", "value_from_logits"):
        a, b = getattr(mine, attribute, None), getattr(builtin, attribute, None)
        if a is b:
            continue
        if getattr(a, "__code__", None) is None or getattr(a, "__code__", None) is not getattr(b, "__code__", None):
            return False
    return True


def _storable_array(value, what):
    array = np.asarray(value)
    if array.dtype.kind not in ARRAY_KINDS or array.dtype.names is not None or array.dtype.hasobject:
        raise FnnInputError(
            f"save_checkpoint: {what} must be an array of numbers, booleans or text (stored without pickle); "
            f"got dtype {array.dtype}."
        )
    return array


def _encode_params(params, prefix, arrays):
    for i, layer in enumerate(params.layers):
        arrays[f"{prefix}/{i}/w"], arrays[f"{prefix}/{i}/b"] = layer.w, layer.b
    return {"params": prefix}


def _encode(value, prefix, arrays, spec, depth):
    """A JSON description of an optimiser state; its arrays go into ``arrays`` under names starting ``prefix``."""
    if depth > _MAX_DEPTH:
        raise FnnInputError(f"save_checkpoint: the optimiser state nests deeper than {_MAX_DEPTH} levels ({prefix}).")
    if isinstance(value, Params):
        if value.spec != spec:
            raise FnnInputError(
                f"save_checkpoint: the optimiser state holds Params of {value.spec!r} at {prefix}, but the network "
                f"is {spec!r}; a checkpoint stores moments of its own network only."
            )
        return _encode_params(value, prefix, arrays)
    if isinstance(value, (np.ndarray, np.generic)):
        arrays[prefix] = _storable_array(value, prefix)
        return {"array": prefix, "scalar": isinstance(value, np.generic)}
    if type(value) is tuple:
        return {"tuple": [_encode(item, f"{prefix}/{i}", arrays, spec, depth + 1) for i, item in enumerate(value)]}
    if value is None or type(value) in (bool, int, float, str):
        return {"value": value}
    cls = type(value)
    if has(cls):
        name = _class_name(cls, prefix)
        described = {}
        for field in fields(cls):
            if not field.init:
                raise FnnInputError(
                    f"save_checkpoint: {cls.__qualname__}.{field.name} (at {prefix}) is not set by the constructor "
                    "(init=False), so it could not be rebuilt; make it an ordinary field."
                )
            described[field.alias or field.name] = _encode(
                getattr(value, field.name), f"{prefix}/{field.name}", arrays, spec, depth + 1
            )
        return {"record": name, "fields": described}
    raise FnnInputError(
        f"save_checkpoint: the optimiser state holds a {cls.__module__}.{cls.__qualname__} at {prefix}; checkpoints "
        "store frozen attrs records of arrays, numbers, strings, None, tuples and Params (no pickle)."
    )


def _class_name(cls, prefix):
    """``fnn.optim:Name`` for fnn's exported states (stable if fnn moves them), else ``module:qualname``."""
    if vars(optim).get(cls.__name__) is cls:
        name = f"fnn.optim:{cls.__name__}"
    else:
        name = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__setattr__ is not _FROZEN_SETATTR:
        raise FnnInputError(
            f"save_checkpoint: the optimiser state {cls.__qualname__} (at {prefix}) must be a frozen attrs record "
            "(@attrs.frozen), as fnn's states are."
        )
    try:
        found = _resolve_class(name, "save_checkpoint")
    except FnnInputError:
        found = None
    if found is not cls:
        raise FnnInputError(
            f"save_checkpoint: the optimiser state class {cls.__qualname__} (at {prefix}) cannot be found again by "
            f"its name {name!r}; define it at the top level of a module (not inside a function)."
        )
    return name


def _hash_v2(header_bytes, arrays):
    digest = hashlib.sha256(b"fnn-checkpoint-2\0")
    digest.update(len(header_bytes).to_bytes(8, "little"))
    digest.update(header_bytes)
    _update_with_arrays(digest, arrays)
    return digest.hexdigest()


def _digest(arrays):
    """The version 1 hash: the arrays only."""
    digest = hashlib.sha256()
    _update_with_arrays(digest, arrays)
    return digest.hexdigest()


def _update_with_arrays(digest, arrays):
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())


# --------------------------------------------------------------------------------------------------- loading


def load_checkpoint(path, *, opt_state=True):
    """Read and check a checkpoint written by :func:`save_checkpoint`; returns a :class:`Checkpoint`.

    With ``opt_state=False`` the optimiser state is not rebuilt (``state.opt_state`` is None; the file is still
    checked whole): enough to evaluate or predict when the module defining a custom state is not imported.
    """
    path = os.fspath(path)
    arrays = read_archive(path)
    raw_meta = arrays.pop(_META, None)
    if raw_meta is None:
        raise FnnInputError(
            f"{path}: an .npz archive but not an fnn checkpoint (no __meta__ header; expected a file written by "
            "fnn.save_checkpoint)."
        )
    if raw_meta.dtype != np.uint8 or raw_meta.ndim != 1:
        raise FnnInputError(
            f"{path}: the checkpoint header __meta__ must be 1-D uint8 JSON text; got {raw_meta.dtype}{raw_meta.shape}."
        )
    header_bytes = raw_meta.tobytes()
    meta = _parse_header(path, header_bytes)
    version = meta["version"]
    stored_hash = arrays.pop(_HASH, None)
    if version == 1:
        if _digest(arrays) != meta["arrays_sha256"]:
            raise FnnInputError(
                f"{path}: the arrays do not match the checkpoint's SHA-256: the file was altered or damaged."
            )
    else:
        if (
            stored_hash is None
            or stored_hash.dtype != np.uint8
            or stored_hash.tobytes() != _hash_v2(header_bytes, arrays).encode()
        ):
            raise FnnInputError(
                f"{path}: the header and arrays do not match the checkpoint's SHA-256 ({_HASH}): the file was "
                "altered or damaged."
            )
    try:
        spec = spec_from_config(meta["spec"])
    except FnnInputError as error:
        raise FnnInputError(f"{path}: the checkpoint's network spec is not valid: {error}") from None
    used = set()
    params = _params_from(arrays, "params", spec, path, used)
    state_value = _decode(meta["opt_state"], arrays, spec, path, used, 0, version) if opt_state else None
    history = _history_from(meta["history"], path)
    state = TrainState(params, state_value, meta["epoch"], meta["step"], meta["seed"], history)
    names = meta["extras"] if version == 2 else [n[len("extras/") :] for n in arrays if n.startswith("extras/")]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise FnnInputError(f"{path}: the header's 'extras' must be a list of names; got {names!r}.")
    extras = {}
    for name in names:
        array = arrays.get(f"extras/{name}")
        if array is None:
            raise FnnInputError(f"{path}: the checkpoint lacks the array 'extras/{name}' its header lists.")
        extras[name] = np.array(array)  # a writable copy, as the caller's to keep
        used.add(f"extras/{name}")
    if opt_state:
        unexpected = sorted(set(arrays) - used)
        if unexpected:
            raise FnnInputError(f"{path}: the checkpoint holds arrays its header does not describe: {unexpected[:5]}.")
    return Checkpoint(state, meta["config"], extras)


def _parse_header(path, header_bytes):
    try:
        meta = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise FnnInputError(f"{path}: the checkpoint header is not valid JSON text ({type(error).__name__}).") from None
    if not isinstance(meta, dict):
        raise FnnInputError(f"{path}: the checkpoint header must be a JSON object; got {type(meta).__name__}.")
    version = meta.get("version")
    if meta.get("format") != _FORMAT or type(version) is not int or version not in _READABLE_VERSIONS:
        raise FnnInputError(
            f"{path}: checkpoint format {meta.get('format')!r} version {version!r}; this fnn reads "
            f"{_FORMAT!r} versions {', '.join(map(str, _READABLE_VERSIONS))}."
        )
    missing = [key for key in _HEADER_KEYS[version] if key not in meta]
    if missing:
        raise FnnInputError(
            f"{path}: the checkpoint header lacks {missing}; a version {version} header has "
            f"{list(_HEADER_KEYS[version])}."
        )
    for key in ("epoch", "step", "seed"):
        if type(meta[key]) is not int or meta[key] < 0:
            raise FnnInputError(f"{path}: the header's {key!r} must be a non-negative int; got {meta[key]!r}.")
    return meta


def _history_from(records, path):
    if not isinstance(records, list):
        raise FnnInputError(
            f"{path}: the header's 'history' must be a list of epoch records; got {type(records).__name__}."
        )
    try:
        history = History(tuple(EpochRecord(**record) for record in records))
    except (TypeError, ValueError, KeyError, AttributeError) as error:  # diagnostics are rebuilt from a nested dict
        raise FnnInputError(
            f"{path}: the header's 'history' holds a record that is not an epoch record ({error})."
        ) from None
    for index, record in enumerate(history):
        for key, value in record.to_dict().items():
            if key == "diagnostics":  # a nested record, already checked by EpochDiagnostics.from_dict above
                continue
            whole = key in ("epoch", "step")
            if (value is None and not whole) or (type(value) is int) or (type(value) is float and not whole):
                continue
            raise FnnInputError(
                f"{path}: the header's history[{index}][{key!r}] must be {'an int' if whole else 'a number or null'}; "
                f"got {value!r}."
            )
    return history


def _params_from(arrays, prefix, spec, path, used):
    if not isinstance(prefix, str):
        raise FnnInputError(f"{path}: a Params entry of the header must name its arrays; got {prefix!r}.")
    layers = []
    for i, layer_spec in enumerate(spec.layers):
        names = (f"{prefix}/{i}/w", f"{prefix}/{i}/b")
        missing = [name for name in names if name not in arrays]
        if missing:
            raise FnnInputError(f"{path}: the checkpoint lacks the array {missing[0]!r}.")
        w, b = (arrays[name] for name in names)
        used.update(names)
        expected = (layer_spec.input_dim, layer_spec.output_dim)
        if w.shape != expected or b.shape != (expected[1],) or w.dtype.kind != "f" or w.dtype != b.dtype:
            raise FnnInputError(
                f"{path}: {prefix} layer {i} has w {w.dtype}{w.shape} and b {b.dtype}{b.shape}; the spec needs "
                f"float w{expected} and b({expected[1]},) of one dtype."
            )
        layers.append((w, b))
    # Not gathered into one flat vector: that would copy every array once more, and the first step of a resumed
    # run makes the flat vector anyway.
    return Params(spec, [Layer(w, b) for w, b in layers])


def _decode(description, arrays, spec, path, used, depth, version):
    if depth > _MAX_DEPTH:
        raise FnnInputError(f"{path}: the optimiser state in the header nests deeper than {_MAX_DEPTH} levels.")
    if not isinstance(description, dict) or len(description) not in (1, 2):
        raise FnnInputError(f"{path}: a malformed optimiser-state entry in the header: {str(description)[:80]!r}.")
    if "params" in description:
        return _params_from(arrays, description["params"], spec, path, used)
    if "array" in description and version >= 2:
        name = description["array"]
        if not isinstance(name, str) or name not in arrays:
            raise FnnInputError(f"{path}: the checkpoint lacks the array {name!r} its header names.")
        used.add(name)
        array = arrays[name]
        return array[()] if description.get("scalar") is True and array.ndim == 0 else array
    if "tuple" in description and isinstance(description["tuple"], list):
        return tuple(_decode(item, arrays, spec, path, used, depth + 1, version) for item in description["tuple"])
    if "value" in description:
        value = description["value"]
        if value is not None and type(value) not in (bool, int, float, str):
            raise FnnInputError(f"{path}: an optimiser-state value must be a number, text or null; got {value!r}.")
        return value
    if version == 1 and "type" in description:
        name = description["type"]
        cls = vars(optim).get(name) if name in _V1_STATE_NAMES else None
        if cls is None:
            raise FnnInputError(
                f"{path}: unknown optimiser state type {name!r} (version 1 knows {list(_V1_STATE_NAMES)})."
            )
        return _build(cls, name, description.get("fields"), arrays, spec, path, used, depth, version)
    if "record" in description and version >= 2:
        name = description["record"]
        return _build(
            _resolve_class(name, path), name, description.get("fields"), arrays, spec, path, used, depth, version
        )
    raise FnnInputError(f"{path}: a malformed optimiser-state entry in the header: {str(description)[:80]!r}.")


def _build(cls, name, described, arrays, spec, path, used, depth, version):
    expected = sorted(field.alias or field.name for field in fields(cls) if field.init)
    if not isinstance(described, dict) or sorted(described) != expected:
        got = sorted(described) if isinstance(described, dict) else described
        raise FnnInputError(f"{path}: the optimiser state {name} needs the fields {expected}; the header has {got!r}.")
    values = {key: _decode(value, arrays, spec, path, used, depth + 1, version) for key, value in described.items()}
    for field in fields(cls):
        key = field.alias or field.name
        if key in values and not _fits_annotation(values[key], field.type):
            raise FnnInputError(
                f"{path}: the optimiser state {name} field {key!r} is declared {_type_name(field.type)}; the file "
                f"holds {type(values[key]).__name__} {str(values[key])[:40]!r}."
            )
    try:
        return cls(**values)
    except Exception as error:  # noqa: BLE001 - a user's record may check its fields in any way
        raise FnnInputError(
            f"{path}: could not rebuild the optimiser state {name}: {type(error).__name__}: {error}"
        ) from None


_PLAIN_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "Params": Params}


def _fits_annotation(value, annotation):
    """Whether ``value`` fits a field's plain annotation (``int``, ``float``, ``str``, ``bool``, ``Params``, an array
    type or a record class); other annotations (unions, ``object``, none) are not checked."""
    expected = _PLAIN_TYPES.get(annotation) if isinstance(annotation, str) else annotation
    if not isinstance(expected, type) or expected is object:
        return True
    if expected is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if expected is float:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    return isinstance(value, expected)


def _type_name(annotation):
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))


def _resolve_class(name, path):
    """The frozen attrs class called ``module:qualname``, from modules already imported (never importing one)."""
    module_name, colon, qualname = name.partition(":") if isinstance(name, str) else ("", "", "")
    parts = qualname.split(".")
    if (
        not colon
        or not all(part.isidentifier() for part in module_name.split("."))
        or not all(part.isidentifier() and not part.startswith("__") for part in parts)
    ):
        raise FnnInputError(f"{path}: {name!r} is not a class name of the form 'module:Class'.")
    module = sys.modules.get(module_name)
    if module is None:
        raise FnnInputError(
            f"{path}: the optimiser state is a {qualname} from the module {module_name!r}, which is not imported. "
            f"Import {module_name} (the module that defines it) before loading: fnn never imports a module a file "
            "names. (load_checkpoint(path, opt_state=False) loads the model without the optimiser state.)"
        )
    found = module
    for part in parts:  # plain dictionary look-ups: no __getattr__ hook of a module or class runs
        found = vars(found).get(part) if hasattr(found, "__dict__") else None
    if not (isinstance(found, type) and has(found) and found.__setattr__ is _FROZEN_SETATTR):
        raise FnnInputError(
            f"{path}: {name!r} is not a frozen attrs record class of the imported module {module_name}; an optimiser "
            "state can only be rebuilt as one."
        )
    return found
