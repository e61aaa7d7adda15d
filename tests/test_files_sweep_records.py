"""A resumed sweep reads its runs/ records through the one record check and binds each to its name and
configuration: a record of the wrong shape, an edited configuration or run id, another run's record under this
run's name, or bytes that are no JSON is never taken as finished; that run is run again and its record restored."""

import json

import pytest

from fnn.run.sweep import sweep
from fnn.store.layout import SWEEP_RUNS

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


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_resumed_sweep_runs_again_a_run_whose_record_is_not_its_own(finished, tmp_path, edit):
    source, records = finished
    out = tmp_path / "s"
    (out / SWEEP_RUNS).mkdir(parents=True)
    for run, record in records.items():
        (out / SWEEP_RUNS / f"{run}.json").write_bytes((source / SWEEP_RUNS / f"{run}.json").read_bytes())
    mine, other = records.values()
    (out / SWEEP_RUNS / f"{mine['run_id']}.json").write_bytes(EDITS[edit](mine, other))
    result = sweep(BASE, GRID, [0], engine="sequential", out=out, resume=True)
    assert result.skipped == 1  # the other run was kept, this one run again
    rerun = next(record for record in result.records if record["run_id"] == mine["run_id"])
    assert rerun["config"] == mine["config"] and rerun["params_sha256"] == mine["params_sha256"]
    on_disk = json.loads((out / SWEEP_RUNS / f"{mine['run_id']}.json").read_bytes())
    assert on_disk["config"] == mine["config"] and on_disk["params_sha256"] == mine["params_sha256"]
    summary = json.loads((out / "summary.json").read_bytes())
    assert sorted(row["config"]["lr"] for row in summary["summary"]) == [0.1, 0.2]
