"""CSV and pickle loaders on files the tests write themselves, and their bad-input errors."""

import gzip
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


from loader_files import python2_pickle  # noqa: E402


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


# --- the CSV rules ---------------------------------------------------------------------------------------------

from fnn.data.csv import label_column, read_table  # noqa: E402


def test_a_hash_is_data_and_a_text_label_keeps_it(tmp_path):
    path = tmp_path / "langs.csv"
    path.write_text("x,label\n1,C#\n2,C\n3,C#\n")
    data = load_csv(path)
    assert data.class_names == ("C", "C#") and data.labels.tolist() == [1, 0, 1] and data.features[:, 0].tolist() == [1, 2, 3]


@pytest.mark.parametrize("header", [True, False])
def test_a_byte_order_mark_is_dropped(tmp_path, header):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (b"label,x\n" if header else b"") + b"1,0.5\n0,2\n")
    data = load_csv(path, label="label" if header else 0)
    assert data.labels.tolist() == [1, 0] and data.features[:, 0].tolist() == [0.5, 2.0]
    assert read_table(path)[0] == (["label", "x"] if header else ["column0", "column1"])


def test_quoted_cells_follow_rfc_4180(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('"a","b",species\n"1.5"," 2",setosa\n3,4,"C, ""sharp""\nnote"\n')
    data = load_csv(path)
    assert data.class_names == ('C, "sharp"\nnote', "setosa") and data.labels.tolist() == [1, 0]
    assert data.features.tolist() == [[1.5, 2.0], [3.0, 4.0]]


def test_blank_lines_at_the_end_are_allowed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,label\n1,0\n2,1\n\n\n")
    assert load_csv(path).labels.tolist() == [0, 1]


def test_the_label_column_is_named_or_recognised(tmp_path):
    assert label_column(["a", "TARGET"]) == 1 and label_column(["Y", "x"]) == 0 and label_column(["a", "b"], -2) == 0
    assert label_column(["a", "b"], required=False) is None and label_column(None, required=False, width=2) is None
    with pytest.raises(fnn.FnnInputError, match=r"t.csv: several columns could be the label \('label', 'class'\)"):
        label_column(["label", "class"], source="t.csv")
    with pytest.raises(fnn.FnnInputError, match=r"2 columns are named 'x'"):
        label_column(["x", "x", "label"], "x")
    with pytest.raises(fnn.FnnInputError, match=r"must be given as a header name \(str\) or an index \(int\); got True"):
        label_column(["a", "b"], True)


def test_drop_leaves_out_columns_such_as_an_id_that_leaks_the_label(tmp_path):
    path = tmp_path / "Iris.csv"
    path.write_text("Id,SepalLengthCm,PetalLengthCm,Species\n1,5.1,1.4,Iris-setosa\n2,7.0,4.7,Iris-versicolor\n3,5.0,1.3,Iris-setosa\n")
    data = load_csv(path, drop=["Id"])
    assert data.n_features == 2 and data.features[:, 0].tolist() == pytest.approx([5.1, 7.0, 5.0])
    assert data == load_csv(path, drop="Id") == load_csv(path, drop=[0]) == load_csv(path, label="Species", drop=[-4])
    assert load_csv(path).n_features == 3
    text_id = tmp_path / "text_id.csv"
    text_id.write_text("Id,x,label\nA-1,1,0\nB-2,2,1\n")  # a dropped column need not hold numbers
    assert load_csv(text_id, drop=["Id"]).features[:, 0].tolist() == [1, 2]
    assert read_table(text_id, drop=["Id", "label"])[1].tolist() == [[1.0], [2.0]]


def test_label_kinds(tmp_path):
    def labels(cells):
        path = tmp_path / "t.csv"
        path.write_text("x,y\n" + "".join(f"{i},{cell}\n" for i, cell in enumerate(cells)))
        data = load_csv(path)
        return data.labels.tolist(), data.class_names

    assert labels(["2", "0", "+2"]) == ([1, 0, 1], ("0", "2"))  # no empty class 1
    assert labels(["3", "1", "2", "1"]) == ([2, 0, 1, 0], ("1", "2", "3"))  # labels 1..3: three classes, no empty 0
    assert labels(["-1", "1", "-1"]) == ([0, 1, 0], ("-1", "1"))  # not class indices: names, in numerical order
    assert labels(["10", "20000"]) == ([0, 1], ("10", "20000"))
    assert labels(["1.0", "0.5"]) == ([[1.0], [0.5]], ())  # numbers that are not all whole: a regression target
    assert labels(["3.0", "3"]) == ([[3.0], [3.0]], ())
    assert labels(["b", "a", "7"]) == ([2, 1, 0], ("7", "a", "b"))


# Cells the two CSV paths must agree on: valid numbers in many spellings, and near misses.
CELLS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:.6e}"),
    st.sampled_from(["1e999", ".5", "5.", "+.5e-3", " 1 ", "\t2", "-0", "1e", "e5", ".", "", " ", "1_0", "--1", "1.5.5", "0x1"]),
    st.text(alphabet="0123456789.eE+- \t", max_size=4),
)


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    width=st.integers(1, 4),
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=5),
    end=st.sampled_from(["\n", "\r\n"]),
    tail=st.sampled_from(["", "\n", "\n\n", " \n", "\r\n"]),
    header=st.booleans(),
    label=st.one_of(st.none(), st.integers(0, 3)),
    square=st.booleans(),
)
def test_numpy_fast_path_and_strict_reader_agree(width, rows, end, tail, header, label, square):
    """numpy's reader is only a shortcut: whenever it accepts a table, the strict reader gives the same bytes, and
    it accepts nothing that the strict reader refuses."""
    from fnn.data.csv import _parse_fast, _parse_strict, _records

    if square:
        rows = [(row * width)[:width] for row in rows]
    text = (",".join(f"c{i}" for i in range(width)) + end if header else "") + end.join(map(",".join, rows)) + tail
    label = label if label is not None and label < width else None
    features = [i for i in range(width) if i != label]
    if not features:
        return
    fast = _parse_fast(text.encode(), header, width, features, label)
    records = _records(text, "t.csv")
    if header:
        next(records)
    try:
        strict = _parse_strict(records, "t.csv", [f"c{i}" for i in range(width)], width, features, label)
    except fnn.FnnInputError:
        assert fast is None, text
        return
    if fast is not None:
        assert fast[0].shape == strict[0].shape and fast[0].tobytes() == strict[0].tobytes(), text
        assert fast[1] == strict[1], text


def test_the_fast_path_is_taken_for_plain_numeric_tables(tmp_path, monkeypatch):
    from fnn.data import csv as module

    path = tmp_path / "t.csv"
    path.write_text("label,a,b\n1,2,3\n0,4.5,6e-1\n")
    monkeypatch.setattr(module, "_parse_strict", lambda *args: pytest.fail("the strict reader was used"))
    data = load_csv(path)
    assert data.features.tolist() == [[2.0, 3.0], [4.5, pytest.approx(0.6)]] and data.labels.tolist() == [1, 0]


# --- pickles in every protocol ---------------------------------------------------------------------------------

from loader_files import mnist_pickle_gz  # noqa: E402


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_python2_pickles_of_every_protocol(tmp_path, protocol):
    parts = mnist_parts()
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(mnist_pickle_gz(parts, protocol))
    for dataset, (images, labels) in zip(load_mnist_pickle(path), parts):
        assert np.array_equal(dataset.features, images) and np.array_equal(dataset.labels, labels)
        assert dataset.features.dtype == np.float32 and dataset.labels.dtype == np.int64


@pytest.mark.parametrize("protocol", range(6))
def test_python3_pickles_of_every_protocol_compressed_or_not(tmp_path, protocol):
    parts = mnist_parts()
    path = tmp_path / "mnist.pkl"  # the content decides: this one is not compressed
    path.write_bytes(pickle.dumps(parts, protocol=protocol))
    assert all(np.array_equal(d.features, p[0]) for d, p in zip(load_mnist_pickle(path), parts))


def test_other_byte_orders_widths_and_fortran_order(tmp_path):
    parts = tuple((np.asfortranarray(images.astype(">f8")), labels.astype(">i4")) for images, labels in mnist_parts())
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(parts, protocol=2)))
    train = load_mnist_pickle(path, dtype=np.float64)[0]
    assert train.features.dtype == np.float64 and np.array_equal(train.features, parts[0][0])
    assert train.labels.dtype == np.int64 and np.array_equal(train.labels, parts[0][1])


def test_loaded_arrays_are_read_only_views_without_copies(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(mnist_pickle_gz())
    train = load_mnist_pickle(path)[0]
    assert not train.features.flags.writeable and not train.labels.flags.writeable
    assert train.features.base is not None  # a view of the bytes read, not a copy


def test_read_table_for_prediction_inputs_with_or_without_their_labels(tmp_path):
    with_labels, without = tmp_path / "with.csv", tmp_path / "without.csv"
    with_labels.write_text("Id,a,b,Species\n1,1,2,setosa\n2,3,4,virginica\n")
    without.write_text("Id,a,b\n1,1,2\n2,3,4\n")
    for path in (with_labels, without):
        header, features, _, first_line = read_table(path, drop=["Id"], recognise_label=True)
        assert features.tolist() == [[1, 2], [3, 4]] and first_line == 2
    assert read_table(with_labels, recognise_label=True)[2] == ["setosa", "virginica"]
    assert read_table(without, recognise_label=True)[2] is None
    with pytest.raises(fnn.FnnInputError, match=r"line 2, column 4 \('Species'\): expected a number; found 'setosa'"):
        read_table(with_labels)  # without a label column, every column is a feature


@settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    values=st.lists(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=3, max_size=3), min_size=1, max_size=8),
    classes=st.lists(st.integers(0, 12), min_size=8, max_size=8),
    spelling=st.sampled_from([repr, lambda v: f"{v:.17g}", lambda v: f" {v!r}\t"]),
    quoted=st.booleans(),
)
def test_what_is_loaded_is_exactly_what_the_file_says(tmp_path_factory, values, classes, spelling, quoted):
    path = tmp_path_factory.mktemp("exact") / "t.csv"
    quote = (lambda cell: f'"{cell}"') if quoted else str
    rows = [",".join(quote(spelling(v)) for v in row) + f",{classes[i]}" for i, row in enumerate(values)]
    path.write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    data = load_csv(path, dtype=np.float64)
    assert data.features.tobytes() == np.array(values, np.float64).tobytes()
    present = sorted(set(classes[: len(values)]))
    assert [present[label] for label in data.labels] == classes[: len(values)] and data.class_names == tuple(map(str, present))


def test_python2_integer_flags_of_the_classic_file(tmp_path):
    """Python 2's numpy gave a dtype's align and copy flags as the ints 0 and 1, not as booleans."""
    data = python2_pickle(mnist_parts())
    classic, count = __import__("re").subn(rb"(U\x02[fiu][0-9](?:q.)?)\x89\x88\x87", lambda found: found.group(1) + b"K\x00K\x01\x87", data, flags=__import__("re").S)
    assert count == 2  # float32 and int64; repeated dtypes are memo references
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(classic))
    assert np.array_equal(load_mnist_pickle(path)[0].features, mnist_parts()[0][0])
