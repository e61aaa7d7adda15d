"""One reading of a CSV table at every door: a table with no data rows (however its header is written) is an
empty answer where predicting and an error where training or scoring, and a table that is not UTF-8 text is
refused in the same words by the header reader of ``predict`` and by the table reader of training."""

import gzip

import numpy as np
import pytest

import fnn
from fnn.cli import main
from fnn.data.csv import load_csv, read_table
from fnn.store import Model

HEADERS = {  # a header row with no data rows, as files write it
    "lf": b"a,b,label\n",
    "crlf": b"a,b,label\r\n",
    "no newline": b"a,b,label",
    "bom": b"\xef\xbb\xbfa,b,label\n",
    "quoted": b'"a","b","label"\n',
    "padded": b" a , b ,label \n",
    "blank lines after": b"a,b,label\n\n\n",
    "reordered": b"label,b,a\n",
}
NOT_UTF8 = {  # (bytes, the line and byte named)
    "utf-16": ("a,b,label\n1,2,cat\n".encode("utf-16"), 1, "0xff"),
    "latin-1 in the header": ("a,b,\xe9tiquette\n1,2,cat\n".encode("latin-1"), 1, "0xe9"),
    "latin-1 in a label": ("a,b,label\n1,2,cat\n3,4,caf\xe9\n".encode("latin-1"), 3, "0xe9"),
    "cp1252 after crlf": ("a,b,label\r\n1,2,cat\r\n3,4,\u201cdog\u201d\r\n".encode("cp1252"), 3, "0x93"),
}


def model():
    params = fnn.init_params(fnn.network([2, 3, 2]), seed=0)
    return Model(fnn.TrainState(params, None), {"label": "label"}, class_names=("cat", "dog"), columns=("a", "b"))


def written(tmp_path, data, name="t.csv"):
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("name", [".csv", ".csv.gz"])
@pytest.mark.parametrize("header", list(HEADERS))
def test_a_header_only_table_predicts_nothing_and_trains_on_nothing(tmp_path, capsys, header, name):
    path = written(tmp_path, HEADERS[header], "t" + name)
    names, features, cells, _ = read_table(path, "label")
    assert sorted(names) == ["a", "b", "label"] and features.shape == (0, 2) and cells == []
    assert model().predict(path).shape == (0,)
    assert model().predict_proba(path).shape == (0, 2)
    fnn.save(tmp_path / "model.npz", model())
    assert main(["predict", str(tmp_path / "model.npz"), str(path)]) == 0
    assert capsys.readouterr().out == "index,class,class_index,p_cat,p_dog\n"
    with pytest.raises(fnn.FnnInputError, match=r"has no rows; expected at least one sample to score"):
        model().evaluate(path)
    with pytest.raises(fnn.FnnInputError, match=rf"t{name}: expected data rows after the header; found none"):
        load_csv(path)
    assert main(["train", "--data", f"csv:{path}", "--epochs", "1", "--out", str(tmp_path / "r")]) != 0
    assert "expected data rows after the header; found none" in capsys.readouterr().err


@pytest.mark.parametrize("case", list(NOT_UTF8))
def test_a_table_that_is_not_utf8_is_refused_alike_at_every_door(tmp_path, capsys, case):
    data, line, byte = NOT_UTF8[case]
    path = written(tmp_path, data)
    expected = f"t.csv, line {line}: expected UTF-8 text; found the byte {byte}, which is not UTF-8 here (save the file as UTF-8)."
    for door in (lambda: load_csv(path), lambda: read_table(path), lambda: model().predict(path), lambda: model().evaluate(path)):
        with pytest.raises(fnn.FnnInputError) as caught:
            door()
        assert str(caught.value).endswith(expected)
    fnn.save(tmp_path / "model.npz", model())
    assert main(["predict", str(tmp_path / "model.npz"), str(path)]) != 0
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize("header", ["a,a,label", "a,b,a,label", '"a",a ,label', "label,x,label"])
def test_a_header_that_repeats_a_name_is_refused_before_training(tmp_path, header):
    # a model's inputs are matched by name, so a model trained on repeated names could never read its own table
    path = written(tmp_path, f"{header}\n1,2,3{',4' if header.count(',') == 3 else ''}\n".encode())
    with pytest.raises(fnn.FnnInputError, match=r"t.csv, line 1: the header repeats the column name\(s\) \['(a|label)'\]; expected distinct names"):
        load_csv(path, label=-1)


@pytest.mark.parametrize("given", ["csv:{name}", "csv:./{name}"])
@pytest.mark.parametrize("content, said", [
    (b"a,b,label\n1,,cat\n", ", line 2, column 2 ('b'): expected a number; found ''"),
    (b"", ": expected a CSV table (UTF-8, comma-separated) starting with a header or a row; found an empty file."),
    (b"a,b,label\n1,2,cat\n\xff\n", ", line 3: expected UTF-8 text; found the byte 0xff"),
])
def test_fnn_evaluate_names_the_data_as_typed_once(tmp_path, capsys, monkeypatch, given, content, said):
    monkeypatch.chdir(tmp_path)
    written(tmp_path, content, "held out.csv")
    fnn.save(tmp_path / "model.npz", model())
    typed = given.format(name="held out.csv")
    assert main(["evaluate", "model.npz", "--data", typed]) != 0
    err = capsys.readouterr().err
    assert f"--data {typed}{said}" in err and str(tmp_path) not in err


@pytest.mark.parametrize("form", [list, np.array, lambda v: np.array(v, np.float32), lambda v: __import__("pandas").Series(v)])
@pytest.mark.parametrize("labels, found", [([0, 1.5], "1.5"), ([0.25, 1.0], "0.25"), ([1.0, -0.5], "-0.5")])
def test_labels_that_are_not_whole_are_named_as_given(form, labels, found):
    with pytest.raises(fnn.FnnInputError, match=rf"^y: expected the model's classes \['cat', 'dog'\] or their indices 0\.\.1; found {found}, not a whole number\.$"):
        model().evaluate([[1.0, 2.0], [3.0, 4.0]], form(labels))


@pytest.mark.parametrize("name", ["x.npz", "x.JSON", "x.txt", "x.tsv", "x.xlsx", "x.parquet", "x.pkl"])
def test_a_file_of_no_input_format_is_named_as_such_not_read_as_idx(tmp_path, capsys, name):
    path = written(tmp_path, b"PK\x03\x04 whatever", name)
    expected = f"{name}: is a .{name.split('.')[-1].lower()} file; expected a .csv, .npy or IDX file of inputs"
    for door in (lambda: model().predict(path), lambda: model().evaluate(path, ["cat"])):
        with pytest.raises(fnn.FnnInputError, match=expected):
            door()
    fnn.save(tmp_path / "model.npz", model())
    assert main(["predict", str(tmp_path / "model.npz"), str(path)]) != 0
    assert expected in capsys.readouterr().err


def evaluated(capsys, *args):
    assert main(["evaluate", *map(str, args), "--json"]) == 0
    return __import__("json").loads(capsys.readouterr().out)


@pytest.mark.parametrize("names, classes", [
    (("cat", "dog"), ["dog"]), (("cat", "dog"), ["cat"]), (("cat", "dog"), ["dog", "cat"]),
    (("1", "3", "7"), ["7"]), (("1", "3", "7"), ["3", "7"]), (("ant", "bee", "cow"), ["cow", "ant"]),
])
def test_a_table_holding_some_of_the_classes_is_scored_by_name_through_every_split(tmp_path, capsys, names, classes):
    # the test and train splits of a table are scored as the whole table is: its classes matched to the model's by
    # name, though the table alone holds fewer of them (its own class indices differ from the model's)
    rows = np.random.default_rng(len(classes)).normal(size=(40, 2))
    labels = [classes[i % len(classes)] for i in range(len(rows))]
    path = tmp_path / "held.csv"
    path.write_text("a,b,label\n" + "".join(f"{x},{y},{c}\n" for (x, y), c in zip(rows.tolist(), labels)))
    params = fnn.init_params(fnn.network([2, 4, len(names)]), seed=1)
    config = {"label": "label", "seed": 0, "test_fraction": 0.25}
    fnn.save(tmp_path / "model.npz", Model(fnn.TrainState(params, None), config, class_names=names, columns=("a", "b")))
    whole = evaluated(capsys, tmp_path / "model.npz", "--data", f"csv:{path}")
    assert whole == Model(fnn.TrainState(params, None), config, class_names=names, columns=("a", "b")).evaluate(path)
    parts = [evaluated(capsys, tmp_path / "model.npz", "--data", f"csv:{path}", "--split", split) for split in ("train", "test")]
    assert sum(part["samples"] for part in parts) == whole["samples"] == 40
    assert sum(part["correct"] for part in parts) == whole["correct"]
    assert (np.add(*[part["confusion_matrix"] for part in parts]) == whole["confusion_matrix"]).all()
    absent = [i for i, name in enumerate(names) if name not in classes]
    assert all(sum(whole["confusion_matrix"][i]) == 0 for i in absent)
