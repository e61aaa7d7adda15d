"""Fuzzing the IDX, CSV and pickle readers: byte-level mutations of valid files either load as correctly typed data
or raise FnnInputError, never anything else.

The budget is bounded and derandomized (the same examples every run). ``FNN_FUZZ_EXAMPLES=20000`` runs a longer,
randomized campaign. Pickles are loaded in a child process, so a crash of the interpreter fails the test (and shows
the input) instead of ending the test run.
"""

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loader_files import idx_bytes, kaggle_csv, mnist_parts, python2_pickle

import fnn
from fnn.data import load_csv, load_kaggle_mnist_csv, read_idx
from fnn.data.csv import read_table
from fnn.data.idx import read_idx_scaled

CAMPAIGN = os.environ.get("FNN_FUZZ_EXAMPLES")


def budget(examples):
    return settings(
        max_examples=int(CAMPAIGN or examples),
        derandomize=CAMPAIGN is None,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# A mutation: (kind, position, byte value, length). Positions favour a file's first bytes, where the structure is.
MUTATION = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete", "truncate", "repeat", "interesting"]),
    st.one_of(st.integers(0, 64), st.integers(0, 1 << 20)),
    st.integers(0, 255),
    st.integers(1, 16),
)
INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xff" * 8, b"\n", b",", b'"', b"#", b"\r", b"e", b"-", b"\xef\xbb\xbf"]


def mutate(data, mutations):
    data = bytearray(data)
    for kind, where, value, length in mutations:
        at = where % (len(data) + 1)
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << (value % 8)
        elif kind == "set" and at < len(data):
            data[at] = value
        elif kind == "insert":
            data[at:at] = bytes([value]) * length
        elif kind == "delete":
            del data[at : at + length]
        elif kind == "truncate":
            del data[at:]
        elif kind == "repeat":
            data[at:at] = data[at : at + length * 8]
        elif kind == "interesting":
            piece = INTERESTING[value % len(INTERESTING)]
            data[at : at + len(piece)] = piece
    return bytes(data)


def packed(data, compressed):
    return gzip.compress(data, mtime=0) if compressed else data


# --- IDX -------------------------------------------------------------------------------------------------------

IDX_SEEDS = [
    idx_bytes(np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)),
    idx_bytes(np.arange(7, dtype=np.uint8)),
    idx_bytes(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)),
    idx_bytes(np.arange(-6, 6, dtype=np.int16).reshape(2, 6)),
]


@budget(500)
@given(seed=st.sampled_from(IDX_SEEDS), mutations=st.lists(MUTATION, min_size=1, max_size=4), compressed=st.booleans(), garble=st.booleans())
def test_idx_readers_load_or_refuse(tmp_path_factory, seed, mutations, compressed, garble):
    path = tmp_path_factory.mktemp("idx") / "x-idx"
    path.write_bytes(mutate(packed(seed, compressed), mutations) if garble else packed(mutate(seed, mutations), compressed))
    for read in (read_idx, lambda p: read_idx(p, mmap=False)):
        try:
            array = read(path)
        except fnn.FnnInputError as error:
            assert str(path) in str(error)
        else:
            assert isinstance(array, np.ndarray) and not array.flags.writeable and array.size >= 1
            assert array.dtype.kind in "uif" and array.dtype.isnative and array.ndim >= 1
    try:
        rows = read_idx_scaled(path)
    except fnn.FnnInputError as error:
        assert str(path) in str(error)
    else:
        assert rows.dtype == np.float32 and rows.ndim == 2 and np.isfinite(rows).all()


# --- CSV -------------------------------------------------------------------------------------------------------

CSV_SEEDS = [
    b"a,b,label\n1.5,-2,0\n3,4e-1,1\n5,.5,2\n",
    b"sepal,petal,Species\r\n5.1,1.4,setosa\r\n6.2,4.5,versicolor\r\n5.0,1.3,C#\r\n",
    b"\xef\xbb\xbfId,x,y\n1,0.5,0.25\n2,1.5,2.5\n\n",
    b'"a","b,c",class\n"1","2",""\n3,"4",x\n',
    b"1,2,0\n3,4,1\n",
    kaggle_csv(np.arange(2 * 784).reshape(2, 784) % 256, [3, 7]).encode(),
]


def check_dataset(data):
    assert isinstance(data, fnn.data.Dataset)
    assert data.features.dtype == np.float32 and data.features.ndim == 2 and np.isfinite(data.features).all()
    assert len(data.labels) == len(data.features) >= 1
    if data.class_names:
        assert data.labels.dtype == np.int64 and 0 <= data.labels.min() and data.labels.max() < len(data.class_names)
    else:
        assert data.labels.dtype == np.float64 and np.isfinite(data.labels).all()


@budget(500)
@given(seed=st.sampled_from(CSV_SEEDS), mutations=st.lists(MUTATION, min_size=1, max_size=4), compressed=st.booleans())
def test_csv_readers_load_or_refuse(tmp_path_factory, seed, mutations, compressed):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_bytes(packed(mutate(seed, mutations), compressed))
    calls = [
        lambda: check_dataset(load_csv(path)),
        lambda: check_dataset(load_csv(path, label=-1, drop=[0])),
        lambda: check_dataset(load_kaggle_mnist_csv(path)),
        lambda: read_table(path)[1].dtype == np.float64 or pytest.fail("read_table must give float64"),
    ]
    for call in calls:
        try:
            call()
        except fnn.FnnInputError as error:
            assert str(path) in str(error)


# --- pickle (in a child process) --------------------------------------------------------------------------------

PICKLE_SEEDS = [
    python2_pickle(mnist_parts((2, 1, 1)), 2),
    python2_pickle(mnist_parts((1, 1, 1)), 0),
    __import__("pickle").dumps(mnist_parts((1, 2, 1)), protocol=4),
    __import__("pickle").dumps(mnist_parts((1, 1, 2)), protocol=5),
]

CHILD = """
import json, os, sys, tempfile
import numpy as np
import fnn
folder = tempfile.mkdtemp()
path = os.path.join(folder, "mnist.pkl.gz")
for line in sys.stdin:
    with open(path, "wb") as handle:
        handle.write(bytes.fromhex(line.strip()))
    try:
        parts = fnn.data.load_mnist_pickle(path)
        fine = len(parts) == 3 and all(
            p.features.dtype == np.float32 and p.features.shape[1] == 784 and p.labels.dtype == np.int64
            and np.isfinite(p.features).all() and 0 <= p.features.min() and p.features.max() <= 1
            and 0 <= p.labels.min() and p.labels.max() <= 9 for p in parts)
        result = ["loaded", "", fine]
    except Exception as error:
        result = [type(error).__name__, str(error), path in str(error)]
    print(json.dumps(result), flush=True)
"""


class Child:
    """A child process that loads the pickles it is sent, one per line; restarted after it dies."""

    def __init__(self):
        self.process = None

    def load(self, data):
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.process.stdin.write(data.hex() + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            self.close()
            pytest.fail(f"loading a pickle ended the interpreter (exit {code}); input: {data[:300].hex()}")
        return json.loads(line)

    def close(self):
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=30)
            self.process.stdout.close()
            self.process = None


@pytest.fixture(scope="module")
def child():
    process = Child()
    yield process
    process.close()


@budget(500)
@given(seed=st.sampled_from(PICKLE_SEEDS), mutations=st.lists(MUTATION, min_size=1, max_size=4), compressed=st.booleans())
def test_pickle_reader_loads_or_refuses_in_a_child_process(child, seed, mutations, compressed):
    kind, message, fine = child.load(packed(mutate(seed, mutations), compressed))
    assert kind in ("loaded", "FnnInputError"), (kind, message)
    assert fine, message
