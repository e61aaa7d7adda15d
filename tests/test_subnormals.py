"""Moments kept out of the subnormal range (fnn/optim/base.py), and the alternative that was weighed and dropped.

A moment whose gradient stays zero decays geometrically and ends stuck among the subnormal numbers (the smallest
ones are fixed points of ``x * 0.9``), where divisions and square roots take a slow path. Every ``FLUSH_EVERY``-th
update sets the subnormal entries of the new moments to zero; everything else keeps its bits.
"""

import attrs
import numpy as np
import pytest

import fnn
from fnn import optim
from fnn.optim import base
from fnn.train.fused import fused_step
from fnn.train.step import composed_step

MOMENT_OPTIMIZERS = {
    "momentum": lambda: optim.momentum(0.1, 0.9),
    "nesterov": lambda: optim.nesterov(0.05, 0.8),
    "adagrad": lambda: optim.adagrad(0.1),
    "rmsprop": lambda: optim.rmsprop(0.01, alpha=0.9),
    "adam": lambda: optim.adam(0.01),
    "adamw": lambda: optim.adamw(0.01, weight_decay=0.1),
}
FLUSHING = base.FLUSH_EVERY - 1  # the count of an update after which the moments are flushed


def _subnormal(a):
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


def _with_moments(optimizer, params, count, seed):
    """The optimiser's state at ``count``, its moments drawn around 1e-3 with every third entry subnormal (every
    fifth of those positive, so Adagrad's and RMSProp's square roots see them too) and every seventh zero."""
    rng = np.random.default_rng(seed)
    state = optimizer.init(params)
    tiny = np.finfo(params.dtype).tiny

    def draw(a):
        values = rng.standard_normal(a.shape) * 1e-3
        index = np.arange(a.size).reshape(a.shape)
        values = np.where(index % 3 == 0, rng.uniform(-0.9, 0.9, a.shape) * tiny, values)
        values = np.where(index % 15 == 0, 0.5 * tiny, values)
        values = np.where(index % 7 == 0, 0.0, values)
        return np.abs(values).astype(params.dtype) if optimizer.name.startswith(("adagrad", "rmsprop")) else values.astype(params.dtype)

    moments = {f.name: fnn.map_arrays(draw, params) for f in attrs.fields(type(state))[1:]}
    if "nu" in moments:
        moments["nu"] = fnn.map_arrays(np.abs, moments["nu"])
    return attrs.evolve(state, count=count, **moments)


def _moment_arrays(state):
    return [a for f in attrs.fields(type(state))[1:] for a in getattr(state, f.name).arrays()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(MOMENT_OPTIMIZERS))
def test_a_flush_zeroes_the_subnormal_moments_and_keeps_every_other_bit(name, dtype, monkeypatch):
    optimizer = MOMENT_OPTIMIZERS[name]()
    params = fnn.init_params(fnn.network([5, 7, 3]), seed=1, dtype=dtype)
    grads = fnn.map_arrays(lambda a: np.where(np.arange(a.size).reshape(a.shape) % 2 == 0, 0.0, 0.01).astype(dtype), params)
    state = _with_moments(optimizer, params, FLUSHING, seed=2)
    updates, flushed = optimizer.update(grads, state, params)
    monkeypatch.setattr(base, "FLUSH_EVERY", 10**9)  # the same update without the flush
    plain_updates, plain = optimizer.update(grads, state, params)
    kept = 0
    for got, want in zip(_moment_arrays(flushed), _moment_arrays(plain), strict=True):
        assert not _subnormal(got).any()
        assert (got[_subnormal(want)] == 0).all()
        normal = ~_subnormal(want)
        assert got[normal].tobytes() == want[normal].tobytes()
        kept += int(_subnormal(want).sum())
    assert kept > 0  # the unflushed update does leave subnormal moments: the flush had work to do
    new, plain_new = optim.apply_updates(params, updates), optim.apply_updates(params, plain_updates)
    assert [a.tobytes() for a in new.arrays()] == [a.tobytes() for a in plain_new.arrays()]


@pytest.mark.parametrize("name", sorted(MOMENT_OPTIMIZERS))
def test_only_every_flush_every_th_update_flushes(name):
    optimizer = MOMENT_OPTIMIZERS[name]()
    params = fnn.init_params(fnn.network([5, 7, 3]), seed=1)
    grads = fnn.map_arrays(np.zeros_like, params)
    for count, flushes in ((FLUSHING - 1, False), (FLUSHING, True), (FLUSHING + 1, False), (FLUSHING + base.FLUSH_EVERY, True)):
        _, new = optimizer.update(grads, _with_moments(optimizer, params, count, seed=3), params)
        assert any(_subnormal(a).any() for a in _moment_arrays(new)) is not flushes, count


def test_a_dead_units_moments_end_at_zero_not_stuck_subnormal(monkeypatch):
    """A weight whose gradient is zero after one step: its Adam moment decays by 0.9 a step. Unflushed, it ends
    stuck at a subnormal fixed point; flushed, it is zero from the first flush after it leaves the normal range."""
    params = fnn.init_params(fnn.network([4, 3]), seed=0)
    ones, zeros = fnn.map_arrays(np.ones_like, params), fnn.map_arrays(np.zeros_like, params)

    def run(steps):
        opt = optim.adam(1e-3)
        state = opt.init(params)
        history = []
        for step in range(steps):
            _, state = opt.update(ones if step == 0 else zeros, state, params)
            history.append(float(state.mu.layers[0].w[0, 0]))
        return np.array(history, np.float32)

    flushed = run(1100)
    monkeypatch.setattr(base, "FLUSH_EVERY", 10**9)
    stuck = run(1100)
    first = int(np.argmax(_subnormal(stuck)))  # the first update whose moment is subnormal
    assert 700 < first < 900 and _subnormal(stuck[-50:]).all() and stuck[-1] == stuck[-2]  # a fixed point
    assert flushed[:first].tobytes() == stuck[:first].tobytes()
    flush = first + (-(first + 1)) % (FLUSHING + 1)  # the first flushing update at or after it
    assert _subnormal(flushed[first:flush]).all() and (flushed[flush:] == 0).all()


@pytest.mark.parametrize("name", sorted(MOMENT_OPTIMIZERS))
def test_the_fused_step_flushes_exactly_as_the_composed_step(name):
    optimizer = MOMENT_OPTIMIZERS[name]()
    params = fnn.init_params(fnn.network([6, 5, 4, 3], activation="relu"), seed=4)
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((8, 6)).astype(np.float32), rng.integers(0, 3, 8)
    fused = composed = (params, _with_moments(optimizer, params, FLUSHING - 1, seed=6))
    for _ in range(3):  # the steps before, at and after a flush
        got = fused_step(optimizer.kernel, *fused, x, y)
        want = composed_step(optimizer, *composed, x, y)
        for a, b in zip(got.params.arrays() + _moment_arrays(got.opt_state), want.params.arrays() + _moment_arrays(want.opt_state), strict=True):
            assert a.tobytes() == b.tobytes()
        fused, composed = (got.params, got.opt_state), (want.params, want.opt_state)
    assert not any(_subnormal(a).any() for a in _moment_arrays(fused[1]))


def test_flushed_moments_keep_parity_with_torch_optim():
    """torch.optim keeps subnormal moments; the parameters agree to the parity tests' tolerance all the same."""
    torch = pytest.importorskip("torch")
    params = fnn.init_params(fnn.network([5, 4], activation="identity", output="identity", loss="mse"), seed=0, dtype="float64")
    grads = fnn.map_arrays(lambda a: np.where(np.arange(a.size).reshape(a.shape) % 2 == 0, 0.0, 0.2), params)
    ours = optim.adam(0.01)
    state = _with_moments(ours, params, FLUSHING, seed=7)
    updates, new_state = ours.update(grads, state, params)
    new = optim.apply_updates(params, updates)
    tensors = [torch.tensor(a, requires_grad=True) for a in params.arrays()]
    theirs = torch.optim.Adam(tensors, lr=0.01)
    for tensor, g, m, v in zip(tensors, grads.arrays(), state.mu.arrays(), state.nu.arrays()):
        tensor.grad = torch.tensor(g)
        theirs.state[tensor] = {"step": torch.tensor(float(FLUSHING)), "exp_avg": torch.tensor(m), "exp_avg_sq": torch.tensor(v)}
    theirs.step()
    for tensor, a in zip(tensors, new.arrays()):
        np.testing.assert_allclose(tensor.detach().numpy(), a, rtol=1e-10, atol=1e-12)
    assert any(_subnormal(theirs.state[t]["exp_avg"].numpy()).any() for t in tensors)
    assert not any(_subnormal(a).any() for a in _moment_arrays(new_state))


def test_power_of_two_scaling_the_alternative_only_delays_the_subnormals():
    """The alternative weighed: moments stored times 2**s. Scaling by a power of two is exact, so the arithmetic
    is bit-identical to the unscaled one while nothing is subnormal, but a decaying moment reaches the (scaled)
    subnormal range all the same, about s * ln 2 / -ln(0.9) = 6.6 s updates later; s is bounded by the gradients'
    range (float32 overflows above 2**128). So it was dropped for the flush."""
    b1, s = np.float32(0.9), 64
    scale = np.float32(2.0**s)
    rng = np.random.default_rng(0)
    g = (rng.standard_normal(1000) * 1e-3).astype(np.float32)
    g[::4] = 0  # dead entries
    m, scaled = np.zeros_like(g), np.zeros_like(g)
    for _ in range(50):
        m = b1 * m + np.float32(0.1) * g
        scaled = b1 * scaled + (np.float32(0.1) * scale) * g
    assert (scaled / scale).tobytes() == m.tobytes()

    def first_subnormal(x):
        for step in range(10_000):
            x = b1 * x
            if _subnormal(np.float32(x)):
                return step
        return None

    start = np.float32(1e-4)
    plain, delayed = first_subnormal(start), first_subnormal(np.float32(start * scale))
    assert delayed - plain == pytest.approx(s * np.log(2) / -np.log(0.9), abs=2)
