"""One record check for every reader: a record of any other shape than fnn writes (a wrong type at any key it
states, a missing key, nesting past the bound, a size past the bound, bytes that are not JSON) is refused by
``verify``, ``diff``, ``replay``, ``plot``, ``evaluate``, ``predict``, ``train --resume``, :func:`fnn.load` and
:func:`fnn.store.load_model` with the same one line, the one :func:`fnn.store.record.check_record` gives, and the
folder is left as it was."""

import contextlib
import importlib.util
import io
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fnn
from fnn.proof.checks import diff_runs, replay_epoch, verify_run
from fnn.store import RunFolder
from fnn.store.model import load_model
from fnn.store.record import KEPT, MAX_DEPTH, MAX_RECORD_BYTES, check_record, parse_record

_TRAIN = ["--data", "iris", "--hidden", "4", "--epochs", "2", "--batch-size", "64", "--keep-checkpoints", "--diagnostics", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two trained runs (the second is the one whose record is broken) and the first's good record."""
    root = tmp_path_factory.mktemp("door")
    for name in ("good", "bad"):
        with contextlib.redirect_stdout(io.StringIO()):
            assert fnn.cli.main(["train", *_TRAIN, "--out", str(root / name)]) == 0
    (root / "x.csv").write_text("1,2,3,4\n")
    return root, json.loads((root / "bad" / "record.json").read_text())


def _api(call):
    def run(root):
        try:
            call(root)
        except fnn.FnnInputError as error:
            return str(error)
        return None
    return run


def _cli(*args):
    def run(root):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = fnn.cli.main([str(arg).format(root=root) for arg in args])
        assert code == 2 and err.getvalue().count("\n") == 1, err.getvalue()
        return err.getvalue()
    return run


READERS = {
    "verify_run": _api(lambda root: verify_run(root / "bad")),
    "diff_runs": _api(lambda root: diff_runs(root / "good", root / "bad")),
    "diff_runs of a record": _api(lambda root: diff_runs(root / "bad" / "record.json", root / "good")),
    "replay_epoch": _api(lambda root: replay_epoch(root / "bad", 2)),
    "fnn.load": _api(lambda root: fnn.load(root / "bad")),
    "load_model": _api(lambda root: load_model(root / "bad")),
    "RunFolder.load_checkpoint": _api(lambda root: RunFolder(root / "bad").load_checkpoint()),
    "fnn verify": _cli("verify", "{root}/bad"),
    "fnn diff": _cli("diff", "{root}/good", "{root}/bad"),
    "fnn replay": _cli("replay", "{root}/bad", "--epoch", "1"),
    "fnn evaluate": _cli("evaluate", "{root}/bad"),
    "fnn predict": _cli("predict", "{root}/bad", "{root}/x.csv"),
    "fnn train --resume": _cli("train", "--resume", "{root}/bad", "--epochs", "3", "--quiet"),
}
if importlib.util.find_spec("matplotlib") is not None:
    READERS["fnn plot"] = _cli("plot", "{root}/bad")


def _refused_alike(root, text):
    """Write ``text`` as the bad run's record and check every reader refuses it with the line the check gives."""
    folder = root / "bad"
    (folder / "record.json").write_bytes(text)
    before = {name: (folder / name).read_bytes() for name in ("record.json", "checkpoint.npz")}
    with pytest.raises(fnn.FnnInputError) as expected:
        RunFolder(folder).read_record()
    line = str(expected.value)
    assert "\n" not in line and line.startswith(str(folder / "record.json"))
    for name, reader in READERS.items():
        message = reader(root)
        assert message is not None and line in message, (name, message, line)
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert sorted(os.listdir(folder)) == ["checkpoint.npz", "checkpoints", "record.json"]
    return line


# -- generated malformations of a real record ----------------------------------------------------------------------

_JSON_LEAF = st.one_of(st.booleans(), st.integers(-10, 10), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5))
_JSON = st.recursive(_JSON_LEAF, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=4)


def _kind(value):
    return "bool" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else type(value).__name__


def _wrong_for(value):
    """A JSON value of another kind than ``value`` (never null: the record allows null in places), and a string
    never a hex SHA-256."""
    kinds = {"bool": st.booleans(), "number": st.integers(-3, 3) | st.floats(-1, 1), "str": st.text(max_size=5).map(lambda s: "x" + s),
             "list": st.lists(_JSON, max_size=2), "dict": st.dictionaries(st.text(max_size=3), _JSON, max_size=2)}
    return st.one_of([strategy for kind, strategy in kinds.items() if kind != _kind(value)])


_SHAPED = {"config", "history", "params_sha256", "final_metrics", "validation_metrics", "environment", "data", "checkpoint_sha256",
           KEPT, "network", "seed", "threads", "epochs_run", "best_epoch", "stopped_early", "wall_seconds"}


def _shaped_paths(record):
    """Every path (tuple of keys) into ``record`` whose kind the record's shape fixes."""
    paths = [(key,) for key in record if key in _SHAPED and record[key] is not None]
    for index, epoch in enumerate(record["history"]):
        paths += [("history", index, key) for key, value in epoch.items() if value is not None]
        paths += [("history", index, "metrics", key) for key, value in (epoch.get("metrics") or {}).items() if value is not None]
    for part in ("final_metrics", "validation_metrics"):
        paths += [(part, key) for key, value in record.get(part, {}).items() if value is not None]
    paths += [("final_metrics", "confusion_matrix", row) for row in range(len(record["final_metrics"].get("confusion_matrix", [])))]
    paths += [("data", key) for key, value in record["data"].items() if value is not None]
    paths += [("data", key, "sha256") for key, value in record["data"].items() if isinstance(value, dict) and "sha256" in value]
    paths += [("environment", "blas")] + [(KEPT, name) for name in record.get(KEPT, {})]
    return paths


def _replaced(record, path, value):
    if not path:
        return value
    copy = list(record) if isinstance(record, list) else dict(record)
    copy[path[0]] = _replaced(record.get(path[0]) if isinstance(record, dict) else record[path[0]], path[1:], value)
    return copy


def _without(record, path):
    if len(path) == 1:
        return {key: value for key, value in record.items() if key != path[0]}
    return _replaced(record, path[:1], (_without if isinstance(record[path[0]], dict) else _without_item)(record[path[0]], path[1:]))


def _without_item(items, path):
    return [_without(item, path[1:]) if index == path[0] else item for index, item in enumerate(items)]


@st.composite
def malformed(draw, record):
    """A record of the wrong shape made from ``record``: one value of another kind, one key it needs taken
    away, a value nested past the bound, or another JSON value in its place."""
    how = draw(st.sampled_from(["wrong kind", "missing", "nested", "not an object"]))
    if how == "wrong kind":
        path = draw(st.sampled_from(_shaped_paths(record)))
        value = record
        for key in path:
            value = value[key]
        return _replaced(record, path, draw(_wrong_for(value)))
    if how == "missing":
        epoch = draw(st.integers(0, len(record["history"]) - 1))
        path = draw(st.sampled_from([("config",), ("history",), ("params_sha256",), ("final_metrics",),
                                     *[("history", epoch, key) for key in ("epoch", "step", "lr", "loss")]]))
        return _without(record, path)
    if how == "nested":
        deep = draw(st.integers(MAX_DEPTH, 3 * MAX_DEPTH))
        value = draw(_JSON_LEAF)
        for _ in range(deep):
            value = [value] if draw(st.booleans()) else {"a": value}
        return _replaced(record, draw(st.sampled_from([("config", "extra"), ("environment", "extra"), ("extra",)])), value)
    return draw(_JSON.filter(lambda value: not isinstance(value, dict)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_every_reader_refuses_a_generated_malformed_record_with_the_same_line(runs, data):
    root, good = runs
    bad = data.draw(malformed(good))
    with pytest.raises(fnn.FnnInputError) as checked:
        check_record(bad, str(root / "bad" / "record.json"))
    assert _refused_alike(root, json.dumps(bad).encode()) == str(checked.value)


@pytest.mark.parametrize("text", [b"\xff\xfe{}", b"{config", b"[" * 100_000 + b"]" * 100_000, b" " * (MAX_RECORD_BYTES + 1) + b"{}"],
                         ids=["not UTF-8", "not JSON", "nested 100,000 deep", "past the size bound"])
def test_every_reader_refuses_bytes_that_are_no_record_with_the_same_line(runs, text):
    root, _ = runs
    line = _refused_alike(root, text)
    if len(text) <= MAX_RECORD_BYTES:
        with pytest.raises(fnn.FnnInputError) as parsed:
            parse_record(text, str(root / "bad" / "record.json"))
        assert str(parsed.value) == line


def test_the_writer_refuses_what_the_readers_would(tmp_path, runs):
    _, good = runs
    run = RunFolder(tmp_path / "run")
    with run.claim():
        with pytest.raises(fnn.FnnInputError, match=r"not a run record fnn wrote \('history' is a number, expected a list of epochs\)"):
            run.write_record({**good, "history": 3})
        assert not run.has_record()
        run.write_record({**good, "checkpoint_sha256": None})
    assert run.read_record()["history"] == good["history"]
