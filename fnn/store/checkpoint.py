"""Checkpoints: a whole training state in one ``.npz`` file, written atomically and read without pickle.

The file (format version 2) is an uncompressed zip of ``.npy`` arrays: the parameters, the optimiser state's
arrays, optional extra arrays (e.g. the standardiser's statistics), a JSON header ``__meta__`` (format version,
network spec, the optimiser state's structure, epoch, step, seed, history, the caller's configuration, the extras'
names) and ``__sha256__``, a SHA-256 over the header's exact bytes and every array's name, dtype, shape and data.

Any optimiser state that is a frozen attrs record can be saved, a user's own included: its fields may hold arrays,
numbers, strings, None, tuples, :class:`~fnn.core.params.Params` and further such records. It is stored with
:mod:`fnn.store.codec`: a record by its class's name (``module:qualname``; ``fnn.optim:AdamState`` for fnn's own) and
its fields, rebuilt only from a frozen attrs class of a module that is *already imported*: fnn never imports a module
a file names, never unpickles, and refuses anything else with a message saying which module to import first.

Loading checks everything before building anything: the path is a regular file, it is a zip whose members are all
stored (uncompressed) ``.npy`` arrays of plain numeric, boolean or string dtypes whose declared sizes match their
real sizes (so a crafted file cannot make fnn allocate more than its own length, and no zip bomb can inflate), the
hash, the header's keys and types, and every array's shape against the spec. Each failure is a
:class:`~fnn.errors.FnnInputError` naming the file and what was expected. The hash detects damage and edits; it is
not a signature (whoever can write the file can recompute it), so load checkpoints you trust. A file of another
format version is refused, naming the version this fnn reads.

Files are written with :func:`fnn.store.atomic.write_atomic`: a crash at any moment leaves the old checkpoint or the new
one, never half of one, and a symbolic link planted at the path is replaced, not followed.

>>> import tempfile, os
>>> params = fnn.init_params(fnn.network([3, 4, 2]), seed=0)
>>> state = fnn.fit(params, (np.ones((8, 3), np.float32), np.arange(8) % 2), epochs=1, optimizer="adam")
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> write_checkpoint(path, state, config={"note": "demo"})
>>> loaded = load_checkpoint(path)
>>> loaded.state.params == state.params, loaded.config, type(loaded.state.opt_state).__name__
(True, {'note': 'demo'}, 'AdamState')
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from attrs import frozen

from fnn.core.params import Params
from fnn.core.spec import NetworkSpec, spec_from_config
from fnn.errors import FnnInputError
from fnn.store.archive import read_archive
from fnn.store.atomic import write_atomic
from fnn.store.codec import decode, encode, params_from, storable_array
from fnn.train.state import EpochRecord, History, TrainState

FORMAT_VERSION = 2
_FORMAT = "fnn-checkpoint"
_META, _HASH = "__meta__", "__sha256__"
_HEADER_KEYS = ("spec", "opt_state", "epoch", "step", "seed", "history", "config", "extras")
_STATE = "the optimiser state"


@frozen
class Checkpoint:
    """What a checkpoint file holds: the training state, the caller's JSON-ready configuration and extra arrays.

    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> Checkpoint(fnn.TrainState(params, fnn.optim.sgd(0.1).init(params)), {"lr": 0.1}, {}).config
    {'lr': 0.1}
    """

    state: TrainState
    config: Any
    extras: dict[str, np.ndarray]


# ---------------------------------------------------------------------------------------------------- saving


def write_checkpoint(path: str | os.PathLike[str], state: TrainState, config: Any = None,
                    extras: Mapping[str, Any] | None = None, *, overwrite: bool = True) -> None:
    """Write ``state`` (and a JSON-ready ``config`` and ``extras``, a dict of arrays) to ``path`` atomically.

    Everything is checked before anything is written, so a refused call leaves the disk as it was. With
    ``overwrite=False`` an existing ``path`` is refused.

    >>> import tempfile, os
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "c.npz")
    >>> write_checkpoint(path, fnn.TrainState(params, fnn.optim.sgd(0.1).init(params), epoch=3))
    >>> load_checkpoint(path).state.epoch
    3
    """
    where = "save_checkpoint"
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
    _, arrays = encode(state.params, spec, where, prefix="params")
    opt_state, opt_arrays = encode(state.opt_state, spec, where, prefix="opt_state", what=_STATE)
    arrays.update(opt_arrays)
    extras_names = []
    if extras is not None and not isinstance(extras, Mapping):
        raise FnnInputError(f"save_checkpoint: extras must be a dict of arrays; got {type(extras).__name__}.")
    for name, value in (extras or {}).items():
        if not isinstance(name, str) or not name:
            raise FnnInputError(f"save_checkpoint: extras keys must be non-empty strings; got {name!r}.")
        arrays[f"extras/{name}"] = storable_array(value, f"extras[{name!r}]", where)
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
    payload: dict[str, Any] = dict(arrays)
    payload[_META] = np.frombuffer(header_bytes, dtype=np.uint8)
    payload[_HASH] = np.frombuffer(_hash(header_bytes, arrays).encode(), dtype=np.uint8)
    write_atomic(path, lambda handle: np.savez(handle, **payload), overwrite=overwrite)


def _check_spec_saves_by_name(spec: NetworkSpec) -> None:
    """The spec is stored by names: each name must rebuild the very same functions, or the file would lie."""
    try:
        rebuilt = spec_from_config(spec.to_config())
    except FnnInputError as error:
        raise FnnInputError(
            f"This network cannot be saved by name (a custom activation, loss or initialiser?): {error}"
        ) from None
    pairs = [
        (f"layer {i} {part}", getattr(a, part), getattr(b, part))
        for part in ("activation", "init", "bias_init")
        for i, (a, b) in enumerate(zip(spec.layers, rebuilt.layers))
    ]
    pairs.append(("loss", spec.loss, rebuilt.loss))
    for what, mine, builtin in pairs:
        if not _same_functions(mine, builtin):
            raise FnnInputError(
                f"This network cannot be saved by name: its {what} is called {mine.name!r} but is not fnn's "
                f"built-in {mine.name!r} (a custom record with a built-in's name); give it a name of its own."
            )


def _same_functions(mine: Any, builtin: Any) -> bool:
    if mine is builtin:
        return True
    for attribute in ("fn", "derivative", "vjp", "fn_inplace", "value", "grad_logits", "value_from_logits"):
        a, b = getattr(mine, attribute, None), getattr(builtin, attribute, None)
        if a is b:
            continue
        if getattr(a, "__code__", None) is None or getattr(a, "__code__", None) is not getattr(b, "__code__", None):
            return False
    return True


def _hash(header_bytes: bytes, arrays: Mapping[str, np.ndarray]) -> str:
    """The SHA-256 over the header's exact bytes and every array's name, dtype, shape and data."""
    digest = hashlib.sha256(b"fnn-checkpoint-2\0")
    digest.update(len(header_bytes).to_bytes(8, "little"))
    digest.update(header_bytes)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------- loading


def load_checkpoint(path: str | os.PathLike[str], *, opt_state: bool = True) -> Checkpoint:
    """Read and check a checkpoint written by :func:`write_checkpoint`; returns a :class:`Checkpoint`.

    With ``opt_state=False`` the optimiser state is not rebuilt (``state.opt_state`` is None; the file is still
    checked whole): enough to evaluate or predict when the module defining a custom state is not imported.

    >>> import tempfile, os
    >>> params = fnn.init_params(fnn.network([2, 2]), seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "c.npz")
    >>> write_checkpoint(path, fnn.TrainState(params, fnn.optim.adam(0.1).init(params)), extras={"n": np.arange(2)})
    >>> loaded = load_checkpoint(path, opt_state=False)
    >>> loaded.state.params == params, loaded.state.opt_state, loaded.extras
    (True, None, {'n': array([0, 1])})
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
    stored_hash = arrays.pop(_HASH, None)
    if stored_hash is None or stored_hash.dtype != np.uint8 or stored_hash.tobytes() != _hash(header_bytes, arrays).encode():
        raise FnnInputError(
            f"{path}: the header and arrays do not match the checkpoint's SHA-256 ({_HASH}): the file was "
            "altered or damaged."
        )
    try:
        spec = spec_from_config(meta["spec"])
    except FnnInputError as error:
        raise FnnInputError(f"{path}: the checkpoint's network spec is not valid: {error}") from None
    used: set[str] = set()
    params = params_from(arrays, "params", spec, path, used)
    state_value = None
    if opt_state:
        try:
            state_value = decode(meta["opt_state"], arrays, spec, path, what=_STATE, used=used)
        except FnnInputError as error:
            raise FnnInputError(
                f"{error} (load_checkpoint(path, opt_state=False) loads the model without the optimiser state.)"
            ) from None
    history = _history_from(meta["history"], path)
    state = TrainState(params, state_value, meta["epoch"], meta["step"], meta["seed"], history)
    names = meta["extras"]
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


def _parse_header(path: str, header_bytes: bytes) -> dict[str, Any]:
    try:
        meta = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise FnnInputError(f"{path}: the checkpoint header is not valid JSON text ({type(error).__name__}).") from None
    if not isinstance(meta, dict):
        raise FnnInputError(f"{path}: the checkpoint header must be a JSON object; got {type(meta).__name__}.")
    version = meta.get("version")
    if meta.get("format") != _FORMAT or type(version) is not int or version != FORMAT_VERSION:
        raise FnnInputError(
            f"{path}: checkpoint format {meta.get('format')!r} version {version!r}; this fnn reads "
            f"{_FORMAT!r} version {FORMAT_VERSION} only."
        )
    missing = [key for key in _HEADER_KEYS if key not in meta]
    if missing:
        raise FnnInputError(
            f"{path}: the checkpoint header lacks {missing}; a version {FORMAT_VERSION} header has {list(_HEADER_KEYS)}."
        )
    for key in ("epoch", "step", "seed"):
        if type(meta[key]) is not int or meta[key] < 0:
            raise FnnInputError(f"{path}: the header's {key!r} must be a non-negative int; got {meta[key]!r}.")
    return meta


def _history_from(records: Any, path: str) -> History:
    if not isinstance(records, list):
        raise FnnInputError(
            f"{path}: the header's 'history' must be a list of epoch records; got {type(records).__name__}."
        )
    try:
        history = History([EpochRecord(**record) for record in records])
    except (TypeError, ValueError, KeyError, AttributeError) as error:  # diagnostics are rebuilt from a nested dict
        raise FnnInputError(
            f"{path}: the header's 'history' holds a record that is not an epoch record ({error})."
        ) from None
    for index, record in enumerate(history):
        for key, value in record.to_dict().items():
            if key in ("diagnostics", "metrics"):  # nested, already read back as numbers by EpochRecord above
                continue
            if key == "weighted" and type(value) is bool:
                continue
            whole = key in ("epoch", "step")
            if (value is None and not whole) or (type(value) is int) or (type(value) is float and not whole):
                continue
            raise FnnInputError(
                f"{path}: the header's history[{index}][{key!r}] must be {'an int' if whole else 'a number or null'}; "
                f"got {value!r}."
            )
    return history
