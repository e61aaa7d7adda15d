"""Checkpoints: a whole training state in one ``.npz`` file, written atomically and read without pickle.

The file holds the parameters, the optimiser state's arrays, optional extra arrays (e.g. the standardiser's
statistics) and a JSON header (``__meta__``) with the format version, the network spec, the optimiser state's
structure, epoch, step, seed, history, the caller's configuration, and a SHA-256 of every array. Loading checks all
of it (version, names, shapes, dtypes, hash) and refuses anything else with a clear message.

Writing goes to a temporary file in the same folder, is flushed to disk, then renamed over the old file, so a crash
at any moment leaves either the old checkpoint or the new one, never half of one.

>>> import tempfile, os
>>> params = fnn.init_params(fnn.network([3, 4, 2]), seed=0)
>>> state = fnn.fit(params, (np.ones((8, 3), np.float32), np.arange(8) % 2), epochs=1, optimizer="adam")
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> save_checkpoint(path, state, config={"note": "demo"})
>>> loaded = load_checkpoint(path)
>>> loaded.state.params == state.params, loaded.config
(True, {'note': 'demo'})
"""

import hashlib
import json
import os
import zipfile

import numpy as np
from attrs import fields, frozen, has

from .errors import FnnInputError
from .optim import AccumulatorState, AdamState, ChainState, EmptyState, MomentumState, SgdState
from .params import Layer, Params
from .spec import spec_from_config
from .state import EpochRecord, History, TrainState

__all__ = ["FORMAT_VERSION", "Checkpoint", "save_checkpoint", "load_checkpoint", "atomic_write_bytes"]

FORMAT_VERSION = 1
_STATE_TYPES = {cls.__name__: cls for cls in (SgdState, MomentumState, AccumulatorState, AdamState, ChainState, EmptyState)}


@frozen
class Checkpoint:
    """What a checkpoint file holds: the training state, the caller's configuration and extra arrays."""

    state: TrainState
    config: object
    extras: dict


def _encode(value, prefix, arrays, spec):
    """A JSON description of an optimiser state; its arrays go into ``arrays`` under names starting ``prefix``."""
    if isinstance(value, Params):
        for i, layer in enumerate(value.layers):
            arrays[f"{prefix}/{i}/w"], arrays[f"{prefix}/{i}/b"] = layer.w, layer.b
        return {"params": prefix}
    if has(type(value)):
        name = type(value).__name__
        if name not in _STATE_TYPES:
            raise FnnInputError(f"Cannot save an optimiser state of type {name}: checkpoints know {sorted(_STATE_TYPES)}.")
        return {"type": name, "fields": {f.name: _encode(getattr(value, f.name), f"{prefix}/{f.name}", arrays, spec) for f in fields(type(value))}}
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, f"{prefix}/{i}", arrays, spec) for i, item in enumerate(value)]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise FnnInputError(f"Cannot save an optimiser state holding a {type(value).__name__} ({prefix}).")


def _decode(description, arrays, spec, path):
    if "params" in description:
        return _params_from(arrays, description["params"], spec, path)
    if "type" in description:
        cls = _STATE_TYPES.get(description["type"])
        if cls is None:
            raise FnnInputError(f"{path}: unknown optimiser state type {description['type']!r}.")
        return cls(**{name: _decode(field, arrays, spec, path) for name, field in description["fields"].items()})
    if "tuple" in description:
        return tuple(_decode(item, arrays, spec, path) for item in description["tuple"])
    return description["value"]


def _params_from(arrays, prefix, spec, path):
    layers = []
    for i, layer_spec in enumerate(spec.layers):
        try:
            w, b = arrays[f"{prefix}/{i}/w"], arrays[f"{prefix}/{i}/b"]
        except KeyError as missing:
            raise FnnInputError(f"{path}: the checkpoint lacks the array {missing.args[0]!r}.") from None
        expected = (layer_spec.input_dim, layer_spec.output_dim)
        if w.shape != expected or b.shape != (expected[1],) or w.dtype.kind != "f" or w.dtype != b.dtype:
            raise FnnInputError(
                f"{path}: {prefix} layer {i} has w {w.dtype}{w.shape} and b {b.dtype}{b.shape}; the spec needs "
                f"float w{expected} and b({expected[1]},) of one dtype."
            )
        layers.append(Layer(w, b))
    return Params(spec, layers)


def _digest(arrays):
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def atomic_write_bytes(path, write):
    """Call ``write(handle)`` on a temporary file beside ``path``, flush it to disk, then rename it to ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    try:  # make the rename itself durable
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError:
        pass


def save_checkpoint(path, state, config=None, extras=None):
    """Write ``state`` (and a JSON-ready ``config`` and ``extras``, a dict of arrays) to ``path`` atomically."""
    if not isinstance(state, TrainState):
        raise FnnInputError(f"save_checkpoint needs a fnn.TrainState; got {type(state).__name__}.")
    spec = state.params.spec
    try:
        spec_config = spec.to_config()
        spec_from_config(spec_config)
    except FnnInputError as error:
        raise FnnInputError(
            f"This network cannot be saved by name (a custom activation, loss or initialiser?): {error}"
        ) from None
    arrays = {}
    _encode(state.params, "params", arrays, spec)
    opt_state = _encode(state.opt_state, "opt_state", arrays, spec)
    for name, array in (extras or {}).items():
        arrays[f"extras/{name}"] = np.asarray(array)
    meta = {
        "format": "fnn-checkpoint",
        "version": FORMAT_VERSION,
        "spec": spec_config,
        "opt_state": opt_state,
        "epoch": state.epoch,
        "step": state.step,
        "seed": state.seed,
        "history": state.history.to_dicts(),
        "config": config,
        "arrays_sha256": _digest(arrays),
    }
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    atomic_write_bytes(path, lambda handle: np.savez(handle, **payload))


def load_checkpoint(path):
    """Read and check a checkpoint written by :func:`save_checkpoint`; returns a :class:`Checkpoint`."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise FnnInputError(f"{path}: no such checkpoint file.") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        raise FnnInputError(f"{path}: not a readable fnn checkpoint (truncated or corrupted: {error}).") from None
    raw_meta = arrays.pop("__meta__", None)
    if raw_meta is None or raw_meta.dtype != np.uint8:
        raise FnnInputError(f"{path}: not an fnn checkpoint (no __meta__ header).")
    try:
        meta = json.loads(raw_meta.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FnnInputError(f"{path}: the checkpoint header is corrupted ({error}).") from None
    if meta.get("format") != "fnn-checkpoint" or meta.get("version") != FORMAT_VERSION:
        raise FnnInputError(
            f"{path}: checkpoint format {meta.get('format')!r} version {meta.get('version')!r}; this fnn reads "
            f"'fnn-checkpoint' version {FORMAT_VERSION}."
        )
    if _digest(arrays) != meta.get("arrays_sha256"):
        raise FnnInputError(f"{path}: the arrays do not match the checkpoint's SHA-256: the file was altered or damaged.")
    spec = spec_from_config(meta["spec"])
    params = _params_from(arrays, "params", spec, path)
    opt_state = _decode(meta["opt_state"], arrays, spec, path)
    history = History(tuple(EpochRecord(**record) for record in meta["history"]))
    state = TrainState(params, opt_state, meta["epoch"], meta["step"], meta["seed"], history)
    extras = {name[len("extras/") :]: array for name, array in arrays.items() if name.startswith("extras/")}
    return Checkpoint(state, meta["config"], extras)
