"""Successive halving: rungs, ranking on validation, and survivors whose final bytes are their solo runs'."""

import numpy as np
import pytest

import fnn
from fnn.run.halving import Halving, halving_of
from fnn.run.sweep import sweep

BASE = {"data": "iris", "hidden": [8], "epochs": 6}


def successive_halving(base, grid, seeds=(0,), min_epochs=1, factor=3, **options):
    """A halving sweep in this process (the default engine would take Dask when it is installed)."""
    return sweep(base, grid, list(seeds), engine="sequential", halving=Halving(min_epochs=min_epochs, factor=factor), **options)


def alone(base, chosen, seed):
    return fnn.run.run({**base, **chosen, "seed": seed, "threads": 1}).record


@pytest.mark.parametrize(
    "extra",
    [
        {"optimizer": "adam", "schedule": "cosine"},
        {"optimizer": "momentum", "schedule": "step_decay:2,0.5", "drop_rate": 0.2},
        {"optimizer": "sgd", "schedule": "linear_warmup:1+exponential:0.8", "clip_norm": 1.0, "l2": 1e-3},
    ],
)
def test_survivors_end_with_the_bytes_of_their_solo_runs(extra):
    base = {**BASE, **extra}
    result = successive_halving(base, {"lr": [0.3, 0.1, 0.03, 0.01]}, [0, 1], min_epochs=1, factor=2)
    assert [rung.epochs for rung in result.rungs] == [1, 2, 4, 6]
    assert [len(rung.ranked) for rung in result.rungs] == [4, 2, 1, 1]
    assert len(result.records) == 2 and [r["seed"] for r in result.records] == [0, 1]
    for record in result.records:
        solo = alone(base, result.chosen, record["seed"])
        assert record["params_sha256"] == solo["params_sha256"]
        assert record["history"] == solo["history"] and record["final_metrics"] == solo["final_metrics"]


def test_each_rung_ranks_on_mean_validation_and_promotes_the_best():
    result = successive_halving(
        {"data": "digits", "hidden": [16], "epochs": 9}, {"lr": [0.3, 0.1, 0.01], "batch_size": [16, 64, 128]}, [0, 1],
        min_epochs=1, factor=3,
    )
    first = result.rungs[0]
    scores = [row["score"] for row in first.ranked]
    assert scores == sorted(scores, reverse=True) and first.promoted == 3 and len(first.ranked) == 9
    assert [row["score"] for row in result.rungs[1].ranked] == sorted((row["score"] for row in result.rungs[1].ranked), reverse=True)
    assert {tuple(sorted(r["config"].items())) for r in result.rungs[1].ranked} == {
        tuple(sorted(r["config"].items())) for r in first.ranked[:3]
    }
    assert result.rungs[-1].ranked[0]["config"] == result.chosen
    assert result.ranked_on == "val_accuracy"
    # 9 configurations x 2 seeds: 1 epoch each, then 3 of them to 3, then 1 to 9.
    assert result.epochs_trained == 2 * (9 * 1 + 3 * 2 + 1 * 6) and result.epochs_full_grid == 2 * 9 * 9
    # Test metrics are the chosen configuration's only: one record per seed, pooled mean and std.
    assert all(r["config"]["lr"] == result.chosen["lr"] for r in result.records)
    assert 0 <= result.chosen_test["accuracy_mean"] <= 1 and result.chosen_test["seeds"] == [0, 1]


def test_the_pick_is_the_full_grids_best_when_rungs_agree():
    grid = {"lr": [1e-4, 0.3]}  # a rate this small cannot lead on any rung
    result = successive_halving({**BASE, "epochs": 4}, grid, [0], min_epochs=1, factor=2)
    full = fnn.run.sweep.sweep({**BASE, "epochs": 4}, grid, [0], engine="sequential")
    assert result.chosen == full.summary[0]["config"] == {"lr": 0.3}
    chosen_record = [r for r in full.records if r["config"]["lr"] == 0.3][0]
    assert chosen_record["params_sha256"] == result.records[0]["params_sha256"]


def test_a_configuration_that_diverges_ranks_last_and_stops():
    with np.errstate(all="ignore"):
        result = successive_halving({**BASE, "epochs": 2, "standardize": False}, {"lr": [1e30, 0.1]}, [0], min_epochs=1, factor=2)
    assert result.rungs[0].ranked[-1] == {"config": {"lr": 1e30}, "score": None}
    assert result.chosen == {"lr": 0.1}


def test_rungs():
    assert Halving(1, 3).rungs(27) == [1, 3, 9, 27]
    assert Halving(10, 3).rungs(10) == [10]
    assert Halving(4, 2).rungs(30) == [4, 8, 16, 30]


@pytest.mark.parametrize("given, message", [
    ({"min_epoch": 2}, "Unknown halving key 'min_epoch'. Did you mean 'min_epochs'? Known: ['min_epochs', 'factor']."),
    ({"factor": 1}, "The 'factor' argument of Halving must be an int >= 2; got 1."),
    ({"factor": True}, "The 'factor' argument of Halving must be an int; got True."),
    ({"min_epochs": "x"}, "The 'min_epochs' argument of Halving must be an int; got 'x'."),
    (3, "halving must be a Halving, a dict of min_epochs and factor, or None; got 3."),
])
def test_a_halving_given_as_a_dict_is_checked_by_name(given, message):
    with pytest.raises(fnn.FnnInputError) as error:
        sweep(BASE, {"lr": [0.1, 0.2]}, [0], engine="sequential", halving=given)
    assert str(error.value) == message
    assert halving_of({"min_epochs": 2, "factor": 4}) == Halving(2, 4) and halving_of(None) is None


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: successive_halving({**BASE, "patience": 2}, {"lr": [0.1, 0.2]}), "patience"),
        (lambda: successive_halving(BASE, {"epochs": [2, 4]}), "epochs"),
        (lambda: successive_halving(BASE, {"lr": [0.1, 0.2]}, factor=1), "factor"),
        (lambda: successive_halving(BASE, {"lr": [0.1, 0.2]}, min_epochs=0), "min_epochs"),
        (lambda: successive_halving(BASE, {"lr": [0.1, 0.2]}, min_epochs=7), "min_epochs"),
    ],
)
def test_refusals_name_the_setting(call, match):
    with pytest.raises(fnn.FnnInputError, match=match):
        call()
