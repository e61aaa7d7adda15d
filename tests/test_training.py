from itertools import takewhile

import numpy as np
import pytest
from toolz import last, take

import fnn


@pytest.fixture(scope="module")
def digits_split():
    return fnn.data.stratified_split(fnn.data.digits(), 0.2, seed=0)


def small_params(seed=0, dtype="float32"):
    return fnn.init_params(fnn.network([64, 16, 10], activation="relu"), seed=seed, dtype=dtype)


def test_fit_learns_and_records_history(digits_split):
    train, test = digits_split
    state = fnn.fit(small_params(), train, epochs=3, lr=0.1, batch_size=32, seed=0, validation=test)
    assert state.epoch == 3 and state.step == 3 * fnn.batch_count(len(train), 32)
    assert [r.epoch for r in state.history] == [1, 2, 3]
    assert state.history[-1].loss < state.history[0].loss
    assert state.history[-1].val_accuracy > 0.85 and state.history[-1].lr == 0.1


def test_same_seed_gives_byte_identical_params_and_history(digits_split):
    train, test = digits_split
    runs = [fnn.fit(small_params(), train, epochs=2, lr=0.1, seed=5, validation=test, drop_rate=0.2) for _ in range(2)]
    assert runs[0].params == runs[1].params
    assert all(a.tobytes() == b.tobytes() for a, b in zip(runs[0].params.arrays(), runs[1].params.arrays()))
    assert runs[0].history == runs[1].history
    other = fnn.fit(small_params(), train, epochs=2, lr=0.1, seed=6, validation=test, drop_rate=0.2)
    assert other.params != runs[0].params


def test_two_then_three_epochs_equal_five(digits_split):
    train, _ = digits_split
    two = fnn.fit(small_params(), train, epochs=2, lr=0.1, seed=1)
    five_resumed = fnn.fit(two, train, epochs=3, lr=0.1)
    five = fnn.fit(small_params(), train, epochs=5, lr=0.1, seed=1)
    assert five_resumed.params == five.params and five_resumed.history == five.history


def test_inputs_are_unchanged_and_still_read_only(digits_split):
    train, test = digits_split
    params = small_params()
    before = [a.copy() for a in params.arrays()]
    x, y = train.features.copy(), train.labels.copy()
    x_copy, y_copy = x.copy(), y.copy()
    fnn.forward(params, x)
    fnn.grad(params, (x, y))
    fnn.sgd_step(params, fnn.grad(params, (x[:10], y[:10])), 0.1)
    state = fnn.fit(params, (x, y), epochs=1, lr=0.1, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(params.arrays(), before))
    assert all(not a.flags.writeable for a in params.arrays() + state.params.arrays())
    assert np.array_equal(x, x_copy) and np.array_equal(y, y_copy) and x.flags.writeable


def test_iterate_epochs_composes_with_toolz(digits_split):
    train, test = digits_split
    states = fnn.iterate_epochs(small_params(), train, lr=0.1, seed=0, validation=test)
    good = last(takewhile(lambda s: s.history[-1].val_accuracy < 0.9, take(20, states)))
    assert good.history[-1].val_accuracy < 0.9
    assert fnn.fit(small_params(), train, epochs=good.epoch, lr=0.1, seed=0, validation=test).params == good.params


def test_early_stopping_returns_best_params_within_patience(digits_split):
    train, test = digits_split
    states = take(200, fnn.iterate_epochs(small_params(), train, optimizer=fnn.optim.adam(0.05), seed=0, validation=test))
    best, stopped = fnn.early_stopping(states, patience=3, monitor="val_loss")
    losses = stopped.history.column("val_loss")
    assert best.history[-1].val_loss == min(losses)
    assert stopped.epoch - best.epoch == 3 and stopped.epoch < 200
    assert fnn.mean_loss(best.params, *test.as_tuple()) == pytest.approx(min(losses), rel=1e-6)
    via_fit = fnn.fit(small_params(), train, epochs=200, optimizer=fnn.optim.adam(0.05), seed=0, validation=test, patience=3)
    assert via_fit.params == best.params


def test_validation_fraction_is_a_seeded_stratified_split(digits_split):
    train, _ = digits_split
    state = fnn.fit(small_params(), train, epochs=1, lr=0.1, seed=0, validation=0.25)
    kept, held_out = fnn.data.stratified_split_indices(train.labels, 0.25, seed=0, part="validation")
    assert state.step == fnn.batch_count(len(kept), 32)
    per_class = np.bincount(train.labels[held_out], minlength=10)
    assert np.all(np.abs(per_class - 0.25 * np.bincount(train.labels)) <= 0.5)
    assert state.history[-1].val_accuracy is not None
    again = fnn.fit(small_params(), train, epochs=1, lr=0.1, seed=0, validation=0.25)
    assert again.history == state.history


def test_divergence_stops_with_epoch_step_and_last_finite_params():
    x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32) * 1e3
    y = (x[:, :1] * 1e3).astype(np.float32)
    params = fnn.init_params(fnn.network([2, 8, 1], activation="relu", output="identity"), seed=0)
    with pytest.raises(fnn.TrainingDiverged, match=r"epoch \d+, step \d+") as caught:
        with np.errstate(over="ignore", invalid="ignore"):
            fnn.fit(params, (x, y), epochs=50, lr=10.0, batch_size=8, seed=0)
    error = caught.value
    assert all(np.isfinite(a).all() for a in error.last_good.arrays())
    assert isinstance(error.epoch_start, fnn.TrainState) and error.step >= 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epochs=-1), "'epochs'"),
        (dict(epochs=1, batch_size=0), "'batch_size'"),
        (dict(epochs=1, lr=-0.1), "'lr'"),
        (dict(epochs=1, optimizer="adamm"), "one of sgd, momentum"),
        (dict(epochs=1, drop_rate=1.0), "'drop_rate'"),
        (dict(epochs=1, seed=-3), "'seed'"),
        (dict(epochs=1, validation=1.5), "'validation' argument of fnn.fit must be a number >= 0 and < 1"),
    ],
)
def test_fit_refuses_bad_arguments(kwargs, message, digits_split):
    train, _ = digits_split
    with pytest.raises(fnn.FnnInputError, match=message):
        fnn.fit(small_params(), train, **kwargs)


def test_fit_refuses_data_of_the_wrong_shape():
    with pytest.raises(fnn.FnnInputError, match=r"'data features'.*shape \(n, 64\)"):
        fnn.fit(small_params(), (np.zeros((5, 3), np.float32), np.zeros(5, np.int64)), epochs=1)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
def test_float32_is_kept_end_to_end(digits_split, optimizer):
    train, test = digits_split
    state = fnn.fit(small_params(), train, epochs=1, optimizer=optimizer, seed=0, drop_rate=0.2, validation=test)
    arrays = state.params.arrays() + [a for value in vars_of(state.opt_state) for a in value.arrays()]
    assert all(a.dtype == np.float32 for a in arrays)
    assert all(isinstance(v, float) for v in (state.history[-1].loss, state.history[-1].val_loss))


def vars_of(opt_state):
    return [getattr(opt_state, f) for f in ("velocity", "accumulator", "mu", "nu") if hasattr(opt_state, f)]


def test_a_fold_of_sgd_step_is_fits_sgd_epoch_byte_for_byte(digits_split):
    from toolz import reduce

    train, _ = digits_split
    params = small_params()
    batches = fnn.minibatches(train.features, train.labels, 32, seed=4, epoch=0)
    folded = reduce(lambda p, batch: fnn.sgd_step(p, fnn.grad(p, batch), lr=0.1), batches, params)
    assert folded == fnn.fit(params, train, epochs=1, lr=0.1, batch_size=32, seed=4).params


@pytest.mark.parametrize(
    "sizes, loss, targets, weighted",
    [
        ([3, 5, 4], "cross_entropy", "labels", False),
        ([3, 5, 4], "cross_entropy", "labels", True),
        ([3, 5, 4], "cross_entropy", "one_hot", False),
        ([3, 5, 1], "binary_cross_entropy", "binary", False),
        ([3, 5, 2], "mse", "values", False),
        ([3, 5, 2], "mse", "values", True),
    ],
)
def test_running_metrics_are_those_of_one_add_a_step_over_many_steps(sizes, loss, targets, weighted):
    # 300 steps of 2 rows: the pending steps are summed in several chunks and a remainder at the epoch's end.
    from fnn.train.batches import minibatches
    from fnn.train.loop import RunningMetrics, prepare_data, run_epoch, start_state
    from fnn.train.step import step_outcome

    rng = np.random.default_rng(3)
    n, classes = 601, sizes[-1]
    x = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = {
        "labels": lambda: rng.integers(0, classes, n),
        "one_hot": lambda: np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)],
        "binary": lambda: rng.integers(0, 2, n),
        "values": lambda: rng.standard_normal((n, classes)).astype(np.float32),
    }[targets]()
    params = fnn.init_params(fnn.network(sizes, activation="tanh", loss=loss), seed=0)
    weights = rng.uniform(0.5, 2.0, n) if weighted else None
    optimizer = fnn.optim.sgd(0.05)
    x, y = prepare_data(params, (x, y))
    state, metrics = run_epoch(start_state(params, optimizer), x, y, optimizer, 2, weights=weights)

    sums, current, opt_state = RunningMetrics(), params, optimizer.init(params)
    weight_batches = minibatches(weights, weights, 2, 0, 0) if weighted else iter(lambda: (None, None), 0)
    for (xb, yb), (wb, _) in zip(minibatches(x, y, 2, 0, 0), weight_batches):
        done = step_outcome(optimizer, current, opt_state, xb, yb, weights=wb)
        current, opt_state = done.params, done.opt_state
        sums = sums.add(done.loss, done.trace.post[-1], yb, params.spec.is_classifier, wb)
    assert state.step == 301 and state.params == current
    assert metrics == sums.metrics(params.spec.is_classifier)
    assert metrics["loss"] > 0 and set(metrics) == ({"loss", "accuracy"} if params.spec.is_classifier else {"loss", "r2"})
