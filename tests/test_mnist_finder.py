"""The MNIST finder tells MNIST from Fashion-MNIST by content and never hands one out for the other."""

import os
import struct

import numpy as np
import pytest

import fnn
from fnn.data.idx import write_idx
from fnn.data.mnist import _FINGERPRINTS, find_mnist_folder, identify_mnist_folder, load_mnist


def make_set(folder, kind=None, n=40, blank_share=0.8, seed=0):
    """Four small IDX files: labels starting with ``kind``'s real first labels (or random ones), images with
    about ``blank_share`` zero pixels."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for part, index in (("train", 0), ("t10k", 1)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        if kind is not None:
            labels[:16] = _FINGERPRINTS[kind][index]
        images = (rng.random((n, 28, 28)) > blank_share) * rng.integers(1, 256, (n, 28, 28))
        write_idx(os.path.join(folder, f"{part}-labels-idx1-ubyte.gz"), labels)
        write_idx(os.path.join(folder, f"{part}-images-idx3-ubyte.gz"), images.astype(np.uint8))
    return folder


@pytest.fixture
def no_default_places(tmp_path, monkeypatch):
    monkeypatch.setenv("FNN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("fnn.data.mnist.DEBIAN_FASHION_MNIST", str(tmp_path / "debian-fashion"))
    return tmp_path


def test_sets_are_identified_by_their_first_labels(tmp_path):
    assert identify_mnist_folder(make_set(tmp_path / "m", "mnist")) == "mnist"
    assert identify_mnist_folder(make_set(tmp_path / "f", "fashion-mnist")) == "fashion-mnist"
    assert identify_mnist_folder(make_set(tmp_path / "other")) is None  # neither: small, unknown labels
    assert identify_mnist_folder(tmp_path / "empty") is None


def test_full_size_files_with_unknown_labels_are_told_apart_by_blank_pixels(tmp_path):
    for name, blank_share, expected in (("digits-like", 0.81, "mnist"), ("clothes-like", 0.5, "fashion-mnist")):
        folder = make_set(tmp_path / name, blank_share=blank_share)
        # only the header and the first 1,000 images are read: a header claiming the full 60,000 is enough
        images = (np.random.default_rng(1).random((1000, 784)) > blank_share).astype(np.uint8) * 200
        with open(folder / "train-images-idx3-ubyte", "wb") as handle:
            handle.write(struct.pack(">HBB3I", 0, 8, 3, 60000, 28, 28) + images.tobytes())
        os.remove(folder / "train-images-idx3-ubyte.gz")
        assert identify_mnist_folder(folder) == expected


def test_mnist_search_skips_fashion_and_finds_mnist(no_default_places):
    data = no_default_places / "data"
    make_set(data, "fashion-mnist")  # $FNN_DATA itself holds Fashion-MNIST ...
    with pytest.raises(fnn.FnnInputError, match=r"No MNIST files found.*Skipped: .*data \(holds Fashion-MNIST\).*\$FNN_DATA/mnist"):
        find_mnist_folder(None, fashion=False)
    make_set(data / "mnist", "mnist")  # ... and MNIST is in its mnist subfolder
    assert find_mnist_folder(None, fashion=False) == str(data / "mnist")
    assert find_mnist_folder(None, fashion=True) == str(data)
    train, test = load_mnist(fashion=False)
    assert train.name == "mnist[train]" and train.class_names == tuple("0123456789") and len(test) == 40
    train, _ = load_mnist(fashion=True)
    assert train.name == "fashion-mnist[train]" and train.class_names[0] == "T-shirt/top"


def test_a_folder_given_for_mnist_that_holds_fashion_is_an_error(no_default_places):
    folder = make_set(no_default_places / "downloads", "fashion-mnist")
    with pytest.raises(fnn.FnnInputError, match=r"holds Fashion-MNIST, not MNIST.*--data fashion-mnist:"):
        load_mnist(folder, fashion=False)
    with pytest.raises(fnn.FnnInputError, match=r"holds MNIST, not Fashion-MNIST"):
        load_mnist(make_set(no_default_places / "digits", "mnist"), fashion=True)
    train, _ = load_mnist(folder)  # either set: named by what it holds
    assert train.name == "fashion-mnist[train]"


def test_missing_mnist_says_where_to_put_the_files(no_default_places):
    with pytest.raises(fnn.FnnInputError) as error:
        find_mnist_folder(None, fashion=False)
    message = str(error.value)
    assert "train-images-idx3-ubyte" in message and "$FNN_DATA/mnist" in message and "mnist.pkl.gz" in message
    assert "\n" not in message and str(no_default_places / "data") in message


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"), reason="needs Debian's dataset-fashion-mnist")
def test_debians_fashion_mnist_is_fashion_and_never_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("FNN_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert identify_mnist_folder("/usr/share/datasets/fashion-mnist") == "fashion-mnist"
    assert find_mnist_folder(None, fashion=True) == "/usr/share/datasets/fashion-mnist"
    with pytest.raises(fnn.FnnInputError, match="No MNIST files found"):
        find_mnist_folder(None, fashion=False)
    with pytest.raises(fnn.FnnInputError, match="holds Fashion-MNIST"):
        find_mnist_folder("/usr/share/datasets/fashion-mnist", fashion=False)
