"""The small real data sets that ship inside fnn (see ``files/ATTRIBUTION.md`` for sources and licences).

>>> iris()
Dataset('iris', features=float32[150,4], labels=int64[150], classes=('setosa', 'versicolor', 'virginica'))
>>> digits()
Dataset('digits', features=float32[1797,64], labels=int64[1797], classes=('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'))
"""

from __future__ import annotations

import gzip
import io
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import DTypeLike

from fnn.data.dataset import Dataset

if TYPE_CHECKING:
    from importlib.abc import Traversable  # importlib.resources.abc from Python 3.11 on


def _file(name: str) -> Traversable:
    return resources.files("fnn.data") / "files" / name


def iris(dtype: DTypeLike = np.float32) -> Dataset:
    """Fisher's Iris: 4 measurements in cm (unscaled) of 150 flowers, 3 species.

    >>> d = fnn.data.iris()
    >>> d.features[0].tolist(), d.class_names[d.labels[0]]
    ([5.099999904632568, 3.5, 1.399999976158142, 0.20000000298023224], 'setosa')
    """
    lines = _file("iris.csv").read_text().splitlines()
    header = lines[0].split(",")
    table = np.loadtxt(lines[1:], delimiter=",")
    return Dataset(table[:, :-1].astype(dtype), table[:, -1].astype(np.int64), tuple(header[2:]), "iris")


def digits(dtype: DTypeLike = np.float32, scale: bool = True) -> Dataset:
    """The 8x8 handwritten digits (1797 images); pixel counts 0..16 scaled to [0, 1] unless ``scale=False``.

    >>> fnn.data.digits(scale=False).features.max(), fnn.data.digits().features.max()
    (np.float32(16.0), np.float32(1.0))
    """
    with gzip.open(io.BytesIO(_file("digits.csv.gz").read_bytes()), "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    float_type = np.dtype(dtype)
    pixels = table[:, :-1].astype(float_type)
    if scale:
        pixels /= float_type.type(16)
    return Dataset(pixels, table[:, -1], tuple(str(i) for i in range(10)), "digits")




def attribution() -> str:
    """The sources and licences of the bundled data, as Markdown.

    >>> fnn.data.attribution().splitlines()[0]
    '# Bundled data sets'
    """
    return _file("ATTRIBUTION.md").read_text()
