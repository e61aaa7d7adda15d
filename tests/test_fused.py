"""The training step's fast path (fnn/train/fused.py) computes the very bytes of the composed step
forward -> loss -> grad -> update -> apply_updates, for every built-in optimiser, shape, dtype and dropout."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn import optim
from fnn.core.params import flat_view
from fnn.train.dropout import dropout_masks, dropout_rates
from fnn.train.fused import flat_state, flat_step, fused_step, step_flats
from fnn.train.step import composed_step, step_outcome

OPTIMIZERS = {
    "sgd": lambda: optim.sgd(0.1),
    "sgd_step_decay": lambda: optim.sgd(optim.step_decay(0.1, every=1, factor=0.5)),
    "momentum": lambda: optim.momentum(0.1, 0.9),
    "nesterov": lambda: optim.nesterov(0.05, 0.8),
    "adagrad": lambda: optim.adagrad(0.1),
    "rmsprop": lambda: optim.rmsprop(0.01, alpha=0.9),
    "adam": lambda: optim.adam(0.01),
    "adam_cosine": lambda: optim.adam(optim.cosine(0.01, 10)),
    "adamw": lambda: optim.adamw(0.01, weight_decay=0.1),
}


def _bytes(outcome):
    arrays = outcome.params.arrays()
    for name in getattr(type(outcome.opt_state), "__attrs_attrs__", ()):
        value = getattr(outcome.opt_state, name.name)
        arrays += value.arrays() if isinstance(value, fnn.Params) else [np.asarray(value)]
    return [(a.dtype.str, a.shape, a.tobytes()) for a in arrays]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@settings(max_examples=12, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=4),
    batch=st.integers(1, 7),
    dtype=st.sampled_from(["float32", "float64"]),
    drop=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_the_fused_step_is_the_composed_step_byte_for_byte(name, sizes, batch, dtype, drop, seed):
    optimizer = OPTIMIZERS[name]()
    spec = fnn.network([sizes[0], *sizes[1:], 3], activation="tanh")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, 3, batch)
    params = fnn.init_params(spec, seed=seed, dtype=dtype)
    fused = composed = (params, optimizer.init(params))
    rates = dropout_rates(spec, 0.3, "fit")
    for step in range(3):
        masks = dropout_masks(spec, batch, rates, seed, 0, step, params.dtype) if drop else None
        got = fused_step(optimizer.kernel, *fused, x, y, masks, norms=True)
        want = composed_step(optimizer, *composed, x, y, masks, norms=True)
        assert got.loss == want.loss and got.grad_norms == want.grad_norms
        assert _bytes(got) == _bytes(want)
        assert flat_view(got.params) is not None and flat_view(want.params) is None
        fused, composed = (got.params, got.opt_state), (want.params, want.opt_state)


@pytest.mark.parametrize(
    "optimizer",
    [
        optim.chain(optim.clip_by_global_norm(0.5), optim.adam(0.01)),
        optim.chain(optim.add_l2(0.01), optim.momentum(0.1)),
        optim.chain(optim.freeze([0]), optim.sgd(0.1)),
    ],
    ids=["clip_adam", "l2_momentum", "freeze_sgd"],
)
def test_a_chain_runs_the_composed_step_and_its_last_kernel_matches_its_update(optimizer):
    """Chains have no kernel (training composes them); the optimiser they end with computes the same bytes by its
    kernel over flat vectors and by its update, with the chain's transformed gradient."""
    assert optimizer.kernel is None
    params = fnn.init_params(fnn.network([4, 5, 3]), seed=0)
    x, y = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32), np.arange(6) % 3
    state = optimizer.init(params)
    done = step_outcome(optimizer, params, state, x, y)
    assert done.params == composed_step(optimizer, params, state, x, y).params
    updates, _ = optimizer.update(fnn.grad(params, (x, y)), state, params)
    assert [a.tobytes() for a in done.params.arrays()] == [a.tobytes() for a in optim.apply_updates(params, updates).arrays()]
    assert done.params != params


def test_fit_gives_the_same_bytes_with_and_without_the_fast_path():
    """A user optimiser with the built-in's update but no kernel trains through the composed step: same bytes."""
    import attrs

    data = fnn.data.moons(96, noise=0.2, seed=0)
    params = fnn.init_params(fnn.network([2, 8, 1], activation="tanh", loss="binary_cross_entropy"), seed=0)
    for make in (OPTIMIZERS["adam"], OPTIMIZERS["nesterov"]):
        fast = fnn.fit(params, data, epochs=2, optimizer=make(), batch_size=16, drop_rate=0.2, seed=1)
        plain = fnn.fit(params, data, epochs=2, optimizer=attrs.evolve(make(), kernel=None), batch_size=16, drop_rate=0.2, seed=1)
        assert [a.tobytes() for a in fast.params.arrays()] == [a.tobytes() for a in plain.params.arrays()]
        assert fast.history == plain.history


def test_the_fused_step_lays_out_params_that_were_not_flat_without_changing_them():
    params = fnn.map_arrays(np.copy, fnn.init_params(fnn.network([3, 4, 2]), seed=0))
    assert flat_view(params) is None
    x, y = np.ones((2, 3), np.float32), np.array([0, 1])
    opt = optim.adam(0.01)
    got = fused_step(opt.kernel, params, opt.init(params), x, y)
    assert got.params == composed_step(opt, params, opt.init(params), x, y).params
    assert flat_view(got.params) is not None and params == fnn.map_arrays(np.copy, params)


@pytest.mark.parametrize("name", ["sgd", "adam"])
@pytest.mark.parametrize("fast", [True, False])
def test_a_step_writes_to_no_array_it_did_not_create(name, fast):
    import attrs

    optimizer = OPTIMIZERS[name]() if fast else attrs.evolve(OPTIMIZERS[name](), kernel=None)
    params = fnn.init_params(fnn.network([3, 4, 2], activation="relu"), seed=0)
    x, y = np.random.default_rng(0).standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])  # the caller's, writable
    masks = dropout_masks(params.spec, 5, dropout_rates(params.spec, 0.5, "fit"), 0, 0, 0, params.dtype)
    state = optimizer.init(params)
    before = [a.copy() for a in (x, y, *masks, *params.arrays())]
    step_outcome(optimizer, params, state, x.astype(np.float32), y, masks)
    after = [x, y, *masks, *params.arrays()]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(before, after, strict=True))
    assert x.flags.writeable and y.flags.writeable


def test_flat_step_hands_on_the_vectors_its_records_are_views_of_and_the_next_step_gives_the_same_bytes():
    params = fnn.init_params(fnn.network([3, 4, 2]), seed=0)
    x, y = np.random.default_rng(1).standard_normal((6, 3)).astype(np.float32), np.array([0, 1, 1, 0, 1, 0])
    opt = optim.adam(0.01)
    state = opt.init(params)
    first = flat_step(opt.kernel, params, state.count, step_flats(opt.kernel, params, state), x, y)
    first_state = flat_state(opt.kernel, params.spec, state.count + 1, first.flats)
    assert first.flats[0] is flat_view(first.params) and first.flats[1] is flat_view(first_state.mu)
    assert first.flats[2] is flat_view(first_state.nu) and not any(f.flags.writeable for f in first.flats)
    assert first_state == fused_step(opt.kernel, params, state, x, y).opt_state
    handed = flat_step(opt.kernel, first.params, first_state.count, first.flats, x, y)
    found = fused_step(opt.kernel, first.params, first_state, x, y)
    composed = composed_step(opt, first.params, first_state, x, y)
    assert [a.tobytes() for a in handed.params.arrays()] == [a.tobytes() for a in composed.params.arrays()]
    assert handed.params == found.params and handed.loss == found.loss == composed.loss
    assert flat_state(opt.kernel, params.spec, 2, handed.flats) == found.opt_state == composed.opt_state


def test_step_flats_refuses_a_state_of_another_optimiser():
    params = fnn.init_params(fnn.network([3, 2]), seed=0)
    with pytest.raises(fnn.FnnInputError, match="AdamState"):
        step_flats(optim.adam(0.1).kernel, params, optim.sgd(0.1, momentum=0.9).init(params))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@settings(max_examples=8, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    rows=st.integers(1, 23),
    batch=st.integers(1, 9),
    weighted=st.booleans(),
    drop=st.booleans(),
    diagnostics=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_an_epoch_carrying_flat_moments_ends_in_the_composed_epochs_state_byte_for_byte(
    name, sizes, rows, batch, weighted, drop, diagnostics, seed
):
    """The epoch's fold carries the moments as flat vectors and builds the state once, at its end: each epoch's
    state (parameters, every moment, the count), metrics and diagnostics are those of the fold of composed steps."""
    import attrs

    from fnn.train.loop import prepare_data, run_epoch, start_state

    fast_optimizer = OPTIMIZERS[name]()
    plain_optimizer = attrs.evolve(fast_optimizer, kernel=None)
    params = fnn.init_params(fnn.network([*sizes, 3], activation="relu"), seed=seed)
    rng = np.random.default_rng(seed)
    x, y = prepare_data(params, (rng.standard_normal((rows, sizes[0])).astype(np.float32), rng.integers(0, 3, rows)))
    weights = rng.uniform(0.5, 2.0, rows) if weighted else None
    rates = dropout_rates(params.spec, 0.3, "fit") if drop else ()
    fast, plain = start_state(params, fast_optimizer, seed), start_state(params, plain_optimizer, seed)
    for _ in range(2):
        fast, fast_metrics = run_epoch(fast, x, y, fast_optimizer, batch, rates, diagnostics=diagnostics, weights=weights)
        plain, plain_metrics = run_epoch(plain, x, y, plain_optimizer, batch, rates, diagnostics=diagnostics, weights=weights)
        assert _bytes(fast) == _bytes(plain) and fast_metrics == plain_metrics
        assert (fast.epoch, fast.step, fast.opt_state.count) == (plain.epoch, plain.step, plain.opt_state.count)
        assert type(fast.opt_state) is type(plain.opt_state)
        assert not any(a.flags.writeable for a in fast.params.arrays())
