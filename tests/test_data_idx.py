import gzip
import os

import numpy as np
import pytest

import fnn
from fnn.data import load_mnist, read_idx, write_idx


@pytest.fixture
def mnist_folder(tmp_path):
    """A small MNIST-format folder the test writes itself: 50 train and 20 test images of 28x28."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 50, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 20, dtype=np.uint8),
    }
    return tmp_path, arrays


def write_folder(folder, arrays, gz):
    for name, array in arrays.items():
        write_idx(folder / (name + (".gz" if gz else "")), array)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_exact(tmp_path, dtype, suffix):
    array = (np.arange(60) - 30).astype(dtype).reshape(3, 4, 5)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, array)
    assert not back.flags.writeable


def test_raw_files_are_memory_mapped(tmp_path):
    write_idx(tmp_path / "x", np.zeros((4, 2, 2), np.uint8))
    assert isinstance(read_idx(tmp_path / "x"), np.memmap)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_round_trips_scaled_and_flattened(mnist_folder, gz):
    folder, arrays = mnist_folder
    write_folder(folder, arrays, gz)
    train, test = load_mnist(folder)
    assert train.features.shape == (50, 784) and test.features.shape == (20, 784)
    np.testing.assert_array_equal(np.asarray(train.features), arrays["train-images-idx3-ubyte"].reshape(50, 784).astype(np.float32) / np.float32(255))
    assert np.array_equal(test.labels, arrays["t10k-labels-idx1-ubyte"])
    assert train.class_names == tuple("0123456789")


def test_load_mnist_uses_environment_variable_and_dotted_names(mnist_folder, monkeypatch):
    folder, arrays = mnist_folder
    sub = folder / "mnist"
    sub.mkdir()
    for name, array in arrays.items():
        write_idx(sub / name.replace("-idx", ".idx"), array)
    monkeypatch.setenv("FNN_DATA", str(folder))
    train, _ = load_mnist()
    assert len(train) == 50


def test_missing_files_list_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("FNN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fnn.data.mnist, "DEBIAN_FASHION_MNIST", str(tmp_path / "debian"))
    with pytest.raises(fnn.FnnInputError) as caught:
        load_mnist(fashion=True)
    message = str(caught.value)
    for place in (str(tmp_path / "data"), str(tmp_path / "cache" / "fnn"), str(tmp_path / "debian")):
        assert place in message
    assert "apt-get install dataset-fashion-mnist" in message
    with pytest.raises(fnn.FnnInputError, match=str(tmp_path / "nowhere")):
        load_mnist(tmp_path / "nowhere")


def test_memory_mapped_training_equals_in_memory_training(mnist_folder):
    folder, arrays = mnist_folder
    write_folder(folder, arrays, gz=False)
    train, _ = load_mnist(folder)
    assert isinstance(train.features.raw, np.memmap)
    in_memory = (arrays["train-images-idx3-ubyte"].reshape(50, 784).astype(np.float32) / np.float32(255), train.labels)
    params = fnn.init_params(fnn.network([784, 16, 10]), seed=0)
    lazily = fnn.fit(params, train, epochs=2, lr=0.1, batch_size=8, seed=0, validation=0.2)
    eagerly = fnn.fit(params, in_memory, epochs=2, lr=0.1, batch_size=8, seed=0, validation=0.2)
    assert lazily.params == eagerly.params and lazily.history == eagerly.history


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(fnn.FnnInputError, match=f"{path}.*truncated"):
        read_idx(path)


def test_wrong_magic_number(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x00\x00\x07\x03" + bytes(100))
    with pytest.raises(fnn.FnnInputError, match=r"bad: not an IDX file: expected a magic number of two zero bytes, .*; found 0x00000703"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_header_that_disagrees_with_file_size(tmp_path, gz):
    path = tmp_path / ("short" + (".gz" if gz else ""))
    content = bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(28 * 28 * 9)
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(fnn.FnnInputError, match=r"declares 10x28x28 values of uint8, so expected 7840 bytes of data, but the (decompressed )?file holds 7056 bytes"):
        read_idx(path)


def test_images_and_labels_of_different_counts(mnist_folder):
    folder, arrays = mnist_folder
    arrays["train-labels-idx1-ubyte"] = arrays["train-labels-idx1-ubyte"][:49]
    write_folder(folder, arrays, gz=False)
    with pytest.raises(fnn.FnnInputError, match="has 50 images but .* has 49 labels"):
        load_mnist(folder)


def test_labels_outside_the_class_range(mnist_folder):
    folder, arrays = mnist_folder
    arrays["t10k-labels-idx1-ubyte"][3] = 12
    write_folder(folder, arrays, gz=True)
    with pytest.raises(fnn.FnnInputError, match=r"labels must be in 0..9; found 12"):
        load_mnist(folder)


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="needs Debian's dataset-fashion-mnist (.ci/run installs it)")
def test_fashion_mnist_real_mlp_reaches_85_percent():
    train, test = load_mnist(FASHION)
    assert (len(train), len(test)) == (60000, 10000) and train.class_names[0] == "T-shirt/top"
    spec = fnn.network([784, 256, 128, 64, 10], activation="relu", init="he_uniform")
    state = fnn.fit(fnn.init_params(spec, seed=0), train, epochs=4, optimizer=fnn.optim.adam(1e-3), batch_size=128, seed=0)
    assert fnn.accuracy(state.params, *test.as_tuple()) >= 0.85


@pytest.mark.parametrize("gz", [False, True])
def test_eager_loading_streams_to_the_same_floats(mnist_folder, gz):
    folder, arrays = mnist_folder
    write_folder(folder, arrays, gz)
    lazy, _ = load_mnist(folder)
    eager, _ = load_mnist(folder, lazy=False)
    assert isinstance(eager.features, np.ndarray) and not eager.features.flags.writeable
    assert np.array_equal(eager.features, np.asarray(lazy.features))
    small = fnn.data.idx.read_idx_scaled(folder / ("train-images-idx3-ubyte" + (".gz" if gz else "")), chunk_bytes=1000)
    assert np.array_equal(small, eager.features)


def test_eager_loading_refuses_a_truncated_file(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(fnn.FnnInputError, match="truncated"):
        fnn.data.idx.read_idx_scaled(path)


@pytest.mark.parametrize("gz", [False, True])
def test_non_finite_float_data_is_refused_with_the_file_and_index(tmp_path, gz):
    path = tmp_path / ("f-idx2" + (".gz" if gz else ""))
    data = np.zeros((3, 4), np.float32)
    data[2, 1] = np.inf
    write_idx(path, data)
    with pytest.raises(fnn.FnnInputError, match=r"f-idx2.*must be finite; found inf at index \(2, 1\)"):
        read_idx(path)


def test_the_content_not_the_name_says_whether_a_file_is_compressed(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "raw.gz", array)  # compressed, as its name says
    (tmp_path / "plain.gz").write_bytes(gzip.decompress((tmp_path / "raw.gz").read_bytes()))
    (tmp_path / "packed-idx").write_bytes((tmp_path / "raw.gz").read_bytes())
    for name in ("raw.gz", "plain.gz", "packed-idx"):
        assert np.array_equal(read_idx(tmp_path / name), array)
        assert np.array_equal(fnn.data.idx.read_idx_scaled(tmp_path / name), array.reshape(3, 4) / np.float32(255))


def test_write_idx_leaves_no_temporary_files(tmp_path):
    write_idx(tmp_path / "a-idx1-ubyte.gz", np.arange(5, dtype=np.uint8))
    assert os.listdir(tmp_path) == ["a-idx1-ubyte.gz"]
    with pytest.raises(fnn.FnnInputError, match="IDX has no type for dtype bool"):
        write_idx(tmp_path / "b", np.zeros(3, bool))
    assert os.listdir(tmp_path) == ["a-idx1-ubyte.gz"]


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "checkpoint.npz", "labels.gz"])
def test_write_idx_refuses_a_file_already_there_unless_asked(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"the user's")
    with pytest.raises(fnn.FnnInputError, match=r"already exists; pass overwrite=True"):
        fnn.data.write_idx(path, np.zeros((2, 2), np.uint8))
    assert path.read_bytes() == b"the user's" and sorted(p.name for p in tmp_path.iterdir()) == [name]
    fnn.data.write_idx(path, np.ones((2, 2), np.uint8), overwrite=True)
    assert fnn.data.read_idx(path).tolist() == [[1, 1], [1, 1]]
