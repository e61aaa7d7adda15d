"""A halving sweep's run records (``runs/ID/record.json``, replaced at each rung a run reaches) are bound to the
sweep's ledger as a grid sweep's are: the main process notes each record's SHA-256 once its rung's task has
arrived, and every reader (resume, plot, verify, diff, replay) refuses an edited one, naming the file, both hashes
and how to recover. A record a rung wrote before the sweep stopped, not yet noted, is refused by the readers with
the advice to resume, and resume runs it again to the same bytes."""

import hashlib
import json
import pathlib
import shutil
import tempfile

import pytest
from test_files_sweep_records import _edited, _fields

import fnn.proof
from fnn.observe.run_plots import sweep_histories
from fnn.run.sweep import sweep
from fnn.store.layout import LEDGER, RECORD, SWEEP_RUNS

BASE = {"data": "iris", "hidden": [4], "epochs": 2}
GRID = {"lr": [0.1, 0.2]}
HALVING = {"min_epochs": 1, "factor": 2}  # rungs of 1 and 2 epochs: one configuration stops at the first


def _sweep(out, **options):
    return sweep(BASE, GRID, [0], engine="sequential", out=out, halving=HALVING, **options)


def _finished():
    out = pathlib.Path(tempfile.mkdtemp()) / "s"
    result = _sweep(out)
    chosen = result.records[0]["run_id"]
    stopped = next(path.name for path in (out / SWEEP_RUNS).iterdir() if path.name != chosen)
    return out, {"chosen": chosen, "stopped at the first rung": stopped}


FINISHED = _finished()  # made once, at collection: its records' fields parametrize the test below


@pytest.fixture
def finished():
    return FINISHED


def _copy(finished, tmp_path, which):
    source, runs = finished
    out = tmp_path / "s"
    shutil.copytree(source, out)
    other = next(run for name, run in runs.items() if name != which)
    return out, out / SWEEP_RUNS / runs[which], out / SWEEP_RUNS / other


READERS = {  # name: a reader of the sweep's records, given (the sweep folder, the edited run's folder, the other's)
    "resume": lambda out, mine, other: _sweep(out, resume=True),
    "plot": lambda out, mine, other: sweep_histories(out),
    "verify": lambda out, mine, other: fnn.proof.verify_run(mine),
    "verify its record.json": lambda out, mine, other: fnn.proof.verify_run(mine / RECORD),
    "diff as RUN_A": lambda out, mine, other: fnn.proof.diff_runs(mine, other),
    "diff as RUN_B": lambda out, mine, other: fnn.proof.diff_runs(other, mine),
    "replay": lambda out, mine, other: fnn.proof.replay_epoch(mine, 1),
}


def _ledger(out):
    return json.loads((out / LEDGER).read_bytes())


def test_the_ledger_names_each_run_folders_record_as_written(finished):
    out, runs = finished
    assert _ledger(out) == {"runs": {f"{run}/{RECORD}": hashlib.sha256((out / SWEEP_RUNS / run / RECORD).read_bytes()).hexdigest()
                                     for run in runs.values()}}


CASES = [(which, field) for which, run in FINISHED[1].items()
         for field in _fields(json.loads((FINISHED[0] / SWEEP_RUNS / run / RECORD).read_bytes()))]


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize(("which", "field"), CASES, ids=[f"{which}-{'.'.join(field)}" for which, field in CASES])
def test_every_field_edited_is_refused_by_every_reader(finished, tmp_path, which, field, reader):
    out, mine, other = _copy(finished, tmp_path, which)
    record = json.loads((mine / RECORD).read_bytes())
    summary = (out / "summary.json").read_bytes()
    if len(field) == 1:
        record[field[0]] = _edited(record[field[0]])
    else:
        record[field[0]] = {**record[field[0]], field[1]: _edited(record[field[0]][field[1]])}
    (mine / RECORD).write_bytes(json.dumps(record, indent=1).encode())
    recorded = _ledger(out)["runs"][f"{mine.name}/{RECORD}"]
    actual = hashlib.sha256((mine / RECORD).read_bytes()).hexdigest()
    assert recorded != actual
    with pytest.raises(fnn.errors.FnnInputError) as caught:
        READERS[reader](out, mine, other)
    message = str(caught.value)
    assert str(mine / RECORD) in message and f"sha256 {actual}" in message and f"sha256 {recorded}" in message, message
    assert f"Delete its run folder {mine}" in message and "--resume" in message and "--overwrite" in message, message
    assert (out / "summary.json").read_bytes() == summary  # refused before anything is written


@pytest.mark.parametrize("which", ["chosen", "stopped at the first rung"])
def test_an_edited_record_deleted_as_the_refusal_says_is_run_again_by_resume_to_the_same_bytes(finished, tmp_path, which):
    out, mine, other = _copy(finished, tmp_path, which)
    before = {path.name: (path / RECORD).read_bytes() for path in (mine, other)}
    record = json.loads(before[mine.name])
    (mine / RECORD).write_text(json.dumps({**record, "history": [{**record["history"][0], "loss": 0}, *record["history"][1:]]}))
    with pytest.raises(fnn.errors.FnnInputError, match="changed since"):
        sweep_histories(out)
    shutil.rmtree(mine)
    result = _sweep(out, resume=True)
    assert result.records[0]["run_id"] == finished[1]["chosen"]
    rerun = json.loads((mine / RECORD).read_bytes())
    assert rerun["params_sha256"] == record["params_sha256"] and rerun.get("rung_epochs") == record.get("rung_epochs")
    kept = json.loads(before[other.name])  # the chosen run's final record is written again with its own timing
    assert {k: v for k, v in json.loads((other / RECORD).read_bytes()).items() if k != "wall_seconds"} == {
        k: v for k, v in kept.items() if k != "wall_seconds"}
    assert _ledger(out)["runs"] == {f"{p.name}/{RECORD}": hashlib.sha256((p / RECORD).read_bytes()).hexdigest() for p in (mine, other)}
    assert sum(len(histories) for histories in sweep_histories(out).values()) == 2


@pytest.mark.parametrize("marked", [True, False], ids=["marked training", "no entry"])
def test_a_record_written_before_the_sweep_stopped_noting_it_is_refused_with_resume_and_run_again_by_resume(finished, tmp_path, marked):
    """A kill between a rung's record and its ledger entry: the ledger still names the previous rung's record (and
    marks the run as training) or nothing; the readers refuse the whole sweep, saying to resume, which reruns it."""
    out, mine, other = _copy(finished, tmp_path, "chosen")
    written = (mine / RECORD).read_bytes()
    ledger = _ledger(out)
    key = f"{mine.name}/{RECORD}"
    if marked:
        ledger["runs"][key], ledger["training"] = "0" * 64, [key]
    else:
        del ledger["runs"][key]
    (out / LEDGER).write_text(json.dumps(ledger))
    for reader in ("plot", "verify", "diff as RUN_A", "replay"):
        with pytest.raises(fnn.errors.FnnInputError, match="no finished rung of the sweep") as caught:
            READERS[reader](out, mine, other)
        assert str(mine / RECORD) in str(caught.value) and "stopped before noting it; resume the sweep (--resume)" in str(caught.value)
    result = _sweep(out, resume=True)
    assert (mine / RECORD).read_bytes() != b"" and json.loads((mine / RECORD).read_bytes())["params_sha256"] == json.loads(written)["params_sha256"]
    assert result.records[0]["params_sha256"] == json.loads(written)["params_sha256"]
    assert _ledger(out) == {"runs": {f"{p.name}/{RECORD}": hashlib.sha256((p / RECORD).read_bytes()).hexdigest() for p in (mine, other)}}
    assert sum(len(histories) for histories in sweep_histories(out).values()) == 2
