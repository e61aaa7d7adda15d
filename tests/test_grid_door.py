"""One grid and key dialect at every door of a sweep: a TOML ``[grid]``, ``--grid`` text (comma and bracket forms,
JSON too) and a Python grid give the same configurations for every setting of the table; a bad value gets the same
words on each; a mistyped key the same suggestion; ``out``, ``seeds`` and ``seed`` their own answers."""

import argparse
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn.run
from fnn.cli import main
from fnn.cli import sweep as sweep_cli
from fnn.cli import train as train_cli
from fnn.cli.common import unknown_flags
from fnn.errors import FnnInputError
from fnn.run.grid import Grid, grid_option, read_grid, read_seeds
from fnn.run.settings import FLAG, NOT_SETTINGS, SETTINGS, Source, resolve_config, setting_name, toml_source
from fnn.run.sweep import expand_grid
from fnn.train.options import BadValue

BASE = {"data": "iris", "epochs": 2}
CSV_BASE = {"data": "csv:table.csv", "epochs": 2}

# Two values of every setting as TOML and Python write them (a list where the one value is a list).
EXAMPLES = {
    "data": ["iris", "moons"],
    "label": ["species", "target"],
    "drop": [["Id"], ["Id", "Other"]],
    "test_fraction": [0.2, 0.3],
    "task": ["classification", "regression"],
    "standardize": [True, "auto"],
    "hidden": [[32], [64, 32]],
    "activation": ["tanh", ["relu", "tanh"]],
    "output": ["softmax", "auto"],
    "loss": ["cross_entropy", "auto"],
    "init": ["glorot_uniform", "normal:0.1"],
    "bias_init": ["zeros", "normal"],
    "optimizer": ["sgd", "adam"],
    "lr": [0.001, 0.5],
    "momentum": [0.5, 0.9],
    "weight_decay": [0.01, 0.05],
    "schedule": ["constant", "step_decay:5,0.5"],
    "clip_norm": [0.0, 1.5],
    "l2": [0.0, 0.001],
    "epochs": [2, 4],
    "batch_size": [16, 32],
    "validation": [0.1, 0.2],
    "drop_rate": [0.0, 0.5],
    "patience": [0, 3],
    "monitor": ["val_loss", "val_accuracy"],
    "class_weight": ["balanced", "0:1,1:5"],
    "sample_weight": ["w", "weight"],
    "metrics": [["f1_macro"], ["f1_macro", "roc_auc"]],
    "train_metrics": [True, False],
    "diagnostics": [True, False],
    "tensorboard": [False],  # True: a sweep writes no run folder (REFUSED)
    "keep_checkpoints": [False],
    "seed": None,  # seeds are the sweep's own list (REFUSED)
    "dtype": ["float32", "float64"],
    "threads": [1],  # a sweep runs every run at one thread (REFUSED)
}
REFUSED = {  # a setting a sweep cannot sweep over: the value and the words every door answers with
    "seed": (1, "is not a grid key: a sweep's seeds are its own list"),
    "threads": (2, "must be 1 in a sweep: every run uses one BLAS thread"),
    "tensorboard": (True, "cannot apply in a sweep: its runs write one record each"),
    "keep_checkpoints": (True, "cannot apply in a sweep: its runs write one record each"),
}
BASE_FOR = {"label": CSV_BASE, "drop": CSV_BASE, "sample_weight": CSV_BASE, "weight_decay": {**BASE, "optimizer": "adamw"}}


def _flag_text(value):
    """A value as its flag's text: a list is its items joined by commas."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(_flag_text, value))
    return str(value)


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _grid_texts(values):
    """The ``--grid`` VALUES texts that mean ``values``: bracket lists (nested, quoted, JSON) and, where no value
    has a comma, the comma form."""
    texts = ["[" + ",".join(f"[{_flag_text(v)}]" if "," in _flag_text(v) or isinstance(v, list) else _flag_text(v) for v in values) + "]",
             "[" + ", ".join(json.dumps(_flag_text(v)) for v in values) + "]",
             json.dumps(values) if not any(isinstance(v, bool) for v in values) else None]
    if not any("," in _flag_text(v) for v in values):
        texts.append(",".join(_flag_text(v) for v in values))
    return [text for text in texts if text is not None]


def _sweep_args(argv):
    parser = argparse.ArgumentParser()
    sweep_cli.add_arguments(parser.add_subparsers())
    return parser._subparsers._group_actions[0].choices["sweep"].parse_args(argv)


def _base_flags(base):
    return [word for key, value in base.items() for word in (f"--{key.replace('_', '-')}", _flag_text(value))]


def _doors(name, grid_value, tmp_path, texts):
    """``{door: configs or the FnnInputError}`` of sweeping ``name`` over ``grid_value`` as a Python grid, a TOML
    [grid] and each ``--grid`` VALUES text of ``texts``."""
    base = BASE_FOR.get(name, BASE)
    doors = {}

    def attempt(door, make):
        try:
            doors[door] = make()
        except FnnInputError as error:
            doors[door] = error

    attempt("python", lambda: expand_grid(base, {name: grid_value}, [0]))
    toml = tmp_path / "sweep.toml"
    toml.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in base.items()) + f"[grid]\n{name} = {_toml(grid_value)}\n")
    attempt("toml", lambda: sweep_cli._sweep_inputs(_sweep_args(["--config", str(toml)]))[3])
    for text in texts:
        attempt(f"--grid {text}", lambda: sweep_cli._sweep_inputs(_sweep_args([*_base_flags(base), "--grid", f"{name}={text}"]))[3])
    return doors


def test_the_examples_cover_every_setting():
    assert set(EXAMPLES) == {setting.name for setting in SETTINGS}
    assert set(REFUSED) <= set(EXAMPLES)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_sweeps_alike_through_every_door(setting, tmp_path):
    values = EXAMPLES[setting.name]
    if values is None:
        return  # seed: refused on every door, below
    doors = _doors(setting.name, values, tmp_path, _grid_texts(values))
    configs = doors["python"]
    assert not isinstance(configs, Exception), configs
    assert [getattr(c, setting.name) for c in configs] == [setting.convert(v) for v in values]
    for door, got in doors.items():
        assert got == configs, (door, got)
    for value, config in zip(values, configs):  # one value is a list of one, on every door (a list is the values)
        if not isinstance(value, list):
            text = _flag_text(value)
            one = _doors(setting.name, value, tmp_path, [json.dumps([text])] + ([text] if "," not in text else []))
            assert one == dict.fromkeys(one, [config]), one


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_a_sweep_cannot_sweep_is_refused_alike_on_every_door(name, tmp_path):
    value, words = REFUSED[name]
    doors = _doors(name, [value], tmp_path, _grid_texts([value]))
    for door, got in doors.items():
        assert isinstance(got, FnnInputError) and words in str(got), (door, got)


def _bad_text(setting):
    """A text the setting's check refuses, and the words it expects."""
    for text in ("x", "-1", "nope:1", "0", " "):
        try:
            setting.convert(text)
        except BadValue as expected:
            return text, str(expected)
    raise AssertionError(f"{setting.name}: every text is taken")


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.name != "seed"], ids=lambda s: s.name)
def test_a_bad_value_gets_the_same_words_on_every_door(setting, tmp_path):
    text, expected = _bad_text(setting)
    doors = _doors(setting.name, text, tmp_path, [json.dumps([text])] + ([text] if text.strip() else []))
    labels = {"python": f"The grid key {setting.name!r}", "toml": f"The grid key {setting.name!r} in {tmp_path / 'sweep.toml'}"}
    for door, got in doors.items():
        label = labels.get(door, f"--grid {setting.name}")
        assert isinstance(got, FnnInputError) and str(got) == f"{label} must be {expected}; got {text!r}.", (door, got)
    with pytest.raises(FnnInputError, match=re.escape(f"{setting.flag} must be {expected}; got {text!r}.")):
        resolve_config(({setting.name: text}, FLAG))  # the flag's own words


def _suggestion(error):
    found = re.search(r"[Dd]id you mean '?(?:--)?([\w-]+)'?\?", str(error))
    return None if found is None else found.group(1).replace("-", "_")


def _train_flags():
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser.add_subparsers())
    return parser._subparsers._group_actions[0].choices["train"]


TRAIN_FLAGS = _train_flags()
KNOWN_WORDS = {s.name for s in SETTINGS} | set(NOT_SETTINGS) | {
    option.lstrip("-").replace("-", "_") for action in TRAIN_FLAGS._actions for option in action.option_strings}


def _key_doors(word):
    """The error of the key ``word`` at each door that takes keys: Python run and grid, TOML base and [grid], --grid."""
    errors = {}
    for door, make in {
        "fnn.run.run": lambda: fnn.run.run({word: 1}),
        "python grid": lambda: expand_grid(BASE, {word: [1]}, [0]),
        "python base": lambda: expand_grid({**BASE, word: 1}, {"lr": [0.1]}, [0]),
        "toml base": lambda: resolve_config(({word: 1}, toml_source("exp.toml"))),
        "toml grid": lambda: read_grid({word: [1]}, Source("grid", "sweep.toml")),
        "--grid": lambda: grid_option(f"{word}=1"),
    }.items():
        with pytest.raises(FnnInputError) as caught:
            make()
        errors[door] = caught.value
    return errors


def _typos(name):
    """One-edit misspellings of ``name`` that are no known word."""
    letters = "abcdefghijklmnopqrstuvwxyz_"
    edits = {name[:i] + name[i + 1:] for i in range(len(name))}
    edits |= {name[:i] + name[i + 1] + name[i] + name[i + 2:] for i in range(len(name) - 1)}
    edits |= {name[:i] + c + name[i:] for i in range(len(name) + 1) for c in letters}
    return sorted(word for word in edits if word.strip("_") and word.replace("-", "_") not in KNOWN_WORDS)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_a_mistyped_key_gets_the_same_suggestion_on_every_door(setting, data):
    word = data.draw(st.sampled_from(_typos(setting.name)))
    errors = _key_doors(word)
    suggestions = {door: _suggestion(error) for door, error in errors.items()}
    assert len(set(suggestions.values())) == 1, suggestions
    for error in errors.values():  # one line, the known keys cut short
        assert "\n" not in str(error) and len(str(error)) < 240 and f"({len(SETTINGS) - 8} more)" in str(error), error
    flag_hint = unknown_flags(TRAIN_FLAGS, ["--" + word.replace("_", "-")])
    flagged = _suggestion(flag_hint)
    key = suggestions["--grid"]
    if key is not None and flagged is not None and setting_name(flagged) is not None:
        assert flagged == key, (word, flag_hint, suggestions)  # the flags suggest the same setting


@pytest.mark.parametrize("name, expected", [("learning_rate", "lr"), ("batchsize", "batch_size"), ("hiden", "hidden"),
                                            ("max_iter", "epochs"), ("optimiser", "optimizer"), ("outt", "out")])
def test_known_typos_get_their_setting_on_every_door(name, expected):
    assert {_suggestion(error) for error in _key_doors(name).values()} == {expected}


OUT_WORDS = "is the folder a run or sweep writes into, not a run setting"


def test_out_is_answered_as_the_folder_it_is_on_every_door(tmp_path, capsys):
    for door, error in _key_doors("out").items():
        assert OUT_WORDS in str(error) and "did you mean" not in str(error).lower(), (door, error)
    (tmp_path / "grid-out.toml").write_text('data = "iris"\n[grid]\nout = ["a", "b"]\n')
    assert main(["sweep", "--config", str(tmp_path / "grid-out.toml")]) == 2
    err = capsys.readouterr().err
    assert f"The grid key 'out' in {tmp_path / 'grid-out.toml'} {OUT_WORDS}" in err and "--out DIR" in err
    (tmp_path / "top-out.toml").write_text(f'data = "iris"\nepochs = 1\nout = "{tmp_path / "s"}"\n[grid]\nlr = [0.1, 0.05]\n')
    assert main(["sweep", "--config", str(tmp_path / "top-out.toml"), "--sequential", "--quiet"]) == 0, capsys.readouterr().err
    assert len(list((tmp_path / "s" / "runs").glob("*.json"))) == 2  # out at the TOML top level is the sweep's folder


def _seeds_of(tmp_path, toml_text, *argv):
    (tmp_path / "s.toml").write_text('data = "iris"\nepochs = 1\n' + toml_text)
    return sweep_cli._sweep_inputs(_sweep_args(["--config", str(tmp_path / "s.toml"), *argv]))[2]


def test_seeds_go_at_the_toml_top_level_or_in_its_grid_and_the_flags_override_them(tmp_path):
    assert _seeds_of(tmp_path, "seeds = [0, 1]\n[grid]\nlr = [0.1]\n") == (0, 1)
    assert _seeds_of(tmp_path, "[grid]\nlr = [0.1]\nseeds = [0, 1]\n") == (0, 1)
    assert _seeds_of(tmp_path, "seeds = 4\n[grid]\nlr = 0.1\n") == (4,)  # one value is a list of one
    assert _seeds_of(tmp_path, "seed = 3\n[grid]\nlr = 0.1\n") == (3,)  # the one seed, not replaced by 0
    assert _seeds_of(tmp_path, "seeds = [0, 1]\n[grid]\nlr = [0.1]\n", "--seeds", "[5,6]") == (5, 6)
    assert _seeds_of(tmp_path, "seeds = [0, 1]\n[grid]\nlr = [0.1]\n", "--seed", "7") == (7,)
    for text in ("seeds = [0]\n[grid]\nlr = [0.1]\nseeds = [1]\n", "seed = 1\nseeds = [0, 2]\n[grid]\nlr = [0.1]\n"):
        with pytest.raises(FnnInputError, match="gives seeds twice"):
            _seeds_of(tmp_path, text)
    for text in ("seeds = [0, 0]\n", "seeds = []\n", "seeds = [-1]\n", "seeds = \"0,1\"\n", "seeds = [true]\n"):
        with pytest.raises(FnnInputError, match=r"^The key 'seeds' in .* must be a seed or a list of distinct seeds"):
            _seeds_of(tmp_path, text + "[grid]\nlr = [0.1]\n")


@given(st.lists(st.integers(0, 2**31), min_size=1, max_size=5, unique=True))
def test_seeds_read_alike_as_text_toml_and_python(seeds):
    expected = tuple(seeds)
    assert read_seeds(",".join(map(str, seeds)), FLAG) == expected
    assert read_seeds(json.dumps(seeds), FLAG) == expected
    assert read_seeds(seeds, toml_source("s.toml")) == read_seeds(tuple(seeds), Source("argument", "sweep")) == expected
    assert expand_grid(BASE, {}, seeds)[0].seed == seeds[0] if len(seeds) > 1 else True


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.:-", min_size=1, max_size=8).filter(lambda w: not w.startswith("-"))


@given(st.lists(st.one_of(WORD, st.lists(WORD, min_size=1, max_size=3)), min_size=1, max_size=4))
def test_grid_text_forms_read_as_the_same_flag_texts(values):
    """A bracket list, its quoted and JSON forms and (without nested lists) the comma form give the same items."""
    from fnn.run.grid import _items

    expected = [",".join(v) if isinstance(v, list) else v for v in values]
    bracket = "[" + ", ".join(f"[{','.join(v)}]" if isinstance(v, list) else v for v in values) + "]"
    assert _items(bracket, "--grid k") == expected
    assert _items(json.dumps(expected), "--grid k") == expected
    assert _items("[" + ",".join(f"'{v}'" for v in expected) + "]", "--grid k") == expected
    if not any(isinstance(v, list) for v in values):
        assert _items(",".join(values), "--grid k") == expected


@pytest.mark.parametrize("text", ["[]", "[a,,b]", "[a,]", "[,a]", "[a]b", "[[[a]]]", "[a", "[[a],[]]", "a,,b", ",a", "['a]"])
def test_malformed_grid_text_is_refused_naming_the_key(text):
    with pytest.raises(FnnInputError, match=r"^--grid lr: "):
        grid_option(f"lr={text}")


@pytest.mark.parametrize("grid, message", [
    ({"lr": [0.1, 0.10]}, "gives the value 0.1 twice"),
    ({"hidden": [32, [32]]}, "The grid key 'hidden' gives the value (32,) twice; give each value once."),
    ({"batch-size": [8], "batch_size": [16]}, "is given twice ('batch-size' and 'batch_size')"),
    ({"optimizer": "sgd,adam"}, "(one value; several values are a list: optimizer = ['sgd', 'adam'])"),
])
def test_a_value_or_key_given_twice_and_a_string_of_several_are_refused(grid, message):
    with pytest.raises(FnnInputError, match=re.escape(message)):
        read_grid(grid)


def test_one_value_with_commas_that_is_several_says_how_to_write_several():
    with pytest.raises(FnnInputError, match=re.escape("got 'sgd,adam' (one value; several values are a list: optimizer=[sgd,adam]).")):
        grid_option("optimizer=[[sgd,adam]]")
    with pytest.raises(FnnInputError, match=r"\(Known activations: .*\); got 'relu,nope'\.$"):  # no hint where a part is bad too
        read_grid({"output": "relu,nope"})


def test_the_grid_option_overrides_the_toml_grid_key_by_key(tmp_path):
    (tmp_path / "s.toml").write_text('data = "iris"\n[grid]\nlr = [0.1, 0.2]\nbatch_size = [8, 16]\n')
    base, grid, seeds, configs = sweep_cli._sweep_inputs(_sweep_args(["--config", str(tmp_path / "s.toml"), "--grid", "lr=0.5"]))
    assert grid == {"lr": [0.5], "batch_size": [8, 16]} and seeds == (0,) and base == {"data": "iris"}
    assert [(c.lr, c.batch_size) for c in configs] == [(0.5, 8), (0.5, 16)]
    assert Grid().updated(read_grid(grid)).as_dict() == grid


def test_a_value_after_a_switch_is_that_flags_one_line_error(capsys):
    assert main(["sweep", "--grid", "lr=0.1", "--resume", "runs/a"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--resume takes no value" in err and "fnn train --resume DIR" in err
    assert "--out DIR" in err and "got 'runs/a'" in err and "unrecognized" not in err
    assert main(["sweep", "--grid", "lr=0.1", "--threads", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fnn sweep: error: --threads must be 1 in a sweep") and "[" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("setting", [s for s in SETTINGS if EXAMPLES[s.name] is not None], ids=lambda s: s.name)
def test_every_setting_is_a_sweep_base_setting_as_a_flag_and_a_toml_key(setting, tmp_path):
    base = BASE_FOR.get(setting.name, BASE)
    value = EXAMPLES[setting.name][0]
    flag = [setting.flag] if setting.switch else [setting.flag, _flag_text(value)]
    if setting.switch and not value:
        flag = []  # a switch can only be turned on; tensorboard and keep_checkpoints on are REFUSED
    swept = "l2" if setting.name == "clip_norm" else "clip_norm"  # another setting's two values
    configs = sweep_cli._sweep_inputs(_sweep_args([*_base_flags(base), *flag, "--grid", f"{swept}=0,1"]))[3]
    (tmp_path / "base.toml").write_text("".join(f"{k} = {_toml(v)}\n" for k, v in {**base, setting.name: value}.items())
                                       + f"[grid]\n{swept} = [0, 1]\n")
    from_toml = sweep_cli._sweep_inputs(_sweep_args(["--config", str(tmp_path / "base.toml")]))[3]
    assert [getattr(c, setting.name) for c in configs] == [getattr(c, setting.name) for c in from_toml] == [setting.convert(value)] * 2
    assert configs == from_toml
