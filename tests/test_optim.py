"""Optimisers against their published update rules, computed independently here, and against torch.optim."""


import math

import numpy as np
import pytest

import fnn
from fnn import optim

SPEC = fnn.network([3, 2], activation="identity", output="identity", loss="mse")
W0 = np.array([[0.5, -0.3], [0.1, 0.2], [-0.4, 0.7]])
B0 = np.array([0.05, -0.1])
GRADS = [  # three successive gradients for (w, b)
    (np.array([[0.1, -0.2], [0.3, 0.05], [-0.1, 0.4]]), np.array([0.2, -0.1])),
    (np.array([[-0.3, 0.1], [0.2, -0.25], [0.05, 0.1]]), np.array([-0.05, 0.3])),
    (np.array([[0.2, 0.2], [-0.1, 0.15], [0.3, -0.2]]), np.array([0.1, 0.1])),
]


def params_of(w, b):
    return fnn.Params(SPEC, [fnn.Layer(w, b)])


def run(optimizer, steps=3):
    params = params_of(W0, B0)
    state = optimizer.init(params)
    trajectory = []
    for gw, gb in GRADS[:steps]:
        updates, state = optimizer.update(params_of(gw, gb), state, params)
        params = optim.apply_updates(params, updates)
        trajectory.append((params.layers[0].w.copy(), params.layers[0].b.copy()))
    return trajectory


def reference(rule, state_init):
    """Apply ``rule(p, g, state, t) -> (p, state)`` to w and b separately, as the papers write it."""
    out = []
    p = [W0.copy(), B0.copy()]
    states = [state_init(W0), state_init(B0)]
    for t, grads in enumerate(GRADS, start=1):
        for i in range(2):
            p[i], states[i] = rule(p[i], grads[i], states[i], t)
        out.append((p[0].copy(), p[1].copy()))
    return out


def sgd_rule(lr):
    return lambda p, g, s, t: (p - lr * g, s)


def momentum_rule(lr, mu, nesterov):
    def rule(p, g, buf, t):
        buf = mu * buf + g
        return p - lr * ((g + mu * buf) if nesterov else buf), buf

    return rule


def adagrad_rule(lr, eps):
    def rule(p, g, total, t):
        total = total + g**2
        return p - lr * g / (np.sqrt(total) + eps), total

    return rule


def rmsprop_rule(lr, alpha, eps):
    def rule(p, g, v, t):
        v = alpha * v + (1 - alpha) * g**2
        return p - lr * g / (np.sqrt(v) + eps), v

    return rule


def adam_rule(lr, b1, b2, eps, wd=0.0):
    def rule(p, g, s, t):
        m, v = s
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * wd * p  # decoupled weight decay (AdamW); a no-op for Adam
        return p - lr * m_hat / (np.sqrt(v_hat) + eps), (m, v)

    return rule


zeros = np.zeros_like
CASES = {
    "sgd": (optim.sgd(0.1), sgd_rule(0.1), zeros),
    "momentum": (optim.momentum(0.1, 0.9), momentum_rule(0.1, 0.9, False), zeros),
    "nesterov": (optim.nesterov(0.1, 0.9), momentum_rule(0.1, 0.9, True), zeros),
    "adagrad": (optim.adagrad(0.1), adagrad_rule(0.1, 1e-10), zeros),
    "rmsprop": (optim.rmsprop(0.01, alpha=0.9), rmsprop_rule(0.01, 0.9, 1e-8), zeros),
    "adam": (optim.adam(0.01), adam_rule(0.01, 0.9, 0.999, 1e-8), lambda a: (zeros(a), zeros(a))),
    "adamw": (optim.adamw(0.01, weight_decay=0.1), adam_rule(0.01, 0.9, 0.999, 1e-8, 0.1), lambda a: (zeros(a), zeros(a))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_three_steps_follow_the_published_rule(name):
    optimizer, rule, state_init = CASES[name]
    for (w, b), (w_ref, b_ref) in zip(run(optimizer), reference(rule, state_init)):
        np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(CASES))
def test_update_leaves_params_grads_and_state_untouched_and_read_only(name):
    optimizer = CASES[name][0]
    params = params_of(W0, B0)
    grads = params_of(*GRADS[0])
    state = optimizer.init(params)
    state_before = repr(state), [a.copy() for a in _state_arrays(state)]
    updates, new_state = optimizer.update(grads, state, params)
    assert np.array_equal(params.layers[0].w, W0) and np.array_equal(grads.layers[0].w, GRADS[0][0])
    assert [np.array_equal(a, b) for a, b in zip(_state_arrays(state), state_before[1])] == [True] * len(state_before[1])
    for array in _state_arrays(new_state) + updates.arrays():
        assert not array.flags.writeable
    with pytest.raises(AttributeError):
        new_state.count = 0


def _state_arrays(state):
    arrays = []
    for value in getattr(state, "__attrs_attrs__", ()):
        field = getattr(state, value.name)
        if isinstance(field, fnn.Params):
            arrays += field.arrays()
        elif isinstance(field, tuple):
            for inner in field:
                arrays += _state_arrays(inner)
    return arrays


def test_optimisers_minimise_a_quadratic():
    for name, (optimizer, _, _) in CASES.items():
        params = params_of(W0, B0)
        state = optimizer.init(params)
        for _ in range(300):
            grads = params  # gradient of 0.5 * ||params||^2
            updates, state = optimizer.update(grads, state, params)
            params = optim.apply_updates(params, updates)
        assert np.abs(fnn.flatten_params(params)).max() < 0.5 * np.abs(fnn.flatten_params(params_of(W0, B0))).max(), name


def test_chain_clips_then_steps():
    clipped = optim.chain(optim.clip_by_global_norm(0.1), optim.sgd(1.0))
    params = params_of(W0, B0)
    updates, _ = clipped.update(params_of(*GRADS[0]), clipped.init(params), params)
    assert optim.global_norm(updates) == pytest.approx(0.1)
    small = params_of(GRADS[0][0] * 1e-3, GRADS[0][1] * 1e-3)
    updates, _ = clipped.update(small, clipped.init(params), params)
    assert np.allclose(updates.layers[0].w, -small.layers[0].w)


def test_l2_penalty_adds_to_gradient_and_loss_but_not_to_biases():
    l2 = optim.chain(optim.add_l2(0.5), optim.sgd(1.0))
    params = params_of(W0, B0)
    zero = params_of(zeros(W0), zeros(B0))
    updates, _ = l2.update(zero, l2.init(params), params)
    np.testing.assert_allclose(updates.layers[0].w, -0.5 * W0)
    assert (updates.layers[0].b == 0).all()
    assert l2.penalty(params) == pytest.approx(0.25 * np.sum(W0**2))


def test_freeze_keeps_chosen_layers():
    spec = fnn.network([2, 3, 2])
    params = fnn.init_params(spec, 0, "float64")
    opt = optim.chain(optim.freeze([0]), optim.sgd(0.1))
    grads = fnn.map_arrays(np.ones_like, params)
    new = optim.apply_updates(params, opt.update(grads, opt.init(params), params)[0])
    assert new.layers[0] == params.layers[0] and new.layers[1] != params.layers[1]


def test_schedules_are_pure_functions_of_the_step():
    assert optim.constant(0.1)(1000) == 0.1
    assert [optim.step_decay(1.0, every=2, factor=0.5)(s) for s in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert optim.exponential(1.0, 0.5, decay_steps=10)(20) == pytest.approx(0.25)
    cos = optim.cosine(1.0, total_steps=10, final_lr=0.1)
    assert cos(0) == 1.0 and cos(10) == pytest.approx(0.1) and cos(5) == pytest.approx(0.55) and cos(50) == pytest.approx(0.1)
    warm = optim.linear_warmup(1.0, 4, then=optim.exponential(1.0, 0.5))
    assert [warm(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 0.5]


def test_scheduled_learning_rate_is_used_and_recorded():
    train, _ = fnn.data.stratified_split(fnn.data.digits(), 0.2, seed=0)
    params = fnn.init_params(fnn.network([64, 10]), seed=0)
    steps = fnn.batch_count(len(train), 100)
    opt = optim.sgd(optim.step_decay(0.1, every=steps, factor=0.5))
    state = fnn.fit(params, train, epochs=3, optimizer=opt, batch_size=100, seed=0)
    assert state.history.column("lr") == [0.05, 0.025, 0.0125]  # the rate the next update uses


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: optim.get_optimizer("adamax"), "Known optimizers: adagrad, adam, adamw, momentum, nesterov, rmsprop, sgd"),
        (lambda: optim.get_schedule("linear"), "Known schedules: constant, cosine, exponential, linear_warmup, step_decay"),
        (lambda: optim.adam(lr=-1e-3), "'lr'"),
        (lambda: optim.adam(lr=float("nan")), "'lr'"),
        (lambda: optim.adam(b1=float("inf")), "'b1'"),
        (lambda: optim.sgd(0.1, momentum=-0.9), "'momentum'"),
        (lambda: optim.rmsprop(alpha=1.5), "'alpha'"),
        (lambda: optim.adamw(weight_decay=-0.1), "'weight_decay'"),
        (lambda: optim.clip_by_global_norm(0), "'max_norm'"),
        (lambda: optim.add_l2(-1), "'l2'"),
        (lambda: optim.get_optimizer("sgd", betas=0.9), "does not take"),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(call, message):
    with pytest.raises(fnn.FnnInputError, match=message):
        call()


def test_state_of_another_network_is_refused_with_both_shapes():
    small = fnn.init_params(fnn.network([3, 4, 2]), 0)
    large = fnn.init_params(fnn.network([3, 5, 2]), 0)
    opt = optim.adam()
    state = opt.init(small)
    with pytest.raises(fnn.FnnInputError, match=r"\(3, 5\).*\(3, 4\)"):
        opt.update(fnn.map_arrays(np.ones_like, large), state, large)


def test_matches_torch_optim_for_the_same_hyperparameters():
    torch = pytest.importorskip("torch")
    pairs = {
        "sgd": (optim.sgd(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
        "momentum": (optim.momentum(0.1, 0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        "nesterov": (optim.nesterov(0.1, 0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
        "adagrad": (optim.adagrad(0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
        "rmsprop": (optim.rmsprop(0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
        "adam": (optim.adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
        "adamw": (optim.adamw(0.01, weight_decay=0.1), lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    }
    for name, (ours, make_torch) in pairs.items():
        w = torch.tensor(W0, requires_grad=True)
        b = torch.tensor(B0, requires_grad=True)
        theirs = make_torch([w, b])
        for (gw, gb), (w_ours, b_ours) in zip(GRADS, run(ours)):
            w.grad, b.grad = torch.tensor(gw), torch.tensor(gb)
            theirs.step()
            np.testing.assert_allclose(w.detach().numpy(), w_ours, rtol=1e-10, atol=1e-12, err_msg=name)
            np.testing.assert_allclose(b.detach().numpy(), b_ours, rtol=1e-10, atol=1e-12, err_msg=name)


def test_adam_on_digits_reaches_97_percent():
    data = fnn.data
    train, test = data.stratified_split(data.digits(), 0.2, seed=0)
    stats = data.fit_standardizer(train.features)
    x_train, x_test = data.standardize(train.features, stats), data.standardize(test.features, stats)
    accuracies = []
    for seed in range(3):  # the mean over seeds, so the figure does not hang on one lucky draw
        params = fnn.init_params(fnn.network([64, 256, 10], activation="relu", init="he_uniform"), seed=seed)
        state = fnn.fit(params, (x_train, train.labels), epochs=40, optimizer=optim.adam(1e-3), batch_size=32,
                        seed=seed, drop_rate=0.3)
        accuracies.append(fnn.accuracy(state.params, x_test, test.labels))
    assert np.mean(accuracies) >= 0.97 and min(accuracies) >= 0.96


def test_noisy_sine_regression_reaches_r2_095():
    data = fnn.data.noisy_sine(1000, noise=0.1, seed=0)
    train, test = fnn.data.stratified_split(data, 0.2, seed=0)
    params = fnn.init_params(fnn.network([1, 32, 32, 1], activation="tanh", output="identity"), seed=0)
    state = fnn.fit(params, train, epochs=100, optimizer=optim.adam(0.01), batch_size=32, seed=0, validation=test)
    assert state.history[-1].val_r2 >= 0.95
    assert fnn.evaluate(state.params, *test.as_tuple())["r2"] == pytest.approx(state.history[-1].val_r2)
    assert state.history[-1].r2 > 0.9 and state.history[-1].accuracy is None


@pytest.mark.parametrize("name", sorted(CASES))
def test_resume_is_byte_identical_for_every_optimizer_with_dropout(name):
    train, test = fnn.data.stratified_split(fnn.data.digits(), 0.2, seed=0)
    params = fnn.init_params(fnn.network([64, 24, 16, 10], activation="relu"), seed=0)
    optimizer = optim.chain(optim.clip_by_global_norm(5.0), CASES[name][0])
    kwargs = dict(optimizer=optimizer, batch_size=64, drop_rate=0.3, validation=test)
    k = fnn.fit(params, train, epochs=2, seed=7, **kwargs)
    resumed = fnn.fit(k, train, epochs=3, **kwargs)
    straight = fnn.fit(params, train, epochs=5, seed=7, **kwargs)
    assert [a.tobytes() for a in resumed.params.arrays()] == [a.tobytes() for a in straight.params.arrays()]
    assert [a.tobytes() for a in _state_arrays(resumed.opt_state)] == [a.tobytes() for a in _state_arrays(straight.opt_state)]
    assert resumed.history == straight.history and resumed.step == straight.step


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_training_step_is_the_public_update_byte_for_byte(name, dtype):
    """The training step's fast path computes ``p - lr * g`` (and each optimiser's rule) exactly as the public
    update followed by apply_updates does: the same bytes."""
    from fnn.train.step import train_step

    optimizer = CASES[name][0]
    data = fnn.data.moons(64, noise=0.2, seed=0)
    params = fnn.init_params(fnn.network([2, 8, 8, 1], loss="binary_cross_entropy", activation="tanh"), seed=1, dtype=dtype)
    x, y = data.features.astype(dtype), data.labels.astype(dtype).reshape(-1, 1)
    fused, public = (params, optimizer.init(params)), (params, optimizer.init(params))
    for _ in range(3):
        p, s = fused
        fused = train_step(optimizer, p, s, x, y)[2:]
        p, s = public
        updates, s = optimizer.update(fnn.grad(p, (x, y)), s, p)
        public = (optim.apply_updates(p, updates), s)
    for a, b in zip(fused[0].arrays() + _state_arrays(fused[1]), public[0].arrays() + _state_arrays(public[1]), strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert not np.array_equal(fused[0].layers[0].w, params.layers[0].w)


def _textbook(name, g, moments, p, t):
    """Each rule as one plain NumPy expression per quantity, in the kernels' order of operations (``t`` counts
    from 1): the kernels' in-place passes must give these very bytes."""
    if name == "sgd":
        return g * -0.1, []
    if name in ("momentum", "nesterov"):
        velocity = moments[0] * 0.9 + g
        return ((g + velocity * 0.9) if name == "nesterov" else velocity) * -0.1, [velocity]
    if name == "adagrad":
        total = g * g + moments[0]
        return g / (np.sqrt(total) + 1e-10) * -0.1, [total]
    if name == "rmsprop":
        mean = g * g * (1 - 0.9) + moments[0] * 0.9
        return g / (np.sqrt(mean) + 1e-8) * -0.01, [mean]
    m, v = moments
    v = g * g * (1 - 0.999) + v * 0.999
    m = m * 0.9 + g * (1 - 0.9)
    step, c2 = 0.01 / (1 - 0.9**t), math.sqrt(1 - 0.999**t)  # Python floats: they take the arrays' dtype
    update = m / (np.sqrt(v) + 1e-8 * c2) * -(step * c2)
    return (update - p * (0.01 * 0.1) if name == "adamw" else update), [m, v]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_update_is_its_textbook_numpy_expression_byte_for_byte(name, dtype):
    optimizer = CASES[name][0]
    params = fnn.init_params(fnn.network([6, 5, 3]), seed=0, dtype=dtype)
    rng = np.random.default_rng(1)
    grads = fnn.map_arrays(lambda a: rng.standard_normal(a.shape).astype(dtype), params)
    state = optimizer.init(params)
    for _ in range(3):  # moments that are not zero
        _, state = optimizer.update(grads, state, params)
    updates, new_state = optimizer.update(grads, state, params)
    names = [f.name for f in type(state).__attrs_attrs__[1:]]
    for i, (g, p) in enumerate(zip(grads.arrays(), params.arrays())):
        want, want_moments = _textbook(name, g, [getattr(state, n).arrays()[i] for n in names], p, state.count + 1)
        assert updates.arrays()[i].tobytes() == want.astype(dtype).tobytes()
        got_moments = [getattr(new_state, n).arrays()[i] for n in names]
        assert [a.tobytes() for a in got_moments] == [a.astype(dtype).tobytes() for a in want_moments]
