"""CSV and pickle loaders on files the tests write themselves, and their bad-input errors."""

import gzip
import pickle
import struct

import numpy as np
import pytest

import fnn
from fnn.data import load_csv, load_kaggle_mnist_csv, load_mnist_pickle


def write_kaggle_csv(path, pixels, labels):
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    lines = [header] + [",".join(map(str, [label, *row])) for label, row in zip(labels, pixels)]
    path.write_text("\n".join(lines) + "\n")


def test_kaggle_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    pixels, labels = rng.integers(0, 256, (12, 784)), rng.integers(0, 10, 12)
    write_kaggle_csv(tmp_path / "train.csv", pixels, labels)
    data = load_kaggle_mnist_csv(tmp_path / "train.csv")
    assert np.array_equal(data.labels, labels)
    np.testing.assert_array_equal(data.features, pixels.astype(np.float32) / np.float32(255))


def test_general_csv_label_by_name_index_and_default(tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text("sepal,petal,species\n5.1,1.4,setosa\n6.2,4.5,versicolor\n5.0,1.3,setosa\n")
    by_name = load_csv(path, label="species")
    assert by_name.class_names == ("setosa", "versicolor") and by_name.labels.tolist() == [0, 1, 0]
    assert np.array_equal(by_name.features, np.array([[5.1, 1.4], [6.2, 4.5], [5.0, 1.3]], np.float32))
    assert load_csv(path) == by_name  # 'species' is recognised as the label column
    by_index = load_csv(path, label=-1)
    assert by_index.labels.tolist() == [0, 1, 0]
    with pytest.raises(fnn.FnnInputError, match=r"flowers.csv, line 2, column 3 \('species'\): expected a number; found 'setosa'"):
        load_csv(path, label=0)  # then species is a feature, and not a number
    numeric = tmp_path / "numeric.csv"
    numeric.write_text("x,y\n1,0.5\n2,1.25\n")
    regression = load_csv(numeric, label="y")
    assert regression.class_names == () and regression.labels[:, 0].tolist() == [0.5, 1.25]


def test_headerless_gzip_csv_with_numeric_labels(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"2,0.5,0.25\n0,1.5,2.5\n1,3,4\n"))
    with pytest.raises(fnn.FnnInputError, match="no header row, so no label column can be recognised"):
        load_csv(path)  # no first-column guess
    data = load_csv(path, label=0)
    assert data.labels.tolist() == [2, 0, 1] and data.class_names == ("0", "1", "2") and data.n_features == 2


def test_the_bundled_iris_reads_as_a_csv_too(tmp_path):
    iris = fnn.data.iris()
    path = tmp_path / "iris.csv"
    path.write_text("a,b,c,d,label\n" + "\n".join(",".join(map(str, [*f, l])) for f, l in zip(iris.features.tolist(), iris.labels)))
    assert np.array_equal(load_csv(path, label="label").labels, iris.labels)


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b,label\n1,2,0\n3,x,1\n", r"line 3, column 2 \('b'\): expected a number; found 'x'"),
        ("a,b,label\n1,2,0\n3,4\n", r"line 3: expected 3 cells, as in the first line; found 2"),
        ("a,b,label\n1,nan,0\n", r"line 2, column 2 \('b'\): expected a number; found 'nan'"),
        ("a,b,label\n1,inf,0\n", r"line 2, column 2 \('b'\): expected a number; found 'inf'"),
        ("", r"found an empty file"),
        ("a,b,label\n", r"expected data rows after the header; found none"),
    ],
)
def test_bad_csv_names_file_line_and_column(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(fnn.FnnInputError, match=message) as caught:
        load_csv(path, label="label")
    assert "bad.csv" in str(caught.value)


def test_unknown_label_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(fnn.FnnInputError, match=r"no column is named 'kind'; expected exactly one. The columns are \['a', 'b'\]"):
        load_csv(path, label="kind")


# --- mnist.pkl.gz ----------------------------------------------------------------------------------------------


class Python2Pickler(pickle._Pickler):
    """Writes bytes the way Python 2 wrote its ``str``: SHORT_BINSTRING/BINSTRING opcodes, which Python 3 can only
    read with an ``encoding`` (latin1 for array data), as in the widely shared ``mnist.pkl.gz``."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def python2_pickle(obj):
    buffer = __import__("io").BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    # Python 2's numpy lived in numpy.core; GLOBAL opcodes are newline-terminated text, so renaming is safe.
    return buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def mnist_parts():
    rng = np.random.default_rng(0)
    return tuple(
        (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)) for n in (30, 10, 10)
    )


def test_python2_protocol_pickle_needs_latin1_and_loads(tmp_path):
    parts = mnist_parts()
    data = python2_pickle(parts)
    assert b"numpy.core.multiarray" in data and pickle.SHORT_BINSTRING in data
    with pytest.raises(UnicodeDecodeError):  # what a plain Python 3 load of the classic file runs into
        pickle.loads(data)
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(data))
    train, validation, test = load_mnist_pickle(path)
    for dataset, (images, labels) in zip((train, validation, test), parts):
        assert np.array_equal(dataset.features, images) and np.array_equal(dataset.labels, labels)


def test_python3_pickle_loads_too(tmp_path):
    parts = mnist_parts()
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(parts, protocol=4)))
    assert np.array_equal(load_mnist_pickle(path)[2].features, parts[2][0])


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(((Exploit(str(marker)), 1), 2, 3), protocol=2)))
    with pytest.raises(fnn.FnnInputError, match=r"refused to unpickle (io|builtins)\.open"):
        load_mnist_pickle(path)
    assert not marker.exists()
    arrays_in_a_wrong_structure = pickle.dumps(((np.zeros(2),), 2, 3))  # arrays unpickle fine ...
    path.write_bytes(gzip.compress(arrays_in_a_wrong_structure))
    with pytest.raises(fnn.FnnInputError, match="found an int where tuples, lists and arrays are expected"):  # ... and the structure is checked
        load_mnist_pickle(path)


def test_truncated_pickle_gzip(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(mnist_parts()))[:200])
    with pytest.raises(fnn.FnnInputError, match="mnist.pkl.gz: cannot be decompressed"):
        load_mnist_pickle(path)


def test_nan_in_pickled_images_is_refused(tmp_path):
    parts = list(mnist_parts())
    images = parts[1][0].copy()
    images[3, 7] = np.nan
    parts[1] = (images, parts[1][1])
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(tuple(parts))))
    with pytest.raises(fnn.FnnInputError, match=r"validation images must be finite; found nan at row 3, column 7"):
        load_mnist_pickle(path)


def test_fast_and_strict_csv_parsers_agree_on_a_plain_table(tmp_path):
    from fnn.data.csv import _parse_fast, _parse_strict, _read_text, _records

    path = tmp_path / "t.csv"
    path.write_text("a,b,kind\n1.5,-2e-3,3\n3,0.1, 4\n5,6,3\n\n")
    data, text = _read_text(str(path))
    fast = _parse_fast(data, True, 3, [0, 1], 2)
    records = _records(text, str(path))
    next(records)
    slow = _parse_strict(records, str(path), ["a", "b", "kind"], 3, [0, 1], 2)
    assert fast[0].tobytes() == slow[0].tobytes() and fast[1] == slow[1] == ["3", "4", "3"]
