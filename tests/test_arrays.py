import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fnn.arrays import all_finite, first_non_finite


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_and_first_non_finite_find_a_bad_value_past_the_first_block(bad, dtype):
    x = np.ones((10_000, 3), dtype)
    x[9_001, 2] = bad
    x[9_500, 0] = bad
    assert not all_finite(x)
    assert first_non_finite(x, rows=4096) == (9_001, 2)
    assert first_non_finite(x[:9_001]) is None and all_finite(x[:9_001])


def test_all_finite_is_true_for_integers_and_empty_arrays():
    assert all_finite(np.arange(5)) and all_finite(np.zeros((0, 4), np.float32))
    assert first_non_finite(np.zeros((0, 4))) is None


@given(st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=1, max_size=50))
def test_all_finite_agrees_with_isfinite(values):
    x = np.array(values, np.float32)
    assert all_finite(x) == bool(np.isfinite(x).all())
    expected = None if np.isfinite(x).all() else (int(np.argwhere(~np.isfinite(x))[0][0]),)
    assert first_non_finite(x, rows=7) == expected


def test_checking_training_data_makes_no_full_size_temporary():
    """fit's data check must not allocate a boolean array the size of x (47 MB for Fashion-MNIST)."""
    import tracemalloc

    import fnn

    x = np.ones((20_000, 100), np.float32)  # 8 MB of features
    params = fnn.init_params(fnn.network([100, 4, 2]), seed=0)
    tracemalloc.start()
    fnn.core.validate.check_features(params, x, "fit")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100_000, peak  # np.isfinite(x).all() would trace 2,000,000 bytes
