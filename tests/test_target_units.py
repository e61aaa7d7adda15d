"""A regression trained on standardised targets answers in the targets' own units at every door: the record's test
metrics, Model.predict and Model.evaluate, ``fnn predict``, ``fnn evaluate`` and ``fnn verify`` agree."""

import contextlib
import io
import json
import os

import numpy as np
import pytest

import fnn
from fnn.proof.checks import verify_run
from fnn.run.engine import run
from fnn.store.model import Model, evaluate_in_target_units, in_target_units, load_model
from fnn.store.run_folder import RunFolder


def _prices(path, rows=200):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 2))
    y = 50_000 + 8_000 * x[:, 0] - 2_000 * x[:, 1] + 500 * rng.normal(size=rows)
    path.write_text("a,b,target\n" + "".join(f"{a:.4f},{b:.4f},{v:.0f}\n" for (a, b), v in zip(x, y)))
    return x, y


def _cli(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = fnn.cli.main(list(argv))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prices")
    x, y = _prices(folder / "prices.csv")
    run_folder = str(folder / "run")
    code, _ = _cli("train", "--data", f"csv:{folder / 'prices.csv'}", "--epochs", "10", "--out", run_folder, "--quiet")
    assert code == 0
    return folder, run_folder, x, y


def test_the_model_carries_the_target_statistics_and_predicts_in_their_units(trained):
    folder, run_folder, x, y = trained
    model = load_model(run_folder)
    assert model.targets is not None and abs(float(model.targets.mean[0]) - 50_000) < 2_000
    predicted = model.predict({"a": x[:, 0], "b": x[:, 1]})
    assert predicted.shape == (len(y),) and np.corrcoef(predicted, y)[0, 1] > 0.95
    assert np.median(np.abs(predicted - y)) < 3_000  # prices, not standardised values near 0


def test_record_evaluate_and_the_command_line_agree_in_target_units(trained):
    folder, run_folder, x, y = trained
    recorded = RunFolder(run_folder).read_record()["final_metrics"]
    assert sorted(recorded) == ["loss", "mae", "mse", "r2"] and recorded["mse"] > 1e5 and recorded["r2"] > 0.9
    code, out = _cli("evaluate", run_folder, "--json")
    evaluated = json.loads(out)
    assert code == 0 and {k: evaluated[k] for k in recorded} == recorded
    code, out = _cli("predict", run_folder, str(folder / "prices.csv"))
    values = np.array([float(line.split(",")[1]) for line in out.splitlines()[1:]])
    assert code == 0 and np.allclose(values, load_model(run_folder).predict(str(folder / "prices.csv")), rtol=1e-5)
    assert verify_run(run_folder).matches


def test_the_target_statistics_survive_save_and_load(tmp_path):
    params = fnn.init_params(fnn.network([2, 3, 1], output="identity", loss="mse"), seed=0)
    targets = fnn.data.Standardizer(np.array([100.0], np.float32), np.array([10.0], np.float32))
    model = Model(fnn.TrainState(params, None), {}, None, (), (), targets)
    path = os.path.join(tmp_path, "m.npz")
    fnn.save(path, model)
    loaded = fnn.load(path)
    assert loaded.targets == targets and sorted(model.extras()) == ["target_mean", "target_scale"]
    x = np.array([[0.5, -1.0]])
    assert np.allclose(loaded.predict(x), fnn.predict(params, x.astype(np.float32))[:, 0] * 10 + 100)


def test_in_target_units_folds_the_inverse_into_the_output_layer():
    params = fnn.init_params(fnn.network([3, 4, 2], output="identity", loss="mse"), seed=2)
    targets = fnn.data.Standardizer(np.array([5.0, -3.0]), np.array([2.0, 0.5]))
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    unscaled = fnn.predict(params, x) * targets.scale + targets.mean
    assert np.allclose(fnn.predict(in_target_units(params, targets), x), unscaled, rtol=1e-5)
    assert in_target_units(params, None) is params
    y = unscaled + 1.0
    metrics = evaluate_in_target_units(params, x, y, targets)
    assert np.isclose(metrics["mae"], 1.0, rtol=1e-4) and np.isclose(metrics["mse"], 1.0, rtol=1e-4)
    with pytest.raises(fnn.FnnInputError, match="identity output.*Got 'relu'"):
        in_target_units(fnn.init_params(fnn.network([3, 2], loss="mse"), seed=0), targets)


def test_an_export_answers_in_the_targets_units(tmp_path):
    pytest.importorskip("safetensors", reason="safetensors (the safetensors extra) is not installed")
    from fnn.interop import from_safetensors, to_safetensors

    params = fnn.init_params(fnn.network([2, 3, 1], output="identity", loss="mse"), seed=0)
    model = Model(fnn.TrainState(params, None), targets=fnn.data.Standardizer(np.array([1_000.0]), np.array([50.0])))
    path = str(tmp_path / "m.safetensors")
    to_safetensors(model, path)
    x = np.array([[0.5, -1.0]], np.float32)
    assert np.allclose(fnn.predict(from_safetensors(path, output="identity"), x)[:, 0], model.predict(x), rtol=1e-5)


def test_a_halving_sweep_records_a_regressions_test_metrics_as_its_solo_run_does():
    from fnn.run.sweep import sweep

    base = {"data": "sine", "hidden": [16], "epochs": 2}
    result = sweep(base, {"lr": [0.1, 0.05]}, [0], engine="sequential", halving={"min_epochs": 1, "factor": 2})
    solo = run({**base, **result.chosen, "seed": 0}).record
    assert result.records[0]["params_sha256"] == solo["params_sha256"]
    assert result.records[0]["final_metrics"] == solo["final_metrics"] and solo["final_metrics"]["r2"] > 0.5
