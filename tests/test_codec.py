"""The codec of frozen state trees: generated trees, every built-in optimiser state and a user's own record survive
encode/decode (and a checkpoint file) exactly; classes are resolved only from imported modules, never imported."""

import json
import os
import pickle
import sys
import tempfile
from typing import Any

import numpy as np
import pytest
from attrs import define, frozen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fnn
from fnn import optim
from fnn.store import load_checkpoint, save_checkpoint
from fnn.store.codec import decode, encode

SPEC = fnn.network([3, 4, 2])
PARAMS = fnn.init_params(SPEC, seed=0)


@frozen
class Pair:
    first: Any
    second: Any


@frozen
class Tagged:
    tag: str
    count: int
    value: Any


@frozen
class Decay:
    """A user's own optimiser state: a step count, a float and moments of the network."""

    steps: int
    rate: float
    moments: fnn.Params


@define
class Loose:
    value: int


def same(a, b):
    """Equal as trees: same types all the way down, arrays equal in dtype, shape and bytes."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype == b.dtype and np.shape(a) == np.shape(b) and np.asarray(a).tobytes() == np.asarray(b).tobytes()
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (Pair, Tagged)):
        return all(same(getattr(a, field.name), getattr(b, field.name)) for field in type(a).__attrs_attrs__)
    return a == b


arrays = st.one_of(
    st.builds(lambda v: np.array(v, np.float32), st.lists(st.floats(-1e3, 1e3, width=32), max_size=4)),
    st.builds(lambda v: np.array(v, np.int64).reshape(-1, 1), st.lists(st.integers(-(2**40), 2**40), max_size=3)),
    st.builds(lambda v: np.array(v, bool), st.lists(st.booleans(), max_size=3)),
    st.builds(lambda v: np.array(v, str), st.lists(st.text("abcé", max_size=3), min_size=1, max_size=3)),
    st.builds(np.float64, st.floats(allow_nan=False)),
    st.builds(np.int32, st.integers(-(2**31), 2**31 - 1)),
)
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**62), 2**62), st.floats(allow_nan=False), st.text(max_size=5), arrays,
    st.builds(lambda seed: fnn.init_params(SPEC, seed=seed), st.integers(0, 3)),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(tuple),
        st.builds(Pair, children, children),
        st.builds(Tagged, st.text(max_size=4), st.integers(0, 9), children),
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_generated_trees_round_trip_in_memory_and_through_a_checkpoint(tree):
    description, stored = encode(tree, SPEC, "test")
    json.dumps(description)  # JSON-ready, the arrays apart
    assert all(isinstance(array, np.ndarray) for array in stored.values())
    assert same(decode(description, stored, SPEC, "test"), tree)
    path = os.path.join(tempfile.mkdtemp(), "c.npz")
    save_checkpoint(path, fnn.TrainState(PARAMS, tree))
    assert same(load_checkpoint(path).state.opt_state, tree)


def test_a_tree_takes_only_the_arrays_it_names_and_reports_them():
    tree = Pair(np.arange(3), (PARAMS, None))
    description, stored = encode(tree, SPEC, "test", prefix="x")
    used = set()
    decode(description, {**stored, "stray": np.zeros(1)}, SPEC, "test", used=used)
    assert used == set(stored) and sorted(stored)[0] == "x/first"


OPTIMIZERS = {name: factory() for name, factory in optim.OPTIMIZERS.items()}
OPTIMIZERS["chain"] = optim.chain(optim.add_l2(1e-3), optim.clip_by_global_norm(1.0), optim.freeze([0]), optim.adamw(0.01))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_built_in_optimiser_state_round_trips_exactly(name):
    data = fnn.data.iris()
    params = fnn.init_params(fnn.network([4, 5, 3]), seed=0)
    state = fnn.fit(params, data, epochs=2, optimizer=OPTIMIZERS[name], batch_size=32, seed=1).opt_state
    description, stored = encode(state, params.spec, "test")
    rebuilt = decode(json.loads(json.dumps(description)), stored, params.spec, "test")
    assert type(rebuilt) is type(state) and rebuilt == state
    assert description["record"].startswith("fnn.optim:")


def test_a_users_own_frozen_state_round_trips_and_its_fields_are_checked():
    state = Decay(7, 0.5, fnn.map_arrays(lambda a: a * 0 + 1, PARAMS))
    description, stored = encode(state, SPEC, "test")
    assert description["record"] == f"{__name__}:Decay"
    assert decode(description, stored, SPEC, "test") == state
    description["fields"]["steps"] = {"value": "7"}
    with pytest.raises(fnn.FnnInputError, match="test: the state .*Decay field 'steps' is declared int; got str '7'"):
        decode(description, stored, SPEC, "test")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("wave:Wave_read", "from the module 'wave', which is not imported. Import wave"),
        ("os:system", "not a frozen attrs record class of the imported module os"),
        (f"{__name__}:Loose", "not a frozen attrs record class"),
        ("fnn.optim:Optimizer", "needs the fields"),
        ("builtins:__import__", "not a class name of the form 'module:Class'"),
        ("os.path:join.__globals__", "not a class name of the form"),
        (3, "not a class name of the form"),
    ],
)
def test_unknown_classes_are_refused_and_no_module_is_imported(name, expected):
    assert "wave" not in sys.modules
    description, stored = encode(optim.sgd(0.1).init(PARAMS), SPEC, "here")
    description["record"] = name
    with pytest.raises(fnn.FnnInputError, match=f"^here: .*{expected}"):
        decode(description, stored, SPEC, "here", what="the optimiser state")
    assert "wave" not in sys.modules


def test_what_cannot_be_rebuilt_is_refused_when_encoding():
    @frozen
    class Local:
        count: int

    cases = [
        (Local(1), "cannot be found again by its name"),
        (Loose(1), "must be a frozen attrs record"),
        ({"a": 1}, "holds a builtins.dict at tree"),
        ((1, [2]), r"holds a builtins.list at tree/1"),
        (np.array([object()]), "must be an array of numbers, booleans or text"),
        (fnn.init_params(fnn.network([2, 2]), seed=0), "holds Params of .* but the network is"),
    ]
    for value, message in cases:
        with pytest.raises(fnn.FnnInputError, match=f"^mine: .*{message}"):
            encode(value, SPEC, "mine")


def test_the_estimators_pickle_their_fitted_state_as_the_codec_describes_it():
    pytest.importorskip("sklearn")
    from fnn.interop.sklearn import FNNRegressor

    x = np.linspace(-1, 1, 40).reshape(20, 2)
    model = FNNRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(x, x.sum(axis=1))
    carried = model.__getstate__()["state_"]
    assert sorted(carried) == ["arrays", "spec", "tree"] and carried["tree"]["record"] == "fnn.train.state:TrainState"
    json.dumps([carried["spec"], carried["tree"]])  # no classes, no functions: a description and arrays
    copy = pickle.loads(pickle.dumps(model))
    assert copy.state_ == model.state_ and copy.predict(x).tobytes() == model.predict(x).tobytes()
