"""MNIST and Fashion-MNIST from their four standard IDX files, wherever they are on this machine.

A folder is searched in this order: the ``folder`` argument, the ``FNN_DATA`` environment variable (the folder
itself or its ``mnist``/``fashion-mnist`` subfolder), the per-user cache (``$XDG_CACHE_HOME/fnn`` or
``~/.cache/fnn``, same subfolders), and, for Fashion-MNIST only, ``/usr/share/datasets/fashion-mnist`` where
Debian's ``dataset-fashion-mnist`` package puts it. In a folder, raw files are preferred (memory-mapped) over
``.gz`` ones. fnn never downloads anything: when nothing is found, the error lists every place it looked and says
how to get the files.

The two sets share file names, format and sizes, so a folder's files are told apart by content
(:func:`identify_mnist_folder`): the first labels of both label files are a fingerprint of each set (reading 48
bytes), and for full-size files whose labels match neither (a reshuffled copy), the share of blank pixels in the
first 1,000 training images decides (about 81% in MNIST's digits, 50% in Fashion-MNIST's clothes). A search for
MNIST skips folders that hold Fashion-MNIST and the reverse; a folder given explicitly that holds the other set is
an error, never a silent substitute.

Images stay uint8 and are scaled to [0, 1] float rows of 784 one mini-batch at a time (:class:`ScaledRows`).
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np
from numpy.typing import DTypeLike

from fnn.data.dataset import Dataset
from fnn.data.idx import read_idx, read_idx_scaled
from fnn.data.lazy import ScaledRows
from fnn.errors import FnnInputError

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"

# The first 16 labels of each set's training and test label files, in file order.
_FINGERPRINTS = {
    "mnist": ((5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5, 3, 6, 1, 7), (7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5)),
    "fashion-mnist": ((9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9), (9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1)),
}
_BLANK_SHARE_THRESHOLD = 0.65  # MNIST ~0.81 of pixels are 0, Fashion-MNIST ~0.50
_NAMES = {False: "MNIST", True: "Fashion-MNIST"}


def _file_in(folder: str, stem: str) -> str | None:
    """The raw or gzip file for ``stem`` in ``folder`` (also the ``train-images.idx3-ubyte`` spelling), or None."""
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (name, name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    return None


def _candidates(folder: str | os.PathLike[str] | None, fashion: bool | None) -> list[str]:
    subfolders = ("fashion-mnist",) if fashion else ("mnist",)
    places = []
    if folder is not None:
        places.append(os.fspath(folder))
    for root in filter(None, [os.environ.get("FNN_DATA"), _cache_root()]):
        places.append(root)
        places.extend(os.path.join(root, sub) for sub in subfolders)
    if fashion is not False:
        places.append(DEBIAN_FASHION_MNIST)
    return places


def _head(path: str | None, count: int) -> bytes:
    if path is None:
        return b""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            return handle.read(count)
    except (OSError, EOFError, zlib.error):
        return b""


def _first_labels(folder: str, stem: str) -> tuple[int, ...] | None:
    head = _head(_file_in(folder, stem), 8 + 16)
    return tuple(head[8:]) if len(head) == 24 and head[:4] == b"\x00\x00\x08\x01" else None


def identify_mnist_folder(folder: str | os.PathLike[str]) -> str | None:
    """``"mnist"``, ``"fashion-mnist"``, or None when a folder's four files are neither (or cannot be told).

    By content, cheaply: the first labels of the two label files, then for full-size files the share of blank
    pixels in the first 1,000 training images. Debian's Fashion-MNIST folder is Fashion-MNIST by location.

    >>> import tempfile
    >>> print(identify_mnist_folder(tempfile.mkdtemp()))  # no files: neither
    None
    """
    folder = os.fspath(folder)
    if os.path.realpath(folder) == os.path.realpath(DEBIAN_FASHION_MNIST):
        return "fashion-mnist"
    labels = (_first_labels(folder, MNIST_FILES["train_labels"]), _first_labels(folder, MNIST_FILES["test_labels"]))
    for kind, fingerprint in _FINGERPRINTS.items():
        if labels == fingerprint:
            return kind
    head = _head(_file_in(folder, MNIST_FILES["train_images"]), 16 + 784 * 1000)
    if len(head) == 16 + 784 * 1000 and head[:16] == bytes.fromhex("00000803" "0000ea60" "0000001c" "0000001c"):
        blank = np.count_nonzero(np.frombuffer(head, np.uint8, offset=16) == 0) / (784 * 1000)
        return "mnist" if blank > _BLANK_SHARE_THRESHOLD else "fashion-mnist"
    return None


def _how_to_get(fashion: bool | None) -> str:
    files = ", ".join(MNIST_FILES.values())
    if fashion:
        return (
            f"Put Fashion-MNIST's four IDX files ({files}; raw or .gz, from github.com/zalandoresearch/fashion-mnist) "
            f"in $FNN_DATA/fashion-mnist or ~/.cache/fnn/fashion-mnist, or on Debian: apt-get install dataset-fashion-mnist."
        )
    return (
        f"Put MNIST's four IDX files ({files}; raw or .gz, from the MNIST database or a mirror) in $FNN_DATA/mnist "
        f"or ~/.cache/fnn/mnist, or pass their folder as --data mnist:DIR; for the classic mnist.pkl.gz use "
        f"fnn.data.load_mnist_pickle. fnn never downloads, and never substitutes Fashion-MNIST (--data fashion-mnist)."
    )


def _cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fnn")


def find_mnist_folder(folder: str | os.PathLike[str] | None = None, fashion: bool | None = False) -> str:
    """The first place that has all four files of the set asked for: ``fashion=False`` MNIST only, ``True``
    Fashion-MNIST only, ``None`` either. A folder given explicitly must have them and must not hold the other set.

    >>> fnn.data.find_mnist_folder("/no/such/folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fnn.errors.FnnInputError: No MNIST files found. Looked in: /no/such/folder. Put MNIST's four IDX files (...
    """
    places = _candidates(folder, fashion)
    if folder is not None:
        places = places[:1]
    skipped = []
    for place in places:
        if all(_file_in(place, stem) for stem in MNIST_FILES.values()):
            kind = identify_mnist_folder(place) if fashion is not None else None
            if kind is not None and (kind == "fashion-mnist") != fashion:
                if folder is not None:
                    raise FnnInputError(
                        f"{place} holds {_NAMES[not fashion]}, not {_NAMES[bool(fashion)]} (told by its labels and "
                        f"pixels); use --data {kind}:{place} for it. {_how_to_get(fashion)}"
                    )
                skipped.append(f"{place} (holds {_NAMES[not fashion]})")
                continue
            return place
    listing = "; ".join(places)
    note = f" Skipped: {'; '.join(skipped)}." if skipped else ""
    what = "MNIST or Fashion-MNIST" if fashion is None else _NAMES[fashion]
    raise FnnInputError(f"No {what} files found. Looked in: {listing}.{note} {_how_to_get(bool(fashion))}")


def _read_pair(
    folder: str, images_stem: str, labels_stem: str, name: str, class_names: tuple[str, ...], dtype: DTypeLike, lazy: bool
) -> Dataset:
    images_path, labels_path = _file_in(folder, images_stem), _file_in(folder, labels_stem)
    assert images_path is not None and labels_path is not None  # find_mnist_folder saw all four files
    images = read_idx(images_path) if lazy else read_idx_scaled(images_path, 255, dtype)
    labels = read_idx(labels_path)
    if (lazy and images.ndim != 3) or labels.ndim != 1:
        raise FnnInputError(f"{images_path}: expected 3-D images and 1-D labels; got {images.shape} and {labels.shape}.")
    if len(images) != len(labels):
        raise FnnInputError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels.")
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) and labels.max() >= len(class_names):
        raise FnnInputError(f"{labels_path}: labels must be in 0..{len(class_names) - 1}; found {labels.max()}.")
    return Dataset(ScaledRows(images, 255, dtype) if lazy else images, labels, class_names, name)


def load_mnist(
    folder: str | os.PathLike[str] | None = None, dtype: DTypeLike = np.float32, fashion: bool | None = None,
    lazy: bool = True,
) -> tuple[Dataset, Dataset]:
    """``(train, test)`` Datasets of 60,000 and 10,000 images as scaled rows of 784.

    ``lazy=True`` keeps the images as uint8 (memory-mapped for raw files) and scales each mini-batch when it is
    gathered; ``lazy=False`` converts them once into in-memory float rows, streaming from the file so the integers
    are never all held beside the floats.

    ``fashion=False`` loads MNIST and never Fashion-MNIST, ``True`` the reverse; ``None`` accepts either and names
    it by its content (:func:`identify_mnist_folder`; files that are neither keep the digit class names).

    >>> import os, tempfile
    >>> folder, images, labels = tempfile.mkdtemp(), np.zeros((2, 28, 28), np.uint8), np.array([3, 1], np.uint8)
    >>> for stem in ("train", "t10k"):
    ...     fnn.data.write_idx(os.path.join(folder, f"{stem}-images-idx3-ubyte"), images)
    ...     fnn.data.write_idx(os.path.join(folder, f"{stem}-labels-idx1-ubyte"), labels)
    >>> train, test = fnn.data.load_mnist(folder)
    >>> train.features, train.labels.tolist()
    (ScaledRows(uint8[2, 28, 28] / 255 -> float32[2,784]), [3, 1])
    """
    place = find_mnist_folder(folder, fashion=fashion)
    is_fashion = fashion if fashion is not None else identify_mnist_folder(place) == "fashion-mnist"
    classes = FASHION_CLASSES if is_fashion else tuple(str(i) for i in range(10))
    name = "fashion-mnist" if is_fashion else "mnist"
    train = _read_pair(place, MNIST_FILES["train_images"], MNIST_FILES["train_labels"], f"{name}[train]", classes, dtype, lazy)
    test = _read_pair(place, MNIST_FILES["test_images"], MNIST_FILES["test_labels"], f"{name}[test]", classes, dtype, lazy)
    return train, test
