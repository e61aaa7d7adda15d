"""End to end, with fixed seeds, on generated and bundled real data. Figures are recorded in the README."""

import fnn
from fnn.data import Dataset, fit_standardizer, standardize, stratified_split


def test_moons_reaches_95_percent():
    train, test = stratified_split(fnn.data.moons(1000, noise=0.2, seed=1), 0.1, seed=1)
    spec = fnn.network([2, 25, 50, 50, 25, 1], loss="binary_cross_entropy", activation="relu", init="he_uniform")
    assert spec.loss.name == "binary_cross_entropy"
    state = fnn.fit(fnn.init_params(spec, seed=0), train, epochs=100, optimizer=fnn.optim.adam(0.005), batch_size=32, seed=0)
    assert fnn.accuracy(state.params, *test.as_tuple()) >= 0.95


def test_iris_reaches_95_percent():
    train, test = stratified_split(fnn.data.iris(), 0.2, seed=0)
    stats = fit_standardizer(train.features)  # fitted on the training part only
    train = Dataset(standardize(train.features, stats), train.labels, train.class_names)
    test = Dataset(standardize(test.features, stats), test.labels, test.class_names)
    params = fnn.init_params(fnn.network([4, 6, 3], activation="relu"), seed=0)
    state = fnn.fit(params, train, epochs=200, lr=0.05, batch_size=16, seed=0)
    assert fnn.accuracy(state.params, *test.as_tuple()) >= 0.95


def test_digits_reach_96_percent():
    train, test = stratified_split(fnn.data.digits(), 0.2, seed=0)
    params = fnn.init_params(fnn.network([64, 64, 10], activation="relu", init="he_uniform"), seed=0)
    state = fnn.fit(params, train, epochs=30, lr=0.1, batch_size=32, seed=0)
    assert fnn.accuracy(state.params, *test.as_tuple()) >= 0.96
