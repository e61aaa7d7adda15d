"""The doors agree case by case, over generated cases of each class: what early stopping may watch, the switches,
the numbers given as numpy scalars or text, the dtype's spellings, the settings that take one name only, and the
settings an optimiser does not use (fnn.fit, the run's settings from TOML or flags, and the estimators)."""

import re

import pytest
from attrs import fields_dict

import fnn
from fnn.cli import main
from fnn.interop.sklearn import FNNClassifier
from fnn.run.settings import PYTHON, SETTINGS, RunConfig, resolve_config, toml_source
from fnn.train.options import BadValue, train_options

_X, _Y = fnn.data.iris().as_tuple()


def _refusal(call):
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
    run = _refusal(lambda: resolve_config(({"monitor": monitor, "metrics": metrics, "train_metrics": train_metrics,
                                            "patience": patience, "validation": validation}, PYTHON)))
    fit = _refusal(lambda: train_options(monitor=monitor, metrics=metrics, train_metrics=train_metrics,
                                         patience=patience, validation=validation))
    assert run == fit
    if patience and validation:  # the estimators' early stopping: patience and a held-out part
        estimator = FNNClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0, early_stopping=True,
                                  monitor=monitor, metrics=metrics, train_metrics=train_metrics)
        assert _refusal(lambda: estimator.fit(_X, _Y)) == run
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


def _expected(setting, value):
    try:
        setting.convert(value)
    except BadValue as expected:
        return str(expected)
    return None
