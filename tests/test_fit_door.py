"""``fnn.fit`` is a door of the one settings table: its surface is derived from :data:`fnn.run.settings.SETTINGS`.

Every training setting is a keyword of fit under the table's name, checked by the table's check (the same words
when refused) and giving what the run gives; every other setting is refused naming where it goes; a mistyped
keyword gets a suggestion; a value only the data refuse names the setting as each door's user wrote it."""

import math
import pathlib
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_info, threadpool_limits

import fnn
from fnn.cli import main
from fnn.errors import OTHER_WORDS, FnnInputError, TrainingDiverged
from fnn.run.build import prepare_run
from fnn.run.engine import run, run_prepared
from fnn.run.settings import PYTHON, SETTINGS, resolve_config
from fnn.train.loop import DIVERGENCE_FACTOR
from fnn.train.options import ELSEWHERE, FIT_KEYWORDS, TRAINING_CHECKS, BadValue

# Values of every kind: each setting's bad values are those its own check refuses (so every type gets its own).
POOL = [
    "x", "", " ", "nope:1", "1,x", "-1", "0", "1e99", "nan", "maybe",
    -1, 0, 1, 2, 0.5, 1.5, -0.5, 10**9, math.nan, math.inf, -math.inf, True, False,
    [], [0], [-3], ["x"], [1.5], {"a": 1},
]

FIT_TAKES_MORE = {"drop_rate": (list, tuple), "validation": (list, tuple)}
"""fit's keywords that also take what a run cannot: one rate per hidden layer, validation data."""

TRAINING = [s for s in SETTINGS if s.name in TRAINING_CHECKS]
OTHERS = [s for s in SETTINGS if s.name not in TRAINING_CHECKS]

GOOD = {
    "optimizer": "adam", "lr": "0.05", "momentum": 0.5, "weight_decay": 0.1, "schedule": "step_decay:1,0.5",
    "clip_norm": 1.0, "l2": 0.001, "epochs": 3, "batch_size": 16, "validation": 0.25, "drop_rate": 0.1,
    "patience": 1, "monitor": "loss", "class_weight": "0:1,1:2", "metrics": "f1_macro,accuracy",
    "train_metrics": True, "diagnostics": True, "seed": 3, "dtype": "float64", "threads": 1,
}
"""A value other than the default for each training setting (a test checks that every one has one)."""

TOGETHER = {"patience": {"monitor": "loss"}, "monitor": {"patience": 1, "validation": 0.25}, "train_metrics": {"metrics": "f1_macro"}}
"""What a setting needs beside it to matter (early stopping needs both halves)."""


@pytest.fixture(scope="module")
def iris():
    data = fnn.data.iris()
    params = fnn.init_params(fnn.network([4, 5, 3]), seed=0)
    return params, data


def _together(setting):
    """The settings a value of ``setting`` is given with: the optimiser it applies to, what it needs."""
    extra = dict(TOGETHER.get(setting.name, {}))
    if not setting.applies_to("sgd"):
        extra["optimizer"] = setting.optimizers[0]
    return extra


def test_every_setting_is_fits_or_names_its_place():
    names = {s.name for s in SETTINGS}
    assert set(GOOD) == set(TRAINING_CHECKS) <= names
    assert set(ELSEWHERE) == names - set(TRAINING_CHECKS) - {"sample_weight"}  # fit's sample_weight: the weights
    assert set(FIT_KEYWORDS) == set(TRAINING_CHECKS) - {"epochs"} | {"shuffle", "sample_weight"}


@pytest.mark.parametrize("setting", TRAINING, ids=lambda s: s.name)
def test_fit_takes_each_training_setting_and_trains_as_the_run_does(setting):
    """The run of the table's value and fit given the same keyword on the same data train the same bytes."""
    value, extra = GOOD[setting.name], _together(setting)
    base = {"data": "iris", "hidden": [5], "epochs": 2, "validation": 0, "threads": 1}
    config = resolve_config(({**base, **extra, setting.name: value}, PYTHON))
    finished = run(config)
    whole = prepare_run(config.replace(validation=0))  # the same params and training part, nothing held out
    keywords = {key: v for key, v in {**extra, setting.name: value}.items() if key != "epochs"}  # fit's own
    if "optimizer" in keywords and "lr" not in keywords:
        keywords["lr"] = config.lr  # fit's lr for a named optimiser is its own; a run's is the table's
    keywords.setdefault("threads", 1)
    keywords.setdefault("seed", config.seed)
    state = fnn.fit(whole.params, whole.train, epochs=config.epochs, **keywords)
    assert state.params == finished.state.params and state.epoch == finished.state.epoch
    assert state.history == finished.state.history


@pytest.mark.parametrize("setting", TRAINING, ids=lambda s: s.name)
def test_fit_takes_the_tables_default(setting, iris):
    params, data = iris
    if setting.name == "epochs":
        default = fnn.fit(params, data, epochs=setting.default, seed=0)
        assert default.epoch == setting.default
        return
    extra = _together(setting)
    plain = fnn.fit(params, data, epochs=1, **extra)
    given = fnn.fit(params, data, epochs=1, **extra, **{setting.name: setting.default})
    if setting.name == "validation":  # fit holds out none unless told; the table's 0.1 is held out when given
        assert plain.history[-1].val_loss is None and given.history[-1].val_loss is not None
    else:
        assert given.params == plain.params and given.history == plain.history


def _refusals(setting):
    for value in POOL:
        if isinstance(value, FIT_TAKES_MORE.get(setting.name, ())):
            continue
        try:
            setting.convert(value)
        except BadValue as expected:
            yield value, str(expected)


@pytest.mark.parametrize("setting", [s for s in TRAINING if s.name != "epochs"], ids=lambda s: s.name)
def test_fit_refuses_what_the_table_refuses_with_its_words(setting, iris):
    params, data = iris
    refused = list(_refusals(setting))
    assert refused
    for value, expected in refused:
        with pytest.raises(FnnInputError, match=re.escape(f"must be {expected}; got {value!r}")):
            resolve_config(({setting.name: value}, PYTHON))
        with pytest.raises(FnnInputError, match=re.escape(f"The {setting.name!r} argument of fnn.fit must be {expected}. Got {value!r}")):
            fnn.fit(params, data, epochs=1, **_together(setting), **{setting.name: value})


@pytest.mark.parametrize("setting", OTHERS, ids=lambda s: s.name)
def test_fit_refuses_a_setting_that_is_not_about_training_naming_its_place(setting, iris):
    params, data = iris
    if setting.name == "sample_weight":  # fit's own keyword: one weight per sample, where a run's names a column
        with pytest.raises(FnnInputError, match="sample_weight"):
            fnn.fit(params, data, epochs=1, sample_weight="weights")
        return
    with pytest.raises(FnnInputError, match="^" + re.escape(f"{setting.name} is not a keyword of fnn.fit: it goes to {ELSEWHERE[setting.name]}.") + "$"):
        fnn.fit(params, data, epochs=1, **{setting.name: setting.default})
    with pytest.raises(FnnInputError, match=f"^{setting.name} is not a keyword of fnn.iterate_epochs"):
        fnn.iterate_epochs(params, data, epochs=1, **{setting.name: setting.default})


@given(st.sampled_from(sorted(("epochs", *FIT_KEYWORDS))), st.integers(0, 100), st.sampled_from(["drop", "swap", "upper"]))
def test_a_mistyped_keyword_gets_the_keyword_it_means(name, position, kind):
    index = position % (len(name) - 1)
    typo = {"drop": name[:index] + name[index + 1:],
            "swap": name[:index] + name[index + 1] + name[index] + name[index + 2:],
            "upper": name.upper()}[kind]
    if typo == name or len(name) < 4 and kind != "upper":
        return  # a swap of two equal letters; a two-letter name misspelt is as near to any other name
    params = fnn.init_params(fnn.network([2, 2]), seed=0)
    with pytest.raises(FnnInputError, match=f"^Unknown keyword of fnn.fit {re.escape(repr(typo))}. Did you mean {name!r}?"):
        fnn.fit(params, (np.zeros((2, 2), np.float32), np.array([0, 1])), epochs=1, **{typo: 1})


@pytest.mark.parametrize("word", sorted(w for w, name in OTHER_WORDS.items() if name in FIT_KEYWORDS + ("epochs",)))
def test_another_tools_word_gets_fits_keyword(word, iris):
    params, data = iris
    with pytest.raises(FnnInputError, match=f"Did you mean {OTHER_WORDS[word]!r}"):
        fnn.fit(params, data, epochs=1, **{word: 1})


REFUSED_BY_DATA = [
    ("class_weight", "0:1,7:2", {}, "classes 0..2 as keys", 7),
    ("class_weight", "5:1", {}, "classes 0..2 as keys", 5),
    ("metrics", "r2", {}, "metrics for a classifier network", "r2"),
    ("metrics", "accuracy,mse", {}, "metrics for a classifier network", "mse"),
    ("monitor", "val_r2", {"patience": 2}, "loss, accuracy or a name of metrics, as val_NAME for the validation part, for a classifier network", "val_r2"),
    ("monitor", "r2", {"patience": 2}, "loss, accuracy or a name of metrics, as val_NAME for the validation part, for a classifier network", "r2"),
]
"""Values the table takes that iris refuses: (setting, value, what it goes with, the expected words, the part refused)."""


@pytest.mark.parametrize("name, value, extra, expected, got", REFUSED_BY_DATA)
def test_a_value_the_data_refuse_is_named_as_each_door_wrote_it(name, value, extra, expected, got, iris, tmp_path, capsys):
    params, data = iris
    with pytest.raises(FnnInputError, match="^" + re.escape(f"The {name!r} argument of fnn.fit must be {expected}. Got {got!r} instead.")):
        fnn.fit(params, data, epochs=1, validation=0.2, **extra, **{name: value})
    with pytest.raises(FnnInputError, match="^" + re.escape(f"{name} must be {expected}; got {got!r}.") + "$"):
        run({"data": "iris", "hidden": [4], "epochs": 1, **extra, name: value})
    flag = "--" + name.replace("_", "-")
    flags = [part for key, v in extra.items() for part in ("--" + key.replace("_", "-"), str(v))]
    assert main(["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--no-record", *flags, flag, value]) == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {flag} must be {expected}; got {got!r}.")
    toml = tmp_path / "exp.toml"
    keys = "".join(f"{key} = {v}\n" for key, v in extra.items())
    toml.write_text(f'data = "iris"\nhidden = [4]\nepochs = 1\n{keys}{name} = "{value}"\n')
    assert main(["train", "--config", str(toml), "--no-record"]) == 2
    assert capsys.readouterr().err.strip().endswith(f"error: The key {name!r} in {toml} must be {expected}; got {got!r}.")


def test_a_network_the_settings_cannot_make_names_the_flags(capsys):
    assert main(["train", "--data", "iris", "--activation", "relu,tanh", "--epochs", "1", "--no-record"]) == 2
    err = capsys.readouterr().err
    assert "--activation relu,tanh" in err and "fnn.network" not in err and "'cross_entropy'" in err
    assert main(["train", "--data", "iris", "--hidden", "4,4", "--activation", "relu,tanh,relu,relu", "--no-record"]) == 2
    assert "--activation relu,tanh,relu,relu names 4 activations for 2 hidden layers" in capsys.readouterr().err


def test_monitor_without_its_metric_is_one_message_at_every_door(iris):
    params, data = iris
    with pytest.raises(FnnInputError, match="watches the metric 'f1_macro', which this run does not compute; add it to metrics"):
        fnn.fit(params, data, epochs=1, patience=2, monitor="val_f1_macro", validation=0.2)
    with pytest.raises(FnnInputError, match="watches the metric 'f1_macro', which this run does not compute; add it to metrics"):
        resolve_config(({"patience": 2, "monitor": "val_f1_macro"}, PYTHON))
    state = fnn.fit(params, data, epochs=2, patience=2, monitor="val_f1_macro", validation=0.2, metrics=["f1_macro"])
    assert state.history[-1].value("val_f1_macro") is not None


@pytest.mark.parametrize("data, lr, words", [
    ("iris", 12, f"the training loss grew to 1.835e+07, more than {DIVERGENCE_FACTOR:g} times the starting loss"),
    ("sine", 20, "the loss became inf at epoch 1, step 4"),
])
def test_fit_and_the_run_stop_a_diverging_loss_alike(data, lr, words):
    config = resolve_config(({"data": data, "hidden": [8], "epochs": 5, "lr": lr, "validation": 0, "threads": 1}, PYTHON))
    prepared = prepare_run(config)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged) as in_run:
        run_prepared(prepared)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged) as in_fit:
        fnn.fit(prepared.params, prepared.train, epochs=5, lr=lr, threads=1)
    assert (in_fit.value.epoch, in_fit.value.step) == (in_run.value.epoch, in_run.value.step)
    assert in_fit.value.last_good == in_run.value.last_good and in_fit.value.epoch_start == in_run.value.epoch_start
    assert all(np.isfinite(a).all() for a in in_fit.value.last_good.arrays())
    assert str(in_fit.value) == str(in_run.value) and words in str(in_fit.value)


def test_threads_hold_for_the_training_only(iris):
    params, data = iris
    seen = []

    def blas_threads(_):
        seen.append({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})

    with threadpool_limits(limits=2, user_api="blas"):
        states = list(fnn.iterate_epochs(params, data, epochs=2, threads=1, on_batch=blas_threads))
        after = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    assert len(states) == 2 and seen and all(s == {1} for s in seen) and after == {2}


def test_dtype_converts_the_start_and_a_state_keeps_its_own(iris):
    params, data = iris
    wide = fnn.fit(params, data, epochs=2, dtype="float64")
    cast = fnn.map_arrays(lambda a: a.astype(np.float64), params)
    assert wide.params.dtype == np.float64 and wide.params == fnn.fit(cast, data, epochs=2).params
    assert fnn.fit(wide, data, epochs=1, dtype="float64").epoch == 3
    with pytest.raises(FnnInputError, match="'dtype' argument of fnn.fit must be None or the state's own float64 when resuming"):
        fnn.fit(wide, data, epochs=1, dtype="float32")


def test_a_schedule_counts_epochs_in_steps_of_fits_data(iris):
    params, data = iris  # 150 rows less a quarter held out by class: 113 rows, 8 batches of 16
    state = fnn.fit(params, data, epochs=3, lr=0.4, schedule="step_decay:1,0.5", batch_size=16, validation=0.25)
    assert [(r.step, round(r.lr, 6)) for r in state.history] == [(8, 0.2), (16, 0.1), (24, 0.05)]
    whole = fnn.fit(params, data, epochs=1, lr=0.4, schedule="step_decay:1,0.5", batch_size=16)
    assert (whole.history[0].step, round(whole.history[0].lr, 6)) == (10, 0.2)


@pytest.mark.parametrize("path", ["train.csv", pathlib.Path("data") / "train.csv"])
@pytest.mark.parametrize("door", ["fit", "fit_seeds", "iterate_epochs"])
def test_a_path_given_as_data_is_named_and_pointed_to_the_loaders(door, path):
    spec = fnn.network([2, 3])
    call = {
        "fit": lambda: fnn.fit(fnn.init_params(spec, seed=0), path, epochs=1),
        "fit_seeds": lambda: fnn.fit_seeds(spec, path, seeds=[0, 1], epochs=1),
        "iterate_epochs": lambda: next(iter(fnn.iterate_epochs(fnn.init_params(spec, seed=0), path))),
    }[door]
    with pytest.raises(fnn.FnnInputError, match=rf"'data' argument of fnn\.{door} .*not a path .*fnn\.data\.load_csv.*Got '{re.escape(str(path))}'"):
        call()
