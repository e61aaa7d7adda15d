"""Differences between the records of real runs: settings, first divergent epoch, parameters."""

import json

import pytest

import fnn
from fnn.proof.diff import ABSENT, diff_records
from fnn.run import run

BASE = {"data": "iris", "hidden": [6], "epochs": 3, "batch_size": 16, "lr": 0.1, "seed": 0}


def _record(**changes):
    record = run({**BASE, **changes}).record
    return json.loads(json.dumps(record))  # as record.json holds it


@pytest.fixture(scope="module")
def base():
    return _record()


def test_a_changed_seed_and_learning_rate_are_named_and_diverge_at_once(base):
    other = _record(seed=1, lr=0.05)
    difference = diff_records(base, other)
    assert difference.settings == (("lr", 0.1, 0.05), ("seed", 0, 1))
    assert difference.first_divergent_epoch == 1 and "loss" in difference.divergent_metrics
    assert difference.params_equal is False and not difference.identical
    assert difference.environment == ()
    lines = difference.lines()
    assert "setting lr: 0.1 -> 0.05" in lines and "setting seed: 0 -> 1" in lines and "params: different" in lines


def test_a_rerun_is_identical(base):
    difference = diff_records(base, _record())
    assert difference.identical and difference.settings == () and difference.first_divergent_epoch is None
    assert difference.lines()[-2:] == ["history: identical over 3 epochs", "params: equal"]
    assert json.loads(json.dumps(difference.to_dict()))["params_equal"] is True


def test_a_longer_run_diverges_where_the_shorter_one_stopped(base):
    longer = _record(epochs=5)
    difference = diff_records(base, longer)
    assert difference.settings == (("epochs", 3, 5),)
    assert difference.first_divergent_epoch == 4 and difference.epochs == (3, 5)
    assert difference.params_equal is False


def test_histories_are_compared_to_the_last_bit_and_nested_settings_by_path(base):
    nudged = json.loads(json.dumps(base))
    loss = nudged["history"][1]["loss"]
    nudged["history"][1]["loss"] = loss + abs(loss) * 2**-52
    nudged["config"]["extra"] = {"depth": 2}
    nudged["environment"]["blas"] = {**base["environment"]["blas"], "threads": 99}
    difference = diff_records(base, nudged)
    assert difference.first_divergent_epoch == 2 and difference.divergent_metrics == ("loss",)
    assert difference.settings == (("extra.depth", ABSENT, 2),)
    assert difference.environment == (("blas.threads", base["environment"]["blas"]["threads"], 99),)
    assert difference.params_equal is True  # the hash itself was left alone


def test_records_that_are_not_run_records_are_refused(base):
    with pytest.raises(fnn.FnnInputError, match="record_b"):
        diff_records(base, {"config": {}})
    with pytest.raises(fnn.FnnInputError, match="record_a"):
        diff_records([], base)
    unknown = diff_records(base, {**base, "params_sha256": None})
    assert unknown.params_equal is None and "params: unknown" in unknown.lines()[-1]


def test_settings_that_only_observe_a_run_are_listed_apart_and_do_not_make_it_differ(base):
    watched = _record(diagnostics=True)
    difference = diff_records(base, watched)
    assert difference.identical and difference.settings == () and difference.first_divergent_epoch is None
    assert difference.observing == (("diagnostics", False, True),)
    assert "observing diagnostics: False -> True (does not change the run)" in difference.lines()


def test_results_are_compared_entry_by_entry_and_make_the_runs_differ(base):
    edited = json.loads(json.dumps(base))
    edited["final_metrics"]["loss"] += 1.0
    edited["final_metrics"]["confusion_matrix"][0][0] += 1
    edited["epochs_run"] = 7
    difference = diff_records(base, edited)
    assert [name for name, _, _ in difference.results] == ["epochs_run", "final_metrics.confusion_matrix", "final_metrics.loss"]
    assert not difference.identical and difference.params_equal is True and difference.first_divergent_epoch is None
    assert f"result final_metrics.loss: {base['final_metrics']['loss']!r} -> {edited['final_metrics']['loss']!r}" in difference.lines()
    assert diff_records(base, base).results == () and diff_records(base, base).identical
