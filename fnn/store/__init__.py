"""Persistence: atomic writes, checkpoints, models, run folders and the codec of frozen state trees.

>>> import os, tempfile
>>> params = fnn.init_params(fnn.network([2, 3, 2]), seed=0)
>>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
>>> fnn.store.save(path, params)
>>> fnn.store.load(path) == params
True
"""

from fnn.store.checkpoint import FORMAT_VERSION, Checkpoint, load_checkpoint
from fnn.store.lock import RunLock
from fnn.store.model import Model, load, load_model, save
from fnn.store.run_folder import RunFolder, atomic_write, save_checkpoint, write_run_file

__all__ = [
    "atomic_write",
    "FORMAT_VERSION", "Checkpoint", "save_checkpoint", "load_checkpoint",
    "Model", "save", "load", "load_model",
    "RunFolder", "RunLock", "write_run_file",
]
