"""Diagnostics against values worked out by hand on tiny networks: a dead unit, a saturated unit, norms, ratios."""

import json
import math

import numpy as np
import pytest

import fnn
from fnn.observe.advice import diagnostics_series, warnings_for
from fnn.train.diagnostics import (
    EpochDiagnostics,
    LayerDiagnostics,
    accumulate,
    finish,
    gradient_norms,
    start_diagnostics,
    wants_norms,
)


def _params(spec, layers):
    return fnn.Params(spec, [fnn.Layer(np.array(w, np.float64), np.array(b, np.float64)) for w, b in layers])


def _hidden(params, x):
    """The hidden layer's output, computed here independently of fnn's forward pass."""
    layer, activation = params.layers[0], params.spec.layers[0].activation.name
    z = x @ layer.w + layer.b
    return {
        "relu": np.maximum(z, 0),
        "leaky_relu": np.where(z > 0, z, 0.01 * z),
        "elu": np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
        "tanh": np.tanh(z),
        "sigmoid": 1 / (1 + np.exp(-z)),
    }[activation]


def _run(params, batches, lr=0.1, sample_every=1):
    """Fold the batches with plain SGD, accumulating diagnostics; also return what was seen, for hand checks."""
    acc = start_diagnostics(params.spec, sample_every)
    seen = []
    for x, y in batches:
        grads = fnn.grad(params, (x, y))
        new = fnn.sgd_step(params, grads, lr=lr)
        norms = gradient_norms(grads) if wants_norms(acc) else None
        acc = accumulate(acc, [_hidden(params, x)], norms, params, new, lr)
        seen.append((params, grads, new))
        params = new
    return finish(acc), seen


# Inputs in [0, 1]: unit 2 of the ReLU layer has weights -1, -1 and bias -0.1, so z = -x1 - x2 - 0.1 < 0 always.
RELU_LAYERS = [
    ([[1.0, -1.0, 2.0], [0.5, -1.0, -2.0]], [0.1, -0.1, 0.0]),
    ([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]], [0.0, 0.0]),
]
BATCH_1 = (np.array([[0.0, 0.5], [0.1, 0.9]]), np.array([0, 1]))  # unit 3: z = 2 x1 - 2 x2 < 0 on both rows
BATCH_2 = (np.array([[0.8, 0.2], [0.3, 0.6], [0.5, 0.5]]), np.array([1, 0, 1]))  # unit 3 positive on row 1


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu"])
def test_dead_unit_is_the_one_never_active_over_all_batches(activation):
    params = _params(fnn.network([2, 3, 2], activation=activation), RELU_LAYERS)
    diagnostics, _ = _run(params, [BATCH_1, BATCH_2], lr=0.01)
    # Unit 2 never fires; unit 3 is silent in batch 1 but fires in batch 2, so it is alive: 1 of 3 units dead.
    assert diagnostics.layers[0].dead_fraction == pytest.approx(1 / 3)
    assert diagnostics.layers[0].saturated_fraction is None
    assert diagnostics.layers[1].dead_fraction is None  # the softmax output is not judged
    only_first, _ = _run(params, [BATCH_1], lr=0.01)
    assert only_first.layers[0].dead_fraction == pytest.approx(2 / 3)
    assert (diagnostics.steps, diagnostics.samples) == (2, 5)


def test_norms_and_ratios_equal_hand_computed_values():
    params = _params(fnn.network([2, 3, 2], activation="relu"), RELU_LAYERS)
    diagnostics, seen = _run(params, [BATCH_1, BATCH_2], lr=0.5)
    for index, layer in enumerate(diagnostics.layers):
        grad_norms = [np.linalg.norm(grads.layers[index].w) for _, grads, _ in seen]
        ratios = [
            np.linalg.norm(after.layers[index].w - before.layers[index].w) / np.linalg.norm(before.layers[index].w)
            for before, _, after in seen
        ]
        assert layer.grad_norm == pytest.approx(np.mean(grad_norms), rel=1e-12)
        assert layer.grad_norm_max == pytest.approx(max(grad_norms), rel=1e-12)
        assert layer.update_ratio == pytest.approx(np.mean(ratios), rel=1e-12)
        assert layer.weight_norm == pytest.approx(np.linalg.norm(seen[-1][2].layers[index].w), rel=1e-12)
        # Plain SGD moves w by lr * gradient: the ratio is lr * ||g|| / ||w||, checked a second way.
        first_before, _first_grads, _ = seen[0]
        assert ratios[0] == pytest.approx(0.5 * grad_norms[0] / np.linalg.norm(first_before.layers[index].w), rel=1e-12)
    assert (diagnostics.lr_first, diagnostics.lr_last) == (0.5, 0.5)


def test_norms_are_sampled_every_nth_step_starting_with_the_first_and_units_watched_on_all():
    params = _params(fnn.network([2, 3, 2], activation="relu"), RELU_LAYERS)
    sampled, seen = _run(params, [BATCH_1, BATCH_1, BATCH_2], lr=0.5, sample_every=2)
    assert (sampled.steps, sampled.sampled_steps, sampled.samples) == (3, 2, 7)
    for index, layer in enumerate(sampled.layers):
        ratios = [
            np.linalg.norm(after.layers[index].w - before.layers[index].w) / np.linalg.norm(before.layers[index].w)
            for before, _, after in seen
        ]
        grad_norms = [np.linalg.norm(grads.layers[index].w) for _, grads, _ in seen]
        assert layer.update_ratio == pytest.approx((ratios[0] + ratios[2]) / 2, rel=1e-12)
        assert layer.update_ratio != pytest.approx(np.mean(ratios), rel=1e-6)
        assert layer.grad_norm == pytest.approx((grad_norms[0] + grad_norms[2]) / 2, rel=1e-12)
        assert layer.grad_norm_max == pytest.approx(max(grad_norms[0], grad_norms[2]), rel=1e-12)
    assert sampled.layers[0].dead_fraction == pytest.approx(1 / 3)  # unit 3 fired in batch 2, a sampled step


# A tanh layer on inputs in [0, 1]: unit 1 has z >= 5 (tanh > 0.9999) everywhere; unit 2 has |z| <= 0.3;
# unit 3 has z = 6 x1 - 3, saturated (|tanh| > 0.98, i.e. |z| > 2.298) only on the rows with x1 = 0 or 1.
TANH_LAYERS = [([[10.0, 0.1, 6.0], [10.0, 0.2, 0.0]], [5.0, 0.0, -3.0]), ([[0.5], [-0.5], [0.25]], [0.0])]
TANH_X = np.array([[0.0, 0.1], [0.5, 0.5], [0.4, 0.9], [1.0, 0.2], [0.6, 0.0]])
TANH_Y = np.array([[1.0], [0.0], [1.0], [0.0], [1.0]])


def test_saturated_unit_is_the_one_saturated_on_most_samples():
    params = _params(fnn.network([2, 3, 1], loss="binary_cross_entropy", activation="tanh"), TANH_LAYERS)
    hand = np.abs(np.tanh(TANH_X @ params.layers[0].w + params.layers[0].b)) > 0.98
    assert hand.sum(axis=0).tolist() == [5, 0, 2]  # the construction above
    diagnostics, _ = _run(params, [(TANH_X[:2], TANH_Y[:2]), (TANH_X[2:], TANH_Y[2:])], lr=1e-3)
    assert diagnostics.layers[0].saturated_fraction == pytest.approx(1 / 3)  # unit 3: 2 of 5 samples, not most
    assert diagnostics.layers[0].dead_fraction is None
    assert diagnostics.layers[1].saturated_fraction is None


def test_sigmoid_saturation_uses_the_same_rule_as_tanh():
    # sigmoid(2z) outside [0.01, 0.99] exactly when |tanh(z)| > 0.98: halving the weights of a sigmoid layer and
    # comparing with the tanh layer above gives the same saturated units.
    sigmoid_layers = [(np.array(TANH_LAYERS[0][0]) * 2, np.array(TANH_LAYERS[0][1]) * 2), TANH_LAYERS[1]]
    params = _params(fnn.network([2, 3, 1], activation="sigmoid", loss="binary_cross_entropy"), sigmoid_layers)
    diagnostics, _ = _run(params, [(TANH_X, TANH_Y)], lr=1e-3)
    assert diagnostics.layers[0].saturated_fraction == pytest.approx(1 / 3)
    low_weights = [(np.array(TANH_LAYERS[0][0]) * 0.01, [0.0, 0.0, 0.0]), TANH_LAYERS[1]]
    calm, _ = _run(_params(fnn.network([2, 3, 1], activation="sigmoid", loss="binary_cross_entropy"), low_weights), [(TANH_X, TANH_Y)])
    assert calm.layers[0].saturated_fraction == 0.0


def test_gradient_norms_are_each_layers_weight_gradient_norm_and_refuse_other_values():
    params = _params(fnn.network([2, 3, 2], activation="relu"), RELU_LAYERS)
    grads = fnn.grad(params, BATCH_2)
    assert gradient_norms(grads) == pytest.approx([np.linalg.norm(layer.w) for layer in grads.layers], rel=1e-12)
    with pytest.raises(fnn.FnnInputError, match="grads"):
        gradient_norms(fnn.flatten_params(grads))


def test_training_with_diagnostics_gives_the_same_bytes_fused_and_composed():
    from fnn.train.step import composed_step, step_outcome

    params = _params(fnn.network([2, 3, 2], activation="relu"), RELU_LAYERS)
    x, y = BATCH_2[0], BATCH_2[1]
    opt = fnn.optim.adam(0.1)
    fused = step_outcome(opt, params, opt.init(params), x, y, norms=True)
    composed = composed_step(opt, params, opt.init(params), x, y, norms=True)
    assert fused.grad_norms == composed.grad_norms == gradient_norms(fnn.grad(params, (x, y)))
    assert [a.tobytes() for a in fused.params.arrays()] == [a.tobytes() for a in composed.params.arrays()]


def test_float32_training_matches_float64_hand_values_closely():
    spec = fnn.network([2, 3, 2], activation="relu")
    params32 = fnn.Params(spec, [fnn.Layer(np.array(w, np.float32), np.array(b, np.float32)) for w, b in RELU_LAYERS])
    x = BATCH_2[0].astype(np.float32)
    grads = fnn.grad(params32, (x, BATCH_2[1]))
    new = fnn.sgd_step(params32, grads, lr=0.5)
    acc = accumulate(start_diagnostics(spec), [_hidden(params32, x)], gradient_norms(grads), params32, new, 0.5)
    exact, _ = _run(_params(spec, RELU_LAYERS), [BATCH_2], lr=0.5)
    for got, want in zip(finish(acc).layers, exact.layers):
        assert got.grad_norm == pytest.approx(want.grad_norm, rel=1e-5)
        assert got.update_ratio == pytest.approx(want.update_ratio, rel=1e-4)


def test_inputs_are_left_alone_and_the_record_round_trips_through_json():
    params = _params(fnn.network([2, 3, 2], activation="relu"), RELU_LAYERS)
    hidden = _hidden(params, BATCH_1[0])
    kept = hidden.copy()
    start = start_diagnostics(params.spec)
    grads = fnn.grad(params, BATCH_1)
    after = accumulate(start, [hidden], gradient_norms(grads), params, params, 0.1)
    assert np.array_equal(hidden, kept) and start.steps == 0 and not start.activity[0].any()
    assert (after.activity[0] > 0).tolist() == [True, False, False]
    diagnostics, _ = _run(params, [BATCH_1, BATCH_2])
    again = EpochDiagnostics.from_dict(json.loads(json.dumps(diagnostics.to_dict())))
    assert again == diagnostics
    assert diagnostics.scalars()["layer1/dead_fraction"] == pytest.approx(1 / 3)
    assert "layer2/dead_fraction" not in diagnostics.scalars()


def test_bad_use_is_refused_with_a_clear_error():
    spec = fnn.network([2, 3, 2], activation="relu")
    with pytest.raises(fnn.FnnInputError, match="sample_every"):
        start_diagnostics(spec, sample_every=0)
    with pytest.raises(fnn.FnnInputError, match="at least one step"):
        finish(start_diagnostics(spec))
    params = _params(spec, RELU_LAYERS)
    with pytest.raises(fnn.FnnInputError, match="'hidden_activations'.*1 arrays.*Got 0 arrays"):
        accumulate(start_diagnostics(spec), [], (1.0, 1.0), params, params)
    hidden = [_hidden(params, BATCH_1[0])]
    with pytest.raises(fnn.FnnInputError, match="'grad_norms'.*2 gradient norms on a sampled step.*Got None"):
        accumulate(start_diagnostics(spec), hidden, None, params, params)
    later = accumulate(start_diagnostics(spec, 2), hidden, (1.0, 1.0), params, params)
    assert not wants_norms(later) and accumulate(later, hidden, None, params, params).steps == 2
    with pytest.raises(fnn.FnnInputError, match="diagnostics"):
        EpochDiagnostics.from_dict({"layers": [{}]})


def _layer(**changes):
    values = {"layer": 2, "activation": "relu", "grad_norm": 0.1, "grad_norm_max": 0.2, "weight_norm": 3.0, "update_ratio": 1e-3, "dead_fraction": 0.0}
    return LayerDiagnostics(**{**values, **changes})


def test_warnings_name_the_layer_and_the_problem_and_stay_quiet_otherwise():
    def advice(**changes):
        return warnings_for(EpochDiagnostics(0.1, 0.1, 5, 100, 1, (_layer(**changes),)), epoch=3)

    assert advice() == []
    assert advice(dead_fraction=0.2) == []
    [dead] = advice(dead_fraction=0.5)
    assert dead.startswith("Layer 2 (relu): 50% of its units are dead") and "epoch 3" in dead
    [saturated] = advice(activation="tanh", dead_fraction=None, saturated_fraction=0.4)
    assert "40%" in saturated and "saturated" in saturated
    [high] = advice(update_ratio=0.5)
    assert "5.0e-01" in high and "too high" in high and "~0.001" in high
    [low] = advice(update_ratio=1e-7)
    assert "too low" in low
    [blown] = advice(grad_norm=math.inf, grad_norm_max=math.inf)
    assert "not finite" in blown
    assert advice(update_ratio=5e-5) == []  # within two orders of magnitude of 1e-3
    assert warnings_for(EpochDiagnostics(0.1, 0.1, 5, 100, 1, (_layer(update_ratio=5e-5),)), ratio_range=(1e-4, 1e-2))


def test_series_and_plot_of_a_history_with_diagnostics(tmp_path):
    params = _params(fnn.network([2, 3, 2], activation="relu"), RELU_LAYERS)
    first, _ = _run(params, [BATCH_1, BATCH_2])
    second, _ = _run(params, [BATCH_2])
    history = [
        {"epoch": 1, "loss": 1.0, "diagnostics": first.to_dict()},
        {"epoch": 2, "loss": 0.9, "diagnostics": None},
        {"epoch": 3, "loss": 0.8, "diagnostics": second.to_dict()},
    ]
    epochs, series = diagnostics_series(history)
    assert epochs == [1, 3]
    assert series["layer1/dead_fraction"] == pytest.approx([1 / 3, 1 / 3])
    assert series["layer2/grad_norm"] == [first.layers[1].grad_norm, second.layers[1].grad_norm]
    pytest.importorskip("matplotlib")
    from fnn.observe.plots import save_plot
    from fnn.observe.run_plots import diagnostics_plot, has_diagnostics

    figure = diagnostics_plot(history)
    assert [line.get_ydata().tolist() for line in figure.axes[0].get_lines()] == [series["layer1/grad_norm"], series["layer2/grad_norm"]]
    path = save_plot(figure, str(tmp_path / "diagnostics.png"))
    assert (tmp_path / "diagnostics.png").stat().st_size > 10_000 and path.endswith("diagnostics.png")
    assert has_diagnostics(history) and not has_diagnostics(history[1:2])
    with pytest.raises(fnn.FnnInputError, match="no diagnostics"):
        diagnostics_plot(history[1:2])
