"""The small real data sets that ship inside fnn (see ``files/ATTRIBUTION.md`` for sources and licences).

>>> iris()
Dataset('iris', features=float32[150,4], labels=int64[150], classes=('setosa', 'versicolor', 'virginica'))
>>> digits()
Dataset('digits', features=float32[1797,64], labels=int64[1797], classes=('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'))
"""

import gzip
import io
from importlib import resources

import numpy as np

from fnn.data.dataset import Dataset

__all__ = ["iris", "digits", "BUNDLED", "attribution"]


def _file(name):
    return resources.files("fnn.data").joinpath("files", name)


def iris(dtype=np.float32):
    """Fisher's Iris: 4 measurements in cm (unscaled) of 150 flowers, 3 species."""
    lines = _file("iris.csv").read_text().splitlines()
    header = lines[0].split(",")
    table = np.loadtxt(lines[1:], delimiter=",")
    return Dataset(table[:, :-1].astype(dtype), table[:, -1].astype(np.int64), tuple(header[2:]), "iris")


def digits(dtype=np.float32, scale=True):
    """The 8x8 handwritten digits (1797 images); pixel counts 0..16 scaled to [0, 1] unless ``scale=False``."""
    with gzip.open(io.BytesIO(_file("digits.csv.gz").read_bytes()), "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    dtype = np.dtype(dtype)
    pixels = table[:, :-1].astype(dtype)
    if scale:
        pixels /= dtype.type(16)
    return Dataset(pixels, table[:, -1], tuple(str(i) for i in range(10)), "digits")


BUNDLED = {"iris": iris, "digits": digits}
"""The bundled data sets by name."""


def attribution():
    """The sources and licences of the bundled data, as Markdown."""
    return _file("ATTRIBUTION.md").read_text()
