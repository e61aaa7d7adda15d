"""Should checkpoints be safetensors files? Time and size of a Fashion-MNIST-size checkpoint in both formats.

The network is 784-256-128-64-10 (float32) with Adam's state, the checkpoint fnn writes today (``.npz`` with a
JSON header, SHA-256 of the arrays, fsync and rename). The same arrays and the same JSON header then go through
``numpy.savez`` and ``safetensors.numpy.save_file`` (header as metadata), each also fsynced, so the comparison is
of the formats alone; the SHA-256 every checkpoint computes is timed on its own.

    python scripts/bench_checkpoint_format.py --repeats 30
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import tempfile
import time

import numpy as np
import safetensors.numpy

import fnn
from fnn.store import load_checkpoint, save_checkpoint


def fashion_size_state():
    x = np.random.default_rng(0).random((256, 784), dtype=np.float32)
    y = np.arange(256) % 10
    params = fnn.init_params(fnn.network([784, 256, 128, 64, 10]), seed=0)
    return fnn.fit(params, (x, y), epochs=1, optimizer="adam", batch_size=128, seed=0)


def timed(function, repeats):
    """The median wall time of ``function()`` in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def write_synced(path, write):
    with open(path, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def sha256_of(arrays):
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    state = fashion_size_state()
    with tempfile.TemporaryDirectory() as folder:
        report(state, folder, args.repeats)


def report(state, folder, repeats):
    """Time both formats on files in ``folder`` and print the table."""
    npz_path, npz_plain, st_path = (os.path.join(folder, name) for name in ("fnn.npz", "plain.npz", "plain.safetensors"))
    save_checkpoint(npz_path, state)
    with np.load(npz_path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "__meta__"}
        header = archive["__meta__"].tobytes().decode()
    metadata = {"fnn": header}
    n_values = sum(a.size for a in arrays.values())

    rows = [
        ("fnn save_checkpoint (.npz, sha256, fsync, rename)", timed(lambda: save_checkpoint(npz_path, state), repeats)),
        ("fnn load_checkpoint (.npz, sha256 check, records)", timed(lambda: load_checkpoint(npz_path), repeats)),
        ("sha256 of the arrays (either format)", timed(lambda: sha256_of(arrays), repeats)),
        ("serialise .npz in memory (numpy.savez)", timed(lambda: np.savez(io.BytesIO(), **arrays), repeats)),
        ("serialise .safetensors in memory (save)", timed(lambda: safetensors.numpy.save(arrays, metadata), repeats)),
        ("write .npz (numpy.savez + fsync)", timed(lambda: write_synced(npz_plain, lambda h: np.savez(h, **arrays)), repeats)),
        ("write .safetensors (save + fsync)", timed(lambda: write_synced(st_path, lambda h: h.write(safetensors.numpy.save(arrays, metadata))), repeats)),
    ]

    def read_npz():
        with np.load(npz_plain, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}

    rows += [
        ("read .npz (all arrays)", timed(read_npz, repeats)),
        ("read .safetensors (load_file, all arrays)", timed(lambda: safetensors.numpy.load_file(st_path), repeats)),
    ]
    loaded = safetensors.numpy.load_file(st_path)
    assert all(np.array_equal(loaded[name], arrays[name]) for name in arrays)
    with safetensors.safe_open(st_path, framework="np") as handle:
        assert json.loads(handle.metadata()["fnn"]) == json.loads(header)

    print(f"checkpoint of 784-256-128-64-10 + Adam state: {len(arrays)} arrays, {n_values:,} float32 values, "
          f"JSON header {len(header):,} bytes; median of {repeats}")
    for name, ms in rows:
        print(f"  {name:<52} {ms:8.2f} ms")
    for name, path in (("fnn checkpoint .npz", npz_path), ("plain .npz", npz_plain), (".safetensors", st_path)):
        print(f"  size {name:<47} {os.path.getsize(path):>10,} bytes")


if __name__ == "__main__":
    main()
