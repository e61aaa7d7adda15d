"""Editing checkpoint files in tests: read their members, change the header or arrays, store them again with a
correct hash (so only the semantic checks can refuse them) or with the old one (so the hash must)."""

import json

import numpy as np

from fnn.store.checkpoint import _hash


def read_members(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def rewrite(path, change_header=None, change_arrays=None, rehash=True):
    """Edit a checkpoint's header (a dict) and arrays, then store it with a correct hash (or the old one)."""
    arrays = read_members(path)
    header = json.loads(arrays.pop("__meta__").tobytes())
    old_hash = arrays.pop("__sha256__")
    if change_header:
        change_header(header)
    if change_arrays:
        change_arrays(arrays)
    header_bytes = json.dumps(header).encode()
    digest = _hash(header_bytes, arrays).encode() if rehash else old_hash.tobytes()
    np.savez(path, __meta__=np.frombuffer(header_bytes, np.uint8), __sha256__=np.frombuffer(digest, np.uint8), **arrays)
