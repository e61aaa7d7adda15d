"""The one run loop, the schedule grammar shared by library, TOML and CLI, steps per epoch on the real split,
and training options as one record."""

import json
import subprocess
import sys

import numpy as np
import pytest
from attrs import evolve
from threadpoolctl import threadpool_limits

import fnn
import fnn.run.sweep
from fnn.cli import main
from fnn.data.sources import load_train_test
from fnn.data.transforms import stratified_split_indices
from fnn.errors import FnnInputError
from fnn.optim import DURATIONS, SCHEDULES, get_schedule
from fnn.run.build import build_optimizer, prepare_run
from fnn.run.engine import run, run_prepared
from fnn.run.settings import FLAG, PYTHON, resolve_config, toml_source
from fnn.train.options import MAX_EPOCHS, train_options


def fnn_cli(*args, cwd=None):
    result = subprocess.run([sys.executable, "-m", "fnn", *map(str, args)], capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result


def _rates(schedule, steps=60):
    return [schedule(step) for step in range(steps)]


@pytest.mark.parametrize(
    "config_text, library_text",  # durations: epochs in a configuration, steps (x 7 per epoch) in the library
    [
        ("constant", "constant:0.1"),
        ("step_decay:2,0.5", "step_decay:0.1,14,0.5"),
        ("exponential:0.8", "exponential:0.1,0.8,7"),
        ("exponential:0.8,3", "exponential:0.1,0.8,21"),
        ("cosine", "cosine:0.1,35"),
        ("cosine:4,0.01", "cosine:0.1,28,0.01"),
        ("linear_warmup:1", "linear_warmup:0.1,7"),
    ],
)
def test_one_schedule_grammar_for_library_toml_and_cli(config_text, library_text):
    library = get_schedule(library_text)
    from_toml = resolve_config(({"schedule": config_text, "epochs": 5}, toml_source("x.toml")))
    from_flag = resolve_config(({"schedule": config_text, "epochs": "5"}, FLAG))
    assert from_toml == from_flag
    built = build_optimizer(from_toml, steps_per_epoch=7)
    state = built.init(fnn.init_params(fnn.network([2, 2]), seed=0))
    assert built.name == fnn.optim.sgd(library).name
    assert built.learning_rate(state) == library(0)
    assert _rates(get_schedule(config_text, lr=0.1, steps_per_unit=7, total_units=5)) == _rates(library)


def test_every_schedule_is_reachable_from_a_configuration():
    assert set(DURATIONS) == set(SCHEDULES)
    arguments = {"constant": "", "step_decay": ":3", "exponential": ":0.5", "cosine": "", "linear_warmup": ":2"}
    for name in SCHEDULES:
        config = resolve_config(({"schedule": name + arguments[name], "epochs": 6}, PYTHON))
        assert build_optimizer(config, 4).name.startswith(f"sgd(lr={name}")


def test_warmup_then_another_schedule_in_epochs():
    schedule = get_schedule("linear_warmup:2+cosine", lr=0.1, steps_per_unit=5, total_units=10)
    expected = fnn.optim.linear_warmup(0.1, 10, then=fnn.optim.cosine(0.1, 40))
    assert _rates(schedule, 60) == _rates(expected, 60)
    with pytest.raises(FnnInputError, match="only linear_warmup"):
        get_schedule("cosine+constant", lr=0.1)


def test_steps_per_epoch_count_the_real_training_split_after_the_hold_out():
    # iris: 120 training rows, 12 held out by class (4 of each 40): 108 rows, 9 batches of 12.
    # (120 * (1 - 0.1) / 12 is 9.000000000000002 in floats; rounding it up would say 10.)
    config = resolve_config(({"data": "iris", "validation": 0.1, "batch_size": 12, "epochs": 2, "hidden": [4]}, PYTHON))
    prepared = prepare_run(config)
    whole, _ = load_train_test("iris", seed=config.seed)
    kept, held = stratified_split_indices(whole.labels, 0.1, config.seed, part="validation")
    assert len(prepared.train) == 108 and len(prepared.validation) == 12 and prepared.steps_per_epoch == 9
    assert np.array_equal(prepared.train.labels, whole.labels[kept]) and np.array_equal(prepared.validation.labels, whole.labels[held])
    finished = run(config)
    assert [r["step"] for r in finished.record["history"]] == [9, 18]


def test_the_cli_the_python_api_and_a_sweep_run_the_same_loop(tmp_path):
    args = ["--data", "iris", "--hidden", "8", "--optimizer", "adam", "--lr", "0.01", "--schedule", "step_decay:2,0.5",
            "--drop-rate", "0.1", "--validation", "0.2", "--epochs", "5", "--threads", "1"]  # a sweep's runs use one thread
    fnn_cli("train", *args, "--out", tmp_path / "run", "--quiet")
    cli_record = json.loads((tmp_path / "run" / "record.json").read_text())
    values = dict(zip(args[::2], args[1::2]))
    config = resolve_config((values_to_settings(values), FLAG))
    api = run(config).record
    swept = fnn.run.sweep.sweep(config.to_dict(), {"lr": [0.01]}, [0], engine="sequential").records[0]
    assert cli_record["params_sha256"] == api["params_sha256"] == swept["params_sha256"]
    assert cli_record["config"] == api["config"] == swept["config"]
    lrs = [r["lr"] for r in cli_record["history"]]
    assert lrs[0] == pytest.approx(0.01) and lrs[1] == pytest.approx(0.005) and lrs[3] == pytest.approx(0.0025)


def values_to_settings(flags):
    return {flag.lstrip("-"): value for flag, value in flags.items()}


def test_early_stopping_checkpoints_the_best_state_last():
    config = resolve_config(({"data": "iris", "hidden": [4], "epochs": 60, "lr": 0.5, "validation": 0.3,
                              "patience": 2, "monitor": "val_loss"}, PYTHON))
    saved = []
    finished = run(config, on_checkpoint=saved.append)
    assert finished.last.epoch < 60 and finished.last.epoch - finished.state.epoch == 2
    assert saved[-1] is finished.state and saved[-2] is finished.last
    assert [s.epoch for s in saved[:-1]] == list(range(1, finished.last.epoch + 1))


def test_nothing_left_to_train_is_an_error():
    config = resolve_config(({"data": "iris", "hidden": [4], "epochs": 2}, PYTHON))
    finished = run(config)
    with pytest.raises(FnnInputError, match="Nothing to train: the run already has 2 epochs"):
        run(config, start=finished.state)
    more = run(config.replace(epochs=4), start=finished.state)
    straight = run(config.replace(epochs=4))
    assert more.record["params_sha256"] == straight.record["params_sha256"]


def test_fit_takes_options_as_one_record_or_as_keywords():
    data = fnn.data.moons(120, noise=0.2, seed=0)
    params = fnn.init_params(fnn.network([2, 8, 1], loss="binary_cross_entropy", activation="tanh"), seed=0)
    keywords = dict(optimizer="adam", batch_size=16, seed=3, validation=0.2, drop_rate=0.1)
    a = fnn.fit(params, data, epochs=3, **keywords)
    b = fnn.fit(params, data, epochs=3, options=train_options(**keywords))
    assert a.params == b.params and a.history == b.history
    with pytest.raises(FnnInputError, match="'options' argument of fnn.fit must be given alone"):
        fnn.fit(params, data, epochs=3, options=train_options(), lr=0.1)
    with pytest.raises(TypeError, match="learning_rate"):
        fnn.fit(params, data, epochs=3, learning_rate=0.1)


@pytest.mark.parametrize("epochs", [MAX_EPOCHS + 1, 10**12, -1, 2.0, True])
def test_fit_and_iterate_epochs_refuse_an_absurd_epoch_count(epochs):
    data = fnn.data.moons(20, seed=0)
    params = fnn.init_params(fnn.network([2, 2, 1], loss="binary_cross_entropy"), seed=0)
    with pytest.raises(FnnInputError, match="'epochs' argument of fnn.fit must be an int from 0 to 10000000"):
        fnn.fit(params, data, epochs=epochs)
    with pytest.raises(FnnInputError, match="'epochs' argument of fnn.iterate_epochs"):
        fnn.iterate_epochs(params, data, epochs=epochs)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_the_state_step_and_the_optimizer_count_agree(optimizer):
    data = fnn.data.moons(100, seed=0)
    params = fnn.init_params(fnn.network([2, 4, 1], loss="binary_cross_entropy"), seed=0)
    plain = fnn.fit(params, data, epochs=2, optimizer=optimizer, batch_size=30)
    assert plain.step == plain.opt_state.count == 8
    chained = fnn.optim.chain(fnn.optim.clip_by_global_norm(1.0), fnn.optim.get_optimizer(optimizer))
    state = fnn.fit(params, data, epochs=2, optimizer=chained, batch_size=30)
    assert state.step == state.opt_state.states[-1].count == 8


def test_iterate_epochs_with_epochs_is_finite_and_equals_fit():
    data = fnn.data.moons(60, seed=0)
    params = fnn.init_params(fnn.network([2, 4, 1], loss="binary_cross_entropy"), seed=0)
    states = list(fnn.iterate_epochs(params, data, epochs=3, lr=0.2))
    assert [s.epoch for s in states] == [1, 2, 3]
    assert np.array_equal(states[-1].params.layers[0].w, fnn.fit(params, data, epochs=3, lr=0.2).params.layers[0].w)


def test_a_run_trains_on_the_parts_it_prepared_as_fit_splits_a_fraction():
    # The run holds out its validation part once, in prepare_run; fit holding out the same fraction of the whole
    # training part itself trains on the same rows in the same order, so the bits agree.
    config = resolve_config(({"data": "iris", "hidden": [4], "epochs": 2, "validation": 0.2, "drop_rate": 0.1, "threads": 1}, PYTHON))
    prepared = prepare_run(config)
    finished = run_prepared(prepared)
    whole, _ = load_train_test("iris", seed=config.seed)
    x = fnn.data.standardize(whole.features, prepared.standardizer)
    with threadpool_limits(limits=1, user_api="blas"):
        state = fnn.fit(prepared.params, (x, whole.labels), epochs=2, options=evolve(prepared.options, validation=0.2))
    assert state.params == finished.state.params and state.history.to_dicts() == finished.record["history"]
    assert finished.record["data"]["validation"]["features"] == "float32[24,4]"


def test_a_validation_part_that_leaves_a_side_empty_is_refused_before_training():
    iris = fnn.data.iris()
    config = resolve_config(({"data": "iris", "validation": 0.5}, PYTHON))
    with pytest.raises(FnnInputError, match=r"^validation 0\.5 of 3 training rows leaves 3 to train on and 0 to validate; "):
        prepare_run(config, data=(iris.subset([0, 60, 120]), iris))
    with pytest.raises(FnnInputError, match=r"^--validation 0\.5 of 3 training rows"):
        prepare_run(config, data=(iris.subset([0, 60, 120]), iris), label=lambda name: "--" + name)


@pytest.mark.parametrize("given, named", [({"test_fraction": 0.99}, "--test-fraction 0.99"), ({"test_fraction": 0.98, "validation": 0.4}, "--validation 0.4")])
def test_a_training_part_too_small_to_validate_names_the_test_fraction_that_made_it(given, named, capsys):
    code = main(["train", "--data", "iris", "--no-record", *[w for k, v in given.items() for w in ("--" + k.replace("_", "-"), str(v))]])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert named in err and "(what --test-fraction" in err and "leaves of 150)" in err, err
