"""Data fingerprints (streamed, representation-independent) and the reasons a rerun may differ."""

import hashlib
from typing import ClassVar

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import fnn
from fnn.data.lazy import ScaledRows
from fnn.run.provenance import (
    check_source,
    data_fingerprint,
    dataset_fingerprint,
    environment,
    explain_difference,
    file_sha256,
    fingerprints,
    source_fingerprint,
)


@pytest.fixture
def raw():
    return np.random.default_rng(0).integers(0, 256, (50, 4, 3), dtype=np.uint8)


class _CountingRows(np.ndarray):
    """An array that remembers how many rows each read asked for."""

    reads: ClassVar[list] = []

    def __getitem__(self, key):
        out = super().__getitem__(key)
        if isinstance(key, slice):
            _CountingRows.reads.append(len(out))
        return out


def test_fingerprint_is_sha256_of_the_dtype_shape_and_little_endian_bytes():
    x, y = np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0, 1, 0], np.int64)
    expected = hashlib.sha256(
        b"features <f4 (3, 2)\n" + x.tobytes() + b"labels <i8 (3,)\n" + y.tobytes()
    ).hexdigest()
    assert data_fingerprint(x, y) == expected
    assert data_fingerprint(x.astype(">f4"), y.astype(">i8")) == expected  # same values, other byte order


def test_fingerprint_is_the_same_for_eager_memmapped_and_lazily_scaled_rows(raw, tmp_path):
    labels = np.arange(50) % 3
    eager = raw.reshape(50, -1).astype(np.float32) / np.float32(255)
    path = tmp_path / "raw.npy"
    np.save(path, raw)
    lazy = ScaledRows(np.load(path, mmap_mode="r"), 255, np.float32)
    assert data_fingerprint(lazy, labels) == data_fingerprint(eager, labels)
    assert data_fingerprint(lazy, labels, block_rows=7) == data_fingerprint(eager, labels, block_rows=50)
    memmapped = tmp_path / "eager.npy"
    np.save(memmapped, eager)
    assert data_fingerprint(np.load(memmapped, mmap_mode="r"), labels) == data_fingerprint(eager, labels)


def test_lazy_rows_are_read_block_by_block(raw):
    counting = raw.view(_CountingRows)
    _CountingRows.reads = []
    data_fingerprint(ScaledRows(counting, 255, np.float32), np.zeros(50, np.int64), block_rows=16)
    assert _CountingRows.reads == [16, 16, 16, 2]


def test_fingerprint_changes_with_any_value_dtype_shape_or_label():
    x, y = np.random.default_rng(1).standard_normal((8, 6)).astype(np.float32), np.arange(8) % 2
    base = data_fingerprint(x, y)
    changed = x.copy()
    changed[7, 5] = np.nextafter(changed[7, 5], np.float32(np.inf))
    assert data_fingerprint(changed, y) != base
    assert data_fingerprint(x.astype(np.float64), y) != base
    assert data_fingerprint(x.reshape(12, 4), np.arange(12) % 2) != data_fingerprint(x.reshape(12, 4), (np.arange(12) + 1) % 2)
    assert data_fingerprint(x.reshape(6, 8), y[:6]) != data_fingerprint(x.reshape(8, 6)[:6], y[:6])
    assert data_fingerprint(x, y[::-1]) != base


def test_dataset_fingerprints_name_what_they_cover():
    data = fnn.data.moons(40, noise=0.1, seed=0)
    entry = fingerprints(data, (data.features[:10], data.labels[:10]))
    assert entry["train"]["sha256"] == data_fingerprint(*data.as_tuple())
    assert entry["train"]["features"] == f"{data.features.dtype}[40,2]" and entry["train"]["labels"] == f"{data.labels.dtype}[40]"
    assert entry["validation"]["features"].endswith("[10,2]")
    assert fingerprints(data)["validation"] is None and fingerprints(data)["test"] is None
    assert fingerprints(data, test=(data.features[:5], data.labels[:5]))["test"]["features"].endswith("[5,2]")
    assert dataset_fingerprint(data) == entry["train"]


def test_explain_difference_names_changed_test_data_and_source_files():
    data = fnn.data.moons(30, noise=0.1, seed=0)
    recorded = {**fingerprints(data, test=data), "source": {"location": "csv:/a.csv", "files": {"/a.csv": "1" * 64}}}
    now = {**fingerprints(data, test=fnn.data.moons(30, noise=0.1, seed=1)), "source": {"location": "csv:/a.csv", "files": {"/a.csv": "2" * 64}}}
    reasons = explain_difference(None, None, recorded, now)
    assert reasons[0].startswith("data: the test data differ") and reasons[1].startswith("data: read from csv:/a.csv")


def test_source_files_are_hashed_and_a_changed_or_missing_one_is_refused_naming_it(tmp_path):
    table = tmp_path / "t.csv"
    table.write_bytes(b"a,label\n1,0\n")
    assert file_sha256(str(table)) == hashlib.sha256(b"a,label\n1,0\n").hexdigest()
    source = source_fingerprint(f"csv:{table}")
    assert source == {"location": f"csv:{table}", "files": {str(table): file_sha256(str(table))}}
    assert source_fingerprint("moons") == {"location": "moons", "files": {}}
    check_source({"source": source}, "RUN r")  # unchanged: no error
    check_source({"source": None}, "RUN r")  # data given as arrays: nothing to check
    table.write_bytes(b"a,label\n2,0\n")
    with pytest.raises(fnn.FnnInputError) as changed:
        check_source({"source": source}, "RUN r")
    assert str(changed.value).startswith(f"RUN r: the run's data file {table} has changed")
    assert source["files"][str(table)] in str(changed.value) and file_sha256(str(table)) in str(changed.value)
    table.unlink()
    with pytest.raises(fnn.FnnInputError, match=f"{table} is gone"):
        check_source({"source": source}, "RUN r")


def test_bad_data_is_refused_with_a_clear_error():
    with pytest.raises(fnn.FnnInputError, match="3 feature rows but 2 labels"):
        data_fingerprint(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(fnn.FnnInputError, match="'features'"):
        data_fingerprint(np.zeros(3), np.zeros(3))
    with pytest.raises(fnn.FnnInputError, match="'labels'"):
        data_fingerprint(np.zeros((2, 2)), np.array(["a", "b"]))
    with pytest.raises(fnn.FnnInputError, match="block_rows"):
        data_fingerprint(np.zeros((2, 2)), np.zeros(2), block_rows=0)
    with pytest.raises(fnn.FnnInputError, match="'train'"):
        fingerprints(np.zeros((2, 2)))


def test_environment_states_versions_and_the_blas_in_use():
    env = environment()
    assert env["numpy"] == np.__version__ and env["fnn"] == fnn.__version__
    assert env["toolz"] and env["attrs"] and env["python"].count(".") == 2
    assert env["blas"]["library"] and env["blas"]["core_type"]
    with threadpool_limits(1):
        assert environment()["blas"]["threads"] == 1


def test_explain_difference_names_the_thread_count_after_it_changes():
    with threadpool_limits(1):
        recorded = environment()
    current = {**recorded, "blas": {**recorded["blas"], "threads": 2}}
    assert explain_difference(recorded, recorded, None, None) == []
    assert explain_difference(recorded, current, None, None) == ["BLAS thread count: 1 recorded, 2 now"]


def test_explain_difference_names_data_versions_and_core_type(tmp_path):
    data = fnn.data.moons(30, noise=0.1, seed=0)
    recorded_data = fingerprints(data)
    edited = fnn.data.moons(30, noise=0.1, seed=1)
    env = environment()
    other = {**env, "fnn": "9.9", "numpy": "0.1", "blas": {**env["blas"], "core_type": "Prescott"}}
    reasons = explain_difference(env, other, recorded_data, fingerprints(edited))
    assert [reason.split(":")[0] for reason in reasons] == ["data", "fnn version", "numpy version", "BLAS core type"]
    assert "the train data differ" in reasons[0] and f"{env['blas']['core_type']} recorded, Prescott now" in reasons[3]
    assert explain_difference(env, env, recorded_data, fingerprints(data, data))[0].startswith("data: the run had no validation data")


def test_explain_difference_says_what_a_record_does_not_state():
    blas = {"library": "scipy-openblas", "version": "0.3.27"}
    old = {"python": "3.11.7", "numpy": np.__version__, "fnn": fnn.__version__, "blas": blas, "machine": "x86_64"}
    now = {**old, "blas": {**blas, "core_type": "Haswell", "threads": 4}}
    assert explain_difference(old, now, None, None) == [
        "BLAS core type: not in the record (now Haswell), so it may differ",
        "BLAS thread count: not in the record (now 4), so it may differ",
    ]
