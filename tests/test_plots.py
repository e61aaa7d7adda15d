"""Plots are figures worth looking at: read back from their axes and from the PNG pixels."""

import os

import numpy as np
import pytest

import fnn
from fnn.data import fit_standardizer, standardize

pytest.importorskip("matplotlib")
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from fnn.observe import plots
from fnn.observe.run_plots import write_plots


@pytest.fixture(scope="module")
def blobs_model():
    """A 3-class classifier trained on standardised blobs shifted far from the origin (data units matter)."""
    data = fnn.data.blobs(300, seed=0)
    raw = data.features * 10 + np.float32(100)
    stats = fit_standardizer(raw)
    params = fnn.init_params(fnn.network([2, 16, 3], activation="tanh"), seed=0)
    state = fnn.fit(params, (standardize(raw, stats).astype(np.float32), data.labels), epochs=30,
                    optimizer=fnn.optim.adam(0.02), batch_size=32, seed=0)
    return state, raw, data.labels, stats


def _distinct_colours(png, minimum_share=0.002):
    """Colours covering at least ``minimum_share`` of a PNG's pixels (rounded to 1/32)."""
    pixels = (imread(png)[..., :3] * 31).round().reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    return {tuple(c / 31) for c, n in zip(colours, counts) if n >= minimum_share * len(pixels)}


def test_decision_boundary_in_data_units_with_class_colours_and_mistakes(blobs_model, tmp_path):
    state, raw, labels, stats = blobs_model
    figure = plots.decision_boundary(state.params, raw, labels, ("red team", "blue team", "green team"), stats)
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    assert low < raw[:, 0].min() and high > raw[:, 0].max() and low > 5  # the data's units, not standardised ones
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend[:3] == ["red team (100)", "blue team (100)", "green team (100)"]
    wrong = int(np.sum(fnn.predict_classes(state.params, standardize(raw, stats).astype(np.float32)) != labels))
    assert legend[3] == f"misclassified ({wrong})"
    point_colours = [tuple(collection.get_facecolor()[0][:3]) for collection in axis.collections[-4:-1]]
    assert len(set(point_colours)) == 3
    path = plots.save_plot(figure, tmp_path / "boundary.png")
    colours = _distinct_colours(path)
    # the three class colours, or their light region tints, cover a visible part of the image
    tints = [tuple(0.22 * np.array(to_rgb(plots.CLASS_COLOURS[k])) + 0.78) for k in range(3)]
    for tint in tints:
        assert min(np.abs(np.array(c) - tint).max() for c in colours) < 0.05


def test_fitted_curve_follows_a_sine_in_its_own_units(tmp_path):
    data = fnn.data.noisy_sine(300, noise=0.05, seed=0)
    stats = fit_standardizer(data.features)
    params = fnn.init_params(fnn.network([1, 32, 1], activation="tanh", loss="mse"), seed=0)
    state = fnn.fit(params, (standardize(data.features, stats).astype(np.float32), data.labels), epochs=150,
                    optimizer=fnn.optim.adam(0.01), batch_size=32, seed=0)
    figure = plots.fitted_curve(state.params, data.features, data.labels, stats)
    axis = figure.axes[0]
    xs, ys = axis.lines[0].get_data()
    assert xs.min() == pytest.approx(data.features.min()) and xs.max() == pytest.approx(data.features.max())
    assert np.abs(ys - np.sin(xs)).max() < 0.25
    assert axis.get_title().startswith("fitted curve: R^2 0.9")


def test_learning_curves_show_validation_and_the_last_epoch():
    params = fnn.init_params(fnn.network([2, 8, 1], loss="binary_cross_entropy"), seed=0)
    state = fnn.fit(params, fnn.data.moons(200, seed=0), epochs=7, batch_size=32, seed=0, validation=0.2)
    figure = plots.learning_curves(state.history)
    loss_axis, accuracy_axis = figure.axes
    assert [t.get_text() for t in loss_axis.get_legend().get_texts()] == ["train loss", "validation loss"]
    assert accuracy_axis.get_ylabel() == "accuracy"
    train, validation = loss_axis.lines
    assert list(train.get_xdata()) == list(range(1, 8)) and list(validation.get_xdata())[-1] == 7
    assert list(validation.get_ydata()) == state.history.column("val_loss")


def test_several_runs_on_one_chart_labelled_by_name():
    params = fnn.init_params(fnn.network([2, 8, 1], loss="binary_cross_entropy"), seed=0)
    runs = {name: fnn.fit(params, fnn.data.moons(200, seed=0), epochs=3, lr=lr, seed=0, validation=0.2).history
            for name, lr in (("slow", 0.01), ("fast", 0.5))}
    figure = plots.compare_runs(runs)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == ["slow train", "slow validation", "fast train", "fast validation"]
    colours = {line.get_color() for line in figure.axes[0].lines}
    assert len(colours) == 2


def test_activations_and_their_derivatives_as_the_tutorials_draw_them(tmp_path):
    figure = plots.activation_functions()
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["identity", "binary_step", "sigmoid", "tanh", "arctan", "relu", "prelu", "elu", "softplus"]
    relu = figure.axes[titles.index("relu")]
    z, derivative = relu.lines[1].get_data()
    assert derivative[z == 0] == [0] and derivative[z > 0].min() == 1 and derivative[z < 0].max() == 0  # ReLU'(0) = 0
    sigmoid = figure.axes[titles.index("sigmoid")]
    assert sigmoid.lines[1].get_ydata().max() == pytest.approx(0.25)
    path = plots.save_plot(figure, tmp_path / "activations.png")
    assert len(_distinct_colours(path)) >= 3  # white, the two curve colours (and grid grey)
    with pytest.raises(fnn.FnnInputError, match="exists"):
        plots.save_plot(figure, path)


def test_write_plots_draws_what_fits_the_run(blobs_model, tmp_path):
    state, raw, labels, stats = blobs_model
    test = fnn.data.Dataset(standardize(raw, stats).astype(np.float32), labels, ("a", "b", "c"))
    written = write_plots(tmp_path, state, test, fnn.confusion_matrix(labels, labels, 3), stats)
    assert [os.path.basename(p) for p in written] == ["learning_curves.png", "confusion_matrix.png", "decision_boundary.png"]
    for path in written:
        image = imread(path)
        assert image.shape[0] >= 300 and image.shape[1] >= 300 and image[..., :3].std() > 0.05  # not blank


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ModuleNotFoundError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'fnn\[plots\]'"):
        plots.require_matplotlib()
