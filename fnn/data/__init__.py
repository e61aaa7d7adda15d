"""Data: the :class:`Dataset` record, bundled and generated data sets, loaders and pure transforms."""

from .bundled import BUNDLED, attribution, digits, iris
from .dataset import Dataset
from .synthetic import blobs, circles, moons, noisy_sine, spirals
from .transforms import (
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
    "BUNDLED",
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
