import numpy as np
import pytest
from attrs import evolve, exceptions

import fnn


@pytest.fixture
def params():
    return fnn.init_params(fnn.network([4, 5, 3]), seed=0)


def test_arrays_are_read_only(params):
    with pytest.raises(ValueError, match="read-only"):
        params.layers[0].w[0, 0] = 1.0
    w = params.layers[0].w
    with pytest.raises(ValueError, match="read-only"):
        w -= 1.0
    with pytest.raises(exceptions.FrozenInstanceError):
        params.layers = ()


def test_writable_input_is_copied_not_aliased():
    w = np.ones((2, 3), np.float32)
    layer = fnn.Layer(w, np.zeros(3, np.float32))
    w[0, 0] = 5
    assert layer.w[0, 0] == 1 and not layer.w.flags.writeable


def test_evolve_keeps_read_only_arrays_without_copying(params):
    layer = params.layers[0]
    again = evolve(layer)
    assert again.w is layer.w and again == layer


def test_repr_shows_shapes_not_numbers(params):
    text = repr(params)
    assert "Layer(w=float32[4,5], b=float32[5])" in text and len(text) < 300


def test_value_equality_and_no_hash(params):
    assert params == fnn.init_params(params.spec, seed=0)
    assert params != fnn.init_params(params.spec, seed=1)
    with pytest.raises(TypeError):
        hash(params)
    assert hash(params.spec) == hash(fnn.network([4, 5, 3]))


def test_layer_shape_mismatch_is_refused():
    with pytest.raises(fnn.FnnInputError, match=r"float32\[2,3\].*float32\[4\]"):
        fnn.Layer(np.zeros((2, 3), np.float32), np.zeros(4, np.float32))
    with pytest.raises(fnn.FnnInputError, match="weight shapes"):
        fnn.Params(fnn.network([4, 5, 3]), [fnn.Layer(np.zeros((4, 5)), np.zeros(5))])


def test_map_arrays_and_flatten_round_trip(params):
    doubled = fnn.map_arrays(lambda a: 2 * a, params)
    assert np.array_equal(doubled.layers[1].w, 2 * params.layers[1].w)
    vector = fnn.flatten_params(params)
    assert vector.shape == (4 * 5 + 5 + 5 * 3 + 3,)
    assert fnn.unflatten_params(vector, params) == params


def test_replace_layer_changes_only_that_layer(params):
    new = fnn.replace_layer(params, 1, w=np.zeros((5, 3)))
    assert (new.layers[1].w == 0).all() and new.layers[1].w.dtype == np.float32
    assert new.layers[0] == params.layers[0] and params.layers[1].w.any()


def test_init_params_rejects_bad_arguments():
    with pytest.raises(fnn.FnnInputError, match="'seed'"):
        fnn.init_params(fnn.network([2, 2]), seed=-1)
    with pytest.raises(fnn.FnnInputError, match="float32 or float64"):
        fnn.init_params(fnn.network([2, 2]), seed=0, dtype="int32")
    with pytest.raises(fnn.FnnInputError, match="NetworkSpec"):
        fnn.init_params([2, 2], seed=0)


def test_params_from_flat_gives_read_only_views_equal_to_validated_records():
    from fnn.core.params import flat_view, params_from_flat

    spec = fnn.network([3, 4, 2])
    flat = np.arange(26, dtype=np.float32)
    params = params_from_flat(spec, flat)
    assert flat_view(params) is flat and not flat.flags.writeable
    assert all(a.base is flat and not a.flags.writeable for a in params.arrays())
    rebuilt = fnn.Params(spec, [fnn.Layer(layer.w.copy(), layer.b.copy()) for layer in params.layers])
    assert params == rebuilt and repr(params) == repr(rebuilt)
    assert params.layers[1].w.tolist() == [[16, 17], [18, 19], [20, 21], [22, 23]] and params.layers[1].b.tolist() == [24, 25]


@pytest.mark.parametrize("flat", [np.zeros(25, np.float32), np.zeros((26, 1), np.float32), np.zeros(26, np.int64)])
def test_params_from_flat_refuses_a_vector_that_does_not_fit(flat):
    from fnn.core.params import params_from_flat

    with pytest.raises(fnn.FnnInputError, match=r"1-D float array of 26 values"):
        params_from_flat(fnn.network([3, 4, 2]), flat)
    assert flat.flags.writeable  # refused before anything was frozen


def test_a_layer_does_not_change_when_the_writable_base_of_its_read_only_view_is_written():
    base = np.zeros((2, 3))
    view = base.view()
    view.flags.writeable = False
    layer = fnn.Layer(view, np.zeros(3))
    base[0, 0] = 42.0
    assert layer.w[0, 0] == 0.0 and not layer.w.flags.writeable


def test_read_only_arrays_whose_bases_are_all_read_only_are_kept_without_a_copy():
    params = fnn.init_params(fnn.network([3, 2]), seed=0)  # views of one read-only flat vector
    rebuilt = fnn.Layer(params.layers[0].w, params.layers[0].b)
    assert rebuilt.w is params.layers[0].w and rebuilt.b is params.layers[0].b


@pytest.mark.parametrize(
    "function",
    [lambda a: a, np.asarray, lambda a: KEPT.setdefault(a.shape, np.ones(a.shape, a.dtype))],
    ids=["identity", "asarray", "a caller's array"],
)
def test_map_arrays_never_freezes_or_shares_an_array_that_someone_else_holds(function):
    KEPT.clear()
    mine = fnn.Params(fnn.network([3, 2]), [fnn.Layer(np.zeros((3, 2), np.float32), np.zeros(2, np.float32))])
    result = fnn.map_arrays(function, mine)
    assert all(a.flags.writeable for a in KEPT.values())  # the caller's arrays stay theirs
    for array in result.arrays():
        assert not array.flags.writeable
        assert not any(np.shares_memory(array, kept) for kept in KEPT.values())


def test_map_arrays_freezes_the_new_arrays_it_is_given_without_copying_them():
    params = fnn.init_params(fnn.network([3, 2]), seed=0)
    result = fnn.map_arrays(lambda a: a * 2, params)
    assert all(array.base is None and not array.flags.writeable for array in result.arrays())


def test_params_from_flat_builds_its_records_through_their_constructors(monkeypatch):
    from fnn.core import params as module

    built = []
    original = module.Layer.__attrs_post_init__
    monkeypatch.setattr(module.Layer, "__attrs_post_init__", lambda self: built.append(self) or original(self))
    params = module.params_from_flat(fnn.network([3, 4, 2]), np.zeros(3 * 4 + 4 + 4 * 2 + 2, np.float32))
    assert built == list(params.layers)


KEPT = {}


def test_trusted_params_from_flat_gives_the_very_record_of_params_from_flat_without_running_its_checks(monkeypatch):
    from fnn.core import params as module

    spec = fnn.network([3, 4, 2])
    checked = module.params_from_flat(spec, np.arange(26, dtype=np.float32))
    built = []
    monkeypatch.setattr(module.Layer, "__attrs_post_init__", lambda self: built.append(self))
    monkeypatch.setattr(module.Params, "__attrs_post_init__", lambda self: built.append(self))
    flat = np.arange(26, dtype=np.float32)
    trusted = module.trusted_params_from_flat(spec, flat)
    assert built == []  # no record was checked
    monkeypatch.undo()
    assert type(trusted) is fnn.Params and all(type(layer) is fnn.Layer for layer in trusted.layers)
    assert trusted == checked and repr(trusted) == repr(checked) and trusted.spec is spec
    assert module.flat_view(trusted) is flat and not flat.flags.writeable
    assert all(a.base is flat and not a.flags.writeable for a in trusted.arrays())
    with pytest.raises(ValueError, match="read-only"):
        trusted.layers[0].w[0, 0] = 1.0
    with pytest.raises(AttributeError):
        trusted.layers[0].w = np.zeros((3, 4), np.float32)  # the record stays frozen


@pytest.mark.parametrize("seed, dtype", [("3", "FLOAT64"), (np.int64(3), np.float64), (np.array(3), "Float64")])
def test_init_params_reads_seed_and_dtype_as_the_run_settings_do(seed, dtype):
    spec = fnn.network([4, 3])
    assert fnn.init_params(spec, seed=seed, dtype=dtype) == fnn.init_params(spec, seed=3, dtype="float64")
