import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import fnn
from fnn import optim
from fnn.checkpoint import atomic_write_bytes, load_checkpoint, save_checkpoint

OPTIMIZERS = {
    "sgd": optim.sgd(0.1),
    "momentum": optim.momentum(0.1),
    "adagrad": optim.adagrad(0.1),
    "rmsprop": optim.rmsprop(0.01),
    "adam": optim.adam(0.01),
    "chain": optim.chain(optim.add_l2(1e-3), optim.clip_by_global_norm(1.0), optim.adamw(0.01)),
}


def trained(optimizer, epochs=2, dtype="float32"):
    params = fnn.init_params(fnn.network([4, 5, 3], activation="tanh"), seed=0, dtype=dtype)
    data = fnn.data.iris(dtype=np.dtype(dtype))
    return fnn.fit(params, data, epochs=epochs, optimizer=optimizer, batch_size=16, seed=3, validation=0.2)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_round_trip_restores_the_whole_state_and_resumes_identically(tmp_path, name):
    optimizer = OPTIMIZERS[name]
    state = trained(optimizer)
    path = tmp_path / "c.npz"
    save_checkpoint(path, state, config={"optimizer": name}, extras={"mean": np.arange(3.0)})
    loaded = load_checkpoint(path)
    assert loaded.state.params == state.params and loaded.state.history == state.history
    assert (loaded.state.epoch, loaded.state.step, loaded.state.seed) == (state.epoch, state.step, state.seed)
    assert loaded.config == {"optimizer": name} and loaded.extras["mean"].tolist() == [0.0, 1.0, 2.0]
    data = fnn.data.iris()
    continued = fnn.fit(loaded.state, data, epochs=2, optimizer=optimizer, batch_size=16, validation=0.2)
    straight = trained(optimizer, epochs=4)
    assert continued.params == straight.params and continued.history == straight.history


def test_float64_is_kept(tmp_path):
    state = trained(optim.sgd(0.1), dtype="float64")
    save_checkpoint(tmp_path / "c.npz", state)
    assert load_checkpoint(tmp_path / "c.npz").state.params.dtype == np.float64


def test_no_pickle_inside(tmp_path):
    save_checkpoint(tmp_path / "c.npz", trained(optim.adam()))
    with np.load(tmp_path / "c.npz", allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.adam()))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(fnn.FnnInputError, match="c.npz: not a readable fnn checkpoint"):
        load_checkpoint(path)


def rewrite(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    np.savez(path, **arrays)


def test_tampered_arrays_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.adam()))
    rewrite(path, lambda arrays: arrays.__setitem__("params/0/w", arrays["params/0/w"] + 1))
    with pytest.raises(fnn.FnnInputError, match="do not match the checkpoint's SHA-256"):
        load_checkpoint(path)


def test_wrong_shapes_and_versions_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.sgd(0.1)))

    def reshape(arrays):
        arrays["params/0/w"] = np.zeros((4, 6), np.float32)
        meta = json.loads(arrays["__meta__"].tobytes())
        from fnn.checkpoint import _digest

        meta["arrays_sha256"] = _digest({k: v for k, v in arrays.items() if k != "__meta__"})
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)

    rewrite(path, reshape)
    with pytest.raises(fnn.FnnInputError, match=r"params layer 0 has w float32\(4, 6\).*needs float w\(4, 5\)"):
        load_checkpoint(path)

    def bump_version(arrays):
        meta = json.loads(arrays["__meta__"].tobytes())
        meta["version"] = 99
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)

    save_checkpoint(path, trained(optim.sgd(0.1)))
    rewrite(path, bump_version)
    with pytest.raises(fnn.FnnInputError, match="version 99; this fnn reads 'fnn-checkpoint' version 1"):
        load_checkpoint(path)
    np.savez(path, x=np.zeros(3))
    with pytest.raises(fnn.FnnInputError, match="no __meta__ header"):
        load_checkpoint(path)


def test_custom_activation_cannot_be_saved_by_name(tmp_path):
    cube = fnn.Activation("cube", lambda z: z**3, lambda z, a: 3 * z**2)
    params = fnn.init_params(fnn.network([2, 3, 2], activation=cube), seed=0)
    state = fnn.fit(params, (np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])), epochs=1)
    with pytest.raises(fnn.FnnInputError, match="cannot be saved by name"):
        save_checkpoint(tmp_path / "c.npz", state)


def test_a_failed_write_leaves_the_old_checkpoint_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    old = trained(optim.sgd(0.1))
    save_checkpoint(path, old)

    def crash(*args):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, trained(optim.sgd(0.1), epochs=3))
    monkeypatch.undo()
    assert load_checkpoint(path).state.params == old.params
    assert os.listdir(tmp_path) == ["c.npz"]


def test_killing_the_writer_never_leaves_a_half_written_checkpoint(tmp_path):
    """A child process rewrites one checkpoint in a loop; it is killed at many moments, and each time the file on
    disk is a complete checkpoint of one of the states it was writing."""
    path = tmp_path / "c.npz"
    writer = textwrap.dedent(
        f"""
        import sys, numpy as np, fnn
        from fnn.checkpoint import save_checkpoint
        params = fnn.init_params(fnn.network([64, 512, 512, 10]), seed=0)
        state = fnn.fit(params, fnn.data.digits(), epochs=1, optimizer="adam", batch_size=256, seed=0)
        save_checkpoint({str(path)!r}, state)
        print("ready", flush=True)
        while True:
            save_checkpoint({str(path)!r}, state)
        """
    )
    for delay in (0.05, 0.11, 0.17, 0.23, 0.31):
        child = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        import time

        time.sleep(delay)
        child.kill()
        child.wait()
        loaded = load_checkpoint(path)
        assert loaded.state.epoch == 1
        assert zipfile.is_zipfile(path)


def test_atomic_write_bytes_replaces_whole_files(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_bytes(path, lambda h: h.write(b"first"))
    atomic_write_bytes(path, lambda h: h.write(b"second"))
    assert path.read_bytes() == b"second" and os.listdir(tmp_path) == ["f.txt"]
