"""An epoch's batch indices and dropout masks, recreated alone, are the ones training used; the kept per-epoch
checkpoints a replay starts from and compares with are the ones the run's record names."""

import contextlib
import hashlib
import io
import json
import shutil

import numpy as np
import pytest

import fnn
from fnn.proof.checks import replay_epoch, verify_run
from fnn.proof.replay import epoch_batches, epoch_plan
from fnn.store.checkpoint import load_checkpoint, write_checkpoint


def _data():
    data = fnn.data.moons(90, noise=0.2, seed=3)
    return data.features.astype(np.float64), data.labels


def _sgd_epoch_by_hand(params, x, y, plan, lr):
    """One epoch of plain SGD on a relu-dropout-softmax network, written out in NumPy from the plan alone."""
    (w1, b1), (w2, b2) = [(layer.w.copy(), layer.b.copy()) for layer in params.layers]
    for index, rows in enumerate(plan.batches):
        xb, yb = x[rows], y[rows]
        mask = plan.masks(index)[0]
        z1 = xb @ w1 + b1
        h = np.maximum(z1, 0) * mask
        z2 = h @ w2 + b2
        p = np.exp(z2 - z2.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        delta2 = (p - np.eye(2)[yb]) / len(rows)
        dz1 = (delta2 @ w2.T) * mask * (z1 > 0)
        w2, b2 = w2 - lr * (h.T @ delta2), b2 - lr * delta2.sum(axis=0)
        w1, b1 = w1 - lr * (xb.T @ dz1), b1 - lr * dz1.sum(axis=0)
    return [w1, b1, w2, b2]


def test_a_middle_epoch_recreated_from_its_plan_equals_training():
    x, y = _data()
    spec = fnn.network([2, 12, 2], activation="relu")
    start = fnn.init_params(spec, seed=1, dtype="float64")
    options = {"lr": 0.3, "batch_size": 16, "drop_rate": 0.4}
    after_1 = fnn.fit(start, (x, y), epochs=1, seed=7, **options)
    after_3 = fnn.fit(start, (x, y), epochs=3, seed=7, **options)
    after_2 = fnn.fit(after_1, (x, y), epochs=1, **options)
    plan = epoch_plan(len(x), 16, seed=7, epoch=1, spec=spec, drop_rate=0.4, dtype="float64")
    assert plan.first_step == after_1.step == 6
    by_hand = _sgd_epoch_by_hand(after_1.params, x, y, plan, 0.3)
    for got, want in zip(by_hand, after_2.params.arrays()):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # The run continued alone is the run itself, and a wrong plan (next epoch's draws) is far off.
    assert fnn.fit(after_2, (x, y), epochs=1, **options).params == after_3.params
    wrong = _sgd_epoch_by_hand(after_1.params, x, y, epoch_plan(len(x), 16, 7, 2, spec=spec, drop_rate=0.4, first_step=6), 0.3)
    assert max(np.max(np.abs(a - b)) for a, b in zip(wrong, after_2.params.arrays())) > 1e-3


def test_batches_are_sorted_chunks_of_the_epochs_permutation():
    order = fnn.epoch_permutation(23, seed=5, epoch=4)
    batches = epoch_batches(23, 5, seed=5, epoch=4)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    expected = [np.sort(order[i : i + 5]) for i in range(0, 23, 5)]
    assert all(np.array_equal(got, want) for got, want in zip(batches, expected))
    assert [b.tolist() for b in epoch_batches(5, 2, seed=5, epoch=4, shuffle=False)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in epoch_batches(4, 8, seed=0, epoch=0)] == [[0, 1, 2, 3]]


def test_masks_are_those_of_the_global_step_and_absent_without_dropout():
    spec = fnn.network([3, 4, 5, 2])
    plan = epoch_plan(10, 4, seed=2, epoch=3, spec=spec, drop_rate=[0.5, 0.0])
    assert plan.first_step == 9
    masks = plan.masks(2)
    direct = fnn.dropout_masks(spec, 2, [0.5, 0.0], seed=2, epoch=3, step=11, dtype=np.float32)
    assert masks[0].shape == (2, 4) and np.array_equal(masks[0], direct[0]) and masks[1] is None
    assert np.array_equal(plan.masks(-1)[0], masks[0])
    assert epoch_plan(10, 4, seed=2, epoch=3, spec=spec).masks(0) is None


def test_bad_arguments_are_refused_by_name():
    spec = fnn.network([3, 4, 2])
    with pytest.raises(fnn.FnnInputError, match="'epoch'"):
        epoch_batches(10, 4, seed=0, epoch=-1)
    with pytest.raises(fnn.FnnInputError, match="'batch_size'"):
        epoch_batches(10, 0, seed=0, epoch=0)
    with pytest.raises(fnn.FnnInputError, match="'spec'"):
        epoch_plan(10, 4, 0, 0, drop_rate=0.5)
    with pytest.raises(fnn.FnnInputError, match="'first_step'"):
        epoch_plan(10, 4, 0, 0, first_step=-2)
    with pytest.raises(fnn.FnnInputError, match="'drop_rate'"):
        epoch_plan(10, 4, 0, 0, spec=spec, drop_rate=1.5)
    with pytest.raises(fnn.FnnInputError, match="'index'"):
        epoch_plan(10, 4, 0, 0, spec=spec, drop_rate=0.5).masks(3)


# -- kept per-epoch checkpoints are bound to the record ------------------------------------------------------------

_TRAIN = ["--data", "iris", "--hidden", "4", "--epochs", "3", "--batch-size", "64", "--keep-checkpoints", "--quiet"]


def _train(*args):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert fnn.cli.main(["train", *map(str, args)]) == 0


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kept(run):
    return json.loads((run / "record.json").read_text())["kept_checkpoints"]


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("kept") / "run"
    _train(*_TRAIN, "--out", run)
    return run


def test_the_record_names_every_kept_checkpoint_by_its_bytes(kept_run):
    files = sorted((kept_run / "checkpoints").iterdir())
    assert _kept(kept_run) == {path.name: _sha(path) for path in files} and len(files) == 3


def _swap(run, name):  # another epoch's checkpoint in its place
    other = "epoch-0001.npz" if name != "epoch-0001.npz" else "epoch-0002.npz"
    shutil.copyfile(run / "checkpoints" / other, run / "checkpoints" / name)


def _resave(run, name):  # the same epoch re-saved with its configuration edited (a valid file of other bytes)
    path = run / "checkpoints" / name
    stored = load_checkpoint(path)
    path.unlink()
    write_checkpoint(path, stored.state, config={**(stored.config or {}), "lr": 0.5})  # a forgery: past the run folder, as a user by hand


def _edit_bytes(run, name):  # one byte of the file flipped
    path = run / "checkpoints" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("epoch", [1, 2, 3])
@pytest.mark.parametrize("change", [_swap, _resave, _edit_bytes])
def test_verify_and_replay_refuse_a_swapped_or_edited_kept_checkpoint_naming_both_hashes(kept_run, tmp_path, epoch, change, capsys):
    run = shutil.copytree(kept_run, tmp_path / "run")
    name = f"epoch-{epoch:04d}.npz"
    change(run, name)
    recorded, on_disk = _kept(run)[name], _sha(run / "checkpoints" / name)
    assert recorded != on_disk
    replays = [e for e in (epoch, epoch + 1) if e <= 3]  # an epoch's replay reads its checkpoint and the one before
    calls = [lambda: verify_run(run)] + [lambda e=e: replay_epoch(run, e) for e in replays]
    for call in calls:
        with pytest.raises(fnn.FnnInputError) as refused:
            call()
        message = str(refused.value)
        assert "\n" not in message and str(run / "checkpoints" / name) in message and recorded in message and on_disk in message
    for command in (["verify", run], *(["replay", run, "--epoch", e] for e in replays)):
        assert fnn.cli.main(list(map(str, command))) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and recorded in err and on_disk in err, err


def test_a_kept_checkpoint_the_record_does_not_name_or_a_missing_one_is_refused(kept_run, tmp_path):
    run = shutil.copytree(kept_run, tmp_path / "run")
    shutil.copyfile(run / "checkpoints" / "epoch-0003.npz", run / "checkpoints" / "epoch-0004.npz")
    with pytest.raises(fnn.FnnInputError, match=r"epoch-0004\.npz \(sha256 [0-9a-f]{64}\) is not the kept checkpoint .* names no such"):
        verify_run(run)
    (run / "checkpoints" / "epoch-0004.npz").unlink()
    (run / "checkpoints" / "epoch-0002.npz").unlink()
    with pytest.raises(fnn.FnnInputError, match=r"epoch-0002\.npz \(no file\) is not the kept checkpoint"):
        verify_run(run)
    assert replay_epoch(run, 1).matches


def test_a_resumed_run_binds_the_kept_checkpoints_before_and_after_it(kept_run, tmp_path):
    run = shutil.copytree(kept_run, tmp_path / "run")
    before = _kept(run)
    _train("--resume", run, "--epochs", "5", "--quiet")
    after = _kept(run)
    assert {name: after[name] for name in before} == before and sorted(after) == [f"epoch-{e:04d}.npz" for e in range(1, 6)]
    assert after == {path.name: _sha(path) for path in (run / "checkpoints").iterdir()}
    assert replay_epoch(run, 4).matches and verify_run(run).matches
    _train(*_TRAIN[:-1], "--epochs", "2", "--overwrite", "--quiet", "--out", run)  # an overwrite binds its own only
    assert sorted(_kept(run)) == ["epoch-0001.npz", "epoch-0002.npz"] and replay_epoch(run, 2).matches


def test_a_run_stopped_before_its_record_binds_its_kept_checkpoints_when_resumed(kept_run, tmp_path):
    run = shutil.copytree(kept_run, tmp_path / "run")
    (run / "record.json").unlink()  # as a run killed after epoch 3 leaves it
    assert replay_epoch(run, 3).matches  # no record: the kept checkpoints load as they are
    _train("--resume", run, "--epochs", "4", "--quiet")
    assert _kept(run) == {path.name: _sha(path) for path in (run / "checkpoints").iterdir()} and len(_kept(run)) == 4
