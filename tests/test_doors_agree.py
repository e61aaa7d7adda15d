"""The doors agree (fnn.fit, the run's settings from TOML or flags, and the estimators), over generated cases of
each class: what early stopping may watch, a list given to a setting of one value, the switches, numpy's form of a
value, the settings an optimiser does not use, settings the network cannot train with (one line, before training),
a state continued with another optimiser, and TOML tables that are not [grid]."""

import re
import warnings

import numpy as np
import pytest
from attrs import fields_dict
from test_doors import _refusal as _expected
from test_fit_door import GOOD, POOL

import fnn
from fnn.cli import main
from fnn.interop.sklearn import FNNClassifier
from fnn.optim import OPTIMIZERS
from fnn.run.settings import PYTHON, SETTINGS, RunConfig, resolve_config, toml_source
from fnn.train.options import TRAINING_CHECKS, train_options

_X, _Y = fnn.data.iris().as_tuple()


def _monitor_refusal(call):
    """The words of the refusal after the monitor's name, or None when ``call`` is accepted."""
    try:
        call()
    except fnn.FnnInputError as error:
        return re.sub(r"^.*?'[^']*' (?=watches)", "", str(error))
    return None


@pytest.mark.parametrize("patience, validation", [(0, 0.1), (2, 0.1), (2, 0)])
@pytest.mark.parametrize("metrics, train_metrics", [((), False), (("f1_macro",), False), (("f1_macro",), True)])
@pytest.mark.parametrize("monitor", ["loss", "val_loss", "accuracy", "val_accuracy", "f1_macro", "val_f1_macro", "val_roc_auc"])
def test_what_early_stopping_may_watch_is_one_check_at_every_door(monitor, metrics, train_metrics, patience, validation):
    run = _monitor_refusal(lambda: resolve_config(({"monitor": monitor, "metrics": metrics, "train_metrics": train_metrics,
                                            "patience": patience, "validation": validation}, PYTHON)))
    fit = _monitor_refusal(lambda: train_options(monitor=monitor, metrics=metrics, train_metrics=train_metrics,
                                         patience=patience, validation=validation))
    assert run == fit
    if patience and validation:  # the estimators' early stopping: patience and a held-out part
        estimator = FNNClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0, early_stopping=True,
                                  monitor=monitor, metrics=metrics, train_metrics=train_metrics)
        assert _monitor_refusal(lambda: estimator.fit(_X, _Y)) == run
    if run is not None:
        assert run.startswith("watches") and "\n" not in run


_ONE_VALUE = [s for s in SETTINGS if isinstance(s.default, str) and "tuple" not in str(fields_dict(RunConfig)[s.name].type)]


@pytest.mark.parametrize("setting", _ONE_VALUE, ids=lambda s: s.name)
def test_a_setting_of_one_value_refuses_a_list_at_every_door(setting, capsys):
    """Only the settings whose type is a tuple (hidden, activation, drop, metrics) take several values."""
    value = setting.default if setting.name != "data" else "iris"
    for given in (f"{value},{value}", [value, value]):
        expected = _expected(setting, given)
        assert expected is not None, (setting.name, given)
        with pytest.raises(fnn.FnnInputError, match=re.escape(f"The key {setting.name!r} in x.toml must be {expected}; got {given!r}.")):
            resolve_config(({setting.name: given}, toml_source("x.toml")))
        if isinstance(given, str) and setting.name not in ("seed", "threads"):
            assert main(["sweep", setting.flag, given, "--grid", "lr=[0.1]"]) == 2
            assert f"{setting.flag} must be {expected}; got {given!r}." in capsys.readouterr().err


_OFF, _ON, _NEITHER = ["no", "False", " off ", False, np.False_], ["yes", "TRUE", True, np.True_], ["maybe", 2, None, 0.0, ""]


def _estimator_switch(name, value):
    """Whether the estimators' switch ``name`` set to ``value`` is on, as seen in what fitting does."""
    make = lambda v: FNNClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0, **{name: v})  # noqa: E731
    fitted = make(value).fit(_X, _Y)
    if name == "early_stopping":
        return fitted.validation_scores_ is not None
    if name == "warm_start":
        return len(fitted.fit(_X, _Y).history_) == 4
    same_as_on = np.array_equal(fitted.coefs_[0], make(True).fit(_X, _Y).coefs_[0])
    assert same_as_on != np.array_equal(fitted.coefs_[0], make(False).fit(_X, _Y).coefs_[0])
    return same_as_on


@pytest.mark.parametrize("value, on", [(v, False) for v in _OFF] + [(v, True) for v in _ON] + [(v, None) for v in _NEITHER], ids=repr)
def test_every_switch_of_every_door_reads_yes_and_no_alike(value, on):
    """A switch is on, off, or refused (None) alike everywhere: never the truth of ``bool("no")``."""
    for setting in (s for s in SETTINGS if s.switch):  # the run's: --diagnostics, TOML diagnostics = "no"
        if on is None:
            with pytest.raises(fnn.FnnInputError, match=f"{setting.name!r}.* must be true or false"):
                resolve_config(({setting.name: value}, PYTHON))
        else:
            assert getattr(resolve_config(({setting.name: value}, PYTHON)), setting.name) is on
    for name in ("shuffle", "train_metrics", "diagnostics"):  # fit's
        if on is None:
            with pytest.raises(fnn.FnnInputError, match=f"The {name!r} argument of fnn.fit must be true or false"):
                train_options(**{name: value})
        else:
            assert getattr(train_options(**{name: value}), name) is on
    for name in ("early_stopping", "warm_start", "shuffle"):  # scikit-learn's own switches
        if on is None:
            with pytest.raises(fnn.FnnInputError, match=f"The {name!r} parameter of FNNClassifier must be true or false"):
                _estimator_switch(name, value)
        else:
            assert _estimator_switch(name, value) is on, name


def _numpy_form(value):
    """``value`` as numpy code holds it: a numpy scalar, a numpy string, an array for a list; None if it has none."""
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float32(value) if float(np.float32(value)) == value else np.float64(value)
    if isinstance(value, str):
        return np.str_(value)
    if isinstance(value, (list, tuple)) and value:
        return np.array(value)
    return None


_NUMPY_CASES = [
    (setting, value, form)
    for setting in SETTINGS
    for value in [setting.default, GOOD.get(setting.name), *POOL, ["relu", "tanh"], [4, 2], ("f1_macro", "mae"), [0.25, 0.5]]
    if (form := _numpy_form(value)) is not None and _expected(setting, value) is None
]


@pytest.mark.parametrize("setting, value, form", _NUMPY_CASES, ids=lambda x: getattr(x, "name", repr(x)))
def test_every_setting_takes_numpys_form_of_a_value_as_the_value_at_every_door(setting, value, form):
    assert setting.convert(form) == setting.convert(value)
    if not (setting.optimizers or setting.data_kinds):  # those apply to some runs only: their check is above
        assert getattr(resolve_config(({setting.name: form}, PYTHON)), setting.name) == setting.convert(value)
    if setting.name in TRAINING_CHECKS:  # fit's keyword of that name, and the estimators' parameter
        assert TRAINING_CHECKS[setting.name](form) == TRAINING_CHECKS[setting.name](value)


def test_numpy_types_and_arrays_are_taken_by_fit_and_the_estimators():
    for dtype in (np.float64, np.dtype("float64"), "Float64"):
        assert train_options(dtype=dtype).dtype == "float64"
        clf = FNNClassifier(hidden_layer_sizes=np.array([3, 2]), dtype=dtype, max_iter=np.int64(1), random_state=np.int64(0))
        assert clf.fit(_X, _Y).params_.spec.sizes == (4, 3, 2, 3) and clf.params_.dtype == np.float64
    assert train_options(drop_rate=np.array([0.25, 0.5])).drop_rate == (0.25, 0.5)
    assert [m.name for m in train_options(metrics=np.array(["f1_macro", "mae"])).metrics] == ["f1_macro", "mae"]


_OPTIMIZER_ONLY = [(s, o) for s in SETTINGS if s.optimizers for o in OPTIMIZERS]


@pytest.mark.parametrize("setting, optimizer", _OPTIMIZER_ONLY, ids=lambda x: getattr(x, "name", x))
def test_a_setting_an_optimiser_lacks_is_refused_by_fit_and_the_run_and_named_by_the_estimators(setting, optimizer):
    value, parameter = GOOD[setting.name], setting.sklearn
    refused = [door for door, call in (
        ("fit", lambda: train_options(optimizer=optimizer, **{setting.name: value})),
        ("run", lambda: resolve_config(({"optimizer": optimizer, setting.name: value}, PYTHON))),
    ) if _raises(call)]
    assert refused == ([] if setting.applies_to(optimizer) else ["fit", "run"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FNNClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0, optimizer=optimizer, **{parameter: value}).fit(_X, _Y)
    named = [str(w.message) for w in caught if f"{parameter}={value!r} is not used by optimizer={optimizer!r}" in str(w.message)]
    assert len(named) == (0 if setting.applies_to(optimizer) else 1), [str(w.message) for w in caught]


def _raises(call):
    try:
        call()
    except fnn.FnnInputError:
        return True
    return False


_IMPOSSIBLE = [  # (data, hidden, setting, value): a training setting the network cannot train with
    ("iris", "4", "metrics", "r2"),
    ("sine", "4", "metrics", "f1_macro"),
    ("sine", "4", "class_weight", "0:1"),
    ("iris", "", "drop_rate", "0.5"),
    ("sine", "4", "monitor", "val_accuracy"),
    ("iris", "4", "monitor", "r2"),
]


@pytest.mark.parametrize("data, hidden, name, value", _IMPOSSIBLE)
def test_an_impossible_combination_is_one_line_before_training_at_every_door(data, hidden, name, value, capsys):
    setting = next(s for s in SETTINGS if s.name == name)
    argv = ["train", "--data", data, "--hidden", hidden, setting.flag, value, "--epochs", "1", "--no-record"]
    assert main(argv + (["--patience", "2"] if name == "monitor" else [])) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith(f"fnn train: error: {setting.flag} "), (out, err)
    dataset = fnn.data.iris() if data == "iris" else fnn.data.noisy_sine(100, seed=0)
    classes = 3 if data == "iris" else 0
    sizes = [dataset.features.shape[1], *([int(hidden)] if hidden else []), classes or 1]
    start = fnn.init_params(fnn.network(sizes, output="softmax" if classes else "identity"), seed=0)
    keywords = {name: value, **({"patience": 2, "validation": 0.2} if name == "monitor" else {})}
    with pytest.raises(fnn.FnnInputError, match=f"^The {name!r} argument of fnn.fit must be "):
        fnn.fit(start, dataset, epochs=1, **keywords)


_TRAINED = [{"optimizer": name} for name in OPTIMIZERS] + [{"optimizer": "adam", "l2": 0.01}, {"optimizer": "sgd", "clip_norm": 1.0}]


@pytest.mark.parametrize("then", _TRAINED, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_fit_goes_on_from_a_state_only_with_its_kind_of_optimiser_and_says_so(then):
    """Every state, continued with every optimiser: it trains on, or is refused naming the optimizer argument
    (never an error of the training step's words)."""
    start = fnn.init_params(fnn.network([4, 3, 3]), seed=0)
    for before in _TRAINED:
        state = fnn.fit(start, (_X, _Y), epochs=1, **before)
        try:
            assert fnn.fit(state, (_X, _Y), epochs=1, **then).epoch == 2
        except fnn.FnnInputError as error:
            assert str(error).startswith("The 'optimizer' argument of fnn.fit must be the kind the state was trained with"), str(error)
            assert then != before


@pytest.mark.parametrize("command", ["train", "sweep"])
@pytest.mark.parametrize("table", ["network", "optimizer", "training", "hidden_layers"])
def test_a_toml_table_other_than_grid_is_told_the_settings_are_top_level_keys(command, table, tmp_path, capsys):
    toml = tmp_path / "x.toml"
    toml.write_text(f'data = "iris"\nepochs = 1\n[grid]\nlr = [0.1]\n[{table}]\nhidden = 4\n' if command == "sweep"
                    else f'data = "iris"\nepochs = 1\n[{table}]\nhidden = 4\n')
    assert main([command, "--config", str(toml), "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert f"{table!r}" in err and "It is a table; the settings are keys of their own" in err, err
    assert not (tmp_path / "out").exists()


def test_the_commands_count_one_in_the_singular(tmp_path, capsys):
    assert main(["train", "--data", "iris", "--hidden", "2", "--epochs", "1", "--threads", "1", "--no-record"]) == 0
    assert ", 1 epoch, 1 thread" in capsys.readouterr().out
    assert main(["sweep", "--data", "iris", "--hidden", "2", "--epochs", "1", "--grid", "lr=[0.1]", "--seeds", "0",
                 "--out", str(tmp_path / "s"), "--sequential"]) == 0
    assert "(this configuration only, 1 seed): test accuracy" in capsys.readouterr().out
