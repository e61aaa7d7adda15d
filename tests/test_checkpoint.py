import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from attrs import frozen
from checkpoint_files import read_members, rewrite

import fnn
from fnn import optim
from fnn.store import atomic_write, load_checkpoint, save_checkpoint

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


def test_tampered_arrays_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.adam()))
    rewrite(path, change_arrays=lambda arrays: arrays.__setitem__("params/0/w", arrays["params/0/w"] + 1), rehash=False)
    with pytest.raises(fnn.FnnInputError, match="c.npz: the header and arrays do not match the checkpoint's SHA-256"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h.__setitem__("epoch", h["epoch"] + 1),
        lambda h: h.__setitem__("config", {"optimizer": "sgd"}),
        lambda h: h["spec"]["layers"][0].__setitem__("activation", "relu"),
        lambda h: h["opt_state"]["fields"].__setitem__("count", {"value": 0}),
        lambda h: h["history"][0].__setitem__("loss", 0.0),
        lambda h: h.__setitem__("extras", []),
    ],
    ids=["epoch", "config", "spec", "optimiser", "history", "extras"],
)
def test_a_tampered_header_is_refused(tmp_path, change):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.adam()), config={"optimizer": "adam"}, extras={"mean": np.zeros(3)})
    rewrite(path, change_header=change, rehash=False)
    with pytest.raises(fnn.FnnInputError, match="the header and arrays do not match the checkpoint's SHA-256"):
        load_checkpoint(path)


def _stored(path):
    """The arrays and header of a checkpoint file as stored, read with numpy alone."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return arrays, json.loads(arrays.pop("__meta__").tobytes().decode())


def test_a_version_2_file_written_before_the_codec_still_loads_whole():
    # checkpoint_v2.npz was written by the checkpoint code before the codec existed: a 2-epoch run of a 3-4-2 tanh
    # network under chain(clip_by_global_norm(1.0), adam(0.01)), batch 4, seed 1.
    path = os.path.join(os.path.dirname(__file__), "checkpoint_v2.npz")
    loaded, (arrays, meta) = load_checkpoint(path), _stored(path)
    for i, layer in enumerate(loaded.state.params.layers):
        assert np.array_equal(layer.w, arrays[f"params/{i}/w"]) and np.array_equal(layer.b, arrays[f"params/{i}/b"])
    adam = loaded.state.opt_state.states[1]
    assert type(loaded.state.opt_state) is optim.ChainState and type(loaded.state.opt_state.states[0]) is optim.EmptyState
    assert type(adam) is optim.AdamState and adam.count == 4
    for moment in ("mu", "nu"):
        for i, layer in enumerate(getattr(adam, moment).layers):
            assert np.array_equal(layer.w, arrays[f"opt_state/states/1/{moment}/{i}/w"])
    assert loaded.state.history.to_dicts() == meta["history"] and loaded.state.params.spec.to_config() == meta["spec"]
    assert (loaded.state.epoch, loaded.state.step, loaded.state.seed) == (2, 4, 1)
    assert loaded.config == {"data": "tiny"} and loaded.extras["class_names"].tolist() == ["no", "yes"]
    model = fnn.load(path)
    assert model.class_names == ("no", "yes") and model.standardizer.mean.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("version", [1, 3, 0, "2", None])
def test_another_format_version_is_refused_naming_the_file_and_the_version_read(tmp_path, version):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.adam(0.01)))
    rewrite(path, change_header=lambda h: h.__setitem__("version", version))
    with pytest.raises(fnn.FnnInputError, match=rf"c.npz: checkpoint format 'fnn-checkpoint' version {version!r}; "
                       r"this fnn reads 'fnn-checkpoint' version 2 only\."):
        load_checkpoint(path)


def test_a_version_1_file_is_refused_before_its_hash_is_looked_for(tmp_path):
    """Version 1 files had no ``__sha256__`` member and bare class names; they are refused by version, clearly."""
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.adam(0.01)))
    arrays = read_members(path)
    header = json.loads(arrays.pop("__meta__").tobytes())
    del arrays["__sha256__"]
    header.update(version=1, arrays_sha256="0" * 64)
    np.savez(path, __meta__=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    with pytest.raises(fnn.FnnInputError, match=r"c.npz: checkpoint format 'fnn-checkpoint' version 1; this fnn reads"):
        load_checkpoint(path)


def test_wrong_shapes_and_versions_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.sgd(0.1)))
    rewrite(path, change_arrays=lambda arrays: arrays.__setitem__("params/0/w", np.zeros((4, 6), np.float32)))
    with pytest.raises(fnn.FnnInputError, match=r"params layer 0 has w float32\(4, 6\).*needs float w\(4, 5\)"):
        load_checkpoint(path)
    save_checkpoint(path, trained(optim.sgd(0.1)))
    rewrite(path, change_header=lambda h: h.__setitem__("version", 99))
    with pytest.raises(fnn.FnnInputError, match="version 99; this fnn reads 'fnn-checkpoint' version 2 only"):
        load_checkpoint(path)
    np.savez(path, x=np.zeros(3))
    with pytest.raises(fnn.FnnInputError, match="not an fnn checkpoint .no __meta__ header"):
        load_checkpoint(path)


@pytest.mark.parametrize("key", ["spec", "opt_state", "epoch", "step", "seed", "history", "config", "extras"])
def test_a_missing_header_key_is_named(tmp_path, key):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.sgd(0.1)))
    rewrite(path, change_header=lambda h: h.pop(key))
    with pytest.raises(fnn.FnnInputError, match=f"c.npz: the checkpoint header lacks \\['{key}'\\]"):
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

    def crash(*args, **kwargs):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(fnn.FnnInputError, match=rf"^Cannot write {path}: .*simulated crash before the rename"):
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
        from fnn.store import save_checkpoint
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
        child.stdout.close()
        loaded = load_checkpoint(path)
        assert loaded.state.epoch == 1
        assert zipfile.is_zipfile(path)


def test_atomic_write_replaces_whole_files(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, lambda h: h.write(b"first"))
    atomic_write(path, b"second")
    assert path.read_bytes() == b"second" and os.listdir(tmp_path) == ["f.txt"]


# A user's own optimiser: its own frozen state class, defined at module level as a user's module would.
@frozen
class Note:
    label: str
    scale: np.float64


@frozen(hash=False)
class SignMomentumState:
    count: int
    velocity: fnn.Params
    trace: np.ndarray  # one number per parameter, as a flat array
    extra: tuple
    note: Note


def sign_momentum(lr=0.01, beta=0.9):
    def init(params):
        zeros = fnn.map_arrays(np.zeros_like, params)
        total = sum(a.size for a in params.arrays())
        return SignMomentumState(0, zeros, np.zeros(total, params.dtype), (1.5, None, "x"), Note("start", np.float64(0.5)))

    def update(grads, state, params):
        velocity = fnn.map_arrays(lambda v, g: beta * v + g, state.velocity, grads)
        updates = fnn.map_arrays(lambda v: -lr * np.sign(v), velocity)
        trace = state.trace + fnn.flatten_params(grads) ** 2
        note = Note(f"step {state.count + 1}", np.float64(state.note.scale * 1.5))
        return updates, SignMomentumState(state.count + 1, velocity, trace, state.extra, note)

    return optim.Optimizer(init, update, "sign_momentum")


def test_a_users_own_optimiser_state_round_trips_and_resumes_bit_identically(tmp_path):
    optimizer = sign_momentum()
    state = trained(optimizer)
    path = tmp_path / "c.npz"
    save_checkpoint(path, state)
    loaded = load_checkpoint(path).state
    opt_state = loaded.opt_state
    assert type(opt_state) is SignMomentumState and type(opt_state.note) is Note
    assert opt_state.count == state.opt_state.count > 0 and opt_state.velocity == state.opt_state.velocity
    assert opt_state.trace.dtype == np.float32 and np.array_equal(opt_state.trace, state.opt_state.trace)
    assert opt_state.extra == (1.5, None, "x") and type(opt_state.note.scale) is np.float64
    assert opt_state.note == state.opt_state.note
    continued = fnn.fit(loaded, fnn.data.iris(), epochs=2, optimizer=optimizer, batch_size=16, validation=0.2)
    straight = trained(optimizer, epochs=4)
    assert continued.params == straight.params and continued.history == straight.history
    assert np.array_equal(continued.opt_state.trace, straight.opt_state.trace)


def test_a_state_class_from_a_module_not_imported_is_refused_with_a_way_out(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(sign_momentum()))
    rewrite(path, change_header=lambda h: h["opt_state"].__setitem__("record", "my_private_optimisers:SignState"))
    with pytest.raises(fnn.FnnInputError, match="which is not imported. Import my_private_optimisers") as error:
        load_checkpoint(path)
    assert "my_private_optimisers" not in sys.modules and "c.npz" in str(error.value)
    assert load_checkpoint(path, opt_state=False).state.opt_state is None  # the model alone still loads


@pytest.mark.parametrize(
    "name, expected",
    [
        ("os:system", "not a frozen attrs record class"),
        ("fnn.optim:Optimizer", "Optimizer needs the fields"),  # a frozen record, but not of this shape
        ("builtins:__import__", "not a class name of the form"),
        ("os.path:join.__globals__", "not a class name of the form"),
        ("noclass", "not a class name of the form"),
    ],
)
def test_only_frozen_attrs_state_classes_are_rebuilt(tmp_path, name, expected):
    path = tmp_path / "c.npz"
    save_checkpoint(path, trained(optim.sgd(0.1)))
    rewrite(path, change_header=lambda h: h["opt_state"].__setitem__("record", name))
    with pytest.raises(fnn.FnnInputError, match=expected):
        load_checkpoint(path)


def test_states_that_cannot_be_rebuilt_are_refused_before_writing(tmp_path):
    import attrs

    @frozen
    class Local:
        count: int

    @attrs.define
    class Mutable:
        count: int

    base = trained(optim.sgd(0.1))
    path = tmp_path / "c.npz"
    cases = [
        (Local(1), "cannot be found again by its name"),
        (Mutable(1), "must be a frozen attrs record"),
        ({"count": 1}, "holds a builtins.dict"),
        ([1, 2], "holds a builtins.list"),
        ((np.array([object()]),), "must be an array of numbers"),
    ]
    for value, message in cases:
        with pytest.raises(fnn.FnnInputError, match=message):
            save_checkpoint(path, attrs.evolve(base, opt_state=value))
    assert os.listdir(tmp_path) == []


def test_a_custom_activation_with_a_builtin_name_is_not_saved_as_the_builtin(tmp_path):
    fake = fnn.Activation("relu", np.tanh, lambda z, a: 1 - a * a)
    params = fnn.init_params(fnn.network([2, 3, 2], activation=fake), seed=0)
    state = fnn.TrainState(params, optim.sgd(0.1).init(params))
    with pytest.raises(fnn.FnnInputError, match="layer 0 activation is called 'relu' but is not fnn's built-in"):
        save_checkpoint(tmp_path / "c.npz", state)
    assert os.listdir(tmp_path) == []


def zip_with(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def npy_bytes(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_crafted_archives_are_refused_before_any_large_allocation(tmp_path):
    import io

    path = tmp_path / "c.npz"
    buffer = io.BytesIO()  # a header declaring 10^13 float64 values (80 TB) in front of 32 bytes of data
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**13,)})
    crafted = buffer.getvalue() + b"\0" * 32
    zip_with(path, {"__meta__.npy": npy_bytes(np.zeros(1, np.uint8)), "params/0/w.npy": crafted})
    with pytest.raises(fnn.FnnInputError, match=r"declares shape \(10000000000000,\) of float64"):
        load_checkpoint(path)
    zip_with(path, {"__meta__.npy": npy_bytes(np.zeros(10**6, np.uint8))}, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 10**5
    with pytest.raises(fnn.FnnInputError, match="is compressed; fnn writes checkpoints uncompressed"):
        load_checkpoint(path)
    zip_with(path, {"__meta__.npy": npy_bytes(np.array([{"a": 1}], dtype=object))})
    with pytest.raises(fnn.FnnInputError, match="has dtype object; checkpoints hold only numbers"):
        load_checkpoint(path)
    zip_with(path, {"__meta__.npy": b"not an array"})
    with pytest.raises(fnn.FnnInputError, match="is not a valid .npy array"):
        load_checkpoint(path)
    zip_with(path, {"readme.txt": b"hello"})
    with pytest.raises(fnn.FnnInputError, match="'readme.txt', which is not an .npy array"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p.mkdir(), "is a folder; expected a checkpoint file"),
        (lambda p: p.write_bytes(b""), "the file is empty; expected a checkpoint"),
        (lambda p: p.write_bytes(npy_bytes(np.zeros(3))), "a single-array .npy file, not a checkpoint"),
        (lambda p: p.write_bytes(b"\x00garbage" * 50), "not a readable fnn checkpoint .expected an .npz zip archive"),
        (lambda p: p.write_text("layers = 3\n"), "not a readable fnn checkpoint"),
        (lambda p: os.mkfifo(p), "is not a regular file"),
        (lambda p: None, "no such checkpoint file"),
    ],
    ids=["folder", "empty", "npy", "garbage", "text", "fifo", "missing"],
)
def test_files_that_are_not_checkpoints_are_named_and_refused(tmp_path, make, expected):
    path = tmp_path / "c.npz"
    make(path)
    with pytest.raises(fnn.FnnInputError, match=f"c.npz: {expected}"):
        load_checkpoint(path)


def test_a_symbolic_link_at_the_checkpoint_path_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "run").mkdir()
    link = tmp_path / "run" / "model.npz"
    link.symlink_to(victim)
    save_checkpoint(link, trained(optim.sgd(0.1)))
    assert victim.read_text() == "precious" and not link.is_symlink()
    assert load_checkpoint(link).state.epoch == 2


def test_overwrite_false_refuses_an_existing_checkpoint(tmp_path):
    path = tmp_path / "c.npz"
    first = trained(optim.sgd(0.1))
    save_checkpoint(path, first, overwrite=False)
    with pytest.raises(fnn.FnnInputError, match="Refusing to overwrite .*c.npz"):
        save_checkpoint(path, trained(optim.sgd(0.1), epochs=3), overwrite=False)
    assert load_checkpoint(path).state.params == first.params and os.listdir(tmp_path) == ["c.npz"]


def test_an_archive_listing_too_many_members_is_refused_before_parsing_them(tmp_path, monkeypatch):
    from fnn.store import archive

    monkeypatch.setattr(archive, "_MAX_MEMBERS", 3)
    path = tmp_path / "c.npz"
    zip_with(path, {f"a{i}.npy": npy_bytes(np.zeros(1)) for i in range(4)})
    with pytest.raises(fnn.FnnInputError, match="c.npz: the archive lists 4 members; an fnn checkpoint has at most 3"):
        load_checkpoint(path)


def test_damaged_checkpoints_load_unchanged_or_are_refused_never_anything_else(tmp_path):
    """A derandomised fuzz: flipped bytes, cut files and spliced garbage either give fnn's error or, where the
    damage hit bytes nothing reads (a zip timestamp), the very same checkpoint."""
    original_path = tmp_path / "good.npz"
    state = trained(optim.adam(), epochs=1)
    save_checkpoint(original_path, state, config={"a": [1, 2]}, extras={"names": np.array(["x", "y"])})
    original = original_path.read_bytes()
    rng = np.random.default_rng(12345)
    path = tmp_path / "c.npz"
    outcomes = {"refused": 0, "same": 0}
    for trial in range(150):
        data = bytearray(original)
        kind = trial % 3
        if kind == 0:
            for position in rng.integers(0, len(data), rng.integers(1, 4)):
                data[position] ^= int(rng.integers(1, 256))
        elif kind == 1:
            data = data[: int(rng.integers(0, len(data)))]
        else:
            start = int(rng.integers(0, len(data)))
            data[start : start + 16] = rng.bytes(16)
        path.write_bytes(bytes(data))
        try:
            loaded = load_checkpoint(path)
        except fnn.FnnInputError as error:
            assert "c.npz" in str(error)
            outcomes["refused"] += 1
            continue
        assert loaded.state.params == state.params and loaded.state.history == state.history
        assert loaded.config == {"a": [1, 2]} and loaded.extras["names"].tolist() == ["x", "y"]
        outcomes["same"] += 1
    assert outcomes["refused"] > 120
