"""Every door into a run (command line of fnn train and fnn sweep, TOML, sweep grids, fnn.fit) is made from the one
table of settings: for every setting, each door accepts it with the same default and refuses a bad value with the
same words. (The estimators' door: tests/test_estimator_door.py.)"""

import argparse
import json
import math
import re

import pytest

from fnn.cli import main
from fnn.cli import sweep as sweep_cli
from fnn.cli import train as train_cli
from fnn.errors import FnnInputError
from fnn.optim import get_optimizer
from fnn.run.settings import DEFAULTS, PYTHON, SETTINGS, Source, resolve_config, toml_source
from fnn.run.sweep import expand_grid
from fnn.train.options import TRAINING_CHECKS, BadValue, train_options

# Values of every kind: each setting's bad values are those its own check refuses (so every type gets its own).
_POOL = [
    "x", "", " ", "nope:1", "1,x", "-1", "0", "1e99", "nan", "maybe",
    -1, 0, 1, 2, 0.5, 1.5, -0.5, 10**9, math.nan, math.inf, -math.inf, True, False,
    [], [0], [-3], ["x"], [1.5], {"a": 1},
]


def _refusal(setting, value):
    """What the table's check says ``value`` should have been, or None when it takes it."""
    try:
        setting.convert(value)
    except BadValue as expected:
        return str(expected)
    except (TypeError, AttributeError) as error:  # a check that crashes is a bug, not a refusal
        raise AssertionError(f"{setting.name}: the check crashed on {value!r}: {error}") from error
    return None


def _bad_values(setting, text_only=False):
    pool = [v for v in _POOL if isinstance(v, str) or not text_only]
    return [(value, expected) for value in pool if (expected := _refusal(setting, value)) is not None]


def _parser(module, name):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser.add_subparsers())
    return parser._subparsers._group_actions[0].choices[name]


def _cli_error(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, (argv, code, err)
    return err


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_has_one_default_through_every_door(setting):
    for command, module in (("train", train_cli), ("sweep", sweep_cli)):
        action = next(a for a in _parser(module, command)._actions if setting.flag in a.option_strings)
        assert action.default is None  # not given: the table's default applies, not argparse's
    assert getattr(DEFAULTS, setting.name) == setting.default
    assert getattr(resolve_config(({}, toml_source("x.toml"))), setting.name) == setting.default
    configs = expand_grid({}, {"lr": [0.1]}, [DEFAULTS.seed])
    if setting.name != "threads":  # a sweep's runs are pinned to one thread
        assert getattr(configs[0], setting.name) == setting.default
    if setting.name in TRAINING_CHECKS and setting.name != "epochs":  # fit's epochs counts one call's epochs
        options = train_options()
        given = {"optimizer": options.optimizer.name, "lr": options.optimizer.name, "seed": options.seed or 0,
                 "patience": options.patience or 0, "batch_size": options.batch_size, "drop_rate": options.drop_rate,
                 "monitor": options.monitor, "diagnostics": options.diagnostics,
                 "train_metrics": options.train_metrics}[setting.name]
        table = {"optimizer": get_optimizer(DEFAULTS.optimizer, lr=DEFAULTS.lr).name}
        assert given == table.get(setting.name if setting.name != "lr" else "optimizer", setting.default)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_door_refuses_a_bad_value_with_the_same_words(setting, capsys):
    bad = _bad_values(setting)
    assert bad, f"{setting.name}: no value of any kind is refused"
    for value, expected in bad:
        for source in (PYTHON, toml_source("exp.toml")):
            with pytest.raises(FnnInputError, match=re.escape(f"must be {expected}; got {value!r}")):
                resolve_config(({setting.name: value}, source))
        if setting.name not in ("seed", "threads"):  # seeds are --seeds; a sweep pins one thread
            with pytest.raises(FnnInputError, match=re.escape(f"--grid {setting.name} must be {expected}; got {value!r}.")):
                expand_grid({}, {setting.name: [value]}, [0], grid_source=Source("grid", "--grid"))
        fit_takes_more = {"lr": str, "drop_rate": (list, tuple)}.get(setting.name, ())  # a schedule's name; one per layer
        if setting.name in TRAINING_CHECKS and setting.name != "epochs" and not isinstance(value, fit_takes_more):
            with pytest.raises(FnnInputError, match=re.escape(f"The {setting.name!r} argument of fnn.fit must be {expected}.")):
                train_options(**{setting.name: value})
    for text, expected in _bad_values(setting, text_only=True) if not setting.switch else ():  # a switch takes no value
        if not text.strip():
            continue  # the shell cannot pass an empty flag value by accident; TOML and Python doors tried it above
        for argv in (["train", setting.flag, text, "--no-record"], ["sweep", setting.flag, text, "--grid", "lr=[0.1]"]):
            if argv[0] == "sweep" and setting.name in ("seed",):
                continue  # --seed is the seeds of a sweep: checked as --seeds
            err = _cli_error(argv, capsys)
            assert f"{setting.flag} must be {expected}; got {text!r}." in err or f"{setting.flag} takes" in err, err
        if setting.name not in ("seed", "threads") and "," not in text:
            err = _cli_error(["sweep", "--grid", f"{setting.name}={json.dumps([text])}"], capsys)
            assert f"--grid {setting.name} must be {expected}; got {text!r}." in err, err

