"""Sample and class weights: no weights and all-ones weights are the same bytes, integer weights are repeated rows
under full-batch training, the loss is sum(w * loss) / sum(w), and every door takes the same spellings."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from toolz import take

import fnn
from fnn.core.losses import class_weights, sample_weights
from fnn.core.scores import Metric
from fnn.run.settings import FLAG, PYTHON, resolve_config
from fnn.train.options import class_weight_of

HERE = os.path.dirname(os.path.abspath(__file__))

NETWORKS = {
    "softmax": lambda: fnn.network([2, 8, 3], activation="tanh"),
    "sigmoid": lambda: fnn.network([2, 8, 1], activation="tanh", loss="binary_cross_entropy"),
    "mse": lambda: fnn.network([2, 8, 3], activation="tanh", output="sigmoid", loss="mse"),
    "quadratic": lambda: fnn.network([2, 8, 3], activation="tanh", output="sigmoid", loss="quadratic"),
}


def _data(kind, n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    y = rng.integers(0, 2 if kind == "sigmoid" else 3, n)
    return x, y


@pytest.mark.parametrize("optimizer", ["sgd", "adam", fnn.optim.chain(fnn.optim.add_l2(1e-3), fnn.optim.sgd(0.1))], ids=["sgd", "adam", "composed"])
@pytest.mark.parametrize("kind", list(NETWORKS))
def test_all_ones_weights_are_the_bytes_of_no_weights(kind, optimizer):
    x, y = _data(kind)
    params = fnn.init_params(NETWORKS[kind](), seed=1)
    lr = None if not isinstance(optimizer, str) else 0.1
    plain = fnn.fit(params, (x, y), epochs=3, optimizer=optimizer, lr=lr, batch_size=16, seed=2, validation=0.2)
    ones = fnn.fit(params, (x, y), epochs=3, optimizer=optimizer, lr=lr, batch_size=16, seed=2, validation=0.2,
                   sample_weight=np.ones(len(y)), class_weight={0: 1.0, 1: 1})
    assert ones.params == plain.params and ones.history == plain.history
    assert not ones.history[-1].weighted


def _in_reference_process(code):
    """Run ``code`` as the reference runs run: one BLAS thread, the recorded kernel; its last line of output."""
    with open(os.path.join(HERE, "reference_runs.json")) as handle:
        reference = json.load(handle)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_CORETYPE": reference["blas"][0]["architecture"]}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return reference["hashes"], result.stdout.strip().splitlines()[-1]


def test_all_ones_weights_keep_the_reference_hashes(tmp_path):
    """The reference runs, given all-ones weights (class weights through the command line, sample weights through
    fnn.fit) and metrics, keep the recorded parameter hashes."""
    folder = tmp_path / "run"
    code = (
        "import hashlib, json, numpy as np, fnn, sys; sys.path.insert(0, %r)\n" % HERE
        + "import reference_runs as r\n"
        + "argv = r.TRAIN_RUNS['adam_dropout_step_decay'] + ['--class-weight', '0:1,1:1,2:1', '--metrics', 'f1_macro,roc_auc', '--train-metrics']\n"
        + f"assert fnn.cli.main(['train', *argv, '--threads', '1', '--out', {str(folder)!r}, '--quiet']) == 0\n"
        + "fit = fnn.fit\n"
        + "fnn.fit = lambda params, data, **k: fit(params, data, sample_weight=np.ones(len(data.labels)), metrics=['log_loss'], **k)\n"
        + f"print(json.dumps([json.load(open({str(folder / 'record.json')!r}))['params_sha256'], r._fit_run()]))\n"
    )
    hashes, line = _in_reference_process(code)
    train_hash, fit_hash = json.loads(line)
    assert train_hash == hashes["adam_dropout_step_decay"]
    assert fit_hash == hashes["fit_adam_dropout_schedule"]


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(list(NETWORKS)), seed=st.integers(0, 10_000), optimizer=st.sampled_from(["sgd", "adam"]))
def test_integer_weights_equal_repeated_rows_full_batch(kind, seed, optimizer):
    x, y = _data(kind, n=25, seed=seed)
    weights = np.random.default_rng(seed).integers(0, 4, len(y))
    weights[0] = max(weights[0], 1)
    params = fnn.init_params(NETWORKS[kind](), seed=seed, dtype="float64")
    x = x.astype(np.float64)
    options = dict(epochs=4, optimizer=optimizer, lr=0.1, batch_size=1000, seed=0)
    weighted = fnn.fit(params, (x, y), sample_weight=weights, **options)
    repeated = fnn.fit(params, (np.repeat(x, weights, axis=0), np.repeat(y, weights)), **options)
    for a, b in zip(weighted.params.arrays(), repeated.params.arrays()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert weighted.history[-1].loss == pytest.approx(repeated.history[-1].loss, rel=1e-9)
    assert weighted.history[-1].accuracy == pytest.approx(repeated.history[-1].accuracy, rel=1e-12)


@pytest.mark.parametrize("kind", list(NETWORKS))
def test_the_weighted_loss_is_the_weighted_mean_of_the_sample_losses(kind):
    x, y = _data(kind, n=7)
    params = fnn.init_params(NETWORKS[kind](), seed=3)
    weights = np.array([0.5, 2.0, 0.0, 1.0, 3.0, 1.5, 1.0])
    each = [fnn.evaluate(params, x[i : i + 1], y[i : i + 1])["loss"] for i in range(len(y))]
    weighted = fnn.evaluate(params, x, y, sample_weight=weights)
    assert weighted["loss"] == pytest.approx(np.sum(weights * each) / weights.sum(), rel=1e-5)
    right = fnn.predict_classes(params, x) == y
    assert weighted["accuracy"] == pytest.approx(np.sum(weights * right) / weights.sum())


def test_the_gradient_rows_are_scaled_by_w_over_the_sum():
    # The weighted gradient equals a finite difference of the weighted loss, for a fused and a non-fused loss.
    for kind in ("softmax", "mse"):
        x, y = _data(kind, n=5)
        x = x.astype(np.float64)
        params = fnn.init_params(NETWORKS[kind](), seed=0, dtype="float64")
        weights = np.array([1.0, 3.0, 0.5, 0.0, 2.0])
        state = fnn.fit(params, (x, y), epochs=1, lr=1.0, batch_size=5, sample_weight=weights, shuffle=False)
        step = fnn.map_arrays(lambda new, old: old - new, state.params, params)  # lr 1: the gradient itself
        h = 1e-6
        b = params.layers[0].b
        for index in range(len(b)):
            bumped = [b.copy(), b.copy()]
            bumped[0][index] += h
            bumped[1][index] -= h
            values = [fnn.evaluate(fnn.replace_layer(params, 0, b=v), x, y, sample_weight=weights)["loss"] for v in bumped]
            assert step.layers[0].b[index] == pytest.approx((values[0] - values[1]) / (2 * h), rel=1e-5, abs=1e-8)


def test_class_weights_balanced_and_by_mapping():
    labels = np.array([0, 0, 0, 1])
    np.testing.assert_allclose(class_weights("balanced", labels, 3), [4 / 6, 2.0, 1.0])  # absent class: 1
    np.testing.assert_allclose(sample_weights(labels, 4, [1, 2, 1, 1], {1: 5}, 2), [1, 2, 1, 5])
    assert sample_weights(labels, 4, None, {0: 1, 1: 1.0}, 2) is None
    for bad, message in (({5: 1.0}, "classes 0..1"), ({0: -1.0}, "non-negative"), ("heavy", "'balanced'")):
        with pytest.raises(fnn.FnnInputError, match=message):
            class_weights(bad, labels, 2)
    with pytest.raises(fnn.FnnInputError, match="one per sample"):
        sample_weights(labels, 4, [1, 2])
    with pytest.raises(fnn.FnnInputError, match="finite non-negative"):
        sample_weights(labels, 4, [1, -2, 1, 1])
    with pytest.raises(fnn.FnnInputError, match="positive sum"):
        sample_weights(labels, 4, [0, 0, 0, 0])


def test_a_loss_without_per_sample_values_refuses_weights_clearly():
    mine = fnn.Loss("mine", lambda a, y: np.mean((a - y) ** 2), lambda a, y: 2 * (a - y) / a.size)
    params = fnn.init_params(fnn.network([2, 1], output="identity", loss=mine), seed=0)
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    with pytest.raises(fnn.FnnInputError, match="no per_sample losses"):
        fnn.fit(params, (x, y), epochs=1, sample_weight=[1, 2, 1, 1])


def test_class_weight_is_refused_for_regression():
    params = fnn.init_params(fnn.network([2, 1], output="identity", loss="mse"), seed=0)
    with pytest.raises(fnn.FnnInputError, match="regression"):
        fnn.fit(params, (np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)), epochs=1, class_weight="balanced")


def test_chosen_metrics_per_epoch_and_early_stopping_on_them():
    data = fnn.data.moons(200, noise=0.3, seed=0)
    start = fnn.init_params(fnn.network([2, 8, 1], activation="tanh", loss="binary_cross_entropy"), seed=0)
    misses = Metric("misses", lambda t, p, sample_weight=None: float(np.average(t != p, weights=sample_weight)), greater_is_better=False)
    state = fnn.fit(start, data, epochs=30, lr=0.5, seed=0, validation=0.25, metrics=["f1_macro", misses],
                    train_metrics=True, patience=3, monitor="val_misses", class_weight={1: 2.0})
    last = state.history[-1]
    assert set(last.metrics) == {"f1_macro", "misses", "val_f1_macro", "val_misses"} and last.weighted
    assert last.value("val_misses") == min(state.history.column("val_misses"))  # lower is better, as it said
    assert state.history.best_epoch("val_misses", higher_is_better=False).epoch == state.epoch
    # the history round-trips through dicts (records, checkpoints, --json)
    assert fnn.History([fnn.EpochRecord(**r) for r in state.history.to_dicts()]) == state.history
    with pytest.raises(fnn.FnnInputError, match="monitor' argument of fnn.fit must be one of .*val_NAME of a metric.*Got 'val_f2'"):
        fnn.fit(start, data, epochs=1, monitor="val_f2", patience=1, validation=0.2)
    best, _ = fnn.early_stopping(take(8, fnn.iterate_epochs(start, data, lr=0.5, seed=0, validation=0.2, metrics="roc_auc")), 2, "val_roc_auc")
    assert best.history[-1].value("val_roc_auc") == max(best.history.column("val_roc_auc"))


def test_a_regression_metric_on_a_classifier_is_refused():
    start = fnn.init_params(fnn.network([2, 3]), seed=0)
    with pytest.raises(fnn.FnnInputError, match="metrics for a classifier"):
        fnn.fit(start, _data("softmax"), epochs=1, validation=0.2, metrics=["mae"])


def test_every_door_spells_class_weights_the_same():
    flag = resolve_config(({"class_weight": "0:1,1:5"}, FLAG)).class_weight
    toml = resolve_config(({"class_weight": {"0": 1, "1": 5}}, PYTHON)).class_weight
    python = resolve_config(({"class_weight": {0: 1.0, 1: 5.0}}, PYTHON)).class_weight
    assert flag == toml == python == "0:1.0,1:5.0" and class_weight_of(flag) == {0: 1.0, 1: 5.0}
    assert resolve_config(({"class-weight": "Balanced"}, FLAG)).class_weight == "balanced"
    assert resolve_config(({"metrics": "f1_macro, roc_auc", "monitor": "val_f1_macro"}, FLAG)).metrics == ("f1_macro", "roc_auc")
    for values, message in (({"class_weight": "0:x"}, "class:weight pairs"), ({"metrics": "f2"}, "metric names"),
                            ({"monitor": "val_roc_auc"}, "add it to metrics"), ({"sample_weight": "w"}, "csv:PATH"),
                            ({"metrics": "roc_auc", "monitor": "roc_auc"}, "only with train_metrics")):
        with pytest.raises(fnn.FnnInputError, match=message):
            resolve_config((values, FLAG))


def test_weighted_run_is_recorded_verified_and_replayed(tmp_path):
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    rows = [f"{a:.4f},{b:.4f},{w},{int(a + b > 0)}" for (a, b), w in zip(x, rng.integers(1, 4, 80))]
    path.write_text("a,b,w,label\n" + "\n".join(rows) + "\n")
    folder = tmp_path / "run"
    argv = ["train", "--data", f"csv:{path}", "--sample-weight", "w", "--class-weight", "balanced", "--hidden", "4",
            "--epochs", "2", "--metrics", "balanced_accuracy", "--keep-checkpoints", "--out", str(folder), "--quiet"]
    assert fnn.cli.main(argv) == 0
    record = json.loads((folder / "record.json").read_text())
    weights = record["data"]["weights"]
    assert weights["class_weight"] == "balanced" and weights["sample_weight"] == "w" and len(weights["train_sha256"]) == 64
    assert record["network"].startswith("2-4-1")  # the weight column is not a feature
    assert "balanced_accuracy" in record["validation_metrics"] and record["history"][-1]["weighted"] is True
    assert fnn.verify_run(str(folder)).matches
    assert fnn.replay_epoch(str(folder), 2).matches
    without = tmp_path / "class-weights-only"
    assert fnn.cli.main([a for a in argv if a not in ("--sample-weight", "w")][:-3] + ["--out", str(without), "--quiet"]) == 0
    other = json.loads((without / "record.json").read_text())
    assert other["params_sha256"] != record["params_sha256"] and other["data"]["weights"]["train_sha256"] is None


def test_the_imbalance_script_shows_balanced_weights_raising_balanced_accuracy():
    script = os.path.join(HERE, "..", "scripts", "class_weights_imbalanced.py")
    done = subprocess.run([sys.executable, script, "--seeds", "2"], capture_output=True, text=True, check=True, timeout=600)
    rows = {line.split("  ")[0]: line.split() for line in done.stdout.splitlines()[2:]}
    plain, balanced = rows["no weights"], rows["class_weight=balanced"]
    assert float(balanced[1]) > float(plain[2]) + 0.03  # mean balanced accuracy: row = label, mean, +-, std, ...
