"""The estimators are a door of the one settings table: every run setting is an estimator parameter (under
scikit-learn's name where MLPClassifier has one) with the table's default or a documented scikit-learn one, trains
with a good value and refuses what the setting's check refuses in its words; or it is listed with the reason it
has no parameter."""

import inspect
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fnn
from fnn.run.settings import SETTINGS
from fnn.train.options import BadValue

pytest.importorskip("sklearn")
from fnn.interop import sklearn as door  # noqa: E402
from fnn.interop.sklearn import NOT_PARAMETERS, PARAMETERS, SKLEARN_DEFAULTS, FNNClassifier, FNNRegressor  # noqa: E402

# an optimiser setting for an optimiser without it is ignored with a warning, as scikit-learn ignores it; its own test asserts it
pytestmark = pytest.mark.filterwarnings("ignore:.*is not used by optimizer:UserWarning")

ESTIMATORS = (FNNClassifier, FNNRegressor)
OWN = {"early_stopping", "shuffle", "warm_start"}  # scikit-learn's switches, which no run setting is
TABLE = " ".join(door.__doc__.split())

X = np.linspace(-1, 1, 20).reshape(-1, 1)
Y = np.arange(20) % 2  # two classes, ten rows each
QUICK = {"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0}


def _fit(estimator=FNNClassifier, **parameters):
    y = X[:, 0] ** 2 if estimator is FNNRegressor else Y
    return estimator(**{**QUICK, **parameters}).fit(X, y)


def _refusal(setting, value):
    """The setting's words for what ``value`` should have been, or None when its check takes it."""
    try:
        setting.convert(value)
    except BadValue as expected:
        return str(expected)
    return None


def _signature(estimator):
    return inspect.signature(estimator).parameters


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_parameter_or_has_a_reason(setting):
    if setting.sklearn:
        assert setting.name not in NOT_PARAMETERS and PARAMETERS[setting.sklearn] is setting
        assert re.search(rf"\b{setting.name}\b.* {setting.sklearn} ", TABLE)  # the module's table maps it
        for estimator in ESTIMATORS:
            assert setting.sklearn in _signature(estimator)
    else:
        assert len(NOT_PARAMETERS[setting.name]) > 20  # a reason, not a placeholder
        assert re.search(rf"\b{setting.name}\b[ ,a-z_]*\(none\)", TABLE)
        for estimator in ESTIMATORS:
            assert setting.name not in _signature(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_the_signature_is_the_table_and_scikit_learns_switches(estimator):
    assert set(_signature(estimator)) == set(PARAMETERS) | OWN
    assert len(PARAMETERS) == len({s.name for s in PARAMETERS.values()}) == len(SETTINGS) - len(NOT_PARAMETERS)
    assert set(SKLEARN_DEFAULTS) <= set(PARAMETERS)


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.sklearn], ids=lambda s: s.name)
def test_the_default_is_the_settings_or_a_documented_scikit_learn_one(setting):
    name = setting.sklearn
    default = _signature(FNNClassifier)[name].default
    assert _signature(FNNRegressor)[name].default == default
    if name in SKLEARN_DEFAULTS:
        assert default == SKLEARN_DEFAULTS[name] and default != setting.default  # a listed difference is one
        assert f"{name}={default!r}" in TABLE
    else:
        assert setting.convert(default) == setting.default == default
    assert FNNClassifier().get_params()[name] == default


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_defaults_train(estimator):
    fitted = estimator(max_iter=2).fit(X, X[:, 0] ** 2 if estimator is FNNRegressor else Y)
    assert fitted.n_iter_ == 2 and fitted.params_.spec.sizes[1:-1] == (100,) and fitted.params_.dtype == np.float32
    assert fitted.state_.history[-1].lr == 0.001 and fitted.params_.spec.layers[0].init.name == "glorot_uniform"


def _differs(parameters, base=None):
    """A fit with ``parameters`` trains other parameters than one with ``base`` (default: without them)."""
    return _fit(**parameters).params_ != _fit(**(base or {})).params_


def _record(fitted):
    return fitted.history_[-1]


# parameter -> (a good value, other parameters it needs, what the fitted estimator shows of it)
GOOD = {
    "hidden_layer_sizes": ("3,2", {}, lambda f: f.params_.spec.sizes == (1, 3, 2, 1)),
    "activation": ("tanh", {}, lambda f: f.params_.spec.layers[0].activation.name == "tanh"),
    "output": ("softmax", {}, lambda f: f.n_outputs_ == 2 and np.allclose(f.predict_proba(X).sum(axis=1), 1)),
    "loss": ("MSE", {}, lambda f: f.params_.spec.loss.name == "mse" and f.out_activation_ == "logistic"),
    "init": ("he_uniform", {}, lambda f: f.params_.spec.layers[0].init.name == "he_uniform" and _differs({"init": "he_uniform"})),
    "bias_init": ("normal", {}, lambda f: np.any(f.intercepts_[0] != 0)),
    "optimizer": ("Nesterov", {}, lambda f: f.state_.opt_state is not None and _differs({"optimizer": "nesterov"})),
    "learning_rate_init": ("0.05", {}, lambda f: _record(f).lr == 0.05),
    "momentum": (0.5, {"optimizer": "sgd"}, lambda f: _differs({"optimizer": "sgd", "momentum": 0.5}, {"optimizer": "sgd"})),
    "weight_decay": (0.5, {"optimizer": "adamw"}, lambda f: _differs({"optimizer": "adamw", "weight_decay": 0.5}, {"optimizer": "adamw"})),
    "learning_rate": ("step_decay:1,0.5", {"max_iter": 3}, lambda f: f.history_.column("lr") == [0.0005, 0.00025, 0.000125]),
    "clip_norm": (1e-3, {}, lambda f: _differs({"clip_norm": 1e-3})),
    "alpha": (0.5, {}, lambda f: _differs({"alpha": 0.5})),
    "batch_size": (4, {}, lambda f: f.state_.step == 2 * 5),
    "max_iter": (3, {}, lambda f: f.n_iter_ == 3 == len(f.loss_curve_)),
    "validation_fraction": (0.5, {"early_stopping": True}, lambda f: f.t_ == 10 * f.n_iter_),
    "drop_rate": (0.5, {}, lambda f: _differs({"drop_rate": 0.5})),
    "n_iter_no_change": (1, {"early_stopping": True, "max_iter": 200, "learning_rate_init": 0.5}, lambda f: f.n_iter_ < 200),
    "monitor": ("val_f1_macro", {"early_stopping": True, "metrics": "f1_macro"}, lambda f: "val_f1_macro" in _record(f).metrics),
    "class_weight": ("0:1,1:5", {}, lambda f: _record(f).weighted and _differs({"class_weight": {1: 5}}) and not _differs({"class_weight": {1: 5}}, {"class_weight": "0:1,1:5"})),
    "metrics": ("f1_macro,log_loss", {"train_metrics": True}, lambda f: {"f1_macro", "log_loss"} <= set(_record(f).metrics)),
    "train_metrics": ("yes", {"metrics": ("f1_macro",)}, lambda f: "f1_macro" in _record(f).metrics),
    "diagnostics": (True, {}, lambda f: _record(f).diagnostics is not None),
    "random_state": (3, {}, lambda f: f.seed_ == 3),
    "dtype": ("Float64", {}, lambda f: f.params_.dtype == np.float64),
    "threads": (1, {}, lambda f: f.n_iter_ == 2),
}


def test_every_parameter_has_a_good_value():
    assert set(GOOD) == set(PARAMETERS)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_a_parameter_trains_with_a_good_value(name):
    value, needs, shows = GOOD[name]
    assert PARAMETERS[name].convert(value) is not None  # the table's check takes it
    fitted = _fit(**needs, **{name: value})
    assert fitted.get_params()[name] == value and shows(fitted), name


# Values of every kind; each parameter's bad values are those its setting's check refuses.
POOL = ["x", "", " ", "nope:1", "1,x", "-1", "0", "2.5", "1e99", "nan", "maybe", "relu:x", -1, 0, 1, 3, 0.5, 1.5, -0.5,
        10**9, math.nan, math.inf, -math.inf, True, False, [], [0], [-3], ["x"], [1.5], (2, 0), {"a": 1}, {0: -1.0}]


def _words(estimator, name, value, expected):
    """The one wording of a refused parameter (a class_weight of unknown classes also names the classes)."""
    head = re.escape(f"The {name!r} parameter of {estimator.__name__} must be {expected}")
    tail = r"(, the classes being among classes_ \[.*\])?" if name == "class_weight" else ""
    return head + tail + re.escape(f". Got {value!r} instead.") + "$"


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_a_parameter_refuses_what_its_setting_refuses_in_its_words(name):
    bad = [(value, expected) for value in POOL if (expected := _refusal(PARAMETERS[name], value)) is not None]
    assert bad, f"{name}: no value of any kind is refused"
    for value, expected in bad:
        for estimator in ESTIMATORS if name != "class_weight" else (FNNClassifier,):  # the regressor's: None only
            with pytest.raises(fnn.FnnInputError, match=_words(estimator, name, value, expected)):
                _fit(estimator, **{name: value})


# Values a parameter's setting may take (or not), each tried on every parameter beside the pool above.
TAKEN = ["auto", "sigmoid", "identity", "softmax", "tanh,relu", "quadratic", "val_r2", "val_f1_macro", "f1_macro",
         "roc_auc", "r2", "mae", "cosine:5", "linear_warmup:1+cosine", "0:1", "1:2", "cat:2", "balanced", "float32",
         "FLOAT64", None, 2.0, 500, [3, 2], {"0": 1}, {1: 0.0}]


def _trains_or_names_the_parameter(name, value, estimator):
    """Whatever a parameter holds, fit trains, diverges, or refuses it in the one wording naming the parameter
    (never another function's words or a traceback from deeper down); what the setting refuses, it refuses."""
    expected = _refusal(PARAMETERS[name], value)
    try:
        _fit(estimator, **{name: value})
    except fnn.TrainingDiverged:
        assert expected is None, (name, value)
    except fnn.FnnInputError as error:
        text = str(error)
        assert text.startswith(f"The {name!r} parameter of {estimator.__name__} ") or "training the network" in text, text
        if expected is not None and not (name == "class_weight" and estimator is FNNRegressor):
            assert re.match(_words(estimator, name, value, expected), text), text
    else:
        assert expected is None or (name == "random_state" and value is None), (name, value, expected)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's overflow on the way to a divergence
@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_value_trains_or_is_refused_naming_the_parameter(name):
    for value in POOL + TAKEN:
        for estimator in ESTIMATORS:
            _trains_or_names_the_parameter(name, value, estimator)


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.sampled_from(TAKEN), st.lists(st.integers(-1, 4), max_size=3),
    st.dictionaries(st.sampled_from([0, 1, "0", "1", "cat", 2.5]), st.floats(-1, 3), max_size=2),
)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(PARAMETERS)), value=VALUES, estimator=st.sampled_from(ESTIMATORS))
def test_any_generated_value_trains_or_is_refused_naming_the_parameter(name, value, estimator):
    _trains_or_names_the_parameter(name, value, estimator)


def test_a_class_weight_names_classes_by_their_labels():
    names = np.where(Y == 1, "cat", "dog")
    by_weight = FNNClassifier(**QUICK).fit(X, names, sample_weight=np.where(names == "cat", 2.0, 1.0)).params_
    for labelled in ({"cat": 2}, {"cat": 2.0, "dog": 1}, "cat:2", " cat : 2 ,dog:1", {np.str_("cat"): "2"}):
        assert FNNClassifier(**QUICK, class_weight=labelled).fit(X, names).params_ == by_weight, labelled
    by_index = FNNClassifier(**QUICK, class_weight={1: 2}).fit(X, Y).params_
    for indexed in ("0:1,1:2", {"1": 2}, {np.int64(1): 2.0}, "1:2"):
        assert FNNClassifier(**QUICK, class_weight=indexed).fit(X, Y).params_ == by_index, indexed
    for bad in ({"bird": 2}, "bird:1", {2: 1}, "0:1,1:5,2:1"):
        with pytest.raises(fnn.FnnInputError, match=r"^The 'class_weight' parameter of FNNClassifier must be .*among classes_ (\['cat', 'dog'\]|\[0, 1\])\. Got"):
            FNNClassifier(**QUICK, class_weight=bad).fit(X, names if isinstance(bad, dict) and "bird" in bad else Y)


@pytest.mark.parametrize("dtype", ["float64", "Float64", " FLOAT64 ", np.float64, np.dtype("float64")])
def test_dtype_has_one_check_any_case_and_numpy_types(dtype):
    assert _fit(dtype=dtype).params_.dtype == np.float64
    for bad in (np.float16, np.int32, "float16", "int8"):
        with pytest.raises(fnn.FnnInputError, match=r"^The 'dtype' parameter of FNNClassifier must be one of float32, float64\. Got"):
            _fit(dtype=bad)


def test_a_mistyped_parameter_gets_scikit_learns_own_error():
    with pytest.raises(ValueError, match=r"Invalid parameter 'learning_rate_inti' for estimator FNNClassifier"):
        FNNClassifier().set_params(learning_rate_inti=0.1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'momentun'"):
        FNNRegressor(momentun=0.9)


@pytest.mark.parametrize(
    "estimator, parameters, words",
    [
        (FNNClassifier, {"output": "identity"}, "'output' parameter of FNNClassifier must be auto, softmax or sigmoid"),
        (FNNRegressor, {"output": "softmax"}, "'output' parameter of FNNRegressor must be auto or an activation other than"),
        (FNNRegressor, {"loss": "cross_entropy"}, "'loss' parameter of FNNRegressor must be auto, mse or quadratic"),
        (FNNRegressor, {"class_weight": "balanced"}, "'class_weight' parameter of FNNRegressor must be None"),
        (FNNRegressor, {"metrics": "f1_macro", "train_metrics": True}, "'metrics' parameter of FNNRegressor must be metrics of a regression"),
        (FNNClassifier, {"metrics": "f1_macro"}, "'metrics' parameter of FNNClassifier must be \\(\\) unless early_stopping"),
        (FNNClassifier, {"monitor": "val_r2"}, "'monitor' parameter of FNNClassifier 'val_r2' watches r2, which a classifier does not record"),
        (FNNClassifier, {"monitor": "f1_macro", "metrics": "f1_macro", "early_stopping": True}, "'monitor' parameter .* 'f1_macro' watches a training metric, which this run computes only with train_metrics"),
        (FNNClassifier, {"learning_rate": "cosine:x"}, "'learning_rate' parameter of FNNClassifier must be a schedule NAME:ARGS"),
        (FNNClassifier, {"optimizer": fnn.optim.adam(), "learning_rate_init": None, "momentum": 0.9}, "'momentum' parameter .* must be None when"),
        (FNNClassifier, {"learning_rate_init": None}, "'learning_rate_init' parameter of FNNClassifier must be a number"),
        (FNNClassifier, {"optimizer": fnn.optim.adam()}, "'learning_rate_init' parameter of FNNClassifier must be None when"),
        (FNNClassifier, {"optimizer": fnn.optim.adam(), "learning_rate_init": None, "learning_rate": "cosine"}, "'learning_rate' parameter .* must be 'constant' when"),
        (FNNRegressor, {"alpha": fnn.optim.adam()}, "'alpha' parameter of FNNRegressor must be a number. Got"),
        (FNNClassifier, {"max_iter": fnn.get_activation("relu")}, "'max_iter' parameter of FNNClassifier must be an int. Got"),
    ],
)
def test_settings_that_do_not_fit_together_are_refused_naming_the_parameter(estimator, parameters, words):
    with pytest.raises(fnn.FnnInputError, match=words):
        _fit(estimator, **parameters)


def test_optimiser_only_parameters_are_ignored_by_the_others_as_scikit_learn_ignores_them():
    for parameter, value in (("momentum", 0.9), ("weight_decay", 0.5)):  # adam has no momentum; only adamw decays
        with pytest.warns(UserWarning, match=rf"^FNNClassifier: {parameter}={value} is not used by optimizer='adam' \(only by .*\) and is ignored"):
            assert not _differs({parameter: value})
    assert _differs({"optimizer": "momentum", "momentum": 0.5}, {"optimizer": "momentum"})


def test_a_regressor_takes_its_outputs_and_losses():
    fitted = _fit(FNNRegressor, output="tanh", loss="quadratic", metrics="mae", early_stopping=True, monitor="val_mae")
    assert fitted.out_activation_ == "tanh" and fitted.params_.spec.loss.name == "quadratic"
    assert "val_mae" in _record(fitted).metrics
