"""Judging real reruns: a fresh rerun matches; changed data or threads are named as the reason."""

import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import fnn
from fnn.data.sources import load_train_test
from fnn.proof.verify import UNEXPLAINED, judge_rerun
from fnn.run import run
from fnn.run.provenance import environment, fingerprints

CONFIG = {"data": "iris", "hidden": [5], "epochs": 2, "batch_size": 16, "seed": 0}


def _run(data):
    """A run as the run record will hold it: the record, with the environment and data fingerprints added."""
    with threadpool_limits(1):
        record = run(CONFIG, data=data).record
        return {**record, "environment": environment(), "data": fingerprints(data[0])}


@pytest.fixture(scope="module")
def data():
    return load_train_test("iris", seed=0, test_fraction=0.2)


def test_a_fresh_rerun_matches(data):
    record = _run(data)
    rerun = _run(data)
    result = judge_rerun(record, rerun)
    assert result.matches and result.reasons == () and result.differences == ()


def test_changed_data_is_named_when_the_params_differ(data):
    record = _run(data)
    train, test = data
    features = np.array(train.features)
    features[0, 0] += 0.5
    edited = (fnn.data.Dataset(features, train.labels, train.class_names, train.name), test)
    rerun = _run(edited)
    result = judge_rerun(record, rerun)
    assert not result.matches
    assert len(result.reasons) == 1 and result.reasons[0].startswith("data: the train data differ")
    named = [line.partition(":")[0] for line in result.differences]
    assert "params_sha256" in named and "data.train.sha256" in named and "history epoch 1 loss" in named


def test_a_changed_thread_count_is_named(data):
    record = _run(data)
    env = environment()
    current = {**env, "blas": {**env["blas"], "threads": 2}}
    result = judge_rerun(record, {**record, "params_sha256": "0" * 64, "environment": current})
    assert not result.matches and result.reasons == ("BLAS thread count: 1 recorded, 2 now",)
    assert result.differences == (f"params_sha256: {record['params_sha256']!r} recorded, {'0' * 64!r} rerun",)
    noted = judge_rerun(record, {**record, "environment": current})  # noted, yet matching
    assert noted.matches and noted.reasons == ("BLAS thread count: 1 recorded, 2 now",)


def test_a_mismatch_nothing_explains_says_so(data):
    record = _run(data)
    result = judge_rerun(record, {**record, "params_sha256": "0" * 64})
    assert result.reasons == (UNEXPLAINED,)
    with pytest.raises(fnn.FnnInputError, match="'record'"):
        judge_rerun({"history": []}, record)
    with pytest.raises(fnn.FnnInputError, match="'rerun'"):
        judge_rerun(record, None)


def test_every_run_of_a_halving_sweep_verifies_those_a_rung_stopped_included(tmp_path):
    from fnn.run import Halving
    from fnn.run.sweep import sweep

    out = tmp_path / "halving"
    sweep({"data": "iris", "hidden": [4], "epochs": 3}, {"lr": [0.01, 0.1, 0.3]}, [0], out=str(out),
          engine="sequential", halving=Halving(min_epochs=1, factor=3))
    records = {run.name: json.loads((run / "record.json").read_text()) for run in (out / "runs").iterdir()}
    assert sorted(record.get("rung_epochs") for record in records.values() if "rung_epochs" in record) == [1, 1]
    for name in records:
        verdict = fnn.verify_run(out / "runs" / name)
        assert verdict.matches, (name, verdict.differences)
