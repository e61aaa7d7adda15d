"""Data: the :class:`Dataset` record, bundled and generated data sets, loaders and pure transforms."""

from fnn.data.bundled import attribution, digits, iris
from fnn.data.csv import LABEL_NAMES, label_column, load_csv, load_kaggle_mnist_csv
from fnn.data.dataset import Dataset
from fnn.data.idx import read_idx, write_idx
from fnn.data.lazy import ScaledRows
from fnn.data.mnist import find_mnist_folder, load_mnist
from fnn.data.pickled import load_mnist_pickle
from fnn.data.sources import DATA_KINDS, DataKind, load_train_test
from fnn.data.synthetic import blobs, circles, moons, noisy_sine, spirals
from fnn.data.transforms import (
    Standardizer,
    fit_standardizer,
    flatten_images,
    one_hot,
    scale_unit,
    standardize,
    stratified_split,
    stratified_split_indices,
)

__all__ = [
    "Dataset",
    "ScaledRows",
    "read_idx",
    "write_idx",
    "load_mnist",
    "find_mnist_folder",
    "load_csv",
    "label_column",
    "LABEL_NAMES",
    "load_kaggle_mnist_csv",
    "load_mnist_pickle",
    "load_train_test",
    "DATA_KINDS",
    "DataKind",
    "attribution",
    "iris",
    "digits",
    "moons",
    "circles",
    "spirals",
    "blobs",
    "noisy_sine",
    "Standardizer",
    "fit_standardizer",
    "standardize",
    "scale_unit",
    "one_hot",
    "flatten_images",
    "stratified_split",
    "stratified_split_indices",
]
