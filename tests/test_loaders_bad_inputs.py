"""Malformed files given to the IDX, CSV and pickle loaders: each is refused with fnn's error naming the file (or
the argument) and what was expected, and nothing on disk changes.

Pickle cases run in one child process, so a file that crashed the interpreter would fail these tests instead of
killing the test run.
"""

import gzip
import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest
from folder_state import folder_state
from loader_files import idx_bytes, idx_header, kaggle_csv, mnist_parts, mnist_pickle_gz, python2_pickle

import fnn
from fnn.data import load_csv, load_kaggle_mnist_csv, read_idx
from fnn.data.csv import read_table
from fnn.data.idx import read_idx_scaled

IMAGES = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)


def refused_untouched(folder, path, call, message, names_path=True):
    """``call()`` raises FnnInputError matching ``message`` (naming ``path``) and leaves ``folder`` as it was."""
    before = folder_state(folder)
    with pytest.raises(fnn.FnnInputError, match=message) as caught:
        call()
    if names_path:
        assert str(path) in str(caught.value)
    assert folder_state(folder) == before


def write(content):
    """A writer of ``content`` (bytes or text) to the case's path; a folder for ``"<folder>"``."""

    def writer(path):
        if content == "<folder>":
            path.mkdir()
        elif content == "<fifo>":
            os.mkfifo(path)  # opening it would block forever
        elif content is not None:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return writer


def gz(data):
    return gzip.compress(data, mtime=0)


# --- IDX -------------------------------------------------------------------------------------------------------

IDX_CASES = [
    ("empty", b"", read_idx, r"not an IDX file: expected a 4-byte magic number; found the file is empty \(0 bytes\)"),
    ("folder", "<folder>", read_idx, r"is a directory; expected an IDX file"),
    ("missing", None, read_idx, r"no such file; expected an IDX file"),
    ("a named pipe", "<fifo>", read_idx, r"is not a regular file \(a pipe, socket or device\); expected an IDX file"),
    ("text", b"label,pixel0\n1,2\n", read_idx, r"not an IDX file: expected a magic number of two zero bytes.*found 0x6c616265"),
    ("unknown type code", idx_header(0x0A, (2,)) + bytes(2), read_idx, r"expected a magic number of two zero bytes, a type code \(0x08 uint8.*found 0x00000a01"),
    ("zero dimensions", b"\x00\x00\x08\x00" + bytes(8), read_idx, r"dimension count 1\.\.32.*found 0x00000800"),
    ("too many dimensions", idx_header(0x08, (1,) * 40) + b"\x01", read_idx, r"dimension count 1\.\.32.*found 0x00000828"),
    ("a zero size", idx_header(0x08, (5, 0, 28)), read_idx, r"declares sizes 5x0x28: expected every size to be at least 1.*found 0 in dimension 2"),
    ("truncated header", idx_header(0x08, (2, 28, 28))[:9], read_idx, r"expected a 12-byte header of 3 dimension sizes; found only 5 bytes"),
    ("truncated data", idx_bytes(IMAGES)[:-10], read_idx, r"declares 2x28x28 values of uint8, so expected 1568 bytes of data, but the file holds 1558 bytes"),
    ("trailing garbage", idx_bytes(IMAGES) + b"junk", read_idx, r"expected 1568 bytes of data, but the file holds 1572 bytes"),
    ("2^31 x 2^31 x 4 float32", idx_header(0x0D, (2**31, 2**31, 4)) + bytes(64), read_idx, r"declares 2147483648x2147483648x4 values of float32, so expected 73786976294838206464 bytes"),
    ("max sizes", idx_header(0x0E, (2**32 - 1,) * 3) + bytes(8), read_idx_scaled, r"declares 4294967295x4294967295x4294967295 values of float64"),
    ("truncated data, streamed", idx_bytes(IMAGES)[:-10], read_idx_scaled, r"expected 1568 bytes of data, but the file holds 1558 bytes"),
    ("gzip: huge sizes", gz(idx_header(0x08, (2**31, 2**31)) + bytes(100)), read_idx, r"expected at most 1 GiB in a gzip-compressed file"),
    ("gzip: truncated data", gz(idx_bytes(IMAGES)[:-1]), read_idx, r"expected 1568 bytes of data, but the decompressed file holds 1567 bytes"),
    ("gzip: more data than declared", gz(idx_bytes(IMAGES) + bytes(10**6)), read_idx, r"expected 1568 bytes of data, but the decompressed file holds more than 1568 bytes"),
    ("gzip: truncated stream", gz(idx_bytes(IMAGES))[:-12], read_idx, r"cannot be decompressed \(EOFError.*expected an IDX file"),
    ("gzip: garbage after the stream", gz(idx_bytes(IMAGES)) + b"garbage!", read_idx, r"cannot be decompressed .*expected an IDX file"),
    ("gzip: streamed, truncated", gz(idx_bytes(IMAGES)[:-1]), read_idx_scaled, r"expected 1568 bytes of data, but the decompressed file holds 1567 bytes"),
    ("gzip: empty", gz(b""), read_idx, r"expected a 4-byte magic number; found the file is empty"),
    ("non-finite floats", idx_bytes(np.array([1.0, np.nan], np.float32)), read_idx, r"values must be finite; found nan at index \(1,\)"),
]


@pytest.mark.parametrize("name, content, reader, message", IDX_CASES, ids=[case[0] for case in IDX_CASES])
def test_bad_idx_files(tmp_path, name, content, reader, message):
    path = tmp_path / "train-images-idx3-ubyte"
    write(content)(path)
    refused_untouched(tmp_path, path, lambda: reader(path), message)


def test_idx_path_argument_that_is_not_a_path():
    with pytest.raises(fnn.FnnInputError, match=r"The 'path' argument of fnn.read_idx must be a file path .* Got 3 instead"):
        read_idx(3)


# --- CSV -------------------------------------------------------------------------------------------------------

HEADER = "a,b,label\n"

CSV_CASES = [
    ("a # is data", HEADER + "1,2,0\n3#,4,1\n", {}, r"line 3, column 1 \('a'\): expected a number; found '3#'"),
    ("a comment line is data", HEADER + "1,2,0\n# note,4,1\n", {}, r"line 3, column 1 \('a'\): expected a number; found '# note'"),
    ("an extra cell", HEADER + "1,2,0\n3,4,1,5\n", {}, r"line 3: expected 3 cells, as in the first line; found 4"),
    ("a missing cell", HEADER + "1,2,0\n3,4\n", {}, r"line 3: expected 3 cells, as in the first line; found 2"),
    ("an empty feature cell", HEADER + "1,,0\n", {}, r"line 2, column 2 \('b'\): expected a number; found ''"),
    ("an empty label cell", HEADER + "1,2,0\n3,4,\n", {}, r"line 3, column 3 \('label'\): expected a label; found an empty cell"),
    ("a blank label cell", "a,b,species\n1,2,cat\n3,4,  \n", {}, r"line 3, column 3 \('species'\): expected a label; found an empty cell"),
    ("nan", HEADER + "1,nan,0\n", {}, r"line 2, column 2 \('b'\): expected a number; found 'nan'"),
    ("-inf", HEADER + "1,2,0\n-inf,2,0\n", {}, r"line 3, column 1 \('a'\): expected a number; found '-inf'"),
    ("beyond float64", HEADER + "1,1e999,0\n", {}, r"line 2, column 2 \('b'\): expected a finite number; found '1e999', too large for float64"),
    ("beyond float32", HEADER + "1,2,0\n1e300,2,0\n", {}, r"line 3, column 1 \('a'\): expected a number that fits float32; found 1e\+300"),
    ("underscores", HEADER + "1_000,2,0\n", {}, r"line 2, column 1 \('a'\): expected a number; found '1_000'"),
    ("hex", HEADER + "0x10,2,0\n", {}, r"expected a number; found '0x10'"),
    ("not UTF-8", HEADER.encode() + b"1,2,0\n3,4,\xff\n", {}, r"line 3: expected UTF-8 text; found the byte 0xff"),
    ("a stray quote", HEADER + '1,2,0\n"3"x,4,1\n', {}, r"line 3: malformed CSV .*expected comma-separated cells, quoted as in RFC 4180"),
    ("an unclosed quote", HEADER + '1,2,0\n"3,4,1\n', {}, r"malformed CSV .*RFC 4180"),
    ("a blank line inside", HEADER + "1,2,0\n\n3,4,1\n", {}, r"line 3: expected 3 cells; found a blank line \(blank lines are allowed only at the end\)"),
    ("semicolons", "a;b;label\n1;2;0\n", {}, r"line 1: expected comma-separated cells; found one cell 'a;b;label' \(is the file separated by ';'"),
    ("semicolons in a row", "a,b,label\n1;2;0\n", {}, r"line 2: expected 3 cells, as in the first line; found 1"),
    ("tabs in a cell", "a,b,label\n1\t2,3,0\n", {}, r"line 2, column 1 \('a'\): expected a number; found '1\\t2' \(is the file separated by ';' or tabs"),
    ("no label column", "a,b,c\n1,2,0\n", {}, r"no column is named as a label; expected exactly one column named one of label, labels, class, target, species, y .*The header is \['a', 'b', 'c'\]"),
    ("two label columns", "class,b,target\n1,2,0\n", {}, r"several columns could be the label \('class', 'target'\)"),
    ("an unknown label name", HEADER + "1,2,0\n", {"label": "kind"}, r"no column is named 'kind'; expected exactly one. The columns are \['a', 'b', 'label'\]"),
    ("a label index out of range", HEADER + "1,2,0\n", {"label": 3}, r"the label column index 3 is out of range: expected -3\.\.2"),
    ("a label of the wrong type", HEADER + "1,2,0\n", {"label": 1.0}, r"must be given as a header name \(str\) or an index \(int\); got 1\.0"),
    ("no header, no label", "1,2,0\n3,4,1\n", {}, r"has no header row, so no label column can be recognised by name"),
    ("no header, a label name", "1,2,0\n", {"label": "label"}, r"has no header row, so no column is named 'label'"),
    ("dropping an unknown column", HEADER + "1,2,0\n", {"drop": ["Id"]}, r"cannot drop column 'Id': expected one column of that name; found 0 columns named 'Id'"),
    ("dropping the label", HEADER + "1,2,0\n", {"drop": ["label"]}, r"cannot drop the label column 'label'"),
    ("dropping every feature", HEADER + "1,2,0\n", {"drop": ["a", "b"]}, r"expected at least one feature column besides the label and dropped ones"),
    ("a nan label among numbers", "a,b,y\n1,2,0.5\n1,2,nan\n", {}, r"line 3, column 3 \('y'\): expected a label; found 'nan' in a column of numbers"),
    ("an empty file", "", {}, r"expected a CSV table .* found an empty file"),
    ("only a byte-order mark", b"\xef\xbb\xbf", {}, r"found an empty file"),
    ("a header only", HEADER, {}, r"expected data rows after the header; found none"),
    ("a folder", "<folder>", {}, r"is a directory; expected a CSV table"),
    ("missing", None, {}, r"no such file; expected a CSV table"),
    ("a named pipe", "<fifo>", {}, r"is not a regular file \(a pipe, socket or device\); expected a CSV table"),
    ("gzip, truncated", gz((HEADER + "1,2,0\n" * 100).encode())[:-10], {}, r"cannot be decompressed .*expected a CSV table"),
    ("an unsupported dtype", HEADER + "1,2,0\n", {"dtype": np.int32}, r"The 'dtype' argument of fnn.load_csv must be float32 or float64"),
]


@pytest.mark.parametrize("name, content, kwargs, message", CSV_CASES, ids=[case[0] for case in CSV_CASES])
def test_bad_csv_files(tmp_path, name, content, kwargs, message):
    path = tmp_path / "table.csv"
    write(content)(path)
    refused_untouched(tmp_path, path, lambda: load_csv(path, **kwargs), message, names_path="dtype" not in kwargs)


def test_a_table_larger_than_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(fnn.data.csv, "MAX_TABLE_BYTES", 1000)
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gz((HEADER + "1,2,0\n" * 10**6).encode()))  # a gzip bomb in small
    with pytest.raises(fnn.FnnInputError, match=r"big.csv.gz: holds more than 1000 bytes \(decompressed\); expected a table of at most that size"):
        load_csv(path)


KAGGLE_PIXELS = np.zeros((2, 784), np.int64)

KAGGLE_CASES = [
    ("a fractional label", kaggle_csv(KAGGLE_PIXELS, ["1.5", "2"]), r"line 2, column 1 \('label'\): expected a digit label 0\.\.9 \(a whole number\); found '1.5'"),
    ("a label written as a float", kaggle_csv(KAGGLE_PIXELS, ["3", "3.0"]), r"line 3, column 1 \('label'\): expected a digit label 0\.\.9 \(a whole number\); found '3.0'"),
    ("a label above 9", kaggle_csv(KAGGLE_PIXELS, ["3", "10"]), r"line 3, column 1 \('label'\): expected a digit label 0\.\.9"),
    ("a text label", kaggle_csv(KAGGLE_PIXELS, ["3", "C#"]), r"line 3, column 1 \('label'\): expected a digit label 0\.\.9 \(a whole number\); found 'C#'"),
    ("a pixel above 255", kaggle_csv(np.where(np.arange(784) == 5, 300, 0)[None].repeat(2, 0), [1, 2]), r"line 2, column 7 \('pixel5'\): expected a whole-number pixel 0\.\.255; found 300\.0"),
    ("pixels already scaled", kaggle_csv(np.full((2, 784), 0.5), [1, 2]), r"line 2, column 2 \('pixel0'\): expected a whole-number pixel 0\.\.255; found 0\.5"),
    ("the test file (no labels)", "\n".join([",".join(f"pixel{i}" for i in range(784)), ",".join(["0"] * 784)]) + "\n", r"expected Kaggle's MNIST layout: a header 'label,pixel0,...,pixel783'"),
    ("no header", "\n".join(",".join(["1"] * 785) for _ in range(2)) + "\n", r"expected Kaggle's MNIST layout.*found no header row"),
]


@pytest.mark.parametrize("name, content, message", KAGGLE_CASES, ids=[case[0] for case in KAGGLE_CASES])
def test_bad_kaggle_files(tmp_path, name, content, message):
    path = tmp_path / "train.csv"
    write(content)(path)
    refused_untouched(tmp_path, path, lambda: load_kaggle_mnist_csv(path), message)


def test_read_table_refuses_what_load_csv_refuses(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3#,4\n")
    with pytest.raises(fnn.FnnInputError, match=r"t.csv, line 3, column 1 \('a'\): expected a number; found '3#'"):
        read_table(path)


# --- mnist.pkl.gz ----------------------------------------------------------------------------------------------


def crafted_dtype_state():
    """numpy segfaults on ``np.dtype('f4', False, True).__setstate__((3, 'N', None, -1, -1, 0))``; this pickle
    asks for exactly that."""
    return b"\x80\x02cnumpy\ndtype\nU\x02f4\x89\x88\x87R(K\x03U\x01NNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb."


def array_pickle(shape, data, code=b"f4", order=b"<"):
    """A protocol-2 pickle of one array whose state declares ``shape`` and holds ``data``."""
    sizes = b"".join(b"J" + struct.pack("<i", size) if size < 2**31 else b"\x8a\x08" + struct.pack("<q", size) for size in shape)
    return (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01(" + sizes + b"t"
        b"cnumpy\ndtype\nU" + bytes([len(code)]) + code + b"K\x00K\x01\x87R(K\x03U\x01" + order + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        b"\x89T" + struct.pack("<i", len(data)) + data + b"tb"
    )


def in_parts(array_opcodes):
    """``((a, a), (a, a), (a, a))`` around one array's opcodes (memoised, as a pickler would)."""
    return b"\x80\x02" + array_opcodes[2:] + b"q\x01h\x01h\x01\x86h\x01h\x01\x86h\x01h\x01\x86\x87."


class System:
    def __reduce__(self):
        return (os.system, ("echo owned > owned.txt",))


def replaced(parts, index, images=None, labels=None):
    parts = list(parts)
    old_images, old_labels = parts[index]
    parts[index] = (old_images if images is None else images, old_labels if labels is None else labels)
    return tuple(parts)


PARTS = mnist_parts()
IMAGES_WITH_NAN = PARTS[1][0].copy()
IMAGES_WITH_NAN[3, 7] = np.nan

PICKLE_CASES = [
    ("os.system by REDUCE", gz(pickle.dumps(((System(), 1), 2, 3), protocol=2)), r"refused to unpickle posix\.system: only numpy arrays are allowed"),
    ("builtins.eval by STACK_GLOBAL", gz(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x041+1\x85R."), r"refused to unpickle builtins\.eval"),
    ("numpy's dtype state that segfaults numpy", gz(crafted_dtype_state()), r"a dtype state must be a tuple of 8 or 9 items; got a tuple of 6"),
    ("a structured dtype state", gz(crafted_dtype_state().replace(b"U\x01NNJ", b"U\x01<NNNJ")), r"has a structured, sized or flagged state|found a _?dtype"),
    ("an object array", gz(pickle.dumps(((np.zeros((2, 784), np.float32), np.array([1, None])),) * 3, protocol=2)), r"the dtype 'O8' is not one of f4, f8"),
    ("a huge declared shape", gz(in_parts(array_pickle((2**31 - 1, 2**31 - 1), b"\x00" * 8))), r"an array size must be an integer in 0\.\.536870912; got 2147483647"),
    ("a shape larger than its bytes", gz(in_parts(array_pickle((1000, 784), b"\x00" * 784 * 4))), r"declares shape \(1000, 784\) of float32 \(2.991 MiB\) but holds 3.062 KiB"),
    ("a 64-bit shape", gz(in_parts(array_pickle((2**62, 2), b""))), r"an array size must be an integer in 0\.\.536870912"),
    ("a declared string beyond the limit", gz(b"\x80\x04\x8e" + struct.pack("<Q", 1 << 40) + b"x"), r"an item declares 1024 GiB, more than the 512 MiB a pickle may hold"),
    ("a huge memo index", gz(b"\x80\x02Nr\xff\xff\xff\x7f."), r"found None where tuples, lists and arrays are expected"),
    ("a flood of marks", gz(b"\x80\x02" + b"(" * 200_000), r"more than 100000 opcodes"),
    ("a gzip bomb of zeros", gz(bytes(64 << 20)), r"opcode b'\\x00' at byte 0 is not one that a pickle of arrays uses"),
    ("a dict", gz(pickle.dumps({"train": 1}, protocol=2)), r"opcode b'\}' at byte 2 is not one that a pickle of arrays uses"),
    ("float labels", mnist_pickle_gz(replaced(PARTS, 0, labels=PARTS[0][1].astype(np.float64))), r"the train labels must be whole numbers \(an integer array\) of shape \(30,\); found float64 \(30,\) \(float labels are refused, not truncated\)"),
    ("two parts", mnist_pickle_gz(PARTS[:2]), r"the file must be a tuple of 3; found a tuple of 2"),
    ("783 pixels", mnist_pickle_gz(replaced(PARTS, 2, images=PARTS[2][0][:, :783].copy())), r"the test images must be a float array of shape \(n, 784\) with n >= 1; found float32 \(10, 783\)"),
    ("integer images", mnist_pickle_gz(replaced(PARTS, 0, images=(PARTS[0][0] * 255).astype(np.uint8))), r"the train images must be a float array .*found uint8"),
    ("pixels 0..255 as floats", mnist_pickle_gz(replaced(PARTS, 0, images=PARTS[0][0] * 255)), r"the train images must be pixel intensities in \[0, 1\]; found values in \[0\.0, 25\d\.\d+\]"),
    ("a NaN pixel", mnist_pickle_gz(replaced(PARTS, 1, images=IMAGES_WITH_NAN)), r"the validation images must be finite; found nan at row 3, column 7"),
    ("a label of 10", mnist_pickle_gz(replaced(PARTS, 2, labels=np.full(10, 10))), r"the test labels must be digits 0\.\.9; found labels in 10\.\.10"),
    ("fewer labels than images", mnist_pickle_gz(replaced(PARTS, 0, labels=PARTS[0][1][:29])), r"the train labels must be .* of shape \(30,\); found int64 \(29,\)"),
    ("no images", mnist_pickle_gz(replaced(PARTS, 0, images=np.zeros((0, 784), np.float32), labels=np.zeros(0, np.int64))), r"with n >= 1; found float32 \(0, 784\)"),
    ("bytes after the pickle", gz(python2_pickle(PARTS) + b"junk"), r"bytes follow the pickle's end"),
    ("a truncated pickle", gz(python2_pickle(PARTS)[:-100]), r"the pickle ends after \d+ bytes, inside an item"),
    ("a truncated gzip stream", mnist_pickle_gz()[:-20], r"cannot be decompressed \(EOFError.*expected the classic mnist\.pkl\.gz"),
    ("an empty file", b"", r"the file holds no pickle \(0 bytes\)"),
    ("an empty gzip stream", gz(b""), r"the file holds no pickle \(0 bytes\)"),
    ("a CSV file", b"label,pixel0\n1,0\n", r"opcode b'l' at byte 0|a memo|stack|MARK"),
    ("a folder", "<folder>", r"is a directory; expected the classic mnist\.pkl\.gz"),
    ("missing", None, r"no such file; expected the classic mnist\.pkl\.gz"),
    ("a named pipe", "<fifo>", r"is not a regular file \(a pipe, socket or device\); expected the classic mnist\.pkl\.gz"),
]

CHILD = """
import json, os, sys, hashlib
sys.path.insert(0, {tests!r})
import fnn
from folder_state import folder_state
results = {{}}
for name, path in json.loads(sys.argv[1]).items():
    folder = os.path.dirname(path)
    os.chdir(folder)  # an os.system call would write owned.txt here
    before = folder_state(folder)
    try:
        fnn.data.load_mnist_pickle(path)
        results[name] = ["loaded", "", True]
    except Exception as error:
        results[name] = [type(error).__name__, str(error), folder_state(folder) == before]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def pickle_results(tmp_path_factory):
    """Every pickle case loaded in one child process: ``{name: [error type, message, disk unchanged]}``."""
    paths = {}
    for number, (name, content, _) in enumerate(PICKLE_CASES):
        folder = tmp_path_factory.mktemp(f"pickle{number}")
        path = folder / "mnist.pkl.gz"
        write(content)(path)
        paths[name] = str(path)
    child = CHILD.format(tests=os.path.dirname(__file__))
    done = subprocess.run([sys.executable, "-c", child, json.dumps(paths)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the loader crashed the interpreter (exit {done.returncode}): {done.stderr[-2000:]}"
    return paths, json.loads(done.stdout)


@pytest.mark.parametrize("name, content, message", PICKLE_CASES, ids=[case[0] for case in PICKLE_CASES])
def test_bad_pickles(pickle_results, name, content, message):
    paths, results = pickle_results
    kind, text, unchanged = results[name]
    assert kind == "FnnInputError", (kind, text)
    assert paths[name] in text
    assert __import__("re").search(message, text), text
    assert unchanged and not os.path.exists(os.path.join(os.path.dirname(paths[name]), "owned.txt"))


def test_pickle_dtype_argument():
    with pytest.raises(fnn.FnnInputError, match=r"The 'dtype' argument of fnn.load_mnist_pickle must be float32 or float64"):
        fnn.data.load_mnist_pickle("mnist.pkl.gz", dtype=np.int8)
