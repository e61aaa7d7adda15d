"""A sweep's run records are bound to its ledger (``ledger.json``: each finished record's SHA-256 as the sweep wrote
it): every reader (resume, plot, verify, diff) refuses a record whose bytes changed since, naming the file and both
hashes and how to recover; deleting it, as the refusal says, has resume run it again and restore it. A record the
ledger does not name (the sweep stopped before noting it) is run again by resume and refused by the others."""

import hashlib
import json
import re
import shutil

import pytest

import fnn.proof
from fnn.observe.run_plots import sweep_histories
from fnn.run.sweep import sweep
from fnn.store.layout import LEDGER, SWEEP_RUNS

BASE = {"data": "iris", "hidden": [4], "epochs": 1}
GRID = {"lr": [0.1, 0.2]}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "s"
    result = sweep(BASE, GRID, [0], engine="sequential", out=out)
    return out, {record["run_id"]: record for record in result.records}


def _json(value):
    return json.dumps(value).encode()


EDITS = {  # name: the new bytes of one run's record, from (that record, the other run's record)
    "only its run id": lambda mine, other: _json({"run_id": mine["run_id"]}),
    "a list": lambda mine, other: _json([mine]),
    "configuration edited": lambda mine, other: _json({**mine, "config": {**mine["config"], "lr": 0.5}}),
    "run id edited": lambda mine, other: _json({**mine, "run_id": "0" * 16}),
    "the other run's record": lambda mine, other: _json(other),
    "the other run's record renamed": lambda mine, other: _json({**other, "run_id": mine["run_id"]}),
    "strings in the history": lambda mine, other: _json({**mine, "history": ["loss"]}),
    "no config": lambda mine, other: _json({k: v for k, v in mine.items() if k != "config"}),
    "truncated": lambda mine, other: _json(mine)[:40],
    "nested 100,000 deep": lambda mine, other: b"[" * 100_000 + b"]" * 100_000,
    "not UTF-8": lambda mine, other: b"\xff\xfe{}",
    "empty": lambda mine, other: b"",
}


READERS = {  # name: a reader of the sweep's records, given (the sweep folder, the edited record, the other record)
    "resume": lambda out, mine, other: sweep(BASE, GRID, [0], engine="sequential", out=out, resume=True),
    "plot": lambda out, mine, other: sweep_histories(out),
    "verify": lambda out, mine, other: fnn.proof.verify_run(mine),
    "diff as RUN_A": lambda out, mine, other: fnn.proof.diff_runs(mine, other),
    "diff as RUN_B": lambda out, mine, other: fnn.proof.diff_runs(other, mine),
}


def _copy(finished, tmp_path):
    source, records = finished
    out = tmp_path / "s"
    shutil.copytree(source, out)
    mine, other = records.values()
    return out, out / SWEEP_RUNS / f"{mine['run_id']}.json", out / SWEEP_RUNS / f"{other['run_id']}.json"


def _refused_naming_both(out, path, action):
    recorded = json.loads((out / LEDGER).read_bytes())["runs"][path.name]
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert recorded != actual
    summary = (out / "summary.json").read_bytes()
    with pytest.raises(fnn.errors.FnnInputError) as caught:
        action()
    message = str(caught.value)
    assert str(path) in message and f"sha256 {actual}" in message and f"sha256 {recorded}" in message, message
    assert "--resume" in message and "--overwrite" in message and "Delete it" in message
    assert (out / "summary.json").read_bytes() == summary  # refused before anything is written


def _edited(value):
    """``value`` changed, of its own kind (what a hand edit or a wrong tool would do)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, value[0]] if value else [0]
    if isinstance(value, dict):
        return {**value, "edited": 1}
    return 0


def _fields(record):
    """Every field of a record: each top-level key, and each key of a top-level dict (``final_metrics.accuracy``)."""
    out = []
    for key, value in record.items():
        out.append((key,))
        if isinstance(value, dict):
            out += [(key, inner) for inner in value]
    return out


def _record_of_a_sweep():
    result = sweep(BASE, GRID, [0], engine="sequential")
    return result.records[0]


FIELDS = _fields(_record_of_a_sweep())


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("field", FIELDS, ids=[".".join(field) for field in FIELDS])
def test_every_field_edited_is_refused_by_every_reader(finished, tmp_path, field, reader):
    out, mine, other = _copy(finished, tmp_path)
    record = json.loads(mine.read_bytes())
    if len(field) == 1:
        record[field[0]] = _edited(record[field[0]])
    else:
        record[field[0]] = {**record[field[0]], field[1]: _edited(record[field[0]][field[1]])}
    mine.write_bytes(json.dumps(record, indent=1).encode())
    _refused_naming_both(out, mine, lambda: READERS[reader](out, mine, other))


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_resumed_sweep_refuses_a_record_that_is_not_the_one_it_wrote_and_reruns_it_once_deleted(finished, tmp_path, edit):
    out, path, other_path = _copy(finished, tmp_path)
    _, records = finished
    mine, other = records.values()
    path.write_bytes(EDITS[edit](mine, other))
    _refused_naming_both(out, path, lambda: sweep(BASE, GRID, [0], engine="sequential", out=out, resume=True))
    path.unlink()  # as the refusal says: the run is run again, to the same bytes
    result = sweep(BASE, GRID, [0], engine="sequential", out=out, resume=True)
    assert result.skipped == 1  # the other run was kept, this one run again
    rerun = next(record for record in result.records if record["run_id"] == mine["run_id"])
    assert rerun["config"] == mine["config"] and rerun["params_sha256"] == mine["params_sha256"]
    on_disk = json.loads(path.read_bytes())
    assert on_disk["config"] == mine["config"] and on_disk["params_sha256"] == mine["params_sha256"]
    ledger = json.loads((out / LEDGER).read_bytes())["runs"]
    assert ledger == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (path, other_path)}
    summary = json.loads((out / "summary.json").read_bytes())
    assert sorted(row["config"]["lr"] for row in summary["summary"]) == [0.1, 0.2]


def test_a_record_the_ledger_does_not_name_is_run_again_by_resume_and_refused_by_the_others(finished, tmp_path):
    out, mine, other = _copy(finished, tmp_path)
    ledger = json.loads((out / LEDGER).read_bytes())
    del ledger["runs"][mine.name]  # the sweep stopped between writing the record and noting it
    (out / LEDGER).write_text(json.dumps(ledger))
    for reader in ("plot", "verify", "diff as RUN_A", "diff as RUN_B"):
        with pytest.raises(fnn.errors.FnnInputError, match=re.escape(f"{mine}: no finished run of the sweep")):
            READERS[reader](out, mine, other)
    result = sweep(BASE, GRID, [0], engine="sequential", out=out, resume=True)
    assert result.skipped == 1
    assert json.loads((out / LEDGER).read_bytes())["runs"][mine.name] == hashlib.sha256(mine.read_bytes()).hexdigest()


def test_the_ledger_names_each_record_as_written(finished):
    out, records = finished
    ledger = json.loads((out / LEDGER).read_bytes())["runs"]
    assert ledger == {f"{run}.json": hashlib.sha256((out / SWEEP_RUNS / f"{run}.json").read_bytes()).hexdigest() for run in records}


@pytest.mark.parametrize("text", ["", "[]", '{"runs": []}', '{"runs": {"a.json": 1}}', "{"])
def test_a_damaged_ledger_is_refused_naming_it(finished, tmp_path, text):
    out, mine, other = _copy(finished, tmp_path)
    (out / LEDGER).write_text(text)
    with pytest.raises(fnn.errors.FnnInputError, match=re.escape(f"{out / LEDGER}: not a sweep ledger fnn wrote")):
        sweep(BASE, GRID, [0], engine="sequential", out=out, resume=True)
