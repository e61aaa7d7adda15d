"""The scikit-learn estimators: sklearn's own checks, the meta-estimators, Dask, seeding and fnn's records."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

import fnn
from fnn.interop.sklearn import FNNClassifier, FNNRegressor

# Small, fast instances: sklearn's checks fit many times, and 5 epochs at lr 0.01 already pass its accuracy and R^2
# thresholds. None is expected to fail.
CHECKED = [
    FNNClassifier(hidden_layer_sizes=(16,), max_iter=5, learning_rate_init=0.01, random_state=0),
    FNNRegressor(hidden_layer_sizes=(16,), max_iter=5, learning_rate_init=0.01, random_state=0),
    # The other path through fit: a held-out validation part, early stopping, float64.
    FNNClassifier(
        hidden_layer_sizes=(16,), max_iter=5, learning_rate_init=0.01, early_stopping=True, n_iter_no_change=2, dtype="float64",
        random_state=0,
    ),
    FNNRegressor(hidden_layer_sizes=(16,), max_iter=5, learning_rate_init=0.01, early_stopping=True, n_iter_no_change=2, random_state=0),
    # Two hidden layers, one activation each, dropout, sgd without shuffling.
    FNNClassifier(
        hidden_layer_sizes=(16, 8), activation=["tanh", "relu"], drop_rate=0.1, optimizer="sgd", learning_rate_init=0.1,
        shuffle=False, max_iter=5, dtype="float64", random_state=0,
    ),
    # The rest of the table: a softmax over two classes, He initialisation, SGD with momentum on a cosine schedule,
    # clipping, an L2 penalty, balanced class weights, chosen metrics on the training data, diagnostics, one thread.
    FNNClassifier(
        hidden_layer_sizes=(16,), output="softmax", init="he_uniform", bias_init="zeros", optimizer="sgd", momentum=0.9,
        learning_rate_init=0.05, learning_rate="cosine", clip_norm=5.0, alpha=1e-4, class_weight="balanced",
        metrics="accuracy,log_loss", train_metrics=True, diagnostics=True, max_iter=5, threads=1, dtype="float64",
        random_state=0,
    ),
    # A bounded output and the quadratic loss, adamw's weight decay, early stopping on a chosen metric.
    FNNRegressor(
        hidden_layer_sizes=(16,), output="tanh", loss="quadratic", optimizer="adamw", weight_decay=0.001,
        learning_rate_init=0.03, learning_rate="linear_warmup:1+constant", early_stopping=True, n_iter_no_change=2,
        metrics="mae", monitor="val_mae", max_iter=5, random_state=0,
    ),
]

# Left out by name, since each would only skip itself: check_array_api_input (fnn computes in NumPy and supports no
# other array-API namespace; the check runs only with SCIPY_ARRAY_API=1 set before scipy is first imported) and the
# multilabel decision_function check (fnn's classifiers have no decision_function, as MLPClassifier has none).
NOT_CHECKED = {"check_array_api_input", "check_classifiers_multilabel_output_format_decision_function"}


def check_name(check):
    return getattr(check, "func", check).__name__


# Integer weights equal repeated rows only to round-off and only where the rows do not decide anything else: in
# float32 (CHECKED[0]) the round-off is above the check's rtol of 1e-7, and with early stopping (CHECKED[2]) the
# held-out part is drawn from the rows, so repeating them changes it. Both must fail (strict), and the float64,
# full-batch instances of test_sample_weight_checks_pass_full_batch_float64 pass the same check.
# check_class_weight_classifiers passes: it sets max_iter=1000 itself, now that the parameter has scikit-learn's name.
EXPECTED_FAILURES = {
    (0, "check_sample_weight_equivalence_on_dense_data"): "float32 round-off is above the check's rtol",
    (2, "check_sample_weight_equivalence_on_dense_data"): "the validation part is drawn from the (repeated) rows",
    (0, "check_sample_weight_equivalence_on_sparse_data"): "float32 round-off is above the check's rtol",
    (2, "check_sample_weight_equivalence_on_sparse_data"): "the validation part is drawn from the (repeated) rows",
    (3, "check_sample_weight_equivalence_on_dense_data"): "the validation part is drawn from the (repeated) rows",
    (3, "check_sample_weight_equivalence_on_sparse_data"): "the validation part is drawn from the (repeated) rows",
    (4, "check_sample_weight_equivalence_on_dense_data"): "mini-batches and dropout masks follow the rows, so repeating rows changes them",
    (4, "check_sample_weight_equivalence_on_sparse_data"): "mini-batches and dropout masks follow the rows, so repeating rows changes them",
    (5, "check_sample_weight_equivalence_on_dense_data"): "mini-batches follow the rows, so repeating rows changes them",
    (5, "check_sample_weight_equivalence_on_sparse_data"): "mini-batches follow the rows, so repeating rows changes them",
    (6, "check_sample_weight_equivalence_on_dense_data"): "the validation part is drawn from the (repeated) rows",
    (6, "check_sample_weight_equivalence_on_sparse_data"): "the validation part is drawn from the (repeated) rows",
    **{
        (5, f"check_classifiers_multilabel_{name}"): "output='softmax' is refused for multilabel targets: softmax scores "
        "sum to 1, which labels that are not exclusive do not (output auto or sigmoid gives one sigmoid a label)"
        for name in ("representation_invariance", "output_format_predict", "output_format_predict_proba")
    },
}


def _marks(index, check):
    reason = EXPECTED_FAILURES.get((index, check_name(check)))
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


SKLEARN_CHECKS = [
    pytest.param(estimator, check, id=f"{index}-{type(estimator).__name__}-{check_name(check)}", marks=_marks(index, check))
    for index, instance in enumerate(CHECKED)
    for estimator, check in estimator_checks_generator(instance, mark="xfail")
    if check_name(check) not in NOT_CHECKED
]

SAMPLE_WEIGHT_CHECKS = (
    "check_sample_weights_pandas_series", "check_sample_weights_not_an_array", "check_sample_weights_list",
    "check_sample_weights_shape", "check_sample_weight_equivalence_on_dense_data", "check_sample_weights_not_overwritten",
)


@pytest.mark.parametrize("estimator_type", [FNNClassifier, FNNRegressor])
@pytest.mark.parametrize("name", SAMPLE_WEIGHT_CHECKS)
def test_sample_weight_checks_pass_full_batch_float64(estimator_type, name):
    from sklearn.utils import estimator_checks

    estimator = estimator_type(hidden_layer_sizes=(8,), batch_size=10_000, max_iter=20, learning_rate_init=0.01, dtype="float64", random_state=0)
    getattr(estimator_checks, name)(estimator_type.__name__, estimator)


def test_class_weight_check_passes_when_trained_enough():
    from sklearn.utils.estimator_checks import check_class_weight_classifiers

    check_class_weight_classifiers("FNNClassifier", FNNClassifier(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01, random_state=0))


def test_class_weight_by_label_and_balanced():
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    y = np.array(["no", "no", "no", "no", "yes"])
    by_label = FNNClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0, class_weight={"no": 1, "yes": 4}).fit(x, y)
    balanced = FNNClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0, class_weight="balanced").fit(x, y)
    repeated = FNNClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(x, y, sample_weight=[1, 1, 1, 1, 4])
    assert by_label.params_ == repeated.params_  # class weights are the same per-sample weights
    # balanced: 5/(2*4) and 5/(2*1), the same 1:4 ratio; the weighted mean does not see the scale
    assert balanced.history_[-1].weighted and by_label.history_[-1].weighted
    for a, b in zip(balanced.params_.arrays(), by_label.params_.arrays()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    with pytest.raises(fnn.FnnInputError, match=r"'class_weight' parameter of FNNClassifier must be .* among classes_ \['no', 'yes'\]\. Got \{'maybe': 2\}"):
        FNNClassifier(class_weight={"maybe": 2}).fit(x, y)
    with pytest.raises(fnn.FnnInputError, match="class_weight"):
        FNNRegressor(class_weight="balanced").fit(x, x[:, 0])


def test_every_sklearn_check_but_the_array_api_one_is_run():
    names = {check_name(param.values[1]) for param in SKLEARN_CHECKS}
    assert len(names) > 40 and not names & NOT_CHECKED and "check_estimators_pickle" in names


@pytest.mark.parametrize("estimator, check", SKLEARN_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def iris():
    return fnn.data.iris().as_tuple()


def small_classifier(**options):
    return FNNClassifier(**{"hidden_layer_sizes": (16,), "learning_rate_init": 0.01, "max_iter": 40, "random_state": 0, **options})


def test_pipeline_with_standard_scaler_on_digits():
    train, test = fnn.data.stratified_split(fnn.data.digits(), 0.25, seed=0)
    model = make_pipeline(StandardScaler(), FNNClassifier(hidden_layer_sizes=(64,), max_iter=15, random_state=0))
    model.fit(*train.as_tuple())
    assert model.score(*test.as_tuple()) > 0.93


def test_cross_val_score_on_digits():
    x, y = fnn.data.digits().as_tuple()
    scores = cross_val_score(FNNClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=10, random_state=0), x, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


def test_grid_search_in_two_processes_matches_one_process():
    x, y = iris()
    grid = {"hidden_layer_sizes": [(8,), (16,)], "learning_rate_init": [0.003, 0.03]}
    pipeline = make_pipeline(StandardScaler(), small_classifier())
    grid = {f"fnnclassifier__{key}": values for key, values in grid.items()}
    parallel = GridSearchCV(pipeline, grid, cv=3, n_jobs=2).fit(x, y)
    serial = GridSearchCV(pipeline, grid, cv=3, n_jobs=1).fit(x, y)
    assert parallel.best_score_ > 0.9
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    assert parallel.best_params_ == serial.best_params_


def test_dask_joblib_backend_on_a_local_cluster():
    distributed = pytest.importorskip("dask.distributed")
    x, y = iris()
    model = make_pipeline(StandardScaler(), small_classifier())
    expected = cross_val_score(model, x, y, cv=4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with distributed.Client(cluster), joblib.parallel_backend("dask"):
            scores = cross_val_score(model, x, y, cv=4, n_jobs=2)
    np.testing.assert_array_equal(scores, expected)
    assert scores.mean() > 0.9


def test_same_random_state_same_bytes_and_another_differs():
    x, y = iris()
    first = small_classifier(random_state=7).fit(x, y)
    again = small_classifier(random_state=7).fit(x, y)
    other = small_classifier(random_state=8).fit(x, y)
    assert first.predict_proba(x).tobytes() == again.predict_proba(x).tobytes()
    assert first.predict(x).tobytes() == again.predict(x).tobytes()
    assert first.predict_proba(x).tobytes() != other.predict_proba(x).tobytes()


def test_random_state_none_draws_a_seed_that_repeats_the_fit():
    x, y = iris()
    free = [small_classifier(random_state=None, max_iter=3).fit(x, y) for _ in range(2)]
    assert free[0].seed_ != free[1].seed_
    repeated = small_classifier(random_state=free[0].seed_, max_iter=3).fit(x, y)
    assert repeated.predict_proba(x).tobytes() == free[0].predict_proba(x).tobytes()


def test_a_random_state_instance_gives_one_drawn_seed():
    x, y = iris()
    a = small_classifier(random_state=np.random.RandomState(3), max_iter=2).fit(x, y)
    b = small_classifier(random_state=np.random.RandomState(3), max_iter=2).fit(x, y)
    assert a.seed_ == b.seed_ == np.random.RandomState(3).randint(np.iinfo(np.int32).max)
    assert a.predict_proba(x).tobytes() == b.predict_proba(x).tobytes()


def test_string_labels_binary_problem_and_dataframe_input():
    x, y = iris()
    keep = y > 0  # versicolor vs virginica: binary, not linearly separable
    frame = pd.DataFrame(x[keep], columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
    names = np.where(y[keep] == 1, "versicolor", "virginica")
    model = make_pipeline(StandardScaler(), small_classifier(max_iter=60)).fit(frame, names)
    clf = model[-1]
    assert clf.classes_.tolist() == ["versicolor", "virginica"]
    assert clf.params_.spec.sizes == (4, 16, 1) and clf.params_.spec.output_activation.name == "sigmoid"
    assert model.score(frame, names) > 0.9
    proba = model.predict_proba(frame)
    assert proba.shape == (len(frame), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert set(model.predict(frame)) <= {"versicolor", "virginica"}
    direct = small_classifier().fit(frame, names)
    assert direct.feature_names_in_.tolist() == list(frame.columns) and direct.n_features_in_ == 4


def test_lists_float32_and_float64_inputs_train_the_same_network():
    x, y = iris()
    from_32 = small_classifier(max_iter=5).fit(x, y).predict_proba(x)
    from_64 = small_classifier(max_iter=5).fit(x.astype(np.float64), y).predict_proba(x.astype(np.float64))
    from_list = small_classifier(max_iter=5).fit(x.tolist(), y.tolist()).predict_proba(x.tolist())
    assert from_32.tobytes() == from_64.tobytes() == from_list.tobytes()


def test_fitted_records_are_fnns_own():
    x, y = iris()
    clf = small_classifier(max_iter=4, dtype="float64").fit(x, y)
    assert isinstance(clf.state_, fnn.TrainState) and isinstance(clf.history_, fnn.History)
    assert len(clf.history_) == clf.n_iter_ == 4 and clf.params_.dtype == np.float64
    np.testing.assert_array_equal(clf.predict_proba(x), fnn.predict(clf.params_, x.astype(np.float64)))


def test_partial_fit_epochs_equal_one_fit_of_as_many_epochs():
    x, y = iris()
    stepped = small_classifier()
    for _ in range(3):
        stepped.partial_fit(x, y, classes=[0, 1, 2])
    whole = small_classifier(max_iter=3).fit(x, y)
    assert stepped.params_ == whole.params_ and stepped.n_iter_ == 3
    with pytest.raises(fnn.FnnInputError, match="classes="):
        small_classifier().partial_fit(x, y)


def test_warm_start_continues_where_the_last_fit_stopped():
    x, y = iris()
    warm = small_classifier(max_iter=2, warm_start=True).fit(x, y).fit(x, y)
    assert warm.params_ == small_classifier(max_iter=4).fit(x, y).params_ and len(warm.history_) == 4
    for change in ({"hidden_layer_sizes": (8,)}, {"init": "he_uniform"}, {"output": "sigmoid"}, {"dtype": "float64"}):
        with pytest.raises(fnn.FnnInputError, match="hidden_layer_sizes, activation, output, loss, init, bias_init and dtype must stay"):
            small_classifier(max_iter=1, warm_start=True).fit(x, y).set_params(**change).fit(x, y)
    cold = small_classifier(max_iter=2).fit(x, y).fit(x, y)
    assert cold.params_ == small_classifier(max_iter=2).fit(x, y).params_


def test_one_activation_per_hidden_layer():
    x, y = iris()
    clf = small_classifier(hidden_layer_sizes=(8, 6), activation=["tanh", fnn.get_activation("elu:0.5")], max_iter=1)
    names = [layer.activation.name for layer in clf.fit(x, y).params_.spec.layers]
    assert names == ["tanh", "elu:0.5", "softmax"]


def test_dropout_trains_another_network_that_still_learns():
    x, y = iris()
    plain = small_classifier(max_iter=60).fit(x, y)
    dropped = small_classifier(max_iter=60, drop_rate=0.2).fit(x, y)
    assert dropped.params_ != plain.params_ and dropped.score(x, y) > 0.85


def test_early_stopping_keeps_the_best_epoch():
    x, y = iris()
    clf = small_classifier(max_iter=300, learning_rate_init=0.05, early_stopping=True, n_iter_no_change=3, validation_fraction=0.2).fit(x, y)
    losses = clf.history_.column("val_loss")
    assert clf.n_iter_ < 300 and losses[-1] == min(losses)


def test_regressor_single_and_multiple_outputs():
    data = fnn.data.noisy_sine(300, noise=0.05, seed=0)
    x, y = data.features, data.labels
    reg = FNNRegressor(hidden_layer_sizes=(32,), activation="tanh", learning_rate_init=0.01, max_iter=150, random_state=0)
    reg.fit(x, y[:, 0])
    predicted = reg.predict(x)
    assert predicted.shape == (300,) and predicted.dtype == np.float64 and reg.score(x, y[:, 0]) > 0.9
    two = FNNRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(x, np.hstack([y, -y]))
    assert two.predict(x).shape == (300, 2) and two.params_.spec.output_activation.name == "identity"


def test_fitted_estimators_pickle_and_predict_the_same():
    x, y = iris()
    clf = small_classifier(max_iter=3).fit(x, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert copy.params_ == clf.params_ and copy.state_.opt_state == clf.state_.opt_state
    assert copy.predict_proba(x).tobytes() == clf.predict_proba(x).tobytes()
    copy.set_params(warm_start=True).fit(x, y)  # the restored optimiser state trains on
    assert copy.n_iter_ == 6


@pytest.mark.parametrize(
    "options, named",
    [
        ({"max_iter": -1}, "'max_iter' parameter of FNNClassifier"),
        ({"drop_rate": 1.0}, "'drop_rate' parameter"),
        ({"hidden_layer_sizes": (4, 0)}, "'hidden_layer_sizes' parameter"),
        ({"hidden_layer_sizes": (), "drop_rate": 0.1}, "'drop_rate' parameter.*without hidden layers"),
        ({"early_stopping": True, "validation_fraction": 0.0}, "'validation_fraction' parameter"),
        ({"random_state": "seed"}, "'random_state' parameter"),
        ({"optimizer": fnn.optim.adam()}, "'learning_rate_init' parameter"),
        ({"dtype": "int8"}, "'dtype'"),
        ({"learning_rate_init": -1.0}, "'learning_rate_init' parameter of FNNClassifier.*-1.0"),
        ({"learning_rate_init": "big"}, "'learning_rate_init' parameter of FNNClassifier.*'big'"),
        ({"optimizer": "adamax"}, "'optimizer' parameter of FNNClassifier.*'adamax'"),
        ({"activation": "relux"}, "'activation' parameter of FNNClassifier must be a known activation name"),
        ({"activation": ["relu", "tanh"]}, "'activation' parameter of FNNClassifier.*a list of 1"),
    ],
)
def test_bad_hyperparameters_are_named(options, named):
    x, y = iris()
    with pytest.raises(fnn.FnnInputError, match=named):
        small_classifier(**options).fit(x, y)


def test_one_class_and_multioutput_targets_are_refused():
    x, y = iris()
    with pytest.raises(ValueError, match="at least 2 classes"):
        small_classifier().fit(x, np.zeros(len(x), int))
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        small_classifier().fit(x, np.c_[y, y])


def test_multilabel_targets_as_mlpclassifier_takes_them():
    x, y = iris()
    labels = np.c_[y == 0, y != 1, x[:, 0] > 5.8].astype(int)  # three overlapping labels
    clf = small_classifier(max_iter=150).fit(x, labels)
    assert clf.classes_.tolist() == [0, 1, 2] and clf.params_.spec.output_activation.name == "sigmoid"
    assert clf.predict_proba(x).shape == (150, 3) and clf.predict(x).shape == (150, 3)
    assert set(np.unique(clf.predict(x))) <= {0, 1} and clf.score(x, labels) > 0.7  # every label of a row right
    with pytest.raises(fnn.FnnInputError, match="fitted on 3 labels"):
        clf.set_params(warm_start=True).fit(x, labels[:, :2])
    with pytest.raises(fnn.FnnInputError, match="partial_fit takes one label per sample"):
        small_classifier().partial_fit(x, labels, classes=[0, 1, 2])


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine"])
def test_default_classifier_is_as_accurate_as_mlpclassifiers_default(name):
    """Held-out accuracy of the defaults behind a StandardScaler (both measured here; fnn's within 2 points)."""
    from sklearn.datasets import load_breast_cancer, load_wine
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    loaders = {
        "digits": lambda: fnn.data.digits().as_tuple(),
        "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
        "wine": lambda: load_wine(return_X_y=True),
    }
    x, y = loaders[name]()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    scores = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for estimator in (MLPClassifier(random_state=0), FNNClassifier(random_state=0)):
            model = make_pipeline(StandardScaler(), estimator).fit(x_train, y_train)
            scores[type(estimator).__name__] = model.score(x_test, y_test)
    assert scores["FNNClassifier"] >= scores["MLPClassifier"] - 0.02, scores
    assert scores["FNNClassifier"] > {"digits": 0.96, "breast_cancer": 0.94, "wine": 0.95}[name], scores


def test_predict_proba_columns_follow_classes_():
    x, y = iris()
    names = np.array(["virginica", "setosa", "versicolor"])[y]  # not in sorted order
    clf = small_classifier(max_iter=60).fit(x, names)
    proba = clf.predict_proba(x)
    assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(x))
    for column, label in enumerate(clf.classes_):
        assert proba[names == label, column].mean() > 0.6


def test_mlpclassifiers_fitted_attribute_names():
    x, y = iris()
    clf = small_classifier(max_iter=6).fit(x, y)
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(x, y)
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_iter_"):
        assert getattr(clf, name) == getattr(mlp, name), name
    assert [w.shape for w in clf.coefs_] == [w.shape for w in mlp.coefs_]
    assert [b.shape for b in clf.intercepts_] == [b.shape for b in mlp.intercepts_]
    assert clf.t_ == mlp.t_ == 6 * len(x)
    assert clf.loss_curve_ == [record.loss for record in clf.history_] and len(clf.loss_curve_) == 6
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.validation_scores_ is None is clf.best_validation_score_
    assert np.array_equal(clf.coefs_[0], clf.params_.layers[0].w)
    binary = small_classifier(max_iter=2).fit(x, y == 0)
    assert (binary.n_outputs_, binary.out_activation_) == (1, "logistic")
    regressor = FNNRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(x, x[:, 0])
    assert (regressor.n_outputs_, regressor.out_activation_, regressor.n_layers_) == (1, "identity", 3)


def test_early_stopping_scores_as_mlpclassifier_names_them():
    x, y = iris()
    clf = small_classifier(max_iter=8, early_stopping=True, n_iter_no_change=3).fit(x, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ and all(0 <= score <= 1 for score in scores)
    assert clf.best_validation_score_ == max(scores) and clf.best_loss_ is None
    held_out = len(x) - clf.t_ // clf.n_iter_
    assert 0 < held_out < len(x) / 5
    regressor = FNNRegressor(hidden_layer_sizes=(8,), max_iter=4, early_stopping=True, random_state=0).fit(x, x[:, 0])
    assert regressor.validation_scores_ == [record.val_r2 for record in regressor.history_]


def test_predict_log_proba_is_the_log_of_predict_proba():
    x, y = iris()
    clf = small_classifier(max_iter=3).fit(x, y)
    assert np.allclose(np.exp(clf.predict_log_proba(x)), clf.predict_proba(x))
    assert clf.predict_log_proba(x).shape == (len(x), 3) and (clf.predict_log_proba(x) <= 0).all()


@pytest.mark.parametrize("kind", ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array"])
def test_sparse_input_trains_as_its_dense_equal(kind):
    from scipy import sparse

    x, y = iris()
    matrix = getattr(sparse, kind)(x)
    dense = small_classifier(max_iter=3).fit(x, y)
    fitted = small_classifier(max_iter=3).fit(matrix, y)
    assert fitted.params_ == dense.params_
    assert np.array_equal(fitted.predict_proba(matrix), dense.predict_proba(x))
    regressor = FNNRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    assert np.array_equal(regressor.fit(matrix, x[:, 0]).predict(matrix), regressor.fit(x, x[:, 0]).predict(x))


def test_one_hot_encoded_text_categories_train_through_a_pipeline():
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], size=(120, 1))
    y = (colour[:, 0] == "red").astype(int)
    model = make_pipeline(OneHotEncoder(), FNNClassifier(hidden_layer_sizes=(4,), learning_rate_init=0.05, max_iter=30, random_state=0))
    assert model.fit(colour, y).score(colour, y) == 1.0


@pytest.mark.parametrize("estimator", [FNNRegressor, FNNClassifier])
def test_too_small_for_early_stopping_is_refused_as_mlp_refuses_it(estimator):
    theirs = {FNNRegressor: MLPRegressor, FNNClassifier: MLPClassifier}[estimator]
    with pytest.raises(ValueError, match="n_samples=1"):
        theirs(early_stopping=True).fit(np.ones((1, 2)), [0])
    ours = r"n_samples=1 .* the validation set is too small" if estimator is FNNRegressor else "got 1 class"
    with pytest.raises(ValueError, match=ours):
        estimator(early_stopping=True).fit(np.ones((1, 2)), [0])
    with pytest.raises(ValueError, match=r"n_samples=3 .* the validation set is too small"):
        FNNClassifier(early_stopping=True, random_state=0).fit(np.ones((3, 2)), [0, 1, 2])  # one row a class
