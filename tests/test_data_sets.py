"""Bundled and generated data sets, the Dataset record and the pure transforms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.data import Dataset, fit_standardizer, one_hot, scale_unit, standardize, stratified_split


def test_bundled_data_is_packaged_with_attribution():
    iris, digits = fnn.data.iris(), fnn.data.digits()
    assert iris.features.shape == (150, 4) and np.bincount(iris.labels).tolist() == [50, 50, 50]
    assert digits.features.shape == (1797, 64) and 0 <= digits.features.min() and digits.features.max() == 1
    assert np.bincount(digits.labels).min() >= 170
    text = fnn.data.attribution()
    assert "CC BY 4.0" in text and "Fisher" in text and "Alpaydin" in text


@pytest.mark.parametrize("make", [fnn.data.moons, fnn.data.circles, fnn.data.spirals, fnn.data.blobs])
def test_generated_classification_sets_are_seeded_and_balanced(make):
    a, b, c = make(301, seed=3), make(301, seed=3), make(301, seed=4)
    assert a == b and a != c
    assert a.features.shape[0] == 301 and a.features.dtype == np.float32
    counts = np.bincount(a.labels)
    assert counts.max() - counts.min() <= 1


def test_moons_geometry_without_noise():
    d = fnn.data.moons(200, noise=0.0, seed=0)
    upper = d.features[d.labels == 0]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6) and (upper[:, 1] >= -1e-6).all()


def test_circles_radii_and_sine_targets():
    c = fnn.data.circles(100, noise=0.0, factor=0.3)
    radii = np.hypot(*c.features.T)
    assert np.allclose(radii[c.labels == 0], 1, atol=1e-6) and np.allclose(radii[c.labels == 1], 0.3, atol=1e-6)
    s = fnn.data.noisy_sine(100, noise=0.0)
    assert np.allclose(s.labels, np.sin(s.features), atol=1e-6) and s.class_names == ()


def test_generators_refuse_bad_arguments():
    with pytest.raises(fnn.FnnInputError, match="'noise'"):
        fnn.data.moons(100, noise=-1)
    with pytest.raises(fnn.FnnInputError, match="'n'"):
        fnn.data.moons(1)


def test_stratified_split_keeps_class_proportions_and_is_seeded():
    data = fnn.data.iris()
    train, test = stratified_split(data, 0.2, seed=0)
    assert np.bincount(test.labels).tolist() == [10, 10, 10] and len(train) == 120
    again, _ = stratified_split(data, 0.2, seed=0)
    other, _ = stratified_split(data, 0.2, seed=1)
    assert train == again and train != other
    train_index, test_index = fnn.data.stratified_split_indices(data.labels, 0.2, seed=0)
    assert not set(train_index) & set(test_index) and len(train_index) + len(test_index) == 150


def _split_by_definition(keys, fraction, rng):
    """The split as its docstring defines it: per class in sorted order, the class's rows ascending, permuted by
    the stream, the first round(n * fraction) held out (at least one and one left for classes of two or more)."""
    test = []
    for value in np.unique(keys):
        members = np.flatnonzero(keys == value)
        members = members[rng.permutation(len(members))]
        count = int(round(len(members) * fraction))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        test.extend(members[:count].tolist())
    return sorted(set(range(len(keys))) - set(test)), sorted(test)


@settings(max_examples=150, deadline=None)
@given(labels=st.one_of(st.lists(st.integers(0, 5), max_size=60), st.lists(st.sampled_from(["cat", "ant", "dog"]), max_size=40)),
       fraction=st.floats(0.05, 0.95), seed=st.integers(0, 2**31), part=st.sampled_from(["test", "validation"]))
def test_stratified_split_indices_is_its_definition(labels, fraction, seed, part):
    keys = np.array(labels) if labels else np.array([], dtype=np.int64)
    train, test = fnn.data.stratified_split_indices(keys, fraction, seed, part=part)
    stream = fnn.seeds.train_test_split_rng if part == "test" else fnn.seeds.validation_split_rng
    expected = _split_by_definition(keys, fraction, stream(seed))
    assert (train.tolist(), test.tolist()) == expected and train.dtype == test.dtype == np.intp


def test_standardize_uses_training_statistics_only():
    train = np.array([[0.0, 10.0], [2.0, 30.0]], np.float32)
    test = np.array([[4.0, 50.0]], np.float32)
    stats = fit_standardizer(train)
    assert standardize(test, stats).tolist() == [[3.0, 3.0]]
    assert standardize(train, stats).dtype == np.float32


def test_one_hot_scale_and_flatten():
    assert one_hot(np.array([1, 0]), 3).tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(fnn.FnnInputError, match=r"labels in 0..2"):
        one_hot(np.array([3]), 3)
    assert scale_unit(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
    assert fnn.data.flatten_images(np.zeros((5, 28, 28))).shape == (5, 784)


def test_dataset_record_checks_and_is_read_only():
    with pytest.raises(fnn.FnnInputError, match="3 feature rows but 2 labels"):
        Dataset(np.zeros((3, 2)), np.zeros(2, np.int64))
    with pytest.raises(fnn.FnnInputError, match=r"labels must be in 0..1 \(2 classes\); got labels in 0..2"):
        Dataset(np.zeros((3, 2)), np.array([0, 1, 2]), ("a", "b"))
    d = Dataset(np.zeros((3, 2)), np.array([0, 1, 1]), ("a", "b"))
    with pytest.raises(ValueError, match="read-only"):
        d.features[0, 0] = 1
