"""Lenient at the door, strict inside: every public data door takes any real array-like, converts it once to the
network's dtype, and refuses only what is not real numbers, naming the argument."""

import numpy as np
import pytest

import fnn

X, Y = fnn.data.iris().as_tuple()
START = fnn.init_params(fnn.network([4, 8, 3]), seed=0)
OPTIONS = dict(epochs=3, optimizer=fnn.optim.adam(0.05), batch_size=16, seed=0)
REFERENCE = fnn.fit(START, (X, Y), **OPTIONS)


def _forms(x, y):
    """The same data as a user may hold it."""
    yield "float64", x.astype(np.float64), y
    yield "lists", x.tolist(), y.tolist()
    yield "int32 labels", x, y.astype(np.int32)
    yield "float64 rows, uint8 labels", x.astype(np.float64), y.astype(np.uint8)


@pytest.mark.parametrize("form", list(_forms(X, Y)), ids=lambda form: form[0])
def test_fit_on_any_real_form_gives_the_same_bytes(form):
    _, x, y = form
    state = fnn.fit(START, (x, y), **OPTIONS)
    assert state.params == REFERENCE.params
    assert fnn.evaluate(state.params, x, y) == fnn.evaluate(REFERENCE.params, X, Y)
    assert np.array_equal(fnn.predict_classes(state.params, x), fnn.predict_classes(REFERENCE.params, X))


def test_integer_features_are_converted_to_the_networks_dtype():
    params = fnn.init_params(fnn.network([2, 1], output="identity", init="ones"), seed=0)
    out = fnn.predict(params, np.array([[1, 2], [3, 4]], np.int64))
    assert out.dtype == np.float32 and out[:, 0].tolist() == [3.0, 7.0]
    assert fnn.predict(params, [1, 2]).tolist() == [3.0]  # one sample as a list
    assert fnn.mean_loss(params, [[1, 2]], [3]) == 0.0
    assert fnn.r2_score([1, 2, 3], [1, 2, 4]) == 0.5


def test_pandas_frames_and_series():
    pd = pytest.importorskip("pandas", reason="pandas is optional (the test extra installs it)")
    frame, labels = pd.DataFrame(X.astype(np.float64), columns=list("abcd")), pd.Series(Y)
    state = fnn.fit(START, (frame, labels), **OPTIONS)
    assert state.params == REFERENCE.params
    assert fnn.accuracy(state.params, frame, labels) == fnn.accuracy(REFERENCE.params, X, Y)


def test_sparse_features_train_and_predict_as_dense_ones():
    sparse = pytest.importorskip("scipy.sparse", reason="SciPy is optional (scikit-learn brings it)")
    for matrix in (sparse.csr_matrix(X), sparse.coo_matrix(X), sparse.csc_array(X)):
        assert fnn.fit(START, (matrix, Y), **OPTIONS).params == REFERENCE.params
        assert np.array_equal(fnn.predict(REFERENCE.params, matrix), fnn.predict(REFERENCE.params, X))
        assert fnn.evaluate(REFERENCE.params, matrix, Y) == fnn.evaluate(REFERENCE.params, X, Y)


def test_sparse_rows_are_densified_a_batch_at_a_time(monkeypatch):
    sparse = pytest.importorskip("scipy.sparse", reason="SciPy is optional (scikit-learn brings it)")
    matrix = sparse.csr_matrix(np.vstack([X] * 4))
    densified = []
    original = type(matrix).toarray

    def counted(self, *args, **kwargs):
        densified.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(matrix), "toarray", counted)
    fnn.predict(REFERENCE.params, matrix, batch_size=100)
    assert densified and max(densified) <= 100 and sum(densified) == 600
    with pytest.raises(fnn.FnnInputError, match="'x' argument of fnn.predict must be finite values"):
        fnn.predict(REFERENCE.params, sparse.csr_matrix(np.array([[np.nan, 0, 0, 1.0]])))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fnn.predict(START, [[1, 2, 3, 4], [1, 2]]), r"'x' argument of fnn.predict must be a rectangular array of real numbers"),
        (lambda: fnn.predict(START, np.full((2, 4), "1.5")), r"'x' argument of fnn.predict must be real numbers \(ints or floats\). Got an array of dtype <U3"),
        (lambda: fnn.predict(START, np.ones((2, 4), complex)), r"'x' .* must be real numbers .* dtype complex128"),
        (lambda: fnn.predict(START, np.ones((2, 4), object)), r"'x' .* must be real numbers .* dtype object"),
        (lambda: fnn.evaluate(START, X, ["a"] * len(X)), r"'y' argument of fnn.evaluate must be real numbers"),
        (lambda: fnn.accuracy(START, [[np.inf, 0, 0, 0]], [0]), r"'x' argument of fnn.accuracy must be finite values. Got inf at index \(0, 0\)"),
        (lambda: fnn.fit(START, (X.tolist(), [0.5] * len(X)), epochs=1), r"'data labels' argument of fnn.fit must be float targets of shape \(150, 3\)"),
        (lambda: fnn.confusion_matrix(["a"], ["b"]), r"'y_true' argument of fnn.confusion_matrix must be real numbers"),
    ],
)
def test_what_cannot_be_converted_is_refused_by_name(call, message):
    with pytest.raises(fnn.FnnInputError, match=message):
        call()
