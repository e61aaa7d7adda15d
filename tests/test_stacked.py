"""fnn.fit_seeds: every member of a stacked run is the very bytes of its solo fnn.fit run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.optim import OPTIMIZERS, SCHEDULES
from fnn.train import stacked
from fnn.train.stacked import fit_seeds

DIGITS = fnn.data.digits()
SMALL = fnn.data.Dataset(np.asarray(DIGITS.features)[:300], DIGITS.labels[:300])
SPEC = fnn.network([64, 16, 12, 10])
SCHEDULE_OF = {
    "constant": "constant:0.05",
    "step_decay": "step_decay:0.05,7,0.5",
    "exponential": "exponential:0.05,0.9,5",
    "cosine": "cosine:0.05,30",
    "linear_warmup": "linear_warmup:0.05,10+cosine:0.05,20",
}


def solo(start, data, seed, epochs, **options):
    begin = start if isinstance(start, (fnn.Params, fnn.TrainState)) else fnn.init_params(start, seed=seed)
    return fnn.fit(begin, data, epochs=epochs, seed=None if isinstance(begin, fnn.TrainState) else seed, **options)


def assert_members_are_solo(states, start, data, seeds, epochs, **options):
    assert [s.seed for s in states] == list(seeds)
    for index, (state, seed) in enumerate(zip(states, seeds)):
        own_start = start[index] if isinstance(start, list) else start
        alone = solo(own_start, data, seed, epochs, **options)
        assert state.params == alone.params, f"params of seed {seed}"
        assert state.opt_state == alone.opt_state, f"optimiser state of seed {seed}"
        assert state.history == alone.history, f"history of seed {seed}"
        assert (state.epoch, state.step) == (alone.epoch, alone.step)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("drop_rate", [0.0, 0.3])
def test_every_optimizer_with_and_without_dropout(name, drop_rate):
    options = dict(optimizer=name, lr=0.02, batch_size=25, drop_rate=drop_rate, validation=0.2)
    states = fit_seeds(SPEC, SMALL, seeds=[0, 5, 2], epochs=3, **options)
    assert_members_are_solo(states, SPEC, SMALL, [0, 5, 2], 3, **options)
    assert states[0].params != states[1].params  # the members are different runs


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_every_schedule(schedule):
    optimizer = fnn.optim.momentum(fnn.optim.get_schedule(SCHEDULE_OF[schedule]))
    states = fit_seeds(SPEC, SMALL, seeds=[1, 2], epochs=3, optimizer=optimizer, batch_size=32)
    assert_members_are_solo(states, SPEC, SMALL, [1, 2], 3, optimizer=optimizer, batch_size=32)
    assert len(set(states[0].history.column("lr"))) == (1 if schedule == "constant" else 3)


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_kernel_applied_a_few_members_at_a_time(monkeypatch, name):
    # Wide members are updated in cache-sized parts: the same bytes as one call over all of them.
    monkeypatch.setattr(stacked, "CHUNK", 2 * fnn.core.params.flat_layout(SPEC)[1])
    options = dict(optimizer=name, lr=0.01, batch_size=40)
    states = fit_seeds(SPEC, SMALL, seeds=[0, 1, 2, 3, 4], epochs=2, **options)
    assert_members_are_solo(states, SPEC, SMALL, [0, 1, 2, 3, 4], 2, **options)


@pytest.mark.parametrize(
    "optimizers",
    [
        [fnn.optim.sgd(0.1), fnn.optim.sgd(0.03), fnn.optim.sgd("cosine:0.05,20")],
        [fnn.optim.momentum(0.05, beta=0.5), fnn.optim.nesterov(0.02, beta=0.9), fnn.optim.sgd(0.1, momentum=0.8)],
        [fnn.optim.adamw(0.01, weight_decay=0.1), fnn.optim.adamw(0.003, b1=0.8), fnn.optim.adam(0.02)],
        [fnn.optim.chain(fnn.optim.clip_by_global_norm(c), fnn.optim.sgd(0.1)) for c in (0.1, 1.0, 10.0)],
    ],
)
def test_members_with_their_own_optimizer_settings(optimizers):
    states = fit_seeds(SPEC, SMALL, seeds=[0, 1, 2], epochs=2, optimizers=optimizers, batch_size=30, drop_rate=0.1)
    for state, seed, optimizer in zip(states, [0, 1, 2], optimizers):
        alone = solo(SPEC, SMALL, seed, 2, optimizer=optimizer, batch_size=30, drop_rate=0.1)
        assert state.params == alone.params and state.opt_state == alone.opt_state and state.history == alone.history


def test_members_own_optimizers_of_another_kind_are_refused():
    with pytest.raises(fnn.FnnInputError, match="optimizers"):
        fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=1, optimizers=[fnn.optim.sgd(0.1), fnn.optim.adam()])
    with pytest.raises(fnn.FnnInputError, match="lr"):
        fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=1, optimizers=["sgd", "sgd"], lr=0.1)
    with pytest.raises(fnn.FnnInputError, match="optimizers"):
        fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=1, optimizers=["sgd"])


def test_chain_without_kernel_clips_and_penalises_member_by_member():
    # clip_by_global_norm takes each member's own norm; add_l2 adds each member's own penalty to its loss.
    optimizer = fnn.optim.chain(fnn.optim.add_l2(1e-3), fnn.optim.clip_by_global_norm(0.5), fnn.optim.adam(0.01))
    assert optimizer.kernel is None and optimizer.penalty is not None
    states = fit_seeds(SPEC, SMALL, seeds=[3, 4, 5], epochs=2, optimizer=optimizer, batch_size=20)
    assert_members_are_solo(states, SPEC, SMALL, [3, 4, 5], 2, optimizer=optimizer, batch_size=20)


def test_early_stopping_freezes_each_member_on_its_own():
    data = fnn.data.moons(120, noise=0.35, seed=0)
    spec = fnn.network([2, 24, 1], activation="tanh", loss="binary_cross_entropy")
    seeds = list(range(6))
    options = dict(optimizer="adam", lr=0.05, batch_size=10, validation=0.3, patience=2)
    states = fit_seeds(spec, data, seeds=seeds, epochs=40, **options)
    assert_members_are_solo(states, spec, data, seeds, 40, **options)
    assert len({s.epoch for s in states}) > 1  # members stopped at different epochs, the others went on


def test_early_stopping_on_a_missing_metric_is_refused():
    with pytest.raises(fnn.FnnInputError, match="val_loss"):
        fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=2, patience=1)


def test_float64_members_and_their_own_start_params():
    starts = [fnn.init_params(SPEC, seed=s + 10, dtype="float64") for s in range(3)]
    data = fnn.data.Dataset(np.asarray(SMALL.features).astype(np.float64), SMALL.labels)
    states = fit_seeds(starts, data, seeds=[0, 1, 2], epochs=2, optimizer="rmsprop", lr=0.01, drop_rate=0.2)
    assert states[0].params.dtype == np.float64
    assert_members_are_solo(states, starts, data, [0, 1, 2], 2, optimizer="rmsprop", lr=0.01, drop_rate=0.2)


def test_one_start_for_all_members_differs_by_shuffle_only():
    start = fnn.init_params(SPEC, seed=0)
    states = fit_seeds(start, SMALL, seeds=[0, 1], epochs=2, lr=0.1)
    assert_members_are_solo(states, start, SMALL, [0, 1], 2, lr=0.1)


def test_regression_members_and_shuffle_off():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3)).astype(np.float32)
    y = np.stack([x.sum(axis=1), x[:, 0] * x[:, 1]], axis=1).astype(np.float32)
    spec = fnn.network([3, 10, 2], activation="tanh", loss="mse")
    for shuffle in (True, False):
        states = fit_seeds(spec, (x, y), seeds=[7, 8], epochs=3, lr=0.05, batch_size=16, shuffle=shuffle, validation=0.2)
        assert_members_are_solo(states, spec, (x, y), [7, 8], 3, lr=0.05, batch_size=16, shuffle=shuffle, validation=0.2)
        assert states[0].history[-1].r2 is not None


def test_lazy_scaled_rows_are_gathered_as_fit_gathers_them():
    raw = np.random.default_rng(3).integers(0, 256, (120, 6, 6), dtype=np.uint8)
    data = fnn.data.Dataset(fnn.data.ScaledRows(raw, 255.0), np.arange(120) % 3)
    spec = fnn.network([36, 8, 3])
    states = fit_seeds(spec, data, seeds=[0, 9], epochs=2, lr=0.2, batch_size=16, validation=0.25, drop_rate=0.2)
    assert_members_are_solo(states, spec, data, [0, 9], 2, lr=0.2, batch_size=16, validation=0.25, drop_rate=0.2)


def test_validation_data_given_and_diagnostics_recorded():
    val = fnn.data.Dataset(np.asarray(DIGITS.features)[300:400], DIGITS.labels[300:400])
    options = dict(optimizer="nesterov", lr=0.05, validation=val, diagnostics=True, drop_rate=0.1)
    states = fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=2, **options)
    assert states[0].history[-1].diagnostics is not None and states[0].history[-1].val_accuracy is not None
    assert_members_are_solo(states, SPEC, SMALL, [0, 1], 2, **options)


def test_resumed_members_continue_exactly():
    first = fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=2, optimizer="adam", lr=0.01, drop_rate=0.2)
    more = fit_seeds(list(first), SMALL, seeds=[0, 1], epochs=2, optimizer="adam", lr=0.01, drop_rate=0.2)
    whole = fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=4, optimizer="adam", lr=0.01, drop_rate=0.2)
    for a, b in zip(more, whole):
        assert a.params == b.params and a.opt_state == b.opt_state and a.history == b.history


@pytest.mark.parametrize("seeds", [np.arange(2), ["0", "1"], (np.int64(0), 1), range(2)])
def test_seeds_are_checked_as_fits_seed(seeds):
    states = fit_seeds(SPEC, SMALL, seeds=seeds, epochs=1)
    assert [state.seed for state in states] == [0, 1]
    assert states[1].params == solo(SPEC, SMALL, 1, 1).params


def test_zero_epochs_gives_the_start_states():
    states = fit_seeds(SPEC, SMALL, seeds=[4], epochs=0)
    assert states[0].params == fnn.init_params(SPEC, seed=4) and states[0].epoch == 0
    wide = fit_seeds(SPEC, SMALL, seeds=[4], epochs=0, dtype="float64")
    assert wide[0].params == fnn.fit(fnn.init_params(SPEC, seed=4), SMALL, epochs=0, dtype="float64").params
    assert wide[0].params.dtype == np.float64


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fit_seeds(SPEC, SMALL, seeds=[], epochs=1), "seeds"),
        (lambda: fit_seeds(SPEC, SMALL, seeds=[0, -1], epochs=1), "seeds"),
        (lambda: fit_seeds(SPEC, SMALL, seeds=[0, True], epochs=1), "seeds"),
        (lambda: fit_seeds(SPEC, SMALL, seeds=np.zeros((2, 2), int), epochs=1), "seeds"),
        (lambda: fit_seeds(SPEC, SMALL, seeds=["one"], epochs=1), "seeds"),
        (lambda: fit_seeds(SPEC, SMALL, seeds=[0], epochs=1, seed=3), "seed"),
        (lambda: fit_seeds([fnn.init_params(SPEC, seed=0)], SMALL, seeds=[0, 1], epochs=1), "start"),
        (lambda: fit_seeds(
            [fnn.init_params(SPEC, seed=0), fnn.init_params(fnn.network([64, 5, 10]), seed=1)], SMALL, seeds=[0, 1], epochs=1
        ), "one network"),
        (lambda: fit_seeds(SPEC, SMALL, seeds=[0], epochs=-1), "epochs"),
        (lambda: fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=1, patience=1, monitor="val_r2", validation=0.2),
         "The 'monitor' argument of fnn.fit_seeds must be loss, accuracy"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(fnn.FnnInputError, match=match):
        call()


def test_divergence_names_the_seed():
    data = fnn.data.Dataset(np.asarray(SMALL.features) * 1e4, SMALL.labels)
    with np.errstate(all="ignore"), pytest.raises(fnn.TrainingDiverged, match="seed 0") as caught:
        fit_seeds(fnn.network([64, 10]), data, seeds=[0, 1], epochs=3, lr=1e30)
    assert caught.value.last_good is not None


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 7), min_size=2, max_size=4),
    seeds=st.lists(st.integers(0, 50), min_size=1, max_size=4, unique=True),  # a seed once, as a sweep takes them
    batch_size=st.integers(1, 40),
    dtype=st.sampled_from(["float32", "float64"]),
    optimizer=st.sampled_from(sorted(OPTIMIZERS)),
    drop_rate=st.sampled_from([0.0, 0.25]),
)
def test_any_small_network_and_seed_list(sizes, seeds, batch_size, dtype, optimizer, drop_rate):
    classes = max(sizes[-1], 2)
    spec = fnn.network([4, *sizes[:-1], classes], activation="tanh")
    rng = np.random.default_rng(len(sizes) + batch_size)
    data = (rng.normal(size=(37, 4)).astype(dtype), rng.integers(0, classes, 37))
    starts = [fnn.init_params(spec, seed=s, dtype=dtype) for s in seeds]
    options = dict(optimizer=optimizer, lr=0.05, batch_size=batch_size, drop_rate=drop_rate)
    states = fit_seeds(starts, data, seeds=seeds, epochs=2, **options)
    assert_members_are_solo(states, starts, data, seeds, 2, **options)


@pytest.mark.parametrize("keyword, value", [("sample_weight", np.ones(40)), ("class_weight", "balanced")])
def test_weights_are_refused_by_name(keyword, value):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = np.arange(40) % 2
    with pytest.raises(fnn.FnnInputError, match=f"{keyword}. argument of fnn.fit_seeds must be None"):
        fit_seeds(fnn.network([3, 4, 2]), (x, y), seeds=[0, 1], epochs=1, **{keyword: value})


# One call per keyword of fnn.fit (with what it needs beside it); each member must be its solo fit's bytes.
FIT_OPTIONS = {
    "optimizer": dict(optimizer="adam"),
    "lr": dict(lr="0.05"),
    "momentum": dict(lr=0.05, momentum=0.9),
    "weight_decay": dict(optimizer="adamw", weight_decay=0.05),
    "schedule": dict(lr=0.2, schedule="step_decay:1,0.5", validation=0.2),
    "clip_norm": dict(lr=0.5, clip_norm=0.1),
    "l2": dict(l2=0.01),
    "batch_size": dict(batch_size=17),
    "validation": dict(validation=0.25),
    "drop_rate": dict(drop_rate=(0.3, 0.1)),
    "patience": dict(lr=2.0, patience=1, validation=0.2, monitor="val_accuracy"),
    "monitor": dict(lr=2.0, patience=1, monitor="loss"),
    "metrics": dict(metrics=["f1_macro", "log_loss"], validation=0.2),
    "train_metrics": dict(metrics=["f1_macro"], train_metrics=True, patience=1, monitor="f1_macro"),
    "diagnostics": dict(diagnostics=True),
    "dtype": dict(dtype="float64", optimizer="rmsprop"),
    "threads": dict(threads=1),
    "shuffle": dict(shuffle=False),
}
ALONE = {"seed": 3, "class_weight": "balanced", "sample_weight": np.ones(len(SMALL.labels))}
"""fit's keywords fit_seeds refuses by name: the seed is each member's, weighted losses train one run at a time."""


def test_every_fit_keyword_is_stacked_or_refused():
    from fnn.train.options import FIT_KEYWORDS

    assert sorted(FIT_OPTIONS.keys() | ALONE.keys()) == sorted(FIT_KEYWORDS)


@pytest.mark.parametrize("keyword", sorted(FIT_OPTIONS))
def test_every_fit_option_gives_each_member_its_solo_bytes(keyword):
    options = FIT_OPTIONS[keyword]
    states = fit_seeds(SPEC, SMALL, seeds=[0, 7], epochs=3, **options)
    assert_members_are_solo(states, SPEC, SMALL, [0, 7], 3, **options)


@pytest.mark.parametrize("keyword", sorted(ALONE))
def test_fit_options_of_one_run_at_a_time_are_refused_by_name(keyword):
    with pytest.raises(fnn.FnnInputError, match=f"'{keyword}' argument of fnn.fit_seeds"):
        fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=1, **{keyword: ALONE[keyword]})


def test_a_schedule_in_epochs_counts_the_training_part_of_each_member():
    states = fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=4, lr=0.4, schedule="cosine", validation=0.2, batch_size=60)
    assert states[0].history.column("lr") == fnn.fit(
        fnn.init_params(SPEC, seed=0), SMALL, epochs=4, lr=0.4, schedule="cosine", validation=0.2, batch_size=60, seed=0
    ).history.column("lr")
    assert states[0].history[-1].lr < 0.4 * 0.2  # cosine over the 4 epochs given, in steps of 4 batches each


def test_threads_limit_blas_while_the_members_train(monkeypatch):
    from threadpoolctl import threadpool_info

    seen = []
    epoch = stacked._epoch

    def watched(*args, **kwargs):
        seen.append({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
        return epoch(*args, **kwargs)

    monkeypatch.setattr(stacked, "_epoch", watched)
    fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=2, threads=1)
    assert seen == [{1}, {1}]


def test_a_loss_that_explodes_stops_as_fit_does():
    options = dict(lr=40.0, momentum=0.99, batch_size=300)
    with pytest.raises(fnn.TrainingDiverged) as alone:
        solo(SPEC, SMALL, 2, 6, **options)
    with pytest.raises(fnn.TrainingDiverged, match="Seed 2: Training diverged: the training loss grew") as stacked_error:
        fit_seeds(SPEC, SMALL, seeds=[2], epochs=6, **options)
    assert (stacked_error.value.epoch, stacked_error.value.step) == (alone.value.epoch, alone.value.step)
    assert stacked_error.value.last_good == alone.value.last_good


def test_a_loss_above_the_factor_but_within_a_large_starts_limit_goes_on_as_fit_does():
    # targets in the thousands: the start's loss is ~1e6, so losses above DIVERGENCE_FACTOR are within its limit
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    data = (x, (x @ np.array([[900.0], [-700.0], [1200.0]]) + 3000).astype(np.float32))
    spec = fnn.network([3, 4, 1], output="identity", loss="mse")
    states = fit_seeds(spec, data, seeds=[0, 1], epochs=3, lr=1e-4, batch_size=20)
    assert all(loss > fnn.train.loop.DIVERGENCE_FACTOR for state in states for loss in state.history.column("loss"))
    assert_members_are_solo(states, spec, data, [0, 1], 3, lr=1e-4, batch_size=20)


@pytest.mark.parametrize("keyword", ["lr", "momentum", "schedule", "clip_norm", "l2", "weight_decay"])
def test_optimizer_settings_beside_each_members_own_optimizer_are_refused(keyword):
    value = {"schedule": "step_decay:1,0.5"}.get(keyword, 0.5)
    with pytest.raises(fnn.FnnInputError, match=f"'{keyword}' argument of fnn.fit_seeds must be left out"):
        fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=1, optimizers=[fnn.optim.sgd(0.1), fnn.optim.sgd(0.2)], **{keyword: value})


def test_memory_of_all_members_is_estimated_before_training(monkeypatch):
    monkeypatch.setattr("fnn.limits.available_memory", lambda: 10**6)
    with pytest.raises(fnn.FnnInputError, match=r"fit_seeds: training 2 members of the network 64-16-12-10 .* needs"):
        fit_seeds(SPEC, SMALL, seeds=[0, 1], epochs=1, batch_size=300)


def _one_hot(labels, k):
    return np.eye(k, dtype=np.float32)[labels]


@pytest.mark.parametrize("loss, output, targets", [
    ("cross_entropy", "softmax", "labels"), ("cross_entropy", "softmax", "one_hot"), ("binary_cross_entropy", "sigmoid", "labels"),
    ("binary_cross_entropy", "sigmoid", "one_hot"), ("mse", "identity", "one_hot"), ("quadratic", "identity", "one_hot"),
    ("mse", "softmax", "labels"), ("quadratic", "sigmoid", "one_hot"),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_builtin_loss_stacks_to_its_solo_bytes(loss, output, targets, dtype):
    k = 1 if loss == "binary_cross_entropy" and targets == "labels" else 3
    spec = fnn.network([4, 9, k], activation="tanh", output=output, loss=loss)
    starts = [fnn.init_params(spec, seed=s, dtype=dtype) for s in (0, 5, 9)]
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 4)).astype(dtype)
    labels = (x[:, 0] > 0).astype(np.int64) if k == 1 else np.digitize(x[:, 0] + x[:, 1], [-0.5, 0.5])
    y = labels if targets == "labels" else _one_hot(labels, max(k, 2))[:, :k].astype(dtype)
    states = fit_seeds(starts, (x, y), seeds=[0, 5, 9], epochs=3, lr=0.2, batch_size=25, validation=0.2)
    assert_members_are_solo(states, starts, (x, y), [0, 5, 9], 3, lr=0.2, batch_size=25, validation=0.2)
    assert spec.loss.stacks


def test_a_loss_of_ones_own_runs_member_by_member():
    solo_mse = fnn.core.losses.MEAN_SQUARED_ERROR
    mine = fnn.core.losses.Loss("my_mse", solo_mse.value, solo_mse.derivative)
    spec = fnn.network([3, 6, 2], activation="tanh", loss=mine)
    x = np.random.default_rng(2).normal(size=(60, 3)).astype(np.float32)
    y = np.stack([x.sum(axis=1), x[:, 0]], axis=1).astype(np.float32)
    assert not mine.stacks
    states = fit_seeds(spec, (x, y), seeds=[1, 2], epochs=2, lr=0.05, batch_size=16, validation=0.2)
    assert_members_are_solo(states, spec, (x, y), [1, 2], 2, lr=0.05, batch_size=16, validation=0.2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacked_loss_functions_give_each_members_solo_bytes(dtype):
    """Every function of every built-in loss (the weighted ones too) on S stacked batches against each batch alone,
    with a member whose true-class probability underflows (the cross-entropy's value then comes from its logits)."""
    rng = np.random.default_rng(3)
    z = rng.normal(scale=3, size=(4, 37, 5)).astype(dtype)
    z[2, 5] = [-200, 200, 0, 0, 0] if dtype == np.float32 else [-2000, 2000, 0, 0, 0]
    a = np.exp(z - z.max(axis=-1, keepdims=True))
    a /= a.sum(axis=-1, keepdims=True)
    labels = rng.integers(0, 5, size=(4, 37))
    labels[2, 5] = 0
    scale = rng.random((4, 37)).astype(dtype)
    z1 = z[..., :1]
    a1 = (0.5 * (1 + np.tanh(z1 / 2))).astype(dtype)
    for name in ("cross_entropy", "binary_cross_entropy", "mse", "quadratic"):
        loss = fnn.core.losses.get_loss(name)
        for zs, az, y in [(z, a, labels), (z, a, np.eye(5, dtype=dtype)[labels])] + ([(z1, a1, labels % 2)] if name == "binary_cross_entropy" else []):
            if name == "binary_cross_entropy" and y is labels:
                continue  # class labels are a single sigmoid output's
            calls = [("value", (az, y)), ("derivative", (az, y)), ("per_sample", (zs, az, y))]
            if loss.fused:
                calls += [("value_from_logits", (zs, y)), ("grad_logits", (zs, az, y)), ("scaled_grad_logits", (zs, az, y, scale))]
            if loss.value_from_both is not None:
                calls += [("value_from_both", (zs, az, y))]
            for function, args in calls:
                stacked_result = np.asarray(getattr(loss, function)(*args))
                for s in range(4):
                    alone = np.asarray(getattr(loss, function)(*(arg[s] for arg in args)))
                    assert stacked_result[s].tobytes() == alone.tobytes(), (name, function, y.dtype, s)
    ce = fnn.core.losses.CROSS_ENTROPY
    values = ce.value_from_both(z, a, labels)  # member 2 from its logits (a finite ~400/37 more), the others from a
    assert np.isfinite(values).all() and values[2] == ce.value_from_logits(z[2], labels[2]) and values[2] > 10
    assert values[0] == -np.add.reduce(np.log(a[0][np.arange(37), labels[0]])) / 37


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 90), st.integers(1, 40), st.lists(st.integers(0, 2**31), min_size=1, max_size=4),
       st.integers(0, 5), st.booleans())
def test_an_epochs_batch_order_is_the_rows_minibatches_gives(n, batch_size, seeds, epoch, shuffle):
    rows = np.arange(n) * 3 + 1  # a member's training rows of the data, not 0..n-1
    members = [stacked._Member(seed, rows, None, None, fnn.optim.sgd(0.1)) for seed in seeds]
    order = stacked._epoch_order(members, batch_size, epoch, shuffle)
    for seed, own in zip(seeds, order):
        batches = [b for b, _ in fnn.minibatches(rows, rows, batch_size, seed, epoch, shuffle)]
        assert own.tolist() == np.concatenate(batches).tolist()


def _counting(monkeypatch, name):
    calls = []
    function = getattr(stacked, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return function(*args, **kwargs)

    monkeypatch.setattr(stacked, name, counted)
    return calls


@pytest.mark.parametrize("spec, data, options", [
    (SPEC, SMALL, dict(validation=0.2, patience=1, lr=0.3)),
    (fnn.network([2, 6, 1], activation="tanh", loss="binary_cross_entropy"), fnn.data.moons(80, noise=0.3, seed=1), dict(validation=0.25)),
    (fnn.network([3, 5, 2], loss="mse"), (np.arange(120.0, dtype=np.float32).reshape(40, 3) / 40, np.arange(80.0, dtype=np.float32).reshape(40, 2) / 80),
     dict(validation=0.2)),
])
def test_validation_metrics_of_all_members_in_one_stacked_pass_are_evaluates(monkeypatch, spec, data, options):
    calls = _counting(monkeypatch, "_validation_metrics")
    states = fit_seeds(spec, data, seeds=[4, 0, 9], epochs=4, batch_size=8, **options)
    assert len(calls) == max(s.epoch for s in states)  # once an epoch, for every member still training
    assert_members_are_solo(states, spec, data, [4, 0, 9], 4, batch_size=8, **options)
    assert all(s.history[-1].val_loss is not None for s in states)


@pytest.mark.parametrize("options", [
    dict(validation=0.75),  # more rows than evaluate scores in one pass: member by member, in its batches
    dict(validation=0.2, metrics=["f1_macro"]),  # metrics of one's own: member by member
])
def test_validation_metrics_evaluate_does_not_take_in_one_pass_are_computed_member_by_member(monkeypatch, options):
    data = fnn.data.Dataset(np.asarray(DIGITS.features)[:1500], DIGITS.labels[:1500])
    calls = _counting(monkeypatch, "_validation_metrics")
    states = fit_seeds(SPEC, data, seeds=[1, 2], epochs=2, batch_size=100, **options)
    assert calls == []
    assert_members_are_solo(states, SPEC, data, [1, 2], 2, batch_size=100, **options)
