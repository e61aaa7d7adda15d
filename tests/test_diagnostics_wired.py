"""Diagnostics gathered inside fit's training steps: opt-in, stored in the history, never changing the run."""

import json
import os

import numpy as np
import pytest

import fnn
from fnn.store import load_checkpoint, save_checkpoint
from fnn.train.diagnostics import EpochDiagnostics
from fnn.train.state import EpochRecord, History

# Inputs in [0, 1]: hidden unit 2 has weights -1, -1 and bias -0.1, so z = -x1 - x2 - 0.1 < 0 on every sample; it
# passes no gradient back, so SGD never revives it. Units 1 and 3 are active on most samples.
LAYERS = [([[1.0, -1.0, -0.5], [0.5, -1.0, 1.0]], [0.1, -0.1, 0.2]), ([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]], [0.0, 0.0])]


def _params(dtype=np.float32):
    spec = fnn.network([2, 3, 2], activation="relu")
    return fnn.Params(spec, [fnn.Layer(np.array(w, dtype), np.array(b, dtype)) for w, b in LAYERS])


def _data(n=64):
    x = np.random.default_rng(0).random((n, 2)).astype(np.float32)
    return x, (x[:, 0] > x[:, 1]).astype(np.int64)


def test_a_dead_unit_shows_in_fits_history_and_diagnostics_are_off_by_default():
    state = fnn.fit(_params(), _data(), epochs=3, lr=0.05, batch_size=16, seed=0, diagnostics=True)
    for record in state.history:
        d = record.diagnostics
        assert isinstance(d, EpochDiagnostics)
        assert d.layers[0].dead_fraction == pytest.approx(1 / 3)  # exactly unit 2
        assert (d.steps, d.samples, d.sampled_steps) == (4, 64, 1)  # norms on step 1 of every 20
        assert d.lr_first == d.lr_last == pytest.approx(0.05)
        assert d.layers[1].dead_fraction is None and d.layers[0].grad_norm > 0
    assert state.history[-1].diagnostics.layers[0].weight_norm == pytest.approx(np.linalg.norm(state.params.layers[0].w))
    plain = fnn.fit(_params(), _data(), epochs=3, lr=0.05, batch_size=16, seed=0)
    assert all(record.diagnostics is None for record in plain.history)
    assert "diagnostics" not in plain.history[-1].to_dict()


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
def test_diagnostics_do_not_change_a_single_bit_of_the_run(optimizer):
    spec = fnn.network([64, 32, 16, 10], activation=["relu", "tanh", "softmax"])
    data = fnn.data.digits()
    options = {"epochs": 2, "optimizer": optimizer, "lr": 0.01, "batch_size": 32, "seed": 3, "drop_rate": 0.2, "validation": 0.2}
    on = fnn.fit(fnn.init_params(spec, seed=1), data, diagnostics=True, **options)
    off = fnn.fit(fnn.init_params(spec, seed=1), data, **options)
    for a, b in zip(on.params.arrays(), off.params.arrays()):
        assert a.tobytes() == b.tobytes()
    metrics = [{k: v for k, v in r.to_dict().items() if k != "diagnostics"} for r in on.history]
    assert metrics == off.history.to_dicts()
    assert on.history[-1].diagnostics.layers[1].saturated_fraction is not None  # the tanh layer is watched


def test_the_learning_rate_in_use_follows_a_schedule():
    schedule = fnn.optim.step_decay(0.1, every=4, factor=0.5)  # 4 steps: one epoch of 64 samples in batches of 16
    state = fnn.fit(_params(), _data(), epochs=2, optimizer=fnn.optim.sgd(schedule), batch_size=16, seed=0, diagnostics=True)
    first, second = (record.diagnostics for record in state.history)
    assert (first.lr_first, first.lr_last, second.lr_first, second.lr_last) == pytest.approx((0.1, 0.1, 0.05, 0.05))


def test_history_with_diagnostics_round_trips_through_json_and_checkpoints(tmp_path):
    state = fnn.fit(_params(), _data(), epochs=2, lr=0.05, batch_size=16, seed=0, diagnostics=True)
    dicts = json.loads(json.dumps(state.history.to_dicts()))
    assert History(tuple(EpochRecord(**d) for d in dicts)) == state.history
    path = os.path.join(tmp_path, "c.npz")
    save_checkpoint(path, state)
    assert load_checkpoint(path).state.history == state.history
    resumed = fnn.fit(load_checkpoint(path).state, _data(), epochs=1, lr=0.05, batch_size=16, diagnostics=True)
    assert len(resumed.history) == 3 and resumed.history[-1].diagnostics.layers[0].dead_fraction == pytest.approx(1 / 3)


def test_diagnostics_must_be_a_bool():
    for bad in ("maybe", 2, None):  # words as TOML and the command line take them ("yes", "off") are read alike
        with pytest.raises(fnn.FnnInputError, match="'diagnostics' argument of fnn.fit must be true or false"):
            fnn.fit(_params(), _data(), epochs=1, diagnostics=bad)
