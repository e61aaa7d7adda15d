"""fnn.save and fnn.load: a round trip for every kind of object, a run folder, and the refusals."""

import os
import subprocess
import sys
import zipfile

import attrs
import numpy as np
import pytest

import fnn
from fnn.data.transforms import fit_standardizer
from fnn.store import Model, load_model


@pytest.fixture(scope="module")
def trained():
    x, y = fnn.data.iris().as_tuple()
    params = fnn.init_params(fnn.network([4, 8, 3], activation="tanh"), seed=0)
    return fnn.fit(params, (x, y), epochs=3, optimizer="adam", lr=0.01, batch_size=16, seed=4), x


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "iris"
    done = subprocess.run(
        [sys.executable, "-m", "fnn", "train", "--data", "iris", "--epochs", "3", "--out", str(folder)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return folder


def test_params_round_trip(tmp_path, trained):
    params = trained[0].params
    fnn.save(tmp_path / "params.npz", params)
    loaded = fnn.load(tmp_path / "params.npz")
    assert isinstance(loaded, fnn.Params) and loaded == params and loaded.spec == params.spec


def test_float64_params_keep_their_dtype(tmp_path):
    params = fnn.init_params(fnn.network([3, 5, 1], loss="binary_cross_entropy", activation="elu:0.5"), seed=2, dtype="float64")
    fnn.save(tmp_path / "p.npz", params)
    loaded = fnn.load(tmp_path / "p.npz")
    assert loaded == params and loaded.dtype == np.float64 and loaded.spec.layers[0].activation.name == "elu:0.5"


def test_train_state_round_trip_resumes_identically(tmp_path, trained):
    state, x = trained
    y = fnn.data.iris().labels
    fnn.save(tmp_path / "state.npz", state)
    loaded = fnn.load(tmp_path / "state.npz")
    assert isinstance(loaded, fnn.TrainState)
    assert loaded.params == state.params and loaded.opt_state == state.opt_state and loaded.history == state.history
    assert (loaded.epoch, loaded.step, loaded.seed) == (state.epoch, state.step, state.seed)
    resumed = fnn.fit(loaded, (x, y), epochs=2, optimizer="adam", lr=0.01, batch_size=16)
    direct = fnn.fit(state, (x, y), epochs=2, optimizer="adam", lr=0.01, batch_size=16)
    assert resumed.params == direct.params


def test_model_round_trip_keeps_standardizer_names_and_config(tmp_path, trained):
    state, x = trained
    model = Model(state, {"data": "iris", "note": "test"}, fit_standardizer(x), ("setosa", "versicolor", "virginica"))
    fnn.save(tmp_path / "model.npz", model)
    loaded = fnn.load(tmp_path / "model.npz")
    assert isinstance(loaded, Model) and loaded.params == state.params
    assert loaded.config == model.config and loaded.class_names == model.class_names
    np.testing.assert_array_equal(loaded.standardizer.mean, model.standardizer.mean)
    np.testing.assert_array_equal(loaded.standardizer.scale, model.standardizer.scale)
    np.testing.assert_array_equal(loaded.prepare_features(x), model.prepare_features(x))
    # Saved as a run saves it: the run-folder reader sees the same model.
    assert load_model(tmp_path / "model.npz").params == state.params


def test_cli_run_folder_loads_with_params(run_folder):
    model = fnn.load(run_folder)
    assert isinstance(model, Model) and isinstance(model.params, fnn.Params)
    assert model.params.spec.sizes[0] == 4 and model.class_names == ("setosa", "versicolor", "virginica")
    x, y = fnn.data.iris().as_tuple()
    assert fnn.accuracy(model.params, model.prepare_features(x), y) > 0.6
    checkpoint = fnn.load(run_folder / "checkpoint.npz")  # the file alone too
    assert checkpoint.params == model.params and checkpoint.config == model.config


def test_a_loaded_run_saves_and_loads_again(tmp_path, run_folder):
    model = fnn.load(run_folder)
    fnn.save(tmp_path / "copy.npz", model)
    again = fnn.load(tmp_path / "copy.npz")
    assert again.params == model.params and again.config == model.config and again.class_names == model.class_names


def test_existing_files_are_not_overwritten_unless_asked(tmp_path, trained):
    path = tmp_path / "mine.npz"
    path.write_bytes(b"the user's own file")
    with pytest.raises(fnn.FnnInputError, match="mine.npz exists.*overwrite=True"):
        fnn.save(path, trained[0].params)
    assert path.read_bytes() == b"the user's own file"
    fnn.save(path, trained[0].params, overwrite=True)
    assert fnn.load(path) == trained[0].params
    assert [name for name in os.listdir(tmp_path) if name != "mine.npz"] == []  # no temporary file left behind


def test_refusals_name_what_is_wrong(tmp_path, trained):
    with pytest.raises(fnn.FnnInputError, match="'obj' argument of fnn.save.*Got dict"):
        fnn.save(tmp_path / "x.npz", {"w": 1})
    with pytest.raises(fnn.FnnInputError, match="is a folder"):
        fnn.save(tmp_path, trained[0].params)
    with pytest.raises(fnn.FnnInputError, match="no such file"):
        fnn.load(tmp_path / "missing.npz")
    with pytest.raises(fnn.FnnInputError, match="without checkpoint.npz"):
        fnn.load(tmp_path)
    own = fnn.Activation("cube", lambda z: z**3, lambda z, a: 3 * z**2)
    custom = fnn.init_params(fnn.network([2, 3, 1], activation=[own, "sigmoid"]), seed=0)
    with pytest.raises(fnn.FnnInputError, match="cannot be saved by name"):
        fnn.save(tmp_path / "custom.npz", custom)


def test_a_tampered_file_is_refused(tmp_path, trained):
    path = tmp_path / "p.npz"
    fnn.save(path, trained[0].params)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = next(n for n in members if n.startswith("params/0/w"))
    payload = bytearray(members[name])
    payload[-1] ^= 1
    members[name] = bytes(payload)
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    with pytest.raises(fnn.FnnInputError, match="SHA-256"):
        fnn.load(path)


def test_files_that_are_not_fnn_files_are_refused_by_name(tmp_path):
    np.save(tmp_path / "array.npy", np.ones(3))
    (tmp_path / "record.json").write_text('{"a": 1}')
    (tmp_path / "empty.npz").write_bytes(b"")
    for name in ("array.npy", "record.json", "empty.npz"):
        with pytest.raises(fnn.FnnInputError, match=rf"{name}: not a file written by fnn.save") as refused:
            fnn.load(tmp_path / name)
        assert "pickle" not in str(refused.value)


def test_a_truncated_file_is_refused_naming_it(tmp_path, trained):
    path = tmp_path / "p.npz"
    fnn.save(path, trained[0].params)
    whole = path.read_bytes()
    for size in (100, len(whole) // 2, len(whole) - 4):
        path.write_bytes(whole[:size])
        with pytest.raises(fnn.FnnInputError, match="p.npz"):
            fnn.load(path)


def test_paths_that_cannot_be_written_or_read_are_named(tmp_path, trained):
    with pytest.raises(fnn.FnnInputError, match=r"p.npz: its folder .*missing does not exist"):
        fnn.save(tmp_path / "missing" / "p.npz", trained[0].params)
    for function in (lambda: fnn.load(3), lambda: fnn.save(None, trained[0].params)):
        with pytest.raises(fnn.FnnInputError, match="'path' argument of fnn.(load|save)"):
            function()


def same_bytes(a, b):
    """Equal down to the bytes and dtypes of every array, through records, tuples and Params."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, fnn.Params):
        pairs = [(la.w, lb.w) for la, lb in zip(a.layers, b.layers)] + [(la.b, lb.b) for la, lb in zip(a.layers, b.layers)]
        return a.spec == b.spec and len(a.layers) == len(b.layers) and all(same_bytes(*pair) for pair in pairs)
    if attrs.has(type(a)):
        names = [field.name for field in attrs.fields(type(a))]
        return type(a) is type(b) and all(same_bytes(getattr(a, name), getattr(b, name)) for name in names)
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(same_bytes(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


OPTIMIZERS = {
    **{name: name for name in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")},
    "clip+adam": fnn.optim.chain(fnn.optim.clip_by_global_norm(1.0), fnn.optim.adam(lr=0.01)),
    "l2+momentum": fnn.optim.chain(fnn.optim.add_l2(1e-3), fnn.optim.momentum(lr=0.01)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizers_state_round_trips_byte_exactly(tmp_path, optimizer, dtype):
    x, y = fnn.data.iris().as_tuple()
    params = fnn.init_params(fnn.network([4, 6, 3], activation="leaky_relu:0.2"), seed=1, dtype=dtype)
    state = fnn.fit(params, (x.astype(dtype), y), epochs=2, optimizer=OPTIMIZERS[optimizer], batch_size=32, seed=5)
    fnn.save(tmp_path / "state.npz", state)
    fnn.save(tmp_path / "params.npz", state.params)
    assert same_bytes(fnn.load(tmp_path / "state.npz"), state)
    assert same_bytes(fnn.load(tmp_path / "params.npz"), state.params)


def test_checkpoint_format_benchmark_runs_and_cleans_up(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "bench_checkpoint_format.py")
    done = subprocess.run(
        [sys.executable, script, "--repeats", "1"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "read .safetensors" in done.stdout and "size .safetensors" in done.stdout
    assert os.listdir(tmp_path) == []
