"""One model through every door: for every kind of network (softmax, binary sigmoid, several sigmoid scores,
regression of one and of several outputs, each hidden activation, standardised inputs and targets, class names,
float32 and float64), :class:`fnn.store.Model`, ``fnn.load`` of a saved file, ``fnn predict``, ONNX (run by
onnxruntime), safetensors and the scikit-learn estimators give the same predictions for the same inputs (zero
rows, one row, other dtypes, lists), at any batch size, and every door refuses the same bad input in the same
words, naming what the user typed."""

import json

import numpy as np
import pytest

import fnn
from fnn.cli import main
from fnn.data.transforms import Standardizer
from fnn.store import Model
from fnn.store.model import in_target_units

KINDS = {
    # name: (sizes, hidden activation, output, loss, dtype, class names, standardised inputs, standardised targets)
    "softmax-tanh-f32": ([3, 6, 3], "tanh", "softmax", None, np.float32, ("big", "mid", "small"), True, False),
    "sigmoid-relu-f64": ([3, 5, 1], "relu", "sigmoid", "binary_cross_entropy", np.float64, ("no", "yes"), True, False),
    "scores-leaky-f32": ([3, 4, 3], "leaky_relu:0.1", "sigmoid", "mse", np.float32, ("a", "b", "c"), False, False),
    "regression-sigmoid-f32": ([3, 5, 1], "sigmoid", "identity", "mse", np.float32, (), True, True),
    "regression3-tanh-f64": ([3, 4, 3], "tanh", "identity", "mse", np.float64, (), False, True),
    "softmax-indices-f64": ([3, 2, 4], "relu", "softmax", None, np.float64, (), False, False),
}
COLUMNS = ("a", "b", "c")
RAW = np.random.default_rng(7).normal(5.0, 10.0, size=(23, 3))


def make_model(kind):
    sizes, hidden, output, loss, dtype, names, inputs, targets = KINDS[kind]
    params = fnn.init_params(fnn.network(sizes, activation=hidden, output=output, loss=loss), seed=3, dtype=dtype)
    standardizer = Standardizer(np.array([5.0, 4.0, 6.0], dtype), np.array([10.0, 9.0, 11.0], dtype)) if inputs else None
    stats = Standardizer(np.full(sizes[-1], 1000.0), np.full(sizes[-1], 250.0)) if targets else None
    return Model(fnn.TrainState(params, None), {}, standardizer, names, COLUMNS, stats)


@pytest.fixture(scope="module", params=list(KINDS))
def model(request):
    return make_model(request.param)


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def npy_of(model, outputs):
    """What ``fnn predict --out x.npy`` writes for the network's ``outputs``: class indices, or the values."""
    if model.params.spec.is_classifier:
        return fnn.core.metrics.classes_from_outputs(outputs)
    return outputs[:, 0] if outputs.shape[1] == 1 else outputs


def forms(x):
    """The same rows as a user may hold them."""
    yield "float64", x
    yield "float32", x.astype(np.float32)
    yield "list", x.tolist()
    yield "table", dict(zip(COLUMNS, x.T))
    yield "table in another order", {name: x[:, COLUMNS.index(name)] for name in reversed(COLUMNS)}


@pytest.mark.parametrize("rows", [slice(0, 0), slice(0, 1), slice(None)], ids=["zero rows", "one row", "23 rows"])
def test_every_form_of_the_inputs_gives_the_same_bytes(model, rows):
    x = RAW[rows].astype(np.float32).astype(np.float64)  # exact in float32 too
    reference = model.outputs(x)
    assert reference.shape == (len(x), model.params.spec.sizes[-1]) and reference.dtype == model.params.dtype
    for name, form in forms(x):
        assert np.array_equal(model.outputs(form), reference), name
        assert np.array_equal(model.predict(form), model.predict(x)), name
    if len(x) == 1:  # one sample as a 1-D row
        assert np.array_equal(model.outputs(x[0].tolist()), reference)


def test_outputs_are_the_networks_on_the_standardised_features(model):
    features = RAW.astype(model.params.dtype)
    if model.standardizer is not None:
        features = ((features - model.standardizer.mean) / model.standardizer.scale).astype(model.params.dtype)
    expected = fnn.predict(in_target_units(model.params, model.targets), features)
    np.testing.assert_allclose(model.outputs(RAW), expected, rtol=1e-6 if model.params.dtype == np.float32 else 1e-12)
    if model.params.spec.is_classifier:
        probabilities = model.predict_proba(RAW)
        assert probabilities.shape == (len(RAW), max(model.params.spec.sizes[-1], 2))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
        classes = np.argmax(probabilities, axis=1)
        names = np.array(model.class_names) if model.class_names else np.arange(probabilities.shape[1])
        assert np.array_equal(model.predict(RAW), names[classes])
    else:
        assert model.predict(RAW).shape == ((len(RAW),) if model.params.spec.sizes[-1] == 1 else (len(RAW), 3))


def test_a_saved_model_and_a_checkpoint_give_the_same_bytes(model, tmp_path):
    fnn.save(tmp_path / "model.npz", model)
    model.save_checkpoint(tmp_path / "kept.npz")
    for loaded in (fnn.load(tmp_path / "model.npz"), fnn.store.load_model(tmp_path / "kept.npz")):
        assert np.array_equal(loaded.outputs(RAW), model.outputs(RAW))
        assert np.array_equal(loaded.predict(RAW), model.predict(RAW))


@pytest.mark.parametrize("rows", [slice(0, 0), slice(0, 1), slice(None)], ids=["zero rows", "one row", "23 rows"])
def test_fnn_predict_writes_what_the_model_predicts(model, tmp_path, capsys, rows):
    fnn.save(tmp_path / "model.npz", model)
    np.save(tmp_path / "x.npy", RAW[rows])
    code, _, err = run_cli(capsys, "predict", tmp_path / "model.npz", tmp_path / "x.npy", "--out", tmp_path / "p.json")
    assert code == 0, err
    records = json.loads((tmp_path / "p.json").read_text())
    assert len(records) == len(RAW[rows])
    if model.params.spec.is_classifier:
        assert [r["class"] for r in records] == [str(c) for c in model.predict(RAW[rows])]
        expected = model.predict_proba(RAW[rows]).astype(np.float64)
        probabilities = np.array([list(r["probabilities"].values()) for r in records]).reshape(expected.shape)
        assert np.array_equal(probabilities, expected)
    else:
        code, _, err = run_cli(capsys, "predict", tmp_path / "model.npz", tmp_path / "x.npy", "--out", tmp_path / "p.npy")
        assert code == 0, err
        assert np.array_equal(np.load(tmp_path / "p.npy"), model.predict(RAW[rows]))


def test_fnn_predict_values_is_the_one_row_the_model_predicts(model, tmp_path, capsys):
    fnn.save(tmp_path / "model.npz", model)
    row = RAW[4].astype(np.float32).astype(np.float64)
    code, _, err = run_cli(capsys, "predict", tmp_path / "model.npz", "--values", ",".join(map(repr, row.tolist())), "--out", tmp_path / "p.npy")
    assert code == 0, err
    assert np.array_equal(np.load(tmp_path / "p.npy"), npy_of(model, model.outputs(row.reshape(1, -1))))


@pytest.mark.parametrize("batch_size", [1, 2, 7, 1024])
def test_any_batch_size_gives_the_same_predictions(model, tmp_path, capsys, batch_size):
    """Labels are identical and outputs equal to the dtype's rounding at any batch size (BLAS's kernels round a row
    by where it falls in a block, so bytes may differ); the CLI's --batch-size is the model's ``batch_size``."""
    whole = model.outputs(RAW, batch_size=len(RAW))
    batched = model.outputs(RAW, batch_size=batch_size)
    np.testing.assert_allclose(batched, whole, rtol=1e-5 if model.params.dtype == np.float32 else 1e-12, atol=1e-6)
    if model.params.spec.is_classifier:
        assert np.array_equal(model.predict(RAW, batch_size=batch_size), model.predict(RAW, batch_size=len(RAW)))
    fnn.save(tmp_path / "model.npz", model)
    np.save(tmp_path / "x.npy", RAW)
    code, _, err = run_cli(capsys, "predict", tmp_path / "model.npz", tmp_path / "x.npy", "--out", tmp_path / "p.npy", "--batch-size", batch_size)
    assert code == 0, err
    assert np.array_equal(np.load(tmp_path / "p.npy"), npy_of(model, batched))


def test_evaluate_scores_alike_at_any_batch_size(tmp_path, capsys):
    model = make_model("softmax-tanh-f32")
    labels = np.array(model.class_names)[np.arange(len(RAW)) % 3]
    table = tmp_path / "holdout.csv"
    table.write_text("c,kind,a,b\n" + "".join(f"{r[2]!r},{k},{r[0]!r},{r[1]!r}\n" for r, k in zip(RAW.tolist(), labels)))
    model = Model(model.state, {"label": "kind"}, model.standardizer, model.class_names, COLUMNS)
    fnn.save(tmp_path / "model.npz", model)
    reference = model.evaluate(RAW, labels)
    assert reference["samples"] == len(RAW) and sum(map(sum, reference["confusion_matrix"])) == len(RAW)
    for batch_size in (1, 5, 1024):
        metrics = model.evaluate(str(table), batch_size=batch_size)
        assert {k: v for k, v in metrics.items() if k != "loss"} == {k: v for k, v in reference.items() if k != "loss"}
        assert metrics["loss"] == pytest.approx(reference["loss"], rel=1e-6)
        code, out, err = run_cli(capsys, "evaluate", tmp_path / "model.npz", "--data", f"csv:{table}", "--json", "--batch-size", batch_size)
        assert code == 0, err
        assert json.loads(out) == metrics


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize("value", ["0", "-3", "2.5", "many"])
def test_a_bad_batch_size_is_refused_in_the_training_flags_words(tmp_path, capsys, command, value):
    fnn.save(tmp_path / "model.npz", make_model("softmax-tanh-f32"))
    code, _, train_err = run_cli(capsys, "train", "--data", "iris", "--batch-size", value, "--out", tmp_path / "run")
    extra = ["--values", "1,2,3"] if command == "predict" else ["--data", "iris"]
    code, _, err = run_cli(capsys, command, tmp_path / "model.npz", *extra, "--batch-size", value)
    assert code == 2
    expected = train_err.strip().partition("error: ")[2]
    assert expected.startswith("--batch-size must be an int") and err.strip().endswith(expected), (err, train_err)


BAD = {
    # name: (the rows as fnn.predict's caller holds them, the message after the input's name)
    "wrong width": (np.zeros((2, 4)), "expected rows of 3 inputs (the model's); got an array of shape (2, 4)."),
    "one short row": ([1.0, 2.0], "expected rows of 3 inputs (the model's); got 2 values."),
    "NaN": (np.array([[1.0, np.nan, 2.0]]), "row 1, column 2 ('b'): expected a number; found nan."),
    "infinity": (np.array([[1.0, 2.0, -np.inf]]), "row 1, column 3 ('c'): expected a number; found -inf."),
    "beyond float32": (np.array([[1e300, 2.0, 3.0]]), "row 1, column 1 ('a'): expected a number that fits"),
}


@pytest.mark.parametrize("bad", list(BAD))
def test_every_door_refuses_bad_input_in_the_same_words(model, tmp_path, capsys, bad):
    rows, words = BAD[bad]
    if bad == "beyond float32" and model.params.dtype == np.float64:
        rows, words = np.array([[np.inf, 2.0, 3.0]]), "row 1, column 1 ('a'): expected a number; found inf."
    with pytest.raises(fnn.FnnInputError) as raised:
        model.predict(rows)
    assert str(raised.value).startswith(f"x: {words}")
    np.save(tmp_path / "bad.npy", np.asarray(rows))
    with pytest.raises(fnn.FnnInputError) as from_file:
        model.predict(str(tmp_path / "bad.npy"))
    assert str(from_file.value) == str(raised.value).replace("x: ", f"{tmp_path / 'bad.npy'}: ", 1)
    fnn.save(tmp_path / "model.npz", model)
    code, _, err = run_cli(capsys, "predict", tmp_path / "model.npz", tmp_path / "bad.npy")
    assert code == 2 and err.strip().endswith(f"error: {from_file.value}"), err
    if np.asarray(rows).ndim == 1 or len(rows) == 1:  # one sample: --values
        cells = ",".join(map(repr, np.asarray(rows, np.float64).ravel().tolist()))
        code, _, err = run_cli(capsys, "predict", tmp_path / "model.npz", "--values", cells)
        assert code == 2 and err.strip().endswith(str(raised.value).replace("x: ", "--values: ", 1)), err


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_a_bad_scale_is_refused_alike_by_the_model_and_the_command(tmp_path, capsys, scale):
    model = make_model("softmax-tanh-f32")
    fnn.save(tmp_path / "model.npz", model)
    with pytest.raises(fnn.FnnInputError, match=f"^scale: expected a positive number; got {scale}.$"):
        model.predict(RAW, scale=scale)
    code, _, err = run_cli(capsys, "predict", tmp_path / "model.npz", "--values", "1,2,3", "--scale", scale)
    assert code == 2 and err.strip().endswith(f"--scale: expected a positive number; got {scale}."), err


def test_a_missing_file_or_a_folder_is_refused_alike(tmp_path, capsys):
    model = make_model("softmax-tanh-f32")
    fnn.save(tmp_path / "model.npz", model)
    for given in (tmp_path / "nope.npy", tmp_path / "nope.csv", tmp_path):
        with pytest.raises(fnn.FnnInputError) as raised:
            model.predict(str(given))
        code, _, err = run_cli(capsys, "predict", tmp_path / "model.npz", given)
        assert code == 2 and str(raised.value).startswith(str(given)) and err.strip().endswith(str(raised.value)), err


def test_a_csv_with_text_labels_goes_through_every_door(tmp_path, capsys):
    """A real run on a CSV table with text labels and dropout: the model, ``fnn predict`` on a table whose columns
    are in another order and ``fnn evaluate`` agree."""
    x = RAW.astype(np.float32).astype(np.float64)
    kinds = np.where(x[:, 0] + x[:, 1] > 10, "big", "small")
    data = tmp_path / "train.csv"
    data.write_text("a,b,c,kind\n" + "".join(f"{r[0]!r},{r[1]!r},{r[2]!r},{k}\n" for r, k in zip(x.tolist(), kinds)))
    code, _, err = run_cli(capsys, "train", "--data", f"csv:{data}", "--label", "kind", "--hidden", "4", "--epochs", "2",
                           "--drop-rate", "0.5", "--activation", "tanh", "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    model = fnn.load(tmp_path / "run")
    assert model.class_names == ("big", "small") and model.columns == COLUMNS and model.standardizer is not None
    new = tmp_path / "new.csv"
    new.write_text("c,a,b\n" + "".join(f"{r[2]!r},{r[0]!r},{r[1]!r}\n" for r in x[:5].tolist()))
    code, _, err = run_cli(capsys, "predict", tmp_path / "run", new, "--out", tmp_path / "p.json")
    assert code == 0, err
    records = json.loads((tmp_path / "p.json").read_text())
    assert [r["class"] for r in records] == model.predict(x[:5]).tolist() == model.predict(str(new)).tolist()
    assert np.array_equal(np.array([list(r["probabilities"].values()) for r in records]), model.predict_proba(x[:5]).astype(np.float64))
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "run", "--data", f"csv:{data}", "--json")
    assert code == 0, err
    assert json.loads(out) == model.evaluate(str(data)) == model.evaluate(x, kinds)


def test_the_onnx_graph_gives_the_models_outputs(model, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is optional (the onnx extra's checks use it)")
    pytest.importorskip("onnx", reason="onnx is optional (fnn[onnx])")
    path = fnn.interop.to_onnx(model, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for rows in (slice(0, 0), slice(0, 1), slice(None)):
        outputs = session.run(None, {"input": RAW[rows].astype(model.params.dtype)})[0]
        expected = model.outputs(RAW[rows])
        assert outputs.dtype == expected.dtype and outputs.shape == expected.shape
        np.testing.assert_allclose(outputs, expected, rtol=1e-5 if model.params.dtype == np.float32 else 1e-12, atol=1e-6)
        if model.params.spec.is_classifier and len(expected):
            assert np.array_equal(np.argmax(outputs, axis=1), np.argmax(expected, axis=1))


def test_safetensors_carry_the_network_the_model_predicts_with(model, tmp_path):
    pytest.importorskip("safetensors", reason="safetensors is optional (fnn[safetensors])")
    path = fnn.interop.to_safetensors(model, tmp_path / "model.safetensors")
    params = fnn.interop.from_safetensors(path)
    assert params == in_target_units(model.params, model.targets)
    assert np.array_equal(fnn.predict(params, model.prepare_features(RAW)), model.outputs(RAW))


@pytest.mark.parametrize("output, n_classes", [("auto", 2), ("auto", 3), ("sigmoid", 3)])
def test_an_estimators_network_as_a_model_predicts_alike(output, n_classes):
    pytest.importorskip("sklearn", reason="scikit-learn is optional (fnn[sklearn])")
    from fnn.interop.sklearn import FNNClassifier

    x = RAW.astype(np.float32)
    labels = np.array(["ant", "bee", "cat"])[:n_classes][np.arange(len(x)) % n_classes]
    loss = "mse" if output == "sigmoid" else "auto"
    clf = FNNClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0, output=output, loss=loss).fit(x, labels)
    model = Model(clf.state_, {}, None, clf.classes_.tolist())
    assert np.array_equal(clf.predict(x), model.predict(x))
    np.testing.assert_allclose(clf.predict_proba(x), model.predict_proba(x), rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(x).sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("form", ["ints", "floats", "texts", "list"])
def test_classes_that_were_numbers_are_labels_by_value_at_every_door(tmp_path, capsys, form):
    """A table's classes 1, 2, 3 are the model's class names '1', '2', '3': labels given as numbers are those
    classes (not indices 1, 2, 3), as ``fnn evaluate`` reads the table's cells."""
    x = RAW.astype(np.float32).astype(np.float64)
    grades = 1 + np.arange(len(x)) % 3
    data = tmp_path / "grades.csv"
    data.write_text("a,b,c,grade\n" + "".join(f"{r[0]!r},{r[1]!r},{r[2]!r},{g}\n" for r, g in zip(x.tolist(), grades)))
    code, _, err = run_cli(capsys, "train", "--data", f"csv:{data}", "--label", "grade", "--task", "classification",
                           "--hidden", "4", "--epochs", "2", "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    model = fnn.load(tmp_path / "run")
    assert model.class_names == ("1", "2", "3")
    labels = {"ints": grades, "floats": grades.astype(np.float64), "texts": grades.astype(str), "list": grades.tolist()}[form]
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "run", "--data", f"csv:{data}", "--json")
    assert code == 0, err
    assert model.evaluate(x, labels) == json.loads(out) == model.evaluate(str(data))
    with pytest.raises(fnn.FnnInputError, match=r"^y: the class '0' is not one of the model's classes \['1', '2', '3'\]"):
        model.evaluate(x[:2], [0, 1])  # indices are not taken for classes named by numbers


def test_a_model_through_safetensors_predicts_raw_inputs_as_it_did(model, tmp_path):
    pytest.importorskip("safetensors", reason="safetensors is optional (fnn[safetensors])")
    path = fnn.interop.to_safetensors(model, tmp_path / "model.safetensors")
    imported = fnn.interop.model_from_safetensors(path)
    assert imported.class_names == model.class_names and imported.columns == model.columns
    for form in (RAW, RAW[:1].tolist(), RAW[:0], dict(zip(reversed(COLUMNS), RAW[:, ::-1].T))):
        assert np.array_equal(imported.outputs(form), model.outputs(form))
        assert np.array_equal(imported.predict(form), model.predict(form))
    with pytest.raises(fnn.FnnInputError) as raised:
        imported.predict(np.zeros((2, 4)))
    assert str(raised.value) == "x: expected rows of 3 inputs (the model's); got an array of shape (2, 4)."


def test_a_safetensors_file_with_foreign_metadata_is_refused_naming_it(tmp_path):
    safetensors = pytest.importorskip("safetensors.numpy", reason="safetensors is optional (fnn[safetensors])")
    path = fnn.interop.to_safetensors(make_model("softmax-tanh-f32"), tmp_path / "model.safetensors")
    tensors = safetensors.load_file(path)
    with safetensors.safe_open(path, framework="np") as handle:
        metadata = handle.metadata()
    for key, value in (("fnn.standardizer", '{"mean": [1], "scale": [1], "dtype": "int8"}'), ("fnn.class_names", "[1")):
        broken = tmp_path / f"broken-{key}.safetensors"
        safetensors.save_file(tensors, broken, metadata={**metadata, key: value})
        with pytest.raises(fnn.FnnInputError, match=f"^{broken}: its metadata is not what fnn writes"):
            fnn.interop.model_from_safetensors(broken)


def test_a_run_saved_elsewhere_evaluates_as_the_run_does(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    fnn.save(tmp_path / "iris-model.npz", fnn.load(tmp_path / "run"))
    scores = []
    for given in (tmp_path / "run", tmp_path / "run" / "checkpoint.npz", tmp_path / "iris-model.npz"):
        code, out, err = run_cli(capsys, "evaluate", given, "--json")
        assert code == 0, err
        scores.append(json.loads(out))
    assert scores[0] == scores[1] == scores[2] and scores[0]["samples"] == 30


TABLES = {
    # name: (a table, the message after "x: ")
    "ragged": ({"a": [1.0, 2.0], "b": [2.0], "c": [3.0]}, "its columns differ in length ('a': 2, 'b': 1, 'c': 1); expected one value per row in each."),
    "text": ({"a": ["1.5"], "b": [2.0], "c": [3.0]}, "column 'a': expected numbers, one per row; got <U3 values."),
    "nested": ({"a": [[1.0, 2.0]], "b": [[2.0, 3.0]], "c": [[3.0, 4.0]]}, "column 'a': expected numbers, one per row; got an array of shape (1, 2)."),
    "NaN": ({"a": [1.0], "b": [np.nan], "c": [3.0]}, "row 1, column 2 ('b'): expected a number; found nan."),
}


@pytest.mark.parametrize("table", list(TABLES))
def test_a_table_is_refused_as_an_array_is(table):
    """A table's columns are numbers as an array's are (text is read from a CSV file), of one length."""
    given, words = TABLES[table]
    with pytest.raises(fnn.FnnInputError) as raised:
        make_model("softmax-tanh-f32").predict(given)
    assert str(raised.value) == f"x: {words}"


def test_a_frame_with_numbered_columns_is_read_in_order_as_its_array():
    pandas = pytest.importorskip("pandas", reason="pandas is optional (the test extra installs it)")
    model = make_model("softmax-tanh-f32")
    assert np.array_equal(model.outputs(pandas.DataFrame(RAW)), model.outputs(RAW))
    named = pandas.DataFrame(RAW[:, ::-1], columns=list(reversed(COLUMNS)))
    assert np.array_equal(model.outputs(named), model.outputs(RAW))
    nullable = pandas.DataFrame({"a": pandas.array([1, 2], dtype="Int64"), "b": [1.0, 2.0], "c": [3.0, 4.0]})
    assert np.array_equal(model.outputs(nullable), model.outputs([[1.0, 1.0, 3.0], [2.0, 2.0, 4.0]]))


@pytest.mark.parametrize("given", ["missing", "empty folder", "not an archive"])
def test_every_command_refuses_a_bad_model_in_the_same_words(tmp_path, capsys, given):
    path = tmp_path / given
    if given == "empty folder":
        path.mkdir()
    elif given == "not an archive":
        path.write_text("hello\n")
    messages = set()
    for command in (["predict", path, "--values", "1,2,3"], ["evaluate", path], ["export", path, "--out", tmp_path / "m.onnx"]):
        code, _, err = run_cli(capsys, *command)
        assert code == 2 and f"error: model {path}: " in err, err
        messages.add(err.strip().partition("error: ")[2])
    assert len(messages) == 1, messages
    assert not (tmp_path / "m.onnx").exists()


def test_a_data_set_of_another_width_is_refused_as_an_array_is():
    model = make_model("softmax-tanh-f32")
    digits = fnn.data.digits()
    with pytest.raises(fnn.FnnInputError) as from_data:
        model.evaluate(digits, source="--data digits")
    with pytest.raises(fnn.FnnInputError) as from_array:
        model.evaluate(digits.features, digits.labels, source="--data digits")
    assert str(from_data.value) == str(from_array.value) == "--data digits: expected rows of 3 inputs (the model's); got an array of shape (1797, 64)."


@pytest.mark.parametrize("method", ["outputs", "predict", "predict_proba", "evaluate"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True, "many"])
def test_a_bad_batch_size_keyword_is_refused_as_the_flag_is(tmp_path, capsys, method, value):
    model = make_model("softmax-tanh-f32")
    fnn.save(tmp_path / "model.npz", model)
    _, _, flag_err = run_cli(capsys, "predict", tmp_path / "model.npz", "--values", "1,2,3", "--batch-size", value)
    expected = flag_err.strip().partition("--batch-size must be ")[2].rpartition(";")[0]
    assert expected.startswith("an int"), flag_err
    arguments = (RAW, np.zeros(len(RAW), np.int64)) if method == "evaluate" else (RAW,)
    with pytest.raises(fnn.FnnInputError, match=rf"^The 'batch_size' argument of fnn\.store\.Model\.{method} must be {expected}\. Got"):
        getattr(model, method)(*arguments, batch_size=value)


def test_an_estimators_regression_as_a_model_predicts_alike():
    pytest.importorskip("sklearn", reason="scikit-learn is optional (fnn[sklearn])")
    from fnn.interop.sklearn import FNNRegressor

    x = RAW.astype(np.float32)
    for y in (x[:, 0] * 2.0 - x[:, 1], np.column_stack([x[:, 0], x[:, 1] * x[:, 2]])):
        reg = FNNRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0, activation="tanh").fit(x, y)
        model = Model(reg.state_)
        assert reg.predict(x).shape == model.predict(x).shape == y.shape
        assert np.array_equal(reg.predict(x), model.predict(x).astype(np.float64))
