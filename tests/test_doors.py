"""Every door into a run (command line of fnn train and fnn sweep, TOML, sweep grids, fnn.fit) is made from the one
table of settings: for every setting, each door accepts it with the same default and refuses a bad value with the
same words. (The estimators' door: tests/test_estimator_door.py.)"""

import argparse
import json
import re

import pytest
from test_fit_door import FIT_TAKES_MORE, POOL

from fnn.cli import main
from fnn.cli import sweep as sweep_cli
from fnn.cli import train as train_cli
from fnn.errors import FnnInputError
from fnn.run.settings import DEFAULTS, PYTHON, SETTINGS, Source, resolve_config, toml_source
from fnn.run.sweep import expand_grid
from fnn.train.loop import fit
from fnn.train.options import ELSEWHERE, FIT_KEYWORDS, BadValue, train_options

FIT_DIFFERS = ("epochs", "validation", "dtype")
"""The training settings whose fit default is not the run's (a call's epochs, no hold-out, the start's dtype)."""

_FIT_DIFFERENCES = " ".join(fit.__doc__.split()).partition("Where fit differs")[2].partition("Training stops")[0]


def _fit_side(options):
    """How fit trains with ``options``, as comparable values (an optimiser by its name)."""
    return (options.optimizer.name, options.batch_size, options.seed or 0, options.validation, options.drop_rate,
            options.shuffle, options.patience or 0, options.monitor, options.diagnostics, options.class_weight,
            options.metrics, options.train_metrics, options.dtype, options.threads)


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
    pool = [v for v in POOL if isinstance(v, str) or not text_only]
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
    if setting.name in FIT_DIFFERS:  # both help texts say so
        assert "fnn.fit" in setting.help and f"``{setting.name}``" in _FIT_DIFFERENCES, setting.name
    elif setting.name in FIT_KEYWORDS:  # fit's default is the table's: giving it changes nothing
        plain = {} if setting.applies_to("sgd") else {"optimizer": setting.optimizers[0]}
        assert _fit_side(train_options(**plain)) == _fit_side(train_options(**plain, **{setting.name: setting.default}))
    else:  # not fit's: refused, naming where it goes
        assert setting.name in ELSEWHERE or setting.name == "sample_weight"  # fit's sample_weight: the weights themselves


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
        fit_setting = setting.name in FIT_KEYWORDS and setting.name != "sample_weight"  # fit's: the weights themselves
        if fit_setting and not isinstance(value, FIT_TAKES_MORE.get(setting.name, ())):
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

