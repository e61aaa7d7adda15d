"""The Python API beyond fit reads a value as every other door does (issue 24, second pass). Cases are generated
by class: every sweep option through each of its doors (sweep's argument, fnn sweep's flag, Halving's field), every
form of a list of seeds through fit_seeds and sweep, every argument of the metric functions in numpy's forms, every
metric function's messages naming itself, and zero rows through each of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fnn
from fnn.cli import main
from fnn.run import Halving
from fnn.run.engine import run
from fnn.run.grid import SWEEP_OPTIONS, read_seeds, sweep_option
from fnn.run.settings import FLAG, Source
from fnn.run.sweep import sweep

ARGUMENT = Source("argument", "sweep")
BASE = {"data": "iris", "hidden": [4], "epochs": 1}
PARAMS = fnn.init_params(fnn.network([4, 3, 2]), seed=0)
X = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
Y = np.array([0, 1, 0, 1, 1, 0])

# each sweep option: a value, the same value in numpy's or text's forms, and a value it refuses
OPTION_VALUES = {
    "engine": ("sequential", [" Sequential", "SEQUENTIAL"], "seq"),
    "workers": (2, [np.int64(2), np.array(2), "2"], 0),
    "stack": (False, [np.False_, np.array(False), "no", "off"], "maybe"),
    "resume": (False, [np.False_, "no"], 2),
    "overwrite": (True, [np.True_, "yes"], 1),
    "min_epochs": (2, [np.int64(2), np.array(2), "2", np.uint8(2)], 0),
    "factor": (3, [np.int64(3), np.array(3), "3"], 1),
}


def test_every_sweep_option_has_its_cases():
    assert set(OPTION_VALUES) == set(SWEEP_OPTIONS)


@pytest.mark.parametrize("name", sorted(OPTION_VALUES))
@pytest.mark.parametrize("source", [ARGUMENT, FLAG, Source("argument", "Halving")], ids=["argument", "flag", "field"])
def test_a_sweep_option_reads_numpy_and_text_forms_alike_and_names_itself(name, source):
    value, forms, bad = OPTION_VALUES[name]
    for form in forms:
        assert sweep_option(name, form, source) == value
        assert type(sweep_option(name, form, source)) is type(value)
    with pytest.raises(fnn.FnnInputError) as error:
        sweep_option(name, bad, source)
    message = str(error.value)
    assert message.startswith(source.label(name) + " must be ") and message.endswith(f"; got {bad!r}.")
    assert "\n" not in message and len(message) < 200


@pytest.mark.parametrize("name", ["engine", "workers"])
def test_none_is_the_default_of_an_optional_sweep_option(name):
    assert sweep_option(name, None, ARGUMENT) is None


@pytest.mark.parametrize("name", ["stack", "resume", "overwrite", "workers", "engine"])
def test_sweep_refuses_a_bad_option_by_its_name_before_running(name, tmp_path):
    bad = OPTION_VALUES[name][2]
    with pytest.raises(fnn.FnnInputError, match=f"^The '{name}' argument of sweep must be"):
        sweep(BASE, {"lr": [0.1]}, [0], out=tmp_path / "out", **{"engine": "sequential", name: bad})
    assert not (tmp_path / "out").exists()


def test_resume_no_refuses_a_finished_sweep_as_false_does(tmp_path):
    out = tmp_path / "out"
    sweep(BASE, {"lr": [0.1]}, [0], engine="sequential", out=out)
    for no in (False, "no", np.False_):  # "no" was taken as true: the sweep resumed
        with pytest.raises(fnn.FnnInputError, match="resume"):
            sweep(BASE, {"lr": [0.1]}, [0], engine="sequential", out=out, resume=no)


@pytest.mark.parametrize("name, flag", [("min_epochs", "--min-epochs"), ("factor", "--factor"), ("workers", "--workers")])
def test_a_sweep_flag_and_its_argument_say_the_same_about_a_bad_value(name, flag, capsys):
    bad = OPTION_VALUES[name][2]
    extra = ["--halving"] if name != "workers" else []
    assert main(["sweep", "--data", "iris", "--epochs", "3", "--grid", "lr=0.1,0.2", *extra, flag, str(bad), "--quiet"]) == 2
    said = capsys.readouterr().err
    with pytest.raises(fnn.FnnInputError) as error:
        if name == "workers":
            sweep(BASE, {"lr": [0.1]}, [0], workers=str(bad))
        else:
            Halving(**{name: str(bad)})
    assert str(error.value).split(" must be ")[1] in said
    assert f"{flag} must be {str(error.value).split(' must be ')[1]}" in said


def test_halving_fields_take_numpy_ints():
    assert Halving(min_epochs=np.int64(2), factor=np.array(2)) == Halving(2, 2)


SEED_FORMS = [3, np.int64(3), np.array(3), "3", [0, 1], np.arange(2), (np.int64(0), 1), range(2), ["0", "1"],
              [], None, [0, 0], -1, [1.5], True, "a", [[0, 1]], np.array([[0, 1]])]


@pytest.mark.parametrize("seeds", SEED_FORMS, ids=repr)
def test_fit_seeds_and_sweep_read_seeds_by_one_rule(seeds):
    try:
        swept = read_seeds(seeds, ARGUMENT)
    except fnn.FnnInputError as error:
        expected = str(error).split(" must be ")[1].rsplit("; got", 1)[0]
        with pytest.raises(fnn.FnnInputError) as fitted:
            fnn.fit_seeds(fnn.network([4, 2]), (X, Y), seeds=seeds, epochs=0)
        assert f"'seeds' argument of fnn.fit_seeds must be {expected}." in str(fitted.value)
        return
    states = fnn.fit_seeds(fnn.network([4, 2]), (X, Y), seeds=seeds, epochs=0)
    assert tuple(state.seed for state in states) == swept


def _calls():
    """Each public metric function with its arguments, so one case can be run through all of them."""
    return {
        "predict": lambda x=X, **kw: fnn.predict(PARAMS, x, **kw),
        "predict_classes": lambda x=X, **kw: fnn.predict_classes(PARAMS, x, **kw),
        "accuracy": lambda x=X, y=Y, **kw: fnn.accuracy(PARAMS, x, y, **kw),
        "mean_loss": lambda x=X, y=Y, **kw: fnn.mean_loss(PARAMS, x, y, **kw),
        "evaluate": lambda x=X, y=Y, **kw: fnn.evaluate(PARAMS, x, y, **kw),
    }


SCORING = ["accuracy", "mean_loss", "evaluate"]
BAD_CASES = {
    "batch_size 0": (dict(batch_size=0), "batch_size"),
    "batch_size 2.5": (dict(batch_size=2.5), "batch_size"),
    "batch_size None": (dict(batch_size=None), "batch_size"),
    "x of 5 columns": (dict(x=np.zeros((3, 5))), "x"),
    "x of text": (dict(x=[["a"] * 4]), "x"),
    "x with NaN": (dict(x=np.full((2, 4), np.nan)), "x"),
}


@pytest.mark.parametrize("function", sorted(_calls()))
@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_every_metric_function_names_itself_and_the_argument(function, case):
    arguments, name = BAD_CASES[case]
    with pytest.raises(fnn.FnnInputError) as error:
        _calls()[function](**arguments)
    assert f"The {name!r} argument of fnn.{function} must be" in str(error.value)


@pytest.mark.parametrize("function", SCORING)
@pytest.mark.parametrize("y", [Y[:5], np.array([0, 1, 0, 1, 1, 7]), Y.reshape(-1, 1)], ids=["short", "class 7", "column"])
def test_every_scoring_function_names_itself_for_bad_labels(function, y):
    with pytest.raises(fnn.FnnInputError, match=f"The 'y' argument of fnn.{function} must be"):
        _calls()[function](y=y)


@pytest.mark.parametrize("function", sorted(_calls()))
@pytest.mark.parametrize("batch_size", [np.int64(4), np.array(4), "4", np.uint16(4)], ids=repr)
def test_a_batch_size_in_numpy_or_text_form_is_the_int(function, batch_size):
    got, want = _calls()[function](batch_size=batch_size), _calls()[function](batch_size=4)
    assert json.dumps(np.asarray(got).tolist() if not isinstance(got, dict) else got) == \
        json.dumps(np.asarray(want).tolist() if not isinstance(want, dict) else want)


@pytest.mark.parametrize("function", ["predict", "predict_classes"])
@pytest.mark.parametrize("zero", [np.zeros((0, 4)), np.zeros((0, 4), np.float32), np.zeros((0, 4), int)], ids=["float64", "float32", "int"])
def test_zero_rows_predict_zero_rows(function, zero):
    got = _calls()[function](x=zero)
    assert len(got) == 0 and (function == "predict_classes" or got.shape == (0, 2))


@pytest.mark.parametrize("function", SCORING)
def test_zero_rows_are_refused_by_name_where_a_score_needs_one(function):
    with pytest.raises(fnn.FnnInputError, match=f"The 'x' argument of fnn.{function} must be at least one sample"):
        _calls()[function](x=np.zeros((0, 4)), y=np.zeros(0, int))


@pytest.mark.parametrize("counts", [True, np.True_, "yes", np.array(True)], ids=repr)
def test_evaluate_counts_reads_a_bool_as_every_door_does(counts):
    assert fnn.evaluate(PARAMS, X, Y, counts=counts)["samples"] == 6
    assert "samples" not in fnn.evaluate(PARAMS, X, Y, counts="no")
    with pytest.raises(fnn.FnnInputError, match="'counts' argument of fnn.evaluate must be true or false"):
        fnn.evaluate(PARAMS, X, Y, counts="maybe")


@pytest.mark.parametrize("y_true, y_pred, n_classes, want", [
    ([0.0, 2.0], [0, 1], None, [[1, 0, 0], [0, 0, 0], [0, 1, 0]]),
    (np.array([1, 0]), [1, 0], np.int64(2), [[1, 0], [0, 1]]),
    ([1, 0], [1, 0], np.array(3), [[1, 0, 0], [0, 1, 0], [0, 0, 0]]),
])
def test_confusion_matrix_takes_whole_float_labels_and_numpy_counts(y_true, y_pred, n_classes, want):
    assert fnn.confusion_matrix(y_true, y_pred, n_classes=n_classes).tolist() == want


@pytest.mark.parametrize("y_true, y_pred, n_classes, name", [
    ([0, -1], [0, 1], None, "y_true"), ([0, 1], [0, 0.5], None, "y_pred"), ([0, 2], [0, 1], 2, "n_classes"),
    ([0, 1], [0, 1], 0, "n_classes"), ([[0, 1]], [[0, 1]], None, "y_true"),
])
def test_confusion_matrix_refuses_by_name(y_true, y_pred, n_classes, name):
    with pytest.raises(fnn.FnnInputError, match=f"The '{name}' argument of fnn.confusion_matrix must be"):
        fnn.confusion_matrix(y_true, y_pred, n_classes=n_classes)


@pytest.mark.parametrize("n_classes", [np.int64(3), np.array(3), "3"], ids=repr)
def test_one_hot_reads_its_count_as_every_door_does(n_classes):
    assert fnn.data.one_hot([0, 2], n_classes).tolist() == fnn.data.one_hot([0, 2], 3).tolist()


@pytest.mark.parametrize("n_classes", [None, 0, "x", 2.5])
def test_one_hot_refuses_a_bad_count_by_name(n_classes):
    with pytest.raises(fnn.FnnInputError, match="The 'n_classes' argument of fnn.one_hot must be"):
        fnn.data.one_hot([0, 1], n_classes)


@pytest.mark.parametrize("data", [(X, Y), [X], "iris", (fnn.data.iris(), X)], ids=["arrays", "one", "name", "half"])
def test_run_refuses_data_that_is_not_a_pair_of_datasets_by_name(data):
    with pytest.raises(fnn.FnnInputError, match="The 'data' argument of fnn.run.run must be a \\(train, test\\) pair of fnn.Dataset"):
        run({"data": "iris", "epochs": 1}, data=data)


@pytest.mark.parametrize("name, value", [("validation", 0), ("keep_checkpoints", True), ("tensorboard", True)])
@pytest.mark.parametrize("door", ["flag", "toml", "base", "grid", "--grid"])
def test_a_whole_sweep_check_names_the_setting_where_it_was_given(name, value, door):
    from fnn.run.grid import GRID_OPTION
    from fnn.run.settings import GRID, PYTHON, toml_source
    from fnn.run.sweep import expand_grid

    sources = {"flag": FLAG, "toml": toml_source("sweep.toml"), "base": PYTHON, "grid": GRID, "--grid": GRID_OPTION}
    in_grid = door in ("grid", "--grid")
    base, grid = ({"data": "iris"}, {name: [value]}) if in_grid else ({"data": "iris", name: value}, {"lr": [0.1]})
    with pytest.raises(fnn.FnnInputError) as error:
        expand_grid(base, grid, [0, 1], base_source=sources[door], grid_source=sources[door] if in_grid else GRID)
    assert str(error.value).startswith(sources[door].label(name) + (" must be > 0 in a sweep" if name == "validation" else " cannot apply in a sweep"))


GENERATORS = {  # each generated data set's numeric arguments, with a value each takes
    "moons": {"n": 10, "noise": 0.1, "seed": 2},
    "circles": {"n": 10, "noise": 0.1, "factor": 0.5, "seed": 2},
    "spirals": {"n": 10, "noise": 0.1, "turns": 1.5, "seed": 2},
    "blobs": {"n": 12, "centers": 3, "n_features": 2, "spread": 1.0, "seed": 2},
    "noisy_sine": {"n": 10, "noise": 0.1, "seed": 2},
}
ARGUMENTS = [(name, argument) for name, arguments in GENERATORS.items() for argument in arguments]


@pytest.mark.parametrize("name, argument", ARGUMENTS)
@pytest.mark.parametrize("form", [np.array, lambda v: np.float64(v) if isinstance(v, float) else np.int64(v), str],
                         ids=["0-d array", "numpy scalar", "text"])
def test_a_data_generator_reads_numpy_and_text_forms_alike(name, argument, form):
    given = GENERATORS[name]
    want = getattr(fnn.data, name)(**given)
    got = getattr(fnn.data, name)(**{**given, argument: form(given[argument])})
    assert np.array_equal(got.features, want.features) and np.array_equal(got.labels, want.labels)


@pytest.mark.parametrize("name, argument", ARGUMENTS)
@pytest.mark.parametrize("bad", [None, -1, "x", np.nan])
def test_a_data_generator_names_a_bad_argument(name, argument, bad):
    with pytest.raises(fnn.FnnInputError, match=f"^The '{argument}' argument of fnn.data.{name} must be"):
        getattr(fnn.data, name)(**{**GENERATORS[name], argument: bad})


def _model():
    from fnn.store.model import Model

    params = fnn.init_params(fnn.network([2, 3, 2]), seed=0)
    return Model(fnn.TrainState(params, None), {}, None, ("cat", "dog"), columns=("w", "h"))


RAW = np.array([[3.0, 6.0], [-1.0, 2.0], [0.5, 0.5]])


@pytest.mark.parametrize("y", [[0, 1, 1], np.array([0, 1, 1], np.int8), [0.0, 1.0, 1.0], np.array([0.0, 1.0, 1.0]),
                               ["cat", "dog", "dog"], np.array(["cat", "dog", "dog"], object)], ids=repr)
@pytest.mark.parametrize("raw", [RAW, RAW.tolist(), RAW.astype(np.float32), {"h": RAW[:, 1], "w": RAW[:, 0]}],
                         ids=["float64", "list", "float32", "mapping"])
def test_a_models_evaluate_reads_labels_and_inputs_in_every_form_alike(y, raw):
    model = _model()
    assert model.evaluate(raw, y) == model.evaluate(RAW, [0, 1, 1])


@pytest.mark.parametrize("raw", [np.zeros((0, 2)), np.zeros((0, 2), int), {"w": [], "h": []}], ids=["float", "int", "mapping"])
def test_a_models_evaluate_refuses_zero_rows_in_its_own_words_and_predict_gives_none(raw):
    model = _model()
    with pytest.raises(fnn.FnnInputError, match="^x: has no rows; expected at least one sample to score"):
        model.evaluate(raw, [])
    assert model.predict(raw).shape == (0,) and model.predict_proba(raw).shape == (0, 2)


@pytest.mark.parametrize("fraction, seed", [(np.float64(0.2), np.int64(1)), (np.array(0.2), np.array(1)), ("0.2", "1")], ids=repr)
def test_stratified_split_reads_its_fraction_and_seed_as_every_door_does(fraction, seed):
    want = fnn.data.stratified_split(fnn.data.iris(), 0.2, seed=1)
    got = fnn.data.stratified_split(fnn.data.iris(), fraction, seed=seed)
    assert all(np.array_equal(a.features, b.features) for a, b in zip(got, want))


@pytest.mark.parametrize("argument, bad", [("test_fraction", 0), ("test_fraction", None), ("seed", None), ("seed", -1)])
def test_stratified_split_names_a_bad_argument(argument, bad):
    with pytest.raises(fnn.FnnInputError, match=f"^The '{argument}' argument of fnn.stratified_split must be"):
        fnn.data.stratified_split(fnn.data.iris(), **{"test_fraction": 0.2, "seed": 0, argument: bad})


def _data_names():
    from fnn.data.sources import known_names

    return [name.split("[")[0].split(":")[0] for name in known_names()]


@pytest.mark.parametrize("name", _data_names())
def test_a_mistyped_data_set_gets_the_closest_name(name):
    from fnn.data.sources import load_source

    typo = name[:-2] + name[-1]  # one letter left out
    with pytest.raises(fnn.FnnInputError, match=f"^Unknown data set {typo!r}. Did you mean {name!r}?"):
        load_source(typo)


@pytest.mark.parametrize("epochs", [np.array(1), np.int64(1), "1", np.uint8(1)], ids=repr)
def test_fit_and_iterate_epochs_read_epochs_in_numpy_and_text_forms(epochs):
    start = fnn.init_params(fnn.network([4, 2]), seed=0)
    assert fnn.fit(start, (X, Y), epochs=epochs).params == fnn.fit(start, (X, Y), epochs=1).params
    assert len(list(fnn.iterate_epochs(start, (X, Y), epochs=epochs))) == 1
