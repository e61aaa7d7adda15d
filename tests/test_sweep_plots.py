"""``fnn plot SWEEP``: a sweep's learning curves as the mean over seeds with a band, read back from the figure's data."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from fnn.cli import main
from fnn.errors import FnnInputError
from fnn.observe import plots
from fnn.observe.run_plots import sweep_histories
from fnn.run.sweep import sweep


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sweep") / "s")
    sweep({"data": "iris", "hidden": [4], "epochs": 4}, {"lr": [0.3, 0.03]}, [0, 1, 2], engine="sequential", out=out)
    return out


def _curves(out):
    """lr -> (seeds x epochs) validation loss and accuracy, read from the records themselves."""
    curves = {}
    for name in os.listdir(os.path.join(out, "runs")):
        record = json.loads(open(os.path.join(out, "runs", name)).read())
        own = curves.setdefault(record["config"]["lr"], ([], []))
        own[0].append([epoch["val_loss"] for epoch in record["history"]])
        own[1].append([epoch["val_accuracy"] for epoch in record["history"]])
    return {lr: (np.array(loss), np.array(accuracy)) for lr, (loss, accuracy) in curves.items()}


def _band(collection, epochs):
    """The band's low and high edge at each epoch, from the fill's outline."""
    vertices = collection.get_paths()[0].vertices
    return (np.array([vertices[vertices[:, 0] == e, 1].min() for e in epochs]),
            np.array([vertices[vertices[:, 0] == e, 1].max() for e in epochs]))


@pytest.mark.parametrize("band", ["minmax", "std"])
def test_sweep_curves_are_the_mean_over_seeds_with_the_band(swept, band):
    groups = sweep_histories(swept)
    assert sorted(groups) == ["lr=0.03", "lr=0.3"] and all(len(own) == 3 for own in groups.values())
    figure = plots.sweep_curves(groups, band)
    curves = _curves(swept)
    for axis, which in zip(figure.axes, (0, 1)):
        lines = [line for line in axis.lines if line.get_linestyle() == "-"]
        assert len(lines) == 2 and len(axis.collections) == 2
        for line, fill in zip(lines, axis.collections):
            rows = curves[float(line.get_label().split()[0].removeprefix("lr="))][which]
            epochs = line.get_xdata()
            assert list(epochs) == [1, 2, 3, 4]
            np.testing.assert_allclose(line.get_ydata(), rows.mean(axis=0), rtol=1e-12)
            low, high = _band(fill, epochs)
            if band == "minmax":
                np.testing.assert_allclose(low, rows.min(axis=0), rtol=1e-12)
                np.testing.assert_allclose(high, rows.max(axis=0), rtol=1e-12)
            else:
                std = rows.std(axis=0, ddof=1)
                np.testing.assert_allclose(high - low, 2 * std, rtol=1e-9, atol=1e-12)
    assert ("band min to max" if band == "minmax" else "band mean +- std") in figure._suptitle.get_text()


def test_fnn_plot_draws_a_sweep_folder_and_a_halving_one(swept, tmp_path, capsys):
    assert main(["plot", swept]) == 0
    assert os.path.getsize(os.path.join(swept, "learning_curves.png")) > 10_000
    halved = str(tmp_path / "h")
    assert main(["sweep", "--data", "iris", "--hidden", "4", "--epochs", "3", "--grid", "lr=0.3,0.03", "--seeds", "0,1",
                 "--halving", "--factor", "2", "--quiet", "--out", halved]) == 0
    assert main(["plot", halved, "--band", "std", "--out", str(tmp_path / "h.png")]) == 0
    assert os.path.getsize(tmp_path / "h.png") > 10_000
    lengths = {label: [len(h) for h in own] for label, own in sweep_histories(halved).items()}
    assert sorted(lengths.values()) == [[1, 1], [3, 3]]  # the one stopped at the first rung, the chosen one at the budget


def test_a_bad_band_and_an_empty_sweep_folder_are_refused(swept, tmp_path, capsys):
    with pytest.raises(FnnInputError, match="band must be one of minmax, std; got 'iqr'"):
        plots.sweep_curves(sweep_histories(swept), "iqr")
    (tmp_path / "empty" / "runs").mkdir(parents=True)
    assert main(["plot", str(tmp_path / "empty")]) == 2
    assert "no run records in its runs/ folder" in capsys.readouterr().err
