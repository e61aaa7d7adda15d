"""The table of run settings drives the flags, the TOML keys, validation and the error messages."""

import subprocess
import sys

import attrs
import pytest

import fnn
from fnn.cli import train as train_cli
from fnn.data.sources import DATA_KINDS, known_names, load_source
from fnn.errors import FnnInputError
from fnn.run.build import build_optimizer
from fnn.run.settings import DEFAULTS, FLAG, PYTHON, SETTINGS, config_from_record, resolve_config, toml_source


def fnn_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fnn", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_every_setting_is_a_flag_and_nothing_else_is():
    import argparse

    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser.add_subparsers())
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {option for action in train._actions for option in action.option_strings}
    assert {s.flag for s in SETTINGS} <= flags
    extra = flags - {s.flag for s in SETTINGS}
    assert extra == {"-h", "--help", "--config", "--out", "--overwrite", "--resume", "--no-record", "--plots", "--quiet", "--json"}
    assert "--batch-size" in flags and "--weight-decay" in flags


def test_defaults_come_from_the_table():
    assert attrs.asdict(DEFAULTS) == {s.name: s.default for s in SETTINGS}
    assert DEFAULTS.hidden == (64,) and DEFAULTS.optimizer == "sgd" and DEFAULTS.momentum is None


def test_a_flag_value_is_checked_and_the_message_names_the_flag(tmp_path):
    result = fnn_cli("train", "--batch-size", "0", "--no-record", cwd=tmp_path)
    assert result.returncode == 2 and "--batch-size must be an int >= 1 and <= 2147483647; got '0'." in result.stderr
    result = fnn_cli("train", "--hidden", "64,x", "--no-record", cwd=tmp_path)
    assert result.returncode == 2 and "--hidden must be comma-separated positive ints" in result.stderr
    with pytest.raises(FnnInputError, match=r"^--epochs must be an int >= 1 and <= 10000000; got '100000000'\.$"):
        resolve_config(({"epochs": "100000000"}, FLAG))


def test_a_toml_typo_names_the_key_and_the_file(tmp_path):
    (tmp_path / "exp.toml").write_text('data = "iris"\nbatchsize = 16\n')
    result = fnn_cli("train", "--config", tmp_path / "exp.toml", "--no-record", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"Unknown key 'batchsize' in {tmp_path / 'exp.toml'}. Did you mean 'batch_size'?" in result.stderr
    (tmp_path / "bad.toml").write_text('epochs = "ten"\n')
    result = fnn_cli("train", "--config", tmp_path / "bad.toml", "--no-record", cwd=tmp_path)
    assert f"The key 'epochs' in {tmp_path / 'bad.toml'} must be an int; got 'ten'." in result.stderr


def test_toml_keys_are_the_flag_names_with_either_separator():
    a = resolve_config(({"batch-size": 16, "drop_rate": 0.1}, toml_source("a.toml")))
    b = resolve_config(({"batch_size": "16", "drop-rate": "0.1"}, FLAG))
    assert a == b and a.batch_size == 16 and a.drop_rate == 0.1


@pytest.mark.parametrize(
    "values, message",
    [
        ({"optimizer": "adam", "momentum": 0.9}, "momentum' applies only to the optimizers sgd, momentum, nesterov; this run uses 'adam'"),
        ({"optimizer": "sgd", "weight_decay": 0.1}, "weight_decay' applies only to the optimizers adamw; this run uses 'sgd'"),
    ],
)
def test_a_setting_for_another_optimizer_is_refused(values, message):
    with pytest.raises(FnnInputError, match=message):
        resolve_config((values, PYTHON))


def test_momentum_with_adam_is_refused_on_the_command_line_naming_the_flag(tmp_path):
    result = fnn_cli("train", "--optimizer", "adam", "--momentum", "0.9", "--no-record", cwd=tmp_path)
    assert result.returncode == 2
    assert "--momentum applies only to the optimizers sgd, momentum, nesterov; this run uses 'adam'" in result.stderr


def test_a_returned_config_cannot_change_the_defaults():
    config = resolve_config(({"data": "iris"}, PYTHON))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.hidden = (1,)
    with pytest.raises(AttributeError):
        config.hidden.append(3)
    as_dict = config.to_dict()
    as_dict["hidden"].append(3)
    assert resolve_config(({}, PYTHON)).hidden == (64,) and DEFAULTS.hidden == (64,)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        DEFAULTS.hidden = (3,)


def test_to_dict_round_trips_and_leaves_out_what_does_not_apply():
    config = resolve_config(({"optimizer": "adamw", "weight_decay": 0.05, "hidden": [8, 4]}, PYTHON))
    record = config.to_dict()
    assert "momentum" not in record and record["weight_decay"] == 0.05 and record["hidden"] == [8, 4]
    assert config_from_record(record) == config


EVERY_DEFAULT = {setting.name: setting.default for setting in SETTINGS}


def test_a_record_resumes_with_more_epochs_and_one_of_another_form_is_refused():
    record = resolve_config(({"hidden": [16], "optimizer": "momentum"}, PYTHON)).to_dict()
    config = config_from_record(record, epochs=30)
    assert config.epochs == 30 and config.momentum is None and config.hidden == (16,)
    assert build_optimizer(config, 1).name == fnn.optim.momentum(0.1).name  # the optimiser's own 0.9
    adam = resolve_config(({"optimizer": "adam"}, PYTHON)).to_dict()
    with pytest.raises(FnnInputError, match="^The key 'momentum' of the run's saved configuration applies only to "
                                            "the optimizers sgd, momentum, nesterov; this run uses 'adam'.$"):
        config_from_record({**adam, "momentum": 0.0})
    with pytest.raises(FnnInputError, match="^The key 'label' of the run's saved configuration applies only to csv:PATH"):
        config_from_record(EVERY_DEFAULT)  # every setting listed, those the run ignores too
    with pytest.raises(FnnInputError, match="^The run's saved configuration must be a dict; got list.$"):
        config_from_record([])


def test_schedule_mistakes_name_where_the_schedule_came_from(tmp_path):
    with pytest.raises(FnnInputError, match="^--schedule must be a schedule NAME:ARGS.* cosine.*; got 'cosinus'.$"):
        resolve_config(({"schedule": "cosinus"}, FLAG))
    with pytest.raises(FnnInputError, match="^The key 'schedule' in x.toml must be a schedule .*'every' must be"):
        resolve_config(({"schedule": "step_decay:0,0.5"}, toml_source("x.toml")))


def test_data_names_come_from_the_one_table_of_kinds():
    data = next(setting for setting in SETTINGS if setting.name == "data")
    assert data.help == "data set: " + ", ".join(known_names())
    for kind in DATA_KINDS.values():
        name = kind.name + (":somewhere" if kind.needs_argument else "")
        assert resolve_config(({"data": name}, PYTHON)).data == name
        if kind.needs_argument:
            with pytest.raises(FnnInputError, match=f"^--data must be {kind.usage}, naming the (file|folder); got '{kind.name}'"):
                resolve_config(({"data": kind.name}, FLAG))
    every = r"digits, iris, moons, circles, spirals, blobs, sine, fashion-mnist\[:DIR\], mnist\[:DIR\], idx:DIR, csv:PATH"
    with pytest.raises(FnnInputError, match=rf"^--data must be one of {every}; got 'nope'\.$"):
        resolve_config(({"data": "nope"}, FLAG))
    with pytest.raises(FnnInputError, match=rf"^Unknown data set 'nope'\. Known: {every}\.$"):
        load_source("nope")
    assert [k.name for k in DATA_KINDS.values() if k.origin == "generated"] == ["moons", "circles", "spirals", "blobs", "sine"]
    with pytest.raises(TypeError):
        DATA_KINDS["extra"] = DATA_KINDS["iris"]  # type: ignore[index]
