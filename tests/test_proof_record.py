"""fnn verify proves the whole record: an edit of any number it states, or a swapped checkpoint, fails
verification naming what differs; fnn diff compares the checkpoints on disk; every reader refuses a record of the
wrong shape in one line."""

import contextlib
import importlib.util
import io
import json
import os
import shutil

import pytest

import fnn
from fnn.proof.checks import diff_runs, replay_epoch, verify_run
from fnn.run.provenance import file_sha256
from fnn.store.record import MAX_DEPTH, check_record

_TRAIN = ["--data", "iris", "--hidden", "4", "--optimizer", "adam", "--lr", "0.01", "--epochs", "2", "--batch-size", "64", "--validation", "0.2", "--keep-checkpoints", "--quiet"]


def _train(folder, *extra):
    with contextlib.redirect_stdout(io.StringIO()):
        assert fnn.cli.main(["train", *_TRAIN, *extra, "--out", str(folder)]) == 0
    return folder


def _read(folder):
    with open(os.path.join(folder, "record.json")) as handle:
        return json.load(handle)


def _write(folder, record):
    with open(os.path.join(folder, "record.json"), "w") as handle:
        json.dump(record, handle)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run whose record also names its checkpoint's SHA-256, as fnn train's records do."""
    folder = _train(tmp_path_factory.mktemp("proof") / "run")
    record = _read(folder)
    record["checkpoint_sha256"] = file_sha256(os.path.join(folder, "checkpoint.npz"))
    _write(folder, record)
    return folder


# -- every field of the record, edited ---------------------------------------------------------------------------

_PROVEN = ("config", "history", "final_metrics", "validation_metrics", "params_sha256", "checkpoint_sha256", "data",
           "network", "seed", "epochs_run", "best_epoch", "stopped_early")


def _leaves(value, path=()):
    """Every (path, value) of the JSON tree ``value`` that is not a container."""
    if isinstance(value, dict):
        return [leaf for key, inner in sorted(value.items()) for leaf in _leaves(inner, (*path, key))]
    if isinstance(value, list) and value:
        return [leaf for index, inner in enumerate(value) for leaf in _leaves(inner, (*path, index))]
    return [(path, value)]


def _edited(value):
    """Another value of the same kind: a hex digest with its first digit changed, a string with a letter more, a
    number moved, a flag flipped, a null made a number."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 0.25
    if isinstance(value, str):
        if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
            return ("1" if value[0] != "1" else "2") + value[1:]
        return value + "x"
    if value == []:
        return [1]
    return 0.5


def _expected_name(path):
    """How a verification names the edited field."""
    field = path[0]
    if field == "history":
        return f"history epoch {path[1] + 1} {'.'.join(map(str, path[2:]))}:"
    if field == "checkpoint_sha256" or len(path) == 1:
        return f"{field}:"
    if field == "final_metrics" and path[1] == "confusion_matrix":
        return "final_metrics.confusion_matrix:"
    if field == "config":
        return f"checkpoint config.{path[1]}:"
    return ".".join(map(str, path[:3] if field == "data" else path[:2])) + ":"


def _set(record, path, value):
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _failure(folder, record, path, value):
    """None when the record with ``path`` set to ``value`` fails verification naming it, else what went wrong."""
    edited = json.loads(json.dumps(record))
    _set(edited, path, value)
    _write(folder, edited)
    try:
        verdict = verify_run(folder, threads=1)
    except fnn.FnnInputError as error:  # a setting edited into a value no run may have is refused, naming it
        return None if path[0] == "config" and str(path[1]) in str(error) else f"{path}: refused as {error}"
    name = _expected_name(path)
    lines = [line for line in verdict.differences if line.startswith(name)]
    if verdict.matches or not lines:
        return f"{path}: {name!r} not among {verdict.differences}"
    if path[0] not in ("config", "checkpoint_sha256") and not ("recorded" in lines[0] and "rerun" in lines[0]):
        return f"{path}: {lines[0]!r} does not give the recorded and the rerun value"
    return None


def test_an_edit_of_any_field_of_the_record_fails_verification_naming_it(trained, tmp_path):
    """Every leaf of every proven field, edited in turn (a table generated from the record itself)."""
    folder = shutil.copytree(trained, tmp_path / "run")
    record = _read(folder)
    paths = [path for path, _ in _leaves({key: record[key] for key in _PROVEN if key in record})]
    kinds = {path[0] if path[0] != "data" else f"data.{path[1]}" for path in paths}
    assert kinds >= {"config", "history", "final_metrics", "validation_metrics", "params_sha256", "checkpoint_sha256",
                     "data.train", "data.validation", "data.test", "data.source"}
    assert sum(path[0] == "history" for path in paths) >= 2 * 8  # each metric of each of the two epochs
    failures = [failure for path, value in _leaves({key: record[key] for key in _PROVEN if key in record})
                if (failure := _failure(folder, record, path, _edited(value))) is not None]
    assert not failures, "\n".join(failures)
    _write(folder, record)
    assert verify_run(folder, threads=1).matches  # the untouched record, for contrast


# -- the checkpoint on disk ----------------------------------------------------------------------------------------


def test_a_swapped_checkpoint_fails_verification_and_diff_refuses_it_naming_both_hashes(trained, tmp_path):
    other = _train(tmp_path / "other", "--seed", "5")  # the same network, other weights
    folder = shutil.copytree(trained, tmp_path / "run")
    shutil.copyfile(other / "checkpoint.npz", folder / "checkpoint.npz")
    verdict = verify_run(folder, threads=1)
    assert not verdict.matches
    named = {line.partition(":")[0] for line in verdict.differences}
    assert {"checkpoint_sha256", "checkpoint params", "checkpoint optimiser state", "checkpoint config.seed"} <= named
    same = diff_runs(trained, trained)
    assert same.identical and same.params_equal is True and same.state_equal is True
    with pytest.raises(fnn.FnnInputError, match="checkpoint") as refused:  # the records agree, the files do not
        diff_runs(trained, folder)
    recorded, on_disk = _read(folder)["checkpoint_sha256"], _read(other)["checkpoint_sha256"]
    assert recorded in str(refused.value) and on_disk in str(refused.value) and "\n" not in str(refused.value)


def test_diff_names_edited_results_and_a_missing_checkpoint(trained, tmp_path):
    folder = shutil.copytree(trained, tmp_path / "run")
    record = _read(folder)
    record["final_metrics"]["accuracy"] = 0.125
    _write(folder, record)
    difference = diff_runs(trained, folder)
    assert difference.results == (("final_metrics.accuracy", _read(trained)["final_metrics"]["accuracy"], 0.125),)
    assert not difference.identical and difference.params_equal is True
    os.remove(folder / "checkpoint.npz")
    without = diff_runs(trained, folder)  # the params by their recorded hash; the arrays and state not compared
    assert without.params_equal is True and without.state_equal is None
    assert without.not_compared == (f"the parameter arrays and the optimiser state (RUN_B {folder} has no checkpoint.npz): "
                                    f"params are compared by their recorded params_sha256",)
    assert verify_run(folder, threads=1).differences[-1] == f"checkpoint: {os.path.join(folder, 'checkpoint.npz')} is missing"


# -- malformed records -------------------------------------------------------------------------------------------

_GOOD = {"config": {"data": "iris"}, "history": [{"epoch": 1, "step": 2, "lr": 0.1, "loss": 0.5}], "params_sha256": "ab" * 32,
         "final_metrics": {"loss": 0.5, "accuracy": 0.9, "confusion_matrix": [[1, 0], [0, 1]]}}
_DEEP = "[" * 100_000 + "]" * 100_000

MALFORMED = {
    "a list": "[]",
    "a list of numbers": "[1, 2]",
    "a string": '"record"',
    "a number": "3",
    "null": "null",
    "nested 100,000 deep": _DEEP,
    "nested 100,000 deep in a setting": json.dumps(_GOOD)[:-1] + ', "extra": ' + _DEEP + "}",
    "nested past the bound": json.dumps({**_GOOD, "config": {"data": "iris", "x": [[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]}}),
    "empty object": "{}",
    "no history": json.dumps({k: v for k, v in _GOOD.items() if k != "history"}),
    "no config": json.dumps({k: v for k, v in _GOOD.items() if k != "config"}),
    "no params_sha256": json.dumps({k: v for k, v in _GOOD.items() if k != "params_sha256"}),
    "no final_metrics": json.dumps({k: v for k, v in _GOOD.items() if k != "final_metrics"}),
    "config a list": json.dumps({**_GOOD, "config": ["iris"]}),
    "history an object": json.dumps({**_GOOD, "history": {"epoch": 1}}),
    "history of strings": json.dumps({**_GOOD, "history": ["epoch 1", "epoch 2"]}),
    "a history entry a number": json.dumps({**_GOOD, "history": [1]}),
    "a string metric in the history": json.dumps({**_GOOD, "history": [{**_GOOD["history"][0], "loss": "0.5"}]}),
    "a history entry without its loss": json.dumps({**_GOOD, "history": [{"epoch": 1, "step": 2, "lr": 0.1}]}),
    "an unknown history entry": json.dumps({**_GOOD, "history": [{**_GOOD["history"][0], "lost": 1}]}),
    "an epoch that is a flag": json.dumps({**_GOOD, "history": [{**_GOOD["history"][0], "epoch": True}]}),
    "a negative step": json.dumps({**_GOOD, "history": [{**_GOOD["history"][0], "step": -1}]}),
    "diagnostics without their layers": json.dumps({**_GOOD, "history": [{**_GOOD["history"][0], "diagnostics": {"lr_first": 0.1}}]}),
    "diagnostics of the wrong kind": json.dumps({**_GOOD, "history": [{**_GOOD["history"][0], "diagnostics": [1]}]}),
    "params_sha256 a number": json.dumps({**_GOOD, "params_sha256": 7}),
    "final_metrics a list": json.dumps({**_GOOD, "final_metrics": [0.5]}),
    "a string test metric": json.dumps({**_GOOD, "final_metrics": {"accuracy": "high"}}),
    "a confusion matrix of strings": json.dumps({**_GOOD, "final_metrics": {"confusion_matrix": [["1"]]}}),
    "data a list": json.dumps({**_GOOD, "data": ["train"]}),
    "a fingerprint without its hash": json.dumps({**_GOOD, "data": {"train": {"features": "float32[1,1]"}}}),
    "data files not hashes": json.dumps({**_GOOD, "data": {"source": {"location": "csv:/x.csv", "files": {"/x.csv": 1}}}}),
    "threads a string": json.dumps({**_GOOD, "threads": "four"}),
    "environment a string": json.dumps({**_GOOD, "environment": "linux"}),
    "checkpoint_sha256 a list": json.dumps({**_GOOD, "checkpoint_sha256": ["ab"]}),
    "not UTF-8": b"\xff\xfe{}",
    "not JSON": "{config",
}


def test_the_malformed_table_is_large_and_a_good_record_passes():
    assert len(MALFORMED) >= 15
    assert check_record(json.loads(json.dumps(_GOOD)), "record.json") == _GOOD
    assert MAX_DEPTH >= 6  # a real record with per-layer diagnostics nests five levels


def _one_line_refusal(call, folder):
    with pytest.raises(fnn.FnnInputError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and os.path.join(folder, "record.json") in message, message
    return message


@pytest.mark.parametrize("shape", list(MALFORMED))
def test_a_malformed_record_is_refused_in_one_line_by_every_reader(trained, shape, tmp_path, capsys):
    folder = shutil.copytree(trained, tmp_path / "run")
    text = MALFORMED[shape]
    (folder / "record.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    _one_line_refusal(lambda: verify_run(folder), str(folder))
    _one_line_refusal(lambda: diff_runs(trained, folder), str(folder))
    _one_line_refusal(lambda: diff_runs(folder / "record.json", trained), str(folder))
    _one_line_refusal(lambda: replay_epoch(folder, 2), str(folder))
    commands = [["verify", str(folder)], ["diff", str(trained), str(folder)], ["replay", str(folder), "--epoch", "1"]]
    if importlib.util.find_spec("matplotlib") is not None:
        commands.append(["plot", str(folder)])
    for command in commands:
        assert fnn.cli.main(command) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "record.json" in err, err
