"""MNIST and Fashion-MNIST from their four standard IDX files, wherever they are on this machine.

A folder is searched in this order: the ``folder`` argument, the ``FNN_DATA`` environment variable (the folder
itself or its ``mnist``/``fashion-mnist`` subfolder), the per-user cache (``$XDG_CACHE_HOME/fnn`` or
``~/.cache/fnn``, same subfolders), and, for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist`` where Debian's
``dataset-fashion-mnist`` package puts it. In a folder, raw files are preferred (memory-mapped) over ``.gz`` ones.
fnn never downloads anything: when nothing is found, the error lists every place it looked.

Images stay uint8 and are scaled to [0, 1] float rows of 784 one mini-batch at a time (:class:`ScaledRows`).
"""

import os

import numpy as np

from ..errors import FnnInputError
from .dataset import Dataset
from .idx import read_idx, read_idx_scaled
from .lazy import ScaledRows

__all__ = ["load_mnist", "find_mnist_folder", "MNIST_FILES", "FASHION_CLASSES", "DEBIAN_FASHION_MNIST"]

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def _file_in(folder, stem):
    """The raw or gzip file for ``stem`` in ``folder`` (also the ``train-images.idx3-ubyte`` spelling), or None."""
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (name, name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    return None


def _candidates(folder, fashion):
    subfolders = ("fashion-mnist",) if fashion else ("mnist",)
    places = []
    if folder is not None:
        places.append(os.fspath(folder))
    for root in filter(None, [os.environ.get("FNN_DATA"), _cache_root()]):
        places.append(root)
        places.extend(os.path.join(root, sub) for sub in subfolders)
    if fashion or folder is None:
        places.append(DEBIAN_FASHION_MNIST)
    return places


def _cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fnn")


def find_mnist_folder(folder=None, fashion=False):
    """The first place that has all four files; a folder given explicitly must have them."""
    places = _candidates(folder, fashion)
    if folder is not None:
        places = places[:1]
    for place in places:
        if all(_file_in(place, stem) for stem in MNIST_FILES.values()):
            return place
    listing = "\n  ".join(places)
    raise FnnInputError(
        f"No {'Fashion-MNIST' if fashion else 'MNIST'} files found. Looked in:\n  {listing}\n"
        f"Each place needs {', '.join(MNIST_FILES.values())} (raw or .gz). Put them in one of these folders or "
        f"pass the folder; on Debian, 'apt-get install dataset-fashion-mnist' installs Fashion-MNIST."
    )


def _read_pair(folder, images_stem, labels_stem, name, class_names, dtype, lazy):
    images_path, labels_path = _file_in(folder, images_stem), _file_in(folder, labels_stem)
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


def load_mnist(folder=None, dtype=np.float32, fashion=None, lazy=True):
    """``(train, test)`` Datasets of 60,000 and 10,000 images as scaled rows of 784.

    ``lazy=True`` keeps the images as uint8 (memory-mapped for raw files) and scales each mini-batch when it is
    gathered; ``lazy=False`` converts them once into in-memory float rows, streaming from the file so the integers
    are never all held beside the floats.

    ``fashion=None`` accepts either data set (class names are taken from where the files were found: the Debian
    Fashion-MNIST folder or a ``fashion`` folder name means Fashion-MNIST's names, otherwise digits).
    """
    place = find_mnist_folder(folder, fashion=bool(fashion))
    is_fashion = fashion if fashion is not None else "fashion" in os.path.abspath(place).lower()
    classes = FASHION_CLASSES if is_fashion else tuple(str(i) for i in range(10))
    name = "fashion-mnist" if is_fashion else "mnist"
    train = _read_pair(place, MNIST_FILES["train_images"], MNIST_FILES["train_labels"], f"{name}[train]", classes, dtype, lazy)
    test = _read_pair(place, MNIST_FILES["test_images"], MNIST_FILES["test_labels"], f"{name}[test]", classes, dtype, lazy)
    return train, test
